//! The server's listening session: a SocketFactory, the connection count,
//! and the events `shutdown`, `set_concurrency` and `disconnected`.

use super::connection;
use super::{ClientConfig, ServerBuilder};
use crate::tcp::{peer_of, run, Domain};
use poe_kernel::{Ctx, Session, Value};
use poe_wheels::socket_factory::Address;
use poe_wheels::SocketFactory;
use socket2::Socket;
use std::cell::Cell;
use std::net::SocketAddr;
use std::rc::Rc;

/// The listening session's heap (POE's reserved listener members).
pub struct Listener {
    /// `alias`: the server's Alias.
    pub alias: Option<String>,
    /// `concurrency`: the current limit (-1: none).
    pub concurrency: i64,
    /// `connections`: connections accepted and not yet ended.
    pub connections: i64,
    /// `listener`: the SocketFactory; `None` once shut down.
    pub listener: Option<SocketFactory>,
    /// The program's own data (for a custom Acceptor, say).
    pub data: Value,
}

impl Listener {
    /// Pause or resume accepting to match the concurrency limit.
    fn throttle(&self) {
        let Some(l) = &self.listener else { return };
        if self.concurrency >= 0 && self.connections >= self.concurrency {
            l.pause_accept();
        } else {
            l.resume_accept();
        }
    }
}

/// Whether the listener keeps listening after a SocketFactory failure:
/// only through running out of descriptors or memory on `accept` (the
/// SocketFactory backs off and retries). Any other failure closes it.
fn survives(op: &str, errno: i64) -> bool {
    op == "accept"
        && [libc::EMFILE, libc::ENFILE, libc::ENOBUFS, libc::ENOMEM]
            .iter()
            .any(|&e| e as i64 == errno)
}

/// Build the listening session; the cell receives the bound address when
/// the session starts.
pub(super) fn session<U: 'static>(
    b: ServerBuilder<U>,
) -> (Session<Listener>, Rc<Cell<Option<SocketAddr>>>) {
    let bound = Rc::new(Cell::new(None));
    let ServerBuilder {
        port,
        address,
        hostname,
        domain,
        alias,
        concurrency,
        acceptor,
        error,
        started,
        stopped,
        listener_args,
        client,
    } = b;
    let client: Rc<ClientConfig<U>> = Rc::new(client);
    let addr = bound.clone();
    let start = move |ctx: &mut Ctx<'_, Listener>| {
        if let Some(a) = &ctx.heap.alias.clone() {
            let _ = ctx.alias_set(a);
        }
        let mut sf = SocketFactory::builder()
            .socket_domain(domain)
            .reuse(true)
            .success_event("tcp_server_got_connection")
            .failure_event("tcp_server_got_error");
        sf = match (&address, &hostname, domain) {
            (Some(a), _, Domain::Unix) => sf.bind_address(a.clone()),
            (Some(a), _, _) => sf.bind_address(a.clone()).bind_port(port),
            (None, Some(h), _) => sf.bind_address(Address::Name(h.clone())).bind_port(port),
            (None, None, _) => sf.bind_port(port),
        };
        match sf.build(ctx) {
            Ok(w) => {
                addr.set(w.local_addr());
                ctx.heap.listener = Some(w);
                // POE admits one client at Concurrency 0; here it means none.
                ctx.heap.throttle();
            }
            Err(e) => log::error!(target: "poe::components", "Server: cannot listen: {e}"),
        }
        run(&started, ctx);
    };
    let got_connection = {
        // Built once: every connection session shares these handlers.
        let states = connection::ConnectionStates::new(&client);
        move |ctx: &mut Ctx<'_, Listener>| {
            ctx.heap.connections += 1;
            ctx.heap.throttle();
            match &acceptor {
                Some(accept) => {
                    accept(ctx);
                }
                None => {
                    let Some(socket) = ctx.arg(0).take_local::<Socket>() else {
                        return;
                    };
                    // The address accept(2) gave: no getpeername(2) per
                    // connection.
                    let peer = peer_of(ctx.arg(1), ctx.arg(2));
                    let session = states.session(socket, peer);
                    if let Err(e) = ctx.create(session) {
                        log::error!(target: "poe::components", "Server: cannot start a connection session: {e}");
                    }
                }
            }
        }
    };
    // The Error callback only reports; whether the listener survives is
    // the listener's own rule, the same with or without a callback.
    let got_error = move |ctx: &mut Ctx<'_, Listener>| {
        let (op, errno) = (ctx.arg(0).to_string(), ctx.arg(1).as_i64().unwrap_or(0));
        match &error {
            Some(cb) => {
                cb(ctx);
            }
            None => log::warn!(
                target: "poe::components",
                "Server {} got {op} error {errno} ({})",
                ctx.session(),
                ctx.arg(2)
            ),
        }
        if !survives(&op, errno) {
            ctx.heap.listener = None;
        }
    };
    let session = Session::new(Listener {
        alias,
        concurrency,
        connections: 0,
        listener: None,
        data: Value::Undef,
    })
    .args(listener_args)
    .state("_start", start)
    .state("tcp_server_got_connection", got_connection)
    .state("tcp_server_got_error", got_error)
    .state("shutdown", shutdown)
    .state("set_concurrency", |ctx| {
        ctx.heap.concurrency = ctx.arg(0).as_i64().unwrap_or(-1);
        ctx.heap.throttle();
    })
    .state("disconnected", |ctx| {
        ctx.heap.connections -= 1;
        if ctx.heap.connections < 0 {
            log::warn!(target: "poe::components", "Server {}: more disconnections than connections", ctx.session());
            ctx.heap.connections = 0;
        }
        ctx.heap.throttle();
    })
    .state("_child", |_| ())
    .state("_stop", move |ctx| run(&stopped, ctx));
    (session, bound)
}

/// `shutdown`: stop accepting, drop the alias; connections in progress
/// finish, and the listener session ends after the last one.
fn shutdown(ctx: &mut Ctx<'_, Listener>) {
    ctx.heap.listener = None;
    if let Some(a) = ctx.heap.alias.clone() {
        let _ = ctx.alias_remove(&a);
    }
}
