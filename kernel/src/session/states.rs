//! A session's state table: event name -> handler.

use super::Ctx;
use crate::fxhash::FxHashMap;
use crate::name::EventName;
use crate::value::Value;
use std::cell::{Cell, RefCell};
use std::rc::Rc;

/// A state handler as a session stores it. Shared, so a dispatch can hold
/// it while the handler itself replaces or removes states, and so one
/// handler can serve many sessions ([`Session::shared_state`]).
///
/// [`Session::shared_state`]: crate::Session::shared_state
pub type Handler<H> = Rc<dyn Fn(&mut Ctx<'_, H>) -> Value>;

/// Turn a user closure returning anything `Into<Value>` into a [`Handler`].
pub(crate) fn handler<H, F, R>(f: F) -> Handler<H>
where
    H: 'static,
    F: Fn(&mut Ctx<'_, H>) -> R + 'static,
    R: Into<Value>,
{
    Rc::new(move |ctx: &mut Ctx<'_, H>| f(ctx).into())
}

/// Tables up to this size are searched in order; bigger ones get a hash
/// index. Most sessions have a handful of states, and comparing a few
/// names (by address first) beats hashing one — and creating a session
/// then allocates no hash table. Sixteen covers a Server::TCP connection
/// (about a dozen states with its wheel's): an index beside the list
/// would cost each idle connection about 500 bytes more.
const SCAN_LIMIT: usize = 16;

/// How many entries a table below [`SCAN_LIMIT`] grows by when full.
const GROW_SMALL: usize = 2;

/// States many sessions share (a [`StateSet`]): read-only, behind an `Rc`.
pub(crate) type BaseStates<H> = Rc<[(EventName, Handler<H>)]>;

/// The most states a shared base may have; a bigger set is copied into
/// each session's own entries (its hidden-entry mask is one `u64`).
const BASE_LIMIT: usize = 64;

/// Marks a place in the base, not in the session's own entries, in a
/// [`Recent`] place and in what `base_position` returns.
const IN_BASE: u32 = 1 << 31;

/// The handlers of one session, typed by its heap.
///
/// A session created from a [`StateSet`] shares that set's states (the
/// base) instead of holding entries for them: the states it adds itself
/// (a wheel's hidden ones, overrides) are its own entries, which shadow
/// the base; a base state replaced or removed in this session is hidden
/// from it (a bit of `base_hidden`), never changed for the others.
pub(crate) struct StateTable<H: 'static> {
    entries: Vec<(EventName, Handler<H>)>,
    base: Option<BaseStates<H>>,
    /// Bit i: base entry i is shadowed or removed in this session.
    base_hidden: u64,
    /// Name -> place in `entries`, once there are more than [`SCAN_LIMIT`].
    index: Option<FxHashMap<EventName, usize>>,
    /// Where the last names looked up were found, most recent first
    /// ([`NO_PLACE`] for none). A session sees the same few events over
    /// and over — a connection's read, input, write and flushed events,
    /// round after round — under the same names: the same literal or the
    /// same shared allocation ([`EventName::identity`]). A name with the
    /// identity of a slot is tried at that place first. The places are
    /// forgotten whenever entries move (a removal, a new base), so a
    /// place is the one the name was found at. A literal's address is
    /// that literal for good, so a place remembered for one is trusted as
    /// it is; a shared name's address may have been freed and reused
    /// since, so for those the name stored at the place is compared (by
    /// address first).
    recent: [Cell<Recent>; RECENT],
    /// Bumped by every insert and remove: a caller that resolved a handler
    /// once for many calls ([`Ctx::call_self_each`]) re-resolves it when
    /// this moved.
    generation: u64,
}

/// One of [`StateTable::recent`]: a name's address and length (its
/// identity; a name too long for 32 bits is not remembered) and its
/// place.
#[derive(Clone, Copy)]
struct Recent {
    ptr: usize,
    len: u32,
    at: u32,
}

/// In [`Recent::at`]: the name remembered is a literal (`Static` text,
/// never freed), so a name at that address is that name.
const LASTING: u32 = 1 << 30;

/// How many places [`StateTable::recent`] keeps.
const RECENT: usize = 4;

/// An empty slot of [`StateTable::recent`].
const NO_PLACE: Recent = Recent {
    ptr: 0,
    len: 0,
    at: u32::MAX,
};

impl<H: 'static> Default for StateTable<H> {
    fn default() -> Self {
        StateTable {
            entries: Vec::new(),
            base: None,
            base_hidden: 0,
            index: None,
            recent: std::array::from_fn(|_| Cell::new(NO_PLACE)),
            generation: 0,
        }
    }
}

impl<H: 'static> StateTable<H> {
    /// The handler for `name`, shared. The check of the recent places is
    /// inlined into every dispatch; the search is not.
    #[inline(always)]
    pub(crate) fn get(&self, name: &EventName) -> Option<Handler<H>> {
        let key = name.identity();
        for slot in &self.recent {
            let r = slot.get();
            if (r.ptr, r.len as usize) == key {
                if let Some((n, h)) = self.entry(r.at & !LASTING) {
                    // A literal's place is its own; a shared name's slot
                    // may be left from a name since freed: compare.
                    if r.at & LASTING != 0 || n == name {
                        return Some(h.clone());
                    }
                }
            }
        }
        self.search(name, key)
    }

    /// The entry at a place: one of the session's own, or a base entry
    /// ([`IN_BASE`]) this session has not hidden.
    #[inline(always)]
    fn entry(&self, at: u32) -> Option<&(EventName, Handler<H>)> {
        if at & IN_BASE == 0 {
            return self.entries.get(at as usize);
        }
        let i = (at & !IN_BASE) as usize;
        if !self.base_visible(i) {
            return None;
        }
        self.base.as_deref()?.get(i)
    }

    /// Base entry `i` is neither shadowed nor removed in this session.
    #[inline]
    fn base_visible(&self, i: usize) -> bool {
        self.base_hidden & (1 << i) == 0
    }

    /// `get` for a name not found recently: find it and remember its place.
    #[inline(never)]
    fn search(&self, name: &EventName, key: (usize, usize)) -> Option<Handler<H>> {
        let at = self
            .own_position(name)
            .and_then(|at| u32::try_from(at).ok().filter(|&at| at < LASTING))
            .or_else(|| self.base_position(name))?;
        if let Ok(len) = u32::try_from(key.1) {
            let mut remembered = Recent {
                ptr: key.0,
                len,
                at: if name.is_static() { at | LASTING } else { at },
            };
            for slot in &self.recent {
                remembered = slot.replace(remembered);
            }
        }
        self.entry(at).map(|(_, h)| h.clone())
    }

    /// The table changed: no remembered place may be trusted any more.
    fn forget_places(&mut self) {
        for slot in &self.recent {
            slot.set(NO_PLACE);
        }
    }

    /// The place of `name` among the session's own entries.
    fn own_position(&self, name: &str) -> Option<usize> {
        match &self.index {
            Some(index) => index.get(name).copied(),
            None => find_named(self.entries.iter().map(|(n, _)| n).enumerate(), name),
        }
    }

    /// The place ([`IN_BASE`] set) of `name` among the base states this
    /// session has not hidden.
    fn base_position(&self, name: &str) -> Option<u32> {
        let base = self.base.as_deref()?;
        let visible = base
            .iter()
            .map(|(n, _)| n)
            .enumerate()
            .filter(|&(i, _)| self.base_visible(i));
        find_named(visible, name).map(|i| i as u32 | IN_BASE)
    }

    /// Share `base`'s states (a [`StateSet`]'s), behind any of this
    /// session's own of the same names.
    pub(crate) fn set_base(&mut self, base: BaseStates<H>) {
        self.generation += 1;
        self.forget_places();
        self.base = None;
        self.base_hidden = 0;
        if base.len() > BASE_LIMIT {
            for (name, h) in base.iter() {
                if !self.contains(name) {
                    self.insert(name.clone(), h.clone());
                }
            }
            return;
        }
        for (i, (name, _)) in base.iter().enumerate() {
            if self.own_position(name).is_some() {
                self.base_hidden |= 1 << i;
            }
        }
        self.base = Some(base);
    }

    /// Hide a visible base state (replaced or removed in this session);
    /// its handler.
    fn hide_base(&mut self, name: &str) -> Option<Handler<H>> {
        let at = self.base_position(name)?;
        let i = (at & !IN_BASE) as usize;
        self.base_hidden |= 1 << i;
        self.base.as_deref().map(|b| b[i].1.clone())
    }

    /// Changes whenever a handler is added, replaced or removed.
    #[inline]
    pub(crate) fn generation(&self) -> u64 {
        self.generation
    }

    pub(crate) fn insert(&mut self, name: EventName, h: Handler<H>) -> Option<Handler<H>> {
        // Remembered places stay true: a replaced handler keeps its place,
        // a new entry goes at the end, and a shadowed base entry is hidden
        // (`entry` checks).
        self.generation += 1;
        if let Some(at) = self.own_position(&name) {
            return Some(std::mem::replace(&mut self.entries[at].1, h));
        }
        // A shared state replaced in this session: its own entry from now.
        let replaced = self.hide_base(&name);
        if let Some(index) = &mut self.index {
            index.insert(name.clone(), self.entries.len());
        }
        if self.entries.len() == self.entries.capacity() {
            // A small table grows two entries at a time: doubling would
            // leave an idle connection's (about ten states) up to seven
            // unused entries of 40 bytes. Past the scan limit, doubling
            // (a table that size reallocates a few more times, once).
            let more = if self.entries.len() < SCAN_LIMIT {
                GROW_SMALL
            } else {
                self.entries.len()
            };
            self.entries.reserve_exact(more);
        }
        self.entries.push((name, h));
        if self.index.is_none() && self.entries.len() > SCAN_LIMIT {
            let index = self
                .entries
                .iter()
                .enumerate()
                .map(|(i, (n, _))| (n.clone(), i))
                .collect();
            self.index = Some(index);
        }
        replaced
    }

    pub(crate) fn remove(&mut self, name: &str) -> Option<Handler<H>> {
        self.generation += 1;
        self.forget_places();
        // A shared state goes from this session only. An own entry of the
        // same name had already hidden it (`insert` and `set_base` see to
        // that), so the shared states are searched only for a name this
        // session does not have.
        let Some(at) = self.own_position(name) else {
            return self.hide_base(name);
        };
        if let Some(index) = &mut self.index {
            index.remove(name);
        }
        let (_, handler) = self.entries.swap_remove(at);
        if let (Some(index), Some((moved, _))) = (&mut self.index, self.entries.get(at)) {
            index.insert(moved.clone(), at);
        }
        Some(handler)
    }

    pub(crate) fn contains(&self, name: &str) -> bool {
        self.own_position(name).is_some() || self.base_position(name).is_some()
    }

    pub(crate) fn names(&self) -> Vec<String> {
        let base = self.base.as_deref().unwrap_or(&[]);
        let shared = base
            .iter()
            .enumerate()
            .filter(|&(i, _)| self.base_visible(i))
            .map(|(_, (n, _))| n.to_string());
        let mut v: Vec<String> = self
            .entries
            .iter()
            .map(|(n, _)| n.to_string())
            .chain(shared)
            .collect();
        v.sort();
        v
    }
}

/// The place of the first of `names` that is `name`: by address first
/// (the same literal or the same shared text, the usual case), then by
/// text.
fn find_named<'a>(
    mut names: impl Iterator<Item = (usize, &'a EventName)> + Clone,
    name: &str,
) -> Option<usize> {
    let identity = (name.as_ptr() as usize, name.len());
    let mut by_text = names.clone();
    names
        .find(|(_, n)| n.identity() == identity)
        .or_else(|| by_text.find(|(_, n)| n.as_str() == name))
        .map(|(i, _)| i)
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

#[cfg(test)]
mod tests {
    use super::*;

    fn h() -> Handler<()> {
        handler(|_: &mut Ctx<'_, ()>| ())
    }

    fn same(a: Option<Handler<()>>, b: &Handler<()>) -> bool {
        a.is_some_and(|a| Rc::ptr_eq(&a, b))
    }

    /// The same checks below the scan limit and above it (hash index),
    /// with names built at run time (no shared identity) as well as
    /// literals.
    #[test]
    fn get_insert_replace_remove_agree_at_every_size() {
        for size in [1, 3, SCAN_LIMIT, SCAN_LIMIT + 1, 40] {
            let mut t = StateTable::<()>::default();
            let names: Vec<String> = (0..size).map(|i| format!("s{i}")).collect();
            let hs: Vec<Handler<()>> = names.iter().map(|_| h()).collect();
            for (n, hd) in names.iter().zip(&hs) {
                assert!(t.insert(EventName::from(n.clone()), hd.clone()).is_none());
            }
            for (n, hd) in names.iter().zip(&hs) {
                // Twice: the second is the last-found shortcut.
                let name = EventName::from(n.clone());
                assert!(same(t.get(&name), hd), "{n} of {size}");
                assert!(same(t.get(&name), hd), "{n} of {size} again");
                assert!(t.contains(n));
            }
            assert!(t.get(&EventName::from("missing")).is_none());
            // Replacing keeps one entry.
            let newer = h();
            assert!(same(
                t.insert(names[0].clone().into(), newer.clone()),
                &hs[0]
            ));
            assert!(same(t.get(&names[0].clone().into()), &newer));
            assert_eq!(t.names().len(), size);
            // Remove the first (the last entry moves into its place), then
            // every other name must still find its own handler.
            let _ = t.get(&names[size - 1].clone().into());
            assert!(same(t.remove(&names[0]), &newer));
            assert!(t.remove(&names[0]).is_none());
            assert!(t.get(&names[0].clone().into()).is_none());
            assert!(!t.contains(&names[0]));
            for (n, hd) in names.iter().zip(&hs).skip(1) {
                assert!(
                    same(t.get(&EventName::from(n.clone())), hd),
                    "{n} of {size}"
                );
            }
            assert_eq!(t.names().len(), size - 1);
        }
    }

    /// More names in turn than the recent places, names built apart from
    /// the table's own, and places that moved: every lookup still finds
    /// its own handler.
    #[test]
    fn recent_places_never_give_another_states_handler() {
        let mut t = StateTable::<()>::default();
        let names: Vec<String> = (0..RECENT + 2).map(|i| format!("n{i}")).collect();
        let hs: Vec<Handler<()>> = names.iter().map(|_| h()).collect();
        for (n, hd) in names.iter().zip(&hs) {
            t.insert(EventName::from(n.clone()), hd.clone());
        }
        // The caller's names are allocations of their own, held across
        // lookups as a wheel holds its event names.
        let asked: Vec<EventName> = names.iter().map(|n| EventName::from(n.clone())).collect();
        for _ in 0..3 {
            for (name, hd) in asked.iter().zip(&hs) {
                assert!(same(t.get(name), hd), "{name}");
            }
        }
        // Removing n0 moves the last name into its place: the recent
        // place remembered for n0 now holds another name.
        assert!(same(t.get(&asked[0]), &hs[0]));
        t.remove("n0");
        assert!(t.get(&asked[0]).is_none());
        for (name, hd) in asked.iter().zip(&hs).skip(1) {
            assert!(same(t.get(name), hd), "{name} after the move");
        }
    }

    fn base(states: &[(&'static str, &Handler<()>)]) -> BaseStates<()> {
        states
            .iter()
            .map(|&(n, h)| (EventName::from(n), h.clone()))
            .collect::<Vec<_>>()
            .into()
    }

    #[test]
    fn shared_states_are_found_and_own_states_shadow_them_whatever_the_order() {
        let (a, b, own_b, c) = (h(), h(), h(), h());
        let shared = base(&[("a", &a), ("b", &b)]);
        // Own state first, then the base.
        let mut t = StateTable::<()>::default();
        t.insert("b".into(), own_b.clone());
        t.set_base(shared.clone());
        assert!(same(t.get(&"a".into()), &a));
        assert!(same(t.get(&"b".into()), &own_b));
        assert_eq!(t.names(), ["a", "b"]);
        // Removing the own state does not bring the shared one back.
        assert!(same(t.remove("b"), &own_b));
        assert!(t.get(&"b".into()).is_none() && !t.contains("b"));
        t.insert("b".into(), own_b.clone());
        // Base first, then own states: a lookup remembered at the base's
        // place must not outlive the override.
        let mut u = StateTable::<()>::default();
        u.set_base(shared.clone());
        assert!(same(u.get(&"b".into()), &b));
        assert!(same(u.insert("b".into(), own_b.clone()), &b));
        assert!(same(u.get(&"b".into()), &own_b));
        u.insert("c".into(), c.clone());
        assert!(same(u.get(&"c".into()), &c));
        assert!(u.contains("a") && u.contains("b") && u.contains("c"));
        assert_eq!(u.names(), ["a", "b", "c"]);
    }

    #[test]
    fn removing_a_shared_state_removes_it_from_one_session_only() {
        let (a, b, again) = (h(), h(), h());
        let shared = base(&[("a", &a), ("b", &b)]);
        let (mut t, mut u) = (StateTable::<()>::default(), StateTable::<()>::default());
        t.set_base(shared.clone());
        u.set_base(shared);
        assert!(same(t.get(&"a".into()), &a));
        assert!(same(t.remove("a"), &a));
        assert!(t.get(&"a".into()).is_none());
        assert!(!t.contains("a"));
        assert!(t.remove("a").is_none());
        assert!(same(u.get(&"a".into()), &a), "the other session keeps it");
        // Overridden, then removed: gone, not back to the shared one.
        t.insert("b".into(), again.clone());
        assert!(same(t.remove("b"), &again));
        assert!(t.get(&"b".into()).is_none());
        assert!(t.names().is_empty());
        // And added again, as an own state.
        t.insert("a".into(), again.clone());
        assert!(same(t.get(&"a".into()), &again));
    }

    #[test]
    fn a_shared_set_too_big_for_the_mask_is_copied() {
        let hs: Vec<Handler<()>> = (0..BASE_LIMIT + 1).map(|_| h()).collect();
        let names: Vec<String> = (0..hs.len()).map(|i| format!("s{i}")).collect();
        let shared: BaseStates<()> = names
            .iter()
            .zip(&hs)
            .map(|(n, h)| (EventName::from(n.clone()), h.clone()))
            .collect::<Vec<_>>()
            .into();
        let mut t = StateTable::<()>::default();
        t.set_base(shared);
        assert!(t.base.is_none());
        assert_eq!(t.names().len(), BASE_LIMIT + 1);
        assert!(same(
            t.get(&names[BASE_LIMIT].clone().into()),
            &hs[BASE_LIMIT]
        ));
    }

    /// A literal's remembered place is trusted without comparing names,
    /// so it must be forgotten when the table changes: removing `a` moves
    /// `c` into its place.
    #[test]
    fn a_literals_remembered_place_is_forgotten_when_the_table_changes() {
        let mut t = StateTable::<()>::default();
        let (a, b, c) = (h(), h(), h());
        t.insert("a".into(), a.clone());
        t.insert("b".into(), b.clone());
        t.insert("c".into(), c.clone());
        let asked = EventName::from_static("a");
        assert!(same(t.get(&asked), &a));
        assert!(same(t.get(&asked), &a), "through the remembered place");
        t.remove("a");
        assert!(t.get(&asked).is_none(), "not c, which took a's place");
        assert!(same(t.get(&"c".into()), &c));
        // Replaced in place: the new handler, not the remembered one.
        let newer = h();
        assert!(same(t.get(&"b".into()), &b));
        t.insert("b".into(), newer.clone());
        assert!(same(t.get(&"b".into()), &newer));
    }

    #[test]
    fn a_removed_state_is_not_found_through_the_last_found_shortcut() {
        let mut t = StateTable::<()>::default();
        let (a, b) = (h(), h());
        t.insert("a".into(), a.clone());
        t.insert("b".into(), b.clone());
        assert!(same(t.get(&"b".into()), &b));
        t.remove("b");
        assert!(t.get(&"b".into()).is_none());
        assert!(same(t.get(&"a".into()), &a));
        t.remove("a");
        assert!(t.get(&"a".into()).is_none());
        t.insert("b".into(), b.clone());
        assert!(same(t.get(&"b".into()), &b));
    }
}
