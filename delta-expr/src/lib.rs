//! Predicates and expressions over Arrow record batches and over Delta file
//! statistics (data skipping).
//!
//! This crate is a placeholder: expressions arrive with the "expressions and
//! constraints" issue. It will own a SQL-expression parser, an evaluator over
//! Arrow `RecordBatch`es and a rewriter of predicates into min/max/null-count
//! tests over per-file stats. It knows no files, log or transactions.
