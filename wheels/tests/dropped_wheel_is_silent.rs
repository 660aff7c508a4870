//! A wheel dropped in the handler that gave it work sends nothing more:
//! the hidden event it had already queued (a write to flush, a handle's
//! end to report) must not reach the session's `_default` once the wheel
//! has removed its states.

use poe_kernel::{Kernel, Session};
use poe_wheels::{ReadWrite, Run};
use std::cell::RefCell;
use std::os::unix::net::UnixStream;
use std::rc::Rc;

type Log = Rc<RefCell<Vec<String>>>;

#[test]
fn readwrite_put_then_dropped_in_the_same_handler_sends_nothing_to_default() {
    let k = Kernel::new().unwrap();
    let (mine, _theirs) = UnixStream::pair().unwrap();
    let mine = RefCell::new(Some(mine));
    let log: Log = Rc::default();
    let l = log.clone();
    k.create(
        Session::new(())
            .state("_start", move |ctx| {
                let w = ReadWrite::builder(mine.borrow_mut().take().unwrap())
                    .flushed_event("flushed")
                    .build(ctx)
                    .unwrap();
                w.put("queued").unwrap();
                drop(w);
            })
            .state("_default", move |ctx| {
                l.borrow_mut().push(ctx.arg(0).to_string());
            }),
    )
    .unwrap();
    k.run();
    assert_eq!(*log.borrow(), ["_stop"]);
}

#[test]
fn run_put_then_dropped_in_the_same_handler_sends_nothing_to_default() {
    let k = Kernel::new().unwrap();
    let log: Log = Rc::default();
    let l = log.clone();
    k.create(
        Session::new(())
            .state("_start", move |ctx| {
                let w = Run::command(["cat"])
                    .stdout_event("out")
                    .stdin_event("stdin")
                    .build(ctx)
                    .unwrap();
                w.put("queued").unwrap();
                drop(w);
            })
            .state("_default", move |ctx| {
                l.borrow_mut().push(ctx.arg(0).to_string());
            }),
    )
    .unwrap();
    k.run();
    assert_eq!(*log.borrow(), ["_stop"]);
}
