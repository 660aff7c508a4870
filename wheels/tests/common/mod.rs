//! Shared pieces of the wheel tests: an echo server session and a client
//! session, both built from SocketFactory and ReadWrite.
#![allow(dead_code)]

use poe_filters::Filter;
use poe_kernel::{Ctx, Kernel, Session, SessionId, Value};
use poe_wheels::socket_factory::SocketDomain;
use poe_wheels::{ReadWrite, SocketFactory, WheelId};
use socket2::Socket;
use std::cell::{Cell, RefCell};
use std::collections::HashMap;
use std::rc::Rc;

pub type Log = Rc<RefCell<Vec<String>>>;

pub fn push(log: &Log, s: impl Into<String>) {
    log.borrow_mut().push(s.into());
}

/// Where the echo server listens.
#[derive(Clone)]
pub enum Listen {
    Tcp(&'static str),
    Tcp6,
    Unix(std::path::PathBuf),
}

/// An echo server: accepts, echoes every record back through a ReadWrite,
/// closes on EOF, and stops listening after `max_clients` have come and
/// gone. Returns (session, bound port) — port 0 for UNIX.
pub fn echo_server(
    k: &Kernel,
    listen: Listen,
    max_clients: usize,
    filter: fn() -> Box<dyn Filter>,
) -> (SessionId, u16) {
    struct Heap {
        listener: Option<SocketFactory>,
        clients: HashMap<WheelId, ReadWrite>,
        served: usize,
    }
    let port = Rc::new(Cell::new(0u16));
    let p = port.clone();
    let id = k
        .create(
            Session::new(Heap {
                listener: None,
                clients: HashMap::new(),
                served: 0,
            })
            .state("_start", move |ctx| {
                let b = SocketFactory::builder()
                    .success_event("accepted")
                    .failure_event("failed")
                    .reuse(true);
                let b = match &listen {
                    Listen::Tcp(addr) => b.bind_address(*addr).bind_port(0u16),
                    Listen::Tcp6 => b
                        .socket_domain(SocketDomain::Inet6)
                        .bind_address("::1")
                        .bind_port(0u16),
                    Listen::Unix(path) => b
                        .socket_domain(SocketDomain::Unix)
                        .bind_address(path.as_path()),
                };
                let w = b.build(ctx).unwrap();
                p.set(w.local_addr().map_or(0, |a| a.port()));
                ctx.heap.listener = Some(w);
            })
            .state("accepted", move |ctx| {
                let socket = ctx.arg(0).take_local::<Socket>().unwrap();
                let w = ReadWrite::builder(socket)
                    .filter_boxed(filter())
                    .input_event("input")
                    .error_event("error")
                    .build(ctx)
                    .unwrap();
                ctx.heap.clients.insert(w.id(), w);
            })
            .state("input", |ctx| {
                let id = wheel_id(ctx.arg(1));
                let record = ctx.take_arg(0);
                ctx.heap.clients[&id].put(record).unwrap();
            })
            .state("error", move |ctx| {
                let id = wheel_id(ctx.arg(3));
                ctx.heap.clients.remove(&id);
                ctx.heap.served += 1;
                if ctx.heap.served == max_clients {
                    ctx.heap.listener = None;
                }
            })
            .state("failed", |ctx| -> Value {
                panic!("server failed: {:?}", ctx.args)
            }),
        )
        .unwrap()
        .id;
    (id, port.get())
}

/// The wheel whose ID a wheel event carries.
pub fn wheel_id(v: &Value) -> WheelId {
    WheelId::from_value(v).expect("a wheel ID argument")
}

/// Connect to a TCP echo server on 127.0.0.1.
pub fn echo_client(k: &Kernel, port: u16, lines: Vec<String>) -> Log {
    echo_client_to(k, Connect::Tcp("127.0.0.1", port), lines)
}

/// Where a client connects.
#[derive(Clone)]
pub enum Connect {
    Tcp(&'static str, u16),
    Tcp6(u16),
    Unix(std::path::PathBuf),
}

/// Connect, send `lines`, collect the echoes into the returned log, and
/// close once all came back.
pub fn echo_client_to(k: &Kernel, to: Connect, lines: Vec<String>) -> Log {
    let got: Log = Rc::default();
    let g = got.clone();
    let want = lines.len();
    k.create(
        Session::new((None::<SocketFactory>, None::<ReadWrite>))
            .state("_start", move |ctx| {
                let b = SocketFactory::builder()
                    .success_event("connected")
                    .failure_event("failed");
                let b = match &to {
                    Connect::Tcp(addr, port) => b.remote_address(*addr).remote_port(*port),
                    Connect::Tcp6(port) => b
                        .socket_domain(SocketDomain::Inet6)
                        .remote_address("::1")
                        .remote_port(*port),
                    Connect::Unix(path) => b
                        .socket_domain(SocketDomain::Unix)
                        .remote_address(path.as_path()),
                };
                ctx.heap.0 = Some(b.build(ctx).unwrap());
            })
            .state("connected", move |ctx| {
                ctx.heap.0 = None;
                let socket = ctx.arg(0).take_local::<Socket>().unwrap();
                let w = ReadWrite::builder(socket)
                    .input_event("echo")
                    .error_event("error")
                    .build(ctx)
                    .unwrap();
                for line in &lines {
                    w.put(line.as_str()).unwrap();
                }
                ctx.heap.1 = Some(w);
            })
            .state(
                "echo",
                move |ctx: &mut Ctx<(Option<SocketFactory>, Option<ReadWrite>)>| {
                    push(&g, ctx.arg(0).to_string());
                    if g.borrow().len() == want {
                        ctx.heap.1 = None; // close: the server sees EOF
                    }
                },
            )
            .state("error", |ctx| -> Value {
                panic!("client error: {:?}", ctx.args)
            })
            .state("failed", |ctx| -> Value {
                panic!("connect failed: {:?}", ctx.args)
            }),
    )
    .unwrap();
    got
}

/// Lower this process's descriptor limit to `to` (for the EMFILE tests,
/// each its own test binary).
pub fn lower_fd_limit(to: u64) {
    let limit = libc::rlimit {
        rlim_cur: to,
        rlim_max: to.max(4096),
    };
    // SAFETY: a valid rlimit struct passed by reference for the duration of
    // the call; lowering the soft limit is always permitted.
    let rc = unsafe { libc::setrlimit(libc::RLIMIT_NOFILE, &limit) };
    assert_eq!(rc, 0, "setrlimit: {}", std::io::Error::last_os_error());
}

/// Open `/dev/null` until the process has no descriptor left.
pub fn exhaust(hog: &mut Vec<std::fs::File>) {
    loop {
        match std::fs::File::open("/dev/null") {
            Ok(file) => hog.push(file),
            Err(e) => {
                assert_eq!(e.raw_os_error(), Some(libc::EMFILE));
                return;
            }
        }
    }
}
