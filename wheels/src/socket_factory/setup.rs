//! Building a SocketFactory: check the parameters (POE's croaks become
//! errors), create and prepare the socket, and register the hidden state
//! for what comes next.

use super::address::{packed, resolve_inet, resolve_port};
use super::handlers;
use super::{
    state_names, Role, SocketDomain, SocketFactory, SocketFactoryBuilder, SocketProtocol,
    SocketType, State,
};
use crate::error::Failure;
use crate::fd::Fd;
use crate::id::WheelId;
use crate::WheelError;
use poe_kernel::{Ctx, EventName, Mode, Trigger, Value};
use socket2::{Domain, Protocol, SockAddr, Socket, Type};
use std::cell::RefCell;
use std::os::fd::AsRawFd;
use std::rc::Rc;

pub(super) fn build<H: 'static>(
    b: SocketFactoryBuilder,
    ctx: &mut Ctx<'_, H>,
) -> Result<SocketFactory, WheelError> {
    let success = b
        .success_event
        .clone()
        .ok_or(WheelError::Missing("SuccessEvent"))?;
    let failure = b
        .failure_event
        .clone()
        .ok_or(WheelError::Missing("FailureEvent"))?;
    let unix = b.domain == SocketDomain::Unix;
    if unix && b.protocol.is_some() {
        log::warn!(target: "poe::wheels", "SocketFactory: SocketProtocol ignored for UNIX sockets");
    }
    let protocol = (!unix).then(|| b.protocol.unwrap_or(SocketProtocol::Tcp));
    let socket_type = b.socket_type.unwrap_or(match protocol {
        Some(SocketProtocol::Udp) => SocketType::Datagram,
        _ => SocketType::Stream,
    });
    if b.remote_address.is_some() {
        if !unix && b.remote_port.is_none() {
            return Err(WheelError::Missing("RemotePort"));
        }
        if b.listen_queue.is_some() {
            log::warn!(target: "poe::wheels", "SocketFactory: ListenQueue ignored when connecting");
        }
    }

    let id = WheelId::next();
    let session = ctx.session();
    let state = Rc::new(RefCell::new(State {
        socket: None,
        role: Role::Inert,
        success: success.clone(),
        failure: Some(failure.clone()),
        flavor: super::Flavor::SocketFactory,
        user_paused: false,
        retry_alarm: None,
        last_backoff: 0.0,
    }));
    let wheel = SocketFactory {
        state: state.clone(),
        kernel: ctx.kernel().downgrade(),
        session,
        id,
        kind: "SocketFactory",
    };

    let (socket, role) = match open(&b, protocol, socket_type) {
        Ok(opened) => opened,
        Err(f) => {
            log::debug!(target: "poe::wheels", "SocketFactory({id}) {} failed: {}", f.op, f.message);
            ctx.yield_(failure, f.args(id));
            return Ok(wheel);
        }
    };
    let fd = socket.as_raw_fd();
    let [accept_name, connect_name, retry_name] = state_names("SocketFactory", id);
    let retry_name = EventName::from(retry_name);
    let weak = Rc::downgrade(&state);
    match role {
        Role::Listening => {
            ctx.state(
                accept_name.clone(),
                handlers::accept(weak.clone(), id, fd, retry_name.clone()),
            );
            ctx.state(retry_name, handlers::retry_accept(weak, fd));
            ctx.select_watch(&Fd(fd), Mode::Read, Trigger::Edge, accept_name, ())?;
        }
        Role::Connecting => {
            ctx.state(
                connect_name.clone(),
                handlers::connected(weak, id, connect_name.clone()),
            );
            ctx.select_watch(&Fd(fd), Mode::Write, Trigger::Edge, connect_name, ())?;
        }
        Role::Inert => {
            // A bound datagram socket: handed over through a queued event.
            // The wheel keeps a duplicate so `getsockname` still answers.
            let handed = socket.try_clone()?;
            ctx.yield_(
                success,
                vec![
                    Value::local(handed),
                    Value::Undef,
                    Value::Undef,
                    Value::from(id),
                ],
            );
        }
    }
    let mut st = state.borrow_mut();
    st.socket = Some(socket);
    // Inert (a bound datagram socket): no watch to remove later.
    st.role = role;
    drop(st);
    log::trace!(target: "poe::wheels", "SocketFactory({id}) {role:?} on fd {fd}");
    Ok(wheel)
}

/// The peer address and port as SuccessEvent carries them.
pub(super) fn peer_args(addr: &SockAddr) -> (Value, Value) {
    match addr.as_socket() {
        Some(sa) => (Value::from(packed(&sa)), Value::from(sa.port())),
        None => (Value::Undef, Value::Undef),
    }
}

/// Create, configure and bind the socket; then listen, start connecting, or
/// stop (a datagram socket is ready once bound).
fn open(
    b: &SocketFactoryBuilder,
    protocol: Option<SocketProtocol>,
    socket_type: SocketType,
) -> Result<(Socket, Role), Failure> {
    let (domain, ipv6) = match b.domain {
        SocketDomain::Inet => (Domain::IPV4, false),
        SocketDomain::Inet6 => (Domain::IPV6, true),
        SocketDomain::Unix => (Domain::UNIX, false),
    };
    let unix = b.domain == SocketDomain::Unix;
    let ty = match socket_type {
        SocketType::Stream => Type::STREAM,
        SocketType::Datagram => Type::DGRAM,
    }
    .nonblocking()
    .cloexec();
    let proto = match protocol {
        None => None,
        Some(SocketProtocol::Tcp) => Some(Protocol::TCP),
        Some(SocketProtocol::Udp) => Some(Protocol::UDP),
        Some(SocketProtocol::Number(n)) => Some(Protocol::from(n)),
    };
    let proto_name = match protocol {
        Some(SocketProtocol::Udp) => "udp",
        _ => "tcp",
    };
    let socket = Socket::new(domain, ty, proto).map_err(|e| Failure::from_io("socket", &e))?;
    if b.reuse {
        socket
            .set_reuse_address(true)
            .map_err(|e| Failure::from_io("setsockopt", &e))?;
    }
    if let Some(configure) = &b.configure {
        configure(&socket).map_err(|e| Failure::from_io("setsockopt", &e))?;
    }

    // Bind: a UNIX path, or an internet address and/or port.
    if unix {
        if let Some(path) = b.bind_address.as_ref().and_then(|a| a.as_path()) {
            let addr = SockAddr::unix(path).map_err(|e| Failure::from_io("bind", &e))?;
            socket
                .bind(&addr)
                .map_err(|e| Failure::from_io("bind", &e))?;
        }
    } else if b.bind_address.is_some() || b.bind_port.is_some() {
        let port = match &b.bind_port {
            Some(p) => resolve_port(p, proto_name)?,
            None => 0,
        };
        let addr = resolve_inet(b.bind_address.as_ref(), port, ipv6)?;
        if ipv6 {
            // As POE: an IPv6 socket is IPv6 only.
            let _ = socket.set_only_v6(true);
        }
        socket
            .bind(&addr.into())
            .map_err(|e| Failure::from_io("bind", &e))?;
    }

    if let Some(remote) = &b.remote_address {
        let target: SockAddr = if unix {
            let path = remote
                .as_path()
                .ok_or_else(|| Failure::new("connect", libc::EINVAL))?;
            SockAddr::unix(path).map_err(|e| Failure::from_io("connect", &e))?
        } else {
            let port = resolve_port(b.remote_port.as_ref().expect("checked"), proto_name)?;
            resolve_inet(Some(remote), port, ipv6)?.into()
        };
        match socket.connect(&target) {
            Ok(()) => {}
            Err(e) if e.raw_os_error() == Some(libc::EINPROGRESS) => {}
            Err(e) => return Err(Failure::from_io("connect", &e)),
        }
        return Ok((socket, Role::Connecting));
    }

    if socket_type == SocketType::Stream {
        socket
            .listen(b.listen_queue.unwrap_or(libc::SOMAXCONN))
            .map_err(|e| Failure::from_io("listen", &e))?;
        return Ok((socket, Role::Listening));
    }
    Ok((socket, Role::Inert))
}
