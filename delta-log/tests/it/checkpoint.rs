//! Checkpoints we write replay to the same state as the log they summarize.

use std::collections::BTreeMap;

use delta_log::{FileKey, Metadata, Protocol, TableState};
use serde_json::Value;

use crate::{local_log, testdata_dir};

/// The parts of a state a checkpoint must keep.
fn summary(
    s: &TableState,
) -> (
    Vec<FileKey>,
    Protocol,
    Metadata,
    BTreeMap<String, i64>,
    Vec<String>,
) {
    let mut files: Vec<FileKey> = s.files.iter().map(|a| a.file_key()).collect();
    files.sort();
    let txns = s.txns.iter().map(|(k, t)| (k.clone(), t.version)).collect();
    let mut domains: Vec<String> = s.domains.keys().cloned().collect();
    domains.sort();
    (files, s.protocol.clone(), s.metadata.clone(), txns, domains)
}

#[tokio::test]
async fn our_checkpoints_replay_to_the_same_state() {
    let dir = testdata_dir();
    let mut checked = 0;
    for entry in std::fs::read_dir(&dir).unwrap().flatten() {
        let name = entry.file_name().to_string_lossy().to_string();
        let Some(table) = name.strip_suffix(".expected.json") else {
            continue;
        };
        let expected: Value =
            serde_json::from_str(&std::fs::read_to_string(entry.path()).unwrap()).unwrap();
        if !expected["expected_error"].is_null() {
            continue;
        }
        let copy = delta_test::scratch_copy(&dir.join(table), &format!("cp-{table}")).unwrap();
        let log = local_log(&copy);
        let before = log.state(None).await.unwrap();
        let info = log
            .write_checkpoint(&before, before.timestamp_ms)
            .await
            .unwrap();
        assert_eq!(info.version, before.version);
        assert_eq!(info.num_of_add_files as usize, before.files.len());
        // drop the commits the checkpoint replaces: the state must now come from it alone
        for v in 0..=before.version {
            let _ = std::fs::remove_file(copy.join(format!("_delta_log/{v:020}.json")));
        }
        let after = log.state(None).await.unwrap();
        assert_eq!(
            after.segment.checkpoint.as_ref().map(|c| c.0),
            Some(before.version),
            "{table}"
        );
        let (a, b) = (summary(&after), summary(&before));
        assert_eq!(a.0.len(), b.0.len(), "{table}: number of files");
        assert_eq!(a.0, b.0, "{table}: files");
        assert_eq!(a.1, b.1, "{table}: protocol");
        assert_eq!(a.2, b.2, "{table}: metadata");
        assert_eq!(a.3, b.3, "{table}: txns");
        assert_eq!(a.4, b.4, "{table}: domains");
        std::fs::remove_dir_all(&copy).unwrap();
        checked += 1;
    }
    assert!(checked > 30, "only {checked} tables checked");
}

#[tokio::test]
async fn a_damaged_last_checkpoint_pointer_is_ignored() {
    let dir = testdata_dir().join("golden-basic-with-inserts-deletes-checkpoint");
    let copy = delta_test::scratch_copy(&dir, "bad-pointer").unwrap();
    std::fs::write(copy.join("_delta_log/_last_checkpoint"), b"{not json").unwrap();
    let state = local_log(&copy).state(None).await.unwrap();
    assert_eq!(state.version, 13);
    std::fs::remove_dir_all(&copy).unwrap();
}

#[tokio::test]
async fn a_pointer_to_a_missing_checkpoint_falls_back_to_listing() {
    let dir = testdata_dir().join("golden-basic-with-inserts-deletes-checkpoint");
    let copy = delta_test::scratch_copy(&dir, "stale-pointer").unwrap();
    std::fs::write(
        copy.join("_delta_log/_last_checkpoint"),
        br#"{"version":12,"size":3}"#,
    )
    .unwrap();
    let state = local_log(&copy).state(None).await.unwrap();
    assert_eq!(state.version, 13);
    std::fs::remove_dir_all(&copy).unwrap();
}
