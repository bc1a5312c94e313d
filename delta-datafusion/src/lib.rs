//! Delta tables as DataFusion tables.
//!
//! [`DeltaTableProvider`] is a DataFusion `TableProvider` over a
//! [`delta_txn::Table`]: scans read through our own read path (column
//! mapping, deletion vectors, partition values), with DataFusion's filters
//! translated into delta-expr predicates that prune files by partition
//! values and statistics; `INSERT INTO` / `INSERT OVERWRITE` commit through
//! our transaction, with schema enforcement, constraints and conflict
//! rules, one commit per statement; `DELETE`, `UPDATE` and
//! `MERGE INTO ... USING ... ON ... WHEN ...` run through delta-merge
//! (deletion vectors or copy-on-write, as the table says), with Delta's
//! semantics and metrics.
//!
//! ```no_run
//! # async fn demo() -> Result<(), Box<dyn std::error::Error>> {
//! use std::sync::Arc;
//! use datafusion::prelude::SessionContext;
//! use delta_datafusion::DeltaTableProvider;
//!
//! let table = delta_txn::Table::open("/data/events").await?;
//! let ctx = SessionContext::new();
//! ctx.register_table("events", Arc::new(DeltaTableProvider::latest(table).await?))?;
//! let rows = ctx.sql("SELECT city, count(*) FROM events GROUP BY city").await?.collect().await?;
//! # Ok(())
//! # }
//! ```

mod dml;
mod filters;
mod merge;
mod provider;
mod scan;
mod sink;
mod statistics;
mod time_travel;

pub use dml::{DeltaDmlExec, Statement};
pub use filters::{Pushdown, pushdown, to_expr, to_predicate};
pub use provider::DeltaTableProvider;
pub use scan::{DeltaScanExec, DeltaScanParts};
pub use sink::DeltaSink;
pub use time_travel::{TimeTravelPlanner, enable_time_travel};

/// The DataFusion this crate is built with (use it to get the same version).
pub use datafusion;

/// What can go wrong between DataFusion and a Delta table.
#[derive(Debug, thiserror::Error)]
pub enum DeltaDataFusionError {
    /// Reading or committing the table failed.
    #[error(transparent)]
    Txn(#[from] delta_txn::TxnError),
    /// A DELETE, UPDATE or MERGE failed.
    #[error(transparent)]
    Merge(#[from] delta_merge::MergeError),
    /// The table's schema has changed since the provider was made (a
    /// provider keeps one schema for DataFusion's plans).
    #[error(
        "the schema of '{table}' changed at version {version} since it was registered; register it again"
    )]
    SchemaChanged {
        /// The table.
        table: String,
        /// The version with the new schema.
        version: u64,
    },
    /// An asynchronous step (loading a snapshot for time travel) could not
    /// run from DataFusion's synchronous SQL planner.
    #[error("cannot load a snapshot while planning SQL: {reason}")]
    Runtime {
        /// What went wrong.
        reason: String,
    },
    /// A statement this integration does not support, by name.
    #[error("{what} is not supported")]
    Unsupported {
        /// What.
        what: String,
    },
}

impl From<DeltaDataFusionError> for datafusion::error::DataFusionError {
    fn from(e: DeltaDataFusionError) -> Self {
        datafusion::error::DataFusionError::External(Box::new(e))
    }
}

/// A delta-txn error as a DataFusion error.
pub(crate) fn df_error(e: delta_txn::TxnError) -> datafusion::error::DataFusionError {
    DeltaDataFusionError::Txn(e).into()
}
