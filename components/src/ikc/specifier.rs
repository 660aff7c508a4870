//! IKC specifiers: `poe://KERNEL/SESSION/STATE`, as strings or hashes.

use poe_kernel::Value;
use std::fmt;

/// Where an IKC message goes (or comes from): a kernel, a session in it,
/// a state of that session. Any part may be empty.
///
/// Parsed from the string forms Perl's `specifier_parse` accepts, or read
/// from the hash form `{kernel, session, state}` messages carry.
///
/// ```
/// use poe_components::ikc::Specifier;
/// let s = Specifier::parse("poe://worker/jobs/run?urgent").unwrap();
/// assert_eq!((s.kernel.as_str(), s.session.as_str(), s.state.as_str()), ("worker", "jobs", "run"));
/// assert_eq!(s.args.as_deref(), Some("urgent"));
/// assert_eq!(s.to_string(), "poe://worker/jobs/run");
/// assert_eq!(Specifier::parse("poe:reply").unwrap().state, "reply");
/// ```
#[derive(Clone, Debug, Default, PartialEq, Eq, Hash)]
pub struct Specifier {
    /// A kernel name or alias, `*` for every connected kernel, or empty.
    pub kernel: String,
    /// A session alias (or numeric session ID), or empty.
    pub session: String,
    /// A state name, or empty.
    pub state: String,
    /// `?NAME`: appended to the handler's arguments on receipt.
    pub args: Option<String>,
}

impl Specifier {
    /// A specifier from its three parts.
    pub fn new(
        kernel: impl Into<String>,
        session: impl Into<String>,
        state: impl Into<String>,
    ) -> Specifier {
        Specifier {
            kernel: kernel.into(),
            session: session.into(),
            state: state.into(),
            args: None,
        }
    }

    /// `poe://KERNEL/SESSION`, the state and `?NAME` left out: the alias
    /// of a proxy for that session, and the key IKC keeps it under.
    ///
    /// ```
    /// use poe_components::ikc::Specifier;
    /// let spec = Specifier::new("worker", "jobs", "square");
    /// assert_eq!(spec.session_address(), "poe://worker/jobs");
    /// ```
    pub fn session_address(&self) -> String {
        format!("poe://{}/{}", self.kernel, self.session)
    }

    /// Parse a string specifier; `None` when it is not one (Perl's
    /// `specifier_parse` returning undef).
    ///
    /// Forms: `poe://K/S/T`, `poe://K/S`, `poe://K`, `poe:/S/T`, `poe:T`,
    /// and without `poe:`: `//K/S/T`, `S/T`, `T`; each may end in `?NAME`.
    pub fn parse(text: &str) -> Option<Specifier> {
        if text.is_empty() {
            return None;
        }
        let (body, args) = match text.rsplit_once('?') {
            Some((body, name)) if is_word(name) && !name.is_empty() => {
                (body, Some(name.to_owned()))
            }
            Some(_) => return None,
            None => (text, None),
        };
        let mut spec = match body.strip_prefix("poe:") {
            Some(rest) => parse_poe_form(rest)?,
            None => parse_short_form(body)?,
        };
        spec.args = args;
        Some(spec)
    }

    /// Read the hash form, or parse the string form; anything else (and an
    /// unparsable string) is the empty specifier, as Perl treats it.
    pub fn from_value(value: &Value) -> Specifier {
        match value {
            Value::Map(m) => {
                let part = |k: &str| m.get(k).map(Value::to_string).unwrap_or_default();
                Specifier::new(part("kernel"), part("session"), part("state"))
            }
            other => other
                .as_str()
                .and_then(Specifier::parse)
                .unwrap_or_default(),
        }
    }

    /// The hash form `{kernel, session, state}`.
    pub fn to_value(&self) -> Value {
        Value::map([
            ("kernel", Value::from(self.kernel.as_str())),
            ("session", Value::from(self.session.as_str())),
            ("state", Value::from(self.state.as_str())),
        ])
    }

    /// The same specifier with another state.
    pub fn with_state(&self, state: impl Into<String>) -> Specifier {
        Specifier {
            state: state.into(),
            args: None,
            ..self.clone()
        }
    }
}

/// Perl's `specifier_name`: `poe:` + `//K` + `/S` + `/T`, skipping empty
/// parts.
impl fmt::Display for Specifier {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("poe:")?;
        if !self.kernel.is_empty() {
            write!(f, "//{}", self.kernel)?;
        }
        if !self.session.is_empty() {
            write!(f, "/{}", self.session)?;
        }
        if !self.state.is_empty() {
            write!(f, "/{}", self.state)?;
        }
        Ok(())
    }
}

fn is_word_char(c: char) -> bool {
    c.is_alphanumeric() || c == '_'
}

fn is_word(s: &str) -> bool {
    s.chars().all(is_word_char)
}

/// `[- \w]`: session and state names.
fn is_name(s: &str) -> bool {
    s.chars().all(|c| is_word_char(c) || c == '-' || c == ' ')
}

/// The kernel alternatives: `*`, `[-. \w]+`, `host:port`, `unix:path[:pid-fd]`.
fn is_kernel(k: &str) -> bool {
    if k == "*" {
        return true;
    }
    if !k.is_empty() && k.chars().all(|c| is_word_char(c) || "-. ".contains(c)) {
        return true;
    }
    if let Some(rest) = k.strip_prefix("unix:") {
        let (path, tail) = match rest.split_once(':') {
            Some((p, t)) => (p, Some(t)),
            None => (rest, None),
        };
        let path_ok = !path.is_empty() && path.chars().all(|c| is_word_char(c) || "-.".contains(c));
        let tail_ok = tail.is_none_or(|t| {
            t.split_once('-').is_some_and(|(a, b)| {
                !a.is_empty()
                    && !b.is_empty()
                    && (a.chars().chain(b.chars())).all(|c| c.is_ascii_digit())
            })
        });
        return path_ok && tail_ok;
    }
    if let Some((host, port)) = k.rsplit_once(':') {
        let mut chars = host.chars();
        let host_ok = host.len() >= 2
            && chars.next().is_some_and(|c| c.is_ascii_alphanumeric())
            && chars.all(|c| c.is_ascii_alphanumeric() || "-.".contains(c));
        return host_ok && !port.is_empty() && port.chars().all(|c| c.is_ascii_digit());
    }
    false
}

/// After `poe:`: `[//K] [/S] [/]T`.
fn parse_poe_form(rest: &str) -> Option<Specifier> {
    let mut spec = Specifier::default();
    let mut rest = rest;
    if let Some(after) = rest.strip_prefix("//") {
        let end = after.find('/').unwrap_or(after.len());
        let kernel = &after[..end];
        if !kernel.is_empty() && !is_kernel(kernel) {
            return None;
        }
        spec.kernel = kernel.to_owned();
        rest = &after[end..];
    }
    // Up to two more parts, each after a '/'; one bare word is a state.
    let parts: Vec<&str> = match rest.strip_prefix('/') {
        Some(r) => r.splitn(2, '/').collect(),
        None if rest.is_empty() => Vec::new(),
        None => {
            // `poe:STATE` (no slash): the state alone.
            if !is_name(rest) {
                return None;
            }
            spec.state = rest.to_owned();
            return Some(spec);
        }
    };
    match parts.as_slice() {
        [] => {}
        [one] => {
            // `poe:/S` is a session; `poe:/` an empty state.
            if one.is_empty() {
                return Some(spec);
            }
            if !is_name(one) {
                return None;
            }
            spec.session = (*one).to_owned();
        }
        [session, state] => {
            if session.is_empty() || !is_name(session) || !is_name(state) {
                return None;
            }
            spec.session = (*session).to_owned();
            spec.state = (*state).to_owned();
        }
        _ => unreachable!("splitn(2) gives at most two parts"),
    }
    Some(spec)
}

/// Without `poe:`: `[//K/] [S/] [T]`.
fn parse_short_form(body: &str) -> Option<Specifier> {
    let mut spec = Specifier::default();
    let mut rest = body;
    if let Some(after) = rest.strip_prefix("//") {
        let (kernel, tail) = after.split_once('/')?;
        if !is_kernel(kernel) {
            return None;
        }
        spec.kernel = kernel.to_owned();
        rest = tail;
    }
    match rest.split_once('/') {
        Some((session, state)) => {
            if session.is_empty() || !is_name(session) || !is_name(state) || state.contains('/') {
                return None;
            }
            spec.session = session.to_owned();
            spec.state = state.to_owned();
        }
        None => {
            if !is_name(rest) {
                return None;
            }
            spec.state = rest.to_owned();
        }
    }
    Some(spec)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parts(s: &str) -> Option<(String, String, String, Option<String>)> {
        Specifier::parse(s).map(|p| (p.kernel, p.session, p.state, p.args))
    }

    fn p(k: &str, s: &str, t: &str) -> Option<(String, String, String, Option<String>)> {
        Some((k.into(), s.into(), t.into(), None))
    }

    #[test]
    fn poe_forms_parse_as_perl_specifier_parse_does() {
        assert_eq!(
            parts("poe://perlsrv/echo/ping"),
            p("perlsrv", "echo", "ping")
        );
        assert_eq!(parts("poe://perlsrv/echo"), p("perlsrv", "echo", ""));
        assert_eq!(parts("poe://perlsrv"), p("perlsrv", "", ""));
        assert_eq!(parts("poe:/echo/ping"), p("", "echo", "ping"));
        assert_eq!(parts("poe:sum"), p("", "", "sum"));
        assert_eq!(
            parts("poe://*/timeserver/connect"),
            p("*", "timeserver", "connect")
        );
        assert_eq!(
            parts("poe://127.0.0.1:903/echo/add"),
            p("127.0.0.1:903", "echo", "add")
        );
        assert_eq!(
            parts("poe://unix:tmp-s.sock:12-3/a/b"),
            p("unix:tmp-s.sock:12-3", "a", "b")
        );
        assert_eq!(parts("poe://Billy/bob/"), p("Billy", "bob", ""));
        assert_eq!(
            parts("poe://perlsrv/echo/store?extra"),
            Some((
                "perlsrv".into(),
                "echo".into(),
                "store".into(),
                Some("extra".into())
            ))
        );
    }

    #[test]
    fn short_forms_parse_as_perl_does() {
        assert_eq!(parts("//k/s/t"), p("k", "s", "t"));
        assert_eq!(parts("echo/ping"), p("", "echo", "ping"));
        assert_eq!(parts("ping"), p("", "", "ping"));
        // With a kernel, a single part after it is a state (Perl's regex
        // needs a '/' after a session).
        assert_eq!(parts("//k/s"), p("k", "", "s"));
    }

    #[test]
    fn malformed_specifiers_are_refused() {
        for bad in [
            "",
            "poe://a:b/s/t",
            "poe:/s/t/u",
            "a/b/c",
            "poe://k/s/t?x-y",
            "poe:IKC:proxy",
        ] {
            assert_eq!(Specifier::parse(bad), None, "{bad:?}");
        }
    }

    #[test]
    fn names_print_as_perl_specifier_name() {
        assert_eq!(Specifier::new("k", "s", "t").to_string(), "poe://k/s/t");
        assert_eq!(Specifier::new("", "s", "t").to_string(), "poe:/s/t");
        assert_eq!(Specifier::new("", "", "").to_string(), "poe:");
        assert_eq!(Specifier::new("k", "", "t").to_string(), "poe://k/t");
    }

    #[test]
    fn hash_forms_read_leniently() {
        let v = Value::map([("kernel", Value::from("k")), ("session", Value::from(2))]);
        assert_eq!(Specifier::from_value(&v), Specifier::new("k", "2", ""));
        assert_eq!(
            Specifier::from_value(&Value::from("not a / spec / at all")),
            Specifier::default()
        );
        assert_eq!(Specifier::from_value(&Value::Undef), Specifier::default());
    }
}
