//! Accepting survives running out of descriptors: the listener reports the
//! error, backs off instead of spinning, and accepts again once descriptors
//! free up. (Its own test binary: it lowers the process's descriptor limit.)

use poe_kernel::{Kernel, Session};
use poe_wheels::SocketFactory;
use socket2::Socket;
use std::cell::{Cell, RefCell};
use std::fs::File;
use std::net::TcpStream;
use std::rc::Rc;

fn lower_fd_limit(to: u64) {
    let limit = libc::rlimit {
        rlim_cur: to,
        rlim_max: to.max(4096),
    };
    // SAFETY: a valid rlimit struct passed by reference for the duration of
    // the call; lowering the soft limit is always permitted.
    let rc = unsafe { libc::setrlimit(libc::RLIMIT_NOFILE, &limit) };
    assert_eq!(rc, 0, "setrlimit: {}", std::io::Error::last_os_error());
}

#[test]
fn accept_backs_off_on_emfile_and_keeps_listening() {
    lower_fd_limit(256);
    let kernel = Kernel::new().unwrap();
    let port = Rc::new(Cell::new(0u16));
    let accepted = Rc::new(Cell::new(0u32));
    let failures = Rc::new(Cell::new(0u32));
    let hog: Rc<RefCell<Vec<File>>> = Rc::default();
    let (p, a, f, h) = (
        port.clone(),
        accepted.clone(),
        failures.clone(),
        hog.clone(),
    );
    kernel
        .create(
            Session::new(None::<SocketFactory>)
                .state("_start", move |ctx| {
                    let w = SocketFactory::builder()
                        .bind_address("127.0.0.1")
                        .bind_port(0u16)
                        .success_event("accepted")
                        .failure_event("failed")
                        .build(ctx)
                        .unwrap();
                    p.set(w.local_addr().unwrap().port());
                    *ctx.heap = Some(w);
                })
                .state("accepted", move |ctx| {
                    drop(ctx.arg(0).take_local::<Socket>());
                    a.set(a.get() + 1);
                    if a.get() == 3 {
                        *ctx.heap = None; // done: stop listening
                    }
                })
                .state("failed", move |ctx| {
                    assert_eq!(ctx.arg(0).as_str(), Some("accept"));
                    assert_eq!(ctx.arg(1).as_i64(), Some(libc::EMFILE as i64));
                    f.set(f.get() + 1);
                    // Free the descriptors: the retry after the backoff can
                    // accept. The listener must still be there.
                    assert!(ctx.heap.is_some());
                    h.borrow_mut().clear();
                }),
        )
        .unwrap();

    // Three clients wait in the backlog (the handshake needs no accept).
    let clients: Vec<TcpStream> = (0..3)
        .map(|_| TcpStream::connect(("127.0.0.1", port.get())).unwrap())
        .collect();
    // Use up every descriptor.
    loop {
        match File::open("/dev/null") {
            Ok(file) => hog.borrow_mut().push(file),
            Err(e) => {
                assert_eq!(e.raw_os_error(), Some(libc::EMFILE));
                break;
            }
        }
    }
    kernel.run();
    drop(clients);
    assert_eq!(
        accepted.get(),
        3,
        "every waiting client accepted after the backoff"
    );
    // One failure, then a pause: not a failure per timeslice.
    assert_eq!(failures.get(), 1);
}
