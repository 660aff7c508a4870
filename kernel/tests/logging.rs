//! Trace logging through `log` (POE's TRACE_* flags) and warnings on
//! misuse (POE's ASSERT_USAGE cases).

use log::{Level, LevelFilter, Log, Metadata, Record};
use poe_kernel::*;
use std::os::unix::net::UnixStream;
use std::sync::Mutex;

struct Capture(Mutex<Vec<(Level, String, String)>>);

impl Log for Capture {
    fn enabled(&self, _: &Metadata) -> bool {
        true
    }
    fn log(&self, r: &Record) {
        self.0
            .lock()
            .unwrap()
            .push((r.level(), r.target().to_owned(), r.args().to_string()));
    }
    fn flush(&self) {}
}

static CAPTURE: Capture = Capture(Mutex::new(Vec::new()));

fn has(level: Level, target: &str, needle: &str) -> bool {
    CAPTURE
        .0
        .lock()
        .unwrap()
        .iter()
        .any(|(l, t, m)| *l == level && t == target && m.contains(needle))
}

#[test]
fn dispatches_alarms_watchers_and_gc_are_traced_and_misuse_warns() {
    log::set_logger(&CAPTURE).unwrap();
    log::set_max_level(LevelFilter::Trace);

    let k = Kernel::new().unwrap();
    let (a, _b) = UnixStream::pair().unwrap();
    k.create(
        Session::new(a)
            .state("_start", |ctx| {
                ctx.select_write(&*ctx.heap, "writable", ()).unwrap();
                ctx.delay("tick", 0.0, ()).unwrap();
            })
            .state("writable", |ctx| {
                ctx.select_write_remove(&*ctx.heap).unwrap()
            })
            .state("tick", |_| ()),
    )
    .unwrap();
    assert!(k.post("no-such-alias", "x", ()).is_err());
    k.run();

    assert!(has(Level::Trace, "poe::events", "dispatch Alarm 'tick'"));
    assert!(has(Level::Trace, "poe::alarms", "sets 'tick'"));
    assert!(has(Level::Trace, "poe::select", "watches fd"));
    assert!(has(Level::Trace, "poe::select", "stops watching fd"));
    assert!(has(Level::Trace, "poe::gc", "marked for collection"));
    assert!(has(Level::Trace, "poe::gc", "freed"));
    assert!(has(
        Level::Warn,
        "poe::usage",
        "no such session: 'no-such-alias'"
    ));
}
