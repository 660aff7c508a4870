//! ReadWrite: the scenarios of POE's wheel_readwrite and wheel_sf_* tests.

mod common;

use common::*;
use poe_filters::{Block, Filter, Line, Stream};
use poe_kernel::{ClockKind, Ctx, Kernel, Session, Value};
use poe_wheels::{ReadWrite, ReadWriteEvent};
use std::cell::{Cell, RefCell};
use std::io::{Read, Write};
use std::os::unix::net::UnixStream;
use std::rc::Rc;

fn line() -> Box<dyn Filter> {
    Box::new(Line::new())
}

fn lines(n: usize) -> Vec<String> {
    (1..=n)
        .map(|i| format!("line {i}: this is a test"))
        .collect()
}

#[test]
fn tcp_listen_connect_and_line_echo() {
    let k = Kernel::new().unwrap();
    let (_, port) = echo_server(&k, Listen::Tcp("127.0.0.1"), 1, line);
    let got = echo_client(&k, port, lines(100));
    k.run();
    assert_eq!(*got.borrow(), lines(100));
    assert_eq!(k.session_count(), 0, "everything shut down cleanly");
}

#[test]
fn unix_stream_sockets_echo() {
    let path = std::env::temp_dir().join(format!("poe-rw-unix-{}", std::process::id()));
    let _ = std::fs::remove_file(&path);
    let k = Kernel::new().unwrap();
    echo_server(&k, Listen::Unix(path.clone()), 1, line);
    let got = echo_client_to(&k, Connect::Unix(path.clone()), lines(10));
    k.run();
    let _ = std::fs::remove_file(&path);
    assert_eq!(*got.borrow(), lines(10));
}

#[test]
fn ipv6_loopback_echo() {
    let k = Kernel::new().unwrap();
    let (_, port) = echo_server(&k, Listen::Tcp6, 1, line);
    let got = echo_client_to(&k, Connect::Tcp6(port), lines(10));
    k.run();
    assert_eq!(*got.borrow(), lines(10));
}

/// A session owning one ReadWrite on one end of a socket pair; the test
/// keeps the other end.
fn pair_session<F>(k: &Kernel, build: F) -> UnixStream
where
    F: Fn(&mut Ctx<Pair>, UnixStream) -> ReadWrite + 'static,
{
    let (mine, theirs) = UnixStream::pair().unwrap();
    let mine = RefCell::new(Some(mine));
    k.create(Session::new(Pair::default()).state("_start", move |ctx| {
        let handle = mine.borrow_mut().take().unwrap();
        ctx.heap.wheel = Some(build(ctx, handle));
    }))
    .unwrap();
    theirs
}

#[derive(Default)]
struct Pair {
    wheel: Option<ReadWrite>,
    log: Vec<String>,
}

#[test]
fn get_driver_out_octets_and_messages_after_put() {
    let k = Kernel::new().unwrap();
    let seen = Rc::new(Cell::new((0, 0, 0, 0)));
    let s = seen.clone();
    let _peer = pair_session(&k, move |ctx, h| {
        let w = ReadWrite::builder(h).build(ctx).unwrap();
        w.put("1: this is a test").unwrap();
        let one = (w.get_driver_out_octets(), w.get_driver_out_messages());
        w.put("2: this is a test").unwrap();
        s.set((
            one.0,
            one.1,
            w.get_driver_out_octets(),
            w.get_driver_out_messages(),
        ));
        w
    });
    // POE's wheel_sf_tcp: 19 octets and one message after the first put.
    assert_eq!(seen.get(), (19, 1, 38, 2));
}

/// Run the far end of a socket pair on a thread.
fn peer<T: Send + 'static>(
    s: UnixStream,
    f: impl FnOnce(UnixStream) -> T + Send + 'static,
) -> std::thread::JoinHandle<T> {
    std::thread::spawn(move || f(s))
}

fn log_event(ctx: &mut Ctx<Pair>) {
    let args: Vec<String> = ctx.args[..ctx.args.len() - 1]
        .iter()
        .map(|v| v.to_string())
        .collect();
    let line = format!("{} {}", ctx.event(), args.join(" "));
    ctx.heap.log.push(line.trim_end().to_owned());
}

/// Where a scenario's session leaves its event log when it is done.
fn logged() -> Rc<RefCell<Vec<String>>> {
    Rc::default()
}

#[test]
fn half_close_sends_eof_and_keeps_reading() {
    let k = Kernel::new().unwrap();
    let out = logged();
    let o = out.clone();
    let (mine, theirs) = UnixStream::pair().unwrap();
    let far = peer(theirs, |mut s| {
        let mut got = String::new();
        s.read_to_string(&mut got).unwrap(); // until our shutdown_output
        s.write_all(b"reply\n").unwrap();
        got
    });
    let mine = RefCell::new(Some(mine));
    k.create(
        Session::new(Pair::default())
            .state("_start", move |ctx| {
                let w = ReadWrite::builder(mine.borrow_mut().take().unwrap())
                    .input_event("input")
                    .error_event("error")
                    .flushed_event("flushed")
                    .build(ctx)
                    .unwrap();
                w.put("bye").unwrap();
                ctx.heap.wheel = Some(w);
            })
            .state("flushed", |ctx| {
                log_event(ctx);
                ctx.heap.wheel.as_ref().unwrap().shutdown_output();
            })
            .state("input", log_event)
            .state("error", move |ctx| {
                log_event(ctx);
                ctx.heap.wheel = None;
                *o.borrow_mut() = std::mem::take(&mut ctx.heap.log);
            }),
    )
    .unwrap();
    k.run();
    assert_eq!(far.join().unwrap(), "bye\r\n");
    // The peer's EOF arrives as an ErrorEvent with errno 0.
    assert_eq!(*out.borrow(), ["flushed", "input reply", "error read 0"]);
}

#[test]
fn ten_megabytes_through_a_tiny_socket_buffer_arrive_intact() {
    let k = Kernel::new().unwrap();
    let (mine, theirs) = UnixStream::pair().unwrap();
    socket2::SockRef::from(&mine)
        .set_send_buffer_size(4096)
        .unwrap();
    socket2::SockRef::from(&theirs)
        .set_recv_buffer_size(4096)
        .unwrap();
    let data: Vec<u8> = (0..10 * 1024 * 1024u32).map(|i| (i % 251) as u8).collect();
    let expect = data.clone();
    let far = peer(theirs, |mut s| {
        let mut got = Vec::new();
        s.read_to_end(&mut got).unwrap();
        got
    });
    let flushes = Rc::new(Cell::new(0));
    let f = flushes.clone();
    let mine = RefCell::new(Some(mine));
    let data = RefCell::new(Some(data));
    k.create(
        Session::new(Pair::default())
            .state("_start", move |ctx| {
                let w = ReadWrite::builder(mine.borrow_mut().take().unwrap())
                    .filter(Stream::new())
                    .flushed_event("flushed")
                    .error_event("error")
                    .build(ctx)
                    .unwrap();
                // In chunks, as a program streaming a file would.
                let data = data.borrow_mut().take().unwrap();
                for chunk in data.chunks(64 * 1024) {
                    w.put(chunk).unwrap();
                }
                ctx.heap.wheel = Some(w);
            })
            .state("flushed", move |ctx| {
                f.set(f.get() + 1);
                ctx.heap.wheel = None; // all written: close
            })
            .state("error", |ctx| -> Value { panic!("{:?}", ctx.args) }),
    )
    .unwrap();
    k.run();
    let got = far.join().unwrap();
    assert_eq!(got.len(), expect.len());
    assert!(got == expect, "content differs");
    assert_eq!(flushes.get(), 1);
}

#[test]
fn watermarks_announce_high_then_low_then_flushed() {
    let k = Kernel::new().unwrap();
    let (mine, theirs) = UnixStream::pair().unwrap();
    let (go_tx, go_rx) = std::sync::mpsc::channel::<()>();
    let far = peer(theirs, move |mut s| {
        go_rx.recv().unwrap(); // do not read until the writer is high
        let mut got = Vec::new();
        s.read_to_end(&mut got).unwrap();
        got.len()
    });
    let out = logged();
    let o = out.clone();
    let mine = RefCell::new(Some(mine));
    let go = RefCell::new(Some(go_tx));
    k.create(
        Session::new(Pair::default())
            .state("_start", move |ctx| {
                let w = ReadWrite::builder(mine.borrow_mut().take().unwrap())
                    .filter(Stream::new())
                    .high_mark(512 * 1024)
                    .low_mark(8 * 1024)
                    .high_event("high")
                    .low_event("low")
                    .flushed_event("flushed")
                    .build(ctx)
                    .unwrap();
                let chunk = vec![b'x'; 64 * 1024];
                let flags: Vec<bool> = (0..16).map(|_| w.put(chunk.as_slice()).unwrap()).collect();
                // put reports high water from the 8th 64 KiB chunk on.
                assert!(!flags[6] && flags[7] && flags[15], "{flags:?}");
                ctx.heap.wheel = Some(w);
            })
            .state("high", move |ctx| {
                log_event(ctx);
                go.borrow_mut().take().unwrap().send(()).unwrap();
            })
            .state("low", log_event)
            .state("flushed", move |ctx| {
                log_event(ctx);
                ctx.heap.wheel = None;
                *o.borrow_mut() = std::mem::take(&mut ctx.heap.log);
            }),
    )
    .unwrap();
    k.run();
    assert_eq!(far.join().unwrap(), 16 * 64 * 1024);
    assert_eq!(*out.borrow(), ["high", "low", "flushed"]);
}

#[test]
fn switching_from_line_to_block_mid_stream_keeps_buffered_bytes() {
    let k = Kernel::new().unwrap();
    let (mine, mut theirs) = UnixStream::pair().unwrap();
    // One write: a line, then two Block frames, all in one read.
    theirs.write_all(b"hello\r\n5\0abcde3\0xyz").unwrap();
    let out = logged();
    let o = out.clone();
    let mine = RefCell::new(Some(mine));
    k.create(
        Session::new(Pair::default())
            .state("_start", move |ctx| {
                let w = ReadWrite::builder(mine.borrow_mut().take().unwrap())
                    .input_event("input")
                    .build(ctx)
                    .unwrap();
                ctx.heap.wheel = Some(w);
            })
            .state("input", move |ctx| {
                log_event(ctx);
                if ctx.arg(0).as_str() == Some("hello") {
                    ctx.heap
                        .wheel
                        .as_ref()
                        .unwrap()
                        .set_filter(Block::new())
                        .unwrap();
                }
                if ctx.heap.log.len() == 3 {
                    ctx.heap.wheel = None;
                    *o.borrow_mut() = std::mem::take(&mut ctx.heap.log);
                }
            }),
    )
    .unwrap();
    k.run();
    assert_eq!(*out.borrow(), ["input hello", "input abcde", "input xyz"]);
    drop(theirs);
}

#[test]
fn pause_input_holds_records_while_data_keeps_arriving() {
    let k = Kernel::builder().clock(ClockKind::Virtual).build().unwrap();
    let (mine, theirs) = UnixStream::pair().unwrap();
    let out = logged();
    let o = out.clone();
    let mine = RefCell::new(Some(mine));
    let theirs = Rc::new(RefCell::new(theirs));
    let t = theirs.clone();
    k.create(
        Session::new(Pair::default())
            .state("_start", move |ctx| {
                let w = ReadWrite::builder(mine.borrow_mut().take().unwrap())
                    .input_event("input")
                    .build(ctx)
                    .unwrap();
                w.pause_input();
                ctx.heap.wheel = Some(w);
                t.borrow_mut().write_all(b"one\ntwo\n").unwrap();
                ctx.delay("more", 1.0, ()).unwrap();
                ctx.delay("resume", 2.0, ()).unwrap();
            })
            .state("more", move |ctx| {
                ctx.heap.log.push("more".into());
                theirs.borrow_mut().write_all(b"three\nfour\n").unwrap();
            })
            .state("resume", |ctx| {
                ctx.heap.log.push("resume".into());
                ctx.heap.wheel.as_ref().unwrap().resume_input();
            })
            .state("input", move |ctx| {
                log_event(ctx);
                if ctx.heap.log.len() == 6 {
                    ctx.heap.wheel = None;
                    *o.borrow_mut() = std::mem::take(&mut ctx.heap.log);
                }
            }),
    )
    .unwrap();
    k.run();
    assert_eq!(
        *out.borrow(),
        [
            "more",
            "resume",
            "input one",
            "input two",
            "input three",
            "input four"
        ]
    );
}

/// Run a session whose ReadWrite reads `sent` (one write, then EOF) with
/// InputEvent `input` and ErrorEvent `error`; `states` adds the handlers.
/// Returns the session's log when it stops.
fn read_sent(sent: &[u8], states: impl FnOnce(Session<Pair>) -> Session<Pair>) -> Vec<String> {
    let k = Kernel::new().unwrap();
    let (mine, mut theirs) = UnixStream::pair().unwrap();
    theirs.write_all(sent).unwrap();
    drop(theirs); // EOF queued behind the data
    let out = logged();
    let o = out.clone();
    let mine = RefCell::new(Some(mine));
    let session = Session::new(Pair::default())
        .state("_start", move |ctx| {
            let w = ReadWrite::builder(mine.borrow_mut().take().unwrap())
                .input_event("input")
                .error_event("error")
                .build(ctx)
                .unwrap();
            ctx.heap.wheel = Some(w);
        })
        .state("_stop", move |ctx| {
            *o.borrow_mut() = std::mem::take(&mut ctx.heap.log)
        });
    k.create(states(session)).unwrap();
    k.run();
    out.take()
}

#[test]
fn a_wheel_dropped_in_its_own_input_event_sends_nothing_more() {
    let log = read_sent(b"a\nb\nc\n", |s| {
        s.state("input", |ctx| {
            log_event(ctx);
            ctx.heap.wheel = None;
        })
        .state("error", log_event)
    });
    assert_eq!(log, ["input a"]);
}

/// The records of one read go out as a batch to one event name; renaming
/// the event in the middle sends the rest of the batch to the new name,
/// and a handler replacing its state is seen by the very next record.
#[test]
fn renaming_or_replacing_the_input_state_mid_read_takes_effect_at_the_next_record() {
    let log = read_sent(b"a\nb\nc\nd\n", |s| {
        s.state("input", |ctx| {
            log_event(ctx);
            let w = ctx.heap.wheel.as_ref().unwrap();
            w.event(ReadWriteEvent::Input, Some("renamed".into()));
        })
        .state("renamed", |ctx| {
            log_event(ctx);
            ctx.state("renamed", |ctx| {
                log_event(ctx);
                ctx.heap.log.push("(replaced)".into());
            });
        })
        .state("error", |ctx| ctx.heap.wheel = None)
    });
    assert_eq!(
        log,
        [
            "input a",
            "renamed b",
            "renamed c",
            "(replaced)",
            "renamed d",
            "(replaced)"
        ]
    );
}

#[test]
fn write_errors_and_eof_are_reported_with_errno() {
    let k = Kernel::new().unwrap();
    let (mine, theirs) = UnixStream::pair().unwrap();
    drop(theirs);
    let out = logged();
    let o = out.clone();
    let mine = RefCell::new(Some(mine));
    k.create(
        Session::new(Pair::default())
            .state("_start", move |ctx| {
                let w = ReadWrite::builder(mine.borrow_mut().take().unwrap())
                    .error_event("error")
                    .build(ctx)
                    .unwrap();
                w.put("into the void").unwrap();
                ctx.heap.wheel = Some(w);
            })
            .state("error", move |ctx| {
                log_event(ctx);
                ctx.heap.wheel = None;
                *o.borrow_mut() = std::mem::take(&mut ctx.heap.log);
            }),
    )
    .unwrap();
    k.run();
    assert_eq!(*out.borrow(), ["error write 32 Broken pipe"]);
}

#[test]
fn auto_flush_writes_inside_put() {
    let k = Kernel::new().unwrap();
    let (mine, mut theirs) = UnixStream::pair().unwrap();
    theirs.set_nonblocking(true).unwrap();
    let _keep = pair_like(&k, mine, |ctx, h| {
        let w = ReadWrite::builder(h).auto_flush(true).build(ctx).unwrap();
        w.put("now").unwrap();
        w
    });
    // create() ran _start: the line is already on the wire, before run().
    let mut buf = [0u8; 16];
    let n = theirs.read(&mut buf).unwrap();
    assert_eq!(&buf[..n], b"now\r\n");
}

fn pair_like(
    k: &Kernel,
    mine: UnixStream,
    build: impl Fn(&mut Ctx<Pair>, UnixStream) -> ReadWrite + 'static,
) -> poe_kernel::SessionId {
    let mine = RefCell::new(Some(mine));
    k.create(Session::new(Pair::default()).state("_start", move |ctx| {
        let h = mine.borrow_mut().take().unwrap();
        ctx.heap.wheel = Some(build(ctx, h));
    }))
    .unwrap()
    .id
}

#[test]
fn input_event_none_stops_reading_and_renaming_resumes_with_unread_data() {
    let k = Kernel::builder().clock(ClockKind::Virtual).build().unwrap();
    let (mine, mut theirs) = UnixStream::pair().unwrap();
    theirs.write_all(b"x\n").unwrap();
    let out = logged();
    let o = out.clone();
    let mine = RefCell::new(Some(mine));
    k.create(
        Session::new(Pair::default())
            .state("_start", move |ctx| {
                let w = ReadWrite::builder(mine.borrow_mut().take().unwrap())
                    .input_event("input")
                    .build(ctx)
                    .unwrap();
                w.event(ReadWriteEvent::Input, None);
                ctx.heap.wheel = Some(w);
                ctx.delay("rename", 1.0, ()).unwrap();
            })
            .state("rename", |ctx| {
                ctx.heap.log.push("rename".into());
                let w = ctx.heap.wheel.as_ref().unwrap();
                w.event(ReadWriteEvent::Input, Some("renamed".into()));
            })
            .state("renamed", move |ctx| {
                log_event(ctx);
                ctx.heap.wheel = None;
                *o.borrow_mut() = std::mem::take(&mut ctx.heap.log);
            }),
    )
    .unwrap();
    k.run();
    assert_eq!(*out.borrow(), ["rename", "renamed x"]);
}

#[test]
fn bad_watermark_settings_are_construction_errors() {
    let k = Kernel::new().unwrap();
    k.create(Session::new(()).state("_start", |ctx| {
        let (a, _b) = UnixStream::pair().unwrap();
        let only_high = ReadWrite::builder(a).high_mark(10).build(ctx);
        assert!(only_high.unwrap_err().to_string().contains("together"));
        let (a, _b) = UnixStream::pair().unwrap();
        let no_low_event = ReadWrite::builder(a).high_mark(10).low_mark(5).build(ctx);
        assert!(no_low_event.unwrap_err().to_string().contains("LowEvent"));
        let (a, _b) = UnixStream::pair().unwrap();
        let stray = ReadWrite::builder(a).high_event("h").build(ctx);
        assert!(stray.unwrap_err().to_string().contains("HighMark"));
        let (a, _b) = UnixStream::pair().unwrap();
        let zero = ReadWrite::builder(a)
            .high_mark(0)
            .low_mark(0)
            .low_event("l")
            .build(ctx);
        assert!(zero.is_err());
        let (a, _b) = UnixStream::pair().unwrap();
        let ok = ReadWrite::builder(a)
            .high_mark(10)
            .low_mark(5)
            .low_event("l")
            .build(ctx)
            .unwrap();
        assert!(!ok.set_high_mark(4), "must stay above LowMark");
        assert!(ok.set_high_mark(20));
        assert!(!ok.set_low_mark(25));
        assert!(ok.set_low_mark(15));
    }))
    .unwrap();
}

#[test]
fn data_and_eof_arriving_together_are_both_delivered() {
    // One readiness edge covers the last line and the peer's FIN: the short
    // read that drains the line must not end reading before the EOF.
    let log = read_sent(b"last line\n", |s| {
        s.state("input", log_event).state("error", |ctx| {
            log_event(ctx);
            ctx.heap.wheel = None;
        })
    });
    assert_eq!(log, ["input last line", "error read 0"]);
}
