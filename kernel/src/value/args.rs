//! [`IntoArgs`]: what may be passed as an event's argument list.

use super::Value;

/// Anything usable as an event's argument list: `()`, a tuple of values, an
/// array, or a `Vec<Value>`.
///
/// ```
/// use poe_kernel::{IntoArgs, Value};
/// assert!(().into_args().is_empty());
/// assert_eq!((1, "two").into_args(), vec![Value::from(1), Value::from("two")]);
/// assert_eq!([1, 2, 3].into_args().len(), 3);
/// ```
pub trait IntoArgs {
    /// Build the argument vector.
    fn into_args(self) -> Vec<Value>;
}

impl IntoArgs for Vec<Value> {
    fn into_args(self) -> Vec<Value> {
        self
    }
}

impl IntoArgs for () {
    fn into_args(self) -> Vec<Value> {
        Vec::new()
    }
}

impl<T: Into<Value>, const N: usize> IntoArgs for [T; N] {
    fn into_args(self) -> Vec<Value> {
        self.into_iter().map(Into::into).collect()
    }
}

macro_rules! tuple_args {
    ($($name:ident)+) => {
        impl<$($name: Into<Value>),+> IntoArgs for ($($name,)+) {
            #[allow(non_snake_case)]
            fn into_args(self) -> Vec<Value> {
                let ($($name,)+) = self;
                vec![$($name.into()),+]
            }
        }
    };
}
tuple_args!(A);
tuple_args!(A B);
tuple_args!(A B C);
tuple_args!(A B C D);
tuple_args!(A B C D E);
tuple_args!(A B C D E F);
tuple_args!(A B C D E F G);
tuple_args!(A B C D E F G I);
