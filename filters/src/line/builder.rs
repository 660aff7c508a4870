//! [`LineBuilder`]: Filter::Line's constructor parameters.

use super::regexp::Regexp;
use super::term::Term;
use super::{Input, Line, DEFAULT_MAX_BUFFER, DEFAULT_MAX_LENGTH};
use crate::ConfigError;
use std::rc::Rc;

/// Parameters of [`Line`], named as POE names them. `build` checks them as
/// POE's constructor does (conflicts, empty literals, sizes).
///
/// ```
/// use poe_filters::{Filter, Line};
/// use poe_kernel::Value;
///
/// let mut semi = Line::builder().input_regexp(r";\s*").output_literal(";").build().unwrap();
/// semi.get_one_start(b"a;  b;").unwrap();
/// assert_eq!(semi.get_one().unwrap(), Some(Value::from("a")));
/// assert_eq!(semi.get_one().unwrap(), Some(Value::from("b")));
/// assert!(Line::builder().literal("").build().is_err());
/// ```
#[derive(Debug, Default, Clone)]
#[must_use]
pub struct LineBuilder {
    literal: Option<Vec<u8>>,
    input_literal: Option<Vec<u8>>,
    autodetect: bool,
    input_regexp: Option<String>,
    output_literal: Option<Vec<u8>>,
    max_length: Option<usize>,
    max_buffer: Option<usize>,
}

impl LineBuilder {
    /// `Literal`: one terminator for both directions.
    pub fn literal(mut self, literal: impl AsRef<[u8]>) -> Self {
        self.literal = Some(literal.as_ref().to_vec());
        self
    }

    /// `InputLiteral`: the input terminator. An empty literal means
    /// autodetection, as in POE.
    pub fn input_literal(mut self, literal: impl AsRef<[u8]>) -> Self {
        let literal = literal.as_ref();
        if literal.is_empty() {
            self.autodetect = true;
        } else {
            self.input_literal = Some(literal.to_vec());
        }
        self
    }

    /// `InputLiteral => undef`: detect the input terminator (the first CR,
    /// LF, CR LF or LF CR seen) and use it from then on.
    pub fn autodetect(mut self) -> Self {
        self.autodetect = true;
        self
    }

    /// `InputRegexp`: a Perl regexp (the subset listed on
    /// [`Line`]) that matches input terminators.
    pub fn input_regexp(mut self, pattern: impl Into<String>) -> Self {
        self.input_regexp = Some(pattern.into());
        self
    }

    /// `OutputLiteral`: what `put` appends (default CR LF).
    pub fn output_literal(mut self, literal: impl AsRef<[u8]>) -> Self {
        self.output_literal = Some(literal.as_ref().to_vec());
        self
    }

    /// `MaxLength`: longest line accepted (default 64 MiB).
    pub fn max_length(mut self, octets: usize) -> Self {
        self.max_length = Some(octets);
        self
    }

    /// `MaxBuffer`: most octets buffered (default 512 MiB, ≥ `MaxLength`).
    pub fn max_buffer(mut self, octets: usize) -> Self {
        self.max_buffer = Some(octets);
        self
    }

    /// Check the parameters and make the filter.
    pub fn build(self) -> Result<Line, ConfigError> {
        let autodetect = self.autodetect || self.input_literal.is_some();
        let (input, output) = if let Some(literal) = self.literal {
            if autodetect || self.input_regexp.is_some() || self.output_literal.is_some() {
                return Err(ConfigError::Conflict(
                    "Literal",
                    "another terminator parameter",
                ));
            }
            if literal.is_empty() {
                return Err(ConfigError::EmptyLiteral);
            }
            let term = Term::new(&literal);
            (Input::Literal(term.clone()), term)
        } else {
            let input = match (self.input_literal, self.autodetect, self.input_regexp) {
                (Some(_), _, Some(_)) | (None, true, Some(_)) => {
                    return Err(ConfigError::Conflict("InputLiteral", "InputRegexp"))
                }
                (Some(lit), _, None) => Input::Literal(Term::new(&lit)),
                (None, true, None) => Input::Autodetect(super::Detect::Searching),
                (None, false, Some(pattern)) => {
                    Input::Regexp(Rc::new(Regexp::new(&pattern).map_err(ConfigError::Regexp)?))
                }
                (None, false, None) => Input::Generic,
            };
            let output = match self.output_literal {
                Some(lit) => Term::new(&lit),
                None => Term::Static(b"\r\n"),
            };
            (input, output)
        };
        let max_length = self.max_length.unwrap_or(DEFAULT_MAX_LENGTH);
        let max_buffer = self.max_buffer.unwrap_or(DEFAULT_MAX_BUFFER);
        if max_length == 0 {
            return Err(ConfigError::Zero("MaxLength"));
        }
        if max_buffer == 0 {
            return Err(ConfigError::Zero("MaxBuffer"));
        }
        if max_buffer < max_length {
            return Err(ConfigError::BufferTooSmall {
                max_buffer,
                needed: max_length,
            });
        }
        Ok(Line {
            input,
            output,
            max_length,
            max_buffer,
            ..Line::new()
        })
    }
}
