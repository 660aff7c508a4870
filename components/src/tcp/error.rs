//! [`ComponentError`]: what POE's components croak about at construction.

use poe_kernel::KernelError;
use std::fmt;

/// A component could not be built (POE croaks in these cases).
#[derive(Debug)]
#[non_exhaustive]
pub enum ComponentError {
    /// A required parameter is missing (ServerInput, ClientInput...).
    Missing(&'static str),
    /// Parameters that exclude each other, or that must come together.
    Conflict(&'static str),
    /// The kernel refused to create the session.
    Kernel(KernelError),
}

impl fmt::Display for ComponentError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ComponentError::Missing(what) => write!(f, "{what} is required"),
            ComponentError::Conflict(what) => f.write_str(what),
            ComponentError::Kernel(e) => write!(f, "kernel: {e}"),
        }
    }
}

impl std::error::Error for ComponentError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            ComponentError::Kernel(e) => Some(e),
            _ => None,
        }
    }
}

impl From<KernelError> for ComponentError {
    fn from(e: KernelError) -> ComponentError {
        ComponentError::Kernel(e)
    }
}
