//! Introspection (what POE::API::Peek offers): who is alive, what holds
//! them, how much work the kernel did.

use super::Kernel;
use crate::io::Mode;
use crate::session::{Dest, SessionId};
use std::os::fd::RawFd;

/// A snapshot of one session.
#[derive(Clone, Debug, PartialEq)]
pub struct SessionInfo {
    /// Its ID.
    pub id: SessionId,
    /// Its aliases, sorted.
    pub aliases: Vec<String>,
    /// Its parent (the kernel for top-level sessions).
    pub parent: SessionId,
    /// Its children, in ID order.
    pub children: Vec<SessionId>,
    /// The Rust type of its heap.
    pub heap_type: &'static str,
    /// Posted events (and signals) queued for it.
    pub pending_events: usize,
    /// Alarms and delays pending for it.
    pub pending_alarms: usize,
    /// Descriptors it watches, with the modes.
    pub watched_fds: Vec<(RawFd, Vec<Mode>)>,
    /// Its `refcount_increment` tags and counts.
    pub extra_refs: Vec<(String, u32)>,
    /// Signals it watches.
    pub signals: Vec<String>,
    /// Its state names, sorted.
    pub states: Vec<String>,
}

impl Kernel {
    /// How many sessions exist.
    pub fn session_count(&self) -> usize {
        self.inner.sessions.borrow().len()
    }

    /// Every session, in ID order.
    pub fn sessions(&self) -> Vec<SessionInfo> {
        let ids = self.inner.sessions.borrow().ids();
        ids.into_iter()
            .filter_map(|id| self.session_info(id))
            .collect()
    }

    /// One session, if it exists.
    pub fn session_info(&self, dest: impl Into<Dest>) -> Option<SessionInfo> {
        let id = self.resolve_session(&dest.into()).ok()?;
        let (mut info, fds, states) = {
            let reg = self.inner.sessions.borrow();
            let slot = reg.get(id)?;
            let mut aliases = slot.aliases.clone();
            aliases.sort();
            let info = SessionInfo {
                id,
                aliases,
                parent: slot.parent,
                children: slot.children.iter().copied().collect(),
                heap_type: slot.heap_type,
                pending_events: 0,
                pending_alarms: 0,
                watched_fds: Vec::new(),
                extra_refs: slot.extra_refs.clone(),
                signals: slot.signals.clone(),
                states: Vec::new(),
            };
            (info, slot.fds.clone(), slot.states.clone())
        };
        info.states = states.state_names();
        {
            let q = self.inner.queue.borrow();
            info.pending_alarms = q.timers.count_owned(id.get());
            info.pending_events = q.count_fifo(|e| e.dest == id);
        }
        let io = self.inner.io.borrow();
        info.watched_fds = fds
            .into_iter()
            .map(|fd| (fd, io.modes_of(fd, id)))
            .collect();
        Some(info)
    }

    /// Handlers run since the kernel was created (every dispatch, calls
    /// included).
    pub fn events_dispatched(&self) -> u64 {
        self.inner.dispatched.get()
    }

    /// Queued events and alarms (POE's `get_event_count`).
    pub fn get_event_count(&self) -> usize {
        self.inner.queue.borrow().len()
    }

    /// When the next queued item is due, in epoch seconds (POE's
    /// `get_next_event_time`).
    pub fn get_next_event_time(&self) -> Option<f64> {
        self.inner.queue.borrow().next_time()
    }

    /// Every descriptor being watched, by any session.
    pub fn watched_fds(&self) -> Vec<RawFd> {
        self.inner.io.borrow().watched_fds()
    }

    /// Every alias in use, with its session.
    pub fn aliases(&self) -> Vec<(String, SessionId)> {
        let reg = self.inner.sessions.borrow();
        let mut v: Vec<_> = reg.aliases.iter().map(|(a, s)| (a.clone(), *s)).collect();
        v.sort();
        v
    }

    /// Signals some session watches.
    pub fn watched_signals(&self) -> Vec<String> {
        let mut v = self.inner.signals.borrow().watched();
        v.sort();
        v
    }
}
