//! The one error type of this crate.

/// Everything that can go wrong in OPTIMIZE, VACUUM and RESTORE.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum OptimizeError {
    /// Reading, writing or committing failed (conflicts included); nothing
    /// was committed.
    #[error(transparent)]
    Txn(#[from] delta_txn::TxnError),
    /// A predicate does not parse or bind.
    #[error(transparent)]
    Expr(#[from] delta_expr::ExprError),
    /// Data files could not be read or written.
    #[error(transparent)]
    Io(#[from] delta_io::IoError),
    /// The request does not make sense for this table.
    #[error("invalid {operation}: {reason}")]
    Invalid {
        /// OPTIMIZE, VACUUM or RESTORE.
        operation: &'static str,
        /// What is wrong.
        reason: String,
    },
}
