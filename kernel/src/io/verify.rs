//! The level-trigger check: one `poll(2)` over the descriptors carried from
//! the previous timeslice.

use std::io;
use std::os::fd::RawFd;

/// For each `(fd, mode bits)`, the subset of those modes ready right now.
pub(super) fn still_ready(fds: &[(RawFd, u8)]) -> io::Result<Vec<u8>> {
    let mut pollfds: Vec<libc::pollfd> = fds
        .iter()
        .map(|&(fd, bits)| {
            let mut events = 0;
            if bits & 1 != 0 {
                events |= libc::POLLIN;
            }
            if bits & 2 != 0 {
                events |= libc::POLLOUT;
            }
            if bits & 4 != 0 {
                events |= libc::POLLPRI;
            }
            libc::pollfd {
                fd,
                events,
                revents: 0,
            }
        })
        .collect();
    loop {
        // SAFETY: `pollfds` is a live, correctly sized array of pollfd
        // structs for the duration of the call; timeout 0 never blocks.
        let rc = unsafe { libc::poll(pollfds.as_mut_ptr(), pollfds.len() as libc::nfds_t, 0) };
        if rc >= 0 {
            break;
        }
        let err = io::Error::last_os_error();
        if err.kind() != io::ErrorKind::Interrupted {
            return Err(err);
        }
    }
    Ok(pollfds
        .iter()
        .zip(fds)
        .map(|(p, &(_, asked))| {
            let r = p.revents;
            let failed = r & (libc::POLLERR | libc::POLLHUP | libc::POLLNVAL) != 0;
            let mut bits = 0;
            if r & libc::POLLIN != 0 || failed {
                bits |= 1;
            }
            if r & libc::POLLOUT != 0 || failed {
                bits |= 2;
            }
            if r & libc::POLLPRI != 0 {
                bits |= 4;
            }
            bits & asked
        })
        .collect())
}
