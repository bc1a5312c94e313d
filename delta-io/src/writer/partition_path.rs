//! Partition values and the paths of new data files.
//!
//! - [`serialize_partition_value`]: one value of a partition column in the
//!   form of PROTOCOL.md §"Partition Value Serialization", the form
//!   [`crate::partition::partition_column`] parses back.
//! - [`escape_path_name`]: Hive-style escaping of a directory name, as Spark's
//!   `ExternalCatalogUtils.escapePathName`.
//! - [`encode_log_path`]: a relative path as written in `add.path` (a URI
//!   path, RFC 2396), as Hadoop's `Path.toUri.toString` writes it; decoding it
//!   ([`crate::paths::decode_log_path`]) gives back the literal path.

use arrow::array::{Array, AsArray};
use arrow::datatypes::{
    Date32Type, Decimal128Type, Float32Type, Float64Type, Int8Type, Int16Type, Int32Type,
    Int64Type, TimestampMicrosecondType,
};
use chrono::{DateTime, NaiveDate};
use delta_schema::{DataType, PrimitiveType};

use crate::IoError;

/// Directory name Hive and Spark use for a null partition value.
pub const HIVE_DEFAULT_PARTITION: &str = "__HIVE_DEFAULT_PARTITION__";

/// Days from 0001-01-01 (day 1 of the common era) to 1970-01-01.
const UNIX_EPOCH_DAYS_FROM_CE: i32 = 719_163;

/// Whether Spark's `escapePathName` escapes this character: the control
/// characters, `"#%'*/:=?\{[]^` and DEL. NUL is escaped too (Spark leaves it,
/// but no object store accepts it in a name).
fn needs_escape(c: char) -> bool {
    matches!(
        c,
        '\u{0}'
            ..='\u{1F}'
                | '"'
                | '#'
                | '%'
                | '\''
                | '*'
                | '/'
                | ':'
                | '='
                | '?'
                | '\\'
                | '\u{7F}'
                | '{'
                | '['
                | ']'
                | '^'
    )
}

/// Escapes a partition column name or value for a directory name the way
/// Hive and Spark do: the control characters (NUL too, which Spark leaves),
/// `"#%'*/:=?\{[]^` and DEL become `%XX` (uppercase hex); everything else,
/// including non-ASCII, stays.
pub fn escape_path_name(name: &str) -> String {
    let mut out = String::with_capacity(name.len());
    for c in name.chars() {
        if needs_escape(c) {
            out.push_str(&format!("%{:02X}", u32::from(c)));
        } else {
            out.push(c);
        }
    }
    out
}

/// The `col=value` directory of one partition column.
pub(crate) fn partition_dir(column: &str, value: Option<&str>) -> String {
    let value = match value {
        Some(v) => escape_path_name(v),
        None => HIVE_DEFAULT_PARTITION.to_string(),
    };
    format!("{}={value}", escape_path_name(column))
}

/// Whether a byte may stand unescaped in a URI path (`java.net.URI`): the
/// unreserved characters, the path punctuation `;:@&=+$,/`, and the bytes of
/// non-ASCII characters (Java's "other" category, which `URI.toString` keeps).
fn uri_path_byte(b: u8) -> bool {
    b >= 0x80 || b.is_ascii_alphanumeric() || b"-_.!~*'();:@&=+$,/".contains(&b)
}

/// The relative path `path` (literal names separated by `/`) as a URI path for
/// `add.path`: every byte a URI path may not hold becomes `%XX`, so a space is
/// `%20` and a `%` (from Hive escaping) is `%25`.
pub fn encode_log_path(path: &str) -> String {
    let mut out = String::with_capacity(path.len());
    let mut start = 0;
    for (i, b) in path.bytes().enumerate() {
        if !uri_path_byte(b) {
            out.push_str(&path[start..i]);
            out.push_str(&format!("%{b:02X}"));
            start = i + 1;
        }
    }
    out.push_str(&path[start..]);
    out
}

/// A random directory name of `len` letters and digits, as Delta writes
/// under column mapping (`delta.randomPrefixLength`).
pub(crate) fn random_prefix(len: usize) -> String {
    const ALPHANUMERIC: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789";
    let mut out = String::with_capacity(len);
    while out.len() < len {
        for b in uuid::Uuid::new_v4().as_bytes() {
            if out.len() == len {
                break;
            }
            out.push(char::from(
                ALPHANUMERIC[usize::from(*b) % ALPHANUMERIC.len()],
            ));
        }
    }
    out
}

/// A date (days since the epoch) as `YYYY-MM-DD`.
pub(crate) fn format_date(days: i32) -> Option<String> {
    let date = NaiveDate::from_num_days_from_ce_opt(days.checked_add(UNIX_EPOCH_DAYS_FROM_CE)?)?;
    Some(date.format("%Y-%m-%d").to_string())
}

/// An instant (microseconds since the epoch) in UTC, formatted by `pattern`.
pub(crate) fn format_micros(micros: i64, pattern: &str) -> Option<String> {
    Some(
        DateTime::from_timestamp_micros(micros)?
            .format(pattern)
            .to_string(),
    )
}

/// A decimal (unscaled value and scale) as a plain number: `-1.50`, `0.05`, `12`.
pub(crate) fn format_decimal(unscaled: i128, scale: u8) -> String {
    let digits = unscaled.unsigned_abs().to_string();
    let sign = if unscaled < 0 { "-" } else { "" };
    let scale = usize::from(scale);
    if scale == 0 {
        return format!("{sign}{digits}");
    }
    let padded = if digits.len() <= scale {
        format!("{}{digits}", "0".repeat(scale + 1 - digits.len()))
    } else {
        digits
    };
    let (int, frac) = padded.split_at(padded.len() - scale);
    format!("{sign}{int}.{frac}")
}

/// A float as Java prints it for the special values (`NaN`, `Infinity`,
/// `-Infinity`), otherwise its shortest round-trip form (`1.5`, `1e20`).
fn format_float(value: f64, shortest: String) -> String {
    if value.is_nan() {
        "NaN".to_string()
    } else if value.is_infinite() {
        if value > 0.0 { "Infinity" } else { "-Infinity" }.to_string()
    } else {
        shortest
    }
}

/// The serialized partition value of row `row` of `array`, a column of Delta
/// type `data_type` in its canonical Arrow type ([`DataType::to_arrow`]).
///
/// Formats (PROTOCOL.md §"Partition Value Serialization", as Delta Spark writes
/// them): strings as they are; integers and decimals in plain decimal
/// (`-1.50`); floats in their shortest round-trip form, `NaN`, `Infinity`,
/// `-Infinity`; booleans `true`/`false`; dates `YYYY-MM-DD`; `timestamp` in UTC
/// as ISO 8601 with microseconds (`2021-09-08T11:11:11.000000Z`, the form
/// Delta Spark writes by default and the protocol recommends);
/// `timestamp_ntz` as `YYYY-MM-DD HH:MM:SS.ffffff`; binary as the string of
/// its bytes, which must then be UTF-8.
///
/// Null is `None`, and so is the empty string: the protocol reads an empty
/// partition value as null for every type, and Spark writes empty strings as
/// null partition values, so an empty string partition value reads back null.
pub fn serialize_partition_value(
    column: &str,
    array: &dyn Array,
    row: usize,
    data_type: &DataType,
) -> Result<Option<String>, IoError> {
    let unwritable = |reason: String| IoError::UnwritablePartitionValue {
        column: column.to_string(),
        data_type: data_type.to_string(),
        reason,
    };
    if row >= array.len() {
        return Err(unwritable(format!(
            "row {row} is beyond the {} rows of the column",
            array.len()
        )));
    }
    if array.is_null(row) {
        return Ok(None);
    }
    let wrong_array = || {
        unwritable(format!(
            "the column is an Arrow {}, expected {}",
            array.data_type(),
            data_type.to_arrow()
        ))
    };
    let DataType::Primitive(p) = data_type else {
        return Err(unwritable(
            "partition columns must be primitive".to_string(),
        ));
    };
    let text = match p {
        PrimitiveType::String => array
            .as_string_opt::<i32>()
            .ok_or_else(wrong_array)?
            .value(row)
            .to_string(),
        PrimitiveType::Long => int_text::<Int64Type>(array, row).ok_or_else(wrong_array)?,
        PrimitiveType::Integer => int_text::<Int32Type>(array, row).ok_or_else(wrong_array)?,
        PrimitiveType::Short => int_text::<Int16Type>(array, row).ok_or_else(wrong_array)?,
        PrimitiveType::Byte => int_text::<Int8Type>(array, row).ok_or_else(wrong_array)?,
        PrimitiveType::Float => {
            let v = array
                .as_primitive_opt::<Float32Type>()
                .ok_or_else(wrong_array)?
                .value(row);
            format_float(f64::from(v), format!("{v:?}"))
        }
        PrimitiveType::Double => {
            let v = array
                .as_primitive_opt::<Float64Type>()
                .ok_or_else(wrong_array)?
                .value(row);
            format_float(v, format!("{v:?}"))
        }
        PrimitiveType::Boolean => array
            .as_boolean_opt()
            .ok_or_else(wrong_array)?
            .value(row)
            .to_string(),
        PrimitiveType::Binary => {
            let bytes = array
                .as_binary_opt::<i32>()
                .ok_or_else(wrong_array)?
                .value(row);
            String::from_utf8(bytes.to_vec()).map_err(|e| {
                unwritable(format!(
                    "binary partition values are written as the string of their bytes, \
                     which must be UTF-8: {e}"
                ))
            })?
        }
        PrimitiveType::Date => {
            let days = array
                .as_primitive_opt::<Date32Type>()
                .ok_or_else(wrong_array)?
                .value(row);
            format_date(days).ok_or_else(|| unwritable(format!("date {days} out of range")))?
        }
        PrimitiveType::Timestamp | PrimitiveType::TimestampNtz => {
            let micros = array
                .as_primitive_opt::<TimestampMicrosecondType>()
                .ok_or_else(wrong_array)?
                .value(row);
            let pattern = if *p == PrimitiveType::Timestamp {
                "%Y-%m-%dT%H:%M:%S%.6fZ"
            } else {
                "%Y-%m-%d %H:%M:%S%.6f"
            };
            format_micros(micros, pattern)
                .ok_or_else(|| unwritable(format!("timestamp {micros} out of range")))?
        }
        PrimitiveType::Decimal { scale, .. } => {
            let v = array
                .as_primitive_opt::<Decimal128Type>()
                .ok_or_else(wrong_array)?
                .value(row);
            format_decimal(v, *scale)
        }
        PrimitiveType::Variant | PrimitiveType::Void => {
            return Err(unwritable(
                "this type cannot be a partition column".to_string(),
            ));
        }
    };
    Ok(if text.is_empty() { None } else { Some(text) })
}

fn int_text<T>(array: &dyn Array, row: usize) -> Option<String>
where
    T: arrow::datatypes::ArrowPrimitiveType,
    T::Native: ToString,
{
    Some(array.as_primitive_opt::<T>()?.value(row).to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn escapes_like_hive() {
        assert_eq!(escape_path_name("a b"), "a b");
        assert_eq!(escape_path_name("A/A"), "A%2FA");
        assert_eq!(escape_path_name("x=1:2%"), "x%3D1%3A2%25");
        assert_eq!(escape_path_name("\u{1}\u{7F}{}[]^"), "%01%7F%7B}%5B%5D%5E");
        assert_eq!(escape_path_name("é€"), "é€");
        assert_eq!(partition_dir("c", None), "c=__HIVE_DEFAULT_PARTITION__");
    }

    #[test]
    fn encodes_uri_paths() {
        assert_eq!(encode_log_path("x=A%2FA/p.parquet"), "x=A%252FA/p.parquet");
        assert_eq!(encode_log_path("a b/c"), "a%20b/c");
        assert_eq!(encode_log_path("é<>|`}"), "é%3C%3E%7C%60%7D");
        assert_eq!(encode_log_path("+;@&$,!~*'()"), "+;@&$,!~*'()");
    }

    #[test]
    fn formats_decimals_and_dates() {
        assert_eq!(format_decimal(-150, 2), "-1.50");
        assert_eq!(format_decimal(5, 2), "0.05");
        assert_eq!(format_decimal(-5, 3), "-0.005");
        assert_eq!(format_decimal(12, 0), "12");
        assert_eq!(
            format_decimal(i128::MIN, 38),
            "-1.70141183460469231731687303715884105728"
        );
        assert_eq!(format_date(0).as_deref(), Some("1970-01-01"));
        assert_eq!(format_date(-1).as_deref(), Some("1969-12-31"));
        assert_eq!(
            format_micros(-1, "%Y-%m-%dT%H:%M:%S%.6fZ").as_deref(),
            Some("1969-12-31T23:59:59.999999Z")
        );
        assert_eq!(random_prefix(2).len(), 2);
        assert!(random_prefix(40).bytes().all(|b| b.is_ascii_alphanumeric()));
    }
}
