//! Tables DELETE, UPDATE and MERGE (with schema merging) change, with and
//! without deletion vectors, for the interop check: `cargo xtask test` runs
//! this with `DELTA_INTEROP_DIR`
//! and has delta-rs and Polars read every version (see delta-txn's interop
//! test for the report format). Without the variable the tables go to a
//! scratch directory.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    reason = "tests fail loudly"
)]

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use arrow::array::{ArrayRef, Int64Array, RecordBatch, StringArray};
use delta_expr::parse;
use delta_txn::{Table, WriteOptions};

fn out_dir() -> PathBuf {
    delta_test::interop_dir("merge-interop").unwrap()
}

/// `<dir>/<name>.ours.json`: what our reader sees at every version.
async fn report(dir: &Path, name: &str) {
    let table = Table::open(dir.join(name).to_str().unwrap()).await.unwrap();
    let latest = table.snapshot().await.unwrap().version();
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
        (
            "score",
            Arc::new(Int64Array::from_iter_values(ids.map(|i| i * 10))),
        ),
    ])
    .unwrap()
}

async fn make(dir: &Path, name: &str, partitioned: bool, dvs: bool) {
    let path = dir.join(name);
    let _ = std::fs::remove_dir_all(&path);
    let table = Table::at(path.to_str().unwrap()).unwrap();
    for i in 0..3 {
        let b = rows(i * 1000..i * 1000 + 1000);
        let options = WriteOptions {
            partition_by: partitioned.then(|| vec!["city".to_string()]),
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
    // a few rows (inline vectors), many rows (a vector file), the same files
    // again (vectors merged), an update, a partition, everything in a range
    delta_merge::delete(&table, Some(&parse("id % 100 = 7").unwrap()))
        .await
        .unwrap();
    delta_merge::delete(&table, Some(&parse("id % 3 = 1 AND id < 1500").unwrap()))
        .await
        .unwrap();
    delta_merge::delete(&table, Some(&parse("id % 100 = 8").unwrap()))
        .await
        .unwrap();
    let set = vec![("score".to_string(), parse("score + 1").unwrap())];
    delta_merge::update(&table, Some(&parse("id % 10 = 5").unwrap()), &set)
        .await
        .unwrap();
    delta_merge::delete(&table, Some(&parse("city = 'Lima'").unwrap()))
        .await
        .unwrap();
    delta_merge::delete(&table, Some(&parse("id >= 2000").unwrap()))
        .await
        .unwrap();
    // an upsert that adds a column: ids 1990..2010, some there, some not
    let upsert = rows(1990..2010);
    let notes: Vec<String> = (1990..2010).map(|i| format!("n{i}")).collect();
    let mut columns = upsert.columns().to_vec();
    columns.push(Arc::new(StringArray::from(notes)) as ArrayRef);
    let mut fields = upsert.schema().fields().to_vec();
    fields.push(Arc::new(arrow::datatypes::Field::new(
        "note",
        arrow::datatypes::DataType::Utf8,
        true,
    )));
    let source =
        RecordBatch::try_new(Arc::new(arrow::datatypes::Schema::new(fields)), columns).unwrap();
    let statement = delta_merge::Merge::new(
        source.schema(),
        vec![source],
        parse("target.id = source.id").unwrap(),
    )
    .with_merge_schema(true)
    .when(delta_merge::Clause::MatchedUpdateAll { condition: None })
    .when(delta_merge::Clause::NotMatchedInsertAll { condition: None });
    delta_merge::merge(&table, statement).await.unwrap();
    report(dir, name).await;
}

#[tokio::test]
async fn write_dml_interop_tables() {
    let dir = out_dir();
    make(&dir, "dml-deletion-vectors", false, true).await;
    make(&dir, "dml-deletion-vectors-partitioned", true, true).await;
    make(&dir, "dml-copy-on-write", true, false).await;
    // our own reader sees what the statements did
    let table = Table::open(dir.join("dml-deletion-vectors").to_str().unwrap())
        .await
        .unwrap();
    let snapshot = table.snapshot().await.unwrap();
    assert!(
        snapshot
            .files()
            .iter()
            .any(|f| f.deletion_vector().is_some())
    );
    let batches = snapshot.scan().collect().await.unwrap();
    let count: usize = batches.iter().map(RecordBatch::num_rows).sum();
    // the rows the deletes left, and the upserted ones
    let expected = (0..2010i64)
        .filter(|i| {
            *i >= 1990 || (i % 100 != 7 && i % 100 != 8 && !(i % 3 == 1 && *i < 1500) && i % 3 != 2)
        })
        .count();
    assert_eq!(count, expected);
    assert!(snapshot.schema().field("note").is_some());
    if std::env::var_os("DELTA_INTEROP_DIR").is_none() {
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
