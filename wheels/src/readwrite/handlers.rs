//! ReadWrite's hidden states: `select read` and `select write`.
//!
//! Both hold the wheel weakly and never keep it borrowed while a session
//! event runs, so a handler may call any wheel method — or drop the wheel,
//! after which no further event of it arrives.

use super::state::Inner;
use crate::error::{errno_of, Failure};
use crate::fd::Fd;
use crate::reader::{self, Ended, Source};
use crate::WheelId;
use poe_kernel::{Ctx, EventName, Mode, Trigger};
use std::cell::RefCell;
use std::rc::Weak;

/// `... -> select read`: deliver every record the input filter can frame
/// (one InputEvent each, in order), read more, repeat until the descriptor
/// is drained (the loop ReadWrite shares with Run: [`crate::reader`]); EOF
/// or an error becomes the ErrorEvent and ends reading.
pub(super) fn read<H: 'static>(
    weak: Weak<RefCell<Inner>>,
    id: WheelId,
) -> impl Fn(&mut Ctx<'_, H>) + 'static {
    move |ctx| {
        let ended = reader::drain(ctx, &weak, id, |inner: &mut Inner| {
            let Inner {
                driver,
                filters,
                events,
                handles,
                input_done,
                input_paused,
                ..
            } = inner;
            Some(Source {
                driver,
                filter: filters.input(),
                fd: handles.in_fd(),
                event: if *input_done {
                    None
                } else {
                    events.input.as_ref()
                },
                paused: *input_paused,
            })
        });
        if let Ended::Failed(failure) = ended {
            input_failed(ctx, &weak, id, &failure);
        }
    }
}

/// End reading for good and report `('read', errno, message, id)`; errno 0
/// and an empty message mean end of file, as in POE.
fn input_failed<H: 'static>(
    ctx: &mut Ctx<'_, H>,
    weak: &Weak<RefCell<Inner>>,
    id: WheelId,
    failure: &Failure,
) {
    let Some(rc) = weak.upgrade() else { return };
    let (fd, error, was_reading) = {
        let mut inner = rc.borrow_mut();
        let was = inner.reading();
        inner.input_done = true;
        (inner.handles.in_fd(), inner.events.error.clone(), was)
    };
    drop(rc);
    if was_reading {
        let _ = ctx.select_remove(&Fd(fd), Mode::Read);
    }
    if let Some(event) = error {
        let me = ctx.session();
        let _ = ctx.call(me, event, failure.args(id));
    }
}

/// `... -> select write`: queued by `put` when output appears, and watched
/// for writability only while output is blocked (and queued by a `put` that
/// crossed HighMark). Writes what is buffered, then reports HighEvent,
/// LowEvent and FlushedEvent, in that order, as they are due.
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
                    let args = Failure::new("write", errno_of(&e)).args(id);
                    let _ = ctx.call(me, event, args);
                }
            }
            Ok(left) => {
                let events = {
                    let mut inner = rc.borrow_mut();
                    let (high, low) = inner.watermark_transition();
                    inner.write_watched = left > 0;
                    // Only the names of the events due (usually none).
                    let ev = &inner.events;
                    let due = |due: bool, name: &Option<EventName>| name.clone().filter(|_| due);
                    [
                        due(high, &ev.high),
                        due(low, &ev.low),
                        due(left == 0, &ev.flushed),
                    ]
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
                for event in events.into_iter().flatten() {
                    if weak.strong_count() == 0 {
                        return; // dropped by the previous event
                    }
                    let _ = ctx.call(me, event, (id,));
                }
            }
        }
    }
}
