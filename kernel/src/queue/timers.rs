//! [`TimerQueue`]: alarms in a 4-ary min-heap with an index, so setting,
//! removing and adjusting one by ID are all O(log n), and an index by
//! session and event name, so clearing a name costs O(log n) per alarm it
//! removes.

use super::by_name::NameIndex;
use crate::event::Event;
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
    /// The creation sequence number: the tag in the alarm's ID. Its place
    /// among same-time alarms is the heap entry's `seq`, which changes when
    /// the alarm is moved.
    seq: u64,
    event: Event,
}

/// Children per heap node. With four, a million alarms make a heap ten
/// levels deep instead of twenty, and a node's children sit side by side:
/// sifting costs about half the cache misses of a binary heap (the
/// alarms benchmark is bound by those misses, not by comparisons).
const ARITY: usize = 4;

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

/// Pending alarms ordered by (due time, queue order).
#[derive(Default)]
pub(crate) struct TimerQueue {
    heap: Vec<Entry>,
    timers: Slab<Timer>,
    /// Where each timer (by slab key) sits in `heap`. Kept apart from the
    /// timers so sifting through a million-entry heap touches 4 bytes per
    /// move instead of a whole timer's cache line.
    heap_pos: Vec<u32>,
    /// Each session's alarms by name, for removal by name and at stop.
    by_name: NameIndex,
}

impl TimerQueue {
    pub(crate) fn len(&self) -> usize {
        self.heap.len()
    }

    pub(crate) fn is_empty(&self) -> bool {
        self.heap.is_empty()
    }

    pub(crate) fn peek(&self) -> Option<(f64, u64)> {
        self.heap.first().map(|e| (e.due, e.seq))
    }

    pub(crate) fn insert(&mut self, due: f64, seq: u64, event: Event) -> AlarmId {
        let heap_pos = self.heap.len();
        let key = self.timers.vacant_key();
        self.by_name.insert(key, event.dest.get(), &event.name);
        self.timers.insert(Timer { due, seq, event });
        if key >= self.heap_pos.len() {
            self.heap_pos.resize(key + 1, 0);
        }
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

    /// Move an alarm to a new due time, queued behind every item already
    /// due then (`seq` is a fresh sequence number), as POE re-inserts a
    /// moved alarm.
    pub(crate) fn reschedule(&mut self, id: AlarmId, due: f64, seq: u64) -> Option<()> {
        self.lookup(id)?;
        self.timers[id.key()].due = due;
        let pos = self.heap_pos[id.key()] as usize;
        self.heap[pos].due = due;
        self.heap[pos].seq = seq;
        self.sift_up(pos);
        let pos = self.heap_pos[id.key()] as usize;
        self.sift_down(pos);
        Some(())
    }

    /// Remove `keys` in queue order (due time, then queue sequence).
    fn remove_keys(&mut self, mut keys: Vec<u32>) -> Vec<Expired> {
        keys.sort_by(|&a, &b| {
            let a = &self.heap[self.heap_pos[a as usize] as usize];
            let b = &self.heap[self.heap_pos[b as usize] as usize];
            a.due.total_cmp(&b.due).then(a.seq.cmp(&b.seq))
        });
        keys.into_iter()
            .map(|k| self.remove_key(k as usize))
            .collect()
    }

    /// Remove every alarm of `owner` named `name`, in queue order. Costs
    /// O(log n) per alarm removed, whatever else the session has pending.
    pub(crate) fn remove_named(&mut self, owner: u64, name: &str) -> Vec<Expired> {
        let keys = self.by_name.named(owner, name);
        self.remove_keys(keys)
    }

    /// Remove every alarm of `owner`, in queue order.
    pub(crate) fn remove_all_owned(&mut self, owner: u64) -> Vec<Expired> {
        let keys = self.by_name.owned(owner);
        self.remove_keys(keys)
    }

    pub(crate) fn count_owned(&self, owner: u64) -> usize {
        self.by_name.count(owner)
    }

    /// Out of line: its sift loops would otherwise make every queue read
    /// (most of which find no alarm due) save and restore registers.
    #[inline(never)]
    fn remove_key(&mut self, key: usize) -> Expired {
        let t = self.timers.remove(key);
        self.by_name.remove(key);
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
            let parent = (pos - 1) / ARITY;
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
            let first = ARITY * pos + 1;
            if first >= len {
                break;
            }
            let mut child = first;
            for c in first + 1..(first + ARITY).min(len) {
                if self.heap[c].before(&self.heap[child]) {
                    child = c;
                }
            }
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
        q.reschedule(ids[0], 6.5, 8).unwrap();
        q.reschedule(ids[7], -1.0, 9).unwrap();
        assert!(q.remove(ids[3]).is_none(), "stale id is rejected");
        assert_eq!(drain(&mut q), ["t7", "t1", "t2", "t4", "t5", "t6", "t0"]);
        assert!(q.by_name.is_empty());
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
    fn remove_named_takes_only_that_sessions_alarms_of_that_name() {
        let mut q = TimerQueue::default();
        q.insert(4.0, 0, ev(1, "x"));
        q.insert(2.0, 1, ev(2, "x"));
        q.insert(3.0, 2, ev(1, "y"));
        q.insert(1.0, 3, ev(1, "x"));
        let removed = q.remove_named(1, "x");
        let dues: Vec<f64> = removed.iter().map(|e| e.due).collect();
        assert_eq!(dues, [1.0, 4.0], "in queue order");
        assert_eq!(q.count_owned(1), 1);
        assert_eq!(q.count_owned(2), 1);
        assert!(q.remove_named(1, "x").is_empty());
        assert_eq!(drain(&mut q), ["x", "y"]);
        assert!(q.by_name.is_empty());
    }

    #[test]
    fn a_rescheduled_alarm_queues_behind_others_due_at_its_new_time() {
        let mut q = TimerQueue::default();
        let a = q.insert(1.0, 0, ev(1, "a"));
        q.insert(2.0, 1, ev(1, "b"));
        q.insert(2.0, 2, ev(1, "c"));
        q.reschedule(a, 2.0, 3).unwrap();
        q.insert(2.0, 4, ev(1, "d"));
        assert_eq!(drain(&mut q), ["b", "c", "a", "d"]);
    }

    #[test]
    fn remove_all_owned_returns_every_name_in_queue_order() {
        let mut q = TimerQueue::default();
        q.insert(3.0, 0, ev(1, "x"));
        q.insert(1.0, 1, ev(1, "y"));
        q.insert(2.0, 2, ev(1, "x"));
        q.insert(2.0, 3, ev(2, "x"));
        let names: Vec<String> = q
            .remove_all_owned(1)
            .into_iter()
            .map(|e| format!("{}@{}", e.event.name, e.due))
            .collect();
        assert_eq!(names, ["y@1", "x@2", "x@3"]);
        assert_eq!(q.count_owned(1), 0);
        assert_eq!(q.len(), 1);
    }

    /// Random sets, removals, moves and pops against a plain sorted list:
    /// the heap must fire exactly what the model fires, in its order.
    #[test]
    fn random_operations_match_a_sorted_model() {
        let mut rng = 0x9e37_79b9_7f4a_7c15u64;
        let mut next = move || {
            rng ^= rng << 13;
            rng ^= rng >> 7;
            rng ^= rng << 17;
            rng
        };
        let mut q = TimerQueue::default();
        // (due, seq, id) of every pending alarm.
        let mut model: Vec<(f64, u64, AlarmId)> = Vec::new();
        let mut seq = 0u64;
        for _ in 0..20_000 {
            seq += 1;
            // Few distinct times, so ties are common.
            let due = (next() % 64) as f64;
            match next() % 8 {
                0..=3 => {
                    let id = q.insert(due, seq, ev(next() % 3, "t"));
                    model.push((due, seq, id));
                }
                4 if !model.is_empty() => {
                    let (_, _, id) = model.swap_remove((next() as usize) % model.len());
                    assert!(q.remove(id).is_some());
                    assert!(q.remove(id).is_none());
                }
                5 if !model.is_empty() => {
                    let i = (next() as usize) % model.len();
                    q.reschedule(model[i].2, due, seq).unwrap();
                    model[i].0 = due;
                    model[i].1 = seq;
                }
                _ => {
                    let now = (next() % 64) as f64;
                    model.sort_by(|a, b| a.0.total_cmp(&b.0).then(a.1.cmp(&b.1)));
                    let due_now = model.iter().take_while(|m| m.0 <= now).count();
                    for (want_due, _, id) in model.drain(..due_now) {
                        assert!(q.owner_and_due(id).is_some());
                        assert_eq!(q.pop_due(now).map(|e| e.due), Some(want_due));
                        assert!(q.owner_and_due(id).is_none(), "popped out of order");
                    }
                    assert!(q.pop_due(now).is_none());
                }
            }
            assert_eq!(q.len(), model.len());
        }
        model.sort_by(|a, b| a.0.total_cmp(&b.0).then(a.1.cmp(&b.1)));
        for (want_due, _, id) in model {
            assert_eq!(q.owner_and_due(id).map(|(_, d)| d), Some(want_due));
            assert_eq!(q.pop_due(f64::INFINITY).map(|e| e.due), Some(want_due));
        }
        assert!(q.by_name.is_empty());
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
