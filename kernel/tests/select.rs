//! select_read / select_write / select_expedite: level-triggered like POE,
//! pause and resume, reference counting, edge mode for wheels.
//!
//! These run on the virtual clock: an alarm only fires once a timeslice has
//! found no descriptor ready, so "no more events came" is checked without
//! sleeping.

mod common;

use common::pump;
use poe_kernel::*;
use std::cell::RefCell;
use std::io::{Read, Write};
use std::os::fd::AsRawFd;
use std::os::unix::net::UnixStream;
use std::rc::Rc;

fn vkernel() -> Kernel {
    Kernel::builder().clock(ClockKind::Virtual).build().unwrap()
}

type Log = Rc<RefCell<Vec<String>>>;

#[test]
fn select_read_on_a_pipe_passes_fd_mode_and_extra_args() {
    let (reader, mut writer) = std::io::pipe().unwrap();
    writer.write_all(b"hello").unwrap();
    let fd = reader.as_raw_fd();
    let k = vkernel();
    let log: Log = Rc::default();
    let l = log.clone();
    k.create(
        Session::new(reader)
            .state("_start", |ctx| {
                ctx.select_read(&*ctx.heap, "readable", ("extra", 7))
                    .unwrap();
            })
            .state("readable", move |ctx| {
                let mut buf = [0u8; 64];
                let n = ctx.heap.read(&mut buf).unwrap();
                l.borrow_mut().push(format!(
                    "{} {} {} {} {}",
                    ctx.arg(0),
                    ctx.arg(1),
                    ctx.arg(2),
                    ctx.arg(3),
                    String::from_utf8_lossy(&buf[..n])
                ));
                assert_eq!(ctx.sender(), ctx.session());
                ctx.select_read_remove(&*ctx.heap).unwrap();
            }),
    )
    .unwrap();
    k.run();
    assert_eq!(*log.borrow(), [format!("{fd} 0 extra 7 hello")]);
}

/// A reader that takes one byte per event from a socket pair.
fn one_byte_reader(log: Log, stream: UnixStream) -> Session<UnixStream> {
    Session::new(stream)
        .state("_start", |ctx| {
            ctx.select_read(&*ctx.heap, "readable", ()).unwrap();
            ctx.delay("check", 1.0, ()).unwrap();
        })
        .state("readable", move |ctx| {
            let mut b = [0u8; 1];
            // A spurious event would find nothing and fail here.
            let n = ctx
                .heap
                .read(&mut b)
                .expect("level-triggered event only when readable");
            log.borrow_mut()
                .push(String::from_utf8_lossy(&b[..n]).into_owned());
        })
        .state("check", |ctx| ctx.select_read_remove(&*ctx.heap).unwrap())
}

#[test]
fn level_triggered_read_repeats_while_data_remains_and_then_stops() {
    let (a, mut b) = UnixStream::pair().unwrap();
    b.write_all(b"abcde").unwrap();
    let k = vkernel();
    let log: Log = Rc::default();
    k.create(one_byte_reader(log.clone(), a)).unwrap();
    k.run();
    assert_eq!(*log.borrow(), ["a", "b", "c", "d", "e"]);
}

#[test]
fn pause_holds_events_and_resume_delivers_them() {
    let (a, mut b) = UnixStream::pair().unwrap();
    b.write_all(b"xy").unwrap();
    let k = vkernel();
    let log: Log = Rc::default();
    let (l1, l2) = (log.clone(), log.clone());
    k.create(
        Session::new(a)
            .state("_start", |ctx| {
                ctx.select_read(&*ctx.heap, "readable", ()).unwrap();
                assert!(ctx.select_pause_read(&*ctx.heap));
                ctx.delay("resume", 5.0, ()).unwrap();
            })
            .state("resume", move |ctx| {
                l1.borrow_mut().push("resume".into());
                assert!(ctx.select_resume_read(&*ctx.heap));
            })
            .state("readable", move |ctx| {
                let mut buf = [0u8; 8];
                let n = ctx.heap.read(&mut buf).unwrap();
                l2.borrow_mut()
                    .push(String::from_utf8_lossy(&buf[..n]).into_owned());
                ctx.select_read_remove(&*ctx.heap).unwrap();
            }),
    )
    .unwrap();
    k.run();
    assert_eq!(*log.borrow(), ["resume", "xy"]);
    // Nobody watches it now.
    let (c, _d) = UnixStream::pair().unwrap();
    assert!(!k.select_pause_read(&c));
}

#[test]
fn a_watcher_paused_or_not_keeps_its_session_alive() {
    let (a, _b) = UnixStream::pair().unwrap();
    let k = vkernel();
    let log: Log = Rc::default();
    let l = log.clone();
    let id = k
        .create(
            Session::new(a)
                .state("_start", |ctx| {
                    ctx.select_read(&*ctx.heap, "readable", ()).unwrap();
                    ctx.select_write(&*ctx.heap, "writable", ()).unwrap();
                    ctx.select_pause_read(&*ctx.heap);
                    ctx.select_pause_write(&*ctx.heap);
                })
                .state("release", |ctx| {
                    ctx.select_read_remove(&*ctx.heap).unwrap();
                })
                .state("release2", |ctx| {
                    ctx.select_write_remove(&*ctx.heap).unwrap();
                })
                .state("_stop", move |_| l.borrow_mut().push("stop".into())),
        )
        .unwrap()
        .id;
    pump(&k, 100);
    let info = k.session_info(id).unwrap();
    assert_eq!(info.watched_fds.len(), 1, "one reference per descriptor");
    assert_eq!(info.watched_fds[0].1, [Mode::Read, Mode::Write]);
    k.post(id, "release", ()).unwrap();
    for _ in 0..3 {
        k.run_one_timeslice();
    }
    assert!(log.borrow().is_empty(), "the write watch still holds it");
    k.post(id, "release2", ()).unwrap();
    k.run_one_timeslice();
    assert_eq!(*log.borrow(), ["stop"]);
    assert!(k.watched_fds().is_empty());
}

#[test]
fn every_session_watching_a_descriptor_gets_its_own_event() {
    let (a, mut b) = UnixStream::pair().unwrap();
    b.write_all(b"!").unwrap();
    let a = Rc::new(a);
    let k = vkernel();
    let log: Log = Rc::default();
    for name in ["one", "two"] {
        let l = log.clone();
        k.create(
            Session::new(a.clone())
                .state("_start", |ctx| {
                    ctx.select_read(&**ctx.heap, "readable", ()).unwrap();
                })
                .state("readable", move |ctx| {
                    l.borrow_mut().push(name.to_owned());
                    ctx.select_read_remove(&**ctx.heap).unwrap();
                }),
        )
        .unwrap();
    }
    k.run();
    assert_eq!(*log.borrow(), ["one", "two"]);
}

#[test]
fn write_watcher_fires_every_timeslice_while_writable() {
    let (a, _b) = UnixStream::pair().unwrap();
    let k = vkernel();
    let count = Rc::new(RefCell::new(0));
    let c = count.clone();
    k.create(
        Session::new(a)
            .state("_start", |ctx| {
                ctx.select_write(&*ctx.heap, "writable", ()).unwrap()
            })
            .state("writable", move |ctx| {
                assert_eq!(ctx.arg(1), &Value::Int(1), "ARG1 is the mode");
                *c.borrow_mut() += 1;
                if *c.borrow() == 4 {
                    ctx.select_write_remove(&*ctx.heap).unwrap();
                }
            }),
    )
    .unwrap();
    k.run();
    assert_eq!(*count.borrow(), 4);
}

#[test]
fn edge_watchers_fire_once_per_edge_unless_retriggered() {
    let (a, mut b) = UnixStream::pair().unwrap();
    b.write_all(b"abc").unwrap();
    let k = vkernel();
    let log: Log = Rc::default();
    let l = log.clone();
    k.create(
        Session::new(a)
            .state("_start", |ctx| {
                ctx.select_watch(&*ctx.heap, Mode::Read, Trigger::Edge, "readable", ())
                    .unwrap();
                ctx.delay("done", 1.0, ()).unwrap();
            })
            .state("readable", move |ctx| {
                let mut byte = [0u8; 1];
                ctx.heap.read_exact(&mut byte).unwrap();
                l.borrow_mut().push((byte[0] as char).to_string());
                if byte[0] == b'a' {
                    // Stopped before WouldBlock: ask for another round.
                    ctx.select_retrigger(&*ctx.heap, Mode::Read);
                }
            })
            .state("done", |ctx| {
                ctx.select_remove(&*ctx.heap, Mode::Read).unwrap()
            }),
    )
    .unwrap();
    k.run();
    // "a" (edge), "b" (retriggered); "c" is never reported: no new edge.
    assert_eq!(*log.borrow(), ["a", "b"]);
}

#[test]
fn a_regular_file_is_always_readable_as_with_select() {
    let path = std::env::temp_dir().join(format!("poe-select-{}", std::process::id()));
    std::fs::write(&path, b"file data").unwrap();
    let file = std::fs::File::open(&path).unwrap();
    let k = vkernel();
    let log: Log = Rc::default();
    let l = log.clone();
    k.create(
        Session::new(file)
            .state("_start", |ctx| {
                ctx.select_read(&*ctx.heap, "readable", ()).unwrap()
            })
            .state("readable", move |ctx| {
                let mut s = String::new();
                ctx.heap.read_to_string(&mut s).unwrap();
                l.borrow_mut().push(s);
                ctx.select_read_remove(&*ctx.heap).unwrap();
            }),
    )
    .unwrap();
    k.run();
    std::fs::remove_file(&path).unwrap();
    assert_eq!(*log.borrow(), ["file data"]);
}

#[test]
fn watching_again_replaces_the_event_name() {
    let (a, mut b) = UnixStream::pair().unwrap();
    b.write_all(b"z").unwrap();
    let k = vkernel();
    let log: Log = Rc::default();
    let (l1, l2) = (log.clone(), log.clone());
    k.create(
        Session::new(a)
            .state("_start", |ctx| {
                ctx.select_read(&*ctx.heap, "old", ()).unwrap();
                ctx.select_read(&*ctx.heap, "new", ()).unwrap();
            })
            .state("old", move |ctx| {
                l1.borrow_mut().push("old".into());
                ctx.select_read_remove(&*ctx.heap).unwrap();
            })
            .state("new", move |ctx| {
                l2.borrow_mut().push("new".into());
                ctx.select_read_remove(&*ctx.heap).unwrap();
            }),
    )
    .unwrap();
    k.run();
    assert_eq!(*log.borrow(), ["new"]);
}

#[test]
fn select_sets_all_modes_with_shared_args_and_reads_come_before_writes() {
    let (a, mut b) = UnixStream::pair().unwrap();
    b.write_all(b"q").unwrap();
    let k = vkernel();
    let log: Log = Rc::default();
    let (l1, l2) = (log.clone(), log.clone());
    k.create(
        Session::new(a)
            .state("_start", |ctx| {
                ctx.select(
                    &*ctx.heap,
                    Some("r".into()),
                    Some("w".into()),
                    None,
                    ("tag",),
                )
                .unwrap();
            })
            .state("r", move |ctx| {
                l1.borrow_mut().push(format!("r {}", ctx.arg(2)));
                let mut buf = [0u8; 4];
                let _ = ctx.heap.read(&mut buf).unwrap();
            })
            .state("w", move |ctx| {
                l2.borrow_mut().push(format!("w {}", ctx.arg(2)));
                ctx.select(&*ctx.heap, None, None, None, ()).unwrap();
            }),
    )
    .unwrap();
    k.run();
    assert_eq!(*log.borrow(), ["r tag", "w tag"]);
}

#[test]
fn eof_keeps_a_level_watcher_readable_until_removed() {
    let (a, b) = UnixStream::pair().unwrap();
    drop(b);
    let k = vkernel();
    let count = Rc::new(RefCell::new(0));
    let c = count.clone();
    k.create(
        Session::new(a)
            .state("_start", |ctx| {
                ctx.select_read(&*ctx.heap, "readable", ()).unwrap()
            })
            .state("readable", move |ctx| {
                let mut buf = [0u8; 4];
                assert_eq!(ctx.heap.read(&mut buf).unwrap(), 0, "EOF");
                *c.borrow_mut() += 1;
                if *c.borrow() == 3 {
                    ctx.select_read_remove(&*ctx.heap).unwrap();
                }
            }),
    )
    .unwrap();
    k.run();
    assert_eq!(*count.borrow(), 3);
}

/// True if thread `tid` of this process is blocked in `epoll_wait` (or
/// one of its variants) right now, by its `/proc` syscall entry.
fn blocked_in_epoll(tid: &str) -> bool {
    let Ok(line) = std::fs::read_to_string(format!("/proc/self/task/{tid}/syscall")) else {
        return false;
    };
    let Some(Ok(nr)) = line
        .split_whitespace()
        .next()
        .map(str::parse::<libc::c_long>)
    else {
        return false; // "running"
    };
    #[cfg(target_arch = "x86_64")]
    let waits = [libc::SYS_epoll_wait, libc::SYS_epoll_pwait, 441];
    #[cfg(not(target_arch = "x86_64"))]
    let waits = [libc::SYS_epoll_pwait, 441];
    waits.contains(&nr)
}

#[test]
fn data_arriving_later_wakes_a_blocked_loop() {
    let (a, b) = UnixStream::pair().unwrap();
    let k = Kernel::new().unwrap();
    let (tid_tx, tid_rx) = std::sync::mpsc::channel::<String>();
    // The writer waits until the loop's thread is inside epoll_wait, so
    // the data can only be seen by waking a blocked poll.
    let writer = std::thread::spawn(move || {
        let mut b = b;
        let tid = tid_rx.recv().unwrap();
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(60);
        let mut saw_blocked = false;
        while std::time::Instant::now() < deadline {
            if blocked_in_epoll(&tid) {
                saw_blocked = true;
                break;
            }
            std::thread::yield_now();
        }
        // Write either way, so a failure is an assertion, not a hang.
        b.write_all(b"late").unwrap();
        (b, saw_blocked)
    });
    let got = Rc::new(RefCell::new(String::new()));
    let g = got.clone();
    k.create(
        Session::new(a)
            .state("_start", move |ctx| {
                ctx.select_read(&*ctx.heap, "readable", ()).unwrap();
                // This thread's ID, "<pid>/task/<tid>".
                let me = std::fs::read_link("/proc/thread-self").unwrap();
                let tid = me.file_name().unwrap().to_string_lossy().into_owned();
                tid_tx.send(tid).unwrap();
            })
            .state("readable", move |ctx| {
                let mut buf = [0u8; 16];
                let n = ctx.heap.read(&mut buf).unwrap();
                g.borrow_mut().push_str(&String::from_utf8_lossy(&buf[..n]));
                if g.borrow().len() == 4 {
                    ctx.select_read_remove(&*ctx.heap).unwrap();
                }
            }),
    )
    .unwrap();
    k.run();
    let (_b, saw_blocked) = writer.join().unwrap();
    assert!(saw_blocked, "the loop never blocked in epoll_wait");
    assert_eq!(*got.borrow(), "late");
}

#[test]
fn select_resume_write_delivers_what_select_pause_write_held() {
    let (a, _b) = UnixStream::pair().unwrap();
    let k = vkernel();
    let log: Log = Rc::default();
    let (l1, l2) = (log.clone(), log.clone());
    k.create(
        Session::new(a)
            .state("_start", |ctx| {
                ctx.select_write(&*ctx.heap, "writable", ("w",)).unwrap();
                assert!(ctx.select_pause_write(&*ctx.heap));
                // Fires only once a timeslice finds nothing ready: a
                // writable event leaking through the pause comes first.
                ctx.delay("resume", 5.0, ()).unwrap();
            })
            .state("resume", move |ctx| {
                l1.borrow_mut().push("resume".into());
                assert!(ctx.select_resume_write(&*ctx.heap));
            })
            .state("writable", move |ctx| {
                l2.borrow_mut()
                    .push(format!("writable {} {}", ctx.arg(1), ctx.arg(2)));
                ctx.select_write_remove(&*ctx.heap).unwrap();
                assert!(
                    !ctx.select_resume_write(&*ctx.heap),
                    "nobody watches it now"
                );
            }),
    )
    .unwrap();
    k.run();
    assert_eq!(*log.borrow(), ["resume", "writable 1 w"]);
}

#[test]
fn select_expedite_fires_on_tcp_urgent_data_until_it_is_read() {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let client = std::net::TcpStream::connect(listener.local_addr().unwrap()).unwrap();
    let (server, _) = listener.accept().unwrap();
    let fd = server.as_raw_fd();
    // Urgent data read in line, so a plain read takes it (and ends the
    // exceptional condition) without an out-of-band buffer.
    socket2::SockRef::from(&server)
        .set_out_of_band_inline(true)
        .unwrap();
    socket2::SockRef::from(&client)
        .send_out_of_band(b"U")
        .unwrap();
    // A real clock: the loop waits in epoll for the urgent byte to arrive.
    let k = Kernel::new().unwrap();
    let log: Log = Rc::default();
    let (l1, l2) = (log.clone(), log.clone());
    k.create(
        Session::new((server, 0u32))
            .state("_start", |ctx| {
                ctx.select_expedite(&ctx.heap.0, "urgent", ("x",)).unwrap()
            })
            .state("urgent", move |ctx| {
                assert_eq!(ctx.arg(0).as_i64(), Some(fd as i64));
                l1.borrow_mut()
                    .push(format!("urgent {} {}", ctx.arg(1), ctx.arg(2)));
                ctx.heap.1 += 1;
                if ctx.heap.1 == 3 {
                    // Level-triggered: it repeated while the byte waited.
                    let mut buf = [0u8; 1];
                    assert_eq!(ctx.heap.0.read(&mut buf).unwrap(), 1);
                    l1.borrow_mut().push(format!("oob {}", buf[0] as char));
                    // Runs after the next poll: an expedite event still
                    // pending would come first.
                    ctx.yield_("check", ());
                }
            })
            .state("check", move |ctx| {
                l2.borrow_mut().push("check".into());
                ctx.select_expedite_remove(&ctx.heap.0).unwrap();
            }),
    )
    .unwrap();
    k.run();
    drop(client);
    assert_eq!(
        *log.borrow(),
        ["urgent 2 x", "urgent 2 x", "urgent 2 x", "oob U", "check"]
    );
}
