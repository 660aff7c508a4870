//! Helpers shared by the integration tests: an event trace, and running a
//! Perl POE program to compare against.
#![allow(dead_code)]

use poe::prelude::*;
use std::cell::RefCell;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::rc::Rc;

/// A shared list of trace lines: each session of a scenario gets a clone
/// (usually as its heap) and logs what it sees.
#[derive(Clone, Default)]
pub struct Trace(Rc<RefCell<Vec<String>>>);

impl Trace {
    pub fn new() -> Trace {
        Trace::default()
    }

    pub fn log(&self, line: impl Into<String>) {
        self.0.borrow_mut().push(line.into());
    }

    pub fn lines(&self) -> Vec<String> {
        self.0.borrow().clone()
    }

    pub fn take(&self) -> Vec<String> {
        std::mem::take(&mut *self.0.borrow_mut())
    }
}

/// A session as the Perl scenarios print it: its ID, or "kernel".
pub fn sid(v: &Value) -> String {
    match v.as_i64() {
        Some(0) => "kernel".to_owned(),
        Some(n) => n.to_string(),
        None => "undef".to_owned(),
    }
}

/// Perl's `defined $x ? $x : 'undef'`.
pub fn val(v: &Value) -> String {
    if v.is_undef() {
        "undef".to_owned()
    } else {
        v.to_string()
    }
}

pub fn repo_path(rel: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join(rel)
}

/// True when `perl` with POE can run; otherwise prints why the caller is
/// skipping.
pub fn perl_poe_available(test: &str) -> bool {
    let ok = Command::new("perl")
        .args(["-MPOE", "-e", "1"])
        .output()
        .map(|o| o.status.success())
        .unwrap_or(false);
    if !ok {
        eprintln!("NOTICE: {test} skipped: perl with POE is not installed (apt-get install -y libpoe-perl)");
    }
    ok
}

/// Run a Perl script and return its stdout lines.
pub fn run_perl(script: &str) -> Vec<String> {
    let path = repo_path(script);
    let out = Command::new("perl")
        .arg(&path)
        .output()
        .unwrap_or_else(|e| panic!("running perl {}: {e}", path.display()));
    assert!(
        out.status.success(),
        "perl {} failed: {}",
        path.display(),
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout)
        .lines()
        .map(str::to_owned)
        .collect()
}

/// Compare our trace with Perl's, line by line, with a readable diff.
pub fn assert_same_trace(ours: &[String], perl: &[String]) {
    if ours != perl {
        let mut report = String::from("traces differ (ours | perl):\n");
        for i in 0..ours.len().max(perl.len()) {
            let a = ours.get(i).map_or("", String::as_str);
            let b = perl.get(i).map_or("", String::as_str);
            let mark = if a == b { "  " } else { "!!" };
            report.push_str(&format!("{mark} {a:<50} | {b}\n"));
        }
        panic!("{report}");
    }
}

pub fn virtual_kernel() -> Kernel {
    Kernel::builder().clock(ClockKind::Virtual).build().unwrap()
}
