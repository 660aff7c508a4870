//! OS signals, delivered through a self-pipe (the libc boundary).
//!
//! A signal handler may only do async-signal-safe things; this one writes
//! the signal's number, one byte, to the pipe of every kernel that listens.
//! Each kernel polls its pipe's read end with its other descriptors and
//! turns the bytes into POE signals at its next timeslice.
//!
//! Handlers are process-wide, so their installation is counted per signal
//! across kernels: the handler goes in when the first kernel needs the
//! signal and the previous disposition comes back when the last one stops
//! (POE installs a handler only while some session watches the signal, so
//! an unwatched SIGINT still kills the process). SIGPIPE is ignored while
//! any kernel exists (POE does the same at start-up), so a write to a
//! closed peer fails with EPIPE instead of killing the process.

use std::collections::{BTreeSet, HashMap};
use std::io;
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd, RawFd};
use std::sync::atomic::{AtomicI32, Ordering};
use std::sync::Mutex;

/// Signals a session can watch by name. Faults (SEGV, BUS, FPE, ILL) are
/// synchronous and cannot be deferred to a loop; KILL and STOP cannot be
/// caught.
const NAMES: &[(&str, libc::c_int)] = &[
    ("HUP", libc::SIGHUP),
    ("INT", libc::SIGINT),
    ("QUIT", libc::SIGQUIT),
    ("ALRM", libc::SIGALRM),
    ("TERM", libc::SIGTERM),
    ("USR1", libc::SIGUSR1),
    ("USR2", libc::SIGUSR2),
    ("CHLD", libc::SIGCHLD),
    ("CONT", libc::SIGCONT),
    ("TSTP", libc::SIGTSTP),
    ("TTIN", libc::SIGTTIN),
    ("TTOU", libc::SIGTTOU),
    ("WINCH", libc::SIGWINCH),
    ("PIPE", libc::SIGPIPE),
    ("URG", libc::SIGURG),
    ("XCPU", libc::SIGXCPU),
    ("XFSZ", libc::SIGXFSZ),
    ("VTALRM", libc::SIGVTALRM),
    ("PROF", libc::SIGPROF),
    ("IO", libc::SIGIO),
    ("PWR", libc::SIGPWR),
];

/// The OS signal number of a POE signal name (`None` for names that are
/// not OS signals, such as IDLE, DIE or made-up ones).
pub(crate) fn number(name: &str) -> Option<libc::c_int> {
    NAMES.iter().find(|(n, _)| *n == name).map(|&(_, s)| s)
}

/// The POE name of an OS signal number.
pub(crate) fn name(signo: libc::c_int) -> Option<&'static str> {
    NAMES.iter().find(|&&(_, s)| s == signo).map(|&(n, _)| n)
}

/// Most kernels in one process that can listen to OS signals at once.
const SLOTS: usize = 64;

/// Write ends of the listening kernels' pipes (-1: free slot). Read by
/// the signal handler, so plain atomics.
static PIPES: [AtomicI32; SLOTS] = [const { AtomicI32::new(-1) }; SLOTS];

extern "C" fn on_signal(signo: libc::c_int) {
    // SAFETY: __errno_location returns this thread's errno slot; saving
    // and restoring it keeps the interrupted code's errno intact.
    let errno = unsafe { *libc::__errno_location() };
    let byte = signo as u8;
    for slot in &PIPES {
        let fd = slot.load(Ordering::Relaxed);
        if fd >= 0 {
            // SAFETY: write(2) is async-signal-safe; the byte outlives the
            // call. A full pipe drops the byte, which is fine: a pending
            // byte for the same signal is already there to wake the loop.
            unsafe { libc::write(fd, (&byte as *const u8).cast(), 1) };
        }
    }
    // SAFETY: as above.
    unsafe { *libc::__errno_location() = errno };
}

/// Per-signal counts across kernels, and the disposition to restore.
struct Disposition {
    /// Kernels watching the signal (the handler is installed).
    watchers: usize,
    /// Kernels that want it ignored (SIGPIPE).
    ignorers: usize,
    previous: libc::sigaction,
}

static DISPOSITIONS: Mutex<Option<HashMap<libc::c_int, Disposition>>> = Mutex::new(None);

/// Change one signal's counts and install what they call for: the
/// handler while watched, SIG_IGN while only ignored, else the original.
fn adjust(signo: libc::c_int, watchers: isize, ignorers: isize) -> io::Result<()> {
    let mut guard = DISPOSITIONS.lock().unwrap_or_else(|e| e.into_inner());
    let table = guard.get_or_insert_with(HashMap::new);
    let d = match table.entry(signo) {
        std::collections::hash_map::Entry::Occupied(e) => e.into_mut(),
        std::collections::hash_map::Entry::Vacant(e) => {
            // SAFETY: a zeroed sigaction is a valid out-parameter; a null
            // new action makes sigaction only read the current one.
            let mut previous: libc::sigaction = unsafe { std::mem::zeroed() };
            if unsafe { libc::sigaction(signo, std::ptr::null(), &mut previous) } != 0 {
                return Err(io::Error::last_os_error());
            }
            e.insert(Disposition {
                watchers: 0,
                ignorers: 0,
                previous,
            })
        }
    };
    d.watchers = d.watchers.saturating_add_signed(watchers);
    d.ignorers = d.ignorers.saturating_add_signed(ignorers);
    let restore = d.watchers == 0 && d.ignorers == 0;
    let action = if restore {
        d.previous
    } else {
        // SAFETY: a zeroed sigaction is valid; sigemptyset initialises its
        // mask; the handler is an extern "C" fn(c_int) as sa_handler wants.
        let mut a: libc::sigaction = unsafe { std::mem::zeroed() };
        unsafe { libc::sigemptyset(&mut a.sa_mask) };
        if d.watchers > 0 {
            a.sa_sigaction = on_signal as extern "C" fn(libc::c_int) as usize;
            // Restart interrupted system calls; ignore stopped children.
            a.sa_flags = libc::SA_RESTART | libc::SA_NOCLDSTOP;
        } else {
            a.sa_sigaction = libc::SIG_IGN;
        }
        a
    };
    // SAFETY: valid action pointer for the duration of the call.
    if unsafe { libc::sigaction(signo, &action, std::ptr::null_mut()) } != 0 {
        return Err(io::Error::last_os_error());
    }
    if restore {
        table.remove(&signo);
    }
    Ok(())
}

/// Ignore SIGPIPE while the returned guard lives.
pub(crate) struct IgnoreSigpipe;

impl IgnoreSigpipe {
    pub(crate) fn new() -> IgnoreSigpipe {
        if let Err(e) = adjust(libc::SIGPIPE, 0, 1) {
            log::warn!(target: "poe::signals", "cannot ignore SIGPIPE: {e}");
        }
        IgnoreSigpipe
    }
}

impl Drop for IgnoreSigpipe {
    fn drop(&mut self) {
        let _ = adjust(libc::SIGPIPE, 0, -1);
    }
}

/// One kernel's self-pipe and the signals it has handlers installed for.
pub(crate) struct SignalPipe {
    read: OwnedFd,
    _write: OwnedFd,
    slot: usize,
    watched: BTreeSet<libc::c_int>,
}

impl SignalPipe {
    pub(crate) fn new() -> io::Result<SignalPipe> {
        let mut fds = [0 as RawFd; 2];
        // SAFETY: pipe2 fills the two-element array on success.
        if unsafe { libc::pipe2(fds.as_mut_ptr(), libc::O_CLOEXEC | libc::O_NONBLOCK) } != 0 {
            return Err(io::Error::last_os_error());
        }
        // SAFETY: both descriptors were just created and are owned here.
        let (read, write) = unsafe { (OwnedFd::from_raw_fd(fds[0]), OwnedFd::from_raw_fd(fds[1])) };
        let slot = PIPES
            .iter()
            .position(|p| {
                p.compare_exchange(-1, write.as_raw_fd(), Ordering::AcqRel, Ordering::Relaxed)
                    .is_ok()
            })
            .ok_or_else(|| io::Error::other("too many kernels listen to OS signals"))?;
        Ok(SignalPipe {
            read,
            _write: write,
            slot,
            watched: BTreeSet::new(),
        })
    }

    pub(crate) fn read_fd(&self) -> RawFd {
        self.read.as_raw_fd()
    }

    /// Make `wanted` the signals with a handler for this kernel.
    pub(crate) fn set_watched(&mut self, wanted: &BTreeSet<libc::c_int>) {
        for &signo in wanted.difference(&self.watched.clone()) {
            match adjust(signo, 1, 0) {
                Ok(()) => {
                    self.watched.insert(signo);
                }
                Err(e) => log::warn!(target: "poe::signals", "cannot watch signal {signo}: {e}"),
            }
        }
        for signo in self.watched.difference(wanted).copied().collect::<Vec<_>>() {
            let _ = adjust(signo, -1, 0);
            self.watched.remove(&signo);
        }
    }

    /// The signals that arrived since the last call, each once.
    pub(crate) fn drain(&self) -> BTreeSet<libc::c_int> {
        let mut got = BTreeSet::new();
        let mut buf = [0u8; 64];
        loop {
            // SAFETY: reading into a buffer of the length given.
            let n =
                unsafe { libc::read(self.read.as_raw_fd(), buf.as_mut_ptr().cast(), buf.len()) };
            if n <= 0 {
                break;
            }
            got.extend(buf[..n as usize].iter().map(|&b| libc::c_int::from(b)));
        }
        // The handler writes to every listening kernel's pipe.
        got.retain(|s| self.watched.contains(s));
        got
    }
}

impl Drop for SignalPipe {
    fn drop(&mut self) {
        self.set_watched(&BTreeSet::new());
        PIPES[self.slot].store(-1, Ordering::Release);
    }
}
