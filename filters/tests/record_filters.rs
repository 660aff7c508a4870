//! POE::Filter::RecordBlock (§20.5), Grep and Map (§20.8).

mod common;

use common::*;
use poe_filters::{ConfigError, Filter, FilterError, Grep, Map, Mapped, RecordBlock, RecordFilter};
use poe_kernel::Value;

fn push_all(f: &mut dyn RecordFilter, items: impl IntoIterator<Item = Value>) {
    for item in items {
        f.push_record(item).unwrap();
    }
}

#[test]
fn record_block_returns_lists_of_exactly_block_size_items() {
    let mut rb = RecordBlock::new(4).unwrap();
    push_all(&mut rb, (1..=10).map(Value::from));
    assert_eq!(
        drain_records(&mut rb),
        [Value::list([1, 2, 3, 4]), Value::list([5, 6, 7, 8])]
    );
    assert_eq!(rb.pending_records(), [Value::from(9), Value::from(10)]);
}

#[test]
fn record_block_size_is_required_positive() {
    assert_eq!(
        RecordBlock::new(0).unwrap_err(),
        ConfigError::Zero("BlockSize")
    );
}

#[test]
fn record_block_put_without_check_put_flattens_everything() {
    let mut rb = RecordBlock::new(3).unwrap();
    let mut out = Vec::new();
    rb.put_record(Value::list([1, 2]), &mut out).unwrap();
    rb.put_record(Value::list([3]), &mut out).unwrap();
    assert_eq!(out, [Value::from(1), Value::from(2), Value::from(3)]);
}

#[test]
fn record_block_check_put_emits_whole_blocks_and_keeps_the_rest() {
    let mut rb = RecordBlock::new(3).unwrap().with_check_put(true);
    let mut out = Vec::new();
    rb.put_record(Value::list([1, 2]), &mut out).unwrap();
    assert!(out.is_empty());
    rb.put_record(Value::list([Value::from(3), Value::from("A")]), &mut out)
        .unwrap();
    assert_eq!(out, [Value::from(1), Value::from(2), Value::from(3)]);
    assert_eq!(rb.put_pending(), [Value::from("A")]);
    // Switching CheckPut off flushes the leftover first.
    rb.set_check_put(false);
    out.clear();
    rb.put_record(Value::list([4]), &mut out).unwrap();
    assert_eq!(out, [Value::from("A"), Value::from(4)]);
}

#[test]
fn record_block_accessors_ignore_invalid_sizes() {
    let mut rb = RecordBlock::new(2).unwrap();
    rb.set_block_size(0);
    assert_eq!(rb.block_size(), 2);
    rb.set_block_size(5);
    assert_eq!(rb.block_size(), 5);
    assert!(!rb.check_put());
}

#[test]
fn record_block_put_wants_a_list() {
    let mut rb = RecordBlock::new(2).unwrap();
    assert!(matches!(
        rb.put_record(Value::from(1), &mut Vec::new()),
        Err(FilterError::WrongRecord {
            expected: "list",
            ..
        })
    ));
}

#[test]
fn grep_get_returns_the_next_record_the_predicate_accepts() {
    let mut g = Grep::code(|v: &Value| v.as_i64().is_some_and(|i| i % 2 == 0));
    push_all(&mut g, (1..=6).map(Value::from));
    assert_eq!(
        drain_records(&mut g),
        [Value::from(2), Value::from(4), Value::from(6)]
    );
}

#[test]
fn grep_put_keeps_records_for_which_put_is_true() {
    let mut g = Grep::get_put(|_| true, |v: &Value| v.to_string() != "secret");
    let mut out = Vec::new();
    for v in ["a", "secret", "b"] {
        g.put_record(Value::from(v), &mut out).unwrap();
    }
    assert_eq!(strings(&out), ["a", "b"]);
}

#[test]
fn grep_modify_replaces_the_predicates() {
    let mut g = Grep::code(|_| false);
    g.modify_get(|_| true);
    push_all(&mut g, [Value::from(1)]);
    assert_eq!(drain_records(&mut g), [Value::from(1)]);
    let mut out = Vec::new();
    g.put_record(Value::from(1), &mut out).unwrap();
    assert!(out.is_empty());
    g.modify_code(|_| true);
    g.put_record(Value::from(1), &mut out).unwrap();
    assert_eq!(out.len(), 1);
}

#[test]
fn map_get_may_return_several_records() {
    let mut m = Map::code(|v: Value| Mapped::Many(vec![v.clone(), v]));
    push_all(&mut m, [Value::from("a"), Value::from("b")]);
    assert_eq!(strings(&drain_records(&mut m)), ["a", "a", "b", "b"]);
}

#[test]
fn map_get_returning_nothing_does_not_stop_the_read_loop() {
    // POE: get([a, x, b]) with x -> () gives [A] and leaves b pending (§24.7).
    let mut m = Map::code(|v: Value| match v.to_string().as_str() {
        "x" => Mapped::Nothing,
        s => Mapped::from(s.to_uppercase()),
    });
    push_all(&mut m, ["a", "x", "b"].map(Value::from));
    assert_eq!(strings(&drain_records(&mut m)), ["A", "B"]);
    assert!(m.pending_records().is_empty());
}

#[test]
fn map_put_maps_every_record_through_put() {
    let mut m = Map::get_put(|v: Value| v, |v: Value| format!("<{v}>"));
    let mut out = Vec::new();
    m.put_record(Value::from("a"), &mut out).unwrap();
    m.put_record(Value::from("b"), &mut out).unwrap();
    assert_eq!(strings(&out), ["<a>", "<b>"]);
}

#[test]
fn map_get_pending_returns_queued_inputs() {
    let mut m = Map::code(|v: Value| v);
    push_all(&mut m, [Value::from(1), Value::from(2)]);
    assert_eq!(m.pending_records(), [Value::from(1), Value::from(2)]);
    assert_eq!(m.next_record().unwrap(), Some(Value::from(1)));
    assert_eq!(m.pending_records(), [Value::from(2)]);
}

#[test]
fn record_filters_on_a_wheel_see_each_chunk_as_one_record() {
    let mut m = Map::code(|v: Value| v.to_string().to_uppercase());
    m.get_one_start(b"abc").unwrap();
    m.get_one_start(b"de").unwrap();
    assert_eq!(strings(&drain(&mut m)), ["ABC", "DE"]);
    let mut out = Vec::new();
    Filter::put(&mut m, Value::from("x"), &mut out).unwrap();
    assert_eq!(out, b"X");
    let mut g = Grep::code(|v: &Value| v.as_bytes() != Some(b"drop"));
    g.get_one_start(b"drop").unwrap();
    g.get_one_start(b"keep").unwrap();
    assert_eq!(strings(&drain(&mut g)), ["keep"]);
}

#[test]
fn clones_share_the_code_but_not_the_queue() {
    let mut m = Map::code(|v: Value| v);
    push_all(&mut m, [Value::from(1)]);
    let mut c = m.clone_records();
    assert!(c.pending_records().is_empty());
    c.push_record(Value::from(2)).unwrap();
    assert_eq!(drain_records(&mut *c), [Value::from(2)]);
}
