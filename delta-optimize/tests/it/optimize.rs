//! OPTIMIZE (compaction): the same rows before and after, fewer files,
//! `dataChange = false`, deletion vectors applied, partition predicates,
//! and Delta's outcome beside concurrent writers.

use std::collections::HashMap;
use std::sync::Arc;

use arrow::array::{ArrayRef, Int64Array, RecordBatch, StringArray};
use delta_expr::parse;
use delta_optimize::{OptimizeError, OptimizeOptions, optimize};
use delta_test::InterposingStore;
use delta_txn::progress::NoProgress;
use delta_txn::{ConflictKind, Table, TxnError, WriteOptions};
use futures::FutureExt;
use object_store::ObjectStore;
use object_store::memory::InMemory;
use object_store::path::Path;

use crate::hash_at;

fn rows(ids: std::ops::Range<i64>) -> RecordBatch {
    let cities: Vec<&str> = ids
        .clone()
        .map(|i| ["Oslo", "Rome", "Lima"][(i % 3) as usize])
        .collect();
    RecordBatch::try_from_iter([
        (
            "id",
            Arc::new(Int64Array::from_iter_values(ids.clone())) as ArrayRef,
        ),
        ("city", Arc::new(StringArray::from(cities)) as ArrayRef),
        (
            "score",
            Arc::new(Int64Array::from_iter_values(ids.map(|i| i * 10))),
        ),
    ])
    .unwrap()
}

/// Ten appends of 30 rows, partitioned by city: 30 small files.
async fn small_files(table: &Table, properties: &[(&str, &str)]) {
    for i in 0..10 {
        let b = rows(i * 30..i * 30 + 30);
        let options = WriteOptions {
            partition_by: Some(vec!["city".to_string()]),
            properties: properties
                .iter()
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect::<HashMap<_, _>>(),
            ..Default::default()
        };
        table
            .write(b.schema(), futures::stream::iter([Ok(b)]), options)
            .await
            .unwrap();
    }
}

async fn file_count(table: &Table) -> usize {
    table.snapshot().await.unwrap().files().len()
}

fn local(name: &str) -> (std::path::PathBuf, Table) {
    let dir = delta_test::scratch_dir(name).unwrap();
    let table = Table::at(dir.to_str().unwrap()).unwrap();
    (dir, table)
}

#[tokio::test]
async fn compaction_keeps_the_rows_in_fewer_files() {
    let (dir, table) = local("optimize");
    small_files(&table, &[]).await;
    let before = hash_at(&table, None).await.unwrap();
    assert_eq!(file_count(&table).await, 30);
    let outcome = optimize(&table, OptimizeOptions::default(), &NoProgress)
        .await
        .unwrap();
    assert!(outcome.committed);
    let m = &outcome.metrics;
    assert_eq!((m.num_files_removed, m.num_files_added), (30, 3), "{m:?}");
    assert_eq!(m.partitions_optimized, 3);
    assert_eq!(m.files_removed.total_files, 30);
    assert_eq!(hash_at(&table, None).await.unwrap(), before);
    assert_eq!(file_count(&table).await, 3);
    // the commit changes no data
    let log = std::fs::read_to_string(dir.join(format!("_delta_log/{:020}.json", outcome.version)))
        .unwrap();
    let mut actions = 0;
    for line in log.lines() {
        let action: serde_json::Value = serde_json::from_str(line).unwrap();
        for kind in ["add", "remove"] {
            if let Some(a) = action.get(kind) {
                assert_eq!(a["dataChange"], false, "{line}");
                actions += 1;
            }
        }
        if let Some(info) = action.get("commitInfo") {
            assert_eq!(info["operation"], "OPTIMIZE");
            assert_eq!(info["operationMetrics"]["numFilesRemoved"], "30");
        }
    }
    assert_eq!(actions, 33);
    // nothing left to do: no commit
    let again = optimize(&table, OptimizeOptions::default(), &NoProgress)
        .await
        .unwrap();
    assert!(!again.committed);
    assert_eq!(again.version, outcome.version);
    std::fs::remove_dir_all(&dir).unwrap();
}

#[tokio::test]
async fn a_partition_predicate_and_a_target_size_limit_the_work() {
    let (dir, table) = local("optimize-partition");
    small_files(&table, &[]).await;
    let before = hash_at(&table, None).await.unwrap();
    let oslo = OptimizeOptions {
        predicate: Some(parse("city = 'Oslo'").unwrap()),
        ..OptimizeOptions::default()
    };
    let outcome = optimize(&table, oslo, &NoProgress).await.unwrap();
    assert_eq!(outcome.metrics.num_files_removed, 10);
    assert_eq!(outcome.metrics.total_considered_files, 10);
    assert_eq!(file_count(&table).await, 21);
    // a target of about three files' size: several bins per partition
    let one = table
        .snapshot()
        .await
        .unwrap()
        .files()
        .iter()
        .map(|f| f.size())
        .max();
    let small = OptimizeOptions {
        target_size: Some(one.unwrap() as u64 * 3),
        ..OptimizeOptions::default()
    };
    let outcome = optimize(&table, small, &NoProgress).await.unwrap();
    assert!(outcome.metrics.num_bins > 2, "{:?}", outcome.metrics);
    assert_eq!(hash_at(&table, None).await.unwrap(), before);
    // the predicate may read partition columns only
    let bad = OptimizeOptions {
        predicate: Some(parse("id > 3").unwrap()),
        ..OptimizeOptions::default()
    };
    let err = optimize(&table, bad, &NoProgress).await.unwrap_err();
    assert!(
        matches!(err, OptimizeError::Invalid { .. }) && err.to_string().contains("'id'"),
        "{err}"
    );
    std::fs::remove_dir_all(&dir).unwrap();
}

#[tokio::test]
async fn deletion_vectors_are_applied_by_the_rewrite() {
    let (dir, table) = local("optimize-dv");
    small_files(&table, &[("delta.enableDeletionVectors", "true")]).await;
    delta_merge::delete(&table, Some(&parse("id % 7 = 0").unwrap()))
        .await
        .unwrap();
    let snapshot = table.snapshot().await.unwrap();
    assert!(
        snapshot
            .files()
            .iter()
            .any(|f| f.deletion_vector().is_some())
    );
    let before = hash_at(&table, None).await.unwrap();
    let outcome = optimize(&table, OptimizeOptions::default(), &NoProgress)
        .await
        .unwrap();
    assert!(outcome.metrics.num_deletion_vectors_removed > 0);
    assert_eq!(hash_at(&table, None).await.unwrap(), before);
    let snapshot = table.snapshot().await.unwrap();
    assert!(
        snapshot
            .files()
            .iter()
            .all(|f| f.deletion_vector().is_none())
    );
    std::fs::remove_dir_all(&dir).unwrap();
}

/// Runs OPTIMIZE while `other` commits right before it; the table's store.
async fn race(
    other: fn(Table) -> futures::future::BoxFuture<'static, ()>,
) -> (
    Arc<dyn ObjectStore>,
    Result<delta_optimize::OptimizeOutcome, OptimizeError>,
) {
    let store: Arc<dyn ObjectStore> = Arc::new(InMemory::new());
    let table = Table::with_store(Arc::clone(&store), Path::from("t"), "memory:///t");
    small_files(&table, &[]).await;
    let interposing = Arc::new(InterposingStore::new(
        Arc::clone(&store),
        other(table.clone()),
    ));
    let racing = Table::with_store(interposing.clone(), Path::from("t"), "memory:///t");
    let result = optimize(&racing, OptimizeOptions::default(), &NoProgress).await;
    assert!(interposing.interposed());
    (store, result)
}

#[tokio::test]
async fn a_concurrent_append_lands_beside_it_and_a_concurrent_delete_conflicts() {
    // an append: both commit, every row is there once
    let (store, result) = race(|t| {
        async move {
            let b = rows(1000..1030);
            t.write(
                b.schema(),
                futures::stream::iter([Ok(b)]),
                WriteOptions::default(),
            )
            .await
            .unwrap();
        }
        .boxed()
    })
    .await;
    result.unwrap();
    let table = Table::with_store(store, Path::from("t"), "memory:///t");
    let ids: usize = table
        .snapshot()
        .await
        .unwrap()
        .scan()
        .collect()
        .await
        .unwrap()
        .iter()
        .map(RecordBatch::num_rows)
        .sum();
    assert_eq!(ids, 330);
    // a delete of rows in files it compacts: a conflict, and the deleted
    // rows stay deleted
    let (store, result) = race(|t| {
        async move {
            delta_merge::delete(&t, Some(&parse("city = 'Oslo'").unwrap()))
                .await
                .unwrap();
        }
        .boxed()
    })
    .await;
    match result {
        Err(OptimizeError::Txn(TxnError::Conflict { kind, .. })) => {
            assert_eq!(kind, ConflictKind::ConcurrentDeleteRead);
        }
        other => panic!("expected a conflict, got {other:?}"),
    }
    let table = Table::with_store(store, Path::from("t"), "memory:///t");
    let rows_left: usize = table
        .snapshot()
        .await
        .unwrap()
        .scan()
        .collect()
        .await
        .unwrap()
        .iter()
        .map(RecordBatch::num_rows)
        .sum();
    assert_eq!(rows_left, 200);
}
