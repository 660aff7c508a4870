//! [`KernelError`]: what the kernel's calls report instead of POE's `$!`.

use crate::name::EventName;
use crate::session::{Dest, SessionId};
use std::fmt;
use std::io;

/// Why a kernel call failed. Where POE sets `$!`, [`KernelError::errno`]
/// gives the same number, so ported code can keep comparing against
/// `ESRCH`, `EPERM`, `EEXIST` or `EINVAL`.
#[derive(Debug)]
#[non_exhaustive]
pub enum KernelError {
    /// The destination names no live session (POE: `ESRCH`).
    NoSuchSession(Dest),
    /// The call needs a current session, and none is running (POE: `ESRCH`).
    NoActiveSession,
    /// `call` found neither a handler for the event nor `_default`.
    NoHandler {
        /// The session called.
        session: SessionId,
        /// The event asked for.
        event: EventName,
    },
    /// The target's heap is already borrowed by a handler further up the
    /// call stack (A calls B, B calls A): dispatching would alias it.
    HeapBusy {
        /// The session whose heap is in use.
        session: SessionId,
        /// The event that could not be dispatched.
        event: EventName,
    },
    /// The alias belongs to another session (POE: `EEXIST`).
    AliasInUse {
        /// The alias asked for.
        alias: String,
        /// The session holding it.
        owner: SessionId,
    },
    /// No such alias (POE: `ESRCH`).
    NoSuchAlias(String),
    /// No pending alarm has that ID: it fired, was removed, or never was
    /// (POE: `ESRCH`).
    NoSuchAlarm(crate::AlarmId),
    /// The operation is not allowed here (POE: `EPERM`), with the reason.
    NotPermitted(&'static str),
    /// A required argument was missing or out of range (POE: `EINVAL`).
    InvalidArgument(&'static str),
    /// A session cannot be created without a `_start` state.
    NoStartState,
    /// A file descriptor could not be watched.
    Io(io::Error),
    /// The handler called panicked; the panic became a DIE signal to its
    /// session (POE's `call` returns undef there).
    Panicked {
        /// The session whose handler panicked.
        session: SessionId,
        /// The event it was handling.
        event: EventName,
        /// The panic's message.
        message: String,
    },
}

impl KernelError {
    /// The `errno` value POE sets for this failure (0 where POE has none).
    pub fn errno(&self) -> i32 {
        match self {
            KernelError::NoSuchSession(_)
            | KernelError::NoActiveSession
            | KernelError::NoSuchAlias(_)
            | KernelError::NoSuchAlarm(_) => libc::ESRCH,
            KernelError::NotPermitted(_) => libc::EPERM,
            KernelError::AliasInUse { .. } => libc::EEXIST,
            KernelError::InvalidArgument(_) => libc::EINVAL,
            KernelError::NoHandler { .. } => libc::ENOSYS,
            KernelError::HeapBusy { .. } => libc::EDEADLK,
            KernelError::NoStartState => libc::EINVAL,
            KernelError::Io(e) => e.raw_os_error().unwrap_or(0),
            KernelError::Panicked { .. } => 0,
        }
    }
}

impl fmt::Display for KernelError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            KernelError::NoSuchSession(d) => write!(f, "no such session: {d}"),
            KernelError::NoActiveSession => {
                f.write_str("no session is running (called outside any handler)")
            }
            KernelError::NoHandler { session, event } => write!(
                f,
                "session {session} has no handler for '{event}' and no _default"
            ),
            KernelError::HeapBusy { session, event } => write!(
                f,
                "cannot dispatch '{event}' to session {session}: its heap is in use \
                 by a handler further up the call stack"
            ),
            KernelError::AliasInUse { alias, owner } => {
                write!(f, "alias '{alias}' is in use by session {owner}")
            }
            KernelError::NoSuchAlias(a) => write!(f, "no such alias: '{a}'"),
            KernelError::NoSuchAlarm(id) => write!(f, "no pending alarm with id {id}"),
            KernelError::NotPermitted(why) => write!(f, "not permitted: {why}"),
            KernelError::InvalidArgument(what) => write!(f, "invalid argument: {what}"),
            KernelError::NoStartState => {
                f.write_str("discarding session: it has no '_start' state")
            }
            KernelError::Io(e) => write!(f, "i/o error: {e}"),
            KernelError::Panicked {
                session,
                event,
                message,
            } => write!(f, "session {session} panicked in '{event}': {message}"),
        }
    }
}

impl std::error::Error for KernelError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            KernelError::Io(e) => Some(e),
            _ => None,
        }
    }
}

impl From<io::Error> for KernelError {
    fn from(e: io::Error) -> KernelError {
        KernelError::Io(e)
    }
}

/// Shorthand for kernel results.
pub type Result<T, E = KernelError> = std::result::Result<T, E>;
