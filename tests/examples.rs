//! The runnable examples do what their docs say.

mod common;

use std::path::PathBuf;
use std::process::Command;

/// The compiled example (cargo builds examples before running tests).
fn example(name: &str) -> PathBuf {
    let exe = std::env::current_exe().unwrap();
    let profile_dir = exe.parent().unwrap().parent().unwrap();
    let path = profile_dir.join("examples").join(name);
    if !path.exists() {
        let status = Command::new(env!("CARGO"))
            .args(["build", "--example", name])
            .current_dir(env!("CARGO_MANIFEST_DIR"))
            .status()
            .unwrap();
        assert!(status.success());
    }
    path
}

fn run(name: &str) -> String {
    let out = Command::new(example(name)).output().unwrap();
    assert!(
        out.status.success(),
        "{name} failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).unwrap()
}

#[test]
fn demo_shows_sessions_timers_and_a_select_watcher() {
    let out = run("demo");
    for line in 1..=5 {
        assert!(
            out.contains(&format!("consumer: got \"line {line}\"")),
            "{out}"
        );
    }
    let order = [
        "heartbeat: started as session 1",
        "heartbeat: beat",
        "producer: closing",
        "consumer: EOF, no more watching",
        "heartbeat: _stop after 5 lines",
        "run returned",
    ];
    let mut at = 0;
    for needle in order {
        let found = out[at..]
            .find(needle)
            .unwrap_or_else(|| panic!("{needle:?} missing or out of order in:\n{out}"));
        at += found;
    }
}
