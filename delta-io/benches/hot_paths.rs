//! delta-io's hot paths: the statistics of a file's rows as the writer
//! computes them (min, max, null count of eight columns over 64 Ki rows),
//! and deletion vectors (a 1 Mi-row file with every tenth row deleted)
//! serialized into the protocol's format and parsed back.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    missing_docs,
    reason = "benchmark"
)]

use std::sync::Arc;

use arrow::array::{
    ArrayRef, Date32Array, Float64Array, Int32Array, Int64Array, RecordBatch, StringArray,
    TimestampMicrosecondArray,
};
use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use delta_io::ColumnMapping;
use delta_io::dv::parse_bitmap;
use delta_io::dv_write::serialize_bitmap;
use delta_io::writer::{StatsCollector, StatsColumns};
use delta_schema::StructType;
use roaring::RoaringTreemap;

const ROWS: usize = 64 * 1024;

/// Rows like the bench table's: id, key, category, value, qty, ts, day, payload.
fn batch() -> RecordBatch {
    let n = ROWS as i64;
    let columns: Vec<(&str, ArrayRef)> = vec![
        ("id", Arc::new(Int64Array::from_iter_values(0..n))),
        (
            "key",
            Arc::new(StringArray::from_iter_values((0..n).map(|i| {
                format!("{:016x}", (i as u64).wrapping_mul(0x9e37_79b9_7f4a_7c15))
            }))),
        ),
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
        (
            "qty",
            Arc::new(Int32Array::from_iter_values(
                (0..n).map(|i| (i % 1000) as i32),
            )),
        ),
        (
            "ts",
            Arc::new(
                TimestampMicrosecondArray::from_iter_values(
                    (0..n).map(|i| 1_704_067_200_000_000 + i * 1_000_000),
                )
                .with_timezone("UTC"),
            ),
        ),
        (
            "day",
            Arc::new(Date32Array::from_iter_values(
                (0..n).map(|i| 19_723 + (i / 86_400) as i32),
            )),
        ),
        (
            "payload",
            Arc::new(StringArray::from_iter_values(
                (0..n).map(|i| format!("{i:040}")),
            )),
        ),
    ];
    RecordBatch::try_from_iter(columns).unwrap()
}

fn stats(c: &mut Criterion) {
    let batch = batch();
    let schema = StructType::from_arrow(&batch.schema()).unwrap();
    let mut group = c.benchmark_group("stats");
    group.throughput(Throughput::Elements(ROWS as u64));
    group.bench_function("eight_columns_64k_rows", |b| {
        b.iter(|| {
            let mut collector = StatsCollector::new(
                &schema.fields,
                ColumnMapping::None,
                &StatsColumns::AllLeaves,
            );
            collector.update(&batch).unwrap();
            collector.to_json()
        });
    });
    group.finish();
}

fn deletion_vectors(c: &mut Criterion) {
    let deleted: RoaringTreemap = (0..1_048_576u64).step_by(10).collect();
    let bytes = serialize_bitmap(&deleted);
    assert_eq!(parse_bitmap(&bytes).unwrap(), deleted);
    let mut group = c.benchmark_group("deletion_vector");
    group.throughput(Throughput::Elements(deleted.len()));
    group.bench_function("encode_1m_rows_every_tenth", |b| {
        b.iter(|| serialize_bitmap(&deleted));
    });
    group.bench_function("decode_1m_rows_every_tenth", |b| {
        b.iter(|| parse_bitmap(&bytes).unwrap());
    });
    group.finish();
}

criterion_group!(benches, stats, deletion_vectors);
criterion_main!(benches);
