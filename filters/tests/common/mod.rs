//! Helpers shared by the integration tests.
#![allow(dead_code)]

use poe_filters::{Filter, FilterError, RecordFilter};
use poe_kernel::Value;
use std::io::Write;
use std::process::{Command, Stdio};

/// Every record a filter yields now, stopping at the first error.
pub fn drain(f: &mut dyn Filter) -> Vec<Value> {
    let mut out = Vec::new();
    while let Some(v) = f.get_one().expect("filter error") {
        out.push(v);
    }
    out
}

/// Every record or error a filter yields now (errors do not stop it).
pub fn drain_all(f: &mut dyn Filter) -> Vec<Result<Value, String>> {
    let mut out = Vec::new();
    loop {
        match f.get_one() {
            Ok(Some(v)) => out.push(Ok(v)),
            Ok(None) => return out,
            Err(e) => out.push(Err(error_kind(&e))),
        }
    }
}

/// A short, stable name for an error (for comparing sequences).
pub fn error_kind(e: &FilterError) -> String {
    let s = format!("{e:?}");
    s.split([' ', '(', '{']).next().unwrap_or("").to_string()
}

/// Feed chunks one after another, draining after each (as a wheel does).
pub fn feed(f: &mut dyn Filter, chunks: &[&[u8]]) -> Vec<Value> {
    let mut out = Vec::new();
    for c in chunks {
        f.get_one_start(c).expect("get_one_start");
        out.extend(drain(f));
    }
    out
}

/// Every record a record filter yields now.
pub fn drain_records(f: &mut dyn RecordFilter) -> Vec<Value> {
    let mut out = Vec::new();
    while let Some(v) = f.next_record().expect("filter error") {
        out.push(v);
    }
    out
}

pub fn strings(values: &[Value]) -> Vec<String> {
    values.iter().map(|v| v.to_string()).collect()
}

/// True when `perl` with POE and Storable is installed; prints a notice
/// (the test then skips) when it is not.
pub fn perl_with(modules: &[&str]) -> bool {
    let mut cmd = Command::new("perl");
    for m in modules {
        cmd.arg(format!("-M{m}"));
    }
    let ok = cmd
        .args(["-e", "1"])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .is_ok_and(|s| s.success());
    if !ok {
        eprintln!("NOTICE: perl with {modules:?} not found; skipping the Perl comparison");
    }
    ok
}

/// Run a Perl script with `input` on stdin; its stdout.
pub fn run_perl(script: &str, input: &[u8]) -> String {
    let mut child = Command::new("perl")
        .arg("-e")
        .arg(script)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn perl");
    child
        .stdin
        .take()
        .expect("stdin")
        .write_all(input)
        .expect("write to perl");
    let out = child.wait_with_output().expect("perl output");
    assert!(
        out.status.success(),
        "perl failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).expect("perl output is UTF-8")
}

pub fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

pub fn unhex(s: &str) -> Vec<u8> {
    (0..s.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(&s[i..i + 2], 16).expect("hex"))
        .collect()
}
