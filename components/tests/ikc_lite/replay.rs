//! Transcript §B replayed: a fake server answers our ClientLite with the
//! bytes the Perl IKC::Server sent Perl's ClientLite, unchanged, while our
//! client makes the same posts and calls the Perl one made (read from the
//! recorded client frames). What our client sends must equal what Perl's
//! sent, modulo the client's name and PID.

use crate::support::server::{FakeServer, Peer, Script};
use crate::support::transcript::{frames_of, lines_of, thaw, Connection, Dir, Mode, Transcript};
use poe_components::ikc::lite::{ClientLite, LiteError};
use poe_components::ikc::Specifier;
use poe_kernel::Value;
use std::sync::mpsc;
use std::time::Duration;

/// The recorded client's name; ours is another, to show the comparison
/// does not depend on it.
const PERL_NAME: &str = "perllite";
const OUR_NAME: &str = "rustlite";

/// What the server side of one connection received: lines, and frame
/// payloads (`Value`s stay in their thread: they may hold `Rc`s).
type Received = (Vec<String>, Vec<Vec<u8>>);

/// Play one recorded connection: read what the client sends, as many
/// lines or frames as each recorded client chunk held, and write each
/// recorded server chunk verbatim in its turn.
fn replay(conn: Connection, received: mpsc::Sender<Received>) -> Script {
    Box::new(move |p: &mut Peer| {
        let (mut lines, mut frames) = (Vec::new(), Vec::new());
        for chunk in &conn.chunks {
            match (chunk.dir, chunk.mode) {
                (Dir::ToServer, Mode::Line) => {
                    for _ in lines_of(&chunk.bytes) {
                        lines.push(p.read_line().expect("the client's line"));
                    }
                }
                (Dir::ToServer, Mode::Frame) => {
                    for _ in frames_of(&chunk.bytes) {
                        frames.push(p.recv_payload().expect("the client's frame"));
                    }
                }
                (Dir::ToClient, _) => p.write_raw(&chunk.bytes),
            }
        }
        assert!(conn.client_closed);
        p.expect_close();
        received.send((lines, frames)).unwrap();
    })
}

/// Our name as Perl's, `PID=…` as `PID=*`.
fn normalize_line(line: &str) -> String {
    let line = line.replace(OUR_NAME, PERL_NAME);
    match line.split_once("PID=") {
        Some((head, _)) => format!("{head}PID=*"),
        None => line,
    }
}

/// Our name as Perl's in every string (the `from` and `rsvp` kernels).
fn normalize(v: &Value) -> Value {
    match v {
        Value::Str(s) if s.as_str() == OUR_NAME => Value::from(PERL_NAME),
        Value::List(items) => Value::List(items.iter().map(normalize).collect()),
        Value::Map(m) => Value::Map(Box::new(
            m.iter().map(|(k, v)| (k.clone(), normalize(v))).collect(),
        )),
        other => other.clone(),
    }
}

/// Each recorded client frame with the server frames that answered it
/// (the server chunk that follows, before the client's next).
fn exchanges(conn: &Connection) -> Vec<(Value, Vec<Value>)> {
    let mut out: Vec<(Value, Vec<Value>)> = Vec::new();
    for chunk in conn.chunks.iter().filter(|c| c.mode == Mode::Frame) {
        let values = frames_of(&chunk.bytes)
            .iter()
            .map(|f| thaw(f))
            .collect::<Vec<_>>();
        match chunk.dir {
            Dir::ToServer => out.extend(values.into_iter().map(|v| (v, Vec::new()))),
            Dir::ToClient => out.last_mut().expect("a request first").1.extend(values),
        }
    }
    out
}

/// Make the request the Perl client made, check the answer it got.
fn redo(lite: &mut ClientLite, request: &Value, answers: &[Value]) {
    let event = request.get("event").and_then(Value::as_str).unwrap();
    let server = lite.remote_kernel().unwrap().to_owned();
    // Sent relative, as perl_lite.pl did: `echo/ping` became
    // `poe://<server's kernel ID>/echo/ping` there and must here.
    let spec = event.strip_prefix(&format!("poe://{server}/")).unwrap();
    let params = request.get("params").cloned().unwrap_or_default();
    let answer = answers.first();
    let state_of = |v: &Value| Specifier::from_value(v.get("event").unwrap()).state;
    let reply = if request.get("rsvp").is_some() {
        if answer.is_none() {
            // perl_lite.pl's `nothing` call: never answered.
            lite.set_timeout(Duration::from_millis(300));
        }
        let list = request.get("wantarray").is_some_and(Value::is_true);
        let result = if list {
            lite.call_list(spec, params).map(Value::List)
        } else {
            lite.call(spec, params)
        };
        lite.set_timeout(Duration::from_secs(20));
        result
    } else if let Some(rsvp) = params
        .as_list()
        .and_then(|l| l.get(1))
        .filter(|r| Specifier::from_value(r).state.starts_with("response"))
    {
        assert_eq!(Specifier::from_value(rsvp).session, "IKCLite");
        let data = params.as_list().unwrap()[0].clone();
        lite.post_respond(spec, data)
    } else {
        lite.post(spec, params).unwrap();
        // The server posted back to us: `responded` gets it.
        for answer in answers {
            let got = lite.responded(&state_of(answer)).unwrap();
            assert_eq!(&got, answer.get("params").unwrap(), "{event}");
        }
        return;
    };
    match (answer, reply) {
        (None, Err(LiteError::Timeout { .. })) => {}
        (Some(a), Err(LiteError::Remote(e))) if a.get("is_error").is_some() => {
            let params = a.get("params").unwrap().as_list().unwrap();
            assert_eq!(e.message, params[0].to_string(), "{event}");
            assert_eq!(
                (e.kernel.as_str(), e.when.as_str()),
                (server.as_str(), "check")
            );
        }
        (Some(a), Ok(got)) => assert_eq!(&got, a.get("params").unwrap(), "{event}"),
        (a, r) => panic!("{event}: recorded {a:?}, got {r:?}"),
    }
}

#[test]
fn our_clientlite_replays_perls_section_b_run_against_the_recorded_server() {
    let transcript = Transcript::load();
    let section = transcript.section("B");
    let (tx, rx) = mpsc::channel();
    let scripts = section
        .connections
        .iter()
        .map(|c| replay(c.clone(), tx.clone()))
        .collect();
    let server = FakeServer::tcp(scripts);
    let mut lite = ClientLite::builder()
        .host("127.0.0.1")
        .port(server.port)
        .name(OUR_NAME)
        .timeout(Duration::from_secs(20))
        .connect()
        .unwrap();
    for conn in &section.connections {
        for (request, answers) in exchanges(conn) {
            redo(&mut lite, &request, &answers);
        }
        assert!(lite.take_messages().is_empty());
        assert!(lite.take_errors().is_empty());
        lite.disconnect();
    }
    server.join();
    for conn in &section.connections {
        let (lines, frames) = rx.recv().unwrap();
        let recorded: Vec<String> = conn
            .lines(Dir::ToServer)
            .iter()
            .map(|l| normalize_line(l))
            .collect();
        let ours: Vec<String> = lines.iter().map(|l| normalize_line(l)).collect();
        assert_eq!(ours, recorded, "connection {}", conn.number);
        let recorded = conn.values(Dir::ToServer);
        assert_eq!(frames.len(), recorded.len());
        for (ours, perls) in frames.iter().zip(&recorded) {
            assert_eq!(&normalize(&thaw(ours)), perls, "connection {}", conn.number);
        }
    }
}
