//! POE::Filter::Block: fixed-size blocks, or blocks behind a length header.

mod codec;

pub(crate) use codec::{
    decimal_header, parse_decimal_header, write_decimal_header, DecimalHeader, DECIMAL_HEADER_MAX,
};
pub use codec::{DecimalLength, Header, LengthCodec};

use crate::buffer::FramingBuffer;
use crate::record::{put_bytes, write_bytes};
use crate::{ConfigError, Filter, FilterError};
use poe_kernel::Value;
use std::num::NonZeroUsize;
use std::rc::Rc;

const DEFAULT_MAX_LENGTH: usize = 64 * 1024 * 1024;
const DEFAULT_MAX_BUFFER: usize = 512 * 1024 * 1024;

/// POE::Filter::Block.
///
/// * `BlockSize => N`: records are N-octet blocks; `put` writes records
///   back to back, unpadded and unchecked, as POE does.
/// * otherwise: each record is preceded by a length header, by default
///   POE's `"<decimal>\0"` ([`DecimalLength`]); any [`LengthCodec`] can
///   replace it.
///
/// Records arrive as `Value::Bytes`.
///
/// Differences from POE 1.370, on purpose: garbage before a header is dropped
/// (with a warning, as POE does, but one per run of garbage) and parsing goes
/// on in the same call instead of stalling one `get`; a header stays buffered
/// until its whole block has arrived, so `get_pending` returns header and
/// payload (POE loses the header); digits followed by anything but a NUL are
/// garbage too (POE waits for ever); a block longer than `MaxLength` is an
/// error and its payload is skipped as it arrives, keeping the stream in
/// step.
///
/// ```
/// use poe_filters::{Block, Filter};
/// use poe_kernel::Value;
///
/// let mut block = Block::new();
/// let mut wire = Vec::new();
/// block.put(Value::from("a"), &mut wire).unwrap();
/// block.put(Value::from("bc"), &mut wire).unwrap();
/// assert_eq!(wire, b"1\0a2\0bc");
///
/// let mut fixed = Block::with_block_size(3).unwrap();
/// fixed.get_one_start(b"abcdefgh").unwrap();
/// assert_eq!(fixed.get_one().unwrap(), Some(Value::from(&b"abc"[..])));
/// assert_eq!(fixed.get_one().unwrap(), Some(Value::from(&b"def"[..])));
/// assert_eq!(fixed.get_one().unwrap(), None);
/// assert_eq!(fixed.get_pending(), Some(b"gh".to_vec()));
/// ```
#[derive(Debug)]
pub struct Block {
    buf: FramingBuffer,
    mode: Mode,
    max_length: usize,
    max_buffer: usize,
    /// The header at the front of the buffer, once recognized.
    header: Option<(usize, usize)>,
    /// Octets of an over-long block still to be skipped.
    skipping: u64,
}

#[derive(Debug, Clone)]
enum Mode {
    Fixed(NonZeroUsize),
    Length(Rc<dyn LengthCodec>),
}

impl Default for Block {
    fn default() -> Self {
        Block::new()
    }
}

impl Block {
    /// Variable-length blocks with POE's default `"<decimal>\0"` header.
    pub fn new() -> Block {
        Block::fresh(Mode::Length(Rc::new(DecimalLength)))
    }

    /// A filter in `mode` with the default limits and the starting state
    /// of a stream: `new`, the builder and `clone_fresh` set the other
    /// parameters and take the rest from here. (`mode` is an argument so
    /// that a clone does not allocate a codec only to drop it.)
    fn fresh(mode: Mode) -> Block {
        Block {
            buf: FramingBuffer::new(),
            mode,
            max_length: DEFAULT_MAX_LENGTH,
            max_buffer: DEFAULT_MAX_BUFFER,
            header: None,
            skipping: 0,
        }
    }

    /// `BlockSize => size`: fixed-size blocks.
    pub fn with_block_size(size: usize) -> Result<Block, ConfigError> {
        Block::builder().block_size(size).build()
    }

    /// All of POE's parameters.
    pub fn builder() -> BlockBuilder {
        BlockBuilder::default()
    }

    fn next_variable(&mut self, codec: &dyn LengthCodec) -> Result<Option<Value>, FilterError> {
        // Garbage octets dropped in a row: one warning for the whole run,
        // not one per `Header::Garbage` (a long run of digits is dropped
        // `MAX_DIGITS` octets at a time).
        let mut dropped = 0usize;
        let result = self.next_variable_inner(codec, &mut dropped);
        if dropped > 0 {
            log::warn!("{dropped} strange bytes removed from stream");
        }
        result
    }

    fn next_variable_inner(
        &mut self,
        codec: &dyn LengthCodec,
        dropped: &mut usize,
    ) -> Result<Option<Value>, FilterError> {
        loop {
            if self.skipping > 0 {
                self.buf.consume_within(&mut self.skipping, |_| ());
                if self.skipping > 0 {
                    return Ok(None);
                }
            }
            if let Some((header_len, payload_len)) = self.header {
                if self.buf.len() - header_len < payload_len {
                    return Ok(None);
                }
                let data = &self.buf.bytes()[header_len..header_len + payload_len];
                let record = Value::from(data);
                self.buf.consume(header_len + payload_len);
                self.header = None;
                return Ok(Some(record));
            }
            if self.buf.is_empty() {
                return Ok(None);
            }
            match codec.decode(self.buf.bytes()) {
                Header::Incomplete => return Ok(None),
                Header::Garbage { skip } => {
                    let skip = skip.clamp(1, self.buf.len());
                    *dropped += skip;
                    self.buf.consume(skip);
                }
                Header::Complete {
                    header_len,
                    payload_len,
                } => {
                    let header_len = header_len.clamp(1, self.buf.len());
                    if payload_len > self.max_length as u64 {
                        self.buf.consume(header_len);
                        self.skipping = payload_len;
                        return Err(FilterError::BlockTooLong {
                            size: payload_len,
                            limit: self.max_length,
                        });
                    }
                    // max_length fits in usize, so this does too.
                    self.header = Some((header_len, payload_len as usize));
                }
            }
        }
    }
}

impl Filter for Block {
    fn get_one_start(&mut self, data: &[u8]) -> Result<(), FilterError> {
        self.buf.extend_bounded(data, self.max_buffer)
    }

    fn get_one(&mut self) -> Result<Option<Value>, FilterError> {
        let result = match &self.mode {
            Mode::Fixed(size) => {
                let size = size.get();
                if self.buf.len() >= size {
                    let record = Value::from(&self.buf.bytes()[..size]);
                    self.buf.consume(size);
                    Ok(Some(record))
                } else {
                    Ok(None)
                }
            }
            Mode::Length(codec) => {
                let codec = Rc::clone(codec);
                self.next_variable(codec.as_ref())
            }
        };
        if matches!(result, Ok(None)) {
            self.buf.settle();
        }
        result
    }

    fn put(&mut self, record: Value, out: &mut Vec<u8>) -> Result<(), FilterError> {
        match &self.mode {
            Mode::Fixed(_) => put_bytes(record, out),
            Mode::Length(codec) => {
                // Header first needs the length: bytes and strings have it;
                // numbers are rendered once into a small string.
                let rendered;
                let bytes: &[u8] = match &record {
                    Value::Str(s) => s.as_bytes(),
                    Value::Bytes(b) => b,
                    other => {
                        let mut tmp = Vec::new();
                        write_bytes(other, &mut tmp)?;
                        rendered = tmp;
                        &rendered
                    }
                };
                codec.encode(bytes.len(), out);
                out.extend_from_slice(bytes);
                Ok(())
            }
        }
    }

    fn get_pending(&self) -> Option<Vec<u8>> {
        self.buf.pending()
    }

    fn clone_fresh(&self) -> Box<dyn Filter> {
        Box::new(Block {
            max_length: self.max_length,
            max_buffer: self.max_buffer,
            ..Block::fresh(self.mode.clone())
        })
    }
}

/// Parameters of [`Block`], as POE names them.
#[derive(Debug, Default, Clone)]
#[must_use]
pub struct BlockBuilder {
    block_size: Option<usize>,
    codec: Option<Rc<dyn LengthCodec>>,
    max_length: Option<usize>,
    max_buffer: Option<usize>,
}

impl BlockBuilder {
    /// `BlockSize`: fixed-size blocks (excludes `LengthCodec`, `MaxLength`).
    pub fn block_size(mut self, size: usize) -> Self {
        self.block_size = Some(size);
        self
    }

    /// `LengthCodec`: how lengths are written (default [`DecimalLength`]).
    pub fn length_codec(mut self, codec: Rc<dyn LengthCodec>) -> Self {
        self.codec = Some(codec);
        self
    }

    /// `MaxLength`: longest block accepted (default 64 MiB).
    pub fn max_length(mut self, octets: usize) -> Self {
        self.max_length = Some(octets);
        self
    }

    /// `MaxBuffer`: most octets buffered (default 512 MiB; at least
    /// `MaxLength` plus its decimal header).
    pub fn max_buffer(mut self, octets: usize) -> Self {
        self.max_buffer = Some(octets);
        self
    }

    /// Check the parameters as POE does and make the filter.
    pub fn build(self) -> Result<Block, ConfigError> {
        let max_buffer = self.max_buffer.unwrap_or(DEFAULT_MAX_BUFFER);
        if max_buffer == 0 {
            return Err(ConfigError::Zero("MaxBuffer"));
        }
        let (mode, max_length) = match self.block_size {
            Some(size) => {
                if self.codec.is_some() {
                    return Err(ConfigError::Conflict("BlockSize", "LengthCodec"));
                }
                if self.max_length.is_some() {
                    return Err(ConfigError::Conflict("BlockSize", "MaxLength"));
                }
                let size = NonZeroUsize::new(size).ok_or(ConfigError::Zero("BlockSize"))?;
                (Mode::Fixed(size), usize::MAX)
            }
            None => {
                let max_length = self.max_length.unwrap_or(DEFAULT_MAX_LENGTH);
                if max_length == 0 {
                    return Err(ConfigError::Zero("MaxLength"));
                }
                let needed = max_length.saturating_add(max_length.to_string().len() + 1);
                if max_buffer < needed {
                    return Err(ConfigError::BufferTooSmall { max_buffer, needed });
                }
                let codec = self.codec.unwrap_or_else(|| Rc::new(DecimalLength));
                (Mode::Length(codec), max_length)
            }
        };
        Ok(Block {
            max_length,
            max_buffer,
            ..Block::fresh(mode)
        })
    }
}
