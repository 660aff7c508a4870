//! Sessions: calls, the parent/child lifecycle, `_default`, states,
//! postbacks.

use crate::common::*;
use crate::{caller_state, check, join_args};
use poe::prelude::*;
use std::cell::RefCell;
use std::rc::Rc;

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

/// A `_default` handler logging lifecycle events the way
/// default_lifecycle.pl prints them.
fn show_default(who: &'static str) -> impl Fn(&mut Ctx<Trace>) + 'static {
    move |ctx| {
        let ev = ctx.arg(0).to_string();
        if ev == "_stop" {
            return;
        }
        let args: Vec<String> = ctx
            .arg(1)
            .as_list()
            .unwrap()
            .iter()
            .map(|v| match v {
                Value::Int(_) => sid(v),
                other => val(other),
            })
            .collect();
        let line = format!(
            "{who} _default {ev} [{}] state={}",
            args.join(","),
            ctx.event()
        );
        ctx.heap.log(line);
    }
}

#[test]
fn default_receives_child_and_parent_without_handlers_like_perl() {
    let t = Trace::new();
    let k = Kernel::new().unwrap();
    let tc = t.clone();
    k.create(
        Session::new(t.clone())
            .state("_start", move |ctx| {
                for n in 1..=2 {
                    let child = Session::new(tc.clone())
                        .state("_start", move |ctx| {
                            if n == 1 {
                                ctx.yield_("leave", ());
                            }
                            format!("started{n}")
                        })
                        .state("leave", move |ctx| {
                            ctx.detach_myself().unwrap();
                            ctx.heap.log(format!("child{n} detached"));
                        })
                        .state(
                            "_default",
                            show_default(if n == 1 { "child1" } else { "child2" }),
                        )
                        .state("_stop", move |ctx| {
                            ctx.heap.log(format!("child{n} stop"));
                            format!("x{n}")
                        });
                    ctx.create(child).unwrap();
                }
            })
            .state("_default", show_default("parent"))
            .state("_stop", |ctx| ctx.heap.log("parent stop")),
    )
    .unwrap();
    k.run();
    check("default_lifecycle", t.lines());
}
