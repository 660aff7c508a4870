//! A session's heap and states behind a type-erased interface, and the one
//! function that runs a handler.
//!
//! The kernel stores every session's heap in a `Box<dyn Body>` and takes it
//! out of its slot for the length of a dispatch: that is what makes a heap
//! borrowed further up the call stack detectable (the slot is empty) instead
//! of a second `&mut` to the same heap.

use super::states::{ErasedStates, SharedStates};
use super::{Ctx, SessionId};
use crate::event::Event;
use crate::kernel::Kernel;
use crate::name::EventName;
use crate::value::{Args, IntoArgs, Value};
use std::panic::Location;
use std::rc::Rc;

/// Something that can run a session's handler for an event: a heap owned by
/// the kernel ([`TypedBody`]) or one lent by a running handler ([`Lent`]).
pub(crate) trait Dispatch {
    /// Run the handler for `ev` (or `_default`), taking its arguments.
    /// `None` when the session has neither. The event stays with the
    /// caller: moving it into each layer cost more than the handler's own
    /// bookkeeping, and a caller whose handler panicked still has it.
    fn dispatch(&mut self, kernel: &Kernel, ev: &mut Event) -> Option<Value>;
}

/// A session's heap and handlers, owned by the kernel.
pub(crate) trait Body: Dispatch {
    fn heap_type(&self) -> &'static str;
    fn states(&self) -> Rc<dyn ErasedStates>;
}

pub(crate) struct TypedBody<H: 'static> {
    pub heap: H,
    pub states: SharedStates<H>,
}

impl<H: 'static> Dispatch for TypedBody<H> {
    fn dispatch(&mut self, kernel: &Kernel, ev: &mut Event) -> Option<Value> {
        let (meta, args) = Meta::split(ev);
        invoke(kernel, &mut self.heap, &self.states, meta, args)
    }
}

impl<H: 'static> Body for TypedBody<H> {
    fn heap_type(&self) -> &'static str {
        std::any::type_name::<H>()
    }

    fn states(&self) -> Rc<dyn ErasedStates> {
        self.states.clone()
    }
}

/// The running handler's own heap, lent to the kernel so events the kernel
/// must deliver synchronously to that session (`_child` after it creates a
/// session, `_stop` after it calls `stop`) reach it without a second borrow.
pub(crate) struct Lent<'a, H: 'static> {
    pub heap: &'a mut H,
    pub states: &'a SharedStates<H>,
}

impl<H: 'static> Dispatch for Lent<'_, H> {
    fn dispatch(&mut self, kernel: &Kernel, ev: &mut Event) -> Option<Value> {
        let (meta, args) = Meta::split(ev);
        invoke(kernel, self.heap, self.states, meta, args)
    }
}

/// The session a running handler can lend its heap for.
pub(crate) struct Frame<'f> {
    pub session: SessionId,
    pub body: &'f mut dyn Dispatch,
}

const DEFAULT: EventName = EventName::from_static("_default");

/// What a handler is told about its event besides the arguments, borrowed
/// from whoever holds the event: a queued [`Event`], or a running handler
/// calling its own session (which builds no event at all).
pub(crate) struct Meta<'e> {
    pub session: SessionId,
    pub sender: SessionId,
    pub name: &'e EventName,
    pub caller_state: Option<&'e EventName>,
    pub caller: &'static Location<'static>,
    /// A wheel's hidden state: dropped, not given to `_default`, if gone.
    pub hidden: bool,
}

impl<'e> Meta<'e> {
    /// A queued event's metadata, and its arguments to lend the handler.
    #[inline]
    pub(crate) fn split(ev: &'e mut Event) -> (Meta<'e>, &'e mut Args) {
        let meta = Meta {
            session: ev.dest,
            sender: ev.source,
            name: &ev.name,
            caller_state: ev.caller_state.as_ref(),
            caller: ev.caller,
            hidden: ev.hidden,
        };
        (meta, &mut ev.args)
    }
}

/// Find the handler for the event (falling back to `_default`, which
/// receives the original name and a list of the original arguments, as in
/// POE) and run it, lending it `args`. Returns what it returned (`None`:
/// no handler). The handler may take arguments out; whatever it leaves is
/// the caller's to clear or drop (see `Ctx::call_self_with`, which reuses
/// the list record after record).
#[inline(always)]
pub(crate) fn invoke<H: 'static>(
    kernel: &Kernel,
    heap: &mut H,
    states: &SharedStates<H>,
    meta: Meta<'_>,
    args: &mut Args,
) -> Option<Value> {
    // `_default`'s name and arguments, built only when it is looked up
    // (they outlive the table's borrow: the handler's context refers to
    // them).
    let default;
    let mut default_args;
    let (handler, name, args) = {
        let table = states.borrow();
        if let Some(h) = table.get(meta.name) {
            (h, meta.name, args)
        } else if meta.hidden {
            // A wheel's hidden state, removed with its wheel: the wheel's
            // events end with it.
            return None;
        } else {
            default = DEFAULT;
            let h = table.get(&default)?;
            default_args = (
                Value::from(meta.name.as_str()),
                Value::List(std::mem::take(args).into_vec()),
            )
                .into_args();
            (h, &default, &mut default_args)
        }
    };
    let mut ctx = Ctx {
        heap,
        args,
        kernel,
        states,
        session: meta.session,
        sender: meta.sender,
        event: name,
        caller_state: meta.caller_state,
        caller: meta.caller,
    };
    Some(handler(&mut ctx))
}
