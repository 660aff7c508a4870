//! Trace logging through `log` (POE's TRACE_* flags) and warnings on
//! misuse (POE's ASSERT_USAGE cases).

use log::{Level, LevelFilter, Log, Metadata, Record};
use poe_kernel::*;
use std::os::unix::net::UnixStream;
use std::sync::{Mutex, Once};

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

/// Install the capturing logger once for this test binary (its tests run
/// in parallel and share it).
fn capture() {
    static INIT: Once = Once::new();
    INIT.call_once(|| {
        log::set_logger(&CAPTURE).unwrap();
        log::set_max_level(LevelFilter::Trace);
    });
}

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
    capture();
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

/// A usage warning: level `Warn`, target `poe::usage`.
fn warned(needle: &str) -> bool {
    has(Level::Warn, "poe::usage", needle)
}

#[test]
fn misuse_of_calls_signals_alarms_and_select_warns_on_poe_usage() {
    capture();
    let k = Kernel::new().unwrap();
    let (a, _b) = UnixStream::pair().unwrap();
    // Outside any session: alarms and select have no session to belong to.
    assert!(k.alarm_set("late", 1.0, ()).is_err());
    assert!(k.delay("later", 1.0, ()).is_err());
    assert!(k.alarm_remove_all().is_err());
    assert!(k.select_read(&a, "readable", ()).is_err());
    assert!(k.select_write_remove(&a).is_err());
    let target = k
        .create(Session::new(()).state("_start", |ctx| ctx.alias_set("target").unwrap()))
        .unwrap()
        .id;
    k.create(Session::new(()).state("_start", move |ctx| {
        assert!(ctx.call("ghost", "x", ()).is_err());
        assert!(ctx.call(424_242, "x", ()).is_err());
        assert!(ctx.call(target, "no_such_state", ()).is_err());
        let me = ctx.session();
        assert!(ctx.call(me, "nor_here", ()).is_err());
        assert!(ctx.signal("phantom", "USR1", ()).is_err());
        assert!(ctx.kernel().postback("nobody", "x", ()).is_err());
    }))
    .unwrap();
    k.run();
    // A handle to a session that has gone.
    k.create(Session::new(()).state("_start", move |ctx| {
        assert!(ctx.call(target, "x", ()).is_err());
    }))
    .unwrap();
    k.run();

    assert!(warned(&format!(
        "call to session {target}: no such session"
    )));
    assert!(warned("alarm_set outside any session"));
    assert!(warned("delay outside any session"));
    assert!(warned("alarm_remove_all outside any session"));
    assert!(warned("select_read outside any session"));
    assert!(warned("select_write outside any session"));
    assert!(warned("call to 'ghost': no such session"));
    assert!(warned("call to session 424242: no such session"));
    assert!(warned(&format!(
        "call: session {target} has no handler for 'no_such_state'"
    )));
    assert!(warned("has no handler for 'nor_here'"));
    assert!(warned("signal USR1 to 'phantom': no such session"));
    assert!(warned("postback for 'nobody': no such session"));
}
