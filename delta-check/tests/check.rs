//! The checks find each kind of damage, by id, and find nothing in sound
//! tables: every table of the conformance corpus and tables we write.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    reason = "tests fail loudly"
)]

use std::sync::Arc;

use arrow::array::{ArrayRef, Int64Array, RecordBatch, StringArray};
use delta_check::{CheckOptions, Finding, Report, Severity};
use delta_txn::progress::NoProgress;
use delta_txn::{Table, WriteOptions};

async fn table(name: &str) -> (std::path::PathBuf, Table) {
    let dir = delta_test::scratch_dir(name).unwrap();
    let table = Table::at(dir.to_str().unwrap()).unwrap();
    for i in 0..4i64 {
        let b = RecordBatch::try_from_iter([
            (
                "id",
                Arc::new(Int64Array::from(vec![i, i + 10])) as ArrayRef,
            ),
            (
                "city",
                Arc::new(StringArray::from(vec!["Oslo", "Rome"])) as ArrayRef,
            ),
        ])
        .unwrap();
        let options = WriteOptions {
            partition_by: Some(vec!["city".to_string()]),
            ..Default::default()
        };
        table
            .write(b.schema(), futures::stream::iter([Ok(b)]), options)
            .await
            .unwrap();
    }
    (dir, table)
}

/// Corpus tables that read, but whose log really is inconsistent, and the
/// errors the check finds in them.
const KNOWN_DEFECTS: &[(&str, &[&str])] = &[
    // delta-rs's test table: commit 1's inCommitTimestamp was edited back
    // by 10^11 ms (its .crc still has the original)
    (
        "deltars-cdc_ict_table",
        &["log.ict-not-increasing", "crc.differs"],
    ),
    // delta-kernel-rs's fixture for reading checksums: its .crc claims 10
    // files, txns and domains its only commit does not have (testdata README)
    ("kernel-crc-full", &["crc.differs"]),
];

async fn check(table: &Table) -> Report {
    delta_check::check(table, &CheckOptions::default(), &NoProgress).await
}

fn ids(report: &Report) -> Vec<&'static str> {
    report.findings.iter().map(|f| f.id).collect()
}

fn a_data_file(dir: &std::path::Path) -> std::path::PathBuf {
    std::fs::read_dir(dir.join("city=Oslo"))
        .unwrap()
        .flatten()
        .map(|e| e.path())
        .find(|p| p.extension().is_some_and(|e| e == "parquet"))
        .unwrap()
}

#[tokio::test]
async fn the_corpus_and_our_tables_check_clean() {
    let corpus = delta_test::testdata_dir().unwrap();
    let mut checked = 0;
    for entry in std::fs::read_dir(&corpus).unwrap().flatten() {
        let path = entry.path();
        if !path.join("_delta_log").is_dir() {
            continue;
        }
        // tables the corpus says no reader may read must not check clean
        let expected = corpus.join(format!(
            "{}.expected.json",
            path.file_name().unwrap().to_string_lossy()
        ));
        let expected: serde_json::Value =
            serde_json::from_str(&std::fs::read_to_string(&expected).unwrap()).unwrap();
        let latest_readable = expected["versions"]
            .as_array()
            .is_some_and(|v| v.iter().any(|e| e["version"] == expected["latest_version"]));
        let broken = !expected["expected_error"].is_null()
            || !expected["expected_error_override"].is_null()
            || !latest_readable;
        let table = Table::open(path.to_str().unwrap()).await.unwrap();
        let report = check(&table).await;
        let errors: Vec<&Finding> = report
            .findings
            .iter()
            .filter(|f| f.severity == Severity::Error)
            .collect();
        let name = path.file_name().unwrap().to_string_lossy().to_string();
        if let Some((_, ids)) = KNOWN_DEFECTS.iter().find(|(t, _)| *t == name) {
            let found: Vec<&str> = errors.iter().map(|f| f.id).collect();
            assert_eq!(&found, ids, "{name}: {errors:?}");
        } else {
            assert_eq!(errors.is_empty(), !broken, "{name}: {errors:?}");
        }
        checked += 1;
    }
    assert!(checked > 20, "{checked} corpus tables");
    let (dir, ours) = table("check-clean").await;
    let report = check(&ours).await;
    assert!(report.findings.is_empty(), "{:?}", report.findings);
    assert_eq!(report.version, Some(3));
    std::fs::remove_dir_all(&dir).unwrap();
}

#[tokio::test]
async fn each_kind_of_damage_is_found_by_its_id() {
    // a data file deleted
    let (dir, t) = table("check-missing").await;
    let victim = a_data_file(&dir);
    std::fs::remove_file(&victim).unwrap();
    let report = check(&t).await;
    assert_eq!(ids(&report), ["data.file-missing"]);
    let name = victim.file_name().unwrap().to_string_lossy().to_string();
    assert!(report.findings[0].file.as_ref().unwrap().ends_with(&name));
    assert!(!report.is_clean());
    std::fs::remove_dir_all(&dir).unwrap();
    // a data file cut short
    let (dir, t) = table("check-size").await;
    let victim = a_data_file(&dir);
    let bytes = std::fs::read(&victim).unwrap();
    std::fs::write(&victim, &bytes[..bytes.len() / 2]).unwrap();
    assert_eq!(ids(&check(&t).await), ["data.size-mismatch"]);
    std::fs::remove_dir_all(&dir).unwrap();
    // a commit in the middle gone
    let (dir, t) = table("check-gap").await;
    std::fs::remove_file(dir.join("_delta_log/00000000000000000002.json")).unwrap();
    let report = check(&t).await;
    assert!(
        ids(&report).contains(&"log.version-missing"),
        "{:?}",
        report.findings
    );
    assert_eq!(report.findings[0].version, Some(2));
    std::fs::remove_dir_all(&dir).unwrap();
    // a commit that does not parse
    let (dir, t) = table("check-garbage").await;
    std::fs::write(
        dir.join("_delta_log/00000000000000000001.json"),
        "{not json\n",
    )
    .unwrap();
    let report = check(&t).await;
    assert!(
        ids(&report).contains(&"log.commit-unreadable"),
        "{:?}",
        report.findings
    );
    std::fs::remove_dir_all(&dir).unwrap();
    // a commit that adds and removes the same file, with two metaData
    let (dir, t) = table("check-forbidden").await;
    let commit = dir.join("_delta_log/00000000000000000004.json");
    let v0 = std::fs::read_to_string(dir.join("_delta_log/00000000000000000000.json")).unwrap();
    let metadata = v0.lines().find(|l| l.contains("\"metaData\"")).unwrap();
    let add = r#"{"add":{"path":"x.parquet","partitionValues":{"city":"Oslo"},"size":1,"modificationTime":0,"dataChange":true}}"#;
    let remove = r#"{"remove":{"path":"x.parquet","deletionTimestamp":0,"dataChange":true}}"#;
    std::fs::write(
        &commit,
        format!("{metadata}\n{metadata}\n{add}\n{remove}\n"),
    )
    .unwrap();
    let report = check(&t).await;
    let found = ids(&report);
    assert!(found.contains(&"log.duplicate-metadata"), "{found:?}");
    assert!(found.contains(&"log.add-and-remove"), "{found:?}");
    std::fs::remove_dir_all(&dir).unwrap();
}
