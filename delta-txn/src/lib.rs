//! Delta tables, snapshots and transactions.
//!
//! ```no_run
//! # async fn demo() -> Result<(), delta_txn::TxnError> {
//! let table = delta_txn::Table::open("/data/events").await?;
//! let snapshot = table.snapshot_at(3).await?;
//! let batches = snapshot.scan().with_columns(["id", "ts"]).collect().await?;
//! # Ok(())
//! # }
//! ```

mod alter;
pub mod background_writer;
pub mod column_mapping;
pub mod conflict;
pub mod constraints;
pub mod enforce;
mod error;
pub mod location;
pub mod log_cleanup;
pub mod progress;
pub mod protocol;
pub mod retained;
pub mod rewrite;
mod skipping;
mod snapshot;
mod table;
mod transaction;
pub mod writable;
mod write;

pub use conflict::{ConflictKind, IsolationLevel, ReadSet};
pub use delta_log::properties::DEFAULT_CHECKPOINT_INTERVAL;
pub use error::TxnError;
pub use snapshot::{SUPPORTED_READER_FEATURES, Scan, SkipReport, Snapshot};
pub use table::{CreateOptions, Table};
pub use transaction::{CommitOutcome, ENGINE_INFO, Transaction, now_ms};
pub use write::{SaveMode, SchemaChange, WriteOptions, evolve_schema};
