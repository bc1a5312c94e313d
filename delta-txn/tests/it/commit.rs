//! Transactions at the log level: create, commit, idempotent writers,
//! rebasing blind appends, checkpoints and checksums after commits.

use delta_schema::{DataType, StructField, StructType};
use delta_txn::{CreateOptions, Table, TxnError};
use serde_json::Value;

use crate::add;

fn schema() -> StructType {
    StructType::new([
        StructField::new("id", DataType::LONG, false),
        StructField::new("part", DataType::STRING, true),
    ])
}

fn commit_json(dir: &std::path::Path, version: u64) -> Vec<Value> {
    std::fs::read_to_string(dir.join(format!("_delta_log/{version:020}.json")))
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect()
}

#[tokio::test]
async fn create_writes_protocol_metadata_and_commit_info() {
    let dir = delta_test::scratch_dir("create").unwrap();
    let location = dir.to_str().unwrap();
    let (table, outcome) = Table::create(
        location,
        &schema(),
        CreateOptions {
            partition_columns: vec!["part".into()],
            ..Default::default()
        },
    )
    .await
    .unwrap();
    assert_eq!(outcome.version, 0);
    let lines = commit_json(&dir, 0);
    let info = &lines[0]["commitInfo"];
    assert_eq!(info["operation"], "CREATE TABLE");
    assert_eq!(info["operationParameters"]["partitionBy"], r#"["part"]"#);
    assert!(info["timestamp"].as_i64().unwrap() > 0);
    assert!(
        info["engineInfo"]
            .as_str()
            .unwrap()
            .starts_with("delta-microcrates/")
    );
    assert_eq!(lines[1]["protocol"]["minReaderVersion"], 1);
    assert_eq!(lines[1]["protocol"]["minWriterVersion"], 2);
    assert_eq!(lines[2]["metaData"]["partitionColumns"][0], "part");
    // a checksum file follows the commit
    let crc: Value = serde_json::from_str(
        &std::fs::read_to_string(dir.join("_delta_log/00000000000000000000.crc")).unwrap(),
    )
    .unwrap();
    assert_eq!(crc["numFiles"], 0);
    assert_eq!(crc["numMetadata"], 1);
    // reopening reads the same table
    let snapshot = Table::open(location)
        .await
        .unwrap()
        .snapshot()
        .await
        .unwrap();
    assert_eq!(snapshot.schema(), &schema());
    assert_eq!(snapshot.partition_columns(), ["part"]);
    // creating again fails and does not touch the table
    let err = Table::create(location, &schema(), CreateOptions::default())
        .await
        .unwrap_err();
    assert!(
        matches!(err, TxnError::TableExists { version: 0, .. }),
        "{err}"
    );
    assert_eq!(table.snapshot().await.unwrap().version(), 0);
    std::fs::remove_dir_all(&dir).unwrap();
}

#[tokio::test]
async fn bad_create_arguments_are_refused() {
    let dir = delta_test::scratch_dir("bad-create").unwrap();
    let location = dir.to_str().unwrap();
    let options = |cols: &[&str]| CreateOptions {
        partition_columns: cols.iter().map(|c| c.to_string()).collect(),
        ..Default::default()
    };
    let err = Table::create(location, &schema(), options(&["nope"]))
        .await
        .unwrap_err();
    assert!(
        err.to_string()
            .contains("partition column 'nope' is not in the schema"),
        "{err}"
    );
    let err = Table::create(location, &schema(), options(&["id", "part"]))
        .await
        .unwrap_err();
    assert!(err.to_string().contains("all of its columns"), "{err}");
    let err = Table::create(location, &StructType::default(), options(&[]))
        .await
        .unwrap_err();
    assert!(err.to_string().contains("at least one column"), "{err}");
    assert!(
        !dir.join("_delta_log").exists()
            || std::fs::read_dir(dir.join("_delta_log"))
                .unwrap()
                .next()
                .is_none()
    );
    std::fs::remove_dir_all(&dir).unwrap();
}

#[tokio::test]
async fn idempotent_writes_apply_once() {
    let dir = delta_test::scratch_dir("idempotent").unwrap();
    let (table, _) = Table::create(dir.to_str().unwrap(), &schema(), CreateOptions::default())
        .await
        .unwrap();
    for (i, app_version) in [1, 1, 2, 1].into_iter().enumerate() {
        let mut txn = table.transaction("WRITE").await.unwrap();
        txn.set_app_transaction("loader", app_version);
        txn.add_files([add(&format!("f{i}"))]);
        let outcome = txn.commit().await.unwrap();
        assert_eq!(outcome.committed, i == 0 || i == 2, "write {i}");
    }
    let snapshot = table.snapshot().await.unwrap();
    assert_eq!(snapshot.version(), 2);
    assert_eq!(snapshot.files().len(), 2);
    assert_eq!(snapshot.state().txns["loader"].version, 2);
    std::fs::remove_dir_all(&dir).unwrap();
}

#[tokio::test]
async fn concurrent_blind_appends_all_land() {
    let dir = delta_test::scratch_dir("appends").unwrap();
    let (table, _) = Table::create(dir.to_str().unwrap(), &schema(), CreateOptions::default())
        .await
        .unwrap();
    // every writer reads version 0, then they race
    let mut txns = Vec::new();
    for i in 0..16 {
        let mut txn = table.transaction("WRITE").await.unwrap();
        txn.add_files([add(&format!("w{i}"))]);
        txns.push(txn);
    }
    let outcomes = futures::future::join_all(txns.into_iter().map(|t| t.commit())).await;
    let mut versions: Vec<u64> = outcomes.into_iter().map(|o| o.unwrap().version).collect();
    versions.sort();
    assert_eq!(versions, (1..=16).collect::<Vec<_>>());
    assert_eq!(table.snapshot().await.unwrap().files().len(), 16);
    std::fs::remove_dir_all(&dir).unwrap();
}

#[tokio::test]
async fn checkpoints_follow_the_interval_and_never_change_the_state() {
    let dir = delta_test::scratch_dir("interval").unwrap();
    let (table, _) = Table::create(
        dir.to_str().unwrap(),
        &schema(),
        CreateOptions {
            properties: [("delta.checkpointInterval".to_string(), "3".to_string())].into(),
            ..Default::default()
        },
    )
    .await
    .unwrap();
    for i in 1..=7u64 {
        let mut txn = table.transaction("WRITE").await.unwrap();
        txn.add_files([add(&format!("f{i}"))]);
        let outcome = txn.commit().await.unwrap();
        assert_eq!(outcome.checkpoint.is_some(), i % 3 == 0, "version {i}");
        if let Some(cp) = outcome.checkpoint {
            assert_eq!(cp.unwrap().num_of_add_files, i);
        }
        // what the commit derived in memory equals what a reader replays
        let reread = table.snapshot_at(i).await.unwrap();
        let mut a: Vec<_> = outcome
            .snapshot
            .files()
            .iter()
            .map(|f| f.path().to_string())
            .collect();
        let mut b: Vec<_> = reread
            .files()
            .iter()
            .map(|f| f.path().to_string())
            .collect();
        a.sort();
        b.sort();
        assert_eq!(a, b);
    }
    // the handle's snapshot is the one its last commit derived; a new
    // handle loads the table from the checkpoint at 6
    assert_eq!(table.snapshot().await.unwrap().files().len(), 7);
    let fresh = Table::open(dir.to_str().unwrap()).await.unwrap();
    let s = fresh.snapshot().await.unwrap();
    assert_eq!(s.state().segment.checkpoint.as_ref().map(|c| c.0), Some(6));
    assert_eq!(s.files().len(), 7);
    std::fs::remove_dir_all(&dir).unwrap();
}

#[tokio::test]
async fn in_commit_timestamps_are_written_first_and_increase() {
    let dir = delta_test::scratch_dir("ict").unwrap();
    let (table, _) = Table::create(
        dir.to_str().unwrap(),
        &schema(),
        CreateOptions {
            properties: [(
                "delta.enableInCommitTimestamps".to_string(),
                "true".to_string(),
            )]
            .into(),
            ..Default::default()
        },
    )
    .await
    .unwrap();
    let p = table.snapshot().await.unwrap().protocol().clone();
    assert_eq!((p.min_reader_version, p.min_writer_version), (1, 7));
    assert_eq!(p.writer_features.unwrap(), ["inCommitTimestamp"]);
    let mut last = 0;
    for v in 0..3u64 {
        if v > 0 {
            let mut txn = table.transaction("WRITE").await.unwrap();
            txn.add_files([add(&format!("f{v}"))]);
            txn.commit().await.unwrap();
        }
        let lines = commit_json(&dir, v);
        let ict = lines[0]["commitInfo"]["inCommitTimestamp"]
            .as_i64()
            .unwrap();
        assert!(ict > last);
        last = ict;
        assert_eq!(table.snapshot_at(v).await.unwrap().timestamp_ms(), ict);
    }
    // a version its checkpoint covers keeps its in-commit timestamp (the
    // checkpoint file's modification time does not date it)
    table
        .checkpoint(&table.snapshot().await.unwrap())
        .await
        .unwrap();
    for name in ["2.checkpoint.parquet", "2.json"] {
        std::fs::File::options()
            .append(true)
            .open(dir.join(format!("_delta_log/0000000000000000000{name}")))
            .unwrap()
            .set_modified(std::time::UNIX_EPOCH)
            .unwrap();
    }
    let reloaded = Table::open(dir.to_str().unwrap()).await.unwrap();
    let s = reloaded.snapshot().await.unwrap();
    assert_eq!(s.state().segment.checkpoint.as_ref().map(|c| c.0), Some(2));
    assert_eq!(s.timestamp_ms(), last);
    std::fs::remove_dir_all(&dir).unwrap();
}

#[tokio::test]
async fn a_handle_brings_its_snapshot_forward_reading_only_new_commits() {
    let dir = delta_test::scratch_dir("forward").unwrap();
    let location = dir.to_str().unwrap();
    let (writer, _) = Table::create(location, &schema(), CreateOptions::default())
        .await
        .unwrap();
    let reader = Table::open(location).await.unwrap();
    for i in 1..=3 {
        let mut txn = writer.transaction("WRITE").await.unwrap();
        txn.add_files([add(&format!("f{i}"))]);
        txn.commit().await.unwrap();
    }
    assert_eq!(reader.snapshot().await.unwrap().version(), 3);
    // the commits the reader has seen are gone: a fresh load cannot read
    // the table, the reader's handle needs only what comes after
    for v in 0..=3 {
        std::fs::remove_file(dir.join(format!("_delta_log/{v:020}.json"))).unwrap();
    }
    for i in 4..=5 {
        let mut txn = writer.transaction("WRITE").await.unwrap();
        txn.add_files([add(&format!("f{i}"))]);
        let outcome = txn.commit().await.unwrap();
        assert_eq!(outcome.version, i);
    }
    assert!(
        Table::open(location)
            .await
            .unwrap()
            .snapshot()
            .await
            .is_err()
    );
    let s = reader.snapshot().await.unwrap();
    assert_eq!(s.version(), 5);
    let mut paths: Vec<String> = s.files().iter().map(|f| f.path().to_string()).collect();
    paths.sort();
    assert_eq!(
        paths,
        [
            "f1.parquet",
            "f2.parquet",
            "f3.parquet",
            "f4.parquet",
            "f5.parquet"
        ]
    );
    // a clone of the handle shares what it knows
    assert_eq!(reader.clone().snapshot().await.unwrap().version(), 5);
    std::fs::remove_dir_all(&dir).unwrap();
}
