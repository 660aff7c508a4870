//! Storable thaw and Filter::Reference on arbitrary input: never panics;
//! whatever thaws freezes again, and freeze/thaw reaches a fixpoint.
#![no_main]

use libfuzzer_sys::fuzz_target;
use poe_filters::storable::{nfreeze, thaw};
use poe_filters::{Filter, Reference};

fuzz_target!(|data: &[u8]| {
    let [split, input @ ..] = data else { return };
    // The payload alone, with a Storable header in front.
    let mut image = vec![5, 11];
    image.extend_from_slice(input);
    for img in [input, &image[..]] {
        if let Ok(v) = thaw(img) {
            let again = thaw(&nfreeze(&v).expect("a thawed value freezes")).expect("and thaws");
            let third = thaw(&nfreeze(&again).unwrap()).unwrap();
            assert_eq!(again, third);
        }
    }
    // Framed, in pieces.
    let size = usize::from(*split % 32) + 1;
    let mut f = Reference::builder()
        .max_buffer(1 << 16)
        .no_fatals(split & 0x80 != 0)
        .build()
        .unwrap();
    for chunk in input.chunks(size) {
        let _ = f.get_one_start(chunk);
        loop {
            match f.get_one() {
                Ok(Some(v)) => {
                    let mut out = Vec::new();
                    let _ = f.put(v, &mut out);
                }
                Ok(None) => break,
                Err(_) => {}
            }
        }
    }
    let _ = f.get_pending();
});
