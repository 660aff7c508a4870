//! [`SysRw`]: POE::Driver::SysRW — `read(2)` and `write(2)` on a descriptor.
//!
//! Memory is the point of this design. Reads go into one scratch buffer per
//! thread, shared by every connection: a connection keeps only the bytes
//! its filter could not frame yet. Output is one contiguous buffer, so
//! everything queued since the last flush leaves in a single `write`; it is
//! let go of when it empties — to the thread's spare output buffers, which
//! the next driver with output takes — so an idle connection holds no
//! buffers, and a busy one gets one back without a malloc.

use std::cell::RefCell;
use std::collections::VecDeque;
use std::fmt;
use std::io;
use std::os::fd::RawFd;

/// Buffers larger than this are freed, not kept, once they empty.
const KEEP_CAPACITY: usize = 4096;

/// Emptied output buffers the thread keeps for the next drivers with
/// output: enough for every connection written to in one busy round.
const SPARE_OUTPUTS: usize = 64;

/// An output buffer and its chunk list, emptied.
type Output = (Vec<u8>, VecDeque<u64>);

thread_local! {
    /// The read buffer every `SysRw` on this thread shares.
    static SCRATCH: RefCell<Vec<u8>> = const { RefCell::new(Vec::new()) };
    /// Emptied output buffers (at most `SPARE_OUTPUTS`, each at most
    /// `KEEP_CAPACITY`).
    static OUTPUTS: RefCell<Vec<Output>> = const { RefCell::new(Vec::new()) };
}

/// What one read found.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ReadOutcome {
    /// This many bytes were read and handed over.
    Data(usize),
    /// Nothing to read now.
    WouldBlock,
    /// The peer closed its end (POE reports this as errno 0).
    Eof,
}

/// An invalid driver setting (where POE's `POE::Driver::SysRW->new`
/// croaks).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum DriverError {
    /// `BlockSize` was zero.
    ZeroBlockSize,
}

impl fmt::Display for DriverError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            DriverError::ZeroBlockSize => f.write_str("BlockSize must be greater than zero"),
        }
    }
}

impl std::error::Error for DriverError {}

/// Reads and writes a descriptor in blocks (POE::Driver::SysRW).
///
/// ```
/// use std::os::fd::AsRawFd;
/// use std::os::unix::net::UnixStream;
/// use poe_wheels::driver::{ReadOutcome, SysRw};
///
/// let (a, b) = UnixStream::pair().unwrap();
/// a.set_nonblocking(true).unwrap();
/// b.set_nonblocking(true).unwrap();
/// let mut out = SysRw::new();
/// assert_eq!(out.put(b"hello "), 6);
/// assert_eq!(out.put(b"world"), 11);
/// assert_eq!(out.messages_buffered(), 2);
/// assert_eq!(out.flush(a.as_raw_fd()).unwrap(), 0); // one write(2)
///
/// let mut input = SysRw::new();
/// let mut got = Vec::new();
/// let r = input.get(b.as_raw_fd(), |bytes| got.extend_from_slice(bytes)).unwrap();
/// assert_eq!(r, ReadOutcome::Data(11));
/// assert_eq!(got, b"hello world");
/// ```
#[derive(Debug)]
pub struct SysRw {
    block_size: usize,
    /// Unsent output starts at `out[sent..]`.
    out: Vec<u8>,
    sent: usize,
    /// Stream positions where queued chunks end (for the message count).
    chunk_ends: VecDeque<u64>,
    /// Octets ever queued and ever written, as stream positions.
    queued_total: u64,
    written_total: u64,
}

impl Default for SysRw {
    fn default() -> SysRw {
        SysRw::new()
    }
}

impl SysRw {
    /// POE's default `BlockSize`.
    pub const DEFAULT_BLOCK_SIZE: usize = 65536;

    /// A driver reading up to 64 KiB at a time.
    pub fn new() -> SysRw {
        SysRw {
            block_size: Self::DEFAULT_BLOCK_SIZE,
            out: Vec::new(),
            sent: 0,
            chunk_ends: VecDeque::new(),
            queued_total: 0,
            written_total: 0,
        }
    }

    /// A driver reading up to `block_size` bytes at a time (POE's
    /// `BlockSize`; zero is refused).
    pub fn with_block_size(block_size: usize) -> Result<SysRw, DriverError> {
        if block_size == 0 {
            return Err(DriverError::ZeroBlockSize);
        }
        Ok(SysRw {
            block_size,
            ..SysRw::new()
        })
    }

    /// The read size.
    pub fn block_size(&self) -> usize {
        self.block_size
    }

    /// One `read(2)` of up to `block_size` bytes; the bytes go to `sink`
    /// (they live in a buffer shared by the thread, so copy what you keep).
    /// A real error is `Err`; would-block and end of file are outcomes.
    pub fn get(&mut self, fd: RawFd, sink: impl FnOnce(&[u8])) -> io::Result<ReadOutcome> {
        let size = self.block_size;
        let read = |buf: &mut Vec<u8>| -> io::Result<usize> {
            if buf.len() < size {
                buf.resize(size, 0);
            }
            loop {
                // SAFETY: `buf` is valid for writes of `size` bytes (resized
                // above) and outlives the call.
                let n = unsafe { libc::read(fd, buf.as_mut_ptr().cast(), size) };
                if n >= 0 {
                    return Ok(n as usize);
                }
                let err = io::Error::last_os_error();
                if err.kind() != io::ErrorKind::Interrupted {
                    return Err(err);
                }
            }
        };
        let with = |buf: &mut Vec<u8>| match read(buf) {
            Ok(0) => Ok(ReadOutcome::Eof),
            Ok(n) => {
                sink(&buf[..n]);
                Ok(ReadOutcome::Data(n))
            }
            Err(e) if e.kind() == io::ErrorKind::WouldBlock => Ok(ReadOutcome::WouldBlock),
            Err(e) => Err(e),
        };
        SCRATCH.with(|cell| match cell.try_borrow_mut() {
            Ok(mut buf) => with(&mut buf),
            // Only if a sink reads from another driver while we hold the
            // shared buffer: use a private one rather than fail.
            Err(_) => with(&mut Vec::new()),
        })
    }

    /// Drop the written prefix of the output buffer before it grows, once
    /// it is at least half of it.
    #[inline]
    fn reclaim(&mut self) {
        if self.sent > 0 && self.sent >= self.out.len() / 2 {
            self.out.drain(..self.sent);
            self.sent = 0;
        }
    }

    /// Queue a chunk for writing; returns the octets now buffered. Empty
    /// chunks are skipped.
    pub fn put(&mut self, chunk: &[u8]) -> usize {
        if !chunk.is_empty() {
            self.reclaim();
            self.out.extend_from_slice(chunk);
            self.queued_total += chunk.len() as u64;
            self.chunk_ends.push_back(self.queued_total);
        }
        self.octets_buffered()
    }

    /// Queue bytes that `fill` appends straight into the output buffer (a
    /// filter serializing a record) as one chunk. If `fill` fails, what it
    /// appended is dropped. Returns the octets now buffered.
    ///
    /// Always inlined: it is a few lines around `fill`, and left to LLVM it
    /// was inlined or not depending on where its caller was instantiated
    /// (21 instructions a line on the Server::TCP echo).
    #[inline(always)]
    pub fn put_with<E>(
        &mut self,
        fill: impl FnOnce(&mut Vec<u8>) -> Result<(), E>,
    ) -> Result<usize, E> {
        self.reclaim();
        let before = self.out.len();
        if let Err(e) = fill(&mut self.out) {
            self.out.truncate(before);
            return Err(e);
        }
        let added = self.out.len() - before;
        if added > 0 {
            self.queued_total += added as u64;
            self.chunk_ends.push_back(self.queued_total);
        }
        Ok(self.octets_buffered())
    }

    /// Write what is buffered: one `write(2)` when it all fits, as it
    /// usually does. After a short write it tries once more, so a full
    /// socket is seen to be full (would-block) and reports when it drains.
    /// Returns the octets still buffered; would-block is not an error.
    pub fn flush(&mut self, fd: RawFd) -> io::Result<usize> {
        loop {
            let before = self.octets_buffered();
            let left = self.write_once(fd)?;
            if left == 0 || left == before {
                return Ok(left);
            }
        }
    }

    fn write_once(&mut self, fd: RawFd) -> io::Result<usize> {
        let pending = &self.out[self.sent..];
        if pending.is_empty() {
            return Ok(0);
        }
        let n = loop {
            // SAFETY: `pending` is a live slice of `self.out`; write reads at
            // most `pending.len()` bytes from it.
            let n = unsafe { libc::write(fd, pending.as_ptr().cast(), pending.len()) };
            if n >= 0 {
                break n as usize;
            }
            let err = io::Error::last_os_error();
            match err.kind() {
                io::ErrorKind::Interrupted => continue,
                io::ErrorKind::WouldBlock => break 0,
                _ => return Err(err),
            }
        };
        self.sent += n;
        self.written_total += n as u64;
        if self.sent == self.out.len() {
            // All written (the usual case): every chunk is done at once.
            self.release_output();
        } else {
            while self
                .chunk_ends
                .front()
                .is_some_and(|&end| end <= self.written_total)
            {
                self.chunk_ends.pop_front();
            }
        }
        Ok(self.octets_buffered())
    }

    /// Octets queued and not yet written.
    pub fn octets_buffered(&self) -> usize {
        self.out.len() - self.sent
    }

    /// Chunks queued and not completely written (POE's
    /// `get_out_messages_buffered`).
    pub fn messages_buffered(&self) -> usize {
        self.chunk_ends.len()
    }

    /// Drop everything not yet written.
    pub fn discard_output(&mut self) {
        self.written_total = self.queued_total;
        self.release_output();
    }

    /// Everything was written (or discarded): let go of the buffers, to
    /// the thread's spares unless they grew large.
    fn release_output(&mut self) {
        self.sent = 0;
        let (mut out, mut ends) = (
            std::mem::take(&mut self.out),
            std::mem::take(&mut self.chunk_ends),
        );
        if out.capacity() > KEEP_CAPACITY {
            return;
        }
        out.clear();
        ends.clear();
        // During thread teardown there is nowhere to keep them: they drop.
        let _ = OUTPUTS.try_with(|spares| {
            let mut spares = spares.borrow_mut();
            if spares.len() < SPARE_OUTPUTS {
                spares.push((out, ends));
            }
        });
    }

    /// Before a wheel queues a batch of output: whether nothing was
    /// buffered (the wheel then has a write to schedule). An empty driver
    /// takes spare buffers here, if the thread has any, once per batch
    /// rather than with a check in every put (without, the first put
    /// allocates).
    #[inline]
    pub(crate) fn begin_output(&mut self) -> bool {
        let empty = self.octets_buffered() == 0;
        if empty && self.out.capacity() == 0 {
            self.take_spare_output();
        }
        empty
    }

    #[inline(never)]
    fn take_spare_output(&mut self) {
        if let Ok(Some((out, ends))) = OUTPUTS.try_with(|spares| spares.borrow_mut().pop()) {
            self.out = out;
            self.chunk_ends = ends;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Read;
    use std::os::fd::AsRawFd;
    use std::os::unix::net::UnixStream;

    fn pair() -> (UnixStream, UnixStream) {
        let (a, b) = UnixStream::pair().unwrap();
        a.set_nonblocking(true).unwrap();
        b.set_nonblocking(true).unwrap();
        (a, b)
    }

    #[test]
    fn block_size_limits_each_read() {
        let (a, b) = pair();
        let mut w = SysRw::new();
        w.put(b"0123456789");
        w.flush(a.as_raw_fd()).unwrap();
        let mut r = SysRw::with_block_size(4).unwrap();
        let mut seen = Vec::new();
        for _ in 0..3 {
            r.get(b.as_raw_fd(), |c| seen.push(c.to_vec())).unwrap();
        }
        assert_eq!(seen, [b"0123".to_vec(), b"4567".to_vec(), b"89".to_vec()]);
        assert_eq!(
            r.get(b.as_raw_fd(), |_| ()).unwrap(),
            ReadOutcome::WouldBlock
        );
        drop(a);
        assert_eq!(r.get(b.as_raw_fd(), |_| ()).unwrap(), ReadOutcome::Eof);
        assert_eq!(
            SysRw::with_block_size(0).unwrap_err(),
            DriverError::ZeroBlockSize
        );
    }

    #[test]
    fn a_short_write_keeps_the_rest_and_counts_partial_chunks() {
        let (a, mut b) = pair();
        let big = vec![7u8; 4 << 20];
        let mut w = SysRw::new();
        w.put(&big);
        w.put(b"tail");
        let left = w.flush(a.as_raw_fd()).unwrap();
        assert!(left > 0, "a 4 MiB write cannot fit a socket buffer");
        assert_eq!(w.messages_buffered(), 2, "the partly written chunk counts");
        let mut got = Vec::new();
        let mut buf = vec![0u8; 1 << 16];
        while got.len() < big.len() + 4 {
            match b.read(&mut buf) {
                Ok(n) => got.extend_from_slice(&buf[..n]),
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => {
                    w.flush(a.as_raw_fd()).unwrap();
                }
                Err(e) => panic!("{e}"),
            }
        }
        assert_eq!(w.octets_buffered(), 0);
        assert_eq!(w.messages_buffered(), 0);
        assert_eq!(&got[..big.len()], &big[..]);
        assert_eq!(&got[big.len()..], b"tail");
        assert!(
            w.out.capacity() <= KEEP_CAPACITY,
            "big buffers are released"
        );
    }

    #[test]
    fn an_emptied_output_buffer_is_let_go_and_the_next_output_takes_it_back() {
        let (a, mut b) = pair();
        let mut w = SysRw::new();
        w.put(&[b'x'; 1000]);
        let kept = w.out.as_ptr();
        assert_eq!(w.flush(a.as_raw_fd()).unwrap(), 0);
        assert_eq!(w.out.capacity(), 0, "an idle driver holds no buffer");
        assert_eq!(w.chunk_ends.capacity(), 0);
        let mut other = SysRw::new();
        assert!(other.begin_output(), "nothing buffered yet");
        assert_eq!(other.out.as_ptr(), kept, "the spare is the emptied buffer");
        assert!(other.out.capacity() >= 1000);
        other.put(b"next");
        assert_eq!(other.messages_buffered(), 1);
        assert_eq!(other.flush(a.as_raw_fd()).unwrap(), 0);
        let mut got = vec![0u8; 2000];
        let mut n = 0;
        while n < 1004 {
            n += b.read(&mut got[n..]).unwrap();
        }
        assert_eq!(&got[1000..1004], b"next");
    }

    #[test]
    fn write_errors_are_reported() {
        let (a, b) = pair();
        drop(b);
        let mut w = SysRw::new();
        w.put(b"x");
        let err = w.flush(a.as_raw_fd()).unwrap_err();
        assert_eq!(err.raw_os_error(), Some(libc::EPIPE));
    }
}
