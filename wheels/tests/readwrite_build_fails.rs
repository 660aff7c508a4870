//! A ReadWrite whose build fails at the last step (the select watch)
//! leaves nothing behind: no keep-alive holding the session, no states.
//! Its own test binary: it finds the kernel's epoll descriptor in
//! /proc/self/fd, which needs no other kernel in the process.

use poe_kernel::{Kernel, Session};
use poe_wheels::ReadWrite;
use std::cell::RefCell;
use std::fs::File;
use std::os::fd::{FromRawFd, OwnedFd};
use std::rc::Rc;
use std::time::Duration;

/// The process's epoll descriptors.
fn epoll_fds() -> Vec<i32> {
    std::fs::read_dir("/proc/self/fd")
        .unwrap()
        .filter_map(|e| {
            let e = e.ok()?;
            let target = std::fs::read_link(e.path()).ok()?;
            (target.to_str()? == "anon_inode:[eventpoll]")
                .then(|| e.file_name().to_str()?.parse().ok())?
        })
        .collect()
}

#[test]
fn a_build_whose_select_watch_fails_undoes_its_keep_alive_and_states() {
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        let before = epoll_fds();
        let k = Kernel::new().unwrap();
        let mine: Vec<i32> = epoll_fds()
            .into_iter()
            .filter(|fd| !before.contains(fd))
            .collect();
        assert_eq!(mine.len(), 1, "the kernel's epoll descriptor");
        // A duplicate of the kernel's own epoll descriptor: epoll refuses
        // to watch itself (EINVAL), after the wheel added its states and
        // keep-alive.
        // SAFETY: dup of a descriptor open for the whole test; the new one
        // is owned by nobody else.
        let dup = unsafe { libc::fcntl(mine[0], libc::F_DUPFD_CLOEXEC, 0) };
        assert!(dup >= 0);
        let handle = File::from(unsafe { OwnedFd::from_raw_fd(dup) });
        let handle = RefCell::new(Some(handle));
        let seen: Rc<RefCell<Vec<String>>> = Rc::default();
        let s = seen.clone();
        k.create(Session::new(()).state("_start", move |ctx| {
            let built = ReadWrite::builder(handle.borrow_mut().take().unwrap())
                .input_event("input")
                .build(ctx);
            s.borrow_mut().push(format!("built: {}", built.is_ok()));
            // The wheel's ID is the process's first.
            let hidden = ["select read", "select write"]
                .iter()
                .filter(|what| {
                    let name = format!("POE::Wheel::ReadWrite(1) -> {what}");
                    ctx.kernel().has_state(ctx.session(), &name)
                })
                .count();
            s.borrow_mut().push(format!("hidden states left: {hidden}"));
        }))
        .unwrap();
        k.run();
        let _ = tx.send((seen.borrow().clone(), k.session_count()));
    });
    let (seen, sessions) = rx
        .recv_timeout(Duration::from_secs(20))
        .expect("run() did not return: the failed build kept the session");
    assert_eq!(seen, ["built: false", "hidden states left: 0"]);
    assert_eq!(sessions, 0);
}
