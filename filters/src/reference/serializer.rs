//! [`Serializer`]: what Filter::Reference freezes and thaws with.

use crate::storable::{self, ThawLimits};
use crate::SerializerError;
use poe_kernel::Value;
use std::fmt;

/// POE's `Serializer` parameter: anything that can `nfreeze`/`freeze` and
/// `thaw`. [`Storable`] (Perl's network-order format) is the default and
/// what IKC speaks; implement this trait for any other format.
pub trait Serializer: fmt::Debug {
    /// The name POE would print (the Perl package name).
    fn name(&self) -> &str;
    /// Append the serialized form of `value` to `out`.
    fn freeze(&self, value: &Value, out: &mut Vec<u8>) -> Result<(), SerializerError>;
    /// Rebuild a value from one payload.
    fn thaw(&self, payload: &[u8]) -> Result<Value, SerializerError>;
}

/// Perl Storable in network order (`nfreeze` / `thaw`): see
/// [`crate::storable`].
#[derive(Debug, Default, Clone, Copy)]
pub struct Storable {
    limits: ThawLimits,
}

impl Storable {
    /// Storable with explicit limits for thawing untrusted frames.
    pub fn with_limits(limits: ThawLimits) -> Storable {
        Storable { limits }
    }
}

impl Serializer for Storable {
    fn name(&self) -> &str {
        "Storable"
    }

    fn freeze(&self, value: &Value, out: &mut Vec<u8>) -> Result<(), SerializerError> {
        Ok(storable::nfreeze_into(value, out)?)
    }

    fn thaw(&self, payload: &[u8]) -> Result<Value, SerializerError> {
        Ok(storable::thaw_with(payload, self.limits)?)
    }
}
