//! [`ReadWriteBuilder`]: POE's constructor parameters for a ReadWrite.

use super::state::{Events, Filters, Handles, Inner};
use super::{handlers, Names, ReadWrite};
use crate::driver::SysRw;
use crate::fd::set_nonblocking;
use crate::fd::Fd;
use crate::id::WheelId;
use crate::WheelError;
use poe_filters::{Filter, Line};
use poe_kernel::{Ctx, EventName, Mode, Trigger};
use std::cell::RefCell;
use std::rc::Rc;

/// Builds a [`ReadWrite`]; setters are POE's parameter names.
#[must_use]
pub struct ReadWriteBuilder {
    handles: Handles,
    driver: Option<SysRw>,
    filter: Option<Box<dyn Filter>>,
    input_filter: Option<Box<dyn Filter>>,
    output_filter: Option<Box<dyn Filter>>,
    events: Events,
    high_mark: Option<usize>,
    low_mark: Option<usize>,
    auto_flush: bool,
}

impl ReadWriteBuilder {
    pub(super) fn new(handles: Handles) -> ReadWriteBuilder {
        ReadWriteBuilder {
            handles,
            driver: None,
            filter: None,
            input_filter: None,
            output_filter: None,
            events: Events::default(),
            high_mark: None,
            low_mark: None,
            auto_flush: false,
        }
    }

    /// `Driver` (default: a new [`SysRw`]).
    pub fn driver(mut self, d: SysRw) -> Self {
        self.driver = Some(d);
        self
    }

    /// `Filter`: one filter for both directions (default: [`Line`]).
    pub fn filter(mut self, f: impl Filter + 'static) -> Self {
        self.filter = Some(Box::new(f));
        self
    }

    /// `Filter`, already boxed (for filters chosen at run time).
    pub fn filter_boxed(mut self, f: Box<dyn Filter>) -> Self {
        self.filter = Some(f);
        self
    }

    /// `InputFilter`, already boxed.
    pub fn input_filter_boxed(mut self, f: Box<dyn Filter>) -> Self {
        self.input_filter = Some(f);
        self
    }

    /// `OutputFilter`, already boxed.
    pub fn output_filter_boxed(mut self, f: Box<dyn Filter>) -> Self {
        self.output_filter = Some(f);
        self
    }

    /// `InputFilter` (default: [`Line`]). `Filter` takes precedence.
    pub fn input_filter(mut self, f: impl Filter + 'static) -> Self {
        self.input_filter = Some(Box::new(f));
        self
    }

    /// `OutputFilter` (default: [`Line`]). `Filter` takes precedence.
    pub fn output_filter(mut self, f: impl Filter + 'static) -> Self {
        self.output_filter = Some(Box::new(f));
        self
    }

    /// `InputEvent`: `(record, wheel_id)`. Without it the input is not
    /// watched at all.
    pub fn input_event(mut self, e: impl Into<EventName>) -> Self {
        self.events.input = Some(e.into());
        self
    }

    /// `ErrorEvent`: `(operation, errno, message, wheel_id)`; operation is
    /// `"read"` or `"write"`; end of file is `("read", 0, "")`.
    pub fn error_event(mut self, e: impl Into<EventName>) -> Self {
        self.events.error = Some(e.into());
        self
    }

    /// `FlushedEvent`: `(wheel_id)`, each time the output buffer empties.
    pub fn flushed_event(mut self, e: impl Into<EventName>) -> Self {
        self.events.flushed = Some(e.into());
        self
    }

    /// `HighEvent`: `(wheel_id)` (needs `HighMark`). The `put` that
    /// crosses HighMark queues it (POE's never fires); it always arrives
    /// before the LowEvent of the drain that follows.
    pub fn high_event(mut self, e: impl Into<EventName>) -> Self {
        self.events.high = Some(e.into());
        self
    }

    /// `LowEvent`: `(wheel_id)` (needs `LowMark`; required with it).
    pub fn low_event(mut self, e: impl Into<EventName>) -> Self {
        self.events.low = Some(e.into());
        self
    }

    /// `HighMark`: buffered octets at which `put` reports high water.
    pub fn high_mark(mut self, n: usize) -> Self {
        self.high_mark = Some(n);
        self
    }

    /// `LowMark`: buffered octets at which LowEvent fires after high water.
    pub fn low_mark(mut self, n: usize) -> Self {
        self.low_mark = Some(n);
        self
    }

    /// `AutoFlush`: `put` writes at once when the buffer was empty.
    pub fn auto_flush(mut self, yes: bool) -> Self {
        self.auto_flush = yes;
        self
    }

    /// POE's watermark rules (its "Water mark errors" croaks).
    fn marks(&self) -> Result<Option<(usize, usize)>, WheelError> {
        let bad = |why: &str| Err(WheelError::Invalid(format!("ReadWrite: {why}")));
        let ev = &self.events;
        match (self.high_mark, self.low_mark) {
            (Some(_), None) | (None, Some(_)) => bad("HighMark and LowMark must be given together"),
            (Some(0), _) | (_, Some(0)) => bad("HighMark and LowMark must be greater than zero"),
            (None, None) if ev.high.is_some() => bad("HighEvent needs HighMark"),
            (None, None) if ev.low.is_some() => bad("LowEvent needs LowMark"),
            (None, None) => Ok(None),
            (Some(_), Some(_)) if ev.low.is_none() => bad("LowMark needs LowEvent"),
            (Some(h), Some(l)) => Ok(Some((h, l))),
        }
    }

    /// Register the wheel in the running session and start reading.
    pub fn build<H: 'static>(self, ctx: &mut Ctx<'_, H>) -> Result<ReadWrite, WheelError> {
        let marks = self.marks()?;
        let filters = match (self.filter, self.input_filter, self.output_filter) {
            (Some(f), i, o) => {
                if i.is_some() || o.is_some() {
                    log::warn!(target: "poe::wheels", "ReadWrite: Filter given; InputFilter/OutputFilter ignored");
                }
                Filters::Shared(f)
            }
            (None, None, None) => Filters::Shared(Box::new(Line::new())),
            (None, i, o) => Filters::Split {
                input: i.unwrap_or_else(|| Box::new(Line::new())),
                output: o.unwrap_or_else(|| Box::new(Line::new())),
            },
        };
        let id = WheelId::next();
        let session = ctx.session();
        let in_fd = self.handles.in_fd();
        // Input is read only through its select watch, which makes it
        // non-blocking; output may be written before any watch on it, so
        // it is made non-blocking here, unless it is the input handle (a
        // socket) and that watch comes below, before anyone can put.
        let reading = self.events.input.is_some();
        if !(reading && self.handles.out_fd() == in_fd) {
            set_nonblocking(self.handles.out_fd())?;
        }
        let inner = Rc::new(RefCell::new(Inner {
            handles: self.handles,
            driver: self.driver.unwrap_or_default(),
            filters,
            events: self.events,
            marks,
            high_water: false,
            high_due: false,
            auto_flush: self.auto_flush,
            input_paused: false,
            input_done: false,
            output_done: false,
            flush_queued: false,
            write_watched: false,
        }));
        let names = Names::new(id);
        let weak = Rc::downgrade(&inner);
        // The wheel first: if a registration below fails, its Drop undoes
        // the ones made before (states, keep-alive, watcher).
        let wheel = ReadWrite {
            inner,
            kernel: ctx.kernel().downgrade(),
            session,
            id,
            names,
        };
        let names = &wheel.names;
        ctx.refcount_increment(session, &super::keep_alive_tag(id))?;
        ctx.state(names.read.clone(), handlers::read(weak.clone(), id));
        ctx.state(
            names.write.clone(),
            handlers::write(weak, id, names.write.clone()),
        );
        if reading {
            ctx.select_watch(
                &Fd(in_fd),
                Mode::Read,
                Trigger::Edge,
                names.read.clone(),
                (),
            )?;
        }
        log::trace!(target: "poe::wheels", "ReadWrite({id}) on fd {in_fd} in session {session}");
        Ok(wheel)
    }
}
