//! The IKC wire transcript (tests/fixtures/ikc-transcript.txt, a copy of
//! shared/ikc-transcript.txt): real bytes between Perl IKC peers, parsed
//! into sections, connections and chunks, with helpers to cut a
//! direction's bytes into negotiation lines and Filter::Reference frames.
//!
//! Format (from the file's header): `######## Section X: title`,
//! `@@ connection <n> <label>`, `=== chunk <k> C>S|S>C <len> bytes (t=…,
//! line mode|frame mode)`, hex dump lines `C>S <offset>  <hex…>  |ascii|`,
//! annotations `#   …`, and `=== client closed the connection (…)`.

use super::json;
use poe_filters::storable;
use poe_kernel::Value;

/// The fixture's path.
pub const FIXTURE: &str = concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/tests/fixtures/ikc-transcript.txt"
);

/// Which way a chunk went.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Dir {
    /// `C>S`: client to server.
    ToServer,
    /// `S>C`: server to client.
    ToClient,
}

/// How the recording proxy saw the reader of a chunk: still negotiating
/// (lines) or exchanging frames.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Mode {
    /// Negotiation lines.
    Line,
    /// Filter::Reference frames.
    Frame,
}

/// One read() of the recording proxy.
#[derive(Clone, Debug)]
pub struct Chunk {
    /// Its number in the connection (from 1).
    pub number: usize,
    /// Its direction.
    pub dir: Dir,
    /// Lines or frames.
    pub mode: Mode,
    /// The octets, reassembled from the hex dump.
    pub bytes: Vec<u8>,
    /// The octet count its header announced.
    pub declared: usize,
    /// The `#` annotations after it, without the leading `#` and spaces.
    pub notes: Vec<String>,
}

impl Chunk {
    /// The `# thawed:` annotations of this chunk, parsed.
    pub fn thawed(&self) -> Vec<Value> {
        self.notes
            .iter()
            .filter_map(|n| n.strip_prefix("thawed: "))
            .map(|j| json::parse(j).unwrap_or_else(|e| panic!("{e} in {j}")))
            .collect()
    }
}

/// One recorded TCP connection.
#[derive(Clone, Debug)]
pub struct Connection {
    /// Its number in the section (from 1).
    pub number: usize,
    /// The label after the number.
    pub label: String,
    /// Notes before its first chunk (`# client … -> proxy -> server …`).
    pub notes: Vec<String>,
    /// The chunks, in recording order.
    pub chunks: Vec<Chunk>,
    /// True when the recording shows the client closing it.
    pub client_closed: bool,
}

impl Connection {
    /// Every octet sent in direction `dir`, in order.
    pub fn stream(&self, dir: Dir) -> Vec<u8> {
        self.chunks
            .iter()
            .filter(|c| c.dir == dir)
            .flat_map(|c| c.bytes.iter().copied())
            .collect()
    }

    /// The negotiation lines sent in direction `dir`.
    pub fn lines(&self, dir: Dir) -> Vec<String> {
        lines_of(&self.stream_in(dir, Mode::Line))
    }

    /// The frame payloads sent in direction `dir`.
    pub fn frames(&self, dir: Dir) -> Vec<Vec<u8>> {
        frames_of(&self.stream_in(dir, Mode::Frame))
    }

    /// The frames sent in direction `dir`, thawed.
    pub fn values(&self, dir: Dir) -> Vec<Value> {
        self.frames(dir).iter().map(|f| thaw(f)).collect()
    }

    /// The `# thawed:` annotations of direction `dir`, parsed, in order.
    pub fn thawed(&self, dir: Dir) -> Vec<Value> {
        self.chunks
            .iter()
            .filter(|c| c.dir == dir)
            .flat_map(Chunk::thawed)
            .collect()
    }

    fn stream_in(&self, dir: Dir, mode: Mode) -> Vec<u8> {
        self.chunks
            .iter()
            .filter(|c| c.dir == dir && c.mode == mode)
            .flat_map(|c| c.bytes.iter().copied())
            .collect()
    }
}

/// One `######## Section` of the transcript.
#[derive(Clone, Debug)]
pub struct Section {
    /// Its letter: `A`, `B`…
    pub id: String,
    /// The text after `Section X: `.
    pub title: String,
    /// Its connections, in order.
    pub connections: Vec<Connection>,
}

impl Section {
    /// Connection `n` (from 1).
    pub fn connection(&self, n: usize) -> &Connection {
        self.connections
            .iter()
            .find(|c| c.number == n)
            .unwrap_or_else(|| panic!("section {} has no connection {n}", self.id))
    }
}

/// The whole transcript.
#[derive(Clone, Debug)]
pub struct Transcript {
    /// Its sections, in order.
    pub sections: Vec<Section>,
}

impl Transcript {
    /// Read and parse the fixture (panics with the offending line).
    pub fn load() -> Transcript {
        let text = std::fs::read_to_string(FIXTURE).expect("the transcript fixture");
        Transcript::parse(&text).unwrap_or_else(|e| panic!("{FIXTURE}: {e}"))
    }

    /// Section `id` (`"B"`).
    pub fn section(&self, id: &str) -> &Section {
        self.sections
            .iter()
            .find(|s| s.id == id)
            .unwrap_or_else(|| panic!("no section {id}"))
    }

    /// Parse the transcript text. Checks every chunk's octet count against
    /// its header and every dump line's offset against the bytes so far.
    pub fn parse(text: &str) -> Result<Transcript, String> {
        let mut sections: Vec<Section> = Vec::new();
        // Octets so far per direction in the current connection.
        let mut offsets = [0usize; 2];
        for (i, line) in text.lines().enumerate() {
            let fail = |what: String| format!("line {}: {what}: {line:?}", i + 1);
            if let Some(rest) = line.strip_prefix("######## Section ") {
                let (id, title) = rest
                    .split_once(": ")
                    .ok_or_else(|| fail("no title".into()))?;
                sections.push(Section {
                    id: id.to_owned(),
                    title: title.to_owned(),
                    connections: Vec::new(),
                });
            } else if let Some(rest) = line.strip_prefix("@@ connection ") {
                let (n, label) = rest.split_once(' ').unwrap_or((rest, ""));
                let section = sections
                    .last_mut()
                    .ok_or_else(|| fail("outside a section".into()))?;
                section.connections.push(Connection {
                    number: n.parse().map_err(|_| fail("bad number".into()))?,
                    label: label.to_owned(),
                    notes: Vec::new(),
                    chunks: Vec::new(),
                    client_closed: false,
                });
                offsets = [0, 0];
            } else if let Some(rest) = line.strip_prefix("=== chunk ") {
                let conn =
                    current(&mut sections).ok_or_else(|| fail("outside a connection".into()))?;
                check_last_chunk(conn)?;
                let words: Vec<&str> = rest.split_whitespace().collect();
                let [n, d, len, "bytes", ..] = words.as_slice() else {
                    return Err(fail("bad chunk header".into()));
                };
                let number = n.parse().map_err(|_| fail("bad chunk number".into()))?;
                let dir = dir_of(d).ok_or_else(|| fail("bad direction".into()))?;
                let declared = len.parse().map_err(|_| fail("bad length".into()))?;
                let mode = if rest.contains("line mode)") {
                    Mode::Line
                } else if rest.contains("frame mode)") {
                    Mode::Frame
                } else {
                    return Err(fail("no mode".into()));
                };
                conn.chunks.push(Chunk {
                    number,
                    dir,
                    mode,
                    bytes: Vec::new(),
                    declared,
                    notes: Vec::new(),
                });
            } else if line.starts_with("=== client closed") {
                let conn =
                    current(&mut sections).ok_or_else(|| fail("outside a connection".into()))?;
                conn.client_closed = true;
            } else if let Some(dir) = line.get(..3).and_then(dir_of) {
                let conn =
                    current(&mut sections).ok_or_else(|| fail("outside a connection".into()))?;
                let chunk = conn
                    .chunks
                    .last_mut()
                    .ok_or_else(|| fail("dump outside a chunk".into()))?;
                if chunk.dir != dir {
                    return Err(fail("direction differs from its chunk's".into()));
                }
                let mut words = line[3..].split_whitespace();
                let offset = words
                    .next()
                    .and_then(|o| usize::from_str_radix(o, 16).ok())
                    .ok_or_else(|| fail("bad offset".into()))?;
                let seen = &mut offsets[dir as usize];
                if offset != *seen {
                    return Err(fail(format!("offset {offset:#x}, expected {seen:#x}")));
                }
                // Hex pairs up to the ASCII column, which starts with '|'.
                for word in words.take_while(|w| !w.starts_with('|')) {
                    let byte = u8::from_str_radix(word, 16)
                        .map_err(|_| fail(format!("bad hex {word:?}")))?;
                    chunk.bytes.push(byte);
                    *seen += 1;
                }
            } else if let Some(note) = line.strip_prefix('#') {
                let note = note.trim_start().to_owned();
                if let Some(conn) = current(&mut sections) {
                    match conn.chunks.last_mut() {
                        Some(chunk) => chunk.notes.push(note),
                        None => conn.notes.push(note),
                    }
                }
            } else if !line.trim().is_empty() {
                return Err(fail("unknown line".into()));
            }
        }
        for section in &mut sections {
            for conn in &mut section.connections {
                check_last_chunk(conn)?;
            }
        }
        Ok(Transcript { sections })
    }
}

fn current(sections: &mut [Section]) -> Option<&mut Connection> {
    sections.last_mut()?.connections.last_mut()
}

fn dir_of(word: &str) -> Option<Dir> {
    match word {
        "C>S" => Some(Dir::ToServer),
        "S>C" => Some(Dir::ToClient),
        _ => None,
    }
}

/// The latest chunk's dump must hold exactly the octets its header
/// announced.
fn check_last_chunk(conn: &Connection) -> Result<(), String> {
    match conn.chunks.last() {
        Some(c) if c.bytes.len() != c.declared => Err(format!(
            "connection {} chunk {}: {} octets dumped, {} announced",
            conn.number,
            c.number,
            c.bytes.len(),
            c.declared
        )),
        _ => Ok(()),
    }
}

/// Cut negotiation octets into lines; every line must end with CR LF, as
/// Perl writes them.
pub fn lines_of(bytes: &[u8]) -> Vec<String> {
    let text = std::str::from_utf8(bytes).expect("negotiation lines are text");
    let body = text
        .strip_suffix("\r\n")
        .unwrap_or_else(|| panic!("lines must end with CR LF: {text:?}"));
    body.split("\r\n").map(str::to_owned).collect()
}

/// Cut frame octets (`<len> NUL <payload>`…) into payloads; the octets
/// must end at a frame boundary.
pub fn frames_of(mut bytes: &[u8]) -> Vec<Vec<u8>> {
    let mut frames = Vec::new();
    while !bytes.is_empty() {
        let nul = bytes.iter().position(|&b| b == 0).expect("a length header");
        let len: usize = std::str::from_utf8(&bytes[..nul])
            .ok()
            .and_then(|d| d.parse().ok())
            .expect("a decimal length");
        let end = nul + 1 + len;
        assert!(end <= bytes.len(), "a frame cut short");
        frames.push(bytes[nul + 1..end].to_vec());
        bytes = &bytes[end..];
    }
    frames
}

/// Thaw one payload (panics on anything but a valid Storable image).
pub fn thaw(payload: &[u8]) -> Value {
    storable::thaw(payload).unwrap_or_else(|e| panic!("a recorded frame does not thaw: {e}"))
}
