//! [`Event`]: one queued or dispatched event, as the kernel carries it.

use crate::name::EventName;
use crate::session::SessionId;
use crate::value::Args;
use std::panic::Location;

/// What produced an event; decides how it is dispatched and what happens
/// when its session's heap is busy.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum EventKind {
    /// `post` or `yield`.
    Post,
    /// An alarm or delay.
    Alarm,
    /// A synchronous `call` (or callback).
    Call,
    /// `_start`, `_stop`, `_child`, `_parent`.
    Lifecycle,
    /// A select (file-descriptor) watcher.
    Select,
    /// A signal watcher's event.
    SignalWatcher,
    /// A queued `_signal` to a target session; dispatched to its watchers.
    Signal,
    /// Keeps a new session alive until everything queued before it ran.
    GcMarker,
}

/// An event travelling to a session.
pub(crate) struct Event {
    pub dest: SessionId,
    pub source: SessionId,
    pub name: EventName,
    pub args: Args,
    pub kind: EventKind,
    /// The event the sender was handling when it created this one.
    pub caller_state: Option<EventName>,
    /// Where in the program this event was created.
    pub caller: &'static Location<'static>,
    /// Posted to a wheel's hidden state ([`crate::Kernel::post_hidden`]):
    /// dropped, not given to `_default`, if that state is gone.
    pub hidden: bool,
}

impl Event {
    #[track_caller]
    pub(crate) fn new(
        kind: EventKind,
        dest: SessionId,
        source: SessionId,
        name: EventName,
        args: Args,
    ) -> Event {
        Event {
            dest,
            source,
            name,
            args,
            kind,
            caller_state: None,
            caller: Location::caller(),
            hidden: false,
        }
    }
}
