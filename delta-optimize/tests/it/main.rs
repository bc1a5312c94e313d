//! delta-optimize's tests, one binary: OPTIMIZE (compaction and Z-order),
//! VACUUM, log cleanup and RESTORE, with the fixtures they share.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    reason = "tests fail loudly"
)]

mod log_cleanup;
mod optimize;
mod restore;
mod vacuum;
mod zorder;

use std::sync::Arc;

use arrow::array::{ArrayRef, Int64Array, RecordBatch, StringArray};
use delta_txn::Table;

/// Rows `(id, city)`, the city Oslo, Rome or Lima by `id % 3`.
pub fn city_rows(ids: std::ops::Range<i64>) -> RecordBatch {
    let cities: Vec<&str> = ids
        .clone()
        .map(|i| ["Oslo", "Rome", "Lima"][(i % 3) as usize])
        .collect();
    RecordBatch::try_from_iter([
        (
            "id",
            Arc::new(Int64Array::from_iter_values(ids)) as ArrayRef,
        ),
        ("city", Arc::new(StringArray::from(cities)) as ArrayRef),
    ])
    .unwrap()
}

/// The canonical hash of the rows at `version` (the latest when `None`);
/// `None` when that version cannot be read.
pub async fn hash_at(table: &Table, version: Option<u64>) -> Option<String> {
    let snapshot = match version {
        Some(v) => table.snapshot_at(v).await.ok()?,
        None => table.snapshot().await.ok()?,
    };
    let batches = snapshot.scan().collect().await.ok()?;
    Some(delta_test::canonical_hash(&batches).unwrap())
}
