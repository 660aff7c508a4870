//! Postbacks and callbacks made through the kernel for any destination,
//! state queries by destination, and a callback invoked from inside its
//! own session.

use poe_kernel::*;
use std::cell::RefCell;
use std::rc::Rc;

type Log = Rc<RefCell<Vec<String>>>;

fn service(log: Log) -> Session<()> {
    Session::new(())
        .state("_start", |ctx| ctx.alias_set("svc").unwrap())
        .state("got", move |ctx| {
            log.borrow_mut()
                .push(format!("got {} {}", ctx.arg(0), ctx.arg(1)))
        })
        .state("add", |ctx| {
            ctx.arg(0).as_list().unwrap()[0].as_i64().unwrap()
                + ctx.arg(1).as_list().unwrap()[0].as_i64().unwrap()
        })
        .state("retire", |ctx| ctx.alias_remove("svc").unwrap())
}

#[test]
fn postbacks_callbacks_and_state_queries_take_an_alias_an_id_or_a_handle() {
    let k = Kernel::new().unwrap();
    let log: Log = Rc::default();
    let id = k.create(service(log.clone())).unwrap().id;

    let by_alias = k.postback("svc", "got", ("ctx",)).unwrap();
    let by_id = k.callback(id.get(), "add", (40,)).unwrap();
    let by_handle = k.callback(id, "add", (1,)).unwrap();
    assert_eq!(by_alias.session(), id);
    assert_eq!(by_id.call((2,)).unwrap(), Value::Int(42));
    assert_eq!(by_handle.call((2,)).unwrap(), Value::Int(3));

    assert!(k.has_state("svc", "got"));
    assert!(k.has_state(id.get(), "add"));
    assert!(!k.has_state(id, "nope"));
    assert!(!k.has_state("nobody", "got"));
    assert!(k.remove_state("svc", "add"));
    assert!(!k.has_state(id, "add"));
    assert!(!k.remove_state(id.get(), "add"), "already gone");
    assert!(!k.remove_state("nobody", "got"));

    match k.postback("nobody", "got", ()) {
        Err(KernelError::NoSuchSession(Dest::Name(n))) => assert_eq!(n.as_str(), "nobody"),
        other => panic!("expected NoSuchSession, got {other:?}"),
    }
    assert!(k.callback(999, "add", ()).is_err());
    assert!(k.postback(SessionId::KERNEL, "got", ()).is_err());

    // Bound when made: the alias going away does not unbind it.
    k.call("svc", "retire", ()).unwrap();
    by_alias.post(("late",)).unwrap();
    drop((by_alias, by_id, by_handle));
    k.run();
    assert_eq!(*log.borrow(), [r#"got ["ctx"] ["late"]"#]);
    assert_eq!(k.session_count(), 0);
}

#[test]
fn a_callback_into_its_own_running_session_needs_call_with() {
    let k = Kernel::new().unwrap();
    let log: Log = Rc::default();
    let other = k.create(service(Rc::default())).unwrap().id;
    let l = log.clone();
    let l2 = log.clone();
    k.create(
        Session::new(Vec::<Callback>::new())
            .state("_start", move |ctx| {
                let mine = ctx.callback("double", ("c",));
                let theirs = ctx.kernel().callback(other, "add", (10,)).unwrap();
                *ctx.heap = vec![mine, theirs];
                ctx.yield_("go", ());
            })
            .state("go", move |ctx| {
                let mine = ctx.heap[0].clone();
                let theirs = ctx.heap[1].clone();
                // The heap is held by this very handler.
                assert!(matches!(mine.call((1,)), Err(KernelError::HeapBusy { .. })));
                let v = mine.call_with(ctx, (21,)).unwrap();
                l.borrow_mut().push(format!("mine {v}"));
                let v = theirs.call_with(ctx, (5,)).unwrap();
                l.borrow_mut().push(format!("theirs {v}"));
                ctx.heap.clear();
                ctx.post(other, "retire", ()).unwrap();
            })
            .state("double", move |ctx| {
                // A plain self-call, as POE makes it: sender is the session,
                // the active event is still the caller's.
                assert_eq!(ctx.sender(), ctx.session());
                let active = ctx.get_active_event().unwrap();
                l2.borrow_mut()
                    .push(format!("double {} active={active}", ctx.arg(0)));
                ctx.arg(1).as_list().unwrap()[0].as_i64().unwrap() * 2
            }),
    )
    .unwrap();
    k.run();
    assert_eq!(
        *log.borrow(),
        [r#"double ["c"] active=go"#, "mine 42", "theirs 15"]
    );
    assert_eq!(k.session_count(), 0);
}
