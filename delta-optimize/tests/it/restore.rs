//! RESTORE: the content of the restored version, as a new commit; back
//! again; by timestamp; the schema comes back; refused, naming the files,
//! when VACUUM took what the version needs.

use std::collections::HashMap;
use std::sync::Arc;

use arrow::array::{ArrayRef, Int64Array, RecordBatch, StringArray};
use delta_expr::parse;
use delta_optimize::{
    OptimizeError, OptimizeOptions, RestoreTarget, VacuumOptions, optimize, restore, vacuum,
};
use delta_txn::progress::NoProgress;
use delta_txn::{Table, WriteOptions, now_ms};

use crate::{city_rows as rows, hash_at};

async fn append(table: &Table, batch: RecordBatch, options: WriteOptions) {
    table
        .write(batch.schema(), futures::stream::iter([Ok(batch)]), options)
        .await
        .unwrap();
}

/// Versions 0..=4: append, append, delete, optimize, append.
async fn history(name: &str, dvs: bool) -> (std::path::PathBuf, Table) {
    let dir = delta_test::scratch_dir(name).unwrap();
    let table = Table::at(dir.to_str().unwrap()).unwrap();
    let first = WriteOptions {
        partition_by: Some(vec!["city".to_string()]),
        properties: match dvs {
            true => HashMap::from([(
                "delta.enableDeletionVectors".to_string(),
                "true".to_string(),
            )]),
            false => HashMap::new(),
        },
        ..Default::default()
    };
    append(&table, rows(0..300), first).await;
    append(&table, rows(300..600), WriteOptions::default()).await;
    delta_merge::delete(&table, Some(&parse("id < 10").unwrap()))
        .await
        .unwrap();
    let compacted = optimize(&table, OptimizeOptions::default(), &NoProgress)
        .await
        .unwrap();
    assert!(compacted.committed);
    append(&table, rows(600..630), WriteOptions::default()).await;
    (dir, table)
}

#[tokio::test]
async fn restore_and_restore_back_give_each_versions_rows() {
    for dvs in [false, true] {
        let (dir, table) = history("restore", dvs).await;
        let v1 = hash_at(&table, Some(1)).await.unwrap();
        let v4 = hash_at(&table, Some(4)).await.unwrap();
        let outcome = restore(&table, RestoreTarget::Version(1)).await.unwrap();
        assert!(outcome.committed);
        assert_eq!(outcome.version, 5);
        assert!(outcome.num_restored_files > 0 && outcome.num_removed_files > 0);
        assert_eq!(
            hash_at(&table, None).await.unwrap(),
            v1,
            "deletion vectors {dvs}"
        );
        // and back to where it was
        let back = restore(&table, RestoreTarget::Version(4)).await.unwrap();
        assert_eq!(back.version, 6);
        assert_eq!(
            hash_at(&table, None).await.unwrap(),
            v4,
            "deletion vectors {dvs}"
        );
        // the commits say what they did, with dataChange
        let log =
            std::fs::read_to_string(dir.join("_delta_log/00000000000000000005.json")).unwrap();
        assert!(log.contains("\"operation\":\"RESTORE\""), "{log}");
        assert!(log.contains("numRestoredFiles"));
        assert!(!log.contains("\"dataChange\":false"));
        // restoring the latest version changes nothing and commits nothing
        let same = restore(&table, RestoreTarget::Version(6)).await.unwrap();
        assert!(!same.committed);
        std::fs::remove_dir_all(&dir).unwrap();
    }
}

#[tokio::test]
async fn a_timestamp_picks_the_version_and_the_schema_comes_back() {
    let (dir, table) = history("restore-timestamp", false).await;
    let v2 = table.snapshot_at(2).await.unwrap();
    let at = v2.state().timestamp_ms;
    let expected = hash_at(&table, Some(2)).await.unwrap();
    // a column added later goes away again
    let wider = RecordBatch::try_from_iter([
        ("id", Arc::new(Int64Array::from(vec![9999])) as ArrayRef),
        (
            "city",
            Arc::new(StringArray::from(vec!["Oslo"])) as ArrayRef,
        ),
        ("note", Arc::new(StringArray::from(vec!["new"])) as ArrayRef),
    ])
    .unwrap();
    let options = WriteOptions {
        merge_schema: true,
        ..Default::default()
    };
    append(&table, wider, options).await;
    let outcome = restore(&table, RestoreTarget::Timestamp(at)).await.unwrap();
    assert_eq!(outcome.restored_version, 2);
    let snapshot = table.snapshot().await.unwrap();
    assert!(snapshot.schema().field("note").is_none());
    assert_eq!(hash_at(&table, None).await.unwrap(), expected);
    let err = restore(&table, RestoreTarget::Version(99))
        .await
        .unwrap_err();
    assert!(err.to_string().contains("newer than"), "{err}");
    std::fs::remove_dir_all(&dir).unwrap();
}

#[tokio::test]
async fn a_version_whose_files_vacuum_took_is_refused_by_name() {
    let (dir, table) = history("restore-vacuumed", false).await;
    let latest = table.snapshot().await.unwrap().version();
    let forced = VacuumOptions {
        retention_hours: Some(0),
        force: true,
        now_ms: Some(now_ms() + 60_000),
        ..VacuumOptions::default()
    };
    vacuum(&table, forced).await.unwrap();
    let version = table.snapshot().await.unwrap().version();
    assert_eq!(version, latest + 2);
    let err = restore(&table, RestoreTarget::Version(1))
        .await
        .unwrap_err();
    assert!(
        matches!(err, OptimizeError::Invalid { .. })
            && err.to_string().contains("files that are gone")
            && err.to_string().contains(".parquet"),
        "{err}"
    );
    assert_eq!(table.snapshot().await.unwrap().version(), version);
    std::fs::remove_dir_all(&dir).unwrap();
}
