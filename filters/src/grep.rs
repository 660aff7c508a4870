//! POE::Filter::Grep: keep the records a predicate accepts.

use crate::filter::wire_via_records;
use crate::{FilterError, RecordFilter};
use poe_kernel::Value;
use std::collections::VecDeque;
use std::fmt;
use std::rc::Rc;

/// A Grep predicate. Closures are shared by clones, as POE's code refs are;
/// keep per-connection state elsewhere (or in a `Cell` you mean to share).
pub type Predicate = Rc<dyn Fn(&Value) -> bool>;

/// POE::Filter::Grep: input records for which `Get` is true, output records
/// for which `Put` is true (`Code` sets both).
///
/// On a wheel (as a [`Filter`](crate::Filter)) each raw chunk is one
/// `Value::Bytes` record, as with POE.
///
/// ```
/// use poe_filters::{Grep, RecordFilter};
/// use poe_kernel::Value;
///
/// let mut no_comments = Grep::code(|v: &Value| !v.to_string().starts_with('#'));
/// for line in ["# note", "data", "#", "more"] {
///     no_comments.push_record(Value::from(line)).unwrap();
/// }
/// let mut kept = Vec::new();
/// while let Some(v) = no_comments.next_record().unwrap() {
///     kept.push(v.to_string());
/// }
/// assert_eq!(kept, ["data", "more"]);
/// ```
#[derive(Clone)]
pub struct Grep {
    get: Predicate,
    put: Predicate,
    queue: VecDeque<Value>,
}

impl fmt::Debug for Grep {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Grep").field("queue", &self.queue).finish()
    }
}

impl Grep {
    /// `Code => sub`: one predicate for both directions.
    pub fn code(code: impl Fn(&Value) -> bool + 'static) -> Grep {
        let code: Predicate = Rc::new(code);
        Grep {
            get: Rc::clone(&code),
            put: code,
            queue: VecDeque::new(),
        }
    }

    /// `Get => sub, Put => sub`.
    pub fn get_put(
        get: impl Fn(&Value) -> bool + 'static,
        put: impl Fn(&Value) -> bool + 'static,
    ) -> Grep {
        Grep {
            get: Rc::new(get),
            put: Rc::new(put),
            queue: VecDeque::new(),
        }
    }

    /// `modify(Code => sub)`.
    pub fn modify_code(&mut self, code: impl Fn(&Value) -> bool + 'static) {
        let code: Predicate = Rc::new(code);
        self.get = Rc::clone(&code);
        self.put = code;
    }

    /// `modify(Get => sub)`.
    pub fn modify_get(&mut self, get: impl Fn(&Value) -> bool + 'static) {
        self.get = Rc::new(get);
    }

    /// `modify(Put => sub)`.
    pub fn modify_put(&mut self, put: impl Fn(&Value) -> bool + 'static) {
        self.put = Rc::new(put);
    }

    /// Same predicates, empty queue.
    pub fn fresh(&self) -> Grep {
        Grep {
            get: Rc::clone(&self.get),
            put: Rc::clone(&self.put),
            queue: VecDeque::new(),
        }
    }
}

impl RecordFilter for Grep {
    fn push_record(&mut self, item: Value) -> Result<(), FilterError> {
        self.queue.push_back(item);
        Ok(())
    }

    fn next_record(&mut self) -> Result<Option<Value>, FilterError> {
        while let Some(item) = self.queue.pop_front() {
            if (self.get)(&item) {
                return Ok(Some(item));
            }
        }
        // Give back the storage of a burst once it is drained.
        self.queue = VecDeque::new();
        Ok(None)
    }

    fn put_record(&mut self, record: Value, out: &mut Vec<Value>) -> Result<(), FilterError> {
        if (self.put)(&record) {
            out.push(record);
        }
        Ok(())
    }

    fn pending_records(&self) -> Vec<Value> {
        self.queue.iter().cloned().collect()
    }

    fn clone_records(&self) -> Box<dyn RecordFilter> {
        Box::new(self.fresh())
    }
}

wire_via_records!(Grep);
