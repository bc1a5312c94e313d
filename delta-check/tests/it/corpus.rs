//! No false positives: every corpus table that reads checks clean (but
//! for the few with a real, documented defect), every broken one does not,
//! and a table we write has no finding at all.

use delta_check::{Finding, Severity};
use delta_txn::Table;

use crate::{check, check_deeply, table};

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
        let report = check_deeply(&table).await;
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
    let report = check_deeply(&ours).await;
    assert!(report.findings.is_empty(), "{:?}", report.findings);
    assert_eq!(report.version, Some(3));
    std::fs::remove_dir_all(&dir).unwrap();
}
