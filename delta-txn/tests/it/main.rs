//! Integration tests of delta-txn's read API.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    reason = "tests fail loudly"
)]

mod alter;
mod checkpoint_stats;
mod commit;
mod concurrency_props;
mod conflict;
mod crash;
mod lost_responses;
mod predicate;
mod predicate_props;
mod read;
mod write;
mod writer_rules;

use std::path::{Path, PathBuf};

/// The example table shipped with the repository.
pub fn example_table() -> PathBuf {
    PathBuf::from(concat!(env!("CARGO_MANIFEST_DIR"), "/../examples/people"))
        .canonicalize()
        .unwrap()
}

/// An `add` of a data file `<name>.parquet` (100 bytes, 3 rows), for
/// commits that need no real data.
pub fn add(name: &str) -> delta_log::Add {
    delta_log::Add {
        path: format!("{name}.parquet"),
        partition_values: std::collections::HashMap::new(),
        size: 100,
        modification_time: 0,
        data_change: true,
        stats: Some(r#"{"numRecords":3}"#.into()),
        tags: None,
        deletion_vector: None,
        base_row_id: None,
        default_row_commit_version: None,
        clustering_provider: None,
    }
}

/// A `remove` (with `dataChange`) of the file at `path`.
pub fn remove(path: &str) -> delta_log::Remove {
    delta_log::Remove {
        path: path.to_string(),
        deletion_timestamp: Some(0),
        data_change: true,
        extended_file_metadata: None,
        partition_values: None,
        size: None,
        stats: None,
        tags: None,
        deletion_vector: None,
        base_row_id: None,
        default_row_commit_version: None,
    }
}

/// A scratch copy of a table directory.
pub fn copy_tree(src: &Path, name: &str) -> PathBuf {
    delta_test::scratch_copy(src, name).unwrap()
}

/// The futures users spawn on a multi-threaded runtime are `Send`.
#[test]
fn operations_are_send() {
    fn send<T: Send>(_: T) {}
    let table = delta_txn::Table::at("/nonexistent/send-check").unwrap();
    let batches: Vec<Result<arrow::array::RecordBatch, delta_txn::TxnError>> = Vec::new();
    let schema = std::sync::Arc::new(arrow::datatypes::Schema::empty());
    send(table.write(
        schema,
        futures::stream::iter(batches),
        delta_txn::WriteOptions::default(),
    ));
    send(table.snapshot());
    send(table.snapshot_at(1));
    send(table.add_constraint("c", "x > 0"));
    send(table.history(None));
    send(table.transaction("WRITE"));
    send(delta_txn::Transaction::new(&table, None, "WRITE").commit());
}
