//! CHECK constraints (`delta.constraints.<name>` table properties) and
//! column invariants (`delta.invariants` column metadata), checked on every
//! row a write adds (PROTOCOL.md §"CHECK Constraints", §"Column
//! Invariants"). A row passes only when the expression is true: false and
//! null both fail, as in Spark. NOT NULL is schema enforcement's part
//! ([`crate::enforce`]).
//!
//! An expression this implementation cannot evaluate refuses the write by
//! name: a constraint is never skipped.

use arrow::array::{BooleanArray, RecordBatch};
use arrow::compute::{filter_record_batch, not};
use arrow::util::display::{ArrayFormatter, FormatOptions};
use delta_expr::{Bound, Expr, bind_predicate, parse};
use delta_log::TableProperties;
use delta_schema::{DataType, StructField, StructType};
use serde_json::Value;

use futures::TryStreamExt;

use crate::progress::Progress;
use crate::{Snapshot, TxnError};

/// Field metadata key of a column invariant.
pub const INVARIANTS_KEY: &str = "delta.invariants";

/// Violating rows shown in an error.
const EXAMPLES: usize = 3;

/// One rule the rows of a table must follow.
#[derive(Debug, Clone)]
struct Rule {
    /// `CHECK constraint <name>` or `invariant of column <path>`.
    what: String,
    expression: String,
    predicate: Bound,
}

/// The CHECK constraints and invariants of a table, typed against its schema.
#[derive(Debug, Clone, Default)]
pub struct Constraints {
    rules: Vec<Rule>,
}

impl Constraints {
    /// The rules of a table with this schema and these properties (at
    /// `version`, for messages). A rule this implementation cannot check
    /// refuses the write: [`TxnError::Unsupported`] naming it.
    pub fn for_table(
        schema: &StructType,
        properties: &TableProperties,
        version: u64,
    ) -> Result<Constraints, TxnError> {
        let rules = rules(schema, properties).map_err(|what| TxnError::Unsupported {
            what: format!("writing to a table whose {what}"),
            version,
        })?;
        Ok(Constraints { rules })
    }

    /// The CHECK constraints alone of a table with these properties.
    pub(crate) fn only_checks(
        schema: &StructType,
        properties: &TableProperties,
        version: u64,
    ) -> Result<Constraints, TxnError> {
        let rules =
            check_rules(schema, properties).map_err(|reason| TxnError::InvalidArgument {
                reason: format!("{reason} (version {version})"),
            })?;
        Ok(Constraints { rules })
    }

    /// Checks every row of the snapshot, reading only the columns the rules
    /// read; the error counts all violating rows.
    pub async fn check_existing(
        &self,
        snapshot: &Snapshot,
        progress: &dyn Progress,
    ) -> Result<(), TxnError> {
        let files = snapshot.files();
        if let Some(rows) = files.iter().map(|f| f.live_records()).sum::<Option<u64>>() {
            progress.total(rows * self.rules.len() as u64);
        }
        for rule in &self.rules {
            let mut columns: Vec<String> = Vec::new();
            for path in rule.predicate.columns() {
                if !columns.contains(&path[0]) {
                    columns.push(path[0].clone());
                }
            }
            let mut batches = snapshot.scan().with_columns(columns).execute()?;
            let mut rows = 0;
            let mut examples = Vec::new();
            while let Some(batch) = batches.try_next().await? {
                progress.advance(batch.num_rows() as u64);
                let failed = failed_rows(&rule.predicate, &batch)?;
                let count = failed.true_count();
                if count > 0 && examples.len() < EXAMPLES {
                    let violating = filter_record_batch(&batch, &failed)?;
                    examples.extend(examples_of(&violating, &rule.predicate));
                    examples.truncate(EXAMPLES);
                }
                rows += count;
            }
            if rows > 0 {
                return Err(TxnError::ConstraintViolation {
                    constraint: rule.what.clone(),
                    expression: rule.expression.clone(),
                    rows,
                    examples,
                });
            }
        }
        Ok(())
    }

    /// These rules and one more: rows must make `predicate` (the text of
    /// `expression`) true.
    pub(crate) fn with_rule(mut self, what: &str, expression: &Expr, predicate: Bound) -> Self {
        self.rules.push(Rule {
            what: what.to_string(),
            expression: expression.to_string(),
            predicate,
        });
        self
    }

    /// Whether there is nothing to check.
    pub fn is_empty(&self) -> bool {
        self.rules.is_empty()
    }

    /// Checks every row of `batch` (in the table's logical schema).
    pub fn check(&self, batch: &RecordBatch) -> Result<(), TxnError> {
        for rule in &self.rules {
            let failed = failed_rows(&rule.predicate, batch)?;
            let count = failed.true_count();
            if count == 0 {
                continue;
            }
            let violating = filter_record_batch(batch, &failed)?;
            return Err(TxnError::ConstraintViolation {
                constraint: rule.what.clone(),
                expression: rule.expression.clone(),
                rows: count,
                examples: examples_of(&violating, &rule.predicate),
            });
        }
        Ok(())
    }
}

/// Whether every CHECK constraint and invariant of a table can be checked
/// (they parse, name its columns and are boolean); the error says which
/// cannot, and why.
pub fn validate(schema: &StructType, properties: &TableProperties) -> Result<(), String> {
    rules(schema, properties).map(|_| ())
}

/// Whether every CHECK constraint of the table can be checked; the error
/// says which cannot, and why.
pub fn check_constraints_checkable(
    schema: &StructType,
    properties: &TableProperties,
) -> Result<(), String> {
    check_rules(schema, properties).map(|_| ())
}

/// Whether every column invariant of the schema can be checked; the error
/// says which cannot, and why.
pub fn invariants_checkable(schema: &StructType) -> Result<(), String> {
    invariant_rules(schema).map(|_| ())
}

/// The table's rules, typed; the error names a rule that cannot be checked.
fn rules(schema: &StructType, properties: &TableProperties) -> Result<Vec<Rule>, String> {
    let mut rules = check_rules(schema, properties)?;
    rules.extend(invariant_rules(schema)?);
    Ok(rules)
}

fn check_rules(schema: &StructType, properties: &TableProperties) -> Result<Vec<Rule>, String> {
    properties
        .constraints
        .iter()
        .map(|(name, expression)| rule(schema, format!("CHECK constraint {name}"), expression))
        .collect()
}

fn invariant_rules(schema: &StructType) -> Result<Vec<Rule>, String> {
    let mut invariants = Vec::new();
    collect_invariants(&schema.fields, &mut Vec::new(), &mut invariants);
    invariants
        .into_iter()
        .map(|(column, expression)| {
            rule(schema, format!("invariant of column {column}"), &expression)
        })
        .collect()
}

fn rule(schema: &StructType, what: String, expression: &str) -> Result<Rule, String> {
    let refused =
        |e: delta_expr::ExprError| format!("{what} ({expression}) cannot be checked: {e}");
    let predicate =
        bind_predicate(&parse(expression).map_err(refused)?, schema).map_err(refused)?;
    Ok(Rule {
        what,
        expression: expression.to_string(),
        predicate,
    })
}

/// Invariants in the schema: (column path, SQL expression).
fn collect_invariants(
    fields: &[StructField],
    path: &mut Vec<String>,
    out: &mut Vec<(String, String)>,
) {
    for field in fields {
        path.push(field.name.clone());
        if let Some(value) = field.metadata.get(INVARIANTS_KEY) {
            out.push((path.join("."), invariant_expression(value)));
        }
        if let DataType::Struct(inner) = &field.data_type {
            collect_invariants(&inner.fields, path, out);
        }
        path.pop();
    }
}

/// The SQL of an invariant: `{"expression":{"expression":"<sql>"}}`, stored
/// as JSON text or as a JSON object.
fn invariant_expression(value: &Value) -> String {
    let parsed = match value {
        Value::String(text) => serde_json::from_str(text).unwrap_or(Value::Null),
        other => other.clone(),
    };
    parsed["expression"]["expression"]
        .as_str()
        .map_or_else(|| value.to_string(), str::to_string)
}

/// The rows for which a rule is not true (false or null).
fn failed_rows(predicate: &Bound, batch: &RecordBatch) -> Result<BooleanArray, TxnError> {
    Ok(not(&predicate.matching_rows(batch)?)?)
}

/// A few violating rows, as the values of the columns the rule reads.
fn examples_of(violating: &RecordBatch, predicate: &Bound) -> Vec<String> {
    let columns = predicate.columns();
    let options = FormatOptions::default().with_null("null");
    (0..violating.num_rows().min(EXAMPLES))
        .map(|row| {
            columns
                .iter()
                .map(|path| {
                    let value = delta_expr::column(violating, path)
                        .ok()
                        .and_then(|array| {
                            ArrayFormatter::try_new(array.as_ref(), &options)
                                .ok()
                                .map(|f| f.value(row).to_string())
                        })
                        .unwrap_or_else(|| "?".to_string());
                    format!("{} = {value}", path.join("."))
                })
                .collect::<Vec<_>>()
                .join(", ")
        })
        .collect()
}
