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
    delta_test::copy_store(from).await.unwrap()
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
    data_write_crash_points().await;
}

/// The same where the data files are written on a task of their own (a
/// multi-threaded runtime): the task's errors reach the write.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_crash_point_of_a_background_data_write_leaves_the_state_before_or_after() {
    data_write_crash_points().await;
}

async fn data_write_crash_points() {
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

/// Under contention: three writers append while a fourth crashes at any of
/// its store calls (before or after the call lands). The table stays
/// readable, every healthy writer's rows are there exactly once, and each
/// write of the crashed writer is there whole or not at all.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_writer_crashing_under_contention_never_loses_another_writers_commit() {
    use arrow::array::Int64Array;
    use delta_txn::WriteOptions;

    const HEALTHY: i64 = 3;
    let mut crash_points = 0;
    for lands in [false, true] {
        for at in 0..24 {
            let store: Arc<dyn ObjectStore> = Arc::new(InMemory::new());
            let table = |store: Arc<dyn ObjectStore>| {
                Table::with_store(store, Path::from("t"), "memory:///t")
            };
            let seed = contended_batch(9, 0);
            table(Arc::clone(&store))
                .write(
                    seed.schema(),
                    futures::stream::iter([Ok(seed)]),
                    WriteOptions::default(),
                )
                .await
                .unwrap();
            let failing = Arc::new(FailingStore::new(Arc::clone(&store), at, lands));
            let mut tasks = Vec::new();
            for w in 0..HEALTHY {
                tasks.push(tokio::spawn(contended_writer(table(Arc::clone(&store)), w)));
            }
            tasks.push(tokio::spawn(contended_writer(
                table(failing.clone()),
                HEALTHY,
            )));
            let mut outcomes = Vec::new();
            for task in tasks {
                outcomes.push(task.await.unwrap());
            }
            if failing.crashed() {
                crash_points += 1;
            }
            let what = format!("crash at write {at} (lands: {lands})");
            for healthy in &outcomes[..HEALTHY as usize] {
                assert!(
                    healthy.iter().all(|ok| *ok),
                    "{what}: a healthy writer failed"
                );
            }
            // a fresh reader of the undamaged store
            let clean = table(Arc::clone(&store));
            let snapshot = clean.snapshot().await.unwrap();
            let batches = snapshot.scan().collect().await.unwrap();
            let mut ids: Vec<i64> = batches
                .iter()
                .flat_map(|b| {
                    let c = b.column(0).as_any().downcast_ref::<Int64Array>().unwrap();
                    c.values().to_vec()
                })
                .collect();
            ids.sort_unstable();
            let mut distinct = ids.clone();
            distinct.dedup();
            assert_eq!(distinct, ids, "{what}: a row twice");
            for w in 0..=HEALTHY {
                for i in 0..CONTENDED_WRITES {
                    let rows: Vec<i64> = (0..4).map(|k| w * 1000 + i * 10 + k).collect();
                    let present = rows.iter().filter(|r| ids.contains(r)).count();
                    let succeeded = outcomes[w as usize][i as usize];
                    if succeeded {
                        assert_eq!(present, 4, "{what}: writer {w} write {i} reported success");
                    } else {
                        assert!(
                            present == 0 || present == 4,
                            "{what}: writer {w} write {i} half there"
                        );
                    }
                }
            }
            // every version is there once, and replay equals what the readers saw
            let history = clean.history(None).await.unwrap();
            let mut versions: Vec<u64> = history.iter().map(|c| c.version).collect();
            versions.sort_unstable();
            assert_eq!(
                versions,
                (0..=snapshot.version()).collect::<Vec<_>>(),
                "{what}"
            );
            let commits = ids.len() / 4 - 1;
            assert_eq!(snapshot.version() as usize, commits, "{what}");
        }
    }
    eprintln!("{crash_points} crash points under contention exercised");
    assert!(
        crash_points >= 10,
        "only {crash_points} crash points exercised"
    );
}

/// Writes of each writer in the contention test.
const CONTENDED_WRITES: i64 = 3;

/// Four rows of writer `writer`'s write `i`.
fn contended_batch(writer: i64, i: i64) -> arrow::array::RecordBatch {
    use arrow::array::{ArrayRef, Int64Array, RecordBatch};
    let ids: Vec<i64> = (0..4).map(|k| writer * 1000 + i * 10 + k).collect();
    RecordBatch::try_from_iter([("id", Arc::new(Int64Array::from(ids)) as ArrayRef)]).unwrap()
}

/// A writer's appends (checkpoints every 3 versions); whether each succeeded.
async fn contended_writer(table: Table, writer: i64) -> Vec<bool> {
    let mut outcomes = Vec::new();
    for i in 0..CONTENDED_WRITES {
        let b = contended_batch(writer, i);
        let options = delta_txn::WriteOptions {
            properties: [("delta.checkpointInterval".to_string(), "3".to_string())].into(),
            ..Default::default()
        };
        let result = table
            .write(b.schema(), futures::stream::iter([Ok(b)]), options)
            .await;
        outcomes.push(result.is_ok());
    }
    outcomes
}
