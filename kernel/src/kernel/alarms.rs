//! Alarms and delays (§8): timers owned by, and delivered to, the running
//! session. Every operation on one alarm is O(log n).

use super::Kernel;
use crate::error::{KernelError, Result};
use crate::event::EventKind;
use crate::name::EventName;
use crate::queue::timers::Expired;
use crate::queue::AlarmId;
use crate::session::SessionId;
use crate::value::{Args, IntoArgs, Value};
use std::panic::Location;

/// An alarm taken off the queue by `alarm_remove` or `alarm_remove_all`.
#[derive(Debug, Clone, PartialEq)]
pub struct RemovedAlarm {
    /// Its event name.
    pub name: EventName,
    /// When it was due, in epoch seconds.
    pub due: f64,
    /// Its arguments.
    pub args: Vec<Value>,
}

impl From<Expired> for RemovedAlarm {
    fn from(e: Expired) -> RemovedAlarm {
        RemovedAlarm {
            name: e.event.name,
            due: e.due,
            args: e.event.args.into_vec(),
        }
    }
}

fn check_name(name: &EventName) -> Result<()> {
    if name.is_empty() {
        Err(KernelError::InvalidArgument("an alarm needs an event name"))
    } else {
        Ok(())
    }
}

fn check_time(t: f64) -> Result<()> {
    if t.is_finite() {
        Ok(())
    } else {
        Err(KernelError::InvalidArgument(
            "alarm time must be a finite number",
        ))
    }
}

impl Kernel {
    /// Queue an alarm for the running session; `op` names the call, for
    /// the warning when there is none.
    fn add_timer(
        &self,
        op: &str,
        name: EventName,
        due: f64,
        args: Args,
        caller: &'static Location<'static>,
    ) -> Result<AlarmId> {
        let me = self.current(op)?;
        check_name(&name)?;
        check_time(due)?;
        Ok(self.push_timer(me, name, due, args, caller))
    }

    /// Queue an alarm for `me`, already checked.
    fn push_timer(
        &self,
        me: SessionId,
        name: EventName,
        due: f64,
        args: Args,
        caller: &'static Location<'static>,
    ) -> AlarmId {
        // `me` is the running session: the alarm's sender too.
        let ev = self.sent_event(EventKind::Alarm, me, name, args, caller);
        log::trace!(target: "poe::alarms", "session {me} sets '{}' for {due:.6}", ev.name);
        self.inner.sessions.borrow_mut().hold_event(me, me);
        let mut queue = self.inner.queue.borrow_mut();
        if queue.timers.is_empty() {
            self.stamp_for_first_alarm();
        }
        queue.add_timer(due, ev)
    }

    /// Drop removed alarms: release what they held, then free them with no
    /// borrow held (their arguments may have destructors).
    fn release_timers(&self, owner: SessionId, removed: Vec<Expired>) -> Vec<RemovedAlarm> {
        {
            let mut reg = self.inner.sessions.borrow_mut();
            for _ in &removed {
                reg.release_event(owner, owner);
            }
        }
        removed.into_iter().map(RemovedAlarm::from).collect()
    }

    /// Remove the running session's alarms named `name`: O(log n) for
    /// each one removed, however many other alarms it has.
    fn remove_named(&self, me: SessionId, name: &str) -> Vec<RemovedAlarm> {
        let removed = self
            .inner
            .queue
            .borrow_mut()
            .timers
            .remove_named(me.get(), name);
        self.release_timers(me, removed)
    }

    /// Remove every pending alarm of the running session named `name`
    /// (POE's `alarm(NAME)` / `delay(NAME)` with no time).
    pub fn alarm_clear(&self, name: &str) -> Result<()> {
        let me = self.current("alarm_clear")?;
        if name.is_empty() {
            return Err(KernelError::InvalidArgument("an alarm needs an event name"));
        }
        self.remove_named(me, name);
        Ok(())
    }

    /// `alarm` and `delay`: clear by name, then add one at `due()`.
    fn replace_named(
        &self,
        op: &str,
        name: EventName,
        due: impl FnOnce() -> f64,
        args: Args,
        caller: &'static Location<'static>,
    ) -> Result<()> {
        // Checked before anything is cleared: a refused alarm clears none.
        let me = self.current(op)?;
        check_name(&name)?;
        let due = due();
        check_time(due)?;
        self.remove_named(me, &name);
        self.push_timer(me, name, due, args, caller);
        Ok(())
    }

    /// Replace every alarm named `name` with one at `epoch` (POE's `alarm`).
    #[track_caller]
    pub fn alarm(&self, name: impl Into<EventName>, epoch: f64, args: impl IntoArgs) -> Result<()> {
        let caller = Location::caller();
        self.replace_named("alarm", name.into(), || epoch, args.into_args(), caller)
    }

    /// Add an alarm at `epoch` without removing others (POE's `alarm_add`).
    #[track_caller]
    pub fn alarm_add(
        &self,
        name: impl Into<EventName>,
        epoch: f64,
        args: impl IntoArgs,
    ) -> Result<()> {
        let caller = Location::caller();
        self.add_timer("alarm_add", name.into(), epoch, args.into_args(), caller)
            .map(drop)
    }

    /// Add an alarm at `epoch` and return its ID (POE's `alarm_set`).
    #[track_caller]
    pub fn alarm_set(
        &self,
        name: impl Into<EventName>,
        epoch: f64,
        args: impl IntoArgs,
    ) -> Result<AlarmId> {
        let caller = Location::caller();
        self.add_timer("alarm_set", name.into(), epoch, args.into_args(), caller)
    }

    /// Replace every alarm named `name` with one `secs` from now (POE's
    /// `delay`).
    #[track_caller]
    pub fn delay(&self, name: impl Into<EventName>, secs: f64, args: impl IntoArgs) -> Result<()> {
        check_time(secs)?;
        let caller = Location::caller();
        let due = || self.now() + secs;
        self.replace_named("delay", name.into(), due, args.into_args(), caller)
    }

    /// Add an alarm `secs` from now (POE's `delay_add`).
    #[track_caller]
    pub fn delay_add(
        &self,
        name: impl Into<EventName>,
        secs: f64,
        args: impl IntoArgs,
    ) -> Result<()> {
        self.delay_set_as(
            "delay_add",
            name.into(),
            secs,
            args.into_args(),
            Location::caller(),
        )
        .map(drop)
    }

    /// Add an alarm `secs` from now and return its ID (POE's `delay_set`).
    #[track_caller]
    pub fn delay_set(
        &self,
        name: impl Into<EventName>,
        secs: f64,
        args: impl IntoArgs,
    ) -> Result<AlarmId> {
        self.delay_set_as(
            "delay_set",
            name.into(),
            secs,
            args.into_args(),
            Location::caller(),
        )
    }

    fn delay_set_as(
        &self,
        op: &str,
        name: EventName,
        secs: f64,
        args: Args,
        caller: &'static Location<'static>,
    ) -> Result<AlarmId> {
        check_time(secs)?;
        self.add_timer(op, name, self.now() + secs, args, caller)
    }

    /// The due time of one of the running session's alarms.
    fn owned_due(&self, op: &str, id: AlarmId) -> Result<f64> {
        let me = self.current(op)?;
        self.due_of(me, id)
    }

    /// The due time of `session`'s alarm `id`: `NoSuchAlarm` if it is not
    /// pending, `NotPermitted` if it is another session's.
    fn due_of(&self, session: SessionId, id: AlarmId) -> Result<f64> {
        match self.inner.queue.borrow().timers.owner_and_due(id) {
            None => Err(KernelError::NoSuchAlarm(id)),
            Some((owner, _)) if owner != session.get() => Err(KernelError::NotPermitted(
                "the alarm belongs to another session",
            )),
            Some((_, due)) => Ok(due),
        }
    }

    /// Move an alarm to `due`. Like POE, a moved alarm is queued behind
    /// everything already due at its new time (even alarms created after
    /// it).
    fn move_alarm(&self, id: AlarmId, due: f64) -> Result<f64> {
        check_time(due)?;
        self.inner
            .queue
            .borrow_mut()
            .move_timer(id, due)
            .ok_or(KernelError::NoSuchAlarm(id))?;
        log::trace!(target: "poe::alarms", "alarm {id} moved to {due:.6}");
        Ok(due)
    }

    /// Move an alarm by `delta` seconds; returns its new due time (POE's
    /// `alarm_adjust`). Another session's alarm: `NotPermitted`.
    ///
    /// The moved alarm fires after alarms already due at its new time; a
    /// `delta` of zero leaves it where it is (both as POE).
    pub fn alarm_adjust(&self, id: AlarmId, delta: f64) -> Result<f64> {
        let due = self.owned_due("alarm_adjust", id)?;
        check_time(delta)?;
        if delta == 0.0 {
            return Ok(due);
        }
        self.move_alarm(id, due + delta)
    }

    /// Make an alarm due `secs` from now (not relative to its old time);
    /// returns the new due time (POE's `delay_adjust`). Ordering as
    /// [`Kernel::alarm_adjust`]: a new time puts it after alarms already
    /// due then, its old time leaves it in place.
    pub fn delay_adjust(&self, id: AlarmId, secs: f64) -> Result<f64> {
        let old = self.owned_due("delay_adjust", id)?;
        let due = self.now() + secs;
        check_time(due)?;
        if due == old {
            return Ok(due);
        }
        self.move_alarm(id, due)
    }

    /// Remove one alarm and return its name, due time and arguments (POE's
    /// `alarm_remove`). Fired, removed or unknown: `NoSuchAlarm`.
    pub fn alarm_remove(&self, id: AlarmId) -> Result<RemovedAlarm> {
        let me = self.current("alarm_remove")?;
        self.alarm_remove_for(me, id)
    }

    /// Remove `session`'s alarm `id`, whichever session is running. For
    /// owners of a timer that may be dropped outside their session's
    /// handlers (wheels), as [`Kernel::select_remove_for`] is for watches.
    /// Fired, removed or unknown: `NoSuchAlarm`; another session's:
    /// `NotPermitted`.
    pub fn alarm_remove_for(&self, session: SessionId, id: AlarmId) -> Result<RemovedAlarm> {
        self.due_of(session, id)?;
        let removed = self
            .inner
            .queue
            .borrow_mut()
            .timers
            .remove(id)
            .ok_or(KernelError::NoSuchAlarm(id))?;
        log::trace!(target: "poe::alarms", "alarm {id} of session {session} removed");
        Ok(self.release_timers(session, vec![removed]).remove(0))
    }

    /// Remove every alarm of the running session (posted events are not
    /// touched) and return them in the order they would have fired (POE's
    /// `alarm_remove_all`).
    pub fn alarm_remove_all(&self) -> Result<Vec<RemovedAlarm>> {
        let me = self.current("alarm_remove_all")?;
        let removed = self
            .inner
            .queue
            .borrow_mut()
            .timers
            .remove_all_owned(me.get());
        Ok(self.release_timers(me, removed))
    }
}
