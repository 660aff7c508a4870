//! IKC details: both dialects, UNIX sockets, the Client's subscribe and
//! connect errors, `?NAME`, list context, SENDER without a state,
//! duplicate kernel names, graceful shutdown.

mod ikc_common;

use ikc_common::{run_guarded, worker, worker_with, RawPeer};
use poe_components::ikc::negotiation::Protocol;
use poe_components::ikc::{Client, Server};
use poe_kernel::{Kernel, Session, Value};
use std::cell::RefCell;
use std::rc::Rc;

type Log = Rc<RefCell<Vec<String>>>;

/// Connect a boss with `configure`, call `echo/add`, then quit the
/// worker; returns what happened.
fn add_then_quit(
    configure: impl FnOnce(poe_components::ikc::ClientBuilder) -> poe_components::ikc::ClientBuilder,
) -> Vec<String> {
    let log: Log = Rc::default();
    let kernel = Kernel::new().unwrap();
    let (l1, l2) = (log.clone(), log.clone());
    kernel
        .create(
            Session::new(())
                .state("_start", |ctx| ctx.alias_set("boss").unwrap())
                .state("go", |ctx| {
                    ctx.call(
                        "IKC",
                        "call",
                        ("poe://worker/echo/add", Value::list([20, 22]), "poe:sum"),
                    )
                    .unwrap();
                })
                .state("sum", move |ctx| {
                    l1.borrow_mut().push(format!("sum {}", ctx.arg(0)));
                    ctx.call("IKC", "post", ("poe://worker/echo/quit", ()))
                        .unwrap();
                    ctx.alias_remove("boss").unwrap();
                    ctx.call("IKC", "shutdown", ()).unwrap();
                }),
        )
        .unwrap();
    configure(Client::builder().ip("127.0.0.1").name("boss"))
        .on_connect(|ctx| ctx.post("boss", "go", ()).unwrap())
        .on_error(move |op, errno, msg| l2.borrow_mut().push(format!("error {op} {errno} {msg}")))
        .spawn(&kernel)
        .unwrap();
    run_guarded(&kernel);
    let out = log.borrow().clone();
    out
}

#[test]
fn the_hello_dialogue_works_between_rust_kernels() {
    let (port, worker) = worker_with("worker", |b| b.protocol(Protocol::Ikc));
    assert_eq!(
        add_then_quit(|b| b.port(port).protocol(Protocol::Ikc)),
        ["sum 42"]
    );
    worker.join().unwrap();
}

#[test]
fn an_ikc0_client_falls_back_to_hello_with_an_ikc_only_server() {
    let (port, worker) = worker_with("worker", |b| b.protocol(Protocol::Ikc));
    assert_eq!(add_then_quit(|b| b.port(port)), ["sum 42"]);
    worker.join().unwrap();
}

#[test]
fn unix_domain_sockets_carry_ikc() {
    let path = std::env::temp_dir().join(format!("poe-ikc-{}.sock", std::process::id()));
    let p = path.clone();
    let (tx, rx) = std::sync::mpsc::channel();
    let worker = std::thread::spawn(move || {
        let kernel = Kernel::new().unwrap();
        Server::builder()
            .unix(&p)
            .name("worker")
            .spawn(&kernel)
            .unwrap();
        kernel.create(ikc_common::echo_session()).unwrap();
        tx.send(()).unwrap();
        run_guarded(&kernel);
    });
    rx.recv().unwrap();
    assert_eq!(add_then_quit(|b| b.unix(&path)), ["sum 42"]);
    worker.join().unwrap();
    let _ = std::fs::remove_file(&path);
}

#[test]
fn the_clients_subscribe_parameter_sets_up_proxies_before_on_connect() {
    let (port, worker) = worker("worker");
    let kernel = Kernel::new().unwrap();
    let log: Log = Rc::default();
    let l = log.clone();
    Client::builder()
        .ip("127.0.0.1")
        .port(port)
        .name("boss")
        .subscribe(["poe://worker/echo"])
        .on_connect(|ctx| {
            assert!(
                ctx.alias_resolve("poe://worker/echo").is_some(),
                "the proxy exists already"
            );
            ctx.post("tester", "go", ()).unwrap();
        })
        .spawn(&kernel)
        .unwrap();
    kernel
        .create(
            Session::new(())
                .state("_start", |ctx| {
                    ctx.alias_set("tester").unwrap();
                    ctx.call("IKC", "publish", ("tester", Value::list(["pong"])))
                        .unwrap();
                })
                .state("go", |ctx| {
                    // Posted from a publishing session, so the worker's
                    // answer to SENDER finds its way back here.
                    ctx.post("poe://worker/echo", "ping", ("through the proxy",))
                        .unwrap();
                })
                .state("pong", move |ctx| {
                    l.borrow_mut().push(format!("pong {}", ctx.arg(0)));
                    ctx.call("IKC", "post", ("poe://worker/echo/quit", ()))
                        .unwrap();
                    ctx.alias_remove("tester").unwrap();
                    ctx.call("IKC", "shutdown", ()).unwrap();
                }),
        )
        .unwrap();
    run_guarded(&kernel);
    assert_eq!(*log.borrow(), ["pong through the proxy"]);
    assert_eq!(
        worker.join().unwrap(),
        ["ping \"through the proxy\"", "quit"]
    );
}

#[test]
fn a_refused_subscription_is_an_error_and_on_connect_never_runs() {
    let (port, worker) = worker("worker");
    let errors = add_then_quit_expecting_error(port);
    assert_eq!(
        errors,
        ["error subscribe 0 Unable to subscribe to poe://worker/nosuch"]
    );
    // Nobody told the worker to quit: stop it from here.
    still_quit(port);
    worker.join().unwrap();
}

fn add_then_quit_expecting_error(port: u16) -> Vec<String> {
    let log: Log = Rc::default();
    let l = log.clone();
    let kernel = Kernel::new().unwrap();
    Client::builder()
        .ip("127.0.0.1")
        .port(port)
        .subscribe(["poe://worker/nosuch"])
        .on_connect(|_| panic!("on_connect must not run"))
        .on_error(move |op, errno, msg| l.borrow_mut().push(format!("error {op} {errno} {msg}")))
        .spawn(&kernel)
        .unwrap();
    run_guarded(&kernel);
    let out = log.borrow().clone();
    out
}

fn still_quit(port: u16) {
    let mut peer = RawPeer::negotiate(port, "quitter");
    peer.send_value(Value::map([("event", "poe://worker/echo/quit")]));
    assert!(peer.closed());
}

#[test]
fn connect_errors_reach_on_error() {
    // A port nobody listens on.
    let free = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = free.local_addr().unwrap().port();
    drop(free);
    let errors = add_then_quit(|b| b.port(port));
    assert_eq!(errors.len(), 1);
    assert!(
        errors[0].starts_with(&format!("error connect {} ", libc::ECONNREFUSED)),
        "{errors:?}"
    );
}

#[test]
fn the_connect_timeout_gives_up_on_a_server_that_never_answers() {
    // A listener whose backlog is full: a new connect stays pending.
    let socket = socket2::Socket::new(socket2::Domain::IPV4, socket2::Type::STREAM, None).unwrap();
    socket
        .bind(
            &"127.0.0.1:0"
                .parse::<std::net::SocketAddr>()
                .unwrap()
                .into(),
        )
        .unwrap();
    socket.listen(0).unwrap();
    let port = socket.local_addr().unwrap().as_socket().unwrap().port();
    let mut fillers = Vec::new();
    for _ in 0..8 {
        let s = socket2::Socket::new(socket2::Domain::IPV4, socket2::Type::STREAM, None).unwrap();
        s.set_nonblocking(true).unwrap();
        let _ = s.connect(
            &"127.0.0.1"
                .parse::<std::net::IpAddr>()
                .map(|ip| std::net::SocketAddr::new(ip, port))
                .unwrap()
                .into(),
        );
        fillers.push(s);
    }
    let errors = add_then_quit(|b| b.port(port).connect_timeout(0.3));
    assert_eq!(
        errors,
        [format!(
            "error connect {} Connection timed out",
            libc::ETIMEDOUT
        )]
    );
}

#[test]
fn name_arguments_and_list_context_follow_perl() {
    let (port, worker) = worker("worker");
    let mut peer = RawPeer::negotiate(port, "raw");
    // ?NAME appends NAME to the arguments.
    peer.send_value(Value::map([
        ("event", Value::from("poe://worker/echo/args?extra")),
        ("params", Value::from("first")),
    ]));
    // wantarray: the reply is the list; an empty list gets no reply.
    let call = |event: &str, params: Value, state: &str, wantarray: bool| {
        let mut m = vec![
            ("event", Value::from(event)),
            ("params", params),
            (
                "rsvp",
                Value::map([("kernel", "raw"), ("session", "s"), ("state", state)]),
            ),
        ];
        if wantarray {
            m.push(("wantarray", Value::from("1")));
        }
        Value::map(m)
    };
    peer.send_value(call(
        "poe://worker/echo/range",
        Value::from(3),
        "list",
        true,
    ));
    let reply = peer.frame().unwrap();
    assert_eq!(reply.get("params"), Some(&Value::list([1, 2, 3])));
    peer.send_value(call(
        "poe://worker/echo/range",
        Value::from(3),
        "scalar",
        false,
    ));
    let reply = peer.frame().unwrap();
    assert_eq!(reply.get("params"), Some(&Value::from(3)), "scalar context");
    peer.send_value(call(
        "poe://worker/echo/range",
        Value::from(0),
        "none",
        true,
    ));
    peer.send_value(call(
        "poe://worker/echo/add",
        Value::list([1]),
        "after",
        false,
    ));
    let reply = peer.frame().unwrap();
    assert_eq!(
        reply.get("event").and_then(|e| e.get("state")),
        Some(&Value::from("after")),
        "the empty list was not answered"
    );
    // SENDER without a state (ClientLite's from): the event is the state.
    peer.send_value(Value::map([
        ("event", Value::from("poe://worker/echo/ping")),
        ("params", Value::from("lite")),
        (
            "from",
            Value::map([("kernel", "raw"), ("session", "IKCLite")]),
        ),
    ]));
    let back = peer.frame().unwrap();
    assert_eq!(
        back.get("event"),
        Some(&Value::map([
            ("kernel", "raw"),
            ("session", "IKCLite"),
            ("state", "pong")
        ]))
    );
    assert_eq!(back.get("params"), Some(&Value::list(["lite"])));
    assert_eq!(
        back.get("from").and_then(|f| f.get("session")),
        Some(&Value::from("echo"))
    );
    peer.send_value(Value::map([("event", "poe://worker/echo/quit")]));
    assert!(peer.closed());
    let seen = worker.join().unwrap();
    assert_eq!(seen[0], "args [\"first\", \"extra\"]");
}

#[test]
fn a_second_connection_with_the_same_kernel_id_is_refused() {
    let (port, worker) = worker("worker");
    let mut first = RawPeer::negotiate(port, "twin");
    let mut second = RawPeer::negotiate(port, "twin");
    assert!(
        second.closed(),
        "the second twin is closed after negotiating"
    );
    peer_still_works(&mut first);
    first.send_value(Value::map([("event", "poe://worker/echo/quit")]));
    assert!(first.closed());
    worker.join().unwrap();
}

fn peer_still_works(peer: &mut RawPeer) {
    peer.send_value(Value::map([
        ("event", Value::from("poe://worker/echo/add")),
        ("params", Value::list([1, 1])),
        (
            "rsvp",
            Value::map([("kernel", "twin"), ("session", "s"), ("state", "sum")]),
        ),
    ]));
    assert_eq!(
        peer.frame().unwrap().get("params").and_then(Value::as_f64),
        Some(2.0)
    );
}

#[test]
fn shutdown_flushes_what_was_sent_before_closing() {
    let (port, worker) = worker("worker");
    let mut peer = RawPeer::negotiate(port, "reader");
    let size = 4 * 1024 * 1024;
    peer.send_value(Value::map([
        ("event", Value::from("poe://worker/echo/big")),
        ("params", Value::from(size as i64)),
        (
            "rsvp",
            Value::map([("kernel", "reader"), ("session", "s"), ("state", "big")]),
        ),
    ]));
    let reply = peer.frame().expect("the whole reply before the close");
    assert_eq!(
        reply
            .get("params")
            .and_then(Value::as_bytes)
            .map(<[u8]>::len),
        Some(size)
    );
    assert!(peer.closed());
    worker.join().unwrap();
}

#[test]
fn a_first_frame_sent_with_the_setup_line_is_not_lost() {
    let (port, worker) = worker("worker");
    let mut peer = RawPeer::connect(port);
    let mut bytes = b"SETUP KERNEL=eager;FREEZER=Storable;PID=1\r\n".to_vec();
    let mut frame = Vec::new();
    poe_filters::Filter::put(
        &mut poe_filters::Reference::new(),
        Value::map([
            ("event", Value::from("poe://worker/echo/add")),
            ("params", Value::list([40, 2])),
            (
                "rsvp",
                Value::map([("kernel", "eager"), ("session", "s"), ("state", "sum")]),
            ),
        ]),
        &mut frame,
    )
    .unwrap();
    bytes.extend(frame);
    peer.send(&bytes); // one write: the line and the frame together
    assert!(peer.line().unwrap().starts_with("SETUP KERNEL="));
    assert_eq!(peer.frame().unwrap().get("params"), Some(&Value::from(42)));
    peer.send_value(Value::map([("event", "poe://worker/echo/quit")]));
    assert!(peer.closed());
    worker.join().unwrap();
}

#[test]
fn server_aliases_name_the_kernel_and_retract_withdraws_states() {
    let (port, worker) = worker_with("worker", |b| b.aliases(["jobs-box", "backup"]));
    let mut peer = RawPeer::connect(port);
    peer.send(b"SETUP KERNEL=probe;FREEZER=Storable;PID=1\r\n");
    let setup = peer.line().unwrap();
    assert!(
        setup.contains(",worker,jobs-box,backup,127.0.0.1:"),
        "{setup}"
    );
    let call = |state: &str| {
        Value::map([
            ("event", Value::from(format!("poe://backup/echo/{state}"))),
            ("params", Value::list([1, 1])),
            (
                "rsvp",
                Value::map([("kernel", "probe"), ("session", "s"), ("state", "r")]),
            ),
        ])
    };
    peer.send_value(call("add"));
    assert_eq!(peer.frame().unwrap().get("params"), Some(&Value::from(2)));
    // The worker retracts `add` when asked (a published helper state).
    peer.send_value(Value::map([(
        "event",
        Value::from("poe://worker/echo/retract_add"),
    )]));
    peer.send_value(call("add"));
    let refused = peer.frame().unwrap();
    assert_eq!(
        refused.get("is_error"),
        Some(&Value::from(1)),
        "{refused:?}"
    );
    assert!(refused.get("params").and_then(Value::as_list).unwrap()[0]
        .to_string()
        .starts_with("Session 'echo' has not published state 'add'"));
    peer.send_value(Value::map([("event", "poe://worker/echo/quit")]));
    assert!(peer.closed());
    worker.join().unwrap();
}

#[test]
fn monitors_hear_subscribe_unsubscribe_and_shutdown() {
    let (port, worker) = worker("worker");
    let kernel = Kernel::new().unwrap();
    let log: Log = Rc::default();
    let (l1, l2, l3) = (log.clone(), log.clone(), log.clone());
    Client::builder()
        .ip("127.0.0.1")
        .port(port)
        .name("boss")
        .on_connect(|ctx| ctx.post("watcher", "go", ()).unwrap())
        .spawn(&kernel)
        .unwrap();
    kernel
        .create(
            Session::new(())
                .state("_start", |ctx| {
                    ctx.alias_set("watcher").unwrap();
                    let events = [
                        ("subscribe", "heard_subscribe"),
                        ("unsubscribe", "heard_unsubscribe"),
                        ("shutdown", "heard_shutdown"),
                    ];
                    poe_components::ikc::Ikc::monitor(ctx, "*", &events).unwrap();
                })
                .state("go", |ctx| {
                    poe_components::ikc::Ikc::subscribe(ctx, &["poe://worker/echo"], "subscribed")
                        .unwrap();
                })
                .state("subscribed", |ctx| {
                    assert!(ctx.alias_resolve("poe://worker/echo").is_some());
                    ctx.call("IKC", "unsubscribe", (Value::list(["poe://worker/echo"]),))
                        .unwrap();
                    assert!(
                        ctx.alias_resolve("poe://worker/echo").is_none(),
                        "the proxy is gone"
                    );
                    poe_components::ikc::Ikc::post(ctx, "poe://worker/echo/quit", ()).unwrap();
                    ctx.alias_remove("watcher").unwrap();
                    poe_components::ikc::Ikc::shutdown(ctx).unwrap();
                })
                .state("heard_subscribe", move |ctx| heard(ctx, &l1))
                .state("heard_unsubscribe", move |ctx| heard(ctx, &l2))
                .state("heard_shutdown", move |ctx| heard(ctx, &l3)),
        )
        .unwrap();
    run_guarded(&kernel);
    let spec = r#"{"kernel": "worker", "session": "echo", "state": ""}"#;
    assert_eq!(
        *log.borrow(),
        [
            format!("heard_subscribe {spec}"),
            format!("heard_unsubscribe {spec}"),
            "heard_shutdown ".to_owned()
        ],
        "subscribe (with the spec), unsubscribe, shutdown: once each"
    );
    worker.join().unwrap();
}

/// A monitor callback: `(monitor name, kernel, is-ID, data, extra...)`,
/// logged once per event (for the kernel's ID, or `*` for shutdown) as
/// `<state> <extra>`.
fn heard(ctx: &mut poe_kernel::Ctx<'_, ()>, log: &Log) {
    if ctx.arg(2).is_true() || ctx.arg(1).to_string() == "*" {
        log.borrow_mut()
            .push(format!("{} {}", ctx.event(), ctx.arg(4)));
    }
}

#[test]
fn the_server_keeps_listening_after_running_out_of_descriptors_on_accept() {
    let (tx, rx) = std::sync::mpsc::channel();
    let worker = std::thread::spawn(move || {
        let kernel = Kernel::new().unwrap();
        let errors: Rc<RefCell<Vec<String>>> = Rc::default();
        let e = errors.clone();
        let server = Server::builder()
            .ip("127.0.0.1")
            .port(0)
            .name("worker")
            .on_error(move |op, errno, _| e.borrow_mut().push(format!("{op} {errno}")))
            .spawn(&kernel)
            .unwrap();
        kernel.create(ikc_common::echo_session()).unwrap();
        // What the listener's SocketFactory reports when accept runs out
        // of descriptors (wheels/tests/accept_emfile.rs provokes it).
        let text = std::io::Error::from_raw_os_error(libc::EMFILE).to_string();
        kernel
            .call(
                server.id,
                "tcp_server_got_error",
                ("accept", libc::EMFILE as i64, text, 0),
            )
            .unwrap();
        tx.send(server.port()).unwrap();
        run_guarded(&kernel);
        errors.take()
    });
    let port = rx.recv().unwrap();
    let mut peer = RawPeer::negotiate(port, "late");
    assert_eq!(peer.call("channels", ()), Value::from(1));
    peer.send_value(Value::map([("event", "poe://worker/echo/quit")]));
    assert!(peer.closed());
    assert_eq!(worker.join().unwrap(), [format!("accept {}", libc::EMFILE)]);
}
