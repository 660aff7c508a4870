//! IKC::Client: connect to an IKC server, then run one channel session.

use super::channel::{self, Channel, ChannelConfig};
use super::negotiation::STORABLE;
use super::responder::{self, IKC_ALIAS};
use super::settings::{common_setters, Settings};
use crate::tcp::ComponentError;
use poe_kernel::{Ctx, Kernel, Session, SessionId, Value};
use poe_wheels::socket_factory::SocketDomain;
use poe_wheels::SocketFactory;
use std::path::PathBuf;
use std::rc::Rc;

/// Perl's default IKC::Client port: 903, not the 603 its
/// [`Server`](super::Server) (and ClientLite) default to — a Perl quirk
/// kept for compatibility, so give both sides a port.
///
/// ```
/// use poe_components::ikc::{DEFAULT_CLIENT_PORT, DEFAULT_SERVER_PORT};
/// assert_eq!((DEFAULT_CLIENT_PORT, DEFAULT_SERVER_PORT), (903, 603));
/// ```
pub const DEFAULT_CLIENT_PORT: u16 = 903;

/// POE::Component::IKC::Client: connects to an IKC server and, once the
/// channel is negotiated (and `subscribe` done), calls `on_connect`.
///
/// ```no_run
/// use poe_components::ikc::Client;
/// use poe_kernel::Kernel;
/// let kernel = Kernel::new().unwrap();
/// Client::builder()
///     .ip("127.0.0.1")
///     .port(6030)
///     .name("boss")
///     .on_connect(|ctx| {
///         ctx.post("IKC", "post", ("poe://worker/jobs/run", 42)).unwrap();
///     })
///     .spawn(&kernel)
///     .unwrap();
/// kernel.run();
/// ```
pub struct Client;

impl Client {
    /// Start configuring a client (Perl's defaults: `localhost`, port 903,
    /// name `Client<pid>`).
    pub fn builder() -> ClientBuilder {
        ClientBuilder {
            ip: "localhost".to_owned(),
            port: DEFAULT_CLIENT_PORT,
            unix: None,
            connect_timeout: None,
            subscribe: Vec::new(),
            serializers: vec![STORABLE.to_owned()],
            on_connect: None,
            settings: Settings {
                name: Some(format!("Client{}", std::process::id())),
                ..Settings::default()
            },
        }
    }
}

/// Configures a [`Client`]; the setters are Perl's parameter names.
#[must_use]
pub struct ClientBuilder {
    ip: String,
    port: u16,
    unix: Option<PathBuf>,
    connect_timeout: Option<f64>,
    subscribe: Vec<String>,
    serializers: Vec<String>,
    on_connect: Option<channel::ConnectCallback>,
    settings: Settings,
}

impl ClientBuilder {
    /// `ip`: the server's address or host name (default `localhost`).
    pub fn ip(mut self, ip: impl Into<String>) -> Self {
        self.ip = ip.into();
        self
    }

    /// `port` (default 903).
    pub fn port(mut self, port: u16) -> Self {
        self.port = port;
        self
    }

    /// `unix`: connect to a UNIX-domain socket instead.
    pub fn unix(mut self, path: impl Into<PathBuf>) -> Self {
        self.unix = Some(path.into());
        self
    }

    /// Give up connecting after `secs` (`on_error` hears `connect`,
    /// ETIMEDOUT). Perl's IKC::Client has no such parameter.
    pub fn connect_timeout(mut self, secs: f64) -> Self {
        self.connect_timeout = Some(secs);
        self
    }

    /// `subscribe`: remote sessions (`poe://KERNEL/SESSION`) to subscribe
    /// to before `on_connect` runs; if any is refused, `on_error` hears
    /// `subscribe` and the channel closes. (Broken in Perl 0.2400-0.2402.)
    pub fn subscribe<I, S>(mut self, specs: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        self.subscribe = specs.into_iter().map(Into::into).collect();
        self
    }

    /// `serializers`: what to offer. Only `Storable` is spoken, so the
    /// list must contain it (others are ignored: Perl's Data::Dumper
    /// freezer runs received code).
    pub fn serializers<I, S>(mut self, names: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        self.serializers = names.into_iter().map(Into::into).collect();
        self
    }

    /// `on_connect`: called in the channel session once it is ready;
    /// `ctx.session()` is the channel (post it `shutdown` to close).
    pub fn on_connect(mut self, f: impl Fn(&mut Ctx<'_, Channel>) + 'static) -> Self {
        self.on_connect = Some(Rc::new(f));
        self
    }

    common_setters!(settings);

    /// Start connecting (and the `IKC` Responder, if it is not running).
    /// Returns the connecting session, whose child the channel becomes.
    pub fn spawn(self, kernel: &Kernel) -> Result<SessionId, ComponentError> {
        if !self.serializers.iter().any(|s| s == STORABLE) {
            return Err(ComponentError::Conflict(
                "serializers must include Storable, the only one spoken",
            ));
        }
        let reg = responder::spawn(kernel)?;
        let local = Value::list(self.settings.local_names().into_iter().map(Value::from));
        kernel.call(IKC_ALIAS, "register_local", (local,))?;
        let mut cfg: ChannelConfig = self.settings.channel_config(reg, false);
        cfg.on_connect = self.on_connect.clone();
        cfg.subscribe = self.subscribe.clone();
        let connector = Connector {
            cfg: Rc::new(cfg),
            ip: self.ip,
            port: self.port,
            unix: self.unix,
            timeout: self.connect_timeout,
            factory: None,
        };
        Ok(kernel.create(connect_session(connector))?.id)
    }
}

struct Connector {
    cfg: Rc<ChannelConfig>,
    ip: String,
    port: u16,
    unix: Option<PathBuf>,
    timeout: Option<f64>,
    factory: Option<SocketFactory>,
}

impl Connector {
    /// The alias the server gets on our side besides its own names: the
    /// address as given (`localhost:903`), as Perl's temp_remote_kernel.
    fn server_alias(&self) -> String {
        match &self.unix {
            Some(path) => format!("unix:{}", path.display()),
            None => format!("{}:{}", self.ip, self.port),
        }
    }

    fn report(&self, op: &str, errno: i32, message: &str) {
        log::debug!(target: "poe::ikc", "IKC client: {op} error {errno}: {message}");
        if let Some(cb) = &self.cfg.settings.on_error {
            cb(op, errno, message);
        }
    }
}

/// The session that connects, then hands the socket to a channel.
fn connect_session(connector: Connector) -> Session<Connector> {
    Session::new(connector)
        .state("_start", |ctx| {
            let mut sf = SocketFactory::builder()
                .success_event("ikc_connected")
                .failure_event("ikc_connect_failed");
            sf = match ctx.heap.unix.clone() {
                Some(path) => sf
                    .socket_domain(SocketDomain::Unix)
                    .remote_address(path.as_path()),
                None => sf
                    .remote_address(ctx.heap.ip.as_str())
                    .remote_port(ctx.heap.port),
            };
            match sf.build(ctx) {
                Ok(w) => ctx.heap.factory = Some(w),
                Err(e) => {
                    ctx.heap.report("connect", 0, &e.to_string());
                    return;
                }
            }
            if let Some(secs) = ctx.heap.timeout {
                let _ = ctx.delay("ikc_connect_timeout", secs, ());
            }
        })
        .state("ikc_connected", |ctx| {
            ctx.heap.factory = None;
            let _ = ctx.alarm_remove_all();
            let Some(socket) = ctx.arg(0).take_local::<socket2::Socket>() else {
                return;
            };
            let temp = ctx.heap.server_alias();
            let channel = channel::session(
                ctx.heap.cfg.clone(),
                socket,
                Some(temp),
                ctx.heap.unix.clone(),
                None,
            );
            if let Err(e) = ctx.create(channel) {
                ctx.heap.report("connect", 0, &e.to_string());
            }
        })
        .state("ikc_connect_failed", |ctx| {
            ctx.heap.factory = None;
            let _ = ctx.alarm_remove_all();
            let op = ctx.arg(0).to_string();
            let errno = ctx.arg(1).as_i64().unwrap_or(0) as i32;
            let message = ctx.arg(2).to_string();
            ctx.heap.report(&op, errno, &message);
        })
        .state("ikc_connect_timeout", |ctx| {
            if ctx.heap.factory.take().is_some() {
                let message = poe_wheels::errno_text(libc::ETIMEDOUT);
                ctx.heap.report("connect", libc::ETIMEDOUT, &message);
            }
        })
        .state("_child", |_| ())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn connector(b: ClientBuilder) -> Connector {
        Connector {
            cfg: Rc::new(b.settings.channel_config(
                Rc::new(std::cell::RefCell::new(responder::Registry::new(
                    "k".into(),
                    SessionId::KERNEL,
                ))),
                false,
            )),
            ip: b.ip,
            port: b.port,
            unix: b.unix,
            timeout: b.connect_timeout,
            factory: None,
        }
    }

    #[test]
    fn the_defaults_are_perls_localhost_903_and_client_pid() {
        let b = Client::builder();
        assert_eq!(b.serializers, [STORABLE]);
        assert!(b.subscribe.is_empty() && b.connect_timeout.is_none());
        let name = format!("Client{}", std::process::id());
        assert_eq!(b.settings.local_names(), std::slice::from_ref(&name));
        let c = connector(b);
        assert_eq!((c.ip.as_str(), c.port), ("localhost", 903));
        assert_eq!(c.server_alias(), "localhost:903");
        assert_eq!(c.cfg.settings.name.as_deref(), Some(name.as_str()));
        assert!(!c.cfg.server);
        assert_eq!(
            c.cfg.settings.protocol,
            super::super::negotiation::Protocol::Ikc0
        );
        assert_eq!(c.cfg.settings.max_frame, super::super::DEFAULT_MAX_FRAME);
        assert_eq!(
            c.cfg.settings.negotiation_timeout,
            super::super::DEFAULT_NEGOTIATION_TIMEOUT
        );
    }

    #[test]
    fn the_server_alias_is_the_address_as_given() {
        let c = connector(Client::builder().ip("10.1.2.3").port(6030).name("boss"));
        assert_eq!(c.server_alias(), "10.1.2.3:6030");
        assert_eq!(c.cfg.settings.name.as_deref(), Some("boss"));
        let c = connector(Client::builder().unix("/run/ikc.sock"));
        assert_eq!(c.server_alias(), "unix:/run/ikc.sock");
    }
}
