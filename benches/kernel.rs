//! `cargo bench --bench kernel`: the kernel's event, call, alarm and session
//! throughput, beside Perl POE 1.370 running the same workloads
//! (benches/peers/kernel.pl) in the same run.
//!
//! Prints `bench=<name> impl=<poe-rs|perl-poe> metric=<unit> value=<n>`.
//! poe-rs figures are the median of 3 runs. `POE_BENCH_QUICK=1` shrinks the
//! workloads (for a smoke run); `POE_BENCH_ONLY=<name>` runs one benchmark.

use poe::prelude::*;
use std::cell::Cell;
use std::process::Command;
use std::rc::Rc;
use std::time::Instant;

fn report(bench: &str, imp: &str, metric: &str, value: f64) {
    println!("bench={bench} impl={imp} metric={metric} value={value:.0}");
}

/// This process's CPU time (user + system), in seconds.
fn cpu_seconds() -> f64 {
    let mut ts = libc::timespec {
        tv_sec: 0,
        tv_nsec: 0,
    };
    // SAFETY: `ts` is a valid, writable timespec for the duration of the
    // call; CLOCK_PROCESS_CPUTIME_ID is always available on Linux.
    let rc = unsafe { libc::clock_gettime(libc::CLOCK_PROCESS_CPUTIME_ID, &mut ts) };
    assert_eq!(rc, 0, "clock_gettime failed");
    ts.tv_sec as f64 + ts.tv_nsec as f64 * 1e-9
}

fn median(mut runs: Vec<f64>) -> f64 {
    runs.sort_by(f64::total_cmp);
    runs[runs.len() / 2]
}

/// One session yielding to itself `n` times.
fn yield_rate(n: u64) -> f64 {
    let k = Kernel::new().unwrap();
    let t0 = Rc::new(Cell::new(None));
    let t = t0.clone();
    k.create(
        Session::new(n)
            .state("_start", move |ctx| {
                t.set(Some(Instant::now()));
                ctx.yield_("e", ());
            })
            .state("e", |ctx| {
                *ctx.heap -= 1;
                if *ctx.heap > 0 {
                    ctx.yield_("e", ());
                }
            }),
    )
    .unwrap();
    k.run();
    n as f64 / t0.get().unwrap().elapsed().as_secs_f64()
}

/// One session calling another `n` times.
fn call_rate(n: u64) -> f64 {
    let k = Kernel::new().unwrap();
    let callee = k
        .create(
            Session::new(())
                .state("_start", |_| ())
                .state("c", |ctx| ctx.arg(0).as_i64().unwrap_or(0) + 1),
        )
        .unwrap()
        .id;
    let elapsed = Rc::new(Cell::new(0.0));
    let e = elapsed.clone();
    k.create(Session::new(()).state("_start", move |ctx| {
        let t0 = Instant::now();
        let mut x = Value::Int(0);
        for _ in 0..n {
            x = ctx.call(callee, "c", (x,)).unwrap();
        }
        e.set(t0.elapsed().as_secs_f64());
        std::hint::black_box(x);
    }))
    .unwrap();
    k.run();
    n as f64 / elapsed.get()
}

/// Ten sessions passing one event around a ring `n` times.
fn post_ring_rate(n: u64) -> f64 {
    const RING: u64 = 10;
    let k = Kernel::new().unwrap();
    let left = Rc::new(Cell::new(n));
    for _ in 0..RING {
        let left = left.clone();
        k.create(
            Session::new(())
                .state("_start", |ctx| {
                    ctx.refcount_increment(ctx.session(), "ring").unwrap();
                })
                .state("hop", move |ctx| {
                    left.set(left.get() - 1);
                    // A fresh kernel numbers the ring's sessions 1..=RING.
                    let next = ctx.session().get() % RING + 1;
                    if left.get() > 0 {
                        ctx.post(next, "hop", ()).unwrap();
                    } else {
                        for s in 1..=RING {
                            ctx.refcount_decrement(s, "ring").unwrap();
                        }
                    }
                }),
        )
        .unwrap();
    }
    let t0 = Instant::now();
    k.post(1, "hop", ()).unwrap();
    k.run();
    n as f64 / t0.elapsed().as_secs_f64()
}

/// A small xorshift generator: the same random numbers on every run, and
/// the same as benches/peers/kernel.pl's (same algorithm, same seed).
struct Rng(u64);
impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }

    /// Uniform in [0, 1).
    fn unit(&mut self) -> f64 {
        (self.next() >> 11) as f64 / (1u64 << 53) as f64
    }

    /// Uniform in 0..m (modulo bias is negligible for these m).
    fn below(&mut self, m: usize) -> usize {
        (self.next() % m as u64) as usize
    }
}

/// The alarms workload's random numbers: `n` offsets within one second,
/// and which `n / 2` of the alarms to remove (indices in removal order, a
/// partial Fisher-Yates shuffle). The Perl peer draws the same numbers.
fn alarms_plan(n: usize) -> (Vec<f64>, Vec<usize>) {
    let mut rng = Rng(42);
    let offsets: Vec<f64> = (0..n).map(|_| rng.unit()).collect();
    let mut order: Vec<usize> = (0..n).collect();
    for i in 0..n / 2 {
        let j = i + rng.below(n - i);
        order.swap(i, j);
    }
    order.truncate(n / 2);
    (offsets, order)
}

/// `n` alarms at random times within the next second, a random half
/// removed, the rest fired: alarms per CPU-second from the first set to the
/// last fire.
fn alarms_rate(n: u64) -> f64 {
    let k = Kernel::new().unwrap();
    let c0 = Rc::new(Cell::new(0.0));
    let c1 = Rc::new(Cell::new(0.0));
    let (s0, s1) = (c0.clone(), c1.clone());
    let (offsets, removals) = alarms_plan(n as usize);
    let to_fire = n - removals.len() as u64;
    k.create(
        Session::new(0u64)
            .state("_start", move |ctx| {
                s0.set(cpu_seconds());
                let base = ctx.now();
                let ids: Vec<AlarmId> = offsets
                    .iter()
                    .map(|&t| ctx.alarm_set("a", base + t, ()).unwrap())
                    .collect();
                for &i in &removals {
                    ctx.alarm_remove(ids[i]).unwrap();
                }
            })
            .state("a", move |ctx| {
                // Read the CPU clock (a syscall) only at the last fire.
                *ctx.heap += 1;
                if *ctx.heap == to_fire {
                    s1.set(cpu_seconds());
                }
            }),
    )
    .unwrap();
    k.run();
    n as f64 / (c1.get() - c0.get())
}

/// `n` sessions created in one handler and collected: sessions per second.
fn session_churn_rate(n: u64) -> f64 {
    let k = Kernel::new().unwrap();
    let t0 = Instant::now();
    k.create(Session::new(()).state("_start", move |ctx| {
        for _ in 0..n {
            ctx.create(
                Session::new(())
                    .state("_start", |_| ())
                    .state("_stop", |_| ()),
            )
            .unwrap();
        }
    }))
    .unwrap();
    k.run();
    assert_eq!(k.session_count(), 0);
    n as f64 / t0.elapsed().as_secs_f64()
}

fn perl_peer(bench: &str, n: u64) {
    let script = concat!(env!("CARGO_MANIFEST_DIR"), "/benches/peers/kernel.pl");
    match Command::new("perl")
        .arg(script)
        .arg(bench)
        .arg(n.to_string())
        .output()
    {
        Ok(out) if out.status.success() => print!("{}", String::from_utf8_lossy(&out.stdout)),
        Ok(out) => println!(
            "# perl-poe {bench} failed: {}",
            String::from_utf8_lossy(&out.stderr).trim()
        ),
        Err(e) => println!("# perl-poe {bench} skipped: perl not runnable ({e})"),
    }
}

fn main() {
    // `cargo bench` passes `--bench`; ignore arguments.
    let quick = std::env::var_os("POE_BENCH_QUICK").is_some();
    let scale = if quick { 100 } else { 1 };
    let perl_ok = if std::env::var_os("POE_BENCH_NO_PERL").is_some() {
        println!("# perl-poe figures skipped: POE_BENCH_NO_PERL is set");
        false
    } else if Command::new("perl")
        .args(["-MPOE", "-e", "1"])
        .output()
        .is_ok_and(|o| o.status.success())
    {
        true
    } else {
        println!("# NOTICE: perl with POE not found: perl-poe figures skipped (apt-get install -y libpoe-perl)");
        false
    };

    type Bench = (&'static str, &'static str, fn(u64) -> f64, u64, u64);
    let benches: [Bench; 5] = [
        ("yield", "events_per_s", yield_rate, 5_000_000, 200_000),
        ("call", "calls_per_s", call_rate, 5_000_000, 200_000),
        (
            "post_ring",
            "events_per_s",
            post_ring_rate,
            5_000_000,
            200_000,
        ),
        // Perl's O(n) alarm queue makes a million impractical: 100 000.
        (
            "alarms",
            "alarms_per_cpu_s",
            alarms_rate,
            1_000_000,
            100_000,
        ),
        (
            "session_churn",
            "sessions_per_s",
            session_churn_rate,
            100_000,
            100_000,
        ),
    ];
    let only = std::env::var("POE_BENCH_ONLY").ok();
    for (name, metric, f, n, perl_n) in benches {
        if only.as_deref().is_some_and(|o| o != name) {
            continue;
        }
        let n = (n / scale).max(1000);
        let ours = median((0..3).map(|_| f(n)).collect());
        report(name, "poe-rs", metric, ours);
        if perl_ok {
            perl_peer(name, (perl_n / scale).max(1000));
        }
    }
}
