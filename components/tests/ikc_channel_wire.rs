//! What a Channel puts on the wire, seen by a fake or raw peer: each
//! negotiation line leaves with its CR LF in one write, on both sides; a
//! Client switches from lines to frames without losing a frame that came
//! in the same write as the server's last line; a Client offers Storable
//! alone, whatever its `serializers`; the names announced over UNIX
//! sockets are Perl's.

mod ikc_common;
mod support;

use ikc_common::{run_guarded, worker};
use poe_components::ikc::negotiation::{Names, Negotiation, Protocol};
use poe_components::ikc::{Client, ClientBuilder, Ikc, Server, Specifier, PROXY_STATE};
use poe_kernel::{Kernel, Session, Value};
use std::cell::RefCell;
use std::io::{Read, Write};
use std::rc::Rc;
use std::sync::mpsc;
use support::server::{FakeServer, Peer, Script, SERVER_ID, SERVER_NAME};

type Log = Rc<RefCell<Vec<String>>>;

/// The frame the fake server sends with its last negotiation line.
fn early_post() -> Value {
    Value::map([
        ("event", Value::from("poe://boss/tester/hello")),
        ("params", Value::from("early")),
        (
            "from",
            Specifier::new(SERVER_ID, "echo", PROXY_STATE).to_value(),
        ),
    ])
}

/// Complete CR LF lines from `buf`, leaving a partial one there.
fn take_lines(buf: &mut Vec<u8>) -> Vec<Vec<u8>> {
    let mut lines = Vec::new();
    while let Some(end) = buf.windows(2).position(|w| w == b"\r\n") {
        lines.push(buf[..end].to_vec());
        buf.drain(..end + 2);
    }
    lines
}

/// A fake server of `protocol` that negotiates with the real state
/// machine, reading the client one read() at a time, and writes its last
/// line and [`early_post`] in one write. Sends what each read returned.
fn serve(protocol: Protocol, packets: mpsc::Sender<Vec<Vec<u8>>>) -> Script {
    Box::new(move |p: &mut Peer| {
        let names = Names {
            kernel_id: SERVER_ID.into(),
            names: vec![SERVER_NAME.into()],
        };
        let mut server = Negotiation::server(names, protocol, 4242);
        let (mut seen, mut pending) = (Vec::new(), Vec::new());
        'negotiating: loop {
            let packet = p.read_packet().expect("the client negotiates");
            pending.extend_from_slice(&packet);
            seen.push(packet);
            let mut out = Vec::new();
            for line in take_lines(&mut pending) {
                let step = server.line(&line).expect("a valid negotiation");
                for reply in &step.send {
                    out.extend_from_slice(format!("{reply}\r\n").as_bytes());
                }
                if step.done.is_some() {
                    out.extend(Peer::frame(&early_post()));
                    p.write_raw(&out);
                    break 'negotiating;
                }
            }
            p.write_raw(&out);
        }
        p.expect_close();
        packets.send(seen).unwrap();
    })
}

/// A Client named `boss`, configured further by `configure`, whose
/// `tester` publishes `hello` and shuts IKC down when it arrives.
fn boss(configure: impl FnOnce(ClientBuilder) -> ClientBuilder, log: &Log) -> Kernel {
    let kernel = Kernel::new().unwrap();
    let (l1, l2) = (log.clone(), log.clone());
    configure(Client::builder().name("boss"))
        .on_error(move |op, errno, msg| l1.borrow_mut().push(format!("error {op} {errno} {msg}")))
        .spawn(&kernel)
        .unwrap();
    kernel
        .create(
            Session::new(())
                .state("_start", |ctx| {
                    ctx.alias_set("tester").unwrap();
                    Ikc::publish(ctx, "tester", &["hello"]).unwrap();
                })
                .state("hello", move |ctx| {
                    l2.borrow_mut().push(format!("hello {}", ctx.arg(0)));
                    ctx.alias_remove("tester").unwrap();
                    Ikc::shutdown(ctx).unwrap();
                }),
        )
        .unwrap();
    kernel
}

/// Our Client against [`serve`]: what each server read returned, and
/// what the client saw.
fn exchange(
    protocol: Protocol,
    configure: impl FnOnce(ClientBuilder) -> ClientBuilder,
) -> (Vec<Vec<u8>>, Vec<String>) {
    let (tx, rx) = mpsc::channel();
    let server = FakeServer::tcp(vec![serve(protocol, tx)]);
    let log: Log = Rc::default();
    let port = server.port;
    let kernel = boss(
        |b| configure(b.ip("127.0.0.1").port(port).protocol(protocol)),
        &log,
    );
    run_guarded(&kernel);
    server.join();
    let log = log.borrow().clone();
    (rx.recv().unwrap(), log)
}

fn lines_of(packets: &[Vec<u8>]) -> Vec<String> {
    let mut all = packets.concat();
    take_lines(&mut all)
        .into_iter()
        .map(|l| String::from_utf8(l).unwrap())
        .collect()
}

#[test]
fn each_negotiation_line_leaves_a_client_in_one_write_with_its_crlf() {
    for protocol in [Protocol::Ikc0, Protocol::Ikc] {
        let (packets, _) = exchange(protocol, |b| b);
        assert!(packets.len() > 1 || protocol == Protocol::Ikc0);
        for packet in &packets {
            assert!(
                packet.ends_with(b"\r\n"),
                "{protocol:?}: a read ended inside a line: {:?}",
                String::from_utf8_lossy(packet)
            );
        }
    }
}

#[test]
fn a_client_keeps_the_frame_that_came_in_one_write_with_the_last_line() {
    for protocol in [Protocol::Ikc0, Protocol::Ikc] {
        let (_, log) = exchange(protocol, |b| b);
        assert_eq!(log, ["hello early"], "{protocol:?}");
    }
}

#[test]
fn a_client_offers_storable_alone_and_needs_it_in_its_serializers() {
    let without = Client::builder()
        .serializers(["POE::Component::IKC::Freezer"])
        .spawn(&Kernel::new().unwrap());
    assert!(without.is_err(), "Storable is the only serializer spoken");
    let offered = |b: ClientBuilder| b.serializers(["POE::Component::IKC::Freezer", "Storable"]);
    let (packets, log) = exchange(Protocol::Ikc0, offered);
    let setup = &lines_of(&packets)[0];
    assert!(setup.contains(";FREEZER=Storable;PID="), "{setup}");
    assert_eq!(log, ["hello early"]);
    let (packets, _) = exchange(Protocol::Ikc, offered);
    let freezers: Vec<String> = lines_of(&packets)
        .into_iter()
        .filter(|l| l.starts_with("FREEZER"))
        .collect();
    assert_eq!(freezers, ["FREEZER Storable"]);
}

/// A raw client of `protocol` negotiating with the worker on `port`
/// through the real state machine, one read() at a time; what each
/// read returned. Then it quits the worker.
fn raw_client(port: u16, protocol: Protocol) -> Vec<Vec<u8>> {
    let mut stream = std::net::TcpStream::connect(("127.0.0.1", port)).unwrap();
    stream
        .set_read_timeout(Some(std::time::Duration::from_secs(20)))
        .unwrap();
    let names = Names {
        kernel_id: "raw-kernel".into(),
        names: vec!["raw".into()],
    };
    let mut client = Negotiation::client(names, protocol, 1);
    for line in client.start() {
        stream.write_all(format!("{line}\r\n").as_bytes()).unwrap();
    }
    let (mut packets, mut pending) = (Vec::new(), Vec::new());
    'negotiating: loop {
        let mut buf = [0u8; 4096];
        let n = stream.read(&mut buf).unwrap();
        assert!(n > 0, "the server hung up while negotiating");
        packets.push(buf[..n].to_vec());
        pending.extend_from_slice(&buf[..n]);
        for line in take_lines(&mut pending) {
            let step = client.line(&line).unwrap();
            for reply in &step.send {
                stream.write_all(format!("{reply}\r\n").as_bytes()).unwrap();
            }
            if step.done.is_some() {
                break 'negotiating;
            }
        }
    }
    let quit = Value::map([("event", "poe://worker/echo/quit")]);
    stream.write_all(&Peer::frame(&quit)).unwrap();
    let mut rest = Vec::new();
    stream.read_to_end(&mut rest).unwrap();
    packets
}

#[test]
fn each_negotiation_line_leaves_a_server_in_one_write_with_its_crlf() {
    for protocol in [Protocol::Ikc0, Protocol::Ikc] {
        let (port, worker) = worker("worker");
        let packets = raw_client(port, protocol);
        worker.join().unwrap();
        assert!(packets.len() > 1 || protocol == Protocol::Ikc0);
        for packet in &packets {
            assert!(
                packet.ends_with(b"\r\n"),
                "{protocol:?}: a read ended inside a line: {:?}",
                String::from_utf8_lossy(packet)
            );
        }
    }
}

/// Perl's `s/[^-:.\w]+/_/g` on a path, restated for the assertions.
fn perl_clean(path: &std::path::Path) -> String {
    use std::os::unix::ffi::OsStrExt;
    let odd = |b: &u8| !(b.is_ascii_alphanumeric() || b"-:._".contains(b));
    let bytes = path.as_os_str().as_bytes();
    let mut out = String::new();
    for (i, b) in bytes.iter().enumerate() {
        if !odd(b) {
            out.push(char::from(*b));
        } else if i == 0 || !odd(&bytes[i - 1]) {
            out.push('_');
        }
    }
    out
}

/// A fresh directory for sockets, its name with a space and a run of odd
/// octets (`+é~`) in it.
fn socket_dir(tag: &str) -> std::path::PathBuf {
    let dir = std::env::temp_dir().join(format!("poe ikc+é~{tag}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir(&dir).unwrap();
    dir
}

#[test]
fn a_client_on_a_unix_socket_announces_the_path_its_pid_and_its_descriptor() {
    let dir = socket_dir("client");
    let path = dir.join("server.sock");
    let (tx, rx) = mpsc::channel();
    let server = FakeServer::unix(&path, vec![serve(Protocol::Ikc0, tx)]);
    let log: Log = Rc::default();
    let kernel = boss(|b| b.unix(&path), &log);
    let id = kernel.id().to_owned();
    run_guarded(&kernel);
    server.join();
    let setup = lines_of(&rx.recv().unwrap()).remove(0);
    std::fs::remove_dir_all(&dir).unwrap();
    assert_eq!(*log.borrow(), ["hello early"]);
    let pid = std::process::id();
    let head = format!("SETUP KERNEL={id},boss,unix:{}:{pid}-", perl_clean(&path));
    let tail = format!(";FREEZER=Storable;PID={pid}");
    let fd = setup
        .strip_prefix(&head)
        .and_then(|rest| rest.strip_suffix(&tail))
        .unwrap_or_else(|| panic!("{setup}\nwanted {head}<fd>{tail}"));
    assert!(
        fd.parse::<u32>().is_ok_and(|fd| fd > 2),
        "a descriptor: {setup}"
    );
}

#[test]
fn a_server_on_a_unix_socket_announces_its_path() {
    let dir = socket_dir("server");
    let path = dir.join("worker.sock");
    let p = path.clone();
    let (tx, rx) = mpsc::channel();
    let worker = std::thread::spawn(move || {
        let kernel = Kernel::new().unwrap();
        Server::builder()
            .unix(&p)
            .name("worker")
            .spawn(&kernel)
            .unwrap();
        kernel.create(ikc_common::echo_session()).unwrap();
        tx.send(kernel.id().to_owned()).unwrap();
        run_guarded(&kernel);
    });
    let id = rx.recv().unwrap();
    let mut stream = std::os::unix::net::UnixStream::connect(&path).unwrap();
    stream
        .write_all(b"SETUP KERNEL=raw;FREEZER=Storable;PID=1\r\n")
        .unwrap();
    let mut reply = Vec::new();
    while !reply.ends_with(b"\r\n") {
        let mut buf = [0u8; 512];
        let n = stream.read(&mut buf).unwrap();
        assert!(n > 0);
        reply.extend_from_slice(&buf[..n]);
    }
    let quit = Value::map([("event", "poe://worker/echo/quit")]);
    stream.write_all(&Peer::frame(&quit)).unwrap();
    worker.join().unwrap();
    std::fs::remove_dir_all(&dir).unwrap();
    let pid = std::process::id();
    assert_eq!(
        String::from_utf8(reply).unwrap(),
        format!(
            "SETUP KERNEL={id},worker,unix:{};FREEZER=Storable;PID={pid}\r\n",
            perl_clean(&path)
        )
    );
}
