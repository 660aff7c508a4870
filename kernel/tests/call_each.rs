//! `Ctx::call_self_each`: many calls to one state in a row (a wheel
//! delivering the records of a read), with the handler looked up once —
//! and every change a handler makes to its session still seen by the next
//! call.

use poe_kernel::*;

/// Run `_start`, which delivers the records `1..=n` as `record` events
/// through `call_self_each`, and return the session's log.
fn deliver(n: i64, session: Session<Vec<String>>) -> Vec<String> {
    let k = Kernel::new().unwrap();
    let out = std::rc::Rc::new(std::cell::RefCell::new(Vec::new()));
    let o = out.clone();
    k.create(
        session
            .state("_start", move |ctx| {
                let mut records = 1..=n;
                let mut args = Args::new();
                ctx.call_self_each(&"record".into(), &mut args, |args| {
                    records
                        .next()
                        .map(|r| args.refill([Value::from(r), Value::from("tag")]))
                        .is_some()
                });
                ctx.heap.push(format!("after: {} args left", args.len()));
            })
            .state("_stop", move |ctx| *o.borrow_mut() = ctx.heap.clone()),
    )
    .unwrap();
    k.run();
    out.take()
}

fn log(ctx: &mut Ctx<Vec<String>>, who: &str) {
    let line = format!("{who} {} {}", ctx.arg(0), ctx.arg(1));
    ctx.heap.push(line);
}

#[test]
fn every_record_reaches_the_handler_in_order_with_all_its_arguments() {
    let got = deliver(
        3,
        Session::new(Vec::new()).state("record", |ctx| {
            // What a handler leaves (a taken argument) is not the next
            // record's: refill replaces it.
            let first = ctx.take_arg(0);
            ctx.heap
                .push(format!("{first} {} {}", ctx.arg(0), ctx.arg(1)));
        }),
    );
    assert_eq!(got, ["1  tag", "2  tag", "3  tag", "after: 2 args left"]);
}

#[test]
fn a_handler_replacing_its_own_state_sends_the_next_record_to_the_new_one() {
    let got = deliver(
        3,
        Session::new(Vec::new()).state("record", |ctx| {
            log(ctx, "old");
            ctx.state("record", |ctx| log(ctx, "new"));
        }),
    );
    assert_eq!(
        got,
        ["old 1 tag", "new 2 tag", "new 3 tag", "after: 2 args left"]
    );
}

#[test]
fn a_handler_removing_its_state_sends_the_rest_to_default() {
    let got = deliver(
        3,
        Session::new(Vec::new())
            .state("record", |ctx| {
                log(ctx, "record");
                ctx.remove_state("record");
            })
            .state("_default", |ctx| {
                let (name, args) = (ctx.arg(0).to_string(), ctx.arg(1).clone());
                ctx.heap.push(format!("_default {name} {args:?}"));
            }),
    );
    assert_eq!(
        got,
        [
            "record 1 tag",
            "_default record [2, \"tag\"]",
            "_default record [3, \"tag\"]",
            // `_default` got the arguments themselves, as a list.
            "after: 0 args left",
        ]
    );
}

#[test]
fn without_a_handler_or_default_nothing_runs_and_every_record_is_offered() {
    let got = deliver(4, Session::new(Vec::new()));
    // `next` was asked for every record: the range is exhausted.
    assert_eq!(got, ["after: 2 args left"]);
}

#[test]
fn a_handler_pointing_its_context_at_another_heap_does_not_derail_the_next() {
    let got = deliver(
        3,
        Session::new(Vec::new()).state("record", |ctx| {
            log(ctx, "got");
            // Legal, if odd: the rest of this handler sees another heap.
            ctx.heap = Box::leak(Box::new(vec!["elsewhere".to_owned()]));
            ctx.heap.push("lost".to_owned());
        }),
    );
    assert_eq!(
        got,
        ["got 1 tag", "got 2 tag", "got 3 tag", "after: 2 args left"]
    );
}

#[test]
fn ctx_reports_the_event_sender_and_caller_state_of_a_self_call() {
    let got = deliver(
        1,
        Session::new(Vec::new()).state("record", |ctx| {
            let line = format!(
                "{} {} {:?}",
                ctx.event(),
                ctx.sender() == ctx.session(),
                ctx.caller_state().map(|s| s.to_string())
            );
            ctx.heap.push(line);
        }),
    );
    assert_eq!(got, ["record true Some(\"_start\")", "after: 2 args left"]);
}
