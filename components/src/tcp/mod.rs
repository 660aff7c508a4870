//! TCP components: [`Server`] and [`Client`].
//!
//! Both are sessions built from SocketFactory and ReadWrite, as in POE.
//! Their callbacks run inside the component's own states (POE calls its
//! coderefs the same way), with the component's heap: [`Connection`] for a
//! server's client sessions, [`ClientHeap`] for a client, [`Listener`] for
//! a server's listening session. Each keeps POE's reserved members as
//! typed fields and dereferences to the program's own data `U`.

mod client;
mod error;
mod filter;
mod server;

pub use client::{Client, ClientBuilder, ClientHeap, ServerWheel};
pub use error::ComponentError;
pub use filter::FilterSpec;
pub use server::{ClientWheel, Connection, Listener, Listening, Server, ServerBuilder};

use poe_filters::Filter;
use poe_kernel::{Ctx, Value};
use poe_wheels::ReadWriteBuilder;
use std::net::{IpAddr, SocketAddr};
use std::rc::Rc;

/// The address family a component listens or connects in (POE's
/// `Domain`).
pub use poe_wheels::socket_factory::SocketDomain as Domain;

/// A callback run inside one of the component's states: it gets the state's
/// context (heap, arguments, kernel) and may return a value.
///
/// The same type as a state's [`Handler`](poe_kernel::Handler), so one can
/// be registered as a state directly.
pub(crate) type Callback<H> = poe_kernel::Handler<H>;

/// A connection's input state (ClientInput, ServerInput): `f` for each
/// record, unless `shutting_down` says the heap's connection is closing.
/// Built once per component and registered as the state itself: no
/// wrapper per session, no second dynamic call per record.
pub(crate) fn input_state<H: 'static, R: Into<Value>>(
    shutting_down: impl Fn(&H) -> bool + 'static,
    f: impl Fn(&mut Ctx<'_, H>) -> R + 'static,
) -> Callback<H> {
    Rc::new(move |ctx: &mut Ctx<'_, H>| {
        if shutting_down(ctx.heap) {
            Value::Undef
        } else {
            f(ctx).into()
        }
    })
}

/// Wrap a user closure as a [`Callback`].
pub(crate) fn callback<H: 'static, R: Into<Value>>(
    f: impl Fn(&mut Ctx<'_, H>) -> R + 'static,
) -> Callback<H> {
    Rc::new(move |ctx: &mut Ctx<'_, H>| f(ctx).into())
}

/// Run an optional callback.
pub(crate) fn run<H: 'static>(cb: &Option<Callback<H>>, ctx: &mut Ctx<'_, H>) {
    if let Some(cb) = cb {
        cb(ctx).discard();
    }
}

/// The peer in SocketFactory's SuccessEvent arguments `(socket,
/// peer_address, peer_port, ...)`: the packed address (4 or 16 octets)
/// and the port; `None` for a UNIX socket, where both are undef.
pub(crate) fn peer_of(addr: &Value, port: &Value) -> Option<SocketAddr> {
    let octets = addr.as_bytes()?;
    let ip: IpAddr = match octets.len() {
        4 => <[u8; 4]>::try_from(octets).ok()?.into(),
        16 => <[u8; 16]>::try_from(octets).ok()?.into(),
        _ => return None,
    };
    Some(SocketAddr::new(ip, u16::try_from(port.as_i64()?).ok()?))
}

/// A peer as the component reports it (POE's `remote_ip` and
/// `remote_port`): dotted quad or IPv6 text and the port, or "LOCAL" and
/// 0 for a UNIX socket.
pub(crate) fn ip_text(peer: Option<SocketAddr>) -> (String, u16) {
    let Some(peer) = peer else {
        return ("LOCAL".to_owned(), 0);
    };
    let text = match peer.ip() {
        // Written out: `Ipv4Addr`'s Display goes through the formatting
        // machinery, about 2 600 instructions of every accepted
        // connection's 36 000 (callgrind).
        IpAddr::V4(v4) => {
            let mut s = String::with_capacity("255.255.255.255".len());
            for (i, octet) in v4.octets().into_iter().enumerate() {
                if i > 0 {
                    s.push('.');
                }
                if octet >= 100 {
                    s.push(char::from(b'0' + octet / 100));
                }
                if octet >= 10 {
                    s.push(char::from(b'0' + octet / 10 % 10));
                }
                s.push(char::from(b'0' + octet % 10));
            }
            s
        }
        IpAddr::V6(v6) => v6.to_string(),
    };
    (text, peer.port())
}

/// The configured filter, or POE's default (a new Filter::Line).
pub(crate) fn make_filter(spec: Option<&FilterSpec>) -> Box<dyn Filter> {
    spec.map_or_else(|| FilterSpec::default().make(), FilterSpec::make)
}

/// POE croaks unless all four watermark settings (both marks and both
/// events) are given, or none.
pub(crate) fn all_or_none(given: [bool; 4], message: &'static str) -> Result<(), ComponentError> {
    if given.iter().any(|&g| g) && !given.iter().all(|&g| g) {
        return Err(ComponentError::Conflict(message));
    }
    Ok(())
}

/// The watermark half of a component's wheel: both marks and the wheel's
/// High/Low events, when they are configured.
pub(crate) fn with_marks(
    b: ReadWriteBuilder,
    marks: (Option<usize>, Option<usize>),
    high_event: &'static str,
    low_event: &'static str,
) -> ReadWriteBuilder {
    match marks {
        (Some(h), Some(l)) => b
            .high_mark(h)
            .low_mark(l)
            .high_event(high_event)
            .low_event(low_event),
        _ => b,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn remote_ip_is_the_usual_text_of_every_address() {
        let octets = [0u8, 1, 9, 10, 42, 99, 100, 101, 199, 200, 250, 255];
        for (i, &a) in octets.iter().enumerate() {
            let ip =
                std::net::Ipv4Addr::new(a, octets[(i + 3) % 12], octets[(i + 7) % 12], 255 - a);
            let peer = SocketAddr::new(ip.into(), 40_000 + i as u16);
            assert_eq!(ip_text(Some(peer)), (ip.to_string(), 40_000 + i as u16));
        }
        let v6: SocketAddr = "[2001:db8::7]:80".parse().unwrap();
        assert_eq!(ip_text(Some(v6)), ("2001:db8::7".to_owned(), 80));
        assert_eq!(ip_text(None), ("LOCAL".to_owned(), 0));
    }
}
