//! The one error type of this crate.

/// Everything that can go wrong in `delta-schema`.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum SchemaError {
    /// The schema text is not JSON at all.
    #[error("schema is not valid JSON: {source}")]
    Json {
        /// The parser's complaint.
        #[source]
        source: serde_json::Error,
    },
    /// The JSON does not have the shape of a Delta schema.
    #[error("malformed schema at {path}: {reason}")]
    Malformed {
        /// Where in the schema (`$.fields[2].type`).
        path: String,
        /// What is wrong there.
        reason: String,
    },
    /// A type name that the protocol does not define.
    #[error("unknown Delta type '{name}'")]
    UnknownType {
        /// The name as written.
        name: String,
    },
    /// A decimal with a precision or scale out of range.
    #[error(
        "invalid decimal({precision},{scale}): precision must be 1..=38 and scale 0..=precision"
    )]
    InvalidDecimal {
        /// The precision given.
        precision: u8,
        /// The scale given.
        scale: u8,
    },
    /// An Arrow type that has no Delta counterpart.
    #[error("column '{column}': Arrow type {arrow_type} has no Delta equivalent")]
    UnsupportedArrowType {
        /// Path of the column (`a.b`).
        column: String,
        /// The Arrow type, printed.
        arrow_type: String,
    },
    /// Data that does not fit the table schema (schema enforcement).
    #[error("column '{column}': {reason}")]
    WriteMismatch {
        /// Path of the column (`a.b`).
        column: String,
        /// Why it does not fit.
        reason: String,
    },
    /// Arrow field metadata that should carry Delta metadata but cannot be read.
    #[error("column '{column}': field metadata '{key}' is not valid JSON: {reason}")]
    BadArrowMetadata {
        /// Path of the column.
        column: String,
        /// The metadata key.
        key: String,
        /// The parser's complaint.
        reason: String,
    },
}
