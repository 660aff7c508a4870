//! Storable network order against the byte vectors of ikc-protocol.md §4.2
//! (literal Perl 5.36 / Storable 3.26 output) and the real IKC transcript.

mod common;

use common::*;
use poe_filters::storable::{nfreeze, thaw, StorableError};
use poe_filters::{Filter, Line, Reference};
use poe_kernel::{Blessed, Value};

/// `05 0b` + `02 00 00 00 01` + element: a one-element list.
fn in_list(element: &[u8]) -> Vec<u8> {
    let mut v = b"\x05\x0b\x02\x00\x00\x00\x01".to_vec();
    v.extend_from_slice(element);
    v
}

fn both_ways(value: Value, bytes: &[u8]) {
    assert_eq!(nfreeze(&value).unwrap(), bytes, "nfreeze({value:?})");
    assert_eq!(thaw(bytes).unwrap(), value, "thaw({})", hex(bytes));
}

#[test]
fn scalars_use_the_opcode_perl_picks() {
    let one = |v: Value| Value::list([v]);
    both_ways(one(Value::Undef), &in_list(b"\x05"));
    for (i, enc) in [
        (0i64, &b"\x08\x80"[..]),
        (-1, b"\x08\x7f"),
        (127, b"\x08\xff"),
        (-128, b"\x08\x00"),
        (128, b"\x09\x00\x00\x00\x80"),
        (-129, b"\x09\xff\xff\xff\x7f"),
        (2147483647, b"\x09\x7f\xff\xff\xff"),
        (-2147483648, b"\x09\x80\x00\x00\x00"),
    ] {
        both_ways(one(Value::Int(i)), &in_list(enc));
    }
    // Beyond 32 bits: a decimal string, read back as text.
    let big = in_list(b"\x0a\x0a2147483648");
    assert_eq!(nfreeze(&one(Value::Int(2147483648))).unwrap(), big);
    assert_eq!(thaw(&big).unwrap(), one(Value::from("2147483648")));
    both_ways(one(Value::from("")), &in_list(b"\x0a\x00"));
    both_ways(one(Value::from("abc")), &in_list(b"\x0a\x03abc"));
    let mut long = b"\x01\x00\x00\x01\x00".to_vec();
    long.extend_from_slice(&[b'x'; 256]);
    both_ways(one(Value::from("x".repeat(256))), &in_list(&long));
    both_ways(one(Value::from("é")), &in_list(b"\x17\x02\xc3\xa9"));
    both_ways(one(Value::from(&b"\xe9"[..])), &in_list(b"\x0a\x01\xe9"));
    both_ways(
        one(Value::from("\u{1F600}")),
        &in_list(b"\x17\x04\xf0\x9f\x98\x80"),
    );
}

#[test]
fn floats_travel_as_strings_and_integral_floats_as_integers() {
    assert_eq!(
        nfreeze(&Value::list([1.5])).unwrap(),
        in_list(b"\x0a\x031.5")
    );
    assert_eq!(nfreeze(&Value::list([3.0])).unwrap(), in_list(b"\x08\x83"));
    // Perl's own %.15g would say "0.3"; the shortest exact text is kept.
    let v = thaw(&nfreeze(&Value::list([0.1 + 0.2])).unwrap()).unwrap();
    assert_eq!(v.as_list().unwrap()[0].as_f64(), Some(0.1 + 0.2));
    for f in [
        1e100,
        -2.5e-7,
        1.0e16 + 2.0,
        f64::MAX,
        5e-324,
        1700000000.123456,
    ] {
        let v = thaw(&nfreeze(&Value::list([f])).unwrap()).unwrap();
        assert_eq!(v.as_list().unwrap()[0].as_f64(), Some(f), "{f}");
    }
    let v = thaw(&nfreeze(&Value::list([f64::INFINITY, f64::NAN])).unwrap()).unwrap();
    assert_eq!(strings(v.as_list().unwrap()), ["Inf", "NaN"]);
}

#[test]
fn containers() {
    both_ways(
        Value::list(Vec::<Value>::new()),
        b"\x05\x0b\x02\x00\x00\x00\x00",
    );
    both_ways(
        Value::map(Vec::<(String, Value)>::new()),
        b"\x05\x0b\x03\x00\x00\x00\x00",
    );
    both_ways(
        Value::map([("a", 1)]),
        b"\x05\x0b\x03\x00\x00\x00\x01\x08\x81\x00\x00\x00\x01a",
    );
    both_ways(
        Value::list([Value::Ref(Box::new(Value::from("s")))]),
        &in_list(b"\x04\x0a\x01s"),
    );
    both_ways(
        Value::list([Value::Ref(Box::new(Value::list(Vec::<Value>::new())))]),
        &in_list(b"\x04\x04\x02\x00\x00\x00\x00"),
    );
    both_ways(
        Value::map([("event", "x")]),
        b"\x05\x0b\x03\x00\x00\x00\x01\x0a\x01x\x00\x00\x00\x05event",
    );
}

#[test]
fn array_holes_read_as_undef() {
    let v = thaw(b"\x05\x0b\x02\x00\x00\x00\x02\x0e\x08\x81").unwrap();
    assert_eq!(v, Value::list([Value::Undef, Value::from(1)]));
}

#[test]
fn utf8_and_latin1_hash_keys() {
    both_ways(
        Value::map([("日", 1)]),
        b"\x05\x0b\x19\x00\x00\x00\x00\x01\x08\x81\x01\x00\x00\x00\x03\xe6\x97\xa5",
    );
    // Perl downgrades "é" and flags it WASUTF8: Latin-1 octets.
    let perl = b"\x05\x0b\x19\x00\x00\x00\x00\x01\x08\x81\x02\x00\x00\x00\x01\xe9";
    assert_eq!(thaw(perl).unwrap(), Value::map([("é", 1)]));
    // A plain (byte) key is Latin-1 too, as Perl compares keys.
    let plain = b"\x05\x0b\x03\x00\x00\x00\x01\x08\x81\x00\x00\x00\x01\xe9";
    assert_eq!(thaw(plain).unwrap(), Value::map([("é", 1)]));
}

fn blessed(class: &str, value: Value) -> Value {
    Value::Blessed(Box::new(Blessed {
        class: class.into(),
        value,
    }))
}

#[test]
fn blessed_references_keep_their_class() {
    let empty_map = || Value::map(Vec::<(String, Value)>::new());
    let empty_list = || Value::list(Vec::<Value>::new());
    both_ways(
        blessed("Foo", empty_map()),
        b"\x05\x0b\x11\x03Foo\x03\x00\x00\x00\x00",
    );
    both_ways(
        Value::list([blessed("A", empty_list()), blessed("A", empty_list())]),
        b"\x05\x0b\x02\x00\x00\x00\x02\x04\x11\x01A\x02\x00\x00\x00\x00\x04\x12\x00\x02\x00\x00\x00\x00",
    );
    let class = "A".repeat(130);
    let mut long = b"\x05\x0b\x11\x80\x00\x00\x00\x82".to_vec();
    long.extend_from_slice(class.as_bytes());
    long.extend_from_slice(b"\x03\x00\x00\x00\x00");
    both_ways(blessed(&class, empty_map()), &long);
    // bless(\"x", "C") and [bless(\"x", "C")], from Perl.
    let scalar = blessed("C", Value::Ref(Box::new(Value::from("x"))));
    both_ways(scalar.clone(), b"\x05\x0b\x11\x01C\x0a\x01x");
    both_ways(Value::list([scalar]), &in_list(b"\x04\x11\x01C\x0a\x01x"));
}

#[test]
fn shared_references_read_as_copies() {
    // my $x = [1]; [$x, $x]
    let v = thaw(
        b"\x05\x0b\x02\x00\x00\x00\x02\x04\x02\x00\x00\x00\x01\x08\x81\x04\x00\x00\x00\x00\x02",
    )
    .unwrap();
    assert_eq!(v, Value::list([Value::list([1]), Value::list([1])]));
    // my $o = bless {}, "K"; [$o, $o]: the object takes the tag.
    let v = thaw(
        b"\x05\x0b\x02\x00\x00\x00\x02\x04\x11\x01K\x03\x00\x00\x00\x00\x04\x00\x00\x00\x00\x02",
    )
    .unwrap();
    let o = blessed("K", Value::map(Vec::<(String, Value)>::new()));
    assert_eq!(v, Value::list([o.clone(), o]));
    // Global undef and holes take tags too: [\undef, $x, $x].
    let v = thaw(&[
        5, 11, 2, 0, 0, 0, 3, 4, 0x0e, 4, 2, 0, 0, 0, 1, 8, 0x87, 4, 0, 0, 0, 0, 4,
    ])
    .unwrap();
    assert_eq!(
        v,
        Value::list([
            Value::Ref(Box::new(Value::Undef)),
            Value::list([7]),
            Value::list([7])
        ])
    );
}

#[test]
fn a_structure_containing_itself_is_an_error() {
    // my $c = []; push @$c, $c;
    assert_eq!(
        thaw(b"\x05\x0b\x02\x00\x00\x00\x01\x04\x00\x00\x00\x00\x00"),
        Err(StorableError::Cyclic { tag: 0 })
    );
}

#[test]
fn native_integers_and_doubles_are_read_little_endian_as_perl_does() {
    let v = thaw(b"\x05\x0b\x02\x00\x00\x00\x02\x06\x01\x00\x00\x00\x00\x00\x00\x00\x07\x00\x00\x00\x00\x00\x00\xf8\x3f")
        .unwrap();
    assert_eq!(v, Value::list([Value::Int(1), Value::Float(1.5)]));
}

#[test]
fn thaw_returns_the_reference_nfreeze_was_given() {
    // nfreeze(\42) and nfreeze(\\"s")
    assert_eq!(
        thaw(b"\x05\x0b\x08\xaa").unwrap(),
        Value::Ref(Box::new(Value::Int(42)))
    );
    assert_eq!(
        thaw(b"\x05\x0b\x04\x0a\x01s").unwrap(),
        Value::Ref(Box::new(Value::Ref(Box::new(Value::from("s")))))
    );
}

#[test]
fn trailing_octets_are_ignored_like_perl() {
    assert_eq!(
        thaw(b"\x05\x0b\x02\x00\x00\x00\x01\x08\x81garbage").unwrap(),
        Value::list([1])
    );
}

#[test]
fn nfreeze_refuses_non_references_and_locals() {
    assert_eq!(
        nfreeze(&Value::from(1)),
        Err(StorableError::NotAReference { kind: "integer" })
    );
    assert!(matches!(
        nfreeze(&Value::list([Value::local(3u8)])),
        Err(StorableError::LocalValue { .. })
    ));
}

#[test]
fn headers_other_than_netorder_major_2_are_refused() {
    assert_eq!(
        thaw(b"\x04\x0b\x08\x81"),
        Err(StorableError::NativeByteOrder)
    );
    assert!(matches!(
        thaw(b"\x07\x0b\x08\x81"),
        Err(StorableError::UnsupportedVersion { major: 3, .. })
    ));
    // Other minors are accepted (Perl 3.26 reads 05 07 and 05 0c).
    assert_eq!(
        thaw(b"\x05\x07\x02\x00\x00\x00\x00").unwrap(),
        Value::list(Vec::<Value>::new())
    );
}

/// One TCP connection of the transcript: each direction's chunks, in
/// order, with their mode.
struct Connection {
    name: String,
    chunks: Vec<(bool, bool, Vec<u8>)>, // (client_to_server, frame_mode, bytes)
    frames: [usize; 2],                 // annotated frames per direction
}

/// The capture is committed under components/tests/fixtures (a copy of
/// shared/ikc-transcript.txt); a line this parser cannot read fails the
/// test rather than skipping it.
fn transcript() -> Vec<Connection> {
    let path = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../components/tests/fixtures/ikc-transcript.txt"
    );
    let text = std::fs::read_to_string(path).unwrap_or_else(|e| panic!("{path}: {e}"));
    let mut conns: Vec<Connection> = Vec::new();
    let mut dir_c2s = true;
    for (n, line) in text.lines().enumerate() {
        let bad = || panic!("{path}:{}: unexpected line {line:?}", n + 1);
        if let Some(name) = line.strip_prefix("@@ connection ") {
            conns.push(Connection {
                name: name.into(),
                chunks: Vec::new(),
                frames: [0, 0],
            });
        } else if let Some(rest) = line.strip_prefix("=== chunk ") {
            let Some(conn) = conns.last_mut() else { bad() };
            dir_c2s = rest.contains(" C>S ");
            conn.chunks
                .push((dir_c2s, rest.contains("frame mode"), Vec::new()));
        } else if line.starts_with("C>S ") || line.starts_with("S>C ") {
            let Some(bar) = line.find('|') else { bad() };
            let bytes: String = line[14..bar].split_whitespace().collect();
            let Some(chunk) = conns.last_mut().and_then(|c| c.chunks.last_mut()) else {
                bad()
            };
            chunk.2.extend(unhex(&bytes));
        } else if line.starts_with("#   frame:") {
            let Some(conn) = conns.last_mut() else { bad() };
            conn.frames[usize::from(!dir_c2s)] += 1;
        }
    }
    assert!(!conns.is_empty(), "{path}: no connections");
    conns
}

/// The IKC scenario: Line for the negotiation, then a switch to Reference
/// that keeps the bytes Line had buffered; every frame must thaw to a hash
/// and re-freeze to something that thaws the same.
#[test]
fn the_ikc_transcript_parses_frame_by_frame_and_round_trips() {
    let conns = transcript();
    assert!(conns.len() >= 4);
    let mut total = 0;
    for conn in &conns {
        for dir in [true, false] {
            let mut line = Line::new();
            let mut reference: Option<Reference> = None;
            let mut frames = Vec::new();
            for (c2s, frame_mode, bytes) in &conn.chunks {
                if *c2s != dir {
                    continue;
                }
                if *frame_mode && reference.is_none() {
                    let mut r = Reference::new();
                    if let Some(rest) = line.get_pending() {
                        r.get_one_start(&rest).unwrap();
                    }
                    reference = Some(r);
                }
                match &mut reference {
                    Some(r) => {
                        // Byte by byte, the hardest split there is.
                        for b in bytes {
                            r.get_one_start(std::slice::from_ref(b)).unwrap();
                            frames.extend(drain(r));
                        }
                    }
                    None => {
                        line.get_one_start(bytes).unwrap();
                        for l in drain(&mut line) {
                            let l = l.to_string();
                            assert!(!l.is_empty(), "{}: empty negotiation line", conn.name);
                        }
                    }
                }
            }
            assert_eq!(
                frames.len(),
                conn.frames[usize::from(!dir)],
                "{} {}",
                conn.name,
                if dir { "C>S" } else { "S>C" }
            );
            for f in &frames {
                assert!(f.as_map().is_some(), "{}: not a hash: {f:?}", conn.name);
                assert!(f.get("event").is_some(), "{}: no event: {f:?}", conn.name);
                assert_eq!(&thaw(&nfreeze(f).unwrap()).unwrap(), f);
            }
            total += frames.len();
        }
    }
    assert!(total > 60, "only {total} frames");
}

#[test]
fn the_first_transcript_frame_is_the_documented_do_you_have_request() {
    let conns = transcript();
    let (_, _, bytes) = conns[0].chunks.iter().find(|c| c.0 && c.1).unwrap();
    let mut r = Reference::new();
    r.get_one_start(bytes).unwrap();
    let got = r.get_one().unwrap().unwrap();
    let me = "vm-6b0125d2-0000322e-00000001";
    let spec =
        |k: &str, s: &str, t: &str| Value::map([("kernel", k), ("session", s), ("state", t)]);
    let want = Value::map([
        ("event", spec("perlsrv", "IKC", "do_you_have")),
        ("from", Value::map([("kernel", me), ("session", "IKC")])),
        (
            "params",
            Value::list([spec("perlsrv", "echo", ""), Value::from(me)]),
        ),
        (
            "rsvp",
            spec(
                me,
                "IKC",
                "IKC:receipt 2 CODE(0x561f78595608)poe://perlsrv/echo",
            ),
        ),
    ]);
    assert_eq!(got, want);
}

/// Fuzz finding (reference target, crash-277d85ad…): a class name that is
/// not ASCII was read as Latin-1 and written as UTF-8, so it changed on
/// every round trip.
#[test]
fn regression_non_ascii_class_names_survive_round_trips() {
    let image = b"\x05\x0b\x11\x02\xbd\x01\x0a\x02\x00\xf6";
    let v = thaw(image).unwrap();
    assert_eq!(
        v,
        blessed(
            "\u{bd}\u{1}",
            Value::Ref(Box::new(Value::from(&b"\x00\xf6"[..])))
        )
    );
    let again = thaw(&nfreeze(&v).unwrap()).unwrap();
    assert_eq!(again, v);
    // A UTF-8 class name is read as UTF-8.
    let utf8 = blessed("Ünïcode::Clàss", Value::list([1]));
    assert_eq!(thaw(&nfreeze(&utf8).unwrap()).unwrap(), utf8);
}

/// Fuzz finding (reference target, crash-d91342a3…): nfreeze counted two
/// levels per reference where thaw counts one, so a long chain of (weak)
/// references and blessings that thawed could not be frozen again.
#[test]
fn regression_what_thaw_accepts_nfreeze_accepts_at_the_depth_limit() {
    use poe_filters::storable::DEFAULT_MAX_DEPTH;
    // A chain of weak references, then undef: as deep as thaw allows.
    let mut image = b"\x05\x0b".to_vec();
    image.extend(std::iter::repeat_n(0x1b, DEFAULT_MAX_DEPTH));
    image.push(0x05);
    std::thread::Builder::new()
        .stack_size(64 << 20) // Value's recursive drop and comparison
        .spawn(move || {
            let v = thaw(&image).unwrap();
            let again = nfreeze(&v).expect("what thaws freezes");
            assert_eq!(thaw(&again).unwrap(), v);
            // One level more is refused by both.
            let deeper = Value::Ref(Box::new(v));
            assert!(matches!(
                nfreeze(&deeper),
                Err(StorableError::TooDeep { .. })
            ));
            let mut image = b"\x05\x0b".to_vec();
            image.extend(std::iter::repeat_n(0x1b, DEFAULT_MAX_DEPTH + 1));
            image.push(0x05);
            assert!(matches!(thaw(&image), Err(StorableError::TooDeep { .. })));
        })
        .unwrap()
        .join()
        .unwrap();
}
