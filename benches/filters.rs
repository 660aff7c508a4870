//! `cargo bench --bench filters`: poe-rs filters side by side with Perl's.
//!
//! Prints one line per figure, `bench=<name> impl=<impl> metric=<unit>
//! value=<number>`:
//!
//! * `filter_line`, `mb_per_s`: Filter::Line doing echo work on 32-byte
//!   lines (30 octets + CR LF): input in 64 KiB reads, every line taken
//!   with `get_one` and written back with `put`; MB of input per second.
//! * `storable`, `roundtrips_per_s`: a typical IKC request (a call with
//!   RSVP, as in the IKC transcript) through `nfreeze` and `thaw`.
//!
//! The `perl-poe` lines come from `benches/peers/*.pl`, run in the same
//! invocation (POE::Filter::Line, Storable); a notice replaces them when
//! perl is missing. `BENCH_SECONDS` sets each measurement's duration
//! (default 2).

use poe_filters::storable::{nfreeze_into, thaw};
use poe_filters::{Filter, Line};
use poe_kernel::Value;
use std::hint::black_box;
use std::path::Path;
use std::process::Command;
use std::time::{Duration, Instant};

fn seconds() -> f64 {
    std::env::var("BENCH_SECONDS")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(2.0)
}

/// Run `round` until `seconds` have passed; (rounds, elapsed).
fn measure(seconds: f64, mut round: impl FnMut()) -> (u64, Duration) {
    // Warm up caches and the allocator first.
    let warm = Instant::now();
    while warm.elapsed() < Duration::from_millis(200) {
        round();
    }
    let start = Instant::now();
    let mut n = 0;
    while start.elapsed().as_secs_f64() < seconds {
        round();
        n += 1;
    }
    (n, start.elapsed())
}

fn filter_line(seconds: f64) {
    let line = format!("{}\r\n", "x".repeat(30));
    let chunk = line.repeat(65536 / 32).into_bytes();
    let mut filter = Line::new();
    let mut out = Vec::with_capacity(chunk.len());
    let (rounds, elapsed) = measure(seconds, || {
        filter.get_one_start(&chunk).unwrap();
        out.clear();
        let mut lines = 0;
        while let Some(record) = filter.get_one().unwrap() {
            filter.put(record, &mut out).unwrap();
            lines += 1;
        }
        assert_eq!(lines, 2048);
        black_box(&out);
    });
    assert_eq!(out, chunk, "echo must reproduce the input");
    let mb = (rounds as f64 * chunk.len() as f64) / 1e6;
    println!(
        "bench=filter_line impl=poe-rs metric=mb_per_s value={:.1}",
        mb / elapsed.as_secs_f64()
    );
}

/// The IKC request of benches/peers/storable.pl.
fn ikc_request() -> Value {
    let spec = |k: &str, s: Value, t: &str| {
        Value::map([
            ("kernel", Value::from(k)),
            ("session", s),
            ("state", Value::from(t)),
        ])
    };
    Value::map([
        ("event", Value::from("poe://perlsrv/echo/add")),
        (
            "params",
            Value::list([
                Value::from(1),
                Value::from(2),
                Value::from("3.5"),
                Value::from(40),
            ]),
        ),
        ("rsvp", spec("perlcli", Value::from(2), "sum")),
        (
            "from",
            spec(
                "vm-6b0125d2-0000322e-00000001",
                Value::from("tester"),
                "IKC:proxy",
            ),
        ),
        ("wantarray", Value::from("")),
    ])
}

fn storable(seconds: f64) {
    let request = ikc_request();
    let mut image = Vec::new();
    let (rounds, elapsed) = measure(seconds, || {
        for _ in 0..1000 {
            image.clear();
            nfreeze_into(black_box(&request), &mut image).unwrap();
            let back = thaw(black_box(&image)).unwrap();
            black_box(back);
        }
    });
    assert_eq!(thaw(&image).unwrap(), request);
    println!(
        "bench=storable impl=poe-rs metric=roundtrips_per_s value={:.0}",
        rounds as f64 * 1000.0 / elapsed.as_secs_f64()
    );
}

fn perl_peer(script: &str, seconds: f64) {
    let path = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("benches/peers")
        .join(script);
    let has_poe = Command::new("perl")
        .args(["-MPOE", "-MStorable", "-e", "1"])
        .status()
        .is_ok_and(|s| s.success());
    if !has_poe {
        println!("# notice: perl with POE and Storable not found; no perl-poe figure for {script}");
        return;
    }
    match Command::new("perl")
        .arg(&path)
        .arg(seconds.to_string())
        .output()
    {
        Ok(out) if out.status.success() => print!("{}", String::from_utf8_lossy(&out.stdout)),
        Ok(out) => println!(
            "# notice: {script} failed: {}",
            String::from_utf8_lossy(&out.stderr).trim()
        ),
        Err(e) => println!("# notice: cannot run perl: {e}"),
    }
}

fn main() {
    // `cargo bench` passes `--bench`; `cargo test --benches` does not, and
    // then a quick smoke run is enough.
    let seconds = if std::env::args().any(|a| a == "--bench") {
        seconds()
    } else {
        0.05
    };
    filter_line(seconds);
    perl_peer("filter_line.pl", seconds);
    storable(seconds);
    perl_peer("storable.pl", seconds);
}
