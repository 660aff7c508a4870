//! Property tests: every byte filter yields the same records whether its
//! input arrives at once or one octet at a time, and what `put` writes
//! `get` reads back.

mod common;

use common::error_kind;
use poe_filters::storable::{nfreeze, thaw};
use poe_filters::{
    Block, Filter, Grep, HttpRequest, HttpResponse, Httpd, Line, Map, RecordBlock, RecordFilter,
    Reference, Stackable, Stream,
};
use poe_kernel::{Blessed, Value};
use proptest::prelude::*;

/// Records and errors from feeding `chunks` (draining after each).
fn run(f: &mut dyn Filter, chunks: &[&[u8]]) -> Vec<Result<Value, String>> {
    let mut out = Vec::new();
    for c in chunks {
        f.get_one_start(c).unwrap();
        loop {
            match f.get_one() {
                Ok(Some(v)) => out.push(Ok(v)),
                Ok(None) => break,
                Err(e) => out.push(Err(error_kind(&e))),
            }
        }
    }
    out
}

fn whole_vs_bytes(make: &dyn Fn() -> Box<dyn Filter>, input: &[u8]) {
    let whole = run(&mut *make(), &[input]);
    let single: Vec<&[u8]> = input.chunks(1).collect();
    let bytes = run(&mut *make(), &single);
    assert_eq!(whole, bytes);
}

/// Octets with plenty of the ones framing cares about.
fn framing_octets() -> impl Strategy<Value = Vec<u8>> {
    prop::collection::vec(
        prop_oneof![
            4 => any::<u8>(),
            2 => Just(b'\r'),
            2 => Just(b'\n'),
            1 => Just(0u8),
            2 => b'0'..=b'9',
            1 => Just(b'A'),
            1 => Just(b'B'),
        ],
        0..200,
    )
}

fn line_text() -> impl Strategy<Value = String> {
    // No terminator inside a line: neither newlines nor the "<>" literal.
    "[^\r\n<]{0,40}"
}

/// Values as an IKC peer or a program would send them, in the forms
/// Storable reads back unchanged.
fn value() -> impl Strategy<Value = Value> {
    let leaf = prop_oneof![
        Just(Value::Undef),
        any::<i32>().prop_map(|i| Value::Int(i.into())),
        ".{0,30}".prop_map(Value::from),
        prop::collection::vec(128u8.., 1..20).prop_map(Value::from),
    ];
    leaf.prop_recursive(5, 64, 6, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..6).prop_map(Value::List),
            prop::collection::btree_map(".{0,8}", inner.clone(), 0..6)
                .prop_map(|m| Value::Map(Box::new(m))),
            inner.clone().prop_map(|v| Value::Ref(Box::new(v))),
            (
                "[A-Z][a-z]{0,6}(::[A-Z][a-z]{0,4})?",
                prop::collection::vec(inner, 0..4)
            )
                .prop_map(|(class, items)| Value::Blessed(Box::new(Blessed {
                    class,
                    value: Value::List(items)
                }))),
        ]
    })
}

/// A reference (what Filter::Reference accepts).
fn reference() -> impl Strategy<Value = Value> {
    value().prop_map(|v| match v {
        r @ (Value::List(_) | Value::Map(_) | Value::Ref(_) | Value::Blessed(_)) => r,
        scalar => Value::list([scalar]),
    })
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    #[test]
    fn line_default_mode_is_chunk_independent(input in framing_octets()) {
        whole_vs_bytes(&|| Box::new(Line::builder().max_length(16).build().unwrap()), &input);
    }

    #[test]
    fn line_literal_modes_are_chunk_independent(input in framing_octets()) {
        whole_vs_bytes(&|| Box::new(Line::literal("\r\n").unwrap()), &input);
        whole_vs_bytes(&|| Box::new(Line::builder().input_literal("ABA").max_length(8).build().unwrap()), &input);
    }

    #[test]
    fn line_autodetect_is_chunk_independent(input in framing_octets()) {
        whole_vs_bytes(&|| Box::new(Line::builder().autodetect().max_length(16).build().unwrap()), &input);
    }

    #[test]
    fn line_regexp_without_optional_tail_is_chunk_independent(input in framing_octets()) {
        whole_vs_bytes(&|| Box::new(Line::builder().input_regexp(r"(?:\r\n|A[0-9]B)").build().unwrap()), &input);
    }

    #[test]
    fn line_put_then_get_round_trips(lines in prop::collection::vec(line_text(), 0..10)) {
        for make in [
            Box::new(Line::new) as Box<dyn Fn() -> Line>,
            Box::new(|| Line::literal("<>").unwrap()),
            Box::new(|| Line::builder().autodetect().output_literal("\n").build().unwrap()),
        ] {
            let mut f = make();
            let mut wire = Vec::new();
            for l in &lines {
                f.put(Value::from(l.as_str()), &mut wire).unwrap();
            }
            let single: Vec<&[u8]> = wire.chunks(1).collect();
            let got = run(&mut make(), &single);
            let want: Vec<Result<Value, String>> =
                lines.iter().map(|l| Ok(Value::from(l.as_str()))).collect();
            prop_assert_eq!(got, want);
        }
    }

    #[test]
    fn stream_is_chunk_independent_up_to_chunking(input in framing_octets()) {
        let single: Vec<&[u8]> = input.chunks(1).collect();
        let got: Vec<u8> = run(&mut Stream::new(), &single)
            .into_iter()
            .flat_map(|r| r.unwrap().as_bytes().unwrap().to_vec())
            .collect();
        prop_assert_eq!(got, input);
    }

    #[test]
    fn block_is_chunk_independent(input in framing_octets(), size in 1usize..9) {
        whole_vs_bytes(&|| Box::new(Block::builder().max_length(20).build().unwrap()), &input);
        whole_vs_bytes(&move || Box::new(Block::with_block_size(size).unwrap()), &input);
    }

    #[test]
    fn block_put_then_get_round_trips(blocks in prop::collection::vec(prop::collection::vec(any::<u8>(), 0..50), 0..10)) {
        let mut f = Block::new();
        let mut wire = Vec::new();
        for b in &blocks {
            f.put(Value::from(b.as_slice()), &mut wire).unwrap();
        }
        let single: Vec<&[u8]> = wire.chunks(1).collect();
        let got: Vec<Vec<u8>> = run(&mut Block::new(), &single)
            .into_iter()
            .map(|r| r.unwrap().as_bytes().unwrap().to_vec())
            .collect();
        prop_assert_eq!(got, blocks);
    }

    #[test]
    fn storable_nfreeze_then_thaw_round_trips(v in reference()) {
        let image = nfreeze(&v).unwrap();
        prop_assert_eq!(thaw(&image).unwrap(), normalize(v));
    }

    #[test]
    fn reference_put_then_get_round_trips_in_pieces(vs in prop::collection::vec(reference(), 0..5), zlib in any::<bool>()) {
        let make = || Reference::builder().compression(zlib).build().unwrap();
        let mut f = make();
        let mut wire = Vec::new();
        for v in &vs {
            f.put(v.clone(), &mut wire).unwrap();
        }
        let single: Vec<&[u8]> = wire.chunks(1).collect();
        let got: Vec<Value> = run(&mut make(), &single).into_iter().map(Result::unwrap).collect();
        let want: Vec<Value> = vs.into_iter().map(normalize).collect();
        prop_assert_eq!(got, want);
    }

    #[test]
    fn reference_on_arbitrary_input_is_chunk_independent(input in framing_octets()) {
        // Without corrupt headers (which discard the buffer) the framing
        // does not depend on how the input is cut.
        let mut framed = Vec::new();
        for chunk in input.chunks(7) {
            framed.extend_from_slice(format!("{}\0", chunk.len()).as_bytes());
            framed.extend_from_slice(chunk);
        }
        whole_vs_bytes(&|| Box::new(Reference::new()), &framed);
    }

    #[test]
    fn httpd_requests_parse_the_same_in_pieces(reqs in prop::collection::vec(request(), 1..4)) {
        let mut wire = Vec::new();
        for r in &reqs {
            wire.extend_from_slice(&r.0);
        }
        let parse = |chunks: &[&[u8]]| -> Vec<HttpRequest> {
            let mut f = Httpd::new();
            let mut out = Vec::new();
            for c in chunks {
                f.get_one_start(c).unwrap();
                while let Some(v) = f.get_one().unwrap() {
                    out.push(v.take_local::<HttpRequest>().expect("a request"));
                }
            }
            out
        };
        let whole = parse(&[&wire]);
        let single: Vec<&[u8]> = wire.chunks(1).collect();
        prop_assert_eq!(&whole, &parse(&single));
        prop_assert_eq!(whole.len(), reqs.len());
        for (got, (_, uri, body)) in whole.iter().zip(&reqs) {
            prop_assert_eq!(&got.uri, uri);
            prop_assert_eq!(&got.content, body);
        }
    }

    #[test]
    fn httpd_on_arbitrary_input_is_chunk_independent(input in http_octets()) {
        // Requests, 400-style responses and errors alike: what a client
        // sends in one write or one octet at a time is answered the same.
        let parse = |chunks: &[&[u8]]| -> Vec<String> {
            let mut f = Httpd::new();
            let mut out = Vec::new();
            for c in chunks {
                f.get_one_start(c).unwrap();
                loop {
                    match f.get_one() {
                        Ok(Some(v)) => out.push(describe_http(v)),
                        Ok(None) => break,
                        Err(e) => out.push(format!("error {}", error_kind(&e))),
                    }
                }
            }
            out
        };
        let single: Vec<&[u8]> = input.chunks(1).collect();
        prop_assert_eq!(parse(&[&input]), parse(&single));
    }

    #[test]
    fn grep_keeps_exactly_the_matching_records_in_order(
        records in prop::collection::vec(any::<i64>(), 0..40),
        batch in 1usize..8,
    ) {
        let mut g = Grep::code(|v: &Value| v.as_i64().is_some_and(|i| i % 3 == 0));
        let mut got = Vec::new();
        for chunk in records.chunks(batch) {
            for &r in chunk {
                g.push_record(Value::from(r)).unwrap();
            }
            while let Some(v) = g.next_record().unwrap() {
                got.push(v.as_i64().unwrap());
            }
        }
        let want: Vec<i64> = records.iter().copied().filter(|i| i % 3 == 0).collect();
        prop_assert_eq!(&got, &want);
        let mut put = Vec::new();
        for &r in &records {
            g.put_record(Value::from(r), &mut put).unwrap();
        }
        let put: Vec<i64> = put.iter().map(|v| v.as_i64().unwrap()).collect();
        prop_assert_eq!(put, want);
    }

    #[test]
    fn map_transforms_every_record_in_order(
        records in prop::collection::vec(any::<i32>(), 0..40),
        batch in 1usize..8,
    ) {
        let mut m = Map::code(|v: Value| v.as_i64().unwrap() * 2);
        let mut got = Vec::new();
        for chunk in records.chunks(batch) {
            for &r in chunk {
                m.push_record(Value::from(r)).unwrap();
            }
            while let Some(v) = m.next_record().unwrap() {
                got.push(v.as_i64().unwrap());
            }
        }
        let want: Vec<i64> = records.iter().map(|&i| i64::from(i) * 2).collect();
        prop_assert_eq!(got, want);
    }

    #[test]
    fn stackable_is_chunk_independent(input in framing_octets()) {
        whole_vs_bytes(
            &|| {
                Box::new(Stackable::new([
                    Line::new().into(),
                    Map::code(|v: Value| v.to_string().len() as i64).into(),
                    RecordBlock::new(2).unwrap().into(),
                ]))
            },
            &input,
        );
    }
}

/// A request's bytes, its URI and its body.
fn request() -> impl Strategy<Value = (Vec<u8>, String, Vec<u8>)> {
    (
        "(GET|POST|PUT)",
        "/([a-z0-9][a-z0-9/]{0,11})?",
        prop::collection::vec(("X-[A-Za-z]{1,6}", "[ -~]{0,12}"), 0..4),
        prop::option::of(prop::collection::vec(any::<u8>(), 0..40)),
        prop_oneof![Just("\r\n"), Just("\n")],
    )
        .prop_map(|(method, uri, headers, body, nl)| {
            let mut r = format!("{method} {uri} HTTP/1.1{nl}");
            for (n, v) in headers {
                r += &format!("{n}: {}{nl}", v.trim());
            }
            if let Some(b) = &body {
                r += &format!("Content-Length: {}{nl}", b.len());
            }
            r += nl;
            let mut bytes = r.into_bytes();
            let body = body.unwrap_or_default();
            bytes.extend_from_slice(&body);
            // A body that starts with white space after a bare blank line
            // is ambiguous in POE's grammar; keep to unambiguous bodies.
            (bytes, uri, body)
        })
        .prop_filter("body must not start with white space", |(_, _, body)| {
            body.first().is_none_or(|b| !b" \t\r\n\x0b\x0c".contains(b))
        })
}

/// What Storable gives back for a value: text that is ASCII reads as text.
fn normalize(v: Value) -> Value {
    match v {
        Value::Bytes(b) if b.is_ascii() => Value::from(std::str::from_utf8(&b).unwrap()),
        Value::List(items) => Value::List(items.into_iter().map(normalize).collect()),
        Value::Map(m) => Value::Map(Box::new(
            m.into_iter().map(|(k, v)| (k, normalize(v))).collect(),
        )),
        Value::Ref(r) => Value::Ref(Box::new(normalize(*r))),
        Value::Blessed(b) => Value::Blessed(Box::new(Blessed {
            class: b.class,
            value: normalize(b.value),
        })),
        other => other,
    }
}

/// Octets that look enough like HTTP to reach every state of the parser:
/// request lines, headers, lengths, blank lines, garbage.
fn http_octets() -> impl Strategy<Value = Vec<u8>> {
    prop::collection::vec(
        prop_oneof![
            3 => Just(b"GET / HTTP/1.1\r\n".to_vec()),
            2 => Just(b"POST /x HTTP/1.0\n".to_vec()),
            2 => Just(b"Content-Length: 5\r\n".to_vec()),
            1 => Just(b"Content-Length: 99999999999\r\n".to_vec()),
            1 => Just(b"Content-Length: -1\r\n".to_vec()),
            1 => Just(b"Transfer-Encoding: chunked\r\n".to_vec()),
            2 => Just(b"X-A: b\r\n".to_vec()),
            1 => Just(b" folded\r\n".to_vec()),
            3 => Just(b"\r\n".to_vec()),
            2 => Just(b"\n".to_vec()),
            3 => prop::collection::vec(any::<u8>(), 0..8),
        ],
        0..12,
    )
    .prop_map(|parts| parts.concat())
}

/// A record of Filter::HTTPD, in a form tests can compare.
fn describe_http(v: Value) -> String {
    if let Some(r) = v.take_local::<HttpRequest>() {
        return format!("request {r:?}");
    }
    if let Some(mut r) = v.take_local::<HttpResponse>() {
        // A 400 quotes the head it refused, and where a read ended inside
        // "\r\n\r<octet>" decides whether the quote ends in "\r" or "\r\n":
        // compare the quote without its line ends.
        r.content.retain(|b| !b"\r\n".contains(b));
        r.headers = Default::default();
        let content = String::from_utf8_lossy(&std::mem::take(&mut r.content)).into_owned();
        return format!("response {r:?} {content}");
    }
    format!("other {v:?}")
}
