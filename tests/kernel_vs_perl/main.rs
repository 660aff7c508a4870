//! The same small programs in Perl POE and in poe-rs, compared by their
//! event traces. Each Perl program lives in tests/perl/kernel/; its output
//! is also recorded next to it (`.expected`), so the Rust side is checked
//! even where Perl is not installed.

#[path = "../common/mod.rs"]
mod common;
mod queue;
mod sessions;
mod signals;

use common::*;
use poe::prelude::*;

/// Check our trace against the recorded Perl output and, when Perl POE is
/// installed, against a fresh run of the Perl program.
pub(crate) fn check(name: &str, ours: Vec<String>) {
    let expected_path = repo_path(&format!("tests/perl/kernel/{name}.expected"));
    let expected: Vec<String> = std::fs::read_to_string(&expected_path)
        .unwrap_or_else(|e| panic!("{}: {e}", expected_path.display()))
        .lines()
        .map(str::to_owned)
        .collect();
    assert_same_trace(&ours, &expected);
    if perl_poe_available(name) {
        let perl = run_perl(&format!("tests/perl/kernel/{name}.pl"));
        assert_same_trace(&ours, &perl);
    }
}

pub(crate) fn caller_state(ctx: &Ctx<Trace>) -> String {
    ctx.caller_state()
        .map_or("undef".to_owned(), |s| s.to_string())
}

pub(crate) fn join_args(args: &[Value]) -> String {
    args.iter().map(val).collect::<Vec<_>>().join(",")
}
