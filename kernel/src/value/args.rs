//! [`Args`], an event's argument list, and [`IntoArgs`], what may become one.

use super::Value;
use std::fmt;
use std::ops::{Deref, DerefMut};

/// An event's arguments (`ARG0`, `ARG1`, ...). It dereferences to a slice,
/// so `args[0]`, `args.iter()` and `&args[1..]` work as on a `Vec`.
///
/// A single argument is kept inline (no allocation), in the space a `Vec`
/// header needs anyway: `Args` is 32 bytes either way. One argument is
/// the common case for `call`, `post` and alarms, and its malloc and free
/// were about 140 of the 900 instructions a call costs (callgrind). An
/// inline small-vector of more values was measured and lost: it makes
/// every queued event larger to move and to drop.
///
/// ```
/// use poe_kernel::{Args, Value};
/// let mut a = Args::from(vec![Value::from(1)]);
/// a.push(Value::from("two"));
/// assert_eq!(a.len(), 2);
/// assert_eq!(a[1].as_str(), Some("two"));
/// assert_eq!(a.into_vec(), vec![Value::from(1), Value::from("two")]);
/// ```
#[derive(Clone)]
pub struct Args(Repr);

#[derive(Clone)]
enum Repr {
    /// No values (no buffer either: the cheapest list to make and drop).
    Empty,
    /// Exactly one value.
    One(Value),
    /// Any number of values in a buffer (possibly none, after `clear`).
    Many(Vec<Value>),
}

impl Default for Args {
    #[inline]
    fn default() -> Args {
        Args::new()
    }
}

impl Args {
    /// No arguments.
    #[inline]
    pub const fn new() -> Args {
        Args(Repr::Empty)
    }

    /// Append an argument.
    #[inline]
    pub fn push(&mut self, v: Value) {
        // A list with a buffer (a wheel's, reused record after record) is
        // the hot case: keep it small enough to inline everywhere.
        match &mut self.0 {
            Repr::Many(vec) => vec.push(v),
            _ => self.push_unbuffered(v),
        }
    }

    /// `push` onto an empty list (the value goes inline) or a one-value
    /// list (both move to a buffer).
    #[inline(never)]
    fn push_unbuffered(&mut self, v: Value) {
        match std::mem::replace(&mut self.0, Repr::Empty) {
            Repr::Empty => self.0 = Repr::One(v),
            Repr::One(first) => self.0 = Repr::Many(vec![first, v]),
            Repr::Many(mut vec) => {
                vec.push(v);
                self.0 = Repr::Many(vec);
            }
        }
    }

    /// The arguments as a `Vec`.
    #[inline]
    pub fn into_vec(self) -> Vec<Value> {
        match self.0 {
            Repr::Empty => Vec::new(),
            Repr::One(v) => vec![v],
            Repr::Many(vec) => vec,
        }
    }

    /// Remove every argument, keeping the list's capacity.
    #[inline]
    pub fn clear(&mut self) {
        // Most arguments are plain scalars (a wheel id, a taken record
        // left as undef): skip the out-of-line drop glue for those.
        match &mut self.0 {
            Repr::Many(vec) => {
                while let Some(v) = vec.pop() {
                    v.discard();
                }
            }
            Repr::One(_) => {
                if let Repr::One(v) = std::mem::replace(&mut self.0, Repr::Empty) {
                    v.discard();
                }
            }
            Repr::Empty => {}
        }
    }

    /// Make the list exactly `values`, dropping what it held. A list that
    /// already holds that many values has them replaced in place, which is
    /// cheaper than `clear` and a `push` each: the case of a list refilled
    /// call after call ([`Ctx::call_self_each`](crate::Ctx::call_self_each)).
    ///
    /// ```
    /// use poe_kernel::{Args, Value};
    /// let mut a = Args::from(vec![Value::from(1), Value::from(2)]);
    /// a.refill([Value::from("x"), Value::from(3)]);
    /// assert_eq!(a.into_vec(), vec![Value::from("x"), Value::from(3)]);
    /// let mut b = Args::new();
    /// b.refill([Value::from(1), Value::from(2), Value::from(3)]);
    /// assert_eq!(b.len(), 3);
    /// ```
    #[inline(always)]
    pub fn refill<const N: usize>(&mut self, values: [Value; N]) {
        if let Ok(slots) = <&mut [Value; N]>::try_from(&mut **self) {
            let old = std::mem::replace(slots, values);
            // Mostly scalars (a wheel id, a taken record left as undef):
            // no drop glue for those.
            if old.iter().all(Value::is_scalar) {
                std::mem::forget(old);
            }
        } else {
            self.refill_resized(values);
        }
    }

    /// `refill` when the length changes.
    #[inline(never)]
    fn refill_resized<const N: usize>(&mut self, values: [Value; N]) {
        self.clear();
        for v in values {
            self.push(v);
        }
    }

    /// Move argument `i` out, leaving `Undef` (`Undef` when absent).
    #[inline]
    pub fn take(&mut self, i: usize) -> Value {
        self.get_mut(i).map(Value::take).unwrap_or_default()
    }
}

impl Deref for Args {
    type Target = [Value];
    #[inline]
    fn deref(&self) -> &[Value] {
        match &self.0 {
            Repr::Empty => &[],
            Repr::One(v) => std::slice::from_ref(v),
            Repr::Many(vec) => vec,
        }
    }
}

impl DerefMut for Args {
    #[inline]
    fn deref_mut(&mut self) -> &mut [Value] {
        match &mut self.0 {
            Repr::Empty => &mut [],
            Repr::One(v) => std::slice::from_mut(v),
            Repr::Many(vec) => vec,
        }
    }
}

impl From<Vec<Value>> for Args {
    #[inline]
    fn from(vec: Vec<Value>) -> Args {
        Args(Repr::Many(vec))
    }
}

impl From<Args> for Vec<Value> {
    fn from(a: Args) -> Vec<Value> {
        a.into_vec()
    }
}

impl FromIterator<Value> for Args {
    fn from_iter<I: IntoIterator<Item = Value>>(iter: I) -> Args {
        Args(Repr::Many(iter.into_iter().collect()))
    }
}

impl Extend<Value> for Args {
    fn extend<I: IntoIterator<Item = Value>>(&mut self, iter: I) {
        for v in iter {
            self.push(v);
        }
    }
}

impl PartialEq for Args {
    fn eq(&self, other: &Args) -> bool {
        **self == **other
    }
}

impl<const N: usize> PartialEq<[Value; N]> for Args {
    fn eq(&self, other: &[Value; N]) -> bool {
        **self == other[..]
    }
}

impl PartialEq<Vec<Value>> for Args {
    fn eq(&self, other: &Vec<Value>) -> bool {
        **self == other[..]
    }
}

impl fmt::Debug for Args {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_list().entries(self.iter()).finish()
    }
}

/// Anything usable as an event's argument list: `()`, a tuple of values, an
/// array, a `Vec<Value>` or [`Args`].
///
/// ```
/// use poe_kernel::{IntoArgs, Value};
/// assert!(().into_args().is_empty());
/// assert_eq!((1, "two").into_args(), [Value::from(1), Value::from("two")]);
/// assert_eq!([1, 2, 3].into_args().len(), 3);
/// ```
pub trait IntoArgs {
    /// Build the argument list.
    fn into_args(self) -> Args;
}

impl IntoArgs for Args {
    fn into_args(self) -> Args {
        self
    }
}

impl IntoArgs for Vec<Value> {
    fn into_args(self) -> Args {
        Args::from(self)
    }
}

impl IntoArgs for () {
    fn into_args(self) -> Args {
        Args::new()
    }
}

impl<T: Into<Value>, const N: usize> IntoArgs for [T; N] {
    fn into_args(self) -> Args {
        self.into_iter().map(Into::into).collect()
    }
}

macro_rules! tuple_args {
    ($($name:ident)+) => {
        impl<$($name: Into<Value>),+> IntoArgs for ($($name,)+) {
            #[allow(non_snake_case)]
            fn into_args(self) -> Args {
                let ($($name,)+) = self;
                Args::from(vec![$($name.into()),+])
            }
        }
    };
}
impl<A: Into<Value>> IntoArgs for (A,) {
    #[inline]
    fn into_args(self) -> Args {
        Args(Repr::One(self.0.into()))
    }
}
tuple_args!(A B);
tuple_args!(A B C);
tuple_args!(A B C D);
tuple_args!(A B C D E);
tuple_args!(A B C D E F);
tuple_args!(A B C D E F G);
tuple_args!(A B C D E F G I);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn args_push_and_take_in_order() {
        let mut a = (1, 2).into_args();
        a.push(Value::from(3));
        a.push(Value::from(4));
        assert_eq!(a, [1, 2, 3, 4].map(Value::from));
        assert_eq!(a.take(0), Value::from(1));
        assert_eq!(a[0], Value::Undef);
        assert_eq!(a.take(9), Value::Undef);
    }

    #[test]
    fn one_argument_is_held_inline_and_grows_into_a_list() {
        assert_eq!(std::mem::size_of::<Args>(), 32);
        let mut a = ("x",).into_args();
        assert!(matches!(a.0, Repr::One(_)));
        assert_eq!(a, [Value::from("x")]);
        a[0] = Value::from(7);
        a.push(Value::from(8));
        a.extend([Value::from(9)]);
        assert_eq!(a, [7, 8, 9].map(Value::from));
        // Cleared, a list keeps its buffer for the next values.
        a.clear();
        assert!(a.is_empty());
        a.push(Value::from(1));
        assert!(matches!(&a.0, Repr::Many(v) if v.capacity() >= 3));
        // An empty list takes its first value inline.
        let mut b = Args::new();
        b.push(Value::from(1));
        assert!(matches!(b.0, Repr::One(_)));
        assert_eq!(b.take(0), Value::from(1));
        assert_eq!(b, [Value::Undef]);
        b.clear();
        assert!(b.is_empty());
        assert_eq!(
            Args::from_iter([Value::from(2)]).into_vec(),
            vec![Value::from(2)]
        );
    }

    #[test]
    fn into_vec_keeps_only_the_used_slots() {
        assert_eq!(("x",).into_args().into_vec(), vec![Value::from("x")]);
        assert!(Args::new().into_vec().is_empty());
    }
}
