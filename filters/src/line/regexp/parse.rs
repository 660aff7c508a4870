//! Parser for the Perl regexp subset `InputRegexp` accepts.
//!
//! Supported: literals, `.` (any octet: POE matches with `/s`), classes
//! `[...]` with ranges and negation, the escapes `\r \n \t \f \e \a \0
//! \xHH \x{H..} \d \D \s \S \w \W \h \H \v \V \R` and escaped punctuation,
//! groups `(...)` / `(?:...)`, alternation `|`, and the quantifiers `? * +
//! {n} {n,} {n,m}` (greedy or lazy). Anchors, backreferences, lookaround
//! and modifiers are refused with an error: a terminator pattern has no
//! use for them.

/// A set of octets.
#[derive(Clone, Copy, PartialEq, Eq, Debug, Default)]
pub(super) struct ByteSet([u64; 4]);

impl ByteSet {
    pub(super) fn insert(&mut self, b: u8) {
        self.0[(b >> 6) as usize] |= 1 << (b & 63);
    }
    pub(super) fn insert_range(&mut self, lo: u8, hi: u8) {
        for b in lo..=hi {
            self.insert(b);
        }
    }
    pub(super) fn union(&mut self, other: &ByteSet) {
        for (a, b) in self.0.iter_mut().zip(other.0) {
            *a |= b;
        }
    }
    pub(super) fn negate(&mut self) {
        for a in &mut self.0 {
            *a = !*a;
        }
    }
    #[inline]
    pub(super) fn contains(&self, b: u8) -> bool {
        self.0[(b >> 6) as usize] & (1 << (b & 63)) != 0
    }
    fn of(bytes: &[u8]) -> ByteSet {
        let mut s = ByteSet::default();
        for &b in bytes {
            s.insert(b);
        }
        s
    }
    fn all() -> ByteSet {
        ByteSet([u64::MAX; 4])
    }
}

/// Syntax tree of a pattern.
#[derive(Debug, Clone)]
pub(super) enum Node {
    Empty,
    Byte(u8),
    Set(ByteSet),
    Concat(Vec<Node>),
    Alt(Vec<Node>),
    Repeat {
        node: Box<Node>,
        min: u32,
        max: Option<u32>,
        greedy: bool,
    },
}

/// Largest counted repetition accepted (`{n,m}` is expanded when compiled).
const MAX_COUNT: u32 = 1000;

pub(super) fn parse(pattern: &str) -> Result<Node, String> {
    let mut p = Parser {
        src: pattern.as_bytes(),
        pos: 0,
        depth: 0,
    };
    let node = p.alternation()?;
    if p.pos < p.src.len() {
        return Err(format!("unmatched ')' at offset {}", p.pos));
    }
    Ok(node)
}

struct Parser<'a> {
    src: &'a [u8],
    pos: usize,
    depth: usize,
}

impl Parser<'_> {
    fn peek(&self) -> Option<u8> {
        self.src.get(self.pos).copied()
    }

    fn next(&mut self) -> Result<u8, String> {
        let b = self.peek().ok_or("unexpected end of pattern")?;
        self.pos += 1;
        Ok(b)
    }

    fn alternation(&mut self) -> Result<Node, String> {
        let mut branches = vec![self.concat()?];
        while self.peek() == Some(b'|') {
            self.pos += 1;
            branches.push(self.concat()?);
        }
        Ok(if branches.len() == 1 {
            branches.pop().unwrap_or(Node::Empty)
        } else {
            Node::Alt(branches)
        })
    }

    fn concat(&mut self) -> Result<Node, String> {
        let mut items = Vec::new();
        while let Some(b) = self.peek() {
            if b == b'|' || b == b')' {
                break;
            }
            let atom = self.atom()?;
            items.push(self.quantified(atom)?);
        }
        Ok(match items.len() {
            0 => Node::Empty,
            1 => items.pop().unwrap_or(Node::Empty),
            _ => Node::Concat(items),
        })
    }

    fn quantified(&mut self, atom: Node) -> Result<Node, String> {
        let mut node = atom;
        loop {
            let (min, max) = match self.peek() {
                Some(b'?') => (0, Some(1)),
                Some(b'*') => (0, None),
                Some(b'+') => (1, None),
                Some(b'{') => match self.counted()? {
                    // `counted` has moved past the closing brace.
                    Some(range) => {
                        self.pos -= 1;
                        range
                    }
                    None => return Ok(node),
                },
                _ => return Ok(node),
            };
            self.pos += 1;
            let greedy = match self.peek() {
                Some(b'?') => {
                    self.pos += 1;
                    false
                }
                Some(b'+') => return Err("possessive quantifiers are not supported".into()),
                _ => true,
            };
            node = Node::Repeat {
                node: Box::new(node),
                min,
                max,
                greedy,
            };
        }
    }

    /// `{n}`, `{n,}` or `{n,m}` at the cursor; `None` (cursor unmoved) when
    /// the brace is not a quantifier, which Perl then takes literally.
    #[allow(clippy::type_complexity)]
    fn counted(&mut self) -> Result<Option<(u32, Option<u32>)>, String> {
        let rest = &self.src[self.pos..];
        let Some(close) = rest.iter().position(|&b| b == b'}') else {
            return Ok(None);
        };
        let inner = std::str::from_utf8(&rest[1..close]).map_err(|e| e.to_string())?;
        let parse = |s: &str| -> Option<u32> {
            (!s.is_empty() && s.bytes().all(|b| b.is_ascii_digit()))
                .then(|| s.parse().ok())
                .flatten()
        };
        let range = match inner.split_once(',') {
            None => parse(inner).map(|n| (n, Some(n))),
            Some((lo, "")) => parse(lo).map(|n| (n, None)),
            Some((lo, hi)) => parse(lo).zip(parse(hi)).map(|(a, b)| (a, Some(b))),
        };
        let Some((min, max)) = range else {
            return Ok(None);
        };
        if max.is_some_and(|m| m < min) {
            return Err(format!("bad quantifier {{{inner}}}"));
        }
        if min > MAX_COUNT || max.is_some_and(|m| m > MAX_COUNT) {
            return Err(format!("quantifier {{{inner}}} above {MAX_COUNT}"));
        }
        self.pos += close + 1;
        Ok(Some((min, max)))
    }

    fn atom(&mut self) -> Result<Node, String> {
        let b = self.next()?;
        match b {
            b'(' => {
                if self.src[self.pos..].starts_with(b"?:") {
                    self.pos += 2;
                } else if self.peek() == Some(b'?') {
                    return Err("only (?:...) groups are supported".into());
                }
                self.depth += 1;
                if self.depth > 100 {
                    return Err("groups nested too deeply".into());
                }
                let inner = self.alternation()?;
                self.depth -= 1;
                if self.next()? != b')' {
                    return Err("missing ')'".into());
                }
                Ok(inner)
            }
            b'[' => self.class().map(Node::Set),
            b'.' => Ok(Node::Set(ByteSet::all())),
            b'\\' => self.escape().map(|e| match e {
                Escaped::Byte(b) => Node::Byte(b),
                Escaped::Set(s) => Node::Set(s),
                Escaped::Newline => generic_newline(),
            }),
            b'^' | b'$' => Err("anchors are not supported".into()),
            b'*' | b'+' | b'?' => Err(format!("nothing to repeat before '{}'", b as char)),
            other => Ok(Node::Byte(other)),
        }
    }

    fn class(&mut self) -> Result<ByteSet, String> {
        let mut set = ByteSet::default();
        let negated = self.peek() == Some(b'^');
        if negated {
            self.pos += 1;
        }
        let mut first = true;
        loop {
            let b = self.next().map_err(|_| "missing ']'".to_string())?;
            if b == b']' && !first {
                break;
            }
            first = false;
            if b == b'[' && self.peek() == Some(b':') {
                return Err("POSIX classes are not supported".into());
            }
            let lo = if b == b'\\' {
                match self.escape()? {
                    Escaped::Byte(b) => b,
                    Escaped::Set(s) => {
                        set.union(&s);
                        continue;
                    }
                    Escaped::Newline => return Err("\\R is not allowed in a class".into()),
                }
            } else {
                b
            };
            if self.peek() == Some(b'-') && self.src.get(self.pos + 1).is_some_and(|&c| c != b']') {
                self.pos += 1;
                let hi = match self.next()? {
                    b'\\' => match self.escape()? {
                        Escaped::Byte(b) => b,
                        _ => return Err("bad class range".into()),
                    },
                    b => b,
                };
                if hi < lo {
                    return Err("bad class range".into());
                }
                set.insert_range(lo, hi);
            } else {
                set.insert(lo);
            }
        }
        if negated {
            set.negate();
        }
        Ok(set)
    }

    fn escape(&mut self) -> Result<Escaped, String> {
        let b = self.next()?;
        let byte = |b| Ok(Escaped::Byte(b));
        let set = |s: ByteSet, neg: bool| {
            let mut s = s;
            if neg {
                s.negate();
            }
            Ok(Escaped::Set(s))
        };
        match b {
            b'n' => byte(b'\n'),
            b'r' => byte(b'\r'),
            b't' => byte(b'\t'),
            b'f' => byte(0x0c),
            b'e' => byte(0x1b),
            b'a' => byte(0x07),
            b'0' => {
                // \0, \0n, \0nn: octal.
                let mut v: u32 = 0;
                for _ in 0..2 {
                    match self.peek() {
                        Some(d @ b'0'..=b'7') => {
                            v = v * 8 + u32::from(d - b'0');
                            self.pos += 1;
                        }
                        _ => break,
                    }
                }
                byte(v as u8)
            }
            b'x' => self.hex().map(Escaped::Byte),
            b'd' | b'D' => set(digits(), b == b'D'),
            b's' | b'S' => set(ByteSet::of(b"\t\n\x0b\x0c\r "), b == b'S'),
            b'w' | b'W' => set(word(), b == b'W'),
            b'h' | b'H' => set(ByteSet::of(b"\t "), b == b'H'),
            b'v' | b'V' => set(ByteSet::of(b"\n\x0b\x0c\r"), b == b'V'),
            b'R' => Ok(Escaped::Newline),
            b if b.is_ascii_alphanumeric() => Err(format!("unsupported escape \\{}", b as char)),
            other => byte(other),
        }
    }

    fn hex(&mut self) -> Result<u8, String> {
        let digits = if self.peek() == Some(b'{') {
            let rest = &self.src[self.pos + 1..];
            let close = rest
                .iter()
                .position(|&b| b == b'}')
                .ok_or("missing '}' in \\x{...}")?;
            let d = &rest[..close];
            self.pos += close + 2;
            d
        } else {
            let rest = &self.src[self.pos..];
            let n = rest
                .iter()
                .take(2)
                .take_while(|b| b.is_ascii_hexdigit())
                .count();
            self.pos += n;
            &rest[..n]
        };
        if digits.is_empty() {
            return Ok(0);
        }
        let s = std::str::from_utf8(digits).map_err(|e| e.to_string())?;
        match u32::from_str_radix(s, 16) {
            Ok(v) if v <= 0xff => Ok(v as u8),
            _ => Err(format!("\\x{{{s}}} is not an octet")),
        }
    }
}

enum Escaped {
    Byte(u8),
    Set(ByteSet),
    /// `\R`: any line break, CR LF first.
    Newline,
}

fn digits() -> ByteSet {
    let mut s = ByteSet::default();
    s.insert_range(b'0', b'9');
    s
}

fn word() -> ByteSet {
    let mut s = digits();
    s.insert_range(b'a', b'z');
    s.insert_range(b'A', b'Z');
    s.insert(b'_');
    s
}

/// Perl's `\R`: `(?>\x0D\x0A|\v)`, written as a preference for CR LF.
fn generic_newline() -> Node {
    Node::Alt(vec![
        Node::Concat(vec![Node::Byte(b'\r'), Node::Byte(b'\n')]),
        Node::Set(ByteSet::of(b"\n\x0b\x0c\r")),
    ])
}
