//! POE::Component::IKC: inter-kernel communication, wire-compatible with
//! Perl's POE::Component::IKC 0.2402.
//!
//! Kernels — Rust or Perl, in other processes or on other hosts — post
//! events to each other's sessions, call them with a reply address
//! (RSVP), and subscribe to each other's sessions through local proxies.
//! The pieces, as in Perl:
//!
//! * the **Responder**, a session aliased `IKC` that programs talk to with
//!   events (`publish`, `post`, `call`, `subscribe`, `monitor`,
//!   `shutdown`...; the table is in [`Ikc`]'s docs), started by the first
//!   [`Server`] or [`Client`];
//! * [`Server`] and [`Client`], which make connections; each connection is
//!   a [`Channel`] session that negotiates (Perl's SETUP line, or the older
//!   HELLO dialogue) and then carries Storable frames;
//! * [`ClientLite`] ([`lite`]), a blocking client for scripts and tools
//!   without a kernel.
//!
//! A remote kernel reaches only what a session published: anything else
//! gets an error reply and never runs. Only the Storable serializer is
//! spoken (Perl's Data::Dumper freezer runs received code). A broken or
//! hostile peer costs its own channel: malformed and oversize frames,
//! garbage or endless negotiations, a close half way.
//!
//! ```no_run
//! use poe_components::ikc::{Ikc, Server};
//! use poe_kernel::{Kernel, Session, Value};
//!
//! // The worker: publish `jobs/square` and serve.
//! let kernel = Kernel::new().unwrap();
//! Server::builder().port(6030).name("worker").spawn(&kernel).unwrap();
//! kernel.create(Session::new(())
//!     .state("_start", |ctx| {
//!         ctx.alias_set("jobs").unwrap();
//!         Ikc::publish(ctx, "jobs", &["square"]).unwrap();
//!     })
//!     .state("square", |ctx| {
//!         let n = ctx.arg(0).as_i64().unwrap_or(0);
//!         Value::from(n * n) // a call's RSVP gets this
//!     })).unwrap();
//! kernel.run();
//! ```
//!
//! The boss side: `Ikc::call(ctx, "poe://worker/jobs/square", 7,
//! "poe:answer")` from a session with an `answer` state.

//!
//! Underneath: [`Specifier`] and [`Request`] are the addresses and
//! messages, [`negotiation`] the handshake as a pure state machine.

mod channel;
mod client;
mod link;
pub mod lite;
mod message;
pub mod negotiation;
mod proxy;
mod responder;
mod server;
mod settings;
mod specifier;

pub use channel::{Channel, ConnectCallback, ErrorCallback};
pub use client::{Client, ClientBuilder, DEFAULT_CLIENT_PORT};
pub use lite::{ClientLite, LiteError};
pub use message::{Request, RequestError, PROXY_STATE};
pub use responder::{Context, IKC_ALIAS};
pub use server::{Listening, Server, ServerBuilder, DEFAULT_SERVER_PORT};
pub use settings::{DEFAULT_MAX_FRAME, DEFAULT_NEGOTIATION_TIMEOUT};
pub use specifier::Specifier;

use poe_kernel::{IntoArgs, Kernel, Result, Value};

/// Typed shortcuts for the Responder's events: each is a `call` to the
/// `IKC` session from the active session (whose aliases and ID become the
/// message's `from` and RSVP). `ctx.call("IKC", "publish", ...)` and
/// friends work just the same, as `$kernel->call(IKC => ...)` does in
/// Perl.
///
/// | event | arguments | returns |
/// | --- | --- | --- |
/// | `publish` | session (alias or ID), states (list or one name) | |
/// | `retract` | session, optional states | |
/// | `published` | optional session | its states, or a map of all |
/// | `post` | specifier, params | connections written to |
/// | `call` | specifier, params, RSVP (`poe:STATE`, `poe:/SESSION/STATE`), optional timeout in seconds | connections written to |
/// | `subscribe` | specifiers (`poe://KERNEL/SESSION`), callback state | |
/// | `unsubscribe` | specifiers | |
/// | `monitor` | kernel name or `*`, a map of IKC event -> state (and `data`) | |
/// | `shutdown` | | |
/// | `ping` | | `PONG` |
/// | `register_local` | names meaning this kernel | |
/// | `default` | the remote kernel an empty kernel part means | |
///
/// A call's reply arrives at the RSVP state as `ARG0`. A call that can
/// no longer be answered ends with `(undef, MESSAGE, WHEN)` at the RSVP
/// state instead, at once and exactly once, WHEN being
///
/// * `timeout`: its timeout passed (`"Timed out waiting for the reply"`);
/// * `remote-check`, `remote-resolve`...: a poe-rs peer reported that the
///   call failed there;
/// * `disconnect`: the channel it was written to closed first (`"The
///   connection to KERNEL closed before the reply came"`);
/// * `shutdown`: IKC shut down first (`"IKC shut down before the reply
///   came"`);
/// * `local-invocation`: a call addressed to this kernel whose handler
///   could not run (no such state).
///
/// Perl callers wait for ever in each of these cases. A call addressed to
/// this kernel runs its handler in an event of its own, in scalar
/// [`Context`], and the value reaches the RSVP state as a remote reply
/// would (undef, as from a remote kernel, is no reply: the timeout ends
/// the call). A call to a session that does not exist reaches no one and
/// returns 0, as a post does.
///
/// Monitor states get `(monitor name, kernel name, is-canonical-ID, data,
/// extra...)` for `register` (extra: the PID), `unregister`, `channel`
/// (`ready`/`close`, channel session ID), `subscribe`/`unsubscribe` (the
/// specifier), `error` (WHEN, MESSAGE) and `shutdown`.
pub struct Ikc;

impl Ikc {
    /// Make `states` of `session` (an alias) reachable from other kernels.
    pub fn publish(kernel: &Kernel, session: &str, states: &[&str]) -> Result<()> {
        let states = Value::list(states.iter().copied());
        kernel
            .call(IKC_ALIAS, "publish", (session, states))
            .map(drop)
    }

    /// Withdraw `states` of `session`, or all of them when `states` is
    /// empty. Remote subscribers are not told (as in Perl).
    pub fn retract(kernel: &Kernel, session: &str, states: &[&str]) -> Result<()> {
        let states = Value::list(states.iter().copied());
        kernel
            .call(IKC_ALIAS, "retract", (session, states))
            .map(drop)
    }

    /// Post `params` to a remote state (`poe://KERNEL/SESSION/STATE`;
    /// `KERNEL/SESSION/STATE` works too). Returns how many connections it
    /// was written to (`*` as kernel means every one).
    pub fn post(kernel: &Kernel, spec: &str, params: impl Into<Value>) -> Result<usize> {
        let n = kernel.call(IKC_ALIAS, "post", (spec, params.into()))?;
        Ok(n.as_i64().unwrap_or(0) as usize)
    }

    /// Call a remote state; its return value comes to `rsvp` (`poe:STATE`
    /// for the calling session's own state) as `ARG0`.
    pub fn call(
        kernel: &Kernel,
        spec: &str,
        params: impl Into<Value>,
        rsvp: &str,
    ) -> Result<usize> {
        let n = kernel.call(IKC_ALIAS, "call", (spec, params.into(), rsvp))?;
        Ok(n.as_i64().unwrap_or(0) as usize)
    }

    /// [`Ikc::call`], giving up after `secs`: the RSVP state then gets
    /// `(undef, "Timed out waiting for the reply", "timeout")`.
    pub fn call_with_timeout(
        kernel: &Kernel,
        spec: &str,
        params: impl Into<Value>,
        rsvp: &str,
        secs: f64,
    ) -> Result<usize> {
        let n = kernel.call(IKC_ALIAS, "call", (spec, params.into(), rsvp, secs))?;
        Ok(n.as_i64().unwrap_or(0) as usize)
    }

    /// Subscribe to remote sessions (`poe://KERNEL/SESSION`): each accepted
    /// one gets a local proxy session, aliased `poe://KERNEL/SESSION` (and
    /// `SESSION` when free), that forwards whatever is posted to it. The
    /// calling session's `callback` state then gets the accepted list.
    pub fn subscribe(kernel: &Kernel, specs: &[&str], callback: &str) -> Result<()> {
        let specs = Value::list(specs.iter().copied());
        kernel
            .call(IKC_ALIAS, "subscribe", (specs, callback))
            .map(drop)
    }

    /// Watch IKC events about `kernel_name` (`*` for all): `events` maps an
    /// IKC event (`register`, `unregister`, `channel`, `subscribe`,
    /// `unsubscribe`, `error`, `shutdown`) to a state of the calling
    /// session. No events: stop watching.
    pub fn monitor(kernel: &Kernel, kernel_name: &str, events: &[(&str, &str)]) -> Result<()> {
        let map = if events.is_empty() {
            Value::Undef
        } else {
            Value::map(events.iter().map(|(k, v)| (*k, *v)))
        };
        kernel
            .call(IKC_ALIAS, "monitor", (kernel_name, map))
            .map(drop)
    }

    /// Close every channel (each after flushing), stop the servers, drop
    /// the proxies.
    pub fn shutdown(kernel: &Kernel) -> Result<()> {
        kernel.call(IKC_ALIAS, "shutdown", ()).map(drop)
    }

    /// Inside a handler run for a remote kernel (or for a `call`
    /// addressed to this kernel, `Scalar`): whether it was posted
    /// (`Void`) or called, and in which context (Perl's `wantarray`).
    /// `Context::None` outside IKC requests.
    ///
    /// ```
    /// use poe_components::ikc::{Context, Ikc};
    /// assert_eq!(Ikc::context(), Context::None);
    /// ```
    pub fn context() -> Context {
        responder::context()
    }

    /// Any other Responder event, as in Perl: `Ikc::event(kernel,
    /// "published", ())`.
    pub fn event(kernel: &Kernel, name: &'static str, args: impl IntoArgs) -> Result<Value> {
        kernel.call(IKC_ALIAS, name, args)
    }
}
