//! Filter::Line on arbitrary input: never panics, and (except for
//! InputRegexp, which like POE matches what has arrived) yields the same
//! records and errors whether the input comes at once or in pieces.
#![no_main]

use libfuzzer_sys::fuzz_target;
use poe_filters::{Filter, Line};
use poe_kernel::Value;

fn make(mode: u8) -> (Line, bool) {
    let b = Line::builder().max_length(24).max_buffer(4096);
    match mode % 6 {
        0 => (b.build().unwrap(), true),
        1 => (b.literal("\r\n").build().unwrap(), true),
        2 => (b.autodetect().build().unwrap(), true),
        3 => (b.input_literal("ABA").build().unwrap(), true),
        4 => (b.input_regexp(r"(?:\r?\n|;;)").build().unwrap(), false),
        _ => (b.input_regexp(r"x+?y|[\d]{2,3}|\R").build().unwrap(), false),
    }
}

fn run(f: &mut Line, chunks: &mut dyn Iterator<Item = &[u8]>) -> Vec<Result<Value, String>> {
    let mut got = Vec::new();
    for chunk in chunks {
        if f.get_one_start(chunk).is_err() {
            got.push(Err("full".to_string()));
            continue;
        }
        loop {
            match f.get_one() {
                Ok(Some(v)) => {
                    let mut out = Vec::new();
                    f.put(v.clone(), &mut out).unwrap();
                    assert!(out.starts_with(v.as_bytes().unwrap()));
                    got.push(Ok(v));
                }
                Ok(None) => break,
                Err(e) => got.push(Err(format!("{e:?}"))),
            }
        }
    }
    let _ = f.get_pending();
    got
}

fuzz_target!(|data: &[u8]| {
    let [mode, split, input @ ..] = data else { return };
    let size = usize::from(*split % 16) + 1;
    let (mut whole, chunk_independent) = make(*mode);
    let (mut pieces, _) = make(*mode);
    let a = run(&mut whole, &mut std::iter::once(input));
    let b = run(&mut pieces, &mut input.chunks(size));
    if chunk_independent && !a.iter().chain(&b).any(|r| r.as_ref().is_err_and(|e| e == "full")) {
        assert_eq!(a, b);
    }
});
