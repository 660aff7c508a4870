//! [`StateSet`]: states built once and shared by many sessions.

use super::states::{handler, BaseStates, Handler};
use super::Ctx;
use crate::name::EventName;
use crate::value::Value;
use std::rc::Rc;

/// States built once and shared by many sessions: a component that starts
/// a session per connection gives each the same set
/// ([`Session::states_from`](crate::Session::states_from)), and the
/// sessions hold no table entries of their own for these states — on an
/// idle connection, 40 bytes each.
///
/// A session's own states (added with `state`, `shared_state` or
/// `object_state`, before or after, or later by a wheel or `ctx.state`)
/// take precedence over the set's. Replacing or removing one of the set's
/// states from a handler changes that session only.
///
/// ```
/// use poe_kernel::{Ctx, Kernel, Session, StateSet};
/// use std::{cell::Cell, rc::Rc};
///
/// let states = StateSet::new()
///     .state("_start", |ctx| ctx.yield_("hello", ()))
///     .state("hello", |ctx: &mut Ctx<Rc<Cell<u32>>>| ctx.heap.set(ctx.heap.get() + 1));
/// let greeted = Rc::new(Cell::new(0));
/// let kernel = Kernel::new().unwrap();
/// for _ in 0..3 {
///     kernel.create(Session::new(greeted.clone()).states_from(&states)).unwrap();
/// }
/// kernel.run();
/// assert_eq!(greeted.get(), 3);
/// ```
pub struct StateSet<H: 'static> {
    states: BaseStates<H>,
}

impl<H: 'static> StateSet<H> {
    /// No states yet.
    pub fn new() -> StateSet<H> {
        StateSet {
            states: Rc::new([]),
        }
    }

    /// Add (or replace) a state handled by a closure, as
    /// [`Session::state`](crate::Session::state) does.
    pub fn state<F, R>(self, name: impl Into<EventName>, f: F) -> Self
    where
        F: Fn(&mut Ctx<'_, H>) -> R + 'static,
        R: Into<Value>,
    {
        self.shared_state(name, handler(f))
    }

    /// Add (or replace) a state whose handler is already built.
    pub fn shared_state(self, name: impl Into<EventName>, handler: Handler<H>) -> Self {
        let name = name.into();
        let mut states: Vec<(EventName, Handler<H>)> = self.states.to_vec();
        match states.iter_mut().find(|(n, _)| *n == name) {
            Some(entry) => entry.1 = handler,
            None => states.push((name, handler)),
        }
        StateSet {
            states: states.into(),
        }
    }

    /// The shared list a session's table points at.
    pub(crate) fn base(&self) -> BaseStates<H> {
        self.states.clone()
    }
}

impl<H: 'static> Default for StateSet<H> {
    fn default() -> Self {
        StateSet::new()
    }
}

impl<H: 'static> Clone for StateSet<H> {
    fn clone(&self) -> Self {
        StateSet {
            states: self.states.clone(),
        }
    }
}
