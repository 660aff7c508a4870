//! Two kernels for IKC tests: a worker in a thread of its own (a kernel
//! is single-threaded), and whatever the test runs on the main thread.

#![allow(dead_code)] // each test file uses part of it

use poe_components::ikc::{Server, ServerBuilder};
use poe_filters::{Filter, Reference};
use poe_kernel::{Kernel, Session, Value};
use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::sync::mpsc;
use std::thread::JoinHandle;
use std::time::Duration;

/// What the worker's `echo` session saw, one line per event.
pub type Seen = Vec<String>;

/// A worker kernel named `name` in its own thread, serving IKC on a free
/// port with a session `echo` that publishes the test contract:
///
/// * `ping(x)`: posts `pong(x)` back to its SENDER;
/// * `add([numbers])`: returns the sum;
/// * `store([key, value])` / `fetch(key)`: keeps values;
/// * `range([from, to])`: returns the list;
/// * `nothing`: returns nothing (a call never gets a reply);
/// * `args(...)`: notes every argument (for `?NAME`);
/// * `big(n)`: returns a string of `n` octets, then shuts IKC down in the
///   same handler (the reply must still arrive whole);
/// * `quit`: shuts IKC down, so the worker's kernel ends.
///
/// `secret` exists but is not published.
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
        kernel.run();
        kernel.call("echo_log", "take", ()).ok();
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

#[derive(Default)]
pub struct Echo {
    stored: std::collections::BTreeMap<String, Value>,
}

/// The `echo` session of [`worker`].
pub fn echo_session() -> Session<Echo> {
    Session::new(Echo::default())
        .state("_start", |ctx| {
            ctx.alias_set("echo").unwrap();
            let states = Value::list([
                "ping", "add", "store", "fetch", "range", "nothing", "args", "big", "quit",
            ]);
            ctx.call("IKC", "publish", ("echo", states)).unwrap();
        })
        .state("ping", |ctx| {
            note(format!("ping {:?}", ctx.arg(0)));
            let sender = ctx.sender();
            ctx.post(sender, "pong", (ctx.arg(0).clone(),)).unwrap();
        })
        .state("add", |ctx| {
            note(format!("add {:?}", ctx.arg(0)));
            let sum: f64 = ctx
                .arg(0)
                .as_list()
                .unwrap_or(&[])
                .iter()
                .filter_map(Value::as_f64)
                .sum();
            Value::from(sum)
        })
        .state("store", |ctx| {
            let kv = ctx.arg(0).as_list().unwrap_or(&[]).to_vec();
            if let [k, v] = kv.as_slice() {
                ctx.heap.stored.insert(k.to_string(), v.clone());
            }
            Value::from("stored")
        })
        .state("fetch", |ctx| {
            let key = ctx.arg(0).to_string();
            ctx.heap.stored.get(&key).cloned().unwrap_or_default()
        })
        .state("range", |ctx| {
            let r = ctx.arg(0).as_list().unwrap_or(&[]).to_vec();
            let (a, b) = (
                r.first().and_then(Value::as_i64).unwrap_or(0),
                r.get(1).and_then(Value::as_i64).unwrap_or(0),
            );
            Value::list(a..=b)
        })
        .state("nothing", |_| ())
        .state("args", |ctx| {
            note(format!("args {:?}", ctx.args.to_vec()));
        })
        .state("big", |ctx| {
            let n = ctx.arg(0).as_i64().unwrap_or(0) as usize;
            ctx.alias_remove("echo").unwrap();
            ctx.call("IKC", "shutdown", ()).unwrap();
            Value::from("x".repeat(n))
        })
        .state("secret", |_| Value::from("leaked"))
        .state("quit", |ctx| {
            note("quit".into());
            ctx.alias_remove("echo").unwrap();
            ctx.call("IKC", "shutdown", ()).unwrap();
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
