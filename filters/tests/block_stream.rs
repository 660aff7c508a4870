//! POE::Filter::Stream (§20.3) and POE::Filter::Block (§20.4).

mod common;

use common::*;
use poe_filters::{Block, ConfigError, Filter, FilterError, Header, LengthCodec, Stream};
use poe_kernel::Value;
use std::rc::Rc;

fn b(x: &[u8]) -> Value {
    Value::from(x)
}

#[test]
fn stream_returns_everything_buffered_as_one_record() {
    let mut f = Stream::new();
    f.get_one_start(b"ab").unwrap();
    f.get_one_start(b"").unwrap();
    f.get_one_start(b"c").unwrap();
    assert_eq!(drain(&mut f), [b(b"abc")]);
}

#[test]
fn stream_an_empty_chunk_produces_nothing() {
    let mut f = Stream::new();
    f.get_one_start(b"").unwrap();
    assert_eq!(f.get_one().unwrap(), None);
    assert_eq!(f.get_pending(), None);
}

#[test]
fn stream_put_passes_chunks_through_unchanged() {
    let mut f = Stream::new();
    let mut out = Vec::new();
    f.put(b(b"\x00\xff"), &mut out).unwrap();
    f.put(Value::from(""), &mut out).unwrap();
    f.put(Value::from("x"), &mut out).unwrap();
    assert_eq!(out, b"\x00\xffx");
}

#[test]
fn block_size_returns_n_octet_blocks_and_keeps_the_remainder() {
    let mut f = Block::with_block_size(3).unwrap();
    f.get_one_start(b"abcdefgh").unwrap();
    assert_eq!(drain(&mut f), [b(b"abc"), b(b"def")]);
    assert_eq!(f.get_pending(), Some(b"gh".to_vec()));
}

#[test]
fn block_size_put_concatenates_without_padding_or_checks() {
    let mut f = Block::with_block_size(3).unwrap();
    let mut out = Vec::new();
    f.put(Value::from("ab"), &mut out).unwrap();
    f.put(Value::from("cdefg"), &mut out).unwrap();
    assert_eq!(out, b"abcdefg");
}

#[test]
fn block_size_must_be_positive_and_excludes_codec_and_max_length() {
    assert_eq!(
        Block::with_block_size(0).unwrap_err(),
        ConfigError::Zero("BlockSize")
    );
    assert!(matches!(
        Block::builder().block_size(2).max_length(10).build(),
        Err(ConfigError::Conflict("BlockSize", "MaxLength"))
    ));
    #[derive(Debug)]
    struct Nothing;
    impl LengthCodec for Nothing {
        fn encode(&self, _: usize, _: &mut Vec<u8>) {}
        fn decode(&self, _: &[u8]) -> Header {
            Header::Incomplete
        }
    }
    assert!(matches!(
        Block::builder()
            .block_size(2)
            .length_codec(Rc::new(Nothing))
            .build(),
        Err(ConfigError::Conflict("BlockSize", "LengthCodec"))
    ));
}

#[test]
fn default_encoding_is_decimal_length_nul_data() {
    let mut f = Block::new();
    let mut out = Vec::new();
    f.put(Value::from("a"), &mut out).unwrap();
    f.put(Value::from("bc"), &mut out).unwrap();
    f.put(Value::from(""), &mut out).unwrap();
    assert_eq!(out, b"1\x00a2\x00bc0\x00");
    f.get_one_start(&out).unwrap();
    assert_eq!(drain(&mut f), [b(b"a"), b(b"bc"), b(b"")]);
}

#[test]
fn default_decoder_accepts_leading_zeros() {
    let mut f = Block::new();
    f.get_one_start(b"0003\x00abc").unwrap();
    assert_eq!(drain(&mut f), [b(b"abc")]);
}

#[test]
fn garbage_before_a_header_is_dropped_without_stalling() {
    // POE returns nothing from this get and "abc" from the next (§24.8).
    let mut f = Block::new();
    f.get_one_start(b"xyz3\x00abc").unwrap();
    assert_eq!(drain(&mut f), [b(b"abc")]);
}

#[test]
fn digits_not_followed_by_nul_are_garbage() {
    let mut f = Block::new();
    f.get_one_start(b"12x1\x00a").unwrap();
    assert_eq!(drain(&mut f), [b(b"a")]);
}

#[test]
fn get_pending_after_a_parsed_header_keeps_the_header() {
    // POE returns "ab" here, losing the header (§24.8).
    let mut f = Block::new();
    f.get_one_start(b"5\x00ab").unwrap();
    assert_eq!(f.get_one().unwrap(), None);
    assert_eq!(f.get_pending(), Some(b"5\x00ab".to_vec()));
    // ... so a fresh filter fed the pending data resumes exactly.
    let mut g = Block::new();
    g.get_one_start(&f.get_pending().unwrap()).unwrap();
    g.get_one_start(b"cde").unwrap();
    assert_eq!(drain(&mut g), [b(b"abcde")]);
}

#[test]
fn a_length_over_max_length_is_an_error_and_its_payload_is_skipped() {
    let mut f = Block::builder().max_length(4).build().unwrap();
    f.get_one_start(b"6\x00abc").unwrap();
    let err = f.get_one().unwrap_err();
    assert!(matches!(
        err,
        FilterError::BlockTooLong { size: 6, limit: 4 }
    ));
    assert!(err
        .to_string()
        .starts_with("Expected size of next block exceeds the limit"));
    assert_eq!(f.get_one().unwrap(), None);
    f.get_one_start(b"def2\x00ok").unwrap();
    assert_eq!(drain(&mut f), [b(b"ok")]);
}

#[test]
fn max_buffer_must_hold_max_length_and_its_header() {
    assert!(matches!(
        Block::builder().max_length(100).max_buffer(103).build(),
        Err(ConfigError::BufferTooSmall { needed: 104, .. })
    ));
    assert!(Block::builder()
        .max_length(100)
        .max_buffer(104)
        .build()
        .is_ok());
}

#[test]
fn the_framing_buffer_is_bounded_by_max_buffer() {
    let mut f = Block::builder()
        .block_size(4)
        .max_buffer(6)
        .build()
        .unwrap();
    f.get_one_start(b"abcde").unwrap();
    assert!(matches!(
        f.get_one_start(b"fg"),
        Err(FilterError::BufferFull {
            limit: 6,
            needed: 7
        })
    ));
    assert_eq!(drain(&mut f), [b(b"abcd")]);
}

#[test]
fn a_custom_length_codec_frames_both_ways() {
    /// POE's t/ example style: a fixed 4-digit header.
    #[derive(Debug)]
    struct Fixed4;
    impl LengthCodec for Fixed4 {
        fn encode(&self, len: usize, out: &mut Vec<u8>) {
            out.extend_from_slice(format!("{len:04}").as_bytes());
        }
        fn decode(&self, buf: &[u8]) -> Header {
            if buf.len() < 4 {
                return Header::Incomplete;
            }
            match std::str::from_utf8(&buf[..4])
                .ok()
                .and_then(|s| s.parse().ok())
            {
                Some(n) => Header::Complete {
                    header_len: 4,
                    payload_len: n,
                },
                None => Header::Garbage { skip: 1 },
            }
        }
    }
    let mut f = Block::builder()
        .length_codec(Rc::new(Fixed4))
        .build()
        .unwrap();
    let mut out = Vec::new();
    f.put(Value::from("hello"), &mut out).unwrap();
    assert_eq!(out, b"0005hello");
    let mut g = f.clone_fresh();
    for byte in b"?0005hello0001x" {
        g.get_one_start(std::slice::from_ref(byte)).unwrap();
    }
    assert_eq!(drain(&mut *g), [b(b"hello"), b(b"x")]);
}

#[test]
fn block_matches_perl_poe_filter_block() {
    if !perl_with(&["POE::Filter::Block"]) {
        return;
    }
    // Inputs where POE and poe-rs agree (no garbage, no partial header at
    // a switch): records split at every possible place.
    let script = r#"use POE::Filter::Block; my $f = POE::Filter::Block->new;
        while (my $c = <STDIN>) { chomp $c; for my $r (@{$f->get([pack "H*", $c])}) { print unpack("H*", $r), "\n" } }
        print join(",", map { unpack "H*", $_ } @{$f->put([map { pack "H*", $_ } qw(61 6263 00ff)])}), "\n";"#;
    let chunks: [&[u8]; 4] = [b"3\x00ab", b"c1", b"0\x000123456789", b"0\x00"];
    let input: String = chunks.iter().map(|c| format!("{}\n", hex(c))).collect();
    let perl = run_perl(script, input.as_bytes());
    let mut f = Block::new();
    let mut ours: String = feed(&mut f, &chunks)
        .iter()
        .map(|v| format!("{}\n", hex(v.as_bytes().unwrap())))
        .collect();
    let puts: Vec<String> = [&b"a"[..], b"bc", b"\x00\xff"]
        .iter()
        .map(|r| {
            let mut out = Vec::new();
            f.put(Value::from(*r), &mut out).unwrap();
            hex(&out)
        })
        .collect();
    ours += &format!("{}\n", puts.join(","));
    assert_eq!(ours, perl);
}
