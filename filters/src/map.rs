//! POE::Filter::Map: transform records, one into zero or more.

use crate::filter::wire_via_records;
use crate::{FilterError, RecordFilter};
use poe_kernel::Value;
use std::collections::VecDeque;
use std::fmt;
use std::rc::Rc;

/// What a Map function returns for one record: Perl's `map` block may
/// return nothing, one value or several.
///
/// Any `Into<Value>` converts to [`Mapped::One`], so a closure can return a
/// `String`, a number or a `Value` directly.
#[derive(Debug, Clone, PartialEq)]
pub enum Mapped {
    /// No record (the input is dropped).
    Nothing,
    /// One record.
    One(Value),
    /// Several records, in order.
    Many(Vec<Value>),
}

impl<T: Into<Value>> From<T> for Mapped {
    fn from(v: T) -> Mapped {
        Mapped::One(v.into())
    }
}

/// A Map function. Shared by clones, as POE's code refs are.
pub type MapFn = Rc<dyn Fn(Value) -> Mapped>;

/// POE::Filter::Map: `Get` transforms input records, `Put` output records
/// (`Code` sets both).
///
/// Difference from POE 1.370, on purpose: when `Get` returns nothing for a
/// record, `get_one`/`next_record` goes on with the next queued record
/// instead of returning empty, which in POE ends the wheel's read loop
/// early and leaves records stranded until more input arrives.
///
/// ```
/// use poe_filters::{Map, Mapped, RecordFilter};
/// use poe_kernel::Value;
///
/// let mut words = Map::get_put(
///     |v: Value| match v.to_string().as_str() {
///         "" => Mapped::Nothing,
///         s => Mapped::Many(s.split(' ').map(Value::from).collect()),
///     },
///     |v: Value| v.to_string().to_uppercase(),
/// );
/// for line in ["a b", "", "c"] {
///     words.push_record(Value::from(line)).unwrap();
/// }
/// let mut got = Vec::new();
/// while let Some(v) = words.next_record().unwrap() {
///     got.push(v.to_string());
/// }
/// assert_eq!(got, ["a", "b", "c"]);
///
/// let mut out = Vec::new();
/// words.put_record(Value::from("shout"), &mut out).unwrap();
/// assert_eq!(out, [Value::from("SHOUT")]);
/// ```
#[derive(Clone)]
pub struct Map {
    get: MapFn,
    put: MapFn,
    input: VecDeque<Value>,
    /// Extra records from a `Get` that returned several.
    output: VecDeque<Value>,
}

impl fmt::Debug for Map {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Map")
            .field("input", &self.input)
            .field("output", &self.output)
            .finish()
    }
}

fn boxed<R: Into<Mapped>>(f: impl Fn(Value) -> R + 'static) -> MapFn {
    Rc::new(move |v| f(v).into())
}

impl Map {
    /// `Code => sub`: one function for both directions.
    pub fn code<R: Into<Mapped>>(code: impl Fn(Value) -> R + 'static) -> Map {
        let code = boxed(code);
        Map {
            get: Rc::clone(&code),
            put: code,
            input: VecDeque::new(),
            output: VecDeque::new(),
        }
    }

    /// `Get => sub, Put => sub`.
    pub fn get_put<G: Into<Mapped>, P: Into<Mapped>>(
        get: impl Fn(Value) -> G + 'static,
        put: impl Fn(Value) -> P + 'static,
    ) -> Map {
        Map {
            get: boxed(get),
            put: boxed(put),
            input: VecDeque::new(),
            output: VecDeque::new(),
        }
    }

    /// `modify(Code => sub)`.
    pub fn modify_code<R: Into<Mapped>>(&mut self, code: impl Fn(Value) -> R + 'static) {
        let code = boxed(code);
        self.get = Rc::clone(&code);
        self.put = code;
    }

    /// `modify(Get => sub)`.
    pub fn modify_get<R: Into<Mapped>>(&mut self, get: impl Fn(Value) -> R + 'static) {
        self.get = boxed(get);
    }

    /// `modify(Put => sub)`.
    pub fn modify_put<R: Into<Mapped>>(&mut self, put: impl Fn(Value) -> R + 'static) {
        self.put = boxed(put);
    }

    /// Same functions, empty queues.
    pub fn fresh(&self) -> Map {
        Map {
            get: Rc::clone(&self.get),
            put: Rc::clone(&self.put),
            input: VecDeque::new(),
            output: VecDeque::new(),
        }
    }
}

impl RecordFilter for Map {
    fn push_record(&mut self, item: Value) -> Result<(), FilterError> {
        self.input.push_back(item);
        Ok(())
    }

    fn next_record(&mut self) -> Result<Option<Value>, FilterError> {
        if let Some(v) = self.output.pop_front() {
            return Ok(Some(v));
        }
        while let Some(item) = self.input.pop_front() {
            match (self.get)(item) {
                Mapped::Nothing => continue,
                Mapped::One(v) => return Ok(Some(v)),
                Mapped::Many(vs) => {
                    let mut vs = vs.into_iter();
                    if let Some(first) = vs.next() {
                        self.output.extend(vs);
                        return Ok(Some(first));
                    }
                }
            }
        }
        self.input = VecDeque::new();
        self.output = VecDeque::new();
        Ok(None)
    }

    fn put_record(&mut self, record: Value, out: &mut Vec<Value>) -> Result<(), FilterError> {
        match (self.put)(record) {
            Mapped::Nothing => {}
            Mapped::One(v) => out.push(v),
            Mapped::Many(vs) => out.extend(vs),
        }
        Ok(())
    }

    /// Queued inputs not yet mapped. Records already mapped but not yet
    /// returned (the rest of a `Get` that returned several) are outputs and
    /// are not part of it.
    fn pending_records(&self) -> Vec<Value> {
        self.input.iter().cloned().collect()
    }

    fn clone_records(&self) -> Box<dyn RecordFilter> {
        Box::new(self.fresh())
    }
}

wire_via_records!(Map);
