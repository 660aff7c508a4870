//! Hostile input: corrupt frames yield errors — never a panic, an abort or
//! an allocation sized by the attacker.

mod common;

use common::*;
use poe_filters::storable::{nfreeze, thaw, thaw_with, StorableError, ThawLimits};
use poe_filters::{Block, Filter, FilterError, HttpResponse, Httpd, Line, Reference};
use poe_kernel::Value;

#[test]
fn a_huge_length_prefix_is_refused_as_soon_as_its_header_arrives() {
    let mut f = Reference::new();
    f.get_one_start(b"99999999999999999999999999\x00\x05\x0b")
        .unwrap();
    assert!(matches!(f.get_one(), Err(FilterError::BlockTooLong { .. })));
    let mut f = Block::new();
    f.get_one_start(b"4294967296\x00abc").unwrap();
    assert!(matches!(f.get_one(), Err(FilterError::BlockTooLong { .. })));
}

#[test]
fn an_endless_run_of_digits_is_not_buffered() {
    let mut f = Reference::new();
    f.get_one_start(&[b'7'; 100]).unwrap();
    assert!(matches!(f.get_one(), Err(FilterError::BadHeader { .. })));
    assert_eq!(f.get_pending(), None);
}

#[test]
fn every_truncation_of_an_image_is_an_error() {
    let v = Value::map([
        ("event", Value::from("poe://k/s/t")),
        (
            "params",
            Value::list([Value::from(1), Value::from("x".repeat(300))]),
        ),
        ("rsvp", Value::Ref(Box::new(Value::from(-70000)))),
    ]);
    let image = nfreeze(&v).unwrap();
    for n in 0..image.len() {
        assert!(thaw(&image[..n]).is_err(), "prefix of {n} octets thawed");
    }
    assert_eq!(thaw(&image).unwrap(), v);
}

#[test]
fn an_unknown_opcode_is_an_error() {
    assert_eq!(
        thaw(b"\x05\x0b\x02\x00\x00\x00\x01\x2a"),
        Err(StorableError::UnknownOpcode {
            opcode: 0x2a,
            offset: 7
        })
    );
    for unsupported in [0x0b, 0x0c, 0x0d, 0x13, 0x1a, 0x1d, 0x20, 0x21] {
        assert!(matches!(
            thaw(&[5, 11, unsupported, 0, 0, 0, 0]),
            Err(StorableError::Unsupported { .. })
        ));
    }
}

#[test]
fn ten_thousand_levels_of_nesting_are_an_error() {
    let mut image = b"\x05\x0b".to_vec();
    for _ in 0..10_000 {
        image.extend_from_slice(b"\x02\x00\x00\x00\x01\x04");
    }
    image.push(0x05);
    assert!(matches!(thaw(&image), Err(StorableError::TooDeep { .. })));
    // The same through the filter.
    let mut f = Reference::new();
    let mut frame = format!("{}\0", image.len()).into_bytes();
    frame.extend_from_slice(&image);
    f.get_one_start(&frame).unwrap();
    assert!(matches!(f.get_one(), Err(FilterError::Thaw(_))));
}

#[test]
fn deep_values_are_refused_by_nfreeze_too() {
    // Built and dropped on a large stack: Value's own drop is recursive.
    std::thread::Builder::new()
        .stack_size(64 << 20)
        .spawn(|| {
            let mut v = Value::from("leaf");
            for _ in 0..10_000 {
                v = Value::list([v]);
            }
            assert!(matches!(nfreeze(&v), Err(StorableError::TooDeep { .. })));
        })
        .unwrap()
        .join()
        .unwrap();
}

#[test]
fn a_huge_count_allocates_nothing_it_cannot_fill() {
    // 2^31 - 1 elements claimed, none present.
    assert!(matches!(
        thaw(b"\x05\x0b\x02\x7f\xff\xff\xff\x05"),
        Err(StorableError::Truncated { .. })
    ));
    assert!(matches!(
        thaw(b"\x05\x0b\x03\x7f\xff\xff\xff"),
        Err(StorableError::Truncated { .. })
    ));
    assert!(matches!(
        thaw(b"\x05\x0b\x01\x7f\xff\xff\xffabc"),
        Err(StorableError::Truncated { .. })
    ));
    assert!(matches!(
        thaw(b"\x05\x0b\x01\xff\xff\xff\xffabc"),
        Err(StorableError::Malformed { .. })
    ));
}

#[test]
fn shared_reference_bombs_hit_the_expansion_limit() {
    // $a0 = [1]; $a(n+1) = [$an, $an]: 40 levels describe 2^40 values in
    // a few hundred octets.
    let mut image = b"\x05\x0b".to_vec();
    let mut tags = Vec::new();
    let levels = 40;
    // Root array of 2 refs to the next array..., innermost [1].
    let mut next_tag = 0u32;
    for _ in 0..levels {
        image.extend_from_slice(b"\x02\x00\x00\x00\x02\x04");
        tags.push(next_tag);
        next_tag += 2; // the array, then the first ref
    }
    image.extend_from_slice(b"\x02\x00\x00\x00\x01\x08\x81");
    let innermost = next_tag;
    // Close each level with a back-reference to its first element.
    let mut target = innermost;
    for _ in 0..levels {
        image.push(0x04);
        image.push(0x00);
        image.extend_from_slice(&target.to_be_bytes());
        target -= 2;
    }
    let err = thaw_with(
        &image,
        ThawLimits {
            max_expansion: 1 << 20,
            ..ThawLimits::default()
        },
    )
    .unwrap_err();
    assert!(
        matches!(err, StorableError::ExpansionLimit { .. }),
        "{err:?}"
    );
}

#[test]
fn bad_back_references_and_class_indexes_are_errors() {
    assert!(matches!(
        thaw(b"\x05\x0b\x02\x00\x00\x00\x01\x00\x00\x00\x00\x09"),
        Err(StorableError::BadBackReference { tag: 9, .. })
    ));
    assert!(matches!(
        thaw(b"\x05\x0b\x12\x05\x02\x00\x00\x00\x00"),
        Err(StorableError::BadClassIndex { index: 5, .. })
    ));
    assert!(matches!(
        thaw(b"\x05\x0b\x11\x01A\x11\x01B\x02\x00\x00\x00\x00"),
        Err(StorableError::Malformed { .. })
    ));
}

#[test]
fn a_zlib_bomb_is_stopped_at_max_buffer() {
    let mut big = Vec::new();
    Reference::builder()
        .compression(true)
        .build()
        .unwrap()
        .put(Value::list([Value::from(vec![0u8; 4 << 20])]), &mut big)
        .unwrap();
    assert!(big.len() < 64 << 10);
    let mut f = Reference::builder()
        .compression(true)
        .max_buffer(1 << 20)
        .build()
        .unwrap();
    f.get_one_start(&big).unwrap();
    assert!(matches!(f.get_one(), Err(FilterError::Compression(_))));
}

#[test]
fn a_one_gigabyte_content_length_is_a_413_without_allocating_it() {
    let mut f = Httpd::new();
    f.get_one_start(b"POST /x HTTP/1.1\r\nContent-Length: 1073741824\r\n\r\nabc")
        .unwrap();
    let r = f
        .get_one()
        .unwrap()
        .unwrap()
        .take_local::<HttpResponse>()
        .unwrap();
    assert_eq!(r.code, 413);
    // With streaming the body is handed out as it comes, never buffered.
    let mut f = Httpd::builder().streaming(true).build().unwrap();
    f.get_one_start(b"POST /x HTTP/1.1\r\nContent-Length: 1073741824\r\n\r\nabc")
        .unwrap();
    let got = drain(&mut f);
    assert_eq!(got.len(), 2);
    assert_eq!(got[1].as_bytes(), Some(&b"abc"[..]));
    // Absurd lengths saturate instead of overflowing.
    let mut f = Httpd::new();
    f.get_one_start(b"POST /x HTTP/1.1\r\nContent-Length: 99999999999999999999999\r\n\r\n")
        .unwrap();
    let r = f
        .get_one()
        .unwrap()
        .unwrap()
        .take_local::<HttpResponse>()
        .unwrap();
    assert_eq!(r.code, 413);
}

#[test]
fn an_endless_line_costs_at_most_max_length() {
    let mut f = Line::builder().max_length(1024).build().unwrap();
    let chunk = [b'a'; 4096];
    let mut errors = 0;
    for _ in 0..1000 {
        f.get_one_start(&chunk).unwrap();
        while let Err(e) = f.get_one() {
            assert!(matches!(e, FilterError::LineTooLong { .. }));
            errors += 1;
        }
        assert!(f.get_pending().map_or(0, |p| p.len()) <= 4096);
    }
    assert_eq!(errors, 1, "one error per over-long line");
}

#[test]
fn duplicate_differing_content_lengths_are_refused() {
    let mut f = Httpd::new();
    f.get_one_start(b"POST /x HTTP/1.1\r\nContent-Length: 1\r\nContent-Length: 5\r\n\r\nabcde")
        .unwrap();
    let r = f
        .get_one()
        .unwrap()
        .unwrap()
        .take_local::<HttpResponse>()
        .unwrap();
    assert_eq!(r.code, 400);
}

#[test]
fn random_garbage_never_panics_any_filter() {
    // A cheap deterministic fuzz pass (the cargo-fuzz targets go further).
    let mut seed = 0x2545_f491_4f6c_dd1du64;
    let mut next = || {
        seed ^= seed << 13;
        seed ^= seed >> 7;
        seed ^= seed << 17;
        seed
    };
    for _ in 0..2000 {
        let len = (next() % 300) as usize;
        let data: Vec<u8> = (0..len)
            .map(|_| {
                let r = next();
                // Bias towards framing-relevant octets.
                match r % 8 {
                    0 => b"\r\n\x000123456789"[(r >> 8) as usize % 13],
                    1 => (r >> 8) as u8 % 0x24,
                    _ => (r >> 8) as u8,
                }
            })
            .collect();
        let _ = thaw(&data);
        let mut image = vec![5, 11];
        image.extend_from_slice(&data);
        if let Ok(v) = thaw(&image) {
            let _ = nfreeze(&v).unwrap();
        }
        let filters: Vec<Box<dyn Filter>> = vec![
            Box::new(Line::new()),
            Box::new(Block::new()),
            Box::new(Reference::builder().no_fatals(true).build().unwrap()),
            Box::new(Httpd::new()),
        ];
        for mut f in filters {
            for chunk in data.chunks(1 + (next() % 17) as usize) {
                let _ = f.get_one_start(chunk);
                while let Ok(Some(_)) | Err(_) = f.get_one() {
                    if f.get_pending().is_none() {
                        break;
                    }
                }
            }
        }
    }
}
