//! [`Run`]: POE::Wheel::Run — run a program in a child process and talk to
//! it through its standard handles. `builder` holds the parameters,
//! `spawn` starts the process, `handlers` are the hidden states, `state`
//! what they share.

mod builder;
mod handlers;
mod spawn;
mod state;

pub use builder::RunBuilder;

use crate::fd::Fd;
use crate::id::{hidden_state, wheel_tag, WheelId};
use poe_filters::{Filter, FilterError};
use poe_kernel::{EventName, Mode, SessionId, Trigger, Value, WeakKernel};
use state::{Inner, Stream};
use std::cell::RefCell;
use std::ffi::OsStr;
use std::fmt;
use std::io;
use std::rc::Rc;

const KIND: &str = "Run";

/// The events a Run emits, for [`Run::event`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum RunEvent {
    /// `StdinEvent`: `(wheel_id)`.
    Stdin,
    /// `StdoutEvent`: `(record, wheel_id)`.
    Stdout,
    /// `StderrEvent`: `(record, wheel_id)`.
    Stderr,
    /// `ErrorEvent`: `(operation, errno, message, wheel_id, handle)`.
    Error,
    /// `CloseEvent`: `(wheel_id)`.
    Close,
}

/// Why [`Run::put`] could not queue a record.
#[derive(Debug)]
#[non_exhaustive]
pub enum StdinError {
    /// The wheel has no STDIN pipe: `no_stdin`, `redirect_stdin`,
    /// [`Run::shutdown_stdin`], or a write error closed it. (POE croaks.)
    Closed,
    /// The StdinFilter refused the record.
    Filter(FilterError),
}

impl fmt::Display for StdinError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            StdinError::Closed => f.write_str("the child's STDIN is not open"),
            StdinError::Filter(e) => write!(f, "StdinFilter: {e}"),
        }
    }
}

impl std::error::Error for StdinError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            StdinError::Filter(e) => Some(e),
            StdinError::Closed => None,
        }
    }
}

impl From<FilterError> for StdinError {
    fn from(e: FilterError) -> StdinError {
        StdinError::Filter(e)
    }
}

/// The wheel's hidden state names and its keep-alive tag.
struct Names {
    stdin: EventName,
    stdout: EventName,
    stderr: EventName,
    tag: String,
}

impl Names {
    fn new(id: WheelId) -> Names {
        Names {
            stdin: hidden_state(KIND, id, "select stdin").into(),
            stdout: hidden_state(KIND, id, Stream::Stdout.state()).into(),
            stderr: hidden_state(KIND, id, Stream::Stderr.state()).into(),
            tag: wheel_tag(KIND, id),
        }
    }

    fn output(&self, stream: Stream) -> &EventName {
        match stream {
            Stream::Stdout => &self.stdout,
            Stream::Stderr => &self.stderr,
        }
    }
}

/// A child process and its standard handles (POE::Wheel::Run). Keep it in
/// the session's heap; dropping it stops its events and closes the pipes
/// without waiting for the child.
///
/// ```
/// use poe_kernel::{Kernel, Session};
/// use poe_wheels::Run;
///
/// let kernel = Kernel::new().unwrap();
/// kernel.create(Session::new(None::<Run>)
///     .state("_start", |ctx| {
///         let wheel = Run::shell("read name; echo \"hello, $name\"; echo done >&2")
///             .stdout_event("got_stdout")
///             .stderr_event("got_stderr")
///             .close_event("got_close")
///             .build(ctx)
///             .unwrap();
///         wheel.put("world").unwrap();
///         *ctx.heap = Some(wheel);
///     })
///     .state("got_stdout", |ctx| println!("stdout: {}", ctx.arg(0)))
///     .state("got_stderr", |ctx| println!("stderr: {}", ctx.arg(0)))
///     .state("got_close", |ctx| *ctx.heap = None) // all output read
/// ).unwrap();
/// kernel.run();
/// ```
///
/// # Events
///
/// The child's STDOUT and STDERR are pipes read by ReadWrite's rules
/// (edge-triggered, drained, every framed record one event, called
/// synchronously); its STDIN is a pipe written like ReadWrite's output
/// (everything `put` during a handler leaves in one `write(2)` after it;
/// write interest only while the pipe is full). The wheel's events:
///
/// | event | arguments |
/// | --- | --- |
/// | StdoutEvent, StderrEvent | `(record, wheel_id)` |
/// | StdinEvent | `(wheel_id)`: everything put was written |
/// | ErrorEvent | `(operation, errno, message, wheel_id, handle)`; EOF is `("read", 0, "", id, "STDOUT")` |
/// | CloseEvent | `(wheel_id)`: every output handle read reached end of file |
///
/// For a child that reads a line, prints to STDOUT, then to STDERR, and
/// exits, the order is POE's, every time: StdinEvent, StdoutEvent,
/// StderrEvent, ErrorEvent STDOUT, ErrorEvent STDERR, CloseEvent. A child
/// exits by closing both output handles, but Linux usually releases
/// STDERR first, so the wheel holds the first end it sees until the other
/// handle ends too (or is paused, or has no event), then reports both,
/// STDOUT's first. One consequence: a child that closes STDOUT early but
/// keeps STDERR open gets STDOUT's ErrorEvent only when STDERR ends.
///
/// # The child's exit
///
/// The wheel does not report the child's exit, and never waits for it
/// (as in POE): watch it with the kernel's `sig_child(pid, event, args)`,
/// whose event carries `("CHLD", pid, wait_status, args...)`. Dropping the
/// wheel does not block and does not kill the child; it closes the pipes
/// (the child sees end of file on STDIN, and EPIPE or SIGPIPE if it
/// writes). Call [`Run::kill`] first if the child must end.
///
/// # No closures as programs
///
/// POE's `Program => sub { ... }` forks and runs Perl code in the child.
/// This is not supported: a Rust process may have other threads (a
/// logger, a runtime, the test harness), and after `fork` only the forking
/// thread exists in the child — a lock another thread held (the
/// allocator's, stdout's, a `Mutex`) stays locked forever, so the child
/// can deadlock on its first allocation. Only `exec` is safe after
/// `fork`. Run your own executable instead, with an argument that selects
/// the child's job:
///
/// ```no_run
/// # fn child_job() {}
/// use poe_wheels::Run;
/// # let build = |ctx: &mut poe_kernel::Ctx<'_, ()>| -> Result<Run, Box<dyn std::error::Error>> {
/// // In main(), before anything else:
/// if std::env::args().nth(1).as_deref() == Some("--child-job") {
///     child_job(); // what the closure would have done
///     std::process::exit(0);
/// }
/// // In the session:
/// let wheel = Run::command([std::env::current_exe()?.as_os_str(), "--child-job".as_ref()])
///     .stdout_event("job_output")
///     .build(ctx)?;
/// # Ok(wheel) };
/// ```
pub struct Run {
    inner: Rc<RefCell<Inner>>,
    kernel: WeakKernel,
    session: SessionId,
    id: WheelId,
    pid: u32,
    own_group: bool,
    names: Names,
}

impl Run {
    /// Run a program with arguments, without a shell (POE's
    /// `Program => [$program, @args]`). The program is looked up in
    /// `PATH` when it has no slash.
    ///
    /// ```
    /// # use poe_wheels::Run;
    /// let builder = Run::command(["printf", "%s\\n", "one", "two"]).stdout_event("line");
    /// ```
    pub fn command<I, S>(argv: I) -> RunBuilder
    where
        I: IntoIterator<Item = S>,
        S: AsRef<OsStr>,
    {
        RunBuilder::new(spawn::argv(argv))
    }

    /// Run a shell command line with `/bin/sh -c` (POE's
    /// `Program => "string"`).
    ///
    /// ```
    /// # use poe_wheels::Run;
    /// let builder = Run::shell("ls | wc -l").stdout_event("count");
    /// ```
    pub fn shell(line: impl AsRef<OsStr>) -> RunBuilder {
        RunBuilder::new(spawn::Program::Shell(line.as_ref().to_owned()))
    }

    /// The wheel's ID (POE's `ID`).
    pub fn id(&self) -> WheelId {
        self.id
    }

    /// The child's process ID (POE's `PID`): what `sig_child` watches.
    pub fn pid(&self) -> u32 {
        self.pid
    }

    /// Send the child a signal (POE's `kill`): `None` sends TERM, as POE.
    ///
    /// When the child leads its own process group (the default; see
    /// [`RunBuilder::no_setpgrp`]) the whole group is signalled, so
    /// processes the child started — a shell's pipeline — end too and the
    /// pipes they hold close. POE signals the PID alone.
    pub fn kill(&self, signal: impl Into<Option<i32>>) -> io::Result<()> {
        let signal = signal.into().unwrap_or(libc::SIGTERM);
        let pid = libc::pid_t::try_from(self.pid)
            .map_err(|_| io::Error::from_raw_os_error(libc::ESRCH))?;
        let target = if self.own_group { -pid } else { pid };
        log::trace!(target: "poe::wheels", "Run({}): kill({target}, {signal})", self.id);
        // SAFETY: kill(2) takes no pointers; a bad target or signal is
        // reported through the return value.
        if unsafe { libc::kill(target, signal) } == 0 {
            Ok(())
        } else {
            Err(io::Error::last_os_error())
        }
    }

    /// Queue a record for the child's STDIN, through the StdinFilter. It
    /// is written after the running handler, with everything else put
    /// meanwhile; StdinEvent follows when all of it is written.
    pub fn put(&self, record: impl Into<Value>) -> Result<(), StdinError> {
        self.put_all(std::iter::once(record.into()))
    }

    /// Queue several records (POE's `put(@records)`).
    pub fn put_all(&self, records: impl IntoIterator<Item = Value>) -> Result<(), StdinError> {
        let schedule = {
            let mut inner = self.inner.borrow_mut();
            let stdin = inner.stdin.as_mut().ok_or(StdinError::Closed)?;
            let was_empty = stdin.driver.begin_output();
            for record in records {
                let filter = &mut stdin.filter;
                stdin.driver.put_with(|out| filter.put(record, out))?;
            }
            let due = was_empty && stdin.driver.octets_buffered() > 0;
            let schedule = due && !stdin.flush_queued && !stdin.write_watched;
            stdin.flush_queued |= schedule;
            schedule
        };
        if schedule {
            let posted = self.kernel.upgrade().is_some_and(|k| {
                k.post_hidden(self.session, self.names.stdin.clone(), ())
                    .is_ok()
            });
            if !posted {
                if let Some(stdin) = self.inner.borrow_mut().stdin.as_mut() {
                    stdin.flush_queued = false;
                }
            }
        }
        Ok(())
    }

    /// Close the child's STDIN: it reads end of file (so `cat` exits).
    /// Input still buffered is discarded, as in POE — call it from
    /// StdinEvent when everything must arrive.
    pub fn shutdown_stdin(&self) {
        let Some(stdin) = self.inner.borrow_mut().stdin.take() else {
            return;
        };
        if let Some(k) = self.kernel.upgrade() {
            if stdin.write_watched {
                k.select_remove_for(self.session, &Fd(stdin.raw_fd()), Mode::Write);
            }
            drop(stdin); // closes the pipe, now unwatched
            let _ = k.refcount_decrement(self.session, &self.names.tag);
        }
    }

    /// Stop reading the child's STDOUT until [`Run::resume_stdout`]. A
    /// child that keeps writing blocks once the pipe is full.
    pub fn pause_stdout(&self) {
        self.set_paused(Stream::Stdout, true)
    }

    /// Read the child's STDOUT again; what arrived meanwhile is delivered.
    pub fn resume_stdout(&self) {
        self.set_paused(Stream::Stdout, false)
    }

    /// Stop reading the child's STDERR until [`Run::resume_stderr`].
    pub fn pause_stderr(&self) {
        self.set_paused(Stream::Stderr, true)
    }

    /// Read the child's STDERR again.
    pub fn resume_stderr(&self) {
        self.set_paused(Stream::Stderr, false)
    }

    fn set_paused(&self, stream: Stream, paused: bool) {
        let (fd, release) = {
            let mut inner = self.inner.borrow_mut();
            let Some(o) = inner.output(stream) else {
                return;
            };
            if o.paused == paused {
                return;
            }
            o.paused = paused;
            let fd = o.reading().then(|| o.raw_fd());
            (fd, inner.end_held() && !inner.any_live())
        };
        if let Some(k) = self.kernel.upgrade() {
            if let Some(fd) = fd {
                match paused {
                    true => k.select_pause(&Fd(fd), Mode::Read),
                    false => k.select_resume(&Fd(fd), Mode::Read),
                };
            }
            if release {
                self.release_held_end(&k, stream);
            }
        }
    }

    /// The other handle's end waited for this one, which is no longer
    /// read: have the hidden state report it.
    fn release_held_end(&self, k: &poe_kernel::Kernel, stream: Stream) {
        let _ = k.post_hidden(self.session, self.names.output(stream).clone(), ());
    }

    /// Rename an event, or with `None` stop emitting it (POE's `event`).
    /// `Stdout => None` stops reading STDOUT (and CloseEvent no longer
    /// waits for it); naming it again resumes. A handle that has no pipe
    /// (no event at build time) cannot be given one: that is ignored with
    /// a warning.
    pub fn event(&self, which: RunEvent, name: Option<EventName>) {
        let stream = match which {
            RunEvent::Stdout => Stream::Stdout,
            RunEvent::Stderr => Stream::Stderr,
            other => {
                let mut inner = self.inner.borrow_mut();
                let ev = &mut inner.events;
                let slot = match other {
                    RunEvent::Stdin => &mut ev.stdin,
                    RunEvent::Error => &mut ev.error,
                    _ => &mut ev.close,
                };
                *slot = name;
                return;
            }
        };
        let mut inner = self.inner.borrow_mut();
        let Some(o) = inner.output(stream) else {
            log::warn!(target: "poe::wheels", "Run({}): no {} pipe; {which:?}Event ignored", self.id, stream.name());
            return;
        };
        let was = o.reading();
        o.event = name;
        let want = o.reading();
        let fd = o.raw_fd();
        let release = inner.end_held() && !inner.any_live();
        drop(inner);
        let Some(k) = self.kernel.upgrade() else {
            return;
        };
        if release {
            self.release_held_end(&k, stream);
        }
        match (was, want) {
            (false, true) => {
                let state = self.names.output(stream).clone();
                let _ =
                    k.select_watch_for(self.session, &Fd(fd), Mode::Read, Trigger::Edge, state, ());
                k.select_retrigger(&Fd(fd), Mode::Read);
            }
            (true, false) => k.select_remove_for(self.session, &Fd(fd), Mode::Read),
            _ => {}
        }
    }

    /// Replace the StdinFilter (POE's `set_stdin_filter`). Input already
    /// buffered was serialized by the old one.
    pub fn set_stdin_filter(&self, filter: impl Filter + 'static) {
        if let Some(stdin) = self.inner.borrow_mut().stdin.as_mut() {
            stdin.filter = Box::new(filter);
        }
    }

    /// Replace the StdoutFilter (POE's `set_stdout_filter`): bytes the old
    /// one had not framed move to the new one, and what it frames of them
    /// is delivered next, before any new read.
    pub fn set_stdout_filter(&self, filter: impl Filter + 'static) -> Result<(), FilterError> {
        self.swap_output_filter(Stream::Stdout, Box::new(filter))
    }

    /// Replace the StderrFilter (POE's `set_stderr_filter`), as
    /// [`Run::set_stdout_filter`].
    pub fn set_stderr_filter(&self, filter: impl Filter + 'static) -> Result<(), FilterError> {
        self.swap_output_filter(Stream::Stderr, Box::new(filter))
    }

    /// Replace the StdoutFilter and, with a fresh copy, the StdinFilter
    /// (POE's `set_stdio_filter`).
    pub fn set_stdio_filter(&self, filter: impl Filter + 'static) -> Result<(), FilterError> {
        if let Some(stdin) = self.inner.borrow_mut().stdin.as_mut() {
            stdin.filter = filter.clone_fresh();
        }
        self.set_stdout_filter(filter)
    }

    fn swap_output_filter(
        &self,
        stream: Stream,
        mut new: Box<dyn Filter>,
    ) -> Result<(), FilterError> {
        let fd = {
            let mut inner = self.inner.borrow_mut();
            let Some(o) = inner.output(stream) else {
                return Ok(());
            };
            if let Some(pending) = o.filter.get_pending() {
                new.get_one_start(&pending)?;
            }
            o.filter = new;
            o.live().then(|| o.raw_fd())
        };
        if let (Some(fd), Some(k)) = (fd, self.kernel.upgrade()) {
            // Deliver what the new filter frames of the moved bytes.
            k.select_retrigger(&Fd(fd), Mode::Read);
        }
        Ok(())
    }

    /// Octets put and not yet written to the child (POE's
    /// `get_driver_out_octets`).
    pub fn get_driver_out_octets(&self) -> usize {
        let inner = self.inner.borrow();
        inner
            .stdin
            .as_ref()
            .map_or(0, |s| s.driver.octets_buffered())
    }

    /// Records put and not completely written (POE's
    /// `get_driver_out_messages`).
    pub fn get_driver_out_messages(&self) -> usize {
        let inner = self.inner.borrow();
        inner
            .stdin
            .as_ref()
            .map_or(0, |s| s.driver.messages_buffered())
    }
}

impl fmt::Debug for Run {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let inner = self.inner.borrow();
        f.debug_struct("Run")
            .field("id", &self.id)
            .field("pid", &self.pid)
            .field("stdin", &inner.stdin.as_ref().map(|s| s.raw_fd()))
            .field("stdout", &inner.stdout.as_ref().map(|o| o.raw_fd()))
            .field("stderr", &inner.stderr.as_ref().map(|o| o.raw_fd()))
            .finish()
    }
}

impl Drop for Run {
    /// Remove the watches, the hidden states and the keep-alive, then
    /// close the pipes (in that order, so no descriptor number is reused
    /// while registered). The child is neither waited for nor killed.
    fn drop(&mut self) {
        let Some(k) = self.kernel.upgrade() else {
            return;
        };
        let inner = self.inner.borrow();
        if let Some(stdin) = &inner.stdin {
            k.select_remove_for(self.session, &Fd(stdin.raw_fd()), Mode::Write);
            let _ = k.refcount_decrement(self.session, &self.names.tag);
        }
        for o in inner.stdout.iter().chain(&inner.stderr) {
            k.select_remove_for(self.session, &Fd(o.raw_fd()), Mode::Read);
        }
        drop(inner);
        for name in [&self.names.stdin, &self.names.stdout, &self.names.stderr] {
            k.remove_state(self.session, name);
        }
        // The pipes close when `inner` drops, after the watches are gone.
    }
}
