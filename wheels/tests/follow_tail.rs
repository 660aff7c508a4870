//! FollowTail: every rule of poe-semantics §17, on the virtual clock.
//!
//! Files change only from a writer session's own delays, so each write
//! lands between two polls at a known virtual time; the logs below read
//! "<seconds since start> <event>". Polls come at 0, 1, 2... (PollInterval
//! 1 s) and the writer acts at the half seconds in between.

#[path = "follow_tail/harness.rs"]
mod harness;

use harness::*;
use poe_filters::Line;
use poe_kernel::Session;
use poe_wheels::driver::SysRw;
use poe_wheels::{FollowTail, FollowTailBuilder, FollowTailEvent, WheelError};
use std::cell::RefCell;
use std::fs::{File, OpenOptions};
use std::io::Write;
use std::os::unix::fs::OpenOptionsExt;
use std::rc::Rc;

#[test]
fn only_records_appended_after_start_are_reported() {
    let dir = TempDir::new();
    // 6500 octets: the default start, 4096 back from the end, is mid-line.
    let old: String = (0..500).map(|i| format!("old line {i:03}\n")).collect();
    let path = dir.file("log", &old);
    let k = kernel();
    let (id, log) = tail(&k, by_name(&path));
    writer(
        &k,
        vec![
            (0.5, append(&path, "new 1\nnew 2\n")),
            (1.5, append(&path, "new 3\n")),
            (2.5, stop(id)),
        ],
    );
    run(&k);
    assert_eq!(
        lines(&log),
        [
            "1 input new 1",
            "1 input new 2",
            "2 input new 3",
            "2.5 _stop"
        ]
    );
}

#[test]
fn a_partial_last_line_is_completed_by_later_data() {
    let dir = TempDir::new();
    let path = dir.file("log", "one\ntwo\npart");
    let k = kernel();
    let (id, log) = tail(&k, by_name(&path));
    writer(
        &k,
        vec![
            (0.5, append(&path, "ial\nthree\n")),
            (1.5, append(&path, "fou")),
            (2.5, append(&path, "r\n")),
            (3.5, stop(id)),
        ],
    );
    run(&k);
    assert_eq!(
        lines(&log),
        [
            "1 input partial",
            "1 input three",
            "3 input four",
            "3.5 _stop"
        ]
    );
}

#[test]
fn seek_and_seek_back_choose_where_reading_starts() {
    let dir = TempDir::new();
    let path = dir.file("log", "line0\nline1\nline2\n"); // 18 octets
    let k = kernel();
    type Configure = fn(FollowTailBuilder) -> FollowTailBuilder;
    let cases: Vec<(&str, Configure, &[&str])> = vec![
        ("Seek 0", |b| b.seek(0), &["line0", "line1", "line2"]),
        ("Seek 6", |b| b.seek(6), &["line1", "line2"]),
        ("Seek past the end", |b| b.seek(1000), &[]),
        ("Seek -6", |b| b.seek(-6), &["line2"]),
        (
            "Seek before the start",
            |b| b.seek(-1000),
            &["line0", "line1", "line2"],
        ),
        ("SeekBack 0", |b| b.seek_back(0), &[]),
        ("SeekBack 12", |b| b.seek_back(12), &["line1", "line2"]),
        (
            "SeekBack past the start",
            |b| b.seek_back(1000),
            &["line0", "line1", "line2"],
        ),
    ];
    let mut logs = Vec::new();
    let mut stops = Vec::new();
    for (name, seek, old) in cases {
        let p = path.clone();
        let (id, log) = tail(&k, move |b| seek(b.filename(&p)));
        logs.push((name, old, log));
        stops.push((1.5, stop(id)));
    }
    let mut steps = vec![(0.5, append(&path, "line3\n"))];
    steps.extend(stops);
    writer(&k, steps);
    run(&k);
    for (name, old, log) in logs {
        let mut want: Vec<String> = old.iter().map(|l| format!("0 input {l}")).collect();
        want.push("1 input line3".into());
        want.push("1.5 _stop".into());
        assert_eq!(lines(&log), want, "{name}");
    }
}

#[test]
fn tell_is_the_offset_of_the_next_read() {
    let dir = TempDir::new();
    let path = dir.file("log", "0123456789\n");
    let k = kernel();
    let seen: Rc<RefCell<Vec<Option<u64>>>> = Rc::default();
    let s = seen.clone();
    let missing = dir.path("missing");
    k.create(
        Session::new(Vec::<FollowTail>::new())
            .state("_start", move |ctx| {
                let w = FollowTail::builder()
                    .filename(&path)
                    .seek(3)
                    .input_event("input")
                    .build(ctx)
                    .unwrap();
                s.borrow_mut().push(w.tell());
                ctx.heap.push(w);
                let w = FollowTail::builder()
                    .filename(&missing)
                    .input_event("input")
                    .build(ctx)
                    .unwrap();
                s.borrow_mut().push(w.tell());
                ctx.heap.push(w);
            })
            .state("input", {
                let s = seen.clone();
                move |ctx| {
                    assert_eq!(ctx.arg(0).to_string(), "3456789");
                    s.borrow_mut().push(ctx.heap[0].tell());
                    ctx.heap.clear();
                }
            }),
    )
    .unwrap();
    run(&k);
    assert_eq!(*seen.borrow(), [Some(3), None, Some(11)]);
}

#[test]
fn truncation_is_a_reset_and_reading_restarts_from_the_start() {
    let dir = TempDir::new();
    let path = dir.file("log", "a\n");
    let k = kernel();
    let (id, log) = tail(&k, by_name(&path));
    writer(
        &k,
        vec![
            (0.5, append(&path, "bb\n")),
            (1.5, overwrite(&path, "c\n")), // 5 octets -> 2
            (2.5, stop(id)),
        ],
    );
    run(&k);
    // Filename: the name is reopened at once and read from the start.
    assert_eq!(
        lines(&log),
        ["1 input bb", "2 reset", "2 input c", "2.5 _stop"]
    );
}

#[test]
fn truncation_under_a_handle_seeks_it_back_to_the_start() {
    let dir = TempDir::new();
    let path = dir.file("log", "a\n");
    let k = kernel();
    let via: Log = Rc::default();
    let v = via.clone();
    let (id, log) = tail(&k, {
        let path = path.clone();
        move |b| b.handle(File::open(&path).unwrap())
    });
    // Which hidden state delivers: POE's name for a handle poll.
    k.create(Session::new(()).state("_start", move |ctx| {
        let info = ctx.session_info(id).unwrap();
        v.borrow_mut()
            .extend(info.states.into_iter().filter(|s| s.starts_with("POE::")));
    }))
    .unwrap();
    writer(
        &k,
        vec![
            (0.5, append(&path, "bb\n")),
            (1.5, overwrite(&path, "c\n")),
            (3.5, stop(id)),
        ],
    );
    run(&k);
    // Handle: ResetEvent, seek to 0, and the next poll after PollInterval.
    assert_eq!(
        lines(&log),
        ["1 input bb", "2 reset", "3 input c", "3.5 _stop"]
    );
    let via = via.borrow();
    assert_eq!(via.len(), 1);
    assert!(
        via[0].starts_with("POE::Wheel::FollowTail(") && via[0].ends_with(") -> handle timer read"),
        "{via:?}"
    );
}

#[test]
fn rotation_delivers_the_old_files_rest_then_a_reset_then_the_new_file() {
    let dir = TempDir::new();
    let path = dir.file("log", "a\n");
    let rotated = dir.path("log.1");
    let k = kernel();
    let (id, log) = tail(&k, by_name(&path));
    writer(
        &k,
        vec![
            // All before the next poll: a last line, rotate, a new file.
            (0.5, append(&path, "b\n")),
            (0.5, rename(&path, &rotated)),
            (0.5, overwrite(&path, "c\n")),
            (1.5, append(&path, "d\n")),
            (1.5, append(&rotated, "late\n")), // the old file is closed
            (2.5, stop(id)),
        ],
    );
    run(&k);
    assert_eq!(
        lines(&log),
        [
            "1 input b",
            "1 reset",
            "1 input c",
            "2 input d",
            "2.5 _stop"
        ]
    );
}

#[test]
fn rotation_with_a_gap_idles_until_the_new_file_appears() {
    let dir = TempDir::new();
    let path = dir.file("log", "a\n");
    let k = kernel();
    let (id, log) = tail(&k, {
        let path = path.clone();
        move |b| b.filename(&path).idle_event("idle")
    });
    writer(
        &k,
        vec![
            (0.5, append(&path, "b\n")),
            (0.5, rename(&path, &dir.path("log.1"))),
            (2.5, overwrite(&path, "c\n")),
            (3.5, stop(id)),
        ],
    );
    run(&k);
    assert_eq!(
        lines(&log),
        [
            "0 idle",
            "1 input b",
            "1 idle", // the name is gone: reopening fails
            "2 idle",
            "3 reset",
            "3 input c",
            "3 idle",
            "3.5 _stop"
        ]
    );
}

#[test]
fn a_missing_file_idles_every_poll_then_its_first_open_is_a_reset() {
    let dir = TempDir::new();
    let path = dir.path("later");
    let k = kernel();
    let (id, log) = tail(&k, {
        let path = path.clone();
        move |b| b.filename(&path).idle_event("idle")
    });
    writer(
        &k,
        vec![(2.5, overwrite(&path, "first\nsecond\n")), (4.5, stop(id))],
    );
    run(&k);
    // A file that appears is read from its start, not from 4096 back.
    assert_eq!(
        lines(&log),
        [
            "0 idle",
            "1 idle",
            "2 idle",
            "3 reset",
            "3 input first",
            "3 input second",
            "3 idle",
            "4 idle",
            "4.5 _stop"
        ]
    );
}

#[test]
fn a_fifo_handle_is_read_through_select_and_its_end_is_an_error() {
    let dir = TempDir::new();
    let fifo = dir.path("fifo");
    mkfifo(&fifo);
    let reader = OpenOptions::new()
        .read(true)
        .custom_flags(libc::O_NONBLOCK)
        .open(&fifo)
        .unwrap();
    let write_end = Rc::new(RefCell::new(Some(
        OpenOptions::new().write(true).open(&fifo).unwrap(),
    )));
    let write = |data: &'static str| -> Step {
        let w = write_end.clone();
        Box::new(move |_| {
            let mut w = w.borrow_mut();
            w.as_mut().unwrap().write_all(data.as_bytes()).unwrap();
        })
    };
    let k = kernel();
    let reader = RefCell::new(Some(reader));
    let (_, log) = tail(&k, move |b| b.handle(reader.borrow_mut().take().unwrap()));
    let w = write_end.clone();
    writer(
        &k,
        vec![
            (0.5, write("one\ntwo\n")),
            (1.5, write("three\n")),
            (2.5, Box::new(move |_| drop(w.borrow_mut().take()))),
        ],
    );
    // No "stop": the session ends because the error removed the watcher.
    run(&k);
    assert_eq!(
        lines(&log),
        [
            "0.5 input one",
            "0.5 input two",
            "1.5 input three",
            "2.5 error read 0 ''",
            "2.5 _stop"
        ]
    );
}

#[test]
fn dropping_a_polling_wheel_stops_everything() {
    let dir = TempDir::new();
    let path = dir.file("log", "");
    let k = kernel();
    let log = drop_at_first_record(&k, by_name(&path));
    writer(
        &k,
        vec![(0.5, append(&path, "x\ny\n")), (1.5, append(&path, "z\n"))],
    );
    run(&k);
    // The hidden state goes with the wheel, no poll is scheduled after the
    // read, nothing more is delivered (not even the record framed in the
    // same read), and the session ends at once.
    assert_eq!(
        lines(&log),
        [
            "1 input x",
            "1 name timer read: (true, 0, 0) -> (false, 0, 0)",
            "1 _stop"
        ]
    );
}

#[test]
fn dropping_a_select_wheel_stops_everything() {
    let dir = TempDir::new();
    let fifo = dir.path("fifo");
    mkfifo(&fifo);
    let k = kernel();
    // Filename on a FIFO: opened read-write as POE does, so it never sees
    // end of file; only the drop can end the session.
    let log = drop_at_first_record(&k, by_name(&fifo));
    let fifo_w = fifo.clone();
    writer(
        &k,
        vec![(
            0.5,
            Box::new(move |_| {
                let mut w = OpenOptions::new().write(true).open(&fifo_w).unwrap();
                w.write_all(b"x\ny\n").unwrap();
            }),
        )],
    );
    run(&k);
    assert_eq!(
        lines(&log),
        [
            "0.5 input x",
            "0.5 select read: (true, 0, 1) -> (false, 0, 0)",
            "0.5 _stop"
        ]
    );
}

#[test]
fn the_poll_timer_keeps_the_session_alive_until_the_wheel_goes() {
    let dir = TempDir::new();
    let k = kernel();
    let (id, log) = tail(&k, {
        let path = dir.path("never");
        move |b| b.filename(&path).poll_interval(10.0)
    });
    let alive: Log = Rc::default();
    let a = alive.clone();
    writer(
        &k,
        vec![
            (
                95.0,
                Box::new(move |k| {
                    let info = k.session_info(id).unwrap();
                    a.borrow_mut().push(format!(
                        "alarms {} fds {}",
                        info.pending_alarms,
                        info.watched_fds.len()
                    ));
                }),
            ),
            (95.0, stop(id)),
        ],
    );
    run(&k);
    assert_eq!(*alive.borrow(), ["alarms 1 fds 0"]);
    assert_eq!(lines(&log), ["95 _stop"]);
}

#[test]
fn records_are_delivered_as_each_block_is_framed() {
    let dir = TempDir::new();
    let content: String = (0..10_000).map(|i| format!("record {i:05}\n")).collect();
    let path = dir.file("big", &content);
    let k = kernel();
    let t0 = k.now();
    let seen: Rc<RefCell<(usize, u64, Vec<f64>)>> = Rc::default();
    let s = seen.clone();
    k.create(
        Session::new(None::<FollowTail>)
            .state("_start", move |ctx| {
                let w = FollowTail::builder()
                    .filename(&path)
                    .seek(0)
                    .driver(SysRw::with_block_size(4096).unwrap())
                    .input_event("input")
                    .idle_event("idle")
                    .build(ctx)
                    .unwrap();
                *ctx.heap = Some(w);
            })
            .state("input", move |ctx| {
                let mut s = s.borrow_mut();
                assert_eq!(ctx.arg(0).to_string(), format!("record {:05}", s.0));
                s.0 += 1;
                // Never more than one block read ahead of what was delivered.
                let ahead = ctx.heap.as_ref().unwrap().tell().unwrap() - 13 * s.0 as u64;
                s.1 = s.1.max(ahead);
                s.2.push(ctx.now() - t0);
            })
            .state("idle", |ctx| *ctx.heap = None),
    )
    .unwrap();
    run(&k);
    let (count, max_ahead, times) = &*seen.borrow();
    assert_eq!(*count, 10_000);
    assert!(*max_ahead < 4096, "read {max_ahead} octets ahead");
    // Re-read at once while data keeps arriving: no PollInterval waits.
    assert!(times.iter().all(|&t| t == 0.0));
}

#[test]
fn the_filter_frames_records_and_its_bounds_end_following() {
    let dir = TempDir::new();
    let path = dir.file("log", "");
    let k = kernel();
    let (_, log) = tail(&k, {
        let path = path.clone();
        move |b| {
            let filter = Line::builder().literal("|").max_length(8).build().unwrap();
            b.filename(&path).filter(filter)
        }
    });
    writer(
        &k,
        vec![
            (0.5, append(&path, "a|bc|")),
            (1.5, append(&path, "much too long|d|")),
            (2.5, append(&path, "e|")),
        ],
    );
    run(&k);
    let got = lines(&log);
    assert_eq!(got[..2], ["1 input a", "1 input bc"]);
    assert!(
        got[2].starts_with(&format!("2 error read {} '", libc::EBADMSG)),
        "{got:?}"
    );
    // Nothing after the error: no more polls, so the session ends.
    assert_eq!(got[3..], ["2 _stop"]);
}

#[test]
fn event_renames_and_unsets_events() {
    let dir = TempDir::new();
    let path = dir.file("log", "");
    let k = kernel();
    let (id, log) = tail_with(
        &k,
        {
            let path = path.clone();
            move |b| b.filename(&path).idle_event("idle")
        },
        |s| {
            s.state("idle", |ctx| {
                ctx.heap.push(ctx.now(), "idle");
                let w = ctx.heap.wheel.as_ref().unwrap();
                w.event(FollowTailEvent::Input, Some("input2".into()));
                w.event(FollowTailEvent::Idle, None);
                w.event(FollowTailEvent::Input, None); // ignored, as in POE
            })
            .state("input2", |ctx| {
                check_id(ctx);
                ctx.heap.push(ctx.now(), format!("input2 {}", ctx.arg(0)));
            })
        },
    );
    writer(&k, vec![(0.5, append(&path, "a\n")), (2.5, stop(id))]);
    run(&k);
    assert_eq!(lines(&log), ["0 idle", "1 input2 a", "2.5 _stop"]);
}

#[test]
fn a_rename_takes_effect_at_the_next_record_of_the_same_read() {
    let dir = TempDir::new();
    let path = dir.file("log", "");
    let k = kernel();
    let (id, log) = tail_with(&k, by_name(&path), |s| {
        s.state("input", |ctx| {
            check_id(ctx);
            ctx.heap.push(ctx.now(), format!("input {}", ctx.arg(0)));
            let w = ctx.heap.wheel.as_ref().unwrap();
            w.event(FollowTailEvent::Input, Some("input2".into()));
        })
        .state("input2", |ctx| {
            check_id(ctx);
            ctx.heap.push(ctx.now(), format!("input2 {}", ctx.arg(0)));
        })
    });
    writer(&k, vec![(0.5, append(&path, "x\ny\nz\n")), (1.5, stop(id))]);
    run(&k);
    assert_eq!(
        lines(&log),
        ["1 input x", "1 input2 y", "1 input2 z", "1.5 _stop"]
    );
}

#[test]
fn construction_errors_are_poes_croaks() {
    let dir = TempDir::new();
    let path = dir.file("log", "x\n");
    let sub = dir.path("sub");
    std::fs::create_dir(&sub).unwrap();
    let k = kernel();
    let errors: Log = Rc::default();
    let e = errors.clone();
    k.create(Session::new(()).state("_start", move |ctx| {
        let b = || FollowTail::builder().input_event("input");
        let attempts = [
            b().build(ctx),
            b().filename(&path)
                .handle(File::open(&path).unwrap())
                .build(ctx),
            FollowTail::builder().filename(&path).build(ctx),
            b().filename(&path).seek(1).seek_back(1).build(ctx),
            b().filename(&path).poll_interval(-1.0).build(ctx),
            b().filename(&path).poll_interval(f64::NAN).build(ctx),
            b().filename(&sub).build(ctx),
            b().handle(File::open(&sub).unwrap()).build(ctx),
        ];
        for a in attempts {
            let err = a.unwrap_err();
            let kind = match err {
                WheelError::Missing(_) => "missing",
                WheelError::Invalid(_) => "invalid",
                _ => "other",
            };
            e.borrow_mut().push(format!("{kind}: {err}"));
        }
        // Nothing was left behind: no hidden state, no poll.
        let info = ctx.session_info(ctx.session()).unwrap();
        assert_eq!(info.pending_alarms, 0);
        assert!(
            info.states.iter().all(|s| !s.starts_with("POE::")),
            "{:?}",
            info.states
        );
    }))
    .unwrap();
    run(&k);
    assert_eq!(
        *errors.borrow(),
        [
            "missing: Filename or Handle is required",
            "invalid: FollowTail requires a Handle or Filename parameter, but not both",
            "missing: InputEvent is required",
            "invalid: FollowTail: can't have Seek and SeekBack at the same time",
            "invalid: FollowTail: PollInterval must be a number of seconds >= 0, not -1",
            "invalid: FollowTail: PollInterval must be a number of seconds >= 0, not NaN",
            "invalid: FollowTail does not tail directories",
            "invalid: FollowTail does not tail directories",
        ]
    );
}
