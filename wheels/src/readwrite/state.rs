//! What a ReadWrite wheel keeps: its handles, driver, filters, event names,
//! watermarks and flags. Shared (weakly) with its hidden states.

use crate::driver::SysRw;
use poe_filters::Filter;
use poe_kernel::EventName;
use std::os::fd::{AsRawFd, RawFd};

/// The filters: one for both directions (POE's `Filter`), or one each.
pub(crate) enum Filters {
    Shared(Box<dyn Filter>),
    Split {
        input: Box<dyn Filter>,
        output: Box<dyn Filter>,
    },
}

impl Filters {
    pub fn input(&mut self) -> &mut dyn Filter {
        match self {
            Filters::Shared(f) => f.as_mut(),
            Filters::Split { input, .. } => input.as_mut(),
        }
    }

    pub fn output(&mut self) -> &mut dyn Filter {
        match self {
            Filters::Shared(f) => f.as_mut(),
            Filters::Split { output, .. } => output.as_mut(),
        }
    }
}

/// The events a ReadWrite emits, renamable at run time.
#[derive(Clone, Default)]
pub(crate) struct Events {
    pub input: Option<EventName>,
    pub error: Option<EventName>,
    pub flushed: Option<EventName>,
    pub high: Option<EventName>,
    pub low: Option<EventName>,
}

/// The descriptors: one handle for both directions, or one each. The
/// objects are owned so the descriptors stay open while the wheel lives.
pub(crate) struct Handles {
    /// Owned for their lifetime (dropping them closes the descriptors).
    _input: Box<dyn AsRawFd>,
    _output: Option<Box<dyn AsRawFd>>,
    /// Their descriptors, read once: every record and every `put` needs
    /// one, and asking the boxed handle is a dynamic call.
    in_fd: RawFd,
    out_fd: RawFd,
}

impl Handles {
    pub fn new(input: Box<dyn AsRawFd>, output: Option<Box<dyn AsRawFd>>) -> Handles {
        let in_fd = input.as_raw_fd();
        let out_fd = output.as_ref().map_or(in_fd, |o| o.as_raw_fd());
        Handles {
            _input: input,
            _output: output,
            in_fd,
            out_fd,
        }
    }

    #[inline]
    pub fn in_fd(&self) -> RawFd {
        self.in_fd
    }

    #[inline]
    pub fn out_fd(&self) -> RawFd {
        self.out_fd
    }
}

pub(crate) struct Inner {
    pub handles: Handles,
    pub driver: SysRw,
    pub filters: Filters,
    pub events: Events,
    /// `(high, low)` octet thresholds.
    pub marks: Option<(usize, usize)>,
    /// Above the high mark since the last time below the low one.
    pub high_water: bool,
    /// A `put` crossed the high mark: the next write event announces it
    /// (HighEvent) before anything else.
    pub high_due: bool,
    pub auto_flush: bool,
    /// `pause_input`: no further reads until `resume_input`.
    pub input_paused: bool,
    /// No more input, ever: EOF, a read or filter error, `shutdown_input`.
    pub input_done: bool,
    /// No more output: `shutdown_output` or a write error.
    pub output_done: bool,
    /// A hidden write event is queued (output waiting for its flush).
    pub flush_queued: bool,
    /// A write watch is registered: output is blocked on a full socket.
    pub write_watched: bool,
}

impl Inner {
    /// A read watch is registered: there is an InputEvent and input is
    /// not over.
    pub fn reading(&self) -> bool {
        self.events.input.is_some() && !self.input_done
    }

    /// What the watermarks say after the buffer changed: `(high, low)`
    /// events to emit, in that order. Both only when a `put` crossed the
    /// high mark and this write drained the buffer below the low one.
    pub fn watermark_transition(&mut self) -> (bool, bool) {
        let announced = std::mem::take(&mut self.high_due);
        let Some((high, low)) = self.marks else {
            return (false, false);
        };
        let buffered = self.driver.octets_buffered();
        if self.high_water && buffered <= low {
            self.high_water = false;
            (announced, true)
        } else if !self.high_water && buffered >= high {
            self.high_water = true;
            (true, false)
        } else {
            (announced, false)
        }
    }
}
