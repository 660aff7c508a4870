//! File-descriptor watchers: POE's `select_*` on top of mio.
//!
//! mio is edge-triggered; POE's select watchers are level-triggered (the
//! event repeats every timeslice while the descriptor stays ready). The
//! emulation: a descriptor reported ready and dispatched to a
//! [`Trigger::Level`] watcher is *carried* into the next timeslice, where
//! one `poll(2)` over every carried descriptor (one syscall per timeslice,
//! not per event) tells which are still ready. Those are dispatched again
//! without waiting; the rest wait for mio's next edge.
//!
//! [`Trigger::Edge`] watchers (wheels) promise to drain until `WouldBlock`,
//! so they are never carried and cost no extra syscall; one that stops
//! early asks for another round with [`IoState::retrigger`].

mod verify;

use crate::name::EventName;
use crate::session::SessionId;
use crate::value::Args;
use mio::unix::SourceFd;
use mio::{Events, Interest, Poll, Token};
use std::io;
use std::os::fd::RawFd;
use std::time::Duration;

/// Which readiness a watcher waits for. The numbers are POE's `ARG1`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Mode {
    /// Readable (POE's `select_read`).
    Read = 0,
    /// Writable (`select_write`).
    Write = 1,
    /// Exceptional / out-of-band data (`select_expedite`).
    Expedite = 2,
}

impl Mode {
    /// All three modes, in the order a timeslice dispatches them.
    pub const ALL: [Mode; 3] = [Mode::Read, Mode::Write, Mode::Expedite];

    fn bit(self) -> u8 {
        1 << self as u8
    }
}

/// How a watcher wants readiness reported.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub enum Trigger {
    /// POE's behaviour: the event repeats every timeslice while the
    /// descriptor stays ready.
    #[default]
    Level,
    /// Once per readiness edge: the handler must read or write until
    /// `WouldBlock`, or call `select_retrigger`. This is the wheels' fast
    /// path and costs no extra syscall.
    Edge,
}

/// One session's watch on one descriptor in one mode.
#[derive(Clone)]
pub(crate) struct Watch {
    pub session: SessionId,
    pub event: EventName,
    pub args: Args,
    pub trigger: Trigger,
}

#[derive(Default)]
struct ModeState {
    watches: Vec<Watch>,
    paused: bool,
}

#[derive(Default)]
struct FdEntry {
    modes: [ModeState; 3],
    /// What mio has registered for this descriptor.
    interest: Option<Interest>,
    /// epoll refused the descriptor (a regular file): poll(2) it every
    /// timeslice instead, as select(2) would report it always ready.
    unpollable: bool,
    /// Modes known ready, waiting for dispatch.
    ready: u8,
    /// Modes to confirm with poll(2) before the next dispatch.
    check: u8,
    /// In `IoState::pending`.
    listed: bool,
    /// The poller reported the peer's end closed, or an error: reading
    /// will find end of file or the error even if a read just came back
    /// short. Sticky: it stays true until the descriptor is unwatched.
    peer_closed: bool,
}

impl FdEntry {
    fn wanted_interest(&self) -> Option<Interest> {
        let mut want: Option<Interest> = None;
        let mut add = |i: Interest| want = Some(want.map_or(i, |w| w | i));
        if !self.modes[0].watches.is_empty() {
            add(Interest::READABLE);
        }
        if !self.modes[1].watches.is_empty() {
            add(Interest::WRITABLE);
        }
        if !self.modes[2].watches.is_empty() {
            add(Interest::PRIORITY);
        }
        want
    }

    fn is_empty(&self) -> bool {
        self.modes.iter().all(|m| m.watches.is_empty())
    }

    fn watched_by(&self, session: SessionId) -> bool {
        self.modes
            .iter()
            .any(|m| m.watches.iter().any(|w| w.session == session))
    }

    /// Modes that are watched, not paused, and (for `level_only`) have a
    /// level-triggered watcher.
    fn live_modes(&self, level_only: bool) -> u8 {
        let mut bits = 0;
        for mode in Mode::ALL {
            let m = &self.modes[mode as usize];
            let counts = if level_only {
                m.watches.iter().any(|w| w.trigger == Trigger::Level)
            } else {
                !m.watches.is_empty()
            };
            if counts && !m.paused {
                bits |= mode.bit();
            }
        }
        bits
    }
}

/// The outcome of adding or removing a watch, for reference counting.
pub(crate) struct WatchChange {
    /// The session watches this descriptor in some mode now and did not
    /// before (add), or no longer does (remove).
    pub fd_refcount_changed: bool,
}

/// The mio poller and every watched descriptor.
pub(crate) struct IoState {
    poll: Poll,
    events: Events,
    fds: Vec<Option<FdEntry>>,
    /// Descriptors with `ready` or `check` bits.
    pending: Vec<RawFd>,
    /// Descriptors epoll refused (regular files), checked every timeslice.
    unpollable: Vec<RawFd>,
    watch_total: usize,
    /// The OS-signal self-pipe's read end, polled with the rest.
    signal_fd: Option<RawFd>,
    /// The self-pipe has bytes to read.
    signal_ready: bool,
    /// Buffers kept between timeslices, so a timeslice with I/O allocates
    /// nothing: what one poll reported (descriptor, ready bits, peer
    /// closed), and the pending list's second half while `take_ready`
    /// swaps the two.
    reported: Vec<(RawFd, u8, bool)>,
    spare_pending: Vec<RawFd>,
}

/// The self-pipe's token: no descriptor number reaches it.
const SIGNAL_TOKEN: Token = Token(usize::MAX);

impl IoState {
    pub(crate) fn new() -> io::Result<IoState> {
        Ok(IoState {
            poll: Poll::new()?,
            events: Events::with_capacity(1024),
            fds: Vec::new(),
            pending: Vec::new(),
            unpollable: Vec::new(),
            watch_total: 0,
            signal_fd: None,
            signal_ready: false,
            reported: Vec::new(),
            spare_pending: Vec::new(),
        })
    }

    /// Poll the OS-signal self-pipe (`Some`), or stop (`None`).
    pub(crate) fn set_signal_fd(&mut self, fd: Option<RawFd>) -> io::Result<()> {
        if let Some(old) = self.signal_fd.take() {
            self.poll.registry().deregister(&mut SourceFd(&old))?;
        }
        if let Some(fd) = fd {
            self.poll
                .registry()
                .register(&mut SourceFd(&fd), SIGNAL_TOKEN, Interest::READABLE)?;
            self.signal_fd = Some(fd);
            // A signal may have come before the registration.
            self.signal_ready = true;
        }
        Ok(())
    }

    /// True once if the self-pipe became readable since the last call.
    pub(crate) fn take_signal_ready(&mut self) -> bool {
        std::mem::take(&mut self.signal_ready)
    }

    /// Watches of every session in every mode, paused ones included.
    pub(crate) fn watch_count(&self) -> usize {
        self.watch_total
    }

    fn entry(&self, fd: RawFd) -> Option<&FdEntry> {
        self.fds.get(usize::try_from(fd).ok()?)?.as_ref()
    }

    fn entry_mut(&mut self, fd: RawFd) -> Option<&mut FdEntry> {
        self.fds.get_mut(usize::try_from(fd).ok()?)?.as_mut()
    }

    fn mark(&mut self, fd: RawFd, ready: u8, check: u8) {
        let Some(e) = self.entry_mut(fd) else { return };
        e.ready |= ready;
        e.check |= check;
        if !e.listed {
            e.listed = true;
            self.pending.push(fd);
        }
    }

    /// Add (or replace) `watch` on `fd` in `mode`.
    ///
    /// Registering the same descriptor and mode again from the same session
    /// replaces the event name and arguments and resumes the watcher. (POE
    /// keeps the old name: see the porting guide.)
    pub(crate) fn add(&mut self, fd: RawFd, mode: Mode, watch: Watch) -> io::Result<WatchChange> {
        let idx = usize::try_from(fd).map_err(|_| io::Error::from_raw_os_error(libc::EBADF))?;
        if idx >= self.fds.len() {
            self.fds.resize_with(idx + 1, || None);
        }
        let first_time = self.fds[idx].is_none();
        if first_time {
            set_nonblocking(fd)?;
        }
        let entry = self.fds[idx].get_or_insert_with(FdEntry::default);
        let was_watching = entry.watched_by(watch.session);
        let trigger = watch.trigger;
        let session = watch.session;
        let state = &mut entry.modes[mode as usize];
        state.paused = false;
        match state
            .watches
            .iter_mut()
            .find(|w| w.session == watch.session)
        {
            Some(existing) => *existing = watch,
            None => {
                // Nearly every descriptor has one watcher per mode: room
                // for one, not the four a first push makes (about 70
                // bytes each, on every idle connection).
                if state.watches.capacity() == 0 {
                    state.watches.reserve_exact(1);
                }
                state.watches.push(watch);
                self.watch_total += 1;
            }
        }
        if let Err(e) = self.sync_interest(fd) {
            self.remove(fd, mode, session);
            return Err(e);
        }
        // A new edge-triggered watch on an already-ready descriptor gets
        // its first edge from the (re)registration; level watches get a
        // check so a ready descriptor is dispatched even without one.
        if trigger == Trigger::Level {
            self.mark(fd, 0, mode.bit());
        }
        Ok(WatchChange {
            fd_refcount_changed: !was_watching,
        })
    }

    /// Remove `session`'s watch on `fd` in `mode`. `None` if it had none.
    pub(crate) fn remove(
        &mut self,
        fd: RawFd,
        mode: Mode,
        session: SessionId,
    ) -> Option<WatchChange> {
        let entry = self.entry_mut(fd)?;
        let watches = &mut entry.modes[mode as usize].watches;
        let pos = watches.iter().position(|w| w.session == session)?;
        watches.remove(pos);
        let still = entry.watched_by(session);
        self.watch_total -= 1;
        if let Err(e) = self.sync_interest(fd) {
            log::warn!(target: "poe::select", "fd {fd}: updating interest failed: {e}");
        }
        Some(WatchChange {
            fd_refcount_changed: !still,
        })
    }

    /// Remove every watch of `session` on `fd`.
    pub(crate) fn remove_all(&mut self, fd: RawFd, session: SessionId) {
        for mode in Mode::ALL {
            self.remove(fd, mode, session);
        }
    }

    /// Bring mio's registration in line with the watched modes.
    fn sync_interest(&mut self, fd: RawFd) -> io::Result<()> {
        let Some(entry) = self.entry_mut(fd) else {
            return Ok(());
        };
        let want = entry.wanted_interest();
        let have = entry.interest;
        let unpollable = entry.unpollable;
        if want == have {
            return Ok(());
        }
        let registry = self.poll.registry();
        let token = Token(fd as usize);
        let result = match (have, want) {
            _ if unpollable => Ok(()),
            (None, Some(w)) => registry.register(&mut SourceFd(&fd), token, w),
            (Some(_), Some(w)) => registry.reregister(&mut SourceFd(&fd), token, w),
            (Some(_), None) => registry.deregister(&mut SourceFd(&fd)),
            (None, None) => Ok(()),
        };
        let entry = self.entry_mut(fd).expect("entry exists");
        match result {
            Ok(()) => entry.interest = want,
            // epoll refuses regular files; select(2) calls them always ready.
            Err(e) if e.raw_os_error() == Some(libc::EPERM) => {
                entry.unpollable = true;
                entry.interest = want;
                if !self.unpollable.contains(&fd) {
                    self.unpollable.push(fd);
                }
            }
            Err(e) => return Err(e),
        }
        if want.is_none() {
            let idx = fd as usize;
            self.fds[idx] = None;
            self.pending.retain(|&p| p != fd);
            self.unpollable.retain(|&p| p != fd);
        }
        Ok(())
    }

    /// Pause or resume a mode for every session watching it. Returns
    /// whether anything watches `fd` in that mode.
    pub(crate) fn set_paused(&mut self, fd: RawFd, mode: Mode, paused: bool) -> bool {
        let Some(entry) = self.entry_mut(fd) else {
            return false;
        };
        let state = &mut entry.modes[mode as usize];
        if state.watches.is_empty() {
            return false;
        }
        let was = state.paused;
        state.paused = paused;
        if was && !paused {
            // The edge may have come and gone while paused: look again.
            let edge = state.watches.iter().any(|w| w.trigger == Trigger::Edge);
            if edge {
                self.mark(fd, mode.bit(), 0);
            } else {
                self.mark(fd, 0, mode.bit());
            }
        }
        true
    }

    /// An edge watcher stopped before `WouldBlock`: dispatch it again next
    /// timeslice without waiting for a new edge.
    pub(crate) fn retrigger(&mut self, fd: RawFd, mode: Mode) {
        if self.entry(fd).is_some() {
            self.mark(fd, mode.bit(), 0);
        }
    }

    /// True if some descriptor is ready or must be checked: the loop must
    /// not sleep.
    pub(crate) fn has_pending(&self) -> bool {
        !self.pending.is_empty()
    }

    /// Confirm carried descriptors, then wait up to `timeout` for new
    /// readiness (not at all if something is already ready).
    #[inline]
    pub(crate) fn poll(&mut self, timeout: Option<Duration>) -> io::Result<()> {
        if self.watch_total == 0 && self.pending.is_empty() && self.signal_fd.is_none() {
            // Nothing to watch: this is only a wait for the next alarm.
            if let Some(t) = timeout.filter(|t| !t.is_zero()) {
                std::thread::sleep(t);
            }
            return Ok(());
        }
        self.poll_watched(timeout)
    }

    /// [`poll`](Self::poll) with descriptors to watch. Out of line, so a
    /// timeslice with none pays for none of it.
    #[inline(never)]
    fn poll_watched(&mut self, timeout: Option<Duration>) -> io::Result<()> {
        self.verify_carried()?;
        let timeout = if self.has_ready() || self.signal_ready {
            Some(Duration::ZERO)
        } else {
            timeout
        };
        match self.poll.poll(&mut self.events, timeout) {
            Ok(()) => {}
            Err(e) if e.kind() == io::ErrorKind::Interrupted => return Ok(()),
            Err(e) => return Err(e),
        }
        let mut reported = std::mem::take(&mut self.reported);
        for ev in self.events.iter() {
            if ev.token() == SIGNAL_TOKEN {
                self.signal_ready = true;
                continue;
            }
            let closed = ev.is_read_closed() || ev.is_error();
            let mut bits = 0;
            if ev.is_readable() || closed {
                bits |= Mode::Read.bit();
            }
            if ev.is_writable() || ev.is_write_closed() || ev.is_error() {
                bits |= Mode::Write.bit();
            }
            if ev.is_priority() {
                bits |= Mode::Expedite.bit();
            }
            reported.push((ev.token().0 as RawFd, bits, closed));
        }
        for &(fd, bits, closed) in &reported {
            self.mark(fd, bits, 0);
            if closed {
                if let Some(e) = self.entry_mut(fd) {
                    e.peer_closed = true;
                }
            }
        }
        reported.clear();
        self.reported = reported;
        Ok(())
    }

    fn has_ready(&self) -> bool {
        self.pending.iter().any(|&fd| {
            self.entry(fd)
                .is_some_and(|e| e.ready & e.live_modes(false) != 0)
        })
    }

    /// One poll(2) over every descriptor with check bits.
    fn verify_carried(&mut self) -> io::Result<()> {
        if self.pending.is_empty() && self.unpollable.is_empty() {
            return Ok(());
        }
        let mut to_check = Vec::new();
        for &fd in &self.pending {
            if let Some(e) = self.entry(fd) {
                let bits = e.check & e.live_modes(false);
                if bits != 0 {
                    to_check.push((fd, bits));
                }
            }
        }
        // Unpollable descriptors are checked every timeslice.
        for &fd in &self.unpollable {
            if let Some(e) = self.entry(fd).filter(|e| !e.listed) {
                let bits = e.live_modes(false);
                if bits != 0 {
                    to_check.push((fd, bits));
                }
            }
        }
        if to_check.is_empty() {
            return Ok(());
        }
        let results = verify::still_ready(&to_check)?;
        for ((fd, _), ready) in to_check.into_iter().zip(results) {
            if let Some(e) = self.entry_mut(fd) {
                e.check = 0;
                e.ready |= ready;
            }
            if ready != 0 {
                self.mark(fd, 0, 0);
            }
        }
        Ok(())
    }

    /// Take every descriptor ready for dispatch, with its ready modes, and
    /// forget the rest of the pending list. Level modes being dispatched
    /// are carried (checked again next timeslice).
    /// `out` is cleared first; the caller keeps it for the next timeslice.
    #[inline]
    pub(crate) fn take_ready(&mut self, out: &mut Vec<(RawFd, u8)>) {
        out.clear();
        if !self.pending.is_empty() {
            self.take_pending(out);
        }
    }

    #[inline(never)]
    fn take_pending(&mut self, out: &mut Vec<(RawFd, u8)>) {
        // Swap in the spare list: carried descriptors are marked into it
        // below, while this one is read.
        let spare = std::mem::take(&mut self.spare_pending);
        let mut pending = std::mem::replace(&mut self.pending, spare);
        for &fd in &pending {
            let Some(e) = self.entry_mut(fd) else {
                continue;
            };
            e.listed = false;
            let bits = e.ready & e.live_modes(false);
            e.ready = 0;
            e.check = 0;
            if bits != 0 {
                out.push((fd, bits));
            }
        }
        pending.clear();
        self.spare_pending = pending;
        for &(fd, bits) in out.iter() {
            let level = self.entry(fd).map_or(0, |e| e.live_modes(true));
            if bits & level != 0 {
                self.mark(fd, 0, bits & level);
            }
        }
    }

    /// The watches to dispatch for `fd` in `mode` (none while paused),
    /// copied into `out` (cleared first).
    pub(crate) fn watches_into(&self, fd: RawFd, mode: Mode, out: &mut Vec<Watch>) {
        out.clear();
        if let Some(e) = self.entry(fd) {
            let m = &e.modes[mode as usize];
            if !m.paused {
                out.extend(m.watches.iter().cloned());
            }
        }
    }

    /// True if `session` still watches `fd` in `mode` (unpaused).
    pub(crate) fn is_live(&self, fd: RawFd, mode: Mode, session: SessionId) -> bool {
        self.entry(fd).is_some_and(|e| {
            let m = &e.modes[mode as usize];
            !m.paused && m.watches.iter().any(|w| w.session == session)
        })
    }

    /// True once the poller has reported the peer's end of `fd` closed, or
    /// an error on it.
    pub(crate) fn peer_closed(&self, fd: RawFd) -> bool {
        self.entry(fd).is_some_and(|e| e.peer_closed)
    }

    /// Every watched descriptor (for introspection).
    pub(crate) fn watched_fds(&self) -> Vec<RawFd> {
        self.fds
            .iter()
            .enumerate()
            .filter(|(_, e)| e.as_ref().is_some_and(|e| !e.is_empty()))
            .map(|(fd, _)| fd as RawFd)
            .collect()
    }

    /// The modes `session` watches on `fd` (for introspection).
    pub(crate) fn modes_of(&self, fd: RawFd, session: SessionId) -> Vec<Mode> {
        let Some(e) = self.entry(fd) else {
            return Vec::new();
        };
        Mode::ALL
            .into_iter()
            .filter(|&m| {
                e.modes[m as usize]
                    .watches
                    .iter()
                    .any(|w| w.session == session)
            })
            .collect()
    }
}

fn set_nonblocking(fd: RawFd) -> io::Result<()> {
    // SAFETY: fcntl on a caller-supplied descriptor; an invalid one yields
    // EBADF, which we report. No memory is passed.
    let flags = unsafe { libc::fcntl(fd, libc::F_GETFL) };
    if flags < 0 {
        return Err(io::Error::last_os_error());
    }
    if flags & libc::O_NONBLOCK == 0 {
        // SAFETY: as above; only sets a flag on the descriptor.
        let rc = unsafe { libc::fcntl(fd, libc::F_SETFL, flags | libc::O_NONBLOCK) };
        if rc < 0 {
            return Err(io::Error::last_os_error());
        }
    }
    Ok(())
}
