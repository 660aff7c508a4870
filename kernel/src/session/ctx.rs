//! [`Ctx`]: what a handler receives.

use super::body::{invoke, Frame, Lent, Meta};
use super::states::{handler, SharedStates};
use super::{Created, Dest, Session, SessionId};
use crate::error::{KernelError, Result};
use crate::kernel::Kernel;
use crate::name::EventName;
use crate::postback::{Callback, Postback};
use crate::value::{Args, IntoArgs, Value};
use std::ops::Deref;
use std::panic::Location;

/// A self-call found neither the state nor `_default`: warn (POE's
/// ASSERT_USAGE would) and say so.
fn no_handler(session: SessionId, event: EventName) -> KernelError {
    let e = KernelError::NoHandler { session, event };
    log::warn!(target: "poe::usage", "call: {e}");
    e
}

/// The context of one dispatch: the session's heap, the event's arguments
/// and metadata, and the kernel (every `Kernel` method is available on a
/// `Ctx` through `Deref`).
///
/// This is POE's `@_`: `ctx.heap` is `$_[HEAP]`, `ctx.args` is
/// `@_[ARG0..]`, [`Ctx::session`] is `$_[SESSION]`, [`Ctx::sender`] is
/// `$_[SENDER]`, [`Ctx::event`] is `$_[STATE]`.
///
/// A few calls are methods of `Ctx` itself rather than of the kernel,
/// because they may need to run one of this session's own handlers while
/// this handler holds the heap: [`Ctx::call`], [`Ctx::create`],
/// [`Ctx::detach_myself`], [`Ctx::detach_child`], [`Ctx::stop`].
///
/// ```
/// use poe_kernel::{Kernel, Session};
/// let kernel = Kernel::new().unwrap();
/// kernel
///     .create(
///         Session::new(0u32)
///             .state("_start", |ctx| ctx.yield_("count", (1,)))
///             .state("count", |ctx| {
///                 *ctx.heap += ctx.arg(0).as_i64().unwrap() as u32;
///                 if *ctx.heap < 3 {
///                     ctx.yield_("count", (1,));
///                 }
///             }),
///     )
///     .unwrap();
/// kernel.run();
/// ```
pub struct Ctx<'a, H: 'static> {
    /// The session's heap.
    pub heap: &'a mut H,
    /// The event's arguments (`ARG0`, `ARG1`, ...), lent by whoever holds
    /// them: the queued event, or the caller (a wheel lends one list to
    /// record after record). Take values out freely
    /// (`std::mem::take(ctx.args)` takes them all).
    pub args: &'a mut Args,
    pub(crate) kernel: &'a Kernel,
    pub(crate) states: &'a SharedStates<H>,
    pub(crate) session: SessionId,
    pub(crate) sender: SessionId,
    pub(crate) event: &'a EventName,
    pub(crate) caller_state: Option<&'a EventName>,
    pub(crate) caller: &'static Location<'static>,
}

impl<H: 'static> Deref for Ctx<'_, H> {
    type Target = Kernel;
    fn deref(&self) -> &Kernel {
        self.kernel
    }
}

impl<'a, H: 'static> Ctx<'a, H> {
    /// The kernel handle (clone it to keep it).
    #[inline]
    pub fn kernel(&self) -> &'a Kernel {
        self.kernel
    }

    /// The session handling this event (`$_[SESSION]`).
    #[inline]
    pub fn session(&self) -> SessionId {
        self.session
    }

    /// The session that sent the event (`$_[SENDER]`): the poster or caller,
    /// the session itself for yields, alarms and select events, the kernel
    /// for `_child`, `_parent` and signals.
    pub fn sender(&self) -> SessionId {
        self.sender
    }

    /// The name of the state running (`$_[STATE]`): `_default` when the
    /// event was redirected there.
    pub fn event(&self) -> &EventName {
        self.event
    }

    /// The event the sender was handling when it created this one
    /// (`$_[CALLER_STATE]`); `None` for lifecycle events and events made
    /// outside any handler.
    pub fn caller_state(&self) -> Option<&EventName> {
        self.caller_state
    }

    /// Where the event was posted, called or set (`$_[CALLER_FILE]` and
    /// `$_[CALLER_LINE]`).
    pub fn caller_location(&self) -> &'static Location<'static> {
        self.caller
    }

    /// Argument `i`, or `Undef` when there are fewer.
    #[inline]
    pub fn arg(&self, i: usize) -> &Value {
        self.args.get(i).unwrap_or(&Value::Undef)
    }

    /// Move argument `i` out, leaving `Undef` (`Undef` when absent).
    #[inline]
    pub fn take_arg(&mut self, i: usize) -> Value {
        self.args.take(i)
    }

    fn lent(&mut self) -> Lent<'_, H> {
        Lent {
            heap: &mut *self.heap,
            states: self.states,
        }
    }

    /// Call an event synchronously and return what its handler returned.
    ///
    /// A call to this very session runs with the heap this handler already
    /// holds (like POE, the active event does not change). A call to a
    /// session whose handler is further up the call stack fails with
    /// [`KernelError::HeapBusy`].
    #[track_caller]
    pub fn call(
        &mut self,
        dest: impl Into<Dest>,
        event: impl Into<EventName>,
        args: impl IntoArgs,
    ) -> Result<Value> {
        let caller = Location::caller();
        // A handle needs no lookup here: `deliver` checks it is alive.
        let dest = match dest.into() {
            Dest::Session(s) => s,
            other => self.kernel.resolve_for("call to", &other)?,
        };
        if dest != self.session {
            return self
                .kernel
                .call_resolved(dest, event.into(), args.into_args(), caller);
        }
        self.self_call(event.into(), &mut args.into_args(), caller)
    }

    /// Run this session's own handler for `name` with the heap this
    /// handler holds (POE does not switch the active event), lending it
    /// `args`. Inlined: it is the body
    /// of every InputEvent a wheel delivers (callgrind: 25 instructions a
    /// line more on the echo path when it is a call of its own).
    #[inline(always)]
    fn self_call(
        &mut self,
        name: EventName,
        args: &mut Args,
        caller: &'static Location<'static>,
    ) -> Result<Value> {
        let me = self.session;
        self.kernel.note_self_call(me, &name);
        let meta = Meta {
            session: me,
            sender: me,
            name: &name,
            caller_state: Some(self.event),
            caller,
            hidden: false,
        };
        invoke(self.kernel, self.heap, self.states, meta, args).ok_or_else(|| no_handler(me, name))
    }

    /// Call `event` of this very session with the arguments in `args`,
    /// which are lent to the handler and given back emptied, keeping their
    /// capacity. A caller delivering many events in a row — a wheel
    /// delivering records — reuses one list instead of allocating one per
    /// event. Otherwise the same as `ctx.call(ctx.session(), event, ...)`,
    /// except that the handler's return value is dropped: this delivers,
    /// and a delivery has no one to answer (use `call` for a value).
    #[track_caller]
    #[inline]
    pub fn call_self_with(&mut self, event: impl Into<EventName>, args: &mut Args) -> Result<()> {
        let result = self.self_call(event.into(), args, Location::caller());
        args.clear();
        // Most handlers return nothing: skip the drop glue for that.
        result.map(Value::discard)
    }

    /// Call `event` of this session once for each argument list `next`
    /// leaves in `args`, until `next` returns false: the same calls, in the
    /// same order, as `while next(args) { ctx.call_self_with(event, args) }`,
    /// handler return values dropped alike — except that `next` gets the
    /// list as the last handler left it, to refill ([`Args::refill`]
    /// replaces values in place) or clear.
    ///
    /// What differs is the cost. A wheel delivering the records of one read
    /// makes many calls in a row to one state, so the handler is looked up
    /// once for all of them (again only after the session's states change:
    /// a handler that replaces its own state sends the next record to the
    /// new one) and one context serves every call. Without a handler for
    /// `event`, each call goes to `_default` or is refused as
    /// `call_self_with` would.
    ///
    /// `next` runs between the calls, with nothing of the session borrowed:
    /// it is where the caller checks that it should go on at all (the
    /// wheel still exists, reading is not paused).
    ///
    /// ```
    /// use poe_kernel::{Args, Kernel, Session, Value};
    /// let kernel = Kernel::new().unwrap();
    /// kernel
    ///     .create(
    ///         Session::new(Vec::<i64>::new())
    ///             .state("_start", |ctx| {
    ///                 let mut records = [3, 1, 2].into_iter();
    ///                 let mut args = Args::new();
    ///                 ctx.call_self_each(&"record".into(), &mut args, |args| {
    ///                     records.next().map(|r| args.refill([Value::from(r)])).is_some()
    ///                 });
    ///                 assert_eq!(ctx.heap, &[3, 1, 2]);
    ///             })
    ///             .state("record", |ctx| {
    ///                 let r = ctx.arg(0).as_i64().unwrap();
    ///                 ctx.heap.push(r);
    ///             }),
    ///     )
    ///     .unwrap();
    /// ```
    #[track_caller]
    #[inline]
    pub fn call_self_each(
        &mut self,
        event: &EventName,
        args: &mut Args,
        mut next: impl FnMut(&mut Args) -> bool,
    ) {
        let caller = Location::caller();
        let (kernel, states, me) = (self.kernel, self.states, self.session);
        loop {
            let (handler, generation) = {
                let table = states.borrow();
                match table.get(event) {
                    Some(h) => (h, table.generation()),
                    None => {
                        drop(table);
                        // `_default`, or the warning, call by call.
                        while next(args) {
                            let result = self.self_call(event.clone(), args, caller);
                            result.map(Value::discard).ok();
                        }
                        return;
                    }
                }
            };
            // Compared after each call: a handler may point its context at
            // another heap (a leaked one); the next call must get the
            // session's own.
            let heap: *const H = &*self.heap;
            let mut ctx = Ctx {
                heap: &mut *self.heap,
                args: &mut *args,
                kernel,
                states,
                session: me,
                sender: me,
                event,
                caller_state: Some(self.event),
                caller,
            };
            loop {
                if !next(ctx.args) {
                    return;
                }
                kernel.note_self_call(me, event);
                handler(&mut ctx).discard();
                if states.borrow().generation() != generation || !std::ptr::eq(&*ctx.heap, heap) {
                    break;
                }
            }
        }
    }

    /// Create a child session of this one: its `_start` runs now, then this
    /// session's `_child('create', ...)` — before `create` returns, as POE.
    pub fn create<C: 'static>(&mut self, session: Session<C>) -> Result<Created> {
        let me = self.session;
        let kernel = self.kernel;
        let mut lent = self.lent();
        kernel.create_with(
            session,
            Some(&mut Frame {
                session: me,
                body: &mut lent,
            }),
        )
    }

    /// Leave the parent and become a child of the kernel (POE's
    /// `detach_myself`). Fails with `NotPermitted` if the parent already is
    /// the kernel.
    pub fn detach_myself(&mut self) -> Result<()> {
        let me = self.session;
        let kernel = self.kernel;
        let mut lent = self.lent();
        kernel.detach_myself_with(Some(&mut Frame {
            session: me,
            body: &mut lent,
        }))
    }

    /// Hand a child of this session to the kernel (POE's `detach_child`).
    pub fn detach_child(&mut self, child: impl Into<Dest>) -> Result<()> {
        let me = self.session;
        let kernel = self.kernel;
        let mut lent = self.lent();
        kernel.detach_child_with(
            &child.into(),
            Some(&mut Frame {
                session: me,
                body: &mut lent,
            }),
        )
    }

    /// Stop every session, deepest first, this one included (its `_stop`
    /// runs inside this call, as in POE). `run` returns once control gets
    /// back to the loop.
    pub fn stop(&mut self) {
        let me = self.session;
        let kernel = self.kernel;
        let mut lent = self.lent();
        kernel.stop_with(Some(&mut Frame {
            session: me,
            body: &mut lent,
        }))
    }

    /// Add or replace a handler of this session (POE's `$kernel->state`).
    /// Takes effect for every later dispatch, including events already
    /// queued.
    pub fn state<F, R>(&mut self, name: impl Into<EventName>, f: F)
    where
        F: Fn(&mut Ctx<'_, H>) -> R + 'static,
        R: Into<Value>,
    {
        let name = name.into();
        log::trace!(target: "poe::session", "session {} state '{}' set", self.session, name);
        let old = self.states.borrow_mut().insert(name, handler(f));
        drop(old);
    }

    /// Remove a handler of this session (POE's `$kernel->state(NAME)`).
    /// Returns whether there was one.
    pub fn remove_state(&mut self, name: &str) -> bool {
        log::trace!(target: "poe::session", "session {} state '{}' removed", self.session, name);
        let old = self.states.borrow_mut().remove(name);
        old.is_some()
    }

    /// True if this session has a handler for `name`.
    pub fn has_state(&self, name: &str) -> bool {
        self.states.borrow().contains(name)
    }

    /// A postback to this session (POE::Session's `postback`): calling it
    /// posts `event` with `ARG0` = the `context` list and `ARG1` = the
    /// list given to the call. Keeps the session alive while it exists.
    pub fn postback(&self, event: impl Into<EventName>, context: impl IntoArgs) -> Postback {
        self.kernel
            .postback_for(self.session, event.into(), context.into_args().into_vec())
    }

    /// A callback to this session (POE::Session's `callback`): like a
    /// postback, but calls synchronously and returns the handler's value.
    pub fn callback(&self, event: impl Into<EventName>, context: impl IntoArgs) -> Callback {
        self.kernel
            .callback_for(self.session, event.into(), context.into_args().into_vec())
    }
}
