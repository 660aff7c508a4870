//! Raw descriptors as the kernel's select calls take them, and making one
//! non-blocking.

use std::os::fd::{AsRawFd, RawFd};

/// A raw descriptor as `AsRawFd`, for kernel calls about a descriptor the
/// wheel holds only by number, or no longer (or not yet) owns as an object.
pub(crate) struct Fd(pub RawFd);

impl AsRawFd for Fd {
    fn as_raw_fd(&self) -> RawFd {
        self.0
    }
}

/// Set `O_NONBLOCK` on `fd` (nothing to do if it is set). Only for
/// descriptors the wheel uses before any select watch on them: the
/// kernel's `select_watch` makes a descriptor non-blocking itself.
pub(crate) fn set_nonblocking(fd: RawFd) -> std::io::Result<()> {
    // SAFETY: fcntl on a descriptor the wheel owns; an invalid one gives
    // EBADF, which we return. No memory is passed.
    let flags = unsafe { libc::fcntl(fd, libc::F_GETFL) };
    if flags < 0 {
        return Err(std::io::Error::last_os_error());
    }
    if flags & libc::O_NONBLOCK == 0 {
        // SAFETY: as above; only sets a flag on the descriptor.
        if unsafe { libc::fcntl(fd, libc::F_SETFL, flags | libc::O_NONBLOCK) } < 0 {
            return Err(std::io::Error::last_os_error());
        }
    }
    Ok(())
}
