//! The loop: `run`, `run_one_timeslice`, and what one timeslice does (§1.3).
//!
//! 1. If the kernel is idle, queue IDLE.
//! 2. Poll I/O (not at all if something is already due), dispatch every
//!    ready read watcher, then write, then expedite; GC sweep.
//! 3. Take `now` once; dispatch the queue in (time, seq) order — alarms due
//!    by `now`, and the posts that were queued when the batch began; GC
//!    sweep.
//!
//! With the virtual clock, a timeslice that finds nothing ready moves time
//! to the next alarm instead of sleeping.

use super::dispatch::IfBusy;
use super::Kernel;
use crate::event::{Event, EventKind};
use crate::io::Mode;
use crate::value::IntoArgs;
use std::time::Duration;

/// POE's longest sleep when nothing is scheduled.
const MAX_WAIT: f64 = 3600.0;

/// How many timeslices in a row may reuse one clock reading when no alarm
/// is pending (see `refresh_stamp`).
const STAMP_REUSE: u32 = 64;

/// Marks the kernel as inside a timeslice, even through a panic.
struct InTimeslice<'k>(&'k Kernel);

impl Drop for InTimeslice<'_> {
    fn drop(&mut self) {
        self.0.inner.in_timeslice.set(false);
    }
}

impl Kernel {
    /// Run until no session is left (POE's `run`). Returns at once if there
    /// is none. May be called again later, with new sessions.
    ///
    /// A panic in a handler unwinds out of `run` with the kernel still
    /// consistent: the panicking event is gone, every heap is back in its
    /// session, and `run` can be called again.
    pub fn run(&self) {
        if self.inner.in_timeslice.get() {
            log::warn!(target: "poe::usage", "run() called from inside a handler: ignored");
            return;
        }
        log::debug!(target: "poe::kernel", "run: {} sessions", self.session_count());
        while self.session_count() > 0 {
            self.timeslice();
            // An unhandled DIE (which stopped every session) or a panic in
            // `_stop` resumes here.
            if let Some(payload) = self.take_rethrow() {
                std::panic::resume_unwind(payload);
            }
        }
        log::debug!(target: "poe::kernel", "run: no sessions left");
    }

    /// Run one timeslice (POE's `run_one_timeslice`). Returns `false`, doing
    /// nothing, when no session exists (or when called from a handler).
    pub fn run_one_timeslice(&self) -> bool {
        if self.inner.in_timeslice.get() || self.session_count() == 0 {
            return false;
        }
        self.timeslice();
        if let Some(payload) = self.take_rethrow() {
            std::panic::resume_unwind(payload);
        }
        true
    }

    /// Run timeslices while `keep_going` returns true and sessions exist
    /// (POE's `run_while`).
    pub fn run_while(&self, mut keep_going: impl FnMut() -> bool) {
        while keep_going() && self.run_one_timeslice() {}
    }

    fn timeslice(&self) {
        self.inner.in_timeslice.set(true);
        let _guard = InTimeslice(self);
        if self.is_idle() {
            self.signal_idle();
        }

        let timeout = self.poll_timeout();
        if let Err(e) = self.inner.io.borrow_mut().poll(timeout) {
            log::error!(target: "poe::kernel", "poll failed: {e}");
        }
        self.refresh_stamp(timeout != Some(Duration::ZERO));
        if self.inner.io.borrow_mut().take_signal_ready() {
            self.os_signals_arrived();
        }
        self.dispatch_io();
        self.gc_sweep();

        if self.inner.clock.is_virtual() {
            self.advance_virtual_clock();
            self.inner.stamp.set(self.inner.clock.now());
        }
        let now = self.inner.stamp.get();
        let limit = self.inner.queue.borrow().last_seq();
        loop {
            let next = self.inner.queue.borrow_mut().pop_next(now, limit);
            match next {
                Some(ev) => self.dispatch_queued(ev),
                None => break,
            }
        }
        self.gc_sweep();
    }

    /// How long the poll may wait: not at all if posts are waiting or an
    /// alarm is due; until the next alarm otherwise (never on the virtual
    /// clock, which jumps instead).
    fn poll_timeout(&self) -> Option<Duration> {
        let q = self.inner.queue.borrow();
        if q.fifo_len() > 0 {
            return Some(Duration::ZERO);
        }
        let wait = match q.next_time() {
            Some(_) if self.inner.clock.is_virtual() => 0.0,
            Some(t) => (t - self.inner.clock.now()).clamp(0.0, MAX_WAIT),
            None => MAX_WAIT,
        };
        Some(Duration::from_secs_f64(wait))
    }

    /// Nothing to do right now: move virtual time to the next alarm.
    fn advance_virtual_clock(&self) {
        let q = self.inner.queue.borrow();
        if q.fifo_len() > 0 || self.inner.io.borrow().has_pending() {
            return;
        }
        if let Some(t) = q.next_time() {
            self.inner.clock.advance_to(t);
        }
    }

    /// Read the clock for this timeslice's stamp, unless nothing can tell.
    ///
    /// The stamp orders this timeslice's posts against alarms and decides
    /// which alarms are due. With no alarm pending it decides nothing now,
    /// and a stamp a few timeslices old orders posts exactly as a fresh
    /// one would against any alarm set for now or later. So a busy loop of
    /// posts with no alarms (the common server case, and `yield`) reuses
    /// the stamp for up to `STAMP_REUSE` timeslices: a clock read costs
    /// about a fifth of a yield. It is read fresh whenever alarms are
    /// pending, after a poll that may have slept, on the virtual clock, and
    /// when the first alarm is set (`stamp_for_first_alarm`).
    fn refresh_stamp(&self, poll_may_have_slept: bool) {
        let age = self.inner.stamp_age.get();
        let fresh = poll_may_have_slept
            || age >= STAMP_REUSE
            || self.inner.clock.is_virtual()
            || !self.inner.queue.borrow().timers.is_empty();
        if fresh {
            self.read_stamp();
        } else {
            self.inner.stamp_age.set(age + 1);
        }
    }

    /// An alarm is about to join an empty timer queue: make the stamp
    /// fresh, so posts made after it in this timeslice are ordered against
    /// it by the real time (an alarm set in the past runs before them).
    pub(super) fn stamp_for_first_alarm(&self) {
        if self.inner.in_timeslice.get() && self.inner.stamp_age.get() != 0 {
            self.read_stamp();
        }
    }

    fn read_stamp(&self) {
        self.inner.stamp.set(self.inner.clock.now());
        self.inner.stamp_age.set(0);
    }

    /// The timestamp a post gets: the time the current batch started (or
    /// now, outside the loop). Posts made during a batch never run in it:
    /// the batch stops at the sequence number it started with.
    pub(super) fn fifo_stamp(&self) -> f64 {
        if self.inner.in_timeslice.get() {
            self.inner.stamp.get()
        } else {
            self.inner.clock.now()
        }
    }

    /// Dispatch every watcher whose descriptor is ready: reads first, then
    /// writes, then expedites.
    ///
    /// The two lists it needs are kept between timeslices (a timeslice is
    /// never entered from inside another), so this allocates nothing but
    /// each event's arguments.
    fn dispatch_io(&self) {
        let mut ready = self.inner.ready_scratch.take();
        self.inner.io.borrow_mut().take_ready(&mut ready);
        if !ready.is_empty() {
            let mut watches = self.inner.watch_scratch.take();
            for mode in Mode::ALL {
                let bit = 1u8 << mode as u8;
                for &(fd, bits) in &ready {
                    if bits & bit == 0 {
                        continue;
                    }
                    self.inner.io.borrow().watches_into(fd, mode, &mut watches);
                    for w in watches.drain(..) {
                        // An earlier handler this round may have removed it.
                        if !self.inner.io.borrow().is_live(fd, mode, w.session) {
                            continue;
                        }
                        let mut args = (fd, mode as i64).into_args();
                        args.extend(w.args.into_vec());
                        let ev = Event::new(EventKind::Select, w.session, w.session, w.event, args);
                        let _ = self.deliver(ev, None, IfBusy::Defer);
                    }
                }
            }
            self.inner.watch_scratch.set(watches);
        }
        self.inner.ready_scratch.set(ready);
    }

    fn dispatch_queued(&self, ev: Event) {
        self.inner
            .sessions
            .borrow_mut()
            .release_event(ev.dest, ev.source);
        match ev.kind {
            EventKind::GcMarker => {}
            EventKind::Signal => self.dispatch_signal(ev),
            _ => {
                if let Err(e) = self.deliver(ev, None, IfBusy::Defer) {
                    log::trace!(target: "poe::events", "queued event not delivered: {e}");
                }
            }
        }
    }
}
