//! Parquet data files of Delta tables.
//!
//! Reading: [`ReadPlan`] says which columns a scan produces; [`read_file`]
//! streams one data file as Arrow record batches in the table's logical schema
//! (projection, column mapping by name or id, widened types, partition values
//! from the log, deleted rows dropped). Paths from the log are resolved by
//! [`paths`]; partition values are parsed by [`partition`].
//!
//! Writing: [`writer::DataWriter`] turns record batches into Parquet data files
//! (partitioned, rolled over at a target size, column mapping applied) and
//! returns their `add` actions with statistics.
//!
//! This crate knows nothing of commits or conflicts.

pub mod conform;
pub mod dv;
pub mod dv_write;
mod error;
mod pages;
pub mod partition;
pub mod paths;
mod reader;
pub mod writer;

pub use conform::ColumnMapping;
pub use error::IoError;
pub use reader::{
    BATCH_ROWS, DeletedRows, FileSlice, ROW_INDEX_COLUMN, ReadPlan, load_deletion_vector,
    open_file, read_file,
};
