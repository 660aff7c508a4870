//! [`FilterSpec`]: how a component makes each connection's filter.

use poe_filters::{Filter, Line};
use std::fmt;
use std::rc::Rc;

/// How a component makes a fresh filter for each connection — POE's
/// `ClientFilter` / `Filter` forms: a class (here a constructor function),
/// a class with arguments (a closure), or a prototype object that is cloned.
///
/// ```
/// use poe_components::tcp::FilterSpec;
/// use poe_filters::{Line, Stream};
///
/// let by_type = FilterSpec::new(Stream::new);
/// let with_args = FilterSpec::new(|| Line::literal("\n").unwrap());
/// let prototype = FilterSpec::prototype(Line::literal("|").unwrap());
/// # let _ = (by_type, with_args, prototype);
/// ```
#[derive(Clone)]
pub struct FilterSpec(Rc<dyn Fn() -> Box<dyn Filter>>);

impl FilterSpec {
    /// A filter made by `make` for each connection.
    pub fn new<F: Filter + 'static>(make: impl Fn() -> F + 'static) -> FilterSpec {
        FilterSpec(Rc::new(move || Box::new(make()) as Box<dyn Filter>))
    }

    /// A fresh clone (same configuration, empty buffers) of `prototype` for
    /// each connection.
    pub fn prototype(prototype: impl Filter + 'static) -> FilterSpec {
        FilterSpec(Rc::new(move || prototype.clone_fresh()))
    }

    /// Make one.
    pub fn make(&self) -> Box<dyn Filter> {
        (self.0)()
    }
}

impl Default for FilterSpec {
    /// POE's default: a new Filter::Line.
    fn default() -> FilterSpec {
        FilterSpec::new(Line::new)
    }
}

impl fmt::Debug for FilterSpec {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("FilterSpec")
    }
}
