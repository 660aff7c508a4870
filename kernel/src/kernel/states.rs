//! Changing a session's states from outside its handlers.
//!
//! Inside a handler, `Ctx::state` adds and replaces states. Wheels also
//! need to remove their hidden states when they are dropped, which can
//! happen anywhere; these calls reach the table without the heap.

use super::Kernel;
use crate::session::states::ErasedStates;
use crate::session::Dest;
use std::rc::Rc;

impl Kernel {
    /// Remove state `name` from a session (a handle, an ID or an alias).
    /// Returns whether it existed; `false` too when the session does not.
    pub fn remove_state(&self, session: impl Into<Dest>, name: &str) -> bool {
        let dest = session.into();
        let table = self.states_of(&dest);
        let removed = table.is_some_and(|t| t.remove_state(name));
        if removed {
            log::trace!(target: "poe::session", "{dest} state '{name}' removed");
        }
        removed
    }

    /// True if the session (a handle, an ID or an alias) exists and has a
    /// handler for `name`.
    pub fn has_state(&self, session: impl Into<Dest>, name: &str) -> bool {
        self.states_of(&session.into())
            .is_some_and(|t| t.has_state(name))
    }

    /// The session's state table, shared (used with no borrow held).
    fn states_of(&self, dest: &Dest) -> Option<Rc<dyn ErasedStates>> {
        let session = self.resolve_session(dest).ok()?;
        let reg = self.inner.sessions.borrow();
        reg.get(session).map(|s| s.states.clone())
    }
}
