//! The load generator every echo server is measured with: N connections,
//! each keeping K lines of 32 bytes in flight, every echoed byte checked.
//! Single-threaded on mio, so its own CPU cost is small and known.

use crate::measure::{self_cpu_seconds, Server};
use mio::net::TcpStream;
use mio::{Events, Interest, Poll, Token};
use std::io::{self, ErrorKind, Read, Write};
use std::time::{Duration, Instant};

/// Bytes per line, the terminator included.
pub const LINE: usize = 32;

/// What one measurement window saw.
pub struct Measured {
    /// Lines echoed and verified inside the window.
    pub lines: u64,
    /// The window's length.
    pub secs: f64,
    /// The server's CPU seconds inside the window.
    pub server_cpu: f64,
    /// The part of `server_cpu` spent in the kernel (system time).
    pub server_sys: f64,
    /// The load generator's CPU seconds inside the window.
    pub gen_cpu: f64,
    /// The server's read-type and write-type system calls inside the
    /// window (what its system time is mostly made of).
    pub server_syscalls: (u64, u64),
    /// Times the server went to sleep inside the window.
    pub server_sleeps: u64,
}

impl Measured {
    pub fn lines_per_s(&self) -> f64 {
        self.lines as f64 / self.secs
    }

    pub fn cpu_ns_per_line(&self) -> f64 {
        self.server_cpu * 1e9 / self.lines.max(1) as f64
    }

    /// The share of its core the server was running.
    pub fn server_busy(&self) -> f64 {
        self.server_cpu / self.secs
    }

    /// The generator used (nearly) all of its core: the server may be
    /// faster than lines_per_s shows.
    pub fn generator_saturated(&self) -> bool {
        self.gen_cpu / self.secs > 0.9
    }
}

/// Line `seq` of connection `conn`: `c<5 digits> s<12 digits> ` padded
/// with `x` to 31 bytes, then a newline. Built without allocating: the
/// generator must cost far less per line than the servers it measures.
fn line(conn: usize, seq: u64) -> [u8; LINE] {
    let mut out = [b'x'; LINE];
    out[0] = b'c';
    digits(&mut out[1..6], conn as u64);
    out[6] = b' ';
    out[7] = b's';
    digits(&mut out[8..20], seq);
    out[20] = b' ';
    out[LINE - 1] = b'\n';
    out
}

/// Write `n` in decimal, zero-padded to fill `into`.
fn digits(into: &mut [u8], mut n: u64) {
    for d in into.iter_mut().rev() {
        *d = b'0' + (n % 10) as u8;
        n /= 10;
    }
}

struct Conn {
    stream: TcpStream,
    /// Next line number to send and to expect back.
    sent: u64,
    echoed: u64,
    inbuf: Vec<u8>,
    outbuf: Vec<u8>,
}

impl Conn {
    fn queue(&mut self, id: usize, n: usize) {
        for _ in 0..n {
            self.outbuf.extend_from_slice(&line(id, self.sent));
            self.sent += 1;
        }
    }

    fn write_out(&mut self) -> io::Result<()> {
        while !self.outbuf.is_empty() {
            match self.stream.write(&self.outbuf) {
                Ok(n) => {
                    self.outbuf.drain(..n);
                }
                Err(e) if e.kind() == ErrorKind::WouldBlock => break,
                Err(e) => return Err(e),
            }
        }
        Ok(())
    }

    /// Read what arrived; check each complete line; returns how many.
    fn read_in(&mut self, id: usize) -> io::Result<u64> {
        let mut buf = [0u8; 65536];
        loop {
            match self.stream.read(&mut buf) {
                Ok(0) => return Err(io::Error::new(ErrorKind::UnexpectedEof, "server closed")),
                Ok(n) => self.inbuf.extend_from_slice(&buf[..n]),
                Err(e) if e.kind() == ErrorKind::WouldBlock => break,
                Err(e) => return Err(e),
            }
        }
        let mut done = 0;
        let mut start = 0;
        while let Some(nl) = self.inbuf[start..].iter().position(|&b| b == b'\n') {
            let end = start + nl;
            let mut got = &self.inbuf[start..end];
            if got.last() == Some(&b'\r') {
                got = &got[..got.len() - 1]; // Line filters answer CR LF
            }
            let want = line(id, self.echoed);
            if got != &want[..LINE - 1] {
                return Err(io::Error::other(format!(
                    "connection {id}: line {} came back as {:?}",
                    self.echoed,
                    String::from_utf8_lossy(got)
                )));
            }
            self.echoed += 1;
            done += 1;
            start = end + 1;
        }
        self.inbuf.drain(..start);
        Ok(done)
    }
}

/// Drive `conns` connections with `in_flight` lines each: warm up, then
/// count verified echoes for `window`. With `pace`, at most that many
/// lines per second are sent: an echoed batch is sent again only once the
/// rate allows it, so a server faster than the pace has idle time and its
/// CPU per line is its own cost, not 1 / the rate both sides can reach.
pub fn run(
    server: &Server,
    conns: usize,
    in_flight: usize,
    warmup: Duration,
    window: Duration,
    pace: Option<f64>,
) -> io::Result<Measured> {
    let mut poll = Poll::new()?;
    let mut events = Events::with_capacity(1024);
    let mut all = Vec::with_capacity(conns);
    for i in 0..conns {
        let std = std::net::TcpStream::connect(("127.0.0.1", server.port))?;
        std.set_nodelay(true)?;
        std.set_nonblocking(true)?;
        let mut stream = TcpStream::from_std(std);
        poll.registry().register(
            &mut stream,
            Token(i),
            Interest::READABLE | Interest::WRITABLE,
        )?;
        let mut c = Conn {
            stream,
            sent: 0,
            echoed: 0,
            inbuf: Vec::new(),
            outbuf: Vec::new(),
        };
        c.queue(i, in_flight);
        c.write_out()?;
        all.push(c);
    }
    let start = Instant::now();
    let window_start = start + warmup;
    let window_end = window_start + window;
    let mut counting = false;
    let (mut lines, mut cpu0, mut gen0, mut sys0) = (0u64, (0.0, 0.0), 0.0, (0, 0));
    let mut sleeps0 = 0;
    let mut total0 = 0.0;
    // Paced: lines echoed but not sent again yet, per connection, and the
    // lines sent since `start` beyond the first `in_flight` of each.
    let mut owed = vec![0usize; conns];
    let mut resent = 0u64;
    loop {
        let now = Instant::now();
        if let Some(rate) = pace {
            let allowed = (now.duration_since(start).as_secs_f64() * rate) as u64;
            for (id, c) in all.iter_mut().enumerate() {
                let n = owed[id];
                if n == 0 || resent + n as u64 > allowed {
                    continue;
                }
                owed[id] = 0;
                resent += n as u64;
                c.queue(id, n);
                c.write_out()?;
            }
        }
        if !counting && now >= window_start {
            counting = true;
            cpu0 = server.cpu_split();
            total0 = server.cpu_seconds();
            gen0 = self_cpu_seconds();
            sys0 = server.syscalls();
            sleeps0 = server.sleeps();
        }
        if now >= window_end {
            break;
        }
        let wait = match pace {
            Some(_) if owed.iter().any(|&n| n > 0) => Duration::from_millis(1),
            _ => Duration::from_millis(50),
        };
        poll.poll(&mut events, Some(wait))?;
        for ev in events.iter() {
            let id = ev.token().0;
            let c = &mut all[id];
            if ev.is_readable() {
                let n = c.read_in(id)?;
                if counting {
                    lines += n;
                }
                match pace {
                    Some(_) => owed[id] += n as usize,
                    None => c.queue(id, n as usize),
                }
            }
            c.write_out()?;
        }
    }
    let secs = window_end
        .saturating_duration_since(window_start)
        .as_secs_f64();
    let server_cpu = server.cpu_seconds() - total0;
    let (user, sys) = server.cpu_split();
    let (user, sys) = (user - cpu0.0, sys - cpu0.1);
    let (reads, writes) = server.syscalls();
    Ok(Measured {
        server_syscalls: (reads - sys0.0, writes - sys0.1),
        server_sleeps: server.sleeps() - sleeps0,
        lines,
        secs,
        server_cpu,
        // The precise total, split as the ticks split it.
        server_sys: server_cpu * sys / (user + sys).max(1e-9),
        gen_cpu: self_cpu_seconds() - gen0,
    })
}

/// Open `n` connections that each echo one line and then stay idle.
pub fn open_idle(port: u16, n: usize) -> io::Result<Vec<std::net::TcpStream>> {
    let mut open = Vec::with_capacity(n);
    let mut buf = [0u8; 64];
    for i in 0..n {
        let mut s = std::net::TcpStream::connect(("127.0.0.1", port))?;
        s.write_all(&line(i, 0))?;
        let mut got = 0;
        while !buf[..got].contains(&b'\n') {
            let k = s.read(&mut buf[got..])?;
            if k == 0 {
                return Err(io::Error::new(
                    ErrorKind::UnexpectedEof,
                    "server closed an idle connection",
                ));
            }
            got += k;
        }
        open.push(s);
    }
    Ok(open)
}

/// What one accept-rate window saw.
pub struct AcceptMeasured {
    /// Connections that connected, echoed their line and closed inside
    /// the window.
    pub conns: u64,
    pub secs: f64,
    pub server_cpu: f64,
    pub gen_cpu: f64,
}

impl AcceptMeasured {
    pub fn conns_per_s(&self) -> f64 {
        self.conns as f64 / self.secs
    }

    pub fn cpu_ns_per_conn(&self) -> f64 {
        self.server_cpu * 1e9 / self.conns.max(1) as f64
    }

    pub fn generator_saturated(&self) -> bool {
        self.gen_cpu / self.secs > 0.9
    }
}

/// One short-lived connection of the accept-rate run.
struct ShortConn {
    stream: TcpStream,
    slot: usize,
    seq: u64,
    sent: bool,
    got: Vec<u8>,
}

/// Keep `concurrent` connections going, each one: connect, send one line,
/// read its echo, close; a finished connection is replaced at once.
/// Counts the connections completed inside `window`.
pub fn accept_rate(
    server: &Server,
    concurrent: usize,
    warmup: Duration,
    window: Duration,
) -> io::Result<AcceptMeasured> {
    let addr: std::net::SocketAddr = ([127, 0, 0, 1], server.port).into();
    let mut poll = Poll::new()?;
    let mut events = Events::with_capacity(1024);
    // Tokens are never reused: an event still queued for a closed
    // connection must not be taken for its replacement's.
    let mut live: std::collections::HashMap<usize, ShortConn> =
        std::collections::HashMap::with_capacity(concurrent);
    let mut next_token = 0usize;
    let mut open = |poll: &Poll,
                    live: &mut std::collections::HashMap<usize, ShortConn>,
                    slot: usize,
                    seq: u64|
     -> io::Result<()> {
        let mut stream = TcpStream::connect(addr)?;
        let token = next_token;
        next_token += 1;
        poll.registry().register(
            &mut stream,
            Token(token),
            Interest::READABLE | Interest::WRITABLE,
        )?;
        live.insert(
            token,
            ShortConn {
                stream,
                slot,
                seq,
                sent: false,
                got: Vec::with_capacity(LINE),
            },
        );
        Ok(())
    };
    let mut seqs = vec![0u64; concurrent];
    for slot in 0..concurrent {
        open(&poll, &mut live, slot, 0)?;
    }
    let start = Instant::now();
    let window_start = start + warmup;
    let window_end = window_start + window;
    let mut counting = false;
    let (mut done, mut cpu0, mut gen0) = (0u64, 0.0, 0.0);
    let mut buf = [0u8; 256];
    loop {
        let now = Instant::now();
        if !counting && now >= window_start {
            counting = true;
            cpu0 = server.cpu_seconds();
            gen0 = self_cpu_seconds();
        }
        if now >= window_end {
            break;
        }
        poll.poll(&mut events, Some(Duration::from_millis(50)))?;
        for ev in events.iter() {
            let token = ev.token().0;
            let Some(c) = live.get_mut(&token) else {
                continue;
            };
            if ev.is_error() {
                let err = c.stream.take_error()?;
                return Err(err.unwrap_or_else(|| io::Error::other("connect failed")));
            }
            if !c.sent && ev.is_writable() {
                if let Some(err) = c.stream.take_error()? {
                    return Err(err);
                }
                // 32 bytes into an empty socket buffer: one write.
                c.stream.write_all(&line(c.slot, c.seq))?;
                c.sent = true;
            }
            if !ev.is_readable() {
                continue;
            }
            loop {
                match c.stream.read(&mut buf) {
                    Ok(0) => {
                        return Err(io::Error::new(
                            ErrorKind::UnexpectedEof,
                            "server closed before echoing",
                        ))
                    }
                    Ok(n) => c.got.extend_from_slice(&buf[..n]),
                    Err(e) if e.kind() == ErrorKind::WouldBlock => break,
                    Err(e) => return Err(e),
                }
            }
            if !c.got.contains(&b'\n') {
                continue;
            }
            let want = line(c.slot, c.seq);
            let got = c.got.strip_suffix(b"\r\n").or(c.got.strip_suffix(b"\n"));
            if got != Some(&want[..LINE - 1]) {
                return Err(io::Error::other(format!(
                    "short connection {}/{}: echo came back as {:?}",
                    c.slot,
                    c.seq,
                    String::from_utf8_lossy(&c.got)
                )));
            }
            let slot = c.slot;
            drop(live.remove(&token)); // closes the connection
            if counting {
                done += 1;
            }
            seqs[slot] += 1;
            open(&poll, &mut live, slot, seqs[slot])?;
        }
    }
    let secs = window_end
        .saturating_duration_since(window_start)
        .as_secs_f64();
    Ok(AcceptMeasured {
        conns: done,
        secs,
        server_cpu: server.cpu_seconds() - cpu0,
        gen_cpu: self_cpu_seconds() - gen0,
    })
}
