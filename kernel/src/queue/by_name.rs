//! [`NameIndex`]: the pending alarms of each (session, event name), so
//! `alarm(NAME)` and `delay(NAME)` clear a name without looking at the
//! session's other alarms, and a stopping session finds all of its own.
//!
//! Alarms are set and fired far more often than cleared by name, so the
//! index is built for those two: each (session, name) has a list in a slab,
//! every alarm remembers its list and its place there (removal is two array
//! reads and a swap, no hashing), and the list used last is remembered by
//! the name's identity (a session setting the same event again and again
//! skips hashing its name).

use crate::fxhash::FxHashMap;
use crate::name::EventName;
use slab::Slab;

/// The alarms (timer keys) of one session and one event name.
struct NameList {
    owner: u64,
    name: EventName,
    keys: Vec<u32>,
}

/// Alarm keys by (session, event name). Keys are the timer queue's slab
/// keys; the caller inserts each once and removes it once.
#[derive(Default)]
pub(super) struct NameIndex {
    lists: Slab<NameList>,
    /// Each session's lists by name.
    by_owner: FxHashMap<u64, FxHashMap<EventName, u32>>,
    /// For each key: (its list, its place in that list). Kept in an array
    /// of its own, as the timer heap keeps its positions, and together:
    /// removing a random alarm misses the cache once here, not twice.
    place: Vec<(u32, u32)>,
    /// The list of the last insert: (owner, name identity, list). The list
    /// holds its name, so the identity cannot be reused while it lives.
    last: Option<(u64, (usize, usize), u32)>,
}

impl NameIndex {
    /// Record `key` as an alarm of `owner` named `name`.
    pub(super) fn insert(&mut self, key: usize, owner: u64, name: &EventName) {
        let list = self.list_for(owner, name);
        let keys = &mut self.lists[list as usize].keys;
        let pos = keys.len();
        keys.push(key as u32);
        if key >= self.place.len() {
            self.place.resize(key + 1, (0, 0));
        }
        self.place[key] = (list, pos as u32);
    }

    /// The list for (owner, name), made if there is none.
    fn list_for(&mut self, owner: u64, name: &EventName) -> u32 {
        let identity = name.identity();
        if let Some((o, i, list)) = self.last {
            if o == owner && i == identity {
                return list;
            }
        }
        let names = self.by_owner.entry(owner).or_default();
        let list = match names.get(name) {
            Some(&list) => list,
            None => {
                let list = self.lists.insert(NameList {
                    owner,
                    name: name.clone(),
                    keys: Vec::new(),
                }) as u32;
                names.insert(name.clone(), list);
                list
            }
        };
        // Remember the list's own copy of the name: its identity is the
        // one guaranteed to stay put.
        let kept = self.lists[list as usize].name.identity();
        if kept == identity {
            self.last = Some((owner, identity, list));
        }
        list
    }

    /// Forget `key`.
    pub(super) fn remove(&mut self, key: usize) {
        let (list, at) = self.place[key];
        let at = at as usize;
        let keys = &mut self.lists[list as usize].keys;
        keys.swap_remove(at);
        if let Some(&moved) = keys.get(at) {
            self.place[moved as usize].1 = at as u32;
        }
        if keys.is_empty() {
            self.drop_list(list);
        }
    }

    fn drop_list(&mut self, list: u32) {
        if self.last.is_some_and(|(_, _, l)| l == list) {
            self.last = None;
        }
        let gone = self.lists.remove(list as usize);
        if let Some(names) = self.by_owner.get_mut(&gone.owner) {
            names.remove(&gone.name);
            if names.is_empty() {
                self.by_owner.remove(&gone.owner);
            }
        }
    }

    /// The keys of `owner`'s alarms named `name`.
    pub(super) fn named(&self, owner: u64, name: &str) -> Vec<u32> {
        self.by_owner
            .get(&owner)
            .and_then(|names| names.get(name))
            .map(|&list| self.lists[list as usize].keys.clone())
            .unwrap_or_default()
    }

    /// The keys of all of `owner`'s alarms.
    pub(super) fn owned(&self, owner: u64) -> Vec<u32> {
        self.by_owner.get(&owner).map_or_else(Vec::new, |names| {
            names
                .values()
                .flat_map(|&list| self.lists[list as usize].keys.iter().copied())
                .collect()
        })
    }

    /// How many alarms `owner` has.
    pub(super) fn count(&self, owner: u64) -> usize {
        self.by_owner.get(&owner).map_or(0, |names| {
            names
                .values()
                .map(|&list| self.lists[list as usize].keys.len())
                .sum()
        })
    }

    /// True when no alarm is recorded.
    #[cfg(test)]
    pub(super) fn is_empty(&self) -> bool {
        self.lists.is_empty() && self.by_owner.is_empty()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_equal_in_text_share_a_list_whatever_their_allocation() {
        let mut ix = NameIndex::default();
        ix.insert(0, 1, &EventName::from("tick"));
        ix.insert(1, 1, &EventName::from(String::from("tick")));
        ix.insert(2, 1, &EventName::from(String::from("tick")));
        ix.insert(3, 1, &EventName::from("tock"));
        assert_eq!(ix.named(1, "tick"), [0, 1, 2]);
        assert_eq!(ix.count(1), 4);
        ix.remove(1);
        assert_eq!(ix.named(1, "tick"), [0, 2]);
    }

    #[test]
    fn the_remembered_list_is_per_session_and_dies_with_its_last_alarm() {
        let mut ix = NameIndex::default();
        let name = EventName::from("tick");
        ix.insert(0, 1, &name);
        ix.remove(0);
        assert!(ix.is_empty());
        ix.insert(1, 1, &name);
        ix.insert(2, 2, &name);
        ix.insert(3, 1, &name);
        assert_eq!(ix.named(1, "tick"), [1, 3]);
        assert_eq!(ix.named(2, "tick"), [2]);
        let mut all = ix.owned(1);
        all.sort();
        assert_eq!(all, [1, 3]);
        for k in [1, 2, 3] {
            ix.remove(k);
        }
        assert!(ix.is_empty());
        assert_eq!(ix.count(1), 0);
    }
}
