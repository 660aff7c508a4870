//! The Responder: the session aliased `IKC` that every IKC program talks
//! to (Perl's POE::Component::IKC::Responder, ikc-protocol.md §6).
//!
//! Its events are listed on [`Ikc`](super::Ikc).

mod incoming;
mod outgoing;
mod registry;

pub use incoming::Context;
pub(crate) use incoming::{context, handle as handle_request, release_thunks};
pub(crate) use registry::Registry;

use super::proxy::proxy;
use super::Specifier;
pub(crate) use outgoing::destination;
pub(crate) use outgoing::{cancel_timeout, fail_calls, send_to};
use outgoing::{pend_call, rsvp_for, subscribe, unroutable};
use poe_kernel::{Ctx, EventName, Kernel, Session, SessionId, Value};
use registry::Monitor;
use std::cell::RefCell;
use std::rc::Rc;

/// The Responder's alias.
pub const IKC_ALIAS: &str = "IKC";

/// How long a subscription waits for its receipts, as Perl.
const SUBSCRIBE_TIMEOUT: f64 = 60.0;

/// What a call's RSVP state gets as `(undef, MESSAGE, WHEN)` when its
/// timeout passes...
pub(crate) const TIMED_OUT: (&str, &str) = ("Timed out waiting for the reply", "timeout");

/// ...when IKC shuts down before the reply came...
pub(crate) const SHUT_DOWN: (&str, &str) = ("IKC shut down before the reply came", "shutdown");

/// ...and the WHEN of a call whose channel closed first (the message
/// names the remote kernel).
pub(crate) const DISCONNECTED: &str = "disconnect";

/// The shared tables, held by the `IKC` session's heap.
struct Heap {
    reg: Rc<RefCell<Registry>>,
}

/// Start the Responder in `kernel`, or find the one running; returns its
/// tables for channels to share.
pub(crate) fn spawn(kernel: &Kernel) -> poe_kernel::Result<Rc<RefCell<Registry>>> {
    if kernel.alias_resolve(IKC_ALIAS).is_some() {
        let v = kernel.call(IKC_ALIAS, "ikc_registry", ())?;
        if let Some(reg) = v.take_local::<Rc<RefCell<Registry>>>() {
            return Ok(reg);
        }
    }
    let reg = Rc::new(RefCell::new(Registry::new(
        kernel.id().to_owned(),
        SessionId::KERNEL,
    )));
    let created = kernel.create(session(reg.clone()))?;
    reg.borrow_mut().session = created.id;
    Ok(reg)
}

fn session(reg: Rc<RefCell<Registry>>) -> Session<Heap> {
    Session::new(Heap { reg })
        .state("_start", |ctx| {
            let _ = ctx.alias_set(IKC_ALIAS);
        })
        .state("ikc_registry", |ctx| Value::local(ctx.heap.reg.clone()))
        .state("publish", |ctx| {
            let names = session_names(ctx, ctx.arg(0));
            let states = strings(ctx.arg(1));
            let mut reg = ctx.heap.reg.borrow_mut();
            for n in names {
                reg.published
                    .entry(n)
                    .or_default()
                    .extend(states.iter().cloned());
            }
        })
        .state("retract", |ctx| {
            let names = session_names(ctx, ctx.arg(0));
            let states = strings(ctx.arg(1));
            let mut reg = ctx.heap.reg.borrow_mut();
            for n in names {
                if states.is_empty() {
                    reg.published.remove(&n);
                } else if let Some(set) = reg.published.get_mut(&n) {
                    for s in &states {
                        set.remove(s);
                    }
                }
            }
        })
        .state("published", |ctx| {
            let reg = ctx.heap.reg.borrow();
            let list = |set: &std::collections::BTreeSet<String>| {
                Value::list(set.iter().map(|s| Value::from(s.as_str())))
            };
            if ctx.arg(0).is_undef() {
                Value::map(reg.published.iter().map(|(k, v)| (k.clone(), list(v))))
            } else {
                let name = ctx.arg(0).to_string();
                reg.published.get(&name).map(list).unwrap_or_default()
            }
        })
        .state("register_local", |ctx| {
            let names = strings(ctx.arg(0));
            ctx.heap.reg.borrow_mut().local_names.extend(names);
        })
        .state("default", |ctx| {
            let name = ctx.arg(0).to_string();
            let mut reg = ctx.heap.reg.borrow_mut();
            if let Some(id) = reg.names.get(&name).cloned() {
                reg.default = Some(id);
            }
        })
        .state("ping", |_| Value::from("PONG"))
        .state("post", |ctx| {
            let params = ctx.take_arg(1);
            send_message(ctx, ctx.arg(0).clone(), params, None)
        })
        .state("call", |ctx| {
            let params = ctx.take_arg(1);
            let rsvp = ctx.arg(2).clone();
            let timeout = ctx.arg(3).as_f64();
            send_message(ctx, ctx.arg(0).clone(), params, Some((rsvp, timeout)))
        })
        .state("subscribe", |ctx| {
            let caller = ctx.sender();
            let specs: Vec<Specifier> = strings(ctx.arg(0))
                .iter()
                .filter_map(|s| destination(&Value::from(s.as_str())))
                .collect();
            let callback =
                (!ctx.arg(1).is_undef()).then(|| EventName::from(ctx.arg(1).to_string()));
            let started = subscribe(
                &mut ctx.heap.reg.borrow_mut(),
                caller,
                &specs,
                callback.clone(),
            );
            match started {
                Some(id) => {
                    let alarm = ctx
                        .delay_set("ikc_subscribe_timeout", SUBSCRIBE_TIMEOUT, (id,))
                        .ok();
                    if let Some(p) = ctx.heap.reg.borrow_mut().subscribes.get_mut(&id) {
                        p.alarm = alarm;
                    }
                }
                None => {
                    if let Some(cb) = callback {
                        let _ = ctx.post(caller, cb, (Value::List(Vec::new()),));
                    }
                }
            }
        })
        .state("unsubscribe", |ctx| {
            let keys: Vec<String> = strings(ctx.arg(0))
                .iter()
                .filter_map(|s| destination(&Value::from(s.as_str())))
                .map(|s| s.session_address())
                .collect();
            let reg = ctx.heap.reg.clone();
            unsubscribe(ctx, &reg, &keys);
        })
        .state("monitor", |ctx| {
            let name = ctx.arg(0).to_string();
            let me = ctx.sender();
            let mut reg = ctx.heap.reg.borrow_mut();
            reg.monitors
                .retain(|m| !(m.session == me && m.name == name));
            if let Some(map) = ctx.arg(1).as_map() {
                let events = map
                    .iter()
                    .filter(|(k, _)| k.as_str() != "data")
                    .map(|(k, v)| (k.clone(), EventName::from(v.to_string())))
                    .collect();
                reg.monitors.push(Monitor {
                    session: me,
                    name,
                    events,
                    data: map.get("data").cloned().unwrap_or_default(),
                });
            }
        })
        .state("shutdown", shutdown)
        .state("ikc_call_timeout", |ctx| {
            let id = ctx.arg(0).as_i64().unwrap_or(0) as u64;
            let calls = ctx
                .heap
                .reg
                .borrow_mut()
                .take_call(id)
                .into_iter()
                .collect();
            let (message, when) = TIMED_OUT;
            fail_calls(ctx, ctx.session(), calls, message, when);
        })
        .state("ikc_remote_error", remote_error)
        .state("ikc_local_call", run_local_call)
        .state("ikc_receipt", receipt)
        .state("ikc_subscribe_timeout", |ctx| {
            let id = ctx.arg(0).as_i64().unwrap_or(0) as u64;
            let pending = ctx.heap.reg.borrow_mut().subscribes.remove(&id);
            if let Some(p) = pending {
                if let Some(cb) = p.callback {
                    let _ = ctx.post(p.session, cb, (Value::List(p.accepted),));
                }
            }
        })
        .state("_child", |_| ())
        .state("_stop", |_| ())
}

/// Every alias of a session given by alias or ID (Perl publishes under
/// all of them).
fn session_names(ctx: &Ctx<'_, Heap>, session: &Value) -> Vec<String> {
    let name = session.to_string();
    match ctx.alias_list(name.as_str()) {
        Ok(list) if !list.is_empty() && name.parse::<u64>().is_ok() => list,
        _ => vec![name],
    }
}

/// A list of names, or one name.
fn strings(v: &Value) -> Vec<String> {
    match v {
        Value::Undef => Vec::new(),
        Value::List(l) => l.iter().map(Value::to_string).collect(),
        other => vec![other.to_string()],
    }
}

/// `post` and `call`: route, fill `from` and `rsvp`, send; the number of
/// connections reached (0: the error monitors hear why).
fn send_message(
    ctx: &mut Ctx<'_, Heap>,
    spec: Value,
    params: Value,
    call: Option<(Value, Option<f64>)>,
) -> Value {
    let caller = ctx.sender();
    let Some(dest) = destination(&spec) else {
        inform_error(ctx, "resolve", format!("Invalid specifier {spec}"));
        return Value::from(0);
    };
    let aliases = ctx.alias_list(caller).unwrap_or_default();
    let reg_rc = ctx.heap.reg.clone();
    let mut reg = reg_rc.borrow_mut();
    if reg.is_local(&dest.kernel) {
        drop(reg);
        return match call {
            None => {
                let ok = ctx
                    .post(dest.session.clone(), dest.state.clone(), (params,))
                    .is_ok();
                Value::from(ok as i64)
            }
            Some((rsvp, timeout)) => local_call(ctx, caller, dest, params, rsvp, timeout),
        };
    }
    let links = reg.route(&dest.kernel);
    if links.is_empty() {
        let why = unroutable(&reg, &dest.kernel);
        drop(reg);
        inform_error(ctx, "resolve", format!("{why}.  Request {dest}"));
        return Value::from(0);
    }
    // The event travels as written, `poe://` prepended if it lacks
    // `poe:` (as Perl's Responder does).
    let event = match spec.as_str() {
        Some(s) if !s.starts_with("poe:") => Value::from(format!("poe://{s}")),
        _ => spec,
    };
    let mut request = super::Request::new(event, params);
    request.from = reg.sender_spec(&aliases);
    if let Some((rsvp, timeout)) = call {
        let Some((value, session, state)) = rsvp_for(caller, &rsvp) else {
            drop(reg);
            inform_error(ctx, "request", format!("Invalid RSVP {rsvp}"));
            return Value::from(0);
        };
        request.rsvp = Some(value);
        let channels = links.iter().map(|l| l.session).collect();
        pend_call(ctx, &mut reg, caller, (session, state), channels, timeout);
    }
    Value::from(send_to(&links, request) as i64)
}

/// A `call` addressed to this kernel: pending as a remote call is, so it
/// ends exactly once, its handler runs in an event of its own (as a
/// local post's does), and the handler's value reaches the RSVP as a
/// remote reply would. 0 (nothing pending) when the RSVP is invalid or
/// the session does not exist, as for a local post.
fn local_call(
    ctx: &mut Ctx<'_, Heap>,
    caller: SessionId,
    dest: Specifier,
    params: Value,
    rsvp: Value,
    timeout: Option<f64>,
) -> Value {
    let Some((_, session, state)) = rsvp_for(caller, &rsvp) else {
        inform_error(ctx, "request", format!("Invalid RSVP {rsvp}"));
        return Value::from(0);
    };
    if ctx.alias_resolve(dest.session.as_str()).is_none() {
        return Value::from(0);
    }
    let reg = ctx.heap.reg.clone();
    let id = pend_call(
        ctx,
        &mut reg.borrow_mut(),
        caller,
        (session, state),
        Vec::new(),
        timeout,
    );
    let me = ctx.session();
    let ok = ctx
        .post(me, "ikc_local_call", (id, dest.to_value(), params))
        .is_ok();
    Value::from(ok as i64)
}

/// `ikc_local_call (id, destination, params)`: run a local call's handler
/// (in scalar context, as a remote call's) and end the call with its
/// value. Undef is no reply, as from a remote kernel: the timeout, if
/// any, ends the call. A handler that cannot run ends it with
/// `(undef, MESSAGE, "local-invocation")`.
fn run_local_call(ctx: &mut Ctx<'_, Heap>) {
    let id = ctx.arg(0).as_i64().unwrap_or(0) as u64;
    let dest = Specifier::from_value(ctx.arg(1));
    let params = ctx.take_arg(2);
    let result = incoming::in_context(Context::Scalar, || {
        ctx.call(dest.session.clone(), dest.state.clone(), (params,))
    });
    let reg = ctx.heap.reg.clone();
    let me = ctx.session();
    match result {
        Ok(Value::Undef) => {}
        Ok(value) => {
            let Some(call) = reg.borrow_mut().take_call(id) else {
                return; // already ended (timed out, or IKC shut down)
            };
            cancel_timeout(ctx, me, &call);
            let _ = ctx.post(call.session, call.state, (value,));
        }
        Err(e) => {
            let calls = reg.borrow_mut().take_call(id).into_iter().collect();
            let message = format!("{e}.  Request {dest}");
            fail_calls(ctx, me, calls, &message, "local-invocation");
        }
    }
}

/// `IKC/remote_error`: the monitors hear it; a poe-rs peer names the
/// failed call, whose RSVP state then gets the error at once.
fn remote_error(ctx: &mut Ctx<'_, Heap>) {
    let params = ctx
        .arg(0)
        .as_list()
        .map(<[Value]>::to_vec)
        .unwrap_or_default();
    let message = params.first().map(Value::to_string).unwrap_or_default();
    let when = format!(
        "remote-{}",
        params.get(2).map(Value::to_string).unwrap_or_default()
    );
    let names: Vec<String> = ctx
        .arg(2)
        .as_list()
        .unwrap_or(&[])
        .iter()
        .map(Value::to_string)
        .collect();
    let reg = ctx.heap.reg.clone();
    let calls = reg.borrow().monitor_calls(
        &names,
        "error",
        &[Value::from(when.as_str()), Value::from(message.as_str())],
    );
    if calls.is_empty() {
        log::warn!(target: "poe::ikc", "remote error ({when}): {message}");
    }
    for (session, state, args) in calls {
        let _ = ctx.post(session, state, args);
    }
    let failed = ctx.arg(1);
    if failed.as_map().is_none() {
        return;
    }
    // The oldest call waiting on that RSVP is the one that failed.
    let spec = Specifier::from_value(failed);
    let answered = reg
        .borrow_mut()
        .consume_allowance(&spec.session, &spec.state);
    fail_calls(
        ctx,
        ctx.session(),
        answered.into_iter().collect(),
        &message,
        &when,
    );
}

/// The answer to a subscription request: a proxy on acceptance; the
/// callback once every receipt is in.
fn receipt(ctx: &mut Ctx<'_, Heap>) {
    let state = ctx.arg(0).to_string();
    let id: u64 = state
        .split_whitespace()
        .nth(1)
        .and_then(|n| n.parse().ok())
        .unwrap_or(0);
    let answer = ctx
        .arg(1)
        .as_list()
        .map(<[Value]>::to_vec)
        .unwrap_or_default();
    let reg = ctx.heap.reg.clone();
    if let [spec @ Value::Map(_), remote_id, ..] = answer.as_slice() {
        let spec = Specifier::from_value(spec);
        let key = spec.session_address();
        let exists = reg.borrow().proxies.contains_key(&key);
        if !exists {
            if let Ok(created) = ctx.create(proxy(reg.clone(), spec.clone())) {
                reg.borrow_mut()
                    .proxies
                    .insert(key, (created.id, remote_id.to_string()));
                let names = reg.borrow().names_of(&remote_id.to_string());
                inform(ctx, &reg, &names, "subscribe", &[spec.to_value()]);
            }
        }
        if let Some(p) = reg.borrow_mut().subscribes.get_mut(&id) {
            p.accepted.push(Value::from(spec.to_string()));
        }
    }
    let done = {
        let mut r = reg.borrow_mut();
        match r.subscribes.get_mut(&id) {
            Some(p) => {
                p.waiting = p.waiting.saturating_sub(1);
                p.waiting == 0
            }
            None => false,
        }
    };
    if done {
        let p = reg
            .borrow_mut()
            .subscribes
            .remove(&id)
            .expect("checked above");
        if let Some(alarm) = p.alarm {
            let _ = ctx.alarm_remove(alarm);
        }
        if let Some(cb) = p.callback {
            let _ = ctx.post(p.session, cb, (Value::List(p.accepted),));
        }
    }
}

/// Destroy the proxies for `keys` (`poe://K/S`); the monitors hear
/// `unsubscribe` for each.
pub(crate) fn unsubscribe<H: 'static>(
    ctx: &mut Ctx<'_, H>,
    reg: &Rc<RefCell<Registry>>,
    keys: &[String],
) {
    for key in keys {
        let found = reg.borrow_mut().proxies.remove(key);
        let Some((proxy, remote_id)) = found else {
            continue;
        };
        let _ = ctx.call(proxy, "ikc_unsubscribe", ());
        let names = reg.borrow().names_of(&remote_id);
        let spec = destination(&Value::from(key.as_str()))
            .map(|s| Specifier::new(s.kernel, s.session, "").to_value())
            .unwrap_or_default();
        inform(ctx, reg, &names, "unsubscribe", &[spec]);
    }
}

/// `IKC/shutdown`: end every pending call (its RSVP state hears
/// [`SHUT_DOWN`]), close every channel (each after flushing), drop the
/// proxies and the alias, stop the servers listening.
fn shutdown(ctx: &mut Ctx<'_, Heap>) {
    let reg = ctx.heap.reg.clone();
    let calls = reg.borrow_mut().take_all_calls();
    let (message, when) = SHUT_DOWN;
    fail_calls(ctx, ctx.session(), calls, message, when);
    let (channels, proxies) = {
        let r = reg.borrow();
        let proxies: Vec<String> = r.proxies.keys().cloned().collect();
        (r.channels.clone(), proxies)
    };
    let names = vec!["*".to_owned()];
    inform(ctx, &reg, &names, "shutdown", &[]);
    unsubscribe(ctx, &reg, &proxies);
    for link in channels {
        let _ = ctx.post(link.session, "shutdown", ());
    }
    let listeners = std::mem::take(&mut reg.borrow_mut().listeners);
    for l in listeners {
        let _ = ctx.post(l, "shutdown", ());
    }
    // Pending subscription timeouts would keep the kernel up (Perl drops
    // them too; the calls' are gone with their calls).
    let _ = ctx.alarm_remove_all();
    let _ = ctx.alias_remove(IKC_ALIAS);
}

/// Post an IKC event to the monitors watching any of `names`.
pub(crate) fn inform<H: 'static>(
    ctx: &mut Ctx<'_, H>,
    reg: &Rc<RefCell<Registry>>,
    names: &[String],
    event: &str,
    extra: &[Value],
) {
    let calls = reg.borrow().monitor_calls(names, event, extra);
    for (session, state, args) in calls {
        let _ = ctx.post(session, state, args);
    }
}

/// A local error about no particular kernel, to the `*` monitors (or the
/// log when nobody watches errors).
fn inform_error(ctx: &mut Ctx<'_, Heap>, when: &str, message: String) {
    let reg = ctx.heap.reg.clone();
    let calls = reg.borrow().monitor_calls(
        &["*".to_owned()],
        "error",
        &[Value::from(when), Value::from(message.as_str())],
    );
    if calls.is_empty() {
        log::warn!(target: "poe::ikc", "{when}: {message}");
    }
    for (session, state, args) in calls {
        let _ = ctx.post(session, state, args);
    }
}
