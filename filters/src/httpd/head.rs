//! Request-head parsing with POE's leniency: the rules of
//! POE::Filter::HTTPD's regexps, written out.
//!
//! httparse was considered and rejected: it refuses what POE accepts and
//! programs rely on (a missing or odd version becomes HTTP/0.9, white
//! space before a header's colon, folded continuation lines in requests),
//! and this is ninety lines.

use super::message::{Headers, HttpRequest};
use crate::record::utf8_or_latin1;

/// Perl's `\s`.
pub(super) fn is_space(b: u8) -> bool {
    matches!(b, b' ' | b'\t' | b'\n' | b'\r' | 0x0b | 0x0c)
}

fn is_word(b: u8) -> bool {
    b.is_ascii_alphanumeric() || b == b'_'
}

/// End of the header block: the first blank line (any CR/LF combination,
/// POE's `\x0D\x0A?\x0D\x0A?|\x0A\x0D?\x0A\x0D?`) at or after `from` (≥ 1:
/// the block starts with a non-space octet), with the octet that would
/// have completed it when it ends the buffer one optional octet short.
/// `Err(resume)` when there is none yet; a later search may start at
/// `resume`.
pub(super) fn find_head_end(buf: &[u8], from: usize) -> Result<(usize, Option<u8>), usize> {
    let from = from.max(1);
    let mut i = from;
    while i < buf.len() {
        let c = buf[i];
        if c == b'\r' || c == b'\n' {
            let other = if c == b'\r' { b'\n' } else { b'\r' };
            let mut j = i + 1;
            if buf.get(j) == Some(&other) {
                j += 1;
            }
            if buf.get(j) == Some(&c) {
                j += 1;
                return Ok(match buf.get(j) {
                    Some(&next) if next == other => (j + 1, None),
                    Some(_) => (j, None),
                    None => (j, Some(other)),
                });
            }
            if j >= buf.len() {
                // Could still become a blank line.
                return Err(i);
            }
        }
        i += 1;
    }
    Err(buf.len().max(from))
}

/// Parse a head block (request line and header lines). `None` when the
/// request line does not parse (POE's 400 "Request line parse failure").
pub(super) fn parse_head(head: &[u8]) -> Option<HttpRequest> {
    let lf = head.iter().position(|&b| b == b'\n')?;
    let (method, uri, protocol) = request_line(&head[..lf])?;
    let mut request = HttpRequest {
        method,
        uri,
        protocol,
        headers: Headers::new(),
        content: Vec::new(),
    };
    let mut current: Option<(String, Vec<u8>)> = None;
    let mut rest = &head[lf + 1..];
    while let Some(end) = rest.iter().position(|&b| b == b'\n') {
        let mut line = &rest[..end];
        rest = &rest[end + 1..];
        if let Some(l) = line.strip_suffix(b"\r") {
            line = l;
        }
        if let Some((name, value)) = header_line(line) {
            if let Some((n, v)) = current.take() {
                request.headers.push(n, utf8_or_latin1(&v));
            }
            current = Some((name, value.to_vec()));
        } else if line.first().is_some_and(|&b| is_space(b)) {
            // Continuation: joined with one space.
            let value = trim_start(line);
            if let Some((_, v)) = &mut current {
                v.push(b' ');
                v.extend_from_slice(value);
            }
        } else {
            break;
        }
    }
    if let Some((n, v)) = current {
        request.headers.push(n, utf8_or_latin1(&v));
    }
    Some(request)
}

/// `^(\w+)[ \t]+(\S+)(?:[ \t]+(HTTP\/\d+\.\d+))?[^\012]*`
fn request_line(line: &[u8]) -> Option<(String, String, String)> {
    let method_len = line.iter().take_while(|&&b| is_word(b)).count();
    let gap = line[method_len..]
        .iter()
        .take_while(|&&b| b == b' ' || b == b'\t')
        .count();
    if method_len == 0 || gap == 0 {
        return None;
    }
    let target = &line[method_len + gap..];
    let uri_len = target.iter().take_while(|&&b| !is_space(b)).count();
    if uri_len == 0 {
        return None;
    }
    let after = &target[uri_len..];
    let gap = after
        .iter()
        .take_while(|&&b| b == b' ' || b == b'\t')
        .count();
    let protocol = (gap > 0)
        .then(|| version(&after[gap..]))
        .flatten()
        .unwrap_or_else(|| "HTTP/0.9".to_owned());
    let mut uri = &target[..uri_len];
    // "Fix a double starting slash on the path.  It happens."
    while uri.starts_with(b"//") {
        uri = &uri[1..];
    }
    let method = String::from_utf8_lossy(&line[..method_len]).into_owned();
    Some((method, escape_uri(uri), protocol))
}

/// `HTTP/\d+\.\d+` at the start of `s`.
fn version(s: &[u8]) -> Option<String> {
    let rest = s.strip_prefix(b"HTTP/")?;
    let major = rest.iter().take_while(|b| b.is_ascii_digit()).count();
    if major == 0 || rest.get(major) != Some(&b'.') {
        return None;
    }
    let minor = rest[major + 1..]
        .iter()
        .take_while(|b| b.is_ascii_digit())
        .count();
    if minor == 0 {
        return None;
    }
    Some(String::from_utf8_lossy(&s[..5 + major + 1 + minor]).into_owned())
}

/// `^([\w\-~]+)\s*:\s*(.*)`
fn header_line(line: &[u8]) -> Option<(String, &[u8])> {
    let name_len = line
        .iter()
        .take_while(|&&b| is_word(b) || b == b'-' || b == b'~')
        .count();
    if name_len == 0 {
        return None;
    }
    let rest = trim_start(&line[name_len..]);
    let value = trim_start(rest.strip_prefix(b":")?);
    Some((
        String::from_utf8_lossy(&line[..name_len]).into_owned(),
        value,
    ))
}

fn trim_start(s: &[u8]) -> &[u8] {
    let n = s.iter().take_while(|&&b| is_space(b)).count();
    &s[n..]
}

/// What `URI->new` does to a request target: octets outside URI's
/// characters (`uric` and `#`) become `%XX`.
fn escape_uri(raw: &[u8]) -> String {
    const HEX: &[u8; 16] = b"0123456789ABCDEF";
    let mut out = String::with_capacity(raw.len());
    for &b in raw {
        if b.is_ascii_alphanumeric() || b"-_.!~*'();/?:@&=+$,[]%#".contains(&b) {
            out.push(char::from(b));
        } else {
            out.push('%');
            out.push(char::from(HEX[usize::from(b >> 4)]));
            out.push(char::from(HEX[usize::from(b & 15)]));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn blank_line_in_any_newline_style() {
        assert_eq!(find_head_end(b"GET / HTTP/1.0\r\n\r\nX", 0), Ok((18, None)));
        assert_eq!(find_head_end(b"GET /\n\nX", 0), Ok((7, None)));
        assert_eq!(find_head_end(b"GET /\r\rX", 0), Ok((7, None)));
        assert_eq!(find_head_end(b"GET /\n\r\n\rX", 0), Ok((9, None)));
        assert_eq!(find_head_end(b"GET /\r\n\r", 0), Ok((8, Some(b'\n'))));
        assert_eq!(find_head_end(b"GET / HTTP/1.0\r\nHost: x\r\n", 0), Err(23));
        assert_eq!(find_head_end(b"GET /", 0), Err(5));
    }

    #[test]
    fn request_line_leniency() {
        let r = parse_head(b"GET //foo/bar 1.0\r\n\r\n").unwrap();
        assert_eq!(
            (r.uri.as_str(), r.protocol.as_str()),
            ("/foo/bar", "HTTP/0.9")
        );
        let r = parse_head(b"GET /a b HTTP/1.1x\r\n").unwrap();
        assert_eq!(r.protocol, "HTTP/0.9");
        let r = parse_head(b"GET /a HTTP/1.1x\r\n").unwrap();
        assert_eq!(r.protocol, "HTTP/1.1");
        assert!(parse_head(b"ELEPHANT\r\n\r\n").is_none());
        assert!(parse_head(b"GET / HTTP/1.0\r\r").is_none());
        let r = parse_head(b"GET /<x>\xe9 HTTP/1.0\n\n").unwrap();
        assert_eq!(r.uri, "/%3Cx%3E%E9");
    }

    #[test]
    fn headers_fold_and_stop() {
        let r = parse_head(
            b"GET / HTTP/1.0\r\nHost : h \r\nX-Long: a\r\n  b\r\nbad line\r\nY: z\r\n\r\n",
        )
        .unwrap();
        assert_eq!(r.header("host"), Some("h "));
        assert_eq!(r.header("x-long"), Some("a b"));
        assert_eq!(r.header("Y"), None);
    }
}
