//! Evaluating a [`Bound`] expression over an Arrow batch in the table's
//! logical schema, with arrow's compute kernels and SQL's rules: three-valued
//! logic (`NULL = NULL` is null), Spark's float order (NaN equals NaN and is
//! above every number, `-0.0` equals `0.0`), and ANSI arithmetic (overflow
//! and division by zero are errors).

use std::sync::Arc;

use arrow::array::{
    Array, ArrayRef, AsArray, BooleanArray, Datum, Int32Array, Int64Array, RecordBatch, Scalar,
    StringArray, StructArray, UInt32Array, make_array,
};
use arrow::buffer::NullBuffer;
use arrow::compute::kernels::{boolean, cmp, comparison, numeric};
use arrow::compute::{
    cast_with_options, interleave, is_not_null, is_null, take, take_record_batch,
};
use arrow::datatypes::DataType as ArrowType;
use arrow::error::ArrowError;

use crate::ExprError;
use crate::bind::{Bound, Node, strict};
use crate::expr::{ArithOp, CompareOp, Function};

/// A value of an expression over a batch: one per row, or one for all.
enum Value {
    Array(ArrayRef),
    Scalar(ArrayRef),
}

impl Value {
    fn into_array(self, rows: usize) -> Result<ArrayRef, ArrowError> {
        match self {
            Value::Array(a) => Ok(a),
            Value::Scalar(one) => {
                let indices = UInt32Array::from(vec![0u32; rows]);
                take(&one, &indices, None)
            }
        }
    }

    fn datum(&self) -> Box<dyn Datum + '_> {
        match self {
            Value::Array(a) => Box::new(a),
            Value::Scalar(one) => Box::new(Scalar::new(one)),
        }
    }

    fn map(
        self,
        f: impl Fn(&ArrayRef) -> Result<ArrayRef, ArrowError>,
    ) -> Result<Value, ArrowError> {
        Ok(match self {
            Value::Array(a) => Value::Array(f(&a)?),
            Value::Scalar(one) => Value::Scalar(f(&one)?),
        })
    }
}

impl Bound {
    /// The expression's value for every row of `batch`.
    pub fn evaluate(&self, batch: &RecordBatch) -> Result<ArrayRef, ExprError> {
        self.value(batch)
            .and_then(|v| v.into_array(batch.num_rows()))
            .map_err(|e| self.error(e))
    }

    /// The rows for which a predicate is true: false where it is false or
    /// null (what a filter, a constraint or a replaceWhere keeps).
    pub fn matching_rows(&self, batch: &RecordBatch) -> Result<BooleanArray, ExprError> {
        let verdict = self.evaluate_predicate(batch)?;
        Ok(match verdict.nulls() {
            Some(nulls) => BooleanArray::new(verdict.values() & nulls.inner(), None),
            None => verdict,
        })
    }

    /// A predicate's value for every row of `batch` (null where unknown).
    pub fn evaluate_predicate(&self, batch: &RecordBatch) -> Result<BooleanArray, ExprError> {
        let values = self.evaluate(batch)?;
        let values = match values.data_type() {
            ArrowType::Null => arrow::array::new_null_array(&ArrowType::Boolean, values.len()),
            _ => values,
        };
        values
            .as_boolean_opt()
            .cloned()
            .ok_or_else(|| ExprError::TypeMismatch {
                expr: self.text.to_string(),
                reason: format!(
                    "a condition must be boolean, this is {}",
                    values.data_type()
                ),
            })
    }

    fn error(&self, e: ArrowError) -> ExprError {
        let reason = match e {
            ArrowError::DivideByZero => "division by zero".to_string(),
            ArrowError::ArithmeticOverflow(m) => format!("overflow: {m}"),
            ArrowError::ComputeError(m) | ArrowError::CastError(m) => m,
            other => other.to_string(),
        };
        ExprError::Eval {
            expr: self.text.to_string(),
            reason,
        }
    }

    fn value(&self, batch: &RecordBatch) -> Result<Value, ArrowError> {
        let rows = batch.num_rows();
        Ok(match &self.node {
            Node::Column(path) => Value::Array(column(batch, path)?),
            Node::Literal(one) => Value::Scalar(Arc::clone(one)),
            Node::Cast(e) => {
                let to = self.data_type.to_arrow();
                e.value(batch)?
                    .map(|a| cast_with_options(a, &to, &strict()))?
            }
            Node::Not(e) => {
                let a = e.value(batch)?.into_array(rows)?;
                Value::Array(Arc::new(boolean::not(a.as_boolean())?))
            }
            Node::And(a, b) | Node::Or(a, b) => {
                let a = a.value(batch)?.into_array(rows)?;
                let b = b.value(batch)?.into_array(rows)?;
                let out = match &self.node {
                    Node::And(..) => boolean::and_kleene(a.as_boolean(), b.as_boolean())?,
                    _ => boolean::or_kleene(a.as_boolean(), b.as_boolean())?,
                };
                Value::Array(Arc::new(out))
            }
            Node::IsNull(e, negated) => {
                let a = e.value(batch)?.into_array(rows)?;
                let out = if *negated {
                    is_not_null(&a)?
                } else {
                    is_null(&a)?
                };
                Value::Array(Arc::new(out))
            }
            Node::Compare(op, a, b) => {
                let a = a.value(batch)?.map(spark_floats)?;
                let b = b.value(batch)?.map(spark_floats)?;
                let (l, r) = (a.datum(), b.datum());
                let out = match op {
                    CompareOp::Eq => cmp::eq(&*l, &*r)?,
                    CompareOp::NotEq => cmp::neq(&*l, &*r)?,
                    CompareOp::Lt => cmp::lt(&*l, &*r)?,
                    CompareOp::LtEq => cmp::lt_eq(&*l, &*r)?,
                    CompareOp::Gt => cmp::gt(&*l, &*r)?,
                    CompareOp::GtEq => cmp::gt_eq(&*l, &*r)?,
                    CompareOp::NullSafeEq => cmp::not_distinct(&*l, &*r)?,
                };
                scalar_if_both(out, &a, &b)
            }
            Node::Arith(op, a, b) => {
                let a = a.value(batch)?;
                let b = b.value(batch)?;
                if matches!(op, ArithOp::Div | ArithOp::Rem) {
                    check_no_zero(&b)?;
                }
                let (l, r) = (a.datum(), b.datum());
                let out = match op {
                    ArithOp::Add => numeric::add(&*l, &*r)?,
                    ArithOp::Sub => numeric::sub(&*l, &*r)?,
                    ArithOp::Mul => numeric::mul(&*l, &*r)?,
                    ArithOp::Div => numeric::div(&*l, &*r)?,
                    ArithOp::Rem => numeric::rem(&*l, &*r)?,
                };
                match (&a, &b) {
                    (Value::Scalar(_), Value::Scalar(_)) => Value::Scalar(out),
                    _ => Value::Array(out),
                }
            }
            Node::Negate(e) => e.value(batch)?.map(|a| numeric::neg(a))?,
            Node::Like(a, b, negated, case_insensitive) => {
                let a = a.value(batch)?;
                let b = b.value(batch)?;
                let (l, r) = (a.datum(), b.datum());
                let out = match (negated, case_insensitive) {
                    (false, false) => comparison::like(&*l, &*r)?,
                    (true, false) => comparison::nlike(&*l, &*r)?,
                    (false, true) => comparison::ilike(&*l, &*r)?,
                    (true, true) => comparison::nilike(&*l, &*r)?,
                };
                scalar_if_both(out, &a, &b)
            }
            Node::Case(branches, otherwise) => {
                Value::Array(self.case(batch, branches, otherwise.as_deref())?)
            }
            Node::Call(function, args) => {
                let values = args
                    .iter()
                    .map(|a| a.value(batch)?.into_array(rows))
                    .collect::<Result<Vec<_>, _>>()?;
                Value::Array(call(*function, &values)?)
            }
        })
    }
}

impl Bound {
    /// CASE, row by row as SQL means it: a condition is computed only for
    /// the rows no earlier condition took, a value only for the rows of its
    /// branch (so `CASE WHEN x = 0 THEN 0 ELSE 1 / x END` divides no zero).
    fn case(
        &self,
        batch: &RecordBatch,
        branches: &[(Bound, Bound)],
        otherwise: Option<&Bound>,
    ) -> Result<ArrayRef, ArrowError> {
        let rows = batch.num_rows();
        // for each row: (source, position in that source); source 0 is null
        let mut picks: Vec<(usize, usize)> = vec![(0, 0); rows];
        let mut sources: Vec<ArrayRef> =
            vec![arrow::array::new_null_array(&self.data_type.to_arrow(), 1)];
        let mut remaining: Vec<u32> = (0..u32::try_from(rows).unwrap_or(u32::MAX)).collect();
        for (condition, value) in branches {
            if remaining.is_empty() {
                break;
            }
            let indices = UInt32Array::from(remaining.clone());
            let rest = take_record_batch(batch, &indices)?;
            let taken = condition.value(&rest)?.into_array(rest.num_rows())?;
            let taken = taken.as_boolean();
            let mut chosen = Vec::new();
            let mut left = Vec::new();
            for (k, row) in remaining.iter().enumerate() {
                if taken.is_valid(k) && taken.value(k) {
                    chosen.push(*row);
                } else {
                    left.push(*row);
                }
            }
            if !chosen.is_empty() {
                let mine = take_record_batch(batch, &UInt32Array::from(chosen.clone()))?;
                let values = value.value(&mine)?.into_array(mine.num_rows())?;
                let source = sources.len();
                sources.push(values);
                for (position, row) in chosen.iter().enumerate() {
                    picks[*row as usize] = (source, position);
                }
            }
            remaining = left;
        }
        if let Some(otherwise) = otherwise
            && !remaining.is_empty()
        {
            let rest = take_record_batch(batch, &UInt32Array::from(remaining.clone()))?;
            let values = otherwise.value(&rest)?.into_array(rest.num_rows())?;
            let source = sources.len();
            sources.push(values);
            for (position, row) in remaining.iter().enumerate() {
                picks[*row as usize] = (source, position);
            }
        }
        let refs: Vec<&dyn Array> = sources.iter().map(AsRef::as_ref).collect();
        interleave(&refs, &picks)
    }
}

/// A scalar function over its argument columns.
fn call(function: Function, args: &[ArrayRef]) -> Result<ArrayRef, ArrowError> {
    use arrow::compute::{DatePart, date_part};
    let strings = |i: usize| -> Result<&StringArray, ArrowError> {
        args.get(i)
            .and_then(|a| a.as_string_opt::<i32>())
            .ok_or_else(|| ArrowError::ComputeError("expected a string argument".into()))
    };
    let longs = |i: usize| -> Option<&Int64Array> {
        args.get(i)
            .map(|a| a.as_primitive::<arrow::datatypes::Int64Type>())
    };
    Ok(match function {
        Function::Lower => Arc::new(
            strings(0)?
                .iter()
                .map(|s| s.map(str::to_lowercase))
                .collect::<StringArray>(),
        ),
        Function::Upper => Arc::new(
            strings(0)?
                .iter()
                .map(|s| s.map(str::to_uppercase))
                .collect::<StringArray>(),
        ),
        Function::Length => Arc::new(
            strings(0)?
                .iter()
                .map(|s| s.map(|s| i32::try_from(s.chars().count()).unwrap_or(i32::MAX)))
                .collect::<Int32Array>(),
        ),
        Function::Substring => {
            let (s, from, count) = (strings(0)?, longs(1), longs(2));
            let out: StringArray = (0..s.len())
                .map(|i| {
                    let value = s.is_valid(i).then(|| s.value(i))?;
                    let position = from.filter(|f| f.is_valid(i))?.value(i);
                    let length = match count {
                        Some(c) if c.is_null(i) => return None,
                        Some(c) => Some(c.value(i)),
                        None => None,
                    };
                    Some(substring(value, position, length))
                })
                .collect();
            Arc::new(out)
        }
        Function::Abs => {
            let a = args
                .first()
                .ok_or_else(|| ArrowError::ComputeError("abs needs an argument".into()))?;
            let zero = zero_of(a.data_type())?;
            // negatives negated (checked: the smallest integer overflows)
            let negative = cmp::lt(a, &Scalar::new(&zero))?;
            let negated = numeric::neg(a)?;
            arrow::compute::kernels::zip::zip(&negative, &negated, a)?
        }
        Function::Year | Function::Month | Function::Day => {
            let part = match function {
                Function::Year => DatePart::Year,
                Function::Month => DatePart::Month,
                _ => DatePart::Day,
            };
            let a = args
                .first()
                .ok_or_else(|| ArrowError::ComputeError("needs an argument".into()))?;
            date_part(a.as_ref(), part)?
        }
    })
}

/// Spark's `substring`: 1-based, 0 as 1, negative from the end; characters.
fn substring(value: &str, position: i64, length: Option<i64>) -> String {
    let chars: Vec<char> = value.chars().collect();
    let n = i64::try_from(chars.len()).unwrap_or(i64::MAX);
    let start = match position {
        p if p > 0 => p - 1,
        0 => 0,
        p => n + p,
    };
    let end = match length {
        Some(l) if l < 0 => start,
        Some(l) => start.saturating_add(l),
        None => n,
    };
    let (start, end) = (start.clamp(0, n), end.clamp(0, n));
    if start >= end {
        return String::new();
    }
    chars[start as usize..end as usize].iter().collect()
}

fn scalar_if_both(out: BooleanArray, a: &Value, b: &Value) -> Value {
    match (a, b) {
        (Value::Scalar(_), Value::Scalar(_)) => Value::Scalar(Arc::new(out)),
        _ => Value::Array(Arc::new(out)),
    }
}

/// A zero of a numeric type, as a one-value array.
fn zero_of(data_type: &ArrowType) -> Result<ArrayRef, ArrowError> {
    let zero: ArrayRef = Arc::new(Int32Array::from(vec![0]));
    cast_with_options(&zero, data_type, &strict())
}

/// ANSI division: a zero divisor is an error, for floats too (Spark).
fn check_no_zero(divisor: &Value) -> Result<(), ArrowError> {
    let a = match divisor {
        Value::Array(a) | Value::Scalar(a) => a,
    };
    let hits = cmp::eq(a, &Scalar::new(zero_of(a.data_type())?))?;
    if hits.true_count() > 0 {
        return Err(ArrowError::DivideByZero);
    }
    Ok(())
}

/// Floats in the order Spark compares them: `-0.0` as `0.0`, every NaN as
/// one NaN (arrow's total order then puts it above every number).
fn spark_floats(a: &ArrayRef) -> Result<ArrayRef, ArrowError> {
    Ok(match a.data_type() {
        ArrowType::Float64 => Arc::new(
            a.as_primitive::<arrow::datatypes::Float64Type>()
                .unary::<_, arrow::datatypes::Float64Type>(|x| {
                    if x.is_nan() {
                        f64::NAN
                    } else if x == 0.0 {
                        0.0
                    } else {
                        x
                    }
                }),
        ) as ArrayRef,
        ArrowType::Float32 => Arc::new(
            a.as_primitive::<arrow::datatypes::Float32Type>()
                .unary::<_, arrow::datatypes::Float32Type>(|x| {
                    if x.is_nan() {
                        f32::NAN
                    } else if x == 0.0 {
                        0.0
                    } else {
                        x
                    }
                }),
        ) as ArrayRef,
        _ => Arc::clone(a),
    })
}

/// A column of the batch by its path of names (as [`Bound::columns`] gives
/// them); a field of a null struct is null.
pub fn column(batch: &RecordBatch, path: &[String]) -> Result<ArrayRef, ArrowError> {
    let missing = |name: &str| ArrowError::SchemaError(format!("the batch has no column '{name}'"));
    let (first, rest) = path.split_first().ok_or_else(|| missing(""))?;
    let mut current = batch
        .column_by_name(first)
        .cloned()
        .ok_or_else(|| missing(first))?;
    for name in rest {
        let parent: &StructArray = current.as_struct_opt().ok_or_else(|| missing(name))?;
        let child = parent.column_by_name(name).ok_or_else(|| missing(name))?;
        let nulls = NullBuffer::union(parent.nulls(), child.nulls());
        current = if nulls.as_ref().map(NullBuffer::null_count)
            == child.nulls().map(NullBuffer::null_count)
        {
            Arc::clone(child)
        } else {
            let data = child.to_data().into_builder().nulls(nulls).build()?;
            make_array(data)
        };
    }
    Ok(current)
}
