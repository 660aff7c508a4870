//! [`Kernel`]: POE::Kernel — the event loop and everything it owns.
//!
//! The kernel is a cheap, clonable handle to state shared by one thread.
//! Each part of that state (sessions, queue, watchers, signals) sits in its
//! own `RefCell`, borrowed only for the few instructions that touch it and
//! never while user code runs; that is what lets handlers, wheels,
//! postbacks and `Drop` impls all call back into the kernel freely.

mod alarms;
mod aliases;
mod children;
mod dispatch;
mod introspect;
mod lifecycle;
mod panics;
mod registry;
mod run;
mod select;
mod send;
mod signals;
mod states;

pub use alarms::RemovedAlarm;
pub use introspect::SessionInfo;
pub use signals::SignalClass;

use crate::clock::{Clock, ClockKind};
use crate::error::{KernelError, Result};
use crate::io::IoState;
use crate::name::EventName;
use crate::queue::EventQueue;
use crate::session::{Dest, SessionId};
use registry::Registry;
use signals::SignalTable;
use std::cell::{Cell, RefCell};
use std::io;
use std::rc::{Rc, Weak};
use std::sync::atomic::{AtomicU32, Ordering};

/// The POE kernel: one per thread, shared by handle.
///
/// ```
/// use poe_kernel::{Kernel, Session};
/// let kernel = Kernel::new().unwrap();
/// kernel
///     .create(Session::new(()).state("_start", |ctx| {
///         ctx.delay("done", 0.01, ()).unwrap();
///     }).state("done", |_ctx| println!("timer fired")))
///     .unwrap();
/// kernel.run(); // returns when no session is left
/// ```
#[derive(Clone)]
pub struct Kernel {
    inner: Rc<Inner>,
}

/// A weak kernel handle: does not keep the kernel alive. Wheels and
/// postbacks hold one.
#[derive(Clone)]
pub struct WeakKernel {
    inner: Weak<Inner>,
}

impl WeakKernel {
    /// The kernel, if it still exists.
    pub fn upgrade(&self) -> Option<Kernel> {
        self.inner.upgrade().map(|inner| Kernel { inner })
    }
}

pub(crate) struct Inner {
    sessions: RefCell<Registry>,
    queue: RefCell<EventQueue>,
    io: RefCell<IoState>,
    signals: RefCell<SignalTable>,
    clock: Clock,
    /// The session whose handler is running (the kernel outside handlers).
    active: Cell<SessionId>,
    /// The event being handled, for `CALLER_STATE` and `get_active_event`.
    active_event: RefCell<Option<EventName>>,
    /// Handlers run so far.
    dispatched: Cell<u64>,
    /// Inside `run_one_timeslice` (it must not nest).
    in_timeslice: Cell<bool>,
    /// The timestamp posts get: when this timeslice (or, with no alarm
    /// pending, a recent one) began. See `fifo_stamp` and `refresh_stamp`.
    stamp: Cell<f64>,
    /// Timeslices since `stamp` was last read from the clock.
    stamp_age: Cell<u32>,
    /// The ready descriptors and the watches of one, kept between
    /// timeslices by `dispatch_io` so that dispatching I/O allocates
    /// nothing (empty while a timeslice uses them).
    ready_scratch: Cell<Vec<(std::os::fd::RawFd, u8)>>,
    watch_scratch: Cell<Vec<crate::io::Watch>>,
    /// Child processes awaited through `sig_child`.
    children: RefCell<children::ChildTable>,
    /// The OS-signal self-pipe, while some OS signal is wanted.
    signal_pipe: RefCell<Option<crate::os_signals::SignalPipe>>,
    /// SIGPIPE is ignored while the kernel lives.
    _sigpipe: crate::os_signals::IgnoreSigpipe,
    /// Panics in handlers become DIE (POE's `CATCH_EXCEPTIONS`).
    catch_panics: bool,
    panics: RefCell<panics::PanicState>,
    id: String,
}

static KERNEL_COUNTER: AtomicU32 = AtomicU32::new(0);

/// Options for a new kernel.
#[derive(Clone, Debug)]
pub struct KernelBuilder {
    clock: ClockKind,
    catch_panics: bool,
}

impl Default for KernelBuilder {
    fn default() -> Self {
        KernelBuilder {
            clock: ClockKind::default(),
            catch_panics: true,
        }
    }
}

impl KernelBuilder {
    /// Turn a handler's panic into the DIE signal (the default), or, with
    /// `false`, let it unwind straight out of `run` (POE's
    /// `CATCH_EXCEPTIONS = 0`). Either way the kernel stays consistent.
    pub fn catch_panics(mut self, catch: bool) -> Self {
        self.catch_panics = catch;
        self
    }

    /// Use this clock (a virtual one for tests).
    pub fn clock(mut self, clock: ClockKind) -> Self {
        self.clock = clock;
        self
    }

    /// Build the kernel.
    pub fn build(self) -> io::Result<Kernel> {
        let n = KERNEL_COUNTER.fetch_add(1, Ordering::Relaxed) + 1;
        let clock = Clock::new(self.clock);
        let id = format!(
            "{}-{:08x}-{:08x}-{:08x}",
            hostname(),
            clock.now() as u32,
            std::process::id(),
            n
        );
        log::debug!(target: "poe::kernel", "kernel {id} created ({:?} clock)", self.clock);
        Ok(Kernel {
            inner: Rc::new(Inner {
                sessions: RefCell::new(Registry::default()),
                queue: RefCell::new(EventQueue::default()),
                io: RefCell::new(IoState::new()?),
                signals: RefCell::new(SignalTable::default()),
                clock,
                active: Cell::new(SessionId::KERNEL),
                active_event: RefCell::new(None),
                dispatched: Cell::new(0),
                in_timeslice: Cell::new(false),
                stamp: Cell::new(0.0),
                stamp_age: Cell::new(u32::MAX),
                ready_scratch: Cell::new(Vec::new()),
                watch_scratch: Cell::new(Vec::new()),
                children: RefCell::new(children::ChildTable::default()),
                signal_pipe: RefCell::new(None),
                _sigpipe: crate::os_signals::IgnoreSigpipe::new(),
                catch_panics: self.catch_panics,
                panics: RefCell::new(panics::PanicState::default()),
                id,
            }),
        })
    }
}

fn hostname() -> String {
    let mut buf = [0u8; 256];
    // SAFETY: the buffer is valid for `buf.len()` bytes; gethostname writes
    // at most that many and we stop at the first NUL.
    let rc = unsafe { libc::gethostname(buf.as_mut_ptr().cast(), buf.len()) };
    if rc != 0 {
        return "localhost".to_owned();
    }
    let end = buf.iter().position(|&b| b == 0).unwrap_or(buf.len());
    String::from_utf8_lossy(&buf[..end]).into_owned()
}

impl Kernel {
    /// A kernel on the real clock.
    pub fn new() -> io::Result<Kernel> {
        KernelBuilder::default().build()
    }

    /// Options for a kernel (for example a virtual clock).
    ///
    /// ```
    /// use poe_kernel::{ClockKind, Kernel, Session};
    /// let kernel = Kernel::builder().clock(ClockKind::Virtual).build().unwrap();
    /// let start = kernel.now();
    /// kernel.create(Session::new(()).state("_start", |ctx| {
    ///     ctx.delay("later", 3600.0, ()).unwrap(); // an hour...
    /// }).state("later", |_| ())).unwrap();
    /// kernel.run(); // ...returns at once
    /// assert!(kernel.now() - start >= 3600.0);
    /// ```
    pub fn builder() -> KernelBuilder {
        KernelBuilder::default()
    }

    /// A weak handle.
    pub fn downgrade(&self) -> WeakKernel {
        WeakKernel {
            inner: Rc::downgrade(&self.inner),
        }
    }

    /// The kernel's ID: `"<hostname>-<time>-<pid>-<counter>"` in hex, as
    /// POE's `$kernel->ID`.
    pub fn id(&self) -> &str {
        &self.inner.id
    }

    /// Now, in epoch seconds, on this kernel's clock. Use it rather than
    /// the system time for `alarm` so tests on the virtual clock work.
    pub fn now(&self) -> f64 {
        self.inner.clock.now()
    }

    /// Which clock the kernel runs on.
    pub fn clock_kind(&self) -> ClockKind {
        self.inner.clock.kind()
    }

    /// The session whose handler is running; the kernel outside handlers.
    pub fn get_active_session(&self) -> SessionId {
        self.inner.active.get()
    }

    /// The event being handled; `None` outside handlers.
    pub fn get_active_event(&self) -> Option<EventName> {
        self.inner.active_event.borrow().clone()
    }

    /// True if both handles are the same kernel.
    pub fn ptr_eq(&self, other: &Kernel) -> bool {
        Rc::ptr_eq(&self.inner, &other.inner)
    }

    /// The running session, for the call `op`; outside handlers a
    /// warning (POE's ASSERT_USAGE) and `NoActiveSession`.
    pub(crate) fn current(&self, op: &str) -> Result<SessionId> {
        let s = self.inner.active.get();
        if s.is_kernel() {
            let e = KernelError::NoActiveSession;
            log::warn!(target: "poe::usage", "{op} outside any session: {e}");
            Err(e)
        } else {
            Ok(s)
        }
    }

    /// Resolve a destination to a live session or the kernel (§2 of the
    /// semantics: a handle, then an ID, then an alias, then the kernel ID).
    pub(crate) fn resolve(&self, dest: &Dest) -> Result<SessionId> {
        let reg = self.inner.sessions.borrow();
        let found = match dest {
            Dest::Session(s) if s.is_kernel() => Some(SessionId::KERNEL),
            Dest::Session(s) => reg.contains(*s).then_some(*s),
            Dest::Id(0) => Some(SessionId::KERNEL),
            Dest::Id(n) => reg.by_number(*n),
            Dest::Name(name) => name
                .parse::<u64>()
                .ok()
                .and_then(|n| reg.by_number(n))
                .or_else(|| reg.alias(name))
                .or_else(|| (name.as_str() == self.inner.id).then_some(SessionId::KERNEL)),
        };
        found.ok_or_else(|| KernelError::NoSuchSession(dest.clone()))
    }

    /// Resolve a destination that must be a session (not the kernel).
    pub(crate) fn resolve_session(&self, dest: &Dest) -> Result<SessionId> {
        match self.resolve(dest)? {
            s if s.is_kernel() => Err(KernelError::NoSuchSession(dest.clone())),
            s => Ok(s),
        }
    }

    /// [`Kernel::resolve`] for an operation on `dest`, warning on
    /// `poe::usage` when it fails (as POE's ASSERT_USAGE would):
    /// `"{op} {dest}: {error}"`, `op` being e.g. `"post to"`.
    pub(crate) fn resolve_for(&self, op: impl std::fmt::Display, dest: &Dest) -> Result<SessionId> {
        self.resolve(dest)
            .inspect_err(|e| log::warn!(target: "poe::usage", "{op} {dest}: {e}"))
    }

    /// [`Kernel::resolve_session`], warning as [`Kernel::resolve_for`].
    pub(crate) fn resolve_session_for(
        &self,
        op: impl std::fmt::Display,
        dest: &Dest,
    ) -> Result<SessionId> {
        self.resolve_session(dest)
            .inspect_err(|e| log::warn!(target: "poe::usage", "{op} {dest}: {e}"))
    }
}

impl std::fmt::Debug for Kernel {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Kernel")
            .field("id", &self.inner.id)
            .field("sessions", &self.inner.sessions.borrow().len())
            .finish()
    }
}
