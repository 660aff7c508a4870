//! Length codecs for Filter::Block: how a block's length is written in
//! front of it.

use crate::record::decimal_u64;
use std::fmt;

/// What a [`LengthCodec`] found at the start of the buffer.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Header {
    /// Not enough octets to tell yet.
    Incomplete,
    /// A complete header of `header_len` octets announcing a payload of
    /// `payload_len` octets.
    Complete {
        /// Octets of the header itself.
        header_len: usize,
        /// Octets of the block that follows.
        payload_len: u64,
    },
    /// The first `skip` octets cannot start a header: drop them and look
    /// again (POE's "strange bytes removed from stream").
    Garbage {
        /// How many octets to drop.
        skip: usize,
    },
}

/// POE's `LengthCodec => [encoder, decoder]`, as a trait: the encoder writes
/// the header for a block, the decoder recognizes one without consuming it.
///
/// ```
/// use poe_filters::{Block, Filter, Header, LengthCodec};
/// use poe_kernel::Value;
/// use std::rc::Rc;
///
/// /// Two-octet big-endian lengths.
/// #[derive(Debug)]
/// struct U16;
/// impl LengthCodec for U16 {
///     fn encode(&self, len: usize, out: &mut Vec<u8>) {
///         out.extend_from_slice(&(len as u16).to_be_bytes());
///     }
///     fn decode(&self, buf: &[u8]) -> Header {
///         match buf {
///             [a, b, ..] => Header::Complete { header_len: 2, payload_len: u16::from_be_bytes([*a, *b]).into() },
///             _ => Header::Incomplete,
///         }
///     }
/// }
/// let mut block = Block::builder().length_codec(Rc::new(U16)).build().unwrap();
/// let mut wire = Vec::new();
/// block.put(Value::from("hi"), &mut wire).unwrap();
/// assert_eq!(wire, b"\x00\x02hi");
/// block.get_one_start(&wire).unwrap();
/// assert_eq!(block.get_one().unwrap(), Some(Value::from(&b"hi"[..])));
/// ```
pub trait LengthCodec: fmt::Debug {
    /// Append the header announcing a block of `len` octets.
    fn encode(&self, len: usize, out: &mut Vec<u8>);
    /// Recognize a header at the start of `buf` (which is never empty).
    fn decode(&self, buf: &[u8]) -> Header;
}

/// POE's default encoding: ASCII decimal length, a NUL, the data
/// (`"3\0abc"`). Leading zeros are accepted.
#[derive(Debug, Default, Clone, Copy)]
pub struct DecimalLength;

/// Longest run of digits accepted in a decimal header (`u64::MAX` has 20;
/// the rest allows leading zeros).
const MAX_DIGITS: usize = 32;

impl LengthCodec for DecimalLength {
    fn encode(&self, len: usize, out: &mut Vec<u8>) {
        write_decimal_header(len, out);
    }

    fn decode(&self, buf: &[u8]) -> Header {
        match parse_decimal_header(buf) {
            DecimalHeader::Complete {
                header_len,
                payload_len,
            } => Header::Complete {
                header_len,
                payload_len,
            },
            DecimalHeader::Incomplete => Header::Incomplete,
            DecimalHeader::NotDigits { skip } | DecimalHeader::BadTerminator { skip } => {
                Header::Garbage { skip }
            }
            DecimalHeader::TooManyDigits => Header::Garbage { skip: MAX_DIGITS },
        }
    }
}

/// Room for the longest `<decimal>\0` header: 20 digits and the NUL.
pub(crate) const DECIMAL_HEADER_MAX: usize = 21;

/// `<decimal>\0` written at the end of `buf`; returns those octets.
pub(crate) fn decimal_header(len: usize, buf: &mut [u8; DECIMAL_HEADER_MAX]) -> &[u8] {
    let mut i = buf.len() - 1;
    buf[i] = 0;
    let mut n = len;
    loop {
        i -= 1;
        buf[i] = b'0' + (n % 10) as u8;
        n /= 10;
        if n == 0 {
            break;
        }
    }
    &buf[i..]
}

/// Append `<decimal>\0`.
pub(crate) fn write_decimal_header(len: usize, out: &mut Vec<u8>) {
    out.extend_from_slice(decimal_header(len, &mut [0; DECIMAL_HEADER_MAX]));
}

/// Outcome of parsing `^(\d+)\0`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum DecimalHeader {
    Incomplete,
    Complete {
        header_len: usize,
        payload_len: u64,
    },
    /// The buffer starts with `skip` octets that are not digits.
    NotDigits {
        skip: usize,
    },
    /// `skip` digits followed by something other than a digit or NUL.
    BadTerminator {
        skip: usize,
    },
    TooManyDigits,
}

/// Parse `^(\d+)\0` at the start of `buf`. Looks at no more than
/// `MAX_DIGITS + 1` digits, so a long run of digits costs the same as a
/// short one (callers drop `MAX_DIGITS` octets and ask again).
pub(crate) fn parse_decimal_header(buf: &[u8]) -> DecimalHeader {
    let digits = buf
        .iter()
        .take(MAX_DIGITS + 1)
        .take_while(|b| b.is_ascii_digit())
        .count();
    if digits == 0 {
        let skip = buf.iter().take_while(|b| !b.is_ascii_digit()).count();
        return if skip == 0 {
            DecimalHeader::Incomplete
        } else {
            DecimalHeader::NotDigits { skip }
        };
    }
    if digits > MAX_DIGITS {
        return DecimalHeader::TooManyDigits;
    }
    match buf.get(digits) {
        None => DecimalHeader::Incomplete,
        Some(0) => DecimalHeader::Complete {
            header_len: digits + 1,
            payload_len: decimal_u64(&buf[..digits]),
        },
        Some(_) => DecimalHeader::BadTerminator { skip: digits },
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn decimal_headers() {
        let mut out = Vec::new();
        write_decimal_header(0, &mut out);
        write_decimal_header(1234, &mut out);
        assert_eq!(out, b"0\x001234\x00");
        let mut buf = [0; DECIMAL_HEADER_MAX];
        assert_eq!(
            decimal_header(usize::MAX, &mut buf),
            format!("{}\0", usize::MAX).as_bytes()
        );
        assert_eq!(
            parse_decimal_header(b"000123\0x"),
            DecimalHeader::Complete {
                header_len: 7,
                payload_len: 123
            }
        );
        assert_eq!(parse_decimal_header(b"12"), DecimalHeader::Incomplete);
        assert_eq!(
            parse_decimal_header(b"xy1"),
            DecimalHeader::NotDigits { skip: 2 }
        );
        assert_eq!(
            parse_decimal_header(b"12x"),
            DecimalHeader::BadTerminator { skip: 2 }
        );
        assert_eq!(
            parse_decimal_header(&[b'9'; 40]),
            DecimalHeader::TooManyDigits
        );
        assert_eq!(
            parse_decimal_header(b"99999999999999999999999\0"),
            DecimalHeader::Complete {
                header_len: 24,
                payload_len: u64::MAX
            }
        );
    }
}
