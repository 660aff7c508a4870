//! The request hash every IKC frame carries, read leniently and written
//! the way Perl's Responder writes it.

use super::Specifier;
use poe_kernel::{Map, Value};

/// The pseudo-state of proxied posts: `params` is `[STATE, [ARGS...]]`.
pub const PROXY_STATE: &str = "IKC:proxy";

/// One IKC message (Perl's "request" hash).
#[derive(Clone, Debug, PartialEq)]
pub struct Request {
    /// The destination, as received (a string or a hash): replies echo it.
    pub event: Value,
    /// The argument: the handler's `ARG0` (for `IKC:proxy`, the real state
    /// and its argument list).
    pub params: Value,
    /// Who sent it, for posting back through the handler's SENDER.
    pub from: Option<Specifier>,
    /// Present for a call: where the return value goes, as received.
    pub rsvp: Option<Value>,
    /// With `rsvp`: call the handler in list context (reply with a list).
    pub wantarray: bool,
    /// An error report (§5.7): never answered with another error.
    pub is_error: bool,
    /// poe-rs extension on error reports: the `rsvp` of the request that
    /// failed, so a Rust caller's pending call ends with the error at once.
    /// Perl ignores the key.
    pub failed_rsvp: Option<Value>,
}

/// Why a frame is not an IKC request.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum RequestError {
    /// The frame thawed to something other than a hash.
    NotAHash(&'static str),
    /// The hash has no `event`.
    NoEvent,
}

impl std::fmt::Display for RequestError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            RequestError::NotAHash(kind) => write!(f, "an IKC frame must be a hash, got {kind}"),
            RequestError::NoEvent => f.write_str("an IKC frame must name an event"),
        }
    }
}

impl std::error::Error for RequestError {}

impl Request {
    /// A post of `params` to `event` (a specifier string or hash).
    pub fn new(event: impl Into<Value>, params: Value) -> Request {
        Request {
            event: event.into(),
            params,
            from: None,
            rsvp: None,
            wantarray: false,
            is_error: false,
            failed_rsvp: None,
        }
    }

    /// The destination, parsed (`Specifier::default()` when unparsable, as
    /// Perl treats it).
    pub fn destination(&self) -> Specifier {
        Specifier::from_value(&self.event)
    }

    /// Read a thawed frame. Perl kills its whole process on a frame that
    /// is not a hash; here it is an error for the caller to close that one
    /// channel with.
    pub fn from_value(value: Value) -> Result<Request, RequestError> {
        let Value::Map(mut map) = value else {
            return Err(RequestError::NotAHash(value.kind()));
        };
        let event = map
            .remove("event")
            .filter(|e| !e.is_undef())
            .ok_or(RequestError::NoEvent)?;
        let spec = |v: Option<Value>| {
            v.filter(|v| v.as_map().is_some())
                .map(|v| Specifier::from_value(&v))
        };
        Ok(Request {
            event,
            params: map.remove("params").unwrap_or_default(),
            from: spec(map.remove("from")),
            rsvp: map.remove("rsvp").filter(|r| r.as_map().is_some()),
            wantarray: map.remove("wantarray").is_some_and(|w| w.is_true()),
            is_error: map.remove("is_error").is_some_and(|e| e.is_true()),
            failed_rsvp: map.remove("failed_rsvp").filter(|r| r.as_map().is_some()),
        })
    }

    /// The hash to freeze. `from` is written without its state when the
    /// state is empty (as Perl's subscription and ClientLite `from`s are).
    pub fn to_value(&self) -> Value {
        self.clone().into_value()
    }

    /// [`to_value`](Request::to_value), consuming the request: its
    /// params and addresses move into the hash instead of being copied.
    pub fn into_value(self) -> Value {
        let Request {
            event,
            params,
            from,
            rsvp,
            wantarray,
            is_error,
            failed_rsvp,
        } = self;
        let mut map = Map::new();
        map.insert("event".into(), event);
        map.insert("params".into(), params);
        if let Some(from) = &from {
            map.insert("from".into(), from_value(from));
        }
        if let Some(rsvp) = rsvp {
            map.insert("rsvp".into(), rsvp);
            if wantarray {
                map.insert("wantarray".into(), Value::Int(1));
            }
        }
        if is_error {
            map.insert("is_error".into(), Value::Int(1));
        }
        if let Some(rsvp) = failed_rsvp {
            map.insert("failed_rsvp".into(), rsvp);
        }
        Value::Map(Box::new(map))
    }
}

/// A `from` hash: `{kernel, session[, state]}`.
fn from_value(from: &Specifier) -> Value {
    let mut pairs = vec![
        ("kernel", Value::from(from.kernel.as_str())),
        ("session", Value::from(from.session.as_str())),
    ];
    if !from.state.is_empty() {
        pairs.push(("state", Value::from(from.state.as_str())));
    }
    Value::map(pairs)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_call_round_trips_through_its_hash() {
        let req = Request {
            event: Value::from("poe://perlsrv/echo/add"),
            params: Value::list([1, 2]),
            from: Some(Specifier::new("C", "tester", PROXY_STATE)),
            rsvp: Some(Specifier::new("perlcli", "2", "sum").to_value()),
            wantarray: true,
            is_error: false,
            failed_rsvp: None,
        };
        assert_eq!(Request::from_value(req.to_value()), Ok(req));
    }

    #[test]
    fn frames_that_are_not_requests_are_errors() {
        assert_eq!(
            Request::from_value(Value::list([1])),
            Err(RequestError::NotAHash("list"))
        );
        assert_eq!(
            Request::from_value(Value::map([("params", 1)])),
            Err(RequestError::NoEvent)
        );
    }

    #[test]
    fn perl_flag_values_are_read_leniently() {
        for (w, want) in [
            (Value::from(""), false),
            (Value::from("1"), true),
            (Value::from(1), true),
        ] {
            let v = Value::map([
                ("event", Value::from("s/t")),
                ("rsvp", Specifier::default().to_value()),
                ("wantarray", w),
            ]);
            assert_eq!(Request::from_value(v).unwrap().wantarray, want);
        }
    }
}
