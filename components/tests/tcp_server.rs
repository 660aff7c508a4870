//! Server::TCP: concurrency, graceful shutdown, PreConnect, custom
//! Acceptor, construction errors (POE's comp_tcp and comp_tcp_concurrent).
//! Clients here are plain blocking sockets on threads, so the server side
//! is what is tested.

mod tcp_common;

use poe_components::tcp::{ComponentError, Domain, FilterSpec, Server};
use poe_filters::Stream;
use poe_kernel::{Kernel, Session};
use std::cell::RefCell;
use std::io::{BufRead, BufReader, Read, Write};
use std::net::{Shutdown, TcpStream};
use std::rc::Rc;
use std::sync::mpsc;
use tcp_common::*;

#[test]
fn rot13_server_answers_and_closes_on_quit() {
    let k = Kernel::new().unwrap();
    let server = Server::builder::<()>()
        .address("127.0.0.1")
        .client_connected(|ctx| {
            ctx.heap.client.put("Smile from the server!").unwrap();
        })
        .client_input(|ctx| {
            let line = ctx.arg(0).to_string();
            if line == "quit" {
                ctx.heap.client.put("B'bye!").unwrap();
                ctx.yield_("shutdown", ());
                return;
            }
            let rot: String = line
                .chars()
                .map(|c| match c {
                    'a'..='m' | 'A'..='M' => (c as u8 + 13) as char,
                    'n'..='z' | 'N'..='Z' => (c as u8 - 13) as char,
                    c => c,
                })
                .collect();
            ctx.heap.client.put(rot).unwrap();
        })
        .client_disconnected(|ctx| ctx.post(ctx.heap.listener, "shutdown", ()).unwrap())
        .spawn(&k)
        .unwrap();
    let c = client(server.port(), &["Hello", "quit"]);
    k.run();
    assert_eq!(
        c.join().unwrap(),
        ["Smile from the server!", "Uryyb", "B'bye!"]
    );
}

#[test]
fn shutdown_delivers_a_megabyte_of_pending_output_first() {
    const MB: usize = 1 << 20;
    let k = Kernel::new().unwrap();
    let log: Log = Rc::default();
    let (l1, l2) = (log.clone(), log.clone());
    let (go_tx, go_rx) = mpsc::channel::<()>();
    let server = Server::builder::<usize>()
        .address("127.0.0.1")
        .client_filter(FilterSpec::new(Stream::new))
        .client_connected(|ctx| {
            // The client reads nothing yet: write until its socket is
            // full and a megabyte more waits in the driver.
            let block = vec![b'z'; 64 * 1024];
            let w = ctx.heap.client.wheel().unwrap();
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
            let pending = ctx.heap.client.wheel().unwrap().get_driver_out_octets();
            push(&l1, format!("pending at shutdown: {}", pending >= MB));
        })
        .inline_state("go", move |_| {
            go_tx.send(()).unwrap();
        })
        .client_input(|_| ())
        .client_disconnected(move |ctx| {
            push(&l2, format!("disconnected after {} octets", ctx.heap.user));
            ctx.post(ctx.heap.listener, "shutdown", ()).unwrap();
        })
        .spawn(&k)
        .unwrap();
    let port = server.port();
    let reader = std::thread::spawn(move || {
        let mut s = TcpStream::connect(local(port)).unwrap();
        s.set_read_timeout(Some(STALL)).unwrap();
        go_rx.recv_timeout(STALL).expect("shutdown never ran");
        let mut all = Vec::new();
        s.read_to_end(&mut all).unwrap();
        all
    });
    k.run();
    let got = reader.join().unwrap();
    let log = log.borrow();
    assert_eq!(log[0], "pending at shutdown: true");
    assert_eq!(log[1], format!("disconnected after {} octets", got.len()));
    assert!(got.len() > MB, "{}", got.len());
    assert!(got.iter().all(|&b| b == b'z'));
}

#[test]
fn concurrency_two_serves_five_clients_as_slots_free() {
    let k = Kernel::new().unwrap();
    let log: Log = Rc::default();
    let active = Rc::new(RefCell::new(0i32));
    let (l1, l2) = (log.clone(), log.clone());
    let (a1, a2) = (active.clone(), active.clone());
    let served = Rc::new(RefCell::new(0));
    let s2 = served.clone();
    let server = Server::builder::<()>()
        .address("127.0.0.1")
        .alias("limited")
        .concurrency(2)
        .client_connected(move |ctx| {
            *a1.borrow_mut() += 1;
            push(&l1, format!("open {}", a1.borrow()));
            ctx.heap.client.put("hello").unwrap();
        })
        .client_input(|ctx| {
            ctx.heap.client.put("bye").unwrap();
            ctx.yield_("shutdown", ());
        })
        .client_disconnected(move |ctx| {
            *a2.borrow_mut() -= 1;
            push(&l2, "close");
            *s2.borrow_mut() += 1;
            if *s2.borrow() == 5 {
                ctx.post("limited", "shutdown", ()).unwrap();
            }
        })
        .spawn(&k)
        .unwrap();
    let clients: Vec<_> = (0..5).map(|_| client(server.port(), &["go"])).collect();
    k.run();
    for c in clients {
        assert_eq!(c.join().unwrap(), ["hello", "bye"]);
    }
    let log = log.borrow();
    assert_eq!(log.iter().filter(|l| l.starts_with("open")).count(), 5);
    // Never more than two at once.
    assert!(!log.iter().any(|l| l == "open 3"), "{log:?}");
}

#[test]
fn concurrency_zero_admits_nobody_until_set_concurrency() {
    let k = Kernel::builder().build().unwrap();
    let log: Log = Rc::default();
    let (l1, l2) = (log.clone(), log.clone());
    let server = Server::builder::<()>()
        .address("127.0.0.1")
        .alias("gate")
        .concurrency(0)
        .client_connected(move |ctx| {
            push(&l1, "connected");
            ctx.heap.client.put("in").unwrap();
            ctx.yield_("shutdown", ());
        })
        .client_input(|_| ())
        .client_disconnected(|ctx| ctx.post("gate", "shutdown", ()).unwrap())
        .spawn(&k)
        .unwrap();
    // The client is in the listener's backlog before the kernel runs
    // (connect returns once the handshake is done). The gate opens only
    // after a few timeslices, each of which polled the listener: a server
    // that admitted anyone at concurrency 0 would log "connected" first.
    let stream = TcpStream::connect(("127.0.0.1", server.port())).unwrap();
    stream.set_read_timeout(Some(STALL)).unwrap();
    let c = std::thread::spawn(move || {
        BufReader::new(stream)
            .lines()
            .map_while(Result::ok)
            .collect::<Vec<String>>()
    });
    k.create(
        Session::new(3u32)
            .state("_start", |ctx| ctx.yield_("wait", ()))
            .state("wait", |ctx| {
                *ctx.heap -= 1;
                let next = if *ctx.heap == 0 { "open" } else { "wait" };
                ctx.yield_(next, ());
            })
            .state("open", move |ctx| {
                push(&l2, "open");
                ctx.post("gate", "set_concurrency", (-1,)).unwrap();
            }),
    )
    .unwrap();
    k.run();
    assert_eq!(c.join().unwrap(), ["in"]);
    assert_eq!(*log.borrow(), ["open", "connected"]);
}

#[test]
fn pre_connect_can_refuse_and_the_listener_still_counts_the_disconnect() {
    let k = Kernel::new().unwrap();
    let log: Log = Rc::default();
    let (l1, l2, l3) = (log.clone(), log.clone(), log.clone());
    let server = Server::builder::<()>()
        .address("127.0.0.1")
        .alias("picky")
        .concurrency(1)
        .client_pre_connect(move |ctx, socket| {
            push(
                &l1,
                format!("pre {} {}", ctx.heap.remote_ip, ctx.heap.remote_addr.len()),
            );
            // Refuse the first client, accept the second.
            if l1.borrow().len() == 1 {
                None
            } else {
                Some(socket)
            }
        })
        .client_connected(move |ctx| {
            push(&l2, "connected");
            ctx.heap.client.put("ok").unwrap();
            ctx.yield_("shutdown", ());
        })
        .client_input(|_| ())
        .client_disconnected(move |ctx| {
            push(&l3, "disconnected");
            ctx.post("picky", "shutdown", ()).unwrap();
        })
        .spawn(&k)
        .unwrap();
    let a = client(server.port(), &[]);
    let b = client(server.port(), &[]);
    k.run();
    // Whichever arrived first was refused: closed without a word.
    let mut outcomes = vec![a.join().unwrap(), b.join().unwrap()];
    outcomes.sort();
    assert_eq!(outcomes, [vec![], vec!["ok".to_owned()]]);
    // Concurrency 1 let the second in: the refusal freed the slot.
    assert_eq!(
        *log.borrow(),
        [
            "pre 127.0.0.1 4",
            "pre 127.0.0.1 4",
            "connected",
            "disconnected"
        ]
    );
}

#[test]
fn a_custom_acceptor_runs_in_the_listener_and_reports_disconnects() {
    let k = Kernel::new().unwrap();
    let log: Log = Rc::default();
    let l = log.clone();
    let server = Server::builder::<()>()
        .address("127.0.0.1")
        .alias("custom")
        .concurrency(1)
        .acceptor(move |ctx| {
            let listener = ctx.session();
            push(
                &l,
                format!("accept port={} conns={}", ctx.arg(2), ctx.heap.connections),
            );
            let socket = ctx.arg(0).take_local::<socket2::Socket>().unwrap();
            let mut stream = TcpStream::from(socket);
            stream.set_nonblocking(false).unwrap();
            stream.write_all(b"handled by the acceptor\n").unwrap();
            stream.shutdown(Shutdown::Both).unwrap();
            // A custom Acceptor must say when its client is gone.
            ctx.post(listener, "disconnected", ()).unwrap();
            if ctx.heap.connections == 1 && l.borrow().len() == 2 {
                ctx.yield_("shutdown", ());
            }
        })
        .spawn(&k)
        .unwrap();
    let a = client(server.port(), &[]);
    let b = client(server.port(), &[]);
    k.run();
    assert_eq!(a.join().unwrap(), ["handled by the acceptor"]);
    assert_eq!(b.join().unwrap(), ["handled by the acceptor"]);
    assert_eq!(log.borrow().len(), 2);
    assert!(
        log.borrow().iter().all(|l| l.ends_with("conns=1")),
        "{:?}",
        log.borrow()
    );
}

#[test]
fn bad_construction_is_an_error() {
    let k = Kernel::new().unwrap();
    let none = Server::builder::<()>().spawn(&k).unwrap_err();
    assert!(matches!(none, ComponentError::Missing(_)), "{none}");
    let both = Server::builder::<()>()
        .acceptor(|_| ())
        .client_input(|_| ())
        .spawn(&k)
        .unwrap_err();
    assert!(both.to_string().contains("exclude"), "{both}");
    let half_filters = Server::builder::<()>()
        .client_input(|_| ())
        .client_input_filter(FilterSpec::new(Stream::new))
        .spawn(&k)
        .unwrap_err();
    assert!(
        half_filters.to_string().contains("together"),
        "{half_filters}"
    );
    let other_half = Server::builder::<()>()
        .client_input(|_| ())
        .client_output_filter(FilterSpec::new(Stream::new))
        .spawn(&k)
        .unwrap_err();
    assert!(
        matches!(other_half, ComponentError::Conflict(_)),
        "{other_half}"
    );
    let some_marks = Server::builder::<()>()
        .client_input(|_| ())
        .high_mark(100)
        .low_mark(10)
        .spawn(&k)
        .unwrap_err();
    assert!(
        some_marks.to_string().contains("ClientHigh"),
        "{some_marks}"
    );
    assert_eq!(k.session_count(), 0, "nothing was started");
}

#[test]
fn a_bind_failure_reaches_error_and_the_listener_ends() {
    let taken = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = taken.local_addr().unwrap().port();
    let k = Kernel::new().unwrap();
    let log: Log = Rc::default();
    let l = log.clone();
    Server::builder::<()>()
        .address("127.0.0.1")
        .port(port)
        .client_input(|_| ())
        .error(move |ctx| {
            push(&l, format!("{} {}", ctx.arg(0), ctx.arg(1)));
            ctx.heap.listener = None;
        })
        .spawn(&k)
        .unwrap();
    k.run(); // returns: the listener ended
    assert_eq!(*log.borrow(), ["bind 98"]);
}

#[test]
fn unix_domain_servers_report_local_clients() {
    let path = std::env::temp_dir().join(format!("poe-tcp-unix-{}", std::process::id()));
    let _ = std::fs::remove_file(&path);
    let k = Kernel::new().unwrap();
    let log: Log = Rc::default();
    let l = log.clone();
    Server::builder::<()>()
        .domain(Domain::Unix)
        .address(path.as_path())
        .alias("unix")
        .client_connected(move |ctx| {
            push(
                &l,
                format!("{} {}", ctx.heap.remote_ip, ctx.heap.remote_port),
            );
            ctx.heap.client.put("local hello").unwrap();
            ctx.yield_("shutdown", ());
        })
        .client_input(|_| ())
        .client_disconnected(|ctx| ctx.post("unix", "shutdown", ()).unwrap())
        .spawn(&k)
        .unwrap();
    let p = path.clone();
    let c = std::thread::spawn(move || {
        let s = std::os::unix::net::UnixStream::connect(p).unwrap();
        BufReader::new(s)
            .lines()
            .map_while(Result::ok)
            .collect::<Vec<_>>()
    });
    k.run();
    let _ = std::fs::remove_file(&path);
    assert_eq!(c.join().unwrap(), ["local hello"]);
    assert_eq!(*log.borrow(), ["LOCAL 0"]);
}

#[test]
fn inline_and_object_states_belong_to_connection_sessions() {
    struct Tally {
        lines: std::cell::Cell<usize>,
    }
    impl Tally {
        fn count(&self, ctx: &mut poe_kernel::Ctx<poe_components::tcp::Connection<Vec<String>>>) {
            self.lines.set(ctx.heap.len());
        }
    }
    let tally = Rc::new(Tally {
        lines: std::cell::Cell::new(0),
    });
    let k = Kernel::new().unwrap();
    let log: Log = Rc::default();
    let l1 = log.clone();
    let server = Server::builder::<Vec<String>>()
        .address("127.0.0.1")
        .alias("states")
        .client_input(|ctx| {
            let line = ctx.arg(0).to_string();
            if line == "done" {
                ctx.yield_("count", ());
                ctx.yield_("report", ());
            } else {
                ctx.heap.push(line); // U = Vec<String>, through Deref
            }
        })
        .object_state("count", &tally, Tally::count)
        .inline_state("report", move |ctx| {
            push(&l1, format!("seen {:?}", ctx.heap.user));
            ctx.heap.client.put("reported").unwrap();
            ctx.yield_("shutdown", ());
        })
        .client_disconnected(|ctx| ctx.post("states", "shutdown", ()).unwrap())
        .spawn(&k)
        .unwrap();
    let c = client(server.port(), &["a", "b", "done"]);
    k.run();
    assert_eq!(c.join().unwrap(), ["reported"]);
    assert_eq!(*log.borrow(), [r#"seen ["a", "b"]"#]);
    assert_eq!(tally.lines.get(), 2);
}
