//! `IKC/shutdown` with several channels at once, some still negotiating:
//! every one closes and every session stops, on the accepting side and on
//! the connecting side.

mod ikc_common;

use ikc_common::{run_guarded, worker, RawPeer};
use poe_components::ikc::{Client, Ikc, Server};
use poe_kernel::{Kernel, Session, Value};

#[test]
fn shutdown_closes_a_servers_live_and_negotiating_channels_and_its_kernel_ends() {
    let (port, worker) = worker("worker");
    // Accepted first, so they exist once the others are up.
    let mut silent = RawPeer::connect(port);
    let mut halfway = RawPeer::connect(port);
    halfway.send(b"HELLO\r\n");
    assert!(halfway.line().unwrap().starts_with("IAM "));
    let mut live: Vec<RawPeer> = ["a", "b", "c"]
        .iter()
        .map(|name| RawPeer::negotiate(port, name))
        .collect();
    assert_eq!(live[0].call("channels", ()), Value::from(5));
    live[1].send_value(Value::map([("event", "poe://worker/echo/quit")]));
    for (i, peer) in live.iter_mut().enumerate() {
        assert!(peer.closed(), "live channel {i} closed");
    }
    assert!(silent.closed(), "a channel that never negotiated closed");
    assert!(halfway.closed(), "a channel half way through HELLO closed");
    // run() returned: no session is left (the negotiation timeouts of the
    // two unfinished channels went with them).
    worker.join().unwrap();
}

#[test]
fn shutdown_closes_a_kernels_client_channels_and_a_negotiating_one_and_every_session_stops() {
    let (port1, worker1) = worker("worker");
    let (port2, worker2) = worker("worker");
    let kernel = Kernel::new().unwrap();
    let listening = Server::builder()
        .ip("127.0.0.1")
        .port(0)
        .name("boss")
        .spawn(&kernel)
        .unwrap();
    // Connected before the kernel runs: accepted in its first timeslice,
    // long before the Clients' channels are up. It never says a word.
    let mut silent = RawPeer::connect(listening.port());
    for port in [port1, port2] {
        Client::builder()
            .ip("127.0.0.1")
            .port(port)
            .name("boss")
            .on_connect(|ctx| ctx.post("tester", "up", ()).unwrap())
            .spawn(&kernel)
            .unwrap();
    }
    kernel
        .create(
            Session::new(0)
                .state("_start", |ctx| ctx.alias_set("tester").unwrap())
                .state("up", |ctx| {
                    *ctx.heap += 1;
                    if *ctx.heap == 2 {
                        let sessions = ctx.kernel().sessions();
                        let channels = sessions
                            .iter()
                            .filter(|s| s.heap_type.ends_with("::Channel"))
                            .count();
                        assert_eq!(channels, 3, "two up, one negotiating");
                        ctx.alias_remove("tester").unwrap();
                        Ikc::shutdown(ctx).unwrap();
                    }
                }),
        )
        .unwrap();
    run_guarded(&kernel);
    assert!(silent.closed(), "the negotiating channel closed");
    for (port, worker) in [(port1, worker1), (port2, worker2)] {
        // Each worker saw our channel go: only this checker's is left.
        let mut checker = RawPeer::negotiate(port, "checker");
        assert_eq!(checker.call("channels", ()), Value::from(1));
        checker.send_value(Value::map([("event", "poe://worker/echo/quit")]));
        assert!(checker.closed());
        worker.join().unwrap();
    }
}
