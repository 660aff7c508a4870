//! SocketFactory options beyond the basics: getsockname after BindPort 0,
//! ListenQueue reaching listen(2), RemoteAddress given packed or as a host
//! name, and event() renaming SuccessEvent and FailureEvent at run time.

use poe_kernel::{Kernel, Session, Value};
use poe_wheels::socket_factory::{Address, SocketDomain};
use poe_wheels::SocketFactory;
use socket2::Socket;
use std::cell::{Cell, RefCell};
use std::net::{Ipv4Addr, SocketAddr, TcpListener, TcpStream};
use std::os::fd::RawFd;
use std::rc::Rc;

type Log = Rc<RefCell<Vec<String>>>;

#[derive(Default)]
struct Heap {
    wheels: Vec<SocketFactory>,
    log: Vec<String>,
}

/// "event arg1 arg2 ..." with the socket shown as "socket" and the wheel
/// ID left out.
fn describe(ctx: &poe_kernel::Ctx<Heap>) -> String {
    let args: Vec<String> = ctx.args[..ctx.args.len() - 1]
        .iter()
        .map(|v| match v {
            Value::Local(_) => "socket".to_owned(),
            Value::Bytes(b) => format!("{:?}", b.as_slice()),
            other => other.to_string(),
        })
        .collect();
    format!("{} {}", ctx.event(), args.join(" "))
}

/// A TCP listener factory on 127.0.0.1 with the given events.
fn listener(
    ctx: &mut poe_kernel::Ctx<Heap>,
    success: &'static str,
    failure: &'static str,
) -> SocketFactory {
    SocketFactory::builder()
        .bind_address("127.0.0.1")
        .bind_port(0u16)
        .success_event(success)
        .failure_event(failure)
        .build(ctx)
        .unwrap()
}

#[test]
fn getsockname_after_bind_port_0_reports_the_port_the_system_chose() {
    let k = Kernel::new().unwrap();
    let seen: Rc<RefCell<Vec<SocketAddr>>> = Rc::default();
    let s = seen.clone();
    k.create(
        Session::new(Heap::default())
            .state("_start", |ctx| {
                let w = listener(ctx, "accepted", "failed");
                let name = w.getsockname().expect("the wheel holds its socket");
                assert_eq!(name.family(), libc::AF_INET as libc::sa_family_t);
                let addr = name.as_socket().unwrap();
                assert_eq!(addr.ip(), Ipv4Addr::LOCALHOST);
                assert_ne!(addr.port(), 0, "the real port, not the 0 asked for");
                assert_eq!(w.local_addr(), Some(addr));
                ctx.heap.wheels.push(w);
                // Connecting there reaches this very listener.
                let client = TcpStream::connect(addr).unwrap();
                ctx.heap.log.push(client.local_addr().unwrap().to_string());
            })
            .state("accepted", move |ctx| {
                let socket = ctx.arg(0).take_local::<Socket>().unwrap();
                let local = socket.local_addr().unwrap().as_socket().unwrap();
                let peer = socket.peer_addr().unwrap().as_socket().unwrap();
                assert_eq!(peer.to_string(), ctx.heap.log[0]);
                s.borrow_mut().push(local);
                s.borrow_mut()
                    .push(ctx.heap.wheels[0].local_addr().unwrap());
                ctx.heap.wheels.clear();
            })
            .state("failed", |ctx| -> Value { panic!("{:?}", ctx.args) }),
    )
    .unwrap();
    k.run();
    let seen = seen.borrow();
    assert_eq!(seen.len(), 2);
    assert_eq!(seen[0], seen[1], "accepted on the address getsockname gave");
}

#[test]
fn getsockname_of_a_unix_listener_is_its_path() {
    let path = std::env::temp_dir().join(format!("poe-sf-name-{}", std::process::id()));
    let _ = std::fs::remove_file(&path);
    let k = Kernel::new().unwrap();
    let got = Rc::new(RefCell::new(None));
    let (g, p) = (got.clone(), path.clone());
    k.create(Session::new(()).state("_start", move |ctx| {
        let w = SocketFactory::builder()
            .socket_domain(SocketDomain::Unix)
            .bind_address(p.as_path())
            .success_event("accepted")
            .failure_event("failed")
            .build(ctx)
            .unwrap();
        *g.borrow_mut() = w
            .getsockname()
            .and_then(|a| a.as_pathname().map(|p| p.to_owned()));
    }))
    .unwrap();
    let _ = std::fs::remove_file(&path);
    assert_eq!(got.borrow().as_deref(), Some(path.as_path()));
}

/// The listening socket's (pending connections, backlog limit), from
/// TCP_INFO: for a listener Linux reports the accept queue's length as
/// `tcpi_unacked` and its limit as `tcpi_sacked`.
fn accept_queue(fd: RawFd) -> (u32, u32) {
    // SAFETY: tcp_info is plain old data; zeroes are a valid value.
    let mut info: libc::tcp_info = unsafe { std::mem::zeroed() };
    let mut len = std::mem::size_of::<libc::tcp_info>() as libc::socklen_t;
    // SAFETY: `info` and `len` are valid for writes of the sizes given.
    let rc = unsafe {
        libc::getsockopt(
            fd,
            libc::IPPROTO_TCP,
            libc::TCP_INFO,
            (&mut info as *mut libc::tcp_info).cast(),
            &mut len,
        )
    };
    assert_eq!(rc, 0, "TCP_INFO: {}", std::io::Error::last_os_error());
    (info.tcpi_unacked, info.tcpi_sacked)
}

/// Build a listener with `queue` (None: the default) in a fresh kernel,
/// pause it, queue `clients` connections, and read its accept queue.
fn listen_queue_of(queue: Option<i32>, clients: usize) -> (u32, u32) {
    let k = Kernel::new().unwrap();
    let port = Rc::new(Cell::new(0u16));
    let p = port.clone();
    k.create(Session::new(Heap::default()).state("_start", move |ctx| {
        let mut b = SocketFactory::builder()
            .bind_address("127.0.0.1")
            .bind_port(0u16)
            .success_event("accepted")
            .failure_event("failed");
        if let Some(n) = queue {
            b = b.listen_queue(n);
        }
        let w = b.build(ctx).unwrap();
        w.pause_accept();
        p.set(w.local_addr().unwrap().port());
        ctx.heap.wheels.push(w);
    }))
    .unwrap();
    // The kernel watches one descriptor: the listener.
    let fds = k.watched_fds();
    assert_eq!(fds.len(), 1, "{fds:?}");
    let clients: Vec<TcpStream> = (0..clients)
        .map(|_| TcpStream::connect(("127.0.0.1", port.get())).unwrap())
        .collect();
    let queue = accept_queue(fds[0]);
    drop(clients);
    queue
}

#[test]
fn listen_queue_sets_the_backlog_passed_to_listen() {
    let (waiting, limit) = listen_queue_of(Some(7), 2);
    assert_eq!(limit, 7);
    assert_eq!(waiting, 2, "paused: both connections wait in the queue");
    // Without ListenQueue: SOMAXCONN, as the system caps it.
    let somaxconn: u32 = std::fs::read_to_string("/proc/sys/net/core/somaxconn")
        .map_or(libc::SOMAXCONN as u32, |s| s.trim().parse().unwrap());
    let (_, default) = listen_queue_of(None, 0);
    assert_eq!(default, somaxconn.min(libc::SOMAXCONN as u32));
}

/// Listen on 127.0.0.1, connect to `remote`, and log both ends' events.
fn connect_to(remote: Address) -> (Vec<String>, u16) {
    let k = Kernel::new().unwrap();
    let out: Log = Rc::default();
    let port = Rc::new(Cell::new(0u16));
    let (o, p) = (out.clone(), port.clone());
    k.create(
        Session::new(Heap::default())
            .state("_start", move |ctx| {
                let l = listener(ctx, "accepted", "failed");
                p.set(l.local_addr().unwrap().port());
                ctx.heap.wheels.push(l);
                let c = SocketFactory::builder()
                    .remote_address(remote.clone())
                    .remote_port(p.get())
                    .success_event("connected")
                    .failure_event("failed")
                    .build(ctx)
                    .unwrap();
                ctx.heap.wheels.push(c);
            })
            .state("accepted", |ctx| {
                // Leave out the client's port: it is the system's choice.
                let line = describe(ctx);
                let (without_port, _) = line.rsplit_once(' ').unwrap();
                ctx.heap.log.push(without_port.to_owned());
            })
            .state("connected", move |ctx| {
                let line = describe(ctx);
                ctx.heap.log.push(line);
                ctx.heap.wheels.clear();
                *o.borrow_mut() = std::mem::take(&mut ctx.heap.log);
            })
            .state("failed", |ctx| -> Value { panic!("{}", describe(ctx)) }),
    )
    .unwrap();
    k.run();
    let log = out.borrow().clone();
    (log, port.get())
}

#[test]
fn remote_address_may_be_a_packed_four_octet_address() {
    let (log, port) = connect_to(Address::from([127, 0, 0, 1]));
    assert_eq!(
        log,
        [
            "accepted socket [127, 0, 0, 1]".to_owned(),
            format!("connected socket [127, 0, 0, 1] {port}"),
        ]
    );
}

#[test]
fn remote_address_may_be_a_host_name() {
    let (log, port) = connect_to(Address::from("localhost"));
    assert_eq!(
        log,
        [
            "accepted socket [127, 0, 0, 1]".to_owned(),
            format!("connected socket [127, 0, 0, 1] {port}"),
        ]
    );
}

#[test]
fn event_renames_success_and_failure_events_at_run_time() {
    // Nothing listens here: on Linux a non-blocking connect to it says
    // EINPROGRESS and the refusal arrives later, through the wheel.
    let closed = TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let k = Kernel::new().unwrap();
    let out: Log = Rc::default();
    let o = out.clone();
    // Every handler logs; after the third event (whichever names they
    // came under) the wheels go and the log is handed over.
    let log = move |ctx: &mut poe_kernel::Ctx<Heap>| {
        let line = describe(ctx);
        let event = line.split(' ').next().unwrap().to_owned();
        ctx.heap
            .log
            .push(if event == "refused" { line } else { event });
        if ctx.heap.log.len() == 3 {
            ctx.heap.wheels.clear();
            *o.borrow_mut() = std::mem::take(&mut ctx.heap.log);
        }
    };
    k.create(
        Session::new(Heap::default())
            .state("_start", move |ctx| {
                let l = listener(ctx, "ok", "fail");
                l.event(Some("accepted".into()), Some("accept_failed".into()));
                let port = l.local_addr().unwrap().port();
                ctx.heap.wheels.push(l);
                for (to, success, failure) in [
                    (port, Some("connected"), None),
                    (closed, None, Some("refused")),
                ] {
                    let c = SocketFactory::builder()
                        .remote_address("127.0.0.1")
                        .remote_port(to)
                        .success_event("ok")
                        .failure_event("fail")
                        .build(ctx)
                        .unwrap();
                    // None keeps the name given at build time (POE carps
                    // and ignores undef).
                    c.event(success.map(Into::into), failure.map(Into::into));
                    ctx.heap.wheels.push(c);
                }
            })
            .state("ok", log.clone())
            .state("fail", log.clone())
            .state("accepted", log.clone())
            .state("connected", log.clone())
            .state("refused", log),
    )
    .unwrap();
    k.run();
    let mut got = out.borrow().clone();
    got.sort();
    assert_eq!(
        got,
        [
            "accepted",
            "connected",
            "refused connect 111 Connection refused"
        ]
    );
}
