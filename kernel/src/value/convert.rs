//! Conversions between `Value` and Rust types, both ways.

use super::{Blessed, Bytes, Local, Map, Text, Value};
use std::fmt;

impl From<()> for Value {
    #[inline]
    fn from(_: ()) -> Value {
        Value::Undef
    }
}

impl From<bool> for Value {
    /// Perl has no booleans: true becomes `Int(1)`, false `Int(0)`.
    #[inline]
    fn from(b: bool) -> Value {
        Value::Int(b as i64)
    }
}

macro_rules! from_int {
    ($($t:ty),*) => {$(
        impl From<$t> for Value {
            #[inline]
            fn from(i: $t) -> Value { Value::Int(i as i64) }
        }
    )*};
}
from_int!(i8, i16, i32, i64, u8, u16, u32, isize);

impl From<u64> for Value {
    /// Values above `i64::MAX` become floats, as in Perl.
    #[inline]
    fn from(i: u64) -> Value {
        // A match, not map_or: an eagerly built default would be dropped
        // on every call, and Value's drop glue is an out-of-line call.
        match i64::try_from(i) {
            Ok(i) => Value::Int(i),
            Err(_) => Value::Float(i as f64),
        }
    }
}

impl From<usize> for Value {
    #[inline]
    fn from(i: usize) -> Value {
        Value::from(i as u64)
    }
}

impl From<f64> for Value {
    #[inline]
    fn from(f: f64) -> Value {
        Value::Float(f)
    }
}

impl From<f32> for Value {
    #[inline]
    fn from(f: f32) -> Value {
        Value::Float(f as f64)
    }
}

impl From<&str> for Value {
    #[inline]
    fn from(s: &str) -> Value {
        Value::Str(Text::from(s))
    }
}

impl From<String> for Value {
    #[inline]
    fn from(s: String) -> Value {
        Value::Str(Text::from(s))
    }
}

impl From<&String> for Value {
    #[inline]
    fn from(s: &String) -> Value {
        Value::Str(Text::from(s.as_str()))
    }
}

impl From<Text> for Value {
    #[inline]
    fn from(t: Text) -> Value {
        Value::Str(t)
    }
}

impl From<Bytes> for Value {
    #[inline]
    fn from(b: Bytes) -> Value {
        Value::Bytes(b)
    }
}

impl From<&[u8]> for Value {
    #[inline]
    fn from(b: &[u8]) -> Value {
        Value::Bytes(Bytes::from(b))
    }
}

impl From<Vec<u8>> for Value {
    #[inline]
    fn from(b: Vec<u8>) -> Value {
        Value::Bytes(Bytes::from(b))
    }
}

impl<const N: usize> From<&[u8; N]> for Value {
    #[inline]
    fn from(b: &[u8; N]) -> Value {
        Value::Bytes(Bytes::from(&b[..]))
    }
}

impl From<Vec<Value>> for Value {
    #[inline]
    fn from(l: Vec<Value>) -> Value {
        Value::List(l)
    }
}

impl From<Map> for Value {
    #[inline]
    fn from(m: Map) -> Value {
        Value::Map(Box::new(m))
    }
}

impl From<Blessed> for Value {
    #[inline]
    fn from(b: Blessed) -> Value {
        Value::Blessed(Box::new(b))
    }
}

impl From<Local> for Value {
    #[inline]
    fn from(l: Local) -> Value {
        Value::Local(l)
    }
}

impl<T: Into<Value>> From<Option<T>> for Value {
    /// `None` is undef.
    #[inline]
    fn from(o: Option<T>) -> Value {
        o.map_or(Value::Undef, Into::into)
    }
}

impl From<std::io::ErrorKind> for Value {
    #[inline]
    fn from(k: std::io::ErrorKind) -> Value {
        Value::from(k.to_string())
    }
}

/// A `Value` did not hold what a conversion asked for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ValueError {
    /// The Rust type the conversion wanted.
    pub wanted: &'static str,
    /// The variant that was there.
    pub found: &'static str,
}

impl fmt::Display for ValueError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "expected {}, found {}", self.wanted, self.found)
    }
}

impl std::error::Error for ValueError {}

fn mismatch(wanted: &'static str, v: &Value) -> ValueError {
    ValueError {
        wanted,
        found: v.kind(),
    }
}

impl TryFrom<Value> for i64 {
    type Error = ValueError;
    fn try_from(v: Value) -> Result<i64, ValueError> {
        v.as_i64().ok_or_else(|| mismatch("integer", &v))
    }
}

impl TryFrom<&Value> for i64 {
    type Error = ValueError;
    fn try_from(v: &Value) -> Result<i64, ValueError> {
        v.as_i64().ok_or_else(|| mismatch("integer", v))
    }
}

impl TryFrom<Value> for f64 {
    type Error = ValueError;
    fn try_from(v: Value) -> Result<f64, ValueError> {
        v.as_f64().ok_or_else(|| mismatch("number", &v))
    }
}

impl TryFrom<Value> for String {
    type Error = ValueError;
    fn try_from(v: Value) -> Result<String, ValueError> {
        match &v {
            Value::Str(s) => Ok(s.to_string()),
            Value::Int(_) | Value::Float(_) => Ok(v.to_string()),
            _ => v
                .as_str()
                .map(str::to_owned)
                .ok_or_else(|| mismatch("string", &v)),
        }
    }
}

impl TryFrom<Value> for Vec<u8> {
    type Error = ValueError;
    fn try_from(v: Value) -> Result<Vec<u8>, ValueError> {
        v.as_bytes()
            .map(<[u8]>::to_vec)
            .ok_or_else(|| mismatch("bytes", &v))
    }
}

impl TryFrom<Value> for Vec<Value> {
    type Error = ValueError;
    fn try_from(v: Value) -> Result<Vec<Value>, ValueError> {
        match v {
            Value::List(l) => Ok(l),
            other => Err(mismatch("list", &other)),
        }
    }
}

impl TryFrom<Value> for Map {
    type Error = ValueError;
    fn try_from(v: Value) -> Result<Map, ValueError> {
        match v {
            Value::Map(m) => Ok(*m),
            other => Err(mismatch("map", &other)),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn conversions_round_trip() {
        assert_eq!(i64::try_from(Value::from(-5i32)), Ok(-5));
        assert_eq!(String::try_from(Value::from("hi")).unwrap(), "hi");
        assert_eq!(String::try_from(Value::from(2.5)).unwrap(), "2.5");
        assert_eq!(
            Vec::<u8>::try_from(Value::from(vec![0u8, 255])).unwrap(),
            vec![0, 255]
        );
        assert_eq!(Value::from(Some(3)), Value::Int(3));
        assert_eq!(Value::from(None::<i32>), Value::Undef);
        assert_eq!(Value::from(u64::MAX), Value::Float(u64::MAX as f64));
        let err = i64::try_from(Value::list([1])).unwrap_err();
        assert_eq!(err.to_string(), "expected integer, found list");
    }
}
