//! Client::TCP's parameters: Args / Started, Connected's arguments,
//! ServerError, ServerHigh / ServerLow, BindAddress / BindPort, Domain
//! Inet6. Servers here are plain blocking sockets on threads, so the client
//! side is what is tested.

mod tcp_common;

use poe_components::tcp::{Client, Domain, FilterSpec};
use poe_filters::Stream;
use poe_kernel::Kernel;
use std::io::{Read, Write};
use std::net::{SocketAddr, TcpListener};
use std::rc::Rc;
use std::sync::mpsc;
use std::thread::JoinHandle;
use tcp_common::*;

/// A server thread on `bind` for one client: it sends `greeting`, closes,
/// and returns the client's address.
fn greeter(bind: &str, greeting: &'static [u8]) -> (SocketAddr, JoinHandle<SocketAddr>) {
    let listener = TcpListener::bind(bind).unwrap();
    let addr = listener.local_addr().unwrap();
    let t = std::thread::spawn(move || {
        let (mut s, peer) = listener.accept().unwrap();
        s.write_all(greeting).unwrap();
        peer
    });
    (addr, t)
}

#[test]
fn started_gets_args_and_connected_gets_undef_then_the_peer() {
    let (addr, server) = greeter("127.0.0.1:0", b"hi\n");
    let k = Kernel::new().unwrap();
    let log: Log = Rc::default();
    let (l1, l2, l3) = (log.clone(), log.clone(), log.clone());
    Client::builder::<()>("127.0.0.1", addr.port())
        .args(("first", 2))
        .started(move |ctx| {
            push(
                &l1,
                format!(
                    "started {} {} connected={}",
                    ctx.arg(0),
                    ctx.arg(1),
                    ctx.heap.connected
                ),
            );
        })
        .connected(move |ctx| {
            // The socket is already inside the wheel: ARG0 is undef.
            push(
                &l2,
                format!(
                    "connected undef={} {:?} {}",
                    ctx.arg(0).is_undef(),
                    ctx.arg(1).as_bytes().unwrap(),
                    ctx.arg(2)
                ),
            );
        })
        .server_input(move |ctx| push(&l3, format!("input {}", ctx.arg(0))))
        .spawn(&k)
        .unwrap();
    k.run();
    server.join().unwrap();
    assert_eq!(
        *log.borrow(),
        [
            "started first 2 connected=false".to_owned(),
            format!("connected undef=true [127, 0, 0, 1] {}", addr.port()),
            "input hi".to_owned(),
        ]
    );
}

#[test]
fn server_error_gets_the_eof_and_the_client_then_shuts_down() {
    let (addr, server) = greeter("127.0.0.1:0", b"bye\n");
    let k = Kernel::new().unwrap();
    let log: Log = Rc::default();
    let (l1, l2, l3) = (log.clone(), log.clone(), log.clone());
    Client::builder::<()>("127.0.0.1", addr.port())
        .server_input(move |ctx| push(&l1, format!("input {}", ctx.arg(0))))
        .server_error(move |ctx| {
            push(
                &l2,
                format!(
                    "error {} {} {:?}",
                    ctx.arg(0),
                    ctx.arg(1),
                    ctx.arg(2).to_string()
                ),
            );
        })
        .disconnected(move |ctx| {
            push(
                &l3,
                format!("disconnected got_an_error={}", ctx.heap.got_an_error),
            )
        })
        .spawn(&k)
        .unwrap();
    k.run(); // returns: the client shut itself down after the error
    server.join().unwrap();
    assert_eq!(
        *log.borrow(),
        [
            "input bye",
            r#"error read 0 """#,
            "disconnected got_an_error=true"
        ]
    );
    assert_eq!(k.session_count(), 0);
}

#[test]
fn server_high_and_server_low_fire_as_output_crosses_the_marks() {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    let (go_tx, go_rx) = mpsc::channel::<()>();
    // The server reads nothing until ServerHigh has fired.
    let server = std::thread::spawn(move || {
        let (mut s, _) = listener.accept().unwrap();
        s.set_read_timeout(Some(STALL)).unwrap();
        go_rx.recv_timeout(STALL).expect("ServerHigh never fired");
        let mut all = Vec::new();
        s.read_to_end(&mut all).unwrap();
        all.len()
    });
    let k = Kernel::new().unwrap();
    let log: Log = Rc::default();
    let (l1, l2, l3) = (log.clone(), log.clone(), log.clone());
    Client::builder::<()>("127.0.0.1", port)
        .filter(FilterSpec::new(Stream::new))
        .high_mark(256 * 1024)
        .low_mark(8 * 1024)
        .connected(|ctx| {
            let chunk = vec![b's'; 64 * 1024];
            let flags: Vec<bool> = (0..16)
                .map(|_| ctx.heap.server.put(chunk.as_slice()).unwrap())
                .collect();
            assert!(!flags[2] && flags[3] && flags[15], "{flags:?}");
        })
        .server_high(move |_| {
            push(&l1, "high");
            let _ = go_tx.send(());
        })
        .server_low(move |_| push(&l2, "low"))
        .server_flushed(move |ctx| {
            push(&l3, "flushed");
            ctx.yield_("shutdown", ());
        })
        .server_input(|_| ())
        .spawn(&k)
        .unwrap();
    k.run();
    assert_eq!(server.join().unwrap(), 1 << 20);
    assert_eq!(*log.borrow(), ["high", "low", "flushed"]);
}

#[test]
fn bind_address_and_bind_port_choose_the_local_end() {
    let (addr, server) = greeter("127.0.0.1:0", b"hello\n");
    let local_port = free_port();
    let k = Kernel::new().unwrap();
    let log: Log = Rc::default();
    let l = log.clone();
    Client::builder::<()>("127.0.0.1", addr.port())
        .bind_address("127.0.0.1")
        .bind_port(local_port)
        .server_input(move |ctx| {
            push(&l, format!("input {}", ctx.arg(0)));
            ctx.yield_("shutdown", ());
        })
        .spawn(&k)
        .unwrap();
    k.run();
    let seen_from = server.join().unwrap();
    assert_eq!(seen_from, SocketAddr::from(([127, 0, 0, 1], local_port)));
    assert_eq!(*log.borrow(), ["input hello"]);
}

#[test]
fn an_inet6_client_connects_over_ipv6() {
    if !ipv6_loopback() {
        println!("skipped: this host cannot listen on ::1");
        return;
    }
    let (addr, server) = greeter("[::1]:0", b"six\n");
    let k = Kernel::new().unwrap();
    let log: Log = Rc::default();
    let (l1, l2) = (log.clone(), log.clone());
    Client::builder::<()>("::1", addr.port())
        .domain(Domain::Inet6)
        .connected(move |ctx| {
            let peer = ctx.arg(1).as_bytes().unwrap().to_vec();
            push(
                &l1,
                format!("connected {} octets, port {}", peer.len(), ctx.arg(2)),
            );
        })
        .server_input(move |ctx| {
            push(&l2, format!("input {}", ctx.arg(0)));
            ctx.yield_("shutdown", ());
        })
        .spawn(&k)
        .unwrap();
    k.run();
    let from = server.join().unwrap();
    assert!(from.is_ipv6(), "{from}");
    assert_eq!(
        *log.borrow(),
        [
            format!("connected 16 octets, port {}", addr.port()),
            "input six".to_owned()
        ]
    );
}
