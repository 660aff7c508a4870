//! ClientLite: a blocking IKC client for scripts and tools, no kernel
//! needed — Perl's POE::Component::IKC::ClientLite (ikc-protocol.md
//! §7.3), wire-compatible with Perl IKC servers and with ours.
//!
//! It speaks as Perl's does: the same `SETUP` line (or the HELLO
//! dialogue), the same request hashes (`from => {kernel, session =>
//! 'IKCLite'}`, `rsvp => {…, state => 'responseN'}`, a `wantarray` key on
//! calls), relative specifiers `S/T` sent as `poe://<server>/S/T`. Where
//! Perl's loses or misreads data (§7.3, §9 Q9) this one does not:
//!
//! * frames that arrive with or before the awaited reply are kept, for
//!   [`ClientLite::responded`] or [`ClientLite::take_messages`];
//! * an error report fails the pending call with its text
//!   ([`LiteError::Remote`]), not `ARRAY(0x…)`; one that belongs to
//!   another request is kept for [`ClientLite::take_errors`];
//! * [`ClientLite::ping`] works after an IKC0 negotiation too;
//! * frames are bounded (`max_frame`), negotiations too (`max_line`,
//!   [`Limits`]), and a malformed frame is an error, never a panic.

mod address;
mod builder;
mod error;
mod wire;

/// The builder's `protocol` and `limits` parameter types, for one `use`.
pub use super::negotiation::{Limits, Protocol};
pub use super::DEFAULT_MAX_FRAME;
pub use builder::{
    ClientLiteBuilder, DEFAULT_KEEP, DEFAULT_MAX_LINE, DEFAULT_PORT, DEFAULT_TIMEOUT,
};
pub use error::{LiteError, RemoteError};

use super::negotiation::{Names, Negotiated, Negotiation};
use super::{Request, Specifier};
use address::{check_spec, error_is_for, is_for};
use poe_kernel::Value;
use std::collections::VecDeque;
use std::fmt;
use std::path::PathBuf;
use std::time::{Duration, Instant};
use wire::{Fill, Stream};

/// The session name ClientLite uses in `from` and `rsvp` addresses: a
/// remote handler replies to `poe://<name>/IKCLite/<state>`.
pub const LITE_SESSION: &str = "IKCLite";

/// Where the server listens.
#[derive(Clone, Debug, PartialEq, Eq)]
enum Endpoint {
    Tcp { host: String, port: u16 },
    Unix(PathBuf),
}

impl fmt::Display for Endpoint {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Endpoint::Tcp { host, port } if host.contains(':') => write!(f, "[{host}]:{port}"),
            Endpoint::Tcp { host, port } => write!(f, "{host}:{port}"),
            Endpoint::Unix(path) => write!(f, "unix:{}", path.display()),
        }
    }
}

/// The builder's parameters, checked.
#[derive(Clone, Debug)]
struct Config {
    endpoint: Endpoint,
    name: String,
    timeout: Duration,
    connect_timeout: Duration,
    protocol: Protocol,
    max_frame: usize,
    max_line: usize,
    limits: Limits,
    keep: usize,
}

/// One negotiated connection: the socket and what was received but not
/// parsed yet.
#[derive(Debug)]
struct Conn {
    stream: Stream,
    buf: Vec<u8>,
}

/// What became of one received message while waiting.
enum Routed {
    /// The awaited message: its `params`.
    Reply(Value),
    /// An error report for the awaited request.
    Failed(RemoteError),
    /// Something else, queued.
    Kept,
}

/// A blocking IKC client (Perl's POE::Component::IKC::ClientLite).
///
/// ```no_run
/// use poe_components::ikc::lite::ClientLite;
/// use poe_kernel::Value;
/// use std::time::Duration;
///
/// let mut ikc = ClientLite::builder()
///     .host("127.0.0.1")
///     .port(603)
///     .name("tool")
///     .timeout(Duration::from_secs(5))
///     .connect()?;
/// ikc.post("echo/ping", "hello")?;                     // fire and forget
/// let sum = ikc.call("echo/add", Value::list([1, 2]))?; // wait for the return value
/// let items = ikc.call_list("echo/range", 4)?;          // list context
/// ikc.ping()?;
/// # Ok::<(), poe_components::ikc::lite::LiteError>(())
/// ```
///
/// Calls are sequential: one request is awaited at a time, each with its
/// own `responseN` state. A connection marked down (a timeout, a server
/// that closed it, [`disconnect`](Self::disconnect)) is reconnected, with
/// a full negotiation, by the next post or call.
///
/// A negotiation is only abandoned on `connect_timeout` or when the server
/// breaks the protocol: a Perl IKC 0.2402 server dies when a connection
/// closes before its negotiation is finished (ikc-protocol.md §3.5).
#[derive(Debug)]
pub struct ClientLite {
    config: Config,
    conn: Option<Conn>,
    remote: Option<Negotiated>,
    /// The N of the next `responseN` (Perl counts per process; here per
    /// client, so two clients never depend on each other).
    requests: u64,
    messages: VecDeque<Request>,
    errors: VecDeque<RemoteError>,
}

impl ClientLite {
    /// A builder with Perl's defaults: `localhost`, port 603, name
    /// `Client<pid>`, 30 s timeouts, IKC0.
    pub fn builder() -> ClientLiteBuilder {
        ClientLiteBuilder::default()
    }

    /// The name this client announces (and is answered at).
    pub fn name(&self) -> &str {
        &self.config.name
    }

    /// The server's kernel name from the last negotiation (its kernel ID):
    /// the kernel part of relative specifiers.
    pub fn remote_kernel(&self) -> Option<&str> {
        self.remote.as_ref().map(|r| r.remote_id.as_str())
    }

    /// The server's other names from the last negotiation.
    pub fn remote_aliases(&self) -> &[String] {
        self.remote
            .as_ref()
            .map_or(&[][..], |r| r.remote_aliases.as_slice())
    }

    /// How long calls wait for their reply from now on (Perl scripts set
    /// `$lite->{timeout}`). A zero timeout is taken as one millisecond.
    pub fn set_timeout(&mut self, timeout: Duration) {
        self.config.timeout = timeout.max(Duration::from_millis(1));
        if let Some(conn) = &self.conn {
            // Writes are bounded by the same timeout (a server that stops
            // reading); failing to set it only keeps the old bound.
            let _ = conn.stream.set_write_timeout(Some(self.config.timeout));
        }
    }

    /// True while a negotiated connection is open (as far as this client
    /// knows: a server's close is noticed at the next read).
    pub fn is_connected(&self) -> bool {
        self.conn.is_some()
    }

    /// Post `params` to `spec` (`SESSION/STATE`, or a full `poe://…`
    /// specifier). Returns once the request is written.
    pub fn post(&mut self, spec: &str, params: impl Into<Value>) -> Result<(), LiteError> {
        check_spec(spec)?;
        let params = params.into();
        let from = self.from();
        self.send(spec, |event| {
            Value::map([
                ("event", event),
                ("params", params.clone()),
                ("from", from.clone()),
            ])
        })?;
        Ok(())
    }

    /// Call `spec` with `params` and wait for its return value (scalar
    /// context on the remote side).
    pub fn call(&mut self, spec: &str, params: impl Into<Value>) -> Result<Value, LiteError> {
        self.call_with(spec, params.into(), false)
    }

    /// Call `spec` in list context (`wantarray` true) and return the list
    /// (a reply that is not a list is a list of one, as in Perl).
    pub fn call_list(
        &mut self,
        spec: &str,
        params: impl Into<Value>,
    ) -> Result<Vec<Value>, LiteError> {
        Ok(match self.call_with(spec, params.into(), true)? {
            Value::List(items) => items,
            other => vec![other],
        })
    }

    /// Post `[params, RSVP]` to `spec` and wait for the remote handler to
    /// post its answer to the RSVP hash (its `ARG0->[1]`): for handlers
    /// that answer later, from another state.
    pub fn post_respond(
        &mut self,
        spec: &str,
        params: impl Into<Value>,
    ) -> Result<Value, LiteError> {
        let dest = check_spec(spec)?;
        let (state, rsvp) = self.next_rsvp();
        let params = Value::list([params.into(), rsvp]);
        let from = self.from();
        self.send(spec, |event| {
            Value::map([
                ("event", event),
                ("params", params.clone()),
                ("from", from.clone()),
            ])
        })?;
        self.wait(&state, Some(&dest))
    }

    /// Wait for a message to `IKCLite/<state>` — what a remote handler
    /// posting to its SENDER produces — and return its `params`. One that
    /// has already arrived is returned at once.
    pub fn responded(&mut self, state: &str) -> Result<Value, LiteError> {
        self.wait(state, None)
    }

    /// Call the server's `IKC/ping` and expect `PONG`. Any failure marks
    /// the connection down, as in Perl.
    pub fn ping(&mut self) -> Result<(), LiteError> {
        let result = match self.call("IKC/ping", "PING") {
            Ok(pong) if pong.as_str() == Some("PONG") => return Ok(()),
            Ok(other) => Err(LiteError::NoPong(format!("{other:?}"))),
            Err(e) => Err(e),
        };
        self.mark_down();
        result
    }

    /// Close the connection (nothing is sent: IKC has no goodbye). The
    /// next post or call connects again.
    pub fn disconnect(&mut self) {
        self.mark_down();
    }

    /// The messages received that nothing waited for (oldest first), e.g.
    /// posts from a remote handler to a state no `responded` asked for.
    pub fn take_messages(&mut self) -> Vec<Request> {
        self.messages.drain(..).collect()
    }

    /// Error reports that did not belong to an awaited request (oldest
    /// first), e.g. the refusal of an earlier `post`.
    pub fn take_errors(&mut self) -> Vec<RemoteError> {
        self.errors.drain(..).collect()
    }

    fn call_with(&mut self, spec: &str, params: Value, list: bool) -> Result<Value, LiteError> {
        let dest = check_spec(spec)?;
        let (state, rsvp) = self.next_rsvp();
        let from = self.from();
        // Perl sends wantarray() as is: "" in scalar context, "1" in list.
        let wantarray = Value::from(if list { "1" } else { "" });
        self.send(spec, |event| {
            Value::map([
                ("event", event),
                ("params", params.clone()),
                ("from", from.clone()),
                ("rsvp", rsvp.clone()),
                ("wantarray", wantarray.clone()),
            ])
        })?;
        self.wait(&state, Some(&dest))
    }

    fn from(&self) -> Value {
        Value::map([
            ("kernel", self.config.name.as_str()),
            ("session", LITE_SESSION),
        ])
    }

    fn next_rsvp(&mut self) -> (String, Value) {
        let state = format!("response{}", self.requests);
        self.requests += 1;
        let rsvp = Specifier::new(self.config.name.as_str(), LITE_SESSION, state.as_str());
        (state, rsvp.to_value())
    }

    /// Connect if needed, then write the request `build` makes from the
    /// event string. A write that finds the connection gone reconnects
    /// and writes once more, as Perl's `_try_send` does.
    fn send(&mut self, spec: &str, build: impl Fn(Value) -> Value) -> Result<(), LiteError> {
        let mut retried = false;
        loop {
            self.ensure_connected()?;
            // After connecting: a relative spec names the server just met.
            let event = if spec.starts_with("poe:") {
                spec.to_owned()
            } else {
                format!("poe://{}/{spec}", self.remote_kernel().unwrap_or_default())
            };
            log::trace!("IKC lite > {event}");
            let bytes = wire::frame(&build(Value::from(event)))?;
            let conn = self.conn.as_mut().ok_or(LiteError::Closed)?;
            match conn.stream.send_all(&bytes) {
                Ok(()) => return Ok(()),
                Err(e) => {
                    self.mark_down();
                    let lost = matches!(
                        e.kind(),
                        std::io::ErrorKind::BrokenPipe
                            | std::io::ErrorKind::ConnectionReset
                            | std::io::ErrorKind::ConnectionAborted
                            | std::io::ErrorKind::NotConnected
                    );
                    if !lost || retried {
                        return Err(LiteError::Io(e));
                    }
                    log::info!("IKC lite: {e} while sending; reconnecting");
                    retried = true;
                }
            }
        }
    }

    /// Make sure a live connection is open: read what has arrived (a
    /// server's close shows here, before a request is lost on a dead
    /// socket), then reconnect if the connection is down.
    fn ensure_connected(&mut self) -> Result<(), LiteError> {
        if let Some(conn) = self.conn.as_mut() {
            let limit = self.config.max_frame.saturating_add(64);
            match conn.stream.drain(&mut conn.buf, limit) {
                Ok(true) => self.settle(),
                Ok(false) => {
                    log::info!("IKC lite: the server closed the connection");
                    self.settle();
                    self.mark_down();
                }
                Err(e) => {
                    log::info!("IKC lite: {e}; reconnecting");
                    self.mark_down();
                }
            }
        }
        if self.conn.is_none() {
            self.open()?;
        }
        Ok(())
    }

    /// Connect and negotiate (ikc-protocol.md §3), all within
    /// `connect_timeout`.
    fn open(&mut self) -> Result<(), LiteError> {
        let cfg = &self.config;
        let deadline = Instant::now() + cfg.connect_timeout;
        let timed_out = || LiteError::ConnectTimeout {
            addr: cfg.endpoint.to_string(),
            after: cfg.connect_timeout,
        };
        let mut stream = match Stream::connect(&cfg.endpoint, deadline) {
            Err(LiteError::Connect { source, .. })
                if source.kind() == std::io::ErrorKind::TimedOut =>
            {
                return Err(timed_out())
            }
            other => other?,
        };
        stream
            .set_write_timeout(Some(cfg.connect_timeout))
            .map_err(LiteError::Io)?;
        let names = Names {
            kernel_id: cfg.name.clone(),
            names: Vec::new(),
        };
        let mut negotiation =
            Negotiation::client(names, cfg.protocol, std::process::id()).with_limits(cfg.limits);
        for line in negotiation.start() {
            send_line(&stream, &line)?;
        }
        let mut buf = Vec::new();
        let done = loop {
            if let Some(line) = wire::take_line(&mut buf, cfg.max_line)? {
                log::trace!("IKC lite < {}", String::from_utf8_lossy(&line));
                let step = negotiation.line(&line)?;
                for reply in &step.send {
                    send_line(&stream, reply)?;
                }
                match step.done {
                    Some(done) => break done,
                    None => continue,
                }
            }
            match stream.fill(&mut buf, deadline).map_err(LiteError::Io)? {
                Fill::Data => {}
                Fill::Eof => return Err(LiteError::Closed),
                Fill::TimedOut => return Err(timed_out()),
            }
        };
        stream
            .set_write_timeout(Some(cfg.timeout))
            .map_err(LiteError::Io)?;
        log::debug!(
            "IKC lite {} connected to {} ({}){}",
            cfg.name,
            cfg.endpoint,
            done.remote_id,
            if done.hello {
                " after the HELLO dialogue"
            } else {
                ""
            }
        );
        self.remote = Some(done);
        // Octets after the last line are the first frames: keep them.
        self.conn = Some(Conn { stream, buf });
        Ok(())
    }

    /// Wait for the message to `IKCLite/<state>`. `sent` is the request's
    /// destination, to tell its error report from others'.
    fn wait(&mut self, state: &str, sent: Option<&Specifier>) -> Result<Value, LiteError> {
        if let Some(at) = self.messages.iter().position(|m| is_for(m, state)) {
            let message = self.messages.remove(at).expect("position is in range");
            return Ok(message.params);
        }
        let deadline = Instant::now() + self.config.timeout;
        loop {
            let max_frame = self.config.max_frame;
            let conn = self.conn.as_mut().ok_or(LiteError::Closed)?;
            let frame = match wire::take_frame(&mut conn.buf, max_frame) {
                Ok(frame) => frame,
                Err(e) => {
                    self.mark_down();
                    return Err(e);
                }
            };
            if let Some(frame) = frame {
                let routed = match Request::from_value(frame) {
                    Ok(request) => self.route(request, Some((state, sent))),
                    Err(e) => {
                        self.mark_down();
                        return Err(LiteError::BadFrame(e.to_string()));
                    }
                };
                let result = match routed {
                    Routed::Kept => continue,
                    Routed::Reply(params) => Ok(params),
                    Routed::Failed(e) => Err(LiteError::Remote(e)),
                };
                // What came in the same read is parsed now, so an error
                // report in it is not taken for the next request's.
                self.settle();
                return result;
            }
            let fill = conn.stream.fill(&mut conn.buf, deadline);
            let failure = match fill {
                Ok(Fill::Data) => continue,
                Ok(Fill::Eof) => LiteError::Closed,
                Ok(Fill::TimedOut) => LiteError::Timeout {
                    waiting_for: Specifier::new(self.config.name.as_str(), LITE_SESSION, state)
                        .to_string(),
                    after: self.config.timeout,
                },
                Err(e) => LiteError::Io(e),
            };
            // Perl marks the connection down on a timeout too: a late
            // reply must not meet the next request on this connection.
            self.mark_down();
            return Err(failure);
        }
    }

    /// Parse every complete frame already received into the queues.
    fn settle(&mut self) {
        loop {
            let Some(conn) = self.conn.as_mut() else {
                return;
            };
            let request = wire::take_frame(&mut conn.buf, self.config.max_frame).and_then(|f| {
                f.map(Request::from_value)
                    .transpose()
                    .map_err(|e| LiteError::BadFrame(e.to_string()))
            });
            match request {
                Ok(Some(request)) => {
                    self.route(request, None);
                }
                Ok(None) => return,
                Err(e) => {
                    log::warn!("IKC lite: {e}; dropping the connection");
                    self.mark_down();
                    return;
                }
            }
        }
    }

    /// Deliver one received message: the awaited reply, its error report,
    /// or something to keep.
    fn route(&mut self, request: Request, awaited: Option<(&str, Option<&Specifier>)>) -> Routed {
        if request.is_error {
            let error = RemoteError::from_params(&request.params);
            if let Some((state, sent)) = awaited {
                if error_is_for(&request, &error, state, sent) {
                    return Routed::Failed(error);
                }
            }
            log::warn!("IKC lite: {error} (no pending request of ours)");
            push_bounded(&mut self.errors, error, self.config.keep);
            return Routed::Kept;
        }
        if let Some((state, _)) = awaited {
            if is_for(&request, state) {
                return Routed::Reply(request.params);
            }
        }
        log::debug!(
            "IKC lite: kept a message to {}",
            Specifier::from_value(&request.event)
        );
        push_bounded(&mut self.messages, request, self.config.keep);
        Routed::Kept
    }

    fn mark_down(&mut self) {
        if self.conn.take().is_some() {
            log::debug!("IKC lite {}: connection closed", self.config.name);
        }
    }
}

fn push_bounded<T>(queue: &mut VecDeque<T>, item: T, keep: usize) {
    if keep == 0 {
        return;
    }
    if queue.len() == keep {
        log::warn!("IKC lite: more than {keep} unclaimed messages; dropping the oldest");
        queue.pop_front();
    }
    queue.push_back(item);
}

/// One negotiation line with its CR LF, in one write (§2.2: a CR and its
/// LF split across two reads corrupt a Perl peer's stream).
fn send_line(stream: &Stream, line: &str) -> Result<(), LiteError> {
    log::trace!("IKC lite > {line}");
    let mut bytes = Vec::with_capacity(line.len() + 2);
    bytes.extend_from_slice(line.as_bytes());
    bytes.extend_from_slice(b"\r\n");
    stream.send_all(&bytes).map_err(LiteError::Io)
}

#[cfg(test)]
mod tests;
