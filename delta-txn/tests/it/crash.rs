//! Crash safety for one writer: for every write a commit makes (commit file,
//! checksum, checkpoint parts, pointer), crash there (before or after the
//! write lands) and check that the table then reads as the state before the
//! commit or the state after it, never anything else; and that retrying an
//! idempotent write after the crash applies it exactly once.

use std::collections::BTreeSet;
use std::sync::Arc;

use delta_schema::{DataType, StructField, StructType};
use delta_test::FailingStore;
use delta_txn::{CreateOptions, Table};
use object_store::ObjectStore;
use object_store::memory::InMemory;
use object_store::path::Path;

use crate::add;

fn files(snapshot: &delta_txn::Snapshot) -> BTreeSet<String> {
    snapshot
        .files()
        .iter()
        .map(|a| a.path().to_string())
        .collect()
}

/// A table at version 9 whose next commit (10) is due a checkpoint.
async fn base_store() -> Arc<dyn ObjectStore> {
    let store: Arc<dyn ObjectStore> = Arc::new(InMemory::new());
    let table = Table::with_store(Arc::clone(&store), Path::from("t"), "memory:///t");
    let schema = StructType::new([StructField::new("id", DataType::LONG, true)]);
    table
        .initialize(&schema, CreateOptions::default())
        .await
        .unwrap();
    for i in 1..=9 {
        let mut txn = table.transaction("WRITE").await.unwrap();
        txn.add_files([add(&format!("f{i}"))]);
        txn.commit().await.unwrap();
    }
    store
}

async fn copy_store(from: &Arc<dyn ObjectStore>) -> Arc<dyn ObjectStore> {
    use futures::TryStreamExt;
    use object_store::ObjectStoreExt;
    let to: Arc<dyn ObjectStore> = Arc::new(InMemory::new());
    let metas: Vec<_> = from.list(None).try_collect().await.unwrap();
    for meta in metas {
        let bytes = from
            .get(&meta.location)
            .await
            .unwrap()
            .bytes()
            .await
            .unwrap();
        to.put(&meta.location, bytes.into()).await.unwrap();
    }
    to
}

#[tokio::test]
async fn every_crash_point_leaves_the_state_before_or_after() {
    let base = base_store().await;
    let before: BTreeSet<String> = (1..=9).map(|i| format!("f{i}.parquet")).collect();
    let mut after = before.clone();
    after.insert("new.parquet".to_string());
    let mut crash_points = 0;
    for lands in [false, true] {
        for at in 0..64 {
            let store = copy_store(&base).await;
            let failing = Arc::new(FailingStore::new(Arc::clone(&store), at, lands));
            let table = Table::with_store(failing.clone(), Path::from("t"), "memory:///t");
            let mut txn = table.transaction("WRITE").await.unwrap();
            txn.set_app_transaction("app", 1);
            txn.add_files([add("new")]);
            let result = txn.commit().await;
            if !failing.crashed() {
                // all writes done without reaching the crash point
                result.unwrap();
                assert!(at >= 1, "the commit writes at least once");
                break;
            }
            crash_points += 1;
            // the table as a fresh reader sees it, on the undamaged store
            let clean = Table::with_store(Arc::clone(&store), Path::from("t"), "memory:///t");
            let snapshot = clean.snapshot().await.unwrap();
            let seen = files(&snapshot);
            assert!(
                seen == before || seen == after,
                "crash at write {at} (lands: {lands}) left {seen:?}"
            );
            assert_eq!(snapshot.version(), if seen == after { 10 } else { 9 });
            // retry the idempotent write: applied exactly once
            let mut retry = clean.transaction("WRITE").await.unwrap();
            retry.set_app_transaction("app", 1);
            retry.add_files([add("new")]);
            let outcome = retry.commit().await.unwrap();
            assert_eq!(outcome.committed, seen == before);
            assert_eq!(files(&clean.snapshot().await.unwrap()), after);
        }
    }
    eprintln!("{crash_points} crash points exercised");
    assert!(
        crash_points >= 8,
        "only {crash_points} crash points exercised"
    );
}

/// The same with real data: Parquet files (multipart uploads), commit,
/// checksum and checkpoint, each crash point before and after its write.
#[tokio::test]
async fn every_crash_point_of_a_data_write_leaves_the_state_before_or_after() {
    use arrow::array::{ArrayRef, Int64Array, RecordBatch, StringArray};
    use delta_txn::WriteOptions;

    let rows = |ids: Vec<i64>| {
        let cities: Vec<&str> = ids
            .iter()
            .map(|i| if i % 2 == 0 { "even" } else { "odd" })
            .collect();
        RecordBatch::try_from_iter([
            ("id", Arc::new(Int64Array::from(ids)) as ArrayRef),
            ("city", Arc::new(StringArray::from(cities)) as ArrayRef),
        ])
        .unwrap()
    };
    let write = |table: Table, batch: RecordBatch, app_version: i64| async move {
        let options = WriteOptions {
            partition_by: Some(vec!["city".into()]),
            properties: [("delta.checkpointInterval".to_string(), "2".to_string())].into(),
            app_transaction: Some(("loader".to_string(), app_version)),
            ..Default::default()
        };
        table
            .write(batch.schema(), futures::stream::iter([Ok(batch)]), options)
            .await
    };
    // base: a table at version 1 (two writes); the write under test makes version 2
    let base: Arc<dyn ObjectStore> = Arc::new(InMemory::new());
    let table = Table::with_store(Arc::clone(&base), Path::from("t"), "memory:///t");
    write(table.clone(), rows(vec![1, 2, 3]), 1).await.unwrap();
    write(table.clone(), rows(vec![4]), 2).await.unwrap();
    let read = |table: Table| async move {
        let batches = table
            .snapshot()
            .await
            .unwrap()
            .scan()
            .collect()
            .await
            .unwrap();
        delta_test::canonical_hash(&batches).unwrap()
    };
    let before = read(table.clone()).await;
    let mut crash_points = 0;
    for lands in [false, true] {
        for at in 0..64 {
            let store = copy_store(&base).await;
            let failing = Arc::new(FailingStore::new(Arc::clone(&store), at, lands));
            let victim = Table::with_store(failing.clone(), Path::from("t"), "memory:///t");
            // version 2 is due a checkpoint (interval 2)
            let result = write(victim, rows(vec![5, 6]), 3).await;
            if !failing.crashed() {
                result.unwrap();
                break;
            }
            crash_points += 1;
            let clean = Table::with_store(Arc::clone(&store), Path::from("t"), "memory:///t");
            let seen = read(clean.clone()).await;
            let version = clean.snapshot().await.unwrap().version();
            assert!(
                (version == 1 && seen == before) || version == 2,
                "crash at write {at} (lands: {lands}): version {version}"
            );
            // retry: applied exactly once
            write(clean.clone(), rows(vec![5, 6]), 3).await.unwrap();
            let after = clean.snapshot().await.unwrap();
            assert_eq!(after.version(), 2);
            let total: usize = after
                .scan()
                .collect()
                .await
                .unwrap()
                .iter()
                .map(|b| b.num_rows())
                .sum();
            assert_eq!(total, 6, "crash at write {at} (lands: {lands})");
        }
    }
    eprintln!("{crash_points} crash points of a data write exercised");
    assert!(
        crash_points >= 10,
        "only {crash_points} crash points exercised"
    );
}
