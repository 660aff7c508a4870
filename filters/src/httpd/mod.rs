//! POE::Filter::HTTPD: HTTP/1.0 and 1.1 requests in, responses out.

mod head;
mod message;
mod status;

pub use message::{Headers, HttpRequest, HttpResponse};

use crate::buffer::FramingBuffer;
use crate::record::decimal_u64;
use crate::{ConfigError, Filter, FilterError};
use head::{find_head_end, is_space, parse_head};
use poe_kernel::Value;

const DEFAULT_MAX_CONTENT: usize = 1024 * 1024;
const DEFAULT_MAX_BUFFER: usize = 512 * 1024 * 1024;
const DEFAULT_MAX_HEADER: usize = 64 * 1024;

/// POE::Filter::HTTPD.
///
/// `get_one` yields `Value::Local(HttpRequest)` for each request — or
/// `Value::Local(HttpResponse)` for a request that must be answered with
/// an error (400 unparsable request line or Content-Length, 411
/// Content-Encoding without length on HTTP/1.1, 413 body over
/// `MaxContent`, 431 head over `MaxHeader`), which the program is expected
/// to `put` back, as with POE. In streaming mode the request comes first
/// with an empty body, then the body as `Value::Bytes` pieces.
///
/// `put` takes a `Value::Local(HttpResponse)` and writes it exactly as POE
/// does (status line, headers, blank line, content; nothing added).
///
/// Typed records carried as `Local` keep what POE's objects offer
/// (ordered, repeatable, case-insensitive headers; bytes for bodies) and
/// cost no conversion; a request never needs to cross a process boundary.
///
/// Differences from POE 1.370, on purpose: a request with
/// `Content-Length: 0` does not discard pipelined requests behind it; the
/// body of a request refused with 413 is skipped (its Content-Length
/// octets), and after a 400 for Content-Length, a 411, a 431 or a body
/// that runs to the end of the connection, all further input is dropped
/// — POE drops only what it has buffered and parses whatever comes next
/// as requests, so its answer depends on how the bytes were split across
/// reads;
/// differing duplicate Content-Length fields are a 400 (request
/// smuggling); the head is limited by `MaxHeader` (default 64 KiB, POE has
/// no limit below `MaxBuffer`); error pages HTML-escape the request text
/// they quote; response headers keep the order and case given.
///
/// ```
/// use poe_filters::{Filter, Httpd, HttpRequest, HttpResponse};
/// use poe_kernel::Value;
///
/// let mut httpd = Httpd::new();
/// httpd.get_one_start(b"POST /form HTTP/1.1\r\nHost: x\r\nContent-Length: 3\r\n\r\na=1").unwrap();
/// let request = httpd.get_one().unwrap().unwrap().take_local::<HttpRequest>().unwrap();
/// assert_eq!((request.method.as_str(), request.uri.as_str()), ("POST", "/form"));
/// assert_eq!(request.header("host"), Some("x"));
/// assert_eq!(request.content, b"a=1");
///
/// let mut reply = HttpResponse::new(200);
/// reply.message = Some("OK".into());
/// reply.protocol = Some(request.protocol.clone());
/// reply.content = b"thanks".to_vec();
/// let mut out = Vec::new();
/// httpd.put(Value::local(reply), &mut out).unwrap();
/// assert_eq!(out, b"HTTP/1.1 200 OK\r\n\r\nthanks");
///
/// httpd.get_one_start(b"ELEPHANT\r\n\r\n").unwrap();
/// let error = httpd.get_one().unwrap().unwrap().take_local::<HttpResponse>().unwrap();
/// assert_eq!(error.code, 400);
/// ```
#[derive(Debug)]
pub struct Httpd {
    buf: FramingBuffer,
    max_content: usize,
    max_buffer: usize,
    max_header: usize,
    streaming: bool,
    state: State,
    /// No blank line ends before this offset of the buffered head.
    scan_from: usize,
    /// The head ended a read one optional newline octet short: if the next
    /// data starts with it, it belongs to the head (as it would have, had
    /// the data come at once), not to the body.
    swallow: Option<u8>,
}

#[derive(Debug)]
enum State {
    Head,
    /// A body of `remaining` more octets (never 0), going to `sink`.
    Body {
        remaining: u64,
        sink: Sink,
    },
    /// The request's framing is lost (a 400 for its Content-Length, a
    /// 411, a 431, or a body delimited by the end of the connection):
    /// nothing after it can be told from a next request, so all further
    /// input is dropped.
    Discard,
}

/// Where the octets of a body go.
#[derive(Debug)]
enum Sink {
    /// Into the request's content; the request is the record once the
    /// body is complete.
    Collect(Box<HttpRequest>),
    /// Out as `Value::Bytes` pieces (streaming mode).
    Stream,
    /// Nowhere: the body of a request refused with a 413.
    Skip,
}

impl Default for Httpd {
    fn default() -> Self {
        Httpd::new()
    }
}

impl Httpd {
    /// Default limits: `MaxContent` 1 MiB, `MaxBuffer` 512 MiB, `MaxHeader`
    /// 64 KiB, no streaming.
    ///
    /// Also the starting state of every stream: the builder and
    /// `clone_fresh` set the parameters and take the rest from here.
    pub fn new() -> Httpd {
        Httpd {
            buf: FramingBuffer::new(),
            max_content: DEFAULT_MAX_CONTENT,
            max_buffer: DEFAULT_MAX_BUFFER,
            max_header: DEFAULT_MAX_HEADER,
            streaming: false,
            state: State::Head,
            scan_from: 0,
            swallow: None,
        }
    }

    /// All of POE's parameters (and `MaxHeader`).
    pub fn builder() -> HttpdBuilder {
        HttpdBuilder::default()
    }

    /// Drop everything from here on (see `State::Discard`).
    fn discard(&mut self) {
        self.buf.clear();
        self.scan_from = 0;
        self.state = State::Discard;
    }

    fn strip_leading_space(&mut self) {
        let n = self
            .buf
            .bytes()
            .iter()
            .take_while(|&&b| is_space(b))
            .count();
        self.buf.consume(n);
        self.scan_from = self.scan_from.saturating_sub(n);
    }

    /// A complete head is at the front of the buffer: parse it and decide
    /// what its body is.
    fn take_head(&mut self, end: usize, short: Option<u8>) -> Option<Value> {
        let head = &self.buf.bytes()[..end];
        let parsed = parse_head(head);
        let Some(request) = parsed else {
            let mut details = b"Request line parse failure. (".to_vec();
            details.extend_from_slice(head);
            // A blank line cut short by the read ("\r\n\r") is quoted
            // whole, as it reads when the request comes in one piece.
            details.extend(short);
            details.push(b')');
            self.buf.consume(end);
            self.scan_from = 0;
            return Some(error(400, &details, None));
        };
        self.buf.consume(end);
        self.scan_from = 0;
        self.swallow = short;

        let length = match content_length(&request.headers) {
            Ok(length) => length,
            Err(()) => {
                self.discard();
                return Some(error(
                    400,
                    b"Content-Length is not a number.",
                    Some(request),
                ));
            }
        };
        let encoded = request.headers.get("Content-Encoding").is_some();
        match length {
            None if !encoded => Some(Value::local(request)),
            Some(0) => Some(Value::local(request)),
            None => {
                // A body of unknown length: it cannot be told apart from a
                // next request, so it is dropped (POE drops what is
                // buffered, then parses what follows as requests).
                self.discard();
                if request.version() >= 1001 {
                    Some(error(411, b"No content length found.", Some(request)))
                } else {
                    Some(Value::local(request))
                }
            }
            Some(n) if self.streaming => {
                self.state = State::Body {
                    remaining: n,
                    sink: Sink::Stream,
                };
                Some(Value::local(request))
            }
            Some(n) if n > self.max_content as u64 => {
                // The body is skipped, not parsed: it is not a request.
                self.state = State::Body {
                    remaining: n,
                    sink: Sink::Skip,
                };
                let details = format!("Content of {n} octets not accepted.");
                Some(error(413, details.as_bytes(), Some(request)))
            }
            Some(n) => {
                self.state = State::Body {
                    remaining: n,
                    sink: Sink::Collect(Box::new(request)),
                };
                None
            }
        }
    }

    fn next_record(&mut self) -> Option<Value> {
        loop {
            if let Some(octet) = self.swallow {
                match self.buf.bytes().first() {
                    None => return None,
                    Some(&first) => {
                        if first == octet {
                            self.buf.consume(1);
                        }
                        self.swallow = None;
                    }
                }
            }
            match &mut self.state {
                State::Head => {
                    self.strip_leading_space();
                    match find_head_end(self.buf.bytes(), self.scan_from) {
                        Ok((end, short)) => match self.take_head(end, short) {
                            Some(record) => return Some(record),
                            None => continue,
                        },
                        Err(resume) => {
                            self.scan_from = resume;
                            if self.buf.len() > self.max_header {
                                self.discard();
                                let details =
                                    format!("Request head exceeds {} octets.", self.max_header);
                                return Some(error(431, details.as_bytes(), None));
                            }
                            return None;
                        }
                    }
                }
                State::Discard => {
                    self.buf.clear();
                    return None;
                }
                State::Body { remaining, sink } => {
                    if self.buf.is_empty() {
                        return None;
                    }
                    let piece = self.buf.consume_within(remaining, |octets| match sink {
                        Sink::Collect(request) => {
                            request.content.extend_from_slice(octets);
                            None
                        }
                        Sink::Stream => Some(Value::from(octets)),
                        Sink::Skip => None,
                    });
                    let done = *remaining == 0;
                    if done {
                        let body = std::mem::replace(&mut self.state, State::Head);
                        // "Some browsers (like MSIE 5.01) send extra CRLFs
                        // after the content."
                        self.strip_leading_space();
                        if let State::Body {
                            sink: Sink::Collect(request),
                            ..
                        } = body
                        {
                            return Some(Value::local(*request));
                        }
                    }
                    match piece {
                        Some(piece) => return Some(piece),
                        // A skipped body is over: on to the next head.
                        None if done => {}
                        None => return None,
                    }
                }
            }
        }
    }
}

/// An error response as a record.
fn error(code: u16, details: &[u8], request: Option<HttpRequest>) -> Value {
    Value::local(HttpResponse::error(code, details, request))
}

/// `^\s*(\d+)\s*$`, saturating; every Content-Length field must agree.
fn content_length(headers: &Headers) -> Result<Option<u64>, ()> {
    let mut lengths = headers.get_all("Content-Length");
    let Some(first) = lengths.next() else {
        return Ok(None);
    };
    let first = first.trim_matches(|c: char| c.is_ascii_whitespace());
    if first.is_empty() || !first.bytes().all(|b| b.is_ascii_digit()) {
        return Err(());
    }
    if !lengths.all(|other| other.trim_matches(|c: char| c.is_ascii_whitespace()) == first) {
        return Err(());
    }
    Ok(Some(decimal_u64(first.as_bytes())))
}

impl Filter for Httpd {
    fn get_one_start(&mut self, data: &[u8]) -> Result<(), FilterError> {
        if matches!(self.state, State::Discard) {
            return Ok(());
        }
        self.buf.extend_bounded(data, self.max_buffer)
    }

    fn get_one(&mut self) -> Result<Option<Value>, FilterError> {
        let record = self.next_record();
        if record.is_none() {
            self.buf.settle();
        }
        Ok(record)
    }

    /// `record` must be a `Value::Local(HttpResponse)`.
    fn put(&mut self, record: Value, out: &mut Vec<u8>) -> Result<(), FilterError> {
        let written = record
            .as_local()
            .and_then(|l| l.with(|r: &mut HttpResponse| r.write_to(out)));
        written.ok_or(FilterError::WrongRecord {
            expected: "HttpResponse",
            found: record.kind(),
        })
    }

    fn get_pending(&self) -> Option<Vec<u8>> {
        self.buf.pending()
    }

    fn clone_fresh(&self) -> Box<dyn Filter> {
        Box::new(Httpd {
            max_content: self.max_content,
            max_buffer: self.max_buffer,
            max_header: self.max_header,
            streaming: self.streaming,
            ..Httpd::new()
        })
    }
}

/// Parameters of [`Httpd`], as POE names them.
#[derive(Debug, Default, Clone)]
#[must_use]
pub struct HttpdBuilder {
    max_content: Option<usize>,
    max_buffer: Option<usize>,
    max_header: Option<usize>,
    streaming: bool,
}

impl HttpdBuilder {
    /// `MaxContent`: largest body accepted when not streaming (default
    /// 1 MiB); larger requests get a 413 response record.
    pub fn max_content(mut self, octets: usize) -> Self {
        self.max_content = Some(octets);
        self
    }

    /// `MaxBuffer`: most octets buffered (default 512 MiB).
    pub fn max_buffer(mut self, octets: usize) -> Self {
        self.max_buffer = Some(octets);
        self
    }

    /// Largest request head (request line and headers) accepted (default
    /// 64 KiB); a longer one gets a 431 response record.
    pub fn max_header(mut self, octets: usize) -> Self {
        self.max_header = Some(octets);
        self
    }

    /// `Streaming`: hand the body out in pieces after the request.
    pub fn streaming(mut self, on: bool) -> Self {
        self.streaming = on;
        self
    }

    /// Check the parameters as POE does and make the filter.
    pub fn build(self) -> Result<Httpd, ConfigError> {
        let max_content = self.max_content.unwrap_or(DEFAULT_MAX_CONTENT);
        let max_buffer = self.max_buffer.unwrap_or(DEFAULT_MAX_BUFFER);
        let max_header = self.max_header.unwrap_or(DEFAULT_MAX_HEADER);
        for (name, v) in [
            ("MaxContent", max_content),
            ("MaxBuffer", max_buffer),
            ("MaxHeader", max_header),
        ] {
            if v == 0 {
                return Err(ConfigError::Zero(name));
            }
        }
        let needed = max_content.saturating_add(max_content.to_string().len() + 1);
        if max_buffer < needed {
            return Err(ConfigError::BufferTooSmall { max_buffer, needed });
        }
        Ok(Httpd {
            max_content,
            max_buffer,
            max_header,
            streaming: self.streaming,
            ..Httpd::new()
        })
    }
}
