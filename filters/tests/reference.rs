//! POE::Filter::Reference (§20.6).

mod common;

use common::*;
use poe_filters::storable::nfreeze;
use poe_filters::{Filter, FilterError, Reference, Serializer, SerializerError};
use poe_kernel::Value;
use std::rc::Rc;

fn request() -> Value {
    Value::map([
        ("event", Value::from("poe://k/s/t")),
        ("params", Value::list([Value::from(1), Value::from("x")])),
    ])
}

#[test]
fn a_frame_is_decimal_length_nul_payload() {
    let mut f = Reference::new();
    let mut out = Vec::new();
    f.put(request(), &mut out).unwrap();
    let payload = nfreeze(&request()).unwrap();
    let mut want = format!("{}\0", payload.len()).into_bytes();
    want.extend_from_slice(&payload);
    assert_eq!(out, want);
}

#[test]
fn put_then_get_round_trips_every_reference_kind() {
    let values = [
        request(),
        Value::list([1, 2, 3]),
        Value::Ref(Box::new(Value::from("scalar ref"))),
        Value::Blessed(Box::new(poe_kernel::Blessed {
            class: "My::Class".into(),
            value: Value::map([("a", 1)]),
        })),
    ];
    let mut f = Reference::new();
    let mut wire = Vec::new();
    for v in &values {
        f.put(v.clone(), &mut wire).unwrap();
    }
    f.get_one_start(&wire).unwrap();
    assert_eq!(drain(&mut f), values);
}

#[test]
fn put_chokes_on_a_non_reference() {
    let mut f = Reference::new();
    let mut out = Vec::new();
    let err = f.put(Value::from("plain"), &mut out).unwrap_err();
    assert!(matches!(err, FilterError::NotAReference { kind: "string" }));
    assert!(err.to_string().starts_with("Choking on a non-reference"));
    assert!(out.is_empty());
}

#[test]
fn put_refuses_local_objects_and_leaves_the_output_alone() {
    let mut f = Reference::new();
    let mut out = b"keep".to_vec();
    assert!(matches!(
        f.put(Value::list([Value::local(1u8)]), &mut out),
        Err(FilterError::Freeze(_))
    ));
    assert_eq!(out, b"keep");
}

#[test]
fn frames_split_anywhere_are_reassembled() {
    let mut f = Reference::new();
    let mut wire = Vec::new();
    f.put(request(), &mut wire).unwrap();
    f.put(Value::list([9]), &mut wire).unwrap();
    let mut g = Reference::new();
    let mut got = Vec::new();
    for byte in &wire {
        g.get_one_start(std::slice::from_ref(byte)).unwrap();
        got.extend(drain(&mut g));
    }
    assert_eq!(got, [request(), Value::list([9])]);
}

#[test]
fn a_frame_that_does_not_thaw_is_an_error_and_is_consumed() {
    let mut f = Reference::new();
    f.get_one_start(b"3\x00\x05\x0b\x2a").unwrap();
    let mut wire = Vec::new();
    Reference::new().put(Value::list([1]), &mut wire).unwrap();
    f.get_one_start(&wire).unwrap();
    assert!(matches!(f.get_one(), Err(FilterError::Thaw(_))));
    assert_eq!(drain(&mut f), [Value::list([1])]);
}

#[test]
fn no_fatals_turns_a_thaw_error_into_a_string_record() {
    let mut f = Reference::builder().no_fatals(true).build().unwrap();
    f.get_one_start(b"2\x00\x05\x0b").unwrap();
    let got = f.get_one().unwrap().unwrap();
    assert!(got.as_str().unwrap().contains("truncated"), "{got:?}");
}

#[test]
fn no_fatals_turns_an_overflow_into_the_next_record() {
    let mut f = Reference::builder()
        .no_fatals(true)
        .max_buffer(10)
        .build()
        .unwrap();
    f.get_one_start(b"12345678901").unwrap();
    assert_eq!(
        f.get_one().unwrap(),
        Some(Value::from("Framing buffer exceeds the limit"))
    );
}

#[test]
fn without_no_fatals_an_overflow_is_an_error() {
    let mut f = Reference::builder().max_buffer(10).build().unwrap();
    assert!(matches!(
        f.get_one_start(b"12345678901"),
        Err(FilterError::BufferFull { limit: 10, .. })
    ));
}

#[test]
fn get_pending_returns_the_raw_buffer_without_clearing_it() {
    let mut f = Reference::new();
    let mut wire = Vec::new();
    f.put(Value::list([1]), &mut wire).unwrap();
    f.get_one_start(&wire).unwrap();
    assert_eq!(f.get_pending(), Some(wire.clone()));
    // Feeding it back duplicates the frame, as t/07_reference expects.
    f.get_one_start(&f.get_pending().unwrap()).unwrap();
    assert_eq!(drain(&mut f), [Value::list([1]), Value::list([1])]);
}

#[test]
fn compression_is_zlib_of_the_payload() {
    let mut f = Reference::builder().compression(true).build().unwrap();
    let big = Value::list([Value::from("x".repeat(10_000))]);
    let mut wire = Vec::new();
    f.put(big.clone(), &mut wire).unwrap();
    assert!(wire.len() < 200, "{} octets", wire.len());
    let mut g = f.clone_fresh();
    g.get_one_start(&wire).unwrap();
    assert_eq!(drain(&mut *g), [big]);
}

#[test]
fn a_stream_that_does_not_start_with_a_length_is_an_error() {
    // POE waits for ever on such a stream; poe-rs reports and drops it.
    let mut f = Reference::new();
    f.get_one_start(b"GET / HTTP/1.0\r\n").unwrap();
    assert!(matches!(f.get_one(), Err(FilterError::BadHeader { .. })));
    assert_eq!(f.get_pending(), None);
}

#[test]
fn a_pluggable_serializer_replaces_storable() {
    /// Lists of strings, one per line: enough to show the plumbing.
    #[derive(Debug)]
    struct Lines;
    impl Serializer for Lines {
        fn name(&self) -> &str {
            "Lines"
        }
        fn freeze(&self, v: &Value, out: &mut Vec<u8>) -> Result<(), SerializerError> {
            for item in v.as_list().unwrap_or_default() {
                out.extend_from_slice(item.to_string().as_bytes());
                out.push(b'\n');
            }
            Ok(())
        }
        fn thaw(&self, payload: &[u8]) -> Result<Value, SerializerError> {
            let text =
                std::str::from_utf8(payload).map_err(|e| SerializerError::Other(Box::new(e)))?;
            Ok(Value::list(text.lines()))
        }
    }
    let mut f = Reference::builder()
        .serializer(Rc::new(Lines))
        .build()
        .unwrap();
    assert_eq!(f.serializer().name(), "Lines");
    let mut wire = Vec::new();
    f.put(Value::list(["a", "b"]), &mut wire).unwrap();
    assert_eq!(wire, b"4\x00a\nb\n");
    f.get_one_start(&wire).unwrap();
    assert_eq!(drain(&mut f), [Value::list(["a", "b"])]);
}

#[test]
fn perl_filter_reference_reads_our_frames_and_we_read_its() {
    if !perl_with(&["POE::Filter::Reference"]) {
        return;
    }
    let script = r#"use POE::Filter::Reference; use Data::Dumper; $Data::Dumper::Sortkeys = 1; $Data::Dumper::Indent = 0;
        my $f = POE::Filter::Reference->new; local $/; my $in = <STDIN>;
        for my $r (@{$f->get([$in])}) { print Dumper($r), "\n" }
        print unpack("H*", join "", @{$f->put([{event => "from perl", params => [1, "two"]}])}), "\n";"#;
    let mut wire = Vec::new();
    Reference::new().put(request(), &mut wire).unwrap();
    Reference::new().put(Value::list([3]), &mut wire).unwrap();
    let out = run_perl(script, &wire);
    let lines: Vec<&str> = out.lines().collect();
    assert_eq!(
        lines[..2],
        [
            r#"$VAR1 = {'event' => 'poe://k/s/t','params' => [1,'x']};"#,
            "$VAR1 = [3];"
        ]
    );
    let mut f = Reference::new();
    f.get_one_start(&unhex(lines[2])).unwrap();
    assert_eq!(
        drain(&mut f),
        [Value::map([
            ("event", Value::from("from perl")),
            ("params", Value::list([Value::from(1), Value::from("two")])),
        ])]
    );
}

#[test]
fn compressed_frames_interoperate_with_perl() {
    if !perl_with(&["POE::Filter::Reference", "Compress::Zlib"]) {
        return;
    }
    let script = r#"use POE::Filter::Reference; use Data::Dumper; $Data::Dumper::Sortkeys = 1; $Data::Dumper::Indent = 0;
        my $f = POE::Filter::Reference->new(undef, 1); local $/; my $in = <STDIN>;
        for my $r (@{$f->get([$in])}) { print Dumper($r), "\n" }
        print unpack("H*", join "", @{$f->put([["z" x 1000]])}), "\n";"#;
    let mut ours = Reference::builder().compression(true).build().unwrap();
    let mut wire = Vec::new();
    ours.put(request(), &mut wire).unwrap();
    let out = run_perl(script, &wire);
    let lines: Vec<&str> = out.lines().collect();
    assert_eq!(
        lines[0],
        r#"$VAR1 = {'event' => 'poe://k/s/t','params' => [1,'x']};"#
    );
    let frame = unhex(lines[1]);
    assert!(frame.len() < 100, "Perl compressed it too");
    ours.get_one_start(&frame).unwrap();
    assert_eq!(
        drain(&mut ours),
        [Value::list([Value::from("z".repeat(1000))])]
    );
}
