//! The event queue: a FIFO of posted events and a [`TimerQueue`] of alarms,
//! read in one order.
//!
//! POE keeps one queue ordered by (priority, insertion); a posted event's
//! priority is the time it was posted and an alarm's is its due time. Here
//! the two kinds live apart (the FIFO costs O(1), the timers O(log n)) and
//! every item carries a stamp and a sequence number from one counter, so
//! merging their heads by (time, seq) gives POE's order: an alarm already
//! due sorts ahead of posts made after its due time, ties go to whichever
//! was queued first.

mod by_name;
pub(crate) mod timers;

use crate::event::Event;
use std::collections::VecDeque;
use timers::{Expired, TimerQueue};

pub use timers::AlarmId;

struct Queued {
    stamp: f64,
    seq: u64,
    event: Event,
}

/// Posted events and alarms.
#[derive(Default)]
pub(crate) struct EventQueue {
    fifo: VecDeque<Queued>,
    pub(crate) timers: TimerQueue,
    seq: u64,
}

impl EventQueue {
    fn next_seq(&mut self) -> u64 {
        self.seq += 1;
        self.seq
    }

    /// The sequence number of the newest item: a due batch dispatches FIFO
    /// events only up to here, so events posted during the batch wait for
    /// the next timeslice (after the next I/O poll), as in POE.
    pub(crate) fn last_seq(&self) -> u64 {
        self.seq
    }

    pub(crate) fn push(&mut self, stamp: f64, event: Event) {
        let seq = self.next_seq();
        self.fifo.push_back(Queued { stamp, seq, event });
    }

    pub(crate) fn add_timer(&mut self, due: f64, event: Event) -> AlarmId {
        let seq = self.next_seq();
        self.timers.insert(due, seq, event)
    }

    /// Move alarm `id` to `due`, behind everything already queued for that
    /// time (POE re-inserts a moved alarm). `None` if it is not pending.
    pub(crate) fn move_timer(&mut self, id: AlarmId, due: f64) -> Option<()> {
        let seq = self.next_seq();
        self.timers.reschedule(id, due, seq)
    }

    pub(crate) fn fifo_len(&self) -> usize {
        self.fifo.len()
    }

    pub(crate) fn len(&self) -> usize {
        self.fifo.len() + self.timers.len()
    }

    pub(crate) fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The time of the earliest item, if any.
    pub(crate) fn next_time(&self) -> Option<f64> {
        let fifo = self.fifo.front().map(|q| q.stamp);
        let timer = self.timers.peek().map(|(due, _)| due);
        match (fifo, timer) {
            (Some(a), Some(b)) => Some(a.min(b)),
            (a, b) => a.or(b),
        }
    }

    /// The next item to dispatch in a batch taken at `now`: the earlier of
    /// the FIFO head (if queued no later than `fifo_limit`) and the first
    /// alarm due by `now`.
    pub(crate) fn pop_next(&mut self, now: f64, fifo_limit: u64) -> Option<Event> {
        let fifo = self
            .fifo
            .front()
            .filter(|q| q.seq <= fifo_limit)
            .map(|q| (q.stamp, q.seq));
        let timer = self.timers.peek().filter(|&(due, _)| due <= now);
        let take_fifo = match (fifo, timer) {
            (None, None) => return None,
            (Some(_), None) => true,
            (None, Some(_)) => false,
            (Some((fs, fq)), Some((td, tq))) => fs < td || (fs == td && fq < tq),
        };
        if take_fifo {
            self.fifo.pop_front().map(|q| q.event)
        } else {
            self.timers.pop_due(now).map(|e: Expired| e.event)
        }
    }

    /// Remove every FIFO event for which `pred` holds (used when a session
    /// is freed: events to and from it die with it).
    pub(crate) fn remove_fifo(&mut self, mut pred: impl FnMut(&Event) -> bool) -> Vec<Event> {
        let mut removed = Vec::new();
        let mut kept = VecDeque::with_capacity(self.fifo.len());
        for q in self.fifo.drain(..) {
            if pred(&q.event) {
                removed.push(q.event);
            } else {
                kept.push_back(q);
            }
        }
        self.fifo = kept;
        removed
    }

    /// Count FIFO events for which `pred` holds (introspection).
    pub(crate) fn count_fifo(&self, mut pred: impl FnMut(&Event) -> bool) -> usize {
        self.fifo.iter().filter(|q| pred(&q.event)).count()
    }
}
