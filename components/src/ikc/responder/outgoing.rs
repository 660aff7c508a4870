//! Requests this kernel sends: `post`, `call` (with RSVP), `subscribe`.

use super::super::link::Link;
use super::super::{Request, Specifier};
use super::registry::{PendingCall, PendingSubscribe, Registry};
use super::IKC_ALIAS;
use poe_kernel::{Ctx, EventName, SessionId, Value};
use std::rc::Rc;

/// A destination as the sender wrote it: strings without `poe:` mean
/// `poe://...` (so `worker/jobs/run` is kernel/session/state); hashes
/// are taken as they are.
pub(crate) fn destination(spec: &Value) -> Option<Specifier> {
    match spec {
        Value::Map(_) => Some(Specifier::from_value(spec)),
        other => {
            let s = other.as_str()?;
            if s.starts_with("poe:") {
                Specifier::parse(s)
            } else {
                Specifier::parse(&format!("poe://{s}"))
            }
        }
    }
}

/// Why a message could not be sent anywhere.
pub(crate) fn unroutable(reg: &Registry, kernel: &str) -> String {
    if reg.remotes.is_empty() {
        "Not connected to any foreign kernels".to_owned()
    } else {
        format!("Unknown kernel '{kernel}'")
    }
}

/// Send `request` to every link in `links`, in order; the number
/// reached. Only a broadcast's extra links cost a copy of the request.
pub(crate) fn send_to(links: &[Rc<Link>], request: Request) -> usize {
    let Some((last, others)) = links.split_last() else {
        return 0;
    };
    let reached = others.iter().filter(|l| l.send(request.clone())).count();
    reached + usize::from(last.send(request))
}

/// The RSVP address of a call from `caller`: `poe:STATE` is the caller's
/// own state (its numeric ID travels, as in Perl), `poe:/SESSION/STATE`
/// a named session, a hash is taken as it is. The kernel part is left
/// empty: the channel fills in its own name.
pub(crate) fn rsvp_for(caller: SessionId, rsvp: &Value) -> Option<(Value, String, String)> {
    let spec = match rsvp {
        Value::Map(_) => Specifier::from_value(rsvp),
        other => Specifier::parse(other.as_str()?)?,
    };
    if spec.state.is_empty() {
        return None;
    }
    let (session_value, session) = if spec.session.is_empty() {
        let id = caller.get();
        (Value::from(id), id.to_string())
    } else {
        (Value::from(spec.session.as_str()), spec.session.clone())
    };
    let value = Value::map([
        ("kernel", Value::from(spec.kernel.as_str())),
        ("session", session_value),
        ("state", Value::from(spec.state.as_str())),
    ]);
    Some((value, session, spec.state))
}

/// Record a pending call written to `channels` (none for a local call):
/// its allowance, and its timeout alarm (set by the `IKC` session, which
/// `ctx` must be). Returns the call's id.
pub(crate) fn pend_call<H: 'static>(
    ctx: &mut Ctx<'_, H>,
    reg: &mut Registry,
    caller: SessionId,
    (session, state): (String, String),
    channels: Vec<SessionId>,
    timeout: Option<f64>,
) -> u64 {
    reg.allow(&session, &state);
    let id = reg.next_id();
    let alarm = timeout.and_then(|secs| ctx.delay_set("ikc_call_timeout", secs, (id,)).ok());
    reg.calls.insert(
        id,
        PendingCall {
            session: caller,
            state: state.clone(),
            key: (session, state),
            channels,
            alarm,
        },
    );
    id
}

/// A call ended (answered, failed or abandoned): drop its timeout, which
/// would otherwise keep the `IKC` session, and so the kernel, busy until
/// it passed. `responder` is the `IKC` session, the alarm's owner.
pub(crate) fn cancel_timeout<H: 'static>(
    ctx: &mut Ctx<'_, H>,
    responder: SessionId,
    call: &PendingCall,
) {
    if let Some(alarm) = call.alarm {
        let _ = ctx.kernel().alarm_remove_for(responder, alarm);
    }
}

/// End calls that will get no reply: each caller's RSVP state gets
/// `(undef, message, when)` at once, the shape a timeout has.
pub(crate) fn fail_calls<H: 'static>(
    ctx: &mut Ctx<'_, H>,
    responder: SessionId,
    calls: Vec<PendingCall>,
    message: &str,
    when: &str,
) {
    for call in calls {
        cancel_timeout(ctx, responder, &call);
        log::debug!(target: "poe::ikc", "call replying to {}/{} ended: {message}", call.key.0, call.key.1);
        let _ = ctx.post(
            call.session,
            call.state.clone(),
            (Value::Undef, message, when),
        );
    }
}

/// Start subscribing `caller` to `specs`; `callback` gets the accepted
/// ones. Returns the subscription's id, or `None` when nothing was sent
/// (the callback is then due at once).
pub(crate) fn subscribe(
    reg: &mut Registry,
    caller: SessionId,
    specs: &[Specifier],
    callback: Option<EventName>,
) -> Option<u64> {
    let id = reg.next_id();
    let own = reg.kernel_id.clone();
    let mut sent = 0;
    for spec in specs {
        let links = reg.route(&spec.kernel);
        let receipt = format!("IKC:receipt {id} {spec}");
        let asked = Specifier::new(spec.kernel.clone(), spec.session.clone(), "");
        let mut request = Request::new(
            Specifier::new(spec.kernel.clone(), IKC_ALIAS, "do_you_have").to_value(),
            Value::list([asked.to_value(), Value::from(own.as_str())]),
        );
        request.from = Some(Specifier::new(own.clone(), IKC_ALIAS, ""));
        request.rsvp = Some(Specifier::new(own.clone(), IKC_ALIAS, receipt.clone()).to_value());
        for link in links {
            if link.send(request.clone()) {
                reg.allow(IKC_ALIAS, &receipt);
                sent += 1;
            }
        }
    }
    if sent == 0 {
        return None;
    }
    reg.subscribes.insert(
        id,
        PendingSubscribe {
            session: caller,
            callback,
            waiting: sent,
            accepted: Vec::new(),
            alarm: None,
        },
    );
    Some(id)
}
