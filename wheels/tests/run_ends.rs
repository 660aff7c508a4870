//! Run: how a child's handles end — EOF and error events in POE's order,
//! CloseEvent, kill, shutdown_stdin, pausing, dropping the wheel. Only
//! programs of a Debian base image: sh, cat, echo, sleep, printf.

mod run_harness;

use poe_kernel::{Kernel, Session};
use poe_wheels::{Run, StdinError};
use run_harness::*;
use std::cell::RefCell;
use std::rc::Rc;

#[test]
fn event_order_is_poes() {
    // §18 [verified]: StdinEvent, StdoutEvent, StderrEvent, ErrorEvent
    // STDOUT, ErrorEvent STDERR, CloseEvent. Several runs, as the order
    // must not depend on how the pipes' readiness interleaves.
    for _ in 0..10 {
        let log = run_child(
            |ctx| {
                let script = "read l; echo out:$l; echo err1 >&2; exit 7";
                let w = all_events(Run::shell(script)).build(ctx).unwrap();
                w.put("hello").unwrap();
                w
            },
            nothing,
        );
        let want = [
            "stdin",
            "out:out:hello",
            "err:err1",
            EOF_OUT,
            EOF_ERR,
            "close",
        ];
        assert_eq!(log, want);
    }
}

#[test]
fn shutdown_stdin_makes_cat_exit_and_put_then_fails() {
    let log = run_child(
        |ctx| {
            let w = all_events(Run::command(["cat"])).build(ctx).unwrap();
            w.shutdown_stdin();
            assert!(matches!(w.put("late"), Err(StdinError::Closed)));
            w
        },
        nothing,
    );
    assert_eq!(log, [EOF_OUT, EOF_ERR, "close"]);
}

#[test]
fn close_waits_only_for_the_handles_that_have_events() {
    let log = run_child(
        |ctx| {
            Run::command(["echo", "x"])
                .stdout_event("stdout")
                .error_event("error")
                .close_event("close")
                .no_stdin(true)
                .build(ctx)
                .unwrap()
        },
        nothing,
    );
    assert_eq!(log, ["out:x", EOF_OUT, "close"]);
}

#[test]
fn kill_ends_a_long_running_child_and_its_handles_close() {
    let log = run_child(
        |ctx| {
            let w = all_events(Run::command(["sleep", "30"]))
                .build(ctx)
                .unwrap();
            w.kill(None).unwrap();
            w
        },
        nothing,
    );
    assert_eq!(log, [EOF_OUT, EOF_ERR, "close"]);
}

#[test]
fn kill_signals_the_childs_process_group() {
    // The shell forks both sides of the pipeline; with POE's kill of the
    // PID alone they would keep the pipes open for 30 seconds.
    let log = run_child(
        |ctx| {
            let w = all_events(Run::shell("sleep 30 | cat; echo never"))
                .build(ctx)
                .unwrap();
            let pid = w.pid() as libc::pid_t;
            // SAFETY: getpgid takes no pointers.
            assert_eq!(unsafe { libc::getpgid(pid) }, pid, "leads its own group");
            w.kill(libc::SIGKILL).unwrap();
            w
        },
        nothing,
    );
    assert_eq!(log, [EOF_OUT, EOF_ERR, "close"]);
}

#[test]
fn no_setpgrp_leaves_the_child_in_our_group() {
    let log = run_child(
        |ctx| {
            let w = all_events(Run::command(["sleep", "30"]))
                .no_setpgrp(true)
                .build(ctx)
                .unwrap();
            // SAFETY: getpgid takes no pointers.
            let (theirs, ours) = unsafe { (libc::getpgid(w.pid() as i32), libc::getpgid(0)) };
            assert_eq!(theirs, ours);
            w.kill(None).unwrap(); // the PID alone: not our whole group
            w
        },
        nothing,
    );
    assert_eq!(log, [EOF_OUT, EOF_ERR, "close"]);
}

#[test]
fn pause_stdout_holds_records_until_resume() {
    let log = run_child(
        |ctx| {
            let w = all_events(Run::shell("echo out; echo err >&2"))
                .no_stdin(true)
                .build(ctx)
                .unwrap();
            w.pause_stdout();
            w
        },
        |ctx, entry| {
            if entry == EOF_ERR {
                ctx.heap.wheel.as_ref().unwrap().resume_stdout();
            }
        },
    );
    assert_eq!(log, ["err:err", EOF_ERR, "out:out", EOF_OUT, "close"]);
}

#[test]
fn pause_stderr_holds_records_until_resume() {
    let log = run_child(
        |ctx| {
            let w = all_events(Run::shell("echo err >&2; echo out"))
                .no_stdin(true)
                .build(ctx)
                .unwrap();
            w.pause_stderr();
            w
        },
        |ctx, entry| {
            if entry == EOF_OUT {
                ctx.heap.wheel.as_ref().unwrap().resume_stderr();
            }
        },
    );
    assert_eq!(log, ["out:out", EOF_OUT, "err:err", EOF_ERR, "close"]);
}

#[test]
fn a_write_to_a_closed_stdin_is_an_error_event() {
    let log = run_child(
        |ctx| {
            // The child closes its STDIN, says so, and waits.
            all_events(Run::shell("exec 0<&-; echo ready; exec sleep 30"))
                .build(ctx)
                .unwrap()
        },
        |ctx, entry| {
            let w = ctx.heap.wheel.as_ref().unwrap();
            match entry {
                // Another test's child, forked while ours was being
                // spawned, may hold the pipe's read end until it execs:
                // write until the pipe breaks.
                "out:ready" | "stdin" => w.put("nobody reads this").unwrap(),
                "error:write:32:Broken pipe:STDIN" => {
                    assert!(matches!(w.put("again"), Err(StdinError::Closed)));
                    w.kill(None).unwrap();
                }
                _ => {}
            }
        },
    );
    let flushes = log.iter().filter(|e| *e == "stdin").count();
    assert_eq!(log[0], "out:ready");
    let want = [
        "error:write:32:Broken pipe:STDIN",
        EOF_OUT,
        EOF_ERR,
        "close",
    ];
    assert_eq!(log[1 + flushes..], want, "{log:?}");
}

#[test]
fn dropping_the_wheel_neither_waits_for_nor_kills_the_child() {
    let k = Kernel::new().unwrap();
    let pid = Rc::new(RefCell::new(0));
    let p = pid.clone();
    k.create(Session::new(()).state("_start", move |ctx| {
        let w = all_events(Run::command(["sleep", "30"]))
            .build(ctx)
            .unwrap();
        let hidden = format!("POE::Wheel::Run({}) -> select stdout", w.id());
        assert!(ctx.has_state(&hidden));
        *p.borrow_mut() = w.pid();
        drop(w);
        assert!(!ctx.has_state(&hidden), "hidden states are removed");
    }))
    .unwrap();
    k.run(); // returns: nothing of the wheel holds the session
    assert_eq!(k.session_count(), 0);
    let pid = *pid.borrow() as libc::pid_t;
    // SAFETY: kill and waitpid with a null status pointer are allowed.
    unsafe {
        assert_eq!(libc::kill(pid, 0), 0, "the child still runs");
        libc::kill(pid, libc::SIGKILL);
        libc::waitpid(pid, std::ptr::null_mut(), 0);
    }
}

#[test]
fn an_early_stdout_end_waits_for_stderr() {
    // The child closes STDOUT, then keeps STDERR open until told to go
    // on: STDOUT's end is reported with STDERR's, STDOUT first.
    let log = run_child(
        |ctx| {
            let script = "exec >&-; echo e1 >&2; read x; echo e2 >&2";
            all_events(Run::shell(script)).build(ctx).unwrap()
        },
        |ctx, entry| {
            if entry == "err:e1" {
                ctx.heap.wheel.as_ref().unwrap().put("go").unwrap();
            }
        },
    );
    let want = ["err:e1", "stdin", "err:e2", EOF_OUT, EOF_ERR, "close"];
    assert_eq!(log, want);
}

#[test]
fn pausing_the_open_handle_releases_the_other_ones_end() {
    // STDERR ends early; pausing STDOUT means it is no longer read, so
    // STDERR's end is reported at once rather than held.
    let log = run_child(
        |ctx| {
            let script = "exec 2>&-; echo o1; read x; echo o2";
            all_events(Run::shell(script)).build(ctx).unwrap()
        },
        |ctx, entry| {
            let w = ctx.heap.wheel.as_ref().unwrap();
            match entry {
                "out:o1" => w.pause_stdout(),
                EOF_ERR => {
                    w.resume_stdout();
                    w.put("go").unwrap();
                }
                _ => {}
            }
        },
    );
    let want = ["out:o1", EOF_ERR, "stdin", "out:o2", EOF_OUT, "close"];
    assert_eq!(log, want);
}
