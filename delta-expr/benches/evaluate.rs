//! Expression evaluation, the hot path of every filter, DELETE, UPDATE and
//! MERGE condition: a predicate bound once to a schema and evaluated over
//! 64 Ki rows, and the same with arithmetic and a string IN list.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    missing_docs,
    reason = "benchmark"
)]

use std::sync::Arc;

use arrow::array::{ArrayRef, Float64Array, Int64Array, RecordBatch, StringArray};
use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use delta_expr::{bind_predicate, parse};
use delta_schema::StructType;

const ROWS: usize = 64 * 1024;

fn batch() -> RecordBatch {
    let n = ROWS as i64;
    let columns: Vec<(&str, ArrayRef)> = vec![
        ("id", Arc::new(Int64Array::from_iter_values(0..n))),
        (
            "category",
            Arc::new(StringArray::from_iter_values(
                (0..n).map(|i| format!("cat_{:02}", i % 20)),
            )),
        ),
        (
            "value",
            Arc::new(Float64Array::from_iter_values(
                (0..n).map(|i| ((i * 7919) % 20_000) as f64 / 100.0 - 100.0),
            )),
        ),
    ];
    RecordBatch::try_from_iter(columns).unwrap()
}

fn evaluate(c: &mut Criterion) {
    let batch = batch();
    let schema = StructType::from_arrow(&batch.schema()).unwrap();
    let mut group = c.benchmark_group("evaluate");
    group.throughput(Throughput::Elements(ROWS as u64));
    for (name, text) in [
        ("range", "id >= 1000 AND id < 60000"),
        (
            "arithmetic_and_in",
            "value * 2 > 10 AND category IN ('cat_03', 'cat_11') AND id % 3 = 0",
        ),
    ] {
        let bound = bind_predicate(&parse(text).unwrap(), &schema).unwrap();
        group.bench_function(name, |b| {
            b.iter(|| bound.evaluate_predicate(&batch).unwrap());
        });
    }
    group.bench_function("parse_and_bind", |b| {
        b.iter(|| {
            let e = parse("value * 2 > 10 AND category IN ('cat_03', 'cat_11')").unwrap();
            bind_predicate(&e, &schema).unwrap()
        });
    });
    group.finish();
}

criterion_group!(benches, evaluate);
criterion_main!(benches);
