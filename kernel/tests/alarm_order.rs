//! Thousands of alarms set, moved and removed at random still fire in
//! (due time, queue) order: a new alarm, and one moved by `alarm_adjust`,
//! queue behind those already due at the same time, as in POE.

use poe_kernel::*;
use std::cell::RefCell;
use std::rc::Rc;

/// A small deterministic generator (xorshift), so failures reproduce.
struct Rng(u64);
impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }
    fn below(&mut self, n: u64) -> u64 {
        self.next() % n
    }
}

#[test]
fn random_set_adjust_and_remove_fire_in_due_time_then_queue_order() {
    let k = Kernel::builder().clock(ClockKind::Virtual).build().unwrap();
    let fired: Rc<RefCell<Vec<(f64, i64)>>> = Rc::default();
    let expected: Rc<RefCell<Vec<(f64, i64)>>> = Rc::default();
    let (f, e) = (fired.clone(), expected.clone());
    k.create(
        Session::new(Rng(0x9e37_79b9_7f4a_7c15))
            .state("_start", move |ctx| {
                let base = ctx.now();
                // (id, due, queue order, argument)
                let mut live = Vec::new();
                let mut order = 0u64;
                for seq in 0..5000i64 {
                    // Coarse times so many alarms share a due time.
                    let due = base + ctx.heap.below(100) as f64;
                    let id = ctx.alarm_set("tick", due, (seq,)).unwrap();
                    order += 1;
                    live.push((id, due, order, seq));
                }
                for _ in 0..3000 {
                    let i = ctx.heap.below(live.len() as u64) as usize;
                    let (id, due, was, seq) = live[i];
                    if ctx.heap.below(2) == 0 {
                        let delta = ctx.heap.below(50) as f64 - 25.0;
                        let new_due = ctx.alarm_adjust(id, delta).unwrap();
                        assert_eq!(new_due, due + delta);
                        // Moved: behind everything queued so far. Not
                        // moved (delta 0): where it was.
                        let now = if delta == 0.0 {
                            was
                        } else {
                            order += 1;
                            order
                        };
                        live[i] = (id, new_due, now, seq);
                    } else {
                        let removed = ctx.alarm_remove(id).unwrap();
                        assert_eq!(removed.due, due);
                        assert_eq!(removed.args, [Value::Int(seq)]);
                        live.swap_remove(i);
                    }
                }
                let mut want: Vec<(f64, u64, i64)> =
                    live.iter().map(|&(_, d, o, s)| (d, o, s)).collect();
                want.sort_by(|a, b| a.0.total_cmp(&b.0).then(a.1.cmp(&b.1)));
                *e.borrow_mut() = want.into_iter().map(|(d, _, s)| (d - base, s)).collect();
                ctx.heap.0 = base.to_bits();
            })
            .state("tick", move |ctx| {
                let base = f64::from_bits(ctx.heap.0);
                f.borrow_mut()
                    .push((ctx.now() - base, ctx.arg(0).as_i64().unwrap()));
            }),
    )
    .unwrap();
    k.run();
    let fired = fired.borrow();
    let expected = expected.borrow();
    assert_eq!(fired.len(), expected.len());
    let fired_seqs: Vec<i64> = fired.iter().map(|x| x.1).collect();
    let expected_seqs: Vec<i64> = expected.iter().map(|x| x.1).collect();
    assert_eq!(fired_seqs, expected_seqs);
}

/// A busy loop of posts with no alarm pending reuses one clock reading for
/// a while (it orders nothing then). The first alarm set must still order
/// by real time: an alarm due now runs after what was posted before it was
/// set and before what is posted after, as POE's per-post timestamps do.
#[test]
fn an_alarm_due_now_set_in_a_busy_post_loop_runs_between_earlier_and_later_posts() {
    let k = Kernel::new().unwrap();
    let seen: Rc<RefCell<Vec<String>>> = Rc::default();
    let log = |seen: &Rc<RefCell<Vec<String>>>| {
        let seen = seen.clone();
        move |ctx: &mut Ctx<'_, u32>| seen.borrow_mut().push(ctx.event().to_string())
    };
    k.create(
        Session::new(0u32)
            .state("_start", |ctx| ctx.yield_("spin", ()))
            .state("spin", |ctx| {
                // Enough timeslices with nothing but posts for the clock
                // reading to be reused.
                *ctx.heap += 1;
                if *ctx.heap < 20 {
                    ctx.yield_("spin", ());
                    return;
                }
                ctx.yield_("before", ());
                let now = ctx.now();
                ctx.alarm_set("alarm", now, ()).unwrap();
                ctx.yield_("after", ());
            })
            .state("before", log(&seen))
            .state("alarm", log(&seen))
            .state("after", log(&seen)),
    )
    .unwrap();
    k.run();
    assert_eq!(*seen.borrow(), ["before", "alarm", "after"]);
}
