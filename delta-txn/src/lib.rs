//! Delta tables, snapshots and (later) transactions.
//!
//! ```no_run
//! # async fn demo() -> Result<(), delta_txn::TxnError> {
//! let table = delta_txn::Table::open("/data/events").await?;
//! let snapshot = table.snapshot_at(3).await?;
//! let batches = snapshot.scan().with_columns(["id", "ts"]).collect().await?;
//! # Ok(())
//! # }
//! ```

mod error;
pub mod location;
mod snapshot;
mod table;

pub use error::TxnError;
pub use snapshot::{SUPPORTED_READER_FEATURES, Scan, Snapshot};
pub use table::Table;
