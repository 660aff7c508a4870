//! Client::TCP: connect errors and timeouts, reconnecting, the `connect`
//! event, graceful shutdown (POE's connect_errors and comp_tcp tests).

mod tcp_common;

use poe_components::tcp::{Client, ComponentError, FilterSpec, Server};
use poe_filters::Stream;
use poe_kernel::{ClockKind, Kernel};
use std::cell::RefCell;
use std::io::Read;
use std::net::TcpListener;
use std::rc::Rc;
use std::sync::mpsc;
use tcp_common::*;

#[test]
fn a_refused_connect_reports_errno_111_and_the_client_ends() {
    let k = Kernel::new().unwrap();
    let log: Log = Rc::default();
    let l = log.clone();
    Client::builder::<()>("127.0.0.1", free_port())
        .alias("doomed")
        .connect_error(move |ctx| push(&l, format!("{} {} {}", ctx.arg(0), ctx.arg(1), ctx.arg(2))))
        .server_input(|_| ())
        .spawn(&k)
        .unwrap();
    // No reconnect requested: the client shuts down (its alias goes), so
    // run() returns — POE would leave the aliased session lingering.
    k.run();
    assert_eq!(*log.borrow(), ["connect 111 Connection refused"]);
}

#[test]
fn connect_timeout_against_a_listener_that_never_accepts() {
    // A full backlog drops new SYNs: the connect hangs until the timeout.
    let (listener, addr, filler) = full_backlog_listener();
    // On the virtual clock: nothing is ready, so time jumps to the timeout.
    let k = Kernel::builder().clock(ClockKind::Virtual).build().unwrap();
    let started = k.now();
    let log: Log = Rc::default();
    let l = log.clone();
    Client::builder::<()>("127.0.0.1", addr.port())
        .connect_timeout(30.0)
        .connect_error(move |ctx| {
            let waited = ctx.now() - started;
            push(
                &l,
                format!(
                    "{} {} {} after {waited}s",
                    ctx.arg(0),
                    ctx.arg(1),
                    ctx.arg(2)
                ),
            );
        })
        .server_input(|_| ())
        .spawn(&k)
        .unwrap();
    k.run();
    assert_eq!(
        *log.borrow(),
        ["connect 110 Connection timed out after 30s"]
    );
    drop((listener, filler));
}

#[test]
fn the_connect_event_moves_the_client_to_a_new_port() {
    let k = Kernel::new().unwrap();
    let log: Log = Rc::default();
    let server = Server::builder::<()>()
        .address("127.0.0.1")
        .alias("srv")
        .client_connected(|ctx| {
            ctx.heap.client.put("found you").unwrap();
            ctx.yield_("shutdown", ());
        })
        .client_input(|_| ())
        .client_disconnected(|ctx| ctx.post("srv", "shutdown", ()).unwrap())
        .spawn(&k)
        .unwrap();
    let good = server.port();
    let (l1, l2, l3) = (log.clone(), log.clone(), log.clone());
    Client::builder::<()>("127.0.0.1", free_port())
        .connect_error(move |ctx| {
            push(&l1, format!("error {}", ctx.arg(1)));
            ctx.yield_("connect", ("127.0.0.1", good as i64));
        })
        .connected(move |_| push(&l2, "connected"))
        .server_input(move |ctx| push(&l3, format!("input {}", ctx.arg(0))))
        .spawn(&k)
        .unwrap();
    k.run();
    assert_eq!(*log.borrow(), ["error 111", "connected", "input found you"]);
}

/// A server that greets, then closes every connection; it shuts itself
/// down after `max` clients.
fn greeter(k: &Kernel, port: u16, max: usize) -> u16 {
    let served = Rc::new(RefCell::new(0));
    Server::builder::<()>()
        .address("127.0.0.1")
        .port(port)
        .client_connected(|ctx| {
            ctx.heap.client.put("hi").unwrap();
            ctx.yield_("shutdown", ());
        })
        .client_input(|_| ())
        .client_disconnected(move |ctx| {
            *served.borrow_mut() += 1;
            if *served.borrow() == max {
                ctx.post(ctx.heap.listener, "shutdown", ()).unwrap();
            }
        })
        .spawn(k)
        .unwrap()
        .port()
}

#[test]
fn reconnecting_with_a_delay_finds_a_restarted_server() {
    let k = Kernel::new().unwrap();
    let port = greeter(&k, 0, 1);
    let log: Log = Rc::default();
    let (l1, l2, l3, l4) = (log.clone(), log.clone(), log.clone(), log.clone());
    Client::builder::<u32>("127.0.0.1", port)
        .connected(move |_| push(&l1, "connected"))
        .server_input(move |ctx| push(&l2, format!("input {}", ctx.arg(0))))
        .disconnected(move |ctx| {
            push(&l3, "disconnected");
            ctx.heap.user += 1;
            if ctx.heap.user == 1 {
                // The server is gone: retry in 50 ms.
                ctx.delay("reconnect", 0.05, ()).unwrap();
            }
        })
        .connect_error(move |ctx| {
            push(&l4, format!("retry after {}", ctx.arg(1)));
            // The first refusal proves the server was down when we retried;
            // bring a new one up on the same port, and retry again.
            if l4
                .borrow()
                .iter()
                .filter(|l| l.starts_with("retry"))
                .count()
                == 1
            {
                greeter(ctx.kernel(), port, 1);
            }
            ctx.delay("reconnect", 0.05, ()).unwrap();
        })
        .spawn(&k)
        .unwrap();
    k.run();
    let log = log.borrow();
    assert_eq!(&log[..3], ["connected", "input hi", "disconnected"]);
    let retries = log
        .iter()
        .filter(|l| l.starts_with("retry after 111"))
        .count();
    assert_eq!(retries, 1, "{log:?}");
    assert_eq!(
        &log[log.len() - 3..],
        ["connected", "input hi", "disconnected"]
    );
}

#[test]
fn shutdown_flushes_the_clients_output_first() {
    const MB: usize = 1 << 20;
    // A server that reads nothing until told, then everything.
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    let (go_tx, go_rx) = mpsc::channel::<()>();
    let peer = std::thread::spawn(move || {
        let (mut s, _) = listener.accept().unwrap();
        s.set_read_timeout(Some(STALL)).unwrap();
        go_rx.recv_timeout(STALL).expect("shutdown never ran");
        let mut all = Vec::new();
        s.read_to_end(&mut all).unwrap();
        all
    });
    let k = Kernel::new().unwrap();
    let log: Log = Rc::default();
    let (l1, l2, l3) = (log.clone(), log.clone(), log.clone());
    Client::builder::<usize>("127.0.0.1", port)
        .filter(FilterSpec::new(Stream::new))
        .connected(|ctx| {
            // Write until the socket is full and a megabyte more waits in
            // the driver, then shut down with all of that pending.
            let block = vec![b'c'; 64 * 1024];
            let w = ctx.heap.server.read_write().unwrap();
            while w.get_driver_out_octets() < MB {
                w.put(block.as_slice()).unwrap();
                w.flush();
                ctx.heap.user += block.len();
            }
            ctx.yield_("check", ());
            ctx.yield_("shutdown", ());
            ctx.yield_("go", ());
        })
        // Runs just before shutdown, in the same batch of events: what it
        // sees pending is what shutdown sees.
        .inline_state("check", move |ctx| {
            let w = ctx.heap.server.read_write().unwrap();
            push(
                &l1,
                format!("pending at shutdown: {}", w.get_driver_out_octets() >= MB),
            );
        })
        .inline_state("go", move |_| go_tx.send(()).unwrap())
        .server_flushed(move |_| push(&l2, "flushed"))
        .disconnected(move |ctx| push(&l3, format!("disconnected after {} octets", ctx.heap.user)))
        .server_input(|_| ())
        .spawn(&k)
        .unwrap();
    k.run();
    let got = peer.join().unwrap();
    assert!(got.len() > MB && got.iter().all(|&b| b == b'c'));
    assert_eq!(
        *log.borrow(),
        [
            "pending at shutdown: true".to_owned(),
            "flushed".to_owned(),
            format!("disconnected after {} octets", got.len()),
        ]
    );
}

#[test]
fn pre_connect_can_drop_the_connection() {
    let k = Kernel::new().unwrap();
    let port = greeter(&k, 0, 1);
    let log: Log = Rc::default();
    let (l1, l2) = (log.clone(), log.clone());
    Client::builder::<()>("127.0.0.1", port)
        .pre_connect(move |_, _socket| {
            push(&l1, "pre_connect: no");
            None
        })
        .connected(move |_| push(&l2, "connected"))
        .server_input(|_| ())
        .spawn(&k)
        .unwrap();
    k.run();
    assert_eq!(*log.borrow(), ["pre_connect: no"]);
}

#[test]
fn bad_construction_is_an_error() {
    let k = Kernel::new().unwrap();
    let e = Client::builder::<()>("127.0.0.1", 1u16)
        .spawn(&k)
        .unwrap_err();
    assert!(matches!(e, ComponentError::Missing("ServerInput")), "{e}");
    let e = Client::builder::<()>("127.0.0.1", 1u16)
        .server_input(|_| ())
        .high_mark(10)
        .server_low(|_| ())
        .spawn(&k)
        .unwrap_err();
    assert!(
        e.to_string().contains("all") || e.to_string().contains("together"),
        "{e}"
    );
    assert_eq!(k.session_count(), 0);
}
