//! ClientLite against a scripted fake IKC server (tests/support/server.rs)
//! that negotiates with the real state machine and answers frame by
//! frame, and against a replay of the Perl capture (replay.rs below).

mod support;

#[path = "ikc_lite/replay.rs"]
mod replay;

use poe_components::ikc::lite::{ClientLite, ClientLiteBuilder, LiteError};
use poe_components::ikc::negotiation::{NegotiationError, Protocol};
use poe_components::ikc::Specifier;
use poe_kernel::Value;
use std::sync::mpsc;
use std::time::Duration;
use support::server::{FakeServer, Peer, Script, SERVER_ID, SERVER_NAME};

/// A client of the fake server, named `tool`. The long timeout only ends
/// a test that went wrong.
fn client(server: &FakeServer) -> ClientLiteBuilder {
    ClientLite::builder()
        .host("127.0.0.1")
        .port(server.port)
        .name("tool")
        .timeout(Duration::from_secs(20))
}

fn script(f: impl FnOnce(&mut Peer) + Send + 'static) -> Script {
    Box::new(f)
}

fn ikc0(p: &mut Peer) {
    let client = p.negotiate(Protocol::Ikc0);
    assert_eq!(client.remote_id, "tool");
    assert_eq!(client.pid, Some(std::process::id()));
}

/// `{kernel => 'tool', session => 'IKCLite'}`: ClientLite's `from`.
fn lite_from() -> Value {
    Value::map([("kernel", "tool"), ("session", "IKCLite")])
}

fn rsvp(n: u32) -> Value {
    Specifier::new("tool", "IKCLite", format!("response{n}")).to_value()
}

#[test]
fn posts_and_calls_carry_perls_request_hashes() {
    let server = FakeServer::tcp(vec![script(|p| {
        ikc0(p);
        assert_eq!(
            p.recv(),
            Value::map([
                ("event", Value::from(format!("poe://{SERVER_ID}/echo/ping"))),
                ("params", Value::from("hello")),
                ("from", lite_from()),
            ])
        );
        let call = p.recv();
        assert_eq!(
            call,
            Value::map([
                ("event", Value::from("poe://elsewhere/echo/add")),
                ("params", Value::list([1, 2])),
                ("from", lite_from()),
                ("rsvp", rsvp(0)),
                ("wantarray", Value::from("")),
            ])
        );
        // Perl sends a float return value as a string.
        p.send(&Value::map([
            ("event", call.get("rsvp").unwrap().clone()),
            ("params", Value::from("3.5")),
        ]));
        let list = p.recv_request();
        assert_eq!(list.rsvp, Some(rsvp(1)));
        assert!(list.wantarray, "call_list sends wantarray \"1\"");
        p.reply(&list, Value::list([1, 2, 3, 4]));
        let scalar = p.recv_request();
        p.reply(&scalar, 4);
        p.expect_close();
    })]);
    let mut lite = client(&server).connect().unwrap();
    assert_eq!(lite.remote_kernel(), Some(SERVER_ID));
    assert_eq!(lite.remote_aliases(), [SERVER_NAME]);
    lite.post("echo/ping", "hello").unwrap();
    let sum = lite
        .call("poe://elsewhere/echo/add", Value::list([1, 2]))
        .unwrap();
    assert_eq!(sum, Value::from("3.5"));
    assert_eq!(
        lite.call_list("echo/range", 4).unwrap(),
        [1, 2, 3, 4].map(Value::from)
    );
    // A scalar reply to a list call is a list of one, as in Perl.
    assert_eq!(lite.call_list("echo/range", 4).unwrap(), [Value::from(4)]);
    lite.disconnect();
    server.join();
}

#[test]
fn post_respond_waits_for_the_handler_to_post_to_the_rsvp_it_was_given() {
    let server = FakeServer::tcp(vec![script(|p| {
        ikc0(p);
        let request = p.recv();
        assert_eq!(
            request.get("rsvp"),
            None,
            "no rsvp key: the RSVP is in params"
        );
        assert_eq!(request.get("wantarray"), None);
        let params = request.get("params").unwrap().as_list().unwrap().to_vec();
        assert_eq!(params, [Value::list([5, 6, 7]), rsvp(0)]);
        p.send(&Value::map([
            ("event", params[1].clone()),
            ("params", Value::from(18)),
        ]));
        p.expect_close();
    })]);
    let mut lite = client(&server).connect().unwrap();
    let total = lite
        .post_respond("echo/delayed_add", Value::list([5, 6, 7]))
        .unwrap();
    assert_eq!(total, Value::from(18));
    lite.disconnect();
    server.join();
}

#[test]
fn ping_works_after_ikc0_and_after_the_hello_fallback() {
    let answer_ping = |p: &mut Peer| {
        let ping = p.recv_request();
        assert_eq!(
            ping.event,
            Value::from(format!("poe://{SERVER_ID}/IKC/ping"))
        );
        assert_eq!(ping.params, Value::from("PING"));
        p.reply(&ping, "PONG");
    };
    let (lines_tx, lines_rx) = mpsc::channel();
    let server = FakeServer::tcp(vec![
        script(move |p| {
            ikc0(p);
            answer_ping(p);
            p.expect_close();
        }),
        script(move |p| {
            // An IKC-only server answers SETUP with NOT (§3.2).
            let client = p.negotiate(Protocol::Ikc);
            assert_eq!((client.remote_id.as_str(), client.hello), ("tool", true));
            lines_tx.send(p.lines.clone()).unwrap();
            answer_ping(p);
            let ping = p.recv_request();
            p.reply(&ping, "PANG");
            p.expect_close();
        }),
    ]);
    let mut lite = client(&server).connect().unwrap();
    lite.ping().unwrap();
    lite.disconnect();
    let mut lite = client(&server).connect().unwrap();
    assert_eq!(lite.remote_kernel(), Some(SERVER_ID));
    // Transcript §D: the lines Perl's ClientLite sends in the fallback.
    let pid = std::process::id();
    assert_eq!(
        lines_rx.recv().unwrap(),
        [
            format!("SETUP KERNEL=tool;FREEZER=Storable;PID={pid}").as_str(),
            "HELLO",
            "OK",
            "OK",
            "IAM tool",
            "DONE",
            "FREEZER Storable",
            "WORLD"
        ]
    );
    lite.ping().unwrap();
    assert!(matches!(lite.ping(), Err(LiteError::NoPong(got)) if got.contains("PANG")));
    assert!(
        !lite.is_connected(),
        "a failed ping marks the connection down"
    );
    server.join();
}

#[test]
fn a_remote_error_fails_the_call_with_its_text_and_keeps_the_connection() {
    const MESSAGE: &str = "Session 'echo' has not published state 'secret'.  \
        Request poe://fake/echo/secret sent by poe://tool/IKCLite";
    let server = FakeServer::tcp(vec![script(|p| {
        ikc0(p);
        let _secret = p.recv_request();
        p.send(&Peer::error_report("tool", MESSAGE, "check"));
        let add = p.recv_request();
        p.reply(&add, 3);
        p.expect_close();
    })]);
    let mut lite = client(&server).connect().unwrap();
    match lite.call("echo/secret", "x") {
        Err(LiteError::Remote(e)) => {
            assert_eq!(e.message, MESSAGE);
            assert_eq!((e.kernel.as_str(), e.when.as_str()), (SERVER_ID, "check"));
        }
        other => panic!("{other:?}"),
    }
    assert!(lite.is_connected());
    assert_eq!(
        lite.call("echo/add", Value::list([1, 2])).unwrap(),
        3.into()
    );
    lite.disconnect();
    server.join();
}

#[test]
fn an_error_report_for_another_request_does_not_fail_the_call() {
    let server = FakeServer::tcp(vec![script(|p| {
        ikc0(p);
        let _post = p.recv_request();
        let add = p.recv_request();
        // The refusal of the post, then the reply, in one write (Perl's
        // ClientLite would fail the call with the post's error).
        let mut out = Peer::frame(&Peer::error_report(
            "tool",
            "Session 'echo' has not published state 'secret'.  Request poe://fake/echo/secret sent by poe://tool/IKCLite",
            "check",
        ));
        out.extend(Peer::frame(&Peer::reply_to(&add, 3)));
        p.write_raw(&out);
        // A poe-rs server names the failed request: another one's error
        // is kept, this one's fails the call.
        let double = p.recv_request();
        let mut stray = Peer::error_report("tool", "earlier", "check");
        stray
            .as_map_mut()
            .unwrap()
            .insert("failed_rsvp".into(), rsvp(9));
        let mut ours = Peer::error_report("tool", "no such state", "check");
        let failed = double.rsvp.clone().unwrap();
        ours.as_map_mut()
            .unwrap()
            .insert("failed_rsvp".into(), failed);
        p.send(&stray);
        p.send(&ours);
        p.expect_close();
    })]);
    let mut lite = client(&server).connect().unwrap();
    lite.post("echo/secret", "x").unwrap();
    assert_eq!(
        lite.call("echo/add", Value::list([1, 2])).unwrap(),
        3.into()
    );
    let errors = lite.take_errors();
    assert_eq!(errors.len(), 1);
    assert!(errors[0]
        .message
        .starts_with("Session 'echo' has not published"));
    match lite.call("echo/double", 2) {
        Err(LiteError::Remote(e)) => assert_eq!(e.message, "no such state"),
        other => panic!("{other:?}"),
    }
    let stray: Vec<String> = lite.take_errors().into_iter().map(|e| e.message).collect();
    assert_eq!(stray, ["earlier"]);
    lite.disconnect();
    server.join();
}

#[test]
fn frames_arriving_with_or_before_the_reply_are_kept() {
    let server = FakeServer::tcp(vec![script(|p| {
        let setup = p.read_line().unwrap();
        assert!(setup.starts_with("SETUP KERNEL=tool;"));
        // The SETUP answer and a first frame in one write (§2.4).
        let mut out = format!("SETUP KERNEL={SERVER_ID};FREEZER=Storable;PID=1\r\n").into_bytes();
        out.extend(Peer::frame(&Peer::post_back("tool", "early", 1)));
        p.write_raw(&out);
        let call = p.recv_request();
        let mut out = Peer::frame(&Peer::post_back("tool", "note", 2));
        out.extend(Peer::frame(&Peer::reply_to(&call, 3)));
        out.extend(Peer::frame(&Peer::post_back("tool", "after", 4)));
        p.write_raw(&out);
        let call = p.recv_request();
        // A reply written one octet at a time.
        for b in Peer::frame(&Peer::reply_to(&call, "slow")) {
            p.write_raw(&[b]);
        }
        p.expect_close();
    })]);
    let mut lite = client(&server).connect().unwrap();
    assert_eq!(lite.call("echo/x", 0).unwrap(), 3.into());
    // All three came without another read: the server sends nothing more.
    assert_eq!(lite.responded("after").unwrap(), 4.into());
    assert_eq!(lite.responded("early").unwrap(), 1.into());
    assert_eq!(lite.call("echo/x", 0).unwrap(), "slow".into());
    let kept = lite.take_messages();
    assert_eq!(kept.len(), 1);
    assert_eq!(kept[0].params, 2.into());
    lite.disconnect();
    assert!(matches!(lite.responded("never"), Err(LiteError::Closed)));
    server.join();
}

#[test]
fn unclaimed_messages_are_bounded() {
    let server = FakeServer::tcp(vec![script(|p| {
        ikc0(p);
        let call = p.recv_request();
        for n in 1..=3 {
            p.send(&Peer::post_back("tool", "chatter", n));
        }
        p.reply(&call, 0);
        p.expect_close();
    })]);
    let mut lite = client(&server).keep(2).connect().unwrap();
    lite.call("echo/x", 0).unwrap();
    let kept: Vec<Value> = lite.take_messages().into_iter().map(|m| m.params).collect();
    assert_eq!(kept, [2, 3].map(Value::from), "the oldest was dropped");
    lite.disconnect();
    server.join();
}

#[test]
fn a_timeout_marks_the_connection_down_and_the_next_call_reconnects() {
    let server = FakeServer::tcp(vec![
        script(|p| {
            ikc0(p);
            let _unanswered = p.recv_request();
            // The client closes the connection when it gives up.
            p.expect_close();
        }),
        script(|p| {
            ikc0(p);
            let call = p.recv_request();
            assert_eq!(call.rsvp, Some(rsvp(1)));
            p.reply(&call, "late but here");
            p.expect_close();
        }),
    ]);
    let mut lite = client(&server).connect().unwrap();
    lite.set_timeout(Duration::from_millis(200));
    match lite.call("echo/nothing", "x") {
        Err(LiteError::Timeout { waiting_for, .. }) => {
            assert_eq!(waiting_for, "poe://tool/IKCLite/response0")
        }
        other => panic!("{other:?}"),
    }
    assert!(!lite.is_connected());
    lite.set_timeout(Duration::from_secs(20));
    assert_eq!(lite.call("echo/x", 0).unwrap(), "late but here".into());
    lite.disconnect();
    server.join();
}

#[test]
fn a_server_that_closes_the_connection_is_reconnected_by_the_next_request() {
    let (closed_tx, closed_rx) = mpsc::channel();
    let server = FakeServer::tcp(vec![
        script(|p| {
            ikc0(p);
            let _call = p.recv_request();
            // Closed before answering: the call fails.
        }),
        script(move |p| {
            ikc0(p);
            let call = p.recv_request();
            p.reply(&call, 1);
            p.close();
            closed_tx.send(()).unwrap();
        }),
        script(|p| {
            ikc0(p);
            let post = p.recv_request();
            assert_eq!(post.params, "after the close".into());
            p.expect_close();
        }),
    ]);
    let mut lite = client(&server).connect().unwrap();
    assert!(matches!(lite.call("echo/x", 0), Err(LiteError::Closed)));
    assert!(!lite.is_connected());
    assert_eq!(lite.call("echo/x", 0).unwrap(), 1.into());
    // The server closed an idle connection. On loopback its FIN is in our
    // socket once close() has returned, which the channel tells us: the
    // next post notices it and goes out on a new connection instead.
    closed_rx.recv().unwrap();
    lite.post("echo/x", "after the close").unwrap();
    lite.disconnect();
    server.join();
}

#[test]
fn oversize_and_malformed_frames_are_errors_and_the_connection_is_replaced() {
    fn answer_with(bytes: Vec<u8>) -> Script {
        script(move |p| {
            ikc0(p);
            let _call = p.recv_request();
            p.write_raw(&bytes);
            p.expect_close();
        })
    }
    let server = FakeServer::tcp(vec![
        answer_with(b"5000\0".to_vec()),
        answer_with(b"hello\0".to_vec()),
        answer_with(Peer::frame(&Value::list([1, 2]))),
        answer_with(Peer::frame(&Value::map([("params", 1)]))),
        answer_with(b"3\0abc".to_vec()),
        script(|p| {
            ikc0(p);
            let call = p.recv_request();
            p.reply(&call, "fine");
            p.expect_close();
        }),
    ]);
    let mut lite = client(&server).max_frame(1024).connect().unwrap();
    let err = lite.call("echo/x", 0).unwrap_err();
    assert!(
        matches!(
            err,
            LiteError::FrameTooLarge {
                size: 5000,
                limit: 1024
            }
        ),
        "{err}"
    );
    for expected in [
        "expected <length> NUL",
        "must be a hash",
        "must name an event",
        "does not thaw",
    ] {
        assert!(!lite.is_connected());
        match lite.call("echo/x", 0) {
            Err(LiteError::BadFrame(what)) => assert!(what.contains(expected), "{what}"),
            other => panic!("{expected}: {other:?}"),
        }
    }
    assert_eq!(lite.call("echo/x", 0).unwrap(), "fine".into());
    lite.disconnect();
    server.join();
}

#[test]
fn failed_negotiations_are_errors() {
    let server = FakeServer::tcp(vec![
        // Silence: connect_timeout.
        script(|p| {
            p.read_line().unwrap();
            assert_eq!(p.read_line(), None, "the client gives up and closes");
        }),
        // The Dumper freezer: refused (it evaluates received code).
        script(|p| {
            p.read_line().unwrap();
            p.write_line("SETUP KERNEL=srv;FREEZER=POE::Component::IKC::Freezer;PID=1");
            assert_eq!(p.read_line(), None);
        }),
        // Closed in the middle.
        script(|p| {
            p.read_line().unwrap();
        }),
        // A line longer than max_line.
        script(|p| {
            p.read_line().unwrap();
            p.write_line(&"x".repeat(200));
            assert_eq!(p.read_line(), None);
        }),
        // Junk for ever: the client answers NOT until its limit. One
        // write: the client may hang up before a later line would go out,
        // and that write would fail with EPIPE.
        script(|p| {
            p.read_line().unwrap();
            p.write_raw("junk\r\n".repeat(20).as_bytes());
            while p.read_line().is_some() {}
            assert!(p.lines[1..].iter().all(|l| l == "NOT"));
        }),
    ]);
    let lite = || {
        client(&server)
            .connect_timeout(Duration::from_millis(200))
            .max_line(100)
            .connect()
    };
    assert!(matches!(lite(), Err(LiteError::ConnectTimeout { .. })));
    assert!(matches!(
        lite(),
        Err(LiteError::Negotiation(NegotiationError::Serializer(_)))
    ));
    assert!(matches!(lite(), Err(LiteError::Closed)));
    assert!(matches!(lite(), Err(LiteError::LineTooLong { limit: 100 })));
    assert!(matches!(
        lite(),
        Err(LiteError::Negotiation(NegotiationError::TooManyNots(_)))
    ));
    server.join();
}

#[test]
fn bad_requests_are_refused_before_anything_is_sent() {
    let server = FakeServer::tcp(vec![script(|p| {
        ikc0(p);
        let call = p.recv_request();
        assert_eq!(call.params, "still fine".into());
        p.reply(&call, 1);
        p.expect_close();
    })]);
    let mut lite = client(&server).connect().unwrap();
    assert!(matches!(
        lite.post("ping", 1),
        Err(LiteError::BadSpecifier {
            reason: "no session",
            ..
        })
    ));
    assert!(matches!(
        lite.call("poe://srv/echo", 1),
        Err(LiteError::BadSpecifier {
            reason: "no state",
            ..
        })
    ));
    assert!(matches!(
        lite.call("echo/x", Value::local(5u8)),
        Err(LiteError::Freeze(_))
    ));
    assert!(lite.is_connected());
    assert_eq!(lite.call("echo/x", "still fine").unwrap(), 1.into());
    lite.disconnect();
    server.join();
}

#[test]
fn clientlite_speaks_over_a_unix_socket_and_the_hello_dialect() {
    let dir = std::env::temp_dir().join(format!("poe-ikc-lite-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join("ikc.sock");
    let _ = std::fs::remove_file(&path);
    let server = FakeServer::unix(
        &path,
        vec![script(|p| {
            p.negotiate(Protocol::Ikc);
            assert_eq!(p.lines[0], "HELLO", "protocol IKC starts with HELLO");
            let call = p.recv_request();
            p.reply(&call, "over unix");
            p.expect_close();
        })],
    );
    let mut lite = ClientLite::builder()
        .unix(&path)
        .name("tool")
        .protocol(Protocol::Ikc)
        .connect()
        .unwrap();
    assert_eq!(lite.call("echo/x", 0).unwrap(), "over unix".into());
    lite.disconnect();
    server.join();
    std::fs::remove_dir_all(&dir).unwrap();
}
