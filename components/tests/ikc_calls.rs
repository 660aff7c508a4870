//! The life of a call with RSVP: it ends exactly once — answered, timed
//! out, or abandoned when its channel closes or IKC shuts down — and
//! leaves no timeout behind to keep the kernel busy.

mod ikc_common;

use ikc_common::{run_guarded, worker};
use poe_components::ikc::{Client, Ikc};
use poe_kernel::{Kernel, Session, Value};
use std::cell::RefCell;
use std::rc::Rc;

type Log = Rc<RefCell<Vec<String>>>;

/// A kernel whose Client connects to the worker on `port` as `boss`;
/// `tester` (aliased `tester`) gets `go` once the channel is up.
fn boss<H: 'static>(port: u16, tester: Session<H>) -> Kernel {
    let kernel = Kernel::new().unwrap();
    Client::builder()
        .ip("127.0.0.1")
        .port(port)
        .name("boss")
        .on_connect(|ctx| ctx.post("tester", "go", ()).unwrap())
        .spawn(&kernel)
        .unwrap();
    let tester = tester.state("_start", |ctx| ctx.alias_set("tester").unwrap());
    kernel.create(tester).unwrap();
    kernel
}

/// `(undef, MESSAGE, WHEN)` at an RSVP state, as one line.
fn failure(ctx: &poe_kernel::Ctx<'_, ()>) -> String {
    format!(
        "{} {:?} {} {}",
        ctx.event(),
        ctx.arg(0),
        ctx.arg(1),
        ctx.arg(2)
    )
}

/// Seconds on the calls' timeouts: longer than the tests take, so only a
/// timeout left pending could make a kernel last that long.
const LONG: f64 = 20.0;

#[test]
fn an_answered_call_cancels_its_timeout_so_the_kernel_ends_at_once() {
    let (port, worker) = worker("worker");
    let log: Log = Rc::default();
    let l = log.clone();
    let answered_at = Rc::new(std::cell::Cell::new(0.0));
    let at = answered_at.clone();
    let tester = Session::new(())
        .state("go", |ctx| {
            Ikc::call_with_timeout(
                ctx,
                "poe://worker/echo/add",
                Value::list([2, 3]),
                "poe:sum",
                LONG,
            )
            .unwrap();
        })
        .state("sum", move |ctx| {
            at.set(ctx.kernel().now());
            let ikc = ctx.kernel().session_info("IKC").unwrap();
            l.borrow_mut().push(format!(
                "sum {}, IKC alarms {}",
                ctx.arg(0),
                ikc.pending_alarms
            ));
            // The worker hangs up; nothing here shuts IKC down: the
            // kernel ends when nothing is left to happen.
            Ikc::post(ctx, "poe://worker/echo/quit", ()).unwrap();
            ctx.alias_remove("tester").unwrap();
        });
    let kernel = boss(port, tester);
    run_guarded(&kernel);
    assert_eq!(*log.borrow(), ["sum 5, IKC alarms 0"]);
    let lingered = kernel.now() - answered_at.get();
    assert!(
        lingered < LONG,
        "the kernel ended {lingered:.1} s after the reply: the timeout outlived the call"
    );
    worker.join().unwrap();
}

#[test]
fn shutdown_ends_every_pending_call_at_once_with_a_shutdown_error() {
    let (port, worker) = worker("worker");
    let log: Log = Rc::default();
    let (l1, l2) = (log.clone(), log.clone());
    let tester = Session::new(())
        .state("go", |ctx| {
            // `nothing` never answers: one call waits for ever, as in
            // Perl; the other would time out.
            Ikc::call(ctx, "poe://worker/echo/nothing", (), "poe:forever").unwrap();
            Ikc::call_with_timeout(ctx, "poe://worker/echo/nothing", (), "poe:bounded", LONG)
                .unwrap();
            Ikc::post(ctx, "poe://worker/echo/quit", ()).unwrap();
            ctx.alias_remove("tester").unwrap();
            let ikc = ctx.alias_resolve("IKC").unwrap();
            Ikc::shutdown(ctx).unwrap();
            let ikc = ctx.kernel().session_info(ikc).unwrap();
            assert_eq!(ikc.pending_alarms, 0, "the timeout went with its call");
        })
        .state("forever", move |ctx| l1.borrow_mut().push(failure(ctx)))
        .state("bounded", move |ctx| l2.borrow_mut().push(failure(ctx)));
    let kernel = boss(port, tester);
    run_guarded(&kernel);
    assert_eq!(
        *log.borrow(),
        [
            "forever undef IKC shut down before the reply came shutdown",
            "bounded undef IKC shut down before the reply came shutdown",
        ],
        "each call heard once, at the shutdown"
    );
    worker.join().unwrap();
}

#[test]
fn a_peer_hanging_up_ends_the_calls_pending_on_its_channel() {
    let (port, worker) = worker("worker");
    let log: Log = Rc::default();
    let (l1, l2, l3) = (log.clone(), log.clone(), log.clone());
    let tester = Session::new(())
        .state("go", |ctx| {
            Ikc::call(ctx, "poe://worker/echo/nothing", (), "poe:forever").unwrap();
            Ikc::call_with_timeout(ctx, "poe://worker/echo/nothing", (), "poe:bounded", LONG)
                .unwrap();
            // The worker shuts its IKC down: it closes our channel.
            Ikc::post(ctx, "poe://worker/echo/quit", ()).unwrap();
        })
        .state("forever", move |ctx| l1.borrow_mut().push(failure(ctx)))
        .state("bounded", move |ctx| {
            l2.borrow_mut().push(failure(ctx));
            let ikc = ctx.kernel().session_info("IKC").unwrap();
            l3.borrow_mut()
                .push(format!("IKC alarms {}", ikc.pending_alarms));
            ctx.alias_remove("tester").unwrap();
            Ikc::shutdown(ctx).unwrap();
        });
    let kernel = boss(port, tester);
    run_guarded(&kernel);
    let log = log.borrow();
    assert_eq!(log.len(), 3, "{log:?}");
    for (line, state) in log.iter().zip(["forever", "bounded"]) {
        let rest = line
            .strip_prefix(&format!("{state} undef The connection to "))
            .unwrap_or_else(|| panic!("{line}"));
        let remote = rest
            .strip_suffix(" closed before the reply came disconnect")
            .unwrap_or_else(|| panic!("{line}"));
        // The worker's kernel ID: <host>-<time>-<pid>-<n>, in this process.
        let pid = format!("-{:08x}-", std::process::id());
        assert!(remote.contains(&pid), "named by its kernel ID: {line}");
    }
    assert_eq!(log[2], "IKC alarms 0");
    worker.join().unwrap();
}

#[test]
fn a_call_to_the_local_kernel_ends_exactly_once_at_its_rsvp() {
    let kernel = Kernel::new().unwrap();
    poe_components::ikc::Server::builder()
        .ip("127.0.0.1")
        .port(0)
        .name("home")
        .spawn(&kernel)
        .unwrap();
    kernel
        .create(
            Session::new(())
                .state("_start", |ctx| ctx.alias_set("adder").unwrap())
                .state("add", |ctx| {
                    let nums = ctx.arg(0).as_list().unwrap_or(&[]).to_vec();
                    let sum: i64 = nums.iter().filter_map(Value::as_i64).sum();
                    Value::from(format!("{sum} in {:?}", Ikc::context()))
                })
                .state("nothing", |_| Value::Undef),
        )
        .unwrap();
    let log: Log = Rc::default();
    let (l1, l2) = (log.clone(), log.clone());
    let tester = Session::new(())
        .state("_start", |ctx| {
            ctx.alias_set("tester").unwrap();
            let reached = [
                Ikc::call(ctx, "poe://home/adder/add", Value::list([2, 3]), "poe:sum"),
                // Undef is no reply, as from a remote kernel: the timeout ends it.
                Ikc::call_with_timeout(ctx, "home/adder/nothing", (), "poe:nothing", 0.1),
                Ikc::call(ctx, "poe://home/adder/missing", (), "poe:missing"),
                // No such session: nothing is pending, as for a post.
                Ikc::call(ctx, "poe://home/nobody/add", (), "poe:sum"),
            ];
            let reached: Vec<usize> = reached.into_iter().map(Result::unwrap).collect();
            assert_eq!(reached, [1, 1, 1, 0]);
        })
        .state("sum", move |ctx| {
            l1.borrow_mut().push(format!("sum {}", ctx.arg(0)));
        })
        .state("missing", move |ctx| {
            let l = failure(ctx);
            l2.borrow_mut().push(l);
        })
        .state("nothing", {
            let l = log.clone();
            move |ctx| {
                let line = failure(ctx);
                l.borrow_mut().push(line);
                Ikc::shutdown(ctx).unwrap();
                ctx.alias_remove("tester").unwrap();
            }
        });
    kernel.create(tester).unwrap();
    run_guarded(&kernel);
    let log = log.borrow();
    assert_eq!(log.len(), 3, "{log:?}");
    assert_eq!(log[0], "sum 5 in Scalar");
    assert!(
        log[1].starts_with("missing undef ") && log[1].ends_with(" local-invocation"),
        "{}",
        log[1]
    );
    assert!(
        log[1].contains("Request poe://home/adder/missing"),
        "{}",
        log[1]
    );
    assert_eq!(
        log[2],
        "nothing undef Timed out waiting for the reply timeout"
    );
}
