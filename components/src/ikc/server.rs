//! IKC::Server: accept IKC connections, one channel session each.

use super::channel;
use super::responder::{self, IKC_ALIAS};
use super::settings::{common_setters, Settings};
/// A started [`Server`]: its listening session and bound address (the
/// listener of a [`tcp::Server`]).
pub use crate::tcp::Listening;
use crate::tcp::{self, ComponentError, Domain};
use poe_kernel::{Kernel, Value};
use std::path::{Path, PathBuf};
use std::rc::Rc;

/// Perl's default IKC::Server port, 603 (its IKC::Client defaults to
/// [`DEFAULT_CLIENT_PORT`](super::DEFAULT_CLIENT_PORT), 903).
pub const DEFAULT_SERVER_PORT: u16 = 603;

/// POE::Component::IKC::Server: listens for IKC clients (Perl or Rust);
/// each connection becomes a channel session.
///
/// ```no_run
/// use poe_components::ikc::Server;
/// use poe_kernel::Kernel;
/// let kernel = Kernel::new().unwrap();
/// let server = Server::builder().port(0).name("worker").spawn(&kernel).unwrap();
/// println!("IKC on port {}", server.port());
/// kernel.run();
/// ```
pub struct Server;

impl Server {
    /// Start configuring a server (Perl's defaults: `0.0.0.0`, port 603).
    pub fn builder() -> ServerBuilder {
        ServerBuilder {
            ip: "0.0.0.0".to_owned(),
            port: DEFAULT_SERVER_PORT,
            unix: None,
            concurrency: 0,
            settings: Settings::default(),
        }
    }
}

/// Configures a [`Server`]; the setters are Perl's parameter names.
#[must_use]
pub struct ServerBuilder {
    ip: String,
    port: u16,
    unix: Option<PathBuf>,
    concurrency: usize,
    settings: Settings,
}

impl ServerBuilder {
    /// `ip`: the address to bind (default `0.0.0.0`).
    pub fn ip(mut self, ip: impl Into<String>) -> Self {
        self.ip = ip.into();
        self
    }

    /// `port` (default 603; 0 picks a free one, see [`Listening::port`]).
    pub fn port(mut self, port: u16) -> Self {
        self.port = port;
        self
    }

    /// `unix`: listen on a UNIX-domain socket at `path` instead of TCP
    /// (an existing socket file there is removed first, as Perl does).
    pub fn unix(mut self, path: impl Into<PathBuf>) -> Self {
        self.unix = Some(path.into());
        self
    }

    /// `concurrency`: most connections at once (0, the default: no limit).
    pub fn concurrency(mut self, n: usize) -> Self {
        self.concurrency = n;
        self
    }

    common_setters!(settings);

    /// Start listening (and the `IKC` Responder, if it is not running).
    pub fn spawn(self, kernel: &Kernel) -> Result<Listening, ComponentError> {
        let reg = responder::spawn(kernel)?;
        let local = Value::list(self.settings.local_names().into_iter().map(Value::from));
        kernel.call(IKC_ALIAS, "register_local", (local,))?;
        let cfg = Rc::new(self.settings.channel_config(reg.clone(), true));
        let on_error = self.settings.on_error.clone();
        let mut tcp = tcp::Server::builder::<()>()
            .concurrency(self.tcp_concurrency())
            .acceptor(move |ctx| {
                let Some(socket) = ctx.arg(0).take_local::<socket2::Socket>() else {
                    return;
                };
                let peer = peer_name(ctx.arg(1), ctx.arg(2));
                let listener = ctx.session();
                let channel = channel::session(cfg.clone(), socket, peer, None, Some(listener));
                if let Err(e) = ctx.create(channel) {
                    log::error!(target: "poe::ikc", "cannot start a channel: {e}");
                }
            })
            .error(move |ctx| {
                let op = ctx.arg(0).to_string();
                let errno = ctx.arg(1).as_i64().unwrap_or(0) as i32;
                let message = ctx.arg(2).to_string();
                log::warn!(target: "poe::ikc", "IKC server: {op} error {errno}: {message}");
                // Only report: the TCP listener decides whether it keeps
                // listening (it survives EMFILE and the like on accept).
                if let Some(cb) = &on_error {
                    cb(&op, errno, &message);
                }
            });
        tcp = match self.bind() {
            Bind::Unix(path) => {
                // A stale socket file would make bind fail.
                let _ = std::fs::remove_file(path);
                tcp.domain(Domain::Unix).address(path)
            }
            Bind::Tcp(ip, port) => tcp.address(ip).port(port),
        };
        let listening = tcp.spawn(kernel)?;
        reg.borrow_mut().listeners.push(listening.id);
        Ok(listening)
    }
}

/// Where a [`ServerBuilder`] listens.
#[derive(Debug, PartialEq, Eq)]
enum Bind<'a> {
    Tcp(&'a str, u16),
    Unix(&'a Path),
}

impl ServerBuilder {
    fn bind(&self) -> Bind<'_> {
        match &self.unix {
            Some(path) => Bind::Unix(path),
            None => Bind::Tcp(&self.ip, self.port),
        }
    }

    /// `concurrency` as Server::TCP takes it: -1 for no limit.
    fn tcp_concurrency(&self) -> i64 {
        match self.concurrency {
            0 => -1,
            n => n as i64,
        }
    }
}

/// The peer's `ip:port`, from SocketFactory's packed address and port
/// (an IPv6 address without brackets).
fn peer_name(addr: &Value, port: &Value) -> Option<String> {
    tcp::peer_of(addr, port).map(|peer| format!("{}:{}", peer.ip(), peer.port()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_defaults_are_perls_every_address_port_603_no_name_no_limit() {
        let b = Server::builder();
        assert_eq!(b.bind(), Bind::Tcp("0.0.0.0", 603));
        assert_eq!(b.tcp_concurrency(), -1);
        assert!(b.settings.name.is_none() && b.settings.aliases.is_empty());
        assert!(b.settings.local_names().is_empty());
    }

    #[test]
    fn unix_replaces_the_tcp_address_and_concurrency_is_passed_on() {
        let b = Server::builder()
            .port(0)
            .unix("/run/ikc.sock")
            .concurrency(4);
        assert_eq!(b.bind(), Bind::Unix(Path::new("/run/ikc.sock")));
        assert_eq!(b.tcp_concurrency(), 4);
        let b = Server::builder().ip("127.0.0.1").port(6030);
        assert_eq!(b.bind(), Bind::Tcp("127.0.0.1", 6030));
    }
}
