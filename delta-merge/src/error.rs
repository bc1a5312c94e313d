//! The one error type of this crate.

/// Everything that can go wrong in DELETE, UPDATE and MERGE.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum MergeError {
    /// Reading, writing or committing failed (conflicts and constraint
    /// violations included); nothing was committed.
    #[error(transparent)]
    Txn(#[from] delta_txn::TxnError),
    /// A predicate or expression does not parse, bind or evaluate.
    #[error(transparent)]
    Expr(#[from] delta_expr::ExprError),
    /// Data files or deletion vectors could not be read or written.
    #[error(transparent)]
    Io(#[from] delta_io::IoError),
    /// Arrow could not compute or convert a column.
    #[error("arrow: {0}")]
    Arrow(#[from] arrow::error::ArrowError),
    /// A deletion vector could not be written to the store.
    #[error("writing the deletion vector file '{path}': {source}")]
    Store {
        /// The file.
        path: String,
        /// The store's error.
        #[source]
        source: object_store::Error,
    },
    /// The rows of a MERGE source could not be read.
    #[error("cannot read the MERGE source '{source_name}': {reason}")]
    Source {
        /// The source (a file name...).
        source_name: String,
        /// What went wrong.
        reason: String,
    },
    /// A MERGE source larger than its memory budget could not be spilled
    /// to local files or read back.
    #[error("spilling the MERGE source to '{path}': {reason}")]
    Spill {
        /// The file or directory.
        path: String,
        /// What went wrong.
        reason: String,
    },
    /// The statement does not make sense for this table.
    #[error("invalid {operation}: {reason}")]
    Invalid {
        /// DELETE, UPDATE or MERGE.
        operation: &'static str,
        /// What is wrong.
        reason: String,
    },
    /// The statement needs something not implemented yet.
    #[error("{operation}: {what} is not supported yet")]
    Unsupported {
        /// DELETE, UPDATE or MERGE.
        operation: &'static str,
        /// What.
        what: String,
    },
}
