//! Typed errors: [`FilterError`] for framing and serialization,
//! [`ConfigError`] for constructors (what POE croaks on).

use crate::storable::StorableError;
use std::fmt;

/// Why a filter refused input or output.
///
/// The messages of the variants that POE also raises are POE's own
/// (`"Framing buffer exceeds the limit"`...), so logs read the same.
#[derive(Debug)]
#[non_exhaustive]
pub enum FilterError {
    /// `get_one_start` would grow the framing buffer past `MaxBuffer`. The
    /// chunk was dropped (POE keeps it and dies); treat the stream as broken.
    BufferFull {
        /// The configured `MaxBuffer`.
        limit: usize,
        /// What the buffer would have held.
        needed: usize,
    },
    /// A line longer than `MaxLength`. The line is discarded up to its
    /// terminator; later lines are unaffected.
    LineTooLong {
        /// The configured `MaxLength`.
        limit: usize,
    },
    /// A length header announced a block longer than `MaxLength` (Block) or
    /// than `MaxBuffer` can ever hold (Reference). Its payload is skipped as
    /// it arrives, so framing stays in step.
    BlockTooLong {
        /// The announced length.
        size: u64,
        /// The limit it broke.
        limit: usize,
    },
    /// Bytes where a length header must be that can never become one.
    BadHeader {
        /// What was wrong.
        detail: String,
    },
    /// Filter::Reference was asked to `put` something that is not a
    /// reference (POE: "Choking on a non-reference").
    NotAReference {
        /// The kind of value it got.
        kind: &'static str,
    },
    /// A record that cannot be written as bytes (a container or a `Local`
    /// given to a byte-oriented filter).
    NotBytes {
        /// The kind of value it got.
        kind: &'static str,
    },
    /// A record of the wrong shape for this filter (HTTPD `put` wants an
    /// `HttpResponse`, RecordBlock `put` a list).
    WrongRecord {
        /// What the filter accepts.
        expected: &'static str,
        /// What it got.
        found: &'static str,
    },
    /// The serializer could not freeze a record.
    Freeze(SerializerError),
    /// The serializer could not thaw a frame (the frame is consumed).
    Thaw(SerializerError),
    /// zlib could not compress or decompress a frame.
    Compression(String),
}

impl fmt::Display for FilterError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            FilterError::BufferFull { limit, needed } => write!(
                f,
                "Framing buffer exceeds the limit ({needed} > {limit} octets)"
            ),
            FilterError::LineTooLong { limit } => {
                write!(f, "Next line exceeds maximum line length ({limit} octets)")
            }
            FilterError::BlockTooLong { size, limit } => write!(
                f,
                "Expected size of next block exceeds the limit ({size} > {limit} octets)"
            ),
            FilterError::BadHeader { detail } => write!(f, "bad length header: {detail}"),
            FilterError::NotAReference { kind } => {
                write!(f, "Choking on a non-reference ({kind})")
            }
            FilterError::NotBytes { kind } => {
                write!(f, "cannot write a {kind} record as bytes")
            }
            FilterError::WrongRecord { expected, found } => {
                write!(f, "expected a {expected} record, found {found}")
            }
            FilterError::Freeze(e) => write!(f, "cannot serialize record: {e}"),
            FilterError::Thaw(e) => write!(f, "cannot deserialize frame: {e}"),
            FilterError::Compression(e) => write!(f, "zlib: {e}"),
        }
    }
}

impl std::error::Error for FilterError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            FilterError::Freeze(e) | FilterError::Thaw(e) => Some(e),
            _ => None,
        }
    }
}

/// A serializer's failure, for Filter::Reference.
#[derive(Debug)]
#[non_exhaustive]
pub enum SerializerError {
    /// The built-in Storable serializer failed.
    Storable(StorableError),
    /// A user-supplied serializer failed.
    Other(Box<dyn std::error::Error>),
}

impl fmt::Display for SerializerError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            SerializerError::Storable(e) => write!(f, "Storable: {e}"),
            SerializerError::Other(e) => e.fmt(f),
        }
    }
}

impl std::error::Error for SerializerError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            SerializerError::Storable(e) => Some(e),
            SerializerError::Other(e) => Some(e.as_ref()),
        }
    }
}

impl From<StorableError> for SerializerError {
    fn from(e: StorableError) -> Self {
        SerializerError::Storable(e)
    }
}

/// A constructor parameter POE would croak on.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum ConfigError {
    /// A literal terminator (or `Literal`) was empty.
    EmptyLiteral,
    /// Two parameters that exclude each other were both given.
    Conflict(&'static str, &'static str),
    /// A size parameter was zero.
    Zero(&'static str),
    /// `MaxBuffer` cannot hold one `MaxLength` record plus its header.
    BufferTooSmall {
        /// The configured `MaxBuffer`.
        max_buffer: usize,
        /// What it must be at least.
        needed: usize,
    },
    /// An `InputRegexp` this crate's matcher does not understand.
    Regexp(String),
}

impl fmt::Display for ConfigError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ConfigError::EmptyLiteral => {
                f.write_str("A defined Literal must have a nonzero length")
            }
            ConfigError::Conflict(a, b) => write!(f, "cannot have both {a} and {b}"),
            ConfigError::Zero(p) => write!(f, "{p} must be greater than 0"),
            ConfigError::BufferTooSmall { max_buffer, needed } => write!(
                f,
                "MaxBuffer is not large enough for MaxLength blocks ({max_buffer} < {needed})"
            ),
            ConfigError::Regexp(e) => write!(f, "InputRegexp: {e}"),
        }
    }
}

impl std::error::Error for ConfigError {}
