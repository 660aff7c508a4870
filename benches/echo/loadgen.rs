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
    /// The load generator's CPU seconds inside the window.
    pub gen_cpu: f64,
}

impl Measured {
    pub fn lines_per_s(&self) -> f64 {
        self.lines as f64 / self.secs
    }

    pub fn cpu_ns_per_line(&self) -> f64 {
        self.server_cpu * 1e9 / self.lines.max(1) as f64
    }

    /// The generator used (nearly) all of its core: the server may be
    /// faster than the figure shows.
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
/// count verified echoes for `window`.
pub fn run(
    server: &Server,
    conns: usize,
    in_flight: usize,
    warmup: Duration,
    window: Duration,
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
    let (mut lines, mut cpu0, mut gen0) = (0u64, 0.0, 0.0);
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
            let id = ev.token().0;
            let c = &mut all[id];
            if ev.is_readable() {
                let n = c.read_in(id)?;
                if counting {
                    lines += n;
                }
                c.queue(id, n as usize);
            }
            c.write_out()?;
        }
    }
    let secs = window_end
        .saturating_duration_since(window_start)
        .as_secs_f64();
    Ok(Measured {
        lines,
        secs,
        server_cpu: server.cpu_seconds() - cpu0,
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
