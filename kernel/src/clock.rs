//! [`Clock`]: where the kernel reads the time.
//!
//! Times are POE's: `f64` seconds since the Unix epoch. The real clock is
//! monotonic underneath (an `Instant` offset from the epoch time read at
//! start), so alarms are immune to wall-clock steps. The virtual clock
//! stands still while handlers run and jumps straight to the next alarm
//! whenever the loop has nothing else to do, so a test of a one-hour
//! timeout finishes in microseconds.

use std::cell::Cell;
use std::time::{SystemTime, UNIX_EPOCH};

/// Which clock a kernel uses.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub enum ClockKind {
    /// Real time.
    #[default]
    Real,
    /// Virtual time for tests: starts at the current real time and only
    /// advances when the loop is idle until the next alarm.
    Virtual,
}

pub(crate) struct Clock {
    kind: ClockKind,
    /// The monotonic clock's reading when the kernel started.
    origin: f64,
    origin_epoch: f64,
    virtual_now: Cell<f64>,
}

impl Clock {
    pub(crate) fn new(kind: ClockKind) -> Clock {
        let origin_epoch = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map(|d| d.as_secs_f64())
            .unwrap_or(0.0);
        Clock {
            kind,
            origin: monotonic(),
            origin_epoch,
            virtual_now: Cell::new(origin_epoch),
        }
    }

    pub(crate) fn kind(&self) -> ClockKind {
        self.kind
    }

    pub(crate) fn is_virtual(&self) -> bool {
        self.kind == ClockKind::Virtual
    }

    /// Now, in epoch seconds.
    pub(crate) fn now(&self) -> f64 {
        match self.kind {
            ClockKind::Real => self.origin_epoch + (monotonic() - self.origin),
            ClockKind::Virtual => self.virtual_now.get(),
        }
    }

    /// Jump virtual time forward to `t` (never backward).
    pub(crate) fn advance_to(&self, t: f64) {
        if self.is_virtual() && t > self.virtual_now.get() {
            log::trace!(target: "poe::clock", "virtual clock jumps to {t:.6}");
            self.virtual_now.set(t);
        }
    }
}

/// CLOCK_MONOTONIC in seconds. Read directly: `Instant` arithmetic costs a
/// third again on a path taken once per timeslice.
fn monotonic() -> f64 {
    let mut ts = libc::timespec {
        tv_sec: 0,
        tv_nsec: 0,
    };
    // SAFETY: `ts` is a valid, writable timespec for the duration of the
    // call; CLOCK_MONOTONIC exists on every system mio supports.
    unsafe { libc::clock_gettime(libc::CLOCK_MONOTONIC, &mut ts) };
    ts.tv_sec as f64 + ts.tv_nsec as f64 * 1e-9
}
