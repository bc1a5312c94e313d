//! After a crash at any store write of a data write (data files, commit,
//! checksum, checkpoint, pointer), before or after the write lands, the
//! check finds the table consistent: nothing but files no version
//! references (which VACUUM takes) and a `_last_checkpoint` left behind.

use std::sync::Arc;

use arrow::array::{ArrayRef, Int64Array, RecordBatch, StringArray};
use delta_check::Severity;
use delta_test::FailingStore;
use delta_txn::{Table, WriteOptions};
use object_store::ObjectStore;
use object_store::memory::InMemory;
use object_store::path::Path;

use crate::check;

/// What a crash may leave: files of the commit that did not land, and a
/// pointer to the checkpoint before the one that landed.
const CRASH_LEFTOVERS: &[&str] = &["files.orphan", "checkpoint.last-stale"];

fn rows(ids: Vec<i64>) -> RecordBatch {
    let cities: Vec<&str> = ids
        .iter()
        .map(|i| if i % 2 == 0 { "even" } else { "odd" })
        .collect();
    RecordBatch::try_from_iter([
        ("id", Arc::new(Int64Array::from(ids)) as ArrayRef),
        ("city", Arc::new(StringArray::from(cities)) as ArrayRef),
    ])
    .unwrap()
}

async fn write(table: &Table, batch: RecordBatch) -> Result<(), delta_txn::TxnError> {
    let options = WriteOptions {
        partition_by: Some(vec!["city".into()]),
        properties: [("delta.checkpointInterval".to_string(), "2".to_string())].into(),
        ..Default::default()
    };
    table
        .write(batch.schema(), futures::stream::iter([Ok(batch)]), options)
        .await
        .map(|_| ())
}

#[tokio::test]
async fn every_crash_point_of_a_write_checks_consistent() {
    // versions 0 to 2 (a checkpoint at 2); the write under test makes 3,
    // and 4 is due a checkpoint: crash in both
    let base: Arc<dyn ObjectStore> = Arc::new(InMemory::new());
    let table = Table::with_store(Arc::clone(&base), Path::from("t"), "memory:///t");
    for ids in [vec![1, 2, 3], vec![4], vec![5]] {
        write(&table, rows(ids)).await.unwrap();
    }
    let mut crash_points = 0;
    for lands in [false, true] {
        for at in 0..128 {
            let store = delta_test::copy_store(&base).await.unwrap();
            let failing = Arc::new(FailingStore::new(Arc::clone(&store), at, lands));
            let victim = Table::with_store(failing.clone(), Path::from("t"), "memory:///t");
            let result = async {
                write(&victim, rows(vec![6, 7])).await?;
                write(&victim, rows(vec![8])).await
            }
            .await;
            if !failing.crashed() {
                result.unwrap();
                break;
            }
            crash_points += 1;
            let clean = Table::with_store(Arc::clone(&store), Path::from("t"), "memory:///t");
            let report = check(&clean).await;
            let unexpected: Vec<String> = report
                .findings
                .iter()
                .filter(|f| f.severity != Severity::Info || !CRASH_LEFTOVERS.contains(&f.id))
                .map(ToString::to_string)
                .collect();
            assert!(
                unexpected.is_empty(),
                "crash at write {at} (lands: {lands}): {unexpected:?}"
            );
        }
    }
    eprintln!("{crash_points} crash points checked");
    assert!(crash_points >= 16, "only {crash_points} crash points");
}
