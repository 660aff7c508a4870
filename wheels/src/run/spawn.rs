//! Starting the child: a `std::process::Command` with the wheel's pipes,
//! environment, working directory, process group, user and group.
//!
//! No code of ours runs in the child between `fork` and `exec` (no
//! `pre_exec`): std does the process group, user and group itself, and the
//! priority is set on the child from the parent. `spawn` returns once the
//! program was executed (or failed to be), so a missing program is an
//! error here, with its errno, rather than a message on the child's STDERR.

use crate::WheelError;
use std::ffi::{OsStr, OsString};
use std::os::fd::OwnedFd;
use std::os::unix::process::CommandExt;
use std::path::PathBuf;
use std::process::{Command, Stdio};

/// What to run (POE's `Program`).
pub(crate) enum Program {
    /// An argument vector, executed without a shell.
    Argv(Vec<OsString>),
    /// A string for `/bin/sh -c`.
    Shell(OsString),
}

/// An environment change, applied in the order given.
pub(crate) enum EnvOp {
    Set(OsString, OsString),
    Remove(OsString),
    Clear,
}

/// Where one of the child's standard handles goes.
pub(crate) enum Wiring {
    /// A pipe to the wheel.
    Pipe,
    /// The parent's own handle (POE without the event, or NoStdin).
    Inherit,
    /// A `Redirect*` target.
    To(Stdio),
}

impl Wiring {
    fn stdio(self) -> Stdio {
        match self {
            Wiring::Pipe => Stdio::piped(),
            Wiring::Inherit => Stdio::inherit(),
            Wiring::To(s) => s,
        }
    }
}

/// The builder's `configure` hook.
pub(crate) type Configure = Box<dyn FnOnce(&mut Command)>;

/// Everything about the process (the builder's non-wheel half).
pub(crate) struct Spec {
    pub program: Program,
    pub program_args: Vec<OsString>,
    pub env: Vec<EnvOp>,
    pub current_dir: Option<PathBuf>,
    pub own_group: bool,
    pub priority: i32,
    pub user: Option<u32>,
    pub group: Option<u32>,
    pub configure: Option<Configure>,
}

/// A started child: its PID and the parent's ends of the pipes asked for.
pub(crate) struct Spawned {
    pub pid: u32,
    pub stdin: Option<OwnedFd>,
    pub stdout: Option<OwnedFd>,
    pub stderr: Option<OwnedFd>,
}

impl Spec {
    /// The program's name, for errors and logs.
    pub fn name(&self) -> String {
        match &self.program {
            Program::Argv(argv) => argv.first().map(|p| p.to_string_lossy().into_owned()),
            Program::Shell(_) => Some("/bin/sh".to_owned()),
        }
        .unwrap_or_default()
    }

    fn command(&mut self) -> Result<Command, WheelError> {
        let mut cmd = match &self.program {
            Program::Argv(argv) => {
                let (program, args) = argv.split_first().ok_or(WheelError::Missing("Program"))?;
                let mut cmd = Command::new(program);
                cmd.args(args).args(&self.program_args);
                cmd
            }
            Program::Shell(script) => {
                // POE joins ProgramArgs to the string with spaces.
                let mut line = script.clone();
                for arg in &self.program_args {
                    line.push(" ");
                    line.push(arg);
                }
                let mut cmd = Command::new("/bin/sh");
                cmd.arg("-c").arg(line);
                cmd
            }
        };
        for op in self.env.drain(..) {
            match op {
                EnvOp::Set(k, v) => cmd.env(k, v),
                EnvOp::Remove(k) => cmd.env_remove(k),
                EnvOp::Clear => cmd.env_clear(),
            };
        }
        if let Some(dir) = &self.current_dir {
            cmd.current_dir(dir);
        }
        if let Some(uid) = self.user {
            cmd.uid(uid);
        }
        if let Some(gid) = self.group {
            cmd.gid(gid);
        }
        if let Some(configure) = self.configure.take() {
            configure(&mut cmd);
        }
        if self.own_group {
            cmd.process_group(0);
        }
        Ok(cmd)
    }

    /// Start the program with the given handles.
    pub fn spawn(
        mut self,
        stdin: Wiring,
        stdout: Wiring,
        stderr: Wiring,
    ) -> Result<Spawned, WheelError> {
        let mut cmd = self.command()?;
        cmd.stdin(stdin.stdio())
            .stdout(stdout.stdio())
            .stderr(stderr.stdio());
        let mut child = cmd.spawn().map_err(|error| WheelError::Spawn {
            program: self.name(),
            error,
        })?;
        let pid = child.id();
        if self.priority != 0 {
            set_priority(pid, self.priority);
        }
        // Dropping `child` neither waits nor kills: reaping is the
        // session's business (`sig_child`).
        Ok(Spawned {
            pid,
            stdin: child.stdin.take().map(OwnedFd::from),
            stdout: child.stdout.take().map(OwnedFd::from),
            stderr: child.stderr.take().map(OwnedFd::from),
        })
    }
}

/// POE's `Priority`: the child's niceness is the parent's plus `delta`.
/// Failure (raising priority needs privileges) is a warning, as in POE.
fn set_priority(pid: u32, delta: i32) {
    // SAFETY: getpriority takes no pointers; for the calling process it
    // cannot fail, so -1 is a real niceness, not an error.
    let base = unsafe { libc::getpriority(libc::PRIO_PROCESS, 0) };
    // SAFETY: setpriority takes no pointers; a bad PID or a refused value
    // is reported through the return value.
    let rc = unsafe { libc::setpriority(libc::PRIO_PROCESS, pid as libc::id_t, base + delta) };
    if rc != 0 {
        let e = std::io::Error::last_os_error();
        log::warn!(target: "poe::wheels", "Run: setting the priority of pid {pid} to {}: {e}", base + delta);
    }
}

/// `Program => [...]` from anything that iterates over strings.
pub(crate) fn argv<I, S>(argv: I) -> Program
where
    I: IntoIterator<Item = S>,
    S: AsRef<OsStr>,
{
    Program::Argv(argv.into_iter().map(|a| a.as_ref().to_owned()).collect())
}
