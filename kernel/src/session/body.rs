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
        invoke(kernel, &mut self.heap, &self.states, ev)
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
        invoke(kernel, self.heap, self.states, ev)
    }
}

/// The session a running handler can lend its heap for.
pub(crate) struct Frame<'f> {
    pub session: SessionId,
    pub body: &'f mut dyn Dispatch,
}

const DEFAULT: EventName = EventName::from_static("_default");

/// Find the handler for `ev` (falling back to `_default`, which receives
/// the original name and a list of the original arguments, as in POE) and
/// run it.
pub(crate) fn invoke<H: 'static>(
    kernel: &Kernel,
    heap: &mut H,
    states: &SharedStates<H>,
    ev: &mut Event,
) -> Option<Value> {
    invoke_returning_args(kernel, heap, states, ev).0
}

/// [`invoke`], handing back the argument list the handler ended with, for
/// a caller that reuses it (see `Ctx::call_self_with`).
pub(crate) fn invoke_returning_args<H: 'static>(
    kernel: &Kernel,
    heap: &mut H,
    states: &SharedStates<H>,
    ev: &mut Event,
) -> (Option<Value>, Args) {
    let (handler, name, args) = {
        let table = states.borrow();
        if let Some(h) = table.get(&ev.name) {
            (h, ev.name.clone(), std::mem::take(&mut ev.args))
        } else if ev.hidden {
            // A wheel's hidden state, removed with its wheel: the wheel's
            // events end with it.
            return (None, std::mem::take(&mut ev.args));
        } else if let Some(h) = table.get(&DEFAULT) {
            let args = (
                Value::from(ev.name.as_str()),
                Value::List(std::mem::take(&mut ev.args).into_vec()),
            )
                .into_args();
            (h, DEFAULT, args)
        } else {
            return (None, std::mem::take(&mut ev.args));
        }
    };
    let mut ctx = Ctx {
        heap,
        args,
        kernel,
        states,
        session: ev.dest,
        sender: ev.source,
        event: name,
        caller_state: &ev.caller_state,
        caller: ev.caller,
    };
    let result = handler(&mut ctx);
    (Some(result), std::mem::take(&mut ctx.args))
}
