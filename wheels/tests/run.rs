//! Run: child processes and their standard handles (POE::Wheel::Run, §18).
//! Only programs of a Debian base image: sh, cat, echo, sleep, printf.

use poe_filters::{Line, Stream};
use poe_kernel::{Ctx, Kernel, Session, Value};
use poe_wheels::{Run, RunEvent, StdinError, WheelError, WheelId};
use std::cell::RefCell;
use std::collections::HashMap;
use std::rc::Rc;

type Log = Rc<RefCell<Vec<String>>>;

struct Heap {
    wheel: Option<Run>,
    log: Log,
}

/// What a test does after an entry is logged (the wheel is in the heap).
type React = fn(&mut Ctx<Heap>, &str);

fn nothing(_: &mut Ctx<Heap>, _: &str) {}

/// One session running one child: `build` makes the wheel in `_start`;
/// every wheel event is logged (`out:REC`, `err:REC`, `stdin`,
/// `error:OP:ERRNO:MSG:HANDLE`, `close`), checked to carry the wheel's ID,
/// and passed to `react`. CloseEvent drops the wheel.
fn child(k: &Kernel, build: impl Fn(&mut Ctx<Heap>) -> Run + 'static, react: React) -> Log {
    let log = Log::default();
    let logged = move |ctx: &mut Ctx<Heap>, entry: String, id_arg: usize| {
        if let Some(w) = &ctx.heap.wheel {
            assert_eq!(WheelId::from_value(ctx.arg(id_arg)), Some(w.id()));
        }
        ctx.heap.log.borrow_mut().push(entry.clone());
        react(ctx, &entry);
    };
    k.create(
        Session::new(Heap {
            wheel: None,
            log: log.clone(),
        })
        .state("_start", move |ctx| {
            let wheel = build(ctx);
            ctx.heap.wheel = Some(wheel);
        })
        .state("stdout", move |ctx| {
            logged(ctx, format!("out:{}", ctx.arg(0)), 1)
        })
        .state("stderr", move |ctx| {
            logged(ctx, format!("err:{}", ctx.arg(0)), 1)
        })
        .state("stdin", move |ctx| logged(ctx, "stdin".into(), 0))
        .state("error", move |ctx| {
            let [op, errno, msg, _, handle] = [0, 1, 2, 3, 4].map(|i| ctx.arg(i).to_string());
            logged(ctx, format!("error:{op}:{errno}:{msg}:{handle}"), 3)
        })
        .state("close", move |ctx| {
            logged(ctx, "close".into(), 0);
            ctx.heap.wheel = None;
        }),
    )
    .unwrap();
    log
}

/// A wheel with every event named as `child` logs them.
fn all_events(b: poe_wheels::RunBuilder) -> poe_wheels::RunBuilder {
    b.stdout_event("stdout")
        .stderr_event("stderr")
        .stdin_event("stdin")
        .error_event("error")
        .close_event("close")
}

fn run_child(build: impl Fn(&mut Ctx<Heap>) -> Run + 'static, react: React) -> Vec<String> {
    let k = Kernel::new().unwrap();
    let log = child(&k, build, react);
    k.run();
    assert_eq!(k.session_count(), 0, "the session ended");
    let out = log.borrow().clone();
    out
}

const EOF_OUT: &str = "error:read:0::STDOUT";
const EOF_ERR: &str = "error:read:0::STDERR";

#[test]
fn stdout_and_stderr_records_arrive_with_their_events() {
    let log = run_child(
        |ctx| {
            all_events(Run::shell("echo a; echo b; echo e1 >&2; echo e2 >&2"))
                .no_stdin(true)
                .build(ctx)
                .unwrap()
        },
        nothing,
    );
    let only =
        |p: &str| -> Vec<String> { log.iter().filter(|e| e.starts_with(p)).cloned().collect() };
    assert_eq!(only("out:"), ["out:a", "out:b"]);
    assert_eq!(only("err:"), ["err:e1", "err:e2"]);
    assert_eq!(log[log.len() - 3..], [EOF_OUT, EOF_ERR, "close"]);
}

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
fn put_goes_through_the_stdin_filter_and_stdin_event_follows_the_flush() {
    let log = run_child(
        |ctx| {
            let w = all_events(Run::command(["cat"])).build(ctx).unwrap();
            w.put("one").unwrap();
            w.put_all(["two", "three"].map(Value::from)).unwrap();
            // Not written until this handler returns; Line adds "\n".
            assert_eq!(w.get_driver_out_octets(), 14);
            assert_eq!(w.get_driver_out_messages(), 3);
            w
        },
        |ctx, entry| {
            let w = ctx.heap.wheel.as_ref().unwrap();
            match entry {
                "stdin" => assert_eq!(w.get_driver_out_octets(), 0),
                "out:three" => w.shutdown_stdin(),
                _ => {}
            }
        },
    );
    let want = [
        "stdin",
        "out:one",
        "out:two",
        "out:three",
        EOF_OUT,
        EOF_ERR,
        "close",
    ];
    assert_eq!(log, want);
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
fn custom_filters_frame_each_handle() {
    // Line with ";" both ways through cat, Stream on STDERR.
    let log = run_child(
        |ctx| {
            let w = all_events(Run::shell("cat; printf 'raw\\nbytes' >&2"))
                .stdio_filter(Line::literal(";").unwrap())
                .stderr_filter(Stream::new())
                .build(ctx)
                .unwrap();
            w.put_all(["x", "y"].map(Value::from)).unwrap();
            w
        },
        |ctx, entry| {
            if entry == "stdin" {
                ctx.heap.wheel.as_ref().unwrap().shutdown_stdin();
            }
        },
    );
    let err: String = log.iter().filter_map(|e| e.strip_prefix("err:")).collect();
    assert_eq!(err, "raw\nbytes", "Stream passes the bytes as they come");
    assert_eq!(log[..3], ["stdin", "out:x", "out:y"]);
    assert_eq!(log[log.len() - 3..], [EOF_OUT, EOF_ERR, "close"]);
}

#[test]
fn the_default_filter_is_line_with_a_newline_literal() {
    let log = run_child(
        |ctx| {
            let w = all_events(Run::command(["cat"]))
                .stdout_filter(Stream::new())
                .build(ctx)
                .unwrap();
            w.put("x").unwrap();
            w
        },
        |ctx, entry| {
            if entry.starts_with("out:") {
                ctx.heap.wheel.as_ref().unwrap().shutdown_stdin();
            }
        },
    );
    assert_eq!(log, ["stdin", "out:x\n", EOF_OUT, EOF_ERR, "close"]);
}

#[test]
fn set_stdout_filter_reframes_what_is_buffered() {
    let log = run_child(
        |ctx| {
            all_events(Run::command(["printf", "a\\nb;c;"]))
                .no_stdin(true)
                .build(ctx)
                .unwrap()
        },
        |ctx, entry| {
            if entry == "out:a" {
                let w = ctx.heap.wheel.as_ref().unwrap();
                w.set_stdout_filter(Line::literal(";").unwrap()).unwrap();
            }
        },
    );
    assert_eq!(log, ["out:a", "out:b", "out:c", EOF_OUT, EOF_ERR, "close"]);
}

#[test]
fn a_missing_program_is_a_build_error() {
    let k = Kernel::new().unwrap();
    let err = Rc::new(RefCell::new(None));
    let e = err.clone();
    k.create(Session::new(()).state("_start", move |ctx| {
        let r = Run::command(["/nonexistent/program", "arg"])
            .stdout_event("stdout")
            .build(ctx);
        *e.borrow_mut() = Some(r.unwrap_err());
    }))
    .unwrap();
    k.run();
    let err = err.borrow_mut().take().unwrap();
    match &err {
        WheelError::Spawn { program, error } => {
            assert_eq!(program, "/nonexistent/program");
            assert_eq!(error.raw_os_error(), Some(libc::ENOENT));
        }
        other => panic!("expected Spawn, got {other:?}"),
    }
    assert_eq!(
        err.to_string(),
        "cannot run \"/nonexistent/program\": No such file or directory"
    );
}

#[test]
fn a_missing_command_in_a_shell_string_is_reported_by_the_shell() {
    let log = run_child(
        |ctx| {
            all_events(Run::shell("no-such-command-for-poe-rs"))
                .no_stdin(true)
                .build(ctx)
                .unwrap()
        },
        nothing,
    );
    assert_eq!(log.len(), 4, "{log:?}");
    assert!(log[0].starts_with("err:") && log[0].contains("not found"));
    assert_eq!(log[1..], [EOF_OUT, EOF_ERR, "close"]);
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
fn many_children_at_once_every_line_arrives() {
    const N: usize = 50;
    #[derive(Default)]
    struct Many {
        wheels: HashMap<WheelId, Run>,
        lines: Vec<String>,
        closed: usize,
    }
    let k = Kernel::new().unwrap();
    let done = Rc::new(RefCell::new((Vec::new(), 0)));
    let d = done.clone();
    k.create(
        Session::new(Many::default())
            .state("_start", |ctx| {
                for i in 0..N {
                    let w = Run::command(["echo", &format!("child {i}")])
                        .stdout_event("line")
                        .close_event("closed")
                        .no_stdin(i % 2 == 0)
                        .build(ctx)
                        .unwrap();
                    ctx.heap.wheels.insert(w.id(), w);
                }
            })
            .state("line", |ctx| {
                let id = WheelId::from_value(ctx.arg(1)).unwrap();
                assert!(ctx.heap.wheels.contains_key(&id));
                let line = ctx.arg(0).to_string();
                ctx.heap.lines.push(line);
            })
            .state("closed", move |ctx| {
                let id = WheelId::from_value(ctx.arg(0)).unwrap();
                ctx.heap.wheels.remove(&id).unwrap();
                ctx.heap.closed += 1;
                if ctx.heap.wheels.is_empty() {
                    *d.borrow_mut() = (std::mem::take(&mut ctx.heap.lines), ctx.heap.closed);
                }
            }),
    )
    .unwrap();
    k.run();
    let (mut lines, closed) = done.borrow().clone();
    lines.sort();
    let mut want: Vec<String> = (0..N).map(|i| format!("child {i}")).collect();
    want.sort();
    assert_eq!(lines, want);
    assert_eq!(closed, N);
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
fn environment_working_directory_and_program_args() {
    let log = run_child(
        |ctx| {
            all_events(Run::shell(
                "echo \"$POE_RS_TEST\"; echo \"${HOME-unset}\"; pwd; echo",
            ))
            .program_args(["one", "two"]) // appended to the string
            .env_clear()
            .env("POE_RS_TEST", "value")
            .current_dir("/")
            .no_stdin(true)
            .build(ctx)
            .unwrap()
        },
        nothing,
    );
    let want = [
        "out:value",
        "out:unset",
        "out:/",
        "out:one two",
        EOF_OUT,
        EOF_ERR,
        "close",
    ];
    assert_eq!(log, want);
}

#[test]
fn redirect_stdout_to_a_file_while_reading_stderr() {
    let path = std::env::temp_dir().join(format!("poe-rs-run-{}", std::process::id()));
    let file = std::fs::File::create(&path).unwrap();
    let file = RefCell::new(Some(file));
    let log = run_child(
        move |ctx| {
            Run::shell("echo to-file; echo done >&2")
                .stderr_event("stderr")
                .error_event("error")
                .close_event("close")
                .redirect_stdout(file.borrow_mut().take().unwrap())
                .redirect_stdin(std::process::Stdio::null())
                .build(ctx)
                .unwrap()
        },
        nothing,
    );
    let written = std::fs::read_to_string(&path).unwrap();
    let _ = std::fs::remove_file(&path);
    // STDERR ended, so the child wrote the file first.
    assert_eq!(written, "to-file\n");
    assert_eq!(log, ["err:done", EOF_ERR, "close"]);
}

#[test]
fn bad_parameters_are_build_errors() {
    let k = Kernel::new().unwrap();
    k.create(Session::new(()).state("_start", |ctx| {
        let r = Run::command(["true"])
            .stdout_event("stdout")
            .redirect_stdout(std::process::Stdio::null())
            .build(ctx);
        assert!(matches!(r, Err(WheelError::Invalid(_))), "POE croaks");
        let r = Run::command(Vec::<String>::new()).build(ctx);
        assert!(matches!(r, Err(WheelError::Missing("Program"))));
    }))
    .unwrap();
    k.run();
}

#[test]
fn renamed_events_and_hidden_state_names() {
    let log = run_child(
        |ctx| {
            let w = Run::command(["echo", "hi"])
                .stdout_event("first_name")
                .error_event("error")
                .close_event("close")
                .no_stdin(true)
                .build(ctx)
                .unwrap();
            let id = w.id();
            assert!(ctx.has_state(&format!("POE::Wheel::Run({id}) -> select stdout")));
            assert!(!ctx.has_state(&format!("POE::Wheel::Run({id}) -> select stdin")));
            w.event(RunEvent::Stdout, Some("stdout".into()));
            w
        },
        nothing,
    );
    assert_eq!(log, ["out:hi", EOF_OUT, "close"]);
}
