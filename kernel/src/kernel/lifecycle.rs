//! Sessions coming and going: create, stop, free, garbage collection,
//! detaching, and the kernel-wide stop.

use super::dispatch::IfBusy;
use super::registry::Phase;
use super::Kernel;
use crate::error::{KernelError, Result};
use crate::event::{Event, EventKind};
use crate::session::body::{Frame, TypedBody};
use crate::session::{Created, Dest, Session, SessionId};
use crate::value::{Args, Value};
use std::cell::RefCell;
use std::rc::Rc;

impl Kernel {
    /// Create a session (POE's `POE::Session->create`). Its parent is the
    /// session whose handler is running (the kernel outside handlers).
    ///
    /// In order, synchronously: `_start` runs (with the session's args;
    /// `sender` is the creator), then the parent gets
    /// `_child('create', id, start_result)`. The new session is then kept
    /// alive until everything already queued has been dispatched.
    ///
    /// Called from a handler, prefer [`crate::Ctx::create`]: through a plain
    /// kernel handle the creating session's `_child` is delivered when its
    /// handler returns rather than inside this call.
    pub fn create<H: 'static>(&self, session: Session<H>) -> Result<Created> {
        self.create_with(session, None)
    }

    pub(crate) fn create_with<H: 'static>(
        &self,
        session: Session<H>,
        frame: Option<&mut Frame<'_>>,
    ) -> Result<Created> {
        if !session.states.contains("_start") {
            log::warn!(target: "poe::session", "discarding session: it has no '_start' state");
            return Err(KernelError::NoStartState);
        }
        let creator = self.inner.active.get();
        let body = Box::new(TypedBody {
            heap: session.heap,
            states: Rc::new(RefCell::new(session.states)),
        });
        let sid = self
            .inner
            .sessions
            .borrow_mut()
            .insert(creator, body, session.options);
        log::trace!(target: "poe::session", "session {sid} created by {creator}");

        let mut start = Event::new(
            EventKind::Lifecycle,
            sid,
            creator,
            "_start".into(),
            session.args,
        );
        start.caller_state = self.inner.active_event.borrow().clone();
        let start_result = self.deliver(start, None, IfBusy::Defer).unwrap_or_default();

        let parent = {
            let mut reg = self.inner.sessions.borrow_mut();
            match reg.get_mut(sid) {
                Some(slot) => {
                    if slot.phase == Phase::Starting {
                        slot.phase = Phase::Running;
                    }
                    slot.parent
                }
                // Stopped during its own _start.
                None => {
                    return Ok(Created {
                        id: sid,
                        start_result,
                    })
                }
            }
        };
        if !parent.is_kernel() {
            let args = (
                Value::from("create"),
                Value::from(sid),
                start_result.clone(),
            );
            self.lifecycle(parent, SessionId::KERNEL, "_child", args, frame);
        }
        // The GC marker: holds the session until what was queued before it
        // has run, then lets the collector look at it.
        self.enqueue(Event::new(
            EventKind::GcMarker,
            sid,
            sid,
            "_gc".into(),
            Args::new(),
        ));
        Ok(Created {
            id: sid,
            start_result,
        })
    }

    /// Stop one session (§5.2): its children go to its parent (`_child
    /// gain` / `_parent`), then `_stop`, then the parent's `_child lose`,
    /// then everything it held is released.
    pub(super) fn stop_session(&self, sid: SessionId, mut frame: Option<&mut Frame<'_>>) {
        let lent = frame.as_ref().is_some_and(|f| f.session == sid);
        let (parent, children) = {
            let mut reg = self.inner.sessions.borrow_mut();
            let Some(slot) = reg.get_mut(sid) else { return };
            if slot.phase == Phase::Stopping {
                return;
            }
            if slot.body.is_none() && !lent {
                // Its handler is running further up the stack: stop it the
                // moment that handler returns.
                slot.stop_pending = true;
                return;
            }
            slot.phase = Phase::Stopping;
            (
                slot.parent,
                slot.children.iter().copied().collect::<Vec<_>>(),
            )
        };
        log::trace!(target: "poe::gc", "stopping session {sid}");
        for child in children {
            if !parent.is_kernel() {
                let args = (Value::from("gain"), Value::from(child));
                self.lifecycle(
                    parent,
                    SessionId::KERNEL,
                    "_child",
                    args,
                    frame.as_deref_mut(),
                );
            }
            let args = (Value::from(sid), Value::from(parent));
            self.lifecycle(
                child,
                SessionId::KERNEL,
                "_parent",
                args,
                frame.as_deref_mut(),
            );
        }
        let sender = self.inner.active.get();
        let stop_result = self.lifecycle(sid, sender, "_stop", (), frame.as_deref_mut());
        if !parent.is_kernel() {
            let args = (Value::from("lose"), Value::from(sid), stop_result);
            self.lifecycle(parent, SessionId::KERNEL, "_child", args, frame);
        }
        self.free_session(sid);
    }

    /// Release everything `sid` holds and forget it (§5.2 step 5).
    fn free_session(&self, sid: SessionId) {
        let slot = {
            let mut reg = self.inner.sessions.borrow_mut();
            let Some(slot) = reg.get(sid) else { return };
            let parent = slot.parent;
            // Collected: reparenting changes the set being walked.
            let children: Vec<SessionId> = reg.children(sid).collect();
            for child in children {
                reg.reparent(child, parent);
            }
            let Some(slot) = reg.remove(sid) else { return };
            for alias in &slot.aliases {
                reg.aliases.remove(alias);
            }
            reg.extra_ref_total -= slot.extra_refs.len();
            reg.pid_total -= slot.pids.len();
            slot
        };
        {
            let mut io = self.inner.io.borrow_mut();
            for &fd in &slot.fds {
                io.remove_all(fd, sid);
            }
        }
        self.inner
            .signals
            .borrow_mut()
            .remove_session(sid, &slot.signals);
        self.forget_children(&slot.pids);
        let os_signal = |s: &String| crate::os_signals::number(s).is_some();
        if !slot.pids.is_empty() || slot.signals.iter().any(os_signal) {
            self.sync_os_signals();
        }
        let (timers, events) = {
            let mut q = self.inner.queue.borrow_mut();
            let timers = q.timers.remove_all_owned(sid.get());
            let events = if slot.to_me as usize > timers.len() || slot.from_me > 0 {
                q.remove_fifo(|e| e.dest == sid || e.source == sid)
            } else {
                Vec::new()
            };
            (timers, events)
        };
        {
            let mut reg = self.inner.sessions.borrow_mut();
            for ev in &events {
                reg.release_event(ev.dest, ev.source);
            }
        }
        log::trace!(
            target: "poe::gc",
            "session {sid} freed ({} alarms, {} queued events dropped)",
            timers.len(),
            events.len()
        );
        // Heaps, handlers and arguments are dropped here, with no borrow
        // held: their destructors may use the kernel.
        drop((timers, events, slot));
    }

    /// Stop every marked session that is still garbage, until stops mark
    /// no more (§6.2). Like POE, in rounds: each round takes the sessions
    /// marked so far, most recently marked first; sessions its stops mark
    /// (a parent losing its last child) wait for the next round.
    #[inline(always)]
    pub(super) fn gc_sweep(&self) {
        // Once per timeslice: nothing marked is the common case.
        if self.inner.sessions.borrow().marked.is_empty() {
            return;
        }
        self.gc_sweep_rounds();
    }

    /// Out of line: inlined, it made every sweep (two per timeslice, most
    /// with nothing marked) save and restore registers for the loop.
    #[inline(never)]
    fn gc_sweep_rounds(&self) {
        loop {
            let mut round = {
                let mut reg = self.inner.sessions.borrow_mut();
                if reg.marked.is_empty() {
                    return;
                }
                std::mem::take(&mut reg.marked)
            };
            for &sid in round.iter().rev() {
                let garbage = {
                    let mut reg = self.inner.sessions.borrow_mut();
                    reg.get_mut(sid).is_some_and(|slot| {
                        slot.marked = false;
                        slot.is_garbage() && slot.phase != Phase::Stopping
                    })
                };
                if garbage {
                    log::trace!(target: "poe::gc", "collecting session {sid}");
                    self.stop_session(sid, None);
                }
            }
            // Keep the list's allocation when this round marked nobody.
            let mut reg = self.inner.sessions.borrow_mut();
            if reg.marked.is_empty() {
                round.clear();
                reg.marked = round;
            }
        }
    }

    /// Stop every session, deepest first (POE's `$kernel->stop`). `run`
    /// returns when control gets back to the loop.
    ///
    /// Called from a handler, prefer [`crate::Ctx::stop`]: through a plain
    /// kernel handle, sessions whose handlers are running are stopped as
    /// soon as those handlers return.
    pub fn stop(&self) {
        self.stop_with(None)
    }

    pub(crate) fn stop_with(&self, mut frame: Option<&mut Frame<'_>>) {
        let order = self
            .inner
            .sessions
            .borrow()
            .breadth_first(SessionId::KERNEL);
        log::debug!(target: "poe::kernel", "stop: {} sessions", order.len());
        for sid in order.into_iter().rev() {
            self.stop_session(sid, frame.as_deref_mut());
        }
    }

    /// Leave the parent for the kernel. Prefer [`crate::Ctx::detach_myself`].
    pub fn detach_myself(&self) -> Result<()> {
        self.detach_myself_with(None)
    }

    pub(crate) fn detach_myself_with(&self, frame: Option<&mut Frame<'_>>) -> Result<()> {
        let me = self.current("detach_myself")?;
        let (parent, starting) = {
            let reg = self.inner.sessions.borrow();
            let slot = reg.get(me).ok_or(KernelError::NoActiveSession)?;
            (slot.parent, slot.phase == Phase::Starting)
        };
        if parent.is_kernel() {
            return Err(KernelError::NotPermitted(
                "the session's parent already is the kernel",
            ));
        }
        // A session detaching inside its own _start was never announced to
        // its parent (the parent's _child(create) comes after _start).
        self.hand_to_kernel(me, parent, !starting, frame);
        Ok(())
    }

    /// Hand a child of the running session to the kernel. Prefer
    /// [`crate::Ctx::detach_child`].
    pub fn detach_child(&self, child: impl Into<Dest>) -> Result<()> {
        self.detach_child_with(&child.into(), None)
    }

    pub(crate) fn detach_child_with(
        &self,
        child: &Dest,
        frame: Option<&mut Frame<'_>>,
    ) -> Result<()> {
        let child = self.resolve_session(child)?;
        let me = self
            .current("detach_child")
            .map_err(|_| KernelError::NotPermitted("detach_child called outside a session"))?;
        if self.inner.sessions.borrow().parent_of(child) != Some(me) {
            return Err(KernelError::NotPermitted(
                "not a child of the current session",
            ));
        }
        self.hand_to_kernel(child, me, true, frame);
        Ok(())
    }

    /// Move `child` from `parent` to the kernel: `_child('lose', child)` to
    /// the parent (if `tell_parent`), then `_parent(parent, kernel)` to the
    /// child, then the move (§5.4).
    fn hand_to_kernel(
        &self,
        child: SessionId,
        parent: SessionId,
        tell_parent: bool,
        mut frame: Option<&mut Frame<'_>>,
    ) {
        let kernel = SessionId::KERNEL;
        if tell_parent {
            let args = (Value::from("lose"), Value::from(child), Value::Undef);
            self.lifecycle(parent, kernel, "_child", args, frame.as_deref_mut());
        }
        let args = (Value::from(parent), Value::from(kernel));
        self.lifecycle(child, kernel, "_parent", args, frame);
        self.inner.sessions.borrow_mut().reparent(child, kernel);
    }
}
