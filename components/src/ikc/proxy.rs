//! The two kinds of stand-in session IKC creates:
//!
//! * a **thunk** runs one remote request's handler and is that handler's
//!   SENDER, so posting back to SENDER travels back to the remote sender
//!   (Perl's POE::Component::IKC::Responder::Thunk, §5.5);
//! * a **proxy** stands for a subscribed remote session: whatever is
//!   posted to it is forwarded as a proxied post (§5.6).

use super::link::Link;
use super::responder::{send_to, Registry};
use super::{Request, Specifier, PROXY_STATE};
use poe_kernel::{Session, Value};
use std::cell::RefCell;
use std::rc::Rc;

/// The refcount tag that keeps a cached thunk alive until its channel
/// closes.
const THUNK_TAG: &str = "IKC thunk";

/// Why the last invocation through a thunk failed, if it did.
pub(crate) type ThunkError = Rc<RefCell<Option<String>>>;

pub(crate) struct Thunk {
    link: Rc<Link>,
    /// The remote sender, if it said who it is.
    from: Option<Specifier>,
    /// Our side of it: `{our ID, the addressed session, IKC:proxy}`.
    reply_from: Specifier,
    error: ThunkError,
}

/// A thunk standing for the remote sender `from` of requests addressed
/// to one local session. Its `ikc_invoke` event, `(target, state,
/// args...)`, calls the handler (so the handler's SENDER is the thunk)
/// and returns its value; whatever is later posted to the thunk goes back
/// to `from`. The channel caches thunks and releases them when it closes
/// (`ikc_release`): creating a session per request cost more than the
/// request itself.
pub(crate) fn thunk(
    link: Rc<Link>,
    from: Option<Specifier>,
    reply_from: Specifier,
    error: ThunkError,
) -> Session<Thunk> {
    Session::new(Thunk {
        link,
        from,
        reply_from,
        error,
    })
    .state("_start", |ctx| {
        let me = ctx.session();
        let _ = ctx.refcount_increment(me, THUNK_TAG);
    })
    .state("ikc_invoke", |ctx| {
        let mut args = std::mem::take(ctx.args).into_vec();
        if args.len() < 2 {
            return Value::Undef;
        }
        let rest = args.split_off(2);
        let target = args[0].as_i64().unwrap_or(0) as u64;
        let state = args[1].to_string();
        let result = ctx
            .kernel()
            .id_to_session(target)
            .and_then(|target| ctx.call(target, state, rest));
        match result {
            Ok(v) => v,
            Err(e) => {
                *ctx.heap.error.borrow_mut() = Some(e.to_string());
                Value::Undef
            }
        }
    })
    .state("ikc_release", |ctx| {
        let me = ctx.session();
        let _ = ctx.refcount_decrement(me, THUNK_TAG);
    })
    .state("_default", |ctx| {
        let event = ctx.arg(0).to_string();
        let args = ctx
            .arg(1)
            .as_list()
            .map(<[Value]>::to_vec)
            .unwrap_or_default();
        post_back(ctx.heap, &event, args);
    })
    .state("_stop", |_| ())
    .state("_parent", |_| ())
    .state("_child", |_| ())
}

/// §5.5: a post to a thunk goes back to the request's `from`.
fn post_back(thunk: &Thunk, event: &str, args: Vec<Value>) {
    let Some(from) = &thunk.from else {
        log::warn!(target: "poe::ikc", "Attempt to respond to an anonymous foreign post ({event})");
        return;
    };
    let mut request = if from.state.is_empty() {
        // ClientLite and the subscription machinery name no state: the
        // event itself becomes the state.
        Request::new(from.with_state(event).to_value(), Value::List(args))
    } else {
        Request::new(
            from.to_value(),
            Value::list([Value::from(event), Value::List(args)]),
        )
    };
    request.from = Some(thunk.reply_from.clone());
    thunk.link.send(request);
}

pub(crate) struct Proxy {
    reg: Rc<RefCell<Registry>>,
    /// The remote session, as subscribed: `poe://KERNEL/SESSION`.
    remote: Specifier,
    aliases: Vec<String>,
}

/// A session aliased `poe://KERNEL/SESSION` (and `SESSION`, when that
/// alias is free) that forwards every event posted or called to it.
pub(crate) fn proxy(reg: Rc<RefCell<Registry>>, remote: Specifier) -> Session<Proxy> {
    Session::new(Proxy {
        reg,
        remote,
        aliases: Vec::new(),
    })
    .state("_start", |ctx| {
        let full = ctx.heap.remote.session_address();
        let short = ctx.heap.remote.session.clone();
        let mut aliases = vec![full.clone()];
        if ctx.alias_resolve(short.as_str()).is_none() {
            aliases.push(short);
        }
        for a in &aliases {
            let _ = ctx.alias_set(a);
        }
        ctx.heap.aliases = aliases;
        log::debug!(target: "poe::ikc", "proxy {full} is session {}", ctx.session());
    })
    .state("ikc_unsubscribe", |ctx| {
        for a in std::mem::take(&mut ctx.heap.aliases) {
            let _ = ctx.alias_remove(&a);
        }
    })
    .state("_default", |ctx| {
        let event = ctx.arg(0).to_string();
        let args = ctx
            .arg(1)
            .as_list()
            .map(<[Value]>::to_vec)
            .unwrap_or_default();
        let sender_aliases = ctx.alias_list(ctx.sender()).unwrap_or_default();
        let reg = ctx.heap.reg.borrow();
        let mut request = Request::new(
            ctx.heap.remote.with_state(PROXY_STATE).to_value(),
            Value::list([Value::from(event), Value::List(args)]),
        );
        request.from = reg.sender_spec(&sender_aliases);
        let links = reg.route(&ctx.heap.remote.kernel);
        drop(reg);
        if links.is_empty() {
            log::warn!(target: "poe::ikc", "proxy {}: not connected", ctx.heap.remote);
        }
        send_to(&links, request);
    })
    .state("_stop", |ctx| {
        let key = ctx.heap.remote.session_address();
        ctx.heap.reg.borrow_mut().proxies.remove(&key);
    })
    .state("_parent", |_| ())
    .state("_child", |_| ())
}
