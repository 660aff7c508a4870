//! Process plumbing for the echo benchmarks: pinning, spawning servers,
//! and reading a server's CPU time and memory from /proc.

use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Stdio};

/// Pin this process to one CPU (the load generator's).
pub fn pin_self(cpu: usize) -> bool {
    // SAFETY: a zeroed cpu_set_t is a valid empty set; CPU_SET writes into
    // it; sched_setaffinity reads it for the duration of the call.
    unsafe {
        let mut set: libc::cpu_set_t = std::mem::zeroed();
        libc::CPU_SET(cpu, &mut set);
        libc::sched_setaffinity(0, std::mem::size_of::<libc::cpu_set_t>(), &set) == 0
    }
}

/// Raise this process's descriptor limit (children inherit it).
pub fn raise_fd_limit(want: u64) -> u64 {
    let mut lim = libc::rlimit {
        rlim_cur: 0,
        rlim_max: 0,
    };
    // SAFETY: valid pointers to an rlimit for the duration of each call.
    unsafe {
        libc::getrlimit(libc::RLIMIT_NOFILE, &mut lim);
        lim.rlim_cur = lim.rlim_max.min(want.max(lim.rlim_cur));
        libc::setrlimit(libc::RLIMIT_NOFILE, &lim);
    }
    lim.rlim_cur
}

/// A server process under test: its port (first stdout line) and pid.
pub struct Server {
    pub child: Child,
    pub port: u16,
}

impl Server {
    /// Start `program args...` pinned to `cpu` (through taskset when it is
    /// installed) and wait for the port it prints.
    pub fn spawn(program: &str, args: &[&str], cpu: usize) -> std::io::Result<Server> {
        let mut cmd = if which("taskset") {
            let mut c = Command::new("taskset");
            c.arg("-c").arg(cpu.to_string()).arg(program);
            c
        } else {
            Command::new(program)
        };
        let mut child = cmd
            .args(args)
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()?;
        let mut first = String::new();
        BufReader::new(child.stdout.as_mut().expect("piped")).read_line(&mut first)?;
        let port = first.trim().parse().map_err(|_| {
            std::io::Error::other(format!("{program}: expected a port, got {first:?}"))
        })?;
        Ok(Server { child, port })
    }

    /// User + system CPU seconds the server has used, to the nanosecond:
    /// the scheduler's run time of each of its threads (/proc schedstat).
    /// The tick counts of /proc stat move in 10 ms steps, which is 2.5% of
    /// a short window. Falls back to them where schedstat is missing.
    pub fn cpu_seconds(&self) -> f64 {
        let mut total_ns = 0u64;
        let mut found = false;
        let tasks = std::fs::read_dir(format!("/proc/{}/task", self.child.id()));
        for task in tasks.into_iter().flatten().flatten() {
            let stat = std::fs::read_to_string(task.path().join("schedstat")).unwrap_or_default();
            if let Some(ns) = stat
                .split_whitespace()
                .next()
                .and_then(|v| v.parse::<u64>().ok())
            {
                total_ns += ns;
                found = true;
            }
        }
        if found {
            total_ns as f64 * 1e-9
        } else {
            let (user, system) = self.cpu_split();
            user + system
        }
    }

    /// User and system CPU seconds the server has used, apart (in clock
    /// ticks: good for the split, coarse for the total).
    pub fn cpu_split(&self) -> (f64, f64) {
        let stat =
            std::fs::read_to_string(format!("/proc/{}/stat", self.child.id())).unwrap_or_default();
        // Fields after the command name (which may hold spaces) start at ")".
        let rest = stat.rsplit_once(')').map_or("", |(_, r)| r);
        let f: Vec<&str> = rest.split_whitespace().collect();
        let ticks = |i: usize| f.get(i).and_then(|v| v.parse::<f64>().ok()).unwrap_or(0.0);
        // utime and stime are fields 14 and 15 (1-based), 11 and 12 here.
        // SAFETY: sysconf has no memory effects.
        let hz = unsafe { libc::sysconf(libc::_SC_CLK_TCK) } as f64;
        (ticks(11) / hz, ticks(12) / hz)
    }

    /// Read-type and write-type system calls the server has made so far
    /// (`syscr` and `syscw` of /proc/<pid>/io; zeros if unreadable).
    pub fn syscalls(&self) -> (u64, u64) {
        let io = self.proc_file("io");
        (field(&io, "syscr:"), field(&io, "syscw:"))
    }

    /// Times the server has gone to sleep waiting (voluntary context
    /// switches of its main thread; 0 if unreadable). A server that sleeps
    /// after every few lines pays the kernel's sleep and wake-up on each.
    pub fn sleeps(&self) -> u64 {
        field(&self.proc_file("status"), "voluntary_ctxt_switches:")
    }

    /// Resident memory in bytes.
    pub fn rss_bytes(&self) -> u64 {
        // "VmRSS:   1234 kB"
        field(&self.proc_file("status").replace(" kB", ""), "VmRSS:") * 1024
    }

    /// /proc/<pid>/<name>, empty if unreadable.
    fn proc_file(&self, name: &str) -> String {
        std::fs::read_to_string(format!("/proc/{}/{name}", self.child.id())).unwrap_or_default()
    }
}

/// The number after `name` on its line of a /proc `Key: value` file
/// (0 when missing).
fn field(text: &str, name: &str) -> u64 {
    text.lines()
        .find_map(|l| l.strip_prefix(name))
        .and_then(|v| v.trim().parse().ok())
        .unwrap_or(0)
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// A `--hold-idle` helper process holding a server's idle connections
/// open until it is dropped.
pub struct IdleHolder {
    child: Child,
}

impl IdleHolder {
    /// Start `exe --hold-idle port n` and wait until every connection is
    /// open and has echoed its line.
    pub fn spawn(exe: &str, port: u16, n: usize) -> std::io::Result<IdleHolder> {
        let mut child = Command::new(exe)
            .args(["--hold-idle", &port.to_string(), &n.to_string()])
            .stdout(Stdio::piped())
            .spawn()?;
        let mut ready = String::new();
        let stdout = child.stdout.take().expect("piped stdout");
        BufReader::new(stdout).read_line(&mut ready)?;
        let holder = IdleHolder { child };
        if ready.trim() != "ready" {
            return Err(std::io::Error::other("the idle connection holder failed"));
        }
        Ok(holder)
    }

    /// In the helper: report that the connections are open, then wait to
    /// be killed.
    pub fn ready() -> ! {
        println!("ready");
        loop {
            std::thread::park();
        }
    }
}

impl Drop for IdleHolder {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn which(program: &str) -> bool {
    Command::new("sh")
        .args(["-c", &format!("command -v {program} >/dev/null")])
        .status()
        .is_ok_and(|s| s.success())
}

/// This process's CPU seconds.
pub fn self_cpu_seconds() -> f64 {
    let mut ts = libc::timespec {
        tv_sec: 0,
        tv_nsec: 0,
    };
    // SAFETY: a valid timespec for the duration of the call.
    unsafe { libc::clock_gettime(libc::CLOCK_PROCESS_CPUTIME_ID, &mut ts) };
    ts.tv_sec as f64 + ts.tv_nsec as f64 * 1e-9
}
