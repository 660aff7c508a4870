//! Server::TCP and Client::TCP talking to each other: the observed
//! sequences of POE's comp_tcp test.

use poe_components::tcp::{Client, Server};
use poe_kernel::Kernel;
use std::cell::RefCell;
use std::rc::Rc;

type Log = Rc<RefCell<Vec<String>>>;

fn push(log: &Log, s: impl Into<String>) {
    log.borrow_mut().push(s.into());
}

#[test]
fn server_and_client_exchange_lines_and_shut_down_in_poe_order() {
    let _ = env_logger::builder().is_test(true).try_init();
    let k = Kernel::new().unwrap();
    let log: Log = Rc::default();
    let (l1, l2, l3, l4) = (log.clone(), log.clone(), log.clone(), log.clone());
    let server = Server::builder::<()>()
        .address("127.0.0.1")
        .alias("server")
        .client_connected(move |ctx| {
            push(&l1, "S connected");
            ctx.heap.client.put("welcome").unwrap();
        })
        .client_input(move |ctx| {
            let line = ctx.arg(0).to_string();
            push(&l2, format!("S input {line}"));
            if line == "bye" {
                ctx.heap.client.put("farewell").unwrap();
                ctx.yield_("shutdown", ());
            } else {
                ctx.heap.client.put(format!("echo {line}")).unwrap();
            }
        })
        .client_flushed(move |_| push(&l3, "S flushed"))
        .client_disconnected(move |ctx| {
            push(&l4, "S disconnected");
            // The last client is gone: stop listening.
            ctx.post("server", "shutdown", ()).unwrap();
        })
        .spawn(&k)
        .unwrap();
    assert!(server.port() > 0);

    let (c1, c2, c3, c4) = (log.clone(), log.clone(), log.clone(), log.clone());
    Client::builder::<u32>("127.0.0.1", server.port())
        .started(move |_| push(&c1, "C started"))
        .connected(move |ctx| {
            push(&c2, "C connected");
            ctx.heap.server.put("one").unwrap();
        })
        .server_input(move |ctx| {
            let line = ctx.arg(0).to_string();
            push(&c3, format!("C input {line}"));
            ctx.heap.user += 1;
            if line == "echo one" {
                ctx.heap.server.put("bye").unwrap();
            }
            if line == "farewell" {
                ctx.yield_("shutdown", ());
            }
        })
        .disconnected(move |ctx| push(&c4, format!("C disconnected after {} lines", ctx.heap.user)))
        .spawn(&k)
        .unwrap();
    k.run();
    let log = log.borrow();
    let expect = [
        "C started",
        "S connected",
        "C connected",
        "S flushed",
        "C input welcome",
        "S input one",
        "S flushed",
        "C input echo one",
        "S input bye",
        "S flushed",
        "S disconnected",
        "C input farewell",
        "C disconnected after 3 lines",
    ];
    assert_eq!(*log, expect, "{log:#?}");
    assert_eq!(k.session_count(), 0);
}
