//! Run: child processes and their standard handles (POE::Wheel::Run, §18):
//! records, STDIN, filters, parameters. How the handles end is in
//! run_ends.rs. Only programs of a Debian base image: sh, cat, echo,
//! sleep, printf.

mod run_harness;

use poe_filters::{Line, Stream};
use poe_kernel::{Kernel, Session, Value};
use poe_wheels::{Run, RunEvent, WheelError, WheelId};
use run_harness::*;
use std::cell::RefCell;
use std::collections::HashMap;
use std::rc::Rc;

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
