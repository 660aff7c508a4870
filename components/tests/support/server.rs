//! A fake IKC server for ClientLite tests: a thread that accepts one
//! connection per script and runs the script on it. Scripts negotiate
//! with the real [`Negotiation`] state machine (or write raw lines), read
//! the client's frames and answer them, byte for byte as they choose.

use poe_components::ikc::negotiation::{Names, Negotiated, Negotiation, Protocol};
use poe_components::ikc::{Request, Specifier, PROXY_STATE};
use poe_filters::storable;
use poe_kernel::Value;
use std::io::{ErrorKind, Read, Write};
use std::net::{Shutdown, TcpListener};
use std::os::unix::net::UnixListener;
use std::path::Path;
use std::sync::mpsc;
use std::thread::JoinHandle;
use std::time::Duration;

/// The fake server's kernel ID (what it announces first).
pub const SERVER_ID: &str = "fake-6b0125d5-00003243-00000001";

/// Its `name`, announced after the ID.
pub const SERVER_NAME: &str = "fakesrv";

/// How long a script waits for the client before the test fails: a
/// safety net against a hung test, never a synchronisation point.
const STALL: Duration = Duration::from_secs(20);

/// A socket a script talks through.
pub trait Socket: Read + Write + Send {}
impl<T: Read + Write + Send> Socket for T {}

/// A script: what the server does on one connection.
pub type Script = Box<dyn FnOnce(&mut Peer) + Send>;

/// The server thread. [`FakeServer::join`] re-raises a script's panic, so
/// assertions inside scripts fail the test.
pub struct FakeServer {
    /// The TCP port (0 for a Unix-socket server).
    pub port: u16,
    thread: Option<JoinHandle<()>>,
    /// Dropped by the thread when it ends, normally or not.
    done: mpsc::Receiver<()>,
}

impl FakeServer {
    /// A TCP server on 127.0.0.1 that serves `scripts.len()` connections,
    /// one script each, in order.
    pub fn tcp(scripts: Vec<Script>) -> FakeServer {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let port = listener.local_addr().unwrap().port();
        let (done_tx, done) = mpsc::channel::<()>();
        let thread = std::thread::spawn(move || {
            let _done = done_tx;
            for script in scripts {
                let (stream, addr) = listener.accept().unwrap();
                stream.set_read_timeout(Some(STALL)).unwrap();
                let other = stream.try_clone().unwrap();
                let close = move || {
                    let _ = other.shutdown(Shutdown::Both);
                };
                let mut peer = Peer::new(Box::new(stream), Box::new(close));
                peer.client_addr = Some(addr.to_string());
                script(&mut peer);
            }
        });
        FakeServer {
            port,
            thread: Some(thread),
            done,
        }
    }

    /// The same on a Unix socket at `path`.
    pub fn unix(path: &Path, scripts: Vec<Script>) -> FakeServer {
        let listener = UnixListener::bind(path).unwrap();
        let (done_tx, done) = mpsc::channel::<()>();
        let thread = std::thread::spawn(move || {
            let _done = done_tx;
            for script in scripts {
                let (stream, _) = listener.accept().unwrap();
                stream.set_read_timeout(Some(STALL)).unwrap();
                let other = stream.try_clone().unwrap();
                let close = move || {
                    let _ = other.shutdown(Shutdown::Both);
                };
                let mut peer = Peer::new(Box::new(stream), Box::new(close));
                script(&mut peer);
            }
        });
        FakeServer {
            port: 0,
            thread: Some(thread),
            done,
        }
    }

    /// Wait for every script to finish; a script's panic fails the test,
    /// and so does a server still waiting for a connection after `STALL`.
    pub fn join(mut self) {
        if let Err(mpsc::RecvTimeoutError::Timeout) = self.done.recv_timeout(STALL) {
            panic!("the fake server still waits for a connection or a frame");
        }
        if let Some(t) = self.thread.take() {
            if let Err(panic) = t.join() {
                std::panic::resume_unwind(panic);
            }
        }
    }
}

/// One accepted connection, as a script sees it.
pub struct Peer {
    io: Box<dyn Socket>,
    close: Box<dyn Fn() + Send>,
    buf: Vec<u8>,
    /// Every negotiation line received, in order.
    pub lines: Vec<String>,
    /// The client's `ip:port` (TCP only).
    pub client_addr: Option<String>,
}

impl Peer {
    fn new(io: Box<dyn Socket>, close: Box<dyn Fn() + Send>) -> Peer {
        Peer {
            io,
            close,
            buf: Vec::new(),
            lines: Vec::new(),
            client_addr: None,
        }
    }

    /// What one read() returns (octets already buffered first); `None`
    /// at end of stream. The client's write boundaries show through: a
    /// small write on a local socket arrives whole, in one read.
    pub fn read_packet(&mut self) -> Option<Vec<u8>> {
        if self.buf.is_empty() && !self.fill() {
            return None;
        }
        Some(std::mem::take(&mut self.buf))
    }

    /// Read more octets; false at end of stream.
    fn fill(&mut self) -> bool {
        let mut chunk = [0u8; 65536];
        loop {
            match self.io.read(&mut chunk) {
                Ok(0) => return false,
                Ok(n) => {
                    self.buf.extend_from_slice(&chunk[..n]);
                    return true;
                }
                Err(e) if e.kind() == ErrorKind::Interrupted => {}
                Err(e) if e.kind() == ErrorKind::ConnectionReset => return false,
                Err(e) => panic!("fake server read: {e}"),
            }
        }
    }

    /// The next line the client sent, `None` at end of stream.
    pub fn read_line(&mut self) -> Option<String> {
        loop {
            if let Some(at) = self.buf.iter().position(|&b| b == b'\n') {
                let mut line: Vec<u8> = self.buf.drain(..=at).collect();
                line.pop();
                // Strict: Perl's ClientLite (and ours) end lines with CR LF.
                assert_eq!(line.pop(), Some(b'\r'), "a line must end with CR LF");
                let line = String::from_utf8(line).expect("a text line");
                self.lines.push(line.clone());
                return Some(line);
            }
            if !self.fill() {
                return None;
            }
        }
    }

    /// Close the connection (shut both directions down) now, before the
    /// script returns.
    pub fn close(&mut self) {
        (self.close)();
    }

    /// Write `line` and CR LF.
    pub fn write_line(&mut self, line: &str) {
        self.write_raw(format!("{line}\r\n").as_bytes());
    }

    /// Write octets as they are.
    pub fn write_raw(&mut self, bytes: &[u8]) {
        self.io.write_all(bytes).unwrap();
        self.io.flush().unwrap();
    }

    /// Negotiate as an IKC server of `protocol` with the real state
    /// machine; returns what it learned about the client.
    pub fn negotiate(&mut self, protocol: Protocol) -> Negotiated {
        let names = Names {
            kernel_id: SERVER_ID.into(),
            names: vec![SERVER_NAME.into()],
        };
        let mut server = Negotiation::server(names, protocol, 4242);
        loop {
            let line = self.read_line().expect("the client negotiates");
            let step = server.line(line.as_bytes()).expect("a valid negotiation");
            for reply in &step.send {
                self.write_line(reply);
            }
            if let Some(done) = step.done {
                return done;
            }
        }
    }

    /// The next frame's payload, `None` at end of stream.
    pub fn recv_payload(&mut self) -> Option<Vec<u8>> {
        loop {
            if let Some(nul) = self.buf.iter().position(|&b| b == 0) {
                let len: usize = std::str::from_utf8(&self.buf[..nul])
                    .ok()
                    .and_then(|d| d.parse().ok())
                    .unwrap_or_else(|| panic!("a frame header, got {:?}", &self.buf[..nul]));
                if self.buf.len() >= nul + 1 + len {
                    let payload = self.buf[nul + 1..nul + 1 + len].to_vec();
                    self.buf.drain(..nul + 1 + len);
                    return Some(payload);
                }
            }
            if !self.fill() {
                assert!(self.buf.is_empty(), "the client left a partial frame");
                return None;
            }
        }
    }

    /// The next frame, thawed.
    pub fn recv(&mut self) -> Value {
        let payload = self.recv_payload().expect("a frame from the client");
        storable::thaw(&payload).expect("the client's frame thaws")
    }

    /// The next frame as a request.
    pub fn recv_request(&mut self) -> Request {
        Request::from_value(self.recv()).expect("a request hash")
    }

    /// Wait for the client to close the connection; anything it sends
    /// before that fails the test.
    pub fn expect_close(&mut self) {
        if let Some(frame) = self.recv_payload() {
            panic!(
                "expected the client to close, got a frame of {} octets",
                frame.len()
            );
        }
    }

    /// `value` framed (`len NUL nfreeze`).
    pub fn frame(value: &Value) -> Vec<u8> {
        let payload = storable::nfreeze(value).unwrap();
        let mut out = format!("{}\0", payload.len()).into_bytes();
        out.extend_from_slice(&payload);
        out
    }

    /// Send one message.
    pub fn send(&mut self, value: &Value) {
        self.write_raw(&Peer::frame(value));
    }

    /// A reply to `request`'s RSVP, as Perl's Responder writes it.
    pub fn reply_to(request: &Request, params: impl Into<Value>) -> Value {
        let rsvp = request.rsvp.clone().expect("a call");
        Value::map([
            ("event", rsvp),
            ("params", params.into()),
            (
                "from",
                Specifier::new(SERVER_ID, "echo", PROXY_STATE).to_value(),
            ),
        ])
    }

    /// Answer a call.
    pub fn reply(&mut self, request: &Request, params: impl Into<Value>) {
        self.send(&Peer::reply_to(request, params));
    }

    /// A Perl-style error report to `client` (no `failed_rsvp`).
    pub fn error_report(client: &str, message: &str, when: &str) -> Value {
        Value::map([
            (
                "event",
                Specifier::new(client, "IKC", "remote_error").to_value(),
            ),
            ("is_error", Value::from(1)),
            ("params", Value::list([message, SERVER_ID, when])),
        ])
    }

    /// A post to `IKCLite/<state>` of `client`, as a remote handler
    /// posting to its SENDER makes it (§5.5, `from` without a state).
    pub fn post_back(client: &str, state: &str, params: impl Into<Value>) -> Value {
        Value::map([
            ("event", Specifier::new(client, "IKCLite", state).to_value()),
            ("params", params.into()),
            (
                "from",
                Specifier::new(SERVER_ID, "echo", PROXY_STATE).to_value(),
            ),
        ])
    }
}
