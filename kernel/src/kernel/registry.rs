//! [`Registry`]: every live session, its place in the tree, what holds it
//! alive, and the aliases. Pure bookkeeping: nothing here dispatches.

use crate::event::Event;
use crate::fxhash::FxHashMap;
use crate::session::body::Body;
use crate::session::states::ErasedStates;
use crate::session::{SessionId, SessionOptions};
use slab::Slab;
use std::collections::{BTreeSet, VecDeque};
use std::os::fd::RawFd;
use std::rc::Rc;

/// Where a session is in its life.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Phase {
    /// Inside its own `_start`.
    Starting,
    Running,
    /// Its stop has begun; it gets no second one.
    Stopping,
}

/// One session as the kernel keeps it.
pub(crate) struct SessionSlot {
    pub id: SessionId,
    pub parent: SessionId,
    /// In ID order (which is creation order, except for adopted children);
    /// a set so a parent of 100 000 children loses each in O(log n).
    pub children: BTreeSet<SessionId>,
    pub aliases: Vec<String>,
    /// `refcount_increment` tags with a count above zero.
    pub extra_refs: Vec<(String, u32)>,
    /// Queued events (and alarms) addressed to this session.
    pub to_me: u32,
    /// Queued events sent by this session.
    pub from_me: u32,
    /// Distinct descriptors this session watches (any mode, paused too).
    pub fds: Vec<RawFd>,
    /// Child processes awaited with `sig_child`.
    pub pids: Vec<u32>,
    /// Signal names this session watches (they do not keep it alive).
    pub signals: Vec<String>,
    /// The heap and handlers; `None` while a handler of this session runs.
    pub body: Option<Box<dyn Body>>,
    pub states: Rc<dyn ErasedStates>,
    pub heap_type: &'static str,
    pub phase: Phase,
    pub options: SessionOptions,
    /// In the GC's marked list.
    pub marked: bool,
    /// Synchronous events that arrived while the heap was busy further up
    /// the call stack; delivered as soon as it comes back.
    pub deferred: VecDeque<Event>,
    /// A stop was asked for while the heap was busy.
    pub stop_pending: bool,
}

impl SessionSlot {
    /// POE's reference count is zero: nothing keeps the session alive.
    pub fn is_garbage(&self) -> bool {
        self.to_me == 0
            && self.from_me == 0
            && self.aliases.is_empty()
            && self.extra_refs.is_empty()
            && self.fds.is_empty()
            && self.children.is_empty()
            && self.pids.is_empty()
            && self.deferred.is_empty()
    }
}

/// All sessions, indexed by slot and by integer ID.
#[derive(Default)]
pub(crate) struct Registry {
    slots: Slab<SessionSlot>,
    by_id: FxHashMap<u64, u32>,
    pub aliases: FxHashMap<String, SessionId>,
    next_id: u64,
    /// The kernel's children: the top-level sessions, in ID order.
    pub top_level: BTreeSet<SessionId>,
    /// Sessions whose reference count reached zero, most recent last.
    pub marked: Vec<SessionId>,
    /// Sum of extra references over all sessions (they keep the kernel busy).
    pub extra_ref_total: usize,
    /// Child processes awaited over all sessions.
    pub pid_total: usize,
}

impl Registry {
    pub(crate) fn len(&self) -> usize {
        self.slots.len()
    }

    pub(crate) fn get(&self, sid: SessionId) -> Option<&SessionSlot> {
        self.slots.get(sid.slot()).filter(|s| s.id == sid)
    }

    pub(crate) fn get_mut(&mut self, sid: SessionId) -> Option<&mut SessionSlot> {
        self.slots.get_mut(sid.slot()).filter(|s| s.id == sid)
    }

    pub(crate) fn contains(&self, sid: SessionId) -> bool {
        self.get(sid).is_some()
    }

    /// The live session with this integer ID.
    pub(crate) fn by_number(&self, id: u64) -> Option<SessionId> {
        let slot = *self.by_id.get(&id)?;
        Some(self.slots[slot as usize].id)
    }

    pub(crate) fn ids(&self) -> Vec<SessionId> {
        let mut ids: Vec<SessionId> = self.slots.iter().map(|(_, s)| s.id).collect();
        ids.sort();
        ids
    }

    /// Register a new session under `parent`.
    pub(crate) fn insert(
        &mut self,
        parent: SessionId,
        body: Box<dyn Body>,
        options: SessionOptions,
    ) -> SessionId {
        self.next_id += 1;
        let entry = self.slots.vacant_entry();
        let sid = SessionId::new(self.next_id, entry.key());
        entry.insert(SessionSlot {
            id: sid,
            parent,
            children: BTreeSet::new(),
            aliases: Vec::new(),
            extra_refs: Vec::new(),
            to_me: 0,
            from_me: 0,
            fds: Vec::new(),
            pids: Vec::new(),
            signals: Vec::new(),
            states: body.states(),
            heap_type: body.heap_type(),
            body: Some(body),
            phase: Phase::Starting,
            options,
            marked: false,
            deferred: VecDeque::new(),
            stop_pending: false,
        });
        self.by_id.insert(sid.get(), sid.slot() as u32);
        self.children_mut(parent).insert(sid);
        sid
    }

    /// Forget a session. The caller has already moved its children and
    /// released what it held.
    pub(crate) fn remove(&mut self, sid: SessionId) -> Option<SessionSlot> {
        self.get(sid)?;
        self.by_id.remove(&sid.get());
        let slot = self.slots.remove(sid.slot());
        self.children_mut(slot.parent).remove(&sid);
        let parent = slot.parent;
        self.check(parent);
        Some(slot)
    }

    pub(crate) fn parent_of(&self, sid: SessionId) -> Option<SessionId> {
        self.get(sid).map(|s| s.parent)
    }

    /// A session's children, in ID order (none for an unknown session).
    pub(crate) fn children(&self, sid: SessionId) -> impl Iterator<Item = SessionId> + '_ {
        let set = if sid.is_kernel() {
            Some(&self.top_level)
        } else {
            self.get(sid).map(|s| &s.children)
        };
        set.into_iter().flatten().copied()
    }

    fn children_mut(&mut self, sid: SessionId) -> &mut BTreeSet<SessionId> {
        if sid.is_kernel() {
            return &mut self.top_level;
        }
        match self.slots.get_mut(sid.slot()).filter(|s| s.id == sid) {
            Some(s) => &mut s.children,
            None => &mut self.top_level,
        }
    }

    /// Move `child` under `new_parent`.
    pub(crate) fn reparent(&mut self, child: SessionId, new_parent: SessionId) {
        let Some(old) = self.parent_of(child) else {
            return;
        };
        self.children_mut(old).remove(&child);
        self.children_mut(new_parent).insert(child);
        if let Some(s) = self.get_mut(child) {
            s.parent = new_parent;
        }
        self.check(old);
    }

    /// Sessions in breadth-first order from `root` (root first; the kernel
    /// as root is left out).
    pub(crate) fn breadth_first(&self, root: SessionId) -> Vec<SessionId> {
        let mut out = Vec::new();
        if !root.is_kernel() {
            out.push(root);
        }
        out.extend(self.children(root));
        let mut i = usize::from(!root.is_kernel());
        while i < out.len() {
            out.extend(self.children(out[i]));
            i += 1;
        }
        out
    }

    /// `sid`'s parent, grandparent, ... up to the top-level one (the kernel
    /// left out), nearest first.
    pub(crate) fn ancestors(&self, sid: SessionId) -> Vec<SessionId> {
        let mut out = Vec::new();
        let mut at = sid;
        while let Some(parent) = self.get(at).map(|s| s.parent) {
            if parent.is_kernel() {
                break;
            }
            out.push(parent);
            at = parent;
        }
        out
    }

    /// Mark `sid` for the next GC sweep if nothing holds it any more.
    pub(crate) fn check(&mut self, sid: SessionId) {
        self.update_and_check(sid, |_| {});
    }

    /// Apply `change` to `sid`'s slot, then [`check`](Self::check) it: one
    /// lookup for both, on the path every queued event takes.
    #[inline]
    fn update_and_check(&mut self, sid: SessionId, change: impl FnOnce(&mut SessionSlot)) {
        let Some(s) = self.get_mut(sid) else { return };
        change(s);
        if !s.marked && s.is_garbage() && s.phase != Phase::Stopping {
            s.marked = true;
            self.mark(sid);
        }
    }

    #[inline(never)]
    fn mark(&mut self, sid: SessionId) {
        self.marked.push(sid);
        log::trace!(target: "poe::gc", "session {sid} marked for collection");
    }

    /// Count a queued event: it holds its destination and its sender.
    pub(crate) fn hold_event(&mut self, dest: SessionId, source: SessionId) {
        if let Some(s) = self.get_mut(dest) {
            s.to_me += 1;
        }
        if source != dest {
            if let Some(s) = self.get_mut(source) {
                s.from_me += 1;
            }
        }
    }

    /// Release what a queued event held (it is being dispatched or dropped).
    pub(crate) fn release_event(&mut self, dest: SessionId, source: SessionId) {
        self.update_and_check(dest, |s| s.to_me = s.to_me.saturating_sub(1));
        if source != dest {
            self.update_and_check(source, |s| s.from_me = s.from_me.saturating_sub(1));
        }
    }

    /// Resolve an alias.
    pub(crate) fn alias(&self, name: &str) -> Option<SessionId> {
        self.aliases.get(name).copied()
    }
}
