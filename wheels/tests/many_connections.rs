//! A thousand connections echoing at once through one server session.
//! (Its own test binary: it raises the process's descriptor limit.)

mod common;

use common::*;
use poe_filters::{Filter, Line};
use poe_kernel::Kernel;

fn raise_fd_limit(want: u64) {
    let mut lim = libc::rlimit {
        rlim_cur: 0,
        rlim_max: 0,
    };
    // SAFETY: valid pointers to an rlimit for the duration of each call.
    unsafe {
        assert_eq!(libc::getrlimit(libc::RLIMIT_NOFILE, &mut lim), 0);
        lim.rlim_cur = lim.rlim_max.min(want.max(lim.rlim_cur));
        assert_eq!(libc::setrlimit(libc::RLIMIT_NOFILE, &lim), 0);
    }
    assert!(
        lim.rlim_cur >= want,
        "need {want} descriptors, hard limit is {}",
        lim.rlim_max
    );
}

fn line() -> Box<dyn Filter> {
    Box::new(Line::new())
}

#[test]
fn a_thousand_concurrent_connections_echo_every_line() {
    const CLIENTS: usize = 1000;
    const LINES: usize = 20;
    raise_fd_limit(2 * CLIENTS as u64 + 64);
    let k = Kernel::new().unwrap();
    let (_, port) = echo_server(&k, Listen::Tcp("127.0.0.1"), CLIENTS, line);
    let sent: Vec<Vec<String>> = (0..CLIENTS)
        .map(|c| {
            (0..LINES)
                .map(|i| format!("client {c} line {i} 0123456789"))
                .collect()
        })
        .collect();
    let logs: Vec<Log> = sent
        .iter()
        .map(|l| echo_client(&k, port, l.clone()))
        .collect();
    k.run();
    for (log, want) in logs.iter().zip(&sent) {
        assert_eq!(&*log.borrow(), want);
    }
    assert_eq!(k.session_count(), 0);
}
