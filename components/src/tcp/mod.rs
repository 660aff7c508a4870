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

/// An address as the component reports it: dotted quad, IPv6 text, or
/// "LOCAL" for UNIX sockets (POE's `remote_ip`).
pub(crate) fn ip_text(addr: &socket2::SockAddr) -> (String, u16) {
    match addr.as_socket() {
        Some(sa) => (sa.ip().to_string(), sa.port()),
        None => ("LOCAL".to_owned(), 0),
    }
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
