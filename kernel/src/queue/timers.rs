//! [`TimerQueue`]: alarms in a binary min-heap with an index, so setting,
//! removing and adjusting one by ID are all O(log n).

use crate::event::Event;
use crate::fxhash::FxHashMap;
use slab::Slab;
use std::fmt;

/// The ID of a pending alarm (what `alarm_set` and `delay_set` return).
///
/// It stays valid until the alarm fires or is removed; after that every
/// call taking it fails with `NoSuchAlarm`, even if the kernel reuses the
/// storage for another alarm.
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
pub struct AlarmId(u64);

impl AlarmId {
    fn new(key: usize, seq: u64) -> AlarmId {
        AlarmId(((seq as u32 as u64) << 32) | key as u32 as u64)
    }

    fn key(self) -> usize {
        (self.0 & 0xffff_ffff) as usize
    }

    fn tag(self) -> u32 {
        (self.0 >> 32) as u32
    }

    /// The ID as one integer (to store it in a `Value`).
    pub fn as_u64(self) -> u64 {
        self.0
    }

    /// Rebuild an ID from [`AlarmId::as_u64`].
    pub fn from_u64(raw: u64) -> AlarmId {
        AlarmId(raw)
    }
}

impl fmt::Display for AlarmId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.0)
    }
}

impl fmt::Debug for AlarmId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "AlarmId({})", self.0)
    }
}

impl From<AlarmId> for crate::Value {
    fn from(id: AlarmId) -> crate::Value {
        crate::Value::from(id.0)
    }
}

struct Timer {
    due: f64,
    seq: u64,
    event: Event,
}

/// A heap entry carries its own sort key, so sifting never chases pointers.
#[derive(Clone, Copy)]
struct Entry {
    due: f64,
    seq: u64,
    key: u32,
}

impl Entry {
    #[inline]
    fn before(&self, other: &Entry) -> bool {
        self.due < other.due || (self.due == other.due && self.seq < other.seq)
    }
}

/// A fired or removed alarm.
pub(crate) struct Expired {
    pub due: f64,
    pub event: Event,
}

/// Pending alarms ordered by (due time, creation order).
#[derive(Default)]
pub(crate) struct TimerQueue {
    heap: Vec<Entry>,
    timers: Slab<Timer>,
    /// Where each timer (by slab key) sits in `heap`. Kept apart from the
    /// timers so sifting through a million-entry heap touches 4 bytes per
    /// move instead of a whole timer's cache line.
    heap_pos: Vec<u32>,
    /// Where each timer sits in its owner's list (same reason).
    owner_pos: Vec<u32>,
    /// Each session's alarms (slab keys), for removal by name and at stop.
    by_owner: FxHashMap<u64, Vec<u32>>,
}

impl TimerQueue {
    pub(crate) fn len(&self) -> usize {
        self.heap.len()
    }

    pub(crate) fn peek(&self) -> Option<(f64, u64)> {
        self.heap.first().map(|e| (e.due, e.seq))
    }

    pub(crate) fn insert(&mut self, due: f64, seq: u64, event: Event) -> AlarmId {
        let owner = event.dest.get();
        let list = self.by_owner.entry(owner).or_default();
        let owner_pos = list.len();
        let heap_pos = self.heap.len();
        let key = self.timers.insert(Timer { due, seq, event });
        if key >= self.heap_pos.len() {
            self.heap_pos.resize(key + 1, 0);
            self.owner_pos.resize(key + 1, 0);
        }
        self.owner_pos[key] = owner_pos as u32;
        list.push(key as u32);
        self.heap.push(Entry {
            due,
            seq,
            key: key as u32,
        });
        self.sift_up(heap_pos);
        AlarmId::new(key, seq)
    }

    fn lookup(&self, id: AlarmId) -> Option<&Timer> {
        self.timers
            .get(id.key())
            .filter(|t| t.seq as u32 == id.tag())
    }

    /// The owning session's integer ID and due time of a pending alarm.
    pub(crate) fn owner_and_due(&self, id: AlarmId) -> Option<(u64, f64)> {
        self.lookup(id).map(|t| (t.event.dest.get(), t.due))
    }

    /// Pop the earliest alarm if it is due at or before `now`.
    pub(crate) fn pop_due(&mut self, now: f64) -> Option<Expired> {
        let head = *self.heap.first()?;
        if head.due > now {
            return None;
        }
        Some(self.remove_key(head.key as usize))
    }

    pub(crate) fn remove(&mut self, id: AlarmId) -> Option<Expired> {
        self.lookup(id)?;
        Some(self.remove_key(id.key()))
    }

    /// Move an alarm to a new due time. It keeps its creation order for
    /// ties, so moving it never reorders it against same-time peers it was
    /// already behind.
    pub(crate) fn reschedule(&mut self, id: AlarmId, due: f64) -> Option<()> {
        self.lookup(id)?;
        self.timers[id.key()].due = due;
        let pos = self.heap_pos[id.key()] as usize;
        self.heap[pos].due = due;
        self.sift_up(pos);
        let pos = self.heap_pos[id.key()] as usize;
        self.sift_down(pos);
        Some(())
    }

    /// Remove every alarm of `owner` for which `pred` holds, in queue order
    /// (due time, then creation).
    pub(crate) fn remove_owned(
        &mut self,
        owner: u64,
        mut pred: impl FnMut(&Event) -> bool,
    ) -> Vec<Expired> {
        let Some(list) = self.by_owner.get(&owner) else {
            return Vec::new();
        };
        let mut keys: Vec<u32> = list
            .iter()
            .copied()
            .filter(|&k| pred(&self.timers[k as usize].event))
            .collect();
        keys.sort_by(|&a, &b| {
            let (a, b) = (&self.timers[a as usize], &self.timers[b as usize]);
            a.due.total_cmp(&b.due).then(a.seq.cmp(&b.seq))
        });
        keys.into_iter()
            .map(|k| self.remove_key(k as usize))
            .collect()
    }

    pub(crate) fn count_owned(&self, owner: u64) -> usize {
        self.by_owner.get(&owner).map_or(0, Vec::len)
    }

    fn remove_key(&mut self, key: usize) -> Expired {
        let t = self.timers.remove(key);
        // Unlink from the owner's list (swap-remove, fixing the moved one).
        let owner = t.event.dest.get();
        if let Some(list) = self.by_owner.get_mut(&owner) {
            let at = self.owner_pos[key] as usize;
            list.swap_remove(at);
            if let Some(&moved) = list.get(at) {
                self.owner_pos[moved as usize] = at as u32;
            }
            if list.is_empty() {
                self.by_owner.remove(&owner);
            }
        }
        // Unlink from the heap: move the last entry into the hole.
        let pos = self.heap_pos[key] as usize;
        let last = self.heap.pop().expect("timer in heap");
        if pos < self.heap.len() {
            self.heap[pos] = last;
            self.heap_pos[last.key as usize] = pos as u32;
            self.sift_up(pos);
            let p = self.heap_pos[last.key as usize] as usize;
            self.sift_down(p);
        }
        Expired {
            due: t.due,
            event: t.event,
        }
    }

    fn sift_up(&mut self, mut pos: usize) {
        let entry = self.heap[pos];
        while pos > 0 {
            let parent = (pos - 1) / 2;
            if !entry.before(&self.heap[parent]) {
                break;
            }
            self.heap[pos] = self.heap[parent];
            self.heap_pos[self.heap[pos].key as usize] = pos as u32;
            pos = parent;
        }
        self.heap[pos] = entry;
        self.heap_pos[entry.key as usize] = pos as u32;
    }

    fn sift_down(&mut self, mut pos: usize) {
        let entry = self.heap[pos];
        let len = self.heap.len();
        loop {
            let left = 2 * pos + 1;
            if left >= len {
                break;
            }
            let right = left + 1;
            let child = if right < len && self.heap[right].before(&self.heap[left]) {
                right
            } else {
                left
            };
            if !self.heap[child].before(&entry) {
                break;
            }
            self.heap[pos] = self.heap[child];
            self.heap_pos[self.heap[pos].key as usize] = pos as u32;
            pos = child;
        }
        self.heap[pos] = entry;
        self.heap_pos[entry.key as usize] = pos as u32;
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::event::EventKind;
    use crate::session::SessionId;

    fn ev(owner: u64, name: &'static str) -> Event {
        let s = SessionId::new(owner, 0);
        Event::new(
            EventKind::Alarm,
            s,
            s,
            name.into(),
            crate::value::Args::new(),
        )
    }

    fn drain(q: &mut TimerQueue) -> Vec<String> {
        let mut out = Vec::new();
        while let Some(e) = q.pop_due(f64::INFINITY) {
            out.push(e.event.name.to_string());
        }
        out
    }

    #[test]
    fn equal_due_times_fire_in_creation_order() {
        let mut q = TimerQueue::default();
        for (i, n) in ["a", "b", "c", "d"].into_iter().enumerate() {
            q.insert(5.0, i as u64, ev(1, n));
        }
        assert_eq!(drain(&mut q), ["a", "b", "c", "d"]);
    }

    #[test]
    fn removal_and_reschedule_keep_heap_order() {
        let mut q = TimerQueue::default();
        let mut ids = Vec::new();
        let names = ["t0", "t1", "t2", "t3", "t4", "t5", "t6", "t7"];
        for (i, n) in names.into_iter().enumerate() {
            ids.push(q.insert(i as f64, i as u64, ev(1, n)));
        }
        q.remove(ids[3]).unwrap();
        q.reschedule(ids[0], 6.5).unwrap();
        q.reschedule(ids[7], -1.0).unwrap();
        assert!(q.remove(ids[3]).is_none(), "stale id is rejected");
        assert_eq!(drain(&mut q), ["t7", "t1", "t2", "t4", "t5", "t6", "t0"]);
        assert!(q.by_owner.is_empty());
    }

    #[test]
    fn pop_due_respects_now() {
        let mut q = TimerQueue::default();
        q.insert(2.0, 0, ev(1, "later"));
        q.insert(1.0, 1, ev(1, "sooner"));
        assert_eq!(q.pop_due(1.5).unwrap().event.name, "sooner");
        assert!(q.pop_due(1.5).is_none());
    }

    #[test]
    fn remove_owned_filters_by_session_and_predicate() {
        let mut q = TimerQueue::default();
        q.insert(1.0, 0, ev(1, "x"));
        q.insert(2.0, 1, ev(2, "x"));
        q.insert(3.0, 2, ev(1, "y"));
        q.insert(4.0, 3, ev(1, "x"));
        let removed = q.remove_owned(1, |e| e.name == "x");
        assert_eq!(removed.len(), 2);
        assert_eq!(q.count_owned(1), 1);
        assert_eq!(drain(&mut q), ["x", "y"]);
    }

    #[test]
    fn stale_ids_never_match_a_reused_slot() {
        let mut q = TimerQueue::default();
        let old = q.insert(1.0, 10, ev(1, "old"));
        q.remove(old).unwrap();
        let new = q.insert(1.0, 11, ev(1, "new"));
        assert_ne!(old, new);
        assert!(q.remove(old).is_none());
        assert!(q.remove(new).is_some());
    }
}
