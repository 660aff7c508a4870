//! [`WheelId`]: every wheel's number, from one process-wide counter.

use poe_kernel::Value;
use std::fmt;
use std::sync::atomic::{AtomicU64, Ordering};

static NEXT: AtomicU64 = AtomicU64::new(1);

/// A wheel's ID: 1, 2, 3, ... across every wheel type, never handed out
/// twice in one process (POE's `$wheel->ID`). Wheel events carry it as
/// their last argument.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct WheelId(u64);

impl WheelId {
    pub(crate) fn next() -> WheelId {
        WheelId(NEXT.fetch_add(1, Ordering::Relaxed))
    }

    /// The number.
    pub fn get(self) -> u64 {
        self.0
    }

    /// The ID a wheel event carries as its last argument.
    #[inline]
    pub fn from_value(v: &Value) -> Option<WheelId> {
        v.as_i64().and_then(|n| u64::try_from(n).ok()).map(WheelId)
    }
}

impl fmt::Display for WheelId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.0)
    }
}

impl From<WheelId> for Value {
    #[inline]
    fn from(id: WheelId) -> Value {
        // Counted up from 1: no process makes 2^63 wheels, so the ID is
        // always an integer (no check for the float case of a u64).
        Value::Int(id.0 as i64)
    }
}

impl PartialEq<Value> for WheelId {
    /// Compare with the ID argument of a wheel event.
    fn eq(&self, v: &Value) -> bool {
        v.as_i64() == Some(self.0 as i64)
    }
}

/// The name of a wheel's hidden state, as POE names it:
/// `POE::Wheel::ReadWrite(3) -> select read`.
pub(crate) fn hidden_state(kind: &str, id: WheelId, what: &str) -> String {
    format!("POE::Wheel::{kind}({id}) -> {what}")
}
