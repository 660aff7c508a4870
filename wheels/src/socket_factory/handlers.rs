//! The SocketFactory's hidden states: accepting, retrying after running out
//! of descriptors, and finishing a connect.

use super::setup::peer_args;
use super::{Flavor, Role, State};
use crate::error::Failure;
use crate::fd::Fd;
use crate::id::WheelId;
use poe_kernel::{Ctx, EventName, Mode, Value};
use socket2::{SockAddr, Socket};
use std::cell::RefCell;
use std::io;
use std::os::fd::RawFd;
use std::rc::Weak;

/// Accepts per readiness before yielding to other descriptors.
const ACCEPT_BATCH: usize = 64;
/// First and longest wait after EMFILE, ENFILE, ENOBUFS or ENOMEM.
const BACKOFF_MIN: f64 = 0.05;
const BACKOFF_MAX: f64 = 1.0;

/// `... -> select accept`: accept until the backlog is empty (the watcher
/// is edge-triggered), each connection a synchronous SuccessEvent.
pub(crate) fn accept<H: 'static>(
    weak: Weak<RefCell<State>>,
    id: WheelId,
    fd: RawFd,
    retry_event: EventName,
) -> impl Fn(&mut Ctx<'_, H>) + 'static {
    move |ctx| {
        let me = ctx.session();
        for _ in 0..ACCEPT_BATCH {
            let Some(state) = weak.upgrade() else { return };
            // One borrow per accept: check, accept, and take what the
            // outcome needs.
            let mut st = state.borrow_mut();
            if st.role != Role::Listening || st.user_paused || st.retry_alarm.is_some() {
                return;
            }
            let Some(listener) = st.socket.as_ref() else {
                return;
            };
            let flags = libc::SOCK_NONBLOCK | libc::SOCK_CLOEXEC;
            match listener.accept4(flags) {
                Ok((socket, addr)) => {
                    st.last_backoff = 0.0;
                    let (success, flavor) = (st.success.clone(), st.flavor);
                    drop(st);
                    drop(state);
                    let _ = ctx.call(me, success, accepted_args(flavor, socket, &addr, id));
                }
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => return,
                // The peer gave up, or a signal: the next one may be fine.
                Err(e)
                    if matches!(
                        e.raw_os_error(),
                        Some(libc::ECONNABORTED | libc::EPROTO | libc::EINTR)
                    ) => {}
                Err(e) => {
                    let failure = st.failure.clone();
                    drop(st);
                    drop(state);
                    let errno = e.raw_os_error().unwrap_or(0);
                    let exhausted = matches!(
                        errno,
                        libc::EMFILE | libc::ENFILE | libc::ENOBUFS | libc::ENOMEM
                    );
                    // Out of descriptors: back off, and report only the
                    // first failure of the episode (it ends at the next
                    // successful accept), not every retry.
                    let report = !exhausted || back_off(ctx, &weak, fd, &retry_event, errno);
                    if let (true, Some(failure)) = (report, failure) {
                        let args = Failure::from_io("accept", &e).args(id);
                        let _ = ctx.call(me, failure, args);
                    }
                    return;
                }
            }
        }
        // A full batch: let other descriptors run, then continue.
        ctx.select_retrigger(&Fd(fd), Mode::Read);
    }
}

/// An accepted connection's event arguments, in the wheel's convention.
fn accepted_args(flavor: Flavor, socket: Socket, addr: &SockAddr, id: WheelId) -> Vec<Value> {
    match flavor {
        Flavor::SocketFactory => {
            let (peer, port) = peer_args(addr);
            vec![Value::local(socket), peer, port, Value::from(id)]
        }
        Flavor::ListenAccept => vec![
            Value::local(socket),
            Value::from(raw_sockaddr(addr)),
            Value::from(id),
        ],
    }
}

/// The `struct sockaddr` bytes `accept(2)` filled in, as POE's ListenAccept
/// passes them (Perl's `unpack_sockaddr_in` reads them back).
pub(crate) fn raw_sockaddr(addr: &SockAddr) -> Vec<u8> {
    let family = addr.family().to_ne_bytes();
    match addr.as_socket() {
        Some(std::net::SocketAddr::V4(a)) => {
            let mut out = Vec::with_capacity(16);
            out.extend_from_slice(&family);
            out.extend_from_slice(&a.port().to_be_bytes());
            out.extend_from_slice(&a.ip().octets());
            out.extend_from_slice(&[0; 8]);
            out
        }
        Some(std::net::SocketAddr::V6(a)) => {
            let mut out = Vec::with_capacity(28);
            out.extend_from_slice(&family);
            out.extend_from_slice(&a.port().to_be_bytes());
            out.extend_from_slice(&a.flowinfo().to_be_bytes());
            out.extend_from_slice(&a.ip().octets());
            out.extend_from_slice(&a.scope_id().to_ne_bytes());
            out
        }
        None => {
            let mut out = family.to_vec();
            if let Some(path) = addr.as_pathname() {
                out.extend_from_slice(path.as_os_str().as_encoded_bytes());
            }
            out
        }
    }
}

/// Out of descriptors: the connection stays in the backlog, and accepting
/// pauses for a while instead of failing in a busy loop (POE's select
/// would report the listener ready, and fail, on every timeslice). Returns
/// true for the first failure of an episode, the one to report.
fn back_off<H: 'static>(
    ctx: &mut Ctx<'_, H>,
    weak: &Weak<RefCell<State>>,
    fd: RawFd,
    retry_event: &EventName,
    errno: i32,
) -> bool {
    let Some(state) = weak.upgrade() else {
        return false;
    };
    let (wait, first) = {
        let mut st = state.borrow_mut();
        let first = st.last_backoff == 0.0;
        // Double the wait while failures continue; an accept resets it.
        st.last_backoff = (st.last_backoff * 2.0).clamp(BACKOFF_MIN, BACKOFF_MAX);
        (st.last_backoff, first)
    };
    let why = crate::errno_text(errno);
    if first {
        log::warn!(target: "poe::wheels", "accept on fd {fd}: {why}; retrying in {wait}s");
    } else {
        log::debug!(target: "poe::wheels", "accept on fd {fd}: still {why}; retrying in {wait}s");
    }
    ctx.select_pause(&Fd(fd), Mode::Read);
    if let Ok(alarm) = ctx.delay_set(retry_event.clone(), wait, ()) {
        state.borrow_mut().retry_alarm = Some(alarm);
    }
    first
}

/// `... -> retry accept`: the backoff is over; accept again.
pub(crate) fn retry_accept<H: 'static>(
    weak: Weak<RefCell<State>>,
    fd: RawFd,
) -> impl Fn(&mut Ctx<'_, H>) + 'static {
    move |ctx| {
        let Some(state) = weak.upgrade() else { return };
        let resume = {
            let mut st = state.borrow_mut();
            st.retry_alarm = None;
            !st.user_paused
        };
        if resume {
            ctx.select_resume(&Fd(fd), Mode::Read);
        }
    }
}

/// `... -> select connect`: the socket became writable, so the connect
/// finished. The wheel removes its watcher and this state first, then
/// reports: SuccessEvent with the socket, or FailureEvent('connect', ...).
pub(super) fn connected<H: 'static>(
    weak: Weak<RefCell<State>>,
    id: WheelId,
    own_state: String,
) -> impl Fn(&mut Ctx<'_, H>) + 'static {
    move |ctx| {
        let Some(state) = weak.upgrade() else { return };
        let (socket, success, failure) = {
            let mut st = state.borrow_mut();
            if st.role != Role::Connecting {
                return;
            }
            // The socket is the user's from here: the wheel must not touch
            // watches on its descriptor again (inert: no fd).
            st.role = Role::Inert;
            (st.socket.take(), st.success.clone(), st.failure.clone())
        };
        drop(state);
        let Some(socket) = socket else { return };
        let me = ctx.session();
        let _ = ctx.select_remove(&socket, Mode::Write);
        ctx.remove_state(&own_state);
        let outcome = match socket.take_error() {
            Ok(None) => socket.peer_addr(),
            Ok(Some(e)) | Err(e) => Err(e),
        };
        match outcome {
            Ok(peer) => {
                let (addr, port) = peer_args(&peer);
                let args = vec![Value::local(socket), addr, port, Value::from(id)];
                let _ = ctx.call(me, success, args);
            }
            Err(e) => {
                if let Some(failure) = failure {
                    let args = Failure::from_io("connect", &e).args(id);
                    let _ = ctx.call(me, failure, args);
                }
            }
        }
    }
}
