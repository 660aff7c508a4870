//! [`ReadWrite`]: POE::Wheel::ReadWrite — buffered, filtered I/O on a
//! descriptor, delivered as the owning session's named events.
//!
//! Input: the descriptor is watched edge-triggered; each readiness reads
//! until it would block, and every record the input filter frames becomes
//! one InputEvent `(record, wheel_id)`, called synchronously in order.
//!
//! Output: `put` serializes records through the output filter into the
//! driver's buffer and queues one hidden write event; everything put before
//! it runs leaves in one `write(2)`. Only when a write cannot finish (a full
//! socket) is write interest registered with the poller, and it is removed
//! once the buffer drains — an idle connection costs no wake-ups.

mod builder;
mod handlers;
pub(crate) mod state;

pub use builder::ReadWriteBuilder;

use crate::driver::SysRw;
use crate::fd::Fd;
use crate::id::{hidden_state, wheel_tag, WheelId};
use poe_filters::{Filter, FilterError, Line};
use poe_kernel::{EventName, Mode, SessionId, Trigger, Value, WeakKernel};
use state::{Filters, Handles, Inner};
use std::cell::RefCell;
use std::os::fd::{AsRawFd, RawFd};
use std::rc::Rc;

const KIND: &str = "ReadWrite";

/// The events a ReadWrite emits, for [`ReadWrite::event`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ReadWriteEvent {
    /// `InputEvent`: `(record, wheel_id)`.
    Input,
    /// `ErrorEvent`: `(operation, errno, message, wheel_id)`.
    Error,
    /// `FlushedEvent`: `(wheel_id)`.
    Flushed,
    /// `HighEvent`: `(wheel_id)`.
    High,
    /// `LowEvent`: `(wheel_id)`.
    Low,
}

/// The wheel's hidden state names.
struct Names {
    read: EventName,
    write: EventName,
}

impl Names {
    fn new(id: WheelId) -> Names {
        Names {
            read: hidden_state(KIND, id, "select read").into(),
            write: hidden_state(KIND, id, "select write").into(),
        }
    }
}

/// The wheel's keep-alive tag on its session. Spelled out when the tag is
/// taken and when it is given back, not kept: the session keeps a copy,
/// and a second one on every idle connection is 32 bytes for nothing.
fn keep_alive_tag(id: WheelId) -> String {
    wheel_tag(KIND, id)
}

/// Buffered, filtered I/O on a descriptor (POE::Wheel::ReadWrite). Keep it
/// in the session's heap; dropping it stops all of its events, discards
/// unwritten output and closes the handle.
///
/// ```no_run
/// use poe_kernel::{Kernel, Session};
/// use poe_wheels::ReadWrite;
/// use std::os::unix::net::UnixStream;
///
/// let (mine, _theirs) = UnixStream::pair().unwrap();
/// let kernel = Kernel::new().unwrap();
/// kernel.create(Session::new((Some(mine), None::<ReadWrite>))
///     .state("_start", |ctx| {
///         let handle = ctx.heap.0.take().unwrap();
///         let wheel = ReadWrite::builder(handle)
///             .input_event("got_line")
///             .error_event("got_error")
///             .build(ctx)
///             .unwrap();
///         wheel.put("hello").unwrap();
///         ctx.heap.1 = Some(wheel);
///     })
///     .state("got_line", |ctx| {
///         let line = ctx.arg(0).to_string();
///         ctx.heap.1.as_ref().unwrap().put(format!("echo: {line}")).unwrap();
///     })
///     .state("got_error", |ctx| ctx.heap.1 = None) // EOF or error: done
/// ).unwrap();
/// kernel.run();
/// ```
pub struct ReadWrite {
    inner: Rc<RefCell<Inner>>,
    kernel: WeakKernel,
    session: SessionId,
    id: WheelId,
    names: Names,
}

impl ReadWrite {
    /// Start building a wheel on one handle for both directions (a socket).
    pub fn builder(handle: impl AsRawFd + 'static) -> ReadWriteBuilder {
        ReadWriteBuilder::new(Handles::new(Box::new(handle), None))
    }

    /// Start building a wheel with separate input and output handles
    /// (POE's `InputHandle` and `OutputHandle`: two pipes, stdin/stdout).
    pub fn builder_split(
        input: impl AsRawFd + 'static,
        output: impl AsRawFd + 'static,
    ) -> ReadWriteBuilder {
        ReadWriteBuilder::new(Handles::new(Box::new(input), Some(Box::new(output))))
    }

    /// The wheel's ID (POE's `ID`).
    pub fn id(&self) -> WheelId {
        self.id
    }

    /// The input descriptor.
    pub fn input_fd(&self) -> RawFd {
        self.inner.borrow().handles.in_fd()
    }

    /// The output descriptor.
    pub fn output_fd(&self) -> RawFd {
        self.inner.borrow().handles.out_fd()
    }

    /// Queue a record for output. Returns the high-water flag: true if
    /// `HighMark` is set and the buffered octets reached it (POE's `put`
    /// return value). The write happens after the running handler, with
    /// everything else put meanwhile.
    #[inline]
    pub fn put(&self, record: impl Into<Value>) -> Result<bool, FilterError> {
        let record = record.into();
        self.queue_records(|driver, output| {
            driver.put_with(|out| output.put(record, out)).map(drop)
        })
    }

    /// Queue several records (POE's `put(@records)`).
    pub fn put_all(&self, records: impl IntoIterator<Item = Value>) -> Result<bool, FilterError> {
        self.queue_records(|driver, output| {
            for record in records {
                driver.put_with(|out| output.put(record, out))?;
            }
            Ok(())
        })
    }

    /// Serialize records into the driver with `fill`, then do what new
    /// output needs. (One record is the common case: `put` passes it
    /// straight through rather than as a one-item iterator.)
    ///
    /// Inlined into `put` and `put_all`, its only callers: a put is on
    /// every echoed line's path, and the call cost 20 of its instructions
    /// (callgrind, Server::TCP echo: 834 -> 814 a line).
    #[inline]
    fn queue_records(
        &self,
        fill: impl FnOnce(&mut SysRw, &mut dyn Filter) -> Result<(), FilterError>,
    ) -> Result<bool, FilterError> {
        let (high, schedule, write_now, fd) = {
            let mut inner = self.inner.borrow_mut();
            if inner.output_done {
                // shutdown_output or a write error: nothing will be sent,
                // so nothing is serialized.
                return Ok(false);
            }
            let was_empty = inner.driver.begin_output();
            {
                let Inner {
                    driver, filters, ..
                } = &mut *inner;
                fill(driver, filters.output())?;
            }
            let buffered = inner.driver.octets_buffered();
            // Crossing HighMark here announces it (POE sets the flag here
            // and so never fires HighEvent). The write event delivers the
            // announcement before it reports anything else, so HighEvent
            // always comes before the LowEvent of the drain that follows.
            let crossed = match inner.marks {
                Some((high, _)) if buffered >= high && !inner.high_water => {
                    inner.high_water = true;
                    inner.high_due = true;
                    true
                }
                _ => false,
            };
            let high = inner.marks.is_some() && inner.high_water;
            // Output appeared: a write is needed (unless one is blocked
            // waiting for the socket, which will take this too).
            let start = was_empty && buffered > 0 && !inner.flush_queued && !inner.write_watched;
            // An announcement needs the write event even while blocked.
            let schedule = start || (crossed && !inner.flush_queued);
            if schedule {
                inner.flush_queued = true;
            }
            (
                high,
                schedule,
                start && inner.auto_flush,
                inner.handles.out_fd(),
            )
        };
        if write_now {
            // AutoFlush: write at once; the queued write event still
            // reports errors, watermarks and the flush.
            self.flush_now(fd);
        }
        if schedule {
            self.queue_write();
        }
        Ok(high)
    }

    /// Once per batch of puts, not per put: kept out of `put`'s body.
    #[inline(never)]
    fn queue_write(&self) {
        if let Some(k) = self.kernel.upgrade() {
            if k.post_hidden(self.session, self.names.write.clone(), ())
                .is_err()
            {
                self.inner.borrow_mut().flush_queued = false;
            }
        }
    }

    /// AutoFlush's write, once per batch: out of `put`'s body.
    #[inline(never)]
    fn flush_now(&self, fd: std::os::fd::RawFd) {
        let _ = self.inner.borrow_mut().driver.flush(fd);
    }

    /// Write what is buffered now instead of after the handler (POE's
    /// `flush`); FlushedEvent and watermark events follow as usual.
    pub fn flush(&self) {
        let queue = {
            let mut inner = self.inner.borrow_mut();
            let fd = inner.handles.out_fd();
            if !inner.output_done {
                let _ = inner.driver.flush(fd);
            }
            let queue = !inner.flush_queued && !inner.write_watched;
            if queue {
                inner.flush_queued = true;
            }
            queue
        };
        if queue {
            self.queue_write();
        }
    }

    /// Octets waiting to be written (POE's `get_driver_out_octets`).
    pub fn get_driver_out_octets(&self) -> usize {
        self.inner.borrow().driver.octets_buffered()
    }

    /// Records (chunks) waiting to be written, a partly written one
    /// included (POE's `get_driver_out_messages`).
    pub fn get_driver_out_messages(&self) -> usize {
        self.inner.borrow().driver.messages_buffered()
    }

    /// Rename an event, or with `None` stop emitting it (POE's `event`).
    /// `Input => None` stops reading; naming it again resumes, and unread
    /// input is then delivered.
    pub fn event(&self, which: ReadWriteEvent, name: Option<EventName>) {
        let mut inner = self.inner.borrow_mut();
        let no_marks = inner.marks.is_none();
        let was = inner.reading();
        let ev = &mut inner.events;
        match which {
            ReadWriteEvent::Input => ev.input = name,
            ReadWriteEvent::Error => ev.error = name,
            ReadWriteEvent::Flushed => ev.flushed = name,
            ReadWriteEvent::High | ReadWriteEvent::Low if no_marks => {
                log::warn!(target: "poe::wheels", "ReadWrite({}): {which:?}Event ignored: no watermarks configured", self.id);
            }
            ReadWriteEvent::High => ev.high = name,
            ReadWriteEvent::Low => ev.low = name,
        }
        if which != ReadWriteEvent::Input || inner.input_done {
            return;
        }
        let want = inner.reading();
        let fd = inner.handles.in_fd();
        drop(inner);
        let Some(k) = self.kernel.upgrade() else {
            return;
        };
        match (was, want) {
            (false, true) => {
                let _ = k.select_watch_for(
                    self.session,
                    &Fd(fd),
                    Mode::Read,
                    Trigger::Edge,
                    self.names.read.clone(),
                    (),
                );
                k.select_retrigger(&Fd(fd), Mode::Read);
            }
            (true, false) => k.select_remove_for(self.session, &Fd(fd), Mode::Read),
            _ => {}
        }
    }

    /// Replace the filter for both directions (POE's `set_filter`). Input
    /// the old filter had not framed yet moves to the new one; records it
    /// frames are delivered next (at once, if called from an InputEvent
    /// handler), before any new read.
    pub fn set_filter(&self, filter: impl Filter + 'static) -> Result<(), FilterError> {
        self.swap_input(Box::new(filter), true)
    }

    /// Replace the input filter only (POE's `set_input_filter`).
    pub fn set_input_filter(&self, filter: impl Filter + 'static) -> Result<(), FilterError> {
        self.swap_input(Box::new(filter), false)
    }

    /// Replace the output filter only (POE's `set_output_filter`). Output
    /// already buffered was serialized by the old one and is unaffected.
    pub fn set_output_filter(&self, filter: impl Filter + 'static) {
        let mut inner = self.inner.borrow_mut();
        let old = std::mem::replace(&mut inner.filters, Filters::Shared(Box::new(Line::new())));
        inner.filters = match old {
            Filters::Shared(f) => Filters::Split {
                input: f,
                output: Box::new(filter),
            },
            Filters::Split { input, .. } => Filters::Split {
                input,
                output: Box::new(filter),
            },
        };
    }

    fn swap_input(&self, mut new: Box<dyn Filter>, both: bool) -> Result<(), FilterError> {
        let (fd, reading) = {
            let mut inner = self.inner.borrow_mut();
            if let Some(pending) = inner.filters.input().get_pending() {
                new.get_one_start(&pending)?;
            }
            let old = std::mem::replace(&mut inner.filters, Filters::Shared(Box::new(Line::new())));
            inner.filters = match (old, both) {
                (_, true) => Filters::Shared(new),
                (Filters::Shared(out), false) | (Filters::Split { output: out, .. }, false) => {
                    Filters::Split {
                        input: new,
                        output: out,
                    }
                }
            };
            (
                inner.handles.in_fd(),
                inner.reading() && !inner.input_paused,
            )
        };
        if reading {
            // Deliver what the new filter can frame from the moved bytes.
            if let Some(k) = self.kernel.upgrade() {
                k.select_retrigger(&Fd(fd), Mode::Read);
            }
        }
        Ok(())
    }

    /// Stop reading until [`ReadWrite::resume_input`]. Records already
    /// framed from the last read are still delivered.
    pub fn pause_input(&self) {
        let mut inner = self.inner.borrow_mut();
        if inner.input_paused || !inner.reading() {
            inner.input_paused = true;
            return;
        }
        inner.input_paused = true;
        let fd = inner.handles.in_fd();
        drop(inner);
        if let Some(k) = self.kernel.upgrade() {
            k.select_pause(&Fd(fd), Mode::Read);
        }
    }

    /// Read again after [`ReadWrite::pause_input`]; what arrived meanwhile
    /// is delivered.
    pub fn resume_input(&self) {
        let mut inner = self.inner.borrow_mut();
        if !inner.input_paused {
            return;
        }
        inner.input_paused = false;
        let (fd, reading) = (inner.handles.in_fd(), inner.reading());
        drop(inner);
        if let (true, Some(k)) = (reading, self.kernel.upgrade()) {
            k.select_resume(&Fd(fd), Mode::Read);
        }
    }

    /// `shutdown(SHUT_RD)` and stop reading for good.
    pub fn shutdown_input(&self) {
        let mut inner = self.inner.borrow_mut();
        let was = inner.reading();
        inner.input_done = true;
        let fd = inner.handles.in_fd();
        drop(inner);
        // SAFETY: shutdown on a descriptor the wheel owns; errors (not a
        // socket, not connected) are ignored, as in POE.
        unsafe { libc::shutdown(fd, libc::SHUT_RD) };
        if let (true, Some(k)) = (was, self.kernel.upgrade()) {
            k.select_remove_for(self.session, &Fd(fd), Mode::Read);
        }
    }

    /// `shutdown(SHUT_WR)`: the peer sees end of file. Output still
    /// buffered is never sent (as in POE): flush first if it matters.
    pub fn shutdown_output(&self) {
        let mut inner = self.inner.borrow_mut();
        inner.output_done = true;
        inner.driver.discard_output();
        let watched = std::mem::take(&mut inner.write_watched);
        let fd = inner.handles.out_fd();
        drop(inner);
        // SAFETY: as in `shutdown_input`.
        unsafe { libc::shutdown(fd, libc::SHUT_WR) };
        if let (true, Some(k)) = (watched, self.kernel.upgrade()) {
            k.select_remove_for(self.session, &Fd(fd), Mode::Write);
        }
    }

    /// Change `HighMark`; refused (false, with a warning) without
    /// configured watermarks or unless it stays above `LowMark`.
    pub fn set_high_mark(&self, n: usize) -> bool {
        self.set_marks(|(_, low)| (n > low).then_some((n, low)))
    }

    /// Change `LowMark`; refused unless `0 < n < HighMark`.
    pub fn set_low_mark(&self, n: usize) -> bool {
        self.set_marks(|(high, _)| (n > 0 && n < high).then_some((high, n)))
    }

    fn set_marks(&self, change: impl FnOnce((usize, usize)) -> Option<(usize, usize)>) -> bool {
        let mut inner = self.inner.borrow_mut();
        match inner.marks.and_then(change) {
            Some(marks) => {
                inner.marks = Some(marks);
                true
            }
            None => {
                log::warn!(target: "poe::wheels", "ReadWrite({}): watermark change refused", self.id);
                false
            }
        }
    }
}

impl std::fmt::Debug for ReadWrite {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let inner = self.inner.borrow();
        f.debug_struct("ReadWrite")
            .field("id", &self.id)
            .field("in_fd", &inner.handles.in_fd())
            .field("out_fd", &inner.handles.out_fd())
            .field("buffered", &inner.driver.octets_buffered())
            .finish()
    }
}

impl Drop for ReadWrite {
    fn drop(&mut self) {
        let Some(k) = self.kernel.upgrade() else {
            return;
        };
        let (in_fd, out_fd) = {
            let inner = self.inner.borrow();
            (inner.handles.in_fd(), inner.handles.out_fd())
        };
        k.select_remove_for(self.session, &Fd(in_fd), Mode::Read);
        k.select_remove_for(self.session, &Fd(out_fd), Mode::Write);
        k.remove_state(self.session, &self.names.read);
        k.remove_state(self.session, &self.names.write);
        let _ = k.refcount_decrement(self.session, &keep_alive_tag(self.id));
        // The handles close when `inner` drops, after the watches are gone.
    }
}
