//! `cargo bench --bench echo`: line-echo servers under one load generator.
//!
//! Each server runs as its own process pinned to CPU 0; the load generator
//! (this process, pinned to CPU 1) keeps 50 connections x 16 lines of 32
//! bytes in flight and checks every echoed byte. Prints, per server,
//! `bench=<name> impl=<impl> metric=lines_per_s` and `metric=cpu_ns_per_line`
//! (the server's own CPU time per echoed line). The servers of one echo
//! bench take turns in three interleaved rounds (`POE_BENCH_ROUNDS`), and
//! each reports its median round; the ratio of each peer's CPU per line to
//! poe-rs's, and of poe-rs's lines/s to each peer's (unpaced benches), is
//! printed round by round.
//!
//! Flat out, on a two-core machine, the generator's core and the server's
//! are both nearly full: a server that never sleeps spends all of its core
//! whatever its own cost, and its CPU per line is about 1 / lines_per_s
//! (the output says how busy each server was and how often it slept).
//! `echo_server_tcp_paced` therefore also runs poe-rs and tokio at a fixed
//! 1.5 M lines/s, which both sustain with idle time to spare: there, CPU
//! per line is the server's own cost.
//!
//! Echo servers: `echo_select` — poe-rs with raw select_read, and a
//! hand-written mio echo (impl `mio`); `echo_readwrite` — poe-rs
//! SocketFactory + ReadWrite with the Line filter, tokio current_thread
//! with LinesCodec (impl `tokio`), and Perl POE's SocketFactory + ReadWrite
//! (impl `perl-poe`); `echo_server_tcp` — poe-rs Server::TCP, the same
//! tokio server, and Perl POE's Server::TCP.
//!
//! Then: `accept_rate` (conns_per_s: 16 clients at a time, each connects,
//! sends one line, reads the echo and closes) for the three Server::TCP
//! peers; `idle_conn` and `idle_conn_server_tcp` (bytes_per_conn: RSS growth
//! per idle connection at 10 000 connections); and `echo_with_idle`: the
//! paced Server::TCP echo while those 10 000 connections stay open, for
//! poe-rs and tokio, in interleaved rounds with a poe-rs server that has
//! none (impl `poe-rs-without-idle`, the budget's reference: its ratio to
//! poe-rs is what 10 000 idle connections cost).
//!
//! `--hold-idle <port> <conns>` opens that many idle connections (each
//! echoes one line first), says so, and holds them until killed.
//!
//! `--client <port> <lines> [conns]` is a plain blocking client for
//! counting a server's instructions (callgrind) or system calls (strace)
//! per line (see benches/echo/instructions.sh and syscalls.sh): it sends
//! `lines` 32-byte lines in batches of 16 over `conns` connections
//! (default 1), each round once the last was echoed, and checks the echo.
//!
//! `POE_BENCH_ONLY=<bench>` runs one bench with all its impls,
//! `POE_BENCH_ONLY=<bench>/<impl>` one figure (e.g.
//! `echo_server_tcp/poe-rs`); `POE_BENCH_QUICK=1` shortens the windows;
//! `POE_BENCH_NO_PERL=1` skips Perl.
//!
//! A/B runs against an older build: `POE_BENCH_BASELINE=<echo bench
//! binary>` adds impl `baseline` to each echo bench — that binary serving
//! the same server as poe-rs — and `POE_BENCH_ROUNDS=<n>` sets the number of
//! interleaved rounds (default 3). Copy `target/release/deps/echo-<hash>`
//! aside before the change, then run the new build with both set; the
//! printed per-round ratios `baseline / poe-rs` are the A/B result.

mod loadgen;
mod measure;
mod servers;

use measure::{IdleHolder, Server};
use std::process::Command;
use std::time::Duration;

const CONNS: usize = 50;
const IN_FLIGHT: usize = 16;
const IDLE_CONNS: usize = 10_000;
/// Interleaved rounds of each echo bench (see `Bench::echo_rounds`),
/// unless `POE_BENCH_ROUNDS` says otherwise.
const ECHO_ROUNDS: usize = 3;
/// The fixed load of `echo_server_tcp_paced`: about two thirds of what
/// either Rust server echoes flat out on the reference machine, so both
/// have idle time and their CPU per line is their own cost.
const PACED_LINES_PER_S: f64 = 1_500_000.0;
/// Short-lived connections in flight at once in `accept_rate`.
const ACCEPT_CONCURRENT: usize = 16;

/// A figure of one measured run.
type Key<M> = fn(&M) -> f64;

/// Each peer against poe-rs, round by round: `cost` as peer / poe-rs and
/// `rate` as poe-rs / peer, so that both read above 1 where poe-rs is
/// ahead.
fn print_peer_ratios<M>(
    bench: &str,
    servers: &[(&str, Server)],
    rounds: &[Vec<M>],
    (cost_name, cost): (&str, Key<M>),
    rate: Option<(&str, Key<M>)>,
) {
    let Some(ours) = servers.iter().position(|(imp, _)| *imp == "poe-rs") else {
        return;
    };
    for ((imp, _), runs) in servers.iter().zip(rounds) {
        if *imp == "poe-rs" {
            continue;
        }
        let pairs = || runs.iter().zip(&rounds[ours]);
        print_ratios(
            &format!("{bench}: {imp} {cost_name} / poe-rs {cost_name}"),
            pairs().map(|(peer, us)| cost(peer) / cost(us)),
        );
        if let Some((rate_name, rate)) = rate {
            print_ratios(
                &format!("{bench}: poe-rs {rate_name} / {imp} {rate_name}"),
                pairs().map(|(peer, us)| rate(us) / rate(peer)),
            );
        }
    }
}

/// One ratio per interleaved round, then their median: greater than 1
/// where poe-rs is ahead.
fn print_ratios(what: &str, ratios: impl Iterator<Item = f64>) {
    let mut ratios: Vec<f64> = ratios.collect();
    let each: Vec<String> = ratios.iter().map(|r| format!("{r:.2}x")).collect();
    ratios.sort_by(f64::total_cmp);
    println!(
        "# {what}, round by round: {} (median {:.2}x)",
        each.join(" "),
        ratios[ratios.len() / 2]
    );
}

fn report(bench: &str, imp: &str, metric: &str, value: f64) {
    println!("bench={bench} impl={imp} metric={metric} value={value:.0}");
}

/// The lines of one echo measurement.
fn report_echo(bench: &str, imp: &str, m: &loadgen::Measured) {
    report(bench, imp, "lines_per_s", m.lines_per_s());
    report(bench, imp, "cpu_ns_per_line", m.cpu_ns_per_line());
    println!(
        "# {bench} {imp}: server busy {:.0}% of its core, {:.0}% of that system time ({:.0} ns user, {:.0} ns system per line)",
        100.0 * m.server_busy(),
        100.0 * m.server_sys / m.server_cpu.max(1e-9),
        (m.server_cpu - m.server_sys) * 1e9 / m.lines.max(1) as f64,
        m.server_sys * 1e9 / m.lines.max(1) as f64,
    );
    // /proc counts read(2) and write(2) families, not recvfrom or sendto.
    let lines_per = |times: u64| match times {
        0 => "n/a".to_owned(),
        n => format!("{:.1}", m.lines as f64 / n as f64),
    };
    println!(
        "# {bench} {imp}: lines per read call {}, per write call {}, per sleep {}",
        lines_per(m.server_syscalls.0),
        lines_per(m.server_syscalls.1),
        lines_per(m.server_sleeps),
    );
    if m.generator_saturated() {
        // With the server's core full too, its CPU per line is about
        // 1 / lines_per_s whatever its own cost (see the module docs).
        let compare = if m.server_busy() > 0.95 {
            "the server's core is full too, so its CPU per line is about 1 / lines_per_s (echo_server_tcp_paced compares costs)"
        } else {
            "compare cpu_ns_per_line"
        };
        println!(
            "# {bench} {imp}: load generator saturated ({:.0}% of a core): lines_per_s is the generator's ceiling; {compare}",
            100.0 * m.gen_cpu / m.secs
        );
    }
}

/// The median of `runs` by `key` (the middle one of an odd count).
fn median_by<M>(runs: &[M], key: impl Fn(&M) -> f64) -> &M {
    let mut order: Vec<&M> = runs.iter().collect();
    order.sort_by(|a, b| key(a).total_cmp(&key(b)));
    order[order.len() / 2]
}

/// One echo bench: its name, its pace (`None`: flat out) and its peers.
type EchoBench<'a> = (&'a str, Option<f64>, &'a [(&'a str, Peer)]);

/// How to start one server under test.
#[derive(Clone, Copy)]
enum Peer {
    /// This executable with `--serve <name>`.
    Rust(&'static str),
    /// `perl benches/peers/<file>`.
    Perl(&'static str),
    /// The `POE_BENCH_BASELINE` binary with `--serve <name>`.
    Baseline(&'static str),
}

struct Bench {
    exe: String,
    perl_ok: bool,
    only: Option<String>,
    baseline: Option<String>,
    rounds: usize,
    warmup: Duration,
    window: Duration,
}

impl Bench {
    /// Whether `bench/imp` is selected; Perl peers need perl with POE.
    fn wants(&self, bench: &str, imp: &str, peer: Peer) -> bool {
        if matches!(peer, Peer::Perl(_)) && !self.perl_ok {
            return false;
        }
        self.only
            .as_deref()
            .is_none_or(|o| o == bench || o == format!("{bench}/{imp}"))
    }

    fn spawn(&self, peer: Peer) -> Server {
        let started = match peer {
            Peer::Rust(name) => Server::spawn(&self.exe, &["--serve", name], 0),
            Peer::Baseline(name) => {
                let exe = self.baseline.as_deref().expect("POE_BENCH_BASELINE");
                Server::spawn(exe, &["--serve", name], 0)
            }
            Peer::Perl(file) => {
                let path = format!("{}/benches/peers/{file}", env!("CARGO_MANIFEST_DIR"));
                Server::spawn("perl", &[&path], 0)
            }
        };
        started.expect("start server")
    }

    fn measure_echo(&self, server: &Server, pace: Option<f64>) -> loadgen::Measured {
        loadgen::run(server, CONNS, IN_FLIGHT, self.warmup, self.window, pace).expect("load run")
    }

    /// One echo bench with all its peers, in `self.rounds` interleaved
    /// rounds (every server once per round, in the same order); each
    /// server's figures are those of its round with the median CPU per
    /// line. This machine's speed drifts by a third
    /// within minutes; measured one after the other, a peer could run in a
    /// fast minute and poe-rs in a slow one. Interleaving spreads the
    /// drift over all of them, and the per-round ratios show how much of
    /// it is left.
    fn echo_rounds(&self, bench: &str, pace: Option<f64>, peers: &[(&'static str, Peer)]) {
        let mut peers = peers.to_vec();
        if self.baseline.is_some() {
            let ours = peers.iter().find_map(|&(imp, peer)| match peer {
                Peer::Rust(name) if imp == "poe-rs" => Some(name),
                _ => None,
            });
            if let Some(name) = ours {
                peers.insert(1, ("baseline", Peer::Baseline(name)));
            }
        }
        let servers: Vec<(&str, Server)> = peers
            .iter()
            .filter(|&&(imp, peer)| {
                // The baseline runs whenever poe-rs does.
                let imp = if imp == "baseline" { "poe-rs" } else { imp };
                self.wants(bench, imp, peer)
            })
            .map(|&(imp, peer)| (imp, self.spawn(peer)))
            .collect();
        self.run_rounds(bench, pace, &servers);
    }

    /// The interleaved rounds of [`echo_rounds`](Bench::echo_rounds) on
    /// servers already started (and set up: `echo_with_idle`'s hold their
    /// idle connections).
    fn run_rounds(&self, bench: &str, pace: Option<f64>, servers: &[(&str, Server)]) {
        let rounds = self.interleave(servers, |server| self.measure_echo(server, pace));
        for ((imp, _), runs) in servers.iter().zip(&rounds) {
            report_echo(
                bench,
                imp,
                median_by(runs, loadgen::Measured::cpu_ns_per_line),
            );
        }
        // Paced, every server echoes the same lines/s.
        let rate = pace
            .is_none()
            .then_some(("lines/s", loadgen::Measured::lines_per_s as Key<_>));
        print_peer_ratios(
            bench,
            servers,
            &rounds,
            ("CPU per line", loadgen::Measured::cpu_ns_per_line),
            rate,
        );
    }

    /// `measure` of every server once per round, in the same order, for
    /// `self.rounds` rounds: each server's runs, round by round. This
    /// machine's speed drifts by a third within minutes; interleaving
    /// spreads the drift over all the servers.
    fn interleave<M>(
        &self,
        servers: &[(&str, Server)],
        measure: impl Fn(&Server) -> M,
    ) -> Vec<Vec<M>> {
        let mut rounds: Vec<Vec<M>> = servers.iter().map(|_| Vec::new()).collect();
        for _ in 0..self.rounds {
            for (runs, (_, server)) in rounds.iter_mut().zip(servers) {
                runs.push(measure(server));
            }
        }
        rounds
    }

    /// `accept_rate` for all its peers, in interleaved rounds like the
    /// echo benches; each server's figures are those of its round with
    /// the median CPU per connection.
    fn accept_rounds(&self, servers: &[(&str, Server)]) {
        let rounds = self.interleave(servers, |server| {
            loadgen::accept_rate(server, ACCEPT_CONCURRENT, self.warmup, self.window)
                .expect("accept run")
        });
        for ((imp, _), runs) in servers.iter().zip(&rounds) {
            let m = median_by(runs, loadgen::AcceptMeasured::cpu_ns_per_conn);
            report("accept_rate", imp, "conns_per_s", m.conns_per_s());
            report("accept_rate", imp, "cpu_ns_per_conn", m.cpu_ns_per_conn());
            if m.generator_saturated() {
                println!(
                    "# accept_rate {imp}: load generator saturated ({:.0}% of a core); compare cpu_ns_per_conn",
                    100.0 * m.gen_cpu / m.secs
                );
            }
        }
        print_peer_ratios(
            "accept_rate",
            servers,
            &rounds,
            (
                "CPU per connection",
                loadgen::AcceptMeasured::cpu_ns_per_conn,
            ),
            Some(("connections/s", loadgen::AcceptMeasured::conns_per_s)),
        );
    }

    /// RSS growth per connection over `IDLE_CONNS` idle connections, which
    /// are returned still open. A helper process holds them (`--hold-idle`),
    /// so that two servers' sets fit under a descriptor limit of 20 000.
    fn idle(&self, bench: &str, imp: &str, server: &Server) -> IdleHolder {
        // Let the server settle, warm the allocator with a few connections.
        drop(loadgen::open_idle(server.port, 100).expect("warm-up connections"));
        std::thread::sleep(Duration::from_millis(200));
        let before = server.rss_bytes();
        let conns =
            IdleHolder::spawn(&self.exe, server.port, IDLE_CONNS).expect("idle connections");
        // Every connection has echoed its line, so the server has set it up
        // completely; the pause only lets the RSS counter catch up.
        std::thread::sleep(Duration::from_millis(200));
        let after = server.rss_bytes();
        report(
            bench,
            imp,
            "bytes_per_conn",
            after.saturating_sub(before) as f64 / IDLE_CONNS as f64,
        );
        conns
    }
}

/// `--client <port> <lines> [conns]`: see the module documentation.
/// With `conns` connections, each round writes one batch to every
/// connection before reading any echo, so the server finds many of them
/// ready at once, as under the load generator. Servers may answer LF or
/// CR LF (POE's Line filter writes CR LF), as the load generator allows.
fn fixed_client(port: u16, lines: usize, conns: usize) {
    use std::io::{Read, Write};
    // instructions.sh divides by the lines it asked for.
    assert!(
        conns > 0 && lines.is_multiple_of(IN_FLIGHT * conns),
        "--client: lines must be a multiple of {IN_FLIGHT} x conns"
    );
    let mut streams: Vec<std::net::TcpStream> = (0..conns)
        .map(|_| {
            let s = std::net::TcpStream::connect(("127.0.0.1", port)).expect("connect");
            s.set_nodelay(true).unwrap();
            s
        })
        .collect();
    let payload = b"x".repeat(31);
    let batch = [payload.clone(), b"\n".to_vec()].concat().repeat(IN_FLIGHT);
    let mut got = Vec::new();
    let mut chunk = [0; 4096];
    for _ in 0..lines / (IN_FLIGHT * conns) {
        for s in &mut streams {
            s.write_all(&batch).expect("write");
        }
        for s in &mut streams {
            got.clear();
            while got.iter().filter(|&&b| b == b'\n').count() < IN_FLIGHT {
                let n = s.read(&mut chunk).expect("read the echo");
                assert!(n > 0, "the server closed the connection");
                got.extend_from_slice(&chunk[..n]);
            }
            for line in got.split(|&b| b == b'\n').take(IN_FLIGHT) {
                let line = line.strip_suffix(b"\r").unwrap_or(line);
                assert_eq!(line, &payload[..], "the echo differs");
            }
        }
    }
}

fn main() {
    let args: Vec<String> = std::env::args().collect();
    if let Some(i) = args.iter().position(|a| a == "--client") {
        let port = args[i + 1].parse().expect("--client <port> <lines>");
        let lines = args[i + 2].parse().expect("--client <port> <lines>");
        let conns = args.get(i + 3).map_or(1, |c| c.parse().expect("[conns]"));
        fixed_client(port, lines, conns);
        return;
    }
    if let Some(i) = args.iter().position(|a| a == "--hold-idle") {
        let port = args[i + 1].parse().expect("--hold-idle <port> <conns>");
        let n = args[i + 2].parse().expect("--hold-idle <port> <conns>");
        measure::raise_fd_limit(n as u64 + 256);
        let _conns = loadgen::open_idle(port, n).expect("idle connections");
        IdleHolder::ready();
    }
    if let Some(i) = args.iter().position(|a| a == "--serve") {
        match args.get(i + 1).map(String::as_str) {
            Some("poe-select") => servers::poe_select(),
            Some("poe-readwrite") => servers::poe_readwrite(),
            Some("poe-server-tcp") => servers::poe_server_tcp(),
            Some("mio") => servers::mio(),
            Some("tokio") => servers::tokio(),
            other => panic!("unknown server {other:?}"),
        }
        return;
    }
    let quick = std::env::var_os("POE_BENCH_QUICK").is_some();
    let (warmup, window) = if quick {
        (Duration::from_millis(200), Duration::from_millis(500))
    } else {
        (Duration::from_millis(500), Duration::from_secs(3))
    };
    if !measure::pin_self(1) {
        println!("# could not pin the load generator to CPU 1");
    }
    measure::raise_fd_limit(IDLE_CONNS as u64 + 256);
    let perl_ok = std::env::var_os("POE_BENCH_NO_PERL").is_none()
        && Command::new("perl")
            .args(["-MPOE", "-e", "1"])
            .output()
            .is_ok_and(|o| o.status.success());
    if !perl_ok {
        println!("# perl-poe skipped: perl with POE not available (or POE_BENCH_NO_PERL set)");
    }
    let b = Bench {
        exe: std::env::current_exe()
            .unwrap()
            .to_str()
            .unwrap()
            .to_owned(),
        perl_ok,
        only: std::env::var("POE_BENCH_ONLY").ok(),
        baseline: std::env::var("POE_BENCH_BASELINE").ok(),
        rounds: std::env::var("POE_BENCH_ROUNDS")
            .ok()
            .map(|n| n.parse().expect("POE_BENCH_ROUNDS=<rounds>"))
            .unwrap_or(ECHO_ROUNDS)
            .max(1),
        warmup,
        window,
    };

    let echo_benches: [EchoBench; 4] = [
        (
            "echo_select",
            None,
            &[
                ("poe-rs", Peer::Rust("poe-select")),
                ("mio", Peer::Rust("mio")),
            ],
        ),
        (
            "echo_readwrite",
            None,
            &[
                ("poe-rs", Peer::Rust("poe-readwrite")),
                ("tokio", Peer::Rust("tokio")),
                ("perl-poe", Peer::Perl("echo.pl")),
            ],
        ),
        (
            "echo_server_tcp",
            None,
            &[
                ("poe-rs", Peer::Rust("poe-server-tcp")),
                ("tokio", Peer::Rust("tokio")),
                ("perl-poe", Peer::Perl("echo_server_tcp.pl")),
            ],
        ),
        (
            "echo_server_tcp_paced",
            Some(PACED_LINES_PER_S),
            &[
                ("poe-rs", Peer::Rust("poe-server-tcp")),
                ("tokio", Peer::Rust("tokio")),
            ],
        ),
    ];
    for (bench, pace, peers) in echo_benches {
        b.echo_rounds(bench, pace, peers);
    }

    let server_tcp_peers = [
        ("poe-rs", Peer::Rust("poe-server-tcp")),
        ("tokio", Peer::Rust("tokio")),
        ("perl-poe", Peer::Perl("echo_server_tcp.pl")),
    ];
    let accept: Vec<(&str, Server)> = server_tcp_peers
        .iter()
        .filter(|&&(imp, peer)| b.wants("accept_rate", imp, peer))
        .map(|&(imp, peer)| (imp, b.spawn(peer)))
        .collect();
    if !accept.is_empty() {
        b.accept_rounds(&accept);
    }

    for (imp, peer) in [
        ("poe-rs", Peer::Rust("poe-readwrite")),
        ("tokio", Peer::Rust("tokio")),
    ] {
        if b.wants("idle_conn", imp, peer) {
            drop(b.idle("idle_conn", imp, &b.spawn(peer)));
        }
    }

    // Each Server::TCP peer with 10 000 idle connections; poe-rs's and
    // tokio's keep theirs open for echo_with_idle.
    let mut with_idle = Vec::new();
    let mut idle_conns = Vec::new();
    for (imp, peer) in server_tcp_peers {
        let idle = b.wants("idle_conn_server_tcp", imp, peer);
        let echo = imp != "perl-poe" && b.wants("echo_with_idle", imp, peer);
        if !idle && !echo {
            continue;
        }
        let server = b.spawn(peer);
        let conns = b.idle("idle_conn_server_tcp", imp, &server);
        if echo {
            with_idle.push((imp, server));
            idle_conns.push(conns);
        }
    }
    if !with_idle.is_empty() {
        // The paced echo with the idle connections open, in interleaved
        // rounds with the same poe-rs server without them (the budget's
        // reference) and tokio with its own 10 000.
        with_idle.push(("poe-rs-without-idle", b.spawn(Peer::Rust("poe-server-tcp"))));
        b.run_rounds("echo_with_idle", Some(PACED_LINES_PER_S), &with_idle);
    }
    drop(idle_conns);
}
