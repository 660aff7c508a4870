//! Soak run: a Server::TCP echo daemon under churning clients, with
//! alarms and short-lived sessions on the side, for minutes. It checks
//! what a long-running daemon relies on: every byte comes back, memory
//! stops growing once warm, and everything is collected at the end.
//!
//! Too slow for CI, so it is ignored by default:
//!
//! ```sh
//! POE_SOAK_SECS=600 cargo test --release --test soak -- --ignored --nocapture
//! ```
//!
//! `POE_SOAK_SECS` defaults to 120.

use poe::components::tcp::Server;
use poe::prelude::*;
use std::cell::RefCell;
use std::io::{BufRead, BufReader, Write};
use std::net::TcpStream;
use std::rc::Rc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

const CLIENT_THREADS: usize = 6;
const LINES_PER_CONNECTION: usize = 50;
const IDLE_CONNECTIONS: usize = 200;

/// Resident set size of this process, in bytes.
fn rss_bytes() -> u64 {
    let statm = std::fs::read_to_string("/proc/self/statm").unwrap();
    let pages: u64 = statm.split_whitespace().nth(1).unwrap().parse().unwrap();
    // SAFETY: sysconf only reads a configuration value.
    let page = unsafe { libc::sysconf(libc::_SC_PAGESIZE) } as u64;
    pages * page
}

/// One client thread: connect, echo a batch of lines, check each, close;
/// again until told to stop. Returns the lines it verified.
fn churn(port: u16, stop: Arc<AtomicBool>, lines: Arc<AtomicU64>, id: usize) {
    let mut round = 0u64;
    while !stop.load(Ordering::Relaxed) {
        let Ok(stream) = TcpStream::connect(("127.0.0.1", port)) else {
            // The listener closes as the run ends.
            assert!(stop.load(Ordering::Relaxed), "connect failed mid-run");
            return;
        };
        stream
            .set_read_timeout(Some(Duration::from_secs(30)))
            .unwrap();
        let mut reader = BufReader::new(stream.try_clone().unwrap());
        let mut writer = stream;
        let mut batch = String::new();
        for n in 0..LINES_PER_CONNECTION {
            batch += &format!("client {id} round {round} line {n} {}\n", "x".repeat(n));
        }
        writer.write_all(batch.as_bytes()).unwrap();
        for want in batch.lines() {
            let mut got = String::new();
            reader.read_line(&mut got).unwrap();
            assert_eq!(got.trim_end_matches(['\r', '\n']), want, "echoed line");
        }
        lines.fetch_add(LINES_PER_CONNECTION as u64, Ordering::Relaxed);
        round += 1;
    }
}

#[test]
#[ignore = "minutes long: run with --ignored (see the file's docs)"]
fn an_echo_daemon_under_churn_keeps_its_memory_and_collects_everything() {
    let secs: u64 = std::env::var("POE_SOAK_SECS")
        .ok()
        .map_or(120, |s| s.parse().expect("POE_SOAK_SECS: seconds"));
    let kernel = Kernel::new().unwrap();
    let server = Server::builder::<()>()
        .address("127.0.0.1")
        .port(0)
        .alias("echo")
        .client_input(|ctx| {
            let line = ctx.take_arg(0);
            ctx.heap.client.put(line).unwrap();
        })
        .spawn(&kernel)
        .unwrap();
    let port = server.port();

    // Connections that stay open and quiet the whole run.
    let idle: Vec<TcpStream> = (0..IDLE_CONNECTIONS)
        .map(|_| TcpStream::connect(("127.0.0.1", port)).unwrap())
        .collect();
    let stop = Arc::new(AtomicBool::new(false));
    let lines = Arc::new(AtomicU64::new(0));
    let clients: Vec<_> = (0..CLIENT_THREADS)
        .map(|id| {
            let (stop, lines) = (stop.clone(), lines.clone());
            std::thread::spawn(move || churn(port, stop, lines, id))
        })
        .collect();

    // Beside the echo: a session that sets and clears alarms and spawns
    // short-lived children every tick, and samples memory.
    let samples: Rc<RefCell<Vec<(f64, u64, usize)>>> = Rc::default();
    let s = samples.clone();
    let started = Instant::now();
    let stop_clients = stop.clone();
    kernel
        .create(
            Session::new(0u64)
                .state("_start", |ctx| {
                    ctx.delay("tick", 0.01, ()).unwrap();
                })
                .state("tick", move |ctx| {
                    *ctx.heap += 1;
                    for i in 0..20 {
                        let id = ctx.delay_set("never", 5.0 + f64::from(i), ()).unwrap();
                        if i % 2 == 0 {
                            ctx.alarm_remove(id).unwrap();
                        }
                    }
                    ctx.alarm_remove_all().unwrap();
                    ctx.create(
                        Session::new(())
                            .state("_start", |ctx| ctx.yield_("bye", ()))
                            .state("bye", |_| {}),
                    )
                    .unwrap();
                    if *ctx.heap % 100 == 0 {
                        let sessions = ctx.kernel().session_count();
                        s.borrow_mut().push((
                            started.elapsed().as_secs_f64(),
                            rss_bytes(),
                            sessions,
                        ));
                    }
                    if started.elapsed().as_secs() >= secs {
                        stop_clients.store(true, Ordering::Relaxed);
                        ctx.post("echo", "shutdown", ()).unwrap();
                    } else {
                        ctx.delay("tick", 0.01, ()).unwrap();
                    }
                })
                .state("never", |_| -> () { panic!("removed alarms never fire") }),
        )
        .unwrap();

    // The listener ends with its last connection: hang up the idle ones
    // once the clients are done.
    let closer = std::thread::spawn(move || {
        for c in clients {
            c.join().unwrap();
        }
        drop(idle);
    });
    kernel.run();
    closer.join().unwrap();

    let samples = samples.borrow();
    assert!(!samples.is_empty(), "no samples");
    let echoed = lines.load(Ordering::Relaxed);
    let warm = samples
        .iter()
        .find(|(t, _, _)| *t >= secs as f64 * 0.25)
        .expect("a sample after warm-up")
        .1;
    let last = samples.last().unwrap().1;
    let peak = samples.iter().map(|s| s.1).max().unwrap();
    let most_sessions = samples.iter().map(|s| s.2).max().unwrap();
    println!(
        "soak: {secs} s, {echoed} lines echoed ({:.0}/s), RSS warm {} KiB, last {} KiB, peak {} KiB, at most {most_sessions} sessions, {} events",
        echoed as f64 / secs as f64,
        warm / 1024,
        last / 1024,
        peak / 1024,
        kernel.events_dispatched(),
    );
    assert!(echoed > 0);
    assert!(
        last <= warm + 4 * 1024 * 1024,
        "RSS grew from {warm} to {last} bytes after warm-up"
    );
    // The idle connections, the churning ones (a few each: a closed one
    // can linger until its EOF is read while the next is accepted), the
    // listener, this session and its short-lived child: over minutes of
    // churn, anything that leaked would be thousands.
    let bound = IDLE_CONNECTIONS + 4 * CLIENT_THREADS + 4;
    assert!(
        most_sessions <= bound,
        "{most_sessions} sessions alive at once (at most {bound} expected)"
    );
}
