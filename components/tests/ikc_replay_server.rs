//! The real capture (tests/fixtures/ikc-transcript.txt) replayed against
//! our Server: the bytes Perl's IKC::Client and ClientLite sent go to a
//! poe-rs worker serving the same `echo` contract as the recorded Perl
//! server, and everything it answers must equal what the Perl server
//! answered — negotiation lines exactly, frames as thawed structures —
//! once its own kernel ID, address and PID stand in for the recorded ones.

mod ikc_common;
mod support;

use ikc_common::{worker_with, RawPeer};
use poe_components::ikc::negotiation::Protocol;
use poe_filters::storable;
use poe_kernel::{Map, Value};
use support::transcript::{Connection, Dir, Mode, Transcript};

/// A byte stream cut into messages as it arrives: CR LF lines or
/// `len NUL payload` frames.
#[derive(Default)]
struct Cutter {
    buf: Vec<u8>,
}

enum Message {
    Line(String),
    Frame(Value),
}

impl Cutter {
    fn feed(&mut self, bytes: &[u8], mode: Mode) -> Vec<Message> {
        self.buf.extend_from_slice(bytes);
        let mut out = Vec::new();
        loop {
            match mode {
                Mode::Line => {
                    let Some(end) = self.buf.windows(2).position(|w| w == b"\r\n") else {
                        break;
                    };
                    let line = String::from_utf8(self.buf[..end].to_vec()).unwrap();
                    self.buf.drain(..end + 2);
                    out.push(Message::Line(line));
                }
                Mode::Frame => {
                    let Some(nul) = self.buf.iter().position(|&b| b == 0) else {
                        break;
                    };
                    let len: usize = std::str::from_utf8(&self.buf[..nul])
                        .unwrap()
                        .parse()
                        .unwrap();
                    if self.buf.len() < nul + 1 + len {
                        break;
                    }
                    let value = storable::thaw(&self.buf[nul + 1..nul + 1 + len]).unwrap();
                    self.buf.drain(..nul + 1 + len);
                    out.push(Message::Frame(value));
                }
            }
        }
        out
    }
}

/// Recorded names and ours, learned from the server's first lines.
#[derive(Default)]
struct Names {
    pairs: Vec<(String, String)>,
}

impl Names {
    /// Learn from a recorded line and ours at the same place.
    fn learn(&mut self, recorded: &str, ours: &str) {
        let split = |l: &str| {
            l.split([' ', ',', ';', '='])
                .map(str::to_owned)
                .collect::<Vec<_>>()
        };
        for (r, o) in split(recorded).into_iter().zip(split(ours)) {
            if r != o && !self.pairs.iter().any(|(pr, _)| *pr == r) {
                self.pairs.push((r, o));
            }
        }
    }

    fn to_ours(&self, s: &str) -> String {
        self.pairs
            .iter()
            .fold(s.to_owned(), |s, (r, o)| s.replace(r, o))
    }

    fn to_recorded(&self, s: &str) -> String {
        self.pairs
            .iter()
            .fold(s.to_owned(), |s, (r, o)| s.replace(o, r))
    }

    /// Map every string in `v` with `f`.
    fn map_value(v: &Value, f: &dyn Fn(&str) -> String) -> Value {
        match v {
            Value::Str(s) => Value::from(f(s)),
            Value::List(l) => Value::List(l.iter().map(|x| Names::map_value(x, f)).collect()),
            Value::Map(m) => {
                let mut out = Map::new();
                for (k, x) in m.iter() {
                    out.insert(k.clone(), Names::map_value(x, f));
                }
                Value::Map(Box::new(out))
            }
            Value::Ref(r) => Value::Ref(Box::new(Names::map_value(r, f))),
            other => other.clone(),
        }
    }
}

/// Replay one recorded connection against a fresh worker.
fn replay(conn: &Connection, protocol: Protocol) {
    let configure = match protocol {
        Protocol::Ikc0 => |b: poe_components::ikc::ServerBuilder| b,
        Protocol::Ikc => |b: poe_components::ikc::ServerBuilder| b.protocol(Protocol::Ikc),
    };
    let (port, worker) = worker_with("perlsrv", configure);
    let mut peer = RawPeer::connect(port);
    let (mut to_server, mut from_server) = (Cutter::default(), Cutter::default());
    let mut names = Names::default();
    let mut compared = 0;
    for chunk in &conn.chunks {
        match chunk.dir {
            Dir::ToServer => {
                for m in to_server.feed(&chunk.bytes, chunk.mode) {
                    match m {
                        Message::Line(l) => {
                            peer.send(format!("{}\r\n", names.to_ours(&l)).as_bytes())
                        }
                        Message::Frame(v) => {
                            peer.send_value(Names::map_value(&v, &|s| names.to_ours(s)))
                        }
                    }
                }
            }
            Dir::ToClient => {
                for m in from_server.feed(&chunk.bytes, chunk.mode) {
                    match m {
                        Message::Line(recorded) => {
                            let ours = peer
                                .line()
                                .unwrap_or_else(|| panic!("no line for {recorded:?}"));
                            names.learn(&recorded, &ours);
                            assert_eq!(names.to_recorded(&ours), recorded, "{}", conn.label);
                        }
                        Message::Frame(recorded) => {
                            let ours = peer
                                .frame()
                                .unwrap_or_else(|| panic!("no frame for {recorded:?}"));
                            let mut ours = Names::map_value(&ours, &|s| names.to_recorded(s));
                            // Our extension on error reports: Perl ignores it.
                            if let Some(m) = ours.as_map_mut() {
                                m.remove("failed_rsvp");
                            }
                            assert_eq!(ours, recorded, "{}", conn.label);
                        }
                    }
                    compared += 1;
                }
            }
        }
    }
    assert!(compared > 0);
    // Stop the worker: it should still be serving.
    if conn.client_closed {
        drop(peer);
    }
    let mut quitter = poe_components::ikc::ClientLite::builder()
        .host("127.0.0.1")
        .port(port)
        .name("quitter")
        .connect()
        .unwrap();
    quitter.post("echo/quit", ()).unwrap();
    worker.join().unwrap();
}

#[test]
fn our_server_answers_perls_ikc_client_as_the_perl_server_did() {
    let t = Transcript::load();
    replay(t.section("A").connection(1), Protocol::Ikc0);
}

#[test]
fn our_server_answers_perls_clientlite_as_the_perl_server_did() {
    let t = Transcript::load();
    for n in 1..=3 {
        replay(t.section("B").connection(n), Protocol::Ikc0);
    }
}

#[test]
fn our_ikc_only_server_answers_the_hello_dialogue_and_the_fallback_as_perls_did() {
    let t = Transcript::load();
    replay(t.section("C").connection(1), Protocol::Ikc);
    for n in 1..=2 {
        replay(t.section("D").connection(n), Protocol::Ikc);
    }
}
