//! Sessions: a typed heap plus a table of named states.

pub(crate) mod body;
mod ctx;
mod id;
mod state_set;
pub(crate) mod states;

pub use ctx::Ctx;
pub use id::{Dest, SessionId};
pub use state_set::StateSet;
pub use states::Handler;

use crate::name::EventName;
use crate::value::{Args, IntoArgs, Value};
use states::{handler, StateTable};
use std::rc::Rc;

/// A session to be created: its heap, its states, the arguments for
/// `_start` and its options. POE's `POE::Session->create(...)`.
///
/// States are closures ([`Session::state`], POE's `inline_states` and
/// `package_states`) or methods of a shared object
/// ([`Session::object_state`], POE's `object_states`). `_start` is required.
///
/// ```
/// use poe_kernel::{Kernel, Session};
///
/// #[derive(Default)]
/// struct Counter { ticks: u32 }
///
/// let kernel = Kernel::new().unwrap();
/// let created = kernel
///     .create(
///         Session::new(Counter::default())
///             .args(("hello",))
///             .state("_start", |ctx| {
///                 assert_eq!(ctx.arg(0).as_str(), Some("hello"));
///                 ctx.delay("tick", 0.01, ()).unwrap();
///                 "started" // what create() reports as start_result
///             })
///             .state("tick", |ctx| ctx.heap.ticks += 1),
///     )
///     .unwrap();
/// assert_eq!(created.start_result.as_str(), Some("started"));
/// kernel.run();
/// ```
pub struct Session<H: 'static> {
    pub(crate) heap: H,
    pub(crate) states: StateTable<H>,
    pub(crate) args: Args,
    pub(crate) options: SessionOptions,
}

/// Session options (POE's `options => {...}`).
#[derive(Clone, Debug, Default)]
pub struct SessionOptions {
    /// Log every dispatch to this session at `info` level (POE's `trace`).
    pub trace: bool,
    /// Warn when an event arrives that has no handler and no `_default`
    /// (POE's `default`).
    pub warn_unhandled: bool,
}

impl<H: 'static> Session<H> {
    /// A session with this heap and no states yet.
    pub fn new(heap: H) -> Session<H> {
        Session {
            heap,
            states: StateTable::default(),
            args: Args::new(),
            options: SessionOptions::default(),
        }
    }

    /// Add a state handled by a closure or function. The handler may return
    /// anything convertible to a [`Value`] (`()` is `Undef`); that value is
    /// what `call` returns.
    pub fn state<F, R>(mut self, name: impl Into<EventName>, f: F) -> Self
    where
        F: Fn(&mut Ctx<'_, H>) -> R + 'static,
        R: Into<Value>,
    {
        self.states.insert(name.into(), handler(f));
        self
    }

    /// Add a state whose handler is already built and shared: every
    /// session given the same [`Handler`] runs that one closure, with no
    /// wrapper of its own around it. For a component that starts many
    /// sessions with the same states (one per connection) and builds their
    /// handlers once.
    ///
    /// ```
    /// use std::rc::Rc;
    /// use poe_kernel::{Handler, Kernel, Session, Value};
    ///
    /// let start: Handler<u32> = Rc::new(|ctx| {
    ///     *ctx.heap += 1;
    ///     Value::from(*ctx.heap)
    /// });
    /// let kernel = Kernel::new().unwrap();
    /// for heap in [1, 10] {
    ///     let created = kernel
    ///         .create(Session::new(heap).shared_state("_start", start.clone()))
    ///         .unwrap();
    ///     assert_eq!(created.start_result.as_i64(), Some(i64::from(heap) + 1));
    /// }
    /// ```
    pub fn shared_state(mut self, name: impl Into<EventName>, handler: Handler<H>) -> Self {
        self.states.insert(name.into(), handler);
        self
    }

    /// Share the states of `set` (built once for many sessions) instead of
    /// holding entries for them. This session's own states, added before
    /// or after, take precedence over the set's; a set given again
    /// replaces the previous one.
    ///
    /// ```
    /// use poe_kernel::{Kernel, Session, StateSet};
    /// use std::{cell::RefCell, rc::Rc};
    ///
    /// type Heard = Rc<RefCell<Vec<&'static str>>>;
    /// let set = StateSet::new()
    ///     .state("_start", |ctx| ctx.yield_("greet", ()))
    ///     .state("greet", |ctx: &mut poe_kernel::Ctx<Heard>| {
    ///         ctx.heap.borrow_mut().push("from the set")
    ///     });
    /// let heard = Heard::default();
    /// let kernel = Kernel::new().unwrap();
    /// kernel.create(Session::new(heard.clone()).states_from(&set)).unwrap();
    /// // The session's own "greet" wins over the set's.
    /// kernel
    ///     .create(
    ///         Session::new(heard.clone())
    ///             .states_from(&set)
    ///             .state("greet", |ctx| ctx.heap.borrow_mut().push("its own")),
    ///     )
    ///     .unwrap();
    /// kernel.run();
    /// assert_eq!(*heard.borrow(), ["from the set", "its own"]);
    /// ```
    pub fn states_from(mut self, set: &StateSet<H>) -> Self {
        self.states.set_base(set.base());
        self
    }

    /// Add a state handled by a method of a shared object (POE's
    /// `object_states`). The object is shared by every session given it.
    ///
    /// ```
    /// use std::{cell::Cell, rc::Rc};
    /// use poe_kernel::{Ctx, Kernel, Session};
    ///
    /// struct Greeter { greeted: Cell<u32> }
    /// impl Greeter {
    ///     fn start(&self, _ctx: &mut Ctx<()>) { self.greeted.set(self.greeted.get() + 1) }
    /// }
    ///
    /// let g = Rc::new(Greeter { greeted: Cell::new(0) });
    /// let kernel = Kernel::new().unwrap();
    /// kernel.create(Session::new(()).object_state("_start", &g, Greeter::start)).unwrap();
    /// assert_eq!(g.greeted.get(), 1);
    /// ```
    pub fn object_state<O, R>(
        mut self,
        name: impl Into<EventName>,
        object: &Rc<O>,
        method: fn(&O, &mut Ctx<'_, H>) -> R,
    ) -> Self
    where
        O: 'static,
        R: Into<Value> + 'static,
    {
        let object = object.clone();
        self.states.insert(
            name.into(),
            handler(move |ctx: &mut Ctx<'_, H>| method(&object, ctx)),
        );
        self
    }

    /// Arguments passed to `_start` as `ARG0`, `ARG1`, ... (POE's `args`).
    pub fn args(mut self, args: impl IntoArgs) -> Self {
        self.args = args.into_args();
        self
    }

    /// Set the session's options.
    pub fn options(mut self, options: SessionOptions) -> Self {
        self.options = options;
        self
    }

    /// True if a state of that name has been added.
    pub fn has_state(&self, name: &str) -> bool {
        self.states.contains(name)
    }
}

/// What creating a session reports: its ID, and what its `_start` returned.
#[derive(Debug)]
pub struct Created {
    /// The new session (it may already have stopped if `_start` stopped it).
    pub id: SessionId,
    /// The value `_start` returned (also given to the parent's `_child`).
    pub start_result: Value,
}
