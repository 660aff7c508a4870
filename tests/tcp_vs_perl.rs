//! Server::TCP and Client::TCP against Perl POE's, over real sockets:
//! a Perl POE Client::TCP talks to our Server, and our Client talks to a
//! Perl POE Server::TCP. Skipped with a notice when Perl POE is missing.

mod common;

use common::*;
use poe::components::tcp::{Client, Server};
use poe::prelude::*;
use std::cell::RefCell;
use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};
use std::rc::Rc;

fn rot13(s: &str) -> String {
    s.chars()
        .map(|c| match c {
            'a'..='m' | 'A'..='M' => (c as u8 + 13) as char,
            'n'..='z' | 'N'..='Z' => (c as u8 - 13) as char,
            c => c,
        })
        .collect()
}

#[test]
fn a_perl_poe_client_talks_to_our_server() {
    if !perl_poe_available("a_perl_poe_client_talks_to_our_server") {
        return;
    }
    let k = Kernel::new().unwrap();
    let server = Server::builder::<()>()
        .address("127.0.0.1")
        .alias("rot13")
        .client_input(|ctx| {
            let line = ctx.arg(0).to_string();
            if line == "quit" {
                ctx.heap.client.put("B'bye!").unwrap();
                ctx.yield_("shutdown", ());
            } else {
                ctx.heap.client.put(rot13(&line)).unwrap();
            }
        })
        .client_disconnected(|ctx| ctx.post("rot13", "shutdown", ()).unwrap())
        .spawn(&k)
        .unwrap();
    let perl = Command::new("perl")
        .arg(repo_path("tests/perl/tcp/client.pl"))
        .arg(server.port().to_string())
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    k.run();
    let out = perl.wait_with_output().unwrap();
    let lines: Vec<String> = String::from_utf8_lossy(&out.stdout)
        .lines()
        .map(str::to_owned)
        .collect();
    assert_same_trace(
        &lines,
        &[
            "connected".into(),
            "input Uryyb, Jbeyq".into(),
            "input B'bye!".into(),
            // Our server closed after flushing: Perl's client sees EOF.
            "error read 0".into(),
            "disconnected".into(),
            "done".into(),
        ],
    );
}

#[test]
fn our_client_talks_to_a_perl_poe_server() {
    if !perl_poe_available("our_client_talks_to_a_perl_poe_server") {
        return;
    }
    let mut perl = Command::new("perl")
        .arg(repo_path("tests/perl/tcp/server.pl"))
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    let mut port = String::new();
    BufReader::new(perl.stdout.as_mut().unwrap())
        .read_line(&mut port)
        .unwrap();
    let port: u16 = port.trim().parse().unwrap();
    let k = Kernel::new().unwrap();
    let trace = Trace::new();
    let (t1, t2, t3) = (trace.clone(), trace.clone(), trace.clone());
    let sent = Rc::new(RefCell::new(false));
    Client::builder::<()>("127.0.0.1", port)
        .connected(move |_| t1.log("connected"))
        .server_input(move |ctx| {
            let line = ctx.arg(0).to_string();
            t2.log(format!("input {line}"));
            if !*sent.borrow() {
                *sent.borrow_mut() = true;
                for l in ["first", "second", "quit"] {
                    ctx.heap.server.put(l).unwrap();
                }
            }
        })
        .disconnected(move |_| t3.log("disconnected"))
        .spawn(&k)
        .unwrap();
    k.run();
    let status = perl.wait().unwrap();
    assert!(status.success());
    assert_same_trace(
        &trace.lines(),
        &[
            "connected".into(),
            "input welcome 127.0.0.1".into(),
            "input you said: first".into(),
            "input you said: second".into(),
            "input bye after 3".into(),
            "disconnected".into(),
        ],
    );
}
