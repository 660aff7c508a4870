//! The queue: posts, alarms and their order.

use crate::check;
use crate::common::*;
use poe::prelude::*;

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

#[test]
fn adjusted_and_new_alarms_queue_after_those_due_at_the_same_time_like_perl() {
    let t = Trace::new();
    let k = virtual_kernel();
    k.create(
        Session::new(t.clone())
            .state("_start", |ctx| {
                let base = ctx.now();
                let adjust = |ctx: &mut Ctx<Trace>, name: &str, id: AlarmId, delta: f64| {
                    let due = ctx.alarm_adjust(id, delta).unwrap();
                    ctx.heap
                        .log(format!("adjust {name} {delta:+} -> {:.2}", due - base));
                };
                let a = ctx.alarm_set("a", base - 5.0, ()).unwrap();
                ctx.alarm_set("b", base - 4.0, ()).unwrap();
                let c = ctx.alarm_set("c", base - 4.0, ()).unwrap();
                let d = ctx.alarm_set("d", base - 3.0, ()).unwrap();
                adjust(ctx, "a", a, 1.0);
                ctx.alarm_set("e", base - 4.0, ()).unwrap();
                adjust(ctx, "d", d, -1.0);
                adjust(ctx, "c", c, 0.0);
                ctx.alarm_set("f", base - 6.0, ()).unwrap();
                let g = ctx.alarm_set("g", base - 7.0, ()).unwrap();
                adjust(ctx, "g", g, 1.0);
                ctx.alarm_add("h", base - 4.0, ()).unwrap();
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
    check("alarm_ties", t.lines());
}
