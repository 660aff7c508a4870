//! Sending events: `post`, `yield_`, `call`.

use super::Kernel;
use crate::error::Result;
use crate::event::{Event, EventKind};
use crate::name::EventName;
use crate::session::{Dest, SessionId};
use crate::value::{Args, IntoArgs, Value};
use std::panic::Location;

impl Kernel {
    /// Queue an event for a session (POE's `post`). FIFO with every other
    /// post; `sender` is the running session (the kernel outside handlers).
    ///
    /// Fails with `NoSuchSession` (POE's `ESRCH`) when the destination does
    /// not resolve. Events posted to the kernel itself are ignored, as POE.
    ///
    /// ```
    /// use poe_kernel::{Kernel, Session};
    /// let kernel = Kernel::new().unwrap();
    /// let id = kernel.create(Session::new(Vec::<String>::new())
    ///     .state("_start", |ctx| { ctx.alias_set("log").unwrap(); })
    ///     .state("line", |ctx| {
    ///         let line = ctx.arg(0).to_string();
    ///         ctx.heap.push(line);
    ///         ctx.alias_remove("log").unwrap();
    ///     })).unwrap().id;
    /// kernel.post("log", "line", ("hello",)).unwrap();
    /// assert!(kernel.post("nobody", "line", ()).is_err());
    /// kernel.run();
    /// ```
    #[track_caller]
    pub fn post(
        &self,
        dest: impl Into<Dest>,
        event: impl Into<EventName>,
        args: impl IntoArgs,
    ) -> Result<()> {
        self.post_to(dest.into(), event.into(), args.into_args(), false)
    }

    /// Queue an event for one of `dest`'s hidden states — a wheel's — as
    /// [`post`](Self::post) does, except that if the state has been removed
    /// by the time the event is dispatched, the event is dropped instead of
    /// going to `_default`. A wheel dropped after queueing such an event
    /// sends nothing more. (POE's wheels need no such events: they work
    /// through select watchers, which go with the wheel.)
    #[track_caller]
    pub fn post_hidden(
        &self,
        dest: impl Into<Dest>,
        event: impl Into<EventName>,
        args: impl IntoArgs,
    ) -> Result<()> {
        self.post_to(dest.into(), event.into(), args.into_args(), true)
    }

    /// `post` and `post_hidden`: resolve, then queue (nothing for the
    /// kernel itself).
    #[track_caller]
    fn post_to(&self, dest: Dest, name: EventName, args: Args, hidden: bool) -> Result<()> {
        let target = self.resolve_for("post to", &dest)?;
        if target.is_kernel() {
            return Ok(());
        }
        let mut ev = self.sent_event(EventKind::Post, target, name, args, Location::caller());
        ev.hidden = hidden;
        self.enqueue(ev);
        Ok(())
    }

    /// Queue an event for the running session itself (POE's `yield`).
    /// Outside any handler there is no session to yield to: the event is
    /// dropped with a warning.
    #[track_caller]
    pub fn yield_(&self, event: impl Into<EventName>, args: impl IntoArgs) {
        let me = self.inner.active.get();
        let event = event.into();
        if me.is_kernel() {
            log::warn!(target: "poe::usage", "yield of '{event}' outside any session: dropped");
            return;
        }
        self.post_resolved(me, event, args.into_args(), Location::caller());
    }

    pub(crate) fn post_resolved(
        &self,
        target: SessionId,
        name: EventName,
        args: Args,
        caller: &'static Location<'static>,
    ) {
        let ev = self.sent_event(EventKind::Post, target, name, args, caller);
        self.enqueue(ev);
    }

    /// An event sent from where the program is now: the running session
    /// (the kernel, outside handlers) is its sender, the running event its
    /// `CALLER_STATE`, `caller` its `CALLER_FILE`/`CALLER_LINE`. Always
    /// inlined: returned from a call, the 128-byte event is copied once
    /// more (callgrind: 20 instructions a post or call).
    #[inline(always)]
    pub(crate) fn sent_event(
        &self,
        kind: EventKind,
        dest: SessionId,
        name: EventName,
        args: Args,
        caller: &'static Location<'static>,
    ) -> Event {
        // One literal, so the event can be built where it is going.
        Event {
            dest,
            source: self.inner.active.get(),
            name,
            args,
            kind,
            caller_state: self.inner.active_event.borrow().clone(),
            caller,
            hidden: false,
        }
    }

    /// Put an event on the FIFO; it holds its destination and its sender.
    pub(crate) fn enqueue(&self, ev: Event) {
        self.inner
            .sessions
            .borrow_mut()
            .hold_event(ev.dest, ev.source);
        log::trace!(
            target: "poe::events",
            "queue {:?} '{}' for {} from {}",
            ev.kind,
            ev.name,
            ev.dest,
            ev.source
        );
        let stamp = self.fifo_stamp();
        self.inner.queue.borrow_mut().push(stamp, ev);
    }

    /// Call an event synchronously and return its handler's value (POE's
    /// `call`).
    ///
    /// Errors: `NoSuchSession` for an unknown destination, `NoHandler` when
    /// the session has neither the state nor `_default`, `HeapBusy` when
    /// the session's handler is already running further up the stack. From
    /// inside a handler use [`crate::Ctx::call`], which can also call the
    /// running session itself.
    ///
    /// ```
    /// use poe_kernel::{Kernel, Session};
    /// let kernel = Kernel::new().unwrap();
    /// let id = kernel.create(Session::new(())
    ///     .state("_start", |ctx| { ctx.alias_set("math").unwrap(); })
    ///     .state("double", |ctx| ctx.arg(0).as_i64().unwrap() * 2)).unwrap().id;
    /// assert_eq!(kernel.call(id, "double", (21,)).unwrap().as_i64(), Some(42));
    /// assert!(kernel.call(id, "triple", (1,)).is_err());
    /// ```
    #[track_caller]
    pub fn call(
        &self,
        dest: impl Into<Dest>,
        event: impl Into<EventName>,
        args: impl IntoArgs,
    ) -> Result<Value> {
        let dest = dest.into();
        let target = self.resolve_for("call to", &dest)?;
        if target.is_kernel() {
            return Ok(Value::Undef);
        }
        self.call_resolved(target, event.into(), args.into_args(), Location::caller())
    }
}
