//! [`FramingBuffer`]: the byte buffer every byte filter keeps, with the
//! memory policy of the crate.
//!
//! Records are consumed from the front by moving a start offset (no memmove
//! per record). When a read cycle ends (the filter has no complete record
//! left) the buffer [`settles`](FramingBuffer::settle): the leftover partial
//! record moves to the front, and spare capacity is let go of so an idle
//! connection holds at most its partial record plus a few bytes. An emptied
//! buffer becomes the thread's spare ([`crate::spare`]) rather than going
//! back to the allocator: the next read cycle takes it.

use crate::spare;
use crate::FilterError;

/// Slack a buffer holding a partial record may keep without a trim.
const RETAINED_CAPACITY: usize = 256;

/// Growable byte buffer with a consumed prefix.
#[derive(Debug, Default)]
pub(crate) struct FramingBuffer {
    data: Vec<u8>,
    start: usize,
}

impl FramingBuffer {
    pub(crate) const fn new() -> Self {
        FramingBuffer {
            data: Vec::new(),
            start: 0,
        }
    }

    /// Unconsumed bytes.
    #[inline]
    pub(crate) fn bytes(&self) -> &[u8] {
        &self.data[self.start..]
    }

    /// Number of unconsumed bytes.
    #[inline]
    pub(crate) fn len(&self) -> usize {
        self.data.len() - self.start
    }

    #[inline]
    pub(crate) fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Append input. Compacts first when more than half of the storage is
    /// consumed, so appends stay amortized O(1) without unbounded slack.
    pub(crate) fn extend(&mut self, more: &[u8]) {
        if self.data.capacity() == 0 {
            self.data = spare::take_buffer();
        }
        if self.start > 0 && self.start >= self.data.len() / 2 {
            self.data.drain(..self.start);
            self.start = 0;
        }
        self.data.extend_from_slice(more);
    }

    /// Append input unless the buffer would then hold more than `max`
    /// octets: the `MaxBuffer` check of every filter's `get_one_start`.
    /// Nothing is appended on error.
    pub(crate) fn extend_bounded(&mut self, more: &[u8], max: usize) -> Result<(), FilterError> {
        let needed = self.len() + more.len();
        if needed > max {
            return Err(FilterError::BufferFull { limit: max, needed });
        }
        self.extend(more);
        Ok(())
    }

    /// A copy of the unconsumed bytes, `None` when there are none: what
    /// `get_pending` returns.
    pub(crate) fn pending(&self) -> Option<Vec<u8>> {
        (!self.is_empty()).then(|| self.bytes().to_vec())
    }

    /// Consume what is buffered of a stretch of `*remaining` octets (a body
    /// of known length, or octets to skip), but no more than that, and
    /// lower `*remaining` by as much. `f` sees those octets first.
    pub(crate) fn consume_within<R>(
        &mut self,
        remaining: &mut u64,
        f: impl FnOnce(&[u8]) -> R,
    ) -> R {
        let n = self
            .len()
            .min(usize::try_from(*remaining).unwrap_or(usize::MAX));
        let result = f(&self.bytes()[..n]);
        self.consume(n);
        *remaining -= n as u64;
        result
    }

    /// Drop `n` bytes from the front.
    #[inline]
    pub(crate) fn consume(&mut self, n: usize) {
        debug_assert!(n <= self.len());
        self.start += n.min(self.len());
        if self.start == self.data.len() {
            self.data.clear();
            self.start = 0;
        }
    }

    /// Drop everything.
    pub(crate) fn clear(&mut self) {
        spare::give_buffer(std::mem::take(&mut self.data));
        self.start = 0;
    }

    /// End of a read cycle: move the leftover to the front and release
    /// spare capacity. An emptied buffer is let go entirely (to the
    /// thread's spare, or freed). A partial record's is only trimmed when
    /// its capacity is more than four times what is held, which keeps
    /// growth of one long record amortized (a buffer that only grows is
    /// never reallocated here).
    pub(crate) fn settle(&mut self) {
        if self.start > 0 {
            self.data.drain(..self.start);
            self.start = 0;
        }
        let len = self.data.len();
        if len == 0 {
            // An idle stream holds no buffer at all: the thread's spare
            // serves the next read cycle.
            if self.data.capacity() > 0 {
                spare::give_buffer(std::mem::take(&mut self.data));
            }
        } else if self.data.capacity() > RETAINED_CAPACITY.max(len.saturating_mul(4)) {
            self.data.shrink_to(len);
        }
    }

    /// Heap bytes held (for tests of the memory policy).
    #[cfg(test)]
    pub(crate) fn capacity(&self) -> usize {
        self.data.capacity()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_emptied_buffer_releases_its_capacity() {
        let mut b = FramingBuffer::new();
        b.extend(&[b'x'; 65536]);
        b.consume(65536);
        b.settle();
        assert_eq!(b.capacity(), 0);
    }

    #[test]
    fn a_small_leftover_keeps_a_small_allocation() {
        let mut b = FramingBuffer::new();
        b.extend(&[b'x'; 65536]);
        b.consume(65536 - 10);
        b.settle();
        assert_eq!(b.bytes(), &[b'x'; 10]);
        assert!(b.capacity() <= RETAINED_CAPACITY, "{}", b.capacity());
    }

    #[test]
    fn extend_bounded_refuses_input_past_the_limit_and_keeps_the_buffer() {
        let mut b = FramingBuffer::new();
        assert_eq!(b.pending(), None);
        b.extend_bounded(b"abc", 5).unwrap();
        b.extend_bounded(b"de", 5).unwrap();
        assert!(matches!(
            b.extend_bounded(b"f", 5),
            Err(FilterError::BufferFull {
                limit: 5,
                needed: 6
            })
        ));
        assert_eq!(b.pending(), Some(b"abcde".to_vec()));
        b.consume(2);
        b.extend_bounded(b"fg", 5).unwrap();
        assert_eq!(b.pending(), Some(b"cdefg".to_vec()));
    }

    #[test]
    fn a_growing_record_is_not_reallocated_by_settle() {
        let mut b = FramingBuffer::new();
        for _ in 0..1000 {
            b.extend(&[b'y'; 100]);
            b.settle();
        }
        assert_eq!(b.len(), 100_000);
        assert!(b.capacity() <= 4 * 100_000);
    }
}
