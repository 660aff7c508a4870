//! One spare of each read-cycle allocation, per thread.
//!
//! A filter needs its buffer, and the lines of a read need their
//! [`TextBlock`], only until the read cycle ends; then an idle connection
//! holds neither (the idle memory budget). Freeing them there and
//! allocating them again on the next read cost three mallocs and three
//! frees a read. Instead the thread keeps the last one given back, and the
//! next read cycle, on any connection of this thread, takes it.
//!
//! One of each is enough: a kernel is single-threaded and runs one read
//! cycle at a time. A filter used while another one's cycle is running
//! (a handler framing something of its own) finds no spare and allocates,
//! as it would have anyway.

use poe_kernel::TextBlock;
use std::cell::Cell;

/// A buffer larger than this (one long record grew it) is freed, not kept.
const BUFFER_MAX: usize = 64 * 1024;

thread_local! {
    static BUFFER: Cell<Vec<u8>> = const { Cell::new(Vec::new()) };
    static BLOCK: Cell<Option<TextBlock>> = const { Cell::new(None) };
}

/// The spare buffer, empty (with no capacity when there is none).
#[inline]
pub(crate) fn take_buffer() -> Vec<u8> {
    BUFFER.try_with(Cell::take).unwrap_or_default()
}

/// Keep an emptied buffer for the next read cycle, if it is larger than
/// the spare already kept (the smaller one is freed).
#[inline]
pub(crate) fn give_buffer(mut buffer: Vec<u8>) {
    if buffer.capacity() > BUFFER_MAX {
        return;
    }
    buffer.clear();
    // During thread teardown there is nowhere to keep it: it drops.
    let _ = BUFFER.try_with(|spare| {
        let kept = spare.take();
        spare.set(if kept.capacity() >= buffer.capacity() {
            kept
        } else {
            buffer
        });
    });
}

/// The spare block, if there is one.
#[inline]
pub(crate) fn take_block() -> Option<TextBlock> {
    BLOCK.try_with(Cell::take).ok().flatten()
}

/// Keep a used-up block for the next read cycle. Its last records may
/// still share it; the next cycle refills it only once none does.
#[inline]
pub(crate) fn give_block(block: TextBlock) {
    let _ = BLOCK.try_with(|spare| spare.set(Some(block)));
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_buffer_given_back_is_taken_again_empty_and_a_huge_one_is_not_kept() {
        let mut b = Vec::with_capacity(1000);
        b.extend_from_slice(b"leftover");
        give_buffer(b);
        let again = take_buffer();
        assert!(again.is_empty());
        assert!(again.capacity() >= 1000);
        assert_eq!(take_buffer().capacity(), 0, "one spare, taken once");
        give_buffer(Vec::with_capacity(BUFFER_MAX + 1));
        assert_eq!(take_buffer().capacity(), 0);
        // Of two buffers given back, the larger is kept.
        give_buffer(Vec::with_capacity(4096));
        give_buffer(Vec::with_capacity(16));
        assert!(take_buffer().capacity() >= 4096);
    }
}
