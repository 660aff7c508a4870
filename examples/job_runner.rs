//! A small job-runner daemon: clients send shell commands over TCP, each
//! runs under Wheel::Run, its output streams back line by line, and
//! SIGTERM shuts the daemon down cleanly — no new connections, running
//! jobs finish and report, then the process exits.
//!
//! `cargo run --example job_runner [PORT]` (default 12346; 0 picks a free
//! port), then `nc 127.0.0.1 12346` and type:
//!
//! ```text
//! run echo hello; echo oops >&2; exit 3
//! started 4242
//! out: hello
//! err: oops
//! exit 3
//! ```
//!
//! The same daemon in Perl would be a POE::Component::Server::TCP whose
//! ClientInput builds a POE::Wheel::Run and calls `sig_child`, plus a
//! session watching `sig(TERM => ...)`: these are the same pieces.

use poe::components::tcp::{Connection, Server};
use poe::prelude::*;
use poe::wheels::Run;

/// One connection's job.
#[derive(Default)]
struct Job {
    wheel: Option<Run>,
    /// How the child ended, once `sig_child` said so. The exit can be
    /// reaped before its last output is read, so it is reported only when
    /// both this and `closed` are in.
    exited: Option<String>,
    /// Its output handles are closed.
    closed: bool,
    /// SIGTERM arrived: hang up once the job is done.
    draining: bool,
}

impl Job {
    fn running(&self) -> bool {
        self.wheel.is_some() && !(self.exited.is_some() && self.closed)
    }
}

type Ctx<'a> = poe::prelude::Ctx<'a, Connection<Job>>;

fn main() {
    env_logger::init();
    let port = std::env::args()
        .nth(1)
        .map_or(12346, |p| p.parse().expect("a port number"));
    let kernel = Kernel::new().unwrap();
    let server = Server::builder::<Job>()
        .address("127.0.0.1")
        .port(port)
        .alias("jobs")
        .client_connected(|ctx| {
            ctx.sig("TERM", "term", ()).unwrap();
            ctx.heap.client.put("ready").unwrap();
        })
        .client_input(command)
        .inline_state("job_out", |ctx| say(ctx, format!("out: {}", ctx.arg(0))))
        .inline_state("job_err", |ctx| say(ctx, format!("err: {}", ctx.arg(0))))
        .inline_state("job_closed", |ctx| {
            ctx.heap.closed = true;
            finish(ctx);
        })
        .inline_state("job_exit", |ctx| {
            let status = ctx.arg(2).as_i64().unwrap_or(0);
            let how = match (status & 0x7f, status >> 8) {
                (0, code) => format!("exit {code}"),
                (signal, _) => format!("killed by signal {signal}"),
            };
            ctx.heap.exited = Some(how);
            finish(ctx);
        })
        .inline_state("term", |ctx| {
            // Handled: each connection decides when to go.
            ctx.sig_handled();
            ctx.heap.draining = true;
            if ctx.heap.running() {
                say(ctx, "shutting down after this job".to_owned());
            } else {
                ctx.yield_("shutdown", ());
            }
        })
        .spawn(&kernel)
        .expect("listen");
    println!("listening on port {}", server.port());
    // The daemon itself: on SIGTERM, stop accepting. The listener then
    // ends with its last connection, and `run` returns.
    kernel
        .create(
            Session::new(())
                .state("_start", |ctx| {
                    // A signal watcher does not keep a session alive; the
                    // alias does, until the kernel has nothing else to do.
                    ctx.alias_set("daemon").unwrap();
                    ctx.sig("TERM", "term", ()).unwrap();
                })
                .state("term", |ctx| {
                    println!("SIGTERM: no new connections, letting running jobs finish");
                    ctx.sig_handled();
                    ctx.post("jobs", "shutdown", ()).unwrap();
                    ctx.sig_remove("TERM").unwrap();
                }),
        )
        .unwrap();
    kernel.run();
    println!("all jobs done, bye");
}

/// A line from the client: `run <shell command>` or `quit`.
fn command(ctx: &mut Ctx) {
    let line = ctx.arg(0).to_string();
    if line == "quit" {
        ctx.yield_("shutdown", ());
        return;
    }
    let Some(cmd) = line.strip_prefix("run ") else {
        say(ctx, "error: say `run <command>` or `quit`".to_owned());
        return;
    };
    if ctx.heap.running() {
        say(ctx, "busy: one job at a time".to_owned());
        return;
    }
    if ctx.heap.draining {
        say(ctx, "shutting down: no new jobs".to_owned());
        return;
    }
    let wheel = Run::shell(cmd)
        .no_stdin(true)
        .stdout_event("job_out")
        .stderr_event("job_err")
        .close_event("job_closed")
        .build(ctx);
    match wheel {
        Ok(w) => {
            let pid = w.pid();
            ctx.sig_child(pid, "job_exit", ()).unwrap();
            say(ctx, format!("started {pid}"));
            ctx.heap.user = Job {
                wheel: Some(w),
                draining: ctx.heap.draining,
                ..Job::default()
            };
        }
        Err(e) => say(ctx, format!("error: {e}")),
    }
}

/// The job is over when it exited and its output is all read.
fn finish(ctx: &mut Ctx) {
    if !ctx.heap.closed {
        return;
    }
    let Some(how) = ctx.heap.exited.take() else {
        return;
    };
    say(ctx, how);
    ctx.heap.wheel = None;
    if ctx.heap.draining {
        ctx.yield_("shutdown", ());
    }
}

fn say(ctx: &mut Ctx, line: String) {
    let _ = ctx.heap.client.put(line);
}
