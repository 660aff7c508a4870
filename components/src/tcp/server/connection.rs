//! The session the default Acceptor starts for each connection: a
//! ReadWrite wheel, the Client* callbacks, and graceful `shutdown`.

use super::ClientConfig;
use crate::tcp::{ip_text, make_filter, run, with_marks};
use poe_filters::FilterError;
use poe_kernel::{Args, Ctx, Session, SessionId, StateSet, Value};
use poe_wheels::ReadWrite;
use socket2::Socket;
use std::net::{IpAddr, SocketAddr};
use std::ops::{Deref, DerefMut};
use std::rc::Rc;

/// A connection session's heap: POE's reserved members as fields, and the
/// program's own data `U`, which the heap dereferences to (so
/// `ctx.heap.my_field` reaches `U`'s field).
pub struct Connection<U> {
    /// `client`: the ReadWrite wheel talking to the client.
    pub client: ClientWheel,
    /// `remote_ip`: the client's address as text ("LOCAL" for UNIX sockets).
    pub remote_ip: String,
    /// `remote_port`: the client's port.
    pub remote_port: u16,
    /// `remote_addr`: the client's packed address (4 or 16 octets).
    pub remote_addr: Vec<u8>,
    /// `shutdown`: the connection is closing; input is ignored.
    pub shutdown: bool,
    /// `shutdown_on_error`: close after the first error.
    pub shutdown_on_error: bool,
    /// `got_an_error`: an error happened (its output will not be flushed).
    pub got_an_error: bool,
    /// The listening session, told `disconnected` when this one ends.
    pub listener: SessionId,
    /// The program's own data.
    pub user: U,
}

impl<U> Deref for Connection<U> {
    type Target = U;
    fn deref(&self) -> &U {
        &self.user
    }
}

impl<U> DerefMut for Connection<U> {
    fn deref_mut(&mut self) -> &mut U {
        &mut self.user
    }
}

/// The connection's ReadWrite, while the connection is open.
#[derive(Default, Debug)]
pub struct ClientWheel(Option<ReadWrite>);

impl ClientWheel {
    /// Send a record (POE's `$_[HEAP]{client}->put(...)`). Returns the
    /// high-water flag. After the connection closed, the record is dropped
    /// with a warning and `Ok(false)` returned.
    #[inline]
    pub fn put(&self, record: impl Into<Value>) -> Result<bool, FilterError> {
        match &self.0 {
            Some(w) => w.put(record),
            None => {
                log::warn!(target: "poe::components", "put on a closed connection: dropped");
                Ok(false)
            }
        }
    }

    /// The wheel, while the connection is open.
    pub fn wheel(&self) -> Option<&ReadWrite> {
        self.0.as_ref()
    }

    /// True while the connection is open.
    pub fn is_open(&self) -> bool {
        self.0.is_some()
    }

    /// Close the connection now, dropping unsent output.
    pub fn close(&mut self) {
        self.0 = None;
    }

    pub(crate) fn set(&mut self, w: ReadWrite) {
        self.0 = Some(w);
    }
}

/// The states of every connection session of one server, built once when
/// the server starts: each connection's table shares this set instead of
/// holding entries of its own (only its wheel's two hidden states are its
/// own), so an idle connection carries no handler closures and no table
/// entries for them.
pub(super) struct ConnectionStates<U: 'static> {
    cfg: Rc<ClientConfig<U>>,
    states: StateSet<Connection<U>>,
}

impl<U: 'static> ConnectionStates<U> {
    pub(super) fn new(cfg: &Rc<ClientConfig<U>>) -> Self {
        let c = cfg.clone();
        let mut states = StateSet::new().state("_start", move |ctx| start(&c, ctx));
        if let Some(input) = &cfg.input {
            states = states.shared_state("tcp_server_got_input", input.clone());
        }
        let c = cfg.clone();
        states = states.state("tcp_server_got_error", move |ctx| got_error(&c, ctx));
        let c = cfg.clone();
        states = states.state("tcp_server_got_flush", move |ctx| {
            run(&c.flushed, ctx);
            if ctx.heap.shutdown {
                run(&c.disconnected, ctx);
                ctx.heap.client.close();
            }
        });
        if cfg.high_mark.is_some() && cfg.low_mark.is_some() {
            // The wheel has watermark events only then (`with_marks`).
            let c = cfg.clone();
            states = states.state("tcp_server_got_high", move |ctx| run(&c.high, ctx));
            let c = cfg.clone();
            states = states.state("tcp_server_got_low", move |ctx| run(&c.low, ctx));
        }
        let c = cfg.clone();
        states = states
            .state("shutdown", move |ctx| shutdown(&c, ctx))
            .state("_stop", |ctx: &mut Ctx<'_, Connection<U>>| {
                // From _stop only a call reaches another session (posts
                // die with this one, as in POE).
                let listener = ctx.heap.listener;
                if !listener.is_kernel() {
                    let _ = ctx.call(listener, "disconnected", ());
                }
            })
            .state("_child", |_: &mut Ctx<'_, Connection<U>>| ());
        // InlineStates / ObjectStates: added last, so they replace the
        // built-in states of the same name, as in POE.
        for (name, cb) in &cfg.states {
            states = states.shared_state(name.clone(), cb.clone());
        }
        ConnectionStates {
            cfg: cfg.clone(),
            states,
        }
    }

    /// A connection session for `socket`, accepted from `peer` (`None`:
    /// a UNIX socket).
    pub(super) fn session(
        &self,
        socket: Socket,
        peer: Option<SocketAddr>,
    ) -> Session<Connection<U>> {
        let cfg = &self.cfg;
        let mut args = Args::new();
        args.push(Value::local(socket));
        args.extend(cfg.args.iter().cloned());
        let (remote_ip, remote_port) = ip_text(peer);
        let remote_addr = peer.map_or_else(Vec::new, |sa| match sa.ip() {
            IpAddr::V4(v4) => v4.octets().to_vec(),
            IpAddr::V6(v6) => v6.octets().to_vec(),
        });
        Session::new(Connection {
            client: ClientWheel::default(),
            remote_ip,
            remote_port,
            remote_addr,
            shutdown: false,
            shutdown_on_error: cfg.shutdown_on_error,
            got_an_error: false,
            listener: SessionId::KERNEL,
            user: (cfg.make_heap)(),
        })
        .args(args)
        .options(cfg.options.clone())
        .states_from(&self.states)
    }
}

fn start<U: 'static>(cfg: &ClientConfig<U>, ctx: &mut Ctx<'_, Connection<U>>) {
    ctx.heap.listener = ctx.sender();
    let Some(mut socket) = ctx.take_arg(0).take_local::<Socket>() else {
        return;
    };
    // ClientConnected gets ClientArgs: everything after the socket.
    let client_args: Args = ctx.args[1..].iter().cloned().collect();
    *ctx.args = client_args;
    if let Some(pre) = &cfg.pre_connect {
        match pre(ctx, socket) {
            Some(s) => socket = s,
            // Refused: no wheel, so the session ends and the listener hears
            // `disconnected` from its _stop; no connect/disconnect callback.
            None => return,
        }
    }
    let mut b = ReadWrite::builder(socket)
        .input_event("tcp_server_got_input")
        .error_event("tcp_server_got_error")
        .flushed_event("tcp_server_got_flush");
    b = match (&cfg.input_filter, &cfg.output_filter) {
        (Some(i), Some(o)) => b.input_filter_boxed(i.make()).output_filter_boxed(o.make()),
        _ => b.filter_boxed(make_filter(cfg.filter.as_ref())),
    };
    b = with_marks(
        b,
        (cfg.high_mark, cfg.low_mark),
        "tcp_server_got_high",
        "tcp_server_got_low",
    );
    match b.build(ctx) {
        Ok(w) => ctx.heap.client.set(w),
        Err(e) => {
            log::error!(target: "poe::components", "Server connection {}: {e}", ctx.session());
            return;
        }
    }
    run(&cfg.connected, ctx);
}

fn got_error<U: 'static>(cfg: &ClientConfig<U>, ctx: &mut Ctx<'_, Connection<U>>) {
    let op = ctx.arg(0).to_string();
    let errno = ctx.arg(1).as_i64().unwrap_or(0);
    match &cfg.error {
        Some(cb) => {
            cb(ctx);
        }
        None => {
            let quiet = op == "read" && (errno == 0 || errno == libc::ECONNRESET as i64);
            if !quiet {
                log::warn!(
                    target: "poe::components",
                    "Server connection {} got {op} error {errno} ({})",
                    ctx.session(),
                    ctx.arg(2)
                );
            }
        }
    }
    if ctx.heap.shutdown_on_error {
        ctx.heap.got_an_error = true;
        ctx.yield_("shutdown", ());
    }
}

/// `shutdown`: stop reading; close once the output is flushed (at once if
/// nothing is buffered or the connection already failed).
fn shutdown<U: 'static>(cfg: &ClientConfig<U>, ctx: &mut Ctx<'_, Connection<U>>) {
    ctx.heap.shutdown = true;
    let Some(w) = ctx.heap.client.wheel() else {
        return;
    };
    if ctx.heap.got_an_error || w.get_driver_out_octets() == 0 {
        run(&cfg.disconnected, ctx);
        ctx.heap.client.close();
    }
}
