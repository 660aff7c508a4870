//! Session identity: [`SessionId`] and [`Dest`], the ways to name a session.

use crate::value::{Text, Value};
use std::fmt;
use std::hash::{Hash, Hasher};

/// A session's identity: POE's integer session ID, plus where the kernel
/// keeps it, so a handle resolves without a lookup.
///
/// IDs are handed out 1, 2, 3, ... and never reused by one kernel. The
/// kernel itself is the pseudo-session [`SessionId::KERNEL`] (ID 0): the root
/// of the session tree and the `sender` of the events it generates.
#[derive(Clone, Copy)]
pub struct SessionId {
    id: u64,
    slot: u32,
}

impl SessionId {
    /// The kernel's pseudo-session.
    pub const KERNEL: SessionId = SessionId {
        id: 0,
        slot: u32::MAX,
    };

    pub(crate) fn new(id: u64, slot: usize) -> SessionId {
        SessionId {
            id,
            slot: slot as u32,
        }
    }

    /// The integer ID (`$session->ID` in Perl).
    pub fn get(self) -> u64 {
        self.id
    }

    /// True for the kernel's pseudo-session.
    pub fn is_kernel(self) -> bool {
        self.id == 0
    }

    pub(crate) fn slot(self) -> usize {
        self.slot as usize
    }
}

impl PartialEq for SessionId {
    fn eq(&self, other: &SessionId) -> bool {
        self.id == other.id
    }
}
impl Eq for SessionId {}

impl Hash for SessionId {
    fn hash<H: Hasher>(&self, state: &mut H) {
        self.id.hash(state)
    }
}

impl PartialOrd for SessionId {
    fn partial_cmp(&self, other: &SessionId) -> Option<std::cmp::Ordering> {
        Some(self.cmp(other))
    }
}

impl Ord for SessionId {
    fn cmp(&self, other: &SessionId) -> std::cmp::Ordering {
        self.id.cmp(&other.id)
    }
}

impl fmt::Display for SessionId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.is_kernel() {
            f.write_str("kernel")
        } else {
            write!(f, "{}", self.id)
        }
    }
}

impl fmt::Debug for SessionId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "SessionId({self})")
    }
}

impl From<SessionId> for Value {
    /// A session travels as its integer ID; [`Dest`] resolves it back.
    fn from(s: SessionId) -> Value {
        Value::Int(s.id as i64)
    }
}

/// Where an event goes: a session handle, an integer session ID, or a name
/// (an alias, a numeric ID as text, or the kernel's ID string).
///
/// Every API that takes a destination takes `impl Into<Dest>`, so all of
/// these work: `post(sid, ..)`, `post(3, ..)`, `post("logger", ..)`.
/// A name is tried as a session ID first and as an alias second, as in POE:
/// an alias `"1"` is shadowed by session 1.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Dest {
    /// A session handle.
    Session(SessionId),
    /// An integer session ID.
    Id(u64),
    /// An alias, a numeric ID as text, or the kernel's ID.
    Name(Text),
}

impl fmt::Display for Dest {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Dest::Session(s) => write!(f, "session {s}"),
            Dest::Id(i) => write!(f, "session {i}"),
            Dest::Name(n) => write!(f, "'{n}'"),
        }
    }
}

impl From<SessionId> for Dest {
    fn from(s: SessionId) -> Dest {
        Dest::Session(s)
    }
}

impl From<&SessionId> for Dest {
    fn from(s: &SessionId) -> Dest {
        Dest::Session(*s)
    }
}

macro_rules! dest_from_int {
    ($($t:ty),*) => {$(
        impl From<$t> for Dest {
            /// Negative numbers name no session.
            #[allow(irrefutable_let_patterns, unused_comparisons)]
            fn from(i: $t) -> Dest {
                if i < 0 { Dest::Id(u64::MAX) } else { Dest::Id(i as u64) }
            }
        }
    )*};
}
dest_from_int!(i32, i64, u32, u64, usize);

impl From<&str> for Dest {
    fn from(s: &str) -> Dest {
        Dest::Name(Text::from(s))
    }
}

impl From<String> for Dest {
    fn from(s: String) -> Dest {
        Dest::Name(Text::from(s))
    }
}

impl From<&String> for Dest {
    fn from(s: &String) -> Dest {
        Dest::Name(Text::from(s.as_str()))
    }
}

impl From<Text> for Dest {
    fn from(s: Text) -> Dest {
        Dest::Name(s)
    }
}

impl From<&Value> for Dest {
    /// An integer value is a session ID; anything else is used as a name.
    fn from(v: &Value) -> Dest {
        match v {
            Value::Int(i) => Dest::from(*i),
            other => Dest::Name(Text::from(other.to_string())),
        }
    }
}
