//! POE::Filter::Stackable: a chain of filters acting as one.

use crate::record::write_bytes;
use crate::{Filter, FilterError, RecordFilter};
use poe_kernel::Value;
use std::collections::VecDeque;
use std::fmt;

/// One filter in a [`Stackable`]: either a byte filter (Line, Block...)
/// or a record filter (Grep, Map, RecordBlock, another Stackable).
///
/// Between stages, records become the next stage's input as they are; a
/// byte stage takes `Str`/`Bytes` records as its raw input and hands its
/// `put` output up as one `Value::Bytes` per record.
pub struct Stage {
    kind: StageKind,
    name: &'static str,
}

enum StageKind {
    Wire(Box<dyn Filter>),
    Records(Box<dyn RecordFilter>),
}

impl fmt::Debug for Stage {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Stage({})", self.name)
    }
}

impl Stage {
    /// A byte filter as a stage.
    pub fn wire<F: Filter + 'static>(filter: F) -> Stage {
        Stage {
            name: crate::filter::short_type_name(std::any::type_name::<F>()),
            kind: StageKind::Wire(Box::new(filter)),
        }
    }

    /// A record filter as a stage.
    pub fn records<F: RecordFilter + 'static>(filter: F) -> Stage {
        Stage {
            name: filter.type_name(),
            kind: StageKind::Records(Box::new(filter)),
        }
    }

    /// The filter's type name (Stackable's `filter_types`).
    pub fn name(&self) -> &'static str {
        self.name
    }

    /// The byte filter, for a byte stage.
    pub fn as_filter(&self) -> Option<&dyn Filter> {
        match &self.kind {
            StageKind::Wire(f) => Some(f.as_ref()),
            StageKind::Records(_) => None,
        }
    }

    /// The record filter, for a record stage.
    pub fn as_record_filter(&self) -> Option<&dyn RecordFilter> {
        match &self.kind {
            StageKind::Records(f) => Some(f.as_ref()),
            StageKind::Wire(_) => None,
        }
    }

    fn push_bytes(&mut self, data: &[u8]) -> Result<(), FilterError> {
        match &mut self.kind {
            StageKind::Wire(f) => f.get_one_start(data),
            StageKind::Records(f) => f.push_record(Value::from(data)),
        }
    }

    fn push(&mut self, item: Value) -> Result<(), FilterError> {
        match &mut self.kind {
            StageKind::Wire(f) => match &item {
                Value::Str(s) => f.get_one_start(s.as_bytes()),
                Value::Bytes(b) => f.get_one_start(b),
                other => {
                    let mut raw = Vec::new();
                    write_bytes(other, &mut raw)?;
                    f.get_one_start(&raw)
                }
            },
            StageKind::Records(f) => f.push_record(item),
        }
    }

    fn next(&mut self) -> Result<Option<Value>, FilterError> {
        match &mut self.kind {
            StageKind::Wire(f) => f.get_one(),
            StageKind::Records(f) => f.next_record(),
        }
    }

    fn put(&mut self, record: Value, out: &mut Vec<Value>) -> Result<(), FilterError> {
        match &mut self.kind {
            StageKind::Wire(f) => {
                let mut raw = Vec::new();
                f.put(record, &mut raw)?;
                if !raw.is_empty() {
                    out.push(Value::from(raw));
                }
                Ok(())
            }
            StageKind::Records(f) => f.put_record(record, out),
        }
    }

    fn pending(&self) -> Vec<Value> {
        match &self.kind {
            StageKind::Wire(f) => f.get_pending().map(Value::from).into_iter().collect(),
            StageKind::Records(f) => f.pending_records(),
        }
    }

    fn fresh(&self) -> Stage {
        Stage {
            name: self.name,
            kind: match &self.kind {
                StageKind::Wire(f) => StageKind::Wire(f.clone_fresh()),
                StageKind::Records(f) => StageKind::Records(f.clone_records()),
            },
        }
    }
}

macro_rules! stage_from {
    ($ctor:ident: $($ty:ty),*) => {$(
        impl From<$ty> for Stage {
            fn from(f: $ty) -> Stage {
                Stage::$ctor(f)
            }
        }
    )*};
}
stage_from!(wire: crate::Line, crate::Stream, crate::Block, crate::Reference, crate::Httpd);
stage_from!(records: crate::Grep, crate::Map, crate::RecordBlock, Stackable);

impl From<Box<dyn Filter>> for Stage {
    fn from(f: Box<dyn Filter>) -> Stage {
        Stage {
            name: "Filter",
            kind: StageKind::Wire(f),
        }
    }
}

impl From<Box<dyn RecordFilter>> for Stage {
    fn from(f: Box<dyn RecordFilter>) -> Stage {
        Stage {
            name: f.type_name(),
            kind: StageKind::Records(f),
        }
    }
}

/// POE::Filter::Stackable: `Filters => [f1 … fn]`, f1 nearest the wire.
/// Input flows f1 → fn, output fn → f1.
///
/// Differences from POE 1.370, on purpose (POE drops data in all three):
/// * `get_pending` returns everything still held, oldest first: records
///   waiting in later stages are re-encoded through fresh clones of the
///   stages before them (best effort: exact when each filter's `put`
///   inverts its `get`), followed by the first stage's raw leftover.
/// * [`shift`](Stackable::shift) hands the removed first stage's leftover
///   to the new first stage as input.
/// * [`pop`](Stackable::pop) keeps the removed last stage's pending input:
///   those records are the chain's output now and come out of the next
///   `get_one`.
///
/// ```
/// use poe_filters::{Filter, Grep, Line, Map, RecordBlock, Stackable};
/// use poe_kernel::Value;
///
/// // t/50_stackable: Line('!') → Map((((x)))) → Grep(/1/) → RecordBlock(2).
/// let mut stack = Stackable::new([
///     Line::literal("!").unwrap().into(),
///     Map::code(|v: Value| format!("((({v})))")).into(),
///     Grep::code(|v: &Value| v.to_string().contains('1')).into(),
///     RecordBlock::new(2).unwrap().into(),
/// ]);
/// stack.get_one_start(b"test one (1)!test two (2)!").unwrap();
/// assert_eq!(stack.get_one().unwrap(), None);
/// stack.get_one_start(b"test three (3)!test four (100)!").unwrap();
/// assert_eq!(
///     stack.get_one().unwrap(),
///     Some(Value::list(["(((test one (1))))", "(((test four (100))))"]))
/// );
/// assert_eq!(stack.filter_types(), ["Line", "Map", "Grep", "RecordBlock"]);
/// ```
#[derive(Debug, Default)]
pub struct Stackable {
    stages: Vec<Stage>,
    /// Records that are already the chain's output (left by `pop`, or
    /// input passed through an empty chain).
    ready: VecDeque<Value>,
}

impl Stackable {
    /// A chain of stages, nearest the wire first.
    pub fn new(stages: impl IntoIterator<Item = Stage>) -> Stackable {
        Stackable {
            stages: stages.into_iter().collect(),
            ready: VecDeque::new(),
        }
    }

    /// `push`: add a filter at the far end (away from the wire).
    pub fn push(&mut self, stage: impl Into<Stage>) {
        self.stages.push(stage.into());
    }

    /// `unshift`: add a filter nearest the wire.
    pub fn unshift(&mut self, stage: impl Into<Stage>) {
        self.stages.insert(0, stage.into());
    }

    /// `pop`: remove the last filter. Its pending input becomes the
    /// chain's next output.
    pub fn pop(&mut self) -> Option<Stage> {
        let stage = self.stages.pop()?;
        self.ready.extend(stage.pending());
        Some(stage)
    }

    /// `shift`: remove the first filter. Its unparsed input goes to the new
    /// first filter (or, if none is left, straight out).
    pub fn shift(&mut self) -> Result<Option<Stage>, FilterError> {
        if self.stages.is_empty() {
            return Ok(None);
        }
        let stage = self.stages.remove(0);
        for item in stage.pending() {
            self.feed(item)?;
        }
        Ok(Some(stage))
    }

    /// `filters`: the stages, nearest the wire first.
    pub fn filters(&self) -> &[Stage] {
        &self.stages
    }

    /// `filter_types`: the stages' type names.
    pub fn filter_types(&self) -> Vec<&'static str> {
        self.stages.iter().map(Stage::name).collect()
    }

    /// Same stages (cloned fresh), empty buffers.
    pub fn fresh(&self) -> Stackable {
        Stackable::new(self.stages.iter().map(Stage::fresh))
    }

    fn feed(&mut self, item: Value) -> Result<(), FilterError> {
        match self.stages.first_mut() {
            Some(first) => first.push(item),
            None => {
                self.ready.push_back(item);
                Ok(())
            }
        }
    }

    /// Pull the next record through the chain: ask the last stage, and
    /// when it has nothing, feed it from the stage before (recursively).
    fn pull(&mut self) -> Result<Option<Value>, FilterError> {
        if let Some(v) = self.ready.pop_front() {
            return Ok(Some(v));
        }
        let Some(last) = self.stages.len().checked_sub(1) else {
            self.ready = VecDeque::new();
            return Ok(None);
        };
        let mut k = last;
        loop {
            match self.stages[k].next()? {
                Some(v) if k == last => return Ok(Some(v)),
                Some(v) => {
                    self.stages[k + 1].push(v)?;
                    k += 1;
                }
                None if k == 0 => return Ok(None),
                None => k -= 1,
            }
        }
    }

    fn put_items(&mut self, record: Value, out: &mut Vec<Value>) -> Result<(), FilterError> {
        put_through(&mut self.stages, record, out)
    }

    /// Everything held, as input items of the first stage, oldest first.
    fn pending_items(&self) -> Vec<Value> {
        let n = self.stages.len();
        let mut items: Vec<Value> = Vec::new();
        let reencode = |held: Vec<Value>, upto: usize, items: &mut Vec<Value>| {
            if held.is_empty() {
                return;
            }
            let mut fresh: Vec<Stage> = self.stages[..upto].iter().map(Stage::fresh).collect();
            for record in held {
                if let Err(e) = put_through(&mut fresh, record, items) {
                    log::warn!("Stackable::get_pending cannot re-encode a record: {e}");
                }
            }
        };
        reencode(self.ready.iter().cloned().collect(), n, &mut items);
        for k in (1..n).rev() {
            reencode(self.stages[k].pending(), k, &mut items);
        }
        if let Some(first) = self.stages.first() {
            items.extend(first.pending());
        }
        items
    }
}

/// Run `record` through `stages` in the output direction (last to first),
/// stopping early when a stage produces nothing.
fn put_through(
    stages: &mut [Stage],
    record: Value,
    out: &mut Vec<Value>,
) -> Result<(), FilterError> {
    let mut items = vec![record];
    for stage in stages.iter_mut().rev() {
        let mut next = Vec::with_capacity(items.len());
        for item in items {
            stage.put(item, &mut next)?;
        }
        items = next;
        if items.is_empty() {
            return Ok(());
        }
    }
    out.extend(items);
    Ok(())
}

impl Filter for Stackable {
    fn get_one_start(&mut self, data: &[u8]) -> Result<(), FilterError> {
        match self.stages.first_mut() {
            Some(first) => first.push_bytes(data),
            None => {
                self.ready.push_back(Value::from(data));
                Ok(())
            }
        }
    }

    fn get_one(&mut self) -> Result<Option<Value>, FilterError> {
        self.pull()
    }

    fn put(&mut self, record: Value, out: &mut Vec<u8>) -> Result<(), FilterError> {
        let mut items = Vec::new();
        self.put_items(record, &mut items)?;
        for item in &items {
            write_bytes(item, out)?;
        }
        Ok(())
    }

    fn get_pending(&self) -> Option<Vec<u8>> {
        let mut raw = Vec::new();
        for item in self.pending_items() {
            if let Err(e) = write_bytes(&item, &mut raw) {
                log::warn!("Stackable::get_pending: {e}");
            }
        }
        (!raw.is_empty()).then_some(raw)
    }

    fn clone_fresh(&self) -> Box<dyn Filter> {
        Box::new(self.fresh())
    }
}

impl RecordFilter for Stackable {
    fn push_record(&mut self, item: Value) -> Result<(), FilterError> {
        self.feed(item)
    }

    fn next_record(&mut self) -> Result<Option<Value>, FilterError> {
        self.pull()
    }

    fn put_record(&mut self, record: Value, out: &mut Vec<Value>) -> Result<(), FilterError> {
        self.put_items(record, out)
    }

    fn pending_records(&self) -> Vec<Value> {
        self.pending_items()
    }

    fn clone_records(&self) -> Box<dyn RecordFilter> {
        Box::new(self.fresh())
    }
}
