//! Filter::HTTPD on arbitrary input: never panics; every record is a
//! request, a response to send back, or (streaming) a body piece.
#![no_main]

use libfuzzer_sys::fuzz_target;
use poe_filters::{Filter, HttpRequest, HttpResponse, Httpd};

fuzz_target!(|data: &[u8]| {
    let [flags, split, input @ ..] = data else { return };
    let size = usize::from(*split % 64) + 1;
    let mut f = Httpd::builder()
        .max_content(256)
        .max_header(512)
        .max_buffer(4096)
        .streaming(flags & 1 != 0)
        .build()
        .unwrap();
    for chunk in input.chunks(size) {
        let _ = f.get_one_start(chunk);
        while let Some(v) = f.get_one().unwrap() {
            if let Some(l) = v.as_local() {
                if l.is::<HttpResponse>() {
                    let mut out = Vec::new();
                    f.put(v.clone(), &mut out).unwrap();
                    assert!(out.starts_with(b"HTTP/1.0 "));
                } else {
                    assert!(l.is::<HttpRequest>());
                }
            } else {
                assert!(v.as_bytes().is_some());
            }
        }
    }
    let _ = f.get_pending();
});
