//! Two kernels for IKC tests: a worker in a thread of its own (a kernel
//! is single-threaded), and whatever the test runs on the main thread.

#![allow(dead_code)] // each test file uses part of it

use poe_components::ikc::{Context, Ikc, Server, ServerBuilder};
use poe_filters::{Filter, Reference};
use poe_kernel::{ClockKind, Kernel, Session, Value};
use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::sync::mpsc;
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

/// Real seconds a test kernel may run under [`run_guarded`] before the
/// test fails: far longer than any of these tests needs, far shorter than
/// a hung CI job.
pub const WATCHDOG_SECS: f64 = 30.0;

/// How often the watchdog looks (real seconds).
const WATCHDOG_TICK: f64 = 0.05;

/// `kernel.run()` with a watchdog: a reply that never comes fails the
/// test after [`WATCHDOG_SECS`] instead of hanging it.
pub fn run_guarded(kernel: &Kernel) {
    run_within(kernel, WATCHDOG_SECS);
}

/// [`run_guarded`] with a deadline of `secs` real seconds. The watchdog
/// is a session of `kernel` that looks every 50 ms: once nothing else
/// can happen (no event queued, no descriptor watched) it retires, so the
/// kernel still ends when the test is done; past the deadline it panics
/// inside its handler, which stops every session and unwinds out of
/// `run` with a list of what was still alive. Real clock only: I/O with
/// other threads does not move a virtual one.
pub fn run_within(kernel: &Kernel, secs: f64) {
    assert_eq!(
        kernel.clock_kind(),
        ClockKind::Real,
        "the watchdog counts real time"
    );
    let deadline = Instant::now() + Duration::from_secs_f64(secs);
    kernel
        .create(
            Session::new(())
                .state("_start", |ctx| {
                    ctx.delay("watchdog_tick", WATCHDOG_TICK, ()).unwrap();
                })
                .state("watchdog_tick", move |ctx| {
                    let k = ctx.kernel();
                    if k.get_event_count() == 0 && k.watched_fds().is_empty() {
                        return; // the rest is idle: the kernel can end
                    }
                    if Instant::now() >= deadline {
                        let alive: Vec<String> = k
                            .sessions()
                            .iter()
                            .filter(|s| s.id != ctx.session())
                            .map(|s| {
                                format!(
                                    "{} {} {:?}: {} alarms, {} events, {} fds",
                                    s.id,
                                    s.heap_type,
                                    s.aliases,
                                    s.pending_alarms,
                                    s.pending_events,
                                    s.watched_fds.len()
                                )
                            })
                            .collect();
                        panic!("watchdog: still running after {secs} s; alive: {alive:#?}");
                    }
                    ctx.delay("watchdog_tick", WATCHDOG_TICK, ()).unwrap();
                }),
        )
        .unwrap();
    kernel.run();
}

/// What the worker's `echo` session saw, one line per event.
pub type Seen = Vec<String>;

/// A worker kernel named `name` in its own thread, serving IKC on a free
/// port with the session `echo` of [`echo_session`].
pub fn worker(name: &'static str) -> (u16, JoinHandle<Seen>) {
    worker_with(name, |b| b)
}

/// [`worker`], with its Server configured further by `configure`.
pub fn worker_with(
    name: &'static str,
    configure: fn(ServerBuilder) -> ServerBuilder,
) -> (u16, JoinHandle<Seen>) {
    let (tx, rx) = mpsc::channel();
    let handle = std::thread::spawn(move || {
        let kernel = Kernel::new().unwrap();
        let builder = Server::builder().ip("127.0.0.1").port(0).name(name);
        let server = configure(builder).spawn(&kernel).unwrap();
        kernel.create(echo_session()).unwrap();
        tx.send(server.port()).unwrap();
        run_guarded(&kernel);
        SEEN.with(|s| s.take())
    });
    (rx.recv().unwrap(), handle)
}

thread_local! {
    static SEEN: std::cell::RefCell<Seen> = const { std::cell::RefCell::new(Vec::new()) };
}

fn note(line: String) {
    SEEN.with(|s| s.borrow_mut().push(line));
}

/// The `echo` session's memory.
#[derive(Default)]
pub struct Echo {
    stored: Option<Value>,
    /// Where each pending `callback_test` answer goes.
    reply_to: std::collections::VecDeque<Value>,
}

/// The arguments as one list: `ARG0` when it is a list, else all of them.
fn list_arg(ctx: &poe_kernel::Ctx<'_, Echo>) -> Vec<Value> {
    match ctx.arg(0) {
        Value::List(l) => l.clone(),
        _ => ctx.args.to_vec(),
    }
}

/// The sum of `values` as Perl adds: integers stay integers.
fn perl_sum(values: &[Value]) -> Value {
    if values.iter().all(|v| matches!(v, Value::Int(_))) {
        Value::from(values.iter().filter_map(Value::as_i64).sum::<i64>())
    } else {
        Value::from(values.iter().filter_map(Value::as_f64).sum::<f64>())
    }
}

/// The `echo` session of the IKC test contract (tests/perl/ikc/README.md),
/// the same one the Perl peer serves, so `peer.pl client` can run its
/// scenario against a Rust server:
///
/// * `ping(X)`: called, answers `"pong"`; `X = {reply_to, token}` posts
///   `{pong => token}` to `reply_to`; any other post sends `pong(args)`
///   back to SENDER;
/// * `add(LIST)`: the sum, integers staying integers;
/// * `store(X)` / `store(X, Y, ...)`: keeps X (or the list) and returns it;
///   `fetch` returns it;
/// * `range(N)`: `[1..N]` in list context, N in scalar context;
/// * `nothing`: no answer, ever;
/// * `delayed_add([LIST, SPEC])`: posts the sum to SPEC 0.2 s later;
/// * `callback_test({call, reply_to, value})`: calls `call` with `value`
///   and posts the answer to `reply_to`;
/// * `quit`: shuts IKC down (so the kernel ends), answers `"bye"`;
/// * Rust tests only: `args(...)` notes every argument; `big(n)` answers a
///   string of n octets and shuts IKC down in the same handler;
///   `channels` answers how many channel sessions the worker has.
///
/// `secret` exists but is not published.
pub fn echo_session() -> Session<Echo> {
    Session::new(Echo::default())
        .state("_start", |ctx| {
            ctx.alias_set("echo").unwrap();
            let states = [
                "ping",
                "add",
                "store",
                "fetch",
                "range",
                "nothing",
                "delayed_add",
                "callback_test",
                "quit",
                "args",
                "big",
                "retract_add",
                "channels",
            ];
            Ikc::publish(ctx, "echo", &states).unwrap();
        })
        .state("ping", |ctx| {
            note(format!("ping {:?}", ctx.arg(0)));
            let reply_to = ctx.arg(0).get("reply_to").cloned();
            if let Some(to) = reply_to {
                let token = ctx.arg(0).get("token").cloned().unwrap_or_default();
                ctx.call("IKC", "post", (to, Value::map([("pong", token)])))
                    .unwrap();
            }
            match Ikc::context() {
                Context::Scalar | Context::List => Value::from("pong"),
                _ => {
                    if ctx.arg(0).get("reply_to").is_none() {
                        let sender = ctx.sender();
                        ctx.post(sender, "pong", ctx.args.to_vec()).unwrap();
                    }
                    Value::Undef
                }
            }
        })
        .state("add", |ctx| {
            note(format!("add {:?}", ctx.arg(0)));
            perl_sum(&list_arg(ctx))
        })
        .state("store", |ctx| {
            let kept = if ctx.args.len() == 1 {
                ctx.arg(0).clone()
            } else {
                Value::List(ctx.args.to_vec())
            };
            ctx.heap.stored = Some(kept.clone());
            kept
        })
        .state("fetch", |ctx| ctx.heap.stored.clone().unwrap_or_default())
        .state("range", |ctx| {
            let n = ctx.arg(0).as_i64().unwrap_or(0);
            match Ikc::context() {
                Context::List => Value::list(1..=n),
                _ => Value::from(n),
            }
        })
        .state("nothing", |_| ())
        .state("delayed_add", |ctx| {
            let parts = list_arg(ctx);
            if let [Value::List(values), spec, ..] = parts.as_slice() {
                let sum = perl_sum(values);
                ctx.delay("delayed_add_fire", 0.2, (sum, spec.clone()))
                    .unwrap();
            }
        })
        .state("delayed_add_fire", |ctx| {
            let (sum, spec) = (ctx.arg(0).clone(), ctx.arg(1).clone());
            ctx.call("IKC", "post", (spec, sum)).unwrap();
        })
        .state("callback_test", |ctx| {
            let arg = ctx.arg(0).clone();
            let (Some(call), Some(reply_to)) = (arg.get("call"), arg.get("reply_to")) else {
                return;
            };
            ctx.heap.reply_to.push_back(reply_to.clone());
            let value = arg.get("value").cloned().unwrap_or_default();
            ctx.call("IKC", "call", (call.clone(), value, "poe:got_double"))
                .unwrap();
        })
        .state("got_double", |ctx| {
            let answer = ctx.arg(0).clone();
            if let Some(to) = ctx.heap.reply_to.pop_front() {
                ctx.call("IKC", "post", (to, answer)).unwrap();
            }
        })
        .state("retract_add", |ctx| {
            Ikc::retract(ctx, "echo", &["add"]).unwrap();
        })
        .state("channels", |ctx| {
            let sessions = ctx.kernel().sessions();
            let channels = sessions
                .iter()
                .filter(|s| s.heap_type.ends_with("::Channel"));
            Value::from(channels.count() as i64)
        })
        .state("secret", |_| Value::from("leaked"))
        .state("args", |ctx| {
            note(format!("args {:?}", ctx.args.to_vec()));
        })
        .state("big", |ctx| {
            let n = ctx.arg(0).as_i64().unwrap_or(0) as usize;
            ctx.alias_remove("echo").unwrap();
            ctx.call("IKC", "shutdown", ()).unwrap();
            Value::from("x".repeat(n))
        })
        .state("quit", |ctx| {
            note("quit".into());
            ctx.alias_remove("echo").unwrap();
            ctx.call("IKC", "shutdown", ()).unwrap();
            Value::from("bye")
        })
}

/// A hand-driven IKC peer on a raw socket, for hostile-input tests.
pub struct RawPeer {
    pub stream: TcpStream,
    reader: BufReader<TcpStream>,
    frames: Reference,
}

impl RawPeer {
    pub fn connect(port: u16) -> RawPeer {
        let stream = TcpStream::connect(("127.0.0.1", port)).unwrap();
        stream
            .set_read_timeout(Some(Duration::from_secs(10)))
            .unwrap();
        let reader = BufReader::new(stream.try_clone().unwrap());
        RawPeer {
            stream,
            reader,
            frames: Reference::new(),
        }
    }

    pub fn send(&mut self, bytes: &[u8]) {
        self.stream.write_all(bytes).unwrap();
    }

    /// Send, for a peer the server may hang up on part way.
    pub fn try_send(&mut self, bytes: &[u8]) -> std::io::Result<()> {
        self.stream.write_all(bytes)
    }

    /// One line, without its CR LF; `None` at end of file.
    pub fn line(&mut self) -> Option<String> {
        let mut l = String::new();
        match self.reader.read_line(&mut l) {
            Ok(0) | Err(_) => None,
            Ok(_) => Some(l.trim_end_matches(['\r', '\n']).to_owned()),
        }
    }

    /// Call `echo/<state>` with `params` and wait for the reply's params.
    pub fn call(&mut self, state: &str, params: impl Into<Value>) -> Value {
        self.send_value(Value::map([
            ("event", Value::from(format!("poe://worker/echo/{state}"))),
            ("params", params.into()),
            (
                "rsvp",
                Value::map([("kernel", "raw"), ("session", "s"), ("state", state)]),
            ),
        ]));
        let reply = self.frame().expect("a reply");
        assert_eq!(
            reply.get("event").and_then(|e| e.get("state")),
            Some(&Value::from(state)),
            "{reply:?}"
        );
        reply.get("params").cloned().unwrap_or_default()
    }

    /// Negotiate as an IKC0 client called `name`.
    pub fn negotiate(port: u16, name: &str) -> RawPeer {
        let mut peer = RawPeer::connect(port);
        peer.send(format!("SETUP KERNEL={name};FREEZER=Storable;PID=1\r\n").as_bytes());
        let reply = peer.line().unwrap();
        assert!(reply.starts_with("SETUP KERNEL="), "{reply}");
        peer
    }

    /// Send one request hash as a frame.
    pub fn send_value(&mut self, v: Value) {
        let mut out = Vec::new();
        self.frames.put(v, &mut out).unwrap();
        self.send(&out);
    }

    /// The next frame, thawed; `None` at end of file.
    pub fn frame(&mut self) -> Option<Value> {
        loop {
            if let Some(v) = self.frames.get_one().unwrap() {
                return Some(v);
            }
            let mut buf = [0u8; 4096];
            let n = self.reader.read(&mut buf).ok()?;
            if n == 0 {
                return None;
            }
            self.frames.get_one_start(&buf[..n]).unwrap();
        }
    }

    /// True once the other side has closed: a read returns end of file
    /// (anything still arriving first is skipped).
    pub fn closed(&mut self) -> bool {
        let mut buf = [0u8; 4096];
        loop {
            match self.reader.read(&mut buf) {
                Ok(0) => return true,
                Ok(_) => continue,
                Err(e) if e.kind() == std::io::ErrorKind::ConnectionReset => return true,
                Err(_) => return false,
            }
        }
    }
}
