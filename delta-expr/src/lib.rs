//! Predicates and expressions over Arrow record batches and over Delta file
//! statistics (data skipping).
//!
//! - [`parse`]: SQL text to an [`Expr`] (with the sqlparser crate DataFusion
//!   uses).
//!
//! Pure and sync: no I/O, no runtime. It knows no files, log or transactions.
//!
//! ```
//! use delta_expr::{Expr, parse};
//!
//! let e = parse("a.b > 1 AND c IS NOT NULL")?;
//! assert!(matches!(e, Expr::And(..)));
//! # Ok::<(), delta_expr::ExprError>(())
//! ```

mod error;
pub mod expr;
mod parse;

pub use error::ExprError;
pub use expr::{ArithOp, CompareOp, Expr, Literal};
pub use parse::parse;
