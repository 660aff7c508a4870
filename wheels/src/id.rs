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
    wheel_text(kind, id, &[" -> ", what])
}

/// A wheel's own name, `POE::Wheel::ReadWrite(3)`: its keep-alive tag on
/// its session.
pub(crate) fn wheel_tag(kind: &str, id: WheelId) -> String {
    wheel_text(kind, id, &[])
}

/// `POE::Wheel::<kind>(<id>)` and then `tail`, in one allocation of the
/// exact size. Written out rather than with `format!`: a Server::TCP
/// connection spells four of these, and `format!` spent about 1 500
/// instructions on each (callgrind), a sixth of a connection's cost.
fn wheel_text(kind: &str, id: WheelId, tail: &[&str]) -> String {
    const PREFIX: &str = "POE::Wheel::";
    let mut digits = [0u8; 20]; // u64::MAX has 20
    let mut n = id.0;
    let mut start = digits.len();
    loop {
        start -= 1;
        digits[start] = b'0' + (n % 10) as u8;
        n /= 10;
        if n == 0 {
            break;
        }
    }
    let digits = &digits[start..];
    let tail_len: usize = tail.iter().map(|t| t.len()).sum();
    let mut s = String::with_capacity(PREFIX.len() + kind.len() + digits.len() + 2 + tail_len);
    s.push_str(PREFIX);
    s.push_str(kind);
    s.push('(');
    s.extend(digits.iter().map(|&d| char::from(d)));
    s.push(')');
    for t in tail {
        s.push_str(t);
    }
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn wheel_names_are_spelled_as_poe_spells_them() {
        for n in [1, 9, 10, 305, u64::MAX] {
            let id = WheelId(n);
            assert_eq!(
                hidden_state("ReadWrite", id, "select read"),
                format!("POE::Wheel::ReadWrite({n}) -> select read")
            );
            assert_eq!(wheel_tag("Run", id), format!("POE::Wheel::Run({n})"));
        }
        let name = hidden_state("FollowTail", WheelId(42), "poll");
        assert_eq!(
            name.capacity(),
            name.len(),
            "one allocation of the exact size"
        );
    }
}
