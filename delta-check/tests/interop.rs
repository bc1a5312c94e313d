//! A table damaged four ways (a lost data file, a cut checkpoint, a
//! garbled `_last_checkpoint`, a wrong `.crc`) and repaired, for the interop
//! check: `cargo xtask test` runs this with `DELTA_INTEROP_DIR` and has
//! delta-rs and Polars read every version that still has all its files.
//! Without the variable the table goes to a scratch directory.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    reason = "tests fail loudly"
)]

use std::sync::Arc;

use arrow::array::{ArrayRef, Int64Array, RecordBatch, StringArray};
use delta_check::{CheckOptions, check, repair};
use delta_txn::progress::NoProgress;
use delta_txn::{Table, WriteOptions};

fn rows(i: i64) -> RecordBatch {
    let ids: Vec<i64> = (i * 10..i * 10 + 10).collect();
    let cities: Vec<&str> = ids
        .iter()
        .map(|i| ["Oslo", "Rome"][(i % 2) as usize])
        .collect();
    RecordBatch::try_from_iter([
        ("id", Arc::new(Int64Array::from(ids)) as ArrayRef),
        ("city", Arc::new(StringArray::from(cities)) as ArrayRef),
    ])
    .unwrap()
}

#[tokio::test]
async fn write_repaired_interop_table() {
    let dir = delta_test::interop_dir("check-interop").unwrap();
    let path = dir.join("repaired");
    let _ = std::fs::remove_dir_all(&path);
    let table = Table::at(path.to_str().unwrap()).unwrap();
    for i in 0..6 {
        let b = rows(i);
        let options = WriteOptions {
            partition_by: Some(vec!["city".to_string()]),
            ..Default::default()
        };
        table
            .write(b.schema(), futures::stream::iter([Ok(b)]), options)
            .await
            .unwrap();
        if i == 3 {
            table
                .checkpoint(&table.snapshot().await.unwrap())
                .await
                .unwrap();
        }
    }
    let log = path.join("_delta_log");
    // a data file of the last append lost
    let v5 = std::fs::read_to_string(log.join("00000000000000000005.json")).unwrap();
    let add: serde_json::Value = v5
        .lines()
        .map(|l| serde_json::from_str::<serde_json::Value>(l).unwrap())
        .find(|a| a.get("add").is_some())
        .unwrap();
    let lost = add["add"]["path"].as_str().unwrap();
    std::fs::remove_file(path.join(lost)).unwrap();
    // the checkpoint cut short, the pointer garbled, a checksum wrong
    let cp = log.join("00000000000000000003.checkpoint.parquet");
    let bytes = std::fs::read(&cp).unwrap();
    std::fs::write(&cp, &bytes[..bytes.len() / 3]).unwrap();
    std::fs::write(log.join("_last_checkpoint"), "{\"vers").unwrap();
    std::fs::write(log.join("00000000000000000002.crc"), "{\"numFiles\":1}").unwrap();

    let report = check(&table, &CheckOptions::default(), &NoProgress).await;
    let mut found: Vec<&str> = report.findings.iter().map(|f| f.id).collect();
    found.sort_unstable();
    assert_eq!(
        found,
        [
            "checkpoint.last-unreadable",
            "checkpoint.unreadable",
            "crc.differs",
            "data.file-missing"
        ]
    );
    let outcome = repair(&table, &report).await.unwrap();
    assert_eq!(outcome.version, Some(6));
    let after = check(&table, &CheckOptions::default(), &NoProgress).await;
    assert!(after.findings.is_empty(), "{:?}", after.findings);

    // every version but 5 (whose file is lost) reads; 6 lacks the lost rows
    let mut versions = Vec::new();
    for v in [0, 1, 2, 3, 4, 6] {
        let snapshot = table.snapshot_at(v).await.unwrap();
        versions.push((v, snapshot.scan().collect().await.unwrap()));
    }
    let latest: usize = versions[5].1.iter().map(RecordBatch::num_rows).sum();
    assert_eq!(latest, 55);
    let listed: Vec<(u64, &[RecordBatch])> =
        versions.iter().map(|(v, b)| (*v, b.as_slice())).collect();
    delta_test::write_interop_report_of(&dir, "repaired", &listed).unwrap();
    if std::env::var_os("DELTA_INTEROP_DIR").is_none() {
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
