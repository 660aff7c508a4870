//! Accepting survives running out of descriptors: the listener reports the
//! first failure of an episode, backs off (50 ms doubling to 1 s) instead
//! of spinning, and accepts the waiting connection once descriptors free
//! up. Its own test binary: it lowers the process's descriptor limit and
//! installs a logger that records every backoff.
//!
//! The kernel runs on the virtual clock, so five seconds of exhaustion
//! take no real time; the retries are counted from the wheel's log lines
//! (one per failed accept), and a cap on dispatched events stops a wheel
//! that would spin.

mod common;

use common::{exhaust, lower_fd_limit};
use log::{Level, Log, Metadata, Record};
use poe_kernel::{ClockKind, Kernel, Session};
use poe_wheels::SocketFactory;
use socket2::Socket;
use std::fs::File;
use std::net::TcpStream;
use std::sync::Mutex;

/// How long each episode keeps the descriptors exhausted (virtual seconds).
const HOLD: f64 = 5.0;

/// The wheel's backoff log lines: (level, message).
static BACKOFFS: Mutex<Vec<(Level, String)>> = Mutex::new(Vec::new());

struct Recorder;

impl Log for Recorder {
    fn enabled(&self, m: &Metadata) -> bool {
        m.target() == "poe::wheels"
    }
    fn log(&self, r: &Record) {
        let text = r.args().to_string();
        if self.enabled(r.metadata()) && text.contains("retrying in") {
            BACKOFFS.lock().unwrap().push((r.level(), text));
        }
    }
    fn flush(&self) {}
}

static RECORDER: Recorder = Recorder;

#[derive(Default)]
struct Heap {
    listener: Option<SocketFactory>,
    port: u16,
    hog: Vec<File>,
    clients: Vec<TcpStream>,
    accepted: Vec<Socket>,
    t0: f64,
    log: Vec<String>,
}

/// The wait of each backoff log line ("... retrying in 0.05s").
fn waits(lines: &[(Level, String)]) -> Vec<String> {
    lines
        .iter()
        .map(|(_, l)| l.rsplit("retrying in ").next().unwrap().to_owned())
        .collect()
}

#[test]
fn accept_backs_off_on_emfile_reports_once_per_episode_and_keeps_listening() {
    log::set_logger(&RECORDER).unwrap();
    log::set_max_level(log::LevelFilter::Debug);
    lower_fd_limit(256);
    let k = Kernel::builder().clock(ClockKind::Virtual).build().unwrap();
    let result: std::rc::Rc<std::cell::RefCell<Vec<String>>> = Default::default();
    let out = result.clone();
    k.create(
        Session::new(Heap::default())
            .state("_start", |ctx| {
                let w = SocketFactory::builder()
                    .bind_address("127.0.0.1")
                    .bind_port(0u16)
                    .success_event("accepted")
                    .failure_event("failed")
                    .build(ctx)
                    .unwrap();
                ctx.heap.port = w.local_addr().unwrap().port();
                ctx.heap.listener = Some(w);
                ctx.heap.t0 = ctx.now();
                // A client waits in the backlog (the handshake needs no
                // accept), then every descriptor is used up.
                let a = TcpStream::connect(("127.0.0.1", ctx.heap.port)).unwrap();
                ctx.heap.clients.push(a);
                exhaust(&mut ctx.heap.hog);
            })
            .state("failed", |ctx| {
                let at = ctx.now() - ctx.heap.t0;
                let line = format!("failed {} {} at {at:.2}", ctx.arg(0), ctx.arg(1));
                ctx.heap.log.push(line);
                assert!(ctx.heap.listener.is_some());
                // Keep the descriptors exhausted for a while: the wheel
                // must retry quietly, backing off, meanwhile.
                ctx.delay("free", HOLD, ()).unwrap();
            })
            .state("free", |ctx| {
                let at = ctx.now() - ctx.heap.t0;
                ctx.heap.log.push(format!("free at {at:.2}"));
                ctx.heap.hog.clear();
            })
            .state("accepted", move |ctx| {
                let at = ctx.now() - ctx.heap.t0;
                let peer_port = ctx.arg(2).as_i64().unwrap();
                let socket = ctx.arg(0).take_local::<Socket>().unwrap();
                ctx.heap.accepted.push(socket);
                let which = ctx
                    .heap
                    .clients
                    .iter()
                    .position(|c| i64::from(c.local_addr().unwrap().port()) == peer_port)
                    .expect("the peer is one of our clients");
                ctx.heap
                    .log
                    .push(format!("accepted client {which} at {at:.2}"));
                let port = ctx.heap.port;
                match ctx.heap.accepted.len() {
                    // The listener is still up and accepts at once.
                    1 => ctx
                        .heap
                        .clients
                        .push(TcpStream::connect(("127.0.0.1", port)).unwrap()),
                    // A second episode: it is reported again.
                    2 => {
                        let c = TcpStream::connect(("127.0.0.1", port)).unwrap();
                        ctx.heap.clients.push(c);
                        exhaust(&mut ctx.heap.hog);
                    }
                    _ => {
                        ctx.heap.listener = None;
                        *out.borrow_mut() = std::mem::take(&mut ctx.heap.log);
                    }
                }
            }),
    )
    .unwrap();
    // A watchdog, not a synchronisation: a wheel retrying every timeslice
    // would never let virtual time reach the "free" alarm.
    k.run_while(|| k.events_dispatched() < 2_000);
    assert!(
        k.events_dispatched() < 2_000,
        "the listener spun: {:?}",
        result.borrow()
    );

    // Retry waits: 50 ms doubling to 1 s. Episode one holds for 5 s, so
    // the accepts at 0, .05, .15, .35, .75, 1.55, 2.55, 3.55 and 4.55 fail
    // and the one at 5.55 takes client 0; client 1 is accepted at once;
    // client 2 starts episode two, which backs off from 50 ms again.
    let first: Vec<&str> = vec![
        "0.05s", "0.1s", "0.2s", "0.4s", "0.8s", "1s", "1s", "1s", "1s",
    ];
    let backoffs = BACKOFFS.lock().unwrap().clone();
    let seen = waits(&backoffs);
    assert_eq!(seen.len(), 2 * first.len(), "{seen:?}");
    assert_eq!(seen[..first.len()], first[..], "{seen:?}");
    assert_eq!(seen[first.len()..], first[..], "{seen:?}");
    // Each episode logs one warning; its retries are debug lines.
    let warnings: Vec<usize> = (0..backoffs.len())
        .filter(|&i| backoffs[i].0 == Level::Warn)
        .collect();
    assert_eq!(warnings, [0, first.len()], "{backoffs:?}");

    assert_eq!(
        *result.borrow(),
        [
            "failed accept 24 at 0.00",
            "free at 5.00",
            "accepted client 0 at 5.55",
            "accepted client 1 at 5.55",
            "failed accept 24 at 5.55",
            "free at 10.55",
            "accepted client 2 at 11.10",
        ]
    );
}
