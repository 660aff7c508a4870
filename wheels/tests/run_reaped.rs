//! Wheel::Run with the kernel's sig_child: many children, every line of
//! output, every child reaped exactly once with its status.

use poe_kernel::{Kernel, Session};
use poe_wheels::{Run, WheelId};
use std::cell::RefCell;
use std::collections::{BTreeMap, BTreeSet};
use std::rc::Rc;

#[derive(Default)]
struct Jobs {
    wheels: BTreeMap<WheelId, Run>,
}

#[derive(Default)]
struct Seen {
    lines: BTreeSet<String>,
    reaped: Vec<(u32, i64, i64)>,
    spawned: BTreeSet<u32>,
}

#[test]
fn a_hundred_children_every_line_arrives_and_each_is_reaped_once() {
    const N: i64 = 100;
    let kernel = Kernel::new().unwrap();
    let seen: Rc<RefCell<Seen>> = Rc::default();
    let (s1, s2, s3) = (seen.clone(), seen.clone(), seen.clone());
    kernel
        .create(
            Session::new(Jobs::default())
                .state("_start", move |ctx| {
                    for n in 0..N {
                        let w = Run::shell(format!("echo line-{n}; exit {}", n % 5))
                            .no_stdin(true)
                            .stdout_event("out")
                            .close_event("closed")
                            .build(ctx)
                            .unwrap();
                        s1.borrow_mut().spawned.insert(w.pid());
                        ctx.sig_child(w.pid(), "reaped", (n,)).unwrap();
                        ctx.heap.wheels.insert(w.id(), w);
                    }
                })
                .state("out", move |ctx| {
                    s2.borrow_mut().lines.insert(ctx.arg(0).to_string());
                })
                .state("closed", |ctx| {
                    let id = WheelId::from_value(ctx.arg(0)).unwrap();
                    ctx.heap.wheels.remove(&id);
                })
                .state("reaped", move |ctx| {
                    let pid = ctx.arg(1).as_i64().unwrap() as u32;
                    let status = ctx.arg(2).as_i64().unwrap();
                    let n = ctx.arg(3).as_i64().unwrap();
                    s3.borrow_mut().reaped.push((pid, status, n));
                }),
        )
        .unwrap();
    // The watches and wheels hold the session; it ends when every child
    // was reaped and every wheel closed.
    kernel.run();
    let seen = seen.borrow();
    let want: BTreeSet<String> = (0..N).map(|n| format!("line-{n}")).collect();
    assert_eq!(seen.lines, want);
    assert_eq!(seen.reaped.len(), N as usize, "each child once");
    let pids: BTreeSet<u32> = seen.reaped.iter().map(|r| r.0).collect();
    assert_eq!(pids, seen.spawned);
    for &(_, status, n) in &seen.reaped {
        assert_eq!(status, (n % 5) << 8, "exit status of job {n}");
    }
}
