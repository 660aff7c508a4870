//! [`SocketFactory`]: POE::Wheel::SocketFactory — create sockets, then
//! listen and accept, connect, or bind a datagram socket.
//!
//! Setup failures (resolution, `socket`, `bind`, `listen`, an immediate
//! `connect` failure) arrive as the FailureEvent, *queued* — after `build`
//! returns, in FIFO order with other events — as in POE. Accepted and
//! connected sockets arrive by a synchronous call of the SuccessEvent from
//! the wheel's hidden state.

mod address;
pub(crate) mod handlers;
mod setup;

pub use address::{Address, Port};

use crate::fd::Fd;
use crate::id::{hidden_state, WheelId};
use crate::WheelError;
use poe_kernel::{AlarmId, Ctx, EventName, Mode, SessionId, WeakKernel};
use socket2::{SockAddr, Socket};
use std::cell::RefCell;
use std::net::SocketAddr;
use std::os::fd::{AsRawFd, RawFd};
use std::rc::Rc;

/// The address family (POE's `SocketDomain`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub enum SocketDomain {
    /// IPv4 (`AF_INET`), the default.
    #[default]
    Inet,
    /// IPv6 (`AF_INET6`).
    Inet6,
    /// UNIX-domain sockets (`AF_UNIX`): addresses are paths.
    Unix,
}

/// Stream or datagram (POE's `SocketType`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SocketType {
    /// `SOCK_STREAM` (the default for TCP and UNIX).
    Stream,
    /// `SOCK_DGRAM` (the default for UDP).
    Datagram,
}

/// The protocol (POE's `SocketProtocol`): `"tcp"`, `"udp"`, or a number.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SocketProtocol {
    /// TCP (the default for internet sockets).
    Tcp,
    /// UDP.
    Udp,
    /// Another protocol number (only TCP and UDP semantics are supported:
    /// stream sockets listen or connect, datagram sockets bind).
    Number(i32),
}

impl TryFrom<&str> for SocketProtocol {
    type Error = WheelError;
    fn try_from(s: &str) -> Result<SocketProtocol, WheelError> {
        match s.to_ascii_lowercase().as_str() {
            "tcp" | "6" => Ok(SocketProtocol::Tcp),
            "udp" | "17" => Ok(SocketProtocol::Udp),
            other => other.parse().map(SocketProtocol::Number).map_err(|_| {
                WheelError::Invalid(format!("SocketFactory does not support protocol '{s}'"))
            }),
        }
    }
}

/// What the wheel is doing.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Role {
    Listening,
    Connecting,
    /// Done (connected, bound, or failed): nothing left to do.
    Inert,
}

/// Which wheel's conventions an accept follows.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Flavor {
    /// `(socket, packed_address, port, wheel_id)`.
    SocketFactory,
    /// `(socket, raw_sockaddr, wheel_id)`.
    ListenAccept,
}

/// The wheel's state, shared with its hidden handlers (which hold it
/// weakly: dropping the wheel ends them).
pub(crate) struct State {
    pub socket: Option<Socket>,
    pub role: Role,
    /// SocketFactory's SuccessEvent, or ListenAccept's AcceptEvent.
    pub success: EventName,
    /// SocketFactory's FailureEvent, or ListenAccept's optional ErrorEvent.
    pub failure: Option<EventName>,
    /// How accepted connections are reported.
    pub flavor: Flavor,
    pub user_paused: bool,
    /// The alarm that ends a wait after EMFILE and friends (accepting is
    /// paused meanwhile); `None` when accepting normally. Removed when the
    /// wheel drops, so it does not keep the session alive.
    pub retry_alarm: Option<AlarmId>,
    /// The last such wait (doubles while failures continue); 0 outside an
    /// episode of failures, which ends at the next successful accept.
    pub last_backoff: f64,
}

impl State {
    /// The descriptor the wheel watches, while it watches one (listening
    /// or connecting; not once inert).
    pub fn fd(&self) -> Option<RawFd> {
        if self.role == Role::Inert {
            return None;
        }
        self.socket.as_ref().map(AsRawFd::as_raw_fd)
    }
}

/// A socket option hook: see [`SocketFactoryBuilder::configure`].
pub(crate) type Configure = Rc<dyn Fn(&Socket) -> std::io::Result<()>>;

/// Builds a [`SocketFactory`]; the setters are POE's parameter names.
///
/// ```no_run
/// use poe_kernel::{Kernel, Session, Value};
/// use poe_wheels::SocketFactory;
///
/// let kernel = Kernel::new().unwrap();
/// kernel.create(Session::new(None::<SocketFactory>)
///     .state("_start", |ctx| {
///         let wheel = SocketFactory::builder()
///             .bind_address("127.0.0.1")
///             .bind_port(0u16)
///             .reuse(true)
///             .success_event("accepted")
///             .failure_event("failed")
///             .build(ctx)
///             .unwrap();
///         println!("listening on {}", wheel.local_addr().unwrap());
///         *ctx.heap = Some(wheel);
///     })
///     .state("accepted", |ctx| {
///         let socket = ctx.arg(0).take_local::<socket2::Socket>().unwrap();
///         println!("connection from port {}", ctx.arg(2));
///         drop(socket);
///     })
///     .state("failed", |ctx| eprintln!("{} error {}: {}", ctx.arg(0), ctx.arg(1), ctx.arg(2)))
/// ).unwrap();
/// kernel.run();
/// ```
#[derive(Clone, Default)]
#[must_use]
pub struct SocketFactoryBuilder {
    pub(crate) configure: Option<Configure>,
    pub(crate) domain: SocketDomain,
    pub(crate) socket_type: Option<SocketType>,
    pub(crate) protocol: Option<SocketProtocol>,
    pub(crate) bind_address: Option<Address>,
    pub(crate) bind_port: Option<Port>,
    pub(crate) remote_address: Option<Address>,
    pub(crate) remote_port: Option<Port>,
    pub(crate) listen_queue: Option<i32>,
    pub(crate) reuse: bool,
    pub(crate) success_event: Option<EventName>,
    pub(crate) failure_event: Option<EventName>,
}

impl std::fmt::Debug for SocketFactoryBuilder {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SocketFactoryBuilder")
            .field("domain", &self.domain)
            .field("bind_address", &self.bind_address)
            .field("bind_port", &self.bind_port)
            .field("remote_address", &self.remote_address)
            .field("remote_port", &self.remote_port)
            .finish_non_exhaustive()
    }
}

impl SocketFactoryBuilder {
    /// `SocketDomain`: Inet (default), Inet6 or Unix.
    pub fn socket_domain(mut self, d: SocketDomain) -> Self {
        self.domain = d;
        self
    }

    /// `SocketType`: Stream or Datagram (default: by protocol).
    pub fn socket_type(mut self, t: SocketType) -> Self {
        self.socket_type = Some(t);
        self
    }

    /// `SocketProtocol`: Tcp (default for internet sockets), Udp, a number.
    /// Ignored, with a warning, for UNIX sockets.
    pub fn socket_protocol(mut self, p: SocketProtocol) -> Self {
        self.protocol = Some(p);
        self
    }

    /// `BindAddress`: the local address (a path for UNIX sockets). With
    /// only `BindPort`, the wildcard address.
    pub fn bind_address(mut self, a: impl Into<Address>) -> Self {
        self.bind_address = Some(a.into());
        self
    }

    /// `BindPort`: a number or a service name (0 lets the system choose).
    pub fn bind_port(mut self, p: impl Into<Port>) -> Self {
        self.bind_port = Some(p.into());
        self
    }

    /// `RemoteAddress`: connect to this address (a path for UNIX sockets).
    pub fn remote_address(mut self, a: impl Into<Address>) -> Self {
        self.remote_address = Some(a.into());
        self
    }

    /// `RemotePort`: required with an internet `RemoteAddress`.
    pub fn remote_port(mut self, p: impl Into<Port>) -> Self {
        self.remote_port = Some(p.into());
        self
    }

    /// `ListenQueue`: the listen backlog (default `SOMAXCONN`).
    pub fn listen_queue(mut self, n: i32) -> Self {
        self.listen_queue = Some(n);
        self
    }

    /// `Reuse`: set `SO_REUSEADDR`.
    pub fn reuse(mut self, yes: bool) -> Self {
        self.reuse = yes;
        self
    }

    /// `SuccessEvent` (required): `(socket, peer_address, peer_port,
    /// wheel_id)`; the socket is a `Value::Local(socket2::Socket)`, the
    /// address packed octets (undef for UNIX and datagram sockets).
    pub fn success_event(mut self, e: impl Into<EventName>) -> Self {
        self.success_event = Some(e.into());
        self
    }

    /// `FailureEvent` (required): `(operation, errno, message, wheel_id)`.
    ///
    /// A listener that runs out of descriptors (EMFILE, ENFILE, ENOBUFS,
    /// ENOMEM on `accept`) reports the first failure only, then backs off
    /// (50 ms, doubling to 1 s) and retries quietly until an accept
    /// succeeds; the next failure after that starts a new episode and is
    /// reported again.
    pub fn failure_event(mut self, e: impl Into<EventName>) -> Self {
        self.failure_event = Some(e.into());
        self
    }

    /// Set options POE has no parameter for: `f` runs on the new socket
    /// before it is bound or connected. An error becomes the FailureEvent
    /// `('setsockopt', errno, message, id)`.
    ///
    /// ```
    /// use poe_wheels::SocketFactory;
    /// let b = SocketFactory::builder().configure(|s| s.set_nodelay(true));
    /// # drop(b);
    /// ```
    pub fn configure(mut self, f: impl Fn(&Socket) -> std::io::Result<()> + 'static) -> Self {
        self.configure = Some(Rc::new(f));
        self
    }

    /// Create the socket and start listening, connecting or binding, in the
    /// running session.
    pub fn build<H: 'static>(self, ctx: &mut Ctx<'_, H>) -> Result<SocketFactory, WheelError> {
        setup::build(self, ctx)
    }
}

/// A socket-creating wheel (POE::Wheel::SocketFactory). Drop it to stop
/// listening or abandon a connect.
pub struct SocketFactory {
    pub(crate) state: Rc<RefCell<State>>,
    pub(crate) kernel: WeakKernel,
    pub(crate) session: SessionId,
    pub(crate) id: WheelId,
    /// "SocketFactory", or "ListenAccept" when that wheel wraps this one.
    pub(crate) kind: &'static str,
}

/// The hidden states a wheel of `kind` registers: accept, connect, retry.
pub(crate) fn state_names(kind: &str, id: WheelId) -> [String; 3] {
    [
        hidden_state(kind, id, "select accept"),
        hidden_state(kind, id, "select connect"),
        hidden_state(kind, id, "retry accept"),
    ]
}

impl SocketFactory {
    /// Start building one.
    pub fn builder() -> SocketFactoryBuilder {
        SocketFactoryBuilder::default()
    }

    /// The wheel's ID (POE's `ID`).
    pub fn id(&self) -> WheelId {
        self.id
    }

    /// Rename the events at run time (POE's `event(SuccessEvent => ..,
    /// FailureEvent => ..)`); the next connection or failure is reported
    /// under the new name.
    ///
    /// `None` keeps the current name. That is what POE 1.370 does with
    /// undef: its manual says an undefined name disables the event, but
    /// `event` carps ("SuccessEvent requires an event name.  ignoring
    /// undef") and keeps the old one. Both events are required, so neither
    /// can be turned off; drop the wheel to stop it.
    ///
    /// A setup failure found while building (bind, an immediate connect
    /// failure) is queued by `build` under the name it had then, as in POE.
    pub fn event(&self, success: Option<EventName>, failure: Option<EventName>) {
        let mut st = self.state.borrow_mut();
        if let Some(s) = success {
            st.success = s;
        }
        if let Some(f) = failure {
            st.failure = Some(f);
        }
    }

    /// The socket's local address, while the wheel holds it (POE's
    /// `getsockname`).
    pub fn getsockname(&self) -> Option<SockAddr> {
        self.state.borrow().socket.as_ref()?.local_addr().ok()
    }

    /// The local internet address and port (for `BindPort => 0`).
    pub fn local_addr(&self) -> Option<SocketAddr> {
        self.getsockname()?.as_socket()
    }

    /// Stop accepting (connections wait in the backlog).
    pub fn pause_accept(&self) {
        let mut st = self.state.borrow_mut();
        if st.role != Role::Listening || st.user_paused {
            return;
        }
        st.user_paused = true;
        let fd = st.fd();
        drop(st);
        if let (Some(k), Some(fd)) = (self.kernel.upgrade(), fd) {
            k.select_pause(&Fd(fd), Mode::Read);
        }
    }

    /// Accept again after [`SocketFactory::pause_accept`].
    pub fn resume_accept(&self) {
        let mut st = self.state.borrow_mut();
        if st.role != Role::Listening || !st.user_paused {
            return;
        }
        st.user_paused = false;
        let backing_off = st.retry_alarm.is_some();
        let fd = st.fd();
        drop(st);
        if backing_off {
            return; // the backoff alarm resumes it
        }
        if let (Some(k), Some(fd)) = (self.kernel.upgrade(), fd) {
            k.select_resume(&Fd(fd), Mode::Read);
        }
    }
}

impl std::fmt::Debug for SocketFactory {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let st = self.state.borrow();
        f.debug_struct(self.kind)
            .field("id", &self.id)
            .field("role", &st.role)
            .field("fd", &st.fd())
            .finish()
    }
}

impl Drop for SocketFactory {
    fn drop(&mut self) {
        let Some(k) = self.kernel.upgrade() else {
            return;
        };
        let (fd, retry_alarm) = {
            let mut st = self.state.borrow_mut();
            (st.fd(), st.retry_alarm.take())
        };
        if let Some(fd) = fd {
            k.select_remove_for(self.session, &Fd(fd), Mode::Read);
            k.select_remove_for(self.session, &Fd(fd), Mode::Write);
        }
        if let Some(alarm) = retry_alarm {
            let _ = k.alarm_remove_for(self.session, alarm);
        }
        for name in state_names(self.kind, self.id) {
            k.remove_state(self.session, &name);
        }
        // The socket closes when `state` drops, after the watches are gone.
    }
}
