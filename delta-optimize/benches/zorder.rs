//! The Z-order key, the hot path of `OPTIMIZE ... ZORDER BY`: the order of
//! 256 Ki rows over two and over four columns (ranks, 32-bit scaling, bit
//! interleaving, sort).
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    missing_docs,
    reason = "benchmark"
)]

use std::sync::Arc;

use arrow::array::{ArrayRef, Float64Array, Int64Array, RecordBatch, StringArray};
use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use delta_optimize::zorder::zorder;

const ROWS: usize = 256 * 1024;

fn batch() -> RecordBatch {
    let n = ROWS as i64;
    let columns: Vec<(&str, ArrayRef)> = vec![
        (
            "id",
            Arc::new(Int64Array::from_iter_values(
                (0..n).map(|i| i.wrapping_mul(2_654_435_761) % 1_000_003),
            )),
        ),
        (
            "value",
            Arc::new(Float64Array::from_iter_values(
                (0..n).map(|i| ((i * 7919) % 20_000) as f64 / 100.0),
            )),
        ),
        (
            "category",
            Arc::new(StringArray::from_iter_values(
                (0..n).map(|i| format!("cat_{:02}", i % 20)),
            )),
        ),
        (
            "qty",
            Arc::new(Int64Array::from_iter_values((0..n).map(|i| i % 1000))),
        ),
    ];
    RecordBatch::try_from_iter(columns).unwrap()
}

fn zorder_key(c: &mut Criterion) {
    let batch = batch();
    let mut group = c.benchmark_group("zorder");
    group.throughput(Throughput::Elements(ROWS as u64));
    group.sample_size(10);
    for (name, columns) in [
        ("two_columns", vec![0, 1]),
        ("four_columns", vec![0, 1, 2, 3]),
    ] {
        group.bench_function(name, |b| {
            b.iter(|| zorder(&batch, &columns).unwrap());
        });
    }
    group.finish();
}

criterion_group!(benches, zorder_key);
criterion_main!(benches);
