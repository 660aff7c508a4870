//! POE::Filter::Line: records separated by a terminator.

mod builder;
mod regexp;
mod term;

pub use builder::LineBuilder;

use crate::buffer::FramingBuffer;
use crate::read_block::ReadBlock;
use crate::record::{find_cr_or_lf, find_slice, put_bytes};
use crate::{Filter, FilterError};
use poe_kernel::Value;
use regexp::{Regexp, Search};
use std::rc::Rc;
use term::Term;

pub(crate) const DEFAULT_MAX_LENGTH: usize = 64 * 1024 * 1024;
pub(crate) const DEFAULT_MAX_BUFFER: usize = 512 * 1024 * 1024;

const CR: u8 = b'\r';
const LF: u8 = b'\n';

/// POE::Filter::Line: input split on a terminator, output terminated.
///
/// | POE parameters | constructor | input terminator | output |
/// | --- | --- | --- | --- |
/// | none | [`Line::new`] | CR LF, LF CR, CR or LF, each occurrence on its own | CR LF |
/// | `Literal => X` | [`LineBuilder::literal`] | X | X |
/// | `InputLiteral => X` | [`LineBuilder::input_literal`] | X | `OutputLiteral` or CR LF |
/// | `InputLiteral => undef` | [`LineBuilder::autodetect`] | the first newline seen | `OutputLiteral` or CR LF |
/// | `InputRegexp => R` | [`LineBuilder::input_regexp`] | R | `OutputLiteral` or CR LF |
///
/// A line that is valid UTF-8 arrives as `Value::Str`, any other as
/// `Value::Bytes`. `put` appends the output terminator to each record and
/// leaves embedded newlines alone.
///
/// Bounds: a line longer than `MaxLength` is an error
/// ([`FilterError::LineTooLong`]) as soon as that is certain — even before
/// its terminator arrives — and the rest of that line is skipped, so a
/// hostile peer cannot make the buffer grow past `MaxLength` plus one read.
///
/// Differences from POE 1.370, on purpose: in the default mode a CR LF
/// split between two reads is one terminator (POE yields an extra empty
/// line); an over-long line is reported before it is complete.
///
/// `InputRegexp` understands literals, `.`, classes, `\r \n \t \xHH \d \s
/// \w \R`..., groups, `|` and the quantifiers `? * + {n,m}` (greedy or
/// lazy); anchors, backreferences and lookaround are refused, as are
/// patterns matching the empty string.
///
/// ```
/// use poe_filters::{Filter, Line};
/// use poe_kernel::Value;
///
/// let mut line = Line::new();
/// line.get_one_start(b"a\r\nb\nc\rd\n\re\r\r").unwrap();
/// let mut got = Vec::new();
/// while let Some(v) = line.get_one().unwrap() {
///     got.push(v.to_string());
/// }
/// assert_eq!(got, ["a", "b", "c", "d", "e", ""]);
/// ```
#[derive(Debug)]
pub struct Line {
    buf: FramingBuffer,
    input: Input,
    output: Term,
    max_length: usize,
    max_buffer: usize,
    /// No terminator starts before this offset of the buffered data.
    scan_from: usize,
    /// Skipping the rest of an over-long line.
    discarding: bool,
    /// A lone CR or LF ended the data searched so far (default and
    /// autodetect modes): the octet that would complete it as CR LF or
    /// LF CR, to be dropped if it is what comes next. State of this
    /// stream, so `clone_fresh` does not copy it.
    pending_pair: Option<u8>,
    /// The block the lines of the current read share.
    block: ReadBlock,
}

/// The input terminator: settings only (per-stream state lives in
/// [`Line`]), so a clone copies it as it is.
#[derive(Debug, Clone)]
enum Input {
    /// POE's default `\x0D\x0A?|\x0A\x0D?`.
    Generic,
    Literal(Term),
    Autodetect(Detect),
    Regexp(Rc<Regexp>),
}

#[derive(Debug, Clone, Copy)]
enum Detect {
    /// No newline seen yet (or only a lone CR or LF at the end of the
    /// data: see [`Line::pending_pair`]).
    Searching,
    /// The terminator, one or two octets.
    Found([u8; 2], usize),
}

impl Default for Line {
    fn default() -> Self {
        Line::new()
    }
}

impl Line {
    /// POE::Filter::Line with no parameters: any newline in, CR LF out.
    ///
    /// Also the starting state of every stream: the builder and
    /// `clone_fresh` set the parameters and take the rest from here.
    pub fn new() -> Line {
        Line {
            buf: FramingBuffer::new(),
            input: Input::Generic,
            output: Term::Static(b"\r\n"),
            max_length: DEFAULT_MAX_LENGTH,
            max_buffer: DEFAULT_MAX_BUFFER,
            scan_from: 0,
            discarding: false,
            pending_pair: None,
            block: ReadBlock::default(),
        }
    }

    /// `Literal => literal` (shorthand for the builder).
    pub fn literal(literal: impl AsRef<[u8]>) -> Result<Line, crate::ConfigError> {
        Line::builder().literal(literal).build()
    }

    /// All of POE's parameters.
    pub fn builder() -> LineBuilder {
        LineBuilder::default()
    }

    /// The input terminator once known: the literal, or what autodetection
    /// found (`None` for the default mode, a regexp, or before detection).
    pub fn input_terminator(&self) -> Option<&[u8]> {
        match &self.input {
            Input::Literal(t) => Some(t),
            Input::Autodetect(Detect::Found(t, n)) => Some(&t[..*n]),
            _ => None,
        }
    }

    /// The input regexp, if one was given.
    pub fn input_regexp(&self) -> Option<&str> {
        match &self.input {
            Input::Regexp(r) => Some(r.source()),
            _ => None,
        }
    }

    /// What `put` appends to each record.
    pub fn output_literal(&self) -> &[u8] {
        &self.output
    }

    /// Find the next terminator: `(line length, terminator length)`. On
    /// failure `scan_from` moves to where the next search may start.
    ///
    /// The default mode is inlined into `get_one`; the others are not.
    #[inline]
    fn find_terminator(&mut self) -> Option<(usize, usize)> {
        if !matches!(self.input, Input::Generic) {
            return self.find_configured_terminator();
        }
        let data = self.buf.bytes();
        match find_newline(data, self.scan_from) {
            Some((i, n, pending)) => {
                // None before (get_one settled any pair first).
                self.pending_pair = pending;
                Some((i, n))
            }
            None => {
                self.scan_from = data.len();
                None
            }
        }
    }

    /// `find_terminator` for a literal, an autodetected or a regexp
    /// terminator.
    #[inline(never)]
    fn find_configured_terminator(&mut self) -> Option<(usize, usize)> {
        let data = self.buf.bytes();
        let from = self.scan_from;
        let found = match &self.input {
            // Generic is searched in find_terminator; it shares this arm.
            Input::Generic | Input::Autodetect(Detect::Searching) => {
                find_newline(data, from).map(|(i, n, pending)| {
                    self.pending_pair = pending;
                    (i, n)
                })
            }
            Input::Literal(t) => find_slice(&data[from..], t).map(|i| (from + i, t.len())),
            Input::Autodetect(Detect::Found(t, n)) => {
                find_slice(&data[from..], &t[..*n]).map(|i| (from + i, *n))
            }
            Input::Regexp(re) => match re.search(data, from) {
                Search::Found { start, end } => Some((start, end - start)),
                Search::NotFound { resume } => {
                    self.scan_from = resume;
                    return None;
                }
            },
        };
        if let (Some((i, n)), Input::Autodetect(detect @ Detect::Searching)) =
            (found, &mut self.input)
        {
            // The first newline: it is the terminator from now on, unless
            // it ended the data (settle_split_terminator decides then).
            if self.pending_pair.is_none() {
                let mut t = [0; 2];
                t[..n].copy_from_slice(&data[i..i + n]);
                *detect = Detect::Found(t, n);
            }
        }
        if found.is_none() {
            // A multi-octet literal may have started in the last octets.
            let keep = match &self.input {
                Input::Literal(t) => t.len() - 1,
                Input::Autodetect(Detect::Found(_, n)) => n - 1,
                _ => 0,
            };
            self.scan_from = data.len().saturating_sub(keep).max(from);
        }
        found
    }

    /// Resolve a lone CR or LF left at the very end of the last read
    /// ([`pending_pair`](Line::pending_pair)). Returns false when that
    /// needs more data.
    #[inline]
    fn settle_split_terminator(&mut self) -> bool {
        self.pending_pair.is_none() || self.settle_pending_pair()
    }

    #[inline(never)]
    fn settle_pending_pair(&mut self) -> bool {
        let Some(other) = self.pending_pair else {
            return true;
        };
        let Some(&first) = self.buf.bytes().first() else {
            return false;
        };
        self.pending_pair = None;
        let paired = first == other;
        if paired {
            self.consume(1);
        }
        if let Input::Autodetect(detect @ Detect::Searching) = &mut self.input {
            let c = complement(other);
            *detect = if paired {
                Detect::Found([c, other], 2)
            } else {
                Detect::Found([c, 0], 1)
            };
        }
        true
    }
}

impl Line {
    /// `get_one` found no complete line: the read cycle is over, unless
    /// the partial line is already too long.
    #[inline(never)]
    fn no_terminator(&mut self) -> Result<Option<Value>, FilterError> {
        let over = self.scan_from > self.max_length;
        if over || self.discarding {
            // The line can only get longer: drop what is known to belong
            // to it and skip the rest as it comes.
            self.consume(self.scan_from);
            self.scan_from = 0;
            if !self.discarding {
                self.discarding = true;
                self.settle();
                return Err(FilterError::LineTooLong {
                    limit: self.max_length,
                });
            }
        }
        self.settle();
        Ok(None)
    }

    /// Drop `n` bytes from the buffer front.
    fn consume(&mut self, n: usize) {
        self.buf.consume(n);
        self.block.advance(n);
    }

    /// The read cycle is over: keep only the partial line.
    fn settle(&mut self) {
        self.buf.settle();
        self.block.release();
    }
}

fn complement(c: u8) -> u8 {
    if c == CR {
        LF
    } else {
        CR
    }
}

/// The first newline at or after `from` in POE's default sense
/// (`\x0D\x0A?|\x0A\x0D?`): `(offset, length, pending)`, where `pending`
/// is the octet that would complete a lone CR or LF that ends the data
/// (see [`Line::pending_pair`]).
#[inline]
fn find_newline(data: &[u8], from: usize) -> Option<(usize, usize, Option<u8>)> {
    let i = from + find_cr_or_lf(&data[from..])?;
    let other = complement(data[i]);
    Some(match data.get(i + 1) {
        Some(&next) if next == other => (i, 2, None),
        Some(_) => (i, 1, None),
        None => (i, 1, Some(other)),
    })
}

impl Filter for Line {
    fn get_one_start(&mut self, data: &[u8]) -> Result<(), FilterError> {
        self.buf.extend_bounded(data, self.max_buffer)
    }

    fn get_one(&mut self) -> Result<Option<Value>, FilterError> {
        loop {
            if !self.settle_split_terminator() {
                self.settle();
                return Ok(None);
            }
            let Some((len, term_len)) = self.find_terminator() else {
                return self.no_terminator();
            };
            if self.discarding || len > self.max_length {
                // The end of a line being skipped, or a line too long.
                let skipped = self.discarding;
                self.consume(len + term_len);
                self.scan_from = 0;
                self.discarding = false;
                if skipped {
                    continue;
                }
                return Err(FilterError::LineTooLong {
                    limit: self.max_length,
                });
            }
            let line = self.block.record(self.buf.bytes(), len);
            self.consume(len + term_len);
            self.scan_from = 0;
            return Ok(Some(line));
        }
    }

    fn put(&mut self, record: Value, out: &mut Vec<u8>) -> Result<(), FilterError> {
        put_bytes(record, out)?;
        match *self.output {
            // The usual terminators, without a call to memcpy for them.
            [a, b] => out.extend_from_slice(&[a, b]),
            [a] => out.push(a),
            ref long => out.extend_from_slice(long),
        }
        Ok(())
    }

    fn get_pending(&self) -> Option<Vec<u8>> {
        self.buf.pending()
    }

    fn clone_fresh(&self) -> Box<dyn Filter> {
        // POE's clone keeps a detected terminator [verified]. A terminator
        // still tentative (a lone CR or LF ended the data) belongs to this
        // stream: the clone detects its own (POE's clone would drop the
        // first octet of the new stream if it completed the pair).
        Box::new(Line {
            input: self.input.clone(),
            output: self.output.clone(),
            max_length: self.max_length,
            max_buffer: self.max_buffer,
            ..Line::new()
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_line_filter_is_small_and_gives_its_buffer_back_when_idle() {
        assert!(
            std::mem::size_of::<Line>() <= 128,
            "{}",
            std::mem::size_of::<Line>()
        );
        let mut f = Line::new();
        let chunk = b"0123456789abcdefghijklmnopqrstu\n".repeat(2048);
        f.get_one_start(&chunk).unwrap();
        while f.get_one().unwrap().is_some() {}
        assert_eq!(f.buf.capacity(), 0);
        // A partial line keeps about its own size.
        f.get_one_start(&chunk).unwrap();
        f.get_one_start(b"partial").unwrap();
        while f.get_one().unwrap().is_some() {}
        assert!(f.buf.capacity() <= 256, "{}", f.buf.capacity());
    }
}
