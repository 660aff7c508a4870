//! SocketFactory and ListenAccept: listening, connecting, datagrams, UNIX
//! and IPv6 sockets, and their failure events (POE's wheel_sf_* suites).

use poe_kernel::{Ctx, Kernel, Session, Value};
use poe_wheels::socket_factory::{SocketDomain, SocketProtocol};
use poe_wheels::{ListenAccept, SocketFactory, WheelId};
use socket2::Socket;
use std::cell::{Cell, RefCell};
use std::net::{TcpListener, UdpSocket};
use std::os::fd::AsRawFd;
use std::rc::Rc;

type Log = Rc<RefCell<Vec<String>>>;

fn push(log: &Log, s: impl Into<String>) {
    log.borrow_mut().push(s.into());
}

/// A session holding one wheel, logging its events as "<tag> <event>
/// <args...>" with the socket argument shown as "socket".
struct Holder {
    tag: &'static str,
    log: Log,
    wheel: Option<SocketFactory>,
}

fn describe(args: &[Value]) -> String {
    args.iter()
        .map(|v| match v {
            Value::Local(_) => "socket".to_owned(),
            Value::Bytes(b) => format!("{:?}", b.as_slice()),
            Value::Undef => "undef".to_owned(),
            other => other.to_string(),
        })
        .collect::<Vec<_>>()
        .join(" ")
}

fn logging(ctx: &mut Ctx<Holder>) {
    let line = format!("{} {} {}", ctx.heap.tag, ctx.event(), describe(ctx.args));
    push(&ctx.heap.log, line);
}

/// Run one factory in its own session; `after` runs on each event (after
/// logging) and may drop the wheel.
fn factory_session(
    tag: &'static str,
    log: &Log,
    make: impl Fn(&mut Ctx<Holder>) -> SocketFactory + 'static,
) -> Session<Holder> {
    Session::new(Holder {
        tag,
        log: log.clone(),
        wheel: None,
    })
    .state("_start", move |ctx| {
        let w = make(ctx);
        ctx.heap.wheel = Some(w);
    })
    .state("ok", |ctx| {
        logging(ctx);
        if let Some(s) = ctx.arg(0).take_local::<Socket>() {
            drop(s);
        }
        ctx.heap.wheel = None;
    })
    .state("fail", |ctx| {
        logging(ctx);
        ctx.heap.wheel = None;
    })
}

#[test]
fn tcp_listen_and_connect_hand_over_sockets_with_peer_address_and_port() {
    let k = Kernel::new().unwrap();
    let log: Log = Rc::default();
    let port = Rc::new(Cell::new(0u16));
    let p = port.clone();
    let server = k
        .create(factory_session("server", &log, move |ctx| {
            let w = SocketFactory::builder()
                .bind_address("127.0.0.1")
                .bind_port(0u16)
                .reuse(true)
                .success_event("ok")
                .failure_event("fail")
                .build(ctx)
                .unwrap();
            p.set(w.local_addr().unwrap().port());
            w
        }))
        .unwrap()
        .id;
    assert!(port.get() > 0, "the real port is readable after build");
    let p = port.get();
    let client_id = Rc::new(Cell::new(None));
    let c = client_id.clone();
    k.create(factory_session("client", &log, move |ctx| {
        let w = SocketFactory::builder()
            .remote_address("127.0.0.1")
            .remote_port(p)
            .success_event("ok")
            .failure_event("fail")
            .build(ctx)
            .unwrap();
        c.set(Some(w.id()));
        w
    }))
    .unwrap();
    k.run();
    let log = log.borrow();
    assert_eq!(log.len(), 2, "{log:?}");
    // Accept (read-ready) is dispatched before connect (write-ready) in the
    // same poll: the server sees the client first, as in POE.
    assert!(
        log[0].starts_with("server ok socket [127, 0, 0, 1] "),
        "{log:?}"
    );
    let id = client_id.get().unwrap();
    assert_eq!(log[1], format!("client ok socket [127, 0, 0, 1] {p} {id}"));
    assert_ne!(server.get(), 0);
}

#[test]
fn connection_refused_is_a_connect_failure_with_errno_111() {
    let free_port = TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let k = Kernel::new().unwrap();
    let log: Log = Rc::default();
    let id = Rc::new(Cell::new(None));
    let i = id.clone();
    k.create(factory_session("client", &log, move |ctx| {
        let w = SocketFactory::builder()
            .remote_address("127.0.0.1")
            .remote_port(free_port)
            .success_event("ok")
            .failure_event("fail")
            .build(ctx)
            .unwrap();
        i.set(Some(w.id()));
        w
    }))
    .unwrap();
    k.run();
    let id = id.get().unwrap();
    assert_eq!(
        *log.borrow(),
        [format!("client fail connect 111 Connection refused {id}")]
    );
}

#[test]
fn connect_timeout_reports_etimedout() {
    // A listener whose backlog is full drops new SYNs; TCP_USER_TIMEOUT
    // bounds how long the connect keeps trying. listen(0) admits one
    // connection to the accept queue: once the filler is queued (the
    // listener polls readable) the queue is full.
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap();
    let sock = Socket::from(listener);
    sock.listen(0).unwrap();
    let filler = Socket::new(socket2::Domain::IPV4, socket2::Type::STREAM, None).unwrap();
    filler.set_nonblocking(true).unwrap();
    let _ = filler.connect(&addr.into());
    let mut pfd = libc::pollfd {
        fd: sock.as_raw_fd(),
        events: libc::POLLIN,
        revents: 0,
    };
    // SAFETY: one valid pollfd for the duration of the call. The timeout
    // is a watchdog: loopback handshakes take microseconds.
    let ready = unsafe { libc::poll(&mut pfd, 1, 20_000) };
    assert_eq!(ready, 1, "the filler never reached the accept queue");
    let k = Kernel::new().unwrap();
    let log: Log = Rc::default();
    k.create(factory_session("client", &log, move |ctx| {
        SocketFactory::builder()
            .remote_address("127.0.0.1")
            .remote_port(addr.port())
            .configure(|s| s.set_tcp_user_timeout(Some(std::time::Duration::from_millis(300))))
            .success_event("ok")
            .failure_event("fail")
            .build(ctx)
            .unwrap()
    }))
    .unwrap();
    k.run();
    let log = log.borrow();
    assert_eq!(log.len(), 1);
    assert!(
        log[0].starts_with("client fail connect 110 Connection timed out"),
        "{log:?}"
    );
    drop((sock, filler));
}

#[test]
fn bind_failure_is_queued_after_build_returns() {
    let taken = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = taken.local_addr().unwrap().port();
    let k = Kernel::new().unwrap();
    let log: Log = Rc::default();
    let l = log.clone();
    k.create(
        factory_session("server", &log, move |ctx| {
            let w = SocketFactory::builder()
                .bind_address("127.0.0.1")
                .bind_port(port)
                .success_event("ok")
                .failure_event("fail")
                .build(ctx)
                .unwrap();
            push(&l, "build returned");
            ctx.yield_("after", ());
            w
        })
        .state("after", logging),
    )
    .unwrap();
    k.run();
    let log = log.borrow();
    assert_eq!(log[0], "build returned");
    assert!(
        log[1].starts_with("server fail bind 98 Address already in use"),
        "{log:?}"
    );
    assert_eq!(log[2], "server after ");
}

#[test]
fn unresolvable_addresses_and_missing_parameters() {
    let k = Kernel::new().unwrap();
    let log: Log = Rc::default();
    k.create(factory_session("client", &log, |ctx| {
        let missing = SocketFactory::builder()
            .remote_address("127.0.0.1")
            .success_event("ok")
            .failure_event("fail")
            .build(ctx);
        assert!(missing.unwrap_err().to_string().contains("RemotePort"));
        assert!(SocketFactory::builder()
            .failure_event("fail")
            .build(ctx)
            .is_err());
        SocketFactory::builder()
            .remote_address(vec![1u8, 2, 3])
            .remote_port(80u16)
            .success_event("ok")
            .failure_event("fail")
            .build(ctx)
            .unwrap()
    }))
    .unwrap();
    k.run();
    let log = log.borrow();
    assert!(
        log[0].starts_with("client fail inet_aton 99 Cannot assign requested address"),
        "{log:?}"
    );
}

#[test]
fn udp_sockets_arrive_by_a_queued_success_event_and_carry_datagrams() {
    let k = Kernel::new().unwrap();
    let got: Rc<RefCell<Vec<u8>>> = Rc::default();
    let g = got.clone();
    k.create(
        Session::new((Vec::<SocketFactory>::new(), Vec::<UdpSocket>::new()))
            .state("_start", |ctx| {
                for _ in 0..2 {
                    let w = SocketFactory::builder()
                        .bind_address("127.0.0.1")
                        .socket_protocol(SocketProtocol::Udp)
                        .success_event("bound")
                        .failure_event("fail")
                        .build(ctx)
                        .unwrap();
                    assert_ne!(w.local_addr().unwrap().port(), 0);
                    ctx.heap.0.push(w);
                }
                // The sockets come by queued events, after this handler.
                assert!(ctx.heap.1.is_empty());
            })
            .state("bound", move |ctx| {
                assert!(ctx.arg(1).is_undef() && ctx.arg(2).is_undef());
                let sock = UdpSocket::from(ctx.arg(0).take_local::<Socket>().unwrap());
                ctx.heap.1.push(sock);
                if ctx.heap.1.len() < 2 {
                    return;
                }
                let (a, b) = (&ctx.heap.1[0], &ctx.heap.1[1]);
                b.send_to(b"datagram", a.local_addr().unwrap()).unwrap();
                let mut buf = [0u8; 32];
                let (n, from) = a.recv_from(&mut buf).unwrap();
                assert_eq!(from, b.local_addr().unwrap());
                g.borrow_mut().extend_from_slice(&buf[..n]);
                ctx.heap.0.clear();
                ctx.heap.1.clear();
            })
            .state("fail", |_| -> Value { panic!("UDP bind failed") }),
    )
    .unwrap();
    k.run();
    assert_eq!(got.borrow().as_slice(), b"datagram");
}

#[test]
fn unix_stream_sockets_listen_and_connect() {
    let dir = std::env::temp_dir().join(format!("poe-sf-unix-{}", std::process::id()));
    let _ = std::fs::remove_file(&dir);
    let k = Kernel::new().unwrap();
    let log: Log = Rc::default();
    let path = dir.clone();
    k.create(factory_session("server", &log, move |ctx| {
        SocketFactory::builder()
            .socket_domain(SocketDomain::Unix)
            .bind_address(path.as_path())
            .success_event("ok")
            .failure_event("fail")
            .build(ctx)
            .unwrap()
    }))
    .unwrap();
    let path = dir.clone();
    k.create(factory_session("client", &log, move |ctx| {
        SocketFactory::builder()
            .socket_domain(SocketDomain::Unix)
            .remote_address(path.as_path())
            .success_event("ok")
            .failure_event("fail")
            .build(ctx)
            .unwrap()
    }))
    .unwrap();
    k.run();
    let _ = std::fs::remove_file(&dir);
    let log = log.borrow();
    assert_eq!(log.len(), 2, "{log:?}");
    assert!(
        log.iter()
            .any(|l| l.starts_with("server ok socket undef undef")),
        "{log:?}"
    );
    assert!(
        log.iter().any(|l| l.starts_with("client ok socket")),
        "{log:?}"
    );
}

#[test]
fn ipv6_loopback_listen_and_connect() {
    let k = Kernel::new().unwrap();
    let log: Log = Rc::default();
    let port = Rc::new(Cell::new(0u16));
    let p = port.clone();
    k.create(factory_session("server", &log, move |ctx| {
        let w = SocketFactory::builder()
            .socket_domain(SocketDomain::Inet6)
            .bind_address("::1")
            .bind_port(0u16)
            .success_event("ok")
            .failure_event("fail")
            .build(ctx)
            .unwrap();
        p.set(w.local_addr().unwrap().port());
        w
    }))
    .unwrap();
    let p = port.get();
    k.create(factory_session("client", &log, move |ctx| {
        SocketFactory::builder()
            .socket_domain(SocketDomain::Inet6)
            .remote_address("::1")
            .remote_port(p)
            .success_event("ok")
            .failure_event("fail")
            .build(ctx)
            .unwrap()
    }))
    .unwrap();
    k.run();
    let loopback = format!("{:?}", std::net::Ipv6Addr::LOCALHOST.octets());
    let log = log.borrow();
    assert_eq!(log.len(), 2, "{log:?}");
    for line in log.iter() {
        assert!(line.contains(&loopback), "16-octet packed address: {line}");
    }
}

#[test]
fn pause_accept_leaves_connections_in_the_backlog_until_resumed() {
    let k = Kernel::new().unwrap();
    let log: Log = Rc::default();
    let port = Rc::new(Cell::new(0u16));
    let p = port.clone();
    let server = k
        .create(
            factory_session("server", &log, move |ctx| {
                let w = SocketFactory::builder()
                    .bind_address("127.0.0.1")
                    .bind_port(0u16)
                    .success_event("ok")
                    .failure_event("fail")
                    .build(ctx)
                    .unwrap();
                p.set(w.local_addr().unwrap().port());
                w.pause_accept();
                w
            })
            // The client has connected: let a few timeslices poll the
            // paused listener, with the connection in its backlog, before
            // resuming. An accept that ignored the pause would log first.
            .state("wait", |ctx| {
                let left = ctx.arg(0).as_i64().unwrap_or(0);
                if left > 0 {
                    ctx.yield_("wait", (left - 1,));
                } else {
                    ctx.yield_("resume", ());
                }
            })
            .state("resume", |ctx| {
                logging(ctx);
                ctx.heap.wheel.as_ref().unwrap().resume_accept();
            }),
        )
        .unwrap()
        .id;
    let p = port.get();
    k.create(
        factory_session("client", &log, move |ctx| {
            SocketFactory::builder()
                .remote_address("127.0.0.1")
                .remote_port(p)
                .success_event("ok")
                .failure_event("fail")
                .build(ctx)
                .unwrap()
        })
        .state("ok", move |ctx| {
            logging(ctx);
            ctx.heap.wheel = None;
            ctx.post(server, "wait", (3,)).unwrap();
        }),
    )
    .unwrap();
    k.run();
    let log = log.borrow();
    // The TCP handshake completes in the backlog (the client connects) but
    // the server accepts only once resumed.
    assert!(log[0].starts_with("client ok"), "{log:?}");
    assert_eq!(log[1], "server resume ");
    assert!(log[2].starts_with("server ok socket"), "{log:?}");
    assert!(server.get() > 0);
}

#[test]
fn listen_accept_passes_the_raw_sockaddr() {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap();
    let k = Kernel::new().unwrap();
    type Seen = Option<(Vec<u8>, WheelId, Value)>;
    let seen: Rc<RefCell<Seen>> = Rc::default();
    let s = seen.clone();
    k.create(
        Session::new((Some(listener), None::<ListenAccept>))
            .state("_start", |ctx| {
                let l = ctx.heap.0.take().unwrap();
                ctx.heap.1 = Some(
                    ListenAccept::builder(l)
                        .accept_event("acc")
                        .build(ctx)
                        .unwrap(),
                );
            })
            .state("acc", move |ctx| {
                let sock = ctx.arg(0).take_local::<Socket>().unwrap();
                let raw = ctx.arg(1).as_bytes().unwrap().to_vec();
                let id = ctx.heap.1.as_ref().unwrap().id();
                *s.borrow_mut() = Some((raw, id, ctx.arg(2).clone()));
                drop(sock);
                ctx.heap.1 = None;
            }),
    )
    .unwrap();
    let client = std::net::TcpStream::connect(addr).unwrap();
    k.run();
    let (raw, id, id_arg) = seen.borrow_mut().take().unwrap();
    assert_eq!(raw.len(), 16, "struct sockaddr_in");
    assert_eq!(u16::from_ne_bytes([raw[0], raw[1]]), libc::AF_INET as u16);
    let port = u16::from_be_bytes([raw[2], raw[3]]);
    assert_eq!(port, client.local_addr().unwrap().port());
    assert_eq!(&raw[4..8], &[127, 0, 0, 1]);
    assert_eq!(id, id_arg);
}

#[test]
fn dropping_a_connecting_factory_abandons_it_quietly() {
    // 192.0.2.0/24 is reserved for documentation: a connect there never
    // completes quickly, so the wheel is still connecting when dropped.
    let k = Kernel::new().unwrap();
    let log: Log = Rc::default();
    k.create(
        factory_session("client", &log, |ctx| {
            ctx.yield_("give_up", ());
            SocketFactory::builder()
                .remote_address("192.0.2.1")
                .remote_port(9u16)
                .success_event("ok")
                .failure_event("fail")
                .build(ctx)
                .unwrap()
        })
        .state("give_up", |ctx| {
            push(&ctx.heap.log, "dropped");
            ctx.heap.wheel = None;
        }),
    )
    .unwrap();
    k.run();
    let log = log.borrow();
    // Either the drop comes first (and nothing else happens), or the
    // network said no at once (no route) before the drop.
    assert!(log.contains(&"dropped".to_owned()), "{log:?}");
    assert!(!log.iter().any(|l| l.contains(" ok ")), "{log:?}");
}

#[test]
fn udp_datagrams_arrive_through_a_select_read_watcher() {
    let k = Kernel::new().unwrap();
    let got: Rc<RefCell<Vec<String>>> = Rc::default();
    let g = got.clone();
    let sender = UdpSocket::bind("127.0.0.1:0").unwrap();
    k.create(
        Session::new((None::<SocketFactory>, None::<UdpSocket>))
            .state("_start", |ctx| {
                let w = SocketFactory::builder()
                    .bind_address("127.0.0.1")
                    .socket_protocol(SocketProtocol::Udp)
                    .success_event("bound")
                    .failure_event("fail")
                    .build(ctx)
                    .unwrap();
                ctx.heap.0 = Some(w);
            })
            .state("bound", move |ctx| {
                let sock = UdpSocket::from(ctx.arg(0).take_local::<Socket>().unwrap());
                let to = sock.local_addr().unwrap();
                for word in ["one", "two", "three"] {
                    sender.send_to(word.as_bytes(), to).unwrap();
                }
                ctx.select_read(&sock, "datagram", ()).unwrap();
                *ctx.heap = (None, Some(sock));
            })
            .state("datagram", move |ctx| {
                let mut buf = [0u8; 64];
                let (n, _) = ctx.heap.1.as_ref().unwrap().recv_from(&mut buf).unwrap();
                g.borrow_mut()
                    .push(String::from_utf8_lossy(&buf[..n]).into_owned());
                if g.borrow().len() == 3 {
                    let sock = ctx.heap.1.take().unwrap();
                    ctx.select_read_remove(&sock).unwrap();
                }
            })
            .state("fail", |ctx| -> Value { panic!("{:?}", ctx.args) }),
    )
    .unwrap();
    k.run();
    assert_eq!(*got.borrow(), ["one", "two", "three"]);
}
