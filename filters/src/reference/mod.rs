//! POE::Filter::Reference: length-framed serialized references.

mod serializer;
mod zlib;

pub use serializer::{Serializer, Storable};

use crate::block::{
    decimal_header, parse_decimal_header, write_decimal_header, DecimalHeader, DECIMAL_HEADER_MAX,
};
use crate::buffer::FramingBuffer;
use crate::{ConfigError, Filter, FilterError};
use poe_kernel::Value;
use std::rc::Rc;

const DEFAULT_MAX_BUFFER: usize = 512 * 1024 * 1024;

/// POE's message for a buffer overflow, which `NoFatals` delivers as a record.
const OVERFLOW_MESSAGE: &str = "Framing buffer exceeds the limit";

/// POE::Filter::Reference: each record is a reference (`List`, `Map`,
/// `Ref`, `Blessed`) frozen by a [`Serializer`] (default [`Storable`],
/// Perl's `nfreeze`), optionally zlib-compressed, framed as
/// `"<decimal length>\0<payload>"`.
///
/// * `put` refuses non-references ([`FilterError::NotAReference`], POE's
///   "Choking on a non-reference") and `Local`s.
/// * `NoFatals`: a frame that does not thaw, a corrupt header and a buffer
///   overflow become a `Value::Str` record holding the error message
///   instead of an `Err`, as POE does.
/// * `MaxBuffer` (default 512 MiB) bounds the buffer; a frame announcing
///   more than fits is refused as soon as its header arrives and its
///   octets are skipped.
///
/// Differences from POE 1.370, on purpose: a stream that does not start
/// with `digits NUL` is an error ([`FilterError::BadHeader`]) and is
/// discarded, where POE waits for ever; an impossible frame length is an
/// error when its header arrives, not once 512 MiB are buffered.
///
/// ```
/// use poe_filters::{Filter, Reference};
/// use poe_kernel::Value;
///
/// let mut filter = Reference::new();
/// let mut wire = Vec::new();
/// let request = Value::map([("event", Value::from("poe://k/s/t")), ("params", Value::list([1, 2]))]);
/// filter.put(request.clone(), &mut wire).unwrap();
/// assert!(wire.starts_with(b"49\0\x05\x0b")); // Perl: length(nfreeze(...)) == 49
/// filter.get_one_start(&wire).unwrap();
/// assert_eq!(filter.get_one().unwrap(), Some(request));
/// assert!(filter.put(Value::from("scalar"), &mut wire).is_err());
/// ```
#[derive(Debug)]
pub struct Reference {
    buf: FramingBuffer,
    serializer: Rc<dyn Serializer>,
    compression: bool,
    no_fatals: bool,
    max_buffer: usize,
    /// `NoFatals`: an overflow to report as the next record.
    overflowed: bool,
    /// Octets of a refused frame still to be skipped.
    skipping: u64,
}

impl Default for Reference {
    fn default() -> Self {
        Reference::new()
    }
}

impl Reference {
    /// Storable, no compression, fatal errors: what IKC uses.
    pub fn new() -> Reference {
        Reference::fresh(Rc::new(Storable::default()))
    }

    /// A filter using `serializer` with the other parameters at their
    /// defaults and the starting state of a stream: `new`, the builder and
    /// `clone_fresh` set the other parameters and take the rest from here.
    /// (`serializer` is an argument so that a clone does not allocate one
    /// only to drop it.)
    fn fresh(serializer: Rc<dyn Serializer>) -> Reference {
        Reference {
            buf: FramingBuffer::new(),
            serializer,
            compression: false,
            no_fatals: false,
            max_buffer: DEFAULT_MAX_BUFFER,
            overflowed: false,
            skipping: 0,
        }
    }

    /// All of POE's parameters.
    pub fn builder() -> ReferenceBuilder {
        ReferenceBuilder::default()
    }

    /// The serializer in use.
    pub fn serializer(&self) -> &dyn Serializer {
        self.serializer.as_ref()
    }

    /// An error as a record under `NoFatals`, else as an error.
    fn fail(&self, e: FilterError) -> Result<Option<Value>, FilterError> {
        if self.no_fatals {
            Ok(Some(Value::from(e.to_string())))
        } else {
            Err(e)
        }
    }

    fn next_frame(&mut self) -> Result<Option<Value>, FilterError> {
        if self.overflowed {
            self.overflowed = false;
            return Ok(Some(Value::from(OVERFLOW_MESSAGE)));
        }
        if self.skipping > 0 {
            self.buf.consume_within(&mut self.skipping, |_| ());
            if self.skipping > 0 {
                return Ok(None);
            }
        }
        let (header_len, payload_len) = match parse_decimal_header(self.buf.bytes()) {
            DecimalHeader::Incomplete => return Ok(None),
            DecimalHeader::Complete {
                header_len,
                payload_len,
            } => (header_len, payload_len),
            bad => {
                // Nothing after a broken header can be trusted to be a frame
                // boundary: drop what is buffered.
                let detail = format!(
                    "{bad:?} at the start of {:?}",
                    String::from_utf8_lossy(&self.buf.bytes()[..self.buf.len().min(16)])
                );
                self.buf.clear();
                return self.fail(FilterError::BadHeader { detail });
            }
        };
        let room = self.max_buffer.saturating_sub(header_len) as u64;
        if payload_len > room {
            self.buf.consume(header_len);
            self.skipping = payload_len;
            return self.fail(FilterError::BlockTooLong {
                size: payload_len,
                limit: self.max_buffer,
            });
        }
        let payload_len = payload_len as usize;
        if self.buf.len() - header_len < payload_len {
            return Ok(None);
        }
        let frame = &self.buf.bytes()[header_len..header_len + payload_len];
        let thawed = if self.compression {
            zlib::uncompress(frame, self.max_buffer)
                .and_then(|raw| self.serializer.thaw(&raw).map_err(FilterError::Thaw))
        } else {
            self.serializer.thaw(frame).map_err(FilterError::Thaw)
        };
        // The frame is consumed whether or not it thawed, as in POE.
        self.buf.consume(header_len + payload_len);
        match thawed {
            Ok(v) => Ok(Some(v)),
            Err(e) => self.fail(e),
        }
    }
}

impl Filter for Reference {
    fn get_one_start(&mut self, data: &[u8]) -> Result<(), FilterError> {
        match self.buf.extend_bounded(data, self.max_buffer) {
            Err(FilterError::BufferFull { .. }) if self.no_fatals => {
                self.overflowed = true;
                Ok(())
            }
            result => result,
        }
    }

    fn get_one(&mut self) -> Result<Option<Value>, FilterError> {
        let result = self.next_frame();
        if matches!(result, Ok(None)) {
            self.buf.settle();
        }
        result
    }

    fn put(&mut self, record: Value, out: &mut Vec<u8>) -> Result<(), FilterError> {
        match &record {
            Value::List(_) | Value::Map(_) | Value::Ref(_) | Value::Blessed(_) => {}
            other => return Err(FilterError::NotAReference { kind: other.kind() }),
        }
        let start = out.len();
        if self.compression {
            let mut raw = Vec::new();
            self.serializer
                .freeze(&record, &mut raw)
                .map_err(FilterError::Freeze)?;
            let packed = zlib::compress(&raw)?;
            write_decimal_header(packed.len(), out);
            out.extend_from_slice(&packed);
        } else {
            // Freeze in place, then slide the payload right to make room for
            // the header (built on the stack): no scratch buffer per record.
            self.serializer.freeze(&record, out).map_err(|e| {
                out.truncate(start);
                FilterError::Freeze(e)
            })?;
            let len = out.len() - start;
            let mut scratch = [0; DECIMAL_HEADER_MAX];
            let header = decimal_header(len, &mut scratch);
            out.extend_from_slice(header);
            out[start..].rotate_right(header.len());
        }
        Ok(())
    }

    fn get_pending(&self) -> Option<Vec<u8>> {
        self.buf.pending()
    }

    fn clone_fresh(&self) -> Box<dyn Filter> {
        Box::new(Reference {
            compression: self.compression,
            no_fatals: self.no_fatals,
            max_buffer: self.max_buffer,
            ..Reference::fresh(Rc::clone(&self.serializer))
        })
    }
}

/// Parameters of [`Reference`], as POE names them.
#[derive(Debug, Default, Clone)]
#[must_use]
pub struct ReferenceBuilder {
    serializer: Option<Rc<dyn Serializer>>,
    compression: bool,
    no_fatals: bool,
    max_buffer: Option<usize>,
}

impl ReferenceBuilder {
    /// `Serializer`: the format (default [`Storable`]).
    pub fn serializer(mut self, serializer: Rc<dyn Serializer>) -> Self {
        self.serializer = Some(serializer);
        self
    }

    /// `Compression`: zlib-compress every payload (both peers must agree:
    /// the frame does not say).
    pub fn compression(mut self, on: bool) -> Self {
        self.compression = on;
        self
    }

    /// `NoFatals`: deliver errors as string records instead of failing.
    pub fn no_fatals(mut self, on: bool) -> Self {
        self.no_fatals = on;
        self
    }

    /// `MaxBuffer`: most octets buffered (default 512 MiB).
    pub fn max_buffer(mut self, octets: usize) -> Self {
        self.max_buffer = Some(octets);
        self
    }

    /// Check the parameters and make the filter.
    pub fn build(self) -> Result<Reference, ConfigError> {
        let max_buffer = self.max_buffer.unwrap_or(DEFAULT_MAX_BUFFER);
        if max_buffer == 0 {
            return Err(ConfigError::Zero("MaxBuffer"));
        }
        if self.compression && cfg!(not(feature = "zlib")) {
            log::warn!("Filter::Reference compression option ignored (built without zlib)");
        }
        let serializer = self
            .serializer
            .unwrap_or_else(|| Rc::new(Storable::default()));
        Ok(Reference {
            compression: self.compression && cfg!(feature = "zlib"),
            no_fatals: self.no_fatals,
            max_buffer,
            ..Reference::fresh(serializer)
        })
    }
}
