//! `column = value` of UPDATE's SET list and of MERGE's update and insert
//! clauses: where the value goes and how it is stored (Spark's ANSI store
//! assignment).

use std::sync::Arc;

use arrow::array::{Array, ArrayRef, AsArray, RecordBatch, StructArray, new_null_array};
use arrow::compute::{CastOptions, can_cast_types, cast_with_options};
use arrow::datatypes::DataType as ArrowType;
use arrow::error::ArrowError;
use delta_expr::{Bound, Expr};
use delta_schema::StructType;
use delta_txn::TxnError;

/// One typed assignment to a top-level column.
pub(crate) struct Assignment {
    /// Position of the column in the table schema.
    pub position: usize,
    value: Bound,
    to: ArrowType,
}

impl Assignment {
    /// `value` (the bound form of `expr`) stored in the column `column` of
    /// `schema`, checked against the assignments already `taken`; the error
    /// says what is wrong. Struct values are stored field by field, by
    /// name; with `fill_missing_fields` (schema merging) a field the value
    /// lacks is null, otherwise that is an error.
    pub fn new(
        schema: &StructType,
        column: &str,
        expr: &Expr,
        value: Bound,
        taken: &[Assignment],
        fill_missing_fields: bool,
    ) -> Result<Assignment, String> {
        let position = schema
            .fields
            .iter()
            .position(|f| f.name.eq_ignore_ascii_case(column))
            .ok_or_else(|| {
                format!(
                    "unknown column '{column}' (columns: {})",
                    schema.field_names().collect::<Vec<_>>().join(", ")
                )
            })?;
        if taken.iter().any(|a| a.position == position) {
            return Err(format!("column '{column}' is set twice"));
        }
        let field = &schema.fields[position];
        let to = field.data_type.to_arrow();
        let from = value.data_type().to_arrow();
        if !storable(&from, &to, fill_missing_fields) {
            return Err(format!(
                "column '{}' is {}, and {expr} is {}{}",
                field.name,
                field.data_type,
                value.data_type(),
                if fill_missing_fields || !matches!(to, ArrowType::Struct(_)) {
                    ""
                } else {
                    " (with schema merging, fields the value lacks are null)"
                }
            ));
        }
        Ok(Assignment {
            position,
            value,
            to,
        })
    }

    /// The value for every row of `batch`, in the column's type (values
    /// that do not fit are errors).
    pub fn evaluate(&self, batch: &RecordBatch) -> Result<ArrayRef, TxnError> {
        let value = self.value.evaluate(batch)?;
        Ok(store(&value, &self.to)?)
    }
}

/// Whether a value of type `from` may be stored in a column of type `to`:
/// structs field by field (by name; fields of `to` the value lacks only
/// with `fill_missing`), anything else as [`assignable`].
fn storable(from: &ArrowType, to: &ArrowType, fill_missing: bool) -> bool {
    match (from, to) {
        _ if from == to => true,
        (ArrowType::Struct(f), ArrowType::Struct(t)) => {
            f.iter().all(|field| {
                t.iter().any(|target| {
                    target.name() == field.name()
                        && storable(field.data_type(), target.data_type(), fill_missing)
                })
            }) && (fill_missing || t.iter().all(|target| f.find(target.name()).is_some()))
        }
        _ => assignable(from, to) && can_cast_types(from, to),
    }
}

/// `value` in type `to` (checked by [`storable`]): structs field by field,
/// missing fields null; values that do not fit are errors.
fn store(value: &ArrayRef, to: &ArrowType) -> Result<ArrayRef, ArrowError> {
    match (value.data_type(), to) {
        (from, _) if from == to => Ok(Arc::clone(value)),
        (ArrowType::Struct(_), ArrowType::Struct(fields)) => {
            let value = value.as_struct();
            let children = fields
                .iter()
                .map(|f| match value.column_by_name(f.name()) {
                    Some(child) => store(child, f.data_type()),
                    None => Ok(new_null_array(f.data_type(), value.len())),
                })
                .collect::<Result<Vec<_>, _>>()?;
            Ok(Arc::new(StructArray::try_new(
                fields.clone(),
                children,
                value.nulls().cloned(),
            )?))
        }
        _ => {
            let strict = CastOptions {
                safe: false,
                ..CastOptions::default()
            };
            cast_with_options(value, to, &strict)
        }
    }
}

/// Whether a value of type `from` may be stored in a column of type `to`
/// (Spark's ANSI store assignment): numbers to numbers (values that do not
/// fit are errors), dates to timestamps, anything simple to strings, nulls
/// anywhere; not strings to numbers or booleans to numbers.
fn assignable(from: &ArrowType, to: &ArrowType) -> bool {
    use ArrowType::*;
    let number = |t: &ArrowType| t.is_numeric();
    from == to
        || matches!(from, Null)
        || (number(from) && number(to))
        || matches!((from, to), (Date32, Timestamp(..)))
        || (matches!(to, Utf8 | LargeUtf8 | Utf8View)
            && (from.is_primitive() || matches!(from, Boolean | Utf8 | LargeUtf8 | Utf8View)))
}
