//! Integration tests of delta-test: the canonical hash against the Python reference.

// clippy's allow-*-in-tests covers only `#[test]` functions, not the helpers here.
#![allow(
    clippy::unwrap_used,
    clippy::panic,
    reason = "test code: a failed read or parse should fail the test loudly"
)]

mod fixtures;
mod golden;

use std::fs::File;
use std::path::Path;

use arrow::record_batch::RecordBatch;
use parquet::arrow::arrow_reader::ParquetRecordBatchReaderBuilder;

/// All batches of a Parquet file, in small batches (so rows cross batch boundaries).
pub fn read_parquet(path: &Path) -> Vec<RecordBatch> {
    let file = File::open(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    ParquetRecordBatchReaderBuilder::try_new(file)
        .unwrap()
        .with_batch_size(3)
        .build()
        .unwrap()
        .collect::<Result<_, _>>()
        .unwrap()
}

/// All batches of an Arrow IPC file.
pub fn read_ipc(path: &Path) -> Vec<RecordBatch> {
    let file = File::open(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    arrow::ipc::reader::FileReader::try_new(file, None)
        .unwrap()
        .collect::<Result<_, _>>()
        .unwrap()
}
