//! Panicking handlers: by default a panic becomes the DIE signal (§7 of
//! poe-semantics.md); with `catch_panics(false)` it unwinds out of `run`
//! and leaves the kernel usable.

use poe_kernel::*;
use std::panic::{catch_unwind, AssertUnwindSafe};

fn uncaught() -> Kernel {
    Kernel::builder().catch_panics(false).build().unwrap()
}

#[test]
fn a_panic_unwinds_out_of_run_and_the_kernel_keeps_working() {
    let k = uncaught();
    let id = k
        .create(
            Session::new(0u32)
                .state("_start", |ctx| ctx.alias_set("victim").unwrap())
                .state("boom", |ctx| -> Value {
                    *ctx.heap += 1;
                    panic!("handler failed");
                })
                .state("count", |ctx| *ctx.heap)
                .state("finish", |ctx| ctx.alias_remove("victim").unwrap()),
        )
        .unwrap()
        .id;
    k.post(id, "boom", ()).unwrap();
    let result = catch_unwind(AssertUnwindSafe(|| k.run()));
    let msg = result.unwrap_err();
    assert_eq!(msg.downcast_ref::<&str>(), Some(&"handler failed"));
    // The heap went back into its session, with the change made before the
    // panic; the active session is the kernel again.
    assert_eq!(k.get_active_session(), SessionId::KERNEL);
    assert_eq!(k.call(id, "count", ()).unwrap(), Value::Int(1));
    k.post(id, "finish", ()).unwrap();
    k.run();
    assert_eq!(k.session_count(), 0);
}

#[test]
fn a_panic_inside_a_nested_call_restores_every_heap_on_the_way_out() {
    let k = uncaught();
    k.create(
        Session::new(String::from("outer"))
            .state("_start", |ctx| ctx.alias_set("outer").unwrap())
            .state("go", |ctx| {
                ctx.heap.push_str(" called");
                ctx.call("inner", "explode", ()).unwrap();
            })
            .state("show", |ctx| ctx.heap.clone()),
    )
    .unwrap();
    k.create(
        Session::new(())
            .state("_start", |ctx| ctx.alias_set("inner").unwrap())
            .state("explode", |_| -> Value { panic!("inner failure") })
            .state("alive", |_| "inner ok"),
    )
    .unwrap();
    let r = catch_unwind(AssertUnwindSafe(|| k.call("outer", "go", ())));
    assert!(r.is_err());
    assert_eq!(
        k.call("outer", "show", ()).unwrap().as_str(),
        Some("outer called")
    );
    assert_eq!(
        k.call("inner", "alive", ()).unwrap().as_str(),
        Some("inner ok")
    );
}

type Log = std::rc::Rc<std::cell::RefCell<Vec<String>>>;

fn log_of(log: &Log) -> Vec<String> {
    log.borrow().clone()
}

/// A session that records its `_stop`, with `name` as alias.
fn named(log: &Log, name: &'static str) -> Session<()> {
    let l = log.clone();
    Session::new(())
        .state("_start", move |ctx| ctx.alias_set(name).unwrap())
        .state("_stop", move |_| {
            l.borrow_mut().push(format!("{name} _stop"))
        })
}

#[test]
fn a_handled_die_keeps_the_program_running_with_poes_fields() {
    let k = Kernel::new().unwrap();
    let log: Log = Default::default();
    let (l1, l2) = (log.clone(), log.clone());
    k.create(
        named(&log, "victim")
            .state("_start", |ctx| {
                ctx.alias_set("victim").unwrap();
                ctx.sig("DIE", "died", ()).unwrap();
                ctx.yield_("boom", ());
            })
            .state("boom", |_| -> Value { panic!("it broke") })
            .state("died", move |ctx| {
                let d = ctx.arg(1);
                l1.borrow_mut().push(format!(
                    "DIE {} in '{}' from '{}' at {}:{}",
                    d.get("error_str").unwrap(),
                    d.get("event").unwrap(),
                    d.get("from_state").unwrap(),
                    d.get("file").unwrap(),
                    d.get("line").and_then(Value::as_i64).is_some()
                ));
                assert_eq!(
                    d.get("dest_session").and_then(Value::as_i64),
                    Some(ctx.session().get() as i64)
                );
                ctx.sig_handled();
                ctx.yield_("after", ());
            })
            .state("after", move |ctx| {
                l2.borrow_mut().push("still running".into());
                ctx.alias_remove("victim").unwrap();
            }),
    )
    .unwrap();
    k.run(); // returns normally
    let log = log_of(&log);
    assert!(
        log[0].starts_with("DIE it broke in 'boom' from '_start' at kernel/tests/panics.rs:true"),
        "{log:?}"
    );
    assert_eq!(log[1..], ["still running", "victim _stop"]);
}

#[test]
fn an_unhandled_die_stops_every_session_and_the_panic_leaves_run() {
    let k = Kernel::new().unwrap();
    let log: Log = Default::default();
    k.create(named(&log, "bystander")).unwrap();
    k.create(named(&log, "victim").state("boom", |_| -> Value { panic!("fatal") }))
        .unwrap();
    k.post("victim", "boom", ()).unwrap();
    let err = catch_unwind(AssertUnwindSafe(|| k.run())).unwrap_err();
    assert_eq!(err.downcast_ref::<&str>(), Some(&"fatal"));
    // The victim stops with the DIE; then everyone else.
    assert_eq!(log_of(&log), ["victim _stop", "bystander _stop"]);
    assert_eq!(k.session_count(), 0);
}

/// A DIE watcher called `name`, creating `children` from its `_start`;
/// it calls `sig_handled` when `handle` is set.
fn die_watcher(
    log: &Log,
    name: &'static str,
    handle: bool,
    children: Vec<Session<()>>,
) -> Session<()> {
    let (l1, l2) = (log.clone(), log.clone());
    let kids = std::cell::RefCell::new(children);
    Session::new(())
        .state("_start", move |ctx| {
            ctx.alias_set(name).unwrap();
            ctx.sig("DIE", "die", ()).unwrap();
            for child in kids.borrow_mut().drain(..) {
                ctx.create(child).unwrap();
            }
        })
        .state("die", move |ctx| {
            l1.borrow_mut().push(format!("{name} sees DIE"));
            if handle {
                ctx.sig_handled();
            }
        })
        .state("boom", |_| -> Value { panic!("mid broke") })
        .state("done", move |ctx| {
            l2.borrow_mut().push(format!("{name} done"));
            ctx.alias_remove(name).unwrap();
        })
}

#[test]
fn die_reaches_descendants_first_then_the_session_then_its_ancestors() {
    let k = Kernel::new().unwrap();
    let log: Log = Default::default();
    let leaf = die_watcher(&log, "leaf", false, vec![]);
    let mid = die_watcher(&log, "mid", false, vec![leaf]);
    let sibling = die_watcher(&log, "sibling", false, vec![]);
    k.create(die_watcher(&log, "top", true, vec![mid, sibling]))
        .unwrap();
    k.post("mid", "boom", ()).unwrap();
    k.run_one_timeslice(); // the panic
    k.run_one_timeslice(); // its DIE
    assert_eq!(
        log_of(&log),
        ["leaf sees DIE", "mid sees DIE", "top sees DIE"]
    );
    // top handled it: nobody stopped.
    for name in ["top", "mid", "leaf", "sibling"] {
        k.post(name, "done", ()).unwrap();
    }
    k.run();
    assert_eq!(
        log_of(&log)[3..],
        ["top done", "mid done", "leaf done", "sibling done"]
    );
}

#[test]
fn a_panic_in_a_call_from_another_session_is_an_error_for_the_caller() {
    let k = Kernel::new().unwrap();
    let log: Log = Default::default();
    let l = log.clone();
    k.create(
        Session::new(())
            .state("_start", |ctx| {
                ctx.alias_set("callee").unwrap();
                ctx.sig("DIE", "die", ()).unwrap();
            })
            .state("explode", |_| -> Value { panic!("callee broke") })
            .state("die", |ctx| {
                ctx.sig_handled();
                ctx.alias_remove("callee").unwrap();
            }),
    )
    .unwrap();
    k.create(Session::new(()).state("_start", move |ctx| {
        let r = ctx.call("callee", "explode", ());
        l.borrow_mut().push(format!("{}", r.unwrap_err()));
    }))
    .unwrap();
    k.run();
    let log = log_of(&log);
    assert_eq!(log.len(), 1);
    assert!(
        log[0].ends_with("panicked in 'explode': callee broke"),
        "{log:?}"
    );
}

#[test]
fn a_panic_in_a_die_watcher_is_added_to_the_one_being_handled() {
    let k = Kernel::new().unwrap();
    k.create(
        Session::new(())
            .state("_start", |ctx| {
                ctx.sig("DIE", "die", ()).unwrap();
                ctx.yield_("boom", ());
            })
            .state("boom", |_| -> Value { panic!("first") })
            .state("die", |_| -> Value { panic!("second") }),
    )
    .unwrap();
    let err = catch_unwind(AssertUnwindSafe(|| k.run())).unwrap_err();
    assert_eq!(
        err.downcast_ref::<String>().map(String::as_str),
        Some("first\nsecond")
    );
    assert_eq!(k.session_count(), 0);
}

#[test]
fn a_panic_in_stop_leaves_run_after_the_stop() {
    let k = Kernel::new().unwrap();
    let log: Log = Default::default();
    let l = log.clone();
    k.create(
        Session::new(())
            .state("_start", |ctx| ctx.yield_("go", ()))
            .state("go", |_| ())
            .state("_stop", move |_| -> Value {
                l.borrow_mut().push("stopping".into());
                panic!("stop failed")
            }),
    )
    .unwrap();
    let err = catch_unwind(AssertUnwindSafe(|| k.run())).unwrap_err();
    assert_eq!(err.downcast_ref::<&str>(), Some(&"stop failed"));
    assert_eq!(log_of(&log), ["stopping"], "_stop ran once");
    assert_eq!(k.session_count(), 0);
}

#[test]
fn a_panic_in_a_self_call_is_caught_by_the_dispatch_around_it() {
    let k = Kernel::new().unwrap();
    let log: Log = Default::default();
    let l = log.clone();
    k.create(
        Session::new(())
            .state("_start", |ctx| {
                ctx.sig("DIE", "die", ()).unwrap();
                ctx.yield_("outer", ());
            })
            .state("outer", |ctx| -> Value {
                let me = ctx.session();
                let _ = ctx.call(me, "inner", ());
                unreachable!("the self-call's panic is not caught here");
            })
            .state("inner", |_| -> Value { panic!("inner") })
            .state("die", move |ctx| {
                l.borrow_mut()
                    .push(format!("DIE in '{}'", ctx.arg(1).get("event").unwrap()));
                ctx.sig_handled();
            }),
    )
    .unwrap();
    k.run();
    assert_eq!(log_of(&log), ["DIE in 'outer'"]);
}

/// Runs `body` on its own thread; fails the test if it has not finished
/// within `secs` (a hung `run` would otherwise hang the test).
fn with_watchdog<T: Send + 'static>(secs: u64, body: impl FnOnce() -> T + Send + 'static) -> T {
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        let _ = tx.send(body());
    });
    rx.recv_timeout(std::time::Duration::from_secs(secs))
        .expect("run() did not return")
}

#[test]
fn a_panic_in_stop_reached_through_ctx_stop_leaves_run_after_the_stop() {
    let (panic_text, log, sessions) = with_watchdog(20, || {
        let k = Kernel::new().unwrap();
        let log: Log = Default::default();
        let (l1, l2) = (log.clone(), log.clone());
        k.create(
            Session::new(())
                .state("_start", |ctx| ctx.yield_("go", ()))
                .state("go", |ctx| ctx.stop())
                .state("_stop", move |_| -> Value {
                    l1.borrow_mut().push("first _stop".into());
                    panic!("stop failed")
                }),
        )
        .unwrap();
        // A second session: the kernel-wide stop still reaches it.
        k.create(
            Session::new(())
                .state("_start", |ctx| ctx.alias_set("other").unwrap())
                .state("_stop", move |_| l2.borrow_mut().push("other _stop".into())),
        )
        .unwrap();
        let err = catch_unwind(AssertUnwindSafe(|| k.run())).unwrap_err();
        let text = err.downcast_ref::<&str>().map(|s| s.to_string());
        let log = log_of(&log);
        (text, log, k.session_count())
    });
    assert_eq!(panic_text.as_deref(), Some("stop failed"));
    assert_eq!(log.iter().filter(|l| *l == "first _stop").count(), 1);
    assert!(log.contains(&"other _stop".to_string()), "{log:?}");
    assert_eq!(sessions, 0);
}

#[test]
fn a_panic_after_the_session_stopped_itself_still_leaves_run() {
    let (panic_text, sessions) = with_watchdog(20, || {
        let k = Kernel::new().unwrap();
        k.create(
            Session::new(())
                .state("_start", |ctx| ctx.yield_("go", ()))
                .state("go", |ctx| -> Value {
                    ctx.stop();
                    panic!("after stop")
                }),
        )
        .unwrap();
        let r = catch_unwind(AssertUnwindSafe(|| k.run()));
        let text = r
            .err()
            .and_then(|e| e.downcast_ref::<&str>().map(|s| s.to_string()));
        (text, k.session_count())
    });
    assert_eq!(panic_text.as_deref(), Some("after stop"));
    assert_eq!(sessions, 0);
}
