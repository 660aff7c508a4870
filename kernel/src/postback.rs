//! Postbacks and callbacks (POE::Session's `postback` and `callback`):
//! values that post or call an event of their session when invoked, and
//! keep that session alive while they exist.

use crate::error::{KernelError, Result};
use crate::kernel::{Kernel, WeakKernel};
use crate::name::EventName;
use crate::session::SessionId;
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
#[derive(Clone)]
pub struct Callback(Target);

impl Callback {
    /// Call the event now. Fails with `HeapBusy` if the session's handler
    /// is already running (for example if the session calls its own
    /// callback; use `Ctx::call` there).
    #[track_caller]
    pub fn call(&self, args: impl IntoArgs) -> Result<Value> {
        let t = &self.0;
        t.kernel()?.call(t.session, t.event.clone(), t.args(args))
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
    /// A postback to any session (see [`crate::Ctx::postback`]).
    pub fn postback(
        &self,
        session: SessionId,
        event: impl Into<EventName>,
        context: impl IntoArgs,
    ) -> Postback {
        self.postback_for(session, event.into(), context.into_args().into_vec())
    }

    /// A callback to any session (see [`crate::Ctx::callback`]).
    pub fn callback(
        &self,
        session: SessionId,
        event: impl Into<EventName>,
        context: impl IntoArgs,
    ) -> Callback {
        self.callback_for(session, event.into(), context.into_args().into_vec())
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
