//! Tables OPTIMIZE compacted and Z-ordered and RESTORE brought back, with and without
//! deletion vectors, for the
//! interop check: `cargo xtask test` runs this with `DELTA_INTEROP_DIR` and
//! has delta-rs and Polars read every version. Without the variable the
//! tables go to a scratch directory.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    reason = "tests fail loudly"
)]

use std::collections::HashMap;
use std::path::Path;
use std::sync::Arc;

use arrow::array::{ArrayRef, Int64Array, RecordBatch, StringArray};
use delta_expr::parse;
use delta_optimize::{OptimizeOptions, RestoreTarget, optimize, restore};
use delta_txn::progress::NoProgress;
use delta_txn::{Table, WriteOptions};

fn rows(ids: std::ops::Range<i64>) -> RecordBatch {
    let cities: Vec<&str> = ids
        .clone()
        .map(|i| ["Oslo", "Rome", "Lima"][(i % 3) as usize])
        .collect();
    RecordBatch::try_from_iter([
        (
            "id",
            Arc::new(Int64Array::from_iter_values(ids.clone())) as ArrayRef,
        ),
        ("city", Arc::new(StringArray::from(cities)) as ArrayRef),
    ])
    .unwrap()
}

/// Twelve small appends, a delete, a compaction of one partition, then of
/// the whole table, a restore to before the compactions and back, a
/// Z-order.
async fn make(dir: &Path, name: &str, dvs: bool) {
    let path = dir.join(name);
    let _ = std::fs::remove_dir_all(&path);
    let table = Table::at(path.to_str().unwrap()).unwrap();
    for i in 0..12 {
        let b = rows(i * 100..i * 100 + 100);
        let options = WriteOptions {
            partition_by: Some(vec!["city".to_string()]),
            properties: match (i, dvs) {
                (0, true) => HashMap::from([(
                    "delta.enableDeletionVectors".to_string(),
                    "true".to_string(),
                )]),
                _ => HashMap::new(),
            },
            ..Default::default()
        };
        table
            .write(b.schema(), futures::stream::iter([Ok(b)]), options)
            .await
            .unwrap();
    }
    delta_merge::delete(&table, Some(&parse("id IN (3, 4, 5, 250)").unwrap()))
        .await
        .unwrap();
    let oslo = OptimizeOptions {
        predicate: Some(parse("city = 'Oslo'").unwrap()),
        ..OptimizeOptions::default()
    };
    assert!(optimize(&table, oslo, &NoProgress).await.unwrap().committed);
    let all = optimize(&table, OptimizeOptions::default(), &NoProgress)
        .await
        .unwrap();
    assert!(all.committed);
    assert_eq!(all.snapshot.files().len(), 3);
    // back to before the compactions (the version after the delete), then
    // forward again
    let deleted = all.version - 2;
    restore(&table, RestoreTarget::Version(deleted))
        .await
        .unwrap();
    restore(&table, RestoreTarget::Version(all.version))
        .await
        .unwrap();
    // Z-order by id within each partition
    let zorder = OptimizeOptions {
        zorder_by: vec!["id".to_string()],
        ..OptimizeOptions::default()
    };
    let latest = optimize(&table, zorder, &NoProgress).await.unwrap().version;
    let mut versions = Vec::new();
    for v in 0..=latest {
        versions.push(
            table
                .snapshot_at(v)
                .await
                .unwrap()
                .scan()
                .collect()
                .await
                .unwrap(),
        );
    }
    delta_test::write_interop_report(dir, name, &versions).unwrap();
}

#[tokio::test]
async fn write_optimize_interop_tables() {
    let dir = delta_test::interop_dir("optimize-interop").unwrap();
    make(&dir, "optimized", false).await;
    make(&dir, "optimized-deletion-vectors", true).await;
    if std::env::var_os("DELTA_INTEROP_DIR").is_none() {
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
