//! ReadWrite's hidden states: `select read` and `select write`.
//!
//! Both hold the wheel weakly and never keep it borrowed while a session
//! event runs, so a handler may call any wheel method — or drop the wheel,
//! after which no further event of it arrives.

use super::state::Inner;
use crate::driver::ReadOutcome;
use crate::error::{errno_of, errno_text};
use crate::socket_factory::Fd;
use crate::WheelId;
use poe_kernel::{Args, Ctx, EventName, Mode, Trigger, Value};
use std::cell::RefCell;
use std::rc::Weak;

/// Reads per readiness before letting other descriptors run (the watch is
/// edge-triggered, so the handler re-arms itself when it stops early).
const READS_PER_ROUND: usize = 16;

/// `... -> select read`: deliver every record the input filter can frame
/// (one InputEvent each, in order), read more, repeat until the descriptor
/// is drained; EOF or an error becomes the ErrorEvent and ends reading.
///
/// A read that returns less than it asked for has drained the descriptor:
/// the watcher is edge-triggered, so data arriving later raises a new
/// edge, and a second read (which would only say "would block") is saved —
/// one syscall per readiness instead of two, as tokio does.
pub(super) fn read<H: 'static>(
    weak: Weak<RefCell<Inner>>,
    id: WheelId,
) -> impl Fn(&mut Ctx<'_, H>) + 'static {
    move |ctx| {
        // One argument list for every record of this round: lent to each
        // InputEvent and given back.
        let mut args = Args::new();
        let mut reads = 0;
        let mut drained = false;
        let mut block_size;
        let mut fd;
        loop {
            loop {
                let Some(rc) = weak.upgrade() else { return };
                let (next, event) = {
                    let mut inner = rc.borrow_mut();
                    if inner.input_done {
                        return;
                    }
                    let Some(event) = inner.events.input.clone() else {
                        return;
                    };
                    (inner.filters.input().get_one(), event)
                };
                drop(rc);
                match next {
                    Ok(Some(record)) => {
                        args.push(record);
                        args.push(Value::from(id));
                        let _ = ctx.call_self_with(event, &mut args);
                    }
                    Ok(None) => break,
                    Err(e) => return input_failed(ctx, &weak, id, libc::EBADMSG, &e.to_string()),
                }
            }
            let Some(rc) = weak.upgrade() else { return };
            let (outcome, fed) = {
                let mut inner = rc.borrow_mut();
                // Records already parsed were all delivered above, even if
                // one of them paused input: pausing stops the next read.
                if drained || inner.input_paused || inner.input_done || inner.events.input.is_none()
                {
                    return;
                }
                fd = inner.handles.in_fd();
                if reads == READS_PER_ROUND {
                    drop(inner);
                    ctx.select_retrigger(&Fd(fd), Mode::Read);
                    return;
                }
                let Inner {
                    driver, filters, ..
                } = &mut *inner;
                let mut fed = Ok(());
                block_size = driver.block_size();
                let outcome = driver.get(fd, |bytes| fed = filters.input().get_one_start(bytes));
                (outcome, fed)
            };
            drop(rc);
            reads += 1;
            match (outcome, fed) {
                (Ok(ReadOutcome::Data(n)), Ok(())) => {
                    drained = n < block_size && !ctx.select_peer_closed(&Fd(fd));
                    continue;
                }
                (Ok(ReadOutcome::Data(_)), Err(e)) => {
                    return input_failed(ctx, &weak, id, libc::ENOBUFS, &e.to_string())
                }
                (Ok(ReadOutcome::WouldBlock), _) => return,
                (Ok(ReadOutcome::Eof), _) => return input_failed(ctx, &weak, id, 0, ""),
                (Err(e), _) => {
                    let errno = errno_of(&e);
                    return input_failed(ctx, &weak, id, errno, &errno_text(errno));
                }
            }
        }
    }
}

/// End reading for good and report `('read', errno, message, id)`; errno 0
/// and an empty message mean end of file, as in POE.
fn input_failed<H: 'static>(
    ctx: &mut Ctx<'_, H>,
    weak: &Weak<RefCell<Inner>>,
    id: WheelId,
    errno: i32,
    message: &str,
) {
    let Some(rc) = weak.upgrade() else { return };
    let (fd, error, was_reading) = {
        let mut inner = rc.borrow_mut();
        inner.input_done = true;
        let was = std::mem::take(&mut inner.reading);
        (inner.handles.in_fd(), inner.events.error.clone(), was)
    };
    drop(rc);
    if was_reading {
        let _ = ctx.select_remove(&Fd(fd), Mode::Read);
    }
    if let Some(event) = error {
        let me = ctx.session();
        let args = vec![
            Value::from("read"),
            Value::from(errno),
            Value::from(message),
            Value::from(id),
        ];
        let _ = ctx.call(me, event, args);
    }
}

/// `... -> select write`: queued by `put` when output appears, and watched
/// for writability only while output is blocked. Writes what is buffered,
/// then reports the watermark crossings and FlushedEvent.
pub(super) fn write<H: 'static>(
    weak: Weak<RefCell<Inner>>,
    id: WheelId,
    own_state: EventName,
) -> impl Fn(&mut Ctx<'_, H>) + 'static {
    move |ctx| {
        let me = ctx.session();
        let Some(rc) = weak.upgrade() else { return };
        let (result, fd, watched) = {
            let mut inner = rc.borrow_mut();
            inner.flush_queued = false;
            if inner.output_done {
                return;
            }
            let fd = inner.handles.out_fd();
            (inner.driver.flush(fd), fd, inner.write_watched)
        };
        match result {
            Err(e) => {
                let error = {
                    let mut inner = rc.borrow_mut();
                    inner.output_done = true;
                    inner.write_watched = false;
                    inner.driver.discard_output();
                    inner.events.error.clone()
                };
                drop(rc);
                if watched {
                    let _ = ctx.select_remove(&Fd(fd), Mode::Write);
                }
                if let Some(event) = error {
                    let errno = errno_of(&e);
                    let args = vec![
                        Value::from("write"),
                        Value::from(errno),
                        Value::from(errno_text(errno)),
                        Value::from(id),
                    ];
                    let _ = ctx.call(me, event, args);
                }
            }
            Ok(left) => {
                let (low, high, events) = {
                    let mut inner = rc.borrow_mut();
                    let (low, high) = inner.watermark_transition();
                    inner.write_watched = left > 0;
                    (low, high, inner.events.clone())
                };
                drop(rc);
                if left > 0 && !watched {
                    // Blocked: wait for the socket to drain.
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
                let emit = [
                    (low, events.low),
                    (high, events.high),
                    (left == 0, events.flushed),
                ];
                for (due, event) in emit {
                    if let (true, Some(event)) = (due, event) {
                        if weak.strong_count() == 0 {
                            return; // dropped by the previous event
                        }
                        let _ = ctx.call(me, event, (id,));
                    }
                }
            }
        }
    }
}
