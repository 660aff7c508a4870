//! Addresses: which specifiers ClientLite sends to, and which received
//! messages and error reports belong to the request it waits for.

use super::{LiteError, RemoteError, LITE_SESSION};
use crate::ikc::{Request, Specifier};

/// A request's destination, checked before anything is sent: Perl's
/// ClientLite refuses specifiers without a session and a state.
pub(super) fn check_spec(spec: &str) -> Result<Specifier, LiteError> {
    let bad = |reason| LiteError::BadSpecifier {
        spec: spec.to_owned(),
        reason,
    };
    let parsed = Specifier::parse(spec).ok_or_else(|| bad("not an IKC specifier"))?;
    if !spec.starts_with("poe:") && !parsed.kernel.is_empty() {
        return Err(bad("a kernel needs the poe:// form"));
    }
    if parsed.session.is_empty() {
        return Err(bad("no session"));
    }
    if parsed.state.is_empty() {
        return Err(bad("no state"));
    }
    Ok(parsed)
}

/// Is `message` addressed to `IKCLite/<state>`? The kernel part is not
/// compared (receivers ignore it, §9 Q6).
pub(super) fn is_for(message: &Request, state: &str) -> bool {
    let to = Specifier::from_value(&message.event);
    to.session == LITE_SESSION && to.state == state
}

/// Does an error report belong to the awaited request? A poe-rs server
/// says which request failed (`failed_rsvp`). A Perl report does not; its
/// message names the failed request's event (`…  Request poe://K/S/T sent
/// by …`, §5.7): when that names another session or state it is not
/// ours; otherwise it is taken for ours, as Perl's ClientLite takes every
/// report.
pub(super) fn error_is_for(
    request: &Request,
    error: &RemoteError,
    state: &str,
    sent: Option<&Specifier>,
) -> bool {
    if let Some(rsvp) = &request.failed_rsvp {
        let rsvp = Specifier::from_value(rsvp);
        return rsvp.session == LITE_SESSION && rsvp.state == state;
    }
    let named = error
        .message
        .split_once("  Request ")
        .map(|(_, rest)| rest.split_once(" sent by ").map_or(rest, |(spec, _)| spec))
        .and_then(Specifier::parse);
    match (sent, named) {
        (Some(sent), Some(named)) => named.session == sent.session && named.state == sent.state,
        _ => true,
    }
}
