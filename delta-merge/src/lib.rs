//! DELETE, UPDATE and MERGE for Delta tables: each reads the
//! rows it changes, writes what replaces them and commits one transaction
//! through delta-txn, with the read set Delta's conflict rules need.
//!
//! Without deletion vectors, files holding changed rows are rewritten
//! (copy-on-write). With `delta.enableDeletionVectors = true` the changed
//! rows of a file are marked in its deletion vector instead, and only the
//! new versions of updated rows are written ([`mark`]). A file whose every
//! row is deleted is removed either way, and a predicate on partition
//! columns alone removes files without reading them.
//!
//! ```no_run
//! # async fn demo() -> Result<(), delta_merge::MergeError> {
//! let table = delta_txn::Table::open("/data/events").await?;
//! let predicate = delta_expr::parse("day < DATE '2024-01-01'")?;
//! let outcome = delta_merge::delete(&table, Some(&predicate)).await?;
//! println!("{} rows deleted", outcome.metrics["numDeletedRows"]);
//! # Ok(())
//! # }
//! ```
//!
//! An upsert that may add the source's new columns, holding at most 256 MiB
//! of source rows in memory:
//!
//! ```no_run
//! # async fn demo(
//! #     table: delta_txn::Table,
//! #     schema: arrow::datatypes::SchemaRef,
//! #     rows: Vec<arrow::array::RecordBatch>,
//! # ) -> Result<(), delta_merge::MergeError> {
//! use delta_merge::{Clause, Merge, merge};
//! let on = delta_expr::parse("target.id = source.id")?;
//! let statement = Merge::new(schema, rows, on)
//!     .when(Clause::MatchedUpdateAll { condition: None })
//!     .when(Clause::NotMatchedInsertAll { condition: None })
//!     .with_merge_schema(true)
//!     .with_memory_budget(256 << 20);
//! let outcome = merge(&table, statement).await?;
//! println!("{} rows inserted", outcome.metrics["numTargetRowsInserted"]);
//! # Ok(())
//! # }
//! ```

mod assign;
mod delete;
mod error;
mod keys;
pub mod mark;
mod merge;
mod outcome;
mod source;
mod update;

pub use delete::delete;
pub use error::MergeError;
pub use merge::{Clause, Merge, merge};
pub use outcome::DmlOutcome;
pub use source::{DEFAULT_MEMORY_BUDGET, MergeSource};
pub use update::update;
