//! Tables for the interop check: every kind of table our writer makes
//! (partitioned on every type, nested, evolved, overwritten, checkpointed,
//! column-mapped, timestamp_ntz), each with a report of what our reader sees
//! at every version (`<table>.ours.json`: latest_version, and per version
//! num_rows and the canonical hash).
//!
//! `cargo xtask test` runs this with `DELTA_INTEROP_DIR` set and then has
//! delta-rs and Polars (xtask/peer/check_table.py) read every table and
//! compare. Without the variable the tables go to a scratch directory and
//! only our own round trip is checked.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    reason = "tests fail loudly"
)]

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use arrow::array::{
    ArrayRef, BooleanArray, Date32Array, Decimal128Array, Float64Array, Int32Array, Int64Array,
    ListArray, MapArray, RecordBatch, StringArray, StructArray, TimestampMicrosecondArray,
};
use arrow::datatypes::{DataType, Field, Int32Type};
use delta_txn::{SaveMode, Table, WriteOptions};

fn out_dir() -> PathBuf {
    delta_test::interop_dir("interop").unwrap()
}

async fn write(table: &Table, batch: RecordBatch, options: WriteOptions) {
    table
        .write(batch.schema(), futures::stream::iter([Ok(batch)]), options)
        .await
        .unwrap();
}

/// Writes `<dir>/<name>.ours.json`: what our reader sees at every version.
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

fn fresh(dir: &Path, name: &str) -> Table {
    let path = dir.join(name);
    let _ = std::fs::remove_dir_all(&path);
    Table::at(path.to_str().unwrap()).unwrap()
}

fn partition_types_batch(offset: i32) -> RecordBatch {
    let n = 4;
    let ids: Vec<i64> = (0..n).map(|i| i64::from(offset) + i).collect();
    RecordBatch::try_from_iter([
        ("id", Arc::new(Int64Array::from(ids)) as ArrayRef),
        (
            "p_int",
            Arc::new(Int32Array::from(vec![Some(1), Some(-2), None, Some(1)])) as ArrayRef,
        ),
        (
            "p_string",
            Arc::new(StringArray::from(vec![
                Some("a b"),
                Some("x=y/z%"),
                None,
                Some("ünï"),
            ])) as ArrayRef,
        ),
        (
            "p_date",
            Arc::new(Date32Array::from(vec![
                Some(19000),
                None,
                Some(-1),
                Some(19000),
            ])) as ArrayRef,
        ),
        (
            "p_ts",
            Arc::new(
                TimestampMicrosecondArray::from(vec![
                    Some(1_600_000_000_123_456),
                    None,
                    Some(0),
                    Some(-1),
                ])
                .with_timezone("UTC"),
            ) as ArrayRef,
        ),
        (
            "p_bool",
            Arc::new(BooleanArray::from(vec![
                Some(true),
                Some(false),
                None,
                Some(true),
            ])) as ArrayRef,
        ),
        (
            "p_dec",
            Arc::new(
                Decimal128Array::from(vec![Some(1234), Some(5), None, Some(0)])
                    .with_precision_and_scale(10, 2)
                    .unwrap(),
            ) as ArrayRef,
        ),
        (
            "value",
            Arc::new(Float64Array::from(vec![1.5, -0.0, f64::NAN, 3.0])) as ArrayRef,
        ),
    ])
    .unwrap()
}

fn nested_batch() -> RecordBatch {
    let structs = StructArray::from(vec![
        (
            Arc::new(Field::new("a", DataType::Int32, true)),
            Arc::new(Int32Array::from(vec![Some(1), None, Some(3)])) as ArrayRef,
        ),
        (
            Arc::new(Field::new("b", DataType::Utf8, true)),
            Arc::new(StringArray::from(vec![Some("x"), Some("y"), None])) as ArrayRef,
        ),
    ]);
    let lists = ListArray::from_iter_primitive::<Int32Type, _, _>(vec![
        Some(vec![Some(1), Some(2)]),
        None,
        Some(vec![None, Some(4)]),
    ]);
    let values = Int32Array::from(vec![Some(10), None, Some(30)]);
    let maps =
        MapArray::new_from_strings(["k1", "k2", "k3"].into_iter(), &values, &[0, 2, 2, 3]).unwrap();
    RecordBatch::try_from_iter([
        ("id", Arc::new(Int64Array::from(vec![1, 2, 3])) as ArrayRef),
        ("s", Arc::new(structs) as ArrayRef),
        ("l", Arc::new(lists) as ArrayRef),
        ("m", Arc::new(maps) as ArrayRef),
    ])
    .unwrap()
}

fn simple(ids: std::ops::Range<i64>) -> RecordBatch {
    let names: Vec<String> = ids.clone().map(|i| format!("n{i}")).collect();
    RecordBatch::try_from_iter([
        (
            "id",
            Arc::new(Int64Array::from(ids.collect::<Vec<_>>())) as ArrayRef,
        ),
        ("name", Arc::new(StringArray::from(names)) as ArrayRef),
    ])
    .unwrap()
}

#[tokio::test]
async fn write_interop_tables() {
    let dir = out_dir();
    let partitioned = |cols: &[&str]| WriteOptions {
        partition_by: Some(cols.iter().map(|c| c.to_string()).collect()),
        ..Default::default()
    };

    // partitioned on every primitive type, nulls included (two versions)
    let t = fresh(&dir, "partitioned-types");
    let parts = ["p_int", "p_string", "p_date", "p_ts", "p_bool", "p_dec"];
    write(&t, partition_types_batch(0), partitioned(&parts)).await;
    write(&t, partition_types_batch(100), WriteOptions::default()).await;
    report(&dir, "partitioned-types").await;

    // nested struct, list and map columns
    let t = fresh(&dir, "nested");
    write(&t, nested_batch(), WriteOptions::default()).await;
    report(&dir, "nested").await;

    // schema evolution by merge
    let t = fresh(&dir, "evolved");
    write(&t, simple(0..3), WriteOptions::default()).await;
    let wider = RecordBatch::try_from_iter([
        ("id", Arc::new(Int64Array::from(vec![7])) as ArrayRef),
        ("extra", Arc::new(Float64Array::from(vec![0.5])) as ArrayRef),
    ])
    .unwrap();
    write(
        &t,
        wider,
        WriteOptions {
            merge_schema: true,
            ..Default::default()
        },
    )
    .await;
    report(&dir, "evolved").await;

    // overwrite, then overwrite with a new schema and partitioning
    let t = fresh(&dir, "overwritten");
    write(&t, simple(0..5), WriteOptions::default()).await;
    let overwrite = WriteOptions {
        mode: SaveMode::Overwrite,
        ..Default::default()
    };
    write(&t, simple(10..12), overwrite).await;
    write(
        &t,
        partition_types_batch(0),
        WriteOptions {
            mode: SaveMode::Overwrite,
            overwrite_schema: true,
            partition_by: Some(vec!["p_int".into()]),
            ..Default::default()
        },
    )
    .await;
    report(&dir, "overwritten").await;

    // checkpoints every 5 commits; read through them
    let t = fresh(&dir, "checkpointed");
    let props: HashMap<String, String> =
        [("delta.checkpointInterval".to_string(), "5".to_string())].into();
    write(
        &t,
        simple(0..2),
        WriteOptions {
            properties: props,
            ..Default::default()
        },
    )
    .await;
    for i in 1..12 {
        write(&t, simple(i * 10..i * 10 + 2), WriteOptions::default()).await;
    }
    assert!(
        dir.join("checkpointed/_delta_log/00000000000000000010.checkpoint.parquet")
            .exists()
    );
    report(&dir, "checkpointed").await;

    // a checkpoint with typed statistics and partition values only
    // (writeStatsAsJson=false, writeStatsAsStruct=true), partitioned
    let t = fresh(&dir, "struct-stats");
    let props: HashMap<String, String> = [
        ("delta.checkpointInterval", "2"),
        ("delta.checkpoint.writeStatsAsJson", "false"),
        ("delta.checkpoint.writeStatsAsStruct", "true"),
    ]
    .map(|(k, v)| (k.to_string(), v.to_string()))
    .into();
    write(
        &t,
        partition_types_batch(0),
        WriteOptions {
            partition_by: Some(vec!["p_int".into(), "p_date".into()]),
            properties: props,
            ..Default::default()
        },
    )
    .await;
    for i in 1..4 {
        write(&t, partition_types_batch(i), WriteOptions::default()).await;
    }
    assert!(
        dir.join("struct-stats/_delta_log/00000000000000000002.checkpoint.parquet")
            .exists()
    );
    report(&dir, "struct-stats").await;

    // column mapping by name, partitioned
    let t = fresh(&dir, "column-mapped");
    write(
        &t,
        simple(0..4),
        WriteOptions {
            partition_by: Some(vec!["name".into()]),
            properties: [("delta.columnMapping.mode".to_string(), "name".to_string())].into(),
            ..Default::default()
        },
    )
    .await;
    report(&dir, "column-mapped").await;

    // negative decimal partition values (delta-rs 1.6.6 cannot parse them:
    // "-1.25" becomes "-1.-25"; Polars reads them, so xtask checks with Polars)
    let t = fresh(&dir, "negative-decimal-partition");
    let negative = RecordBatch::try_from_iter([
        ("id", Arc::new(Int64Array::from(vec![1, 2, 3])) as ArrayRef),
        (
            "d",
            Arc::new(
                Decimal128Array::from(vec![Some(-125), Some(-5), Some(7)])
                    .with_precision_and_scale(10, 2)
                    .unwrap(),
            ) as ArrayRef,
        ),
    ])
    .unwrap();
    write(&t, negative, partitioned(&["d"])).await;
    report(&dir, "negative-decimal-partition").await;

    // type widening: int written, column widened to long, long written
    let t = fresh(&dir, "widened");
    let ints = RecordBatch::try_from_iter([
        ("id", Arc::new(Int32Array::from(vec![1, 2])) as ArrayRef),
        (
            "name",
            Arc::new(StringArray::from(vec!["a", "b"])) as ArrayRef,
        ),
    ])
    .unwrap();
    write(
        &t,
        ints,
        WriteOptions {
            properties: [("delta.enableTypeWidening".to_string(), "true".to_string())].into(),
            ..Default::default()
        },
    )
    .await;
    t.widen_column("id", delta_schema::PrimitiveType::Long)
        .await
        .unwrap();
    let longs = RecordBatch::try_from_iter([(
        "id",
        Arc::new(Int64Array::from(vec![5_000_000_000i64])) as ArrayRef,
    )])
    .unwrap();
    write(&t, longs, WriteOptions::default()).await;
    report(&dir, "widened").await;

    // column mapping turned on for an existing table, then a column renamed
    let t = fresh(&dir, "mapping-enabled");
    write(&t, simple(0..3), WriteOptions::default()).await;
    t.set_properties([("delta.columnMapping.mode".to_string(), "name".to_string())].into())
        .await
        .unwrap();
    t.rename_column("name", "label").await.unwrap();
    report(&dir, "mapping-enabled").await;

    // timestamp_ntz: a reader/writer table feature (protocol 3/7)
    let t = fresh(&dir, "timestamp-ntz");
    let ntz = RecordBatch::try_from_iter([
        ("id", Arc::new(Int64Array::from(vec![1, 2])) as ArrayRef),
        (
            "t",
            Arc::new(TimestampMicrosecondArray::from(vec![
                Some(1_700_000_000_000_001),
                None,
            ])) as ArrayRef,
        ),
    ])
    .unwrap();
    write(&t, ntz, WriteOptions::default()).await;
    report(&dir, "timestamp-ntz").await;
}
