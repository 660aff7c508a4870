//! ReadWrite's less travelled parameters and methods: InputHandle +
//! OutputHandle, a custom Driver, put_all, flush, set_input_filter,
//! set_output_filter, shutdown_input, and the order of watermark events.

use poe_filters::{Block, Line, Stream};
use poe_kernel::{ClockKind, Ctx, Kernel, Session, Value};
use poe_wheels::driver::SysRw;
use poe_wheels::ReadWrite;
use std::cell::RefCell;
use std::fs::File;
use std::io::{ErrorKind, Read, Write};
use std::os::fd::{FromRawFd, OwnedFd};
use std::os::unix::net::UnixStream;
use std::rc::Rc;
use std::time::Duration;

/// A blocking read on the test's end waits at most this long: a watchdog,
/// never a synchronisation point.
const STALL: Duration = Duration::from_secs(20);

type Log = Rc<RefCell<Vec<String>>>;

#[derive(Default)]
struct Heap {
    wheel: Option<ReadWrite>,
    log: Vec<String>,
}

/// "event arg arg..." without the trailing wheel ID.
fn log_event(ctx: &mut Ctx<Heap>) {
    let args: Vec<String> = ctx.args[..ctx.args.len() - 1]
        .iter()
        .map(|v| v.to_string())
        .collect();
    let line = format!("{} {}", ctx.event(), args.join(" "));
    ctx.heap.log.push(line.trim_end().to_owned());
}

/// Drop the wheel and hand the session's log to the test.
fn finish(ctx: &mut Ctx<Heap>, out: &Log) {
    ctx.heap.wheel = None;
    *out.borrow_mut() = std::mem::take(&mut ctx.heap.log);
}

fn wheel<'a>(ctx: &'a Ctx<Heap>) -> &'a ReadWrite {
    ctx.heap.wheel.as_ref().unwrap()
}

/// A pipe: (read end, write end).
fn pipe() -> (File, File) {
    let mut fds = [0; 2];
    // SAFETY: `fds` is a valid two-int array; pipe2 fills it on success.
    let rc = unsafe { libc::pipe2(fds.as_mut_ptr(), libc::O_CLOEXEC) };
    assert_eq!(rc, 0, "pipe2: {}", std::io::Error::last_os_error());
    // SAFETY: both descriptors were just created and are owned by nobody.
    unsafe {
        (
            File::from(OwnedFd::from_raw_fd(fds[0])),
            File::from(OwnedFd::from_raw_fd(fds[1])),
        )
    }
}

/// A socket pair whose test end blocks at most [`STALL`] on reads.
fn pair() -> (UnixStream, UnixStream) {
    let (mine, theirs) = UnixStream::pair().unwrap();
    theirs.set_read_timeout(Some(STALL)).unwrap();
    (mine, theirs)
}

/// Read exactly `n` bytes from the test's end.
fn read_n(s: &mut UnixStream, n: usize) -> Vec<u8> {
    let mut buf = vec![0; n];
    s.read_exact(&mut buf).unwrap();
    buf
}

#[test]
fn split_input_and_output_handles_read_one_pipe_and_write_the_other() {
    let k = Kernel::new().unwrap();
    let (in_read, mut in_write) = pipe();
    let (out_read, out_write) = pipe();
    let out = Log::default();
    let o = out.clone();
    let handles = RefCell::new(Some((in_read, out_write)));
    k.create(
        Session::new(Heap::default())
            .state("_start", move |ctx| {
                let (input, output) = handles.borrow_mut().take().unwrap();
                let w = ReadWrite::builder_split(input, output)
                    .input_event("input")
                    .error_event("error")
                    .build(ctx)
                    .unwrap();
                assert_ne!(w.input_fd(), w.output_fd());
                ctx.heap.wheel = Some(w);
            })
            .state("input", |ctx| {
                log_event(ctx);
                let reply = format!("pong {}", ctx.arg(0));
                wheel(ctx).put(reply).unwrap();
            })
            .state("error", move |ctx| {
                log_event(ctx);
                // The reply is still queued: write it before closing.
                wheel(ctx).flush();
                finish(ctx, &o);
            }),
    )
    .unwrap();
    in_write.write_all(b"ping\n").unwrap();
    drop(in_write); // EOF on the input pipe once "ping" is read
    k.run();
    assert_eq!(*out.borrow(), ["input ping", "error read 0"]);
    let mut replies = String::new();
    let mut out_read = out_read;
    out_read.read_to_string(&mut replies).unwrap();
    assert_eq!(replies, "pong ping\r\n");
}

#[test]
fn a_driver_with_a_small_block_size_reads_in_blocks_of_that_size() {
    let k = Kernel::new().unwrap();
    let (mine, mut theirs) = pair();
    theirs.write_all(b"abcdefghij").unwrap();
    drop(theirs);
    let out = Log::default();
    let o = out.clone();
    let mine = RefCell::new(Some(mine));
    k.create(
        Session::new(Heap::default())
            .state("_start", move |ctx| {
                let w = ReadWrite::builder(mine.borrow_mut().take().unwrap())
                    .driver(SysRw::with_block_size(4).unwrap())
                    .filter(Stream::new())
                    .input_event("input")
                    .error_event("error")
                    .build(ctx)
                    .unwrap();
                ctx.heap.wheel = Some(w);
            })
            .state("input", log_event)
            .state("error", move |ctx| {
                log_event(ctx);
                finish(ctx, &o);
            }),
    )
    .unwrap();
    k.run();
    // Stream hands over each read as it came: 4 octets at a time.
    assert_eq!(
        *out.borrow(),
        ["input abcd", "input efgh", "input ij", "error read 0"]
    );
}

#[test]
fn put_all_queues_every_record_in_order_and_reports_high_water() {
    let k = Kernel::new().unwrap();
    let (mine, mut theirs) = pair();
    let seen = Rc::new(RefCell::new(Vec::new()));
    let s = seen.clone();
    let mine = RefCell::new(Some(mine));
    k.create(Session::new(Heap::default()).state("_start", move |ctx| {
        let w = ReadWrite::builder(mine.borrow_mut().take().unwrap())
            .high_mark(13)
            .low_mark(4)
            .low_event("low")
            .build(ctx)
            .unwrap();
        let records = ["a", "bb", "ccc"].map(Value::from);
        let high = w.put_all(records).unwrap();
        s.borrow_mut().push(format!(
            "high={high} octets={} messages={}",
            w.get_driver_out_octets(),
            w.get_driver_out_messages()
        ));
        let high = w.put_all(vec![Value::from("dddd")]).unwrap();
        s.borrow_mut().push(format!("high={high}"));
        ctx.heap.wheel = Some(w);
    }))
    .unwrap();
    assert_eq!(
        *seen.borrow(),
        ["high=false octets=12 messages=3", "high=true"]
    );
    k.run_one_timeslice(); // the queued write
    assert_eq!(read_n(&mut theirs, 18), b"a\r\nbb\r\nccc\r\ndddd\r\n");
}

#[test]
fn flush_writes_before_the_handler_returns() {
    let k = Kernel::new().unwrap();
    let (mine, theirs) = pair();
    theirs.set_nonblocking(true).unwrap();
    let seen: Log = Rc::default();
    let (s, s2) = (seen.clone(), seen.clone());
    let mine = RefCell::new(Some(mine));
    k.create(
        Session::new(Heap::default())
            .state("_start", move |ctx| {
                let w = ReadWrite::builder(mine.borrow_mut().take().unwrap())
                    .flushed_event("flushed")
                    .build(ctx)
                    .unwrap();
                let mut buf = [0u8; 64];
                w.put("queued").unwrap();
                let before = (&theirs).read(&mut buf).map_err(|e| e.kind());
                s.borrow_mut().push(format!("before flush: {before:?}"));
                w.flush();
                let n = (&theirs).read(&mut buf).unwrap();
                let got = String::from_utf8_lossy(&buf[..n]).into_owned();
                s.borrow_mut().push(format!(
                    "after flush: {got:?}, {} left",
                    w.get_driver_out_octets()
                ));
                ctx.heap.wheel = Some(w);
            })
            .state("flushed", move |ctx| {
                s2.borrow_mut().push("flushed".into());
                ctx.heap.wheel = None;
            }),
    )
    .unwrap();
    k.run();
    assert_eq!(
        *seen.borrow(),
        [
            format!("before flush: {:?}", Err::<usize, _>(ErrorKind::WouldBlock)),
            r#"after flush: "queued\r\n", 0 left"#.to_owned(),
            "flushed".to_owned(),
        ]
    );
}

#[test]
fn set_input_filter_changes_framing_and_leaves_output_alone() {
    let k = Kernel::new().unwrap();
    let (mine, mut theirs) = pair();
    // A line, then two Block frames, in one write.
    theirs.write_all(b"hello\r\n5\0abcde3\0xyz").unwrap();
    let out = Log::default();
    let o = out.clone();
    let mine = RefCell::new(Some(mine));
    k.create(
        Session::new(Heap::default())
            .state("_start", move |ctx| {
                let w = ReadWrite::builder(mine.borrow_mut().take().unwrap())
                    .input_event("input")
                    .build(ctx)
                    .unwrap();
                ctx.heap.wheel = Some(w);
            })
            .state("input", move |ctx| {
                log_event(ctx);
                let record = ctx.arg(0).to_string();
                if record == "hello" {
                    wheel(ctx).set_input_filter(Block::new()).unwrap();
                }
                // Output still goes through Line.
                wheel(ctx).put(format!("got {record}")).unwrap();
                if ctx.heap.log.len() == 3 {
                    ctx.heap.wheel.as_ref().unwrap().flush();
                    finish(ctx, &o);
                }
            }),
    )
    .unwrap();
    k.run();
    assert_eq!(*out.borrow(), ["input hello", "input abcde", "input xyz"]);
    let want = b"got hello\r\ngot abcde\r\ngot xyz\r\n";
    assert_eq!(read_n(&mut theirs, want.len()), want);
}

#[test]
fn set_output_filter_changes_what_is_written_and_leaves_input_alone() {
    let k = Kernel::new().unwrap();
    let (mine, mut theirs) = pair();
    theirs.write_all(b"one\ntwo\n").unwrap();
    let out = Log::default();
    let o = out.clone();
    let mine = RefCell::new(Some(mine));
    k.create(
        Session::new(Heap::default())
            .state("_start", move |ctx| {
                let w = ReadWrite::builder(mine.borrow_mut().take().unwrap())
                    .input_event("input")
                    .build(ctx)
                    .unwrap();
                ctx.heap.wheel = Some(w);
            })
            .state("input", move |ctx| {
                log_event(ctx);
                let record = ctx.arg(0).to_string();
                // "one" is already serialized by Line when the filter
                // changes; "two" goes out through Block.
                wheel(ctx).put(record.clone()).unwrap();
                if record == "one" {
                    wheel(ctx).set_output_filter(Block::new());
                } else {
                    ctx.heap.wheel.as_ref().unwrap().flush();
                    finish(ctx, &o);
                }
            }),
    )
    .unwrap();
    k.run();
    // Input is still framed by Line.
    assert_eq!(*out.borrow(), ["input one", "input two"]);
    let want = b"one\r\n3\0two";
    assert_eq!(read_n(&mut theirs, want.len()), want);
}

#[test]
fn shutdown_input_stops_reading_and_the_peer_can_no_longer_send() {
    let k = Kernel::builder().clock(ClockKind::Virtual).build().unwrap();
    let (mine, mut theirs) = pair();
    theirs.write_all(b"first\n").unwrap();
    let out = Log::default();
    let o = out.clone();
    let mine = RefCell::new(Some(mine));
    let theirs = RefCell::new(theirs);
    k.create(
        Session::new(Heap::default())
            .state("_start", move |ctx| {
                let w = ReadWrite::builder(mine.borrow_mut().take().unwrap())
                    .input_event("input")
                    .error_event("error")
                    .build(ctx)
                    .unwrap();
                ctx.heap.wheel = Some(w);
            })
            .state("input", |ctx| {
                log_event(ctx);
                wheel(ctx).shutdown_input();
                ctx.yield_("send_more", ());
            })
            .state("send_more", move |ctx| {
                // SHUT_RD on a UNIX stream socket: the peer's writes fail.
                let sent = theirs.borrow_mut().write(b"second\n");
                ctx.heap
                    .log
                    .push(format!("peer write: {:?}", sent.map_err(|e| e.kind())));
                // Still writable: output is not affected.
                wheel(ctx).put("output still works").unwrap();
                // Virtual time moves only when nothing is ready: any
                // input or error would be delivered before this alarm.
                ctx.delay("done", 5.0, ()).unwrap();
            })
            .state("error", log_event)
            .state("done", move |ctx| {
                ctx.heap.log.push("done".into());
                finish(ctx, &o);
            }),
    )
    .unwrap();
    k.run();
    assert_eq!(
        *out.borrow(),
        [
            "input first".to_owned(),
            format!("peer write: {:?}", Err::<usize, _>(ErrorKind::BrokenPipe)),
            "done".to_owned(),
        ]
    );
}

#[test]
fn high_event_comes_before_low_even_when_one_write_drains_everything() {
    let k = Kernel::new().unwrap();
    let (mine, mut theirs) = pair();
    let out = Log::default();
    let o = out.clone();
    let mine = RefCell::new(Some(mine));
    k.create(
        Session::new(Heap::default())
            .state("_start", move |ctx| {
                let w = ReadWrite::builder(mine.borrow_mut().take().unwrap())
                    .filter(Stream::new())
                    .high_mark(1000)
                    .low_mark(100)
                    .high_event("high")
                    .low_event("low")
                    .flushed_event("flushed")
                    .build(ctx)
                    .unwrap();
                // The first put queues the write; the second crosses
                // HighMark. Both together fit the socket in one write.
                assert!(!w.put(vec![b'w'; 600]).unwrap());
                assert!(w.put(vec![b'w'; 1400]).unwrap());
                ctx.heap.wheel = Some(w);
            })
            .state("high", log_event)
            .state("low", log_event)
            .state("flushed", move |ctx| {
                log_event(ctx);
                finish(ctx, &o);
            }),
    )
    .unwrap();
    k.run();
    assert_eq!(read_n(&mut theirs, 2000), vec![b'w'; 2000]);
    // A program that pauses on HighEvent and resumes on LowEvent must see
    // them in this order.
    assert_eq!(*out.borrow(), ["high", "low", "flushed"]);
}

#[test]
fn set_filter_after_set_output_filter_replaces_both_directions() {
    let k = Kernel::new().unwrap();
    let (mine, mut theirs) = pair();
    theirs.write_all(b"x\n").unwrap();
    let mine = RefCell::new(Some(mine));
    k.create(
        Session::new(Heap::default())
            .state("_start", move |ctx| {
                let w = ReadWrite::builder(mine.borrow_mut().take().unwrap())
                    .input_event("input")
                    .build(ctx)
                    .unwrap();
                w.set_output_filter(Block::new());
                w.set_filter(Line::literal("|").unwrap()).unwrap();
                ctx.heap.wheel = Some(w);
            })
            .state("input", |ctx| {
                wheel(ctx).put("y").unwrap();
                wheel(ctx).flush();
                ctx.heap.wheel = None;
            }),
    )
    .unwrap();
    theirs.write_all(b"|").unwrap();
    k.run();
    assert_eq!(read_n(&mut theirs, 2), b"y|");
}
