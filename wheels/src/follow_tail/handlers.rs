//! FollowTail's hidden states: `name timer read` / `handle timer read`
//! (regular files, polled with delays) and `select read` (FIFOs, sockets,
//! ttys: a read watcher).
//!
//! Like every wheel's, they hold the wheel weakly and borrow it for one
//! operation at a time, never while a session event runs: a handler may
//! rename events or drop the wheel, after which nothing more is read,
//! delivered or scheduled.

use super::state::{Check, Events, Inner, Read, Reopen};
use crate::error::Failure;
use crate::fd::Fd;
use crate::reader::{self, Ended, Framing};
use crate::WheelId;
use poe_kernel::{Args, Ctx, EventName, IntoArgs, Mode};
use std::cell::RefCell;
use std::rc::Weak;

type Shared = Weak<RefCell<Inner>>;

/// Run `f` on the wheel's state, if the wheel still exists.
fn with<R>(weak: &Shared, f: impl FnOnce(&mut Inner) -> R) -> Option<R> {
    let rc = weak.upgrade()?;
    let r = f(&mut rc.borrow_mut());
    Some(r)
}

/// `... -> name timer read` and `... -> handle timer read`: one poll of a
/// regular file.
///
/// A Filename wheel whose file is closed (missing, or replaced at the last
/// poll) first tries to open the name: success is a ResetEvent and reading
/// from the start, failure an IdleEvent and another try after the
/// interval. Then one block is read: records are delivered and the next
/// poll comes at once, while data keeps arriving. At end of file the file
/// is stat'ed: unchanged is an IdleEvent; replaced or truncated is, for a
/// Filename wheel, closing the handle and reopening the name at once (so
/// what the old file still held has been read first), and for a Handle
/// wheel a ResetEvent and reading again from the start. Either way the
/// next poll is after PollInterval.
pub(super) fn timer_read<H: 'static>(
    weak: Shared,
    id: WheelId,
    own_state: EventName,
) -> impl Fn(&mut Ctx<'_, H>) + 'static {
    move |ctx| {
        let reopen = with(&weak, |inner| {
            inner.alarm = None;
            (!inner.stopped).then(|| inner.reopen())
        });
        let Some(Some(reopen)) = reopen else { return };
        let interval = match with(&weak, |inner| inner.interval) {
            Some(secs) => secs,
            None => return,
        };
        match reopen {
            Reopen::Open => {}
            Reopen::Opened => {
                log::trace!(target: "poe::wheels", "FollowTail({id}): file (re)opened");
                if !emit(ctx, &weak, |e| e.reset.clone(), (id,)) {
                    return;
                }
            }
            Reopen::Missing => {
                if emit(ctx, &weak, |e| e.idle.clone(), (id,)) {
                    schedule(ctx, &weak, &own_state, interval);
                }
                return;
            }
        }
        let Some(read) = with(&weak, Inner::read_block) else {
            return;
        };
        match read {
            Read::Data(Ok(())) => {
                if deliver(ctx, &weak, id) {
                    schedule(ctx, &weak, &own_state, 0.0);
                }
            }
            Read::Data(Err(e)) => fail(
                ctx,
                &weak,
                id,
                Failure::with_message("read", libc::ENOBUFS, e.to_string()),
            ),
            Read::Error(e) => fail(ctx, &weak, id, Failure::from_io("read", &e)),
            Read::End | Read::WouldBlock => at_end(ctx, &weak, id, &own_state, interval),
        }
    }
}

/// End of file in timer mode: look for a reset.
fn at_end<H: 'static>(
    ctx: &mut Ctx<'_, H>,
    weak: &Shared,
    id: WheelId,
    own_state: &EventName,
    interval: f64,
) {
    let Some(check) = with(weak, Inner::check) else {
        return;
    };
    match check {
        Check::Unchanged => {
            if emit(ctx, weak, |e| e.idle.clone(), (id,)) {
                schedule(ctx, weak, own_state, interval);
            }
        }
        Check::Replaced => {
            log::trace!(target: "poe::wheels", "FollowTail({id}): file replaced or truncated, reopening");
            schedule(ctx, weak, own_state, 0.0);
        }
        Check::Reset => {
            log::trace!(target: "poe::wheels", "FollowTail({id}): handle reset, reading from the start");
            if !emit(ctx, weak, |e| e.reset.clone(), (id,)) {
                return;
            }
            match with(weak, Inner::rewind) {
                Some(Ok(())) => schedule(ctx, weak, own_state, interval),
                Some(Err(e)) => fail(ctx, weak, id, Failure::from_io("seek", &e)),
                None => {}
            }
        }
        Check::Failed(e) => fail(ctx, weak, id, Failure::from_io("stat", &e)),
    }
}

/// `... -> select read`: one read per readiness (the watch is
/// level-triggered, so data left over brings the event back). End of file
/// or an error is the ErrorEvent, and the watcher goes.
pub(super) fn select_read<H: 'static>(
    weak: Shared,
    id: WheelId,
) -> impl Fn(&mut Ctx<'_, H>) + 'static {
    move |ctx| {
        let Some(read) = with(&weak, |inner| (!inner.stopped).then(|| inner.read_block())) else {
            return;
        };
        match read {
            None | Some(Read::WouldBlock) => {}
            Some(Read::Data(Ok(()))) => {
                deliver(ctx, &weak, id);
            }
            Some(Read::Data(Err(e))) => fail(
                ctx,
                &weak,
                id,
                Failure::with_message("read", libc::ENOBUFS, e.to_string()),
            ),
            Some(Read::End) => fail(
                ctx,
                &weak,
                id,
                Failure::with_message("read", 0, String::new()),
            ),
            Some(Read::Error(e)) => fail(ctx, &weak, id, Failure::from_io("read", &e)),
        }
    }
}

/// Deliver every record the filter can frame now, one InputEvent each, in
/// order: the delivery loop ReadWrite uses ([`reader::deliver_framed`]).
/// False if the wheel is gone or stopped (a handler dropped it, or the
/// filter refused the input).
fn deliver<H: 'static>(ctx: &mut Ctx<'_, H>, weak: &Shared, id: WheelId) -> bool {
    let framing = reader::framing_fn(|inner: &mut Inner| {
        Some(Framing {
            filter: &mut *inner.filter,
            event: (!inner.stopped).then_some(&inner.events.input),
        })
    });
    match reader::deliver_framed(ctx, weak, id, &framing, &mut Args::new()) {
        None => true,
        Some(Ended::Stopped) => false,
        Some(Ended::Failed(failure)) => {
            fail(ctx, weak, id, failure);
            false
        }
    }
}

/// Call one of the wheel's optional events (if it has a name now); true if
/// the wheel still exists afterwards.
fn emit<H: 'static>(
    ctx: &mut Ctx<'_, H>,
    weak: &Shared,
    pick: impl FnOnce(&Events) -> Option<EventName>,
    args: impl IntoArgs,
) -> bool {
    let Some(event) = with(weak, |inner| pick(&inner.events)) else {
        return false;
    };
    if let Some(event) = event {
        let me = ctx.session();
        let _ = ctx.call(me, event, args);
    }
    weak.strong_count() > 0
}

/// Poll again in `secs` (POE's `delay`), unless the wheel is gone or
/// stopped.
fn schedule<H: 'static>(ctx: &mut Ctx<'_, H>, weak: &Shared, own_state: &EventName, secs: f64) {
    with(weak, |inner| {
        if !inner.stopped {
            inner.alarm = ctx.delay_set(own_state.clone(), secs, ()).ok();
        }
    });
}

/// Stop following for good, then report `(op, errno, message, id)`: errno
/// 0 and an empty message mean end of file, as in POE.
fn fail<H: 'static>(ctx: &mut Ctx<'_, H>, weak: &Shared, id: WheelId, failure: Failure) {
    let Some(watched) = with(weak, |inner| {
        inner.stopped = true;
        inner
            .fd()
            .filter(|_| inner.follow == super::state::Follow::Select)
    }) else {
        return;
    };
    if let Some(fd) = watched {
        let _ = ctx.select_remove(&Fd(fd), Mode::Read);
    }
    let Failure { op, errno, message } = &failure;
    log::debug!(target: "poe::wheels", "FollowTail({id}): {op} failed: {message} ({errno})");
    emit(ctx, weak, |e| e.error.clone(), failure.args(id));
}
