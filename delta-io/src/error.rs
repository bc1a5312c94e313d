//! The one error type of this crate.

/// Everything that can go wrong reading or writing data files. Messages name
/// the file and column where there is one.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum IoError {
    /// The object store failed on a path.
    #[error("storage error at '{path}': {source}")]
    Store {
        /// Path the operation was on.
        path: String,
        /// The store's error.
        #[source]
        source: object_store::Error,
    },
    /// A data file referenced by the log does not exist.
    #[error("data file '{path}' referenced by the log is missing")]
    MissingFile {
        /// The file.
        path: String,
    },
    /// A Parquet file could not be read.
    #[error("cannot read Parquet file '{path}': {reason}")]
    Parquet {
        /// The file.
        path: String,
        /// The reader's complaint.
        reason: String,
    },
    /// A file's column does not fit the table schema.
    #[error("file '{path}', column '{column}': {reason}")]
    Column {
        /// The file.
        path: String,
        /// The column (dotted path).
        column: String,
        /// What does not fit.
        reason: String,
    },
    /// A partition value in the log cannot be read as its column's type.
    #[error("partition value {value:?} of column '{column}' is not a valid {data_type}: {reason}")]
    PartitionValue {
        /// The column.
        column: String,
        /// The value as serialized in the log.
        value: String,
        /// The column's Delta type.
        data_type: String,
        /// Why it does not parse.
        reason: String,
    },
    /// A path in the log cannot be resolved.
    #[error("invalid file path '{path}' in the log: {reason}")]
    InvalidPath {
        /// The path as written.
        path: String,
        /// Why.
        reason: String,
    },
    /// A column asked for does not exist.
    #[error("no column '{column}' in the table (columns: {available})")]
    NoSuchColumn {
        /// The name asked for.
        column: String,
        /// The table's columns.
        available: String,
    },
    /// A deletion vector that cannot be read.
    #[error("deletion vector {id}: {source}")]
    DeletionVector {
        /// The vector's unique id.
        id: String,
        /// What is wrong with it.
        #[source]
        source: crate::dv::DvError,
    },
    /// A table schema that cannot be read.
    #[error(transparent)]
    Schema(#[from] delta_schema::SchemaError),
    /// A data file could not be written.
    #[error("cannot write data file '{path}': {reason}")]
    Write {
        /// The file being written.
        path: String,
        /// What failed.
        reason: String,
    },
    /// A batch given to the writer does not have the table's Arrow schema.
    #[error("batch does not match the table schema at column '{column}': {reason}")]
    BatchSchema {
        /// The column (dotted path; `*` for the whole batch).
        column: String,
        /// What differs.
        reason: String,
    },
    /// A partition column that cannot be written.
    #[error("cannot partition by column '{column}': {reason}")]
    InvalidPartitionColumn {
        /// The column.
        column: String,
        /// Why.
        reason: String,
    },
    /// A value of a partition column that has no partition value serialization.
    #[error("cannot serialize a value of partition column '{column}' ({data_type}): {reason}")]
    UnwritablePartitionValue {
        /// The column.
        column: String,
        /// Its Delta type.
        data_type: String,
        /// Why.
        reason: String,
    },
    /// The writer was used after one of its writes failed: the files it wrote
    /// must not be committed.
    #[error("the data writer failed earlier ({reason}); its files must not be committed")]
    WriterFailed {
        /// The first failure.
        reason: String,
    },
}
