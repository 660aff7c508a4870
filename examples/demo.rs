//! A tour of the kernel in one program: three sessions, timers, and a
//! `select_read` watcher.
//!
//! - `producer` writes a line into one end of a socket pair every 150 ms;
//! - `consumer` watches the other end with `select_read` and prints what
//!   arrives, until the producer hangs up (EOF);
//! - `heartbeat` prints a beat every 200 ms and counts the lines the
//!   consumer reports to it by `post`;
//!
//! When nothing holds a session any more it gets `_stop`; when no session
//! is left, `run` returns.
//!
//! Run it with `cargo run --example demo` (add `RUST_LOG=poe=trace` to
//! watch every dispatch, alarm and watcher change).

use poe::prelude::*;
use std::io::{ErrorKind, Read, Write};
use std::os::unix::net::UnixStream;
use std::time::Instant;

/// Seconds since the program started, for the printout.
fn t(start: Instant) -> String {
    format!("[{:5.2}s]", start.elapsed().as_secs_f64())
}

fn main() {
    env_logger::init();
    let start = Instant::now();
    let kernel = Kernel::new().expect("create the kernel");
    let (reader, writer) = UnixStream::pair().expect("socket pair");

    // The heartbeat: an alias so others can find it, and a timer.
    kernel
        .create(
            Session::new(0u32)
                .state("_start", move |ctx| {
                    ctx.alias_set("heartbeat").unwrap();
                    ctx.delay("beat", 0.2, ()).unwrap();
                    println!(
                        "{} heartbeat: started as session {}",
                        t(start),
                        ctx.session()
                    );
                })
                .state("beat", move |ctx| {
                    println!("{} heartbeat: beat ({} lines so far)", t(start), ctx.heap);
                    ctx.delay("beat", 0.2, ()).unwrap();
                })
                .state("line_seen", |ctx| *ctx.heap += 1)
                .state("consumer_done", move |ctx| {
                    println!("{} heartbeat: consumer is done, stopping", t(start));
                    ctx.alarm_clear("beat").unwrap();
                    ctx.alias_remove("heartbeat").unwrap();
                })
                .state("_stop", move |ctx| {
                    println!("{} heartbeat: _stop after {} lines", t(start), ctx.heap)
                }),
        )
        .unwrap();

    // The consumer: a select_read watcher on its end of the pair.
    kernel
        .create(
            Session::new(reader)
                .state("_start", |ctx| {
                    ctx.select_read(&*ctx.heap, "readable", ()).unwrap();
                })
                .state("readable", move |ctx| {
                    let mut buf = [0u8; 256];
                    match ctx.heap.read(&mut buf) {
                        Ok(0) => {
                            println!("{} consumer: EOF, no more watching", t(start));
                            ctx.select_read_remove(&*ctx.heap).unwrap();
                            ctx.post("heartbeat", "consumer_done", ()).unwrap();
                        }
                        Ok(n) => {
                            for line in String::from_utf8_lossy(&buf[..n]).lines() {
                                println!("{} consumer: got {line:?} (fd {})", t(start), ctx.arg(0));
                                ctx.post("heartbeat", "line_seen", ()).unwrap();
                            }
                        }
                        Err(e) if e.kind() == ErrorKind::WouldBlock => {}
                        Err(e) => panic!("read: {e}"),
                    }
                })
                .state("_stop", move |_| println!("{} consumer: _stop", t(start))),
        )
        .unwrap();

    // The producer: a timer that writes, then closes its end.
    kernel
        .create(
            Session::new((Some(writer), 1u32))
                .state("_start", |ctx| ctx.delay("write", 0.15, ()).unwrap())
                .state("write", move |ctx| {
                    let (writer, n) = &mut *ctx.heap;
                    if *n > 5 {
                        println!("{} producer: closing", t(start));
                        writer.take(); // EOF for the consumer; no alarm left: collected
                        return;
                    }
                    let line = format!("line {n}\n");
                    writer.as_mut().unwrap().write_all(line.as_bytes()).unwrap();
                    *n += 1;
                    ctx.delay("write", 0.15, ()).unwrap();
                })
                .state("_stop", move |_| println!("{} producer: _stop", t(start))),
        )
        .unwrap();

    kernel.run();
    println!(
        "{} run returned: {} events dispatched",
        t(start),
        kernel.events_dispatched()
    );
}
