//! Two processes talking IKC: a worker kernel publishing states, and a
//! boss kernel that posts it jobs and collects the replies.
//!
//! `cargo run --example ikc_jobs` starts the worker as a child process
//! (this same program with `--worker`), then runs the boss. The worker
//! speaks the same wire protocol as Perl's POE::Component::IKC, so either
//! side could be a Perl program instead:
//!
//! ```perl
//! # the worker, in Perl
//! POE::Component::IKC::Server->spawn(port => 6030, name => 'worker');
//! POE::Session->create(inline_states => {
//!     _start => sub {
//!         $_[KERNEL]->alias_set('jobs');
//!         $_[KERNEL]->post(IKC => publish => jobs => [qw(square quit)]);
//!     },
//!     square => sub { [ $_[ARG0], $_[ARG0] * $_[ARG0] ] },
//!     quit   => sub { $_[KERNEL]->post(IKC => 'shutdown') },
//! });
//! ```

use poe::components::ikc::{Client, Server};
use poe::prelude::*;
use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};

const JOBS: i64 = 5;

fn main() {
    env_logger::init();
    if std::env::args().any(|a| a == "--worker") {
        worker();
    } else {
        boss();
    }
}

/// The worker: publishes `jobs/square` (answering `[n, n*n]`) and
/// `jobs/quit`, prints its port.
fn worker() {
    let kernel = Kernel::new().unwrap();
    let server = Server::builder()
        .ip("127.0.0.1")
        .port(0)
        .name("worker")
        .spawn(&kernel)
        .expect("listen");
    kernel
        .create(
            Session::new(0u32)
                .state("_start", |ctx| {
                    ctx.alias_set("jobs").unwrap();
                    let states = Value::list(["square", "quit"]);
                    ctx.call("IKC", "publish", ("jobs", states)).unwrap();
                })
                .state("square", |ctx| {
                    *ctx.heap += 1;
                    let n = ctx.arg(0).as_i64().unwrap_or(0);
                    eprintln!("worker: job {} is {n}", *ctx.heap);
                    Value::list([n, n * n])
                })
                .state("quit", |ctx| {
                    eprintln!("worker: did {} jobs, quitting", *ctx.heap);
                    ctx.alias_remove("jobs").unwrap();
                    ctx.call("IKC", "shutdown", ()).unwrap();
                }),
        )
        .unwrap();
    println!("{}", server.port());
    kernel.run();
}

/// The boss's heap: the answers so far, and how many jobs failed.
#[derive(Default)]
struct Jobs {
    answers: Vec<(i64, i64)>,
    failed: usize,
}

/// The boss: starts the worker, sends it the jobs, prints the answers.
fn boss() {
    let mut child = Command::new(std::env::current_exe().unwrap())
        .arg("--worker")
        .stdout(Stdio::piped())
        .spawn()
        .expect("start the worker");
    let mut port = String::new();
    BufReader::new(child.stdout.take().unwrap())
        .read_line(&mut port)
        .unwrap();
    let port: u16 = port.trim().parse().expect("the worker's port");
    println!("boss: worker listening on port {port}");

    let kernel = Kernel::new().unwrap();
    Client::builder()
        .ip("127.0.0.1")
        .port(port)
        .name("boss")
        .on_connect(|ctx| ctx.post("boss", "send_jobs", ()).unwrap())
        .on_error(|op, errno, message| eprintln!("boss: {op} error {errno}: {message}"))
        .spawn(&kernel)
        .unwrap();
    kernel
        .create(
            Session::new(Jobs::default())
                .state("_start", |ctx| ctx.alias_set("boss").unwrap())
                .state("send_jobs", |ctx| {
                    for n in 1..=JOBS {
                        // Each reply comes to our `result` state; a call
                        // that got none would end there after 10 s with
                        // (undef, "Timed out ...", "timeout").
                        ctx.call(
                            "IKC",
                            "call",
                            ("poe://worker/jobs/square", n, "poe:result", 10.0),
                        )
                        .unwrap();
                    }
                })
                .state("result", |ctx| {
                    match ctx
                        .arg(0)
                        .as_list()
                        .and_then(|l| <&[Value; 2]>::try_from(l).ok())
                    {
                        Some([n, answer]) => {
                            let (n, answer) =
                                (n.as_i64().unwrap_or(0), answer.as_i64().unwrap_or(0));
                            println!("boss: {n} squared is {answer}");
                            ctx.heap.answers.push((n, answer));
                        }
                        None => {
                            // A failed job ends too: count it, or the boss
                            // would wait for ever for the last answer.
                            eprintln!("boss: a job failed: {} ({})", ctx.arg(1), ctx.arg(2));
                            ctx.heap.failed += 1;
                        }
                    }
                    let failed = ctx.heap.failed;
                    if (ctx.heap.answers.len() + failed) as i64 == JOBS {
                        if failed == 0 {
                            println!("boss: all {JOBS} jobs done");
                        } else {
                            println!("boss: all {JOBS} jobs ended, {failed} failed");
                        }
                        ctx.call("IKC", "post", ("poe://worker/jobs/quit", ()))
                            .unwrap();
                        ctx.alias_remove("boss").unwrap();
                        ctx.call("IKC", "shutdown", ()).unwrap();
                    }
                }),
        )
        .unwrap();
    kernel.run();
    let status = child.wait().unwrap();
    println!("boss: worker exited ({status})");
}
