//! [`StorableError`].

use std::fmt;

/// Why a Storable image could not be read or written.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum StorableError {
    /// The image ends in the middle of a value.
    Truncated {
        /// Offset where more octets were needed.
        offset: usize,
    },
    /// Not a Storable binary major 2 image.
    UnsupportedVersion {
        /// Major version found.
        major: u8,
        /// Minor version found.
        minor: u8,
    },
    /// A native-order image (`freeze`, not `nfreeze`): not portable.
    NativeByteOrder,
    /// An opcode Storable does not define.
    UnknownOpcode {
        /// The opcode.
        opcode: u8,
        /// Where it was.
        offset: usize,
    },
    /// A valid opcode for data that has no `Value` form (tied containers,
    /// code, hooks, regexps...).
    Unsupported {
        /// What it was.
        what: &'static str,
        /// Where it was.
        offset: usize,
    },
    /// An image that breaks the format's structure.
    Malformed {
        /// What was wrong.
        what: &'static str,
        /// Where.
        offset: usize,
    },
    /// Nesting deeper than the limit.
    TooDeep {
        /// The limit.
        limit: usize,
    },
    /// A structure that contains itself: a `Value` tree cannot hold it.
    Cyclic {
        /// The object referred back to.
        tag: u32,
    },
    /// A back-reference to an object that was never stored.
    BadBackReference {
        /// The tag.
        tag: u32,
        /// Where.
        offset: usize,
    },
    /// `SX_IX_BLESS` naming a class index never defined.
    BadClassIndex {
        /// The index.
        index: u32,
        /// Where.
        offset: usize,
    },
    /// Back-references would rebuild more than the expansion limit.
    ExpansionLimit {
        /// The limit, in approximate octets of `Value`s built.
        limit: usize,
    },
    /// `nfreeze` needs a reference (a list, map, `Ref` or blessed value).
    NotAReference {
        /// What it got.
        kind: &'static str,
    },
    /// A `Local` object cannot leave the process.
    LocalValue {
        /// Its Rust type.
        type_name: &'static str,
    },
    /// A string, array or hash too large for the format's 31-bit lengths.
    TooLarge {
        /// Its length.
        len: usize,
    },
}

impl fmt::Display for StorableError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        use StorableError::*;
        match self {
            Truncated { offset } => write!(f, "image truncated at offset {offset}"),
            UnsupportedVersion { major, minor } => {
                write!(
                    f,
                    "binary image v{major}.{minor} is not supported (need v2.x)"
                )
            }
            NativeByteOrder => f.write_str("native byte order image (use nfreeze)"),
            UnknownOpcode { opcode, offset } => {
                write!(
                    f,
                    "corrupted storable: unknown opcode 0x{opcode:02x} at offset {offset}"
                )
            }
            Unsupported { what, offset } => {
                write!(f, "{what} at offset {offset} are not supported")
            }
            Malformed { what, offset } => write!(f, "malformed image at offset {offset}: {what}"),
            TooDeep { limit } => write!(f, "nesting deeper than {limit} levels"),
            Cyclic { tag } => write!(f, "cyclic structure (object #{tag} contains itself)"),
            BadBackReference { tag, offset } => {
                write!(
                    f,
                    "back-reference to unknown object #{tag} at offset {offset}"
                )
            }
            BadClassIndex { index, offset } => {
                write!(f, "unknown class index {index} at offset {offset}")
            }
            ExpansionLimit { limit } => {
                write!(f, "shared references expand past {limit} octets")
            }
            NotAReference { kind } => write!(f, "not a reference ({kind})"),
            LocalValue { type_name } => {
                write!(f, "a Local object ({type_name}) cannot be serialized")
            }
            TooLarge { len } => write!(f, "{len} elements or octets exceed the format's limit"),
        }
    }
}

impl std::error::Error for StorableError {}
