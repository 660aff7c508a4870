//! [`ClientLiteBuilder`]: Perl's `create_ikc_client` parameters.

use super::{ClientLite, Config, Endpoint, LiteError};
use crate::ikc::negotiation::{is_iam_name, Limits, Protocol};
use std::collections::VecDeque;
use std::path::PathBuf;
use std::time::Duration;

/// ClientLite's port when none is given (Perl's; IKC::Client's is 903):
/// IKC::Server's, [`DEFAULT_SERVER_PORT`](crate::ikc::DEFAULT_SERVER_PORT).
pub const DEFAULT_PORT: u16 = crate::ikc::DEFAULT_SERVER_PORT;

/// How long a call waits for its reply, and a connection for its
/// negotiation, when not told otherwise (Perl's 30 s).
pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(30);

/// The longest negotiation line accepted by default: a SETUP line with a
/// few names is under 200 octets.
pub const DEFAULT_MAX_LINE: usize = 64 * 1024;

/// How many unclaimed messages (and, separately, error reports) are kept
/// by default before the oldest are dropped.
pub const DEFAULT_KEEP: usize = 1024;

/// Parameters of [`ClientLite`], with Perl's names and defaults.
///
/// ```
/// use poe_components::ikc::lite::{ClientLite, LiteError};
/// use std::time::Duration;
///
/// // Nothing listens on port 1 of 127.0.0.1: the connection is refused.
/// let err = ClientLite::builder()
///     .host("127.0.0.1")
///     .port(1)
///     .connect_timeout(Duration::from_secs(2))
///     .connect()
///     .unwrap_err();
/// assert!(matches!(err, LiteError::Connect { .. }), "{err}");
///
/// let err = ClientLite::builder().name("no spaces").connect().unwrap_err();
/// assert!(matches!(err, LiteError::Config(_)));
/// ```
#[derive(Clone, Debug)]
#[must_use]
pub struct ClientLiteBuilder {
    host: String,
    port: u16,
    unix: Option<PathBuf>,
    name: Option<String>,
    timeout: Duration,
    connect_timeout: Option<Duration>,
    protocol: Protocol,
    max_frame: usize,
    max_line: usize,
    limits: Limits,
    keep: usize,
}

impl Default for ClientLiteBuilder {
    fn default() -> Self {
        ClientLiteBuilder {
            host: "localhost".to_owned(),
            port: DEFAULT_PORT,
            unix: None,
            name: None,
            timeout: DEFAULT_TIMEOUT,
            connect_timeout: None,
            protocol: Protocol::Ikc0,
            max_frame: crate::ikc::DEFAULT_MAX_FRAME,
            max_line: DEFAULT_MAX_LINE,
            limits: Limits::default(),
            keep: DEFAULT_KEEP,
        }
    }
}

impl ClientLiteBuilder {
    /// `ip`: the server's host name or address (default `localhost`).
    pub fn host(mut self, host: impl Into<String>) -> Self {
        self.host = host.into();
        self
    }

    /// `port` (default 603).
    pub fn port(mut self, port: u16) -> Self {
        self.port = port;
        self
    }

    /// `unix`: connect to a Unix-domain socket instead of TCP.
    pub fn unix(mut self, path: impl Into<PathBuf>) -> Self {
        self.unix = Some(path.into());
        self
    }

    /// `name`: the kernel name announced, and where replies are addressed
    /// (default `Client<pid>`). Characters: letters, digits, `_ - . :`.
    /// It must be unique among the server's peers (§3.1).
    pub fn name(mut self, name: impl Into<String>) -> Self {
        self.name = Some(name.into());
        self
    }

    /// `timeout`: how long a call waits for its reply (default 30 s).
    pub fn timeout(mut self, timeout: Duration) -> Self {
        self.timeout = timeout;
        self
    }

    /// `connect_timeout`: how long connecting plus negotiating may take
    /// (default: `timeout`).
    pub fn connect_timeout(mut self, timeout: Duration) -> Self {
        self.connect_timeout = Some(timeout);
        self
    }

    /// `protocol`: [`Protocol::Ikc0`] (SETUP, falling back to HELLO when
    /// the server answers `NOT`; the default) or [`Protocol::Ikc`] (HELLO).
    pub fn protocol(mut self, protocol: Protocol) -> Self {
        self.protocol = protocol;
        self
    }

    /// The largest frame payload accepted, in octets (default 16 MiB). A
    /// bigger one is refused as soon as its length arrives.
    pub fn max_frame(mut self, octets: usize) -> Self {
        self.max_frame = octets;
        self
    }

    /// The longest negotiation line accepted, in octets (default 64 KiB).
    pub fn max_line(mut self, octets: usize) -> Self {
        self.max_line = octets;
        self
    }

    /// Bounds on the negotiation's length (lines, refusals).
    pub fn limits(mut self, limits: Limits) -> Self {
        self.limits = limits;
        self
    }

    /// How many unclaimed messages, and error reports, to keep (default
    /// 1024 each); beyond, the oldest are dropped.
    pub fn keep(mut self, messages: usize) -> Self {
        self.keep = messages;
        self
    }

    /// Check the parameters, connect and negotiate (Perl's ClientLite
    /// connects at once too).
    pub fn connect(self) -> Result<ClientLite, LiteError> {
        let config = self.config()?;
        let mut client = ClientLite {
            config,
            conn: None,
            remote: None,
            requests: 0,
            messages: VecDeque::new(),
            errors: VecDeque::new(),
        };
        client.open()?;
        Ok(client)
    }

    pub(super) fn config(self) -> Result<Config, LiteError> {
        let bad = |what: String| Err(LiteError::Config(what));
        let name = self
            .name
            .unwrap_or_else(|| format!("Client{}", std::process::id()));
        // What the HELLO dialogue accepts in IAM; it also keeps the SETUP
        // separators `,` `;` and spaces out of the name.
        if !is_iam_name(&name) {
            return bad(format!(
                "name {name:?}: use letters, digits and _ - . : only"
            ));
        }
        let connect_timeout = self.connect_timeout.unwrap_or(self.timeout);
        if self.timeout.is_zero() || connect_timeout.is_zero() {
            return bad("timeouts must be longer than zero".to_owned());
        }
        if self.max_frame == 0 || self.max_line == 0 {
            return bad("max_frame and max_line must be at least 1".to_owned());
        }
        let endpoint = match self.unix {
            Some(path) => Endpoint::Unix(path),
            None if self.host.is_empty() => return bad("empty host".to_owned()),
            None => Endpoint::Tcp {
                host: self.host,
                port: self.port,
            },
        };
        Ok(Config {
            endpoint,
            name,
            timeout: self.timeout,
            connect_timeout,
            protocol: self.protocol,
            max_frame: self.max_frame,
            max_line: self.max_line,
            limits: self.limits,
            keep: self.keep,
        })
    }
}
