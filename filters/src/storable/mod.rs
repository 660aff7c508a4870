//! Perl Storable's network-order format: what `nfreeze` writes and `thaw`
//! reads (Storable 3.x, binary major 2).
//!
//! Mapping between Perl data and [`Value`](poe_kernel::Value):
//!
//! | Perl | `Value` |
//! | --- | --- |
//! | `undef` | `Undef` |
//! | integer | `Int` (written as `SX_BYTE`/`SX_NETINT`, or as a decimal string beyond 32 bits, as Perl does) |
//! | float | written as a decimal string (Perl does too) that parses back to the same `f64`; integral floats as integers; read back as `Str` |
//! | byte string | `Bytes` (`Str` when it is ASCII) |
//! | character string (UTF-8 flag) | `Str` |
//! | array reference | `List` |
//! | hash reference | `Map` (plain keys are Latin-1, flagged keys UTF-8) |
//! | scalar reference | `Ref` |
//! | blessed reference | `Blessed { class, value }`, `value` being the reference as it would read unblessed |
//! | the same reference twice (`SX_OBJECT`) | a copy of the first |
//!
//! `thaw` returns the reference `nfreeze` was given, so a frozen hash
//! thaws to a `Map`. `nfreeze` refuses anything but a reference, and
//! `Local` anywhere inside.
//!
//! Hostile input is bounded: every length is checked against the octets
//! actually present before anything is allocated, nesting is limited
//! ([`ThawLimits::max_depth`]), back-references that would rebuild a huge
//! tree from a few octets are limited ([`ThawLimits::max_expansion`]), and
//! cyclic structures (which a `Value` tree cannot hold) are an error.
//!
//! ```
//! use poe_filters::storable::{nfreeze, thaw};
//! use poe_kernel::Value;
//!
//! let msg = Value::map([("event", Value::from("x"))]);
//! let bytes = nfreeze(&msg).unwrap();
//! // Byte for byte what Perl's nfreeze({event => "x"}) writes.
//! assert_eq!(bytes, b"\x05\x0b\x03\x00\x00\x00\x01\x0a\x01x\x00\x00\x00\x05event");
//! assert_eq!(thaw(&bytes).unwrap(), msg);
//! ```

mod error;
mod read;
mod write;

pub use error::StorableError;
pub use read::{thaw, thaw_with, ThawLimits};
pub use write::{nfreeze, nfreeze_into};

/// Opcodes of the Storable format (`SX_*` in Storable.xs).
#[allow(dead_code)]
pub(crate) mod op {
    pub const OBJECT: u8 = 0x00;
    pub const LSCALAR: u8 = 0x01;
    pub const ARRAY: u8 = 0x02;
    pub const HASH: u8 = 0x03;
    pub const REF: u8 = 0x04;
    pub const UNDEF: u8 = 0x05;
    pub const INTEGER: u8 = 0x06;
    pub const DOUBLE: u8 = 0x07;
    pub const BYTE: u8 = 0x08;
    pub const NETINT: u8 = 0x09;
    pub const SCALAR: u8 = 0x0a;
    pub const TIED_ARRAY: u8 = 0x0b;
    pub const TIED_HASH: u8 = 0x0c;
    pub const TIED_SCALAR: u8 = 0x0d;
    pub const SV_UNDEF: u8 = 0x0e;
    pub const SV_YES: u8 = 0x0f;
    pub const SV_NO: u8 = 0x10;
    pub const BLESS: u8 = 0x11;
    pub const IX_BLESS: u8 = 0x12;
    pub const HOOK: u8 = 0x13;
    pub const OVERLOAD: u8 = 0x14;
    pub const TIED_KEY: u8 = 0x15;
    pub const TIED_IDX: u8 = 0x16;
    pub const UTF8STR: u8 = 0x17;
    pub const LUTF8STR: u8 = 0x18;
    pub const FLAG_HASH: u8 = 0x19;
    pub const CODE: u8 = 0x1a;
    pub const WEAKREF: u8 = 0x1b;
    pub const WEAKOVERLOAD: u8 = 0x1c;
    pub const VSTRING: u8 = 0x1d;
    pub const LVSTRING: u8 = 0x1e;
    pub const SVUNDEF_ELEM: u8 = 0x1f;
    pub const REGEXP: u8 = 0x20;
    pub const LOBJECT: u8 = 0x21;
    pub const BOOLEAN_TRUE: u8 = 0x22;
    pub const BOOLEAN_FALSE: u8 = 0x23;
}

/// Header of a network-order image: major 2 with the netorder bit, minor 11
/// (Storable 3.x).
pub(crate) const HEADER: [u8; 2] = [(2 << 1) | 1, 11];

/// Per-key flags of `SX_FLAG_HASH`.
pub(crate) mod key_flag {
    pub const UTF8: u8 = 0x01;
    #[allow(dead_code)]
    pub const WAS_UTF8: u8 = 0x02;
    pub const IS_SV: u8 = 0x08;
    pub const PLACEHOLDER: u8 = 0x10;
}

/// Default nesting limit (opcodes deep; an array inside an array reference
/// is two): both `thaw` and `nfreeze` enforce it, so what one writes the
/// other reads.
pub const DEFAULT_MAX_DEPTH: usize = 2000;
