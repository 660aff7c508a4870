//! Two kernels for IKC tests: a worker in a thread of its own (a kernel
//! is single-threaded), and whatever the test runs on the main thread.

#![allow(dead_code)] // each test file uses part of it

use poe_components::ikc::Server;
use poe_kernel::{Kernel, Session, Value};
use std::sync::mpsc;
use std::thread::JoinHandle;

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
/// * `quit`: shuts IKC down, so the worker's kernel ends.
///
/// `secret` exists but is not published.
pub fn worker(name: &'static str) -> (u16, JoinHandle<Seen>) {
    let (tx, rx) = mpsc::channel();
    let handle = std::thread::spawn(move || {
        let kernel = Kernel::new().unwrap();
        let server = Server::builder()
            .ip("127.0.0.1")
            .port(0)
            .name(name)
            .spawn(&kernel)
            .unwrap();
        kernel.create(echo()).unwrap();
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
struct Echo {
    stored: std::collections::BTreeMap<String, Value>,
}

fn echo() -> Session<Echo> {
    Session::new(Echo::default())
        .state("_start", |ctx| {
            ctx.alias_set("echo").unwrap();
            let states = Value::list(["ping", "add", "store", "fetch", "range", "nothing", "quit"]);
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
        .state("secret", |_| Value::from("leaked"))
        .state("quit", |ctx| {
            note("quit".into());
            ctx.alias_remove("echo").unwrap();
            ctx.call("IKC", "shutdown", ()).unwrap();
        })
}
