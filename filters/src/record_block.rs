//! POE::Filter::RecordBlock: group records into fixed-size lists.

use crate::filter::wire_via_records;
use crate::{ConfigError, FilterError, RecordFilter};
use poe_kernel::Value;
use std::collections::VecDeque;
use std::num::NonZeroUsize;

/// POE::Filter::RecordBlock: input items come out as `Value::List`s of
/// exactly `BlockSize` items; `put` flattens lists back into items.
///
/// With `CheckPut`, `put` only emits whole multiples of `BlockSize` and
/// keeps the rest for the next call ([`RecordBlock::put_pending`]).
///
/// ```
/// use poe_filters::{RecordBlock, RecordFilter};
/// use poe_kernel::Value;
///
/// let mut rb = RecordBlock::new(4).unwrap();
/// for i in 1..=10 {
///     rb.push_record(Value::from(i)).unwrap();
/// }
/// assert_eq!(rb.next_record().unwrap(), Some(Value::list([1, 2, 3, 4])));
/// assert_eq!(rb.next_record().unwrap(), Some(Value::list([5, 6, 7, 8])));
/// assert_eq!(rb.next_record().unwrap(), None);
/// assert_eq!(rb.pending_records(), [Value::from(9), Value::from(10)]);
/// ```
#[derive(Debug, Clone)]
pub struct RecordBlock {
    block_size: NonZeroUsize,
    check_put: bool,
    get_buffer: VecDeque<Value>,
    put_buffer: Vec<Value>,
}

impl RecordBlock {
    /// `BlockSize => size` (must be positive).
    pub fn new(block_size: usize) -> Result<RecordBlock, ConfigError> {
        Ok(RecordBlock {
            block_size: NonZeroUsize::new(block_size).ok_or(ConfigError::Zero("BlockSize"))?,
            check_put: false,
            get_buffer: VecDeque::new(),
            put_buffer: Vec::new(),
        })
    }

    /// `CheckPut => on`.
    #[must_use]
    pub fn with_check_put(mut self, on: bool) -> RecordBlock {
        self.check_put = on;
        self
    }

    /// `blocksize()`.
    pub fn block_size(&self) -> usize {
        self.block_size.get()
    }

    /// `blocksize(N)`: a zero size is ignored, as in POE.
    pub fn set_block_size(&mut self, size: usize) {
        if let Some(size) = NonZeroUsize::new(size) {
            self.block_size = size;
        }
    }

    /// `checkput()`.
    pub fn check_put(&self) -> bool {
        self.check_put
    }

    /// `checkput(BOOL)`.
    pub fn set_check_put(&mut self, on: bool) {
        self.check_put = on;
    }

    /// Items `put` is holding back until a whole block is complete (only
    /// with `CheckPut`).
    pub fn put_pending(&self) -> &[Value] {
        if self.check_put {
            &self.put_buffer
        } else {
            &[]
        }
    }

    /// Same configuration, empty buffers.
    pub fn fresh(&self) -> RecordBlock {
        RecordBlock {
            block_size: self.block_size,
            check_put: self.check_put,
            get_buffer: VecDeque::new(),
            put_buffer: Vec::new(),
        }
    }
}

impl RecordFilter for RecordBlock {
    fn push_record(&mut self, item: Value) -> Result<(), FilterError> {
        self.get_buffer.push_back(item);
        Ok(())
    }

    fn next_record(&mut self) -> Result<Option<Value>, FilterError> {
        let n = self.block_size.get();
        if self.get_buffer.len() < n {
            if self.get_buffer.is_empty() {
                self.get_buffer = VecDeque::new();
            }
            return Ok(None);
        }
        Ok(Some(Value::List(self.get_buffer.drain(..n).collect())))
    }

    /// `record` must be a list (POE dereferences it as an array).
    fn put_record(&mut self, record: Value, out: &mut Vec<Value>) -> Result<(), FilterError> {
        let Value::List(items) = record else {
            return Err(FilterError::WrongRecord {
                expected: "list",
                found: record.kind(),
            });
        };
        if self.check_put {
            self.put_buffer.extend(items);
            let whole = self.put_buffer.len() / self.block_size * self.block_size.get();
            out.extend(self.put_buffer.drain(..whole));
        } else {
            // Leftovers of earlier CheckPut use go first.
            out.append(&mut self.put_buffer);
            out.extend(items);
        }
        Ok(())
    }

    fn pending_records(&self) -> Vec<Value> {
        self.get_buffer.iter().cloned().collect()
    }

    fn clone_records(&self) -> Box<dyn RecordFilter> {
        Box::new(self.fresh())
    }
}

wire_via_records!(RecordBlock);
