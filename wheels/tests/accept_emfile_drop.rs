//! A listener dropped while it backs off after EMFILE goes at once: its
//! retry alarm goes with it, so the session stops without waiting for the
//! alarm, and the alarm never reaches `_default`. Its own test binary: it
//! lowers the process's descriptor limit.

mod common;

use common::{exhaust, lower_fd_limit};
use poe_kernel::{ClockKind, Kernel, Session};
use poe_wheels::SocketFactory;
use std::cell::RefCell;
use std::fs::File;
use std::net::TcpStream;
use std::rc::Rc;

#[derive(Default)]
struct Heap {
    listener: Option<SocketFactory>,
    hog: Vec<File>,
    clients: Vec<TcpStream>,
    t0: f64,
}

#[test]
fn a_listener_dropped_during_backoff_lets_the_session_stop_at_once() {
    lower_fd_limit(256);
    let k = Kernel::builder().clock(ClockKind::Virtual).build().unwrap();
    let log: Rc<RefCell<Vec<String>>> = Rc::default();
    let (l1, l2, l3) = (log.clone(), log.clone(), log.clone());
    k.create(
        Session::new(Heap::default())
            .state("_start", |ctx| {
                let w = SocketFactory::builder()
                    .bind_address("127.0.0.1")
                    .bind_port(0u16)
                    .success_event("accepted")
                    .failure_event("failed")
                    .build(ctx)
                    .unwrap();
                let port = w.local_addr().unwrap().port();
                ctx.heap.listener = Some(w);
                ctx.heap.t0 = ctx.now();
                let c = TcpStream::connect(("127.0.0.1", port)).unwrap();
                ctx.heap.clients.push(c);
                exhaust(&mut ctx.heap.hog);
            })
            .state("failed", move |ctx| {
                // Backing off now: drop the wheel, free the descriptors.
                l1.borrow_mut().push(format!("failed {}", ctx.arg(0)));
                ctx.heap.listener = None;
                ctx.heap.hog.clear();
            })
            .state("_stop", move |ctx| {
                let at = ctx.now() - ctx.heap.t0;
                l2.borrow_mut().push(format!("stop at {at:.2}"));
            })
            .state("_default", move |ctx| {
                l3.borrow_mut().push(format!("default {}", ctx.arg(0)));
            }),
    )
    .unwrap();
    k.run_while(|| k.events_dispatched() < 2_000);
    assert_eq!(*log.borrow(), ["failed accept", "stop at 0.00"]);
}
