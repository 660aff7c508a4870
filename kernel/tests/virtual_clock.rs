//! The virtual clock: time jumps to the next alarm when nothing else is
//! ready, so long timeouts are tested in no time.

use poe_kernel::*;
use std::cell::RefCell;
use std::rc::Rc;

#[test]
fn an_hour_of_timers_passes_in_virtual_time_in_order() {
    let k = Kernel::builder().clock(ClockKind::Virtual).build().unwrap();
    assert_eq!(k.clock_kind(), ClockKind::Virtual);
    let start = k.now();
    let fired: Rc<RefCell<Vec<(String, f64)>>> = Rc::default();
    let f = fired.clone();
    let real = std::time::Instant::now();
    k.create(
        Session::new(())
            .state("_start", |ctx| {
                ctx.delay("hour", 3600.0, ()).unwrap();
                ctx.delay("minute", 60.0, ()).unwrap();
                ctx.delay("second", 1.0, ()).unwrap();
            })
            .state("_default", move |ctx| {
                let name = ctx.arg(0).to_string();
                if !name.starts_with('_') {
                    f.borrow_mut().push((name, ctx.now() - start));
                }
            }),
    )
    .unwrap();
    k.run();
    let fired = fired.borrow();
    let names: Vec<&str> = fired.iter().map(|(n, _)| n.as_str()).collect();
    assert_eq!(names, ["second", "minute", "hour"]);
    for ((_, at), want) in fired.iter().zip([1.0, 60.0, 3600.0]) {
        assert!((at - want).abs() < 1e-6, "fired at {at}, due {want}");
    }
    // A real clock would have taken an hour.
    assert!(real.elapsed().as_secs() < 60);
}

#[test]
fn virtual_time_stands_still_while_events_are_pending() {
    let k = Kernel::builder().clock(ClockKind::Virtual).build().unwrap();
    let t0 = k.now();
    let seen = Rc::new(RefCell::new(Vec::new()));
    let s = seen.clone();
    k.create(
        Session::new(0u32)
            .state("_start", |ctx| {
                ctx.delay("timer", 10.0, ()).unwrap();
                ctx.yield_("busy", ());
            })
            .state("busy", move |ctx| {
                s.borrow_mut().push(ctx.now() - t0);
                *ctx.heap += 1;
                if *ctx.heap < 5 {
                    ctx.yield_("busy", ());
                }
            })
            .state("timer", |_| ()),
    )
    .unwrap();
    k.run();
    assert_eq!(*seen.borrow(), [0.0; 5]);
    assert!((k.now() - t0 - 10.0).abs() < 1e-6);
}
