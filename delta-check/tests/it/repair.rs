//! Repair fixes what it safely can; the check is clean afterwards and the
//! table reads what its commits say. Data files and commits are never
//! touched.

use std::path::Path;

use delta_check::{Fix, repair};

use crate::{a_data_file, check, dv_table, ids, log_file, row_ids, table};

/// Every file under `dir/_delta_log` ending in `.json`, with its bytes.
fn commits(dir: &Path) -> Vec<(String, Vec<u8>)> {
    let mut out: Vec<(String, Vec<u8>)> = std::fs::read_dir(dir.join("_delta_log"))
        .unwrap()
        .flatten()
        .map(|e| e.path())
        .filter(|p| p.extension().is_some_and(|e| e == "json"))
        .map(|p| {
            (
                p.file_name().unwrap().to_string_lossy().to_string(),
                std::fs::read(&p).unwrap(),
            )
        })
        .collect();
    out.sort();
    out
}

#[tokio::test]
async fn lost_data_files_are_removed_in_one_commit() {
    let (dir, t) = table("repair-missing").await;
    let all = row_ids(&dir).await;
    assert_eq!(all, [0, 1, 2, 3, 10, 11, 12, 13]);
    let victim = a_data_file(&dir);
    std::fs::remove_file(&victim).unwrap();
    let before = commits(&dir);
    let report = check(&t).await;
    let outcome = repair(&t, &report).await.unwrap();
    assert_eq!(outcome.version, Some(4));
    assert_eq!(outcome.applied.len(), 1);
    let after = check(&t).await;
    assert!(after.findings.is_empty(), "{:?}", after.findings);
    // the earlier commits are as they were; one Oslo row is gone
    assert_eq!(&commits(&dir)[..4], &before[..]);
    let rows = row_ids(&dir).await;
    assert_eq!(rows.len(), 7);
    assert!(rows.iter().all(|id| all.contains(id)));
    let history = t.history(Some(1)).await.unwrap();
    let info = history[0].commit_info.as_ref().unwrap();
    assert_eq!(info.operation(), Some("FSCK"));
    // nothing left to repair
    assert!(after.fixes().is_empty());
    std::fs::remove_dir_all(&dir).unwrap();
}

#[tokio::test]
async fn damaged_checkpoints_are_written_again() {
    // cut short
    let (dir, t) = table("repair-cp-cut").await;
    t.checkpoint(&t.snapshot().await.unwrap()).await.unwrap();
    let cp = log_file(&dir, "00000000000000000003.checkpoint.parquet");
    let bytes = std::fs::read(&cp).unwrap();
    std::fs::write(&cp, &bytes[..bytes.len() / 2]).unwrap();
    let before = commits(&dir);
    let report = check(&t).await;
    repair(&t, &report).await.unwrap();
    let after = check(&t).await;
    assert!(after.findings.is_empty(), "{:?}", after.findings);
    assert_eq!(commits(&dir), before);
    assert_eq!(row_ids(&dir).await, [0, 1, 2, 3, 10, 11, 12, 13]);
    std::fs::remove_dir_all(&dir).unwrap();

    // another version's checkpoint under this name: readers see old rows
    let (dir, t) = table("repair-cp-differs").await;
    t.checkpoint(&t.snapshot_at(1).await.unwrap())
        .await
        .unwrap();
    std::fs::copy(
        log_file(&dir, "00000000000000000001.checkpoint.parquet"),
        log_file(&dir, "00000000000000000003.checkpoint.parquet"),
    )
    .unwrap();
    assert_eq!(row_ids(&dir).await, [0, 1, 10, 11]);
    // and a file the damaged checkpoint leaves out is lost too (id 3)
    let v3 = std::fs::read_to_string(crate::commit_file(&dir, 3)).unwrap();
    let lost = std::fs::read_dir(dir.join("city=Oslo"))
        .unwrap()
        .flatten()
        .map(|e| e.path())
        .find(|p| v3.contains(&*p.file_name().unwrap().to_string_lossy()))
        .unwrap();
    std::fs::remove_file(&lost).unwrap();
    let report = check(&t).await;
    let mut found = ids(&report);
    found.sort_unstable();
    assert_eq!(found, ["checkpoint.differs", "data.file-missing"]);
    // the checkpoint first, then the FSCK commit on the state the commits give
    let outcome = repair(&t, &report).await.unwrap();
    assert_eq!(outcome.applied[0], Fix::RewriteCheckpoint { version: 3 });
    assert_eq!(outcome.version, Some(4));
    let after = check(&t).await;
    assert!(after.findings.is_empty(), "{:?}", after.findings);
    assert_eq!(row_ids(&dir).await, [0, 1, 2, 10, 11, 12, 13]);
    std::fs::remove_dir_all(&dir).unwrap();
}

#[tokio::test]
async fn pointers_and_checksums_are_rewritten_or_dropped() {
    let (dir, t) = table("repair-pointer").await;
    t.checkpoint(&t.snapshot_at(1).await.unwrap())
        .await
        .unwrap();
    t.checkpoint(&t.snapshot().await.unwrap()).await.unwrap();
    let pointer = log_file(&dir, "_last_checkpoint");
    let good = std::fs::read_to_string(&pointer).unwrap();
    for bad in [
        "{version",
        r#"{"version":2,"size":4}"#,
        r#"{"version":3,"size":999}"#,
    ] {
        std::fs::write(&pointer, bad).unwrap();
        let report = check(&t).await;
        assert_eq!(report.fixes(), [Fix::RewriteLastCheckpoint], "{bad}");
        repair(&t, &report).await.unwrap();
        let after = check(&t).await;
        assert!(after.findings.is_empty(), "{bad}: {:?}", after.findings);
        let fixed: serde_json::Value =
            serde_json::from_str(&std::fs::read_to_string(&pointer).unwrap()).unwrap();
        let good: serde_json::Value = serde_json::from_str(&good).unwrap();
        for key in ["version", "size", "sizeInBytes", "numOfAddFiles"] {
            assert_eq!(fixed[key], good[key], "{bad}: {key}");
        }
    }
    // a pointer to the older checkpoint is stale (worth fixing, no error)
    let older = t
        .checkpoint(&t.snapshot_at(1).await.unwrap())
        .await
        .unwrap();
    assert_eq!(older.version, 1);
    let report = check(&t).await;
    assert_eq!(ids(&report), ["checkpoint.last-stale"]);
    assert!(report.is_clean());
    repair(&t, &report).await.unwrap();
    assert!(check(&t).await.findings.is_empty());

    // a wrong .crc goes (it is an optional hint)
    let crc = log_file(&dir, "00000000000000000002.crc");
    std::fs::write(&crc, r#"{"numFiles":99}"#).unwrap();
    let report = check(&t).await;
    assert_eq!(report.fixes(), [Fix::DeleteChecksum { version: 2 }]);
    repair(&t, &report).await.unwrap();
    assert!(!crc.exists());
    assert!(check(&t).await.findings.is_empty());
    assert_eq!(row_ids(&dir).await, [0, 1, 2, 3, 10, 11, 12, 13]);
    std::fs::remove_dir_all(&dir).unwrap();
}

#[tokio::test]
async fn a_lost_deletion_vector_takes_its_file_out() {
    let (dir, t, dv) = dv_table("repair-dv").await;
    assert_eq!(row_ids(&dir).await.len(), 202);
    std::fs::remove_file(&dv).unwrap();
    let report = check(&t).await;
    assert_eq!(ids(&report), ["data.dv-file-missing"]);
    let Some(Fix::RemoveFile { path }) = report.findings[0].fix.clone() else {
        panic!("{:?}", report.findings);
    };
    assert!(path.ends_with(".parquet"), "{path}");
    repair(&t, &report).await.unwrap();
    assert!(check(&t).await.findings.is_empty());
    // the file whose vector is gone is out of the table; the other stays
    assert_eq!(row_ids(&dir).await, [300, 301]);
    std::fs::remove_dir_all(&dir).unwrap();
}

#[tokio::test]
async fn a_spark_v2_checkpoint_with_a_lost_sidecar_is_written_again() {
    let name = "kernel-v2-checkpoints-parquet-with-sidecars";
    let dir = delta_test::scratch_copy(
        &delta_test::testdata_dir().unwrap().join(name),
        "repair-v2-sidecar",
    )
    .unwrap();
    let t = delta_txn::Table::open(dir.to_str().unwrap()).await.unwrap();
    assert!(check(&t).await.is_clean());
    let rows_at_3 = |t: delta_txn::Table| async move {
        let batches = t
            .snapshot_at(3)
            .await
            .unwrap()
            .scan()
            .collect()
            .await
            .unwrap();
        delta_test::canonical_hash(&batches).unwrap()
    };
    let before = rows_at_3(t.clone()).await;
    let sidecars = dir.join("_delta_log/_sidecars");
    let lost = std::fs::read_dir(&sidecars)
        .unwrap()
        .flatten()
        .map(|e| e.path())
        .find(|p| {
            p.file_name()
                .unwrap()
                .to_string_lossy()
                .starts_with("00000000000000000003.")
        })
        .unwrap();
    std::fs::remove_file(&lost).unwrap();
    let report = check(&t).await;
    assert_eq!(
        ids(&report),
        ["checkpoint.unreadable"],
        "{:?}",
        report.findings
    );
    assert_eq!(report.findings[0].version, Some(3));
    repair(&t, &report).await.unwrap();
    let after = check(&t).await;
    assert!(after.findings.is_empty(), "{:?}", after.findings);
    // version 3 now reads from the new checkpoint, with the same rows
    let fresh = delta_txn::Table::open(dir.to_str().unwrap()).await.unwrap();
    let state = fresh.log().state(Some(3)).await.unwrap();
    assert_eq!(state.segment.checkpoint.as_ref().map(|(v, _)| *v), Some(3));
    assert_eq!(rows_at_3(fresh).await, before);
    std::fs::remove_dir_all(&dir).unwrap();
}
