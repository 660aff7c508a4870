//! Helpers shared by the Server::TCP and Client::TCP tests: an event log,
//! blocking peers on threads, a listener whose backlog is full, and a
//! per-thread log capture.

// Each test crate that includes this module uses a different part of it.
#![allow(dead_code)]

use std::cell::RefCell;
use std::io::{BufRead, BufReader, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::os::fd::AsRawFd;
use std::rc::Rc;
use std::sync::Once;
use std::thread::JoinHandle;
use std::time::Duration;

/// How long a blocking peer waits before the test fails: a safety net
/// against a hung test, never a synchronisation point.
pub const STALL: Duration = Duration::from_secs(20);

/// An event log the callbacks append to.
pub type Log = Rc<RefCell<Vec<String>>>;

/// Append a line to `log`.
pub fn push(log: &Log, s: impl Into<String>) {
    log.borrow_mut().push(s.into());
}

/// A port nothing listens on (bound, then released).
pub fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// A blocking client on a thread: connect to `addr`, send `lines`, read
/// until the server closes, return what it said, line by line.
pub fn client_at(addr: SocketAddr, lines: &[&str]) -> JoinHandle<Vec<String>> {
    let lines: Vec<String> = lines.iter().map(|s| s.to_string()).collect();
    std::thread::spawn(move || {
        let s = TcpStream::connect(addr).unwrap();
        s.set_read_timeout(Some(STALL)).unwrap();
        let mut w = s.try_clone().unwrap();
        for l in &lines {
            w.write_all(format!("{l}\n").as_bytes()).unwrap();
        }
        BufReader::new(s).lines().map_while(Result::ok).collect()
    })
}

/// [`client_at`] on 127.0.0.1.
pub fn client(port: u16, lines: &[&str]) -> JoinHandle<Vec<String>> {
    client_at(SocketAddr::from(([127, 0, 0, 1], port)), lines)
}

/// True if this host can listen on `::1`.
pub fn ipv6_loopback() -> bool {
    TcpListener::bind("[::1]:0").is_ok()
}

/// A listener that never accepts and whose backlog is full, so a new
/// connect to it hangs: `listen(0)` admits one connection to the accept
/// queue, which the returned filler occupies. Returns once the kernel has
/// queued the filler (the listener polls readable), so no handshake is
/// still in flight.
pub fn full_backlog_listener() -> (socket2::Socket, SocketAddr, socket2::Socket) {
    use socket2::{Domain, Socket, Type};
    let listener = Socket::new(Domain::IPV4, Type::STREAM, None).unwrap();
    let any: SocketAddr = "127.0.0.1:0".parse().unwrap();
    listener.bind(&any.into()).unwrap();
    listener.listen(0).unwrap();
    let addr = listener.local_addr().unwrap().as_socket().unwrap();
    let filler = Socket::new(Domain::IPV4, Type::STREAM, None).unwrap();
    filler.set_nonblocking(true).unwrap();
    let _ = filler.connect(&addr.into());
    let mut pfd = libc::pollfd {
        fd: listener.as_raw_fd(),
        events: libc::POLLIN,
        revents: 0,
    };
    // SAFETY: one valid pollfd for the duration of the call.
    let n = unsafe { libc::poll(&mut pfd, 1, STALL.as_millis() as libc::c_int) };
    assert_eq!(n, 1, "the filler never reached the accept queue");
    (listener, addr, filler)
}

/// What [`capture_logs`] records: level, target, message.
pub type Captured = Vec<(log::Level, String, String)>;

thread_local! {
    static CAPTURE: RefCell<Option<Captured>> = const { RefCell::new(None) };
}

struct Capture;

impl log::Log for Capture {
    fn enabled(&self, _: &log::Metadata) -> bool {
        true
    }
    fn log(&self, r: &log::Record) {
        CAPTURE.with(|c| {
            if let Some(v) = c.borrow_mut().as_mut() {
                v.push((r.level(), r.target().to_owned(), r.args().to_string()));
            }
        });
    }
    fn flush(&self) {}
}

static CAPTURE_LOGGER: Capture = Capture;
static INSTALL: Once = Once::new();

/// Run `f` and return what it logged on this thread (debug and above).
/// Tests run on threads of their own, so captures do not mix.
pub fn capture_logs<T>(f: impl FnOnce() -> T) -> (T, Captured) {
    INSTALL.call_once(|| {
        log::set_logger(&CAPTURE_LOGGER).expect("no other logger in this test binary");
        log::set_max_level(log::LevelFilter::Debug);
    });
    CAPTURE.with(|c| *c.borrow_mut() = Some(Vec::new()));
    let out = f();
    let logged = CAPTURE.with(|c| c.borrow_mut().take()).unwrap_or_default();
    (out, logged)
}

/// A blocking client on a thread that sends `bytes`, half-closes, and
/// returns every byte the server sent until it closed.
pub fn raw_client(addr: SocketAddr, bytes: &'static [u8]) -> JoinHandle<Vec<u8>> {
    std::thread::spawn(move || {
        use std::io::Read;
        let mut s = TcpStream::connect(addr).unwrap();
        s.set_read_timeout(Some(STALL)).unwrap();
        s.write_all(bytes).unwrap();
        s.shutdown(std::net::Shutdown::Write).unwrap();
        let mut got = Vec::new();
        s.read_to_end(&mut got).unwrap();
        got
    })
}

/// 127.0.0.1:`port`.
pub fn local(port: u16) -> SocketAddr {
    SocketAddr::from(([127, 0, 0, 1], port))
}
