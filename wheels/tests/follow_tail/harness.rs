//! The FollowTail tests' harness: temporary files, a tail session that
//! logs every wheel event with its virtual time, and a writer session that
//! changes files at set times from its own delays.

use poe_kernel::{ClockKind, Ctx, Kernel, Session, SessionId};
use poe_wheels::{FollowTail, FollowTailBuilder, WheelId};
use std::cell::{Cell, RefCell};
use std::ffi::CString;
use std::fs::OpenOptions;
use std::io::Write;
use std::os::unix::ffi::OsStrExt;
use std::path::{Path, PathBuf};
use std::rc::Rc;
use std::sync::atomic::{AtomicUsize, Ordering};

pub type Log = Rc<RefCell<Vec<String>>>;

/// A fresh directory per test, removed afterwards.
pub struct TempDir(PathBuf);

impl TempDir {
    pub fn new() -> TempDir {
        static N: AtomicUsize = AtomicUsize::new(0);
        let n = N.fetch_add(1, Ordering::Relaxed);
        let dir = std::env::temp_dir().join(format!("poe-follow-tail-{}-{n}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        TempDir(dir)
    }

    pub fn file(&self, name: &str, content: &str) -> PathBuf {
        let path = self.0.join(name);
        std::fs::write(&path, content).unwrap();
        path
    }

    pub fn path(&self, name: &str) -> PathBuf {
        self.0.join(name)
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

pub fn kernel() -> Kernel {
    Kernel::builder().clock(ClockKind::Virtual).build().unwrap()
}

/// Run until every session ended. A session that never ends fails the
/// test instead of hanging it: a watchdog alarm at 1000 s (the virtual
/// clock jumps there once nothing else is due) stops the kernel if others
/// are still alive, and a busy loop is cut off after a million timeslices.
pub fn run(k: &Kernel) {
    let stuck = Rc::new(Cell::new(false));
    let s = stuck.clone();
    k.create(
        Session::new(())
            .state("_start", |ctx| ctx.delay("bite", 1000.0, ()).unwrap())
            .state("bite", move |ctx| {
                if ctx.session_count() > 1 {
                    s.set(true);
                    ctx.stop();
                }
            }),
    )
    .unwrap();
    let mut slices = 0;
    k.run_while(|| {
        slices += 1;
        slices < 1_000_000
    });
    assert!(!stuck.get(), "a session was still alive after 1000 s");
    assert!(slices < 1_000_000, "a busy loop");
    assert_eq!(k.session_count(), 0, "a session is still alive");
}

/// Seconds since `t0`, rounded for printing.
pub fn since(ctx_now: f64, t0: f64) -> f64 {
    ((ctx_now - t0) * 1000.0).round() / 1000.0
}

/// The heap of a [`tail`] session.
pub struct Tail {
    pub wheel: Option<FollowTail>,
    pub t0: f64,
    pub log: Log,
}

impl Tail {
    pub fn push(&self, now: f64, what: impl std::fmt::Display) {
        self.log
            .borrow_mut()
            .push(format!("{} {what}", since(now, self.t0)));
    }
}

/// The wheel's ID argument (the last one) must be the wheel's.
pub fn check_id(ctx: &Ctx<Tail>) {
    let last = ctx.arg(ctx.args.len() - 1);
    if let Some(w) = &ctx.heap.wheel {
        assert_eq!(
            WheelId::from_value(last),
            Some(w.id()),
            "the wheel ID comes last"
        );
    }
}

/// A session following with the wheel `configure` sets up (InputEvent,
/// ErrorEvent and ResetEvent are named here; IdleEvent is the test's
/// choice), logging every event with its time. Posting it "stop" drops
/// the wheel; its `_stop` is logged too.
pub fn tail(
    k: &Kernel,
    configure: impl Fn(FollowTailBuilder) -> FollowTailBuilder + 'static,
) -> (SessionId, Log) {
    tail_with(k, configure, |s| s)
}

/// [`tail`], with states added or replaced by `more`.
pub fn tail_with(
    k: &Kernel,
    configure: impl Fn(FollowTailBuilder) -> FollowTailBuilder + 'static,
    more: impl FnOnce(Session<Tail>) -> Session<Tail>,
) -> (SessionId, Log) {
    let log: Log = Rc::default();
    let heap = Tail {
        wheel: None,
        t0: k.now(),
        log: log.clone(),
    };
    let session = Session::new(heap)
        .state("_start", move |ctx| {
            let b = FollowTail::builder()
                .input_event("input")
                .error_event("error")
                .reset_event("reset");
            ctx.heap.wheel = Some(configure(b).build(ctx).unwrap());
        })
        .state("input", |ctx| {
            check_id(ctx);
            ctx.heap.push(ctx.now(), format!("input {}", ctx.arg(0)));
        })
        .state("reset", |ctx| {
            check_id(ctx);
            ctx.heap.push(ctx.now(), "reset");
        })
        .state("idle", |ctx| {
            check_id(ctx);
            ctx.heap.push(ctx.now(), "idle");
        })
        .state("error", |ctx| {
            check_id(ctx);
            let what = format!("error {} {} '{}'", ctx.arg(0), ctx.arg(1), ctx.arg(2));
            ctx.heap.push(ctx.now(), what);
        })
        .state("stop", |ctx| ctx.heap.wheel = None)
        .state("_stop", |ctx| ctx.heap.push(ctx.now(), "_stop"));
    let id = k.create(more(session)).unwrap().id;
    (id, log)
}

pub type Step = Box<dyn Fn(&Kernel)>;

/// A session that performs `steps` at their times (seconds from now).
pub fn writer(k: &Kernel, steps: Vec<(f64, Step)>) {
    k.create(
        Session::new(steps)
            .state("_start", |ctx| {
                for (i, (at, _)) in ctx.heap.iter().enumerate() {
                    ctx.delay_add("step", *at, (i as i64,)).unwrap();
                }
            })
            .state("step", |ctx| {
                let i = ctx.arg(0).as_i64().unwrap() as usize;
                (ctx.heap[i].1)(ctx.kernel());
            }),
    )
    .unwrap();
}

pub fn append(path: &Path, data: &str) -> Step {
    let (path, data) = (path.to_owned(), data.to_owned());
    Box::new(move |_| {
        let mut f = OpenOptions::new().append(true).open(&path).unwrap();
        f.write_all(data.as_bytes()).unwrap();
    })
}

/// Truncate (same inode) and write.
pub fn overwrite(path: &Path, data: &str) -> Step {
    let (path, data) = (path.to_owned(), data.to_owned());
    Box::new(move |_| std::fs::write(&path, &data).unwrap())
}

pub fn rename(from: &Path, to: &Path) -> Step {
    let (from, to) = (from.to_owned(), to.to_owned());
    Box::new(move |_| std::fs::rename(&from, &to).unwrap())
}

pub fn stop(session: SessionId) -> Step {
    Box::new(move |k| k.post(session, "stop", ()).unwrap())
}

pub fn lines(log: &Log) -> Vec<String> {
    log.borrow().clone()
}

pub fn mkfifo(path: &Path) {
    let c = CString::new(path.as_os_str().as_bytes()).unwrap();
    // SAFETY: `c` is a valid NUL-terminated path that outlives the call.
    let rc = unsafe { libc::mkfifo(c.as_ptr(), 0o600) };
    assert_eq!(rc, 0, "mkfifo: {}", std::io::Error::last_os_error());
}

/// Configure a wheel to follow `path` by name.
pub fn by_name(path: &Path) -> impl Fn(FollowTailBuilder) -> FollowTailBuilder + 'static {
    let path = path.to_owned();
    move |b| b.filename(&path)
}

/// A tail session whose InputEvent handler drops the wheel at the first
/// record, logging what the wheel had registered just before and after
/// (hidden state present, pending alarms, watched descriptors). Any event
/// of a handler that no longer exists would land in `_default`: logged.
pub fn drop_at_first_record(
    k: &Kernel,
    configure: impl Fn(FollowTailBuilder) -> FollowTailBuilder + 'static,
) -> Log {
    let (_, log) = tail_with(k, configure, |s| {
        s.state("input", |ctx| {
            ctx.heap.push(ctx.now(), format!("input {}", ctx.arg(0)));
            let me = ctx.session();
            let hidden = ctx.caller_state().unwrap().to_string();
            let registered = |ctx: &Ctx<Tail>| {
                let info = ctx.session_info(me).unwrap();
                let has = info.states.contains(&hidden);
                (has, info.pending_alarms, info.watched_fds.len())
            };
            let before = registered(ctx);
            ctx.heap.wheel = None;
            let after = registered(ctx);
            let which = hidden.rsplit(") -> ").next().unwrap();
            ctx.heap
                .push(ctx.now(), format!("{which}: {before:?} -> {after:?}"));
        })
        .state("_default", |ctx| {
            ctx.heap.push(ctx.now(), format!("_default {}", ctx.arg(0)))
        })
    });
    log
}
