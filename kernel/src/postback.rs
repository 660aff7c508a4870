//! Postbacks and callbacks (POE::Session's `postback` and `callback`):
//! values that post or call an event of their session when invoked, and
//! keep that session alive while they exist.

use crate::error::{KernelError, Result};
use crate::kernel::{Kernel, WeakKernel};
use crate::name::EventName;
use crate::session::{Ctx, Dest, SessionId};
use crate::value::{IntoArgs, Value};
use std::fmt;

/// The extra-reference tag live postbacks and callbacks hold, as in POE.
pub const POSTBACK_TAG: &str = "anon_event";

/// What a postback and a callback share: a session, an event, a context
/// list, and one extra reference on the session.
struct Target {
    kernel: WeakKernel,
    session: SessionId,
    event: EventName,
    context: Vec<Value>,
    /// False if the session was gone when this was made: nothing to hold.
    holds: bool,
}

impl Target {
    fn new(kernel: &Kernel, session: SessionId, event: EventName, context: Vec<Value>) -> Target {
        let holds = kernel.refcount_increment(session, POSTBACK_TAG).is_ok();
        Target {
            kernel: kernel.downgrade(),
            session,
            event,
            context,
            holds,
        }
    }

    fn args(&self, args: impl IntoArgs) -> (Value, Value) {
        (
            Value::List(self.context.clone()),
            Value::List(args.into_args().into_vec()),
        )
    }

    fn kernel(&self) -> Result<Kernel> {
        self.kernel
            .upgrade()
            .ok_or(KernelError::NoSuchSession(self.session.into()))
    }
}

impl Clone for Target {
    fn clone(&self) -> Target {
        match self.kernel.upgrade() {
            Some(k) => Target::new(&k, self.session, self.event.clone(), self.context.clone()),
            None => Target {
                kernel: self.kernel.clone(),
                session: self.session,
                event: self.event.clone(),
                context: self.context.clone(),
                holds: false,
            },
        }
    }
}

impl Drop for Target {
    fn drop(&mut self) {
        if self.holds {
            if let Some(k) = self.kernel.upgrade() {
                let _ = k.refcount_decrement(self.session, POSTBACK_TAG);
            }
        }
    }
}

/// Posts an event to its session when invoked: `ARG0` is the context list
/// given at creation, `ARG1` the list given to [`Postback::post`].
///
/// ```
/// use poe_kernel::{Kernel, Postback, Session, Value};
/// let kernel = Kernel::new().unwrap();
/// kernel.create(Session::new(None::<Postback>)
///     .state("_start", |ctx| {
///         let pb = ctx.postback("done", ("job-7",));
///         ctx.heap.replace(pb); // e.g. hand it to a component
///         ctx.yield_("finish", ());
///     })
///     .state("finish", |ctx| {
///         ctx.heap.take().unwrap().post(("ok",)).unwrap();
///     })
///     .state("done", |ctx| {
///         assert_eq!(ctx.arg(0), &Value::list(["job-7"]));
///         assert_eq!(ctx.arg(1), &Value::list(["ok"]));
///     })).unwrap();
/// kernel.run();
/// ```
#[derive(Clone)]
pub struct Postback(Target);

impl Postback {
    /// Post the event. `sender` is whatever session is running now.
    #[track_caller]
    pub fn post(&self, args: impl IntoArgs) -> Result<()> {
        let t = &self.0;
        t.kernel()?.post(t.session, t.event.clone(), t.args(args))
    }

    /// The session it posts to.
    pub fn session(&self) -> SessionId {
        self.0.session
    }
}

/// Calls an event of its session when invoked and returns the handler's
/// value. Same arguments as [`Postback`].
///
/// One difference from POE: [`Callback::call`] cannot run its session's
/// handler while a handler of that same session is running further up the
/// stack (that handler holds the heap), so it fails with
/// [`KernelError::HeapBusy`] there, where POE makes a plain self-call.
/// Code that may invoke a callback from inside its own session's handlers
/// uses [`Callback::call_with`], which goes through the running handler's
/// [`Ctx`] and so reaches the heap it holds.
///
/// ```
/// use poe_kernel::{Callback, Kernel, KernelError, Session};
/// let kernel = Kernel::new().unwrap();
/// kernel.create(Session::new(None::<Callback>)
///     .state("_start", |ctx| {
///         *ctx.heap = Some(ctx.callback("double", ()));
///         let cb = ctx.heap.clone().unwrap();
///         // From this session's own handler: through the Ctx.
///         let v = cb.call_with(ctx, (21,)).unwrap();
///         assert_eq!(v.as_i64(), Some(42));
///         // Without it the heap is out of reach.
///         assert!(matches!(cb.call((1,)), Err(KernelError::HeapBusy { .. })));
///         ctx.heap.take();
///     })
///     .state("double", |ctx| ctx.arg(1).as_list().unwrap()[0].as_i64().unwrap() * 2))
///     .unwrap();
/// kernel.run();
/// ```
#[derive(Clone)]
pub struct Callback(Target);

impl Callback {
    /// Call the event now. Fails with `HeapBusy` if a handler of the
    /// callback's session is already running (for example if the session
    /// invokes its own callback): use [`Callback::call_with`] there.
    #[track_caller]
    pub fn call(&self, args: impl IntoArgs) -> Result<Value> {
        let t = &self.0;
        t.kernel()?.call(t.session, t.event.clone(), t.args(args))
    }

    /// Call the event now from inside a handler, through that handler's
    /// `ctx`. When the callback's session is the one running, this is a
    /// self-call on the heap `ctx` holds (POE's plain self-call: the active
    /// event does not change); otherwise it is the same as
    /// [`Callback::call`]. The sender is the running session either way.
    #[track_caller]
    pub fn call_with<H: 'static>(
        &self,
        ctx: &mut Ctx<'_, H>,
        args: impl IntoArgs,
    ) -> Result<Value> {
        let t = &self.0;
        ctx.call(t.session, t.event.clone(), t.args(args))
    }

    /// The session it calls.
    pub fn session(&self) -> SessionId {
        self.0.session
    }
}

impl fmt::Debug for Postback {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Postback({} -> '{}')", self.0.session, self.0.event)
    }
}

impl fmt::Debug for Callback {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Callback({} -> '{}')", self.0.session, self.0.event)
    }
}

impl Kernel {
    /// A postback to any session, named by handle, ID or alias (see
    /// [`crate::Ctx::postback`]). The destination is resolved now: the
    /// postback stays bound to that session even if the alias moves.
    /// Fails with `NoSuchSession` when it names no live session.
    ///
    /// ```
    /// use poe_kernel::{Kernel, Session};
    /// let kernel = Kernel::new().unwrap();
    /// kernel.create(Session::new(())
    ///     .state("_start", |ctx| ctx.alias_set("logger").unwrap())
    ///     .state("log", |ctx| {
    ///         println!("{}", ctx.arg(1));
    ///         ctx.alias_remove("logger").unwrap();
    ///     })).unwrap();
    /// let pb = kernel.postback("logger", "log", ()).unwrap();
    /// pb.post(("hello",)).unwrap();
    /// drop(pb);
    /// assert!(kernel.postback("nobody", "log", ()).is_err());
    /// kernel.run();
    /// ```
    pub fn postback(
        &self,
        session: impl Into<Dest>,
        event: impl Into<EventName>,
        context: impl IntoArgs,
    ) -> Result<Postback> {
        let session = self.resolve_target("postback", session.into())?;
        Ok(self.postback_for(session, event.into(), context.into_args().into_vec()))
    }

    /// A callback to any session, named by handle, ID or alias (see
    /// [`crate::Ctx::callback`]); resolved now, like [`Kernel::postback`].
    pub fn callback(
        &self,
        session: impl Into<Dest>,
        event: impl Into<EventName>,
        context: impl IntoArgs,
    ) -> Result<Callback> {
        let session = self.resolve_target("callback", session.into())?;
        Ok(self.callback_for(session, event.into(), context.into_args().into_vec()))
    }

    /// Resolve the session a postback or callback will be bound to.
    fn resolve_target(&self, what: &str, dest: Dest) -> Result<SessionId> {
        self.resolve_session_for(format_args!("{what} for"), &dest)
    }

    pub(crate) fn postback_for(
        &self,
        session: SessionId,
        event: EventName,
        context: Vec<Value>,
    ) -> Postback {
        Postback(Target::new(self, session, event, context))
    }

    pub(crate) fn callback_for(
        &self,
        session: SessionId,
        event: EventName,
        context: Vec<Value>,
    ) -> Callback {
        Callback(Target::new(self, session, event, context))
    }
}
