//! Hostile and broken peers cost one channel each, never the process:
//! garbage and slow negotiations, oversize, corrupt and non-hash frames,
//! requests for what was never published.

mod ikc_common;

use ikc_common::{worker, worker_with, RawPeer};
use poe_components::ikc::negotiation::Limits;
use poe_components::ikc::PROXY_STATE;
use poe_kernel::Value;

/// A call to `echo/add` from a raw peer, and its reply's params.
fn add(peer: &mut RawPeer) -> Value {
    peer.send_value(Value::map([
        ("event", Value::from("poe://worker/echo/add")),
        ("params", Value::list([2, 3])),
        (
            "rsvp",
            Value::map([("kernel", "raw"), ("session", "s"), ("state", "sum")]),
        ),
    ]));
    let reply = peer.frame().expect("a reply");
    assert_eq!(
        reply.get("event").and_then(|e| e.get("state")),
        Some(&Value::from("sum"))
    );
    reply.get("params").cloned().unwrap()
}

/// The worker still answers, then quits.
fn still_serving_then_quit(port: u16) {
    let mut peer = RawPeer::negotiate(port, "checker");
    assert_eq!(add(&mut peer).as_f64(), Some(5.0));
    peer.send_value(Value::map([("event", "poe://worker/echo/quit")]));
    assert!(peer.closed(), "IKC shutdown closes the channel");
}

#[test]
fn a_peer_that_hangs_up_costs_only_its_channel_which_is_cleaned_up() {
    let (port, worker) = worker("worker");
    let mut peer = RawPeer::connect(port);
    peer.send(b"SETUP KERNEL=half"); // no line end, then gone
    drop(peer);
    let mut peer = RawPeer::connect(port);
    peer.send(b"HELLO\r\n");
    assert!(peer.line().unwrap().starts_with("IAM "));
    // Gone in the middle of the HELLO dialogue.
    drop(peer);
    // A peer that negotiated, then vanished.
    drop(RawPeer::negotiate(port, "gone"));
    // Their channels are cleaned up: the checker's is the only one left,
    // and the vanished kernel's registration went with its channel (a
    // second "gone" would be refused as a duplicate otherwise).
    let mut again = RawPeer::negotiate(port, "gone");
    assert_eq!(again.call("channels", ()), Value::from(1));
    drop(again);
    still_serving_then_quit(port);
    worker.join().unwrap();
}

#[test]
fn garbage_lines_end_the_negotiation_within_its_bounds() {
    let (port, worker) = worker("worker");
    let mut peer = RawPeer::connect(port);
    let junk = "GET / HTTP/1.0\r\n".repeat(Limits::default().max_lines + 1);
    peer.send(junk.as_bytes());
    assert!(peer.closed());
    // Repeated bad SETUPs: NOT each time, then the door.
    let mut peer = RawPeer::connect(port);
    for _ in 0..=Limits::default().max_nots {
        let _ = peer.try_send(b"SETUP KERNEL=x;FREEZER=Evil::Dumper\r\n");
    }
    assert!(peer.closed());
    // A line longer than any negotiation needs.
    let mut peer = RawPeer::connect(port);
    let _ = peer.try_send(&vec![b'A'; 64 * 1024]);
    assert!(peer.closed());
    still_serving_then_quit(port);
    worker.join().unwrap();
}

#[test]
fn a_silent_peer_is_dropped_when_the_negotiation_timeout_passes() {
    let (port, worker) = worker_with("worker", |b| b.negotiation_timeout(0.1));
    let mut peer = RawPeer::connect(port);
    assert!(peer.closed(), "closed after the timeout, not by the test");
    still_serving_then_quit(port);
    worker.join().unwrap();
}

#[test]
fn the_dumper_freezer_is_refused() {
    let (port, worker) = worker("worker");
    let mut peer = RawPeer::connect(port);
    peer.send(b"SETUP KERNEL=x;FREEZER=POE::Component::IKC::Freezer;PID=1\r\n");
    assert_eq!(peer.line().as_deref(), Some("NOT"));
    peer.send(b"SETUP KERNEL=x;FREEZER=POE::Component::IKC::Freezer,Storable;PID=1\r\n");
    let line = peer.line().unwrap();
    assert!(
        line.ends_with(&format!(";FREEZER=Storable;PID={}", std::process::id())),
        "{line}"
    );
    drop(peer);
    still_serving_then_quit(port);
    worker.join().unwrap();
}

#[test]
fn oversize_frames_close_the_channel() {
    let (port, worker) = worker_with("worker", |b| b.max_frame(1024));
    let mut peer = RawPeer::negotiate(port, "big");
    // The header alone is enough to refuse it: no megabytes are buffered.
    peer.send(b"100000000\0");
    assert!(peer.closed());
    still_serving_then_quit(port);
    worker.join().unwrap();
}

#[test]
fn frames_that_are_not_requests_close_the_channel() {
    let (port, worker) = worker("worker");
    for bad in [
        &b"5\0\x05\x0b\x02\x00\x00"[..],         // truncated Storable
        &b"7\0\x05\x0b\x02\x00\x00\x00\x00"[..], // an array, not a hash
        &b"6\0\x05\x0b\x03\x00\x00\x00"[..],     // truncated hash
        &b"3\0\x04\x07\x00"[..],                 // native order image
        &b"junk\0"[..],                          // no length
    ] {
        let mut peer = RawPeer::negotiate(port, "bad");
        peer.send(bad);
        assert!(peer.closed(), "{bad:?}");
    }
    let mut peer = RawPeer::negotiate(port, "noevent");
    peer.send_value(Value::map([("params", 1)]));
    assert!(peer.closed(), "a hash without an event");
    still_serving_then_quit(port);
    worker.join().unwrap();
}

#[test]
fn requests_for_unpublished_states_get_an_error_reply_and_never_run() {
    let (port, worker) = worker("worker");
    let mut peer = RawPeer::negotiate(port, "probe");
    for (event, reason) in [
        (
            "poe://worker/echo/secret",
            "Session 'echo' has not published state 'secret'",
        ),
        (
            "poe://worker/IKC/shutdown",
            "Session 'IKC' has not published state 'shutdown'",
        ),
        (
            "poe://worker/nosuch/x",
            "Session 'nosuch' is not available for remote kernels",
        ),
        (
            "not a specifier at all!",
            "Session '' is not available for remote kernels",
        ),
    ] {
        peer.send_value(Value::map([("event", event)]));
        let error = peer.frame().unwrap();
        assert_eq!(error.get("is_error"), Some(&Value::from(1)));
        let event = error.get("event").unwrap();
        assert_eq!(event.get("kernel"), Some(&Value::from("probe")));
        assert_eq!(event.get("state"), Some(&Value::from("remote_error")));
        let params = error.get("params").and_then(Value::as_list).unwrap();
        assert!(params[0].to_string().starts_with(reason), "{params:?}");
        assert_eq!(params[2], Value::from("check"));
    }
    // An error report is never answered with another error.
    peer.send_value(Value::map([
        ("event", Value::from("poe://worker/nosuch/x")),
        ("is_error", Value::from(1)),
    ]));
    assert_eq!(
        add(&mut peer).as_f64(),
        Some(5.0),
        "the next frame is the sum, not an error"
    );
    drop(peer);
    still_serving_then_quit(port);
    let seen = worker.join().unwrap();
    assert_eq!(
        seen,
        ["add [2, 3]", "add [2, 3]", "quit"],
        "only published states ran"
    );
}

#[test]
fn proxy_requests_take_their_arguments_from_a_list_or_get_an_error_reply() {
    let (port, worker) = worker("worker");
    let mut peer = RawPeer::negotiate(port, "probe");
    // The hash form: a string specifier cannot name IKC:proxy.
    let proxied = |params: Value| {
        Value::map([
            (
                "event",
                Value::map([
                    ("kernel", "worker"),
                    ("session", "echo"),
                    ("state", PROXY_STATE),
                ]),
            ),
            ("params", params),
        ])
    };
    // [STATE, [ARGS...]] and [STATE] run STATE.
    peer.send_value(proxied(Value::list([
        Value::from("args"),
        Value::list([1, 2]),
    ])));
    peer.send_value(proxied(Value::list(["args"])));
    // Anything else is refused with a `request` error, and runs nothing.
    for (params, reason) in [
        (
            Value::list([Value::from("args"), Value::from("not a list")]),
            "IKC:proxy arguments must be an array, not string",
        ),
        (
            Value::from("args"),
            "IKC:proxy needs params [STATE, [ARGS...]]",
        ),
    ] {
        peer.send_value(proxied(params));
        let error = peer.frame().unwrap();
        assert_eq!(error.get("is_error"), Some(&Value::from(1)));
        let params = error.get("params").and_then(Value::as_list).unwrap();
        assert!(params[0].to_string().starts_with(reason), "{params:?}");
        assert_eq!(params[2], Value::from("request"));
    }
    drop(peer);
    still_serving_then_quit(port);
    let seen = worker.join().unwrap();
    assert_eq!(seen, ["args [1, 2]", "args []", "add [2, 3]", "quit"]);
}
