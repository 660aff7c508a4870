//! Server::TCP's per-connection parameters: ClientArgs, ClientError (a
//! callback, and the quiet default), ClientShutdownOnError, ClientHigh /
//! ClientLow, and the ClientFilter forms. Clients are plain blocking
//! sockets on threads, so the server side is what is tested.

mod tcp_common;

use poe_components::tcp::{FilterSpec, Server};
use poe_filters::{Line, Stream};
use poe_kernel::Kernel;
use std::io::{BufRead, BufReader, Read, Write};
use std::net::{Shutdown, TcpStream};
use std::rc::Rc;
use std::sync::mpsc;
use tcp_common::*;

#[test]
fn client_connected_gets_client_args_without_the_socket() {
    let k = Kernel::new().unwrap();
    let log: Log = Rc::default();
    let l = log.clone();
    let server = Server::builder::<()>()
        .address("127.0.0.1")
        .client_args(("x", 2))
        .client_connected(move |ctx| {
            push(
                &l,
                format!("{} args: {} {}", ctx.args.len(), ctx.arg(0), ctx.arg(1)),
            );
            ctx.heap.client.put("ok").unwrap();
            ctx.yield_("shutdown", ());
        })
        .client_input(|_| ())
        .client_disconnected(|ctx| ctx.post(ctx.heap.listener, "shutdown", ()).unwrap())
        .spawn(&k)
        .unwrap();
    let c = client(server.port(), &[]);
    k.run();
    assert_eq!(c.join().unwrap(), ["ok"]);
    assert_eq!(*log.borrow(), ["2 args: x 2"]);
}

#[test]
fn client_error_gets_the_read_eof_and_the_connection_then_shuts_down() {
    let k = Kernel::new().unwrap();
    let log: Log = Rc::default();
    let (l1, l2, l3) = (log.clone(), log.clone(), log.clone());
    let server = Server::builder::<()>()
        .address("127.0.0.1")
        .client_input(move |ctx| push(&l1, format!("input {}", ctx.arg(0))))
        .client_error(move |ctx| {
            let args: Vec<String> = ctx.args.iter().map(|a| format!("{a:?}")).collect();
            push(&l2, format!("error {}", args[..3].join(" ")));
        })
        .client_disconnected(move |ctx| {
            push(
                &l3,
                format!("disconnected got_an_error={}", ctx.heap.got_an_error),
            );
            ctx.post(ctx.heap.listener, "shutdown", ()).unwrap();
        })
        .spawn(&k)
        .unwrap();
    let c = raw_client(local(server.port()), b"hi\n");
    k.run();
    assert_eq!(c.join().unwrap(), b"");
    assert_eq!(
        *log.borrow(),
        [
            "input hi",
            r#"error "read" 0 """#,
            "disconnected got_an_error=true"
        ]
    );
}

#[test]
fn the_default_client_error_is_quiet_on_end_of_file() {
    let log: Log = Rc::default();
    let l = log.clone();
    let ((), logged) = capture_logs(|| {
        let k = Kernel::new().unwrap();
        let server = Server::builder::<()>()
            .address("127.0.0.1")
            .client_input(|_| ())
            .client_disconnected(move |ctx| {
                push(&l, "disconnected");
                ctx.post(ctx.heap.listener, "shutdown", ()).unwrap();
            })
            .spawn(&k)
            .unwrap();
        let c = raw_client(local(server.port()), b"bye\n");
        k.run();
        c.join().unwrap();
    });
    // The EOF still shut the connection down (ClientShutdownOnError).
    assert_eq!(*log.borrow(), ["disconnected"]);
    let noisy: Vec<_> = logged
        .iter()
        .filter(|(level, target, _)| *level <= log::Level::Info && target == "poe::components")
        .collect();
    assert!(noisy.is_empty(), "{noisy:?}");
}

#[test]
fn client_shutdown_on_error_false_keeps_the_connection_after_an_error() {
    let k = Kernel::new().unwrap();
    let log: Log = Rc::default();
    let (l1, l2, l3, l4) = (log.clone(), log.clone(), log.clone(), log.clone());
    let server = Server::builder::<()>()
        .address("127.0.0.1")
        .client_shutdown_on_error(false)
        .client_input(move |ctx| push(&l1, format!("input {}", ctx.arg(0))))
        .client_error(move |ctx| {
            push(&l2, format!("error {} {}", ctx.arg(0), ctx.arg(1)));
            ctx.yield_("after_error", ());
        })
        // Two hops: a shutdown yielded after the callback (what
        // ClientShutdownOnError does) would have run by the second.
        .inline_state("after_error", |ctx| ctx.yield_("check", ()))
        .inline_state("check", move |ctx| {
            let h = &ctx.heap;
            push(
                &l3,
                format!(
                    "open={} shutdown={} on_error={}",
                    h.client.is_open(),
                    h.shutdown,
                    h.shutdown_on_error
                ),
            );
            if ctx.heap.client.is_open() {
                ctx.heap.client.put("still here").unwrap();
                ctx.yield_("shutdown", ());
            }
        })
        .client_disconnected(move |ctx| {
            push(&l4, "disconnected");
            ctx.post(ctx.heap.listener, "shutdown", ()).unwrap();
        })
        .spawn(&k)
        .unwrap();
    // The client half-closes: the server reads EOF but can still write.
    let c = raw_client(local(server.port()), b"hello\n");
    k.run();
    assert_eq!(c.join().unwrap(), b"still here\r\n");
    assert_eq!(
        *log.borrow(),
        [
            "input hello",
            "error read 0",
            "open=true shutdown=false on_error=false",
            "disconnected"
        ]
    );
}

#[test]
fn client_high_and_client_low_fire_as_output_crosses_the_marks() {
    let k = Kernel::new().unwrap();
    let log: Log = Rc::default();
    let (l1, l2, l3) = (log.clone(), log.clone(), log.clone());
    let (go_tx, go_rx) = mpsc::channel::<()>();
    let server = Server::builder::<()>()
        .address("127.0.0.1")
        .client_filter(FilterSpec::new(Stream::new))
        .high_mark(256 * 1024)
        .low_mark(8 * 1024)
        .client_connected(|ctx| {
            let chunk = vec![b'h'; 64 * 1024];
            let flags: Vec<bool> = (0..16)
                .map(|_| ctx.heap.client.put(chunk.as_slice()).unwrap())
                .collect();
            // put reports high water from the 4th 64 KiB chunk on.
            assert!(!flags[2] && flags[3] && flags[15], "{flags:?}");
        })
        .client_high(move |_| {
            push(&l1, "high");
            let _ = go_tx.send(()); // the client may read now
        })
        .client_low(move |_| push(&l2, "low"))
        .client_flushed(move |ctx| {
            push(&l3, "flushed");
            ctx.yield_("shutdown", ());
        })
        .client_input(|_| ())
        .client_disconnected(|ctx| ctx.post(ctx.heap.listener, "shutdown", ()).unwrap())
        .spawn(&k)
        .unwrap();
    let port = server.port();
    let reader = std::thread::spawn(move || {
        let mut s = TcpStream::connect(local(port)).unwrap();
        go_rx.recv_timeout(STALL).expect("ClientHigh never fired");
        s.set_read_timeout(Some(STALL)).unwrap();
        let mut all = Vec::new();
        s.read_to_end(&mut all).unwrap();
        all.len()
    });
    k.run();
    assert_eq!(reader.join().unwrap(), 1 << 20);
    assert_eq!(*log.borrow(), ["high", "low", "flushed"]);
}

/// An echo server with `filter` that stops listening after `clients`.
fn echo_server(k: &Kernel, filter: FilterSpec, clients: usize) -> u16 {
    let served = Rc::new(std::cell::Cell::new(0));
    Server::builder::<()>()
        .address("127.0.0.1")
        .client_filter(filter)
        .client_input(|ctx| {
            let record = ctx.take_arg(0);
            ctx.heap.client.put(record).unwrap();
        })
        .client_disconnected(move |ctx| {
            served.set(served.get() + 1);
            if served.get() == clients {
                ctx.post(ctx.heap.listener, "shutdown", ()).unwrap();
            }
        })
        .spawn(k)
        .unwrap()
        .port()
}

#[test]
fn a_prototype_filter_is_cloned_fresh_for_each_connection() {
    let k = Kernel::new().unwrap();
    let port = echo_server(&k, FilterSpec::prototype(Line::literal("|").unwrap()), 2);
    let c = std::thread::spawn(move || {
        // The first client leaves an unterminated "x" in its filter.
        let first = raw_client(local(port), b"x").join().unwrap();
        let second = raw_client(local(port), b"y|z|").join().unwrap();
        (first, second)
    });
    k.run();
    let (first, second) = c.join().unwrap();
    assert_eq!(first, b"");
    // The prototype's terminator, and nothing left over from the first.
    assert_eq!(second, b"y|z|");
}

#[test]
fn a_filter_made_with_arguments_frames_by_them() {
    let k = Kernel::new().unwrap();
    let port = echo_server(&k, FilterSpec::new(|| Line::literal("\0").unwrap()), 1);
    let c = raw_client(local(port), b"one\0two\0three\n");
    k.run();
    // "three\n" is not a record: it is dropped with the connection.
    assert_eq!(c.join().unwrap(), b"one\0two\0");
}

#[test]
fn client_filter_is_ignored_with_client_input_and_output_filters() {
    let ((), logged) = capture_logs(|| {
        let k = Kernel::new().unwrap();
        let log: Log = Rc::default();
        let l = log.clone();
        let server = Server::builder::<()>()
            .address("127.0.0.1")
            .client_filter(FilterSpec::new(Stream::new))
            .client_input_filter(FilterSpec::new(Line::new))
            .client_output_filter(FilterSpec::new(|| Line::literal("!\n").unwrap()))
            .client_input(move |ctx| {
                let line = ctx.arg(0).to_string();
                push(&l, line.clone());
                ctx.heap.client.put(line).unwrap();
            })
            .client_disconnected(|ctx| ctx.post(ctx.heap.listener, "shutdown", ()).unwrap())
            .spawn(&k)
            .unwrap();
        let port = server.port();
        let c = std::thread::spawn(move || {
            let s = TcpStream::connect(local(port)).unwrap();
            s.set_read_timeout(Some(STALL)).unwrap();
            (&s).write_all(b"one\ntwo\n").unwrap();
            s.shutdown(Shutdown::Write).unwrap();
            BufReader::new(s)
                .lines()
                .map_while(Result::ok)
                .collect::<Vec<_>>()
        });
        k.run();
        // Line records in (Stream would give one chunk), "!\n" out.
        assert_eq!(*log.borrow(), ["one", "two"]);
        assert_eq!(c.join().unwrap(), ["one!", "two!"]);
    });
    // POE carps with these words and goes on.
    assert!(
        logged
            .iter()
            .any(|(level, _, text)| *level == log::Level::Warn
                && text == "ClientFilter ignored with ClientInputFilter and ClientOutputFilter"),
        "{logged:?}"
    );
}
