//! POE::Filter::Stackable (§20.7).

mod common;

use common::*;
use poe_filters::{
    Block, Filter, Grep, Line, Map, RecordBlock, RecordFilter, Reference, Stackable, Stream,
};
use poe_kernel::Value;

fn t50_stack() -> Stackable {
    Stackable::new([
        Line::literal("!").unwrap().into(),
        Map::code(|v: Value| format!("((({v})))")).into(),
        Grep::code(|v: &Value| v.to_string().contains('1')).into(),
        RecordBlock::new(2).unwrap().into(),
    ])
}

#[test]
fn input_flows_first_to_last_t50_stackable() {
    let mut s = t50_stack();
    s.get_one_start(b"test one (1)!test two (2)!").unwrap();
    assert_eq!(s.get_one().unwrap(), None);
    assert_eq!(
        s.filters()[3].as_record_filter().unwrap().pending_records(),
        [Value::from("(((test one (1))))")]
    );
    s.get_one_start(b"test three (3)!test four (100)!").unwrap();
    assert_eq!(
        drain(&mut s),
        [Value::list(["(((test one (1))))", "(((test four (100))))"])]
    );
}

#[test]
fn output_flows_last_to_first() {
    let mut s = t50_stack();
    let mut out = Vec::new();
    s.put(Value::list(["a1", "b1"]), &mut out).unwrap();
    assert_eq!(out, b"(((a1)))!(((b1)))!");
}

#[test]
fn put_stops_early_when_a_stage_produces_nothing() {
    let mut s = t50_stack();
    let mut out = Vec::new();
    s.put(Value::list(["no", "match"]), &mut out).unwrap();
    assert!(out.is_empty());
}

#[test]
fn get_pending_keeps_the_first_filters_partial_input() {
    // POE returns [] here and loses "partial" (§24.9).
    let mut s = Stackable::new([Line::new().into(), Map::code(|v: Value| v).into()]);
    s.get_one_start(b"partial").unwrap();
    assert_eq!(s.get_one().unwrap(), None);
    assert_eq!(s.get_pending(), Some(b"partial".to_vec()));
}

#[test]
fn get_pending_re_encodes_records_held_by_later_filters_oldest_first() {
    let mut s = t50_stack();
    s.get_one_start(b"test one (1)!part").unwrap();
    assert_eq!(s.get_one().unwrap(), None);
    // RecordBlock holds "(((test one (1))))": it goes back through Grep,
    // Map (which wraps again: best effort) and Line, before Line's rest.
    assert_eq!(
        s.get_pending(),
        Some(b"((((((test one (1)))))))!part".to_vec())
    );
}

#[test]
fn shift_hands_the_removed_filters_leftover_to_the_new_first_filter() {
    // IKC-style switch inside a stack: lines, then Reference frames.
    let mut frame = Vec::new();
    Reference::new().put(Value::list([7]), &mut frame).unwrap();
    let mut wire = b"HELLO\r\n".to_vec();
    wire.extend_from_slice(&frame);
    let mut s = Stackable::new([Line::new().into()]);
    s.get_one_start(&wire).unwrap();
    assert_eq!(s.get_one().unwrap(), Some(Value::from("HELLO")));
    s.push(Reference::new());
    let line = s.shift().unwrap().unwrap();
    assert_eq!(line.name(), "Line");
    assert_eq!(drain(&mut s), [Value::list([7])]);
}

#[test]
fn pop_keeps_the_removed_filters_pending_input_as_output() {
    // POE pushes it into the neighbour's put() and drops the result (§24.9).
    let mut s = Stackable::new([Line::new().into(), RecordBlock::new(3).unwrap().into()]);
    s.get_one_start(b"a\nb\n").unwrap();
    assert_eq!(s.get_one().unwrap(), None);
    let rb = s.pop().unwrap();
    assert_eq!(rb.name(), "RecordBlock");
    assert_eq!(strings(&drain(&mut s)), ["a", "b"]);
}

#[test]
fn push_unshift_filters_and_filter_types() {
    let mut s = Stackable::default();
    s.push(Line::new());
    s.push(Grep::code(|_| true));
    s.unshift(Stream::new());
    assert_eq!(s.filter_types(), ["Stream", "Line", "Grep"]);
    assert_eq!(s.filters().len(), 3);
    assert!(s.filters()[0].as_filter().is_some());
    assert!(s.filters()[2].as_record_filter().is_some());
}

#[test]
fn clone_clones_every_filter_fresh() {
    let mut s = t50_stack();
    s.get_one_start(b"x (1)!partial").unwrap();
    let _ = s.get_one().unwrap();
    let mut c = s.clone_fresh();
    assert_eq!(c.get_pending(), None);
    c.get_one_start(b"1!2!11!").unwrap();
    assert_eq!(drain(&mut *c), [Value::list(["(((1)))", "(((11)))"])]);
}

#[test]
fn byte_filters_can_follow_byte_filters() {
    // Block frames carrying lines: Block -> Line.
    let mut s = Stackable::new([Block::new().into(), Line::new().into()]);
    let mut wire = Vec::new();
    s.put(Value::from("one"), &mut wire).unwrap();
    s.put(Value::from("two"), &mut wire).unwrap();
    assert_eq!(wire, b"5\x00one\r\n5\x00two\r\n");
    for byte in &wire {
        s.get_one_start(std::slice::from_ref(byte)).unwrap();
    }
    assert_eq!(strings(&drain(&mut s)), ["one", "two"]);
}

#[test]
fn a_stackable_nests_as_a_record_filter() {
    let inner = Stackable::new([Map::code(|v: Value| format!("{v}!")).into()]);
    let mut outer = Stackable::new([Line::new().into(), inner.into()]);
    outer.get_one_start(b"a\nb\n").unwrap();
    assert_eq!(strings(&drain(&mut outer)), ["a!", "b!"]);
    let mut r: Box<dyn RecordFilter> = Box::new(outer);
    assert_eq!(r.type_name(), "Stackable");
    r.push_record(Value::from("c\n")).unwrap();
    assert_eq!(strings(&drain_records(&mut *r)), ["c!"]);
}

#[test]
fn an_empty_stack_passes_data_through() {
    let mut s = Stackable::default();
    s.get_one_start(b"raw").unwrap();
    assert_eq!(drain(&mut s), [Value::from(&b"raw"[..])]);
}
