//! Predicates and expressions over Arrow record batches and over Delta file
//! statistics (data skipping).
//!
//! - [`parse`]: SQL text to an [`Expr`] (with the sqlparser crate DataFusion
//!   uses).
//! - [`bind`] / [`bind_predicate`]: the expression typed against a table
//!   schema before any data is read (unknown columns with a suggestion,
//!   ambiguous names, type mismatches), as a [`Bound`].
//! - [`Bound::evaluate`] / [`Bound::evaluate_predicate`]: its values over an
//!   Arrow batch, with SQL's three-valued logic and Spark's rules where
//!   engines differ (NaN equals NaN and is above every number; overflow and
//!   division by zero are errors, as in Spark's default ANSI mode).
//! - [`SkippingPredicate`]: a bound predicate rewritten over per-file
//!   statistics (minimums, maximums, null counts, partition values), false
//!   only for files that cannot hold a matching row.
//!
//! Pure and sync: no I/O, no runtime. It knows no files, log or transactions.
//!
//! ```
//! use std::sync::Arc;
//! use arrow::array::{Int64Array, RecordBatch};
//! use delta_expr::{bind_predicate, parse};
//! use delta_schema::{DataType, StructField, StructType};
//!
//! let schema = StructType::new([StructField::new("id", DataType::LONG, true)]);
//! let predicate = bind_predicate(&parse("id > 1 AND id <> 3")?, &schema)?;
//! let batch = RecordBatch::try_from_iter([(
//!     "id",
//!     Arc::new(Int64Array::from(vec![Some(1), Some(2), Some(3), None])) as _,
//! )])
//! .unwrap();
//! let keep = predicate.evaluate_predicate(&batch)?;
//! assert_eq!(keep.iter().collect::<Vec<_>>(), [Some(false), Some(true), Some(false), None]);
//! # Ok::<(), delta_expr::ExprError>(())
//! ```

mod bind;
mod error;
mod eval;
pub mod expr;
mod parse;
pub mod skip;

pub use bind::{Bound, bind, bind_predicate};
pub use error::ExprError;
pub use eval::column;
pub use expr::{ArithOp, CompareOp, Expr, Literal};
pub use parse::parse;
pub use skip::SkippingPredicate;
