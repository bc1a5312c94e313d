//! The checks find each kind of damage by its id, repair fixes what it can
//! (and the table then reads right), and sound tables check clean: every
//! table of the conformance corpus and tables we write.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    reason = "tests fail loudly"
)]

mod corpus;
mod crash;
mod damage;
mod deep;
mod fuzz;
mod repair;

use std::path::{Path, PathBuf};
use std::sync::Arc;

use arrow::array::{ArrayRef, AsArray, Int64Array, RecordBatch, StringArray};
use arrow::datatypes::Int64Type;
use delta_check::{CheckOptions, Report};
use delta_txn::progress::NoProgress;
use delta_txn::{Table, WriteOptions};

/// Rows of commit `i`: ids `i` and `i + 10`, in Oslo and Rome.
fn rows(i: i64) -> RecordBatch {
    RecordBatch::try_from_iter([
        (
            "id",
            Arc::new(Int64Array::from(vec![i, i + 10])) as ArrayRef,
        ),
        (
            "city",
            Arc::new(StringArray::from(vec!["Oslo", "Rome"])) as ArrayRef,
        ),
    ])
    .unwrap()
}

/// A table of four appends (versions 0 to 3) partitioned by city, with
/// these properties from the first.
async fn table_with(name: &str, properties: &[(&str, &str)]) -> (PathBuf, Table) {
    let dir = delta_test::scratch_dir(name).unwrap();
    let table = Table::at(dir.to_str().unwrap()).unwrap();
    for i in 0..4i64 {
        let b = rows(i);
        let options = WriteOptions {
            partition_by: Some(vec!["city".to_string()]),
            properties: if i == 0 {
                properties
                    .iter()
                    .map(|(k, v)| (k.to_string(), v.to_string()))
                    .collect()
            } else {
                Default::default()
            },
            ..Default::default()
        };
        table
            .write(b.schema(), futures::stream::iter([Ok(b)]), options)
            .await
            .unwrap();
    }
    (dir, table)
}

/// A table with deletion vectors on: 300 rows in one file (version 0), 2
/// in another (1), then a hundred scattered deletes (2) that need a vector
/// file (tiny vectors go inline in the log). The vector file's path too.
async fn dv_table(name: &str) -> (PathBuf, Table, PathBuf) {
    let dir = delta_test::scratch_dir(name).unwrap();
    let table = Table::at(dir.to_str().unwrap()).unwrap();
    for ids in [0..300i64, 300..302] {
        let b = RecordBatch::try_from_iter([(
            "id",
            Arc::new(Int64Array::from_iter_values(ids)) as ArrayRef,
        )])
        .unwrap();
        let options = WriteOptions {
            properties: [(
                "delta.enableDeletionVectors".to_string(),
                "true".to_string(),
            )]
            .into(),
            ..Default::default()
        };
        table
            .write(b.schema(), futures::stream::iter([Ok(b)]), options)
            .await
            .unwrap();
    }
    let even: Vec<String> = (0..200).step_by(2).map(|i: i64| i.to_string()).collect();
    let predicate = delta_expr::parse(&format!("id IN ({})", even.join(", "))).unwrap();
    delta_merge::delete(&table, Some(&predicate)).await.unwrap();
    let dv = std::fs::read_dir(&dir)
        .unwrap()
        .flatten()
        .map(|e| e.path())
        .find(|p| p.extension().is_some_and(|e| e == "bin"))
        .unwrap();
    (dir, table, dv)
}

async fn table(name: &str) -> (PathBuf, Table) {
    table_with(name, &[]).await
}

async fn check(table: &Table) -> Report {
    delta_check::check(table, &CheckOptions::default(), &NoProgress).await
}

async fn check_deeply(table: &Table) -> Report {
    let options = CheckOptions {
        deep: true,
        ..CheckOptions::default()
    };
    delta_check::check(table, &options, &NoProgress).await
}

fn ids(report: &Report) -> Vec<&'static str> {
    report.findings.iter().map(|f| f.id).collect()
}

/// The ids of the latest version, sorted, read by a fresh handle.
async fn row_ids(dir: &Path) -> Vec<i64> {
    let table = Table::open(dir.to_str().unwrap()).await.unwrap();
    let batches = table
        .snapshot()
        .await
        .unwrap()
        .scan()
        .collect()
        .await
        .unwrap();
    let mut ids: Vec<i64> = batches
        .iter()
        .flat_map(|b| {
            b.column_by_name("id")
                .unwrap()
                .as_primitive::<Int64Type>()
                .values()
                .to_vec()
        })
        .collect();
    ids.sort_unstable();
    ids
}

/// A data file of the Oslo partition.
fn a_data_file(dir: &Path) -> PathBuf {
    std::fs::read_dir(dir.join("city=Oslo"))
        .unwrap()
        .flatten()
        .map(|e| e.path())
        .find(|p| p.extension().is_some_and(|e| e == "parquet"))
        .unwrap()
}

/// A file of the log directory.
fn log_file(dir: &Path, name: &str) -> PathBuf {
    dir.join("_delta_log").join(name)
}

/// The commit file of a version.
fn commit_file(dir: &Path, version: u64) -> PathBuf {
    log_file(dir, &format!("{version:020}.json"))
}

/// Writes a commit of these JSON lines as the next version after 3.
fn append_commit(dir: &Path, version: u64, lines: &[String]) {
    std::fs::write(commit_file(dir, version), lines.join("\n") + "\n").unwrap();
}

/// The `metaData` action of version 0 as JSON, to change and commit again.
fn metadata_of(dir: &Path) -> serde_json::Value {
    let v0 = std::fs::read_to_string(commit_file(dir, 0)).unwrap();
    let line = v0.lines().find(|l| l.contains("\"metaData\"")).unwrap();
    serde_json::from_str(line).unwrap()
}
