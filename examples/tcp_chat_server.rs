//! A small multi-user chat server on Server::TCP. The first line a client
//! sends is its nick; every later line goes to everyone else as
//! "nick: text". `/who` lists who is here, `/quit` leaves.
//!
//! Connection sessions find each other through a shared room (session IDs
//! and nicks) and deliver messages by posting each other a `say` event — an
//! InlineState of the connection sessions.
//!
//! `cargo run --example tcp_chat_server [PORT]` (default 12345).

use poe::components::tcp::{Connection, Server};
use poe::prelude::*;
use std::cell::RefCell;
use std::collections::BTreeMap;
use std::rc::Rc;

type Room = Rc<RefCell<BTreeMap<SessionId, String>>>;

/// Each connection's own data: its nick, once given.
#[derive(Default)]
struct Member {
    nick: Option<String>,
}

/// Post `text` to everyone in the room but `from`.
fn broadcast(ctx: &mut Ctx<Connection<Member>>, room: &Room, text: &str) {
    let me = ctx.session();
    let others: Vec<SessionId> = room.borrow().keys().copied().filter(|&s| s != me).collect();
    for other in others {
        let _ = ctx.post(other, "say", (text,));
    }
}

fn main() {
    env_logger::init();
    let port = std::env::args()
        .nth(1)
        .map_or(12345, |p| p.parse().expect("a port number"));
    let kernel = Kernel::new().unwrap();
    let room: Room = Rc::default();
    let (r1, r2) = (room.clone(), room.clone());
    let server = Server::builder::<Member>()
        .port(port)
        .client_connected(|ctx| {
            ctx.heap.client.put("Welcome! What is your nick?").unwrap();
        })
        .client_input(move |ctx| {
            let line = ctx.arg(0).to_string();
            let Some(nick) = ctx.heap.nick.clone() else {
                let nick = line.trim().to_owned();
                r1.borrow_mut().insert(ctx.session(), nick.clone());
                ctx.heap.client.put(format!("Hello, {nick}.")).unwrap();
                broadcast(ctx, &r1, &format!("* {nick} joined"));
                ctx.heap.nick = Some(nick);
                return;
            };
            match line.as_str() {
                "/quit" => {
                    ctx.heap.client.put("Bye.").unwrap();
                    ctx.yield_("shutdown", ());
                }
                "/who" => {
                    let names: Vec<String> = r1.borrow().values().cloned().collect();
                    ctx.heap
                        .client
                        .put(format!("here: {}", names.join(", ")))
                        .unwrap();
                }
                text => broadcast(ctx, &r1, &format!("{nick}: {text}")),
            }
        })
        .inline_state("say", |ctx| {
            let text = ctx.arg(0).to_string();
            ctx.heap.client.put(text).unwrap();
        })
        .client_disconnected(move |ctx| {
            let left = r2.borrow_mut().remove(&ctx.session());
            if let Some(nick) = left {
                broadcast(ctx, &r2, &format!("* {nick} left"));
            }
        })
        .spawn(&kernel)
        .expect("start the server");
    println!("listening on port {}", server.port());
    kernel.run();
}
