//! File management for Delta tables: compaction and Z-order clustering
//! (OPTIMIZE), VACUUM and RESTORE, through `delta-txn` (whose commits clean
//! up the expired log after a checkpoint, `Table::cleanup_log`). It knows
//! no MERGE and no consistency checks.
//!
//! ```no_run
//! # async fn demo() -> Result<(), delta_optimize::OptimizeError> {
//! use delta_optimize::{OptimizeOptions, optimize};
//! use delta_txn::progress::NoProgress;
//! let table = delta_txn::Table::open("/data/events").await?;
//! let options = OptimizeOptions {
//!     predicate: Some(delta_expr::parse("day >= DATE '2024-01-01'")?),
//!     ..OptimizeOptions::default()
//! };
//! let outcome = optimize(&table, options, &NoProgress).await?;
//! println!(
//!     "{} files compacted into {}",
//!     outcome.metrics.num_files_removed, outcome.metrics.num_files_added
//! );
//! # Ok(())
//! # }
//! ```

mod compact;
mod error;
mod restore;
mod vacuum;
pub mod zorder;

pub use compact::{
    DEFAULT_TARGET_SIZE, FileSizes, OptimizeMetrics, OptimizeOptions, OptimizeOutcome, optimize,
};
pub use error::OptimizeError;
pub use restore::{RestoreOutcome, RestoreTarget, restore};
pub use vacuum::{VacuumOptions, VacuumOutcome, vacuum};
