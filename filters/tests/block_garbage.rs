//! Block's handling of garbage before a header, with its warnings captured
//! (this binary installs a logger, so it lives apart from block_stream.rs).

mod common;

use common::*;
use poe_filters::{Block, Filter};
use poe_kernel::Value;
use std::cell::RefCell;

thread_local! {
    /// Warnings logged by the current test's thread.
    static WARNINGS: RefCell<Vec<String>> = const { RefCell::new(Vec::new()) };
}

struct Capture;

impl log::Log for Capture {
    fn enabled(&self, metadata: &log::Metadata) -> bool {
        metadata.level() <= log::Level::Warn
    }
    fn log(&self, record: &log::Record) {
        if self.enabled(record.metadata()) {
            WARNINGS.with(|w| w.borrow_mut().push(record.args().to_string()));
        }
    }
    fn flush(&self) {}
}

static CAPTURE: Capture = Capture;

/// Install the logger (once per binary) and return this thread's warnings
/// so far, clearing them.
fn take_warnings() -> Vec<String> {
    static INSTALL: std::sync::Once = std::sync::Once::new();
    INSTALL.call_once(|| {
        log::set_logger(&CAPTURE).expect("no other logger in this test binary");
        log::set_max_level(log::LevelFilter::Warn);
    });
    WARNINGS.with(|w| std::mem::take(&mut *w.borrow_mut()))
}

const MIB: usize = 1024 * 1024;

#[test]
fn a_mebibyte_of_digits_is_dropped_in_one_pass_with_one_warning() {
    // Parsing used to count the whole digit run for every 32 octets dropped:
    // quadratic (this input took minutes in a debug build).
    take_warnings();
    let mut input = vec![b'9'; MIB];
    input.extend_from_slice(b"3\x00abc");
    let mut f = Block::new();
    f.get_one_start(&input).unwrap();
    // The run is dropped 32 digits at a time, leaving the last digit (the
    // run is 2^20 + 1 long) as the header of "abc".
    assert_eq!(drain_all(&mut f), [Ok(Value::from(&b"abc"[..]))]);
    assert_eq!(f.get_pending(), None);
    assert_eq!(
        take_warnings(),
        [format!("{MIB} strange bytes removed from stream")]
    );
}

#[test]
fn a_digit_run_across_reads_warns_once_per_read() {
    take_warnings();
    let mut f = Block::new();
    let mut records = Vec::new();
    for _ in 0..MIB / 4096 {
        f.get_one_start(&[b'9'; 4096]).unwrap();
        records.extend(drain_all(&mut f));
    }
    f.get_one_start(b"3\x00abc").unwrap();
    records.extend(drain_all(&mut f));
    assert_eq!(records, [Ok(Value::from(&b"abc"[..]))]);
    // Each read drops what it can and warns once; at most 32 digits wait
    // for the next read (the last read drops those 32).
    let warnings = take_warnings();
    assert_eq!(warnings.len(), MIB / 4096 + 1);
    let dropped: usize = warnings
        .iter()
        .map(|w| {
            let n = w.strip_suffix(" strange bytes removed from stream");
            n.expect(w).parse::<usize>().unwrap()
        })
        .sum();
    assert_eq!(dropped, MIB);
}

#[test]
fn garbage_between_records_is_one_warning_per_run() {
    take_warnings();
    let mut f = Block::new();
    f.get_one_start(b"xy1\x00a12z2\x00bc").unwrap();
    assert_eq!(
        drain_all(&mut f),
        [Ok(Value::from(&b"a"[..])), Ok(Value::from(&b"bc"[..]))]
    );
    // "xy", then "12" + "z" (digits with a bad terminator, then non-digits).
    assert_eq!(
        take_warnings(),
        [
            "2 strange bytes removed from stream",
            "3 strange bytes removed from stream"
        ]
    );
}
