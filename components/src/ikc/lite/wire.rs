//! The blocking socket and the two framings ClientLite reads: negotiation
//! lines, then Filter::Reference frames (ikc-protocol.md §2).

use super::{Endpoint, LiteError};
use poe_filters::storable;
use poe_kernel::Value;
use std::io::{self, Read};
use std::net::{TcpStream, ToSocketAddrs};
use std::os::unix::net::UnixStream;
use std::time::{Duration, Instant};

/// Octets asked of the kernel per read: a full socket buffer's worth, so a
/// big reply takes few syscalls; leftovers stay in the receive buffer.
const READ_SIZE: usize = 64 * 1024;

/// Most digits a frame length may have: 20 is `u64::MAX`; more can only be
/// garbage, and would otherwise be buffered while waiting for the NUL.
const MAX_LENGTH_DIGITS: usize = 20;

/// A connected stream socket, TCP or Unix.
#[derive(Debug)]
pub(super) enum Stream {
    Tcp(TcpStream),
    Unix(UnixStream),
}

/// What a read brought.
pub(super) enum Fill {
    /// Octets appended to the buffer.
    Data,
    /// The peer closed the connection.
    Eof,
    /// The deadline passed first.
    TimedOut,
}

impl Stream {
    /// Connect to `endpoint`, giving up at `deadline`.
    pub(super) fn connect(endpoint: &Endpoint, deadline: Instant) -> Result<Stream, LiteError> {
        let addr = endpoint.to_string();
        let (host, port) = match endpoint {
            Endpoint::Unix(path) => {
                return UnixStream::connect(path)
                    .map(Stream::Unix)
                    .map_err(|source| LiteError::Connect { addr, source });
            }
            Endpoint::Tcp { host, port } => (host.as_str(), *port),
        };
        let addrs = (host, port)
            .to_socket_addrs()
            .map_err(|source| LiteError::Connect {
                addr: addr.clone(),
                source,
            })?;
        let mut last = io::Error::new(io::ErrorKind::NotFound, "the host has no address");
        // Every address the name resolves to (localhost: ::1 and
        // 127.0.0.1), within the one deadline.
        for sock_addr in addrs {
            let left = deadline.saturating_duration_since(Instant::now());
            if left.is_zero() {
                last = io::ErrorKind::TimedOut.into();
                break;
            }
            match TcpStream::connect_timeout(&sock_addr, left) {
                Ok(s) => {
                    // Requests and replies are single small writes: Nagle
                    // would hold back a write that follows another (two
                    // negotiation lines) until the first is acknowledged.
                    s.set_nodelay(true).map_err(LiteError::Io)?;
                    return Ok(Stream::Tcp(s));
                }
                Err(e) => last = e,
            }
        }
        Err(LiteError::Connect { addr, source: last })
    }

    fn set_read_timeout(&self, t: Option<Duration>) -> io::Result<()> {
        match self {
            Stream::Tcp(s) => s.set_read_timeout(t),
            Stream::Unix(s) => s.set_read_timeout(t),
        }
    }

    pub(super) fn set_write_timeout(&self, t: Option<Duration>) -> io::Result<()> {
        match self {
            Stream::Tcp(s) => s.set_write_timeout(t),
            Stream::Unix(s) => s.set_write_timeout(t),
        }
    }

    fn set_nonblocking(&self, on: bool) -> io::Result<()> {
        match self {
            Stream::Tcp(s) => s.set_nonblocking(on),
            Stream::Unix(s) => s.set_nonblocking(on),
        }
    }

    fn read_some(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        match self {
            Stream::Tcp(s) => s.read(buf),
            Stream::Unix(s) => s.read(buf),
        }
    }

    /// Write all of `bytes`. MSG_NOSIGNAL: a server that went away is an
    /// `EPIPE` error here, not a SIGPIPE that kills a program which did
    /// not ignore it (Rust binaries do; a library cannot count on it).
    pub(super) fn send_all(&self, mut bytes: &[u8]) -> io::Result<()> {
        let sock = match self {
            Stream::Tcp(s) => socket2::SockRef::from(s),
            Stream::Unix(s) => socket2::SockRef::from(s),
        };
        while !bytes.is_empty() {
            match sock.send_with_flags(bytes, libc::MSG_NOSIGNAL) {
                Ok(0) => return Err(io::ErrorKind::WriteZero.into()),
                Ok(n) => bytes = &bytes[n..],
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(e) => return Err(e),
            }
        }
        Ok(())
    }

    /// Read once into `buf`, waiting until `deadline` at most.
    pub(super) fn fill(&mut self, buf: &mut Vec<u8>, deadline: Instant) -> io::Result<Fill> {
        let mut chunk = [0u8; READ_SIZE];
        loop {
            let left = deadline.saturating_duration_since(Instant::now());
            if left.is_zero() {
                return Ok(Fill::TimedOut);
            }
            // A zero read timeout means "block for ever": never set one.
            self.set_read_timeout(Some(left.max(Duration::from_millis(1))))?;
            match self.read_some(&mut chunk) {
                Ok(0) => return Ok(Fill::Eof),
                Ok(n) => {
                    buf.extend_from_slice(&chunk[..n]);
                    return Ok(Fill::Data);
                }
                Err(e)
                    if matches!(
                        e.kind(),
                        io::ErrorKind::WouldBlock
                            | io::ErrorKind::TimedOut
                            | io::ErrorKind::Interrupted
                    ) => {}
                Err(e) => return Err(e),
            }
        }
    }

    /// Read whatever has already arrived, without waiting. `Ok(false)`
    /// when the peer has closed the connection.
    pub(super) fn drain(&mut self, buf: &mut Vec<u8>, limit: usize) -> io::Result<bool> {
        self.set_nonblocking(true)?;
        let result = self.drain_nonblocking(buf, limit);
        self.set_nonblocking(false)?;
        result
    }

    fn drain_nonblocking(&mut self, buf: &mut Vec<u8>, limit: usize) -> io::Result<bool> {
        let mut chunk = [0u8; READ_SIZE];
        // Stop at `limit` buffered octets: the caller parses and comes
        // back, so a server streaming junk cannot grow the buffer.
        while buf.len() < limit {
            match self.read_some(&mut chunk) {
                Ok(0) => return Ok(false),
                Ok(n) => buf.extend_from_slice(&chunk[..n]),
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => break,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(e) => return Err(e),
            }
        }
        Ok(true)
    }
}

/// Take one negotiation line (without its terminator) off the front of
/// `buf`. Terminators: CR LF, LF, or CR followed by anything but LF —
/// what Perl's Filter::Line accepts, except that a CR at the very end of
/// the buffer waits for the next octet, so a CR LF split across two reads
/// stays one terminator (the hazard of ikc-protocol.md §2.2).
pub(super) fn take_line(buf: &mut Vec<u8>, max_line: usize) -> Result<Option<Vec<u8>>, LiteError> {
    let Some(at) = buf.iter().position(|&b| b == b'\r' || b == b'\n') else {
        if buf.len() > max_line {
            return Err(LiteError::LineTooLong { limit: max_line });
        }
        return Ok(None);
    };
    if at > max_line {
        return Err(LiteError::LineTooLong { limit: max_line });
    }
    let end = match (buf[at], buf.get(at + 1)) {
        (b'\r', None) => return Ok(None),
        (b'\r', Some(b'\n')) => at + 2,
        _ => at + 1,
    };
    let line = buf[..at].to_vec();
    buf.drain(..end);
    Ok(Some(line))
}

/// Take one frame (`<decimal length> NUL <payload>`) off the front of
/// `buf` and thaw it. The header must be at the very start, as Perl's
/// Filter::Reference wants it (Perl's ClientLite searches for it anywhere,
/// which can turn payload octets into a length). The length is checked
/// against `max_frame` as soon as the header is complete, before any of
/// the payload is buffered.
pub(super) fn take_frame(buf: &mut Vec<u8>, max_frame: usize) -> Result<Option<Value>, LiteError> {
    if buf.is_empty() {
        return Ok(None);
    }
    let digits = buf.iter().take_while(|b| b.is_ascii_digit()).count();
    if digits == 0 || digits > MAX_LENGTH_DIGITS {
        return Err(bad_header(buf));
    }
    match buf.get(digits) {
        None => return Ok(None),
        Some(0) => {}
        Some(_) => return Err(bad_header(buf)),
    }
    let size: u64 = std::str::from_utf8(&buf[..digits])
        .ok()
        .and_then(|d| d.parse().ok())
        .unwrap_or(u64::MAX);
    if size > max_frame as u64 {
        return Err(LiteError::FrameTooLarge {
            size,
            limit: max_frame,
        });
    }
    let start = digits + 1;
    let end = start + size as usize;
    if buf.len() < end {
        return Ok(None);
    }
    let thawed = storable::thaw(&buf[start..end]);
    buf.drain(..end);
    thawed
        .map(Some)
        .map_err(|e| LiteError::BadFrame(format!("payload does not thaw: {e}")))
}

fn bad_header(buf: &[u8]) -> LiteError {
    let head = &buf[..buf.len().min(16)];
    LiteError::BadFrame(format!(
        "expected <length> NUL, got {:?}",
        String::from_utf8_lossy(head)
    ))
}

/// `value` frozen and framed, ready for one write.
pub(super) fn frame(value: &Value) -> Result<Vec<u8>, LiteError> {
    let payload = storable::nfreeze(value).map_err(LiteError::Freeze)?;
    let mut out = Vec::with_capacity(payload.len() + 12);
    out.extend_from_slice(payload.len().to_string().as_bytes());
    out.push(0);
    out.extend_from_slice(&payload);
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn lines(input: &[u8]) -> (Vec<String>, Vec<u8>) {
        let mut buf = input.to_vec();
        let mut out = Vec::new();
        while let Some(l) = take_line(&mut buf, 64).unwrap() {
            out.push(String::from_utf8(l).unwrap());
        }
        (out, buf)
    }

    #[test]
    fn lines_end_at_crlf_lf_or_cr_but_a_trailing_cr_waits() {
        assert_eq!(
            lines(b"A\r\nB\nC\rD\r"),
            (vec!["A".into(), "B".into(), "C".into()], b"D\r".to_vec())
        );
        // The LF of a split CR LF arrives: one terminator, not an empty line.
        assert_eq!(lines(b"D\r\n5\0"), (vec!["D".into()], b"5\0".to_vec()));
    }

    #[test]
    fn overlong_lines_are_refused() {
        let mut buf = vec![b'x'; 65];
        assert!(matches!(
            take_line(&mut buf, 64),
            Err(LiteError::LineTooLong { limit: 64 })
        ));
    }

    #[test]
    fn frames_round_trip_and_wait_for_their_last_octet() {
        let msg = Value::map([("event", "poe://k/s/t")]);
        let wire = frame(&msg).unwrap();
        assert!(wire.starts_with(b"29\0\x05\x0b"));
        let mut buf = wire[..wire.len() - 1].to_vec();
        assert_eq!(take_frame(&mut buf, 1024).unwrap(), None);
        buf.push(*wire.last().unwrap());
        buf.extend_from_slice(b"12");
        assert_eq!(take_frame(&mut buf, 1024).unwrap(), Some(msg));
        assert_eq!(buf, b"12", "the next frame's start is kept");
        assert_eq!(take_frame(&mut buf, 1024).unwrap(), None);
    }

    #[test]
    fn bad_and_oversize_headers_are_errors_as_soon_as_they_show() {
        let mut buf = b"x1\0".to_vec();
        assert!(matches!(
            take_frame(&mut buf, 64),
            Err(LiteError::BadFrame(_))
        ));
        let mut buf = b"12a".to_vec();
        assert!(matches!(
            take_frame(&mut buf, 64),
            Err(LiteError::BadFrame(_))
        ));
        let mut buf = vec![b'9'; 21];
        assert!(matches!(
            take_frame(&mut buf, 64),
            Err(LiteError::BadFrame(_))
        ));
        let mut buf = b"65\0".to_vec();
        assert!(matches!(
            take_frame(&mut buf, 64),
            Err(LiteError::FrameTooLarge {
                size: 65,
                limit: 64
            })
        ));
        let mut buf = b"99999999999999999999\0".to_vec();
        assert!(matches!(
            take_frame(&mut buf, 64),
            Err(LiteError::FrameTooLarge { .. })
        ));
        let mut buf = b"3\0abc".to_vec();
        assert!(matches!(
            take_frame(&mut buf, 64),
            Err(LiteError::BadFrame(_))
        ));
        assert!(buf.is_empty(), "a frame that does not thaw is consumed");
    }
}
