//! `column = value` of UPDATE's SET list and of MERGE's update and insert
//! clauses: where the value goes and how it is stored (Spark's ANSI store
//! assignment).

use arrow::array::{ArrayRef, RecordBatch};
use arrow::compute::{CastOptions, can_cast_types, cast_with_options};
use arrow::datatypes::DataType as ArrowType;
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
    /// says what is wrong.
    pub fn new(
        schema: &StructType,
        column: &str,
        expr: &Expr,
        value: Bound,
        taken: &[Assignment],
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
        if from != to && !(assignable(&from, &to) && can_cast_types(&from, &to)) {
            return Err(format!(
                "column '{}' is {}, and {expr} is {}",
                field.name,
                field.data_type,
                value.data_type()
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
        if value.data_type() == &self.to {
            return Ok(value);
        }
        let strict = CastOptions {
            safe: false,
            ..CastOptions::default()
        };
        Ok(cast_with_options(&value, &self.to, &strict)?)
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
