//! The records of Filter::HTTPD: [`HttpRequest`], [`HttpResponse`] and
//! their [`Headers`].

use super::status::reason;

/// Header fields in the order received (or added), names as written.
/// Lookups ignore case, as HTTP::Headers' do.
///
/// ```
/// use poe_filters::Headers;
/// let mut h = Headers::new();
/// h.push("Content-Type", "text/plain");
/// h.push("X-Seen", "1");
/// h.push("x-seen", "2");
/// assert_eq!(h.get("content-type"), Some("text/plain"));
/// assert_eq!(h.get_all("X-SEEN").collect::<Vec<_>>(), ["1", "2"]);
/// h.set("X-Seen", "3");
/// assert_eq!(h.len(), 2);
/// ```
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Headers(Vec<(String, String)>);

impl Headers {
    /// No headers.
    pub fn new() -> Headers {
        Headers::default()
    }

    /// Add a field (`push_header`).
    pub fn push(&mut self, name: impl Into<String>, value: impl Into<String>) {
        self.0.push((name.into(), value.into()));
    }

    /// Replace every field of that name by one (`header(NAME => VALUE)`).
    pub fn set(&mut self, name: impl Into<String>, value: impl Into<String>) {
        let name = name.into();
        self.remove(&name);
        self.0.push((name, value.into()));
    }

    /// Remove every field of that name.
    pub fn remove(&mut self, name: &str) {
        self.0.retain(|(n, _)| !n.eq_ignore_ascii_case(name));
    }

    /// The first value of a field.
    pub fn get(&self, name: &str) -> Option<&str> {
        self.0
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }

    /// Every value of a field, in order.
    pub fn get_all<'a>(&'a self, name: &'a str) -> impl Iterator<Item = &'a str> + 'a {
        self.0
            .iter()
            .filter(move |(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }

    /// All fields, in order.
    pub fn iter(&self) -> impl Iterator<Item = (&str, &str)> {
        self.0.iter().map(|(n, v)| (n.as_str(), v.as_str()))
    }

    /// Number of fields.
    pub fn len(&self) -> usize {
        self.0.len()
    }

    /// True when there are none.
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
}

/// A parsed HTTP request (POE hands out an `HTTP::Request`).
///
/// Header values and the path are text: UTF-8 when they are valid UTF-8,
/// otherwise each octet is read as a Latin-1 character (HTTP's historical
/// charset), so nothing is lost.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct HttpRequest {
    /// `GET`, `POST`...
    pub method: String,
    /// The request target as `URI->new` leaves it: a leading `//` collapsed
    /// to `/`, unsafe octets %-escaped.
    pub uri: String,
    /// `HTTP/1.1`, `HTTP/1.0`, or `HTTP/0.9` when the request line has no
    /// (valid) version.
    pub protocol: String,
    /// Header fields.
    pub headers: Headers,
    /// The body (Content-Length octets; empty in streaming mode, where the
    /// body follows as separate records).
    pub content: Vec<u8>,
}

impl HttpRequest {
    /// A header value (first of that name, case-insensitive).
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name)
    }

    /// Protocol version as `major * 1000 + minor` (POE's `_http_version`),
    /// 0 when unparsable.
    pub fn version(&self) -> u32 {
        http_version(&self.protocol)
    }
}

/// `^(?:HTTP/)?(\d+)\.(\d+)$` → major * 1000 + minor.
pub(crate) fn http_version(proto: &str) -> u32 {
    let p = proto
        .get(..5)
        .filter(|s| s.eq_ignore_ascii_case("HTTP/"))
        .map_or(proto, |_| &proto[5..]);
    let Some((major, minor)) = p.split_once('.') else {
        return 0;
    };
    let num = |s: &str| -> Option<u32> {
        (!s.is_empty() && s.bytes().all(|b| b.is_ascii_digit())).then(|| s.parse().ok())?
    };
    match (num(major), num(minor)) {
        (Some(a), Some(b)) => a.saturating_mul(1000).saturating_add(b),
        _ => 0,
    }
}

/// An HTTP response (POE takes an `HTTP::Response`): what `put` writes, and
/// what `get_one` returns instead of a request when the request was
/// malformed (400), too large (413) or lacked a length (411).
///
/// ```
/// use poe_filters::HttpResponse;
/// let mut r = HttpResponse::new(200);
/// r.headers.push("Content-Type", "text/plain");
/// r.content = b"hi".to_vec();
/// let mut out = Vec::new();
/// r.write_to(&mut out);
/// assert_eq!(out, b"HTTP/1.0 200 (OK)\r\nContent-Type: text/plain\r\n\r\nhi");
/// r.message = Some("OK".into());
/// assert!(r.to_bytes().starts_with(b"HTTP/1.0 200 OK\r\n"));
/// ```
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct HttpResponse {
    /// Status code.
    pub code: u16,
    /// Reason phrase (`HTTP::Response->message`); `None` writes the
    /// standard one in parentheses, as POE does.
    pub message: Option<String>,
    /// `HTTP/1.1`...; `None` writes `HTTP/1.0`.
    pub protocol: Option<String>,
    /// Header fields, written in this order and case (HTTP::Headers
    /// reorders and recases them; nothing else is added).
    pub headers: Headers,
    /// The body, written as is.
    pub content: Vec<u8>,
    /// The request this answers, when the filter built the response from a
    /// bad one.
    pub request: Option<Box<HttpRequest>>,
}

impl HttpResponse {
    /// A response with a status code and nothing else.
    pub fn new(code: u16) -> HttpResponse {
        HttpResponse {
            code,
            ..HttpResponse::default()
        }
    }

    /// POE's `_build_error`: an HTML page `Error <code>: <reason>` with the
    /// details (HTML-escaped here), `Content-Length` and `Content-Type`.
    pub fn error(code: u16, details: &[u8], request: Option<HttpRequest>) -> HttpResponse {
        let message = reason(code).unwrap_or("Unknown Error");
        let title = format!("Error {code}: {message}");
        let mut content =
            format!("<html><head><title>{title}</title></head><body><h1>{title}</h1><p>")
                .into_bytes();
        for &b in details {
            match b {
                b'<' => content.extend_from_slice(b"&lt;"),
                b'>' => content.extend_from_slice(b"&gt;"),
                b'&' => content.extend_from_slice(b"&amp;"),
                other => content.push(other),
            }
        }
        content.extend_from_slice(b"</p></body></html>");
        let mut headers = Headers::new();
        // The order HTTP::Headers writes them in.
        headers.push("Content-Length", content.len().to_string());
        headers.push("Content-Type", "text/html");
        HttpResponse {
            code,
            message: Some(message.to_owned()),
            protocol: None,
            headers,
            content,
            request: request.map(Box::new),
        }
    }

    /// Serialize as Filter::HTTPD's `put` does: status line, headers joined
    /// by CR LF (multi-line values continued with a space), a blank line,
    /// the raw content.
    pub fn write_to(&self, out: &mut Vec<u8>) {
        let standard = reason(self.code).unwrap_or("Unknown Error");
        let message = self.message.as_deref().unwrap_or("");
        out.extend_from_slice(self.protocol.as_deref().unwrap_or("HTTP/1.0").as_bytes());
        out.push(b' ');
        out.extend_from_slice(self.code.to_string().as_bytes());
        if standard != message {
            out.extend_from_slice(b" (");
            out.extend_from_slice(standard.as_bytes());
            out.push(b')');
        }
        if !message.is_empty() {
            out.push(b' ');
            out.extend_from_slice(message.as_bytes());
        }
        out.extend_from_slice(b"\r\n");
        for (name, value) in self.headers.iter() {
            out.extend_from_slice(name.as_bytes());
            out.extend_from_slice(b": ");
            write_header_value(value, out);
            out.extend_from_slice(b"\r\n");
        }
        out.extend_from_slice(b"\r\n");
        out.extend_from_slice(&self.content);
    }

    /// [`write_to`](Self::write_to) into a new vector.
    pub fn to_bytes(&self) -> Vec<u8> {
        let mut out = Vec::new();
        self.write_to(&mut out);
        out
    }
}

/// HTTP::Headers' `_process_newline`: trailing white space goes, empty
/// lines inside a value go, continuation lines start with a space, and
/// every newline becomes CR LF.
fn write_header_value(value: &str, out: &mut Vec<u8>) {
    let value = value.trim_end_matches(|c: char| c.is_ascii_whitespace());
    let mut lines = value.split('\n').map(|l| l.strip_suffix('\r').unwrap_or(l));
    if let Some(first) = lines.next() {
        out.extend_from_slice(first.as_bytes());
    }
    for line in lines.filter(|l| !l.is_empty()) {
        out.extend_from_slice(b"\r\n");
        if !line.starts_with([' ', '\t']) {
            out.push(b' ');
        }
        out.extend_from_slice(line.as_bytes());
    }
}
