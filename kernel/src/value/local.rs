//! [`Local`]: a Rust object travelling inside a `Value`.

use std::any::Any;
use std::cell::RefCell;
use std::fmt;
use std::rc::Rc;

struct LocalCell {
    type_name: &'static str,
    slot: RefCell<Option<Box<dyn Any>>>,
}

/// Any Rust object carried as an event argument inside one process: a socket
/// handed from SocketFactory to an Acceptor, a wheel, a channel end.
///
/// Clones share the same object; [`Local::take`] moves it out (once), which
/// is how an event handler takes ownership of a socket it was given. A
/// `Local` never serializes: IKC and Filter::Reference refuse it.
///
/// ```
/// use poe_kernel::Local;
/// let l = Local::new(String::from("a socket, say"));
/// let shared = l.clone();
/// assert_eq!(shared.take::<String>().as_deref(), Some("a socket, say"));
/// assert!(l.take::<String>().is_none()); // already taken
/// ```
#[derive(Clone)]
pub struct Local(Rc<LocalCell>);

impl Local {
    /// Wrap an object.
    pub fn new<T: 'static>(value: T) -> Local {
        Local(Rc::new(LocalCell {
            type_name: std::any::type_name::<T>(),
            slot: RefCell::new(Some(Box::new(value))),
        }))
    }

    /// Move the object out if it is a `T` and has not been taken yet.
    pub fn take<T: 'static>(&self) -> Option<T> {
        let mut slot = self.0.slot.borrow_mut();
        if !slot.as_ref().is_some_and(|b| b.is::<T>()) {
            return None;
        }
        slot.take().and_then(|b| b.downcast::<T>().ok()).map(|b| *b)
    }

    /// Run `f` on the object if it is a `T` and still present.
    pub fn with<T: 'static, R>(&self, f: impl FnOnce(&mut T) -> R) -> Option<R> {
        let mut slot = self.0.slot.try_borrow_mut().ok()?;
        slot.as_mut()?.downcast_mut::<T>().map(f)
    }

    /// True if the object is a `T` and has not been taken.
    pub fn is<T: 'static>(&self) -> bool {
        self.0
            .slot
            .try_borrow()
            .map(|s| s.as_ref().is_some_and(|b| b.is::<T>()))
            .unwrap_or(false)
    }

    /// The Rust type name of the wrapped object (for diagnostics).
    pub fn type_name(&self) -> &'static str {
        self.0.type_name
    }

    /// True if both handles share one object.
    pub fn ptr_eq(&self, other: &Local) -> bool {
        Rc::ptr_eq(&self.0, &other.0)
    }
}

impl fmt::Debug for Local {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Local<{}>", self.0.type_name)
    }
}
