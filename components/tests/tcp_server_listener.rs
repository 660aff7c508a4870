//! Server::TCP's listener parameters: Hostname, Domain Inet6, Started with
//! ListenerArgs, Stopped, and the default Error. Clients are plain
//! blocking sockets on threads.

mod tcp_common;

use poe_components::tcp::{Domain, Server};
use poe_kernel::Kernel;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};
use std::rc::Rc;
use tcp_common::*;

#[test]
fn hostname_is_resolved_and_bound_instead_of_every_interface() {
    let k = Kernel::new().unwrap();
    let log: Log = Rc::default();
    let l = log.clone();
    let server = Server::builder::<()>()
        .hostname("localhost")
        .client_connected(move |ctx| {
            push(&l, format!("connected from {}", ctx.heap.remote_ip));
            ctx.heap.client.put("hi").unwrap();
            ctx.yield_("shutdown", ());
        })
        .client_input(|_| ())
        .client_disconnected(|ctx| ctx.post(ctx.heap.listener, "shutdown", ()).unwrap())
        .spawn(&k)
        .unwrap();
    // Without Hostname (or Address) the server binds 0.0.0.0.
    let addr = server.addr.unwrap();
    assert_eq!(addr.ip(), IpAddr::V4(Ipv4Addr::LOCALHOST));
    let c = client(server.port(), &[]);
    k.run();
    assert_eq!(c.join().unwrap(), ["hi"]);
    assert_eq!(*log.borrow(), ["connected from 127.0.0.1"]);
}

#[test]
fn an_inet6_server_on_the_loopback_reports_ipv6_clients() {
    if !ipv6_loopback() {
        println!("skipped: this host cannot listen on ::1");
        return;
    }
    let k = Kernel::new().unwrap();
    let log: Log = Rc::default();
    let l = log.clone();
    let server = Server::builder::<()>()
        .domain(Domain::Inet6)
        .address("::1")
        .client_connected(move |ctx| {
            let h = &ctx.heap;
            push(
                &l,
                format!("{} {} octets", h.remote_ip, h.remote_addr.len()),
            );
            ctx.heap.client.put("over six").unwrap();
            ctx.yield_("shutdown", ());
        })
        .client_input(|_| ())
        .client_disconnected(|ctx| ctx.post(ctx.heap.listener, "shutdown", ()).unwrap())
        .spawn(&k)
        .unwrap();
    let addr = server.addr.unwrap();
    assert_eq!(addr.ip(), IpAddr::V6(Ipv6Addr::LOCALHOST));
    let c = client_at(addr, &[]);
    k.run();
    assert_eq!(c.join().unwrap(), ["over six"]);
    assert_eq!(*log.borrow(), ["::1 16 octets"]);
}

#[test]
fn started_gets_listener_args_after_the_listener_is_up_and_stopped_runs_last() {
    let k = Kernel::new().unwrap();
    let log: Log = Rc::default();
    let (l1, l2) = (log.clone(), log.clone());
    let server = Server::builder::<()>()
        .address("127.0.0.1")
        .alias("announced")
        .listener_args(("alpha", 7))
        .started(move |ctx| {
            let port = ctx
                .heap
                .listener
                .as_ref()
                .map(|l| l.local_addr().unwrap().port());
            push(
                &l1,
                format!(
                    "started {} {} of {} on {port:?}",
                    ctx.arg(0),
                    ctx.arg(1),
                    ctx.args.len()
                ),
            );
            ctx.yield_("shutdown", ());
        })
        .stopped(move |ctx| {
            push(
                &l2,
                format!("stopped listening={}", ctx.heap.listener.is_some()),
            )
        })
        .client_input(|_| ())
        .spawn(&k)
        .unwrap();
    k.run();
    assert_eq!(
        *log.borrow(),
        [
            format!("started alpha 7 of 2 on Some({})", server.port()),
            "stopped listening=false".to_owned(),
        ]
    );
    assert_eq!(k.session_count(), 0);
}

#[test]
fn the_default_error_logs_the_failure_and_shuts_the_listener_down() {
    let taken = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = taken.local_addr().unwrap().port();
    let log: Log = Rc::default();
    let l = log.clone();
    let ((), logged) = capture_logs(|| {
        let k = Kernel::new().unwrap();
        Server::builder::<()>()
            .address("127.0.0.1")
            .port(port)
            .alias("doomed")
            .client_input(|_| ())
            .stopped(move |_| push(&l, "stopped"))
            .spawn(&k)
            .unwrap();
        k.run(); // returns: the listener shut itself down
        assert_eq!(k.session_count(), 0);
    });
    assert_eq!(*log.borrow(), ["stopped"]);
    let warnings: Vec<&String> = logged
        .iter()
        .filter(|(level, target, _)| *level == log::Level::Warn && target == "poe::components")
        .map(|(_, _, text)| text)
        .collect();
    assert_eq!(warnings.len(), 1, "{logged:?}");
    assert!(
        warnings[0].contains("bind error 98 (Address already in use)"),
        "{warnings:?}"
    );
}

/// An accept failure as the listener's SocketFactory reports it.
fn accept_failure(errno: i32) -> (&'static str, i64, String, i64) {
    let text = std::io::Error::from_raw_os_error(errno).to_string();
    ("accept", errno as i64, text, 0)
}

#[test]
fn a_custom_error_only_reports_and_the_listener_survives_running_out_of_descriptors() {
    let k = Kernel::new().unwrap();
    let log: Log = Rc::default();
    let (l1, l2) = (log.clone(), log.clone());
    let server = Server::builder::<()>()
        .address("127.0.0.1")
        .error(move |ctx| push(&l1, format!("error {} {}", ctx.arg(0), ctx.arg(1))))
        .client_connected(move |ctx| {
            push(&l2, "connected");
            ctx.heap.client.put("still here").unwrap();
            ctx.yield_("shutdown", ());
        })
        .client_input(|_| ())
        .client_disconnected(|ctx| ctx.post(ctx.heap.listener, "shutdown", ()).unwrap())
        .spawn(&k)
        .unwrap();
    k.call(
        server.id,
        "tcp_server_got_error",
        accept_failure(libc::EMFILE),
    )
    .unwrap();
    let c = client(server.port(), &[]);
    k.run();
    assert_eq!(c.join().unwrap(), ["still here"]);
    assert_eq!(
        *log.borrow(),
        [
            format!("error accept {}", libc::EMFILE),
            "connected".to_owned()
        ]
    );
}

#[test]
fn a_custom_error_only_reports_and_the_listener_closes_on_other_errors() {
    let k = Kernel::new().unwrap();
    let log: Log = Rc::default();
    let (l1, l2) = (log.clone(), log.clone());
    let server = Server::builder::<()>()
        .address("127.0.0.1")
        .error(move |ctx| push(&l1, format!("error {} {}", ctx.arg(0), ctx.arg(1))))
        .stopped(move |ctx| {
            push(
                &l2,
                format!("stopped listening={}", ctx.heap.listener.is_some()),
            )
        })
        .client_input(|_| ())
        .spawn(&k)
        .unwrap();
    k.call(
        server.id,
        "tcp_server_got_error",
        accept_failure(libc::EINVAL),
    )
    .unwrap();
    k.run(); // returns: the listener closed
    assert_eq!(
        *log.borrow(),
        [
            format!("error accept {}", libc::EINVAL),
            "stopped listening=false".to_owned()
        ]
    );
    assert_eq!(k.session_count(), 0);
}

#[test]
fn a_connection_reports_the_peer_address_accept_gave() {
    let k = Kernel::new().unwrap();
    let server = Server::builder::<()>()
        .address("127.0.0.1")
        .client_connected(|ctx| {
            let h = &ctx.heap;
            let told = format!("{} {} {:?}", h.remote_ip, h.remote_port, h.remote_addr);
            ctx.heap.client.put(told).unwrap();
            ctx.yield_("shutdown", ());
        })
        .client_input(|_| ())
        .client_disconnected(|ctx| ctx.post(ctx.heap.listener, "shutdown", ()).unwrap())
        .spawn(&k)
        .unwrap();
    // From another loopback address than the server's, and a port of the
    // client's own: what the server reports can only come from this peer.
    let to = server.addr.unwrap();
    let c = std::thread::spawn(move || {
        use std::io::BufRead;
        let socket =
            socket2::Socket::new(socket2::Domain::IPV4, socket2::Type::STREAM, None).unwrap();
        let from: std::net::SocketAddr = "127.0.0.45:0".parse().unwrap();
        socket.bind(&from.into()).unwrap();
        socket.connect(&to.into()).unwrap();
        let stream = std::net::TcpStream::from(socket);
        let me = stream.local_addr().unwrap();
        let mut line = String::new();
        std::io::BufReader::new(stream)
            .read_line(&mut line)
            .unwrap();
        (me, line.trim_end().to_owned())
    });
    k.run();
    let (me, told) = c.join().unwrap();
    assert_eq!(me.ip(), IpAddr::V4(Ipv4Addr::new(127, 0, 0, 45)));
    assert_eq!(told, format!("127.0.0.45 {} [127, 0, 0, 45]", me.port()));
}
