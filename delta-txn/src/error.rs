//! The one error type of this crate.

/// Everything that can go wrong opening, reading or committing to a table.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum TxnError {
    /// The table location cannot be used.
    #[error("invalid table location '{location}': {reason}")]
    InvalidLocation {
        /// The location as given.
        location: String,
        /// Why.
        reason: String,
    },
    /// The log could not be read or written.
    #[error(transparent)]
    Log(#[from] delta_log::LogError),
    /// Data files could not be read or written.
    #[error(transparent)]
    Io(#[from] delta_io::IoError),
    /// The table's schema is not valid.
    #[error("table schema at version {version}{}: {source}", in_file(.file.as_deref()))]
    Schema {
        /// The table version.
        version: u64,
        /// The log file the schema was read from, when known.
        file: Option<String>,
        /// The problem.
        #[source]
        source: delta_schema::SchemaError,
    },
    /// A table already exists where one was to be created.
    #[error("a Delta table already exists at '{location}' (version {version})")]
    TableExists {
        /// The location.
        location: String,
        /// Its latest version.
        version: u64,
    },
    /// Another writer committed first and this transaction cannot follow
    /// it (Delta's conflict rules, see [`crate::conflict`]); nothing was
    /// committed, and data files it wrote are left for VACUUM.
    #[error(
        "commit conflict with version {version} ({winning_operation}): {kind}{}",
        detail_text(detail)
    )]
    Conflict {
        /// The winning commit's version.
        version: u64,
        /// Which rule.
        kind: crate::conflict::ConflictKind,
        /// The winning commit's operation (`WRITE`, `DELETE`...).
        winning_operation: String,
        /// The file, application id or domain involved, or empty.
        detail: String,
    },
    /// The table is append-only (`delta.appendOnly = true`) and the commit
    /// would remove data; nothing was committed.
    #[error(
        "table '{table}' is append-only (delta.appendOnly = true): {operation} would remove {files} file(s); set delta.appendOnly = false first"
    )]
    AppendOnly {
        /// The table location.
        table: String,
        /// The refused operation.
        operation: String,
        /// How many files it would remove.
        files: usize,
    },
    /// Rows (written, or already in the table when adding a constraint)
    /// break a CHECK constraint or a column invariant; nothing was committed.
    #[error(
        "{constraint} ({expression}) is violated by {rows} row(s), e.g. {}; nothing was committed",
        examples.join("; ")
    )]
    ConstraintViolation {
        /// `CHECK constraint <name>` or `invariant of column <path>`.
        constraint: String,
        /// Its SQL expression.
        expression: String,
        /// How many rows break it (of the batch that failed, or of the table).
        rows: usize,
        /// The values of the columns it reads, for a few of those rows.
        examples: Vec<String>,
    },
    /// A predicate or expression that does not parse, bind or evaluate.
    #[error(transparent)]
    Expr(#[from] delta_expr::ExprError),
    /// Arrow could not put batches together (statistics, filters).
    #[error("arrow: {0}")]
    Arrow(#[from] arrow::error::ArrowError),
    /// A task of the async runtime that did part of the work failed (it
    /// panicked or the runtime shut down).
    #[error("a background task failed: {reason}")]
    TaskFailed {
        /// What the runtime said.
        reason: String,
    },
    /// An argument does not make sense for this table.
    #[error("invalid argument: {reason}")]
    InvalidArgument {
        /// What is wrong.
        reason: String,
    },
    /// Data does not fit the table schema; nothing was committed.
    #[error("schema mismatch: {source}")]
    SchemaMismatch {
        /// The column and the reason.
        #[source]
        source: delta_schema::SchemaError,
    },
    /// The table uses something this implementation does not support.
    #[error("unsupported: {what} (version {version})")]
    Unsupported {
        /// What is not supported.
        what: String,
        /// The table version.
        version: u64,
    },
}

fn detail_text(detail: &str) -> String {
    if detail.is_empty() {
        String::new()
    } else {
        format!(": {detail}")
    }
}

/// ` (in <file>)` when the file is known.
fn in_file(file: Option<&str>) -> String {
    file.map(|f| format!(" (in {f})")).unwrap_or_default()
}
