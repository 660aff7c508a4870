//! The two kinds of stand-in session IKC creates:
//!
//! * a **thunk** runs one remote request's handler and is that handler's
//!   SENDER, so posting back to SENDER travels back to the remote sender
//!   (Perl's POE::Component::IKC::Responder::Thunk, §5.5);
//! * a **proxy** stands for a subscribed remote session: whatever is
//!   posted to it is forwarded as a proxied post (§5.6).

use super::link::Link;
use super::responder::Registry;
use super::{Request, Specifier, PROXY_STATE};
use poe_kernel::{Session, SessionId, Value};
use std::cell::RefCell;
use std::rc::Rc;

/// What a thunk's handler call produced: its value, or why it could not
/// run.
pub(crate) type Outcome = Rc<RefCell<Option<Result<Value, String>>>>;

pub(crate) struct Thunk {
    link: Rc<Link>,
    /// The remote sender, if it said who it is.
    from: Option<Specifier>,
    /// Our side of it: `{our ID, the addressed session, IKC:proxy}`.
    reply_from: Specifier,
}

/// A session that calls `target`'s `state` with `args` from its `_start`
/// (so the handler's SENDER is the thunk), stores the result in
/// `outcome`, and forwards whatever is later posted to it back to `from`.
pub(crate) fn thunk(
    link: Rc<Link>,
    from: Option<Specifier>,
    reply_from: Specifier,
    target: SessionId,
    state: String,
    args: Vec<Value>,
    outcome: Outcome,
) -> Session<Thunk> {
    Session::new(Thunk {
        link,
        from,
        reply_from,
    })
    .state("_start", move |ctx| {
        let result = ctx
            .call(target, state.clone(), args.clone())
            .map_err(|e| e.to_string());
        *outcome.borrow_mut() = Some(result);
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
        let mut r = Request::post(&Specifier::default(), Value::List(args));
        r.event = from.with_state(event).to_value();
        r
    } else {
        let mut r = Request::post(
            &Specifier::default(),
            Value::list([Value::from(event), Value::List(args)]),
        );
        r.event = from.to_value();
        r
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
        let full = format!(
            "poe://{}/{}",
            ctx.heap.remote.kernel, ctx.heap.remote.session
        );
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
        let mut request = Request::post(
            &Specifier::default(),
            Value::list([Value::from(event), Value::List(args)]),
        );
        request.event = ctx.heap.remote.with_state(PROXY_STATE).to_value();
        request.from = reg.sender_spec(&sender_aliases);
        let links = reg.route(&ctx.heap.remote.kernel);
        drop(reg);
        if links.is_empty() {
            log::warn!(target: "poe::ikc", "proxy {}: not connected", ctx.heap.remote);
        }
        for link in links {
            link.send(request.clone());
        }
    })
    .state("_stop", |ctx| {
        let key = format!(
            "poe://{}/{}",
            ctx.heap.remote.kernel, ctx.heap.remote.session
        );
        ctx.heap.reg.borrow_mut().proxies.remove(&key);
    })
    .state("_parent", |_| ())
    .state("_child", |_| ())
}
