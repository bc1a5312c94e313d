//! Typed readers of a checkpoint batch's columns: strings, integers, booleans,
//! maps and lists of strings, struct groups, and the required/optional field
//! helpers the action decoders share.

use arrow::array::{
    Array, ArrayRef, AsArray, BooleanArray, Int64Array, LargeStringArray, StringArray,
    StringViewArray, StructArray,
};
use arrow::buffer::{NullBuffer, OffsetBuffer};
use arrow::compute::{CastOptions, cast_with_options};
use arrow::datatypes::{DataType, Int64Type};
use std::collections::HashMap;
use std::ops::Range;

/// What is wrong, for the caller to wrap with the file and version.
pub(crate) type DecodeResult<T> = Result<T, String>;

/// Casts `array` to `to`, failing (not nulling) on values that do not fit.
pub(super) fn cast_strict(array: &ArrayRef, to: &DataType, name: &str) -> DecodeResult<ArrayRef> {
    let options = CastOptions {
        safe: false,
        ..Default::default()
    };
    cast_with_options(array, to, &options).map_err(|e| format!("column {name}: {e}"))
}

/// A string column in any of Arrow's string encodings.
pub(super) enum Strings {
    Utf8(StringArray),
    Large(LargeStringArray),
    View(StringViewArray),
}

impl Strings {
    pub(super) fn new(array: &ArrayRef, name: &str) -> DecodeResult<Self> {
        Ok(match array.data_type() {
            DataType::Utf8 => Strings::Utf8(array.as_string::<i32>().clone()),
            DataType::LargeUtf8 => Strings::Large(array.as_string::<i64>().clone()),
            DataType::Utf8View => Strings::View(array.as_string_view().clone()),
            DataType::Binary | DataType::LargeBinary | DataType::BinaryView => Strings::Utf8(
                cast_strict(array, &DataType::Utf8, name)?
                    .as_string()
                    .clone(),
            ),
            DataType::Dictionary(_, values) if Strings::is_stringish(values) => Strings::Utf8(
                cast_strict(array, &DataType::Utf8, name)?
                    .as_string()
                    .clone(),
            ),
            other => return Err(format!("column {name} holds {other}, not strings")),
        })
    }

    pub(super) fn is_stringish(t: &DataType) -> bool {
        matches!(
            t,
            DataType::Utf8
                | DataType::LargeUtf8
                | DataType::Utf8View
                | DataType::Binary
                | DataType::LargeBinary
                | DataType::BinaryView
        )
    }

    pub(super) fn get(&self, row: usize) -> Option<&str> {
        match self {
            Strings::Utf8(a) => a.is_valid(row).then(|| a.value(row)),
            Strings::Large(a) => a.is_valid(row).then(|| a.value(row)),
            Strings::View(a) => a.is_valid(row).then(|| a.value(row)),
        }
    }
}

/// An integer column of any width, as `i64`.
pub(super) struct Ints(Int64Array);

impl Ints {
    pub(super) fn new(array: &ArrayRef, name: &str) -> DecodeResult<Self> {
        let integers = match array.data_type() {
            DataType::Int64 => return Ok(Ints(array.as_primitive::<Int64Type>().clone())),
            DataType::Dictionary(_, values) => values.is_integer(),
            other => other.is_integer(),
        };
        if !integers {
            return Err(format!(
                "column {name} holds {}, not integers",
                array.data_type()
            ));
        }
        let cast = cast_strict(array, &DataType::Int64, name)?;
        Ok(Ints(cast.as_primitive::<Int64Type>().clone()))
    }

    pub(super) fn get(&self, row: usize) -> Option<i64> {
        self.0.is_valid(row).then(|| self.0.value(row))
    }
}

/// A boolean column.
pub(super) struct Bools(BooleanArray);

impl Bools {
    pub(super) fn new(array: &ArrayRef, name: &str) -> DecodeResult<Self> {
        match array.data_type() {
            DataType::Boolean => Ok(Bools(array.as_boolean().clone())),
            other => Err(format!("column {name} holds {other}, not booleans")),
        }
    }

    pub(super) fn get(&self, row: usize) -> Option<bool> {
        self.0.is_valid(row).then(|| self.0.value(row))
    }
}

/// Row offsets and validity of a list-like column (maps and lists).
pub(super) struct Offsets {
    pub(super) offsets: OffsetBuffer<i32>,
    pub(super) nulls: Option<NullBuffer>,
}

impl Offsets {
    /// The range of child rows of `row`, `None` when the row is null.
    pub(super) fn get(&self, row: usize) -> Option<Range<usize>> {
        if self.nulls.as_ref().is_some_and(|n| n.is_null(row)) {
            return None;
        }
        let start = usize::try_from(*self.offsets.get(row)?).ok()?;
        let end = usize::try_from(*self.offsets.get(row + 1)?).ok()?;
        Some(start..end)
    }
}

/// A list column as `i32` offsets and its values (large lists are cast).
pub(super) fn list_parts(
    array: &ArrayRef,
    name: &str,
) -> DecodeResult<Option<(Offsets, ArrayRef)>> {
    let list = match array.data_type() {
        DataType::List(_) => array.as_list::<i32>().clone(),
        DataType::LargeList(field) => {
            let to = DataType::List(field.clone());
            cast_strict(array, &to, name)?.as_list::<i32>().clone()
        }
        _ => return Ok(None),
    };
    let offsets = Offsets {
        offsets: list.offsets().clone(),
        nulls: list.nulls().cloned(),
    };
    Ok(Some((offsets, list.values().clone())))
}

/// A map of strings to (nullable) strings.
pub(super) struct StringMap {
    pub(super) rows: Offsets,
    pub(super) keys: Strings,
    pub(super) values: Strings,
}

impl StringMap {
    pub(super) fn new(array: &ArrayRef, name: &str) -> DecodeResult<Self> {
        let not_a_map = || {
            format!(
                "column {name} holds {}, not a map of strings",
                array.data_type()
            )
        };
        let (rows, entries) = match array.data_type() {
            DataType::Map(_, _) => {
                let map = array.as_map();
                let rows = Offsets {
                    offsets: map.offsets().clone(),
                    nulls: map.nulls().cloned(),
                };
                (rows, map.entries().clone())
            }
            // a list of (key, value) structs is a map too
            _ => {
                let (rows, values) = list_parts(array, name)?.ok_or_else(not_a_map)?;
                let entries = values.as_struct_opt().ok_or_else(not_a_map)?.clone();
                (rows, entries)
            }
        };
        if entries.num_columns() != 2 {
            return Err(format!("column {name}: map entries are not key and value"));
        }
        Ok(StringMap {
            rows,
            keys: Strings::new(entries.column(0), &format!("{name}.key"))?,
            values: Strings::new(entries.column(1), &format!("{name}.value"))?,
        })
    }

    /// The entries of `row` (nulls as `None`), `None` for a null map.
    pub(super) fn get_with_nulls(
        &self,
        row: usize,
        name: &str,
    ) -> DecodeResult<Option<HashMap<String, Option<String>>>> {
        let Some(range) = self.rows.get(row) else {
            return Ok(None);
        };
        let mut map = HashMap::with_capacity(range.len());
        for i in range {
            let key = self
                .keys
                .get(i)
                .ok_or_else(|| format!("{name} has a null key"))?;
            map.insert(key.to_owned(), self.values.get(i).map(str::to_owned));
        }
        Ok(Some(map))
    }

    /// The entries of `row` with null values left out, `None` for a null map.
    pub(super) fn get_set(
        &self,
        row: usize,
        name: &str,
    ) -> DecodeResult<Option<HashMap<String, String>>> {
        let Some(range) = self.rows.get(row) else {
            return Ok(None);
        };
        let mut map = HashMap::with_capacity(range.len());
        for i in range {
            let key = self
                .keys
                .get(i)
                .ok_or_else(|| format!("{name} has a null key"))?;
            if let Some(value) = self.values.get(i) {
                map.insert(key.to_owned(), value.to_owned());
            }
        }
        Ok(Some(map))
    }
}

/// A list of strings.
pub(super) struct StringList {
    pub(super) rows: Offsets,
    pub(super) values: Strings,
}

impl StringList {
    pub(super) fn new(array: &ArrayRef, name: &str) -> DecodeResult<Self> {
        let Some((rows, values)) = list_parts(array, name)? else {
            return Err(format!(
                "column {name} holds {}, not a list of strings",
                array.data_type()
            ));
        };
        Ok(StringList {
            rows,
            values: Strings::new(&values, &format!("{name}.element"))?,
        })
    }

    /// The strings of `row`, `None` for a null list; null elements are errors.
    pub(super) fn get(&self, row: usize, name: &str) -> DecodeResult<Option<Vec<String>>> {
        let Some(range) = self.rows.get(row) else {
            return Ok(None);
        };
        range
            .map(|i| {
                self.values
                    .get(i)
                    .map(str::to_owned)
                    .ok_or_else(|| format!("{name} has a null element"))
            })
            .collect::<DecodeResult<Vec<_>>>()
            .map(Some)
    }
}

/// A struct column: its validity and its children, found by name.
pub(super) struct Group<'a> {
    pub(super) array: &'a StructArray,
    pub(super) name: &'a str,
}

impl<'a> Group<'a> {
    /// The struct `name` among `parent`'s columns; `None` when absent or null in
    /// every row.
    pub(super) fn child_of(
        parent: &'a StructArray,
        name: &'a str,
        path: &'a str,
    ) -> DecodeResult<Option<Self>> {
        let Some(array) = parent.column_by_name(name) else {
            return Ok(None);
        };
        if array.null_count() == array.len() {
            return Ok(None);
        }
        match array.as_struct_opt() {
            Some(array) => Ok(Some(Group { array, name: path })),
            None => Err(format!(
                "column {path} holds {}, not a struct",
                array.data_type()
            )),
        }
    }

    pub(super) fn nulls(&self) -> Option<NullBuffer> {
        self.array.nulls().cloned()
    }

    pub(super) fn column<T>(
        &self,
        field: &str,
        make: impl FnOnce(&ArrayRef, &str) -> DecodeResult<T>,
    ) -> DecodeResult<Option<T>> {
        match self.array.column_by_name(field) {
            Some(array) if array.null_count() < array.len() => {
                make(array, &format!("{}.{field}", self.name)).map(Some)
            }
            // absent or null everywhere
            _ => Ok(None),
        }
    }

    pub(super) fn strings(&self, field: &str) -> DecodeResult<Option<Strings>> {
        self.column(field, Strings::new)
    }

    pub(super) fn ints(&self, field: &str) -> DecodeResult<Option<Ints>> {
        self.column(field, Ints::new)
    }

    pub(super) fn bools(&self, field: &str) -> DecodeResult<Option<Bools>> {
        self.column(field, Bools::new)
    }

    pub(super) fn map(&self, field: &str) -> DecodeResult<Option<StringMap>> {
        self.column(field, StringMap::new)
    }

    pub(super) fn list(&self, field: &str) -> DecodeResult<Option<StringList>> {
        self.column(field, StringList::new)
    }

    pub(super) fn group(&self, field: &'a str, path: &'a str) -> DecodeResult<Option<Group<'a>>> {
        Group::child_of(self.array, field, path)
    }
}

pub(super) fn is_valid(nulls: &Option<NullBuffer>, row: usize) -> bool {
    nulls.as_ref().is_none_or(|n| n.is_valid(row))
}

pub(super) fn missing(field: &str) -> String {
    format!("{field} is missing")
}

pub(super) fn req_str<'c>(
    col: &'c Option<Strings>,
    row: usize,
    field: &str,
) -> DecodeResult<&'c str> {
    col.as_ref()
        .and_then(|c| c.get(row))
        .ok_or_else(|| missing(field))
}

pub(super) fn opt_str(col: &Option<Strings>, row: usize) -> Option<String> {
    col.as_ref().and_then(|c| c.get(row)).map(str::to_owned)
}

pub(super) fn req_i64(col: &Option<Ints>, row: usize, field: &str) -> DecodeResult<i64> {
    opt_i64(col, row).ok_or_else(|| missing(field))
}

pub(super) fn opt_i64(col: &Option<Ints>, row: usize) -> Option<i64> {
    col.as_ref().and_then(|c| c.get(row))
}

pub(super) fn req_i32(col: &Option<Ints>, row: usize, field: &str) -> DecodeResult<i32> {
    to_i32(req_i64(col, row, field)?, field)
}

pub(super) fn opt_i32(col: &Option<Ints>, row: usize, field: &str) -> DecodeResult<Option<i32>> {
    opt_i64(col, row).map(|v| to_i32(v, field)).transpose()
}

pub(super) fn to_i32(v: i64, field: &str) -> DecodeResult<i32> {
    i32::try_from(v).map_err(|_| format!("{field} is {v}, out of range for a 32-bit integer"))
}

pub(super) fn req_bool(col: &Option<Bools>, row: usize, field: &str) -> DecodeResult<bool> {
    col.as_ref()
        .and_then(|c| c.get(row))
        .ok_or_else(|| missing(field))
}

pub(super) fn opt_bool(col: &Option<Bools>, row: usize) -> Option<bool> {
    col.as_ref().and_then(|c| c.get(row))
}

pub(super) fn opt_map(
    col: &Option<StringMap>,
    row: usize,
    field: &str,
) -> DecodeResult<Option<HashMap<String, Option<String>>>> {
    match col {
        Some(c) => c.get_with_nulls(row, field),
        None => Ok(None),
    }
}
