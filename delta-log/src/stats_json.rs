//! Statistics as checkpoints may carry them typed (`add.stats_parsed`, a
//! struct of `numRecords`, `minValues`, `maxValues`, `nullCount`,
//! `tightBounds`) rendered as the JSON text of `add.stats`, in the forms this
//! workspace's writer uses: integers and floats as JSON numbers (a float
//! keeps its `.0`), decimals as exact numbers, dates `2021-01-01`,
//! timestamps to the millisecond (`2021-01-01T00:00:00.000Z`, without the
//! `Z` for `timestamp_ntz`), strings as strings, booleans as booleans. Null
//! values, non-finite floats and types without a JSON form are left out.

use std::fmt::Write as _;

use arrow::array::{Array, ArrayRef, AsArray, StructArray};
use arrow::datatypes::{
    DataType, Date32Type, Decimal128Type, DecimalType, Float32Type, Float64Type, Int8Type,
    Int16Type, Int32Type, Int64Type, TimeUnit, TimestampMicrosecondType, TimestampMillisecondType,
    TimestampNanosecondType, TimestampSecondType, UInt8Type, UInt16Type, UInt32Type, UInt64Type,
};

/// The JSON text of row `row` of a `stats_parsed` struct; `None` when the
/// row is null.
pub(crate) fn stats_json(stats: &StructArray, row: usize) -> Option<String> {
    if stats.is_null(row) {
        return None;
    }
    let mut out = String::new();
    write_struct(&mut out, stats, row);
    Some(out)
}

fn write_struct(out: &mut String, array: &StructArray, row: usize) {
    out.push('{');
    let mut first = true;
    for (field, column) in array.fields().iter().zip(array.columns()) {
        let mut value = String::new();
        if write_value(&mut value, column, row) {
            if !first {
                out.push(',');
            }
            first = false;
            push_string(out, field.name());
            out.push(':');
            out.push_str(&value);
        }
    }
    out.push('}');
}

fn push_string(out: &mut String, text: &str) {
    // serde_json escapes exactly as JSON requires
    out.push_str(&serde_json::Value::from(text).to_string());
}

fn push_float(out: &mut String, value: f64) -> bool {
    match serde_json::Number::from_f64(value) {
        Some(n) => {
            let _ = write!(out, "{n}");
            true
        }
        None => false,
    }
}

/// Writes the JSON of `array[row]`; false (nothing written) for a null or a
/// value without a JSON form.
fn write_value(out: &mut String, array: &ArrayRef, row: usize) -> bool {
    if array.is_null(row) {
        return false;
    }
    macro_rules! int {
        ($t:ty) => {{
            let _ = write!(out, "{}", array.as_primitive::<$t>().value(row));
            true
        }};
    }
    match array.data_type() {
        DataType::Int8 => int!(Int8Type),
        DataType::Int16 => int!(Int16Type),
        DataType::Int32 => int!(Int32Type),
        DataType::Int64 => int!(Int64Type),
        DataType::UInt8 => int!(UInt8Type),
        DataType::UInt16 => int!(UInt16Type),
        DataType::UInt32 => int!(UInt32Type),
        DataType::UInt64 => int!(UInt64Type),
        DataType::Float32 => push_float(
            out,
            f64::from(array.as_primitive::<Float32Type>().value(row)),
        ),
        DataType::Float64 => push_float(out, array.as_primitive::<Float64Type>().value(row)),
        DataType::Decimal128(precision, scale) => {
            let value = array.as_primitive::<Decimal128Type>().value(row);
            out.push_str(&Decimal128Type::format_decimal(value, *precision, *scale));
            true
        }
        DataType::Date32 => {
            let days = array.as_primitive::<Date32Type>().value(row);
            match chrono::DateTime::from_timestamp(i64::from(days) * 86_400, 0) {
                Some(t) => {
                    push_string(out, &t.format("%Y-%m-%d").to_string());
                    true
                }
                None => false,
            }
        }
        DataType::Timestamp(unit, tz) => {
            let micros = match unit {
                TimeUnit::Second => array
                    .as_primitive::<TimestampSecondType>()
                    .value(row)
                    .checked_mul(1_000_000),
                TimeUnit::Millisecond => array
                    .as_primitive::<TimestampMillisecondType>()
                    .value(row)
                    .checked_mul(1000),
                TimeUnit::Microsecond => {
                    Some(array.as_primitive::<TimestampMicrosecondType>().value(row))
                }
                TimeUnit::Nanosecond => Some(
                    array
                        .as_primitive::<TimestampNanosecondType>()
                        .value(row)
                        .div_euclid(1000),
                ),
            };
            match micros.and_then(chrono::DateTime::from_timestamp_micros) {
                Some(t) => {
                    let zone = if tz.is_some() { "Z" } else { "" };
                    push_string(out, &format!("{}{zone}", t.format("%Y-%m-%dT%H:%M:%S%.3f")));
                    true
                }
                None => false,
            }
        }
        DataType::Utf8 => {
            push_string(out, array.as_string::<i32>().value(row));
            true
        }
        DataType::LargeUtf8 => {
            push_string(out, array.as_string::<i64>().value(row));
            true
        }
        DataType::Utf8View => {
            push_string(out, array.as_string_view().value(row));
            true
        }
        DataType::Boolean => {
            out.push_str(if array.as_boolean().value(row) {
                "true"
            } else {
                "false"
            });
            true
        }
        DataType::Struct(_) => {
            let mut nested = String::new();
            write_struct(&mut nested, array.as_struct(), row);
            // an object of nothing but nulls is left out like a null
            if nested == "{}" {
                return false;
            }
            out.push_str(&nested);
            true
        }
        _ => false,
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use arrow::array::{
        BooleanArray, Date32Array, Decimal128Array, Float64Array, Int64Array, StringArray,
        TimestampMicrosecondArray,
    };
    use arrow::datatypes::{Field, Fields};

    use super::*;

    fn structure(children: Vec<(&str, ArrayRef)>) -> ArrayRef {
        let fields: Fields = children
            .iter()
            .map(|(name, a)| Field::new(*name, a.data_type().clone(), true))
            .collect();
        Arc::new(StructArray::new(
            fields,
            children.into_iter().map(|(_, a)| a).collect(),
            None,
        ))
    }

    #[test]
    fn renders_every_stats_type() {
        let values = |id: Option<i64>| {
            structure(vec![
                ("id", Arc::new(Int64Array::from(vec![id])) as ArrayRef),
                ("x", Arc::new(Float64Array::from(vec![3.0]))),
                (
                    "d",
                    Arc::new(
                        Decimal128Array::from(vec![-150])
                            .with_precision_and_scale(5, 2)
                            .unwrap(),
                    ),
                ),
                ("day", Arc::new(Date32Array::from(vec![18628]))),
                (
                    "ts",
                    Arc::new(
                        TimestampMicrosecondArray::from(vec![1_609_459_200_123_456])
                            .with_timezone("UTC"),
                    ),
                ),
                (
                    "ntz",
                    Arc::new(TimestampMicrosecondArray::from(vec![1_609_459_200_000_000])),
                ),
                ("s", Arc::new(StringArray::from(vec!["a\"b"]))),
                (
                    "nested",
                    structure(vec![(
                        "n",
                        Arc::new(Int64Array::from(vec![None::<i64>])) as ArrayRef,
                    )]),
                ),
            ])
        };
        let stats = structure(vec![
            (
                "numRecords",
                Arc::new(Int64Array::from(vec![7])) as ArrayRef,
            ),
            ("minValues", values(Some(1))),
            (
                "nullCount",
                structure(vec![(
                    "id",
                    Arc::new(Int64Array::from(vec![0])) as ArrayRef,
                )]),
            ),
            ("tightBounds", Arc::new(BooleanArray::from(vec![true]))),
        ]);
        let json = stats_json(stats.as_struct(), 0).unwrap();
        assert_eq!(
            json,
            r#"{"numRecords":7,"minValues":{"id":1,"x":3.0,"d":-1.50,"day":"2021-01-01","ts":"2021-01-01T00:00:00.123Z","ntz":"2021-01-01T00:00:00.000","s":"a\"b"},"nullCount":{"id":0},"tightBounds":true}"#
        );
        // parses as JSON
        let _: serde_json::Value = serde_json::from_str(&json).unwrap();
    }
}
