//! [`ListenAccept`]: POE::Wheel::ListenAccept — accept connections on a
//! socket that is already listening.

use crate::fd::Fd;
use crate::id::WheelId;
use crate::socket_factory::handlers;
use crate::socket_factory::{state_names, Flavor, Role, SocketFactory, State};
use crate::WheelError;
use poe_kernel::{Ctx, EventName, Mode, Trigger};
use socket2::Socket;
use std::cell::RefCell;
use std::net::SocketAddr;
use std::os::fd::AsRawFd;
use std::rc::Rc;

/// Builds a [`ListenAccept`].
#[must_use]
pub struct ListenAcceptBuilder {
    socket: Socket,
    accept_event: Option<EventName>,
    error_event: Option<EventName>,
}

impl ListenAcceptBuilder {
    /// `AcceptEvent` (required): `(socket, raw_sockaddr, wheel_id)` — the
    /// socket a `Value::Local(socket2::Socket)`, the address the raw
    /// `struct sockaddr` bytes, as POE passes them.
    pub fn accept_event(mut self, e: impl Into<EventName>) -> Self {
        self.accept_event = Some(e.into());
        self
    }

    /// `ErrorEvent`: `('accept', errno, message, wheel_id)`.
    pub fn error_event(mut self, e: impl Into<EventName>) -> Self {
        self.error_event = Some(e.into());
        self
    }

    /// Start accepting in the running session.
    pub fn build<H: 'static>(self, ctx: &mut Ctx<'_, H>) -> Result<ListenAccept, WheelError> {
        let accept = self
            .accept_event
            .ok_or(WheelError::Missing("AcceptEvent"))?;
        self.socket.set_nonblocking(true)?;
        let id = WheelId::next();
        let fd = self.socket.as_raw_fd();
        let state = Rc::new(RefCell::new(State {
            socket: Some(self.socket),
            role: Role::Listening,
            success: accept,
            failure: self.error_event,
            flavor: Flavor::ListenAccept,
            user_paused: false,
            retry_alarm: None,
            last_backoff: 0.0,
        }));
        let [accept_name, _, retry_name] = state_names(KIND, id);
        let retry_name = EventName::from(retry_name);
        let weak = Rc::downgrade(&state);
        ctx.state(
            accept_name.clone(),
            handlers::accept(weak.clone(), id, fd, retry_name.clone()),
        );
        ctx.state(retry_name, handlers::retry_accept(weak, fd));
        ctx.select_watch(&Fd(fd), Mode::Read, Trigger::Edge, accept_name, ())?;
        Ok(ListenAccept(SocketFactory {
            state,
            kernel: ctx.kernel().downgrade(),
            session: ctx.session(),
            id,
            kind: KIND,
        }))
    }
}

const KIND: &str = "ListenAccept";

/// Accepts connections on a listening socket (POE::Wheel::ListenAccept).
/// Drop it to stop accepting; the listening socket closes with it.
///
/// ```no_run
/// use std::net::TcpListener;
/// use poe_kernel::{Kernel, Session};
/// use poe_wheels::ListenAccept;
///
/// let listener = TcpListener::bind("127.0.0.1:0").unwrap();
/// let kernel = Kernel::new().unwrap();
/// kernel.create(Session::new(Some(listener))
///     .state("_start", |ctx| {
///         let socket = ctx.heap.take().unwrap();
///         let wheel = ListenAccept::builder(socket).accept_event("accepted").build(ctx).unwrap();
///         std::mem::forget(wheel); // keep it for the program's life
///     })
///     .state("accepted", |ctx| {
///         let client = ctx.arg(0).take_local::<socket2::Socket>().unwrap();
///         drop(client);
///     })
/// ).unwrap();
/// ```
#[derive(Debug)]
pub struct ListenAccept(SocketFactory);

impl ListenAccept {
    /// Wrap a listening socket (a `TcpListener`, a `UnixListener`, or a
    /// `socket2::Socket`).
    pub fn builder(listening: impl Into<Socket>) -> ListenAcceptBuilder {
        ListenAcceptBuilder {
            socket: listening.into(),
            accept_event: None,
            error_event: None,
        }
    }

    /// The wheel's ID.
    pub fn id(&self) -> WheelId {
        self.0.id
    }

    /// Rename the events (POE's `event`); `None` keeps a name.
    pub fn event(&self, accept: Option<EventName>, error: Option<EventName>) {
        self.0.event(accept, error)
    }

    /// The listening address.
    pub fn local_addr(&self) -> Option<SocketAddr> {
        self.0.local_addr()
    }

    /// Stop accepting for a while.
    pub fn pause_accept(&self) {
        self.0.pause_accept()
    }

    /// Accept again.
    pub fn resume_accept(&self) {
        self.0.resume_accept()
    }
}
