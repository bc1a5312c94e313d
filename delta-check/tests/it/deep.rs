//! Deep checks read every file: damage only reading finds, and the repair
//! of statistics.

use std::path::Path;
use std::sync::Arc;

use arrow::array::{ArrayRef, RecordBatch, StringArray};
use delta_check::{Fix, repair};

use crate::{
    a_data_file, append_commit, check, check_deeply, commit_file, dv_table, ids, metadata_of,
    row_ids, table,
};

/// Rewrites the `add` of version `version` for the Oslo file by `change`.
fn edit_oslo_add(dir: &Path, version: u64, change: impl Fn(&mut serde_json::Value)) {
    let text = std::fs::read_to_string(commit_file(dir, version)).unwrap();
    let lines: Vec<String> = text
        .lines()
        .map(|line| {
            let mut action: serde_json::Value = serde_json::from_str(line).unwrap();
            if action["add"]["partitionValues"]["city"] == "Oslo" {
                change(&mut action["add"]);
            }
            action.to_string()
        })
        .collect();
    std::fs::write(commit_file(dir, version), lines.join("\n") + "\n").unwrap();
}

/// The add's statistics as JSON, changed by `change`.
fn edit_stats(add: &mut serde_json::Value, change: impl Fn(&mut serde_json::Value)) {
    let mut stats: serde_json::Value =
        serde_json::from_str(add["stats"].as_str().unwrap()).unwrap();
    change(&mut stats);
    add["stats"] = stats.to_string().into();
}

#[tokio::test]
async fn wrong_statistics_are_found_and_computed_again() {
    let (dir, t) = table("deep-stats").await;
    // version 2's Oslo file holds id 2: a max below it, a null count, a row count
    edit_oslo_add(&dir, 2, |add| {
        edit_stats(add, |s| {
            s["maxValues"]["id"] = 1.into();
            s["nullCount"]["id"] = 5.into();
            s["numRecords"] = 7.into();
        });
    });
    // version 3's Oslo file has no statistics at all
    edit_oslo_add(&dir, 3, |add| {
        add.as_object_mut().unwrap().remove("stats");
    });
    // the shallow check sees the missing statistics only
    assert_eq!(ids(&check(&t).await), ["data.stats-missing"]);
    let report = check_deeply(&t).await;
    let mut found = ids(&report);
    found.sort_unstable();
    assert_eq!(
        found,
        [
            "data.num-records",
            "data.stats-missing",
            "data.stats-wrong",
            "data.stats-wrong"
        ],
        "{:?}",
        report.findings
    );
    let wrong: Vec<_> = report
        .findings
        .iter()
        .filter(|f| f.id == "data.stats-wrong")
        .collect();
    assert!(wrong.iter().all(|f| f.column.as_deref() == Some("id")));
    assert!(
        wrong[0].message.contains("maxValues says 1"),
        "{}",
        wrong[0]
    );
    let restats = report
        .fixes()
        .into_iter()
        .filter(|f| matches!(f, Fix::RecomputeStats { .. }))
        .count();
    assert_eq!(restats, 2);
    // one commit adds both files again with their statistics
    let outcome = repair(&t, &report).await.unwrap();
    assert_eq!(outcome.version, Some(4));
    let after = check_deeply(&t).await;
    assert!(after.findings.is_empty(), "{:?}", after.findings);
    assert_eq!(row_ids(&dir).await, [0, 1, 2, 3, 10, 11, 12, 13]);
    // the new statistics skip files: id = 2 reads one file
    let snapshot = t.snapshot().await.unwrap();
    let skip = snapshot
        .scan()
        .with_predicate(delta_expr::parse("id = 2").unwrap())
        .skip_report()
        .unwrap();
    assert_eq!(skip.read, 1, "{skip:?}");
    std::fs::remove_dir_all(&dir).unwrap();
}

#[tokio::test]
async fn a_file_of_another_schema_does_not_read() {
    let (dir, t) = table("deep-schema").await;
    let victim = a_data_file(&dir);
    let batch = RecordBatch::try_from_iter([(
        "id",
        Arc::new(StringArray::from(vec!["not a number"])) as ArrayRef,
    )])
    .unwrap();
    let file = std::fs::File::create(&victim).unwrap();
    let mut writer = parquet::arrow::ArrowWriter::try_new(file, batch.schema(), None).unwrap();
    writer.write(&batch).unwrap();
    writer.close().unwrap();
    let report = check_deeply(&t).await;
    let found = ids(&report);
    assert!(found.contains(&"data.unreadable"), "{:?}", report.findings);
    std::fs::remove_dir_all(&dir).unwrap();
}

#[tokio::test]
async fn rows_that_break_a_constraint() {
    let (dir, t) = table("deep-constraint").await;
    let mut metadata = metadata_of(&dir);
    metadata["metaData"]["configuration"]["delta.constraints.small"] = "id < 12".into();
    append_commit(
        &dir,
        4,
        &[
            metadata.to_string(),
            r#"{"protocol":{"minReaderVersion":1,"minWriterVersion":3}}"#.to_string(),
        ],
    );
    // the shallow check does not read rows
    assert!(check(&t).await.findings.is_empty());
    let report = check_deeply(&t).await;
    assert_eq!(ids(&report), ["data.constraint-violated"]);
    let message = &report.findings[0].message;
    assert!(
        message.contains("small") && message.contains("2 rows"),
        "{message}"
    );
    assert!(message.contains("id = 12"), "{message}");
    std::fs::remove_dir_all(&dir).unwrap();
}

#[tokio::test]
async fn a_damaged_deletion_vector_file_is_found() {
    let (dir, t, dv) = dv_table("deep-dv").await;
    assert!(check_deeply(&t).await.findings.is_empty());
    // one bit of the bitmap flipped: the CRC no longer matches
    let mut bytes = std::fs::read(&dv).unwrap();
    let middle = bytes.len() / 2;
    bytes[middle] ^= 1;
    std::fs::write(&dv, &bytes).unwrap();
    let report = check_deeply(&t).await;
    assert_eq!(
        ids(&report),
        ["data.dv-unreadable"],
        "{:?}",
        report.findings
    );
    assert!(
        report.findings[0].message.contains("checksum"),
        "{}",
        report.findings[0]
    );
    // the cardinality the log gives is checked too
    let version = 2;
    let text = std::fs::read_to_string(commit_file(&dir, version)).unwrap();
    std::fs::write(&dv, {
        bytes[middle] ^= 1;
        &bytes
    })
    .unwrap();
    let edited: Vec<String> = text
        .lines()
        .map(|line| {
            let mut action: serde_json::Value = serde_json::from_str(line).unwrap();
            if action["add"]["deletionVector"].is_object() {
                action["add"]["deletionVector"]["cardinality"] = 7.into();
            }
            action.to_string()
        })
        .collect();
    std::fs::write(commit_file(&dir, version), edited.join("\n") + "\n").unwrap();
    let report = check_deeply(&t).await;
    assert_eq!(
        ids(&report),
        ["data.dv-cardinality"],
        "{:?}",
        report.findings
    );
    std::fs::remove_dir_all(&dir).unwrap();
}
