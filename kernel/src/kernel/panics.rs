//! Panics in handlers become POE's `DIE` signal (§7).
//!
//! A handler that panics during a normal dispatch — a queued event, a call
//! from another session, a select or signal watcher, `_start` — is caught
//! where it was dispatched. The kernel then queues `DIE` to the session
//! whose handler panicked, with POE's fields in `ARG1`. A watcher that
//! calls `sig_handled` keeps the program going; if none does, the sessions
//! DIE reached are stopped, then every other session, and the panic
//! resumes out of `run` (as POE's `die` leaves `run`).
//!
//! Self-calls are not caught (POE does not trap them either): the panic
//! travels up to the dispatch that is. A panic in `_stop` is not turned
//! into DIE: it resumes out of `run` once the stop is complete.
//! `KernelBuilder::catch_panics(false)` (POE's `CATCH_EXCEPTIONS = 0`)
//! lets every panic unwind straight out of `run`.

use super::Kernel;
use crate::name::EventName;
use crate::session::SessionId;
use crate::value::Value;
use std::any::Any;
use std::collections::HashMap;
use std::panic::Location;

/// A caught panic's payload.
pub(crate) type Payload = Box<dyn Any + Send + 'static>;

/// The panics caught and not yet settled.
#[derive(Default)]
pub(crate) struct PanicState {
    /// Payloads of DIE signals not dispatched yet, by the id in their
    /// `ARG1`.
    waiting: HashMap<i64, Payload>,
    next: i64,
    /// The DIE whose watchers are running: a panic in one of them is
    /// appended to it, as POE appends a `die` in a DIE handler.
    in_die: Option<i64>,
    /// A panic to resume out of `run` at the end of this timeslice.
    rethrow: Option<Payload>,
}

/// The text of a panic payload (`panic!` gives `&str` or `String`).
pub(crate) fn message(payload: &Payload) -> String {
    if let Some(s) = payload.downcast_ref::<&str>() {
        (*s).to_owned()
    } else if let Some(s) = payload.downcast_ref::<String>() {
        s.clone()
    } else {
        "a handler panicked".to_owned()
    }
}

/// What POE puts in `ARG1` of DIE, taken from the event before its
/// handler runs. Taken for every dispatch, so it only copies: names are
/// shared, and become text only if the handler panics.
pub(crate) struct DieInfo {
    pub(crate) source: SessionId,
    pub(crate) dest: SessionId,
    pub(crate) event: EventName,
    pub(crate) caller: &'static Location<'static>,
    pub(crate) from_state: Option<EventName>,
}

impl Kernel {
    /// A handler of `session` panicked while handling the event `info`
    /// describes: queue DIE to it (or, inside a DIE watcher, add to the
    /// DIE being handled).
    pub(super) fn caught_panic(&self, info: DieInfo, payload: Payload) {
        let text = message(&payload);
        log::error!(
            target: "poe::signals",
            "session {} panicked in '{}': {text}",
            info.dest,
            info.event
        );
        let mut state = self.inner.panics.borrow_mut();
        if let Some(id) = state.in_die {
            if let Some(first) = state.waiting.remove(&id) {
                let joined = format!("{}\n{text}", message(&first));
                state.waiting.insert(id, Box::new(joined));
                return;
            }
        }
        let id = state.next;
        state.next += 1;
        state.waiting.insert(id, payload);
        drop(state);
        let details = Value::map([
            ("source_session", Value::from(info.source.get())),
            ("dest_session", Value::from(info.dest.get())),
            ("event", Value::from(info.event.as_str())),
            ("file", Value::from(info.caller.file())),
            ("line", Value::from(info.caller.line())),
            (
                "from_state",
                Value::from(info.from_state.as_ref().map_or("", EventName::as_str)),
            ),
            ("error_str", Value::from(text)),
            ("id", Value::from(id)),
        ]);
        if self.signal(info.dest, "DIE", (details,)).is_err() {
            // The session is gone already (it stopped the kernel, then
            // panicked): nobody can handle DIE, so the panic leaves `run`
            // instead of being lost.
            let payload = self.inner.panics.borrow_mut().waiting.remove(&id);
            if let Some(payload) = payload {
                self.rethrow_later(payload);
            }
        }
    }

    /// A `_stop` handler panicked: finish stopping, then resume the panic
    /// out of `run`.
    pub(super) fn rethrow_later(&self, payload: Payload) {
        let mut state = self.inner.panics.borrow_mut();
        if state.rethrow.is_none() {
            state.rethrow = Some(payload);
        }
    }

    /// DIE watchers are about to run for the DIE carrying `details`.
    pub(super) fn die_begins(&self, details: &Value) -> Option<i64> {
        let id = details.get("id").and_then(Value::as_i64)?;
        self.inner.panics.borrow_mut().in_die = Some(id);
        Some(id)
    }

    /// The DIE's watchers ran: forget its panic if it was handled; if not,
    /// stop everything and resume it out of `run`.
    pub(super) fn die_ends(&self, id: Option<i64>, details: &Value, handled: bool) {
        let payload = {
            let mut state = self.inner.panics.borrow_mut();
            state.in_die = None;
            id.and_then(|id| state.waiting.remove(&id))
        };
        if handled {
            return;
        }
        let payload = payload.unwrap_or_else(|| {
            let text = details
                .get("error_str")
                .map(Value::to_string)
                .unwrap_or_else(|| "DIE".to_owned());
            Box::new(text)
        });
        log::error!(target: "poe::signals", "unhandled DIE: stopping every session");
        self.stop();
        self.rethrow_later(payload);
    }

    /// The panic to resume out of `run`, if one is due.
    pub(super) fn take_rethrow(&self) -> Option<Payload> {
        self.inner.panics.borrow_mut().rethrow.take()
    }
}
