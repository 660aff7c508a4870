//! Filter::Block on arbitrary input: never panics, and yields the same
//! blocks and errors whether the input comes at once or in pieces.
#![no_main]

use libfuzzer_sys::fuzz_target;
use poe_filters::{Block, Filter};
use poe_kernel::Value;

fn make(mode: u8) -> Block {
    match mode % 3 {
        0 => Block::builder().max_length(64).max_buffer(4096).build().unwrap(),
        1 => Block::with_block_size(usize::from(mode / 3 % 7) + 1).unwrap(),
        _ => Block::new(),
    }
}

fn run(f: &mut Block, chunks: &mut dyn Iterator<Item = &[u8]>) -> Vec<Result<Value, String>> {
    let mut got = Vec::new();
    for chunk in chunks {
        if f.get_one_start(chunk).is_err() {
            got.push(Err("full".to_string()));
            continue;
        }
        loop {
            match f.get_one() {
                Ok(Some(v)) => got.push(Ok(v)),
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
    let a = run(&mut make(*mode), &mut std::iter::once(input));
    let b = run(&mut make(*mode), &mut input.chunks(size));
    if !a.iter().chain(&b).any(|r| r.as_ref().is_err_and(|e| e == "full")) {
        assert_eq!(a, b);
    }
    // What comes out goes back in unchanged.
    let mut f = make(*mode);
    let mut wire = Vec::new();
    for v in a.iter().flatten() {
        f.put(v.clone(), &mut wire).unwrap();
    }
    if *mode % 3 != 1 {
        f.get_one_start(&wire).unwrap();
        for v in a.iter().flatten() {
            assert_eq!(f.get_one().unwrap().as_ref(), Some(v));
        }
    }
});
