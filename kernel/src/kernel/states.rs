//! Changing a session's states from outside its handlers.
//!
//! Inside a handler, `Ctx::state` adds and replaces states. Wheels also
//! need to remove their hidden states when they are dropped, which can
//! happen anywhere; these calls reach the table without the heap.

use super::Kernel;
use crate::session::states::ErasedStates;
use crate::session::SessionId;
use std::rc::Rc;

impl Kernel {
    /// Remove state `name` from `session`. Returns whether it existed.
    pub fn remove_state(&self, session: SessionId, name: &str) -> bool {
        let table = self.states_of(session);
        let removed = table.is_some_and(|t| t.remove_state(name));
        if removed {
            log::trace!(target: "poe::session", "session {session} state '{name}' removed");
        }
        removed
    }

    /// True if `session` exists and has a handler for `name`.
    pub fn has_state(&self, session: SessionId, name: &str) -> bool {
        self.states_of(session).is_some_and(|t| t.has_state(name))
    }

    /// The session's state table, shared (used with no borrow held).
    fn states_of(&self, session: SessionId) -> Option<Rc<dyn ErasedStates>> {
        let reg = self.inner.sessions.borrow();
        reg.get(session).map(|s| s.states.clone())
    }
}
