//! [`ReadBlock`]: the records of one read share one allocation.
//!
//! A line of more than [`INLINE_CAPACITY`] bytes would otherwise cost an
//! allocation, a UTF-8 check and a free of its own. Instead, the first such
//! line of a read copies up to [`BLOCK_MAX`] bytes of the buffer (ending at
//! the last newline in reach) into one [`TextBlock`], checks it once, and
//! that line and the ones after it become slices of the block.
//!
//! Memory: a record kept after its read keeps its block (at most
//! `BLOCK_MAX` bytes) alive, as `bytes::Bytes` does; `Text::detach` copies
//! it out. The filter itself lets go of the block when the read cycle ends,
//! so an idle connection holds none: the block goes to the thread's spare
//! ([`crate::spare`]), and the next read refills it in place once no record
//! shares it.

use crate::record::text_or_bytes;
use crate::spare;
use poe_kernel::value::INLINE_CAPACITY;
use poe_kernel::{Text, TextBlock, Value};

/// Largest block one read is cut into. Small enough that a kept record
/// does not pin much memory, large enough to share one allocation among
/// dozens of typical lines.
pub(crate) const BLOCK_MAX: usize = 2048;

/// The block covering the front of a filter's buffer, if any.
#[derive(Debug, Default)]
pub(crate) struct ReadBlock {
    block: Option<TextBlock>,
    /// Offset in `block` of the first unconsumed buffered byte.
    at: u32,
}

impl ReadBlock {
    /// The record for the first `len` bytes of `front` (the unconsumed
    /// buffer): a `Str` (shared when it is long enough to be worth it) or,
    /// for invalid UTF-8, `Bytes`.
    #[inline]
    pub(crate) fn record(&mut self, front: &[u8], len: usize) -> Value {
        if len <= INLINE_CAPACITY {
            return text_or_bytes(&front[..len]);
        }
        if let Some(text) = self.slice(len) {
            return Value::Str(text);
        }
        self.block = Self::cut(front, len);
        self.at = 0;
        match self.slice(len) {
            Some(text) => Value::Str(text),
            None => text_or_bytes(&front[..len]),
        }
    }

    /// The next `len` bytes from the current block, if it holds them.
    #[inline]
    fn slice(&self, len: usize) -> Option<Text> {
        let at = self.at as usize;
        self.block.as_ref()?.slice(at..at + len)
    }

    /// A block starting at `front`, holding at least the first `len` bytes,
    /// when the buffer holds more lines after it (otherwise one allocation
    /// for one line gains nothing) and that much of it is valid UTF-8.
    fn cut(front: &[u8], len: usize) -> Option<TextBlock> {
        let reach = &front[..front.len().min(BLOCK_MAX)];
        if reach.len() < 2 * (len + 1) {
            return None;
        }
        // End at the last newline in reach: the bytes of a line that is
        // not complete yet would be copied for nothing.
        let end = reach.iter().rposition(|&b| b == b'\n' || b == b'\r')? + 1;
        let text = match std::str::from_utf8(&reach[..end]) {
            Ok(t) => t,
            Err(e) => std::str::from_utf8(&reach[..e.valid_up_to()]).ok()?,
        };
        (text.len() >= len).then(|| Self::new_block(text))
    }

    /// A block holding `text`: the spare one refilled when nothing shares
    /// it any more, else a new one.
    fn new_block(text: &str) -> TextBlock {
        if let Some(mut block) = spare::take_block() {
            if block.refill(text) {
                return block;
            }
        }
        TextBlock::from(text)
    }

    /// `n` bytes were consumed from the buffer front.
    #[inline]
    pub(crate) fn advance(&mut self, n: usize) {
        if let Some(block) = &self.block {
            let at = self.at as usize + n;
            if at < block.len() {
                self.at = at as u32; // BLOCK_MAX fits
            } else {
                self.used_up();
            }
        }
    }

    /// Once per block: out of line, so `advance` stays small enough to
    /// inline into the filters' per-record path (callgrind: 841 -> 838
    /// instructions a line on the Server::TCP echo).
    #[inline(never)]
    fn used_up(&mut self) {
        self.release();
    }

    /// The read cycle is over (or the block used up): let go of the block
    /// so an idle filter holds none. It becomes the thread's spare, still
    /// shared by the records cut from it until they are dropped.
    #[inline]
    pub(crate) fn release(&mut self) {
        if let Some(block) = self.block.take() {
            spare::give_block(block);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn line(i: usize) -> Vec<u8> {
        format!("line number {i:04} of a read, padded\n").into_bytes()
    }

    #[test]
    fn the_long_lines_of_one_read_share_one_block() {
        let buf: Vec<u8> = (0..8).flat_map(line).collect();
        let mut rb = ReadBlock::default();
        let mut front = &buf[..];
        let mut records = Vec::new();
        while let Some(nl) = front.iter().position(|&b| b == b'\n') {
            records.push(rb.record(front, nl));
            rb.advance(nl + 1);
            front = &front[nl + 1..];
        }
        for (i, r) in records.iter().enumerate() {
            let want = line(i);
            assert_eq!(
                r.as_str(),
                std::str::from_utf8(&want[..want.len() - 1]).ok()
            );
        }
        let shared = records
            .iter()
            .filter(|r| matches!(r, Value::Str(t) if t.is_block_slice()))
            .count();
        assert_eq!(shared, 8);
    }

    /// Frame every line of `buf` as the filter does, then end the cycle.
    fn read_cycle(rb: &mut ReadBlock, buf: &[u8]) -> Vec<Value> {
        let mut front = buf;
        let mut records = Vec::new();
        while let Some(nl) = front.iter().position(|&b| b == b'\n') {
            records.push(rb.record(front, nl));
            rb.advance(nl + 1);
            front = &front[nl + 1..];
        }
        rb.release();
        records
    }

    #[test]
    fn a_record_kept_from_one_read_is_untouched_by_the_next() {
        let mut rb = ReadBlock::default();
        let first: Vec<u8> = (0..4).flat_map(line).collect();
        let kept = read_cycle(&mut rb, &first).swap_remove(2);
        let second: Vec<u8> = (10..14).flat_map(line).collect();
        let next = read_cycle(&mut rb, &second);
        assert_eq!(kept.as_str(), Some("line number 0002 of a read, padded"));
        assert_eq!(next[1].as_str(), Some("line number 0011 of a read, padded"));
    }

    #[test]
    fn the_block_of_a_read_whose_records_are_gone_is_refilled_by_the_next() {
        let mut rb = ReadBlock::default();
        let first: Vec<u8> = (0..4).flat_map(line).collect();
        drop(read_cycle(&mut rb, &first));
        let mut spare = spare::take_block().expect("the released block is the spare");
        assert!(spare.refill("nothing shares it any more\n"));
        let memory = spare.slice(0..26).unwrap().as_str().as_ptr();
        spare::give_block(spare);
        let second: Vec<u8> = (20..24).flat_map(line).collect();
        let next = read_cycle(&mut rb, &second);
        assert_eq!(next[3].as_str(), Some("line number 0023 of a read, padded"));
        assert_eq!(
            next[0].as_str().unwrap().as_ptr(),
            memory,
            "the second read's lines are in the first read's block"
        );
        assert!(next
            .iter()
            .all(|r| matches!(r, Value::Str(t) if t.is_block_slice())));
    }

    #[test]
    fn invalid_utf8_stays_bytes_and_does_not_poison_the_block() {
        let mut buf = line(0);
        buf.extend_from_slice(b"bad \xff byte in a line long enough\n");
        buf.extend(line(2));
        buf.extend(line(3));
        let mut rb = ReadBlock::default();
        let first = rb.record(&buf, line(0).len() - 1);
        assert!(matches!(&first, Value::Str(t) if t.is_block_slice()));
        rb.advance(line(0).len());
        let rest = &buf[line(0).len()..];
        let nl = rest.iter().position(|&b| b == b'\n').unwrap();
        assert!(matches!(rb.record(rest, nl), Value::Bytes(_)));
        rb.advance(nl + 1);
        let rest = &rest[nl + 1..];
        let got = rb.record(rest, line(2).len() - 1);
        assert_eq!(
            got.as_str(),
            std::str::from_utf8(&line(2)[..line(2).len() - 1]).ok()
        );
    }

    #[test]
    fn a_multibyte_char_cut_by_the_read_is_not_in_the_block() {
        let mut buf = "ééééééééééééééééééééééééé\n".repeat(3).into_bytes();
        buf.extend_from_slice(&"é".as_bytes()[..1]);
        let mut rb = ReadBlock::default();
        let nl = buf.iter().position(|&b| b == b'\n').unwrap();
        let got = rb.record(&buf, nl);
        assert_eq!(got.as_str(), Some("ééééééééééééééééééééééééé"));
    }
}
