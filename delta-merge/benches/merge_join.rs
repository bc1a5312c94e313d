//! MERGE's hot path, the hash join of source and target rows and the
//! rewrite of the files it touches: an upsert of 20 Ki source rows (half
//! matching) into an in-memory table of 200 Ki rows in 4 files, copy-on-write
//! and with deletion vectors. The table is rebuilt before each run, outside
//! the measurement.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    missing_docs,
    reason = "benchmark"
)]

use std::sync::Arc;

use arrow::array::{ArrayRef, Float64Array, Int64Array, RecordBatch};
use criterion::{BatchSize, Criterion, Throughput, criterion_group, criterion_main};
use delta_expr::parse;
use delta_merge::{Clause, Merge, merge};
use delta_txn::{Table, WriteOptions};

const TARGET_ROWS: i64 = 200 * 1024;
const SOURCE_ROWS: i64 = 20 * 1024;

fn rows(ids: impl Iterator<Item = i64> + Clone) -> RecordBatch {
    let columns: Vec<(&str, ArrayRef)> = vec![
        ("id", Arc::new(Int64Array::from_iter_values(ids.clone()))),
        (
            "value",
            Arc::new(Float64Array::from_iter_values(ids.map(|i| i as f64 / 3.0))),
        ),
    ];
    RecordBatch::try_from_iter(columns).unwrap()
}

/// A fresh in-memory target of 4 files.
async fn target(deletion_vectors: bool) -> Table {
    let table = Table::at("memory:///merge-bench").unwrap();
    let mut options = WriteOptions::default();
    if deletion_vectors {
        options
            .properties
            .insert("delta.enableDeletionVectors".into(), "true".into());
    }
    let quarter = TARGET_ROWS / 4;
    for part in 0..4 {
        let batch = rows(part * quarter..(part + 1) * quarter);
        let stream = futures::stream::iter(vec![Ok(batch.clone())]);
        table
            .write(batch.schema(), stream, options.clone())
            .await
            .unwrap();
    }
    table
}

fn merge_join(c: &mut Criterion) {
    let rt = tokio::runtime::Runtime::new().unwrap();
    // half the source matches target rows spread over every file, half is new
    let source = rows(
        (0..SOURCE_ROWS / 2)
            .map(|i| i * (TARGET_ROWS / (SOURCE_ROWS / 2)))
            .chain(TARGET_ROWS..TARGET_ROWS + SOURCE_ROWS / 2),
    );
    let mut group = c.benchmark_group("merge");
    group.throughput(Throughput::Elements(SOURCE_ROWS as u64));
    group.sample_size(10);
    for (name, deletion_vectors) in [
        ("upsert_copy_on_write", false),
        ("upsert_deletion_vectors", true),
    ] {
        group.bench_function(name, |b| {
            b.iter_batched(
                || rt.block_on(target(deletion_vectors)),
                |table| {
                    let statement = Merge::new(
                        source.schema(),
                        vec![source.clone()],
                        parse("target.id = source.id").unwrap(),
                    )
                    .when(Clause::MatchedUpdateAll { condition: None })
                    .when(Clause::NotMatchedInsertAll { condition: None });
                    let outcome = rt.block_on(merge(&table, statement)).unwrap();
                    assert_eq!(
                        outcome.metrics["numTargetRowsInserted"],
                        (SOURCE_ROWS / 2) as u64
                    );
                },
                BatchSize::PerIteration,
            );
        });
    }
    group.finish();
}

criterion_group!(benches, merge_join);
criterion_main!(benches);
