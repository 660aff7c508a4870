//! What a Run wheel keeps: the child's three pipes with their drivers,
//! filters and flags, and the event names. Shared (weakly) with its hidden
//! states.

use crate::driver::SysRw;
use crate::error::Failure;
use crate::reader::Source;
use poe_filters::Filter;
use poe_kernel::EventName;
use std::os::fd::{AsRawFd, OwnedFd, RawFd};

/// One of the child's output handles.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub(crate) enum Stream {
    Stdout,
    Stderr,
}

impl Stream {
    /// The handle name POE's ErrorEvent carries.
    pub fn name(self) -> &'static str {
        match self {
            Stream::Stdout => "STDOUT",
            Stream::Stderr => "STDERR",
        }
    }

    /// The hidden state's suffix: `POE::Wheel::Run(3) -> select stdout`.
    pub fn state(self) -> &'static str {
        match self {
            Stream::Stdout => "select stdout",
            Stream::Stderr => "select stderr",
        }
    }
}

/// The parent's read end of the child's STDOUT or STDERR pipe.
pub(crate) struct Output {
    pub fd: OwnedFd,
    pub driver: SysRw,
    pub filter: Box<dyn Filter>,
    /// StdoutEvent / StderrEvent; `None` stops reading.
    pub event: Option<EventName>,
    /// `pause_stdout` / `pause_stderr`.
    pub paused: bool,
    /// End of file or a read error was met: never read again.
    pub done: bool,
    /// That end, `(errno, message)`, while its ErrorEvent waits for the
    /// other handle (see `handlers::report_ended`).
    pub end: Option<Failure>,
    /// The ErrorEvent for the end was sent (CloseEvent counts these).
    pub reported: bool,
}

impl Output {
    pub fn raw_fd(&self) -> RawFd {
        self.fd.as_raw_fd()
    }

    /// What the shared read loop reads from.
    pub fn source(&mut self) -> Source<'_> {
        Source {
            fd: self.fd.as_raw_fd(),
            driver: &mut self.driver,
            filter: self.filter.as_mut(),
            event: if self.done { None } else { self.event.as_ref() },
            paused: self.paused,
        }
    }

    /// A read watch is registered: it has an event and its end has not
    /// come.
    pub fn reading(&self) -> bool {
        self.event.is_some() && !self.done
    }

    /// Being read: its end, when it comes, is still to be seen.
    pub fn live(&self) -> bool {
        self.reading() && !self.paused
    }

    /// Still counted by CloseEvent: read (it has an event) and its end not
    /// yet reported. POE's `IS_ACTIVE` counts handles with an event.
    pub fn active(&self) -> bool {
        self.event.is_some() && !self.reported
    }
}

/// The parent's write end of the child's STDIN pipe. Its presence is what
/// holds the session alive (as POE's paused STDIN write watcher does):
/// `shutdown_stdin` and a write error take it away.
pub(crate) struct Stdin {
    pub fd: OwnedFd,
    pub driver: SysRw,
    pub filter: Box<dyn Filter>,
    /// A hidden write event is queued.
    pub flush_queued: bool,
    /// A write watch is registered: the pipe is full.
    pub write_watched: bool,
}

impl Stdin {
    pub fn raw_fd(&self) -> RawFd {
        self.fd.as_raw_fd()
    }
}

/// The events that do not belong to one output handle.
#[derive(Clone, Default)]
pub(crate) struct Events {
    pub stdin: Option<EventName>,
    pub error: Option<EventName>,
    pub close: Option<EventName>,
}

pub(crate) struct Inner {
    pub stdin: Option<Stdin>,
    pub stdout: Option<Output>,
    pub stderr: Option<Output>,
    pub events: Events,
    /// CloseEvent was sent.
    pub closed: bool,
}

impl Inner {
    pub fn output(&mut self, stream: Stream) -> Option<&mut Output> {
        match stream {
            Stream::Stdout => self.stdout.as_mut(),
            Stream::Stderr => self.stderr.as_mut(),
        }
    }

    fn outputs(&self) -> impl Iterator<Item = &Output> {
        self.stdout.iter().chain(&self.stderr)
    }

    /// No output handle is counted by CloseEvent any more.
    pub fn all_closed(&self) -> bool {
        !self.outputs().any(Output::active)
    }

    /// Some output handle is still being read.
    pub fn any_live(&self) -> bool {
        self.outputs().any(Output::live)
    }

    /// An end waits to be reported.
    pub fn end_held(&self) -> bool {
        self.outputs().any(|o| o.end.is_some())
    }

    /// The first end waiting to be reported, STDOUT's before STDERR's,
    /// marked reported.
    pub fn take_end(&mut self) -> Option<(Stream, Failure)> {
        [Stream::Stdout, Stream::Stderr].into_iter().find_map(|s| {
            let o = self.output(s)?;
            let end = o.end.take()?;
            o.reported = true;
            Some((s, end))
        })
    }
}
