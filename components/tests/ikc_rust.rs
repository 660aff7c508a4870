//! IKC between two Rust kernels: every Responder feature over a real
//! connection.

mod ikc_common;

use ikc_common::{run_guarded, worker};
use poe_components::ikc::Client;
use poe_kernel::{Kernel, Session, Value};
use std::cell::RefCell;
use std::rc::Rc;

type Log = Rc<RefCell<Vec<String>>>;

/// A boss kernel connecting to `port` as `name`, with a session `tester`
/// (publishing `states`) built by `make`, which `on_connect` kicks with
/// its `go` event.
fn boss<H: 'static>(port: u16, tester: Session<H>, states: &[&str]) -> Kernel {
    let kernel = Kernel::new().unwrap();
    let states: Vec<Value> = states.iter().map(|s| Value::from(*s)).collect();
    let tester = tester.state("_start", move |ctx| {
        ctx.alias_set("tester").unwrap();
        ctx.call("IKC", "publish", ("tester", Value::List(states.clone())))
            .unwrap();
    });
    Client::builder()
        .ip("127.0.0.1")
        .port(port)
        .name("boss")
        .on_connect(|ctx| {
            ctx.post("tester", "go", ()).unwrap();
        })
        .spawn(&kernel)
        .unwrap();
    kernel.create(tester).unwrap();
    kernel
}

/// End the test: stop the worker, then this kernel's IKC.
fn finish<H>(ctx: &mut poe_kernel::Ctx<'_, H>) {
    ctx.call("IKC", "post", ("poe://worker/echo/quit", ()))
        .unwrap();
    ctx.alias_remove("tester").unwrap();
    ctx.call("IKC", "shutdown", ()).unwrap();
}

#[test]
fn a_post_arrives_and_the_handler_posts_back_to_its_sender() {
    let (port, worker) = worker("worker");
    let log: Log = Rc::default();
    let l = log.clone();
    let tester = Session::new(())
        .state("go", |ctx| {
            let n = ctx
                .call("IKC", "post", ("poe://worker/echo/ping", "hello"))
                .unwrap();
            assert_eq!(n, Value::from(1), "written to one connection");
        })
        .state("pong", move |ctx| {
            l.borrow_mut().push(format!("pong {}", ctx.arg(0)));
            finish(ctx);
        });
    let kernel = boss(port, tester, &["pong"]);
    run_guarded(&kernel);
    assert_eq!(*log.borrow(), ["pong hello"]);
    assert_eq!(worker.join().unwrap(), ["ping \"hello\"", "quit"]);
}

#[test]
fn a_call_gets_its_reply_at_the_rsvp_state() {
    let (port, worker) = worker("worker");
    let log: Log = Rc::default();
    let l = log.clone();
    let tester = Session::new(())
        .state("go", |ctx| {
            ctx.call(
                "IKC",
                "call",
                (
                    "poe://worker/echo/add",
                    Value::list([1.0, 2.0, 3.5, 40.0]),
                    "poe:sum",
                ),
            )
            .unwrap();
        })
        .state("sum", move |ctx| {
            l.borrow_mut().push(format!("sum {}", ctx.arg(0)));
            finish(ctx);
        });
    run_guarded(&boss(port, tester, &[]));
    assert_eq!(*log.borrow(), ["sum 46.5"]);
    worker.join().unwrap();
}

#[test]
fn unpublished_states_and_sessions_are_refused_with_perls_error_texts() {
    let (port, worker) = worker("worker");
    let log: Log = Rc::default();
    let (l1, l2) = (log.clone(), log.clone());
    let tester = Session::new(())
        .state("go", |ctx| {
            ctx.call("IKC", "monitor", ("*", Value::map([("error", "oops")])))
                .unwrap();
            ctx.call("IKC", "post", ("poe://worker/echo/secret", "x"))
                .unwrap();
            ctx.call("IKC", "call", ("poe://worker/nosuch/x", "y", "poe:answer"))
                .unwrap();
        })
        .state("oops", move |ctx| {
            // (monitor name, kernel, is-ID, data, WHEN, MESSAGE)
            l1.borrow_mut()
                .push(format!("error {} {}", ctx.arg(4), ctx.arg(5)));
        })
        .state("answer", move |ctx| {
            assert!(ctx.arg(0).is_undef());
            l2.borrow_mut()
                .push(format!("answer failed: {} ({})", ctx.arg(1), ctx.arg(2)));
            finish(ctx);
        });
    run_guarded(&boss(port, tester, &["pong"]));
    let log = log.borrow();
    assert!(log.iter().any(|l| l.starts_with("error remote-check Session 'echo' has not published state 'secret'.  Request poe://worker/echo/secret")), "{log:?}");
    assert!(log.iter().any(|l| l.starts_with("answer failed: Session 'nosuch' is not available for remote kernels.  Request poe://worker/nosuch/x") && l.ends_with("(remote-check)")), "{log:?}");
    assert_eq!(worker.join().unwrap(), ["quit"], "secret never ran");
}

#[test]
fn a_call_that_gets_no_answer_times_out_at_its_rsvp_state() {
    let (port, worker) = worker("worker");
    let log: Log = Rc::default();
    let l = log.clone();
    let tester = Session::new(())
        .state("go", |ctx| {
            ctx.call(
                "IKC",
                "call",
                ("poe://worker/echo/nothing", (), "poe:answer", 0.2),
            )
            .unwrap();
        })
        .state("answer", move |ctx| {
            l.borrow_mut()
                .push(format!("{:?} {} {}", ctx.arg(0), ctx.arg(1), ctx.arg(2)));
            finish(ctx);
        });
    run_guarded(&boss(port, tester, &[]));
    assert_eq!(
        *log.borrow(),
        ["undef Timed out waiting for the reply timeout"]
    );
    worker.join().unwrap();
}

#[test]
fn nested_data_survives_the_round_trip() {
    let (port, worker) = worker("worker");
    let data = Value::map([
        (
            "list",
            Value::list([Value::from(1), Value::from("two"), Value::Undef]),
        ),
        // Perl sends every float as its decimal string.
        ("float", Value::from(-3.25)),
        ("日本", Value::from("語 and é")),
        (
            "inner",
            Value::map([("deep", Value::list([Value::map([("x", 1)])]))]),
        ),
        ("ref", Value::Ref(Box::new(Value::from("scalar")))),
        ("bytes", Value::from(&b"\xff\x00raw"[..])),
        ("big", Value::from(1i64 << 40)),
    ]);
    let got: Rc<RefCell<Option<Value>>> = Rc::default();
    let g = got.clone();
    let sent = data.clone();
    let tester = Session::new(())
        .state("go", move |ctx| {
            ctx.call(
                "IKC",
                "call",
                ("poe://worker/echo/store", sent.clone(), "poe:stored"),
            )
            .unwrap();
        })
        .state("stored", |ctx| {
            assert!(ctx.arg(0).as_map().is_some(), "store answers what it kept");
            ctx.call(
                "IKC",
                "call",
                ("poe://worker/echo/fetch", (), "poe:fetched"),
            )
            .unwrap();
        })
        .state("fetched", move |ctx| {
            *g.borrow_mut() = Some(ctx.arg(0).clone());
            finish(ctx);
        });
    run_guarded(&boss(port, tester, &[]));
    let got = got.borrow_mut().take().unwrap();
    // Perl sends floats, and integers beyond 32 bits, as strings.
    assert_eq!(got.get("big"), Some(&Value::from("1099511627776")));
    assert_eq!(got.get("float"), Some(&Value::from("-3.25")));
    let mut got = got;
    let mut want = data;
    for k in ["big", "float"] {
        got.as_map_mut().unwrap().remove(k);
        want.as_map_mut().unwrap().remove(k);
    }
    assert_eq!(got, want);
    worker.join().unwrap();
}

#[test]
fn ping_do_you_have_and_proxies_work_across_kernels() {
    let (port, worker) = worker("worker");
    let log: Log = Rc::default();
    let (l1, l2, l3) = (log.clone(), log.clone(), log.clone());
    let tester = Session::new(())
        .state("go", |ctx| {
            ctx.call("IKC", "call", ("poe://worker/IKC/ping", (), "poe:ponged"))
                .unwrap();
        })
        .state("ponged", move |ctx| {
            l1.borrow_mut().push(format!("ping {}", ctx.arg(0)));
            ctx.call(
                "IKC",
                "subscribe",
                (
                    Value::list(["poe://worker/echo", "poe://worker/nosuch"]),
                    "subscribed",
                ),
            )
            .unwrap();
        })
        .state("subscribed", move |ctx| {
            l2.borrow_mut().push(format!("subscribed {:?}", ctx.arg(0)));
            // The proxy answers to both of its aliases.
            ctx.post("poe://worker/echo", "ping", ("via proxy",))
                .unwrap();
        })
        .state("pong", move |ctx| {
            l3.borrow_mut().push(format!("pong {}", ctx.arg(0)));
            assert!(
                ctx.alias_resolve("echo").is_some(),
                "the short alias is set"
            );
            finish(ctx);
        });
    run_guarded(&boss(port, tester, &["pong"]));
    assert_eq!(
        *log.borrow(),
        [
            "ping PONG",
            "subscribed [\"poe://worker/echo\"]",
            "pong via proxy"
        ]
    );
    assert_eq!(worker.join().unwrap(), ["ping \"via proxy\"", "quit"]);
}

#[test]
fn monitors_hear_register_channel_and_unregister() {
    let (port, worker) = worker("worker");
    let log: Log = Rc::default();
    let (l1, l2, l3) = (log.clone(), log.clone(), log.clone());
    let kernel = Kernel::new().unwrap();
    // The Responder starts with the first Client or Server.
    Client::builder()
        .ip("127.0.0.1")
        .port(port)
        .name("boss")
        .spawn(&kernel)
        .unwrap();
    kernel
        .create(
            Session::new(())
                .state("_start", |ctx| {
                    ctx.alias_set("watcher").unwrap();
                    let events = Value::map([
                        ("register", Value::from("up")),
                        ("unregister", Value::from("down")),
                        ("channel", Value::from("chan")),
                        ("data", Value::from("d")),
                    ]);
                    ctx.call("IKC", "monitor", ("worker", events)).unwrap();
                })
                .state("up", move |ctx| {
                    l1.borrow_mut().push(format!(
                        "up {} {} {} {}",
                        ctx.arg(0),
                        ctx.arg(1),
                        ctx.arg(2).is_true(),
                        ctx.arg(3)
                    ));
                })
                .state("chan", move |ctx| {
                    // (monitor name, kernel, is-ID, data, ready|close, channel session)
                    let channel = ctx.arg(5).as_i64().unwrap() as u64;
                    let what = ctx.arg(4).to_string();
                    if what == "ready" {
                        let info = ctx.kernel().session_info(channel).unwrap();
                        assert!(info.heap_type.ends_with("::Channel"), "{info:?}");
                        ctx.call("IKC", "post", ("poe://worker/echo/quit", ()))
                            .unwrap();
                    }
                    l2.borrow_mut().push(format!(
                        "chan {} {} {what} {channel}",
                        ctx.arg(1),
                        ctx.arg(3)
                    ));
                })
                .state("down", move |ctx| {
                    l3.borrow_mut().push(format!("down {}", ctx.arg(1)));
                    ctx.alias_remove("watcher").unwrap();
                    ctx.call("IKC", "shutdown", ()).unwrap();
                }),
        )
        .unwrap();
    run_guarded(&kernel);
    let log = log.borrow();
    assert_eq!(log.len(), 4, "{log:?}");
    assert_eq!(log[0], "up worker worker false d");
    let channel = log[1]
        .strip_prefix("chan worker d ready ")
        .unwrap_or_else(|| panic!("{log:?}"));
    assert_eq!(log[2], "down worker");
    assert_eq!(
        log[3],
        format!("chan worker d close {channel}"),
        "the same channel closes"
    );
    worker.join().unwrap();
}
