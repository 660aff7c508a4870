//! [`Server`]: POE::Component::Server::TCP — a listening session that
//! starts one session per connection.

mod connection;
mod listener;

pub use connection::{ClientWheel, Connection};
pub use listener::Listener;

use super::{callback, input_state, Callback, ComponentError, Domain, FilterSpec};
use poe_kernel::{Ctx, EventName, IntoArgs, Kernel, SessionId, SessionOptions, Value};
use poe_wheels::socket_factory::Address;
use socket2::Socket;
use std::net::SocketAddr;
use std::rc::Rc;

/// POE::Component::Server::TCP. Start one with [`Server::builder`].
///
/// ```no_run
/// use poe_components::tcp::Server;
/// use poe_kernel::Kernel;
///
/// let kernel = Kernel::new().unwrap();
/// // The rot13 server of POE's documentation.
/// let server = Server::builder::<()>()
///     .port(12345)
///     .client_connected(|ctx| {
///         println!("got a connection from {}", ctx.heap.remote_ip);
///         ctx.heap.client.put("Smile from the server!").unwrap();
///     })
///     .client_input(|ctx| {
///         let rot13: String = ctx.arg(0).to_string().chars().map(|c| match c {
///             'a'..='m' | 'A'..='M' => (c as u8 + 13) as char,
///             'n'..='z' | 'N'..='Z' => (c as u8 - 13) as char,
///             c => c,
///         }).collect();
///         ctx.heap.client.put(rot13).unwrap();
///     })
///     .spawn(&kernel)
///     .unwrap();
/// println!("listening on port {}", server.port());
/// kernel.run();
/// ```
pub struct Server;

impl Server {
    /// Start configuring a server whose connection sessions keep a `U`
    /// (made with `U::default()`, or [`ServerBuilder::client_heap`]) beside
    /// the reserved heap members.
    pub fn builder<U: Default + 'static>() -> ServerBuilder<U> {
        ServerBuilder {
            port: 0,
            address: None,
            hostname: None,
            domain: Domain::Inet,
            alias: None,
            concurrency: -1,
            acceptor: None,
            error: None,
            started: None,
            stopped: None,
            listener_args: Vec::new(),
            client: ClientConfig {
                make_heap: Rc::new(U::default),
                input: None,
                connected: None,
                disconnected: None,
                error: None,
                flushed: None,
                high: None,
                low: None,
                pre_connect: None,
                filter: None,
                input_filter: None,
                output_filter: None,
                args: Vec::new(),
                shutdown_on_error: true,
                high_mark: None,
                low_mark: None,
                states: Vec::new(),
                options: SessionOptions::default(),
            },
        }
    }
}

/// ClientPreConnect: gets the accepted socket, returns the socket to use
/// (for example wrapped in TLS), or `None` to refuse the client.
pub(crate) type PreConnect<U> = Rc<dyn Fn(&mut Ctx<'_, Connection<U>>, Socket) -> Option<Socket>>;

/// Everything a connection session needs, shared by all of them.
pub(crate) struct ClientConfig<U: 'static> {
    pub make_heap: Rc<dyn Fn() -> U>,
    /// The input state's handler (ClientInput behind the shutdown check).
    pub input: Option<Callback<Connection<U>>>,
    pub connected: Option<Callback<Connection<U>>>,
    pub disconnected: Option<Callback<Connection<U>>>,
    pub error: Option<Callback<Connection<U>>>,
    pub flushed: Option<Callback<Connection<U>>>,
    pub high: Option<Callback<Connection<U>>>,
    pub low: Option<Callback<Connection<U>>>,
    pub pre_connect: Option<PreConnect<U>>,
    pub filter: Option<FilterSpec>,
    pub input_filter: Option<FilterSpec>,
    pub output_filter: Option<FilterSpec>,
    pub args: Vec<Value>,
    pub shutdown_on_error: bool,
    pub high_mark: Option<usize>,
    pub low_mark: Option<usize>,
    pub states: Vec<(EventName, Callback<Connection<U>>)>,
    pub options: SessionOptions,
}

/// Configures a [`Server`]; the setters are POE's parameter names.
#[must_use]
pub struct ServerBuilder<U: 'static> {
    pub(crate) port: u16,
    pub(crate) address: Option<Address>,
    pub(crate) hostname: Option<String>,
    pub(crate) domain: Domain,
    pub(crate) alias: Option<String>,
    pub(crate) concurrency: i64,
    pub(crate) acceptor: Option<Callback<Listener>>,
    pub(crate) error: Option<Callback<Listener>>,
    pub(crate) started: Option<Callback<Listener>>,
    pub(crate) stopped: Option<Callback<Listener>>,
    pub(crate) listener_args: Vec<Value>,
    pub(crate) client: ClientConfig<U>,
}

macro_rules! client_callback {
    ($(#[$doc:meta])* $name:ident => $field:ident) => {
        $(#[$doc])*
        pub fn $name<R: Into<Value>>(mut self, f: impl Fn(&mut Ctx<'_, Connection<U>>) -> R + 'static) -> Self {
            self.client.$field = Some(callback(f));
            self
        }
    };
}

macro_rules! listener_callback {
    ($(#[$doc:meta])* $name:ident => $field:ident) => {
        $(#[$doc])*
        pub fn $name<R: Into<Value>>(mut self, f: impl Fn(&mut Ctx<'_, Listener>) -> R + 'static) -> Self {
            self.$field = Some(callback(f));
            self
        }
    };
}

impl<U: 'static> ServerBuilder<U> {
    /// `Port`: 0 (the default) lets the system choose; read the real port
    /// from [`Listening::port`].
    pub fn port(mut self, port: u16) -> Self {
        self.port = port;
        self
    }

    /// `Address`: the interface to bind (default: every interface). For a
    /// UNIX-domain server, the socket's path.
    pub fn address(mut self, a: impl Into<Address>) -> Self {
        self.address = Some(a.into());
        self
    }

    /// `Hostname`: a name to resolve and bind, used when `Address` is not.
    pub fn hostname(mut self, h: impl Into<String>) -> Self {
        self.hostname = Some(h.into());
        self
    }

    /// `Domain`: Inet (default), Inet6, or Unix.
    pub fn domain(mut self, d: Domain) -> Self {
        self.domain = d;
        self
    }

    /// `Alias` of the listening session (post `shutdown` to it).
    pub fn alias(mut self, a: impl Into<String>) -> Self {
        self.alias = Some(a.into());
        self
    }

    /// `Concurrency`: how many connections at once; -1 (default) is no
    /// limit, 0 accepts none until `set_concurrency`.
    pub fn concurrency(mut self, n: i64) -> Self {
        self.concurrency = n;
        self
    }

    listener_callback!(
        /// `Acceptor`: handle each accepted socket yourself, in the
        /// listening session; arguments as SocketFactory's SuccessEvent
        /// `(socket, peer_address, peer_port, wheel_id)`. Excludes
        /// `ClientInput` and the other `Client*` settings. For Concurrency
        /// to work, post `disconnected` to the listener when a client ends.
        acceptor => acceptor
    );

    listener_callback!(
        /// `Error`: the listener's SocketFactory FailureEvent `(operation,
        /// errno, message, wheel_id)`. It only reports (the default logs):
        /// afterwards the listener applies its own rule, with or without
        /// this callback — it survives running out of descriptors or
        /// memory on accept (EMFILE, ENFILE, ENOBUFS, ENOMEM; the
        /// SocketFactory backs off and retries) and shuts down on any
        /// other error. To stop listening on a survivable error, post the
        /// listener `shutdown`. (POE's Error replaces the default handler,
        /// which shuts down on every error.)
        error => error
    );

    listener_callback!(
        /// `Started`: runs at the end of the listener's `_start`, with
        /// `ListenerArgs` as its arguments.
        started => started
    );

    listener_callback!(
        /// `Stopped`: runs in the listener's `_stop`.
        stopped => stopped
    );

    /// `ListenerArgs`: the arguments of `Started`.
    pub fn listener_args(mut self, args: impl IntoArgs) -> Self {
        self.listener_args = args.into_args().into_vec();
        self
    }

    /// The connection sessions' own data, made by `make` for each
    /// connection (default: `U::default()`).
    pub fn client_heap(mut self, make: impl Fn() -> U + 'static) -> Self {
        self.client.make_heap = Rc::new(make);
        self
    }

    /// `ClientInput` (required unless `Acceptor`): each input record,
    /// `(record, wheel_id)`. Not called once the connection is shutting
    /// down.
    pub fn client_input<R: Into<Value>>(
        mut self,
        f: impl Fn(&mut Ctx<'_, Connection<U>>) -> R + 'static,
    ) -> Self {
        self.client.input = Some(input_state(|c: &Connection<U>| c.shutdown, f));
        self
    }

    client_callback!(
        /// `ClientConnected`: the connection session is ready; arguments are
        /// `ClientArgs`.
        client_connected => connected
    );

    client_callback!(
        /// `ClientDisconnected`: the connection is closed (by either side).
        client_disconnected => disconnected
    );

    client_callback!(
        /// `ClientError`: ReadWrite's ErrorEvent `(operation, errno,
        /// message, wheel_id)`. The default logs it, quietly for a plain
        /// end of file or a reset.
        client_error => error
    );

    client_callback!(
        /// `ClientFlushed`: all output so far has been written.
        client_flushed => flushed
    );

    client_callback!(
        /// `ClientHigh`: output buffered past `HighMark`.
        client_high => high
    );

    client_callback!(
        /// `ClientLow`: output back down to `LowMark`.
        client_low => low
    );

    /// `ClientPreConnect`: before the ReadWrite exists (the heap's
    /// `remote_*` members are set), return the socket to use — for example
    /// wrapped for TLS — or `None` to refuse the client.
    pub fn client_pre_connect(
        mut self,
        f: impl Fn(&mut Ctx<'_, Connection<U>>, Socket) -> Option<Socket> + 'static,
    ) -> Self {
        self.client.pre_connect = Some(Rc::new(f));
        self
    }

    /// `ClientFilter` for both directions (default: Line). Ignored, with a
    /// warning, when `ClientInputFilter` and `ClientOutputFilter` are given.
    pub fn client_filter(mut self, f: FilterSpec) -> Self {
        self.client.filter = Some(f);
        self
    }

    /// `ClientInputFilter`; requires `ClientOutputFilter`.
    pub fn client_input_filter(mut self, f: FilterSpec) -> Self {
        self.client.input_filter = Some(f);
        self
    }

    /// `ClientOutputFilter`; requires `ClientInputFilter`.
    pub fn client_output_filter(mut self, f: FilterSpec) -> Self {
        self.client.output_filter = Some(f);
        self
    }

    /// `ClientArgs`: the arguments of `ClientConnected`.
    pub fn client_args(mut self, args: impl IntoArgs) -> Self {
        self.client.args = args.into_args().into_vec();
        self
    }

    /// `ClientShutdownOnError` (default true): shut a connection down
    /// after its first error.
    pub fn client_shutdown_on_error(mut self, yes: bool) -> Self {
        self.client.shutdown_on_error = yes;
        self
    }

    /// `HighMark` (with `LowMark`, `ClientHigh`, `ClientLow`: all or none).
    pub fn high_mark(mut self, n: usize) -> Self {
        self.client.high_mark = Some(n);
        self
    }

    /// `LowMark` (see `HighMark`).
    pub fn low_mark(mut self, n: usize) -> Self {
        self.client.low_mark = Some(n);
        self
    }

    /// `InlineStates`: an extra state of every connection session (not of
    /// the listener). It may replace a built-in one.
    pub fn inline_state<R: Into<Value>>(
        mut self,
        name: impl Into<EventName>,
        f: impl Fn(&mut Ctx<'_, Connection<U>>) -> R + 'static,
    ) -> Self {
        self.client.states.push((name.into(), callback(f)));
        self
    }

    /// `ObjectStates`: a method of a shared object as a state of every
    /// connection session.
    pub fn object_state<O: 'static, R: Into<Value> + 'static>(
        self,
        name: impl Into<EventName>,
        object: &Rc<O>,
        method: fn(&O, &mut Ctx<'_, Connection<U>>) -> R,
    ) -> Self {
        let object = object.clone();
        self.inline_state(name, move |ctx| method(&object, ctx))
    }

    /// `SessionParams => [options => {...}]` for the connection sessions.
    pub fn client_session_options(mut self, o: SessionOptions) -> Self {
        self.client.options = o;
        self
    }

    /// POE's croaks: exactly one of Acceptor and ClientInput; input and
    /// output filters together; all four watermark settings or none. With
    /// ClientFilter as well as both of those, POE only warns and ignores
    /// ClientFilter; so does this.
    fn check(&self) -> Result<(), ComponentError> {
        let c = &self.client;
        match (&self.acceptor, &c.input) {
            (None, None) => return Err(ComponentError::Missing("ClientInput (or Acceptor)")),
            (Some(_), Some(_)) => {
                return Err(ComponentError::Conflict(
                    "Acceptor and ClientInput exclude each other",
                ))
            }
            _ => {}
        }
        if c.input_filter.is_some() != c.output_filter.is_some() {
            return Err(ComponentError::Conflict(
                "ClientInputFilter and ClientOutputFilter must be given together",
            ));
        }
        super::all_or_none(
            [
                c.high_mark.is_some(),
                c.low_mark.is_some(),
                c.high.is_some(),
                c.low.is_some(),
            ],
            "HighMark, LowMark, ClientHigh and ClientLow must be given together",
        )?;
        if c.filter.is_some() && c.input_filter.is_some() {
            // POE carps and goes on without ClientFilter.
            log::warn!(target: "poe::components", "ClientFilter ignored with ClientInputFilter and ClientOutputFilter");
        }
        Ok(())
    }

    /// Start the listening session (POE's `new`). It becomes a child of the
    /// running session, if any. Returns its ID and bound address.
    pub fn spawn(self, kernel: &Kernel) -> Result<Listening, ComponentError> {
        self.check()?;
        let (session, addr) = listener::session(self);
        let id = kernel.create(session)?.id;
        Ok(Listening {
            id,
            addr: addr.get(),
        })
    }
}

/// A started server: the listening session and where it listens.
#[derive(Clone, Copy, Debug)]
pub struct Listening {
    /// The listening session (post `shutdown`, `set_concurrency` to it).
    pub id: SessionId,
    /// The bound address (`None` for UNIX sockets, or if binding failed).
    pub addr: Option<SocketAddr>,
}

impl Listening {
    /// The bound port (0 if not bound).
    pub fn port(&self) -> u16 {
        self.addr.map_or(0, |a| a.port())
    }
}
