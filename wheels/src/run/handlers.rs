//! Run's hidden states: `select stdout`, `select stderr` and `select
//! stdin`.
//!
//! They hold the wheel weakly and never keep it borrowed while a session
//! event runs, so a handler may call any wheel method — or drop the wheel,
//! after which no further event of it arrives.

use super::state::{Inner, Output, Stream};
use crate::error::{errno_of, Failure};
use crate::fd::Fd;
use crate::reader::{self, Ended};
use crate::WheelId;
use poe_kernel::{Ctx, EventName, Mode, Trigger, Value};
use std::cell::RefCell;
use std::rc::Weak;

/// `... -> select stdout` / `select stderr`: deliver every record of the
/// pipe (StdoutEvent or StderrEvent), until it is drained; at end of file
/// or an error, stop reading it and report the end when its turn comes.
/// (The wheel also posts this state to itself to release an end it held:
/// see [`report_ended`].)
pub(super) fn read<H: 'static>(
    weak: Weak<RefCell<Inner>>,
    id: WheelId,
    stream: Stream,
) -> impl Fn(&mut Ctx<'_, H>) + 'static {
    move |ctx| {
        let ended = reader::drain(ctx, &weak, id, |inner: &mut Inner| {
            inner.output(stream).map(Output::source)
        });
        if let Ended::Failed(failure) = ended {
            stop_reading(ctx, &weak, stream, failure);
        }
        report_ended(ctx, &weak, id);
    }
}

/// Reading `stream` is over: keep its end for the report, remove the watch.
fn stop_reading<H: 'static>(
    ctx: &mut Ctx<'_, H>,
    weak: &Weak<RefCell<Inner>>,
    stream: Stream,
    failure: Failure,
) {
    let Some(rc) = weak.upgrade() else { return };
    let fd = {
        let mut inner = rc.borrow_mut();
        let Some(o) = inner.output(stream) else {
            return;
        };
        let was = o.reading();
        o.done = true;
        o.end = Some(failure);
        was.then(|| o.raw_fd())
    };
    drop(rc);
    if let Some(fd) = fd {
        let _ = ctx.select_remove(&Fd(fd), Mode::Read);
    }
}

/// Report the ends of the output handles — ErrorEvent `('read', errno,
/// message, id, handle)`, errno 0 for end of file — once no handle is
/// still being read, STDOUT's before STDERR's; then CloseEvent.
///
/// A child that exits closes both handles at once, but Linux usually
/// releases its STDERR first, so the parent may see that end alone.
/// Holding it until STDOUT ends too gives POE's order (§18) every time:
/// StdoutEvent, StderrEvent, ErrorEvent STDOUT, ErrorEvent STDERR,
/// CloseEvent. A handle that is paused or has no event does not hold the
/// other's end.
pub(super) fn report_ended<H: 'static>(
    ctx: &mut Ctx<'_, H>,
    weak: &Weak<RefCell<Inner>>,
    id: WheelId,
) {
    let me = ctx.session();
    loop {
        let Some(rc) = weak.upgrade() else { return };
        let (stream, end, error) = {
            let mut inner = rc.borrow_mut();
            if inner.any_live() {
                return;
            }
            let Some((stream, end)) = inner.take_end() else {
                return;
            };
            (stream, end, inner.events.error.clone())
        };
        drop(rc);
        if let Some(event) = error {
            let mut args = end.args(id);
            args.push(Value::from(stream.name()));
            let _ = ctx.call(me, event, args);
        }
        let Some(rc) = weak.upgrade() else { return };
        let close = {
            let mut inner = rc.borrow_mut();
            let now = !inner.closed && inner.all_closed();
            inner.closed |= now;
            now.then(|| inner.events.close.clone()).flatten()
        };
        drop(rc);
        if let Some(event) = close {
            log::trace!(target: "poe::wheels", "Run({id}): every output handle closed");
            let _ = ctx.call(me, event, (id,));
        }
    }
}

/// `... -> select stdin`: queued by `put` when input for the child
/// appears, and watched for writability only while the pipe is full.
/// Writes what is buffered; StdinEvent when the buffer empties; a write
/// error is reported as `('write', errno, message, id, 'STDIN')` and
/// closes the pipe.
pub(super) fn write<H: 'static>(
    weak: Weak<RefCell<Inner>>,
    id: WheelId,
    own_state: EventName,
    keep_alive: String,
) -> impl Fn(&mut Ctx<'_, H>) + 'static {
    move |ctx| {
        let me = ctx.session();
        let Some(rc) = weak.upgrade() else { return };
        let mut inner = rc.borrow_mut();
        let Some(stdin) = inner.stdin.as_mut() else {
            return; // shut down meanwhile
        };
        stdin.flush_queued = false;
        let fd = stdin.raw_fd();
        let watched = stdin.write_watched;
        match stdin.driver.flush(fd) {
            Err(e) => {
                let gone = inner.stdin.take();
                let error = inner.events.error.clone();
                drop(inner);
                drop(rc);
                if watched {
                    let _ = ctx.select_remove(&Fd(fd), Mode::Write);
                }
                drop(gone); // closes the pipe, now unwatched
                let _ = ctx.refcount_decrement(me, &keep_alive);
                if let Some(event) = error {
                    let mut args = Failure::new("write", errno_of(&e)).args(id);
                    args.push(Value::from("STDIN"));
                    let _ = ctx.call(me, event, args);
                }
            }
            Ok(left) => {
                stdin.write_watched = left > 0;
                let flushed = inner.events.stdin.clone().filter(|_| left == 0);
                drop(inner);
                drop(rc);
                if left > 0 && !watched {
                    // The pipe is full: wait until the child reads.
                    let _ = ctx.select_watch(
                        &Fd(fd),
                        Mode::Write,
                        Trigger::Edge,
                        own_state.clone(),
                        (),
                    );
                } else if left == 0 && watched {
                    let _ = ctx.select_remove(&Fd(fd), Mode::Write);
                }
                if let Some(event) = flushed {
                    let _ = ctx.call(me, event, (id,));
                }
            }
        }
    }
}
