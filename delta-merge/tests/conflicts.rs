//! MERGE, UPDATE and DELETE against a writer that commits between their
//! reads and their commit (deterministically, through a store that runs
//! the other writer right before the first commit file is put): Delta's
//! outcome for each (DELTA-RULES §conflicts): what does not touch what the
//! statement read retries and commits, what does is a conflict that names
//! the rule, and nothing is lost or duplicated either way.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    reason = "tests fail loudly"
)]

use std::sync::Arc;

use arrow::array::{ArrayRef, Int64Array, RecordBatch, StringArray};
use delta_expr::parse;
use delta_merge::{Clause, Merge, MergeError, delete, merge, update};
use delta_test::InterposingStore;
use delta_txn::{ConflictKind, Table, TxnError, WriteOptions};
use futures::FutureExt;
use futures::future::BoxFuture;
use object_store::ObjectStore;
use object_store::memory::InMemory;
use object_store::path::Path;

fn rows(ids: &[i64], city: &str) -> RecordBatch {
    RecordBatch::try_from_iter([
        ("id", Arc::new(Int64Array::from(ids.to_vec())) as ArrayRef),
        (
            "city",
            Arc::new(StringArray::from(vec![city; ids.len()])) as ArrayRef,
        ),
        (
            "score",
            Arc::new(Int64Array::from(
                ids.iter().map(|i| i * 10).collect::<Vec<_>>(),
            )),
        ),
    ])
    .unwrap()
}

fn table_on(store: Arc<dyn ObjectStore>) -> Table {
    Table::with_store(store, Path::from("t"), "memory:///t")
}

async fn append(table: &Table, batch: RecordBatch, properties: &[(&str, &str)]) {
    let options = WriteOptions {
        partition_by: Some(vec!["city".to_string()]),
        properties: properties
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect(),
        ..Default::default()
    };
    table
        .write(batch.schema(), futures::stream::iter([Ok(batch)]), options)
        .await
        .unwrap();
}

/// A table partitioned by city: ids 0..10 in Oslo, 10..20 in Rome.
async fn base(properties: &[(&str, &str)]) -> Arc<dyn ObjectStore> {
    let store: Arc<dyn ObjectStore> = Arc::new(InMemory::new());
    let table = table_on(Arc::clone(&store));
    append(
        &table,
        rows(&(0..10).collect::<Vec<_>>(), "Oslo"),
        properties,
    )
    .await;
    append(&table, rows(&(10..20).collect::<Vec<_>>(), "Rome"), &[]).await;
    store
}

/// What another writer does in between.
type Other = fn(Table) -> BoxFuture<'static, ()>;

/// The statement under test.
type Statement = fn(Table) -> BoxFuture<'static, Result<delta_merge::DmlOutcome, MergeError>>;

fn blind_append_rome(table: Table) -> BoxFuture<'static, ()> {
    async move { append(&table, rows(&[100, 101], "Rome"), &[]).await }.boxed()
}

/// Rows in Oslo, one with the id the upsert inserts.
fn blind_append_oslo(table: Table) -> BoxFuture<'static, ()> {
    async move { append(&table, rows(&[50, 201], "Oslo"), &[]).await }.boxed()
}

fn delete_in_oslo(table: Table) -> BoxFuture<'static, ()> {
    async move {
        delete(&table, Some(&parse("city = 'Oslo' AND id = 9").unwrap()))
            .await
            .unwrap();
    }
    .boxed()
}

/// Removes the Oslo file without adding one (a metadata-only delete).
fn delete_oslo(table: Table) -> BoxFuture<'static, ()> {
    async move {
        delete(&table, Some(&parse("city = 'Oslo'").unwrap()))
            .await
            .unwrap();
    }
    .boxed()
}

fn delete_in_rome(table: Table) -> BoxFuture<'static, ()> {
    async move {
        delete(&table, Some(&parse("city = 'Rome' AND id = 19").unwrap()))
            .await
            .unwrap();
    }
    .boxed()
}

/// Runs `statement` on the table while `other` commits right before it.
async fn race<F, Fut>(
    store: &Arc<dyn ObjectStore>,
    other: Other,
    statement: F,
) -> Result<delta_merge::DmlOutcome, MergeError>
where
    F: FnOnce(Table) -> Fut,
    Fut: std::future::Future<Output = Result<delta_merge::DmlOutcome, MergeError>>,
{
    let interposing = Arc::new(InterposingStore::new(
        Arc::clone(store),
        other(table_on(Arc::clone(store))),
    ));
    let table = table_on(interposing.clone());
    let result = statement(table).await;
    assert!(interposing.interposed(), "the other writer never ran");
    result
}

async fn ids(store: &Arc<dyn ObjectStore>) -> Vec<i64> {
    let batches = table_on(Arc::clone(store))
        .snapshot()
        .await
        .unwrap()
        .scan()
        .with_columns(["id"])
        .collect()
        .await
        .unwrap();
    let mut out: Vec<i64> = batches
        .iter()
        .flat_map(|b| {
            let a = b.column(0).as_any().downcast_ref::<Int64Array>().unwrap();
            a.values().to_vec()
        })
        .collect();
    out.sort_unstable();
    out
}

async fn oslo_upsert(table: Table) -> Result<delta_merge::DmlOutcome, MergeError> {
    let source = rows(&[3, 50], "Oslo");
    let statement = Merge::new(
        source.schema(),
        vec![source],
        parse("target.id = source.id AND target.city = 'Oslo'").unwrap(),
    )
    .when(Clause::MatchedUpdateAll { condition: None })
    .when(Clause::NotMatchedInsertAll { condition: None });
    merge(&table, statement).await
}

fn conflict_kind(result: Result<delta_merge::DmlOutcome, MergeError>) -> ConflictKind {
    match result {
        Err(MergeError::Txn(TxnError::Conflict { kind, .. })) => kind,
        other => panic!("expected a conflict, got {other:?}"),
    }
}

#[tokio::test]
async fn a_merge_on_one_partition_retries_past_writers_of_another() {
    for (appends, other) in [(true, blind_append_rome as Other), (false, delete_in_rome)] {
        let store = base(&[]).await;
        let outcome = race(&store, other, oslo_upsert).await.unwrap();
        assert!(outcome.committed);
        let got = ids(&store).await;
        // the merge's insert and the other writer's change are both there
        assert!(got.contains(&50), "{got:?}");
        assert_eq!(got.contains(&100), appends);
        assert_eq!(got.contains(&19), appends);
    }
}

#[tokio::test]
async fn a_blind_append_into_what_a_merge_read_conflicts_only_under_serializable() {
    // WriteSerializable (the default): the append commits first, the merge
    // after it, and both are in the table (id 50 twice: the merge inserted
    // it without seeing the append, as Delta allows at this level)
    let store = base(&[]).await;
    race(&store, blind_append_oslo, oslo_upsert).await.unwrap();
    let got = ids(&store).await;
    assert_eq!(got.iter().filter(|i| **i == 50).count(), 2, "{got:?}");
    assert!(got.contains(&201), "{got:?}");
    // Serializable: the merge should have read the appended row 50 (it
    // would have updated it): a conflict
    let store = base(&[("delta.isolationLevel", "Serializable")]).await;
    let before = ids(&store).await;
    let kind = conflict_kind(race(&store, blind_append_oslo, oslo_upsert).await);
    assert_eq!(kind, ConflictKind::ConcurrentAppend);
    let mut expected = before;
    expected.extend([50, 201]);
    expected.sort_unstable();
    assert_eq!(ids(&store).await, expected, "only the append landed");
}

#[tokio::test]
async fn a_file_removed_under_a_statement_is_a_conflict() {
    let statements: Vec<(&str, Statement)> = vec![
        ("merge", |t| oslo_upsert(t).boxed()),
        ("delete", |t| {
            async move { delete(&t, Some(&parse("city = 'Oslo' AND id < 3").unwrap())).await }
                .boxed()
        }),
        ("update", |t| {
            async move {
                let set = vec![("score".to_string(), parse("0").unwrap())];
                update(&t, Some(&parse("city = 'Oslo' AND id < 3").unwrap()), &set).await
            }
            .boxed()
        }),
    ];
    for (what, statement) in statements {
        let store = base(&[]).await;
        let kind = conflict_kind(race(&store, delete_in_oslo, statement).await);
        // the delete rewrote the Oslo file: its new file holds rows the
        // statement read (checked first, as Spark does), and it removed a
        // file the statement read
        assert!(
            matches!(
                kind,
                ConflictKind::ConcurrentAppend
                    | ConflictKind::ConcurrentDeleteRead
                    | ConflictKind::ConcurrentDeleteDelete
            ),
            "{what}: {kind:?}"
        );
        // only the other writer's delete landed
        let got = ids(&store).await;
        let expected: Vec<i64> = (0..20).filter(|i| *i != 9).collect();
        assert_eq!(got, expected, "{what}");
    }
    // a file the merge read removed, nothing added: exactly that rule
    let store = base(&[]).await;
    let kind = conflict_kind(race(&store, delete_oslo, oslo_upsert).await);
    assert_eq!(kind, ConflictKind::ConcurrentDeleteRead);
    assert_eq!(ids(&store).await, (10..20).collect::<Vec<_>>());
}
