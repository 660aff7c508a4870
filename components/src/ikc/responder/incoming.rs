//! A request from a remote kernel, from arrival to reply: the checks of
//! ikc-protocol.md §5.4 in Perl's order, the thunk that runs the handler,
//! the reply, and the error report when anything fails.

use super::super::link::{Link, MAX_THUNKS};
use super::super::proxy::{thunk, ThunkError};
use super::super::{Request, Specifier, PROXY_STATE};
use super::registry::Registry;
use super::IKC_ALIAS;
use poe_kernel::{Ctx, SessionId, Value};
use std::cell::RefCell;
use std::rc::Rc;

/// How a remote request wants its handler's value (Perl's `wantarray`
/// inside a remotely invoked handler).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Context {
    /// Not inside a remote request.
    None,
    /// A post: the value is dropped.
    Void,
    /// A call: the value is the reply (undef: no reply).
    Scalar,
    /// A call with `wantarray`: a list is the reply (empty: no reply).
    List,
}

thread_local! {
    /// The context of the remote request being handled on this thread
    /// (kernels are single-threaded; nested requests save and restore it).
    static CONTEXT: std::cell::Cell<Context> = const { std::cell::Cell::new(Context::None) };
}

/// The context of the remote request whose handler is running.
pub(crate) fn context() -> Context {
    CONTEXT.get()
}

/// Run `f` with [`context`] reporting `context` (restored afterwards).
pub(crate) fn in_context<R>(context: Context, f: impl FnOnce() -> R) -> R {
    let outer = CONTEXT.replace(context);
    let result = f();
    CONTEXT.set(outer);
    result
}

/// Where a request failed (Perl's WHEN).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum When {
    Request,
    Check,
    Resolve,
    Invocation,
}

impl When {
    pub(crate) fn as_str(self) -> &'static str {
        match self {
            When::Request => "request",
            When::Check => "check",
            When::Resolve => "resolve",
            When::Invocation => "invocation",
        }
    }
}

/// A request that cannot be delivered.
#[derive(Debug)]
pub(crate) struct Failure {
    pub reason: String,
    pub when: When,
}

/// What a request that passed the checks asks for.
enum Action {
    /// Run a handler of a local session through a thunk.
    Invoke {
        target: SessionId,
        state: String,
        args: Vec<Value>,
        /// It came in through an RSVP allowance (a reply to our call).
        allowed: bool,
    },
    /// `IKC/ping`.
    Ping,
    /// `IKC/do_you_have`: a subscription request.
    DoYouHave,
    /// `IKC/remote_error`: an error report about a request of ours.
    RemoteError,
    /// `IKC/IKC:receipt ...`: the answer to a subscription request.
    Receipt(String),
}

/// Handle one request that arrived on `link`, inside the channel session.
pub(crate) fn handle<H: 'static>(
    ctx: &mut Ctx<'_, H>,
    reg: &Rc<RefCell<Registry>>,
    link: &Rc<Link>,
    mut request: Request,
) {
    let dest = request.destination();
    let checked = check(ctx, &reg.borrow(), &dest, &mut request);
    match checked {
        Ok(action) => {
            if let Err(failure) = act(ctx, reg, link, &dest, &request, action) {
                report(ctx, reg, link, &dest, &request, failure);
            }
        }
        Err(failure) => report(ctx, reg, link, &dest, &request, failure),
    }
}

/// Steps 2-5 of §5.4: arguments, permission, `?NAME`, resolution. A
/// request that passes gives its parameters up to the action (they are
/// moved, not copied); one that fails keeps them.
fn check<H: 'static>(
    ctx: &Ctx<'_, H>,
    reg: &Registry,
    dest: &Specifier,
    request: &mut Request,
) -> Result<Action, Failure> {
    let fail = |reason: String, when| Err(Failure { reason, when });
    let (state, proxied) = if dest.state == PROXY_STATE {
        let parts = request.params.as_list().unwrap_or(&[]);
        match parts {
            [state, rest @ ..] if state.as_str().is_some() => {
                match rest.first() {
                    None | Some(Value::Undef) | Some(Value::List(_)) => {}
                    Some(other) => {
                        return fail(
                            format!(
                                "{PROXY_STATE} arguments must be an array, not {}",
                                other.kind()
                            ),
                            When::Request,
                        )
                    }
                }
                (state.to_string(), true)
            }
            _ => {
                return fail(
                    format!("{PROXY_STATE} needs params [STATE, [ARGS...]]"),
                    When::Request,
                )
            }
        }
    } else {
        (dest.state.clone(), false)
    };
    let session = dest.session.as_str();
    // a. a reply we asked for; b./c. a published state.
    let allowed = reg
        .allowances
        .contains_key(&(session.to_owned(), state.clone()));
    if !allowed {
        match reg.published.get(session) {
            Some(states) if !states.is_empty() => {
                if !states.contains(&state) {
                    return fail(
                        format!("Session '{session}' has not published state '{state}'"),
                        When::Check,
                    );
                }
            }
            _ => {
                return fail(
                    format!("Session '{session}' is not available for remote kernels"),
                    When::Check,
                )
            }
        }
    }
    if session == IKC_ALIAS {
        return Ok(match state.as_str() {
            "ping" => Action::Ping,
            "do_you_have" => Action::DoYouHave,
            "remote_error" => Action::RemoteError,
            s if s.starts_with("IKC:receipt") => Action::Receipt(s.to_owned()),
            _ => {
                return fail(
                    format!("Session '{session}' has not published state '{state}'"),
                    When::Check,
                )
            }
        });
    }
    let Some(target) = ctx.alias_resolve(session).filter(|s| !s.is_kernel()) else {
        return fail(format!("Unknown session '{session}'"), When::Resolve);
    };
    let params = std::mem::take(&mut request.params);
    let mut args = if proxied {
        // [STATE, [ARGS...]], checked above.
        match params {
            Value::List(mut parts) => match parts.get_mut(1).map(Value::take) {
                Some(Value::List(args)) => args,
                _ => Vec::new(),
            },
            _ => Vec::new(),
        }
    } else {
        vec![params]
    };
    if let Some(extra) = &dest.args {
        args.push(Value::from(extra.as_str()));
    }
    Ok(Action::Invoke {
        target,
        state,
        args,
        allowed,
    })
}

/// Step 6: do it, and answer an RSVP.
fn act<H: 'static>(
    ctx: &mut Ctx<'_, H>,
    reg: &Rc<RefCell<Registry>>,
    link: &Rc<Link>,
    dest: &Specifier,
    request: &Request,
    action: Action,
) -> Result<(), Failure> {
    let own_id = reg.borrow().kernel_id.clone();
    // Replies and posts back come from the addressed session.
    let reply_from = Specifier::new(own_id.clone(), dest.session.clone(), PROXY_STATE);
    let result = match action {
        Action::Invoke {
            target,
            state,
            args,
            allowed,
        } => {
            if allowed {
                let answered = reg.borrow_mut().consume_allowance(&dest.session, &state);
                if let Some(call) = answered {
                    let responder = reg.borrow().session;
                    super::cancel_timeout(ctx, responder, &call);
                }
            }
            let (thunk, error) = thunk_for(ctx, link, request.from.clone(), &reply_from);
            let Some(thunk) = thunk else {
                return Err(Failure {
                    reason: "Cannot create a thunk session".into(),
                    when: When::Invocation,
                });
            };
            let mut call_args = Vec::with_capacity(args.len() + 2);
            call_args.push(Value::from(target.get()));
            call_args.push(Value::from(state));
            call_args.extend(args);
            let context = match (&request.rsvp, request.wantarray) {
                (None, _) => Context::Void,
                (Some(_), false) => Context::Scalar,
                (Some(_), true) => Context::List,
            };
            let value = in_context(context, || ctx.call(thunk, "ikc_invoke", call_args))
                .unwrap_or_default();
            if let Some(reason) = error.borrow_mut().take() {
                return Err(Failure {
                    reason,
                    when: When::Invocation,
                });
            }
            value
        }
        Action::Ping => Value::from("PONG"),
        Action::DoYouHave => do_you_have(&reg.borrow(), &request.params),
        Action::RemoteError => {
            let names = link
                .remote_id()
                .map(|id| reg.borrow().names_of(&id))
                .unwrap_or_default();
            let failed = request.failed_rsvp.clone().unwrap_or_default();
            let _ = ctx.post(
                reg.borrow().session,
                "ikc_remote_error",
                (request.params.clone(), failed, Value::list(names)),
            );
            return Ok(());
        }
        Action::Receipt(state) => {
            // A subscription's receipt: no pending call waits on it.
            let _ = reg.borrow_mut().consume_allowance(&dest.session, &state);
            let _ = ctx.post(
                reg.borrow().session,
                "ikc_receipt",
                (Value::from(state), request.params.clone()),
            );
            return Ok(());
        }
    };
    if let Some(rsvp) = &request.rsvp {
        let params = if request.wantarray {
            match result {
                Value::Undef => return Ok(()),
                Value::List(l) if l.is_empty() => return Ok(()),
                Value::List(l) => Value::List(l),
                scalar => Value::list([scalar]),
            }
        } else if result.is_undef() {
            // Perl sends nothing for undef; the caller's timeout ends it.
            return Ok(());
        } else {
            result
        };
        let mut reply = Request::new(rsvp.clone(), params);
        reply.from = Some(reply_from);
        link.send(reply);
    }
    Ok(())
}

/// The channel's thunk for this sender and addressed session, created
/// on first use.
fn thunk_for<H: 'static>(
    ctx: &mut Ctx<'_, H>,
    link: &Rc<Link>,
    from: Option<Specifier>,
    reply_from: &Specifier,
) -> (Option<SessionId>, ThunkError) {
    let key = (from, reply_from.session.clone());
    if let Some((id, error)) = link.thunks.borrow().get(&key) {
        return (Some(*id), error.clone());
    }
    if link.thunks.borrow().len() >= MAX_THUNKS {
        release_thunks(ctx, link);
    }
    let error: ThunkError = Rc::default();
    // Only a new thunk needs its own copy of the sender.
    let session = thunk(
        link.clone(),
        key.0.clone(),
        reply_from.clone(),
        error.clone(),
    );
    match ctx.create(session) {
        Ok(created) => {
            link.thunks
                .borrow_mut()
                .insert(key, (created.id, error.clone()));
            (Some(created.id), error)
        }
        Err(_) => (None, error),
    }
}

/// Let the channel's thunks go (each ends once posts to it are handled).
pub(crate) fn release_thunks<H: 'static>(ctx: &mut Ctx<'_, H>, link: &Link) {
    let thunks: Vec<SessionId> = link
        .thunks
        .borrow_mut()
        .drain()
        .map(|(_, (id, _))| id)
        .collect();
    for id in thunks {
        let _ = ctx.post(id, "ikc_release", ());
    }
}

/// `IKC/do_you_have [SPEC, KERNEL_ID]`: accept when the session has
/// published something and (no state asked, or it is published); the
/// answer is `[SPEC with our kernel filled in, our ID]` or a refusal text.
fn do_you_have(reg: &Registry, params: &Value) -> Value {
    let asked = params
        .as_list()
        .and_then(|l| l.first())
        .map(Specifier::from_value)
        .unwrap_or_default();
    let ok = reg.published.get(&asked.session).is_some_and(|states| {
        !states.is_empty() && (asked.state.is_empty() || states.contains(&asked.state))
    });
    if !ok || asked.session == IKC_ALIAS {
        return Value::from(format!("Refused subscription {asked}"));
    }
    let mut spec = asked;
    if spec.kernel.is_empty() {
        spec.kernel = reg.kernel_id.clone();
    }
    Value::list([spec.to_value(), Value::from(reg.kernel_id.as_str())])
}

/// Tell our monitors, and the sender unless the request was itself an
/// error report (errors are never answered with errors).
fn report<H: 'static>(
    ctx: &mut Ctx<'_, H>,
    reg: &Rc<RefCell<Registry>>,
    link: &Rc<Link>,
    dest: &Specifier,
    request: &Request,
    failure: Failure,
) {
    let mut message = format!("{}.  Request {dest}", failure.reason);
    if let Some(from) = &request.from {
        message.push_str(&format!(" sent by {from}"));
    }
    log::debug!(target: "poe::ikc", "refused: {message}");
    let remote = link.remote_id().unwrap_or_default();
    super::inform(
        ctx,
        reg,
        std::slice::from_ref(&remote),
        "error",
        &[
            Value::from(format!("local-{}", failure.when.as_str())),
            Value::from(message.as_str()),
        ],
    );
    if request.is_error {
        return;
    }
    let mut error = Request::new(
        Specifier::new(remote, IKC_ALIAS, "remote_error").to_value(),
        Value::list([
            Value::from(message),
            Value::from(dest.kernel.as_str()),
            Value::from(failure.when.as_str()),
        ]),
    );
    error.is_error = true;
    error.failed_rsvp = request.rsvp.clone();
    link.send(error);
}
