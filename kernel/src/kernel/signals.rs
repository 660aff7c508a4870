//! Signals inside the kernel (§10): watchers, `signal`, `sig_handled`, and
//! the dispatch of a signal down a session tree. IDLE and ZOMBIE, which end
//! sessions kept alive only by aliases, come from here too.

use super::dispatch::IfBusy;
use super::Kernel;
use crate::error::Result;
use crate::event::{Event, EventKind};
use crate::fxhash::FxHashMap;
use crate::name::EventName;
use crate::os_signals;
use crate::session::{Dest, SessionId};
use crate::value::{Args, IntoArgs, Value};
use std::panic::Location;

/// How a signal affects the sessions it reaches.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SignalClass {
    /// Nothing is stopped (USR1, CHLD, PIPE, any made-up name...).
    Benign,
    /// Sessions it reaches stop unless some watcher calls `sig_handled`
    /// (INT, TERM, QUIT, HUP, KILL, IDLE, DIE).
    Terminal,
    /// Sessions it reaches stop regardless (ZOMBIE, UIDESTROY).
    Nonmaskable,
}

impl SignalClass {
    /// The class of a signal name (without the `SIG` prefix).
    pub fn of(signal: &str) -> SignalClass {
        match signal {
            "INT" | "TERM" | "QUIT" | "HUP" | "KILL" | "IDLE" | "DIE" => SignalClass::Terminal,
            "ZOMBIE" | "UIDESTROY" => SignalClass::Nonmaskable,
            _ => SignalClass::Benign,
        }
    }
}

/// A session's watch on a signal (`sig`) or a child process
/// (`sig_child`): the event it gets, and the arguments added to it.
#[derive(Clone)]
pub(crate) struct Watch {
    pub(crate) session: SessionId,
    pub(crate) event: EventName,
    pub(crate) args: Args,
}

/// Signal watchers by signal name, in registration order.
#[derive(Default)]
pub(crate) struct SignalTable {
    watchers: FxHashMap<String, Vec<Watch>>,
    /// Set by `sig_handled` during a signal dispatch.
    handled: bool,
}

impl SignalTable {
    fn watcher(&self, signal: &str, session: SessionId) -> Option<Watch> {
        self.watchers
            .get(signal)?
            .iter()
            .find(|w| w.session == session)
            .cloned()
    }

    /// Drop every watcher of a session that is being freed.
    pub(crate) fn remove_session(&mut self, session: SessionId, signals: &[String]) {
        for sig in signals {
            if let Some(list) = self.watchers.get_mut(sig) {
                list.retain(|w| w.session != session);
                if list.is_empty() {
                    self.watchers.remove(sig);
                }
            }
        }
    }

    /// Names of signals someone watches.
    pub(crate) fn watched(&self) -> Vec<String> {
        self.watchers.keys().cloned().collect()
    }

    /// The OS signals among the watched names (for the OS-signal layer).
    pub(crate) fn watched_os(&self) -> impl Iterator<Item = libc::c_int> + '_ {
        self.watchers.keys().filter_map(|n| os_signals::number(n))
    }

    pub(crate) fn is_watched(&self, signal: &str) -> bool {
        self.watchers.contains_key(signal)
    }
}

const IDLE: &str = "IDLE";
const DIE: &str = "DIE";
const ZOMBIE: &str = "ZOMBIE";

impl Kernel {
    /// Watch a signal (POE's `sig`): when `signal` reaches the running
    /// session, `event` is called with `ARG0` = the signal name, then the
    /// signal's arguments, then `args`. Replaces an earlier watcher of the
    /// same signal. Watching a signal does not keep a session alive.
    pub fn sig(
        &self,
        signal: &str,
        event: impl Into<EventName>,
        args: impl IntoArgs,
    ) -> Result<()> {
        let me = self.current("sig")?;
        let watch = Watch {
            session: me,
            event: event.into(),
            args: args.into_args(),
        };
        log::trace!(target: "poe::signals", "session {me} watches {signal} -> '{}'", watch.event);
        {
            let mut table = self.inner.signals.borrow_mut();
            let list = table.watchers.entry(signal.to_owned()).or_default();
            match list.iter_mut().find(|w| w.session == me) {
                Some(w) => *w = watch,
                None => list.push(watch),
            }
        }
        if let Some(slot) = self.inner.sessions.borrow_mut().get_mut(me) {
            if !slot.signals.iter().any(|s| s == signal) {
                slot.signals.push(signal.to_owned());
            }
        }
        if os_signals::number(signal).is_some() {
            self.sync_os_signals();
        }
        Ok(())
    }

    /// Stop watching a signal (POE's `sig(SIG)`).
    pub fn sig_remove(&self, signal: &str) -> Result<()> {
        let me = self.current("sig_remove")?;
        self.inner
            .signals
            .borrow_mut()
            .remove_session(me, &[signal.to_owned()]);
        if let Some(slot) = self.inner.sessions.borrow_mut().get_mut(me) {
            slot.signals.retain(|s| s != signal);
        }
        if os_signals::number(signal).is_some() {
            self.sync_os_signals();
        }
        Ok(())
    }

    /// Mark the signal being dispatched as handled (POE's `sig_handled`):
    /// a terminal signal then stops nobody. One call by any watcher counts
    /// for the whole dispatch.
    pub fn sig_handled(&self) {
        self.inner.signals.borrow_mut().handled = true;
    }

    /// Send a signal to a session and its descendants (to every session
    /// when sent to the kernel). Queued like a post (POE's `signal`).
    #[track_caller]
    pub fn signal(&self, dest: impl Into<Dest>, signal: &str, args: impl IntoArgs) -> Result<()> {
        let dest = dest.into();
        let target = self.resolve_for(format_args!("signal {signal} to"), &dest)?;
        let mut all = Args::new();
        all.push(Value::from(signal));
        all.extend(args.into_args().into_vec());
        let ev = self.sent_event(
            EventKind::Signal,
            target,
            "_signal".into(),
            all,
            Location::caller(),
        );
        self.enqueue(ev);
        Ok(())
    }

    /// Dispatch a queued `_signal` (§10.3): every watcher from the deepest
    /// descendant up to the target, then the stops its class calls for.
    pub(super) fn dispatch_signal(&self, ev: Event) {
        let target = ev.dest;
        let mut args = ev.args.into_vec();
        let signal = args.first().map(|v| v.to_string()).unwrap_or_default();
        if !target.is_kernel() && !self.inner.sessions.borrow().contains(target) {
            return;
        }
        // Deepest first, the target last; DIE goes on up to the top-level
        // ancestor, nearest first (§7).
        let mut touched = self.inner.sessions.borrow().breadth_first(target);
        touched.reverse();
        if signal == DIE && !target.is_kernel() {
            touched.extend(self.inner.sessions.borrow().ancestors(target));
        }
        log::trace!(
            target: "poe::signals",
            "signal {signal} to {target} reaches {} sessions",
            touched.len()
        );
        let rest: Vec<Value> = if args.is_empty() {
            Vec::new()
        } else {
            args.split_off(1)
        };
        self.inner.signals.borrow_mut().handled = false;
        let die = if signal == DIE {
            rest.first()
                .map(|details| (self.die_begins(details), details.clone()))
        } else {
            None
        };
        for &sid in &touched {
            let Some(watch) = self.inner.signals.borrow().watcher(&signal, sid) else {
                continue;
            };
            let mut wargs = Args::new();
            wargs.push(Value::from(signal.as_str()));
            wargs.extend(rest.iter().cloned());
            wargs.extend(watch.args.into_vec());
            let ev = Event::new(
                EventKind::SignalWatcher,
                sid,
                SessionId::KERNEL,
                watch.event,
                wargs,
            );
            let _ = self.deliver(ev, None, IfBusy::Defer);
        }
        let handled = std::mem::take(&mut self.inner.signals.borrow_mut().handled);
        let stops = match SignalClass::of(&signal) {
            SignalClass::Benign => false,
            SignalClass::Terminal => !handled,
            SignalClass::Nonmaskable => true,
        };
        if stops {
            log::debug!(target: "poe::signals", "{signal} stops {} sessions", touched.len());
            for &sid in &touched {
                self.stop_session(sid, None);
            }
        }
        if let Some((id, details)) = die {
            self.die_ends(id, &details, handled);
        }
        // The kernel's own IDLE watcher runs last: if a watcher handled IDLE
        // but gave the kernel nothing to do, everything left is a zombie.
        if signal == IDLE && target.is_kernel() && handled && self.nothing_to_do() {
            log::debug!(target: "poe::signals", "IDLE handled but nothing queued: ZOMBIE");
            let _ = self.signal(SessionId::KERNEL, ZOMBIE, ());
        }
    }

    /// No events, no watchers: nothing could ever wake a session.
    fn nothing_to_do(&self) -> bool {
        self.inner.queue.borrow().is_empty() && self.inner.io.borrow().watch_count() == 0
    }

    /// §6.3: idle when sessions exist but nothing can happen — no events,
    /// no descriptors, no extra references, no child processes awaited.
    pub(super) fn is_idle(&self) -> bool {
        if !self.nothing_to_do() {
            return false;
        }
        let reg = self.inner.sessions.borrow();
        reg.len() > 0 && reg.extra_ref_total == 0 && reg.pid_total == 0
    }

    /// Queue IDLE to the kernel (broadcast to every session).
    pub(super) fn signal_idle(&self) {
        log::trace!(target: "poe::signals", "kernel idle: signalling IDLE");
        let _ = self.signal(SessionId::KERNEL, IDLE, ());
    }
}
