//! The dialogues of ikc-transcript.txt, line by line, against each side.

use super::*;

fn names(id: &str, rest: &[&str]) -> Names {
    Names {
        kernel_id: id.into(),
        names: rest.iter().map(|s| (*s).to_owned()).collect(),
    }
}

/// Feed `lines` to `side`, collecting everything it sends.
fn feed(side: &mut Negotiation, lines: &[&str]) -> (Vec<String>, Option<Negotiated>) {
    let mut sent = Vec::new();
    let mut done = None;
    for l in lines {
        let step = side.line(l.as_bytes()).unwrap();
        sent.extend(step.send);
        if step.done.is_some() {
            done = step.done;
        }
    }
    (sent, done)
}

#[test]
fn an_ikc0_server_answers_the_perl_clients_setup_as_perl_does() {
    // Transcript §A, chunk 1 and 2.
    let mut server = Negotiation::server(
        names("srv-id", &["perlsrv", "127.0.0.1:35151"]),
        Protocol::Ikc0,
        12817,
    );
    assert!(server.start().is_empty(), "the client speaks first");
    let (sent, done) = feed(&mut server, &["SETUP KERNEL=vm-6b0125d2-0000322e-00000001,perlcli,127.0.0.1:39428;FREEZER=Storable,POE::Component::IKC::Freezer;PID=12846"]);
    assert_eq!(
        sent,
        ["SETUP KERNEL=srv-id,perlsrv,127.0.0.1:35151;FREEZER=Storable;PID=12817"]
    );
    let done = done.unwrap();
    assert_eq!(done.remote_id, "vm-6b0125d2-0000322e-00000001");
    assert_eq!(done.remote_aliases, ["perlcli", "127.0.0.1:39428"]);
    assert_eq!(done.pid, Some(12846));
    assert!(server.is_done());
}

#[test]
fn an_ikc0_client_sends_perls_setup_line_and_accepts_the_servers() {
    let mut client = Negotiation::client(
        names("cli-id", &["perlcli", "127.0.0.1:39428"]),
        Protocol::Ikc0,
        12846,
    );
    assert_eq!(
        client.start(),
        ["SETUP KERNEL=cli-id,perlcli,127.0.0.1:39428;FREEZER=Storable;PID=12846"]
    );
    let (sent, done) = feed(&mut client, &["SETUP KERNEL=vm-6b0125d2-00003211-00000001,perlsrv,127.0.0.1:35151;FREEZER=Storable;PID=12817"]);
    assert!(sent.is_empty());
    let done = done.unwrap();
    assert_eq!(done.remote_id, "vm-6b0125d2-00003211-00000001");
    assert_eq!(done.remote_aliases, ["perlsrv", "127.0.0.1:35151"]);
}

#[test]
fn the_hello_dialogue_matches_the_transcript_line_for_line() {
    // Transcript §C: what the Perl client sends and what the Perl server
    // answers, each fed to our opposite side.
    let mut server = Negotiation::server(
        names(
            "vm-6b0125d9-00003257-00000001",
            &["perlsrv", "127.0.0.1:45309"],
        ),
        Protocol::Ikc,
        1,
    );
    let mut client = Negotiation::client(
        names(
            "vm-6b0125da-00003264-00000001",
            &["perlcli", "127.0.0.1:40820"],
        ),
        Protocol::Ikc,
        2,
    );
    let perl_client = [
        "HELLO",
        "OK",
        "OK",
        "OK",
        "IAM vm-6b0125da-00003264-00000001",
        "IAM 127.0.0.1:40820",
        "IAM perlcli",
        "DONE",
        "FREEZER Storable",
        "WORLD",
    ];
    let (sent, done) = feed(&mut server, &perl_client);
    assert_eq!(
        sent,
        [
            "IAM vm-6b0125d9-00003257-00000001",
            "IAM 127.0.0.1:45309",
            "IAM perlsrv",
            "DONE",
            "OK",
            "OK",
            "OK",
            "OK",
            "UP"
        ]
    );
    let done = done.unwrap();
    assert_eq!(
        (done.remote_id.as_str(), done.hello),
        ("vm-6b0125da-00003264-00000001", true)
    );
    assert_eq!(done.remote_aliases, ["127.0.0.1:40820", "perlcli"]);

    assert_eq!(client.start(), ["HELLO"]);
    let perl_server = [
        "IAM vm-6b0125d9-00003257-00000001",
        "IAM 127.0.0.1:45309",
        "IAM perlsrv",
        "DONE",
        "OK",
        "OK",
        "OK",
        "OK",
        "UP",
    ];
    let (sent, done) = feed(&mut client, &perl_server);
    assert_eq!(
        sent,
        [
            "OK",
            "OK",
            "OK",
            "IAM vm-6b0125da-00003264-00000001",
            "IAM 127.0.0.1:40820",
            "IAM perlcli",
            "DONE",
            "FREEZER Storable",
            "WORLD"
        ]
    );
    assert_eq!(done.unwrap().remote_id, "vm-6b0125d9-00003257-00000001");
}

#[test]
fn an_ikc0_client_falls_back_to_hello_when_the_server_says_not() {
    // Transcript §D: ClientLite "perllite" against an IKC-only server.
    let mut lite = Negotiation::client(names("perllite", &[]), Protocol::Ikc0, 5);
    assert_eq!(
        lite.start(),
        ["SETUP KERNEL=perllite;FREEZER=Storable;PID=5"]
    );
    let mut server = Negotiation::server(names("srv", &["perlsrv"]), Protocol::Ikc, 6);
    let (sent, done) = feed(
        &mut server,
        &["SETUP KERNEL=perllite;FREEZER=Storable;PID=5"],
    );
    assert_eq!((sent.as_slice(), done), (&["NOT".to_owned()][..], None));
    let (sent, _) = feed(&mut lite, &["NOT"]);
    assert_eq!(sent, ["HELLO"]);
    // Run the rest back and forth until both are done.
    let mut to_server = sent;
    let mut rounds = 0;
    while !(lite.is_done() && server.is_done()) {
        rounds += 1;
        assert!(rounds < 20, "negotiation does not converge");
        let mut to_client = Vec::new();
        for l in to_server.drain(..) {
            to_client.extend(server.line(l.as_bytes()).unwrap().send);
        }
        for l in to_client {
            to_server.extend(lite.line(l.as_bytes()).unwrap().send);
        }
    }
}

#[test]
fn servers_refuse_every_serializer_but_storable() {
    let mut server = Negotiation::server(names("s", &[]), Protocol::Ikc0, 1);
    let (sent, done) = feed(
        &mut server,
        &["SETUP KERNEL=c;FREEZER=POE::Component::IKC::Freezer;PID=1"],
    );
    assert_eq!((sent.as_slice(), done), (&["NOT".to_owned()][..], None));

    let mut server = Negotiation::server(names("s", &[]), Protocol::Ikc, 1);
    let (sent, _) = feed(
        &mut server,
        &[
            "HELLO",
            "OK",
            "IAM c",
            "DONE",
            "FREEZER POE::Component::IKC::Freezer",
            "FREEZER Data::Dumper",
            "FREEZER Storable",
            "WORLD",
        ],
    );
    assert_eq!(sent, ["IAM s", "DONE", "OK", "NOT", "NOT", "OK", "UP"]);
}

#[test]
fn a_client_refuses_a_server_that_picks_another_serializer() {
    let mut client = Negotiation::client(names("c", &[]), Protocol::Ikc0, 1);
    client.start();
    assert_eq!(
        client.line(b"SETUP KERNEL=s;FREEZER=FreezeThaw;PID=2"),
        Err(NegotiationError::Serializer("FreezeThaw".into()))
    );
}

#[test]
fn junk_before_setup_is_ignored_as_perl_ignores_it() {
    let mut server = Negotiation::server(names("s", &[]), Protocol::Ikc0, 1);
    let (sent, done) = feed(&mut server, &["", "GET / HTTP/1.0", "NOT"]);
    assert!(sent.is_empty() && done.is_none());
    let (sent, _) = feed(&mut server, &["HELLO IKC2"]);
    assert_eq!(sent, ["NOT"]);
}

#[test]
fn garbage_ends_a_negotiation_within_its_limits() {
    let mut server = Negotiation::server(names("s", &[]), Protocol::Ikc0, 1);
    let mut result = Ok(Step::default());
    for _ in 0..100 {
        result = server.line(b"junk");
        if result.is_err() {
            break;
        }
    }
    assert_eq!(result, Err(NegotiationError::TooManyLines(64)));

    let mut server = Negotiation::server(names("s", &[]), Protocol::Ikc0, 1);
    let mut result = Ok(Step::default());
    for _ in 0..100 {
        result = server.line(b"SETUP nonsense");
        if result.is_err() {
            break;
        }
    }
    assert_eq!(result, Err(NegotiationError::TooManyNots(8)));
}

#[test]
fn invalid_iam_names_are_refused() {
    let mut server = Negotiation::server(names("s", &[]), Protocol::Ikc, 1);
    let (sent, _) = feed(
        &mut server,
        &["HELLO", "OK", "IAM bad/name", "IAM good-name"],
    );
    assert_eq!(sent, ["IAM s", "DONE", "NOT", "OK"]);
}

#[test]
fn a_hello_dialogue_without_names_fails() {
    let mut client = Negotiation::client(names("c", &[]), Protocol::Ikc, 1);
    client.start();
    let (_, _) = feed(&mut client, &["DONE", "OK", "OK"]);
    assert_eq!(client.line(b"UP"), Err(NegotiationError::Anonymous));
}
