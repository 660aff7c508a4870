//! The two filter interfaces: [`Filter`] (bytes on one side, records on
//! the other: what a wheel drives) and [`RecordFilter`] (records on both
//! sides: Grep, Map, RecordBlock, and the stages of a Stackable).

use crate::FilterError;
use poe_kernel::Value;

/// A wire-facing filter: raw bytes in, records out, and back.
///
/// This is POE's `get_one_start` / `get_one` / `put` / `get_pending` /
/// `clone`, one record at a time. A filter keeps partial input between
/// calls and never does I/O.
///
/// ```
/// use poe_filters::{Filter, Line};
/// use poe_kernel::Value;
///
/// let mut line = Line::new();
/// line.get_one_start(b"hello\r\nwor").unwrap();
/// assert_eq!(line.get_one().unwrap(), Some(Value::from("hello")));
/// assert_eq!(line.get_one().unwrap(), None);
/// assert_eq!(line.get_pending(), Some(b"wor".to_vec()));
///
/// let mut out = Vec::new();
/// line.put(Value::from("bye"), &mut out).unwrap();
/// assert_eq!(out, b"bye\r\n");
/// ```
pub trait Filter {
    /// Append raw input. Err when the framing buffer would exceed
    /// `MaxBuffer`: the chunk is then dropped (POE keeps it and dies), so the
    /// buffer never grows past its bound; the stream should be closed.
    fn get_one_start(&mut self, data: &[u8]) -> Result<(), FilterError>;
    /// The next complete record, `Ok(None)` if none is complete yet.
    fn get_one(&mut self) -> Result<Option<Value>, FilterError>;
    /// Serialize one record, appending the bytes to `out`.
    fn put(&mut self, record: Value, out: &mut Vec<u8>) -> Result<(), FilterError>;
    /// Unparsed input still buffered (not cleared), `None` when empty —
    /// what a wheel hands to the next filter on a switch.
    fn get_pending(&self) -> Option<Vec<u8>>;
    /// POE's `clone`: same configuration, empty buffers.
    fn clone_fresh(&self) -> Box<dyn Filter>;
}

impl Filter for Box<dyn Filter> {
    fn get_one_start(&mut self, data: &[u8]) -> Result<(), FilterError> {
        (**self).get_one_start(data)
    }
    fn get_one(&mut self) -> Result<Option<Value>, FilterError> {
        (**self).get_one()
    }
    fn put(&mut self, record: Value, out: &mut Vec<u8>) -> Result<(), FilterError> {
        (**self).put(record, out)
    }
    fn get_pending(&self) -> Option<Vec<u8>> {
        (**self).get_pending()
    }
    fn clone_fresh(&self) -> Box<dyn Filter> {
        (**self).clone_fresh()
    }
}

/// A record-level filter: records in, records out, both ways.
///
/// POE passes lists of arbitrary scalars between the filters of a
/// Stackable; this is that interface. Method names differ from
/// [`Filter`]'s so a type can implement both without ambiguity (Grep, Map,
/// RecordBlock and Stackable do: on a wheel they see each raw chunk as one
/// `Value::Bytes` record, as POE's do).
///
/// ```
/// use poe_filters::{Grep, RecordFilter};
/// use poe_kernel::Value;
///
/// let mut odd = Grep::code(|v: &Value| v.as_i64().is_some_and(|i| i % 2 == 1));
/// for i in 1..=4 {
///     odd.push_record(Value::from(i)).unwrap();
/// }
/// assert_eq!(odd.next_record().unwrap(), Some(Value::from(1)));
/// assert_eq!(odd.next_record().unwrap(), Some(Value::from(3)));
/// assert_eq!(odd.next_record().unwrap(), None);
/// ```
pub trait RecordFilter {
    /// Queue one input item (POE `get_one_start` with a one-element list).
    fn push_record(&mut self, item: Value) -> Result<(), FilterError>;
    /// The next output record (POE `get_one`), `Ok(None)` when none is ready.
    fn next_record(&mut self) -> Result<Option<Value>, FilterError>;
    /// Run one record through the output direction (POE `put`), appending
    /// what it becomes (zero or more items) to `out`.
    fn put_record(&mut self, record: Value, out: &mut Vec<Value>) -> Result<(), FilterError>;
    /// Input items not yet turned into records (POE `get_pending`), oldest
    /// first; empty when there are none. Does not clear them.
    fn pending_records(&self) -> Vec<Value>;
    /// POE's `clone`: same configuration, empty buffers.
    fn clone_records(&self) -> Box<dyn RecordFilter>;
    /// A short name for the filter's type (Stackable's `filter_types`).
    fn type_name(&self) -> &'static str {
        short_type_name(std::any::type_name::<Self>())
    }
}

impl RecordFilter for Box<dyn RecordFilter> {
    fn push_record(&mut self, item: Value) -> Result<(), FilterError> {
        (**self).push_record(item)
    }
    fn next_record(&mut self) -> Result<Option<Value>, FilterError> {
        (**self).next_record()
    }
    fn put_record(&mut self, record: Value, out: &mut Vec<Value>) -> Result<(), FilterError> {
        (**self).put_record(record, out)
    }
    fn pending_records(&self) -> Vec<Value> {
        (**self).pending_records()
    }
    fn clone_records(&self) -> Box<dyn RecordFilter> {
        (**self).clone_records()
    }
    fn type_name(&self) -> &'static str {
        (**self).type_name()
    }
}

/// `poe_filters::line::Line` → `Line`.
pub(crate) fn short_type_name(full: &'static str) -> &'static str {
    let base = full.split('<').next().unwrap_or(full);
    base.rsplit("::").next().unwrap_or(base)
}

/// Implements [`Filter`] for a record-level filter the way POE's own
/// record filters behave on a wheel: each raw chunk is one `Value::Bytes`
/// record, and every item `put` produces must be writable as bytes.
macro_rules! wire_via_records {
    ($ty:ty) => {
        impl $crate::Filter for $ty {
            fn get_one_start(&mut self, data: &[u8]) -> Result<(), $crate::FilterError> {
                if data.is_empty() {
                    return Ok(());
                }
                $crate::RecordFilter::push_record(self, poe_kernel::Value::from(data))
            }
            fn get_one(&mut self) -> Result<Option<poe_kernel::Value>, $crate::FilterError> {
                $crate::RecordFilter::next_record(self)
            }
            fn put(
                &mut self,
                record: poe_kernel::Value,
                out: &mut Vec<u8>,
            ) -> Result<(), $crate::FilterError> {
                let mut items = Vec::new();
                $crate::RecordFilter::put_record(self, record, &mut items)?;
                for item in &items {
                    $crate::record::write_bytes(item, out)?;
                }
                Ok(())
            }
            fn get_pending(&self) -> Option<Vec<u8>> {
                let mut raw = Vec::new();
                for item in $crate::RecordFilter::pending_records(self) {
                    // Items that are not bytes cannot be handed to a byte
                    // filter anyway; they are skipped.
                    let _ = $crate::record::write_bytes(&item, &mut raw);
                }
                (!raw.is_empty()).then_some(raw)
            }
            fn clone_fresh(&self) -> Box<dyn $crate::Filter> {
                Box::new(self.fresh())
            }
        }
    };
}
pub(crate) use wire_via_records;
