//! The negotiation phase of an IKC channel as a pure state machine: lines
//! in, lines out. No I/O, so the Channel session, ClientLite and the tests
//! drive the same code (ikc-protocol.md §3).

mod setup;

pub(crate) use setup::Setup;

use std::fmt;

/// The only serializer poe-rs offers or accepts: Storable's `nfreeze`.
/// (Perl's Data::Dumper freezer runs received code; other package names
/// make a Perl server load modules. Both are refused.)
pub const STORABLE: &str = "Storable";

/// Which dialect a side speaks (Perl's `protocol` parameter).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum Protocol {
    /// `IKC0`: one `SETUP` line each way, falling back to the HELLO
    /// dialogue when the other side answers `NOT` (Perl's default).
    #[default]
    Ikc0,
    /// `IKC`: only the older HELLO / IAM / ... / UP dialogue.
    Ikc,
}

/// How a channel announces itself: the kernel ID, then its other names
/// (`name`, `aliases`, and the channel's `ip:port`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Names {
    /// The kernel ID (or, for ClientLite, its only name).
    pub kernel_id: String,
    /// The other names, in the order Perl lists them.
    pub names: Vec<String>,
}

/// What a finished negotiation learned about the other side.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Negotiated {
    /// The remote kernel's canonical name (its first announced name).
    pub remote_id: String,
    /// Its other names.
    pub remote_aliases: Vec<String>,
    /// The remote process ID (IKC0 only).
    pub pid: Option<u32>,
    /// True when the HELLO dialogue was used.
    pub hello: bool,
}

/// Why a negotiation failed. Each ends that one channel.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum NegotiationError {
    /// More lines than a negotiation can need.
    TooManyLines(usize),
    /// More `NOT`s (sent or received) than a negotiation can need.
    TooManyNots(usize),
    /// The server chose a serializer other than Storable.
    Serializer(String),
    /// The HELLO dialogue ended without the peer announcing a name.
    Anonymous,
}

impl fmt::Display for NegotiationError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            NegotiationError::TooManyLines(n) => {
                write!(f, "negotiation went on for more than {n} lines")
            }
            NegotiationError::TooManyNots(n) => {
                write!(f, "more than {n} refusals (NOT) while negotiating")
            }
            NegotiationError::Serializer(p) => write!(
                f,
                "the peer chose serializer {p:?}; only {STORABLE} is spoken"
            ),
            NegotiationError::Anonymous => {
                f.write_str("the peer finished negotiating without a name")
            }
        }
    }
}

impl std::error::Error for NegotiationError {}

/// Bounds on a negotiation with a peer that never finishes it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Limits {
    /// Lines received before giving up. A real negotiation needs fewer
    /// than 10 plus one per name.
    pub max_lines: usize,
    /// `NOT`s sent plus received before giving up.
    pub max_nots: usize,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            max_lines: 64,
            max_nots: 8,
        }
    }
}

/// The outcome of one received line: lines to send (each followed by
/// CR LF, each in one write), and the result once negotiation is over.
#[derive(Debug, Default, PartialEq, Eq)]
pub struct Step {
    /// Lines to send, in order.
    pub send: Vec<String>,
    /// Set when this line finished the negotiation: switch to frames
    /// after sending `send`.
    pub done: Option<Negotiated>,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Role {
    Server,
    Client,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Phase {
    /// IKC0: the server waits for SETUP (or HELLO); the client for the
    /// server's SETUP (or NOT, to fall back).
    Setup,
    /// HELLO dialogue, server: waiting for HELLO. Client: learning the
    /// server's names (IAM ... DONE).
    Hello,
    /// Telling our names, one IAM per OK, then DONE.
    Tell,
    /// Server: learning the client's names.
    Learn,
    /// Server: waiting for FREEZER or WORLD. Client: sent FREEZER,
    /// waiting for OK / NOT.
    Freezer,
    /// Client: sent WORLD, waiting for UP.
    World,
    Done,
}

/// One side of a negotiation (ikc-protocol.md §3.2 and §3.3).
///
/// ```
/// use poe_components::ikc::negotiation::{Names, Negotiation, Protocol};
/// let names = |id: &str| Names { kernel_id: id.into(), names: vec![] };
/// let mut client = Negotiation::client(names("boss-1"), Protocol::Ikc0, 7);
/// let mut server = Negotiation::server(names("worker-1"), Protocol::Ikc0, 9);
/// let hello = client.start();
/// let step = server.line(hello[0].as_bytes()).unwrap();
/// assert_eq!(step.done.unwrap().remote_id, "boss-1");
/// let step = client.line(step.send[0].as_bytes()).unwrap();
/// assert_eq!(step.done.unwrap().remote_id, "worker-1");
/// ```
#[derive(Debug)]
pub struct Negotiation {
    role: Role,
    protocol: Protocol,
    phase: Phase,
    names: Names,
    pid: u32,
    limits: Limits,
    /// Names still to announce in the HELLO dialogue (popped from the end).
    to_tell: Vec<String>,
    /// Names learned in the HELLO dialogue, in order.
    learned: Vec<String>,
    lines: usize,
    nots: usize,
}

impl Negotiation {
    /// The accepting side (IKC::Server's channel).
    pub fn server(names: Names, protocol: Protocol, pid: u32) -> Negotiation {
        let phase = match protocol {
            Protocol::Ikc0 => Phase::Setup,
            Protocol::Ikc => Phase::Hello,
        };
        Negotiation::new(Role::Server, protocol, phase, names, pid)
    }

    /// The connecting side (IKC::Client's channel, ClientLite).
    pub fn client(names: Names, protocol: Protocol, pid: u32) -> Negotiation {
        let phase = match protocol {
            Protocol::Ikc0 => Phase::Setup,
            Protocol::Ikc => Phase::Hello,
        };
        Negotiation::new(Role::Client, protocol, phase, names, pid)
    }

    fn new(role: Role, protocol: Protocol, phase: Phase, names: Names, pid: u32) -> Negotiation {
        Negotiation {
            role,
            protocol,
            phase,
            names,
            pid,
            limits: Limits::default(),
            to_tell: Vec::new(),
            learned: Vec::new(),
            lines: 0,
            nots: 0,
        }
    }

    /// Replace the default [`Limits`].
    pub fn with_limits(mut self, limits: Limits) -> Negotiation {
        self.limits = limits;
        self
    }

    /// True once negotiation is over.
    pub fn is_done(&self) -> bool {
        self.phase == Phase::Done
    }

    /// The lines to send first: the client speaks first (its SETUP, or
    /// HELLO); the server says nothing until it hears from the client.
    pub fn start(&mut self) -> Vec<String> {
        match (self.role, self.protocol) {
            (Role::Server, _) => Vec::new(),
            (Role::Client, Protocol::Ikc0) => vec![self.setup_line()],
            (Role::Client, Protocol::Ikc) => vec!["HELLO".to_owned()],
        }
    }

    /// Handle one received line (without its terminator).
    pub fn line(&mut self, raw: &[u8]) -> Result<Step, NegotiationError> {
        self.lines += 1;
        if self.lines > self.limits.max_lines {
            return Err(NegotiationError::TooManyLines(self.limits.max_lines));
        }
        // A line that is not text cannot be any of the keywords.
        let line = std::str::from_utf8(raw).unwrap_or("\u{fffd}");
        if line == "NOT" {
            self.count_not()?;
        }
        let mut step = Step::default();
        match (self.role, self.phase) {
            (_, Phase::Done) => {}
            (Role::Server, Phase::Setup) => self.server_setup(line, &mut step)?,
            (Role::Server, Phase::Hello) => self.server_hello(line, &mut step)?,
            (_, Phase::Tell) => self.tell(line, &mut step)?,
            (Role::Server, Phase::Learn) => match line {
                "DONE" => self.phase = Phase::Freezer,
                "NOT" => {}
                _ => match line.strip_prefix("IAM ").map(str::trim_start) {
                    Some(name) if is_iam_name(name) => {
                        self.learned.push(name.to_owned());
                        step.send.push("OK".into());
                    }
                    _ => self.not(&mut step)?,
                },
            },
            (Role::Server, Phase::Freezer) => match line {
                "WORLD" => {
                    step.send.push("UP".into());
                    step.done = Some(self.finish_hello()?);
                }
                "NOT" => {}
                _ if line.strip_prefix("FREEZER ").map(str::trim_start) == Some(STORABLE) => {
                    step.send.push("OK".into());
                }
                // Any other package: refused, never loaded.
                _ => self.not(&mut step)?,
            },
            (Role::Client, Phase::Setup) => self.client_setup(line, &mut step)?,
            (Role::Client, Phase::Hello) => match line {
                "DONE" => {
                    step.send.push(format!("IAM {}", self.names.kernel_id));
                    self.to_tell = self.names.names.clone();
                    self.phase = Phase::Tell;
                }
                "NOT" => {}
                _ => match line.strip_prefix("IAM ").map(str::trim_start) {
                    Some(name) if is_iam_name(name) => {
                        self.learned.push(name.to_owned());
                        step.send.push("OK".into());
                    }
                    _ => self.not(&mut step)?,
                },
            },
            (Role::Client, Phase::Freezer) => match line {
                // NOT: our only serializer was refused; carry on with the
                // default, which is Storable too (as Perl does).
                "OK" | "NOT" => {
                    step.send.push("WORLD".into());
                    self.phase = Phase::World;
                }
                _ => self.not(&mut step)?,
            },
            (Role::Client, Phase::World) => match line {
                "UP" => step.done = Some(self.finish_hello()?),
                "NOT" => {}
                _ => self.not(&mut step)?,
            },
            (Role::Server, Phase::World) | (Role::Client, Phase::Learn) => {
                unreachable!("no such phase for this role")
            }
        }
        Ok(step)
    }

    fn setup_line(&self) -> String {
        let mut names = vec![self.names.kernel_id.clone()];
        names.extend(self.names.names.iter().cloned());
        Setup::line(&names, &[STORABLE], self.pid)
    }

    fn count_not(&mut self) -> Result<(), NegotiationError> {
        self.nots += 1;
        if self.nots > self.limits.max_nots {
            return Err(NegotiationError::TooManyNots(self.limits.max_nots));
        }
        Ok(())
    }

    /// Answer a line that makes no sense here with NOT (not to a NOT).
    fn not(&mut self, step: &mut Step) -> Result<(), NegotiationError> {
        self.count_not()?;
        step.send.push("NOT".into());
        Ok(())
    }

    fn server_setup(&mut self, line: &str, step: &mut Step) -> Result<(), NegotiationError> {
        if let Some(items) = line.strip_prefix("SETUP ") {
            match Setup::parse(items) {
                Some(setup) if setup.freezer.iter().any(|f| f == STORABLE) => {
                    step.send.push(self.setup_line());
                    step.done = Some(self.finish_setup(setup));
                }
                _ => self.not(step)?,
            }
        } else if line == "HELLO" {
            self.server_hello(line, step)?;
        } else if is_hello_ikc(line) {
            self.not(step)?;
        }
        // Anything else is ignored, as Perl ignores it.
        Ok(())
    }

    fn server_hello(&mut self, line: &str, step: &mut Step) -> Result<(), NegotiationError> {
        if line == "HELLO" {
            step.send.push(format!("IAM {}", self.names.kernel_id));
            self.to_tell = self.names.names.clone();
            self.phase = Phase::Tell;
        } else if is_hello_ikc(line) || line.starts_with("SETUP") {
            // How an IKC-only server refuses an IKC0 client.
            self.not(step)?;
        }
        Ok(())
    }

    /// Phase 001 of both sides: one `IAM` per `OK`, last name first, then
    /// `DONE`.
    fn tell(&mut self, line: &str, step: &mut Step) -> Result<(), NegotiationError> {
        match line {
            "OK" => match self.to_tell.pop() {
                Some(name) => step.send.push(format!("IAM {name}")),
                None => {
                    step.send.push("DONE".into());
                    match self.role {
                        Role::Server => self.phase = Phase::Learn,
                        Role::Client => {
                            step.send.push(format!("FREEZER {STORABLE}"));
                            self.phase = Phase::Freezer;
                        }
                    }
                }
            },
            "NOT" => {}
            _ => self.not(step)?,
        }
        Ok(())
    }

    fn client_setup(&mut self, line: &str, step: &mut Step) -> Result<(), NegotiationError> {
        if line == "NOT" {
            // The server does not speak IKC0: fall back to HELLO.
            step.send.push("HELLO".into());
            self.phase = Phase::Hello;
            return Ok(());
        }
        match line.strip_prefix("SETUP ").and_then(Setup::parse) {
            Some(setup) if setup.freezer.len() == 1 => {
                if setup.freezer[0] != STORABLE {
                    return Err(NegotiationError::Serializer(setup.freezer[0].clone()));
                }
                step.done = Some(self.finish_setup(setup));
            }
            _ => self.not(step)?,
        }
        Ok(())
    }

    fn finish_setup(&mut self, mut setup: Setup) -> Negotiated {
        self.phase = Phase::Done;
        let remote_id = setup.kernel.remove(0);
        Negotiated {
            remote_id,
            remote_aliases: setup.kernel,
            pid: setup.pid,
            hello: false,
        }
    }

    fn finish_hello(&mut self) -> Result<Negotiated, NegotiationError> {
        self.phase = Phase::Done;
        let mut names = std::mem::take(&mut self.learned);
        if names.is_empty() {
            return Err(NegotiationError::Anonymous);
        }
        let remote_id = names.remove(0);
        Ok(Negotiated {
            remote_id,
            remote_aliases: names,
            pid: None,
            hello: true,
        })
    }
}

/// `HELLO IKC<digit>`: an IKC1-era greeting, refused.
fn is_hello_ikc(line: &str) -> bool {
    line.strip_prefix("HELLO IKC")
        .is_some_and(|d| d.len() == 1 && d.as_bytes()[0].is_ascii_digit())
}

/// `[-:.\w]+`, what the HELLO dialogue accepts in `IAM`.
pub(crate) fn is_iam_name(name: &str) -> bool {
    !name.is_empty()
        && name
            .chars()
            .all(|c| c.is_alphanumeric() || "_-:.".contains(c))
}

#[cfg(test)]
mod tests;
