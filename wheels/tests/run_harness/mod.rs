//! The Run tests' harness: one session running one child, logging every
//! wheel event.
#![allow(dead_code)]

use poe_kernel::{Ctx, Kernel, Session};
use poe_wheels::{Run, RunBuilder, WheelId};
use std::cell::RefCell;
use std::rc::Rc;

pub type Log = Rc<RefCell<Vec<String>>>;

pub struct Heap {
    pub wheel: Option<Run>,
    pub log: Log,
}

/// What a test does after an entry is logged (the wheel is in the heap).
pub type React = fn(&mut Ctx<Heap>, &str);

pub fn nothing(_: &mut Ctx<Heap>, _: &str) {}

/// One session running one child: `build` makes the wheel in `_start`;
/// every wheel event is logged (`out:REC`, `err:REC`, `stdin`,
/// `error:OP:ERRNO:MSG:HANDLE`, `close`), checked to carry the wheel's ID,
/// and passed to `react`. CloseEvent drops the wheel.
pub fn child(k: &Kernel, build: impl Fn(&mut Ctx<Heap>) -> Run + 'static, react: React) -> Log {
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
pub fn all_events(b: RunBuilder) -> RunBuilder {
    b.stdout_event("stdout")
        .stderr_event("stderr")
        .stdin_event("stdin")
        .error_event("error")
        .close_event("close")
}

pub fn run_child(build: impl Fn(&mut Ctx<Heap>) -> Run + 'static, react: React) -> Vec<String> {
    let k = Kernel::new().unwrap();
    let log = child(&k, build, react);
    k.run();
    assert_eq!(k.session_count(), 0, "the session ended");
    let out = log.borrow().clone();
    out
}

pub const EOF_OUT: &str = "error:read:0::STDOUT";
pub const EOF_ERR: &str = "error:read:0::STDERR";
