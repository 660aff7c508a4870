//! Helpers shared by the kernel's integration tests.
#![allow(dead_code)]

use poe_kernel::{Kernel, Session};

/// A session that yields to itself `n` times, so each timeslice has work
/// and `run_one_timeslice` never waits.
pub fn pump(k: &Kernel, n: u32) {
    k.create(
        Session::new(n)
            .state("_start", |ctx| ctx.yield_("pump", ()))
            .state("pump", |ctx| {
                *ctx.heap -= 1;
                if *ctx.heap > 0 {
                    ctx.yield_("pump", ());
                }
            }),
    )
    .unwrap();
}
