//! The one error type of this crate.

use thiserror::Error;

/// Why an expression could not be parsed, bound to a schema or evaluated.
#[derive(Debug, Error)]
pub enum ExprError {
    /// The text is not a valid SQL expression.
    #[error("cannot parse '{text}': {reason}")]
    Parse {
        /// The text given.
        text: String,
        /// What the parser said.
        reason: String,
    },
    /// A column the schema does not have.
    #[error("unknown column '{name}'{}", suggestion.as_ref().map(|s| format!("; did you mean '{s}'?")).unwrap_or_default())]
    UnknownColumn {
        /// The name as written.
        name: String,
        /// The closest name the schema has, if one is close.
        suggestion: Option<String>,
    },
    /// A name that matches several columns (names compare case-insensitively).
    #[error("column name '{name}' is ambiguous: it matches {}", candidates.join(", "))]
    AmbiguousColumn {
        /// The name as written.
        name: String,
        /// The columns it matches.
        candidates: Vec<String>,
    },
    /// Operands whose types do not fit the operation.
    #[error("type mismatch in '{expr}': {reason}")]
    TypeMismatch {
        /// The expression, as SQL text.
        expr: String,
        /// What does not fit.
        reason: String,
    },
    /// SQL this crate does not support (yet), named.
    #[error("{what} is not supported")]
    Unsupported {
        /// What was asked for.
        what: String,
    },
    /// Evaluation failed on the data: overflow, division by zero, a value
    /// that does not convert (ANSI SQL semantics, as Spark's default).
    #[error("evaluating '{expr}': {reason}")]
    Eval {
        /// The expression, as SQL text.
        expr: String,
        /// What went wrong.
        reason: String,
    },
}
