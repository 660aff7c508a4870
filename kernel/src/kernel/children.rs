//! Child processes (`sig_child`) and OS signals reaching the kernel.
//!
//! OS signals come through the self-pipe of `os_signals`; at the next
//! timeslice each becomes a POE signal to the kernel (a broadcast). SIGCHLD
//! is different: it means "reap", and the reaped children become
//! `sig_child` events and `CHLD` signals, as in POE (§10.5).

use super::signals::Watch;
use super::Kernel;
use crate::error::{KernelError, Result};
use crate::event::{Event, EventKind};
use crate::name::EventName;
use crate::os_signals::{self, SignalPipe};
use crate::session::SessionId;
use crate::value::{Args, IntoArgs, Value};
use std::collections::{BTreeSet, HashMap};

/// The children sessions wait for, by PID.
#[derive(Default)]
pub(crate) struct ChildTable {
    watches: HashMap<u32, Watch>,
}

/// What `waitpid(pid, WNOHANG)` says about a process.
enum ChildState {
    Running,
    /// Reaped now, with its raw wait status.
    Exited(i32),
    /// Not a child of this process (or already reaped elsewhere).
    NotOurs,
}

fn try_wait(pid: libc::pid_t) -> ChildState {
    let mut status = 0;
    // SAFETY: waitpid writes the status into a valid local.
    let r = unsafe { libc::waitpid(pid, &mut status, libc::WNOHANG) };
    match r {
        0 => ChildState::Running,
        r if r > 0 => ChildState::Exited(status),
        _ => ChildState::NotOurs,
    }
}

impl Kernel {
    /// Watch a child process (POE's `sig_child`): when `pid` exits, the
    /// running session gets `event` with `("CHLD", pid, wait_status,
    /// args...)`, sent by the kernel. The watch is one-shot, and holds the
    /// session alive (and the kernel busy) until the child is reaped. A
    /// PID that is not a child of this process is not watched (POE's
    /// watch would never fire and does not hold the session).
    pub fn sig_child(
        &self,
        pid: u32,
        event: impl Into<EventName>,
        args: impl IntoArgs,
    ) -> Result<()> {
        let me = self.current("sig_child")?;
        let watch = Watch {
            session: me,
            event: event.into(),
            args: args.into_args(),
        };
        let Ok(raw) = libc::pid_t::try_from(pid) else {
            return Err(KernelError::InvalidArgument("pid out of range"));
        };
        log::trace!(target: "poe::signals", "session {me} waits for child {pid}");
        let replaced = self.inner.children.borrow_mut().watches.insert(pid, watch);
        match replaced {
            // The session watches its child again: its hold stays.
            Some(old) if old.session == me => {}
            old => {
                if let Some(old) = old {
                    self.release_pid(old.session, pid);
                }
                let mut reg = self.inner.sessions.borrow_mut();
                if let Some(slot) = reg.get_mut(me) {
                    slot.pids.push(pid);
                    reg.pid_total += 1;
                }
            }
        }
        // The SIGCHLD handler goes in before the child is checked: a child
        // that exits after the check then still wakes the loop.
        self.sync_os_signals();
        match try_wait(raw) {
            ChildState::Running => {}
            ChildState::NotOurs => {
                log::debug!(target: "poe::signals", "sig_child({pid}): not a child of this process");
                self.take_watch(pid);
                self.sync_os_signals();
            }
            ChildState::Exited(status) => {
                // Gone before the watch: report it at once.
                let watch = self.take_watch(pid);
                self.child_reaped(pid, status, watch);
                self.sync_os_signals();
            }
        }
        Ok(())
    }

    /// Stop waiting for `pid` (POE's `sig_child(PID)`).
    pub fn sig_child_remove(&self, pid: u32) -> Result<()> {
        let me = self.current("sig_child_remove")?;
        let removed = {
            let mut table = self.inner.children.borrow_mut();
            match table.watches.get(&pid) {
                Some(w) if w.session == me => table.watches.remove(&pid),
                _ => None,
            }
        };
        if removed.is_some() {
            self.release_pid(me, pid);
            self.sync_os_signals();
        }
        Ok(())
    }

    /// Remove `pid`'s watch, if any, and what it held of its session.
    fn take_watch(&self, pid: u32) -> Option<Watch> {
        let watch = self.inner.children.borrow_mut().watches.remove(&pid);
        if let Some(w) = &watch {
            self.release_pid(w.session, pid);
        }
        watch
    }

    fn release_pid(&self, session: SessionId, pid: u32) {
        let mut reg = self.inner.sessions.borrow_mut();
        if let Some(slot) = reg.get_mut(session) {
            let before = slot.pids.len();
            slot.pids.retain(|&p| p != pid);
            let released = before - slot.pids.len();
            reg.pid_total -= released;
            reg.check(session);
        }
    }

    /// A session is being freed: drop its child watches. The caller syncs
    /// the OS signal handlers (once, with the session's signals gone too).
    pub(super) fn forget_children(&self, pids: &[u32]) {
        let mut table = self.inner.children.borrow_mut();
        for pid in pids {
            table.watches.remove(pid);
        }
    }

    /// `pid` exited with `status`: its watcher's event first, then `CHLD`
    /// to sessions watching that signal (POE's order).
    fn child_reaped(&self, pid: u32, status: i32, watch: Option<Watch>) {
        log::debug!(target: "poe::signals", "child {pid} reaped, status {status}");
        if let Some(w) = watch {
            let mut args = Args::new();
            args.push(Value::from("CHLD"));
            args.push(Value::from(pid));
            args.push(Value::from(status));
            args.extend(w.args.into_vec());
            let ev = Event::new(EventKind::Post, w.session, SessionId::KERNEL, w.event, args);
            self.enqueue(ev);
        }
        if self.watches_signal("CHLD") {
            let _ = self.signal(SessionId::KERNEL, "CHLD", (pid, status));
        }
    }

    /// SIGCHLD arrived (or a watch began): reap what exited.
    fn reap_children(&self) {
        let pids: Vec<u32> = self
            .inner
            .children
            .borrow()
            .watches
            .keys()
            .copied()
            .collect();
        for pid in pids {
            if let ChildState::Exited(status) = try_wait(pid as libc::pid_t) {
                let watch = self.take_watch(pid);
                self.child_reaped(pid, status, watch);
            }
        }
        // Someone watches CHLD itself: reap every child, as POE does.
        if self.watches_signal("CHLD") {
            loop {
                let mut status = 0;
                // SAFETY: waitpid writes the status into a valid local.
                let pid = unsafe { libc::waitpid(-1, &mut status, libc::WNOHANG) };
                if pid <= 0 {
                    break;
                }
                // A watched child can exit between the loop above and this
                // one: it still gets its sig_child event.
                let watch = self.take_watch(pid as u32);
                self.child_reaped(pid as u32, status, watch);
            }
        }
        self.sync_os_signals();
    }

    fn watches_signal(&self, name: &str) -> bool {
        self.inner.signals.borrow().is_watched(name)
    }

    /// Install OS handlers for what sessions watch now (and SIGCHLD while
    /// children are awaited); drop the self-pipe when nothing needs it.
    pub(super) fn sync_os_signals(&self) {
        let mut wanted: BTreeSet<libc::c_int> = self.inner.signals.borrow().watched_os().collect();
        if !self.inner.children.borrow().watches.is_empty() {
            wanted.insert(libc::SIGCHLD);
        }
        let mut pipe = self.inner.signal_pipe.borrow_mut();
        if wanted.is_empty() {
            if pipe.take().is_some() {
                let _ = self.inner.io.borrow_mut().set_signal_fd(None);
            }
            return;
        }
        if pipe.is_none() {
            match SignalPipe::new() {
                Ok(p) => {
                    if let Err(e) = self.inner.io.borrow_mut().set_signal_fd(Some(p.read_fd())) {
                        log::warn!(target: "poe::signals", "cannot poll the signal pipe: {e}");
                        return;
                    }
                    *pipe = Some(p);
                }
                Err(e) => {
                    log::warn!(target: "poe::signals", "OS signals unavailable: {e}");
                    return;
                }
            }
        }
        if let Some(p) = pipe.as_mut() {
            p.set_watched(&wanted);
        }
    }

    /// The self-pipe woke the loop: turn what arrived into POE signals.
    pub(super) fn os_signals_arrived(&self) {
        let arrived = match self.inner.signal_pipe.borrow().as_ref() {
            Some(p) => p.drain(),
            None => return,
        };
        // A watch may have begun while SIGCHLD was not yet handled.
        let chld =
            arrived.contains(&libc::SIGCHLD) || !self.inner.children.borrow().watches.is_empty();
        for signo in arrived {
            let Some(name) = os_signals::name(signo) else {
                continue;
            };
            if signo != libc::SIGCHLD {
                log::debug!(target: "poe::signals", "OS signal {name}");
                let _ = self.signal(SessionId::KERNEL, name, ());
            }
        }
        if chld {
            self.reap_children();
        }
    }
}
