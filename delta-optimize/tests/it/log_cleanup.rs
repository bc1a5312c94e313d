//! Log cleanup removes only expired log files, only up to a checkpoint:
//! every version it keeps reads as before.

use std::collections::HashMap;
use std::sync::Arc;

use arrow::array::{ArrayRef, Int64Array, RecordBatch};
use delta_txn::log_cleanup::LogCleanupOptions;
use delta_txn::{Table, WriteOptions, now_ms};

use crate::hash_at;

const DAY_MS: i64 = 24 * 3_600_000;

async fn table_with(name: &str, properties: &[(&str, &str)]) -> (std::path::PathBuf, Table) {
    let dir = delta_test::scratch_dir(name).unwrap();
    let table = Table::at(dir.to_str().unwrap()).unwrap();
    for i in 0..10i64 {
        let b = RecordBatch::try_from_iter([(
            "id",
            Arc::new(Int64Array::from(vec![i, i + 100])) as ArrayRef,
        )])
        .unwrap();
        let options = WriteOptions {
            properties: match i {
                0 => properties
                    .iter()
                    .map(|(k, v)| (k.to_string(), v.to_string()))
                    .collect::<HashMap<_, _>>(),
                _ => HashMap::new(),
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

fn at(now: i64) -> LogCleanupOptions {
    LogCleanupOptions { now_ms: Some(now) }
}

fn log_files(dir: &std::path::Path) -> usize {
    std::fs::read_dir(dir.join("_delta_log")).unwrap().count()
}

#[tokio::test]
async fn expired_versions_go_up_to_a_checkpoint_and_the_rest_reads_the_same() {
    let (dir, table) = table_with("log-cleanup", &[("delta.checkpointInterval", "3")]).await;
    let mut before = Vec::new();
    for v in 0..10 {
        before.push(hash_at(&table, Some(v)).await.unwrap());
    }
    // inside the 30 days: nothing goes
    let files = log_files(&dir);
    let outcome = table.cleanup_log(at(now_ms() + DAY_MS)).await.unwrap();
    assert_eq!(outcome.files, 0);
    assert_eq!(log_files(&dir), files);
    // 31 days later every commit expired: the log starts at the newest
    // checkpoint (version 9), which reads as before, as does the latest
    let outcome = table.cleanup_log(at(now_ms() + 31 * DAY_MS)).await.unwrap();
    assert_eq!(outcome.oldest_kept, Some(9));
    assert!(outcome.files > 0);
    let fresh = Table::at(dir.to_str().unwrap()).unwrap();
    assert_eq!(hash_at(&fresh, Some(9)).await.as_ref(), Some(&before[9]));
    assert!(
        hash_at(&fresh, Some(5)).await.is_none(),
        "version 5 is gone"
    );
    let names: Vec<String> = std::fs::read_dir(dir.join("_delta_log"))
        .unwrap()
        .flatten()
        .map(|e| e.file_name().to_string_lossy().to_string())
        .collect();
    assert!(
        names.iter().all(|n| !n.starts_with("0000000000000000000") || n.starts_with("00000000000000000009")),
        "{names:?}"
    );
    std::fs::remove_dir_all(&dir).unwrap();
}

#[tokio::test]
async fn cleanup_can_be_turned_off_and_the_retention_set() {
    let (dir, table) = table_with(
        "log-cleanup-off",
        &[
            ("delta.checkpointInterval", "3"),
            ("delta.enableExpiredLogCleanup", "false"),
        ],
    )
    .await;
    let files = log_files(&dir);
    let outcome = table.cleanup_log(at(now_ms() + 90 * DAY_MS)).await.unwrap();
    assert_eq!(outcome.files, 0);
    assert_eq!(log_files(&dir), files);
    std::fs::remove_dir_all(&dir).unwrap();
    // a retention of two days: three days later the log starts at version 9
    let (dir, table) = table_with(
        "log-cleanup-two-days",
        &[
            ("delta.checkpointInterval", "3"),
            ("delta.logRetentionDuration", "interval 2 days"),
        ],
    )
    .await;
    assert_eq!(
        table
            .cleanup_log(at(now_ms() + DAY_MS))
            .await
            .unwrap()
            .files,
        0
    );
    let outcome = table.cleanup_log(at(now_ms() + 4 * DAY_MS)).await.unwrap();
    assert_eq!(outcome.oldest_kept, Some(9));
    let fresh = Table::at(dir.to_str().unwrap()).unwrap();
    assert!(hash_at(&fresh, Some(9)).await.is_some());
    std::fs::remove_dir_all(&dir).unwrap();
}

#[tokio::test]
async fn a_writer_feature_we_do_not_know_stops_cleanup_and_vacuum_by_name() {
    let (dir, _) = table_with(
        "log-cleanup-protected",
        &[("delta.checkpointInterval", "3")],
    )
    .await;
    // another writer upgraded the table to checkpointProtection
    let protocol = r#"{"protocol":{"minReaderVersion":1,"minWriterVersion":7,"writerFeatures":["checkpointProtection"]}}"#;
    std::fs::write(
        dir.join("_delta_log/00000000000000000010.json"),
        format!("{protocol}\n"),
    )
    .unwrap();
    let files = log_files(&dir);
    let fresh = Table::at(dir.to_str().unwrap()).unwrap();
    let err = fresh
        .cleanup_log(at(now_ms() + 31 * DAY_MS))
        .await
        .unwrap_err();
    assert!(err.to_string().contains("checkpointProtection"), "{err}");
    let vacuum = delta_optimize::VacuumOptions {
        retention_hours: Some(0),
        force: true,
        ..Default::default()
    };
    let err = delta_optimize::vacuum(&fresh, vacuum).await.unwrap_err();
    assert!(err.to_string().contains("checkpointProtection"), "{err}");
    assert_eq!(log_files(&dir), files);
    std::fs::remove_dir_all(&dir).unwrap();
}

#[tokio::test]
async fn only_versions_past_the_retention_go_and_the_others_read_the_same() {
    let (dir, table) = table_with("log-cleanup-mixed", &[("delta.checkpointInterval", "3")]).await;
    let mut before = Vec::new();
    for v in 0..10 {
        before.push(hash_at(&table, Some(v)).await.unwrap());
    }
    // commits 0..=5 were made 40 days ago, 6..=9 now
    let old = std::time::SystemTime::now() - std::time::Duration::from_secs(40 * 24 * 3600);
    for v in 0..=5u64 {
        let file = std::fs::File::options()
            .write(true)
            .open(dir.join(format!("_delta_log/{v:020}.json")))
            .unwrap();
        file.set_modified(old).unwrap();
    }
    let outcome = table
        .cleanup_log(LogCleanupOptions::default())
        .await
        .unwrap();
    // the newest checkpoint at or before commit 5 is version 3
    assert_eq!(outcome.oldest_kept, Some(3));
    let fresh = Table::at(dir.to_str().unwrap()).unwrap();
    for v in 3..10u64 {
        assert_eq!(
            hash_at(&fresh, Some(v)).await.as_ref(),
            Some(&before[v as usize]),
            "version {v}"
        );
    }
    assert!(hash_at(&fresh, Some(2)).await.is_none());
    std::fs::remove_dir_all(&dir).unwrap();
}

#[tokio::test]
async fn a_commit_that_writes_a_checkpoint_cleans_the_expired_log() {
    // versions 0..=9, checkpoints at 3, 6 and 9
    let (dir, table) = table_with(
        "log-cleanup-on-commit",
        &[("delta.checkpointInterval", "3")],
    )
    .await;
    let old = std::time::SystemTime::now() - std::time::Duration::from_secs(40 * 24 * 3600);
    for v in 0..=4u64 {
        let file = std::fs::File::options()
            .write(true)
            .open(dir.join(format!("_delta_log/{v:020}.json")))
            .unwrap();
        file.set_modified(old).unwrap();
    }
    let before = hash_at(&table, Some(3)).await;
    // commits 10 and 11 write no checkpoint: nothing goes
    for i in 10..12 {
        let b =
            RecordBatch::try_from_iter([("id", Arc::new(Int64Array::from(vec![i])) as ArrayRef)])
                .unwrap();
        table
            .write(
                b.schema(),
                futures::stream::iter([Ok(b)]),
                WriteOptions::default(),
            )
            .await
            .unwrap();
        assert!(dir.join("_delta_log/00000000000000000000.json").exists());
    }
    // commit 12 writes a checkpoint, then the log before checkpoint 3 goes
    let b = RecordBatch::try_from_iter([("id", Arc::new(Int64Array::from(vec![12])) as ArrayRef)])
        .unwrap();
    let outcome = table
        .write(
            b.schema(),
            futures::stream::iter([Ok(b)]),
            WriteOptions::default(),
        )
        .await
        .unwrap();
    assert!(outcome.checkpoint.is_some_and(|c| c.is_ok()));
    for v in 0..3u64 {
        assert!(
            !dir.join(format!("_delta_log/{v:020}.json")).exists(),
            "version {v}"
        );
    }
    let fresh = Table::at(dir.to_str().unwrap()).unwrap();
    assert_eq!(hash_at(&fresh, Some(3)).await, before);
    std::fs::remove_dir_all(&dir).unwrap();
}
