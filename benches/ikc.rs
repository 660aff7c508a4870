//! `cargo bench --bench ikc`: remote posts and calls between two kernels
//! over loopback.
//!
//! * `ikc_post` (posts_per_s): the boss posts N one-way messages to the
//!   worker's `bench/count` (params `[1, "two", 3.5]`), then calls
//!   `bench/total`; the clock stops when that reply (the count) arrives.
//! * `ikc_call` (calls_per_s): N calls of `bench/echo` with an RSVP reply,
//!   one outstanding at a time.
//!
//! impl `poe-rs`: two Rust kernels, the worker a child process (this
//! program with `--worker`). impl `raw-tcp` (ikc_call only): the floor,
//! a blocking 150-byte ping-pong between the same two processes with no
//! event loop, framing or serialisation — on a VM most of a round trip
//! is waking the other process. impl `perl-poe`: the Perl IKC peer of the
//! tests on both sides (tests/perl/ikc/peer.pl `server` and
//! `bench-client`), Perl POE 1.370 with Filter::Reference and Storable.
//! `POE_BENCH_QUICK=1` shrinks the runs; `POE_BENCH_NO_PERL=1` skips Perl.

use poe::components::ikc::{Client, Server};
use poe::prelude::*;
use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Stdio};
use std::time::Instant;

fn report(bench: &str, imp: &str, metric: &str, value: f64) {
    println!("bench={bench} impl={imp} metric={metric} value={value:.0}");
}

fn main() {
    if std::env::args().any(|a| a == "--worker") {
        return worker();
    }
    if std::env::args().any(|a| a == "--pingpong") {
        return pingpong_server();
    }
    let quick = std::env::var_os("POE_BENCH_QUICK").is_some();
    let (posts, calls) = if quick {
        (20_000, 2_000)
    } else {
        (200_000, 20_000)
    };

    let (mut child, port) = spawn_worker();
    let (post_rate, call_rate) = boss(port, posts, calls);
    let _ = child.wait();
    report("ikc_post", "poe-rs", "posts_per_s", post_rate);
    report("ikc_call", "poe-rs", "calls_per_s", call_rate);
    report("ikc_call", "raw-tcp", "calls_per_s", pingpong(calls));

    if std::env::var_os("POE_BENCH_NO_PERL").is_some() {
        println!("# perl-poe skipped: POE_BENCH_NO_PERL is set");
        return;
    }
    match perl(posts / 10, calls / 4) {
        Ok(lines) => lines.iter().for_each(|l| println!("{l}")),
        Err(why) => println!("# perl-poe skipped: {why}"),
    }
}

/// Start this program as the worker; its first line is its port.
fn spawn_worker() -> (Child, u16) {
    spawn_self("--worker")
}

fn spawn_self(mode: &str) -> (Child, u16) {
    let mut child = Command::new(std::env::current_exe().unwrap())
        .arg(mode)
        .stdout(Stdio::piped())
        .spawn()
        .expect("start the worker");
    let mut line = String::new();
    BufReader::new(child.stdout.take().unwrap())
        .read_line(&mut line)
        .unwrap();
    (child, line.trim().parse().expect("a port"))
}

/// Round trips per second of a blocking ping-pong with a child process.
fn pingpong(n: i64) -> f64 {
    use std::io::{Read, Write};
    let (mut child, port) = spawn_self("--pingpong");
    let mut s = std::net::TcpStream::connect(("127.0.0.1", port)).unwrap();
    s.set_nodelay(true).unwrap();
    let msg = [b'x'; 150];
    let mut buf = [0u8; 150];
    let started = Instant::now();
    for _ in 0..n {
        s.write_all(&msg).unwrap();
        s.read_exact(&mut buf).unwrap();
    }
    let rate = n as f64 / started.elapsed().as_secs_f64();
    drop(s);
    let _ = child.wait();
    rate
}

/// The other end of [`pingpong`]: echo 150-byte messages until EOF.
fn pingpong_server() {
    use std::io::{Read, Write};
    let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    println!("{}", l.local_addr().unwrap().port());
    let (mut s, _) = l.accept().unwrap();
    s.set_nodelay(true).unwrap();
    let mut buf = [0u8; 150];
    while s.read_exact(&mut buf).is_ok() {
        if s.write_all(&buf).is_err() {
            break;
        }
    }
}

/// The worker: session `bench` with `count`, `total` and `echo`.
fn worker() {
    let kernel = Kernel::new().unwrap();
    let server = Server::builder()
        .ip("127.0.0.1")
        .port(0)
        .name("worker")
        .spawn(&kernel)
        .unwrap();
    kernel
        .create(
            Session::new(0i64)
                .state("_start", |ctx| {
                    ctx.alias_set("bench").unwrap();
                    let states = Value::list(["count", "total", "echo", "quit"]);
                    ctx.call("IKC", "publish", ("bench", states)).unwrap();
                })
                .state("count", |ctx| *ctx.heap += 1)
                .state("total", |ctx| std::mem::take(ctx.heap))
                .state("echo", |ctx| ctx.take_arg(0))
                .state("quit", |ctx| {
                    ctx.alias_remove("bench").unwrap();
                    ctx.call("IKC", "shutdown", ()).unwrap();
                }),
        )
        .unwrap();
    println!("{}", server.port());
    kernel.run();
}

struct Boss {
    posts: i64,
    calls: i64,
    left: i64,
    started: Option<Instant>,
    post_rate: f64,
    call_rate: f64,
}

/// Run both measurements against the worker on `port`.
fn boss(port: u16, posts: i64, calls: i64) -> (f64, f64) {
    let kernel = Kernel::new().unwrap();
    Client::builder()
        .ip("127.0.0.1")
        .port(port)
        .name("boss")
        .on_connect(|ctx| ctx.post("boss", "posts", ()).unwrap())
        .spawn(&kernel)
        .unwrap();
    let result = std::rc::Rc::new(std::cell::Cell::new((0.0, 0.0)));
    let out = result.clone();
    kernel
        .create(
            Session::new(Boss {
                posts,
                calls,
                left: calls,
                started: None,
                post_rate: 0.0,
                call_rate: 0.0,
            })
            .state("_start", |ctx| ctx.alias_set("boss").unwrap())
            .state("posts", |ctx| {
                ctx.heap.started = Some(Instant::now());
                let params = Value::list([Value::from(1), Value::from("two"), Value::from(3.5)]);
                for _ in 0..ctx.heap.posts {
                    ctx.call("IKC", "post", ("poe://worker/bench/count", params.clone()))
                        .unwrap();
                }
                ctx.call("IKC", "call", ("poe://worker/bench/total", (), "poe:total"))
                    .unwrap();
            })
            .state("total", |ctx| {
                let secs = ctx.heap.started.unwrap().elapsed().as_secs_f64();
                assert_eq!(
                    ctx.arg(0).as_i64(),
                    Some(ctx.heap.posts),
                    "every post arrived"
                );
                ctx.heap.post_rate = ctx.heap.posts as f64 / secs;
                ctx.heap.started = Some(Instant::now());
                ctx.call(
                    "IKC",
                    "call",
                    ("poe://worker/bench/echo", ctx.heap.left, "poe:echoed"),
                )
                .unwrap();
            })
            .state("echoed", move |ctx| {
                assert_eq!(
                    ctx.arg(0).as_i64(),
                    Some(ctx.heap.left),
                    "the echo of this call"
                );
                ctx.heap.left -= 1;
                if ctx.heap.left > 0 {
                    ctx.call(
                        "IKC",
                        "call",
                        ("poe://worker/bench/echo", ctx.heap.left, "poe:echoed"),
                    )
                    .unwrap();
                    return;
                }
                let secs = ctx.heap.started.unwrap().elapsed().as_secs_f64();
                ctx.heap.call_rate = ctx.heap.calls as f64 / secs;
                out.set((ctx.heap.post_rate, ctx.heap.call_rate));
                ctx.call("IKC", "post", ("poe://worker/bench/quit", ()))
                    .unwrap();
                ctx.alias_remove("boss").unwrap();
                ctx.call("IKC", "shutdown", ()).unwrap();
            }),
        )
        .unwrap();
    kernel.run();
    result.get()
}

/// Perl peer against Perl peer; its `bench=` lines.
fn perl(posts: i64, calls: i64) -> Result<Vec<String>, String> {
    let peer = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/perl/ikc/peer.pl");
    if !std::path::Path::new(peer).exists() {
        return Err(format!("{peer} not found"));
    }
    let ok = Command::new("perl")
        .args(["-MPOE", "-MStorable", "-e", "1"])
        .output();
    if !ok.is_ok_and(|o| o.status.success()) {
        return Err("perl with POE and Storable not available".into());
    }
    let mut server = Command::new("perl")
        .args([peer, "server", "--port", "0", "--name", "perlsrv"])
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .map_err(|e| e.to_string())?;
    let mut reader = BufReader::new(server.stdout.take().unwrap());
    let mut line = String::new();
    let port = loop {
        line.clear();
        if reader.read_line(&mut line).map_err(|e| e.to_string())? == 0 {
            return Err("the Perl server ended before it was ready".into());
        }
        if let Some(p) = line.trim().strip_prefix("READY ") {
            break p.to_owned();
        }
    };
    let out = Command::new("perl")
        .args([
            peer,
            "bench-client",
            "--port",
            &port,
            "--server-name",
            "perlsrv",
        ])
        .args(["--posts", &posts.to_string(), "--calls", &calls.to_string()])
        .output()
        .map_err(|e| e.to_string());
    let _ = server.kill();
    let _ = server.wait();
    let out = out?;
    let lines: Vec<String> = String::from_utf8_lossy(&out.stdout)
        .lines()
        .filter(|l| l.starts_with("bench="))
        .map(str::to_owned)
        .collect();
    if lines.is_empty() {
        return Err(format!(
            "no figures from the Perl client: {}",
            String::from_utf8_lossy(&out.stderr)
        ));
    }
    Ok(lines)
}
