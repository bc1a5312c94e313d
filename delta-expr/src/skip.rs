//! Data skipping: a predicate rewritten over per-file statistics, so that
//! files that cannot hold a matching row are not read.
//!
//! The rewritten predicate is conservative: it is false only for files where
//! no row can match; unknown (missing statistics, predicates it cannot
//! rewrite) keeps the file. It reads a batch with one row per file:
//!
//! - `numRecords: long`;
//! - `minValues` / `maxValues`: structs of the referenced columns, nested as
//!   in the table, in their table types;
//! - `nullCount`: the same structs with `long` leaves.
//!
//! (Partition columns go in the same columns: their value is both minimum and
//! maximum.) Float columns are only bounded from above by their maximum when
//! the predicate cannot match NaN, which statistics leave out.

use std::sync::Arc;

use arrow::array::{Array, BooleanArray, RecordBatch};
use delta_schema::{DataType, PrimitiveType, StructField, StructType};

use crate::ExprError;
use crate::bind::{Bound, Node};
use crate::expr::CompareOp;

/// The statistics fields of the batch [`SkippingPredicate::keep`] reads.
pub const NUM_RECORDS: &str = "numRecords";
/// Per-column minimums.
pub const MIN_VALUES: &str = "minValues";
/// Per-column maximums.
pub const MAX_VALUES: &str = "maxValues";
/// Per-column null counts.
pub const NULL_COUNT: &str = "nullCount";

/// A predicate over file statistics.
#[derive(Debug, Clone)]
pub struct SkippingPredicate {
    predicate: Bound,
    columns: Vec<(Vec<String>, DataType)>,
}

impl SkippingPredicate {
    /// The statistics predicate for a bound row predicate; `None` when no
    /// part of it can skip a file.
    pub fn new(row_predicate: &Bound) -> Option<SkippingPredicate> {
        let mut columns = Vec::new();
        let predicate = rewrite(row_predicate, false, &mut columns)?;
        columns.sort_by(|a: &(Vec<String>, DataType), b| a.0.cmp(&b.0));
        columns.dedup_by(|a, b| a.0 == b.0);
        Some(SkippingPredicate { predicate, columns })
    }

    /// The columns whose statistics it reads: paths as the schema spells
    /// them, with their types.
    pub fn columns(&self) -> &[(Vec<String>, DataType)] {
        &self.columns
    }

    /// The schema of the statistics batch (see the [module docs](self)).
    pub fn stats_schema(&self) -> StructType {
        stats_schema(&self.columns)
    }

    /// For each file (row of `stats`, in [`Self::stats_schema`]), whether it
    /// may hold a matching row.
    pub fn keep(&self, stats: &RecordBatch) -> Result<BooleanArray, ExprError> {
        let verdict = self.predicate.evaluate_predicate(stats)?;
        // unknown keeps the file
        Ok(verdict.iter().map(|v| Some(v != Some(false))).collect())
    }
}

/// The schema of a statistics batch for these columns (paths and types):
/// see the [module docs](self).
pub fn stats_schema(columns: &[(Vec<String>, DataType)]) -> StructType {
    let values = |leaf: &dyn Fn(&DataType) -> DataType| {
        let mut root = StructType::new([]);
        for (path, t) in columns {
            insert(&mut root, path, leaf(t));
        }
        DataType::Struct(Box::new(root))
    };
    StructType::new([
        StructField::new(NUM_RECORDS, DataType::LONG, true),
        StructField::new(MIN_VALUES, values(&|t| t.clone()), true),
        StructField::new(MAX_VALUES, values(&|t| t.clone()), true),
        StructField::new(NULL_COUNT, values(&|_| DataType::LONG), true),
    ])
}

fn insert(root: &mut StructType, path: &[String], leaf: DataType) {
    let Some((first, rest)) = path.split_first() else {
        return;
    };
    if rest.is_empty() {
        if root.field(first).is_none() {
            root.fields
                .push(StructField::new(first.clone(), leaf, true));
        }
        return;
    }
    let position = match root.index_of(first) {
        Some(i) => i,
        None => {
            root.fields.push(StructField::new(
                first.clone(),
                DataType::Struct(Box::new(StructType::new([]))),
                true,
            ));
            root.fields.len() - 1
        }
    };
    if let DataType::Struct(inner) = &mut root.fields[position].data_type {
        insert(inner, rest, leaf);
    }
}

fn with(b: &Bound, node: Node, data_type: DataType) -> Bound {
    Bound {
        node,
        data_type,
        text: Arc::clone(&b.text),
    }
}

fn boolean(b: &Bound, node: Node) -> Bound {
    with(b, node, DataType::BOOLEAN)
}

/// A statistics column: `kind` (`minValues`, ...) then the column's path.
fn stat(b: &Bound, kind: &str, path: &[String], data_type: DataType) -> Bound {
    let mut full = vec![kind.to_string()];
    full.extend(path.iter().cloned());
    with(b, Node::Column(full), data_type)
}

/// The column a comparison operand reads: a column, possibly converted in
/// an order-keeping way (number to number, date to timestamp), so that its
/// statistics converted the same way still bound it. Returns the path, its
/// type, and the conversion to apply to statistics.
fn column_of(b: &Bound) -> Option<(&[String], &DataType, Option<&DataType>)> {
    match &b.node {
        Node::Column(path) => Some((path, &b.data_type, None)),
        Node::Cast(inner) => match &inner.node {
            Node::Column(path) if keeps_order(&inner.data_type, &b.data_type) => {
                Some((path, &inner.data_type, Some(&b.data_type)))
            }
            _ => None,
        },
        _ => None,
    }
}

/// Whether converting `from` to `to` never reverses two values' order
/// (a string to a number would: '10' < '9').
fn keeps_order(from: &DataType, to: &DataType) -> bool {
    use PrimitiveType as P;
    let number = |t: &DataType| {
        matches!(
            t,
            DataType::Primitive(
                P::Byte
                    | P::Short
                    | P::Integer
                    | P::Long
                    | P::Float
                    | P::Double
                    | P::Decimal { .. }
            )
        )
    };
    (number(from) && number(to))
        || matches!(
            (from, to),
            (
                DataType::Primitive(P::Date),
                DataType::Primitive(P::Timestamp | P::TimestampNtz)
            )
        )
}

fn is_float(t: &DataType) -> bool {
    matches!(
        t,
        DataType::Primitive(PrimitiveType::Float | PrimitiveType::Double)
    )
}

fn negate(op: CompareOp) -> Option<CompareOp> {
    Some(match op {
        CompareOp::Eq => CompareOp::NotEq,
        CompareOp::NotEq => CompareOp::Eq,
        CompareOp::Lt => CompareOp::GtEq,
        CompareOp::LtEq => CompareOp::Gt,
        CompareOp::Gt => CompareOp::LtEq,
        CompareOp::GtEq => CompareOp::Lt,
        CompareOp::NullSafeEq => return None,
    })
}

/// The statistics form of `b` (of `NOT b` when `negated`); `None` when it
/// cannot rule a file out.
fn rewrite(b: &Bound, negated: bool, columns: &mut Vec<(Vec<String>, DataType)>) -> Option<Bound> {
    match &b.node {
        Node::Not(inner) => rewrite(inner, !negated, columns),
        Node::And(x, y) | Node::Or(x, y) => {
            let conjunction = matches!(b.node, Node::And(..)) != negated;
            let x = rewrite(x, negated, columns);
            let y = rewrite(y, negated, columns);
            if conjunction {
                match (x, y) {
                    (Some(x), Some(y)) => Some(boolean(b, Node::And(Box::new(x), Box::new(y)))),
                    (one, None) | (None, one) => one,
                }
            } else {
                let (x, y) = (x?, y?);
                Some(boolean(b, Node::Or(Box::new(x), Box::new(y))))
            }
        }
        Node::IsNull(inner, is_not) => {
            let (path, t, _) = column_of(inner)?;
            columns.push((path.to_vec(), t.clone()));
            let nulls = stat(b, NULL_COUNT, path, DataType::LONG);
            let zero = literal_long(b, 0);
            if *is_not != negated {
                // some row is not null: fewer nulls than rows
                let rows = with(
                    b,
                    Node::Column(vec![NUM_RECORDS.to_string()]),
                    DataType::LONG,
                );
                Some(boolean(
                    b,
                    Node::Compare(CompareOp::Lt, Box::new(nulls), Box::new(rows)),
                ))
            } else {
                Some(boolean(
                    b,
                    Node::Compare(CompareOp::Gt, Box::new(nulls), Box::new(zero)),
                ))
            }
        }
        Node::Compare(op, x, y) => {
            let op = if negated { negate(*op)? } else { *op };
            let (column, value, op) = match (&x.node, &y.node) {
                (_, Node::Literal(_)) => (x, y, op),
                (Node::Literal(_), _) => (y, x, op.flipped()),
                _ => return None,
            };
            let Node::Literal(literal) = &value.node else {
                return None;
            };
            let (path, t, widened) = column_of(column)?;
            let float = is_float(t);
            let null_literal = literal.is_null(0);
            if null_literal {
                // `x <=> NULL` is `x IS NULL`; any other comparison with null is never true
                return match op {
                    CompareOp::NullSafeEq => {
                        let is_null = boolean(b, Node::IsNull(column.clone(), false));
                        rewrite(&is_null, false, columns)
                    }
                    _ => Some(with(
                        b,
                        Node::Literal(Arc::new(BooleanArray::from(vec![false]))),
                        DataType::BOOLEAN,
                    )),
                };
            }
            if float && literal_is_nan(literal) {
                return None;
            }
            columns.push((path.to_vec(), t.clone()));
            let bound_of = |kind: &str| {
                let s = stat(b, kind, path, t.clone());
                match widened {
                    Some(to) => with(b, Node::Cast(Box::new(s)), to.clone()),
                    None => s,
                }
            };
            let test = |op: CompareOp, kind: &str| {
                boolean(
                    b,
                    Node::Compare(op, Box::new(bound_of(kind)), value.clone()),
                )
            };
            let bounds = match op {
                CompareOp::Lt | CompareOp::LtEq => Some(test(op, MIN_VALUES)),
                // NaN is above every number and statistics leave it out
                CompareOp::Gt | CompareOp::GtEq if float => None,
                CompareOp::Gt | CompareOp::GtEq => Some(test(op, MAX_VALUES)),
                CompareOp::Eq | CompareOp::NullSafeEq => Some(boolean(
                    b,
                    Node::And(
                        Box::new(test(CompareOp::LtEq, MIN_VALUES)),
                        Box::new(test(CompareOp::GtEq, MAX_VALUES)),
                    ),
                )),
                CompareOp::NotEq if float => None,
                // some row differs unless every value is the literal
                CompareOp::NotEq => Some(boolean(
                    b,
                    Node::Or(
                        Box::new(test(CompareOp::NotEq, MIN_VALUES)),
                        Box::new(test(CompareOp::NotEq, MAX_VALUES)),
                    ),
                )),
            }?;
            // and some value is not null (a file of nulls has no bounds)
            let rows = with(
                b,
                Node::Column(vec![NUM_RECORDS.to_string()]),
                DataType::LONG,
            );
            let nulls = stat(b, NULL_COUNT, path, DataType::LONG);
            let some_value = boolean(
                b,
                Node::Compare(CompareOp::Lt, Box::new(nulls), Box::new(rows)),
            );
            Some(boolean(
                b,
                Node::And(Box::new(bounds), Box::new(some_value)),
            ))
        }
        _ => None,
    }
}

fn literal_long(b: &Bound, v: i64) -> Bound {
    with(
        b,
        Node::Literal(Arc::new(arrow::array::Int64Array::from(vec![v]))),
        DataType::LONG,
    )
}

fn literal_is_nan(literal: &arrow::array::ArrayRef) -> bool {
    use arrow::array::AsArray;
    use arrow::datatypes::{Float32Type, Float64Type};
    match literal.data_type() {
        arrow::datatypes::DataType::Float64 => {
            literal.as_primitive::<Float64Type>().value(0).is_nan()
        }
        arrow::datatypes::DataType::Float32 => {
            literal.as_primitive::<Float32Type>().value(0).is_nan()
        }
        _ => false,
    }
}
