//! Conversions between records and bytes shared by the byte filters.

use crate::FilterError;
use poe_kernel::{Bytes, Text, Value};
use std::io::Write;

/// A received line or chunk as a record: `Str` when it is valid UTF-8,
/// `Bytes` otherwise, so no octet is ever lost or replaced.
#[inline]
pub(crate) fn text_or_bytes(raw: &[u8]) -> Value {
    match std::str::from_utf8(raw) {
        Ok(s) => Value::Str(Text::from(s)),
        Err(_) => Value::Bytes(Bytes::from(raw)),
    }
}

/// Text from octets of unknown encoding, as Perl reads them: UTF-8 when
/// valid, else Latin-1 (one character per octet).
pub(crate) fn utf8_or_latin1(raw: &[u8]) -> String {
    match std::str::from_utf8(raw) {
        Ok(s) => s.to_owned(),
        Err(_) => raw.iter().map(|&b| char::from(b)).collect(),
    }
}

/// The value of a run of ASCII digits, saturating at `u64::MAX`.
pub(crate) fn decimal_u64(digits: &[u8]) -> u64 {
    digits.iter().fold(0u64, |n, &d| {
        n.saturating_mul(10).saturating_add(u64::from(d - b'0'))
    })
}

/// Append a record's octets to `out`, as Perl would stringify a scalar:
/// strings and bytes as they are, numbers in Perl's notation, undef as
/// nothing. Containers and `Local`s have no byte form.
#[inline]
pub(crate) fn write_bytes(record: &Value, out: &mut Vec<u8>) -> Result<(), FilterError> {
    match record {
        Value::Str(s) => out.extend_from_slice(s.as_bytes()),
        Value::Bytes(b) => out.extend_from_slice(b),
        Value::Int(_) | Value::Float(_) => {
            // Writing into a Vec cannot fail.
            let _ = write!(out, "{record}");
        }
        Value::Undef => {}
        other => return Err(FilterError::NotBytes { kind: other.kind() }),
    }
    Ok(())
}

/// [`write_bytes`] for a record the filter's `put` owns: a string (a
/// received line sent back, the echo case) drops as the `Text` it is,
/// without the drop glue of every other kind of `Value`.
#[inline]
pub(crate) fn put_bytes(record: Value, out: &mut Vec<u8>) -> Result<(), FilterError> {
    match record {
        Value::Str(text) => {
            out.extend_from_slice(text.as_bytes());
            Ok(())
        }
        other => write_bytes(&other, out),
    }
}

/// Every octet of a word set to 0x01, and to 0x80.
const LO: u64 = 0x0101_0101_0101_0101;
const HI: u64 = 0x8080_8080_8080_8080;

/// Position of the first octet `marks` flags, eight octets a step (line
/// framing spends most of its time in these searches, and std has no
/// public memchr). `marks` sets the top bit of each flagged octet of a
/// word; borrows run upwards, so only its lowest flag need be exact.
/// `is_flagged` tests the octets of the last, partial word.
#[inline(always)]
fn find_flagged(
    hay: &[u8],
    marks: impl Fn(u64) -> u64,
    is_flagged: impl Fn(u8) -> bool,
) -> Option<usize> {
    let mut chunks = hay.chunks_exact(8);
    let mut offset = 0;
    for chunk in &mut chunks {
        let mut word = [0u8; 8];
        word.copy_from_slice(chunk);
        let found = marks(u64::from_le_bytes(word));
        if found != 0 {
            return Some(offset + (found.trailing_zeros() / 8) as usize);
        }
        offset += 8;
    }
    chunks
        .remainder()
        .iter()
        .position(|&c| is_flagged(c))
        .map(|i| offset + i)
}

/// Position of the first CR or LF.
///
/// Most text has no other control characters, so each word is first
/// tested for any octet below 0x0E (four operations, where the exact test
/// for two octets takes nine); the octet it finds is then checked, and a
/// tab or other control character resumes the search after it.
#[inline]
pub(crate) fn find_cr_or_lf(hay: &[u8]) -> Option<usize> {
    let mut from = 0;
    loop {
        let i = from + find_below(&hay[from..], 0x0E)?;
        if hay[i] == b'\r' || hay[i] == b'\n' {
            return Some(i);
        }
        from = i + 1;
    }
}

/// Position of the first octet below `n` (at most 0x80).
#[inline]
fn find_below(hay: &[u8], n: u8) -> Option<usize> {
    debug_assert!(n <= 0x80);
    let pn = LO.wrapping_mul(n as u64);
    // An octet below n borrows, and sets its top bit, which !w keeps only
    // for octets below 0x80.
    find_flagged(hay, |w| w.wrapping_sub(pn) & !w & HI, |c| c < n)
}

/// Position of the first byte equal to `a`.
#[inline]
pub(crate) fn find_byte(hay: &[u8], a: u8) -> Option<usize> {
    let pa = LO.wrapping_mul(a as u64);
    // An octet equal to a is zero after the xor, and borrows.
    let marks = |w: u64| {
        let x = w ^ pa;
        x.wrapping_sub(LO) & !x & HI
    };
    find_flagged(hay, marks, |c| c == a)
}

/// Position of the first occurrence of `needle` (non-empty) in `hay`.
pub(crate) fn find_slice(hay: &[u8], needle: &[u8]) -> Option<usize> {
    let (&first, rest) = needle.split_first()?;
    let mut from = 0;
    while from + needle.len() <= hay.len() {
        let i = from + find_byte(&hay[from..=hay.len() - needle.len()], first)?;
        if hay[i + 1..i + needle.len()] == *rest {
            return Some(i);
        }
        from = i + 1;
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn find_byte_agrees_with_a_naive_scan() {
        let hay: Vec<u8> = (0..200u32).map(|i| (i * 7 % 251) as u8).collect();
        for a in [0u8, 10, 13, 128, 255, 200] {
            for start in 0..20 {
                let h = &hay[start..];
                let naive = h.iter().position(|&c| c == a);
                assert_eq!(find_byte(h, a), naive, "a={a} start={start}");
            }
        }
    }

    #[test]
    fn find_cr_or_lf_agrees_with_a_naive_scan_among_other_control_octets() {
        let hay: Vec<u8> = (0..300u32)
            .map(|i| match i % 23 {
                0 => b'\t',
                5 => 0x0c,
                9 if i % 3 == 0 => b'\r',
                17 if i % 5 == 0 => b'\n',
                _ => (0x0e + i * 37 % 0xf0) as u8,
            })
            .collect();
        for start in 0..hay.len() {
            let h = &hay[start..];
            let naive = h.iter().position(|&c| c == b'\r' || c == b'\n');
            assert_eq!(find_cr_or_lf(h), naive, "start={start}");
        }
        assert_eq!(find_cr_or_lf(b"\t\x0b\x0c\x00\x01\x7f\x80\xff"), None);
    }

    #[test]
    fn find_slice_finds_overlapping_prefixes() {
        assert_eq!(find_slice(b"aaab", b"aab"), Some(1));
        assert_eq!(find_slice(b"abc", b"abcd"), None);
        assert_eq!(find_slice(b"xx\r\n", b"\r\n"), Some(2));
    }

    #[test]
    fn unknown_text_is_utf8_or_latin1() {
        assert_eq!(utf8_or_latin1("é".as_bytes()), "é");
        assert_eq!(utf8_or_latin1(b"caf\xe9"), "café");
    }

    #[test]
    fn decimal_values_saturate() {
        assert_eq!(decimal_u64(b"000123"), 123);
        assert_eq!(decimal_u64(b""), 0);
        assert_eq!(decimal_u64(b"18446744073709551615"), u64::MAX);
        assert_eq!(decimal_u64(b"99999999999999999999999"), u64::MAX);
    }

    #[test]
    fn records_stringify_like_perl_scalars() {
        let mut out = Vec::new();
        write_bytes(&Value::from(1.5), &mut out).unwrap();
        write_bytes(&Value::from(-3), &mut out).unwrap();
        write_bytes(&Value::Undef, &mut out).unwrap();
        assert_eq!(out, b"1.5-3");
        assert!(write_bytes(&Value::list([1]), &mut out).is_err());
    }
}
