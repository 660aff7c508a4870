//! [`WheelError`]: bad wheel construction (where POE croaks), and the
//! `(operation, errno, message)` triple wheel error events carry.

use crate::WheelId;
use poe_kernel::{KernelError, Value};
use std::fmt;
use std::io;

/// A wheel could not be built: a required parameter is missing, two
/// conflict, or the kernel refused a registration. POE croaks in these
/// cases; here `build` returns the error.
#[derive(Debug)]
#[non_exhaustive]
pub enum WheelError {
    /// A required parameter was not given.
    Missing(&'static str),
    /// Parameters that cannot be used together, or a value out of range.
    Invalid(String),
    /// The kernel refused (for example: not called from a session).
    Kernel(KernelError),
    /// The operating system refused.
    Io(io::Error),
    /// A Run wheel could not start its program: it does not exist, is not
    /// executable, or the working directory is missing (`error` says which).
    Spawn {
        /// The program (for a shell string, `/bin/sh`).
        program: String,
        /// What `fork`/`exec` reported.
        error: io::Error,
    },
}

impl fmt::Display for WheelError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            WheelError::Missing(what) => write!(f, "{what} is required"),
            WheelError::Invalid(why) => f.write_str(why),
            WheelError::Kernel(e) => write!(f, "kernel: {e}"),
            WheelError::Io(e) => write!(f, "i/o: {e}"),
            WheelError::Spawn { program, error } => match error.raw_os_error() {
                Some(errno) => write!(f, "cannot run {program:?}: {}", errno_text(errno)),
                None => write!(f, "cannot run {program:?}: {error}"),
            },
        }
    }
}

impl std::error::Error for WheelError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            WheelError::Kernel(e) => Some(e),
            WheelError::Io(e) | WheelError::Spawn { error: e, .. } => Some(e),
            _ => None,
        }
    }
}

impl From<KernelError> for WheelError {
    fn from(e: KernelError) -> WheelError {
        WheelError::Kernel(e)
    }
}

impl From<io::Error> for WheelError {
    fn from(e: io::Error) -> WheelError {
        WheelError::Io(e)
    }
}

/// The text of an errno value, as Perl's `$!` prints it ("Connection
/// refused"), without Rust's " (os error N)" suffix.
pub fn errno_text(errno: i32) -> String {
    let full = io::Error::from_raw_os_error(errno).to_string();
    match full.rfind(" (os error ") {
        Some(cut) => full[..cut].to_owned(),
        None => full,
    }
}

/// The errno of an I/O error (0 when it has none).
pub fn errno_of(e: &io::Error) -> i32 {
    e.raw_os_error().unwrap_or(0)
}

/// What a wheel's error event reports: the operation that failed, its
/// errno and message (errno 0 and an empty message: end of file). The
/// event's arguments are these, then the wheel's ID ([`Failure::args`]).
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct Failure {
    pub op: &'static str,
    pub errno: i32,
    pub message: String,
}

impl Failure {
    /// `errno` with Perl's text for it.
    pub(crate) fn new(op: &'static str, errno: i32) -> Failure {
        Failure {
            op,
            errno,
            message: errno_text(errno),
        }
    }

    /// `errno` with a message of the wheel's own (a filter's refusal;
    /// empty for end of file).
    pub(crate) fn with_message(op: &'static str, errno: i32, message: String) -> Failure {
        Failure { op, errno, message }
    }

    /// An I/O error: its errno and Perl's text, or (no errno) its own text.
    pub(crate) fn from_io(op: &'static str, e: &io::Error) -> Failure {
        let errno = errno_of(e);
        Failure {
            op,
            errno,
            message: if errno == 0 {
                e.to_string()
            } else {
                errno_text(errno)
            },
        }
    }

    /// `(op, errno, message, wheel_id)`, room left for one more (Run's
    /// handle name).
    pub(crate) fn args(&self, id: WheelId) -> Vec<Value> {
        let mut args = Vec::with_capacity(5);
        args.extend([
            Value::from(self.op),
            Value::from(self.errno),
            Value::from(self.message.as_str()),
            Value::from(id),
        ]);
        args
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn errno_text_is_perls() {
        assert_eq!(errno_text(libc::ECONNREFUSED), "Connection refused");
        assert_eq!(errno_text(libc::EADDRINUSE), "Address already in use");
    }
}
