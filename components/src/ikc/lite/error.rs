//! [`LiteError`] and [`RemoteError`]: why a ClientLite operation failed.

use crate::ikc::negotiation::NegotiationError;
use poe_filters::storable::StorableError;
use poe_kernel::Value;
use std::fmt;
use std::io;
use std::time::Duration;

/// Why a [`ClientLite`](super::ClientLite) operation failed.
///
/// Errors that leave the connection in an unknown state (timeouts, a peer
/// that closed, a frame that cannot be read) also mark the connection
/// down: the next post or call reconnects, as Perl's ClientLite does.
/// Every variant is `Send + Sync`, so errors travel through `?` into
/// `Box<dyn Error + Send + Sync>`.
#[derive(Debug)]
#[non_exhaustive]
pub enum LiteError {
    /// A builder parameter that cannot work.
    Config(String),
    /// No connection could be made.
    Connect {
        /// The address tried (`host:port` or the Unix socket path).
        addr: String,
        /// The last error.
        source: io::Error,
    },
    /// `connect_timeout` passed while connecting or negotiating.
    ConnectTimeout {
        /// The address.
        addr: String,
        /// The timeout.
        after: Duration,
    },
    /// The negotiation failed (the server speaks no serializer we accept,
    /// or it went on too long).
    Negotiation(NegotiationError),
    /// A negotiation line longer than the limit (`max_line`).
    LineTooLong {
        /// The limit.
        limit: usize,
    },
    /// The connection is closed: the server closed it (during the
    /// negotiation or before answering), or it was marked down.
    Closed,
    /// Reading or writing the socket failed.
    Io(io::Error),
    /// `timeout` passed before the awaited message arrived.
    Timeout {
        /// What was awaited, e.g. `poe://tool/IKCLite/response3`.
        waiting_for: String,
        /// The timeout.
        after: Duration,
    },
    /// The server reported that the request failed (an `is_error`
    /// message, IKC's `remote_error`).
    Remote(RemoteError),
    /// A frame announced more octets than `max_frame`.
    FrameTooLarge {
        /// The announced payload length.
        size: u64,
        /// The limit.
        limit: usize,
    },
    /// Bytes that are not a frame, a frame that does not thaw, or a
    /// message that is not a request hash. Perl's ClientLite dies or
    /// hangs on these; here the connection is marked down.
    BadFrame(String),
    /// A specifier that cannot address a remote state.
    BadSpecifier {
        /// The specifier as given.
        spec: String,
        /// What is wrong with it.
        reason: &'static str,
    },
    /// The parameters cannot be serialized (a `Local` inside).
    Freeze(StorableError),
    /// `ping` got an answer other than `PONG`.
    NoPong(String),
}

impl fmt::Display for LiteError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            LiteError::Config(what) => write!(f, "bad ClientLite parameter: {what}"),
            LiteError::Connect { addr, source } => {
                write!(f, "unable to connect to {addr}: {source}")
            }
            LiteError::ConnectTimeout { addr, after } => {
                write!(f, "timeout connecting to {addr} (after {after:?})")
            }
            LiteError::Negotiation(e) => write!(f, "negotiation failed: {e}"),
            LiteError::LineTooLong { limit } => {
                write!(f, "negotiation line longer than {limit} octets")
            }
            LiteError::Closed => f.write_str("the connection to the IKC server is closed"),
            LiteError::Io(e) => write!(f, "I/O error: {e}"),
            LiteError::Timeout { waiting_for, after } => {
                write!(
                    f,
                    "timed out waiting for response {waiting_for} (after {after:?})"
                )
            }
            LiteError::Remote(e) => e.fmt(f),
            LiteError::FrameTooLarge { size, limit } => {
                write!(f, "frame of {size} octets exceeds the limit of {limit}")
            }
            LiteError::BadFrame(what) => write!(f, "bad frame from the server: {what}"),
            LiteError::BadSpecifier { spec, reason } => {
                write!(f, "bad specifier {spec:?}: {reason}")
            }
            LiteError::Freeze(e) => write!(f, "cannot serialize the parameters: {e}"),
            LiteError::NoPong(got) => write!(f, "ping answered {got} instead of PONG"),
        }
    }
}

impl std::error::Error for LiteError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            LiteError::Connect { source, .. } => Some(source),
            LiteError::Io(e) => Some(e),
            LiteError::Negotiation(e) => Some(e),
            LiteError::Remote(e) => Some(e),
            LiteError::Freeze(e) => Some(e),
            _ => None,
        }
    }
}

impl From<NegotiationError> for LiteError {
    fn from(e: NegotiationError) -> LiteError {
        LiteError::Negotiation(e)
    }
}

/// An error report from the server (IKC's `remote_error`, ikc-protocol.md
/// §5.7): `params` is `[MESSAGE, KERNEL, WHEN]`.
///
/// ```
/// use poe_components::ikc::lite::RemoteError;
/// use poe_kernel::Value;
/// let e = RemoteError::from_params(&Value::list(["Session 'x' is not available", "srv", "check"]));
/// assert_eq!((e.kernel.as_str(), e.when.as_str()), ("srv", "check"));
/// assert!(e.to_string().starts_with("remote error (check) from srv: Session 'x'"));
/// ```
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RemoteError {
    /// The reason, then `Request <event>` and usually `sent by <from>`.
    pub message: String,
    /// The kernel part of the failed request's event (may be empty).
    pub kernel: String,
    /// Where it failed: `request`, `check`, `resolve` or `invocation`.
    pub when: String,
}

impl RemoteError {
    /// Read an error report's `params`, leniently: a bare string is the
    /// message alone.
    pub fn from_params(params: &Value) -> RemoteError {
        let part = |i: usize| match params.as_list() {
            Some(list) => list.get(i).map(Value::to_string).unwrap_or_default(),
            None if i == 0 => params.to_string(),
            None => String::new(),
        };
        RemoteError {
            message: part(0),
            kernel: part(1),
            when: part(2),
        }
    }
}

impl fmt::Display for RemoteError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "remote error ({}) from {}: {}",
            self.when, self.kernel, self.message
        )
    }
}

impl std::error::Error for RemoteError {}
