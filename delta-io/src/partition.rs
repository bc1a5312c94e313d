//! Partition values from the log as Arrow columns (PROTOCOL.md §"Partition
//! Value Serialization"): strings in the log, parsed by the column's type.

use std::sync::Arc;

use arrow::array::{Array, ArrayRef, BinaryArray, StringArray, UInt32Array, new_null_array};
use arrow::compute::{CastOptions, cast_with_options, take};
use arrow::datatypes::DataType as ArrowType;
use delta_schema::{DataType, PrimitiveType};

use crate::IoError;

/// A column of `num_rows` copies of one partition value (`None` for null).
pub fn partition_column(
    column: &str,
    value: Option<&str>,
    data_type: &DataType,
    num_rows: usize,
) -> Result<ArrayRef, IoError> {
    let arrow_type = data_type.to_arrow();
    // the protocol: an empty string is a null partition value, whatever the type
    let Some(value) = value.filter(|v| !v.is_empty()) else {
        return Ok(new_null_array(&arrow_type, num_rows));
    };
    let single = parse_one(column, value, data_type, &arrow_type)?;
    if num_rows == 1 {
        return Ok(single);
    }
    let indices = UInt32Array::from(vec![0u32; num_rows]);
    take(single.as_ref(), &indices, None).map_err(|e| bad(column, value, data_type, e))
}

fn bad(column: &str, value: &str, data_type: &DataType, reason: impl ToString) -> IoError {
    IoError::PartitionValue {
        column: column.to_string(),
        value: value.to_string(),
        data_type: data_type.to_string(),
        reason: reason.to_string(),
    }
}

fn parse_one(
    column: &str,
    value: &str,
    data_type: &DataType,
    arrow_type: &ArrowType,
) -> Result<ArrayRef, IoError> {
    let DataType::Primitive(p) = data_type else {
        return Err(bad(
            column,
            value,
            data_type,
            "partition columns must be primitive",
        ));
    };
    match p {
        PrimitiveType::String => Ok(Arc::new(StringArray::from(vec![value]))),
        PrimitiveType::Binary => Ok(Arc::new(BinaryArray::from(vec![value.as_bytes()]))),
        PrimitiveType::Boolean => match value.to_ascii_lowercase().as_str() {
            "true" => Ok(Arc::new(arrow::array::BooleanArray::from(vec![true]))),
            "false" => Ok(Arc::new(arrow::array::BooleanArray::from(vec![false]))),
            _ => Err(bad(column, value, data_type, "expected true or false")),
        },
        PrimitiveType::Variant | PrimitiveType::Void => Err(bad(
            column,
            value,
            data_type,
            "this type cannot be a partition column",
        )),
        _ => {
            // numbers, dates, decimals; timestamps as `2021-09-08 11:11:11[.ffffff]`
            // (UTC for `timestamp`) or ISO 8601 with a zone
            let text = StringArray::from(vec![value.trim()]);
            strict_cast(&text, arrow_type).map_err(|e| bad(column, value, data_type, e))
        }
    }
}

/// Casts that fail instead of producing nulls for values that do not parse.
fn strict_cast(array: &dyn Array, to: &ArrowType) -> Result<ArrayRef, arrow::error::ArrowError> {
    let options = CastOptions {
        safe: false,
        ..Default::default()
    };
    cast_with_options(array, to, &options)
}

#[cfg(test)]
mod tests {
    use super::*;
    use arrow::array::{AsArray, cast::as_primitive_array};
    use arrow::datatypes::{Date32Type, Decimal128Type, Int32Type, TimestampMicrosecondType};

    #[test]
    fn parses_every_partition_type() {
        let a = partition_column("i", Some("42"), &DataType::INTEGER, 3).unwrap();
        assert_eq!(as_primitive_array::<Int32Type>(&a).values(), &[42, 42, 42]);
        let a = partition_column("d", Some("2021-09-08"), &DataType::DATE, 1).unwrap();
        assert_eq!(as_primitive_array::<Date32Type>(&a).value(0), 18878);
        let a =
            partition_column("t", Some("2021-09-08 11:11:11"), &DataType::TIMESTAMP, 1).unwrap();
        assert_eq!(
            as_primitive_array::<TimestampMicrosecondType>(&a).value(0),
            1_631_099_471_000_000
        );
        let a = partition_column(
            "t",
            Some("1970-01-01T00:00:00.123456Z"),
            &DataType::TIMESTAMP,
            1,
        )
        .unwrap();
        assert_eq!(
            as_primitive_array::<TimestampMicrosecondType>(&a).value(0),
            123_456
        );
        let a = partition_column(
            "n",
            Some("2021-09-08 11:11:11.5"),
            &DataType::TIMESTAMP_NTZ,
            1,
        )
        .unwrap();
        assert_eq!(
            as_primitive_array::<TimestampMicrosecondType>(&a).value(0),
            1_631_099_471_500_000
        );
        let dec = PrimitiveType::decimal(10, 2).unwrap().into();
        let a = partition_column("m", Some("-1.5"), &dec, 1).unwrap();
        assert_eq!(as_primitive_array::<Decimal128Type>(&a).value(0), -150);
        let a = partition_column("b", Some("true"), &DataType::BOOLEAN, 2).unwrap();
        assert!(a.as_boolean().value(1));
        let a = partition_column("s", None, &DataType::STRING, 2).unwrap();
        assert_eq!(a.null_count(), 2);
        let a = partition_column("s", Some(""), &DataType::STRING, 1).unwrap();
        assert_eq!(a.null_count(), 1);
        let a = partition_column("i", Some(""), &DataType::INTEGER, 1).unwrap();
        assert_eq!(a.null_count(), 1);
    }

    #[test]
    fn bad_values_are_errors_not_nulls() {
        let err = partition_column("i", Some("4x2"), &DataType::INTEGER, 1).unwrap_err();
        assert!(
            err.to_string()
                .starts_with("partition value \"4x2\" of column 'i' is not a valid integer"),
            "{err}"
        );
        assert!(partition_column("b", Some("yes"), &DataType::BOOLEAN, 1).is_err());
        assert!(partition_column("i", Some("99999999999"), &DataType::INTEGER, 1).is_err());
    }
}
