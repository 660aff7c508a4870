//! [`Link`]: what the Responder, proxies and thunks hold of a channel, to
//! send it frames without an event hop (and without needing the channel
//! session's heap, which may be busy up the stack).

use super::proxy::ThunkError;
use super::{Request, Specifier};
use poe_kernel::{SessionId, Value};
use poe_wheels::ReadWrite;
use std::cell::{Cell, RefCell};
use std::collections::HashMap;

/// Where a channel is in its life.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum LinkState {
    /// Exchanging negotiation lines: frames cannot be sent yet.
    Negotiating,
    /// Frames flow both ways.
    Up,
    /// Closing once its output is flushed; nothing more is sent.
    Closing,
    /// Gone.
    Closed,
}

/// One channel's sending end, shared by the channel session (which owns
/// it) and everything that sends through it.
#[derive(Debug)]
pub(crate) struct Link {
    /// The channel session.
    pub session: SessionId,
    /// The first name this kernel announced on this channel (after its
    /// ID): what an empty `rsvp.kernel` is filled with, as Perl does.
    pub kernel_name: String,
    /// The remote kernel's ID once negotiated.
    pub remote_id: RefCell<Option<String>>,
    state: Cell<LinkState>,
    wheel: RefCell<Option<ReadWrite>>,
    /// Thunks by (remote sender, addressed session), reused request after
    /// request; released when the channel closes.
    pub thunks: RefCell<HashMap<ThunkKey, (SessionId, ThunkError)>>,
}

/// Which thunk a request goes through: its `from` and the local session
/// it addresses.
pub(crate) type ThunkKey = (Option<Specifier>, String);

/// Most thunks a channel keeps; past that the cache starts over.
pub(crate) const MAX_THUNKS: usize = 256;

impl Link {
    pub(crate) fn new(session: SessionId, kernel_name: String) -> Link {
        Link {
            session,
            kernel_name,
            remote_id: RefCell::new(None),
            state: Cell::new(LinkState::Negotiating),
            wheel: RefCell::new(None),
            thunks: RefCell::new(HashMap::new()),
        }
    }

    pub(crate) fn state(&self) -> LinkState {
        self.state.get()
    }

    pub(crate) fn set_state(&self, state: LinkState) {
        self.state.set(state);
    }

    pub(crate) fn remote_id(&self) -> Option<String> {
        self.remote_id.borrow().clone()
    }

    pub(crate) fn set_wheel(&self, wheel: ReadWrite) {
        *self.wheel.borrow_mut() = Some(wheel);
    }

    /// Run `f` with the wheel, if it is still there.
    pub(crate) fn with_wheel<R>(&self, f: impl FnOnce(&ReadWrite) -> R) -> Option<R> {
        self.wheel.borrow().as_ref().map(f)
    }

    /// Drop the wheel: the socket closes.
    pub(crate) fn drop_wheel(&self) {
        let wheel = self.wheel.borrow_mut().take();
        drop(wheel);
        self.state.set(LinkState::Closed);
    }

    /// Send one negotiation line (the Line filter adds CR LF in the same
    /// write).
    pub(crate) fn send_line(&self, line: &str) {
        self.with_wheel(|w| {
            if let Err(e) = w.put(line) {
                log::warn!(target: "poe::ikc", "channel {}: cannot send a line: {e}", self.session);
            }
        });
    }

    /// Send a request as a frame. False when the channel cannot carry it
    /// (not negotiated yet, closing, or gone).
    pub(crate) fn send(&self, mut request: Request) -> bool {
        if self.state.get() != LinkState::Up {
            return false;
        }
        if let Some(Value::Map(rsvp)) = &mut request.rsvp {
            let empty = rsvp.get("kernel").is_none_or(|k| k.to_string().is_empty());
            if empty {
                rsvp.insert("kernel".into(), Value::from(self.kernel_name.as_str()));
            }
        }
        let frame = request.into_value();
        self.with_wheel(|w| match w.put(frame) {
            Ok(_) => true,
            Err(e) => {
                log::warn!(target: "poe::ikc", "channel {}: cannot send a frame: {e}", self.session);
                false
            }
        })
        .unwrap_or(false)
    }
}
