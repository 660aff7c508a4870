//! What a FollowTail keeps, and the file operations it needs: opening a
//! name as POE does, where to start, one bounded read, and the stat(2)
//! comparison that tells a file was truncated or replaced.
//!
//! Nothing here calls the session: the hidden states (handlers.rs) borrow
//! this state for one operation at a time and emit events between them.

use crate::driver::{ReadOutcome, SysRw};
use poe_filters::{Filter, FilterError};
use poe_kernel::{AlarmId, EventName};
use std::fs::{File, Metadata, OpenOptions};
use std::io::{self, Seek, SeekFrom};
use std::os::fd::{AsRawFd, RawFd};
use std::os::unix::fs::{FileTypeExt, MetadataExt, OpenOptionsExt};
use std::path::{Path, PathBuf};

/// How far back from the end a wheel without Seek or SeekBack starts
/// (POE's default `Seek => -4096`).
pub(super) const DEFAULT_BACK: u64 = 4096;

/// The events a FollowTail emits, renamable at run time.
#[derive(Clone)]
pub(super) struct Events {
    pub input: EventName,
    pub error: Option<EventName>,
    pub reset: Option<EventName>,
    pub idle: Option<EventName>,
}

/// How the file is followed.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum Follow {
    /// A regular file (or a name not opened yet): polled with delays.
    Timer,
    /// Anything else (FIFO, socket, tty): a read watcher.
    Select,
}

/// Where following starts in a regular file of `end` octets.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum Start {
    /// Neither Seek nor SeekBack: [`DEFAULT_BACK`] octets back, and the
    /// complete records found there are discarded.
    Default,
    /// `Seek`: octets from the start; negative counts from the end.
    Seek(i64),
    /// `SeekBack`: octets back from the end.
    SeekBack(u64),
}

impl Start {
    /// POE's rules: past the end means the end, before the start means
    /// the start.
    pub fn offset(self, end: u64) -> u64 {
        match self {
            Start::Default => end.saturating_sub(DEFAULT_BACK),
            Start::Seek(n) if n >= 0 => (n as u64).min(end),
            Start::Seek(n) => end.saturating_sub(n.unsigned_abs()),
            Start::SeekBack(n) => end.saturating_sub(n),
        }
    }
}

/// The fields of stat(2) that reveal a reset.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) struct FileStat {
    dev: u64,
    ino: u64,
    nlink: u64,
    rdev: u64,
    size: u64,
    device: bool,
}

impl FileStat {
    pub fn of(m: &Metadata) -> FileStat {
        let t = m.file_type();
        FileStat {
            dev: m.dev(),
            ino: m.ino(),
            nlink: m.nlink(),
            rdev: m.rdev(),
            size: m.size(),
            device: t.is_block_device() || t.is_char_device(),
        }
    }
}

/// POE's reset test: another inode or device, another link count, a
/// smaller size, or (for device files) another device number. `None` is
/// "no file" (POE's stat of all -1s): appearing or vanishing is a change.
pub(super) fn changed(old: Option<FileStat>, new: Option<FileStat>) -> bool {
    match (old, new) {
        (None, None) => false,
        (Some(o), Some(n)) => {
            o.ino != n.ino
                || o.dev != n.dev
                || o.nlink != n.nlink
                || n.size < o.size
                || (n.device && o.rdev != n.rdev)
        }
        _ => true,
    }
}

/// Open a name as POE does: a FIFO read-write, so that opening never
/// blocks and no writer closing it ever ends it; anything else read-only.
/// Non-blocking either way (regular files ignore it).
pub(super) fn open_file(path: &Path) -> io::Result<File> {
    let fifo = std::fs::metadata(path).is_ok_and(|m| m.file_type().is_fifo());
    OpenOptions::new()
        .read(true)
        .write(fifo)
        .custom_flags(libc::O_NONBLOCK)
        .open(path)
}

/// What one read found.
pub(super) enum Read {
    /// Data went to the filter (which may have refused it).
    Data(Result<(), FilterError>),
    /// Nothing to read now (a non-blocking special file).
    WouldBlock,
    /// End of file.
    End,
    /// The read failed.
    Error(io::Error),
}

/// What the stat at end of file found.
pub(super) enum Check {
    /// Same file, not smaller: nothing happened.
    Unchanged,
    /// Filename mode: the name refers to another file now, or to none; the
    /// old handle is closed, and the next poll reopens the name.
    Replaced,
    /// Handle mode: the file was truncated or replaced under the handle.
    Reset,
    /// stat(2) failed (other than the name being gone).
    Failed(io::Error),
}

/// What a (re)open attempt found.
pub(super) enum Reopen {
    /// The file was open already.
    Open,
    /// The name was opened just now: that is a reset.
    Opened,
    /// The name still cannot be opened.
    Missing,
}

/// A FollowTail's state, shared (weakly) with its hidden state.
pub(super) struct Inner {
    /// `None` only for a Filename wheel whose file is missing or replaced.
    pub file: Option<File>,
    pub filename: Option<PathBuf>,
    pub driver: SysRw,
    pub filter: Box<dyn Filter>,
    pub events: Events,
    /// PollInterval, seconds.
    pub interval: f64,
    /// The stat seen at the last end of file.
    pub last: Option<FileStat>,
    /// The pending poll (timer mode).
    pub alarm: Option<AlarmId>,
    pub follow: Follow,
    /// An error ended following.
    pub stopped: bool,
}

impl Inner {
    pub fn fd(&self) -> Option<RawFd> {
        self.file.as_ref().map(AsRawFd::as_raw_fd)
    }

    /// A Filename wheel without a file tries to open it; the stat of the
    /// name is the new reference.
    pub fn reopen(&mut self) -> Reopen {
        if self.file.is_some() {
            return Reopen::Open;
        }
        let Some(path) = &self.filename else {
            return Reopen::Open;
        };
        match open_file(path) {
            Ok(f) => {
                self.last = std::fs::metadata(path).ok().map(|m| FileStat::of(&m));
                self.file = Some(f);
                Reopen::Opened
            }
            Err(_) => Reopen::Missing,
        }
    }

    /// One read of up to the driver's block size, fed to the filter.
    pub fn read_block(&mut self) -> Read {
        let Inner {
            file,
            driver,
            filter,
            ..
        } = self;
        let Some(file) = file else { return Read::End };
        let mut fed = Ok(());
        match driver.get(file.as_raw_fd(), |bytes| fed = filter.get_one_start(bytes)) {
            Ok(ReadOutcome::Data(_)) => Read::Data(fed),
            Ok(ReadOutcome::WouldBlock) => Read::WouldBlock,
            Ok(ReadOutcome::Eof) => Read::End,
            Err(e) => Read::Error(e),
        }
    }

    /// At end of file: stat the name (Filename) or the handle, and compare
    /// with what the last end of file saw.
    pub fn check(&mut self) -> Check {
        let now = match (&self.filename, &self.file) {
            (Some(path), _) => match std::fs::metadata(path) {
                Ok(m) => Some(FileStat::of(&m)),
                Err(e) if e.raw_os_error() == Some(libc::ENOENT) => None,
                Err(e) => return Check::Failed(e),
            },
            (None, Some(file)) => match file.metadata() {
                Ok(m) => Some(FileStat::of(&m)),
                Err(e) => return Check::Failed(e),
            },
            (None, None) => return Check::Failed(io::Error::from_raw_os_error(libc::EBADF)),
        };
        let was = std::mem::replace(&mut self.last, now);
        if !changed(was, now) {
            Check::Unchanged
        } else if self.filename.is_some() {
            // Closed here; whatever it still held was read before its EOF.
            self.file = None;
            Check::Replaced
        } else {
            Check::Reset
        }
    }

    /// Handle mode after a reset: read again from the start.
    pub fn rewind(&mut self) -> io::Result<()> {
        match &mut self.file {
            Some(f) => f.seek(SeekFrom::Start(0)).map(drop),
            None => Ok(()),
        }
    }

    /// The handle's offset; `None` without a file or for one that cannot
    /// seek (a FIFO).
    pub fn tell(&self) -> Option<u64> {
        let mut file: &File = self.file.as_ref()?;
        file.stream_position().ok()
    }
}

/// Skip to where following starts: read from `from` up to `end` (the size
/// when the wheel was built, so what is appended later is reported) and
/// discard the complete records found, leaving a trailing partial record
/// in the filter for later data to complete. Reads one driver block at a
/// time and drops records as they are framed, so memory stays bounded.
pub(super) fn discard_existing(
    file: &mut File,
    driver: &mut SysRw,
    filter: &mut dyn Filter,
    from: u64,
    end: u64,
) -> io::Result<()> {
    /// Filter errors tolerated while discarding (the records are dropped
    /// anyway), so a filter that keeps failing cannot hang construction.
    const MAX_ERRORS: usize = 16;
    let fd = file.as_raw_fd();
    let mut pos = from;
    let mut errors = 0;
    while pos < end {
        let want = usize::try_from(end - pos).unwrap_or(usize::MAX);
        let mut took = 0;
        let outcome = driver.get(fd, |bytes| {
            took = bytes.len().min(want);
            if filter.get_one_start(&bytes[..took]).is_err() {
                errors += 1;
            }
        })?;
        if !matches!(outcome, ReadOutcome::Data(_)) {
            break;
        }
        pos += took as u64;
        while errors < MAX_ERRORS {
            match filter.get_one() {
                Ok(Some(_)) => {}
                Ok(None) => break,
                Err(e) => {
                    log::debug!(target: "poe::wheels", "FollowTail: discarding old input: {e}");
                    errors += 1;
                }
            }
        }
    }
    // A block may have read past `end`: the rest is new, read it later.
    file.seek(SeekFrom::Start(pos)).map(drop)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn start_offsets_follow_poes_seek_rules() {
        assert_eq!(Start::Default.offset(10_000), 10_000 - 4096);
        assert_eq!(Start::Default.offset(100), 0);
        assert_eq!(Start::Seek(0).offset(100), 0);
        assert_eq!(Start::Seek(30).offset(100), 30);
        assert_eq!(Start::Seek(300).offset(100), 100, "past the end: the end");
        assert_eq!(Start::Seek(-30).offset(100), 70);
        assert_eq!(Start::Seek(-300).offset(100), 0, "before the start: 0");
        assert_eq!(Start::SeekBack(0).offset(100), 100);
        assert_eq!(Start::SeekBack(30).offset(100), 70);
        assert_eq!(Start::SeekBack(300).offset(100), 0);
    }

    #[test]
    fn resets_are_new_inodes_links_or_devices_and_shrinking() {
        let base = FileStat {
            dev: 1,
            ino: 2,
            nlink: 1,
            rdev: 0,
            size: 100,
            device: false,
        };
        let with = |f: fn(&mut FileStat)| {
            let mut s = base;
            f(&mut s);
            Some(s)
        };
        assert!(!changed(Some(base), Some(base)));
        assert!(!changed(Some(base), with(|s| s.size = 200)), "growth");
        assert!(changed(Some(base), with(|s| s.size = 99)), "truncation");
        assert!(changed(Some(base), with(|s| s.ino = 3)), "replaced");
        assert!(changed(Some(base), with(|s| s.dev = 3)));
        assert!(changed(Some(base), with(|s| s.nlink = 0)), "unlinked");
        assert!(
            !changed(Some(base), with(|s| s.rdev = 9)),
            "rdev: devices only"
        );
        let dev = FileStat {
            device: true,
            ..base
        };
        assert!(changed(Some(dev), Some(FileStat { rdev: 9, ..dev })));
        assert!(changed(Some(base), None), "vanished");
        assert!(changed(None, Some(base)), "appeared");
        assert!(!changed(None, None), "still missing");
    }
}
