//! POE::Filter::Stream: no framing at all.

use crate::buffer::FramingBuffer;
use crate::record::put_bytes;
use crate::{Filter, FilterError};
use poe_kernel::Value;

/// POE::Filter::Stream: whatever is buffered comes out as one
/// `Value::Bytes` record; `put` writes records through unchanged.
///
/// ```
/// use poe_filters::{Filter, Stream};
/// use poe_kernel::Value;
///
/// let mut s = Stream::new();
/// s.get_one_start(b"ab").unwrap();
/// s.get_one_start(b"cd").unwrap();
/// assert_eq!(s.get_one().unwrap(), Some(Value::from(&b"abcd"[..])));
/// assert_eq!(s.get_one().unwrap(), None);
/// ```
#[derive(Debug, Default)]
pub struct Stream {
    buf: FramingBuffer,
}

impl Stream {
    /// A stream filter (it has no parameters).
    pub fn new() -> Stream {
        Stream::default()
    }
}

impl Filter for Stream {
    fn get_one_start(&mut self, data: &[u8]) -> Result<(), FilterError> {
        self.buf.extend(data);
        Ok(())
    }

    fn get_one(&mut self) -> Result<Option<Value>, FilterError> {
        if self.buf.is_empty() {
            self.buf.settle();
            return Ok(None);
        }
        let record = Value::from(self.buf.bytes());
        self.buf.clear();
        Ok(Some(record))
    }

    fn put(&mut self, record: Value, out: &mut Vec<u8>) -> Result<(), FilterError> {
        put_bytes(record, out)
    }

    fn get_pending(&self) -> Option<Vec<u8>> {
        self.buf.pending()
    }

    fn clone_fresh(&self) -> Box<dyn Filter> {
        Box::new(Stream::new())
    }
}
