//! The same small programs in Perl POE and in poe-rs, compared by their
//! event traces. Each Perl program lives in tests/perl/kernel/; its output
//! is also recorded next to it (`.expected`), so the Rust side is checked
//! even where Perl is not installed.

mod common;

use common::*;
use poe::prelude::*;
use std::cell::{Cell, RefCell};
use std::rc::Rc;

/// Check our trace against the recorded Perl output and, when Perl POE is
/// installed, against a fresh run of the Perl program.
fn check(name: &str, ours: Vec<String>) {
    let expected_path = repo_path(&format!("tests/perl/kernel/{name}.expected"));
    let expected: Vec<String> = std::fs::read_to_string(&expected_path)
        .unwrap_or_else(|e| panic!("{}: {e}", expected_path.display()))
        .lines()
        .map(str::to_owned)
        .collect();
    assert_same_trace(&ours, &expected);
    if perl_poe_available(name) {
        let perl = run_perl(&format!("tests/perl/kernel/{name}.pl"));
        assert_same_trace(&ours, &perl);
    }
}

fn caller_state(ctx: &Ctx<Trace>) -> String {
    ctx.caller_state()
        .map_or("undef".to_owned(), |s| s.to_string())
}

#[test]
fn ordering_of_posts_past_alarms_and_future_alarms_matches_perl() {
    let t = Trace::new();
    let k = virtual_kernel();
    let mut s = Session::new(t.clone())
        .state("_start", |ctx| ctx.yield_("go", ()))
        .state("go", |ctx| {
            let now = ctx.now();
            ctx.yield_("p1", ());
            ctx.yield_("p2", ());
            ctx.alarm("past", now - 10.0, ()).unwrap();
            ctx.alarm_add("zero", 0.0, ()).unwrap();
            ctx.yield_("p3", ());
            ctx.delay_add("l1", 0.1, ()).unwrap();
            for name in ["s1", "s2", "s3"] {
                ctx.alarm_add(name, now + 0.2, ()).unwrap();
            }
            ctx.yield_("p4", ());
        });
    for name in [
        "p1", "p2", "p3", "p4", "past", "zero", "l1", "s1", "s2", "s3",
    ] {
        s = s.state(name, move |ctx| ctx.heap.log(name));
    }
    k.create(s).unwrap();
    k.run();
    check("ordering", t.lines());
}

#[test]
fn posts_and_nested_calls_between_sessions_match_perl() {
    let t = Trace::new();
    let k = Kernel::new().unwrap();
    k.create(
        Session::new(t.clone())
            .state("_start", |ctx| ctx.alias_set("a").unwrap())
            .state("go", |ctx| {
                ctx.heap.log(format!("a go sender={}", ctx.sender()));
                ctx.post("b", "p1", ()).unwrap();
                let r = ctx.call("b", "c1", (5,)).unwrap();
                ctx.heap.log(format!("a call returned {r}"));
                ctx.yield_("a2", ());
                ctx.post("b", "p2", ()).unwrap();
                ctx.alias_remove("a").unwrap();
            })
            .state("from_b", |ctx| {
                ctx.heap.log(format!("a from_b sender={}", ctx.sender()))
            })
            .state("a2", |ctx| {
                let cs = caller_state(ctx);
                ctx.heap.log(format!("a a2 caller_state={cs}"))
            })
            .state("_stop", |ctx| ctx.heap.log("a stop")),
    )
    .unwrap();
    k.create(
        Session::new(t.clone())
            .state("_start", |ctx| ctx.alias_set("b").unwrap())
            .state("c1", |ctx| {
                let line = format!(
                    "b c1 {} state={} caller_state={} sender={}",
                    ctx.arg(0),
                    ctx.event(),
                    caller_state(ctx),
                    ctx.sender()
                );
                ctx.heap.log(line);
                ctx.post("a", "from_b", ()).unwrap();
                let me = ctx.session();
                let inner = ctx.call(me, "inner", (7,)).unwrap();
                let active = ctx.get_active_event().unwrap();
                ctx.heap
                    .log(format!("b inner returned {inner} active_event={active}"));
                ctx.arg(0).as_i64().unwrap() * 2
            })
            .state("inner", |ctx| {
                let line = format!(
                    "b inner {} state={} sender={}",
                    ctx.arg(0),
                    ctx.event(),
                    ctx.sender()
                );
                ctx.heap.log(line);
                ctx.arg(0).as_i64().unwrap() + 1
            })
            .state("p1", |ctx| {
                let cs = caller_state(ctx);
                ctx.heap.log(format!("b p1 caller_state={cs}"))
            })
            .state("p2", |ctx| {
                ctx.heap.log("b p2");
                ctx.alias_remove("b").unwrap();
            })
            .state("_stop", |ctx| ctx.heap.log("b stop")),
    )
    .unwrap();
    k.post("a", "go", ()).unwrap();
    k.run();
    t.log("done");
    check("calls", t.lines());
}

fn lifecycle_child(n: u32, trace: Trace) -> Session<Trace> {
    Session::new(trace)
        .state("_start", move |ctx| {
            ctx.heap
                .log(format!("child{n} start sender={}", ctx.sender()));
            if n == 3 {
                ctx.alias_set("c3").unwrap();
            }
            if n == 1 {
                ctx.delay("done", 0.05 * n as f64, ()).unwrap();
            }
            if n == 2 {
                ctx.yield_("leave", ());
            }
            format!("r{n}")
        })
        .state("done", move |ctx| ctx.heap.log(format!("child{n} done")))
        .state("leave", move |ctx| {
            let ok = ctx.detach_myself();
            ctx.heap.log(format!(
                "child{n} detached {}",
                if ok.is_ok() { "1" } else { "undef" }
            ));
            let again = ctx.detach_myself().unwrap_err();
            ctx.heap.log(format!(
                "child{n} detach again undef errno={}",
                again.errno()
            ));
        })
        .state("_parent", move |ctx| {
            let line = format!(
                "child{n} _parent old={} new={}",
                sid(ctx.arg(0)),
                sid(ctx.arg(1))
            );
            ctx.heap.log(line)
        })
        .state("_stop", move |ctx| {
            ctx.heap.log(format!("child{n} stop"));
            format!("x{n}")
        })
}

#[test]
fn child_lifecycle_and_detaching_match_perl() {
    let t = Trace::new();
    let k = virtual_kernel();
    let tc = t.clone();
    k.create(
        Session::new(t.clone())
            .state("_start", move |ctx| {
                ctx.heap.log("parent start");
                for n in 1..=3 {
                    ctx.create(lifecycle_child(n, tc.clone())).unwrap();
                    ctx.heap.log(format!("parent created child{n}"));
                }
                ctx.delay("drop3", 0.1, ()).unwrap();
                "pr"
            })
            .state("drop3", |ctx| {
                let ok = ctx.detach_child("c3");
                ctx.heap.log(format!(
                    "parent detach_child c3 {}",
                    if ok.is_ok() { "1" } else { "undef" }
                ));
                let bad = ctx.detach_child("c3").unwrap_err();
                ctx.heap.log(format!(
                    "parent detach_child c3 again undef errno={}",
                    bad.errno()
                ));
                ctx.post("c3", "release", ()).unwrap();
            })
            .state("_child", |ctx| {
                let line = format!(
                    "parent _child {} {} {}",
                    ctx.arg(0),
                    sid(ctx.arg(1)),
                    val(ctx.arg(2))
                );
                ctx.heap.log(line)
            })
            .state("_stop", |ctx| ctx.heap.log("parent stop")),
    )
    .unwrap();
    k.create(
        Session::new(t.clone())
            .state("_start", |ctx| {
                ctx.alias_set("keeper").unwrap();
                ctx.delay("bye", 0.2, ()).unwrap();
            })
            .state("bye", |ctx| {
                ctx.post("c3", "noop", ()).unwrap();
                ctx.alias_remove("keeper").unwrap();
                ctx.heap.log("keeper bye");
            })
            .state("_stop", |ctx| ctx.heap.log("keeper stop")),
    )
    .unwrap();
    k.run();
    check("lifecycle", t.lines());
}

fn join_args(args: &[Value]) -> String {
    args.iter().map(val).collect::<Vec<_>>().join(",")
}

fn signal_node(
    name: &'static str,
    child: Option<&'static str>,
    t: Trace,
    handle: Rc<Cell<bool>>,
) -> Session<Trace> {
    let h = handle.clone();
    Session::new(t)
        .state("_start", move |ctx| {
            let handle = &h;
            ctx.alias_set(name).unwrap();
            ctx.sig("TERM", "term", ()).unwrap();
            ctx.sig("USR1", "usr", ("extra",)).unwrap();
            if let Some(c) = child {
                let grandchild = if c == "mid" { Some("leaf") } else { None };
                let node = signal_node(c, grandchild, ctx.heap.clone(), handle.clone());
                ctx.create(node).unwrap();
            }
        })
        .state("term", {
            move |ctx| {
                let line = format!(
                    "{name} got {} args={} sender={}",
                    ctx.arg(0),
                    join_args(&ctx.args[1..]),
                    ctx.sender()
                );
                ctx.heap.log(line);
                if handle.get() && name == "mid" {
                    ctx.sig_handled();
                }
            }
        })
        .state("usr", move |ctx| {
            let line = format!(
                "{name} got {} args={}",
                ctx.arg(0),
                join_args(&ctx.args[1..])
            );
            ctx.heap.log(line)
        })
        .state("_child", move |ctx| {
            let line = format!("{name} _child {} {}", ctx.arg(0), sid(ctx.arg(1)));
            ctx.heap.log(line)
        })
        .state("_stop", move |ctx| ctx.heap.log(format!("{name} stop")))
}

#[test]
fn signals_reach_descendants_deepest_first_and_terminal_ones_stop_them_like_perl() {
    let t = Trace::new();
    let k = Kernel::new().unwrap();
    let handle = Rc::new(Cell::new(false));
    k.create(signal_node("top", Some("mid"), t.clone(), handle.clone()))
        .unwrap();
    let h = handle.clone();
    k.create(
        Session::new(t.clone())
            .state("_start", |ctx| ctx.yield_("step1", ()))
            .state("step1", |ctx| {
                ctx.heap.log("benign");
                ctx.signal("top", "USR1", ("a", "b")).unwrap();
                ctx.yield_("step2", ());
            })
            .state("step2", {
                let h = h.clone();
                move |ctx| {
                    ctx.heap.log("handled");
                    h.set(true);
                    ctx.signal("top", "TERM", ("h",)).unwrap();
                    ctx.yield_("step3", ());
                }
            })
            .state("step3", move |ctx| {
                ctx.heap.log("unhandled to mid");
                h.set(false);
                ctx.signal("mid", "TERM", ("u",)).unwrap();
                ctx.yield_("step4", ());
            })
            .state("step4", |ctx| ctx.heap.log("after"))
            .state("_stop", |ctx| ctx.heap.log("driver stop")),
    )
    .unwrap();
    k.run();
    t.log("run returned");
    check("signal_tree", t.lines());
}

#[test]
fn stop_comes_after_the_batch_that_released_the_last_hold_like_perl() {
    let t = Trace::new();
    let k = Kernel::new().unwrap();
    let alarm = Rc::new(Cell::new(None));
    let a2 = alarm.clone();
    k.create(
        Session::new(t.clone())
            .state("_start", move |ctx| {
                ctx.alias_set("timer").unwrap();
                a2.set(Some(ctx.delay_set("never", 100.0, ()).unwrap()));
            })
            .state("cancel", move |ctx| {
                let r = ctx.alarm_remove(alarm.get().unwrap()).unwrap();
                ctx.heap.log(format!("timer cancel removed {}", r.name));
                ctx.alias_remove("timer").unwrap();
            })
            .state("never", |ctx| ctx.heap.log("timer never"))
            .state("_stop", |ctx| ctx.heap.log("timer stop")),
    )
    .unwrap();
    k.create(
        Session::new(t.clone())
            .state("_start", |ctx| ctx.alias_set("other").unwrap())
            .state("e1", |ctx| {
                ctx.heap.log("other e1");
                ctx.yield_("e2", ());
            })
            .state("e2", |ctx| {
                ctx.heap.log("other e2");
                ctx.post("sink", "last", ()).unwrap();
                ctx.alias_remove("other").unwrap();
            })
            .state("_stop", |ctx| ctx.heap.log("other stop")),
    )
    .unwrap();
    k.create(
        Session::new(t.clone())
            .state("_start", |ctx| ctx.alias_set("sink").unwrap())
            .state("last", |ctx| {
                ctx.heap.log("sink last");
                ctx.alias_remove("sink").unwrap();
            })
            .state("_stop", |ctx| ctx.heap.log("sink stop")),
    )
    .unwrap();
    k.post("timer", "cancel", ()).unwrap();
    k.post("other", "e1", ()).unwrap();
    k.run();
    check("gc_timing", t.lines());
}

#[test]
fn default_receives_unknown_events_and_unhandled_stop_like_perl() {
    let t = Trace::new();
    let k = Kernel::new().unwrap();
    let tc = t.clone();
    k.create(
        Session::new(t.clone())
            .state("_start", move |ctx| {
                let child = Session::new(tc.clone())
                    .state("_start", |ctx| {
                        ctx.yield_("mystery", (1, 2));
                        "started"
                    })
                    .state("_default", |ctx| {
                        let ev = ctx.arg(0).to_string();
                        let args: Vec<String> = ctx
                            .arg(1)
                            .as_list()
                            .unwrap()
                            .iter()
                            .map(|v| match v {
                                Value::List(_) | Value::Map(_) => "ref".to_owned(),
                                other => val(other),
                            })
                            .collect();
                        let line = format!(
                            "child _default {ev} [{}] state={}",
                            args.join(","),
                            ctx.event()
                        );
                        ctx.heap.log(line);
                        format!("from default {ev}")
                    });
                ctx.create(child).unwrap();
            })
            .state("_child", |ctx| {
                let line = format!(
                    "parent _child {} {} {}",
                    ctx.arg(0),
                    sid(ctx.arg(1)),
                    val(ctx.arg(2))
                );
                ctx.heap.log(line)
            })
            .state("_stop", |ctx| ctx.heap.log("parent stop")),
    )
    .unwrap();
    k.run();
    check("default", t.lines());
}

#[test]
fn idle_keeps_coming_while_handled_and_zombie_ends_it_like_perl() {
    let t = Trace::new();
    let k = Kernel::new().unwrap();
    let n = Rc::new(Cell::new(0));
    k.create(
        Session::new(t.clone())
            .state("_start", |ctx| {
                ctx.alias_set("daemon").unwrap();
                ctx.sig("IDLE", "idle", ()).unwrap();
                ctx.sig("ZOMBIE", "zombie", ()).unwrap();
            })
            .state("idle", {
                let n = n.clone();
                move |ctx| {
                    n.set(n.get() + 1);
                    ctx.heap.log(format!("idle {}", n.get()));
                    ctx.sig_handled();
                    if n.get() < 3 {
                        ctx.yield_("work", ());
                    }
                }
            })
            .state("work", move |ctx| ctx.heap.log(format!("work {}", n.get())))
            .state("zombie", |ctx| {
                ctx.heap.log("zombie");
                ctx.sig_handled();
            })
            .state("_stop", |ctx| ctx.heap.log("daemon stop")),
    )
    .unwrap();
    k.run();
    t.log("run returned");
    check("idle", t.lines());
}

#[test]
fn states_added_replaced_and_removed_at_run_time_like_perl() {
    let t = Trace::new();
    let k = Kernel::new().unwrap();
    k.create(
        Session::new(t.clone())
            .state("_start", |ctx| {
                ctx.yield_("dyn", (1,));
                ctx.state("dyn", |ctx| ctx.heap.log(format!("dyn v1 {}", ctx.arg(0))));
                ctx.yield_("swap", ());
                ctx.yield_("dyn", (2,));
                ctx.yield_("gone", ());
                ctx.yield_("dyn", (3,));
            })
            .state("swap", |ctx| {
                ctx.state("dyn", |ctx| ctx.heap.log(format!("dyn v2 {}", ctx.arg(0))));
                ctx.heap.log("swapped");
            })
            .state("gone", |ctx| {
                assert!(ctx.remove_state("dyn"));
                ctx.heap.log("removed 0");
            })
            .state("_default", |ctx| {
                let ev = ctx.arg(0).to_string();
                if !ev.starts_with('_') {
                    ctx.heap.log(format!("default {ev}"));
                }
            }),
    )
    .unwrap();
    k.run();
    check("states", t.lines());
}

#[test]
fn postbacks_and_callbacks_keep_their_session_alive_like_perl() {
    let t = Trace::new();
    let k = virtual_kernel();
    let pb: Rc<RefCell<Option<Postback>>> = Rc::default();
    let cb: Rc<RefCell<Option<Callback>>> = Rc::default();
    let (pb1, cb1) = (pb.clone(), cb.clone());
    k.create(
        Session::new(t.clone())
            .state("_start", move |ctx| {
                *pb1.borrow_mut() = Some(ctx.postback("got", ("ctx1", "ctx2")));
                *cb1.borrow_mut() = Some(ctx.callback("add", (40,)));
            })
            .state("got", |ctx| {
                let line = format!(
                    "got [{}] [{}] sender={}",
                    join_args(ctx.arg(0).as_list().unwrap()),
                    join_args(ctx.arg(1).as_list().unwrap()),
                    ctx.sender()
                );
                ctx.heap.log(line)
            })
            .state("add", |ctx| {
                ctx.arg(0).as_list().unwrap()[0].as_i64().unwrap()
                    + ctx.arg(1).as_list().unwrap()[0].as_i64().unwrap()
            })
            .state("_stop", |ctx| ctx.heap.log("target stop")),
    )
    .unwrap();
    k.create(
        Session::new(t.clone())
            .state("_start", |ctx| ctx.delay("fire", 0.05, ()).unwrap())
            .state("fire", move |ctx| {
                let sum = cb.borrow().as_ref().unwrap().call((2,)).unwrap();
                ctx.heap.log(format!("callback returned {sum}"));
                pb.borrow().as_ref().unwrap().post(("x", "y")).unwrap();
                pb.borrow_mut().take();
                cb.borrow_mut().take();
                ctx.heap.log("released");
            })
            .state("_stop", |ctx| ctx.heap.log("caller stop")),
    )
    .unwrap();
    k.run();
    check("postback", t.lines());
}

#[test]
fn alarm_api_return_values_and_firing_order_match_perl() {
    let t = Trace::new();
    let k = virtual_kernel();
    k.create(
        Session::new(t.clone())
            .state("_start", |ctx| {
                let base = ctx.now();
                let rel = |x: f64| format!("{:.2}", x - base);
                let mut id = std::collections::HashMap::new();
                for (i, name) in ["a1", "a2", "a3", "a4", "a5"].into_iter().enumerate() {
                    id.insert(
                        name,
                        ctx.alarm_set(name, base + (i + 1) as f64, ()).unwrap(),
                    );
                }
                let a1 = ctx.alarm_adjust(id["a1"], 2.5).unwrap();
                ctx.heap.log(format!("adjust a1 +2.5 -> {}", rel(a1)));
                let a5 = ctx.alarm_adjust(id["a5"], -4.5).unwrap();
                ctx.heap.log(format!("adjust a5 -4.5 -> {}", rel(a5)));
                let r = ctx.alarm_remove(id["a3"]).unwrap();
                ctx.heap
                    .log(format!("removed {} due {}", r.name, rel(r.due)));
                let again = ctx.alarm_remove(id["a3"]).unwrap_err();
                ctx.heap
                    .log(format!("remove again: 0 errno={}", again.errno()));
                let d = ctx.delay_set("d1", 10.0, ()).unwrap();
                let d1 = ctx.delay_adjust(d, 3.2).unwrap();
                ctx.heap
                    .log(format!("delay_adjust d1 3.2 -> {:.1}", d1 - base));
                for _ in 0..3 {
                    ctx.delay_add("dup", 1.0, ()).unwrap();
                }
                ctx.delay("dup", 2.0, ()).unwrap();
                ctx.alarm_add("gone", base + 1.0, ()).unwrap();
                ctx.alarm_add("gone", base + 2.0, ()).unwrap();
                ctx.alarm_clear("gone").unwrap();
                let bad = ctx.alarm_add("", 1.0, ()).unwrap_err();
                ctx.heap
                    .log(format!("alarm_add undef name: {}", bad.errno()));
                ctx.delay("bulk", 7.0, ()).unwrap();
                ctx.delay_add("bulk2", 8.0, ("arg",)).unwrap();
                ctx.yield_("clear", ());
            })
            .state("clear", |ctx| {
                let all = ctx.alarm_remove_all().unwrap();
                let names: Vec<String> = all.iter().map(|a| a.name.to_string()).collect();
                ctx.heap.log(format!("remove_all: {}", names.join(" ")));
                ctx.delay("late", 0.5, ()).unwrap();
            })
            .state("_default", |ctx| {
                let ev = ctx.arg(0).to_string();
                if !ev.starts_with('_') {
                    ctx.heap.log(format!("fired {ev}"));
                }
            }),
    )
    .unwrap();
    k.run();
    check("alarms", t.lines());
}

/// A DIE watcher for the `die` scenario, creating `children`.
fn die_node(
    name: &'static str,
    children: Vec<(&'static str, Vec<&'static str>)>,
    t: Trace,
    handle: Rc<Cell<bool>>,
) -> Session<Trace> {
    let h = handle.clone();
    Session::new(t)
        .state("_start", move |ctx| {
            ctx.alias_set(name).unwrap();
            ctx.sig("DIE", "die", ()).unwrap();
            for (child, grandchildren) in &children {
                let kids = grandchildren.iter().map(|g| (*g, Vec::new())).collect();
                let node = die_node(child, kids, ctx.heap.clone(), h.clone());
                ctx.create(node).unwrap();
            }
        })
        .state("die", move |ctx| {
            let ex = ctx.arg(1).clone();
            let dest = ex.get("dest_session").and_then(Value::as_i64).unwrap() as u64;
            let dest = ctx.alias_list(dest).unwrap().join(",");
            let line = format!(
                "{name} got {} event={} error={} dest={dest}",
                ctx.arg(0),
                ex.get("event").unwrap(),
                ex.get("error_str").unwrap()
            );
            ctx.heap.log(line);
            if handle.get() && name == "top" {
                ctx.sig_handled();
            }
        })
        .state("boom", move |_| -> Value { panic!("{name} broke") })
        .state("_child", move |ctx| {
            let line = format!("{name} _child {}", ctx.arg(0));
            ctx.heap.log(line)
        })
        .state("_stop", move |ctx| ctx.heap.log(format!("{name} stop")))
}

#[test]
fn a_panic_becomes_die_and_reaches_the_sessions_perl_reaches() {
    let t = Trace::new();
    let k = Kernel::new().unwrap();
    let handle = Rc::new(Cell::new(true));
    let tree = vec![("mid", vec!["leaf"]), ("sibling", vec![])];
    k.create(die_node("top", tree, t.clone(), handle.clone()))
        .unwrap();
    k.create(
        Session::new(t.clone())
            .state("_start", |ctx| ctx.yield_("step1", ()))
            .state("step1", |ctx| {
                ctx.heap.log("handled");
                ctx.post("mid", "boom", ()).unwrap();
                ctx.yield_("step2", ());
            })
            .state("step2", |ctx| ctx.yield_("step3", ()))
            .state("step3", move |ctx| {
                ctx.heap.log("unhandled");
                handle.set(false);
                ctx.post("leaf", "boom", ()).unwrap();
            })
            .state("_stop", |ctx| ctx.heap.log("driver stop")),
    )
    .unwrap();
    let died = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| k.run()));
    let message = died
        .err()
        .and_then(|p| p.downcast_ref::<String>().cloned())
        .unwrap_or_default();
    t.log(format!("run died: {message}"));
    check("die", t.lines());
}
