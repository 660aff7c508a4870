//! ClientLite against our own IKC Server (the worker of ikc_common).

mod ikc_common;

use ikc_common::{worker, worker_with};
use poe_components::ikc::negotiation::Protocol;
use poe_components::ikc::{ClientLite, LiteError};
use poe_kernel::Value;
use std::time::Duration;

fn lite(port: u16, protocol: Protocol) -> ClientLite {
    ClientLite::builder()
        .host("127.0.0.1")
        .port(port)
        .name("tool")
        .protocol(protocol)
        .timeout(Duration::from_secs(5))
        .connect()
        .unwrap()
}

#[test]
fn clientlite_posts_and_calls_our_server_in_both_dialects() {
    for protocol in [Protocol::Ikc0, Protocol::Ikc] {
        let (port, worker) = worker_with("worker", |b| b);
        let mut lite = lite(port, protocol);
        assert_eq!(
            lite.remote_kernel().map(|k| k.contains('-')),
            Some(true),
            "the server's kernel ID"
        );
        lite.ping().unwrap();
        assert_eq!(
            lite.call("echo/add", Value::list([1, 2])).unwrap(),
            Value::from(3)
        );
        assert_eq!(lite.call("echo/ping", "x").unwrap(), Value::from("pong"));
        let nested = Value::map([("k", Value::list([Value::from("é"), Value::Undef]))]);
        assert_eq!(lite.call("echo/store", nested.clone()).unwrap(), nested);
        assert_eq!(lite.call("echo/fetch", ()).unwrap(), nested);
        assert_eq!(
            lite.call_list("echo/range", 3).unwrap(),
            vec![Value::from(1), Value::from(2), Value::from(3)]
        );
        assert_eq!(
            lite.call("echo/range", 3).unwrap(),
            Value::from(3),
            "scalar context"
        );
        // post_respond: the handler posts its answer to the address it got.
        assert_eq!(
            lite.post_respond("echo/delayed_add", Value::list([5, 6, 7]))
                .unwrap(),
            Value::from(18)
        );
        // A post whose handler posts back to its SENDER: `responded`.
        lite.post("echo/ping", "back").unwrap();
        assert_eq!(lite.responded("pong").unwrap(), Value::list(["back"]));
        lite.post("echo/quit", ()).unwrap();
        worker.join().unwrap();
    }
}

#[test]
fn refusals_fail_the_call_at_once_and_silence_times_out() {
    let (port, worker) = worker("worker");
    let mut lite = lite(port, Protocol::Ikc0);
    match lite.call("echo/secret", ()) {
        Err(LiteError::Remote(e)) => {
            assert!(
                e.message
                    .starts_with("Session 'echo' has not published state 'secret'"),
                "{e:?}"
            );
            assert_eq!(e.when, "check");
        }
        other => panic!("{other:?}"),
    }
    match lite.call("nosuch/x", ()) {
        Err(LiteError::Remote(e)) => assert!(e.message.contains("not available"), "{e:?}"),
        other => panic!("{other:?}"),
    }
    lite.set_timeout(Duration::from_millis(300));
    assert!(matches!(
        lite.call("echo/nothing", ()),
        Err(LiteError::Timeout { .. })
    ));
    // The next call reconnects and works.
    lite.set_timeout(Duration::from_secs(5));
    assert_eq!(
        lite.call("echo/add", Value::list([2, 2])).unwrap(),
        Value::from(4)
    );
    lite.post("echo/quit", ()).unwrap();
    worker.join().unwrap();
}
