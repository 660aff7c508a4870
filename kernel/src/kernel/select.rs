//! `select_*` (§11): named events when a file descriptor is ready.
//!
//! Watchers belong to the running session and hold it alive (one reference
//! per distinct descriptor, paused or not). The handler's arguments are
//! `ARG0` = the descriptor, `ARG1` = the mode (0 read, 1 write, 2
//! expedite), then the extra arguments given here.

use super::Kernel;
use crate::error::Result;
use crate::io::{Mode, Trigger, Watch};
use crate::name::EventName;
use crate::session::SessionId;
use crate::value::{Args, IntoArgs};
use std::os::fd::{AsRawFd, RawFd};

/// The POE call for a mode, for warnings.
fn op_name(mode: Mode) -> &'static str {
    match mode {
        Mode::Read => "select_read",
        Mode::Write => "select_write",
        Mode::Expedite => "select_expedite",
    }
}

impl Kernel {
    fn watch(
        &self,
        fd: RawFd,
        mode: Mode,
        event: EventName,
        args: Args,
        trigger: Trigger,
    ) -> Result<()> {
        let me = self.current(op_name(mode))?;
        self.watch_for(me, fd, mode, event, args, trigger)
    }

    fn watch_for(
        &self,
        me: SessionId,
        fd: RawFd,
        mode: Mode,
        event: EventName,
        args: Args,
        trigger: Trigger,
    ) -> Result<()> {
        if !self.inner.sessions.borrow().contains(me) {
            return Err(crate::KernelError::NoSuchSession(me.into()));
        }
        log::trace!(target: "poe::select", "session {me} watches fd {fd} {mode:?} -> '{event}' ({trigger:?})");
        let watch = Watch {
            session: me,
            event,
            args,
            trigger,
        };
        let change = self.inner.io.borrow_mut().add(fd, mode, watch)?;
        if change.fd_refcount_changed {
            if let Some(slot) = self.inner.sessions.borrow_mut().get_mut(me) {
                slot.fds.push(fd);
            }
        }
        Ok(())
    }

    fn unwatch(&self, fd: RawFd, mode: Mode) -> Result<()> {
        let me = self.current(op_name(mode))?;
        self.unwatch_for(me, fd, mode);
        Ok(())
    }

    fn unwatch_for(&self, session: SessionId, fd: RawFd, mode: Mode) {
        let change = self.inner.io.borrow_mut().remove(fd, mode, session);
        log::trace!(target: "poe::select", "session {session} stops watching fd {fd} {mode:?}");
        if change.is_some_and(|c| c.fd_refcount_changed) {
            let mut reg = self.inner.sessions.borrow_mut();
            if let Some(slot) = reg.get_mut(session) {
                slot.fds.retain(|&f| f != fd);
            }
            reg.check(session);
        }
    }

    /// Watch `fd` for readability (POE's `select_read`): `event` fires every
    /// timeslice while it stays readable. Watching again from the same
    /// session replaces the event and arguments.
    ///
    /// ```
    /// use std::io::Write;
    /// use std::os::unix::net::UnixStream;
    /// use poe_kernel::{Kernel, Session};
    ///
    /// let (reader, mut writer) = UnixStream::pair().unwrap();
    /// writer.write_all(b"ping").unwrap();
    /// let kernel = Kernel::new().unwrap();
    /// kernel.create(Session::new(reader)
    ///     .state("_start", |ctx| ctx.select_read(&*ctx.heap, "readable", ()).unwrap())
    ///     .state("readable", |ctx| {
    ///         let mut buf = [0u8; 16];
    ///         let n = std::io::Read::read(ctx.heap, &mut buf).unwrap();
    ///         assert_eq!(&buf[..n], b"ping");
    ///         ctx.select_read_remove(&*ctx.heap).unwrap();
    ///     })).unwrap();
    /// kernel.run();
    /// ```
    pub fn select_read(
        &self,
        fd: &impl AsRawFd,
        event: impl Into<EventName>,
        args: impl IntoArgs,
    ) -> Result<()> {
        self.watch(
            fd.as_raw_fd(),
            Mode::Read,
            event.into(),
            args.into_args(),
            Trigger::Level,
        )
    }

    /// Watch `fd` for writability (POE's `select_write`).
    pub fn select_write(
        &self,
        fd: &impl AsRawFd,
        event: impl Into<EventName>,
        args: impl IntoArgs,
    ) -> Result<()> {
        self.watch(
            fd.as_raw_fd(),
            Mode::Write,
            event.into(),
            args.into_args(),
            Trigger::Level,
        )
    }

    /// Watch `fd` for exceptional conditions, e.g. TCP urgent data (POE's
    /// `select_expedite`).
    pub fn select_expedite(
        &self,
        fd: &impl AsRawFd,
        event: impl Into<EventName>,
        args: impl IntoArgs,
    ) -> Result<()> {
        self.watch(
            fd.as_raw_fd(),
            Mode::Expedite,
            event.into(),
            args.into_args(),
            Trigger::Level,
        )
    }

    /// Stop watching `fd` for reading (POE's `select_read($fh)`).
    pub fn select_read_remove(&self, fd: &impl AsRawFd) -> Result<()> {
        self.unwatch(fd.as_raw_fd(), Mode::Read)
    }

    /// Stop watching `fd` for writing (POE's `select_write($fh)`).
    pub fn select_write_remove(&self, fd: &impl AsRawFd) -> Result<()> {
        self.unwatch(fd.as_raw_fd(), Mode::Write)
    }

    /// Stop watching `fd` for exceptions (POE's `select_expedite($fh)`).
    pub fn select_expedite_remove(&self, fd: &impl AsRawFd) -> Result<()> {
        self.unwatch(fd.as_raw_fd(), Mode::Expedite)
    }

    /// Set all three modes at once (POE's `select`): `Some(event)` watches
    /// that mode, `None` stops watching it. The same `args` go to each.
    pub fn select(
        &self,
        fd: &impl AsRawFd,
        read: Option<EventName>,
        write: Option<EventName>,
        expedite: Option<EventName>,
        args: impl IntoArgs,
    ) -> Result<()> {
        let fd = fd.as_raw_fd();
        let args = args.into_args();
        for (mode, event) in [
            (Mode::Read, read),
            (Mode::Write, write),
            (Mode::Expedite, expedite),
        ] {
            match event {
                Some(e) => self.watch(fd, mode, e, args.clone(), Trigger::Level)?,
                None => self.unwatch(fd, mode)?,
            }
        }
        Ok(())
    }

    /// Watch `fd` in `mode` with an explicit [`Trigger`]. `Trigger::Edge` is
    /// for handlers that read or write until `WouldBlock` (wheels): they
    /// get one event per readiness edge and no extra syscalls.
    pub fn select_watch(
        &self,
        fd: &impl AsRawFd,
        mode: Mode,
        trigger: Trigger,
        event: impl Into<EventName>,
        args: impl IntoArgs,
    ) -> Result<()> {
        self.watch(
            fd.as_raw_fd(),
            mode,
            event.into(),
            args.into_args(),
            trigger,
        )
    }

    /// Like [`Kernel::select_watch`], for `session` whichever session is
    /// running: for owners of a watch (wheels) whose methods may be called
    /// from other sessions' handlers.
    pub fn select_watch_for(
        &self,
        session: SessionId,
        fd: &impl AsRawFd,
        mode: Mode,
        trigger: Trigger,
        event: impl Into<EventName>,
        args: impl IntoArgs,
    ) -> Result<()> {
        self.watch_for(
            session,
            fd.as_raw_fd(),
            mode,
            event.into(),
            args.into_args(),
            trigger,
        )
    }

    /// Stop the running session's watch on `fd` in `mode`.
    pub fn select_remove(&self, fd: &impl AsRawFd, mode: Mode) -> Result<()> {
        self.unwatch(fd.as_raw_fd(), mode)
    }

    /// Remove `session`'s watch on `fd` in `mode`, whichever session is
    /// running. For owners of a watch that may be dropped outside their
    /// session's handlers (wheels). A missing watch is not an error.
    pub fn select_remove_for(&self, session: SessionId, fd: &impl AsRawFd, mode: Mode) {
        self.unwatch_for(session, fd.as_raw_fd(), mode);
    }

    /// An edge-triggered handler stopped before `WouldBlock`: dispatch it
    /// again in the next timeslice.
    pub fn select_retrigger(&self, fd: &impl AsRawFd, mode: Mode) {
        self.inner.io.borrow_mut().retrigger(fd.as_raw_fd(), mode);
    }

    /// True once the poller has reported the peer's end of `fd` closed (or
    /// an error on it). An edge-triggered reader that got a short read may
    /// stop reading — unless this says end of file is waiting behind the
    /// data, with no new edge to announce it.
    pub fn select_peer_closed(&self, fd: &impl AsRawFd) -> bool {
        self.inner.io.borrow().peer_closed(fd.as_raw_fd())
    }

    /// Pause `mode` on `fd` for every session watching it, without
    /// unregistering or releasing anything. Returns whether anything
    /// watches it in that mode (POE's `select_pause_*` returns 1 or 0).
    pub fn select_pause(&self, fd: &impl AsRawFd, mode: Mode) -> bool {
        let fd = fd.as_raw_fd();
        log::trace!(target: "poe::select", "fd {fd} {mode:?} paused");
        self.inner.io.borrow_mut().set_paused(fd, mode, true)
    }

    /// Resume a paused mode (POE's `select_resume_*`).
    pub fn select_resume(&self, fd: &impl AsRawFd, mode: Mode) -> bool {
        let fd = fd.as_raw_fd();
        log::trace!(target: "poe::select", "fd {fd} {mode:?} resumed");
        self.inner.io.borrow_mut().set_paused(fd, mode, false)
    }

    /// POE's `select_pause_read`.
    pub fn select_pause_read(&self, fd: &impl AsRawFd) -> bool {
        self.select_pause(fd, Mode::Read)
    }

    /// POE's `select_resume_read`.
    pub fn select_resume_read(&self, fd: &impl AsRawFd) -> bool {
        self.select_resume(fd, Mode::Read)
    }

    /// POE's `select_pause_write`.
    pub fn select_pause_write(&self, fd: &impl AsRawFd) -> bool {
        self.select_pause(fd, Mode::Write)
    }

    /// POE's `select_resume_write`.
    pub fn select_resume_write(&self, fd: &impl AsRawFd) -> bool {
        self.select_resume(fd, Mode::Write)
    }
}
