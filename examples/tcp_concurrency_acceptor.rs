//! Concurrency with a custom Acceptor, after POE::Component::Server::TCP's
//! "Concurrency" documentation: the Acceptor starts its own session per
//! connection, which remembers the listener (its `SENDER` at `_start`) and
//! posts it `disconnected` when the client goes, so the listener can admit
//! the next one. At most two clients are served at once; others wait in
//! the backlog.
//!
//! `cargo run --example tcp_concurrency_acceptor [PORT]` (default 12345).
//! Each client is told its number, gets its lines back in upper case, and
//! is let go after `quit`.

use poe::components::tcp::Server;
use poe::prelude::*;
use poe::wheels::ReadWrite;
use std::cell::Cell;
use std::rc::Rc;

struct Client {
    listener: SessionId,
    wheel: Option<ReadWrite>,
    closing: bool,
}

fn client_session(socket: socket2::Socket, number: u32) -> Session<Client> {
    let socket = Local::new(socket);
    Session::new(Client {
        listener: SessionId::KERNEL,
        wheel: None,
        closing: false,
    })
    .state("_start", move |ctx| {
        // Remember who our parent is: the listener created us.
        ctx.heap.listener = ctx.sender();
        let socket = socket.take::<socket2::Socket>().expect("the socket");
        let wheel = ReadWrite::builder(socket)
            .input_event("got_line")
            .error_event("got_client_disconnect")
            .flushed_event("flushed")
            .build(ctx)
            .expect("a wheel");
        wheel.put(format!("you are client #{number}")).unwrap();
        ctx.heap.wheel = Some(wheel);
        println!("client #{number} connected");
    })
    .state("got_line", |ctx| {
        let line = ctx.arg(0).to_string();
        let wheel = ctx.heap.wheel.as_ref().unwrap();
        if line == "quit" {
            wheel.put("bye").unwrap();
            ctx.heap.closing = true; // hang up once "bye" is out
        } else {
            wheel.put(line.to_uppercase()).unwrap();
        }
    })
    .state("flushed", |ctx| {
        if ctx.heap.closing {
            ctx.yield_("got_client_disconnect", ());
        }
    })
    .state("got_client_disconnect", move |ctx| {
        if ctx.heap.wheel.take().is_none() {
            return; // already gone
        }
        println!("client #{number} disconnected");
        // The listener counts connections: tell it this one ended.
        let listener = ctx.heap.listener;
        ctx.post(listener, "disconnected", ()).unwrap();
    })
}

fn main() {
    env_logger::init();
    let port = std::env::args()
        .nth(1)
        .map_or(12345, |p| p.parse().expect("a port number"));
    let kernel = Kernel::new().unwrap();
    let count = Rc::new(Cell::new(0));
    let server = Server::builder::<()>()
        .port(port)
        .concurrency(2)
        .acceptor(move |ctx| {
            let socket = ctx.arg(0).take_local::<socket2::Socket>().unwrap();
            count.set(count.get() + 1);
            ctx.create(client_session(socket, count.get())).unwrap();
        })
        .spawn(&kernel)
        .expect("start the server");
    println!("listening on port {}", server.port());
    kernel.run();
}
