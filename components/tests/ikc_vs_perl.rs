//! IKC against Perl: the Perl peer of tests/perl/ikc (POE 1.370 with
//! Filter::Reference and Storable, speaking IKC 0.2402's wire protocol)
//! runs its client scenario against our Server, and serves our Client;
//! its own checks (transcript replay, self-test) run here too, so CI runs
//! them. Skipped with a printed notice when perl, POE or Storable is
//! missing.

mod ikc_common;

use ikc_common::{run_guarded, worker, worker_with};
use poe_components::ikc::negotiation::Protocol;
use poe_components::ikc::{Client, Ikc};
use poe_kernel::{Kernel, Session, Value};
use std::cell::RefCell;
use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Stdio};
use std::rc::Rc;

const PEER: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/../tests/perl/ikc/peer.pl");

/// The Perl peer's own checks (tests/perl/ikc/README.md, Verification).
const PERL_DIR: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/../tests/perl/ikc");

/// The transcript fixture (a copy of shared/ikc-transcript.txt).
const TRANSCRIPT: &str = concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/tests/fixtures/ikc-transcript.txt"
);

fn perl_available(test: &str) -> bool {
    let ok = Command::new("perl")
        .args(["-MPOE", "-MStorable", "-MPOE::Filter::Reference", "-e", "1"])
        .output()
        .is_ok_and(|o| o.status.success());
    if !ok {
        println!("SKIPPED {test}: perl with POE 1.370 and Storable is not installed (apt-get install -y libpoe-perl)");
    }
    ok
}

/// Run `peer.pl client` against our worker on `port`; its stdout.
fn perl_client(port: u16, protocol: &str) -> (bool, String) {
    let out = Command::new("perl")
        .args([
            PEER,
            "client",
            "--port",
            &port.to_string(),
            "--server-name",
            "worker",
        ])
        .args(["--protocol", protocol, "--quit"])
        .output()
        .unwrap();
    (
        out.status.success(),
        String::from_utf8_lossy(&out.stdout).into_owned(),
    )
}

fn assert_scenario_passed(ok: bool, out: &str) {
    assert!(
        ok && out.trim_end().ends_with("DONE 0"),
        "the Perl client's scenario failed:\n{out}"
    );
    for step in [
        "negotiate",
        "ping_sender",
        "ping_reply_to",
        "call_add",
        "store",
        "fetch",
        "range_list",
        "range_scalar",
        "ikc_ping",
        "error_unpublished",
        "error_no_session",
        "nothing",
        "delayed_add",
        "callback_test",
        "query_arg",
        "subscribe",
        "proxy_post",
        "proxy_store",
    ] {
        assert!(
            out.contains(&format!("OK {step}\n")),
            "step {step} missing:\n{out}"
        );
    }
}

#[test]
fn a_perl_ikc_client_runs_its_whole_scenario_against_our_server() {
    if !perl_available("a_perl_ikc_client_runs_its_whole_scenario_against_our_server") {
        return;
    }
    let (port, worker) = worker("worker");
    let (ok, out) = perl_client(port, "IKC0");
    assert_scenario_passed(ok, &out);
    assert_eq!(
        worker.join().unwrap().last().map(String::as_str),
        Some("quit")
    );
}

#[test]
fn a_perl_client_speaking_the_hello_dialogue_is_served_too() {
    if !perl_available("a_perl_client_speaking_the_hello_dialogue_is_served_too") {
        return;
    }
    let (port, worker) = worker_with("worker", |b| b.protocol(Protocol::Ikc));
    let (ok, out) = perl_client(port, "IKC");
    assert_scenario_passed(ok, &out);
    worker.join().unwrap();
}

/// `peer.pl server`, and its port.
fn perl_server(protocol: &str) -> (Child, u16, BufReader<std::process::ChildStdout>) {
    let mut child = Command::new("perl")
        .args([
            PEER,
            "server",
            "--port",
            "0",
            "--name",
            "perlsrv",
            "--protocol",
            protocol,
        ])
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    let mut out = BufReader::new(child.stdout.take().unwrap());
    let mut line = String::new();
    out.read_line(&mut line).unwrap();
    let port = line
        .trim()
        .strip_prefix("READY ")
        .expect("READY <port>")
        .parse()
        .unwrap();
    (child, port, out)
}

type Log = Rc<RefCell<Vec<String>>>;

/// Our Client's scenario against the Perl server, step by step: each
/// expected event logs a line and starts the next step.
fn tester(log: Log) -> Session<u32> {
    let rec = move |ctx: &poe_kernel::Ctx<'_, u32>, what: String| {
        log.borrow_mut().push(what);
        let _ = ctx;
    };
    let r = Rc::new(rec);
    let (r1, r2, r3, r4, r5, r6, r7, r8, r9, r10, r11, r12) = (
        r.clone(),
        r.clone(),
        r.clone(),
        r.clone(),
        r.clone(),
        r.clone(),
        r.clone(),
        r.clone(),
        r.clone(),
        r.clone(),
        r.clone(),
        r.clone(),
    );
    Session::new(0u32)
        .state("_start", |ctx| {
            ctx.alias_set("tester").unwrap();
            Ikc::publish(
                ctx,
                "tester",
                &["pong", "pong2", "double", "doubled", "delayed_sum"],
            )
            .unwrap();
            Ikc::monitor(ctx, "*", &[("error", "remote_error")]).unwrap();
        })
        .state("go", |ctx| {
            Ikc::post(ctx, "poe://perlsrv/echo/ping", "hello-sender").unwrap();
        })
        .state("pong", move |ctx| {
            r1(ctx, format!("pong {:?}", ctx.args.to_vec()));
            *ctx.heap += 1;
            if *ctx.heap == 1 {
                let me = format!("poe://{}/tester/pong2", "boss");
                let params = Value::map([
                    ("reply_to", Value::from(me)),
                    ("token", Value::from("tok1")),
                ]);
                Ikc::post(ctx, "poe://perlsrv/echo/ping", params).unwrap();
            } else {
                // The proxy's ping came back: store through it too.
                ctx.post(
                    "poe://perlsrv/echo",
                    "store",
                    ("a", Value::list([1, 2]), Value::map([("k", "v")])),
                )
                .unwrap();
                // Queued after the proxy's event, so the store goes first.
                ctx.yield_("proxy_fetch", ());
            }
        })
        .state("proxy_fetch", |ctx| {
            Ikc::call(ctx, "poe://perlsrv/echo/fetch", (), "poe:proxy_fetched").unwrap();
        })
        .state("pong2", move |ctx| {
            r2(ctx, format!("pong2 {:?}", ctx.arg(0)));
            Ikc::call(
                ctx,
                "poe://perlsrv/echo/add",
                Value::list([
                    Value::from(1),
                    Value::from(2),
                    Value::from("3.5"),
                    Value::from(40),
                ]),
                "poe:sum",
            )
            .unwrap();
        })
        .state("sum", move |ctx| {
            r3(ctx, format!("sum {}", ctx.arg(0)));
            Ikc::call(ctx, "poe://perlsrv/echo/store", nested(), "poe:stored").unwrap();
        })
        .state("stored", move |ctx| {
            r4(
                ctx,
                format!(
                    "stored {}",
                    if ctx.arg(0) == &nested() {
                        "equal"
                    } else {
                        "DIFFERENT"
                    }
                ),
            );
            Ikc::call(ctx, "poe://perlsrv/echo/fetch", (), "poe:fetched").unwrap();
        })
        .state("fetched", move |ctx| {
            r5(
                ctx,
                format!(
                    "fetched {}",
                    if ctx.arg(0) == &nested() {
                        "equal"
                    } else {
                        "DIFFERENT"
                    }
                ),
            );
            Ikc::call(ctx, "poe://perlsrv/IKC/ping", (), "poe:ponged").unwrap();
        })
        .state("ponged", move |ctx| {
            r6(ctx, format!("ping {}", ctx.arg(0)));
            Ikc::post(ctx, "poe://perlsrv/echo/secret", "x").unwrap();
        })
        .state("remote_error", move |ctx| {
            // (monitor, kernel, is-ID, data, WHEN, MESSAGE): once per name
            // of the kernel, as in Perl; act on the one for its ID.
            if !ctx.arg(2).is_true() {
                return;
            }
            let message = ctx.arg(5).to_string();
            r7(
                ctx,
                format!(
                    "{} {}",
                    ctx.arg(4),
                    message.split(".  ").next().unwrap_or("")
                ),
            );
            if message.contains("'secret'") {
                Ikc::post(ctx, "poe://perlsrv/nosuch/x", "y").unwrap();
            } else {
                Ikc::call_with_timeout(ctx, "poe://perlsrv/echo/nothing", (), "poe:nothing", 0.5)
                    .unwrap();
            }
        })
        .state("nothing", move |ctx| {
            r8(ctx, format!("nothing {:?} {}", ctx.arg(0), ctx.arg(2)));
            let spec = Value::map([
                ("kernel", "boss"),
                ("session", "tester"),
                ("state", "delayed_sum"),
            ]);
            Ikc::post(
                ctx,
                "poe://perlsrv/echo/delayed_add",
                Value::list([Value::list([5, 6, 7]), spec]),
            )
            .unwrap();
        })
        .state("delayed_sum", move |ctx| {
            r9(ctx, format!("delayed_sum {}", ctx.arg(0)));
            let test = Value::map([
                ("call", Value::from("poe://boss/tester/double")),
                ("reply_to", Value::from("poe://boss/tester/doubled")),
                ("value", Value::from(21)),
            ]);
            Ikc::post(ctx, "poe://perlsrv/echo/callback_test", test).unwrap();
        })
        .state("double", |ctx| {
            Value::from(ctx.arg(0).as_i64().unwrap_or(0) * 2)
        })
        .state("doubled", move |ctx| {
            r10(ctx, format!("doubled {}", ctx.arg(0)));
            Ikc::call(
                ctx,
                "poe://perlsrv/echo/store?extra",
                "first",
                "poe:query_arg",
            )
            .unwrap();
        })
        .state("query_arg", move |ctx| {
            r11(ctx, format!("query_arg {:?}", ctx.arg(0)));
            Ikc::subscribe(ctx, &["poe://perlsrv/echo"], "subscribed").unwrap();
        })
        .state("subscribed", |ctx| {
            // Through the proxy, from this publishing session.
            ctx.post("poe://perlsrv/echo", "ping", ("hello-proxy",))
                .unwrap();
        })
        .state("proxy_fetched", move |ctx| {
            r12(ctx, format!("proxy_store {:?}", ctx.arg(0)));
            Ikc::post(ctx, "poe://perlsrv/echo/quit", ()).unwrap();
            ctx.alias_remove("tester").unwrap();
            Ikc::shutdown(ctx).unwrap();
        })
}

/// Data with every kind of value a Perl program sends.
fn nested() -> Value {
    Value::map([
        (
            "list",
            Value::list([
                Value::from(1),
                Value::from("two"),
                Value::Undef,
                Value::list([Value::Undef, Value::from(1)]),
            ]),
        ),
        ("日本", Value::from("café 日本語 😀")),
        (
            "kéy",
            Value::map([("inner", Value::list(Vec::<Value>::new()))]),
        ),
        ("empty", Value::map(Vec::<(&str, Value)>::new())),
        ("ref", Value::Ref(Box::new(Value::from("scalar")))),
        (
            "limits",
            Value::list([i64::from(i32::MAX), i64::from(i32::MIN)]),
        ),
        ("string", Value::from("line\r\nbreak")),
    ])
}

#[test]
fn our_client_talks_to_a_perl_ikc_server() {
    if !perl_available("our_client_talks_to_a_perl_ikc_server") {
        return;
    }
    for protocol in ["IKC0", "IKC"] {
        let (mut child, port, out) = perl_server(protocol);
        let kernel = Kernel::new().unwrap();
        let log: Log = Rc::default();
        Client::builder()
            .ip("127.0.0.1")
            .port(port)
            .name("boss")
            .on_connect(|ctx| ctx.post("tester", "go", ()).unwrap())
            .on_error(|op, errno, msg| panic!("{op} error {errno}: {msg}"))
            .spawn(&kernel)
            .unwrap();
        kernel.create(tester(log.clone())).unwrap();
        run_guarded(&kernel);
        let status = child.wait().unwrap();
        let perl_log: Vec<String> = out.lines().map_while(Result::ok).collect();
        assert!(status.success(), "{perl_log:?}");
        assert_eq!(
            *log.borrow(),
            [
                "pong [\"hello-sender\"]",
                "pong2 {\"pong\": \"tok1\"}",
                "sum 46.5",
                "stored equal",
                "fetched equal",
                "ping PONG",
                "remote-check Session 'echo' has not published state 'secret'",
                "remote-check Session 'nosuch' is not available for remote kernels",
                "nothing undef timeout",
                "delayed_sum 18",
                "doubled 42",
                "query_arg [\"first\", \"extra\"]",
                "pong [\"hello-proxy\"]",
                "proxy_store [\"a\", [1, 2], {\"k\": \"v\"}]",
            ],
            "{protocol}; Perl saw {perl_log:#?}"
        );
        assert!(
            perl_log.iter().any(|l| l.starts_with("GOT echo/add ")),
            "{perl_log:?}"
        );
        assert!(
            !perl_log.iter().any(|l| l.starts_with("GOT echo/secret")),
            "{perl_log:?}"
        );
    }
}

#[test]
fn clientlite_talks_to_a_perl_ikc_server() {
    if !perl_available("clientlite_talks_to_a_perl_ikc_server") {
        return;
    }
    use poe_components::ikc::{ClientLite, LiteError};
    for protocol in ["IKC0", "IKC"] {
        let (mut child, port, _out) = perl_server(protocol);
        let mut lite = ClientLite::builder()
            .host("127.0.0.1")
            .port(port)
            .name("perllite")
            .timeout(std::time::Duration::from_secs(5))
            .connect()
            .unwrap();
        lite.ping().unwrap();
        let sum = lite
            .call(
                "echo/add",
                Value::list([
                    Value::from(1),
                    Value::from(2),
                    Value::from("3.5"),
                    Value::from(40),
                ]),
            )
            .unwrap();
        assert_eq!(sum.as_f64(), Some(46.5), "{protocol}");
        assert_eq!(
            lite.call_list("echo/range", 3).unwrap(),
            vec![Value::from(1), Value::from(2), Value::from(3)],
            "list context"
        );
        assert_eq!(lite.call("echo/range", 3).unwrap(), Value::from(3));
        let data = Value::map([("日本", Value::list([Value::from("語"), Value::Undef]))]);
        assert_eq!(lite.call("echo/store", data.clone()).unwrap(), data);
        assert_eq!(
            lite.post_respond("echo/delayed_add", Value::list([5, 6, 7]))
                .unwrap(),
            Value::from(18)
        );
        match lite.call("echo/secret", ()) {
            Err(LiteError::Remote(e)) => assert!(
                e.message
                    .starts_with("Session 'echo' has not published state 'secret'"),
                "{e:?}"
            ),
            other => panic!("{other:?}"),
        }
        lite.post("echo/quit", ()).unwrap();
        assert!(child.wait().unwrap().success());
    }
}

/// Run one of the Perl peer's checks; its output when it fails.
fn perl_check(program: &str, args: &[&str]) {
    let out = Command::new(program)
        .args(args)
        .current_dir(PERL_DIR)
        .output()
        .unwrap_or_else(|e| panic!("cannot run {program}: {e}"));
    assert!(
        out.status.success(),
        "{args:?} failed ({}):\n{}\n{}",
        out.status,
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
}

/// The Perl peer the other tests trust answers the recorded Perl client
/// bytes (sections A-D) exactly as Perl's IKC::Server did.
#[test]
fn the_perl_peer_replays_the_transcript_as_the_perl_server_answered() {
    if !perl_available("the_perl_peer_replays_the_transcript_as_the_perl_server_answered") {
        return;
    }
    perl_check("perl", &["check_transcript.pl", "--transcript", TRANSCRIPT]);
}

/// The Perl peer against itself: client and server in both dialects,
/// the protocol edge cases of probe.pl, a short benchmark run (the
/// transcript replay is the test above).
#[test]
fn the_perl_peer_passes_its_self_test() {
    if !perl_available("the_perl_peer_passes_its_self_test") {
        return;
    }
    perl_check("sh", &["selftest.sh", "--quick"]);
}
