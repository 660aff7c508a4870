//! The edge-triggered read loop that ReadWrite's input and Run's STDOUT and
//! STDERR pipes share (§14.2's reading rules), and the record delivery
//! FollowTail shares with them.
//!
//! Each readiness reads until the descriptor is drained, delivering every
//! record the filter frames as one event `(record, wheel_id)`, called
//! synchronously in order. The loop holds the wheel weakly and never keeps
//! it borrowed while a session event runs, so a handler may call any wheel
//! method — or drop the wheel, after which nothing more is delivered.
//! End of file and errors are returned to the wheel, which reports them in
//! its own way.

use crate::driver::{ReadOutcome, SysRw};
use crate::error::{errno_of, Failure};
use crate::fd::Fd;
use crate::WheelId;
use poe_filters::{Filter, FilterError};
use poe_kernel::{Args, Ctx, EventName, Mode, Value};
use std::cell::RefCell;
use std::os::fd::RawFd;
use std::rc::Weak;

/// Reads per readiness before letting other descriptors run (the watch is
/// edge-triggered, so the loop re-arms itself when it stops early).
const READS_PER_ROUND: usize = 16;

/// What one readable side of a wheel lends the loop for one step.
pub(crate) struct Source<'a> {
    pub driver: &'a mut SysRw,
    pub filter: &'a mut dyn Filter,
    pub fd: RawFd,
    /// Where records go; `None` once reading is over or turned off.
    pub event: Option<&'a EventName>,
    /// Paused: records already framed are delivered, nothing more is read.
    pub paused: bool,
}

/// What delivering records needs of a wheel: its input filter and the
/// name its records go to (`None` once reading is over or turned off).
pub(crate) struct Framing<'a> {
    pub filter: &'a mut dyn Filter,
    pub event: Option<&'a EventName>,
}

/// Give a closure the signature [`deliver_framed`] takes: closures do not
/// infer by themselves that what they return borrows from their argument.
pub(crate) fn framing_fn<T, F>(f: F) -> F
where
    F: Fn(&mut T) -> Option<Framing<'_>>,
{
    f
}

/// Why the loop returned.
#[derive(Debug, PartialEq, Eq)]
pub(crate) enum Ended {
    /// Drained, paused, turned off, re-armed for the next round, or the
    /// wheel is gone: nothing to report.
    Stopped,
    /// End of file (errno 0, empty message) or an error, as a `read`
    /// failure. The wheel stops reading this side and reports it.
    Failed(Failure),
}

/// Deliver what the filter can frame, read more, repeat until drained.
/// `source` lends the side to read for each step (`None`: nothing to read).
///
/// A read that returns less than it asked for has drained the descriptor:
/// the watcher is edge-triggered, so data arriving later raises a new
/// edge, and a second read (which would only say "would block") is saved —
/// one syscall per readiness instead of two — unless the poller said the
/// peer closed, in which case end of file waits behind the data with no
/// edge of its own to announce it.
pub(crate) fn drain<H: 'static, T>(
    ctx: &mut Ctx<'_, H>,
    weak: &Weak<RefCell<T>>,
    id: WheelId,
    source: impl Fn(&mut T) -> Option<Source<'_>>,
) -> Ended {
    // One argument list for every record of this round, lent to each
    // event and given back: the select event's own `(fd, mode)`, whose
    // buffer already has room for `(record, wheel_id)` (a fresh list
    // cost a malloc and a free per readiness).
    let mut args = std::mem::take(ctx.args);
    let mut reads = 0;
    let mut drained = false;
    let framing = framing_fn(|wheel: &mut T| {
        source(wheel).map(|s| Framing {
            filter: s.filter,
            event: s.event,
        })
    });
    loop {
        if let Some(ended) = deliver_framed(ctx, weak, id, &framing, &mut args) {
            return ended;
        }
        let Some(rc) = weak.upgrade() else {
            return Ended::Stopped;
        };
        let (outcome, fed, fd, block_size) = {
            let mut wheel = rc.borrow_mut();
            let Some(s) = source(&mut *wheel) else {
                return Ended::Stopped;
            };
            // Records already framed were all delivered above, even if one
            // of them paused reading: pausing stops the next read.
            if drained || s.paused || s.event.is_none() {
                return Ended::Stopped;
            }
            let fd = s.fd;
            if reads == READS_PER_ROUND {
                drop(wheel);
                ctx.select_retrigger(&Fd(fd), Mode::Read);
                return Ended::Stopped;
            }
            let mut fed = Ok(());
            let filter = s.filter;
            let block_size = s.driver.block_size();
            let outcome = s.driver.get(fd, |bytes| fed = filter.get_one_start(bytes));
            (outcome, fed, fd, block_size)
        };
        drop(rc);
        reads += 1;
        match (outcome, fed) {
            (Ok(ReadOutcome::Data(n)), Ok(())) => {
                drained = n < block_size && !ctx.select_peer_closed(&Fd(fd));
            }
            (Ok(ReadOutcome::Data(_)), Err(e)) => return failed(libc::ENOBUFS, e.to_string()),
            (Ok(ReadOutcome::WouldBlock), _) => return Ended::Stopped,
            (Ok(ReadOutcome::Eof), _) => return failed(0, String::new()),
            (Err(e), _) => return Ended::Failed(Failure::new("read", errno_of(&e))),
        }
    }
}

/// Deliver every record the filter can frame, in batches to one event
/// name (a handler may rename the event: a new batch). `None` when it is
/// time to read more; `Stopped` when the wheel is gone or stopped reading,
/// `Failed` when the filter refused the input.
///
/// Nothing of the wheel stays borrowed while a record's event runs: its
/// handler may call any wheel method, or drop the wheel.
///
/// Kept out of `drain`'s body: beside the read half, the delivery loop
/// kept less in registers (callgrind: 910 -> 897 instructions a line on
/// the Server::TCP echo, with the wheel ID change of the same commit).
#[inline(never)]
pub(crate) fn deliver_framed<H: 'static, T>(
    ctx: &mut Ctx<'_, H>,
    weak: &Weak<RefCell<T>>,
    id: WheelId,
    framing: &impl Fn(&mut T) -> Option<Framing<'_>>,
    args: &mut Args,
) -> Option<Ended> {
    loop {
        let event = weak.upgrade().and_then(|rc| {
            let mut wheel = rc.borrow_mut();
            framing(&mut *wheel).and_then(|f| f.event.cloned())
        });
        let Some(event) = event else {
            return Some(Ended::Stopped);
        };
        let mut batch = Batch::Framed;
        let mut refused = None;
        ctx.call_self_each(&event, args, |args| {
            batch = next_record(weak, framing, &event, id, args, &mut refused);
            batch == Batch::Delivering
        });
        match batch {
            Batch::Delivering => unreachable!("a batch ends only when no record is left"),
            Batch::Framed => return None,
            Batch::Renamed => continue,
            Batch::Stopped => return Some(Ended::Stopped),
            Batch::Malformed => {
                let message = refused.map(|e: FilterError| e.to_string());
                return Some(failed(libc::EBADMSG, message.unwrap_or_default()));
            }
        }
    }
}

/// Where one batch of records stands, after each record.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Batch {
    /// A record is in the argument list, to be delivered.
    Delivering,
    /// Every record framed so far was delivered: time to read.
    Framed,
    /// The wheel's event changed name: a new batch, to the new name.
    Renamed,
    /// The wheel is gone, or this side stopped reading.
    Stopped,
    /// The filter refused the input (the error is beside it).
    Malformed,
}

/// Put the next framed record, and the wheel id, in `args` for `event`.
/// Nothing of the wheel stays borrowed: the handler that gets the record
/// may call any wheel method, or drop the wheel.
#[inline]
fn next_record<T>(
    weak: &Weak<RefCell<T>>,
    framing: &impl Fn(&mut T) -> Option<Framing<'_>>,
    event: &EventName,
    id: WheelId,
    args: &mut Args,
    refused: &mut Option<FilterError>,
) -> Batch {
    let Some(rc) = weak.upgrade() else {
        return Batch::Stopped;
    };
    let mut wheel = rc.borrow_mut();
    let Some(s) = framing(&mut *wheel) else {
        return Batch::Stopped;
    };
    match s.event {
        Some(now) if now == event => {}
        Some(_) => return Batch::Renamed,
        None => return Batch::Stopped,
    }
    match s.filter.get_one() {
        Ok(Some(record)) => {
            args.refill([record, Value::from(id)]);
            Batch::Delivering
        }
        Ok(None) => Batch::Framed,
        Err(e) => {
            *refused = Some(e);
            Batch::Malformed
        }
    }
}

fn failed(errno: i32, message: String) -> Ended {
    Ended::Failed(Failure::with_message("read", errno, message))
}
