//! Real OS signals and child processes. Signals are process-wide, so the
//! tests of this file run one at a time.

use poe_kernel::*;
use std::cell::RefCell;
use std::process::Command;
use std::rc::Rc;
use std::sync::Mutex;

static ONE_AT_A_TIME: Mutex<()> = Mutex::new(());

fn serial() -> std::sync::MutexGuard<'static, ()> {
    ONE_AT_A_TIME.lock().unwrap_or_else(|e| e.into_inner())
}

type Log = Rc<RefCell<Vec<String>>>;

/// Send `signo` to this process with kill(2). Any thread may take it;
/// the sessions watching it stay alive (an alarm) until it is handled, so
/// its handler is installed whenever it lands.
fn send(signo: libc::c_int) {
    // SAFETY: kill(2) on our own PID with a signal a session handles.
    assert_eq!(unsafe { libc::kill(libc::getpid(), signo) }, 0);
}

/// The current disposition's handler of `signo`.
fn disposition(signo: libc::c_int) -> libc::sighandler_t {
    // SAFETY: reading the current action into a zeroed struct.
    unsafe {
        let mut old: libc::sigaction = std::mem::zeroed();
        libc::sigaction(signo, std::ptr::null(), &mut old);
        old.sa_sigaction
    }
}

/// A session `name` watching `signal`, with `children` created from its
/// `_start`; it handles the signal when `handle` is set. An alarm keeps
/// it (and the kernel, which would otherwise be idle) alive until `done`:
/// a program that only waits for signals gets IDLE and ends, as in POE.
fn watcher(
    log: &Log,
    name: &'static str,
    signal: &'static str,
    handle: bool,
    children: Vec<Session<()>>,
) -> Session<()> {
    let (l1, l2) = (log.clone(), log.clone());
    let kids = RefCell::new(children);
    Session::new(())
        .state("_start", move |ctx| {
            ctx.alias_set(name).unwrap();
            ctx.sig(signal, "got", ()).unwrap();
            ctx.delay("keepalive", 60.0, ()).unwrap();
            for k in kids.borrow_mut().drain(..) {
                ctx.create(k).unwrap();
            }
        })
        .state("got", move |ctx| {
            l1.borrow_mut().push(format!("{name} got {}", ctx.arg(0)));
            if handle {
                ctx.sig_handled();
            }
        })
        .state("done", |ctx| {
            let me = ctx.alias_list(ctx.session()).unwrap();
            ctx.alias_remove(&me[0]).unwrap();
            ctx.sig_remove("USR1").unwrap();
            ctx.alarm_remove_all().unwrap();
        })
        .state("_stop", move |_| {
            l2.borrow_mut().push(format!("{name} stop"))
        })
}

#[test]
fn sigusr1_from_kill_reaches_every_watching_session_deepest_first() {
    let _one = serial();
    let k = Kernel::new().unwrap();
    let log: Log = Rc::default();
    let child = watcher(&log, "child", "USR1", false, vec![]);
    k.create(watcher(&log, "parent", "USR1", false, vec![child]))
        .unwrap();
    k.create(watcher(&log, "other", "USR1", false, vec![]))
        .unwrap();
    k.create(Session::new(()).state("_start", |_| send(libc::SIGUSR1)))
        .unwrap();
    // Run until the signal has been dispatched (it arrives through the
    // loop's own wake-up), then release everyone.
    k.run_while({
        let log = log.clone();
        move || log.borrow().len() < 3
    });
    for name in ["parent", "child", "other"] {
        k.post(name, "done", ()).unwrap();
    }
    k.run();
    let log = log.borrow();
    // A signal to the kernel walks the session tree breadth-first from the
    // top, backwards: the deepest level first, then the top-level sessions
    // (last created first; Perl's order there is its hash order).
    assert_eq!(
        log[..3],
        ["child got USR1", "other got USR1", "parent got USR1"]
    );
    assert_eq!(log.len(), 6, "{log:?}");
}

#[test]
fn an_unhandled_sigint_stops_every_session_and_run_returns() {
    let _one = serial();
    let k = Kernel::new().unwrap();
    let log: Log = Rc::default();
    let l = log.clone();
    k.create(watcher(&log, "watcher", "INT", false, vec![]))
        .unwrap();
    k.create(
        Session::new(())
            .state("_start", |ctx| {
                ctx.alias_set("bystander").unwrap();
                send(libc::SIGINT);
            })
            .state("_stop", move |_| {
                l.borrow_mut().push("bystander stop".into())
            }),
    )
    .unwrap();
    k.run(); // returns: everyone stopped, the process was not killed
    let log = log.borrow();
    assert_eq!(log[0], "watcher got INT");
    assert!(
        log.contains(&"watcher stop".to_owned()) && log.contains(&"bystander stop".to_owned()),
        "{log:?}"
    );
}

#[test]
fn handlers_come_and_go_with_their_watchers_and_dropping_the_kernel_restores_them() {
    let _one = serial();
    let before_int = disposition(libc::SIGINT);
    let before_pipe = disposition(libc::SIGPIPE);
    {
        let k = Kernel::new().unwrap();
        assert_eq!(
            disposition(libc::SIGPIPE),
            libc::SIG_IGN,
            "SIGPIPE is ignored while a kernel lives"
        );
        assert_eq!(
            disposition(libc::SIGINT),
            before_int,
            "no handler until a session watches INT"
        );
        let seen = Rc::new(RefCell::new(None));
        let s = seen.clone();
        k.create(Session::new(()).state("_start", move |ctx| {
            ctx.sig("INT", "int", ()).unwrap();
            *s.borrow_mut() = Some(disposition(libc::SIGINT));
        }))
        .unwrap();
        let installed = seen.borrow_mut().take().unwrap();
        assert_ne!(installed, before_int, "a handler while watched");
        k.run(); // IDLE ends the session; its watcher goes with it
        assert_eq!(
            disposition(libc::SIGINT),
            before_int,
            "restored when nobody watches"
        );
    }
    assert_eq!(
        disposition(libc::SIGPIPE),
        before_pipe,
        "restored when the kernel is dropped"
    );
}

#[test]
// The kernel reaps these children (sig_child), not the Child handles.
#[allow(clippy::zombie_processes)]
fn sig_child_reports_each_child_once_with_its_wait_status_and_holds_the_session() {
    let _one = serial();
    let k = Kernel::new().unwrap();
    let log: Log = Rc::default();
    let (l1, l2) = (log.clone(), log.clone());
    k.create(
        Session::new(0u32)
            .state("_start", |ctx| {
                ctx.sig("CHLD", "chld", ()).unwrap();
                for code in [0, 3, 7] {
                    let child = Command::new("sh")
                        .args(["-c", &format!("exit {code}")])
                        .spawn()
                        .unwrap();
                    ctx.sig_child(child.id(), "exited", (code,)).unwrap();
                }
                // Nothing else holds this session: the three watches do.
            })
            .state("exited", move |ctx| {
                let status = ctx.arg(2).as_i64().unwrap();
                assert_eq!(ctx.sender(), SessionId::KERNEL);
                assert_eq!(ctx.arg(0), &Value::from("CHLD"));
                l1.borrow_mut()
                    .push(format!("exited code={} status={status}", ctx.arg(3)));
                *ctx.heap += 1;
            })
            .state("chld", move |ctx| {
                l2.borrow_mut().push(format!("CHLD status={}", ctx.arg(2)));
            }),
    )
    .unwrap();
    k.run();
    let mut log = log.borrow().clone();
    log.sort();
    assert_eq!(
        log,
        [
            "CHLD status=0",
            "CHLD status=1792",
            "CHLD status=768",
            "exited code=0 status=0",
            "exited code=3 status=768",
            "exited code=7 status=1792",
        ]
    );
}

#[test]
// The kernel reaps these children (sig_child), not the Child handles.
#[allow(clippy::zombie_processes)]
fn a_hundred_children_are_each_reaped_once() {
    let _one = serial();
    let k = Kernel::new().unwrap();
    let reaped: Rc<RefCell<Vec<u32>>> = Rc::default();
    let r = reaped.clone();
    let spawned: Rc<RefCell<Vec<u32>>> = Rc::default();
    let s = spawned.clone();
    k.create(
        Session::new(())
            .state("_start", move |ctx| {
                for _ in 0..100 {
                    let child = Command::new("true").spawn().unwrap();
                    s.borrow_mut().push(child.id());
                    ctx.sig_child(child.id(), "reaped", ()).unwrap();
                }
            })
            .state("reaped", move |ctx| {
                r.borrow_mut().push(ctx.arg(1).as_i64().unwrap() as u32);
            }),
    )
    .unwrap();
    k.run();
    let mut got = reaped.borrow().clone();
    got.sort();
    let mut want = spawned.borrow().clone();
    want.sort();
    assert_eq!(got, want);
}

#[test]
fn sig_child_for_a_process_that_is_not_a_child_holds_nothing() {
    let _one = serial();
    let k = Kernel::new().unwrap();
    let log: Log = Rc::default();
    let l = log.clone();
    k.create(
        Session::new(())
            .state("_start", |ctx| ctx.sig_child(1, "never", ()).unwrap())
            .state("never", |_| -> Value { panic!("init is not our child") })
            .state("_stop", move |_| l.borrow_mut().push("stopped".into())),
    )
    .unwrap();
    k.run();
    assert_eq!(*log.borrow(), ["stopped"]);
}

#[test]
// The kernel reaps these children (sig_child), not the Child handles.
#[allow(clippy::zombie_processes)]
fn watched_children_keep_their_events_while_chld_reaps_everything_else() {
    // With CHLD watched the kernel also reaps with waitpid(-1); a watched
    // child that exits between the per-PID checks and that sweep must
    // still get its sig_child event (and release its session). Sleepers
    // make each pass over the watches long; short children, spawned one
    // per event, exit at every point of it.
    const SLEEPERS: usize = 200;
    const SHORT: usize = 400;
    let _one = serial();
    let k = Kernel::new().unwrap();
    let reaped: Rc<RefCell<Vec<u32>>> = Rc::default();
    let spawned: Rc<RefCell<Vec<u32>>> = Rc::default();
    let sleepers: Rc<RefCell<Vec<u32>>> = Rc::default();
    let timed_out = Rc::new(RefCell::new(false));
    let t = timed_out.clone();
    k.create(
        Session::new(())
            .state("_start", |ctx| {
                ctx.alias_set("watchdog").unwrap();
                ctx.delay("expired", 20.0, ()).unwrap();
            })
            .state("expired", move |ctx| {
                *t.borrow_mut() = true;
                ctx.stop();
            })
            .state("all_reaped", |ctx| {
                ctx.alarm_remove_all().unwrap();
                ctx.alias_remove("watchdog").unwrap();
            }),
    )
    .unwrap();
    let (s, r) = (spawned.clone(), reaped.clone());
    let (z1, z2) = (sleepers.clone(), sleepers.clone());
    k.create(
        Session::new(0usize)
            .state("_start", move |ctx| {
                ctx.sig("CHLD", "chld", ()).unwrap();
                for _ in 0..SLEEPERS {
                    let child = Command::new("sleep").arg("30").spawn().unwrap();
                    z1.borrow_mut().push(child.id());
                    ctx.sig_child(child.id(), "reaped", ()).unwrap();
                }
                ctx.yield_("spawn", ());
            })
            .state("spawn", move |ctx| {
                let child = Command::new("true").spawn().unwrap();
                s.borrow_mut().push(child.id());
                ctx.sig_child(child.id(), "reaped", ()).unwrap();
                if s.borrow().len() < SHORT {
                    ctx.yield_("spawn", ());
                }
            })
            .state("reaped", move |ctx| {
                let pid = ctx.arg(1).as_i64().unwrap() as u32;
                r.borrow_mut().push(pid);
                *ctx.heap += 1;
                if *ctx.heap == SHORT {
                    // Every short child is in: end the sleepers.
                    for &pid in z2.borrow().iter() {
                        // SAFETY: kill(2) on a child we spawned and watch.
                        unsafe { libc::kill(pid as libc::pid_t, libc::SIGKILL) };
                    }
                }
                if *ctx.heap == SHORT + SLEEPERS {
                    ctx.post("watchdog", "all_reaped", ()).unwrap();
                }
            })
            .state("chld", |_| {}),
    )
    .unwrap();
    k.run();
    assert!(!*timed_out.borrow(), "some sig_child events never came");
    let mut got = reaped.borrow().clone();
    got.sort();
    let mut want = spawned.borrow().clone();
    want.extend(sleepers.borrow().iter());
    want.sort();
    assert_eq!(got, want);
}

#[test]
fn dropping_a_kernel_that_still_watches_signals_restores_their_dispositions() {
    let _one = serial();
    let signals = [libc::SIGTERM, libc::SIGCHLD, libc::SIGUSR2, libc::SIGHUP];
    let before: Vec<_> = signals.iter().map(|&s| disposition(s)).collect();
    {
        let k = Kernel::new().unwrap();
        k.create(Session::new(()).state("_start", |ctx| {
            ctx.alias_set("still watching").unwrap();
            for name in ["TERM", "CHLD", "USR2", "HUP"] {
                ctx.sig(name, "got", ()).unwrap();
            }
        }))
        .unwrap();
        for (i, &s) in signals.iter().enumerate() {
            assert_ne!(
                disposition(s),
                before[i],
                "signal {s} handled while watched"
            );
        }
        // Dropped without running: the watchers are still in place.
    }
    let after: Vec<_> = signals.iter().map(|&s| disposition(s)).collect();
    assert_eq!(after, before);
}
