//! [`EventName`]: the name of an event or state.

use std::borrow::Borrow;
use std::fmt;
use std::hash::{Hash, Hasher};
use std::ops::Deref;
use std::rc::Rc;

#[derive(Clone)]
enum Repr {
    Static(&'static str),
    Shared(Rc<str>),
}

/// An event (state) name. String literals are stored without allocating;
/// names built at run time are shared.
///
/// ```
/// use poe_kernel::EventName;
/// let a = EventName::from("tick");
/// let b = EventName::from(String::from("tick"));
/// assert_eq!(a, b);
/// assert_eq!(&*a, "tick");
/// ```
#[derive(Clone)]
pub struct EventName(Repr);

impl EventName {
    /// Borrow the name.
    #[inline]
    pub fn as_str(&self) -> &str {
        match &self.0 {
            Repr::Static(s) => s,
            Repr::Shared(s) => s,
        }
    }

    /// The address and length of the name's text: equal for two names
    /// only when they are the same literal or share one allocation (names
    /// equal in text but built apart differ). Stable while the name lives.
    #[inline]
    pub(crate) fn identity(&self) -> (usize, usize) {
        let s = self.as_str();
        (s.as_ptr() as usize, s.len())
    }

    /// True for a name made from a `&'static str`: text that is never
    /// freed, so its address stands for it for good.
    #[inline]
    pub(crate) fn is_static(&self) -> bool {
        matches!(self.0, Repr::Static(_))
    }

    /// A name from a string literal, usable in `const` context.
    pub const fn from_static(s: &'static str) -> EventName {
        EventName(Repr::Static(s))
    }
}

impl Deref for EventName {
    type Target = str;
    #[inline]
    fn deref(&self) -> &str {
        self.as_str()
    }
}

impl Borrow<str> for EventName {
    #[inline]
    fn borrow(&self) -> &str {
        self.as_str()
    }
}

impl AsRef<str> for EventName {
    #[inline]
    fn as_ref(&self) -> &str {
        self.as_str()
    }
}

impl From<&'static str> for EventName {
    #[inline]
    fn from(s: &'static str) -> EventName {
        EventName(Repr::Static(s))
    }
}

impl From<String> for EventName {
    fn from(s: String) -> EventName {
        EventName(Repr::Shared(Rc::from(s)))
    }
}

impl From<&String> for EventName {
    fn from(s: &String) -> EventName {
        EventName(Repr::Shared(Rc::from(s.as_str())))
    }
}

impl From<Rc<str>> for EventName {
    fn from(s: Rc<str>) -> EventName {
        EventName(Repr::Shared(s))
    }
}

impl From<&EventName> for EventName {
    #[inline]
    fn from(s: &EventName) -> EventName {
        s.clone()
    }
}

impl PartialEq for EventName {
    #[inline]
    fn eq(&self, other: &EventName) -> bool {
        // The same literal or the same shared text is one address: no
        // byte comparison needed. Names compared on hot paths (a state
        // table's, a wheel's) mostly are one and the same, so the text
        // comparison stays out of line.
        self.identity() == other.identity() || same_text(self, other)
    }
}
impl Eq for EventName {}

/// Two names built apart, compared by text.
#[inline(never)]
fn same_text(a: &EventName, b: &EventName) -> bool {
    a.as_str() == b.as_str()
}

impl PartialEq<str> for EventName {
    fn eq(&self, other: &str) -> bool {
        self.as_str() == other
    }
}

impl PartialEq<&str> for EventName {
    fn eq(&self, other: &&str) -> bool {
        self.as_str() == *other
    }
}

impl Hash for EventName {
    fn hash<H: Hasher>(&self, state: &mut H) {
        self.as_str().hash(state)
    }
}

impl fmt::Display for EventName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl fmt::Debug for EventName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(self.as_str(), f)
    }
}
