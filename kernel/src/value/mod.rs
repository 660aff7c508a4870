//! [`Value`]: the dynamic argument type — Perl scalars made Rust.
//!
//! Event arguments, heap-free records from filters and everything IKC sends
//! are `Value`s. The enum stays at 32 bytes and allocates nothing for
//! integers, floats, undef and text or bytes up to 22 octets.

mod args;
mod convert;
mod local;
mod small;

pub use args::{Args, IntoArgs};
pub use convert::ValueError;
pub use local::Local;
pub use small::{Bytes, Text, TextBlock, INLINE_CAPACITY};

use std::collections::BTreeMap;
use std::fmt;

/// A Perl hash: string keys, sorted for deterministic output.
pub type Map = BTreeMap<String, Value>;

/// A blessed Perl reference, read as its class name plus its data.
#[derive(Clone, Debug, PartialEq)]
pub struct Blessed {
    /// The Perl package the reference was blessed into.
    pub class: String,
    /// What the reference points at (usually a `Map` or a `List`).
    pub value: Value,
}

/// A dynamic value: what a Perl scalar can hold, plus [`Local`] for Rust
/// objects that never leave the process.
///
/// `List` and `Map` play the part of Perl array and hash references, `Ref`
/// of a scalar reference. Every variant except `Local` serializes (IKC,
/// Filter::Reference).
///
/// ```
/// use poe_kernel::Value;
/// let v = Value::from("42");
/// assert_eq!(v.as_i64(), Some(42));
/// assert_eq!(Value::from(7).to_string(), "7");
/// let list = Value::list([Value::from(1), Value::from("two")]);
/// assert_eq!(list.as_list().unwrap()[1].as_str(), Some("two"));
/// assert!(!Value::Undef.is_true());
/// ```
#[derive(Clone, Default)]
pub enum Value {
    /// Perl's `undef`.
    #[default]
    Undef,
    /// An integer.
    Int(i64),
    /// A floating-point number.
    Float(f64),
    /// A character string (valid UTF-8).
    Str(Text),
    /// An octet string.
    Bytes(Bytes),
    /// An array (reference).
    List(Vec<Value>),
    /// A hash (reference).
    Map(Box<Map>),
    /// A reference to a scalar (or to any other value).
    Ref(Box<Value>),
    /// A blessed reference.
    Blessed(Box<Blessed>),
    /// An in-process Rust object.
    Local(Local),
}

const _: () = assert!(std::mem::size_of::<Value>() <= 32);

impl Value {
    /// A list from anything that yields values.
    pub fn list<I, T>(items: I) -> Value
    where
        I: IntoIterator<Item = T>,
        T: Into<Value>,
    {
        Value::List(items.into_iter().map(Into::into).collect())
    }

    /// A map from key/value pairs.
    pub fn map<I, K, T>(pairs: I) -> Value
    where
        I: IntoIterator<Item = (K, T)>,
        K: Into<String>,
        T: Into<Value>,
    {
        Value::Map(Box::new(
            pairs
                .into_iter()
                .map(|(k, v)| (k.into(), v.into()))
                .collect(),
        ))
    }

    /// Wrap a Rust object that travels only inside this process.
    pub fn local<T: 'static>(object: T) -> Value {
        Value::Local(Local::new(object))
    }

    /// True for `Undef`.
    pub fn is_undef(&self) -> bool {
        matches!(self, Value::Undef)
    }

    /// Perl truthiness: undef, `""`, `"0"`, `0` and `0.0` are false.
    pub fn is_true(&self) -> bool {
        match self {
            Value::Undef => false,
            Value::Int(i) => *i != 0,
            Value::Float(f) => *f != 0.0,
            Value::Str(s) => !(s.is_empty() || s.as_str() == "0"),
            Value::Bytes(b) => !(b.is_empty() || b.as_slice() == b"0"),
            _ => true,
        }
    }

    /// The text, for `Str`, and for `Bytes` that are valid UTF-8.
    #[inline]
    pub fn as_str(&self) -> Option<&str> {
        match self {
            Value::Str(s) => Some(s.as_str()),
            Value::Bytes(b) => std::str::from_utf8(b).ok(),
            _ => None,
        }
    }

    /// The octets of a `Str` or `Bytes`.
    pub fn as_bytes(&self) -> Option<&[u8]> {
        match self {
            Value::Str(s) => Some(s.as_bytes()),
            Value::Bytes(b) => Some(b.as_slice()),
            _ => None,
        }
    }

    /// An integer: `Int`, an integral `Float`, or a string holding one.
    #[inline]
    pub fn as_i64(&self) -> Option<i64> {
        match self {
            Value::Int(i) => Some(*i),
            Value::Float(f) if f.fract() == 0.0 && f.abs() < 9.2e18 => Some(*f as i64),
            Value::Str(_) | Value::Bytes(_) => self.as_str()?.trim().parse().ok(),
            _ => None,
        }
    }

    /// A number: `Int`, `Float`, or a string holding one.
    pub fn as_f64(&self) -> Option<f64> {
        match self {
            Value::Int(i) => Some(*i as f64),
            Value::Float(f) => Some(*f),
            Value::Str(_) | Value::Bytes(_) => self.as_str()?.trim().parse().ok(),
            _ => None,
        }
    }

    /// The elements of a `List`.
    pub fn as_list(&self) -> Option<&[Value]> {
        match self {
            Value::List(l) => Some(l),
            _ => None,
        }
    }

    /// The elements of a `List`, mutably.
    pub fn as_list_mut(&mut self) -> Option<&mut Vec<Value>> {
        match self {
            Value::List(l) => Some(l),
            _ => None,
        }
    }

    /// The entries of a `Map`.
    pub fn as_map(&self) -> Option<&Map> {
        match self {
            Value::Map(m) => Some(m),
            _ => None,
        }
    }

    /// The entries of a `Map`, mutably.
    pub fn as_map_mut(&mut self) -> Option<&mut Map> {
        match self {
            Value::Map(m) => Some(m),
            _ => None,
        }
    }

    /// Look a key up in a `Map` (`None` for other variants or a missing key).
    pub fn get(&self, key: &str) -> Option<&Value> {
        self.as_map()?.get(key)
    }

    /// The wrapped object, for `Local`.
    pub fn as_local(&self) -> Option<&Local> {
        match self {
            Value::Local(l) => Some(l),
            _ => None,
        }
    }

    /// Move a `Local` object of type `T` out of this value.
    ///
    /// ```
    /// use poe_kernel::Value;
    /// let v = Value::local(vec![1u8, 2, 3]);
    /// assert_eq!(v.take_local::<Vec<u8>>(), Some(vec![1, 2, 3]));
    /// assert_eq!(v.take_local::<Vec<u8>>(), None);
    /// ```
    pub fn take_local<T: 'static>(&self) -> Option<T> {
        self.as_local()?.take::<T>()
    }

    /// Replace this value with `Undef` and return what it was.
    #[inline]
    pub fn take(&mut self) -> Value {
        std::mem::take(self)
    }

    /// Drop the value, without a call into the drop glue when it owns
    /// nothing (undef and numbers): for hot paths that throw away a
    /// handler's usual `Undef` return value, or several such arguments
    /// per event.
    ///
    /// ```
    /// use poe_kernel::Value;
    /// Value::Undef.discard();
    /// Value::from("dropped as usual").discard();
    /// ```
    #[inline]
    pub fn discard(self) {
        if self.is_scalar() {
            std::mem::forget(self);
        }
    }

    /// Undef, an integer or a float: a value that owns nothing.
    #[inline]
    pub(crate) fn is_scalar(&self) -> bool {
        matches!(self, Value::Undef | Value::Int(_) | Value::Float(_))
    }

    /// The name of the variant, for messages.
    pub fn kind(&self) -> &'static str {
        match self {
            Value::Undef => "undef",
            Value::Int(_) => "integer",
            Value::Float(_) => "float",
            Value::Str(_) => "string",
            Value::Bytes(_) => "bytes",
            Value::List(_) => "list",
            Value::Map(_) => "map",
            Value::Ref(_) => "reference",
            Value::Blessed(_) => "blessed reference",
            Value::Local(_) => "local object",
        }
    }
}

impl PartialEq for Value {
    fn eq(&self, other: &Value) -> bool {
        use Value::*;
        match (self, other) {
            (Undef, Undef) => true,
            (Int(a), Int(b)) => a == b,
            (Float(a), Float(b)) => a == b,
            (Str(a), Str(b)) => a == b,
            (Bytes(a), Bytes(b)) => a == b,
            (List(a), List(b)) => a == b,
            (Map(a), Map(b)) => a == b,
            (Ref(a), Ref(b)) => a == b,
            (Blessed(a), Blessed(b)) => a == b,
            (Local(a), Local(b)) => a.ptr_eq(b),
            _ => false,
        }
    }
}

/// Format a float the way Perl stringifies numbers (`%.15g`).
fn fmt_perl_float(f: f64, out: &mut fmt::Formatter<'_>) -> fmt::Result {
    if f.is_nan() {
        return out.write_str("NaN");
    }
    if f.is_infinite() {
        return out.write_str(if f > 0.0 { "Inf" } else { "-Inf" });
    }
    if f == 0.0 {
        return out.write_str(if f.is_sign_negative() { "-0" } else { "0" });
    }
    let exp = f.abs().log10().floor() as i32;
    if (-5..15).contains(&exp) {
        let decimals = (14 - exp).max(0) as usize;
        let s = format!("{f:.decimals$}");
        let s = if s.contains('.') {
            s.trim_end_matches('0').trim_end_matches('.')
        } else {
            &s
        };
        out.write_str(s)
    } else {
        let s = format!("{f:.14e}");
        let (mantissa, e) = s.split_once('e').unwrap_or((&s, "0"));
        let mantissa = if mantissa.contains('.') {
            mantissa.trim_end_matches('0').trim_end_matches('.')
        } else {
            mantissa
        };
        let e: i32 = e.parse().unwrap_or(0);
        write!(
            out,
            "{mantissa}e{}{:02}",
            if e < 0 { '-' } else { '+' },
            e.abs()
        )
    }
}

/// Perl stringification: undef is empty, numbers as Perl prints them,
/// bytes decoded lossily, containers in a readable nested form.
impl fmt::Display for Value {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Value::Undef => Ok(()),
            Value::Int(i) => write!(f, "{i}"),
            Value::Float(x) => fmt_perl_float(*x, f),
            Value::Str(s) => f.write_str(s),
            Value::Bytes(b) => f.write_str(&String::from_utf8_lossy(b)),
            other => fmt::Debug::fmt(other, f),
        }
    }
}

impl fmt::Debug for Value {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Value::Undef => f.write_str("undef"),
            Value::Int(i) => write!(f, "{i}"),
            Value::Float(x) => {
                fmt_perl_float(*x, f)?;
                if x.is_finite() && x.fract() == 0.0 && x.abs() < 1e15 {
                    f.write_str(".0")?;
                }
                Ok(())
            }
            Value::Str(s) => fmt::Debug::fmt(s, f),
            Value::Bytes(b) => fmt::Debug::fmt(b, f),
            Value::List(l) => f.debug_list().entries(l).finish(),
            Value::Map(m) => f.debug_map().entries(m.iter()).finish(),
            Value::Ref(r) => write!(f, "\\{r:?}"),
            Value::Blessed(b) => write!(f, "bless({:?}, {:?})", b.value, b.class),
            Value::Local(l) => fmt::Debug::fmt(l, f),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn floats_stringify_like_perl() {
        let cases = [
            (0.1, "0.1"),
            (1.5, "1.5"),
            (100.0, "100"),
            (1e21, "1e+21"),
            (1.0 / 3.0, "0.333333333333333"),
            (-2.5e-7, "-2.5e-07"),
            (123456789012345.0, "123456789012345"),
            (1234567890123456.0, "1.23456789012346e+15"),
        ];
        for (f, want) in cases {
            assert_eq!(Value::Float(f).to_string(), want, "{f}");
        }
    }

    #[test]
    fn perl_truthiness() {
        for v in [
            Value::Undef,
            Value::from(""),
            Value::from("0"),
            Value::from(0),
            Value::from(0.0),
        ] {
            assert!(!v.is_true(), "{v:?} should be false");
        }
        for v in [
            Value::from("0.0"),
            Value::from("00"),
            Value::from(" "),
            Value::from(-1),
            Value::list(Vec::<Value>::new()),
        ] {
            assert!(v.is_true(), "{v:?} should be true");
        }
    }

    #[test]
    fn numeric_accessors_accept_numeric_strings() {
        assert_eq!(Value::from(" 12 ").as_i64(), Some(12));
        assert_eq!(Value::from(3.0).as_i64(), Some(3));
        assert_eq!(Value::from(3.5).as_i64(), None);
        assert_eq!(Value::from("2.5").as_f64(), Some(2.5));
        assert_eq!(Value::from("x").as_i64(), None);
    }

    #[test]
    fn local_values_compare_by_identity() {
        let a = Value::local(1u8);
        let b = a.clone();
        assert_eq!(a, b);
        assert_ne!(a, Value::local(1u8));
    }
}
