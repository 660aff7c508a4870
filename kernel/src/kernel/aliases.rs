//! Aliases (§9), session IDs, and extra references (§12).

use super::Kernel;
use crate::error::{KernelError, Result};
use crate::session::{Dest, SessionId};

impl Kernel {
    /// Give the running session an alias (POE's `alias_set`). Each alias
    /// keeps the session alive until removed. Setting an alias the session
    /// already has succeeds; one held by another session fails with
    /// `AliasInUse` (POE's `EEXIST`).
    pub fn alias_set(&self, alias: &str) -> Result<()> {
        let me = self.current("alias_set")?;
        let mut reg = self.inner.sessions.borrow_mut();
        match reg.alias(alias) {
            Some(owner) if owner == me => return Ok(()),
            Some(owner) => {
                log::warn!(target: "poe::usage", "alias '{alias}' already belongs to session {owner}");
                return Err(KernelError::AliasInUse {
                    alias: alias.to_owned(),
                    owner,
                });
            }
            None => {}
        }
        reg.aliases.insert(alias.to_owned(), me);
        if let Some(slot) = reg.get_mut(me) {
            slot.aliases.push(alias.to_owned());
        }
        log::trace!(target: "poe::aliases", "session {me} takes alias '{alias}'");
        Ok(())
    }

    /// Remove an alias of the running session (POE's `alias_remove`):
    /// `NoSuchAlias` if nobody has it, `NotPermitted` if another session
    /// does.
    pub fn alias_remove(&self, alias: &str) -> Result<()> {
        let me = self.current("alias_remove")?;
        let mut reg = self.inner.sessions.borrow_mut();
        match reg.alias(alias) {
            None => Err(KernelError::NoSuchAlias(alias.to_owned())),
            Some(owner) if owner != me => Err(KernelError::NotPermitted(
                "the alias belongs to another session",
            )),
            Some(_) => {
                reg.aliases.remove(alias);
                if let Some(slot) = reg.get_mut(me) {
                    slot.aliases.retain(|a| a != alias);
                }
                reg.check(me);
                log::trace!(target: "poe::aliases", "session {me} drops alias '{alias}'");
                Ok(())
            }
        }
    }

    /// Resolve anything naming a session — a handle, an ID, an alias, the
    /// kernel's ID — to a live session (POE's `alias_resolve`).
    pub fn alias_resolve(&self, dest: impl Into<Dest>) -> Option<SessionId> {
        self.resolve(&dest.into()).ok()
    }

    /// A session's aliases, sorted (POE's `alias_list`).
    pub fn alias_list(&self, dest: impl Into<Dest>) -> Result<Vec<String>> {
        let sid = self.resolve(&dest.into())?;
        let reg = self.inner.sessions.borrow();
        let mut list = reg.get(sid).map(|s| s.aliases.clone()).unwrap_or_default();
        list.sort();
        Ok(list)
    }

    /// The live session with integer ID `id` (POE's `ID_id_to_session`).
    /// ID 0 is the kernel.
    pub fn id_to_session(&self, id: u64) -> Result<SessionId> {
        self.resolve(&Dest::Id(id))
    }

    /// Add an extra reference to a session under `tag` and return the
    /// tag's new count (POE's `refcount_increment`). While any tag counts,
    /// the session stays alive and the kernel is never idle.
    pub fn refcount_increment(&self, dest: impl Into<Dest>, tag: &str) -> Result<u32> {
        let sid = self.resolve_session(&dest.into())?;
        let mut reg = self.inner.sessions.borrow_mut();
        let slot = reg.get_mut(sid).expect("resolved session exists");
        let count = match slot.extra_refs.iter_mut().find(|(t, _)| t == tag) {
            Some((_, n)) => {
                *n += 1;
                *n
            }
            None => {
                // Most sessions hold one tag (a wheel's keep-alive): room
                // for one, not four, on every idle connection. A session
                // with more (many wheels) grows the usual way.
                if slot.extra_refs.capacity() == 0 {
                    slot.extra_refs.reserve_exact(1);
                }
                slot.extra_refs.push((tag.to_owned(), 1));
                reg.extra_ref_total += 1;
                1
            }
        };
        log::trace!(target: "poe::refcount", "session {sid} tag '{tag}' up to {count}");
        Ok(count)
    }

    /// Drop an extra reference (POE's `refcount_decrement`); returns the
    /// tag's new count. At zero the tag is gone and the session may be
    /// collected.
    pub fn refcount_decrement(&self, dest: impl Into<Dest>, tag: &str) -> Result<u32> {
        let sid = self.resolve_session(&dest.into())?;
        let mut reg = self.inner.sessions.borrow_mut();
        let slot = reg.get_mut(sid).expect("resolved session exists");
        let Some(pos) = slot.extra_refs.iter().position(|(t, _)| t == tag) else {
            return Ok(0);
        };
        slot.extra_refs[pos].1 -= 1;
        let count = slot.extra_refs[pos].1;
        if count == 0 {
            slot.extra_refs.remove(pos);
            reg.extra_ref_total -= 1;
            reg.check(sid);
        }
        log::trace!(target: "poe::refcount", "session {sid} tag '{tag}' down to {count}");
        Ok(count)
    }
}
