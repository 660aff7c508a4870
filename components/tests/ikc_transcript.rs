//! The transcript fixture parser (tests/support/transcript.rs) against the
//! capture itself: structure, octet counts, and every frame thawing to
//! what its `# thawed:` annotation says.

mod support;

use poe_kernel::Value;
use support::transcript::{frames_of, thaw, Dir, Mode, Transcript};

#[test]
fn the_transcript_has_its_four_sections_and_seven_connections() {
    let t = Transcript::load();
    let shape: Vec<(&str, usize)> = t
        .sections
        .iter()
        .map(|s| (s.id.as_str(), s.connections.len()))
        .collect();
    assert_eq!(shape, [("A", 1), ("B", 3), ("C", 1), ("D", 2)]);
    let b = t.section("B");
    assert!(b
        .title
        .starts_with("IKC::ClientLite (IKC0) <-> IKC::Server (IKC0)"));
    let conn = b.connection(1);
    assert_eq!(conn.chunks.len(), 26);
    assert!(conn.client_closed);
    assert_eq!(
        conn.notes,
        ["client 127.0.0.1:37078 -> proxy -> server 127.0.0.1:40733"]
    );
    // The sections recorded only in part do not show a close.
    assert!(!t.section("C").connection(1).client_closed);
}

#[test]
fn chunks_reassemble_from_the_hex_dump() {
    let t = Transcript::load();
    let conn = t.section("B").connection(1);
    let first = &conn.chunks[0];
    assert_eq!(
        (first.number, first.dir, first.mode),
        (1, Dir::ToServer, Mode::Line)
    );
    assert_eq!(
        first.bytes,
        b"SETUP KERNEL=perllite;FREEZER=Storable;PID=12880\r\n"
    );
    assert_eq!(conn.chunks[1].dir, Dir::ToClient);
    // Octet totals per direction: the last dump offsets plus their lines.
    assert_eq!(
        conn.stream(Dir::ToServer).len(),
        50 + 143 + 198 + 223 + 236 + 994 + 222 + 224 + 223 + 222 + 222 + 225 + 222
    );
    assert_eq!(
        conn.lines(Dir::ToServer),
        ["SETUP KERNEL=perllite;FREEZER=Storable;PID=12880"]
    );
    assert_eq!(
        conn.lines(Dir::ToClient),
        ["SETUP KERNEL=vm-6b0125d5-00003243-00000001,perlsrv,127.0.0.1:40733;FREEZER=Storable;PID=12867"]
    );
    assert_eq!(conn.frames(Dir::ToServer).len(), 12);
    assert_eq!(conn.frames(Dir::ToClient).len(), 12);
}

#[test]
fn the_hello_fallback_dialogue_reads_line_by_line() {
    let t = Transcript::load();
    let conn = t.section("D").connection(1);
    assert_eq!(
        conn.lines(Dir::ToServer),
        [
            "SETUP KERNEL=perllite;FREEZER=Storable;PID=12929",
            "HELLO",
            "OK",
            "OK",
            "OK",
            "IAM perllite",
            "DONE",
            "FREEZER Storable",
            "WORLD"
        ]
    );
    assert_eq!(
        conn.lines(Dir::ToClient),
        [
            "NOT",
            "IAM vm-6b0125dc-00003273-00000001",
            "IAM 127.0.0.1:45217",
            "IAM perlsrv",
            "DONE",
            "OK",
            "OK",
            "UP"
        ]
    );
}

#[test]
fn every_frame_thaws_to_what_its_annotation_says() {
    let t = Transcript::load();
    let mut frames = 0;
    for section in &t.sections {
        for conn in &section.connections {
            for chunk in conn.chunks.iter().filter(|c| c.mode == Mode::Frame) {
                // The proxy read whole frames: each frame chunk is a set of
                // complete frames, one annotation each.
                let thawed: Vec<Value> = frames_of(&chunk.bytes).iter().map(|f| thaw(f)).collect();
                assert_eq!(
                    thawed,
                    chunk.thawed(),
                    "section {} connection {} chunk {}",
                    section.id,
                    conn.number,
                    chunk.number
                );
                frames += thawed.len();
            }
        }
    }
    assert_eq!(frames, 69, "every annotated frame was compared");
}

#[test]
fn a_thawed_frame_is_the_request_its_annotation_shows() {
    let t = Transcript::load();
    let conn = t.section("B").connection(1);
    let sent = conn.values(Dir::ToServer);
    // Chunk 7: the first call, `$lite->call('echo/ping', 'x')`.
    assert_eq!(
        sent[2],
        Value::map([
            (
                "event",
                Value::from("poe://vm-6b0125d5-00003243-00000001/echo/ping")
            ),
            (
                "from",
                Value::map([("kernel", "perllite"), ("session", "IKCLite")])
            ),
            ("params", Value::from("x")),
            (
                "rsvp",
                Value::map([
                    ("kernel", "perllite"),
                    ("session", "IKCLite"),
                    ("state", "response0")
                ])
            ),
            ("wantarray", Value::from("")),
        ])
    );
    // The store call's byte string arrives as bytes, its Latin-1 range
    // key (stored downgraded) as text.
    let params = sent[4].get("params").unwrap();
    assert_eq!(
        params.get("bytes"),
        Some(&Value::from(vec![0xff, 0xfe, 0x00, 0x01, 0xe9]))
    );
    assert!(params.get("k\u{e9}y").is_some());
    assert_eq!(conn.thawed(Dir::ToServer), sent);
}
