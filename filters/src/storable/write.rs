//! `nfreeze`: [`Value`] → Storable network-order image.

use super::{key_flag, op, StorableError, DEFAULT_MAX_DEPTH, HEADER};
use poe_kernel::Value;

/// Serialize a reference as Perl's `nfreeze` does.
///
/// ```
/// use poe_filters::storable::nfreeze;
/// use poe_kernel::Value;
///
/// assert_eq!(nfreeze(&Value::list([1])).unwrap(), b"\x05\x0b\x02\x00\x00\x00\x01\x08\x81");
/// assert!(nfreeze(&Value::from("not a reference")).is_err());
/// ```
pub fn nfreeze(value: &Value) -> Result<Vec<u8>, StorableError> {
    let mut out = Vec::new();
    nfreeze_into(value, &mut out)?;
    Ok(out)
}

/// [`nfreeze`], appending to `out`. On error `out` is left as it was.
pub fn nfreeze_into(value: &Value, out: &mut Vec<u8>) -> Result<(), StorableError> {
    let start = out.len();
    let mut w = Writer {
        out,
        classes: Vec::new(),
        tasks: Vec::with_capacity(16),
        depth: 0,
    };
    w.out.extend_from_slice(&HEADER);
    let result = w.run(value);
    if result.is_err() {
        out.truncate(start);
    }
    result
}

/// Work left to do. The writer keeps it on a heap stack rather than
/// recursing, so deep values cost no thread stack.
enum Task<'v> {
    /// A value in a scalar slot.
    Scalar(&'v Value),
    /// What a reference points at.
    Referent(&'v Value),
    /// A hash key, after its value.
    Key(&'v str, bool),
    /// A nesting level is finished.
    Leave,
}

struct Writer<'a, 'v> {
    out: &'a mut Vec<u8>,
    classes: Vec<&'v str>,
    tasks: Vec<Task<'v>>,
    depth: usize,
}

impl<'v> Writer<'_, 'v> {
    fn run(&mut self, root: &'v Value) -> Result<(), StorableError> {
        self.tasks.push(Task::Referent(root));
        while let Some(task) = self.tasks.pop() {
            match task {
                Task::Scalar(v) => self.scalar(v)?,
                Task::Referent(v) => self.referent(v)?,
                Task::Key(key, flagged) => {
                    if flagged {
                        self.out
                            .push(if key.is_ascii() { 0 } else { key_flag::UTF8 });
                    }
                    self.len32(key.len())?;
                    self.out.extend_from_slice(key.as_bytes());
                }
                Task::Leave => self.depth -= 1,
            }
        }
        Ok(())
    }

    /// One level deeper, undone by the `Leave` task pushed here.
    fn enter(&mut self) -> Result<(), StorableError> {
        if self.depth >= DEFAULT_MAX_DEPTH {
            return Err(StorableError::TooDeep {
                limit: DEFAULT_MAX_DEPTH,
            });
        }
        self.depth += 1;
        self.tasks.push(Task::Leave);
        Ok(())
    }

    fn len32(&mut self, n: usize) -> Result<(), StorableError> {
        let n = i32::try_from(n).map_err(|_| StorableError::TooLarge { len: n })?;
        self.out.extend_from_slice(&n.to_be_bytes());
        Ok(())
    }

    /// What a reference points at: the array, hash or scalar itself.
    ///
    /// Nesting is counted exactly as the reader counts it — one level per
    /// reference, bless and non-empty container — so what one accepts the
    /// other accepts.
    fn referent(&mut self, v: &'v Value) -> Result<(), StorableError> {
        match v {
            Value::List(items) => {
                self.out.push(op::ARRAY);
                self.len32(items.len())?;
                if !items.is_empty() {
                    self.enter()?;
                    self.tasks.extend(items.iter().rev().map(Task::Scalar));
                }
            }
            Value::Map(map) => {
                // Perl writes SX_HASH unless a key needs the UTF-8 flag.
                let flagged = map.keys().any(|k| !k.is_ascii());
                if flagged {
                    self.out.push(op::FLAG_HASH);
                    self.out.push(0);
                } else {
                    self.out.push(op::HASH);
                }
                self.len32(map.len())?;
                if !map.is_empty() {
                    self.enter()?;
                    // Each entry is its value, then its key.
                    for (key, value) in map.iter().rev() {
                        self.tasks.push(Task::Key(key, flagged));
                        self.tasks.push(Task::Scalar(value));
                    }
                }
            }
            Value::Ref(target) => self.tasks.push(Task::Scalar(target)),
            Value::Blessed(b) => {
                self.bless(&b.class)?;
                self.enter()?;
                self.tasks.push(match &b.value {
                    // The documented form holds the reference; a bare scalar
                    // is taken as the blessed scalar itself.
                    r @ (Value::List(_) | Value::Map(_) | Value::Ref(_) | Value::Blessed(_)) => {
                        Task::Referent(r)
                    }
                    scalar => Task::Scalar(scalar),
                });
            }
            Value::Local(l) => {
                return Err(StorableError::LocalValue {
                    type_name: l.type_name(),
                })
            }
            other => return Err(StorableError::NotAReference { kind: other.kind() }),
        }
        Ok(())
    }

    fn bless(&mut self, class: &'v str) -> Result<(), StorableError> {
        if let Some(ix) = self.classes.iter().position(|c| *c == class) {
            self.out.push(op::IX_BLESS);
            self.short_or_long(ix)
        } else {
            self.classes.push(class);
            self.out.push(op::BLESS);
            // Class names are Latin-1 octets in Perl; UTF-8 is what a Rust
            // string has, and is what an ASCII name (all real ones) is.
            self.short_or_long(class.len())?;
            self.out.extend_from_slice(class.as_bytes());
            Ok(())
        }
    }

    /// One octet below 0x80, else 0x80 and four octets.
    fn short_or_long(&mut self, n: usize) -> Result<(), StorableError> {
        if n < 0x80 {
            self.out.push(n as u8);
            Ok(())
        } else {
            self.out.push(0x80);
            self.len32(n)
        }
    }

    fn string(&mut self, short: u8, long: u8, s: &[u8]) -> Result<(), StorableError> {
        if s.len() <= 255 {
            self.out.push(short);
            self.out.push(s.len() as u8);
        } else {
            self.out.push(long);
            self.len32(s.len())?;
        }
        self.out.extend_from_slice(s);
        Ok(())
    }

    fn integer(&mut self, i: i64) -> Result<(), StorableError> {
        if (-128..=127).contains(&i) {
            self.out.push(op::BYTE);
            self.out.push((i + 128) as u8);
        } else if let Ok(n) = i32::try_from(i) {
            self.out.push(op::NETINT);
            self.out.extend_from_slice(&n.to_be_bytes());
        } else {
            // Perl writes integers beyond 32 bits as decimal strings.
            let s = i.to_string();
            self.string(op::SCALAR, op::LSCALAR, s.as_bytes())?;
        }
        Ok(())
    }

    /// A value sitting in a scalar slot (array element, hash value, the
    /// target of a scalar reference).
    fn scalar(&mut self, v: &'v Value) -> Result<(), StorableError> {
        match v {
            Value::Undef => {
                self.out.push(op::UNDEF);
                Ok(())
            }
            Value::Int(i) => self.integer(*i),
            Value::Float(f) => match float_as_integer(*f) {
                Some(i) => self.integer(i),
                None => {
                    let s = float_text(*f);
                    self.string(op::SCALAR, op::LSCALAR, s.as_bytes())
                }
            },
            Value::Str(s) if s.is_ascii() => self.string(op::SCALAR, op::LSCALAR, s.as_bytes()),
            Value::Str(s) => self.string(op::UTF8STR, op::LUTF8STR, s.as_bytes()),
            Value::Bytes(b) => self.string(op::SCALAR, op::LSCALAR, b),
            Value::List(_) | Value::Map(_) | Value::Ref(_) | Value::Blessed(_) => {
                self.out.push(op::REF);
                self.enter()?;
                self.tasks.push(Task::Referent(v));
                Ok(())
            }
            Value::Local(l) => Err(StorableError::LocalValue {
                type_name: l.type_name(),
            }),
        }
    }
}

/// Perl stores a float with an integral value as an integer (`3.0` is
/// `SX_BYTE 3`).
fn float_as_integer(f: f64) -> Option<i64> {
    const LIMIT: f64 = 9_223_372_036_854_775_808.0; // 2^63
    (f.fract() == 0.0 && f > -LIMIT && f < LIMIT).then_some(f as i64)
}

/// Floats travel as decimal strings, as Perl sends them. Perl's own `%.15g`
/// loses digits (a microsecond timestamp, `0.1 + 0.2`); this writes the
/// shortest text that parses back to the same double, in a form Perl's
/// numification reads.
pub(crate) fn float_text(f: f64) -> String {
    if f.is_nan() {
        "NaN".to_owned()
    } else if f.is_infinite() {
        if f > 0.0 { "Inf" } else { "-Inf" }.to_owned()
    } else if f != 0.0 && (f.abs() < 1e-5 || f.abs() >= 1e16) {
        format!("{f:e}")
    } else {
        format!("{f}")
    }
}
