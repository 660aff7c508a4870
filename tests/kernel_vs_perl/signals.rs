//! Signals, DIE, IDLE and garbage-collection timing.

use crate::common::*;
use crate::{check, join_args};
use poe::prelude::*;
use std::cell::Cell;
use std::rc::Rc;

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

/// A node of the `parent_stop` tree: aliased, logging its lifecycle
/// events; `boom` panics.
fn stop_node(
    name: &'static str,
    kids: Vec<(&'static str, Vec<&'static str>)>,
    t: Trace,
) -> Session<Trace> {
    Session::new(t)
        .state("_start", move |ctx| {
            ctx.alias_set(name).unwrap();
            for (kid, grandkids) in &kids {
                let grandkids = grandkids.iter().map(|g| (*g, Vec::new())).collect();
                ctx.create(stop_node(kid, grandkids, ctx.heap.clone()))
                    .unwrap();
            }
            format!("{name}-s")
        })
        .state("boom", move |_| -> Value { panic!("{name} broke") })
        .state("_child", move |ctx| {
            let ret = if ctx.args.len() > 2 {
                format!(" ret={}", val(ctx.arg(2)))
            } else {
                String::new()
            };
            let line = format!(
                "{name} _child {} {} nargs={}{ret}",
                ctx.arg(0),
                sid(ctx.arg(1)),
                ctx.args.len()
            );
            ctx.heap.log(line)
        })
        .state("_parent", move |ctx| {
            let line = format!(
                "{name} _parent old={} new={}",
                sid(ctx.arg(0)),
                sid(ctx.arg(1))
            );
            ctx.heap.log(line)
        })
        .state("_stop", move |ctx| {
            ctx.heap.log(format!("{name} stop"));
            format!("{name}-x")
        })
}

#[test]
fn a_parent_forced_to_stop_hands_its_live_child_to_the_grandparent_like_perl() {
    let t = Trace::new();
    let k = Kernel::new().unwrap();
    // grand -> parent -> {victim, sibling}; nobody handles the victim's DIE.
    let tree = vec![("parent", vec!["victim", "sibling"])];
    k.create(stop_node("grand", tree, t.clone())).unwrap();
    k.create(
        Session::new(t.clone())
            .state("_start", |ctx| ctx.yield_("go", ()))
            .state("go", |ctx| {
                ctx.heap.log("go");
                ctx.post("victim", "boom", ()).unwrap();
            }),
    )
    .unwrap();
    let died = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| k.run()));
    let message = died
        .err()
        .and_then(|p| p.downcast_ref::<String>().cloned())
        .unwrap_or_default();
    t.log(format!("run died: {message}"));
    check("parent_stop", t.lines());
}
