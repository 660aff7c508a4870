//! A wheel dropped in the handler that gave it work sends nothing more:
//! the hidden event it had already queued (a write to flush, a handle's
//! end to report) must not reach the session's `_default` once the wheel
//! has removed its states.

use poe_kernel::{Ctx, Kernel, Session};
use poe_wheels::{ReadWrite, Run};
use std::cell::RefCell;
use std::os::unix::net::UnixStream;
use std::rc::Rc;

/// Run a session whose `_start` is `start` and return what reached its
/// `_default` (the `_stop` it has no handler for, and nothing else).
fn defaults_seen(start: impl Fn(&mut Ctx<'_, ()>) + 'static) -> Vec<String> {
    let k = Kernel::new().unwrap();
    let log: Rc<RefCell<Vec<String>>> = Rc::default();
    let l = log.clone();
    k.create(
        Session::new(())
            .state("_start", start)
            .state("_default", move |ctx| {
                l.borrow_mut().push(ctx.arg(0).to_string());
            }),
    )
    .unwrap();
    k.run();
    log.take()
}

#[test]
fn readwrite_put_then_dropped_in_the_same_handler_sends_nothing_to_default() {
    let (mine, _theirs) = UnixStream::pair().unwrap();
    let mine = RefCell::new(Some(mine));
    let seen = defaults_seen(move |ctx| {
        let w = ReadWrite::builder(mine.borrow_mut().take().unwrap())
            .flushed_event("flushed")
            .build(ctx)
            .unwrap();
        w.put("queued").unwrap();
        drop(w);
    });
    assert_eq!(seen, ["_stop"]);
}

#[test]
fn run_put_then_dropped_in_the_same_handler_sends_nothing_to_default() {
    let seen = defaults_seen(|ctx| {
        let w = Run::command(["cat"])
            .stdout_event("out")
            .stdin_event("stdin")
            .build(ctx)
            .unwrap();
        w.put("queued").unwrap();
        drop(w);
    });
    assert_eq!(seen, ["_stop"]);
}
