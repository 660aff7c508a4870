//! Signal API details not covered by the Perl trace comparisons.

use poe_kernel::*;
use std::cell::RefCell;
use std::rc::Rc;

type Log = Rc<RefCell<Vec<String>>>;

fn watcher(log: Log, name: &'static str, handle: bool) -> Session<()> {
    Session::new(())
        .state("_start", move |ctx| {
            ctx.alias_set(name).unwrap();
            for sig in ["ZOMBIE", "FOO", "HUP"] {
                ctx.sig(sig, "caught", ()).unwrap();
            }
        })
        .state("caught", {
            let log = log.clone();
            move |ctx| {
                log.borrow_mut().push(format!("{name} {}", ctx.arg(0)));
                if handle {
                    ctx.sig_handled();
                }
            }
        })
        .state("_stop", move |_| {
            log.borrow_mut().push(format!("{name} stop"))
        })
}

#[test]
fn signal_classes() {
    assert_eq!(SignalClass::of("INT"), SignalClass::Terminal);
    assert_eq!(SignalClass::of("IDLE"), SignalClass::Terminal);
    assert_eq!(SignalClass::of("DIE"), SignalClass::Terminal);
    assert_eq!(SignalClass::of("ZOMBIE"), SignalClass::Nonmaskable);
    assert_eq!(SignalClass::of("UIDESTROY"), SignalClass::Nonmaskable);
    assert_eq!(SignalClass::of("USR1"), SignalClass::Benign);
    assert_eq!(SignalClass::of("made-up"), SignalClass::Benign);
}

#[test]
fn benign_signals_stop_nobody_and_nonmaskable_ones_stop_even_when_handled() {
    let k = Kernel::new().unwrap();
    let log: Log = Rc::default();
    k.create(watcher(log.clone(), "w", true)).unwrap();
    k.signal("w", "FOO", ()).unwrap();
    k.run_one_timeslice();
    assert_eq!(*log.borrow(), ["w FOO"]);
    k.signal("w", "ZOMBIE", ()).unwrap();
    k.run_one_timeslice();
    assert_eq!(*log.borrow(), ["w FOO", "w ZOMBIE", "w stop"]);
}

#[test]
fn a_terminal_signal_stops_sessions_without_watchers_too() {
    let k = Kernel::new().unwrap();
    let log: Log = Rc::default();
    let l = log.clone();
    k.create(
        Session::new(())
            .state("_start", |ctx| ctx.alias_set("plain").unwrap())
            .state("_stop", move |_| l.borrow_mut().push("plain stop".into())),
    )
    .unwrap();
    k.create(watcher(log.clone(), "w", false)).unwrap();
    k.signal(SessionId::KERNEL, "HUP", ()).unwrap();
    k.run_one_timeslice();
    assert_eq!(*log.borrow(), ["w HUP", "w stop", "plain stop"]);
    assert_eq!(k.session_count(), 0);
}

#[test]
fn sig_replace_and_remove_and_unknown_targets() {
    let k = Kernel::new().unwrap();
    let log: Log = Rc::default();
    let l = log.clone();
    k.create(
        Session::new(())
            .state("_start", |ctx| {
                ctx.alias_set("s").unwrap();
                ctx.sig("USR1", "first", ()).unwrap();
                ctx.sig("USR1", "second", ("watch-arg",)).unwrap();
                ctx.sig("USR2", "second", ()).unwrap();
                ctx.sig_remove("USR2").unwrap();
            })
            .state("second", move |ctx| {
                let args: Vec<String> = ctx.args.iter().map(|v| v.to_string()).collect();
                l.borrow_mut().push(args.join(" "));
            })
            .state("done", |ctx| ctx.alias_remove("s").unwrap()),
    )
    .unwrap();
    assert_eq!(k.watched_signals(), ["USR1"]);
    k.signal("s", "USR1", ("sig-arg",)).unwrap();
    k.signal("s", "USR2", ()).unwrap();
    k.post("s", "done", ()).unwrap();
    k.run();
    assert_eq!(*log.borrow(), ["USR1 sig-arg watch-arg"]);
    assert_eq!(k.signal("nobody", "USR1", ()).unwrap_err().errno(), 3);
}
