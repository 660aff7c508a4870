//! The client session: connecting, talking, reconnecting, shutting down.

use super::Config;
use crate::tcp::{make_filter, run, with_marks, Callback};
use poe_filters::FilterError;
use poe_kernel::{AlarmId, Args, Ctx, Session, Value};
use poe_wheels::socket_factory::{Address, Port};
use poe_wheels::{errno_text, ReadWrite, SocketFactory};
use socket2::Socket;
use std::ops::{Deref, DerefMut};
use std::rc::Rc;

/// What the client's `server` heap member holds (POE's
/// `$_[HEAP]{server}`): the SocketFactory while connecting, the ReadWrite
/// once connected.
#[derive(Default, Debug)]
pub enum ServerWheel {
    /// Not connected, not connecting.
    #[default]
    None,
    /// Connecting.
    Connecting(SocketFactory),
    /// Connected.
    Connected(ReadWrite),
}

impl ServerWheel {
    /// Send a record to the server (POE's `$_[HEAP]{server}->put(...)`).
    /// Returns the high-water flag. When not connected the record is
    /// dropped with a warning and `Ok(false)` returned.
    #[inline]
    pub fn put(&self, record: impl Into<Value>) -> Result<bool, FilterError> {
        match self {
            ServerWheel::Connected(w) => w.put(record),
            _ => {
                log::warn!(target: "poe::components", "put while not connected: dropped");
                Ok(false)
            }
        }
    }

    /// The ReadWrite, when connected.
    pub fn read_write(&self) -> Option<&ReadWrite> {
        match self {
            ServerWheel::Connected(w) => Some(w),
            _ => None,
        }
    }
}

/// The client session's heap: POE's reserved members as fields, and the
/// program's own data `U`, which the heap dereferences to.
pub struct ClientHeap<U> {
    /// `server`: the wheel talking to the server.
    pub server: ServerWheel,
    /// `connected`: a connection is established.
    pub connected: bool,
    /// `shutdown`: the client is shutting down; input is ignored.
    pub shutdown: bool,
    /// `shutdown_on_error`: shut down after an I/O error (always true
    /// initially, as in POE; a program may clear it).
    pub shutdown_on_error: bool,
    /// `got_an_error`: the current connection failed (reset on reconnect).
    pub got_an_error: bool,
    /// Where `reconnect` connects: changed by `connect(address, port)`.
    pub remote_address: Address,
    /// See `remote_address`.
    pub remote_port: Port,
    ctimeout: Option<AlarmId>,
    /// The program's own data.
    pub user: U,
}

impl<U> Deref for ClientHeap<U> {
    type Target = U;
    fn deref(&self) -> &U {
        &self.user
    }
}

impl<U> DerefMut for ClientHeap<U> {
    fn deref_mut(&mut self) -> &mut U {
        &mut self.user
    }
}

type C<'a, 'b, U> = &'a mut Ctx<'b, ClientHeap<U>>;

pub(super) fn session<U: 'static>(cfg: Config<U>) -> Session<ClientHeap<U>> {
    let cfg = Rc::new(cfg);
    let heap = ClientHeap {
        server: ServerWheel::None,
        connected: false,
        shutdown: false,
        shutdown_on_error: true,
        got_an_error: false,
        remote_address: cfg.remote_address.clone(),
        remote_port: cfg.remote_port.clone(),
        ctimeout: None,
        user: (cfg.make_heap)(),
    };
    let mut s = Session::new(heap)
        .args(cfg.args.clone())
        .options(cfg.options.clone());
    macro_rules! state {
        ($name:expr, $f:expr) => {{
            let c = cfg.clone();
            s = s.state($name, move |ctx| $f(&c, ctx));
        }};
    }
    state!("_start", start);
    state!("reconnect", reconnect);
    state!("got_connect_success", connect_success);
    state!("got_connect_error", connect_error);
    state!("got_connect_timeout", connect_timeout);
    state!("got_server_error", server_error);
    if let Some(input) = &cfg.server_input {
        s = s.shared_state("got_server_input", input.clone());
    }
    state!("got_server_flush", |c: &Config<U>, ctx: C<U>| {
        run(&c.server_flushed, ctx);
        if ctx.heap.shutdown {
            ctx.heap.server = ServerWheel::None;
            run(&c.disconnected, ctx);
        }
    });
    state!("got_high", |c: &Config<U>, ctx: C<U>| run(
        &c.server_high,
        ctx
    ));
    state!("got_low", |c: &Config<U>, ctx: C<U>| run(
        &c.server_low,
        ctx
    ));
    state!("shutdown", shutdown);
    s = s.state("connect", |ctx| {
        // connect(address?, port?): remember them, then reconnect.
        if !ctx.arg(0).is_undef() {
            ctx.heap.remote_address = Address::Name(ctx.arg(0).to_string());
        }
        if !ctx.arg(1).is_undef() {
            ctx.heap.remote_port = Port::from(ctx.arg(1).to_string());
        }
        ctx.yield_("reconnect", ());
    });
    s = s.state("_stop", |_| ()).state("_child", |_| ());
    for (name, cb) in &cfg.states {
        let cb: Callback<ClientHeap<U>> = cb.clone();
        s = s.state(name.clone(), move |ctx| cb(ctx));
    }
    s
}

fn start<U: 'static>(cfg: &Config<U>, ctx: C<U>) {
    ctx.heap.shutdown_on_error = true;
    if let Some(a) = &cfg.alias {
        let _ = ctx.alias_set(a);
    }
    ctx.yield_("reconnect", ());
    run(&cfg.started, ctx);
}

/// `reconnect`: drop any connection (its buffers are lost) and connect
/// again to the current address.
fn reconnect<U: 'static>(cfg: &Config<U>, ctx: C<U>) {
    let heap = &mut *ctx.heap;
    heap.shutdown = false;
    heap.connected = false;
    heap.got_an_error = false; // POE keeps it across reconnects
    let mut b = SocketFactory::builder()
        .remote_address(heap.remote_address.clone())
        .remote_port(heap.remote_port.clone())
        .socket_domain(cfg.domain)
        .success_event("got_connect_success")
        .failure_event("got_connect_error");
    if let Some(a) = &cfg.bind_address {
        b = b.bind_address(a.clone());
    }
    if let Some(p) = &cfg.bind_port {
        b = b.bind_port(p.clone());
    }
    if let Some(a) = &cfg.alias {
        let _ = ctx.alias_set(a);
    }
    ctx.heap.server = ServerWheel::None; // close the old connection first
    match b.build(ctx) {
        Ok(w) => ctx.heap.server = ServerWheel::Connecting(w),
        Err(e) => log::error!(target: "poe::components", "Client {}: {e}", ctx.session()),
    }
    cancel_timeout(ctx);
    if let Some(t) = cfg.connect_timeout {
        ctx.heap.ctimeout = ctx.delay_set("got_connect_timeout", t, ()).ok();
    }
}

fn cancel_timeout<U: 'static>(ctx: C<U>) {
    if let Some(id) = ctx.heap.ctimeout.take() {
        let _ = ctx.alarm_remove(id);
    }
}

fn connect_success<U: 'static>(cfg: &Config<U>, ctx: C<U>) {
    cancel_timeout(ctx);
    // Taken out of the arguments: Connected sees undef in its place, as
    // documented (the socket lives in the wheel from here on).
    let Some(mut socket) = ctx.take_arg(0).take_local::<Socket>() else {
        return;
    };
    if let Some(pre) = &cfg.pre_connect {
        match pre(ctx, socket) {
            Some(s) => socket = s,
            None => {
                ctx.heap.connected = false;
                return;
            }
        }
    }
    let b = ReadWrite::builder(socket)
        .filter_boxed(make_filter(cfg.filter.as_ref()))
        .input_event("got_server_input")
        .error_event("got_server_error")
        .flushed_event("got_server_flush");
    let b = with_marks(b, (cfg.high_mark, cfg.low_mark), "got_high", "got_low");
    match b.build(ctx) {
        Ok(w) => ctx.heap.server = ServerWheel::Connected(w),
        Err(e) => {
            log::error!(target: "poe::components", "Client {}: {e}", ctx.session());
            return;
        }
    }
    ctx.heap.connected = true;
    run(&cfg.connected, ctx);
}

fn connect_error<U: 'static>(cfg: &Config<U>, ctx: C<U>) {
    cancel_timeout(ctx);
    ctx.heap.connected = false;
    report_connect_error(cfg, ctx);
}

/// `got_connect_timeout`: ConnectTimeout passed with the connect pending.
fn connect_timeout<U: 'static>(cfg: &Config<U>, ctx: C<U>) {
    ctx.heap.ctimeout = None;
    ctx.heap.connected = false;
    ctx.heap.server = ServerWheel::None; // abandon the connect
    let mut args = Args::new();
    args.push(Value::from("connect"));
    args.push(Value::from(libc::ETIMEDOUT));
    args.push(Value::from(errno_text(libc::ETIMEDOUT)));
    *ctx.args = args;
    report_connect_error(cfg, ctx);
}

/// Run ConnectError (or log), drop the wheel, and shut down unless the
/// callback arranged a retry (POE's docs promise that; its code leaves an
/// aliased client lingering instead).
fn report_connect_error<U: 'static>(cfg: &Config<U>, ctx: C<U>) {
    match &cfg.connect_error {
        Some(cb) => {
            cb(ctx);
        }
        None => {
            // Connect failures only (a SocketFactory FailureEvent or the
            // timeout): never the quiet end of a read.
            log::warn!(target: "poe::components", "Client {} got {} error {} ({})", ctx.session(), ctx.arg(0), ctx.arg(1), ctx.arg(2));
        }
    }
    if matches!(ctx.heap.server, ServerWheel::Connecting(_)) {
        ctx.heap.server = ServerWheel::None;
    }
    let me = ctx.session();
    let waiting = ctx
        .session_info(me)
        .is_some_and(|i| i.pending_events + i.pending_alarms > 0);
    if !waiting {
        if let Some(a) = &cfg.alias {
            let _ = ctx.alias_remove(a);
        }
    }
}

fn server_error<U: 'static>(cfg: &Config<U>, ctx: C<U>) {
    match &cfg.server_error {
        Some(cb) => {
            cb(ctx);
        }
        None => {
            let errno = ctx.arg(1).as_i64().unwrap_or(0);
            let text = if errno == 0 {
                "Normal disconnection".to_owned()
            } else {
                ctx.arg(2).to_string()
            };
            let level = if errno == 0 {
                log::Level::Info
            } else {
                log::Level::Warn
            };
            log::log!(target: "poe::components", level, "Client {} got {} error {errno} ({text})", ctx.session(), ctx.arg(0));
            if !ctx.heap.shutdown_on_error {
                ctx.yield_("shutdown", ());
            }
        }
    }
    if ctx.heap.shutdown_on_error {
        ctx.heap.got_an_error = true;
        ctx.yield_("shutdown", ());
    }
}

/// `shutdown`: stop reading; disconnect once the output is flushed (at
/// once if nothing is buffered, or after an error); abort a connect in
/// progress; drop the alias.
fn shutdown<U: 'static>(cfg: &Config<U>, ctx: C<U>) {
    ctx.heap.shutdown = true;
    cancel_timeout(ctx);
    if ctx.heap.connected {
        ctx.heap.connected = false;
        let flushed = ctx
            .heap
            .server
            .read_write()
            .is_none_or(|w| w.get_driver_out_octets() == 0);
        if ctx.heap.got_an_error || flushed {
            ctx.heap.server = ServerWheel::None;
            run(&cfg.disconnected, ctx);
        }
    } else {
        ctx.heap.server = ServerWheel::None;
    }
    if let Some(a) = &cfg.alias {
        let _ = ctx.alias_remove(a);
    }
}
