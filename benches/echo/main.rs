//! `cargo bench --bench echo`: line-echo servers under one load generator.
//!
//! Each server runs as its own process pinned to CPU 0; the load generator
//! (this process, pinned to CPU 1) keeps 50 connections x 16 lines of 32
//! bytes in flight and checks every echoed byte. Prints, per server,
//! `bench=<name> impl=<impl> metric=lines_per_s` and `metric=cpu_ns_per_line`
//! (the server's own CPU time per echoed line, which stays comparable when
//! the generator is the ceiling), then `bench=idle_conn` (RSS growth per
//! idle connection at 10 000 connections).
//!
//! Servers: `echo_select` — poe-rs with raw select_read, and a hand-written
//! mio echo (impl `mio`); `echo_readwrite` — poe-rs SocketFactory +
//! ReadWrite with the Line filter, tokio current_thread with LinesCodec
//! (impl `tokio`), and Perl POE's SocketFactory + ReadWrite (impl
//! `perl-poe`). `POE_BENCH_ONLY=<impl-name>` runs one; `POE_BENCH_QUICK=1`
//! shortens the windows; `POE_BENCH_NO_PERL=1` skips Perl.

mod loadgen;
mod measure;
mod servers;

use measure::Server;
use std::process::Command;
use std::time::Duration;

const CONNS: usize = 50;
const IN_FLIGHT: usize = 16;
const IDLE_CONNS: usize = 10_000;

fn report(bench: &str, imp: &str, metric: &str, value: f64) {
    println!("bench={bench} impl={imp} metric={metric} value={value:.0}");
}

fn main() {
    let args: Vec<String> = std::env::args().collect();
    if let Some(i) = args.iter().position(|a| a == "--serve") {
        match args.get(i + 1).map(String::as_str) {
            Some("poe-select") => servers::poe_select(),
            Some("poe-readwrite") => servers::poe_readwrite(),
            Some("mio") => servers::mio(),
            Some("tokio") => servers::tokio(),
            other => panic!("unknown server {other:?}"),
        }
        return;
    }
    let quick = std::env::var_os("POE_BENCH_QUICK").is_some();
    let only = std::env::var("POE_BENCH_ONLY").ok();
    let (warmup, window) = if quick {
        (Duration::from_millis(200), Duration::from_millis(500))
    } else {
        (Duration::from_millis(500), Duration::from_secs(3))
    };
    if !measure::pin_self(1) {
        println!("# could not pin the load generator to CPU 1");
    }
    measure::raise_fd_limit(2 * IDLE_CONNS as u64 + 256);
    let exe = std::env::current_exe().unwrap();
    let exe = exe.to_str().unwrap();
    let perl = concat!(env!("CARGO_MANIFEST_DIR"), "/benches/peers/echo.pl");
    let perl_ok = std::env::var_os("POE_BENCH_NO_PERL").is_none()
        && Command::new("perl")
            .args(["-MPOE", "-e", "1"])
            .output()
            .is_ok_and(|o| o.status.success());
    if !perl_ok {
        println!("# perl-poe skipped: perl with POE not available (or POE_BENCH_NO_PERL set)");
    }

    let runs: [(&str, &str, &str, Vec<&str>); 5] = [
        ("echo_select", "poe-rs", exe, vec!["--serve", "poe-select"]),
        ("echo_select", "mio", exe, vec!["--serve", "mio"]),
        (
            "echo_readwrite",
            "poe-rs",
            exe,
            vec!["--serve", "poe-readwrite"],
        ),
        ("echo_readwrite", "tokio", exe, vec!["--serve", "tokio"]),
        ("echo_readwrite", "perl-poe", "perl", vec![perl]),
    ];
    for (bench, imp, program, args) in &runs {
        if *imp == "perl-poe" && !perl_ok {
            continue;
        }
        if only
            .as_deref()
            .is_some_and(|o| o != format!("{bench}/{imp}"))
        {
            continue;
        }
        let server = Server::spawn(program, args, 0).expect("start server");
        let m = loadgen::run(&server, CONNS, IN_FLIGHT, warmup, window).expect("load run");
        report(bench, imp, "lines_per_s", m.lines_per_s());
        report(bench, imp, "cpu_ns_per_line", m.cpu_ns_per_line());
        if m.generator_saturated() {
            println!(
                "# {bench} {imp}: load generator saturated ({:.0}% of a core): lines_per_s is the generator's ceiling; compare cpu_ns_per_line",
                100.0 * m.gen_cpu / m.secs
            );
        }
    }

    for (imp, serve) in [("poe-rs", "poe-readwrite"), ("tokio", "tokio")] {
        if only
            .as_deref()
            .is_some_and(|o| o != format!("idle_conn/{imp}"))
        {
            continue;
        }
        let server = Server::spawn(exe, &["--serve", serve], 0).expect("start server");
        // Let the server settle, warm the allocator with a few connections.
        drop(loadgen::open_idle(server.port, 100).expect("warm-up connections"));
        std::thread::sleep(Duration::from_millis(200));
        let before = server.rss_bytes();
        let conns = loadgen::open_idle(server.port, IDLE_CONNS).expect("idle connections");
        std::thread::sleep(Duration::from_millis(200));
        let after = server.rss_bytes();
        report(
            "idle_conn",
            imp,
            "bytes_per_conn",
            (after.saturating_sub(before)) as f64 / IDLE_CONNS as f64,
        );
        drop(conns);
    }
}
