//! The runnable examples do what their docs say.

mod common;

use std::path::PathBuf;
use std::process::Command;

/// The compiled example. `cargo test --workspace` builds examples first;
/// when only this file's tests run, an example whose source changed since
/// its last build is rebuilt here.
fn example(name: &str) -> PathBuf {
    let exe = std::env::current_exe().unwrap();
    let profile_dir = exe.parent().unwrap().parent().unwrap();
    let path = profile_dir.join("examples").join(name);
    let source = common::repo_path(&format!("examples/{name}.rs"));
    let modified = |p: &std::path::Path| std::fs::metadata(p).and_then(|m| m.modified()).ok();
    if modified(&path) < modified(&source) {
        let status = Command::new(env!("CARGO"))
            .args(["build", "--example", name])
            .current_dir(env!("CARGO_MANIFEST_DIR"))
            .status()
            .unwrap();
        assert!(status.success());
    }
    path
}

fn run(name: &str) -> String {
    let out = Command::new(example(name)).output().unwrap();
    assert!(
        out.status.success(),
        "{name} failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).unwrap()
}

#[test]
fn demo_shows_sessions_timers_and_a_select_watcher() {
    let out = run("demo");
    for line in 1..=5 {
        assert!(
            out.contains(&format!("consumer: got \"line {line}\"")),
            "{out}"
        );
    }
    let order = [
        "heartbeat: started as session 1",
        "heartbeat: beat",
        "producer: closing",
        "consumer: EOF, no more watching",
        "heartbeat: _stop after 5 lines",
        "run returned",
    ];
    let mut at = 0;
    for needle in order {
        let found = out[at..]
            .find(needle)
            .unwrap_or_else(|| panic!("{needle:?} missing or out of order in:\n{out}"));
        at += found;
    }
}

/// A running example server: its process, port, and stdout after the
/// "listening on port N" line.
struct Running {
    child: std::process::Child,
    port: u16,
    stdout: std::io::BufReader<std::process::ChildStdout>,
}

impl Running {
    fn start(name: &str, extra: &[&str]) -> Running {
        use std::io::BufRead;
        let mut child = Command::new(example(name))
            .arg("0")
            .args(extra)
            .stdout(std::process::Stdio::piped())
            .spawn()
            .unwrap();
        let mut stdout = std::io::BufReader::new(child.stdout.take().unwrap());
        let mut first = String::new();
        stdout.read_line(&mut first).unwrap();
        let port = first
            .trim()
            .strip_prefix("listening on port ")
            .unwrap_or_else(|| panic!("{name} said {first:?}"))
            .parse()
            .unwrap();
        Running {
            child,
            port,
            stdout,
        }
    }

    fn connect(&self) -> Line {
        Line::connect(self.port)
    }

    /// The next line the server printed.
    fn printed(&mut self) -> String {
        use std::io::BufRead;
        let mut s = String::new();
        self.stdout.read_line(&mut s).unwrap();
        s.trim_end().to_owned()
    }
}

impl Drop for Running {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// A line-oriented test client (a read timeout turns a hang into a failure).
struct Line {
    reader: std::io::BufReader<std::net::TcpStream>,
    writer: std::net::TcpStream,
}

impl Line {
    fn connect(port: u16) -> Line {
        let s = std::net::TcpStream::connect(("127.0.0.1", port)).unwrap();
        s.set_read_timeout(Some(std::time::Duration::from_secs(20)))
            .unwrap();
        Line {
            writer: s.try_clone().unwrap(),
            reader: std::io::BufReader::new(s),
        }
    }

    fn send(&mut self, line: &str) {
        use std::io::Write;
        self.writer
            .write_all(format!("{line}\n").as_bytes())
            .unwrap();
    }

    fn recv(&mut self) -> Option<String> {
        use std::io::BufRead;
        let mut s = String::new();
        match self.reader.read_line(&mut s).unwrap() {
            0 => None,
            _ => Some(s.trim_end_matches(['\r', '\n']).to_owned()),
        }
    }
}

#[test]
fn rot13_server_example() {
    let mut server = Running::start("tcp_rot13_server", &[]);
    let mut c = server.connect();
    assert_eq!(c.recv().as_deref(), Some("Smile from the server!"));
    c.send("Hello, World");
    assert_eq!(c.recv().as_deref(), Some("Uryyb, Jbeyq"));
    assert_eq!(server.printed(), "got a connection from 127.0.0.1");
}

#[test]
fn echo_server_example() {
    let server = Running::start("tcp_echo_server", &[]);
    let mut c = server.connect();
    for line in ["one", "two words", ""] {
        c.send(line);
        assert_eq!(c.recv().as_deref(), Some(line));
    }
}

#[test]
fn head_client_example_against_a_local_server() {
    use std::io::{BufRead, Write};
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    let http = std::thread::spawn(move || {
        let (s, _) = listener.accept().unwrap();
        let mut r = std::io::BufReader::new(s.try_clone().unwrap());
        let mut request = Vec::new();
        loop {
            let mut l = String::new();
            r.read_line(&mut l).unwrap();
            let l = l.trim_end().to_owned();
            if l.is_empty() {
                break;
            }
            request.push(l);
        }
        let mut s = s;
        s.write_all(b"HTTP/1.0 200 OK\r\nServer: poe-rs-test\r\n\r\n")
            .unwrap();
        request
    });
    let out = Command::new(example("tcp_head_client"))
        .args(["127.0.0.1", &port.to_string()])
        .output()
        .unwrap();
    assert!(out.status.success());
    assert_eq!(http.join().unwrap(), ["HEAD / HTTP/1.0"]);
    let stdout = String::from_utf8(out.stdout).unwrap();
    assert_eq!(
        stdout.lines().collect::<Vec<_>>(),
        [
            "from server: HTTP/1.0 200 OK",
            "from server: Server: poe-rs-test",
            "from server: ",
            "disconnected"
        ]
    );
}

#[test]
fn concurrency_acceptor_example_admits_two_at_a_time() {
    let mut server = Running::start("tcp_concurrency_acceptor", &[]);
    let mut one = server.connect();
    let mut two = server.connect();
    assert_eq!(one.recv().as_deref(), Some("you are client #1"));
    assert_eq!(two.recv().as_deref(), Some("you are client #2"));
    let mut three = server.connect(); // waits in the backlog
    two.send("shout");
    assert_eq!(two.recv().as_deref(), Some("SHOUT"));
    one.send("quit");
    assert_eq!(one.recv().as_deref(), Some("bye"));
    assert_eq!(one.recv(), None, "closed after bye");
    assert_eq!(three.recv().as_deref(), Some("you are client #3"));
    let printed: Vec<String> = (0..4).map(|_| server.printed()).collect();
    assert_eq!(
        printed,
        [
            "client #1 connected",
            "client #2 connected",
            "client #1 disconnected",
            "client #3 connected"
        ]
    );
}

#[test]
fn streaming_example_sends_the_whole_file_chunk_by_chunk() {
    use std::io::Read;
    let file = common::repo_path("Cargo.lock");
    let server = Running::start("tcp_stream_flushed", &[file.to_str().unwrap()]);
    let mut s = std::net::TcpStream::connect(("127.0.0.1", server.port)).unwrap();
    let mut got = Vec::new();
    s.read_to_end(&mut got).unwrap();
    let want = std::fs::read(&file).unwrap();
    assert!(want.len() > 3 * 4096, "several chunks");
    assert!(
        got == want,
        "received {} of {} bytes",
        got.len(),
        want.len()
    );
}

#[test]
fn chat_server_example_relays_between_users() {
    let server = Running::start("tcp_chat_server", &[]);
    let mut ann = server.connect();
    assert_eq!(ann.recv().as_deref(), Some("Welcome! What is your nick?"));
    ann.send("ann");
    assert_eq!(ann.recv().as_deref(), Some("Hello, ann."));
    let mut bob = server.connect();
    assert_eq!(bob.recv().as_deref(), Some("Welcome! What is your nick?"));
    bob.send("bob");
    assert_eq!(bob.recv().as_deref(), Some("Hello, bob."));
    assert_eq!(ann.recv().as_deref(), Some("* bob joined"));
    bob.send("hi ann");
    assert_eq!(ann.recv().as_deref(), Some("bob: hi ann"));
    ann.send("/who");
    assert_eq!(ann.recv().as_deref(), Some("here: ann, bob"));
    bob.send("/quit");
    assert_eq!(bob.recv().as_deref(), Some("Bye."));
    assert_eq!(bob.recv(), None);
    assert_eq!(ann.recv().as_deref(), Some("* bob left"));
}

#[test]
fn ikc_jobs_runs_a_worker_process_and_collects_every_answer() {
    let out = run("ikc_jobs");
    assert!(out.starts_with("boss: worker listening on port "), "{out}");
    for n in 1..=5 {
        assert!(
            out.contains(&format!("boss: {n} squared is {}\n", n * n)),
            "{out}"
        );
    }
    assert!(out.contains("boss: all 5 jobs done\n"), "{out}");
    assert!(
        out.ends_with("boss: worker exited (exit status: 0)\n"),
        "{out}"
    );
}

/// A running example process, its first line already read.
struct Daemon {
    child: std::process::Child,
    out: std::io::BufReader<std::process::ChildStdout>,
    port: u16,
}

fn start_job_runner() -> Daemon {
    use std::io::BufRead;
    let mut child = Command::new(example("job_runner"))
        .arg("0")
        .stdout(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let mut out = std::io::BufReader::new(child.stdout.take().unwrap());
    let mut first = String::new();
    out.read_line(&mut first).unwrap();
    let port = first
        .trim()
        .strip_prefix("listening on port ")
        .expect("the port line")
        .parse()
        .unwrap();
    Daemon { child, out, port }
}

impl Drop for Daemon {
    /// A failed assertion must not leave the daemon running (it would hold
    /// the test harness's output pipe open).
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// A client of the job runner.
struct JobClient {
    lines: std::io::Lines<std::io::BufReader<std::net::TcpStream>>,
    stream: std::net::TcpStream,
}

impl JobClient {
    fn connect(port: u16) -> JobClient {
        use std::io::BufRead;
        let stream = std::net::TcpStream::connect(("127.0.0.1", port)).unwrap();
        stream
            .set_read_timeout(Some(std::time::Duration::from_secs(10)))
            .unwrap();
        let mut c = JobClient {
            lines: std::io::BufReader::new(stream.try_clone().unwrap()).lines(),
            stream,
        };
        assert_eq!(c.next().as_deref(), Some("ready"));
        c
    }

    fn send(&mut self, line: &str) {
        use std::io::Write;
        self.stream
            .write_all(format!("{line}\r\n").as_bytes())
            .unwrap();
    }

    fn next(&mut self) -> Option<String> {
        self.lines.next().map(|l| l.unwrap().trim_end().to_owned())
    }

    /// Lines up to and including the one starting with `until`.
    fn until(&mut self, until: &str) -> Vec<String> {
        let mut got = Vec::new();
        while let Some(l) = self.next() {
            let done = l.starts_with(until);
            got.push(l);
            if done {
                return got;
            }
        }
        panic!("connection closed before {until:?}: {got:?}");
    }
}

#[test]
fn job_runner_streams_a_jobs_output_and_its_exit_status() {
    let daemon = start_job_runner();
    let mut c = JobClient::connect(daemon.port);
    c.send("run echo hello; echo oops >&2; exit 3");
    let mut got = c.until("exit ");
    assert!(got[0].starts_with("started "), "{got:?}");
    assert_eq!(got.pop().as_deref(), Some("exit 3"));
    let mut output = got[1..].to_vec();
    output.sort();
    assert_eq!(output, ["err: oops", "out: hello"]);
    c.send("run kill -9 $$");
    assert_eq!(c.until("killed").last().unwrap(), "killed by signal 9");
    c.send("quit");
    assert_eq!(c.next(), None, "quit hangs up");
    drop(daemon);
}

#[test]
fn job_runner_lets_running_jobs_finish_on_sigterm_and_exits_cleanly() {
    use std::io::BufRead;
    let mut daemon = start_job_runner();
    let mut busy = JobClient::connect(daemon.port);
    let mut idle = JobClient::connect(daemon.port);
    // The job waits on a FIFO the test opens only after SIGTERM is in.
    let fifo = std::env::temp_dir().join(format!("job_runner_go_{}", std::process::id()));
    let _ = std::fs::remove_file(&fifo);
    assert!(Command::new("mkfifo")
        .arg(&fifo)
        .status()
        .unwrap()
        .success());
    busy.send(&format!("run read go < {}; echo done", fifo.display()));
    assert!(busy.next().unwrap().starts_with("started "));
    // SAFETY: kill(2) on our own child process.
    assert_eq!(
        unsafe { libc::kill(daemon.child.id() as i32, libc::SIGTERM) },
        0
    );
    // The idle connection is hung up on at once; the busy one gets the
    // rest of its job, then is hung up on too.
    assert_eq!(idle.next(), None);
    assert_eq!(busy.next().as_deref(), Some("shutting down after this job"));
    std::fs::write(&fifo, "go\n").unwrap();
    std::fs::remove_file(&fifo).unwrap();
    assert_eq!(busy.until("exit "), ["out: done", "exit 0"]);
    assert_eq!(busy.next(), None);
    assert!(
        std::net::TcpStream::connect(("127.0.0.1", daemon.port)).is_err(),
        "no new connections"
    );
    let status = daemon.child.wait().unwrap();
    assert!(status.success(), "{status}");
    let rest: Vec<String> = (&mut daemon.out).lines().map(Result::unwrap).collect();
    assert_eq!(
        rest,
        [
            "SIGTERM: no new connections, letting running jobs finish",
            "all jobs done, bye"
        ]
    );
}
