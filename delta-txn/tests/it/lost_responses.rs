//! A commit whose response is lost: the writer finds its own commit in the
//! log and adopts it (never commits twice), and never adopts another's.

use std::collections::BTreeSet;
use std::sync::Arc;

use delta_test::FailingStore;
use delta_txn::{CreateOptions, Table, TxnError};
use object_store::ObjectStore;
use object_store::memory::InMemory;
use object_store::path::Path;

use crate::writer_rules::x_schema;
use crate::{add, remove};

/// A table at version 2 in memory, and its store.
async fn memory_table() -> Arc<dyn ObjectStore> {
    let store: Arc<dyn ObjectStore> = Arc::new(InMemory::new());
    let table = Table::with_store(Arc::clone(&store), Path::from("t"), "memory:///t");
    table
        .initialize(&x_schema(&[]), CreateOptions::default())
        .await
        .unwrap();
    for i in 1..=2 {
        let mut txn = table.transaction("WRITE").await.unwrap();
        txn.add_files([add(&format!("f{i}"))]);
        txn.commit().await.unwrap();
    }
    store
}

fn paths(snapshot: &delta_txn::Snapshot) -> BTreeSet<String> {
    snapshot
        .files()
        .iter()
        .map(|a| a.path().to_string())
        .collect()
}

#[tokio::test]
async fn a_lost_commit_response_is_adopted_not_committed_twice() {
    for retried in [false, true] {
        for kind in ["append", "remove"] {
            let inner = memory_table().await;
            // write 0 of the commit is the put of the commit file
            let failing = FailingStore::lose_response(Arc::clone(&inner), 0, retried);
            let table = Table::with_store(Arc::new(failing.clone()), Path::from("t"), "t");
            let mut txn = table.transaction("WRITE").await.unwrap();
            if kind == "append" {
                txn.add_files([add("new")]);
            } else {
                txn.read_whole_table();
                txn.remove_files([remove("f1.parquet")]);
            }
            let outcome = txn.commit().await.unwrap();
            assert!(failing.lost(), "the fault was injected");
            assert!(outcome.adopted, "{kind}, retried {retried}");
            assert_eq!(outcome.version, 3);
            let reader = Table::with_store(inner, Path::from("t"), "t");
            let latest = reader.snapshot().await.unwrap();
            assert_eq!(latest.version(), 3, "exactly one new commit");
            let expected: BTreeSet<String> = if kind == "append" {
                ["f1", "f2", "new"].map(|f| format!("{f}.parquet")).into()
            } else {
                ["f2.parquet".to_string()].into()
            };
            assert_eq!(paths(&latest), expected);
            assert_eq!(paths(&outcome.snapshot), expected);
        }
    }
}

#[tokio::test]
async fn every_write_of_a_commit_may_lose_its_response() {
    // writes of a commit at version 3: commit file, checksum (no checkpoint)
    for at in 0..2 {
        for retried in [false, true] {
            let inner = memory_table().await;
            let failing = FailingStore::lose_response(Arc::clone(&inner), at, retried);
            let table = Table::with_store(Arc::new(failing.clone()), Path::from("t"), "t");
            let mut txn = table.transaction("WRITE").await.unwrap();
            txn.add_files([add("new")]);
            let outcome = txn.commit().await.unwrap();
            assert!(failing.lost());
            assert_eq!(outcome.version, 3);
            let reader = Table::with_store(inner, Path::from("t"), "t");
            assert_eq!(reader.snapshot().await.unwrap().version(), 3);
            assert_eq!(reader.snapshot().await.unwrap().files().len(), 3);
        }
    }
}

#[tokio::test]
async fn another_writers_commit_is_not_adopted() {
    let inner = memory_table().await;
    let table = Table::with_store(Arc::clone(&inner), Path::from("t"), "t");
    let mut mine = table.transaction("WRITE").await.unwrap();
    mine.add_files([add("mine")]);
    let mut theirs = table.transaction("WRITE").await.unwrap();
    theirs.add_files([add("theirs")]);
    theirs.commit().await.unwrap();
    let outcome = mine.commit().await.unwrap();
    assert!(!outcome.adopted);
    assert_eq!(outcome.version, 4);
    let info = &table.history(Some(1)).await.unwrap()[0];
    let info = info.commit_info.as_ref().unwrap();
    // readVersion is the version read, not the one rebased onto
    assert_eq!(info.0["readVersion"], 2);
    assert!(info.0["txnId"].as_str().is_some_and(|id| id.len() == 36));
}

#[tokio::test]
async fn a_concurrent_lower_version_of_the_same_app_conflicts() {
    let inner = memory_table().await;
    let table = Table::with_store(Arc::clone(&inner), Path::from("t"), "t");
    let mut mine = table.transaction("WRITE").await.unwrap();
    mine.set_app_transaction("loader", 5);
    mine.add_files([add("mine")]);
    let mut theirs = table.transaction("WRITE").await.unwrap();
    theirs.set_app_transaction("loader", 4);
    theirs.add_files([add("theirs")]);
    theirs.commit().await.unwrap();
    let err = mine.commit().await.unwrap_err();
    assert!(
        matches!(
            err,
            TxnError::Conflict {
                version: 3,
                kind: delta_txn::ConflictKind::ConcurrentTransaction,
                ..
            }
        ),
        "{err}"
    );
    assert!(err.to_string().ends_with(": loader"), "{err}");
}
