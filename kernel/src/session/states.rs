//! A session's state table: event name -> handler.

use super::Ctx;
use crate::fxhash::FxHashMap;
use crate::name::EventName;
use crate::value::Value;
use std::cell::{Cell, RefCell};
use std::rc::Rc;

/// A state handler. Shared so a dispatch can hold it while the handler
/// itself replaces or removes states.
pub(crate) type Handler<H> = Rc<dyn Fn(&mut Ctx<'_, H>) -> Value>;

/// Turn a user closure returning anything `Into<Value>` into a [`Handler`].
pub(crate) fn handler<H, F, R>(f: F) -> Handler<H>
where
    H: 'static,
    F: Fn(&mut Ctx<'_, H>) -> R + 'static,
    R: Into<Value>,
{
    Rc::new(move |ctx: &mut Ctx<'_, H>| f(ctx).into())
}

/// The handlers of one session, typed by its heap.
pub(crate) struct StateTable<H: 'static> {
    map: FxHashMap<EventName, Handler<H>>,
    /// The identity ([`EventName::identity`]) of the last name looked up,
    /// `(0, 0)` for none: a wheel delivers the same event (the same
    /// literal, or the same shared name) record after record, and comparing
    /// two words skips hashing it each time.
    last_key: Cell<(usize, usize)>,
    /// That name and its handler. Holding the name keeps a shared name's
    /// allocation, and so its identity, from being reused.
    last: RefCell<Option<(EventName, Handler<H>)>>,
}

impl<H: 'static> Default for StateTable<H> {
    fn default() -> Self {
        StateTable {
            map: FxHashMap::default(),
            last_key: Cell::new((0, 0)),
            last: RefCell::new(None),
        }
    }
}

impl<H: 'static> StateTable<H> {
    /// The handler for `name`, shared.
    pub(crate) fn get(&self, name: &EventName) -> Option<Handler<H>> {
        let key = name.identity();
        if key == self.last_key.get() {
            if let Some((_, handler)) = &*self.last.borrow() {
                return Some(handler.clone());
            }
        }
        let handler = self.map.get(name)?.clone();
        *self.last.borrow_mut() = Some((name.clone(), handler.clone()));
        self.last_key.set(key);
        Some(handler)
    }

    fn forget_last(&self) {
        self.last_key.set((0, 0));
        *self.last.borrow_mut() = None;
    }

    pub(crate) fn insert(&mut self, name: EventName, h: Handler<H>) -> Option<Handler<H>> {
        self.forget_last();
        self.map.insert(name, h)
    }

    pub(crate) fn remove(&mut self, name: &str) -> Option<Handler<H>> {
        self.forget_last();
        self.map.remove(name)
    }

    pub(crate) fn contains(&self, name: &str) -> bool {
        self.map.contains_key(name)
    }

    pub(crate) fn names(&self) -> Vec<String> {
        let mut v: Vec<String> = self.map.keys().map(|k| k.to_string()).collect();
        v.sort();
        v
    }
}

/// The state table as the kernel shares it with the session's dispatches.
pub(crate) type SharedStates<H> = Rc<RefCell<StateTable<H>>>;

/// What the kernel may do to a state table without knowing the heap type:
/// wheels remove their hidden states from `Drop`, where no `Ctx` exists.
pub(crate) trait ErasedStates {
    fn remove_state(&self, name: &str) -> bool;
    fn has_state(&self, name: &str) -> bool;
    fn state_names(&self) -> Vec<String>;
}

impl<H: 'static> ErasedStates for RefCell<StateTable<H>> {
    fn remove_state(&self, name: &str) -> bool {
        // Drop the handler after releasing the borrow: its captures may have
        // destructors that reach back into this table.
        let removed = self.borrow_mut().remove(name);
        removed.is_some()
    }

    fn has_state(&self, name: &str) -> bool {
        self.borrow().contains(name)
    }

    fn state_names(&self) -> Vec<String> {
        self.borrow().names()
    }
}
