//! [`Client`]: POE::Component::Client::TCP — one session that connects,
//! talks through a ReadWrite, and reconnects on request.

mod session;

pub use session::{ClientHeap, ServerWheel};

use super::{callback, input_state, Callback, ComponentError, Domain, FilterSpec};
use poe_kernel::{Ctx, EventName, IntoArgs, Kernel, SessionId, SessionOptions, Value};
use poe_wheels::socket_factory::{Address, Port};
use socket2::Socket;
use std::rc::Rc;

/// POE::Component::Client::TCP. Start one with [`Client::builder`].
///
/// The session handles three public events: `connect` (optionally with a
/// new address and port, as text or numbers; undef keeps the current
/// one), `reconnect`, and `shutdown` (flush, then disconnect).
///
/// ```no_run
/// use poe_components::tcp::Client;
/// use poe_kernel::Kernel;
///
/// let kernel = Kernel::new().unwrap();
/// Client::builder::<()>("127.0.0.1", 80u16)
///     .connected(|ctx| {
///         ctx.heap.server.put("HEAD / HTTP/1.0\r\n").unwrap();
///     })
///     .server_input(|ctx| println!("from server: {}", ctx.arg(0)))
///     .spawn(&kernel)
///     .unwrap();
/// kernel.run();
/// ```
pub struct Client;

impl Client {
    /// Start configuring a client for `remote_address:remote_port` whose
    /// session keeps a `U` beside the reserved heap members.
    pub fn builder<U: Default + 'static>(
        remote_address: impl Into<Address>,
        remote_port: impl Into<Port>,
    ) -> ClientBuilder<U> {
        ClientBuilder {
            cfg: Config {
                remote_address: remote_address.into(),
                remote_port: remote_port.into(),
                bind_address: None,
                bind_port: None,
                domain: Domain::Inet,
                alias: None,
                connect_timeout: None,
                args: Vec::new(),
                make_heap: Rc::new(U::default),
                started: None,
                pre_connect: None,
                connected: None,
                connect_error: None,
                disconnected: None,
                server_input: None,
                server_error: None,
                server_flushed: None,
                server_high: None,
                server_low: None,
                filter: None,
                high_mark: None,
                low_mark: None,
                states: Vec::new(),
                options: SessionOptions::default(),
            },
        }
    }
}

/// PreConnect: gets the connected socket; returns the socket to use, or
/// `None` to drop the connection.
pub(crate) type PreConnect<U> = Rc<dyn Fn(&mut Ctx<'_, ClientHeap<U>>, Socket) -> Option<Socket>>;

pub(crate) struct Config<U: 'static> {
    pub remote_address: Address,
    pub remote_port: Port,
    pub bind_address: Option<Address>,
    pub bind_port: Option<Port>,
    pub domain: Domain,
    pub alias: Option<String>,
    pub connect_timeout: Option<f64>,
    pub args: Vec<Value>,
    pub make_heap: Rc<dyn Fn() -> U>,
    pub started: Option<Callback<ClientHeap<U>>>,
    pub pre_connect: Option<PreConnect<U>>,
    pub connected: Option<Callback<ClientHeap<U>>>,
    pub connect_error: Option<Callback<ClientHeap<U>>>,
    pub disconnected: Option<Callback<ClientHeap<U>>>,
    /// The input state's handler (ServerInput behind the shutdown check).
    pub server_input: Option<Callback<ClientHeap<U>>>,
    pub server_error: Option<Callback<ClientHeap<U>>>,
    pub server_flushed: Option<Callback<ClientHeap<U>>>,
    pub server_high: Option<Callback<ClientHeap<U>>>,
    pub server_low: Option<Callback<ClientHeap<U>>>,
    pub filter: Option<FilterSpec>,
    pub high_mark: Option<usize>,
    pub low_mark: Option<usize>,
    pub states: Vec<(EventName, Callback<ClientHeap<U>>)>,
    pub options: SessionOptions,
}

/// Configures a [`Client`]; the setters are POE's parameter names.
#[must_use]
pub struct ClientBuilder<U: 'static> {
    cfg: Config<U>,
}

macro_rules! client_callback {
    ($(#[$doc:meta])* $name:ident => $field:ident) => {
        $(#[$doc])*
        pub fn $name<R: Into<Value>>(mut self, f: impl Fn(&mut Ctx<'_, ClientHeap<U>>) -> R + 'static) -> Self {
            self.cfg.$field = Some(callback(f));
            self
        }
    };
}

impl<U: 'static> ClientBuilder<U> {
    /// `BindAddress`: the local address to connect from.
    pub fn bind_address(mut self, a: impl Into<Address>) -> Self {
        self.cfg.bind_address = Some(a.into());
        self
    }

    /// `BindPort`: the local port to connect from.
    pub fn bind_port(mut self, p: impl Into<Port>) -> Self {
        self.cfg.bind_port = Some(p.into());
        self
    }

    /// `Domain`: Inet (default), Inet6 or Unix.
    pub fn domain(mut self, d: Domain) -> Self {
        self.cfg.domain = d;
        self
    }

    /// `Alias` of the client session.
    pub fn alias(mut self, a: impl Into<String>) -> Self {
        self.cfg.alias = Some(a.into());
        self
    }

    /// `ConnectTimeout`, in seconds: a connect still pending then fails
    /// with ConnectError `("connect", ETIMEDOUT, ...)`. Measured precisely
    /// (POE rounds the start time down to a whole second).
    pub fn connect_timeout(mut self, secs: f64) -> Self {
        self.cfg.connect_timeout = Some(secs);
        self
    }

    /// `Args`: the arguments of `Started`.
    pub fn args(mut self, args: impl IntoArgs) -> Self {
        self.cfg.args = args.into_args().into_vec();
        self
    }

    /// The session's own data, made by `make` (default: `U::default()`).
    pub fn heap(mut self, make: impl Fn() -> U + 'static) -> Self {
        self.cfg.make_heap = Rc::new(make);
        self
    }

    client_callback!(
        /// `Started`: runs at the end of the session's `_start`, with
        /// `Args` as its arguments.
        started => started
    );

    client_callback!(
        /// `Connected`: the ReadWrite exists; arguments `(socket,
        /// peer_address, peer_port, wheel_id)` (the socket is already in the
        /// wheel: the first argument is undef).
        connected => connected
    );

    client_callback!(
        /// `ConnectError`: `(operation, errno, message, wheel_id)`, a
        /// timeout as `("connect", ETIMEDOUT, ...)`. Reconnect from here
        /// (`ctx.delay("reconnect", ...)`) to try again; otherwise the
        /// client shuts down. The default logs the error.
        connect_error => connect_error
    );

    client_callback!(
        /// `Disconnected`: the connection closed. Reconnect from here to
        /// keep going; otherwise the client ends.
        disconnected => disconnected
    );

    /// `ServerInput` (required): each record, `(record, wheel_id)`; not
    /// called once shutting down.
    pub fn server_input<R: Into<Value>>(
        mut self,
        f: impl Fn(&mut Ctx<'_, ClientHeap<U>>) -> R + 'static,
    ) -> Self {
        self.cfg.server_input = Some(input_state(|h: &ClientHeap<U>| h.shutdown, f));
        self
    }

    client_callback!(
        /// `ServerError`: ReadWrite's ErrorEvent. The default logs it (end
        /// of file as "Normal disconnection") and shuts down.
        server_error => server_error
    );

    client_callback!(
        /// `ServerFlushed`: all output so far has been written.
        server_flushed => server_flushed
    );

    client_callback!(
        /// `ServerHigh`: output buffered past `HighMark`.
        server_high => server_high
    );

    client_callback!(
        /// `ServerLow`: output back down to `LowMark`.
        server_low => server_low
    );

    /// `PreConnect`: return the socket to use (for example wrapped for
    /// TLS), or `None` to drop the connection.
    pub fn pre_connect(
        mut self,
        f: impl Fn(&mut Ctx<'_, ClientHeap<U>>, Socket) -> Option<Socket> + 'static,
    ) -> Self {
        self.cfg.pre_connect = Some(Rc::new(f));
        self
    }

    /// `Filter` (default: Line), made fresh for each connection.
    pub fn filter(mut self, f: FilterSpec) -> Self {
        self.cfg.filter = Some(f);
        self
    }

    /// `HighMark` (with `LowMark`, `ServerHigh`, `ServerLow`: all or none).
    pub fn high_mark(mut self, n: usize) -> Self {
        self.cfg.high_mark = Some(n);
        self
    }

    /// `LowMark` (see `HighMark`).
    pub fn low_mark(mut self, n: usize) -> Self {
        self.cfg.low_mark = Some(n);
        self
    }

    /// `InlineStates`: an extra state of the client session; it may replace
    /// a built-in one.
    pub fn inline_state<R: Into<Value>>(
        mut self,
        name: impl Into<EventName>,
        f: impl Fn(&mut Ctx<'_, ClientHeap<U>>) -> R + 'static,
    ) -> Self {
        self.cfg.states.push((name.into(), callback(f)));
        self
    }

    /// `ObjectStates`: a method of a shared object as a state.
    pub fn object_state<O: 'static, R: Into<Value> + 'static>(
        self,
        name: impl Into<EventName>,
        object: &Rc<O>,
        method: fn(&O, &mut Ctx<'_, ClientHeap<U>>) -> R,
    ) -> Self {
        let object = object.clone();
        self.inline_state(name, move |ctx| method(&object, ctx))
    }

    /// `SessionParams => [options => {...}]`.
    pub fn session_options(mut self, o: SessionOptions) -> Self {
        self.cfg.options = o;
        self
    }

    fn check(&self) -> Result<(), ComponentError> {
        let c = &self.cfg;
        if c.server_input.is_none() {
            return Err(ComponentError::Missing("ServerInput"));
        }
        super::all_or_none(
            [
                c.high_mark.is_some(),
                c.low_mark.is_some(),
                c.server_high.is_some(),
                c.server_low.is_some(),
            ],
            "HighMark, LowMark, ServerHigh and ServerLow must be given together",
        )
    }

    /// Start the client session (POE's `new`); it connects asynchronously.
    /// Returns the session's ID.
    pub fn spawn(self, kernel: &Kernel) -> Result<SessionId, ComponentError> {
        self.check()?;
        Ok(kernel.create(session::session(self.cfg))?.id)
    }
}
