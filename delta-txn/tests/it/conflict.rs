//! Concurrent transactions on a real table: each conflict class, under both
//! isolation levels, and what lands when there is none. (The rules alone,
//! as a table, are tested in `delta_txn::conflict`.)

use std::collections::HashMap;
use std::sync::Arc;

use arrow::array::{ArrayRef, Int64Array, RecordBatch, StringArray};
use delta_expr::parse;
use delta_txn::{ConflictKind, CreateOptions, SaveMode, Snapshot, Table, TxnError, WriteOptions};
use futures::stream;

use crate::{add, remove};

fn rows(ids: std::ops::Range<i64>, city: &str) -> RecordBatch {
    let n = (ids.end - ids.start) as usize;
    RecordBatch::try_from_iter([
        (
            "id",
            Arc::new(Int64Array::from_iter_values(ids)) as ArrayRef,
        ),
        (
            "city",
            Arc::new(StringArray::from(vec![city; n])) as ArrayRef,
        ),
    ])
    .unwrap()
}

/// A table partitioned by city with a file in Oslo and one in Rome, under
/// `level` (`None`: the default).
async fn cities(name: &str, level: Option<&str>) -> (std::path::PathBuf, Table) {
    let dir = delta_test::scratch_dir(name).unwrap();
    let table = Table::at(dir.to_str().unwrap()).unwrap();
    for (i, city) in ["Oslo", "Rome"].into_iter().enumerate() {
        let properties: HashMap<String, String> = match (i, level) {
            (0, Some(level)) => [("delta.isolationLevel".to_string(), level.to_string())].into(),
            _ => HashMap::new(),
        };
        let options = WriteOptions {
            partition_by: Some(vec!["city".into()]),
            properties,
            ..Default::default()
        };
        write_on(
            &table,
            None,
            rows(i as i64 * 10..i as i64 * 10 + 10, city),
            options,
        )
        .await
        .unwrap();
    }
    (dir, table)
}

async fn write_on(
    table: &Table,
    snapshot: Option<Snapshot>,
    batch: RecordBatch,
    options: WriteOptions,
) -> Result<delta_txn::CommitOutcome, TxnError> {
    let snapshot = match snapshot {
        Some(s) => Some(s),
        None => table.snapshot_if_exists().await.unwrap(),
    };
    table
        .write_on(snapshot, batch.schema(), stream::iter([Ok(batch)]), options)
        .await
}

fn overwrite(replace_where: Option<&str>) -> WriteOptions {
    WriteOptions {
        mode: SaveMode::Overwrite,
        replace_where: replace_where.map(|p| parse(p).unwrap()),
        ..Default::default()
    }
}

fn kind(result: &Result<delta_txn::CommitOutcome, TxnError>) -> Option<ConflictKind> {
    match result {
        Ok(_) => None,
        Err(TxnError::Conflict { kind, .. }) => Some(*kind),
        Err(other) => panic!("not a conflict: {other}"),
    }
}

async fn ids(table: &Table) -> Vec<i64> {
    let batches = table
        .snapshot()
        .await
        .unwrap()
        .scan()
        .collect()
        .await
        .unwrap();
    let mut ids: Vec<i64> = batches
        .iter()
        .flat_map(|b| {
            let c = b.column_by_name("id").unwrap();
            c.as_any()
                .downcast_ref::<Int64Array>()
                .unwrap()
                .values()
                .to_vec()
        })
        .collect();
    ids.sort_unstable();
    ids
}

/// Two writers read version 1; the first commits `winner`, then the second
/// tries `loser`. Outcomes of the loser, under each isolation level.
#[tokio::test]
async fn concurrent_writes_get_deltas_outcome() {
    type Write = (&'static str, std::ops::Range<i64>, WriteOptions);
    let append = |city: &'static str, ids: std::ops::Range<i64>| -> Write {
        (city, ids, WriteOptions::default())
    };
    let replace = |predicate: &'static str,
                   city: &'static str,
                   ids: std::ops::Range<i64>|
     -> Write { (city, ids, overwrite(Some(predicate))) };
    let full =
        |city: &'static str, ids: std::ops::Range<i64>| -> Write { (city, ids, overwrite(None)) };
    use ConflictKind::*;
    // (case, winner, loser, loser's outcome under Serializable, under WriteSerializable)
    type Case = (
        &'static str,
        Write,
        Write,
        Option<ConflictKind>,
        Option<ConflictKind>,
    );
    let cases: Vec<Case> = vec![
        (
            "two appends",
            append("Oslo", 100..101),
            append("Oslo", 200..201),
            None,
            None,
        ),
        (
            "an overwrite past an append",
            append("Oslo", 100..101),
            full("Lima", 200..201),
            Some(ConcurrentAppend),
            None,
        ),
        (
            "an append past an overwrite",
            full("Lima", 200..201),
            append("Oslo", 100..101),
            None,
            None,
        ),
        (
            "replaceWhere on another partition",
            replace("city = 'Rome'", "Rome", 300..301),
            replace("city = 'Oslo'", "Oslo", 400..401),
            None,
            None,
        ),
        (
            "replaceWhere on the same partition",
            replace("city = 'Oslo'", "Oslo", 300..301),
            replace("city = 'Oslo'", "Oslo", 400..401),
            Some(ConcurrentAppend),
            Some(ConcurrentAppend),
        ),
        (
            "replaceWhere past an append into its partition",
            append("Oslo", 100..101),
            replace("city = 'Oslo'", "Oslo", 400..401),
            Some(ConcurrentAppend),
            None,
        ),
        (
            "replaceWhere past an append elsewhere",
            append("Rome", 100..101),
            replace("city = 'Oslo'", "Oslo", 400..401),
            None,
            None,
        ),
        (
            "replaceWhere on data columns past a rewrite of a file it read",
            replace("city = 'Rome'", "Rome", 300..301),
            replace("id >= 10 AND id < 20", "Rome", 15..16),
            Some(ConcurrentDeleteRead),
            Some(ConcurrentDeleteRead),
        ),
        (
            "replaceWhere on data columns past a matching append",
            append("Rome", 16..17),
            replace("id >= 10 AND id < 20", "Rome", 15..16),
            Some(ConcurrentAppend),
            None,
        ),
        (
            "two full overwrites",
            full("Lima", 200..201),
            full("Lima", 300..301),
            Some(ConcurrentAppend),
            Some(ConcurrentAppend),
        ),
    ];
    for (case, winner, loser, serializable, write_serializable) in cases {
        for (level, expected) in [
            ("Serializable", serializable),
            ("WriteSerializable", write_serializable),
        ] {
            let (dir, table) = cities("conflict-case", Some(level)).await;
            let read = table.snapshot().await.unwrap();
            let (city, range, options) = winner.clone();
            write_on(&table, Some(read.clone()), rows(range, city), options)
                .await
                .unwrap();
            let after_winner = ids(&table).await;
            let (city, range, options) = loser.clone();
            let result = write_on(&table, Some(read), rows(range.clone(), city), options).await;
            assert_eq!(kind(&result), expected, "{case} under {level}");
            let now = ids(&table).await;
            match expected {
                // a conflict leaves the winner's table as it was
                Some(_) => assert_eq!(now, after_winner, "{case} under {level}"),
                // the loser's rows are there, and no row is duplicated
                None => {
                    assert!(
                        range.clone().all(|i| now.contains(&i)),
                        "{case} under {level}"
                    );
                    let mut distinct = now.clone();
                    distinct.dedup();
                    assert_eq!(distinct, now, "{case} under {level}");
                }
            }
            std::fs::remove_dir_all(&dir).unwrap();
        }
    }
}

#[tokio::test]
async fn two_removes_of_one_file_conflict() {
    let dir = delta_test::scratch_dir("delete-delete").unwrap();
    let (table, _) = Table::create(dir.to_str().unwrap(), &schema(), CreateOptions::default())
        .await
        .unwrap();
    let mut first = table.transaction("WRITE").await.unwrap();
    first.add_files([add("f1")]);
    first.commit().await.unwrap();
    let mut a = table.transaction("DELETE").await.unwrap();
    a.remove_files([remove("f1.parquet")]);
    let mut b = table.transaction("DELETE").await.unwrap();
    b.remove_files([remove("f1.parquet")]);
    a.commit().await.unwrap();
    let err = b.commit().await.unwrap_err();
    assert!(
        matches!(
            &err,
            TxnError::Conflict { version: 2, kind: ConflictKind::ConcurrentDeleteDelete, winning_operation, detail }
                if winning_operation == "DELETE" && detail == "f1.parquet"
        ),
        "{err}"
    );
    assert_eq!(
        err.to_string(),
        "commit conflict with version 2 (DELETE): a file this transaction removes was removed concurrently: f1.parquet"
    );
    assert_eq!(table.snapshot().await.unwrap().version(), 2);
    std::fs::remove_dir_all(&dir).unwrap();
}

#[tokio::test]
async fn retries_are_bounded() {
    let dir = delta_test::scratch_dir("bounded").unwrap();
    let (table, _) = Table::create(dir.to_str().unwrap(), &schema(), CreateOptions::default())
        .await
        .unwrap();
    let table = table.with_max_commit_attempts(1);
    let mut late = table.transaction("WRITE").await.unwrap();
    late.add_files([add("late")]);
    let mut early = table.transaction("WRITE").await.unwrap();
    early.add_files([add("early")]);
    early.commit().await.unwrap();
    let err = late.commit().await.unwrap_err();
    assert!(
        matches!(
            err,
            TxnError::Conflict {
                kind: ConflictKind::TooManyAttempts,
                ..
            }
        ),
        "{err}"
    );
    assert!(
        err.to_string().contains("gave up after 1 attempts"),
        "{err}"
    );
    std::fs::remove_dir_all(&dir).unwrap();
}

#[tokio::test]
async fn an_invalid_isolation_level_is_refused_before_any_commit() {
    let dir = delta_test::scratch_dir("bad-level").unwrap();
    let err = Table::create(
        dir.to_str().unwrap(),
        &schema(),
        CreateOptions {
            properties: [("delta.isolationLevel".to_string(), "Snapshot".to_string())].into(),
            ..Default::default()
        },
    )
    .await
    .unwrap_err();
    assert!(
        err.to_string()
            .contains("must be Serializable or WriteSerializable"),
        "{err}"
    );
    assert!(!dir.join("_delta_log/00000000000000000000.json").exists());
    let _ = std::fs::remove_dir_all(&dir);
}

#[tokio::test]
async fn commit_info_records_the_isolation_level() {
    for (level, recorded) in [
        (None, "WriteSerializable"),
        (Some("Serializable"), "Serializable"),
    ] {
        let (dir, table) = cities("level-recorded", level).await;
        let history = table.history(None).await.unwrap();
        for entry in history {
            assert_eq!(entry.commit_info.unwrap().0["isolationLevel"], recorded);
        }
        std::fs::remove_dir_all(&dir).unwrap();
    }
}

fn schema() -> delta_schema::StructType {
    delta_schema::StructType::new([delta_schema::StructField::new(
        "id",
        delta_schema::DataType::LONG,
        true,
    )])
}

#[tokio::test]
async fn a_store_without_conditional_put_is_refused_for_writing() {
    use object_store::memory::InMemory;
    let inner: Arc<dyn object_store::ObjectStore> = Arc::new(InMemory::new());
    let good = Table::with_store(Arc::clone(&inner), object_store::path::Path::from("t"), "t");
    good.initialize(&schema(), CreateOptions::default())
        .await
        .unwrap();
    let store = Arc::new(delta_test::FailingStore::without_conditional_put(
        Arc::clone(&inner),
    ));
    let table = Table::with_store(store, object_store::path::Path::from("t"), "t");
    let mut txn = table.transaction("WRITE").await.unwrap();
    txn.add_files([add("f")]);
    let err = txn.commit().await.unwrap_err();
    assert!(
        matches!(
            err,
            TxnError::Log(delta_log::LogError::NoConditionalCreate { .. })
        ),
        "{err}"
    );
    assert!(err.to_string().contains("conditional put"), "{err}");
    // reading still works, and nothing was committed
    assert_eq!(table.snapshot().await.unwrap().version(), 0);
    assert_eq!(good.snapshot().await.unwrap().version(), 0);
}
