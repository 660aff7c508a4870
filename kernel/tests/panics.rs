//! A panicking handler unwinds out of `run` and leaves the kernel usable.

use poe_kernel::*;
use std::panic::{catch_unwind, AssertUnwindSafe};

#[test]
fn a_panic_unwinds_out_of_run_and_the_kernel_keeps_working() {
    let k = Kernel::new().unwrap();
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
    let k = Kernel::new().unwrap();
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
