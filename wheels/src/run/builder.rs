//! [`RunBuilder`]: POE::Wheel::Run's constructor parameters.

use super::handlers;
use super::spawn::{EnvOp, Program, Spec, Wiring};
use super::state::{Events, Inner, Output, Stdin, Stream};
use super::{Names, Run};
use crate::driver::SysRw;
use crate::fd::{set_nonblocking, Fd};
use crate::id::WheelId;
use crate::WheelError;
use poe_filters::{Filter, Line};
use poe_kernel::{Ctx, EventName, Mode, Trigger};
use std::cell::RefCell;
use std::ffi::OsStr;
use std::os::fd::OwnedFd;
use std::path::PathBuf;
use std::process::{Command, Stdio};
use std::rc::Rc;

/// Builds a [`Run`]; setters are POE's parameter names. Start with
/// [`Run::command`] or [`Run::shell`].
#[must_use]
pub struct RunBuilder {
    spec: Spec,
    stdio_filter: Option<Box<dyn Filter>>,
    stdin_filter: Option<Box<dyn Filter>>,
    stdout_filter: Option<Box<dyn Filter>>,
    stderr_filter: Option<Box<dyn Filter>>,
    stdin_driver: Option<SysRw>,
    stdout_driver: Option<SysRw>,
    stderr_driver: Option<SysRw>,
    stdout_event: Option<EventName>,
    stderr_event: Option<EventName>,
    events: Events,
    no_stdin: bool,
    redirect_stdin: Option<Stdio>,
    redirect_stdout: Option<Stdio>,
    redirect_stderr: Option<Stdio>,
}

impl RunBuilder {
    pub(super) fn new(program: Program) -> RunBuilder {
        RunBuilder {
            spec: Spec {
                program,
                program_args: Vec::new(),
                env: Vec::new(),
                current_dir: None,
                own_group: true,
                priority: 0,
                user: None,
                group: None,
                configure: None,
            },
            stdio_filter: None,
            stdin_filter: None,
            stdout_filter: None,
            stderr_filter: None,
            stdin_driver: None,
            stdout_driver: None,
            stderr_driver: None,
            stdout_event: None,
            stderr_event: None,
            events: Events::default(),
            no_stdin: false,
            redirect_stdin: None,
            redirect_stdout: None,
            redirect_stderr: None,
        }
    }

    /// `ProgramArgs`: appended to the argument vector; for a shell string,
    /// appended to the string with spaces (so the shell parses them), as
    /// in POE.
    pub fn program_args<I, S>(mut self, args: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: AsRef<OsStr>,
    {
        let args = args.into_iter().map(|a| a.as_ref().to_owned());
        self.spec.program_args.extend(args);
        self
    }

    /// `StdioFilter`: the filter for STDIN and STDOUT (default: POE's
    /// `POE::Filter::Line->new(Literal => "\n")`). STDIN gets a fresh copy
    /// of it (`clone_fresh`); STDERR does not use it.
    pub fn stdio_filter(mut self, f: impl Filter + 'static) -> Self {
        self.stdio_filter = Some(Box::new(f));
        self
    }

    /// `StdinFilter`: serializes what [`Run::put`] sends (default: the
    /// StdioFilter).
    pub fn stdin_filter(mut self, f: impl Filter + 'static) -> Self {
        self.stdin_filter = Some(Box::new(f));
        self
    }

    /// `StdoutFilter`: frames the child's STDOUT (default: the StdioFilter).
    pub fn stdout_filter(mut self, f: impl Filter + 'static) -> Self {
        self.stdout_filter = Some(Box::new(f));
        self
    }

    /// `StderrFilter`: frames the child's STDERR (default: Line with a
    /// `"\n"` literal — never the StdioFilter, as in POE).
    pub fn stderr_filter(mut self, f: impl Filter + 'static) -> Self {
        self.stderr_filter = Some(Box::new(f));
        self
    }

    /// `StdinDriver` (default: a new [`SysRw`]).
    pub fn stdin_driver(mut self, d: SysRw) -> Self {
        self.stdin_driver = Some(d);
        self
    }

    /// `StdoutDriver` (default: a new [`SysRw`]; its block size is the
    /// read size).
    pub fn stdout_driver(mut self, d: SysRw) -> Self {
        self.stdout_driver = Some(d);
        self
    }

    /// `StderrDriver` (default: a new [`SysRw`]).
    pub fn stderr_driver(mut self, d: SysRw) -> Self {
        self.stderr_driver = Some(d);
        self
    }

    /// `StdoutEvent`: `(record, wheel_id)` for each record the child
    /// writes to STDOUT. Without it (and without `redirect_stdout`) the
    /// child writes to the parent's STDOUT, as in POE.
    pub fn stdout_event(mut self, e: impl Into<EventName>) -> Self {
        self.stdout_event = Some(e.into());
        self
    }

    /// `StderrEvent`: `(record, wheel_id)` for STDERR. Without it the
    /// child writes to the parent's STDERR.
    pub fn stderr_event(mut self, e: impl Into<EventName>) -> Self {
        self.stderr_event = Some(e.into());
        self
    }

    /// `StdinEvent`: `(wheel_id)` each time everything put has been
    /// written to the child's STDIN.
    pub fn stdin_event(mut self, e: impl Into<EventName>) -> Self {
        self.events.stdin = Some(e.into());
        self
    }

    /// `ErrorEvent`: `(operation, errno, message, wheel_id, handle)`;
    /// operation `"read"` or `"write"`, handle `"STDIN"`, `"STDOUT"` or
    /// `"STDERR"`. End of file is `("read", 0, "", id, "STDOUT")`.
    pub fn error_event(mut self, e: impl Into<EventName>) -> Self {
        self.events.error = Some(e.into());
        self
    }

    /// `CloseEvent`: `(wheel_id)` once every output handle the wheel reads
    /// (those with a StdoutEvent or StderrEvent) reached end of file —
    /// usually because the child exited. It says nothing about the exit
    /// status: use `sig_child` for that.
    pub fn close_event(mut self, e: impl Into<EventName>) -> Self {
        self.events.close = Some(e.into());
        self
    }

    /// `NoStdin`: no STDIN pipe; the child reads the parent's STDIN, as in
    /// POE (use `redirect_stdin(Stdio::null())` for nothing at all).
    pub fn no_stdin(mut self, yes: bool) -> Self {
        self.no_stdin = yes;
        self
    }

    /// `RedirectStdin`: the child reads this instead of a pipe (a file,
    /// `Stdio::null()`...). Excludes StdinEvent.
    pub fn redirect_stdin(mut self, to: impl Into<Stdio>) -> Self {
        self.redirect_stdin = Some(to.into());
        self
    }

    /// `RedirectStdout`: the child writes its STDOUT here. Excludes
    /// StdoutEvent.
    pub fn redirect_stdout(mut self, to: impl Into<Stdio>) -> Self {
        self.redirect_stdout = Some(to.into());
        self
    }

    /// `RedirectStderr`: the child writes its STDERR here. Excludes
    /// StderrEvent. (POE's `RedirectOutput` is both, from one file:
    /// `redirect_stdout(file.try_clone()?).redirect_stderr(file)`.)
    pub fn redirect_stderr(mut self, to: impl Into<Stdio>) -> Self {
        self.redirect_stderr = Some(to.into());
        self
    }

    /// Set an environment variable for the child (POE programs edit
    /// `%ENV` before `new`, or in a code Program).
    pub fn env(mut self, key: impl AsRef<OsStr>, value: impl AsRef<OsStr>) -> Self {
        let (k, v) = (key.as_ref().to_owned(), value.as_ref().to_owned());
        self.spec.env.push(EnvOp::Set(k, v));
        self
    }

    /// Remove an environment variable from the child's environment.
    pub fn env_remove(mut self, key: impl AsRef<OsStr>) -> Self {
        self.spec.env.push(EnvOp::Remove(key.as_ref().to_owned()));
        self
    }

    /// Start the child with an empty environment (later `env` calls add
    /// to it): POE's "environment scrubbing".
    pub fn env_clear(mut self) -> Self {
        self.spec.env.push(EnvOp::Clear);
        self
    }

    /// The child's working directory (default: the parent's).
    pub fn current_dir(mut self, dir: impl Into<PathBuf>) -> Self {
        self.spec.current_dir = Some(dir.into());
        self
    }

    /// `NoSetPgrp`: leave the child in the parent's process group. By
    /// default it leads a group of its own (POE's `setpgrp(0,0)`), which
    /// keeps terminal signals meant for the parent (Ctrl-C) from reaching
    /// it and lets [`Run::kill`] signal everything it started.
    pub fn no_setpgrp(mut self, yes: bool) -> Self {
        self.spec.own_group = !yes;
        self
    }

    /// `Priority`: added to the parent's niceness for the child (positive
    /// is nicer; negative needs privileges — failure is a warning).
    pub fn priority(mut self, delta: i32) -> Self {
        self.spec.priority = delta;
        self
    }

    /// `User`: run the child as this user ID (needs privileges).
    pub fn user(mut self, uid: u32) -> Self {
        self.spec.user = Some(uid);
        self
    }

    /// `Group`: run the child with this group ID (needs privileges).
    pub fn group(mut self, gid: u32) -> Self {
        self.spec.group = Some(gid);
        self
    }

    /// Adjust the `std::process::Command` before it starts, for what POE
    /// has no parameter for (`arg0`, ...). The wheel sets the standard
    /// handles and (unless `no_setpgrp`) the process group after this
    /// runs.
    pub fn configure(mut self, f: impl FnOnce(&mut Command) + 'static) -> Self {
        self.spec.configure = Some(Box::new(f));
        self
    }

    /// Start the program and register the wheel in the running session.
    ///
    /// Errors: a `Redirect*` together with the matching event
    /// ([`WheelError::Invalid`], where POE croaks); a program that cannot
    /// be started ([`WheelError::Spawn`], with the errno — POE's child
    /// prints "can't exec" to its STDERR and exits instead).
    pub fn build<H: 'static>(self, ctx: &mut Ctx<'_, H>) -> Result<Run, WheelError> {
        let conflict = [
            (self.redirect_stdin.is_some(), self.events.stdin.is_some()),
            (self.redirect_stdout.is_some(), self.stdout_event.is_some()),
            (self.redirect_stderr.is_some(), self.stderr_event.is_some()),
        ];
        if conflict.iter().any(|&(redirect, event)| redirect && event) {
            return Err(WheelError::Invalid(
                "Run: Redirect* and *Event stdio options are mutually exclusive".into(),
            ));
        }
        let wiring = |redirect: Option<Stdio>, pipe: bool| match redirect {
            Some(to) => Wiring::To(to),
            None if pipe => Wiring::Pipe,
            None => Wiring::Inherit,
        };
        let stdin = wiring(self.redirect_stdin, !self.no_stdin);
        let stdout = wiring(self.redirect_stdout, self.stdout_event.is_some());
        let stderr = wiring(self.redirect_stderr, self.stderr_event.is_some());
        let program = self.spec.name();
        let own_group = self.spec.own_group;
        let spawned = self.spec.spawn(stdin, stdout, stderr)?;
        let pid = spawned.pid;

        let stdio = self
            .stdio_filter
            .unwrap_or_else(|| Box::new(default_filter()));
        let stdin_filter = self.stdin_filter.unwrap_or_else(|| stdio.clone_fresh());
        let stdout_filter = self.stdout_filter.unwrap_or(stdio);
        let stderr_filter = self
            .stderr_filter
            .unwrap_or_else(|| Box::new(default_filter()));
        let output = |fd: Option<OwnedFd>, driver: Option<SysRw>, filter, event| {
            fd.map(|fd| Output {
                fd,
                driver: driver.unwrap_or_default(),
                filter,
                event,
                paused: false,
                done: false,
                end: None,
                reported: false,
            })
        };
        let inner = Inner {
            stdin: spawned.stdin.map(|fd| Stdin {
                fd,
                driver: self.stdin_driver.unwrap_or_default(),
                filter: stdin_filter,
                flush_queued: false,
                write_watched: false,
            }),
            stdout: output(
                spawned.stdout,
                self.stdout_driver,
                stdout_filter,
                self.stdout_event,
            ),
            stderr: output(
                spawned.stderr,
                self.stderr_driver,
                stderr_filter,
                self.stderr_event,
            ),
            events: self.events,
            closed: false,
        };
        let id = WheelId::next();
        let session = ctx.session();
        let names = Names::new(id);
        let wheel = Run {
            inner: Rc::new(RefCell::new(inner)),
            kernel: ctx.kernel().downgrade(),
            session,
            id,
            pid,
            own_group,
            names,
        };
        wheel.register(ctx).inspect_err(|e| {
            log::warn!(target: "poe::wheels", "Run({id}): setting up failed ({e}); killing pid {pid}");
            let _ = wheel.kill(libc::SIGKILL);
        })?;
        log::trace!(target: "poe::wheels", "Run({id}) runs {program:?} as pid {pid} for session {session}");
        Ok(wheel)
    }
}

/// POE's default StdioFilter and StderrFilter: `Line` with a `"\n"` literal.
fn default_filter() -> Line {
    Line::literal("\n").expect("a one-octet literal is a valid terminator")
}

impl Run {
    /// Make STDIN non-blocking (it is written before any watch on it; the
    /// read watches make the output pipes non-blocking); add the hidden
    /// states, the keep-alive and the read watches.
    fn register<H: 'static>(&self, ctx: &mut Ctx<'_, H>) -> Result<(), WheelError> {
        let weak = Rc::downgrade(&self.inner);
        let inner = self.inner.borrow();
        if let Some(stdin) = &inner.stdin {
            set_nonblocking(stdin.raw_fd())?;
            let write = self.names.stdin.clone();
            let handler =
                handlers::write(weak.clone(), self.id, write.clone(), self.names.tag.clone());
            ctx.state(write, handler);
            ctx.refcount_increment(self.session, &self.names.tag)?;
        }
        for stream in [Stream::Stdout, Stream::Stderr] {
            let Some(o) = (match stream {
                Stream::Stdout => &inner.stdout,
                Stream::Stderr => &inner.stderr,
            }) else {
                continue;
            };
            let name = self.names.output(stream).clone();
            ctx.state(name.clone(), handlers::read(weak.clone(), self.id, stream));
            ctx.select_watch(&Fd(o.raw_fd()), Mode::Read, Trigger::Edge, name, ())?;
        }
        Ok(())
    }
}
