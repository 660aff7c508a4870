//! [`Term`]: a terminator's octets, static or shared between clones.

use std::ops::Deref;
use std::rc::Rc;

/// Octets of a terminator. Clones of a filter share it: cloning a Line per
/// connection allocates nothing.
#[derive(Clone, Debug)]
pub(crate) enum Term {
    Static(&'static [u8]),
    Shared(Rc<[u8]>),
}

impl Term {
    pub(crate) fn new(bytes: &[u8]) -> Term {
        match bytes {
            b"\r\n" => Term::Static(b"\r\n"),
            b"\n" => Term::Static(b"\n"),
            b"\r" => Term::Static(b"\r"),
            b"\n\r" => Term::Static(b"\n\r"),
            other => Term::Shared(Rc::from(other)),
        }
    }
}

impl Deref for Term {
    type Target = [u8];
    fn deref(&self) -> &[u8] {
        match self {
            Term::Static(s) => s,
            Term::Shared(s) => s,
        }
    }
}
