//! The canonical content hash (testdata/README.md, "The canonical content hash").
//!
//! Every value is turned straight into its canonical JSON text: a struct or a row is
//! its fields' texts under sorted keys, a map's pairs are sorted by their own text.

use std::fmt::Write as _;
use std::ops::Range;

use arrow::array::{Array, ArrowPrimitiveType, AsArray, GenericListViewArray, OffsetSizeTrait};
use arrow::datatypes::{
    DataType, Date32Type, Date64Type, Decimal32Type, Decimal64Type, Decimal128Type, Decimal256Type,
    Float16Type, Float32Type, Float64Type, Int8Type, Int16Type, Int32Type, Int64Type, TimeUnit,
    TimestampMicrosecondType, TimestampMillisecondType, TimestampNanosecondType,
    TimestampSecondType, UInt8Type, UInt16Type, UInt32Type, UInt64Type,
};
use arrow::record_batch::RecordBatch;
use chrono::{Datelike, NaiveDate};
use sha2::{Digest, Sha256};

/// Why a batch has no canonical form.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum CanonicalError {
    /// The column (or a field inside it) has an Arrow type without a canonical form
    /// (time of day, duration, interval, union, run-end encoded, ...).
    #[error("canonical form: column `{column}` has type {data_type}, which has no canonical form")]
    UnsupportedType {
        /// Path of the value: `col`, `col.field`, `col[]` (list item), `col{key}`, `col{value}`.
        column: String,
        /// The Arrow type found there.
        data_type: DataType,
    },
    /// Two columns of a batch, or two fields of a struct, have the same name, so the
    /// row has no JSON object form.
    #[error("canonical form: name `{column}` appears more than once")]
    DuplicateName {
        /// Path of the repeated name.
        column: String,
    },
    /// A value cannot be shown in the canonical form (a date outside the years chrono
    /// supports, or a dictionary key without a value).
    #[error("canonical form: column `{column}` holds {value}, which is out of range")]
    OutOfRange {
        /// Path of the value.
        column: String,
        /// The raw value, as text.
        value: String,
    },
    /// A canonical line did not parse back as JSON (not expected to happen).
    #[error("canonical form: line {line:?} is not JSON: {source}")]
    Json {
        /// The line.
        line: String,
        /// What serde_json said.
        source: serde_json::Error,
    },
}

type Result<T> = std::result::Result<T, CanonicalError>;

/// The canonical JSON line of every row of `batches`, sorted by their UTF-8 bytes.
///
/// Keys are the column names (sorted by code point); values are normalised as the
/// README says: integers of any width as JSON integers, floats as `"f64:<hex bits>"`
/// (`"NaN"` for every NaN), decimals as exact strings with `scale` fraction digits,
/// binary as lowercase hex, dates as `YYYY-MM-DD`, timestamps of any unit and zone as
/// integer microseconds since the epoch (nanoseconds floor-divided), structs as
/// objects, lists as arrays, maps as arrays of `[key, value]` pairs sorted by their
/// text, dictionaries as their values. Batches may have different schemas.
pub fn canonical_lines(batches: &[RecordBatch]) -> Result<Vec<String>> {
    let mut lines = Vec::new();
    for batch in batches {
        let schema = batch.schema();
        let names: Vec<&str> = schema.fields().iter().map(|f| f.name().as_str()).collect();
        let order = sorted_names(&names, "")?;
        let mut columns = Vec::with_capacity(order.len());
        for (index, key) in order {
            columns.push((key, encode(batch.column(index), names[index])?));
        }
        for row in 0..batch.num_rows() {
            let mut line = String::from("{");
            for (n, (key, values)) in columns.iter().enumerate() {
                if n > 0 {
                    line.push(',');
                }
                line.push_str(key);
                line.push(':');
                line.push_str(&values[row]);
            }
            line.push('}');
            lines.push(line);
        }
    }
    lines.sort_unstable();
    Ok(lines)
}

/// The canonical content hash of `batches`: lowercase hex SHA-256 of the sorted
/// [`canonical_lines`] joined by `"\n"` (no trailing newline). No rows hash the empty
/// text (`e3b0c442...b855`).
pub fn canonical_hash(batches: &[RecordBatch]) -> Result<String> {
    let lines = canonical_lines(batches)?;
    Ok(hash_lines(&lines))
}

/// The rows as canonical JSON objects, in the order of [`canonical_lines`]: the form
/// of the `rows` field of an `expected.json`, for readable test failures.
pub fn canonical_rows(batches: &[RecordBatch]) -> Result<Vec<serde_json::Value>> {
    canonical_lines(batches)?
        .into_iter()
        .map(|line| {
            serde_json::from_str(&line).map_err(|source| CanonicalError::Json { line, source })
        })
        .collect()
}

/// Lowercase hex SHA-256 of the lines joined by `"\n"`.
fn hash_lines(lines: &[String]) -> String {
    let mut hasher = Sha256::new();
    for (n, line) in lines.iter().enumerate() {
        if n > 0 {
            hasher.update(b"\n");
        }
        hasher.update(line.as_bytes());
    }
    hex(&hasher.finalize())
}

/// Indices of `names` in key order, each with its JSON-escaped key; errors on a repeat.
fn sorted_names(names: &[&str], parent: &str) -> Result<Vec<(usize, String)>> {
    let mut order: Vec<usize> = (0..names.len()).collect();
    // `str` ordering is UTF-8 byte order, which is code point order (what Python sorts by).
    order.sort_by(|&a, &b| names[a].cmp(names[b]));
    for pair in order.windows(2) {
        if let [a, b] = pair
            && names[*a] == names[*b]
        {
            return Err(CanonicalError::DuplicateName {
                column: child_path(parent, names[*a]),
            });
        }
    }
    Ok(order
        .into_iter()
        .map(|i| (i, json_string(names[i])))
        .collect())
}

fn child_path(parent: &str, name: &str) -> String {
    if parent.is_empty() {
        name.to_string()
    } else {
        format!("{parent}.{name}")
    }
}

fn unsupported(array: &dyn Array, path: &str) -> CanonicalError {
    CanonicalError::UnsupportedType {
        column: path.to_string(),
        data_type: array.data_type().clone(),
    }
}

const NULL: &str = "null";

/// The canonical JSON text of every element of `array` (`null` for nulls).
fn encode(array: &dyn Array, path: &str) -> Result<Vec<String>> {
    let err = || unsupported(array, path);
    match array.data_type() {
        DataType::Null => Ok(vec![NULL.to_string(); array.len()]),
        DataType::Boolean => {
            let a = array.as_boolean_opt().ok_or_else(err)?;
            Ok(a.iter()
                .map(|v| v.map_or_else(null, |b| b.to_string()))
                .collect())
        }
        DataType::Int8 => primitive::<Int8Type>(array, path, |v| Ok(v.to_string())),
        DataType::Int16 => primitive::<Int16Type>(array, path, |v| Ok(v.to_string())),
        DataType::Int32 => primitive::<Int32Type>(array, path, |v| Ok(v.to_string())),
        DataType::Int64 => primitive::<Int64Type>(array, path, |v| Ok(v.to_string())),
        DataType::UInt8 => primitive::<UInt8Type>(array, path, |v| Ok(v.to_string())),
        DataType::UInt16 => primitive::<UInt16Type>(array, path, |v| Ok(v.to_string())),
        DataType::UInt32 => primitive::<UInt32Type>(array, path, |v| Ok(v.to_string())),
        DataType::UInt64 => primitive::<UInt64Type>(array, path, |v| Ok(v.to_string())),
        DataType::Float16 => primitive::<Float16Type>(array, path, |v| Ok(float(v.into()))),
        DataType::Float32 => primitive::<Float32Type>(array, path, |v| Ok(float(v.into()))),
        DataType::Float64 => primitive::<Float64Type>(array, path, |v| Ok(float(v))),
        DataType::Decimal32(_, s) => {
            primitive::<Decimal32Type>(array, path, |v| Ok(decimal(&v.to_string(), *s)))
        }
        DataType::Decimal64(_, s) => {
            primitive::<Decimal64Type>(array, path, |v| Ok(decimal(&v.to_string(), *s)))
        }
        DataType::Decimal128(_, s) => {
            primitive::<Decimal128Type>(array, path, |v| Ok(decimal(&v.to_string(), *s)))
        }
        DataType::Decimal256(_, s) => {
            primitive::<Decimal256Type>(array, path, |v| Ok(decimal(&v.to_string(), *s)))
        }
        DataType::Utf8 => strings(array.as_string_opt::<i32>().ok_or_else(err)?.iter()),
        DataType::LargeUtf8 => strings(array.as_string_opt::<i64>().ok_or_else(err)?.iter()),
        DataType::Utf8View => strings(array.as_string_view_opt().ok_or_else(err)?.iter()),
        DataType::Binary => binaries(array.as_binary_opt::<i32>().ok_or_else(err)?.iter()),
        DataType::LargeBinary => binaries(array.as_binary_opt::<i64>().ok_or_else(err)?.iter()),
        DataType::BinaryView => binaries(array.as_binary_view_opt().ok_or_else(err)?.iter()),
        DataType::FixedSizeBinary(_) => {
            binaries(array.as_fixed_size_binary_opt().ok_or_else(err)?.iter())
        }
        DataType::Date32 => primitive::<Date32Type>(array, path, |days| date(days.into(), path)),
        DataType::Date64 => {
            primitive::<Date64Type>(array, path, |ms| date(ms.div_euclid(86_400_000), path))
        }
        DataType::Timestamp(TimeUnit::Second, _) => {
            primitive::<TimestampSecondType>(array, path, |v| {
                Ok((i128::from(v) * 1_000_000).to_string())
            })
        }
        DataType::Timestamp(TimeUnit::Millisecond, _) => {
            primitive::<TimestampMillisecondType>(array, path, |v| {
                Ok((i128::from(v) * 1_000).to_string())
            })
        }
        DataType::Timestamp(TimeUnit::Microsecond, _) => {
            primitive::<TimestampMicrosecondType>(array, path, |v| Ok(v.to_string()))
        }
        DataType::Timestamp(TimeUnit::Nanosecond, _) => {
            primitive::<TimestampNanosecondType>(array, path, |v| {
                Ok(v.div_euclid(1_000).to_string())
            })
        }
        DataType::Struct(fields) => {
            let a = array.as_struct_opt().ok_or_else(err)?;
            let names: Vec<&str> = fields.iter().map(|f| f.name().as_str()).collect();
            let mut children = Vec::with_capacity(names.len());
            for (index, key) in sorted_names(&names, path)? {
                let child = encode(a.column(index), &child_path(path, names[index]))?;
                children.push((key, child));
            }
            Ok((0..a.len())
                .map(|i| {
                    if a.is_null(i) {
                        return null();
                    }
                    let mut out = String::from("{");
                    for (n, (key, values)) in children.iter().enumerate() {
                        if n > 0 {
                            out.push(',');
                        }
                        out.push_str(key);
                        out.push(':');
                        out.push_str(&values[i]);
                    }
                    out.push('}');
                    out
                })
                .collect())
        }
        DataType::List(_) => {
            let a = array.as_list_opt::<i32>().ok_or_else(err)?;
            let items = encode(a.values(), &format!("{path}[]"))?;
            ranges(
                a,
                path,
                a.value_offsets().windows(2).map(|w| to_range(w, path)),
                &items,
                arrays,
            )
        }
        DataType::LargeList(_) => {
            let a = array.as_list_opt::<i64>().ok_or_else(err)?;
            let items = encode(a.values(), &format!("{path}[]"))?;
            ranges(
                a,
                path,
                a.value_offsets().windows(2).map(|w| to_range(w, path)),
                &items,
                arrays,
            )
        }
        DataType::ListView(_) => list_view(array.as_list_view_opt::<i32>().ok_or_else(err)?, path),
        DataType::LargeListView(_) => {
            list_view(array.as_list_view_opt::<i64>().ok_or_else(err)?, path)
        }
        DataType::FixedSizeList(_, size) => {
            let a = array.as_fixed_size_list_opt().ok_or_else(err)?;
            let items = encode(a.values(), &format!("{path}[]"))?;
            let size = usize::try_from(*size).map_err(|_| err())?;
            let starts = (0..a.len()).map(|i| {
                let start = usize::try_from(a.value_offset(i)).map_err(|_| err())?;
                Ok(start..start.saturating_add(size))
            });
            ranges(a, path, starts, &items, arrays)
        }
        DataType::Map(_, _) => {
            let a = array.as_map_opt().ok_or_else(err)?;
            let keys = encode(a.keys(), &format!("{path}{{key}}"))?;
            let values = encode(a.values(), &format!("{path}{{value}}"))?;
            let pairs: Vec<String> = keys
                .iter()
                .zip(&values)
                .map(|(k, v)| format!("[{k},{v}]"))
                .collect();
            let spans = a.value_offsets().windows(2).map(|w| to_range(w, path));
            ranges(a, path, spans, &pairs, |pairs| {
                let mut pairs = pairs.to_vec();
                pairs.sort_unstable();
                arrays(&pairs)
            })
        }
        DataType::Dictionary(_, _) => {
            let a = array.as_any_dictionary_opt().ok_or_else(err)?;
            let values = encode(a.values().as_ref(), path)?;
            if values.is_empty() {
                // normalized_keys() needs values; with none, every key must be null
                return (0..a.len())
                    .map(|i| {
                        if a.is_null(i) {
                            Ok(null())
                        } else {
                            Err(out_of_range(path, "a dictionary key without a value"))
                        }
                    })
                    .collect();
            }
            a.normalized_keys()
                .into_iter()
                .enumerate()
                .map(|(i, key)| {
                    if a.is_null(i) {
                        return Ok(null());
                    }
                    values
                        .get(key)
                        .cloned()
                        .ok_or_else(|| out_of_range(path, &format!("dictionary key {key}")))
                })
                .collect()
        }
        _ => Err(err()),
    }
}

fn null() -> String {
    NULL.to_string()
}

fn out_of_range(path: &str, value: &str) -> CanonicalError {
    CanonicalError::OutOfRange {
        column: path.to_string(),
        value: value.to_string(),
    }
}

/// Encodes a primitive array value by value; nulls stay `null`.
fn primitive<T: ArrowPrimitiveType>(
    array: &dyn Array,
    path: &str,
    f: impl Fn(T::Native) -> Result<String>,
) -> Result<Vec<String>> {
    let a = array
        .as_primitive_opt::<T>()
        .ok_or_else(|| unsupported(array, path))?;
    a.iter().map(|v| v.map_or_else(|| Ok(null()), &f)).collect()
}

fn strings<'a>(values: impl Iterator<Item = Option<&'a str>>) -> Result<Vec<String>> {
    Ok(values.map(|v| v.map_or_else(null, json_string)).collect())
}

fn binaries<'a>(values: impl Iterator<Item = Option<&'a [u8]>>) -> Result<Vec<String>> {
    Ok(values
        .map(|v| v.map_or_else(null, |b| format!("\"{}\"", hex(b))))
        .collect())
}

/// `[offsets[i], offsets[i + 1])` as a range into the child values.
fn to_range<O: OffsetSizeTrait>(w: &[O], path: &str) -> Result<Range<usize>> {
    match w {
        [start, end] => match (start.to_usize(), end.to_usize()) {
            (Some(start), Some(end)) if start <= end => Ok(start..end),
            _ => Err(out_of_range(path, "a negative or decreasing list offset")),
        },
        _ => Err(out_of_range(path, "a list offset window")),
    }
}

/// One text per element of a list-like `array`: `null`, or `join` over its items.
fn ranges(
    array: &dyn Array,
    path: &str,
    spans: impl Iterator<Item = Result<Range<usize>>>,
    items: &[String],
    join: impl Fn(&[String]) -> String,
) -> Result<Vec<String>> {
    spans
        .enumerate()
        .map(|(i, span)| {
            if array.is_null(i) {
                return Ok(null());
            }
            let span = span?;
            let end = span.end;
            let slice = items.get(span).ok_or_else(|| {
                out_of_range(
                    path,
                    &format!("a list end {end} past {} items", items.len()),
                )
            })?;
            Ok(join(slice))
        })
        .collect()
}

fn list_view<O: OffsetSizeTrait>(a: &GenericListViewArray<O>, path: &str) -> Result<Vec<String>> {
    let items = encode(a.values(), &format!("{path}[]"))?;
    let spans = a
        .value_offsets()
        .iter()
        .zip(a.value_sizes())
        .map(
            |(offset, size)| match (offset.to_usize(), size.to_usize()) {
                (Some(start), Some(len)) => Ok(start..start.saturating_add(len)),
                _ => Err(out_of_range(path, "a negative list view offset or size")),
            },
        );
    ranges(a, path, spans, &items, arrays)
}

fn arrays(items: &[String]) -> String {
    format!("[{}]", items.join(","))
}

/// `"f64:<16 hex digits of the bits>"`, or `"NaN"` for every NaN.
fn float(v: f64) -> String {
    if v.is_nan() {
        "\"NaN\"".to_string()
    } else {
        format!("\"f64:{:016x}\"", v.to_bits())
    }
}

/// The decimal with `unscaled` (its base-10 text, maybe with a leading `-`) and `scale`
/// as a JSON string with exactly `scale` fraction digits. A negative scale multiplies
/// by a power of ten and shows an integer (as Python's `Decimal` does).
fn decimal(unscaled: &str, scale: i8) -> String {
    let (negative, digits) = match unscaled.strip_prefix('-') {
        Some(digits) => (true, digits),
        None => (false, unscaled),
    };
    let mut out = String::from("\"");
    if negative {
        out.push('-');
    }
    match usize::try_from(scale) {
        Ok(scale) if scale > 0 => {
            if digits.len() <= scale {
                out.push('0');
                out.push('.');
                out.extend(std::iter::repeat_n('0', scale - digits.len()));
                out.push_str(digits);
            } else {
                let (int, frac) = digits.split_at(digits.len() - scale);
                out.push_str(int);
                out.push('.');
                out.push_str(frac);
            }
        }
        _ => {
            out.push_str(digits);
            if digits != "0" {
                out.extend(std::iter::repeat_n('0', usize::from(scale.unsigned_abs())));
            }
        }
    }
    out.push('"');
    out
}

/// Days since 1970-01-01 as `"YYYY-MM-DD"` (a year outside 0..=9999 gets a sign and
/// at least 4 digits, as in ISO 8601's expanded form).
fn date(days: i64, path: &str) -> Result<String> {
    let day = i32::try_from(days)
        .ok()
        .and_then(|d| d.checked_add(719_163))
        .and_then(NaiveDate::from_num_days_from_ce_opt)
        .ok_or_else(|| out_of_range(path, &format!("the date {days} days after 1970-01-01")))?;
    let year = day.year();
    Ok(if (0..=9999).contains(&year) {
        format!("\"{year:04}-{:02}-{:02}\"", day.month(), day.day())
    } else {
        format!("\"{year:+05}-{:02}-{:02}\"", day.month(), day.day())
    })
}

fn hex(bytes: &[u8]) -> String {
    let mut out = String::with_capacity(bytes.len() * 2);
    for b in bytes {
        let _ = write!(out, "{b:02x}");
    }
    out
}

/// A JSON string as Python's `json.dumps(s, ensure_ascii=False)` writes it: `"` and
/// `\` escaped, `\n \r \t \b \f` as short escapes, other characters below U+0020 as
/// `\u00xx` (lowercase hex), everything else (DEL, U+2028, non-ASCII) raw.
fn json_string(s: &str) -> String {
    let mut out = String::with_capacity(s.len() + 2);
    out.push('"');
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            '\u{8}' => out.push_str("\\b"),
            '\u{c}' => out.push_str("\\f"),
            c if c < ' ' => {
                let _ = write!(out, "\\u{:04x}", u32::from(c));
            }
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

#[cfg(test)]
mod tests;
