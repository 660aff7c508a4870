//! [`FollowTail`]: POE::Wheel::FollowTail — follow a file as it grows
//! (`tail -F`), delivering each new record as the owning session's
//! InputEvent.
//!
//! Regular files are polled with delays owned by the session (so a
//! following wheel keeps its session alive, as in POE): while data keeps
//! arriving the next poll comes at once, one driver block per poll, and
//! every record the filter frames is delivered before the next read; at
//! end of file the file is stat'ed and polled again after PollInterval.
//! A file truncated or replaced (rotated) is a ResetEvent. Anything else —
//! a FIFO, a socket, a tty — is read through a select watcher.

mod handlers;
mod state;

use crate::driver::SysRw;
use crate::fd::Fd;
use crate::id::{hidden_state, WheelId};
use crate::WheelError;
use poe_filters::{Filter, Line};
use poe_kernel::{Ctx, EventName, Mode, SessionId, Trigger, WeakKernel};
use state::{discard_existing, open_file, Events, FileStat, Follow, Inner, Start};
use std::cell::RefCell;
use std::fs::File;
use std::io::{Seek, SeekFrom};
use std::os::fd::{AsRawFd, OwnedFd};
use std::path::PathBuf;
use std::rc::Rc;

const KIND: &str = "FollowTail";

/// The events a FollowTail emits, for [`FollowTail::event`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum FollowTailEvent {
    /// `InputEvent`: `(record, wheel_id)`. Cannot be unset.
    Input,
    /// `ErrorEvent`: `(operation, errno, message, wheel_id)`.
    Error,
    /// `ResetEvent`: `(wheel_id)`.
    Reset,
    /// `IdleEvent`: `(wheel_id)`.
    Idle,
}

/// Builds a [`FollowTail`]; setters are POE's parameter names. Exactly one
/// of [`filename`](Self::filename) and [`handle`](Self::handle) is
/// required, and [`input_event`](Self::input_event).
#[must_use]
pub struct FollowTailBuilder {
    filename: Option<PathBuf>,
    handle: Option<OwnedFd>,
    driver: Option<SysRw>,
    filter: Option<Box<dyn Filter>>,
    input: Option<EventName>,
    error: Option<EventName>,
    reset: Option<EventName>,
    idle: Option<EventName>,
    poll_interval: Option<f64>,
    seek: Option<i64>,
    seek_back: Option<u64>,
}

impl FollowTailBuilder {
    /// `Filename`: follow whatever file has this name — reopened when it
    /// is rotated or truncated, waited for while it does not exist.
    pub fn filename(mut self, path: impl Into<PathBuf>) -> Self {
        self.filename = Some(path.into());
        self
    }

    /// `Handle`: follow an open file (or FIFO, socket, tty); the wheel owns
    /// it. A regular file that is truncated or replaced is read again from
    /// the start.
    pub fn handle(mut self, handle: impl Into<OwnedFd>) -> Self {
        self.handle = Some(handle.into());
        self
    }

    /// `Driver` (default: a new [`SysRw`]); its block size is how much one
    /// poll reads.
    pub fn driver(mut self, driver: SysRw) -> Self {
        self.driver = Some(driver);
        self
    }

    /// `Filter` (default: [`Line`]).
    pub fn filter(mut self, filter: impl Filter + 'static) -> Self {
        self.filter = Some(Box::new(filter));
        self
    }

    /// `Filter`, already boxed (for filters chosen at run time).
    pub fn filter_boxed(mut self, filter: Box<dyn Filter>) -> Self {
        self.filter = Some(filter);
        self
    }

    /// `InputEvent` (required): `(record, wheel_id)`.
    pub fn input_event(mut self, event: impl Into<EventName>) -> Self {
        self.input = Some(event.into());
        self
    }

    /// `ErrorEvent`: `(operation, errno, message, wheel_id)`, after which
    /// the wheel reads no more. The operation is `"read"` (end of a FIFO,
    /// socket or tty is `("read", 0, "")`), `"stat"` or `"seek"`.
    pub fn error_event(mut self, event: impl Into<EventName>) -> Self {
        self.error = Some(event.into());
        self
    }

    /// `ResetEvent`: `(wheel_id)`, when the file was truncated or replaced,
    /// and when a Filename wheel first opens a file that was missing.
    pub fn reset_event(mut self, event: impl Into<EventName>) -> Self {
        self.reset = Some(event.into());
        self
    }

    /// `IdleEvent`: `(wheel_id)`, at each poll that finds nothing new.
    pub fn idle_event(mut self, event: impl Into<EventName>) -> Self {
        self.idle = Some(event.into());
        self
    }

    /// `PollInterval`: seconds between polls at end of file (default 1).
    pub fn poll_interval(mut self, secs: f64) -> Self {
        self.poll_interval = Some(secs);
        self
    }

    /// `Seek`: start this many octets from the start of a regular file, or
    /// with a negative number, from its end. Excludes `SeekBack`.
    pub fn seek(mut self, offset: i64) -> Self {
        self.seek = Some(offset);
        self
    }

    /// `SeekBack`: start this many octets before the end of a regular file
    /// (0: at the end). Excludes `Seek`.
    pub fn seek_back(mut self, octets: u64) -> Self {
        self.seek_back = Some(octets);
        self
    }

    /// Check the parameters (POE's croaks), open the file and start
    /// following it in the running session.
    pub fn build<H: 'static>(self, ctx: &mut Ctx<'_, H>) -> Result<FollowTail, WheelError> {
        let (filename, handle) = match (self.filename, self.handle) {
            (None, None) => return Err(WheelError::Missing("Filename or Handle")),
            (Some(_), Some(_)) => {
                return Err(WheelError::Invalid(
                    "FollowTail requires a Handle or Filename parameter, but not both".into(),
                ))
            }
            (filename, handle) => (filename, handle.map(File::from)),
        };
        let input = self.input.ok_or(WheelError::Missing("InputEvent"))?;
        let start = match (self.seek, self.seek_back) {
            (Some(_), Some(_)) => {
                return Err(WheelError::Invalid(
                    "FollowTail: can't have Seek and SeekBack at the same time".into(),
                ))
            }
            (Some(n), None) => Start::Seek(n),
            (None, Some(n)) => Start::SeekBack(n),
            (None, None) => Start::Default,
        };
        let interval = self.poll_interval.unwrap_or(1.0);
        if !(interval.is_finite() && interval >= 0.0) {
            return Err(WheelError::Invalid(format!(
                "FollowTail: PollInterval must be a number of seconds >= 0, not {interval}"
            )));
        }
        let mut driver = self.driver.unwrap_or_default();
        let mut filter = self.filter.unwrap_or_else(|| Box::new(Line::new()));

        let mut file = match (&filename, handle) {
            (_, Some(f)) => Some(f),
            (Some(path), None) => open_file(path).ok(),
            (None, None) => None,
        };
        let mut last = None;
        let follow = match &mut file {
            None => Follow::Timer, // a name to wait for
            Some(f) => {
                let meta = f.metadata()?;
                last = Some(FileStat::of(&meta));
                if meta.is_dir() {
                    return Err(WheelError::Invalid(
                        "FollowTail does not tail directories".into(),
                    ));
                }
                if meta.is_file() {
                    let end = f.seek(SeekFrom::End(0))?;
                    let from = start.offset(end);
                    f.seek(SeekFrom::Start(from))?;
                    if start == Start::Default {
                        discard_existing(f, &mut driver, filter.as_mut(), from, end)?;
                    }
                    Follow::Timer
                } else {
                    if self.seek_back.is_some() {
                        log::warn!(target: "poe::wheels", "FollowTail can't SeekBack special files");
                    }
                    if self.poll_interval.is_some() {
                        log::warn!(target: "poe::wheels", "FollowTail does not need PollInterval for special files");
                    }
                    // Non-blocking from its select watch (the kernel sets
                    // it), before the first read.
                    Follow::Select
                }
            }
        };

        let id = WheelId::next();
        let session = ctx.session();
        let state_name: EventName = match (follow, filename.is_some()) {
            (Follow::Select, _) => hidden_state(KIND, id, "select read"),
            (Follow::Timer, true) => hidden_state(KIND, id, "name timer read"),
            (Follow::Timer, false) => hidden_state(KIND, id, "handle timer read"),
        }
        .into();
        let fd = file.as_ref().map(AsRawFd::as_raw_fd);
        log::trace!(target: "poe::wheels", "FollowTail({id}) {follow:?} on {filename:?} fd {fd:?} in session {session}");
        let inner = Rc::new(RefCell::new(Inner {
            file,
            filename,
            driver,
            filter,
            events: Events {
                input,
                error: self.error,
                reset: self.reset,
                idle: self.idle,
            },
            interval,
            last,
            alarm: None,
            follow,
            stopped: false,
        }));
        // Built before registering, so a refusal is undone by its Drop.
        let wheel = FollowTail {
            inner,
            kernel: ctx.kernel().downgrade(),
            session,
            id,
            state: state_name.clone(),
        };
        let weak = Rc::downgrade(&wheel.inner);
        match (follow, fd) {
            (Follow::Select, Some(fd)) => {
                ctx.state(state_name.clone(), handlers::select_read(weak, id));
                ctx.select_watch(&Fd(fd), Mode::Read, Trigger::Level, state_name, ())?;
            }
            _ => {
                ctx.state(
                    state_name.clone(),
                    handlers::timer_read(weak, id, state_name.clone()),
                );
                let alarm = ctx.delay_set(state_name, 0.0, ())?;
                wheel.inner.borrow_mut().alarm = Some(alarm);
            }
        }
        Ok(wheel)
    }
}

/// Follows a file as it grows (POE::Wheel::FollowTail). Keep it in the
/// session's heap; dropping it stops all of its polls and events, and
/// closes the file.
///
/// ```
/// use poe_kernel::{Kernel, Session};
/// use poe_wheels::FollowTail;
/// use std::io::Write;
///
/// let path = std::env::temp_dir().join(format!("follow-tail-doc-{}", std::process::id()));
/// std::fs::write(&path, "old news\n").unwrap();
/// let kernel = Kernel::new().unwrap();
/// let p = path.clone();
/// kernel.create(Session::new(None::<FollowTail>)
///     .state("_start", move |ctx| {
///         let wheel = FollowTail::builder()
///             .filename(&p)          // follow the name, across rotations
///             .input_event("got_line")
///             .reset_event("got_reset")
///             .build(ctx)
///             .unwrap();
///         *ctx.heap = Some(wheel);
///         // Lines present at the start are skipped; this one is new.
///         let mut log = std::fs::OpenOptions::new().append(true).open(&p).unwrap();
///         log.write_all(b"hello\n").unwrap();
///     })
///     .state("got_line", |ctx| {
///         assert_eq!(ctx.arg(0).as_str(), Some("hello"));
///         assert_eq!(ctx.heap.as_ref().unwrap().tell(), Some(15));
///         *ctx.heap = None; // done: the session ends
///     })
///     .state("got_reset", |_| println!("-- log rotated --"))
/// ).unwrap();
/// kernel.run();
/// std::fs::remove_file(&path).unwrap();
/// ```
pub struct FollowTail {
    inner: Rc<RefCell<Inner>>,
    kernel: WeakKernel,
    session: SessionId,
    id: WheelId,
    state: EventName,
}

impl FollowTail {
    /// Start building one.
    pub fn builder() -> FollowTailBuilder {
        FollowTailBuilder {
            filename: None,
            handle: None,
            driver: None,
            filter: None,
            input: None,
            error: None,
            reset: None,
            idle: None,
            poll_interval: None,
            seek: None,
            seek_back: None,
        }
    }

    /// The wheel's ID (POE's `ID`).
    pub fn id(&self) -> WheelId {
        self.id
    }

    /// Rename an event, or with `None` stop emitting it (POE's `event`).
    /// InputEvent cannot be unset: `(Input, None)` is ignored with a
    /// warning, as in POE.
    pub fn event(&self, which: FollowTailEvent, name: Option<EventName>) {
        let mut inner = self.inner.borrow_mut();
        let events = &mut inner.events;
        match (which, name) {
            (FollowTailEvent::Input, Some(name)) => events.input = name,
            (FollowTailEvent::Input, None) => {
                log::warn!(target: "poe::wheels", "FollowTail({}): InputEvent requires an event name; ignoring None", self.id);
            }
            (FollowTailEvent::Error, name) => events.error = name,
            (FollowTailEvent::Reset, name) => events.reset = name,
            (FollowTailEvent::Idle, name) => events.idle = name,
        }
    }

    /// The offset in the file the next read starts at (POE's `tell`):
    /// past everything read, including a partial record the filter holds.
    /// `None` while a Filename wheel has no file open, or for a handle
    /// that cannot seek (a FIFO, a socket). Build another wheel with
    /// `.seek(offset)` to resume there.
    pub fn tell(&self) -> Option<u64> {
        self.inner.borrow().tell()
    }
}

impl std::fmt::Debug for FollowTail {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let inner = self.inner.borrow();
        f.debug_struct("FollowTail")
            .field("id", &self.id)
            .field("filename", &inner.filename)
            .field("fd", &inner.fd())
            .field("follow", &inner.follow)
            .finish()
    }
}

impl Drop for FollowTail {
    fn drop(&mut self) {
        let Some(k) = self.kernel.upgrade() else {
            return;
        };
        let (alarm, watched) = {
            let mut inner = self.inner.borrow_mut();
            inner.stopped = true;
            let watched = inner.fd().filter(|_| inner.follow == Follow::Select);
            (inner.alarm.take(), watched)
        };
        if let Some(fd) = watched {
            k.select_remove_for(self.session, &Fd(fd), Mode::Read);
        }
        if let Some(alarm) = alarm {
            let _ = k.alarm_remove_for(self.session, alarm);
        }
        k.remove_state(self.session, &self.state);
        // The file closes when `inner` drops, after the watch is gone.
    }
}
