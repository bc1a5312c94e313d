//! The facade's one error: each crate's error, kept whole so callers can
//! match on the variant they care about.

/// Anything a [`crate::DeltaTable`] operation can fail with.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// An expression given as SQL text does not parse.
    #[error("{what}: {source}")]
    Expression {
        /// Which argument held it (`the filter`, `the ON condition`, ...).
        what: String,
        /// Why it does not parse.
        #[source]
        source: delta_expr::ExprError,
    },
    /// A schema could not be converted or does not fit.
    #[error(transparent)]
    Schema(#[from] delta_schema::SchemaError),
    /// Opening, reading, writing or committing failed.
    #[error(transparent)]
    Txn(#[from] delta_txn::TxnError),
    /// DELETE, UPDATE or MERGE failed; nothing was committed.
    #[error(transparent)]
    Dml(#[from] delta_merge::MergeError),
    /// OPTIMIZE, VACUUM or RESTORE failed.
    #[error(transparent)]
    Maintenance(#[from] delta_optimize::OptimizeError),
    /// Planning or running a DataFusion query over the table failed.
    #[error(transparent)]
    DataFusion(#[from] delta_datafusion::DeltaDataFusionError),
    /// A repair failed.
    #[error(transparent)]
    Repair(#[from] delta_check::RepairError),
}

/// Parses `text` as one SQL expression; the error names `what` it was.
pub(crate) fn parse(what: &str, text: &str) -> Result<delta_expr::Expr, Error> {
    delta_expr::parse(text).map_err(|source| Error::Expression {
        what: what.to_string(),
        source,
    })
}
