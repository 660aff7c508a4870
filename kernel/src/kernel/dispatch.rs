//! Delivering one event to one session's handler.
//!
//! The heap is moved out of its slot for the length of the handler and put
//! back afterwards (by a guard, so a panicking handler leaves the kernel
//! consistent). A dispatch that finds the slot empty has found a heap in
//! use further up the call stack: a `call` then fails with `HeapBusy`;
//! a lifecycle or select event is kept and delivered the moment the heap
//! comes back.

use super::panics::{self, DieInfo};
use super::Kernel;
use crate::error::{KernelError, Result};
use crate::event::{Event, EventKind};
use crate::name::EventName;
use crate::session::body::{Body, Frame};
use crate::session::SessionId;
use crate::value::{Args, IntoArgs, Value};
use std::panic::{catch_unwind, AssertUnwindSafe, Location};

/// What to do when the destination's heap is in use up the stack.
#[derive(Clone, Copy, PartialEq, Eq)]
pub(crate) enum IfBusy {
    /// Keep the event and deliver it when the heap comes back.
    Defer,
    /// Fail with `HeapBusy` (synchronous calls need an answer now).
    Fail,
}

/// Restores the active session and puts the heap back: [`Restore::restore`]
/// on the normal path, `Drop` when a handler panics.
struct Restore<'k> {
    kernel: &'k Kernel,
    session: SessionId,
    body: Option<Box<dyn Body>>,
    prev_active: SessionId,
    prev_event: Option<EventName>,
}

impl Restore<'_> {
    /// Put everything back. Returns true if events or a stop waited for
    /// this heap while it was out. Dropping the guard afterwards does
    /// nothing more.
    fn restore(&mut self) -> bool {
        let inner = &self.kernel.inner;
        inner.active.set(self.prev_active);
        *inner.active_event.borrow_mut() = self.prev_event.take();
        let Some(body) = self.body.take() else {
            return false;
        };
        let (orphan, waiting) = {
            let mut reg = inner.sessions.borrow_mut();
            match reg.get_mut(self.session) {
                Some(slot) if slot.body.is_none() => {
                    slot.body = Some(body);
                    (None, !slot.deferred.is_empty() || slot.stop_pending)
                }
                // The session was freed while its handler ran.
                _ => (Some(body), false),
            }
        };
        // Dropped outside the borrow: the heap's destructors (wheels) call
        // back into the kernel.
        drop(orphan);
        waiting
    }
}

impl Drop for Restore<'_> {
    fn drop(&mut self) {
        if self.body.is_some() {
            self.restore();
        }
    }
}

impl Kernel {
    /// Run `ev` in its destination session.
    pub(crate) fn deliver(
        &self,
        mut ev: Event,
        frame: Option<&mut Frame<'_>>,
        if_busy: IfBusy,
    ) -> Result<Value> {
        let dest = ev.dest;
        if dest.is_kernel() {
            // POE ignores events addressed to the kernel other than signals.
            return Ok(Value::Undef);
        }
        if let Some(frame) = frame.filter(|f| f.session == dest) {
            return self.deliver_lent(ev, frame, if_busy);
        }
        let (body, trace, warn_unhandled) = {
            let mut reg = self.inner.sessions.borrow_mut();
            let Some(slot) = reg.get_mut(dest) else {
                let e = KernelError::NoSuchSession(dest.into());
                if if_busy == IfBusy::Fail {
                    log::warn!(target: "poe::usage", "call to session {dest}: {e}");
                }
                return Err(e);
            };
            match slot.body.take() {
                Some(body) => (body, slot.options.trace, slot.options.warn_unhandled),
                None if if_busy == IfBusy::Defer => {
                    log::trace!(
                        target: "poe::events",
                        "session {dest} busy: deferring '{}'",
                        ev.name
                    );
                    slot.deferred.push_back(ev);
                    return Ok(Value::Undef);
                }
                None => {
                    return Err(KernelError::HeapBusy {
                        session: dest,
                        event: ev.name,
                    })
                }
            }
        };
        let warn_unhandled = warn_unhandled && !ev.hidden;
        self.note_dispatch(&ev, trace);
        let prev_active = self.inner.active.replace(dest);
        let prev_event = self.inner.active_event.replace(Some(ev.name.clone()));
        let mut guard = Restore {
            kernel: self,
            session: dest,
            body: Some(body),
            prev_active,
            prev_event,
        };
        let body = guard.body.as_mut().expect("body present during dispatch");
        let result = if self.inner.catch_panics {
            match catch_unwind(AssertUnwindSafe(|| body.dispatch(self, &mut ev))) {
                Ok(result) => result,
                Err(payload) => {
                    // What DIE reports: the event is still here (only its
                    // arguments went to the handler).
                    let info = DieInfo {
                        source: ev.source,
                        dest,
                        event: ev.name,
                        caller: ev.caller,
                        from_state: ev.caller_state,
                    };
                    return Err(self.handler_panicked(guard, info, ev.kind, payload));
                }
            }
        } else {
            body.dispatch(self, &mut ev)
        };
        if guard.restore() {
            self.flush_deferred(dest);
        }
        self.handled(result, dest, &ev.name, ev.kind, if_busy, warn_unhandled)
    }

    /// A handler panicked (and was caught): put the session back, then
    /// raise DIE — or, for `_stop`, keep the panic to rethrow from `run`.
    #[cold]
    #[inline(never)]
    fn handler_panicked(
        &self,
        mut guard: Restore<'_>,
        info: DieInfo,
        kind: EventKind,
        payload: panics::Payload,
    ) -> KernelError {
        let dest = info.dest;
        if guard.restore() {
            self.flush_deferred(dest);
        }
        let message = panics::message(&payload);
        let event = info.event.clone();
        if kind == EventKind::Lifecycle && event.as_str() == "_stop" {
            // POE re-throws a die in _stop from run, after the stop.
            self.rethrow_later(payload);
        } else {
            self.caught_panic(info, payload);
        }
        KernelError::Panicked {
            session: dest,
            event,
            message,
        }
    }

    /// Dispatch to the running handler's own session through the heap it
    /// lent us.
    fn deliver_lent(&self, mut ev: Event, frame: &mut Frame<'_>, if_busy: IfBusy) -> Result<Value> {
        let dest = ev.dest;
        let kind = ev.kind;
        self.note_dispatch(&ev, false);
        let prev_event = self.inner.active_event.replace(Some(ev.name.clone()));
        let prev_active = self.inner.active.replace(dest);
        // `_stop` reached through the running handler (`ctx.stop()`) is
        // caught as in `deliver`: unwinding out of `stop_session` would
        // leave the session half stopped, never freed. Self-calls and the
        // other lifecycle events keep unwinding to the dispatch around
        // them (§7: self-calls are not trapped).
        let result = if kind == EventKind::Lifecycle
            && self.inner.catch_panics
            && ev.name.as_str() == "_stop"
        {
            match catch_unwind(AssertUnwindSafe(|| frame.body.dispatch(self, &mut ev))) {
                Ok(result) => result,
                Err(payload) => {
                    self.inner.active.set(prev_active);
                    *self.inner.active_event.borrow_mut() = prev_event;
                    let message = panics::message(&payload);
                    self.rethrow_later(payload);
                    return Err(KernelError::Panicked {
                        session: dest,
                        event: ev.name,
                        message,
                    });
                }
            }
        } else {
            frame.body.dispatch(self, &mut ev)
        };
        self.inner.active.set(prev_active);
        *self.inner.active_event.borrow_mut() = prev_event;
        self.handled(result, dest, &ev.name, kind, if_busy, false)
    }

    fn note_dispatch(&self, ev: &Event, session_trace: bool) {
        self.inner.dispatched.set(self.inner.dispatched.get() + 1);
        if session_trace {
            log::info!(
                target: "poe::session",
                "session {} handles '{}' from {}",
                ev.dest,
                ev.name,
                ev.source
            );
        }
        log::trace!(
            target: "poe::events",
            "dispatch {:?} '{}' to {} from {} ({} args)",
            ev.kind,
            ev.name,
            ev.dest,
            ev.source,
            ev.args.len()
        );
    }

    /// The handler's value, or what having no handler means here. The
    /// name is borrowed: only the rare no-handler error keeps a copy.
    #[inline]
    fn handled(
        &self,
        result: Option<Value>,
        dest: SessionId,
        name: &EventName,
        kind: EventKind,
        if_busy: IfBusy,
        warn_unhandled: bool,
    ) -> Result<Value> {
        match result {
            Some(v) => Ok(v),
            None if if_busy == IfBusy::Fail => {
                let e = KernelError::NoHandler {
                    session: dest,
                    event: name.clone(),
                };
                log::warn!(target: "poe::usage", "call: {e}");
                Err(e)
            }
            None => {
                if warn_unhandled && kind != EventKind::Lifecycle {
                    log::warn!(
                        target: "poe::events",
                        "session {dest} has no handler for '{name}' (and no _default)"
                    );
                } else {
                    log::trace!(target: "poe::events", "session {dest} ignores '{name}'");
                }
                Ok(Value::Undef)
            }
        }
    }

    /// Deliver what waited for `sid`'s heap, then a stop that waited too.
    pub(super) fn flush_deferred(&self, sid: SessionId) {
        loop {
            let next = {
                let mut reg = self.inner.sessions.borrow_mut();
                let Some(slot) = reg.get_mut(sid) else { return };
                if slot.body.is_none() {
                    return;
                }
                let ev = slot.deferred.pop_front();
                if ev.is_none() && slot.stop_pending {
                    slot.stop_pending = false;
                    drop(reg);
                    self.stop_session(sid, None);
                    return;
                }
                if ev.is_some() {
                    reg.check(sid);
                }
                ev
            };
            match next {
                Some(ev) => {
                    let _ = self.deliver(ev, None, IfBusy::Defer);
                }
                None => return,
            }
        }
    }

    /// A self-call made through `Ctx::call`: counted and traced like any
    /// dispatch (the Ctx runs the handler itself).
    #[inline]
    pub(crate) fn note_self_call(&self, session: SessionId, name: &EventName) {
        self.inner.dispatched.set(self.inner.dispatched.get() + 1);
        log::trace!(target: "poe::events", "self-call '{name}' in {session}");
    }

    /// A synchronous call from the active session to `dest`. Inlined into
    /// `call`: the event is then built where `deliver` takes it from, not
    /// built and moved.
    #[inline]
    pub(crate) fn call_resolved(
        &self,
        dest: SessionId,
        name: EventName,
        args: Args,
        caller: &'static Location<'static>,
    ) -> Result<Value> {
        let ev = self.sent_event(EventKind::Call, dest, name, args, caller);
        self.deliver(ev, None, IfBusy::Fail)
    }

    /// Deliver a kernel-generated lifecycle event (`_child`, `_parent`,
    /// `_stop`) now, or when the heap comes back.
    pub(super) fn lifecycle(
        &self,
        dest: SessionId,
        sender: SessionId,
        name: &'static str,
        args: impl IntoArgs,
        frame: Option<&mut Frame<'_>>,
    ) -> Value {
        let ev = Event::new(
            EventKind::Lifecycle,
            dest,
            sender,
            name.into(),
            args.into_args(),
        );
        self.deliver(ev, frame, IfBusy::Defer).unwrap_or_default()
    }
}
