//! Checkpoint rows to actions, straight from Arrow: the columns of a projected
//! checkpoint batch are resolved once per batch, then each row becomes at most
//! one [`Action`] by reading the arrays (no detour through JSON text).
//!
//! Checkpoints differ by writer (Spark, delta-rs, kernel), so the reading is
//! lenient about form and strict about content:
//! - strings may be `Utf8`, `LargeUtf8`, `Utf8View`, dictionary-encoded or
//!   binary (checked to be UTF-8); integers may have any width or sign (cast,
//!   values that do not fit are errors); maps may name their entry fields
//!   anything (key first, value second) and may also come as a list of
//!   two-field structs;
//! - a column that is absent is null everywhere: optional fields become `None`
//!   (`partitionValues`, `configuration`, `partitionColumns` and `format`
//!   their defaults), while a required field (e.g. `add.path`) that is absent
//!   or null in a non-null action is an error naming the field;
//! - a row holds one action; the first non-null of `add`, `remove`,
//!   `metaData`, `protocol`, `txn`, `domainMetadata`, `checkpointMetadata`,
//!   `sidecar` is taken, and a row with none of them is skipped.
//!
//! Null values of `metaData.configuration` and `format.options` mean "not set"
//! and are left out; null values of `partitionValues` and `tags` are kept as
//! `None`. A deletion-vector struct with neither a storage type nor a path is
//! taken as no deletion vector.

use std::collections::HashMap;
use std::ops::Range;

use arrow::array::{
    Array, ArrayRef, AsArray, BooleanArray, Int64Array, LargeStringArray, RecordBatch, StringArray,
    StringViewArray, StructArray,
};
use arrow::buffer::{NullBuffer, OffsetBuffer};
use arrow::compute::{CastOptions, cast_with_options};
use arrow::datatypes::{DataType, Int64Type};

use crate::actions::{
    Action, Add, CheckpointMetadata, DeletionVectorDescriptor, DomainMetadata, Format, Metadata,
    Protocol, Remove, Sidecar, Txn,
};
use crate::stats_json::stats_json;

/// What is wrong, for the caller to wrap with the file and version.
pub(crate) type DecodeResult<T> = Result<T, String>;

/// Casts `array` to `to`, failing (not nulling) on values that do not fit.
fn cast_strict(array: &ArrayRef, to: &DataType, name: &str) -> DecodeResult<ArrayRef> {
    let options = CastOptions {
        safe: false,
        ..Default::default()
    };
    cast_with_options(array, to, &options).map_err(|e| format!("column {name}: {e}"))
}

/// A string column in any of Arrow's string encodings.
enum Strings {
    Utf8(StringArray),
    Large(LargeStringArray),
    View(StringViewArray),
}

impl Strings {
    fn new(array: &ArrayRef, name: &str) -> DecodeResult<Self> {
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

    fn is_stringish(t: &DataType) -> bool {
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

    fn get(&self, row: usize) -> Option<&str> {
        match self {
            Strings::Utf8(a) => a.is_valid(row).then(|| a.value(row)),
            Strings::Large(a) => a.is_valid(row).then(|| a.value(row)),
            Strings::View(a) => a.is_valid(row).then(|| a.value(row)),
        }
    }
}

/// An integer column of any width, as `i64`.
struct Ints(Int64Array);

impl Ints {
    fn new(array: &ArrayRef, name: &str) -> DecodeResult<Self> {
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

    fn get(&self, row: usize) -> Option<i64> {
        self.0.is_valid(row).then(|| self.0.value(row))
    }
}

/// A boolean column.
struct Bools(BooleanArray);

impl Bools {
    fn new(array: &ArrayRef, name: &str) -> DecodeResult<Self> {
        match array.data_type() {
            DataType::Boolean => Ok(Bools(array.as_boolean().clone())),
            other => Err(format!("column {name} holds {other}, not booleans")),
        }
    }

    fn get(&self, row: usize) -> Option<bool> {
        self.0.is_valid(row).then(|| self.0.value(row))
    }
}

/// Row offsets and validity of a list-like column (maps and lists).
struct Offsets {
    offsets: OffsetBuffer<i32>,
    nulls: Option<NullBuffer>,
}

impl Offsets {
    /// The range of child rows of `row`, `None` when the row is null.
    fn get(&self, row: usize) -> Option<Range<usize>> {
        if self.nulls.as_ref().is_some_and(|n| n.is_null(row)) {
            return None;
        }
        let start = usize::try_from(*self.offsets.get(row)?).ok()?;
        let end = usize::try_from(*self.offsets.get(row + 1)?).ok()?;
        Some(start..end)
    }
}

/// A list column as `i32` offsets and its values (large lists are cast).
fn list_parts(array: &ArrayRef, name: &str) -> DecodeResult<Option<(Offsets, ArrayRef)>> {
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
struct StringMap {
    rows: Offsets,
    keys: Strings,
    values: Strings,
}

impl StringMap {
    fn new(array: &ArrayRef, name: &str) -> DecodeResult<Self> {
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
    fn get_with_nulls(
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
    fn get_set(&self, row: usize, name: &str) -> DecodeResult<Option<HashMap<String, String>>> {
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
struct StringList {
    rows: Offsets,
    values: Strings,
}

impl StringList {
    fn new(array: &ArrayRef, name: &str) -> DecodeResult<Self> {
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
    fn get(&self, row: usize, name: &str) -> DecodeResult<Option<Vec<String>>> {
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
struct Group<'a> {
    array: &'a StructArray,
    name: &'a str,
}

impl<'a> Group<'a> {
    /// The struct `name` among `parent`'s columns; `None` when absent or null in
    /// every row.
    fn child_of(
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

    fn nulls(&self) -> Option<NullBuffer> {
        self.array.nulls().cloned()
    }

    fn column<T>(
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

    fn strings(&self, field: &str) -> DecodeResult<Option<Strings>> {
        self.column(field, Strings::new)
    }

    fn ints(&self, field: &str) -> DecodeResult<Option<Ints>> {
        self.column(field, Ints::new)
    }

    fn bools(&self, field: &str) -> DecodeResult<Option<Bools>> {
        self.column(field, Bools::new)
    }

    fn map(&self, field: &str) -> DecodeResult<Option<StringMap>> {
        self.column(field, StringMap::new)
    }

    fn list(&self, field: &str) -> DecodeResult<Option<StringList>> {
        self.column(field, StringList::new)
    }

    fn group(&self, field: &'a str, path: &'a str) -> DecodeResult<Option<Group<'a>>> {
        Group::child_of(self.array, field, path)
    }
}

fn is_valid(nulls: &Option<NullBuffer>, row: usize) -> bool {
    nulls.as_ref().is_none_or(|n| n.is_valid(row))
}

fn missing(field: &str) -> String {
    format!("{field} is missing")
}

fn req_str<'c>(col: &'c Option<Strings>, row: usize, field: &str) -> DecodeResult<&'c str> {
    col.as_ref()
        .and_then(|c| c.get(row))
        .ok_or_else(|| missing(field))
}

fn opt_str(col: &Option<Strings>, row: usize) -> Option<String> {
    col.as_ref().and_then(|c| c.get(row)).map(str::to_owned)
}

fn req_i64(col: &Option<Ints>, row: usize, field: &str) -> DecodeResult<i64> {
    opt_i64(col, row).ok_or_else(|| missing(field))
}

fn opt_i64(col: &Option<Ints>, row: usize) -> Option<i64> {
    col.as_ref().and_then(|c| c.get(row))
}

fn req_i32(col: &Option<Ints>, row: usize, field: &str) -> DecodeResult<i32> {
    to_i32(req_i64(col, row, field)?, field)
}

fn opt_i32(col: &Option<Ints>, row: usize, field: &str) -> DecodeResult<Option<i32>> {
    opt_i64(col, row).map(|v| to_i32(v, field)).transpose()
}

fn to_i32(v: i64, field: &str) -> DecodeResult<i32> {
    i32::try_from(v).map_err(|_| format!("{field} is {v}, out of range for a 32-bit integer"))
}

fn req_bool(col: &Option<Bools>, row: usize, field: &str) -> DecodeResult<bool> {
    col.as_ref()
        .and_then(|c| c.get(row))
        .ok_or_else(|| missing(field))
}

fn opt_bool(col: &Option<Bools>, row: usize) -> Option<bool> {
    col.as_ref().and_then(|c| c.get(row))
}

fn opt_map(
    col: &Option<StringMap>,
    row: usize,
    field: &str,
) -> DecodeResult<Option<HashMap<String, Option<String>>>> {
    match col {
        Some(c) => c.get_with_nulls(row, field),
        None => Ok(None),
    }
}

/// `deletionVector` of an add or remove.
struct DvColumns {
    nulls: Option<NullBuffer>,
    storage_type: Option<Strings>,
    path_or_inline_dv: Option<Strings>,
    offset: Option<Ints>,
    size_in_bytes: Option<Ints>,
    cardinality: Option<Ints>,
}

impl DvColumns {
    fn new(parent: &Group<'_>, path: &'static str) -> DecodeResult<Option<Self>> {
        let Some(g) = parent.group("deletionVector", path)? else {
            return Ok(None);
        };
        Ok(Some(DvColumns {
            nulls: g.nulls(),
            storage_type: g.strings("storageType")?,
            path_or_inline_dv: g.strings("pathOrInlineDv")?,
            offset: g.ints("offset")?,
            size_in_bytes: g.ints("sizeInBytes")?,
            cardinality: g.ints("cardinality")?,
        }))
    }

    /// The descriptor of `row`; `prefix` is `add.deletionVector` or `remove.deletionVector`.
    fn get(
        this: &Option<Self>,
        row: usize,
        prefix: &str,
    ) -> DecodeResult<Option<DeletionVectorDescriptor>> {
        let Some(c) = this else {
            return Ok(None);
        };
        if !is_valid(&c.nulls, row) {
            return Ok(None);
        }
        let storage_type = c.storage_type.as_ref().and_then(|s| s.get(row));
        let path_or_inline_dv = c.path_or_inline_dv.as_ref().and_then(|s| s.get(row));
        let (storage_type, path_or_inline_dv) = match (storage_type, path_or_inline_dv) {
            (None, None) => return Ok(None),
            (Some(s), Some(p)) => (s, p),
            (None, Some(_)) => return Err(missing(&format!("{prefix}.storageType"))),
            (Some(_), None) => return Err(missing(&format!("{prefix}.pathOrInlineDv"))),
        };
        let field = |f: &str| format!("{prefix}.{f}");
        Ok(Some(DeletionVectorDescriptor {
            storage_type: storage_type.to_owned(),
            path_or_inline_dv: path_or_inline_dv.to_owned(),
            offset: opt_i32(&c.offset, row, &field("offset"))?,
            size_in_bytes: req_i32(&c.size_in_bytes, row, &field("sizeInBytes"))?,
            cardinality: req_i64(&c.cardinality, row, &field("cardinality"))?,
        }))
    }
}

/// The `add` columns.
struct AddColumns {
    path: Option<Strings>,
    partition_values: Option<StringMap>,
    size: Option<Ints>,
    modification_time: Option<Ints>,
    data_change: Option<Bools>,
    stats: Option<Strings>,
    /// Typed statistics, read where `stats` is null (see [`crate::stats_json`]).
    stats_parsed: Option<StructArray>,
    tags: Option<StringMap>,
    deletion_vector: Option<DvColumns>,
    base_row_id: Option<Ints>,
    default_row_commit_version: Option<Ints>,
    clustering_provider: Option<Strings>,
}

impl AddColumns {
    fn new(g: &Group<'_>) -> DecodeResult<Self> {
        Ok(AddColumns {
            path: g.strings("path")?,
            partition_values: g.map("partitionValues")?,
            size: g.ints("size")?,
            modification_time: g.ints("modificationTime")?,
            data_change: g.bools("dataChange")?,
            stats: g.strings("stats")?,
            stats_parsed: g
                .group("stats_parsed", "add.stats_parsed")?
                .map(|parsed| parsed.array.clone()),
            tags: g.map("tags")?,
            deletion_vector: DvColumns::new(g, "add.deletionVector")?,
            base_row_id: g.ints("baseRowId")?,
            default_row_commit_version: g.ints("defaultRowCommitVersion")?,
            clustering_provider: g.strings("clusteringProvider")?,
        })
    }

    fn get(&self, row: usize) -> DecodeResult<Add> {
        Ok(Add {
            path: req_str(&self.path, row, "add.path")?.to_owned(),
            partition_values: opt_map(&self.partition_values, row, "add.partitionValues")?
                .unwrap_or_default(),
            size: req_i64(&self.size, row, "add.size")?,
            modification_time: req_i64(&self.modification_time, row, "add.modificationTime")?,
            data_change: req_bool(&self.data_change, row, "add.dataChange")?,
            stats: opt_str(&self.stats, row).or_else(|| {
                self.stats_parsed
                    .as_ref()
                    .and_then(|parsed| stats_json(parsed, row))
            }),
            tags: opt_map(&self.tags, row, "add.tags")?,
            deletion_vector: DvColumns::get(&self.deletion_vector, row, "add.deletionVector")?,
            base_row_id: opt_i64(&self.base_row_id, row),
            default_row_commit_version: opt_i64(&self.default_row_commit_version, row),
            clustering_provider: opt_str(&self.clustering_provider, row),
        })
    }
}

/// The `remove` columns (checkpoints carry neither `stats` nor `tags` of removes).
struct RemoveColumns {
    path: Option<Strings>,
    deletion_timestamp: Option<Ints>,
    data_change: Option<Bools>,
    extended_file_metadata: Option<Bools>,
    partition_values: Option<StringMap>,
    size: Option<Ints>,
    deletion_vector: Option<DvColumns>,
    base_row_id: Option<Ints>,
    default_row_commit_version: Option<Ints>,
}

impl RemoveColumns {
    fn new(g: &Group<'_>) -> DecodeResult<Self> {
        Ok(RemoveColumns {
            path: g.strings("path")?,
            deletion_timestamp: g.ints("deletionTimestamp")?,
            data_change: g.bools("dataChange")?,
            extended_file_metadata: g.bools("extendedFileMetadata")?,
            partition_values: g.map("partitionValues")?,
            size: g.ints("size")?,
            deletion_vector: DvColumns::new(g, "remove.deletionVector")?,
            base_row_id: g.ints("baseRowId")?,
            default_row_commit_version: g.ints("defaultRowCommitVersion")?,
        })
    }

    fn get(&self, row: usize) -> DecodeResult<Remove> {
        Ok(Remove {
            path: req_str(&self.path, row, "remove.path")?.to_owned(),
            deletion_timestamp: opt_i64(&self.deletion_timestamp, row),
            data_change: req_bool(&self.data_change, row, "remove.dataChange")?,
            extended_file_metadata: opt_bool(&self.extended_file_metadata, row),
            partition_values: opt_map(&self.partition_values, row, "remove.partitionValues")?,
            size: opt_i64(&self.size, row),
            stats: None,
            tags: None,
            deletion_vector: DvColumns::get(&self.deletion_vector, row, "remove.deletionVector")?,
            base_row_id: opt_i64(&self.base_row_id, row),
            default_row_commit_version: opt_i64(&self.default_row_commit_version, row),
        })
    }
}

/// The `metaData` columns.
struct MetadataColumns {
    id: Option<Strings>,
    name: Option<Strings>,
    description: Option<Strings>,
    format: Option<(Option<NullBuffer>, Option<Strings>, Option<StringMap>)>,
    schema_string: Option<Strings>,
    partition_columns: Option<StringList>,
    created_time: Option<Ints>,
    configuration: Option<StringMap>,
}

impl MetadataColumns {
    fn new(g: &Group<'_>) -> DecodeResult<Self> {
        let format = match g.group("format", "metaData.format")? {
            Some(f) => Some((f.nulls(), f.strings("provider")?, f.map("options")?)),
            None => None,
        };
        Ok(MetadataColumns {
            id: g.strings("id")?,
            name: g.strings("name")?,
            description: g.strings("description")?,
            format,
            schema_string: g.strings("schemaString")?,
            partition_columns: g.list("partitionColumns")?,
            created_time: g.ints("createdTime")?,
            configuration: g.map("configuration")?,
        })
    }

    fn get(&self, row: usize) -> DecodeResult<Metadata> {
        let format = match &self.format {
            Some((nulls, provider, options)) if is_valid(nulls, row) => Format {
                provider: req_str(provider, row, "metaData.format.provider")?.to_owned(),
                options: match options {
                    Some(o) => o.get_set(row, "metaData.format.options")?,
                    None => None,
                }
                .unwrap_or_default(),
            },
            _ => Format::default(),
        };
        let partition_columns = match &self.partition_columns {
            Some(l) => l.get(row, "metaData.partitionColumns")?,
            None => None,
        };
        let configuration = match &self.configuration {
            Some(c) => c.get_set(row, "metaData.configuration")?,
            None => None,
        };
        Ok(Metadata {
            id: req_str(&self.id, row, "metaData.id")?.to_owned(),
            name: opt_str(&self.name, row),
            description: opt_str(&self.description, row),
            format,
            schema_string: req_str(&self.schema_string, row, "metaData.schemaString")?.to_owned(),
            partition_columns: partition_columns.unwrap_or_default(),
            created_time: opt_i64(&self.created_time, row),
            configuration: configuration.unwrap_or_default(),
        })
    }
}

/// The `protocol` columns.
struct ProtocolColumns {
    min_reader_version: Option<Ints>,
    min_writer_version: Option<Ints>,
    reader_features: Option<StringList>,
    writer_features: Option<StringList>,
}

impl ProtocolColumns {
    fn new(g: &Group<'_>) -> DecodeResult<Self> {
        Ok(ProtocolColumns {
            min_reader_version: g.ints("minReaderVersion")?,
            min_writer_version: g.ints("minWriterVersion")?,
            reader_features: g.list("readerFeatures")?,
            writer_features: g.list("writerFeatures")?,
        })
    }

    fn get(&self, row: usize) -> DecodeResult<Protocol> {
        let features = |list: &Option<StringList>, field: &str| match list {
            Some(l) => l.get(row, field),
            None => Ok(None),
        };
        Ok(Protocol {
            min_reader_version: req_i32(
                &self.min_reader_version,
                row,
                "protocol.minReaderVersion",
            )?,
            min_writer_version: req_i32(
                &self.min_writer_version,
                row,
                "protocol.minWriterVersion",
            )?,
            reader_features: features(&self.reader_features, "protocol.readerFeatures")?,
            writer_features: features(&self.writer_features, "protocol.writerFeatures")?,
        })
    }
}

/// The `txn` columns.
struct TxnColumns {
    app_id: Option<Strings>,
    version: Option<Ints>,
    last_updated: Option<Ints>,
}

impl TxnColumns {
    fn new(g: &Group<'_>) -> DecodeResult<Self> {
        Ok(TxnColumns {
            app_id: g.strings("appId")?,
            version: g.ints("version")?,
            last_updated: g.ints("lastUpdated")?,
        })
    }

    fn get(&self, row: usize) -> DecodeResult<Txn> {
        Ok(Txn {
            app_id: req_str(&self.app_id, row, "txn.appId")?.to_owned(),
            version: req_i64(&self.version, row, "txn.version")?,
            last_updated: opt_i64(&self.last_updated, row),
        })
    }
}

/// The `domainMetadata` columns.
struct DomainColumns {
    domain: Option<Strings>,
    configuration: Option<Strings>,
    removed: Option<Bools>,
}

impl DomainColumns {
    fn new(g: &Group<'_>) -> DecodeResult<Self> {
        Ok(DomainColumns {
            domain: g.strings("domain")?,
            configuration: g.strings("configuration")?,
            removed: g.bools("removed")?,
        })
    }

    fn get(&self, row: usize) -> DecodeResult<DomainMetadata> {
        Ok(DomainMetadata {
            domain: req_str(&self.domain, row, "domainMetadata.domain")?.to_owned(),
            configuration: req_str(&self.configuration, row, "domainMetadata.configuration")?
                .to_owned(),
            removed: req_bool(&self.removed, row, "domainMetadata.removed")?,
        })
    }
}

/// The `checkpointMetadata` columns.
struct CheckpointMetadataColumns {
    version: Option<Ints>,
    tags: Option<StringMap>,
}

impl CheckpointMetadataColumns {
    fn new(g: &Group<'_>) -> DecodeResult<Self> {
        Ok(CheckpointMetadataColumns {
            version: g.ints("version")?,
            tags: g.map("tags")?,
        })
    }

    fn get(&self, row: usize) -> DecodeResult<CheckpointMetadata> {
        Ok(CheckpointMetadata {
            version: req_i64(&self.version, row, "checkpointMetadata.version")?,
            tags: opt_map(&self.tags, row, "checkpointMetadata.tags")?,
        })
    }
}

/// The `sidecar` columns.
struct SidecarColumns {
    path: Option<Strings>,
    size_in_bytes: Option<Ints>,
    modification_time: Option<Ints>,
    tags: Option<StringMap>,
}

impl SidecarColumns {
    fn new(g: &Group<'_>) -> DecodeResult<Self> {
        Ok(SidecarColumns {
            path: g.strings("path")?,
            size_in_bytes: g.ints("sizeInBytes")?,
            modification_time: g.ints("modificationTime")?,
            tags: g.map("tags")?,
        })
    }

    fn get(&self, row: usize) -> DecodeResult<Sidecar> {
        Ok(Sidecar {
            path: req_str(&self.path, row, "sidecar.path")?.to_owned(),
            size_in_bytes: req_i64(&self.size_in_bytes, row, "sidecar.sizeInBytes")?,
            modification_time: req_i64(&self.modification_time, row, "sidecar.modificationTime")?,
            tags: opt_map(&self.tags, row, "sidecar.tags")?,
        })
    }
}

/// The columns of one action, with the validity of its struct.
struct Present<T> {
    nulls: Option<NullBuffer>,
    columns: T,
}

/// The columns of the action `c` when it is present in `row`.
fn at<T>(c: &Option<Present<T>>, row: usize) -> Option<&T> {
    c.as_ref()
        .filter(|c| is_valid(&c.nulls, row))
        .map(|c| &c.columns)
}

/// The action columns of one checkpoint batch, resolved once; absent (or
/// all-null) action columns are `None`.
pub(crate) struct CheckpointBatch {
    rows: usize,
    add: Option<Present<AddColumns>>,
    remove: Option<Present<RemoveColumns>>,
    metadata: Option<Present<MetadataColumns>>,
    protocol: Option<Present<ProtocolColumns>>,
    txn: Option<Present<TxnColumns>>,
    domain: Option<Present<DomainColumns>>,
    checkpoint_metadata: Option<Present<CheckpointMetadataColumns>>,
    sidecar: Option<Present<SidecarColumns>>,
}

/// Resolves the top-level action column `name` with `make`.
fn action_columns<'a, T>(
    top: &'a StructArray,
    name: &'a str,
    make: impl FnOnce(&Group<'a>) -> DecodeResult<T>,
) -> DecodeResult<Option<Present<T>>> {
    match Group::child_of(top, name, name)? {
        Some(g) => Ok(Some(Present {
            nulls: g.nulls(),
            columns: make(&g)?,
        })),
        None => Ok(None),
    }
}

impl CheckpointBatch {
    /// Resolves the columns of `batch`; fails on columns of the wrong type.
    pub(crate) fn new(batch: &RecordBatch) -> DecodeResult<Self> {
        let top = StructArray::from(batch.clone());
        Ok(CheckpointBatch {
            rows: batch.num_rows(),
            add: action_columns(&top, "add", AddColumns::new)?,
            remove: action_columns(&top, "remove", RemoveColumns::new)?,
            metadata: action_columns(&top, "metaData", MetadataColumns::new)?,
            protocol: action_columns(&top, "protocol", ProtocolColumns::new)?,
            txn: action_columns(&top, "txn", TxnColumns::new)?,
            domain: action_columns(&top, "domainMetadata", DomainColumns::new)?,
            checkpoint_metadata: action_columns(
                &top,
                "checkpointMetadata",
                CheckpointMetadataColumns::new,
            )?,
            sidecar: action_columns(&top, "sidecar", SidecarColumns::new)?,
        })
    }

    /// Number of rows.
    pub(crate) fn num_rows(&self) -> usize {
        self.rows
    }

    /// The action of `row`, `None` for a row without a known action.
    pub(crate) fn action(&self, row: usize) -> DecodeResult<Option<Action>> {
        let action = if let Some(c) = at(&self.add, row) {
            Action::Add(c.get(row)?)
        } else if let Some(c) = at(&self.remove, row) {
            Action::Remove(c.get(row)?)
        } else if let Some(c) = at(&self.metadata, row) {
            Action::Metadata(c.get(row)?)
        } else if let Some(c) = at(&self.protocol, row) {
            Action::Protocol(c.get(row)?)
        } else if let Some(c) = at(&self.txn, row) {
            Action::Txn(c.get(row)?)
        } else if let Some(c) = at(&self.domain, row) {
            Action::DomainMetadata(c.get(row)?)
        } else if let Some(c) = at(&self.checkpoint_metadata, row) {
            Action::CheckpointMetadata(c.get(row)?)
        } else if let Some(c) = at(&self.sidecar, row) {
            Action::Sidecar(c.get(row)?)
        } else {
            return Ok(None);
        };
        Ok(Some(action))
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use arrow::array::{
        BinaryArray, BooleanArray, DictionaryArray, Int8Array, Int32Array, Int64Array,
        LargeListArray, LargeStringArray, LargeStringBuilder, ListArray, MapBuilder, MapFieldNames,
        StringArray, StringBuilder, StringViewArray, StringViewBuilder, UInt32Array, UInt64Array,
    };
    use arrow::datatypes::{Field, Fields, Int8Type, Int32Type};

    use super::*;

    /// A nullable struct column of these children, valid where `valid` says.
    fn structure(children: Vec<(&str, ArrayRef)>, valid: &[bool]) -> ArrayRef {
        let fields: Fields = children
            .iter()
            .map(|(name, a)| Field::new(*name, a.data_type().clone(), true))
            .collect();
        let arrays = children.into_iter().map(|(_, a)| a).collect();
        Arc::new(StructArray::new(
            fields,
            arrays,
            Some(NullBuffer::from(valid)),
        ))
    }

    fn batch(columns: Vec<(&str, ArrayRef)>) -> RecordBatch {
        RecordBatch::try_from_iter(columns).unwrap()
    }

    fn decode(batch: &RecordBatch) -> DecodeResult<Vec<Option<Action>>> {
        let columns = CheckpointBatch::new(batch)?;
        (0..columns.num_rows()).map(|r| columns.action(r)).collect()
    }

    /// A map with entry fields `entries`/`k`/`v`, large-string keys and view
    /// values: row 0 {part: null, x: "1"}, row 1 empty, rows 2.. null.
    fn odd_map(rows: usize) -> ArrayRef {
        let names = MapFieldNames {
            entry: "entries".into(),
            key: "k".into(),
            value: "v".into(),
        };
        let mut b = MapBuilder::new(
            Some(names),
            LargeStringBuilder::new(),
            StringViewBuilder::new(),
        );
        b.keys().append_value("part");
        b.values().append_null();
        b.keys().append_value("x");
        b.values().append_value("1");
        b.append(true).unwrap();
        b.append(true).unwrap();
        for _ in 2..rows {
            b.append(false).unwrap();
        }
        Arc::new(b.finish())
    }

    #[test]
    fn reads_the_forms_other_writers_use() {
        let n = 5;
        // tags as a list of (key, value) structs: row 0 {t: "v"}, others null
        let tag_entries = structure(
            vec![
                ("key", Arc::new(StringArray::from(vec!["t"])) as ArrayRef),
                ("value", Arc::new(StringArray::from(vec!["v"]))),
            ],
            &[true],
        );
        let tags = Arc::new(ListArray::new(
            Arc::new(Field::new("item", tag_entries.data_type().clone(), true)),
            OffsetBuffer::from_lengths([1, 0, 0, 0, 0]),
            tag_entries,
            Some(NullBuffer::from(vec![true, false, false, false, false])),
        ));
        // row 0: a full deletion vector (dictionary storage type, wide/narrow
        // integers); row 1: a struct with every field null, i.e. none
        let dv = structure(
            vec![
                (
                    "storageType",
                    Arc::new(DictionaryArray::<Int8Type>::from_iter([
                        Some("u"),
                        None,
                        None,
                        None,
                        None,
                    ])) as ArrayRef,
                ),
                (
                    "pathOrInlineDv",
                    Arc::new(StringArray::from(vec![
                        Some("ab^-aqEH.-t@S}K{vb[*k^"),
                        None,
                        None,
                        None,
                        None,
                    ])),
                ),
                (
                    "offset",
                    Arc::new(Int64Array::from(vec![Some(1), None, None, None, None])),
                ),
                (
                    "sizeInBytes",
                    Arc::new(Int64Array::from(vec![Some(36), None, None, None, None])),
                ),
                (
                    "cardinality",
                    Arc::new(Int32Array::from(vec![Some(2), None, None, None, None])),
                ),
                (
                    "maxRowIndex",
                    Arc::new(Int64Array::from(vec![Some(9), None, None, None, None])),
                ),
            ],
            &[true, true, false, false, false],
        );
        let add = structure(
            vec![
                (
                    "path",
                    Arc::new(StringViewArray::from(vec![
                        Some("a"),
                        Some("b"),
                        None,
                        None,
                        None,
                    ])) as ArrayRef,
                ),
                ("partitionValues", odd_map(n)),
                (
                    "size",
                    Arc::new(Int32Array::from(vec![Some(10), Some(20), None, None, None])),
                ),
                (
                    "modificationTime",
                    Arc::new(UInt32Array::from(vec![Some(7), Some(8), None, None, None])),
                ),
                (
                    "dataChange",
                    Arc::new(BooleanArray::from(vec![
                        Some(false),
                        Some(true),
                        None,
                        None,
                        None,
                    ])),
                ),
                (
                    "stats",
                    Arc::new(LargeStringArray::from(vec![
                        Some(r#"{"numRecords":3}"#),
                        None,
                        None,
                        None,
                        None,
                    ])),
                ),
                ("tags", tags),
                ("deletionVector", dv),
                (
                    "clusteringProvider",
                    Arc::new(DictionaryArray::<Int32Type>::from_iter([
                        Some("liquid"),
                        None,
                        None,
                        None,
                        None,
                    ])),
                ),
                // baseRowId, defaultRowCommitVersion: absent
            ],
            &[true, true, false, false, false],
        );
        let features = Arc::new(LargeListArray::new(
            Arc::new(Field::new("element", DataType::Utf8View, true)),
            OffsetBuffer::from_lengths([0, 0, 2, 0, 0]),
            Arc::new(StringViewArray::from(vec![
                "deletionVectors",
                "v2Checkpoint",
            ])),
            Some(NullBuffer::from(vec![false, false, true, false, false])),
        ));
        let protocol = structure(
            vec![
                (
                    "minReaderVersion",
                    Arc::new(Int64Array::from(vec![None, None, Some(3), None, None])) as ArrayRef,
                ),
                (
                    "minWriterVersion",
                    Arc::new(Int8Array::from(vec![None, None, Some(7), None, None])),
                ),
                ("readerFeatures", features.clone()),
                ("writerFeatures", features),
            ],
            &[false, false, true, false, false],
        );
        let mut configuration = MapBuilder::new(None, StringBuilder::new(), StringBuilder::new());
        for row in 0..n {
            if row == 3 {
                configuration.keys().append_value("delta.appendOnly");
                configuration.values().append_value("true");
                configuration.keys().append_value("unset");
                configuration.values().append_null();
            }
            configuration.append(row == 3).unwrap();
        }
        let metadata = structure(
            vec![
                (
                    "id",
                    Arc::new(StringArray::from(vec![None, None, None, Some("id"), None]))
                        as ArrayRef,
                ),
                (
                    "schemaString",
                    Arc::new(LargeStringArray::from(vec![
                        None,
                        None,
                        None,
                        Some("{}"),
                        None,
                    ])),
                ),
                (
                    "partitionColumns",
                    Arc::new(ListArray::new(
                        Arc::new(Field::new("element", DataType::LargeUtf8, true)),
                        OffsetBuffer::from_lengths([0, 0, 0, 1, 0]),
                        Arc::new(LargeStringArray::from(vec!["part"])),
                        Some(NullBuffer::from(vec![false, false, false, true, false])),
                    )),
                ),
                ("configuration", Arc::new(configuration.finish())),
                // name, description, format, createdTime: absent
            ],
            &[false, false, false, true, false],
        );
        let b = batch(vec![
            ("add", add),
            ("protocol", protocol),
            ("metaData", metadata),
        ]);
        let got = decode(&b).unwrap();

        let expected_add_0 = Add {
            path: "a".into(),
            partition_values: [
                ("part".to_string(), None),
                ("x".to_string(), Some("1".to_string())),
            ]
            .into(),
            size: 10,
            modification_time: 7,
            data_change: false,
            stats: Some(r#"{"numRecords":3}"#.into()),
            tags: Some([("t".to_string(), Some("v".to_string()))].into()),
            deletion_vector: Some(DeletionVectorDescriptor {
                storage_type: "u".into(),
                path_or_inline_dv: "ab^-aqEH.-t@S}K{vb[*k^".into(),
                offset: Some(1),
                size_in_bytes: 36,
                cardinality: 2,
            }),
            base_row_id: None,
            default_row_commit_version: None,
            clustering_provider: Some("liquid".into()),
        };
        let expected_add_1 = Add {
            path: "b".into(),
            partition_values: HashMap::new(),
            size: 20,
            modification_time: 8,
            data_change: true,
            stats: None,
            tags: None,
            deletion_vector: None,
            base_row_id: None,
            default_row_commit_version: None,
            clustering_provider: None,
        };
        let features = Some(vec![
            "deletionVectors".to_string(),
            "v2Checkpoint".to_string(),
        ]);
        let expected = vec![
            Some(Action::Add(expected_add_0)),
            Some(Action::Add(expected_add_1)),
            Some(Action::Protocol(Protocol {
                min_reader_version: 3,
                min_writer_version: 7,
                reader_features: features.clone(),
                writer_features: features,
            })),
            Some(Action::Metadata(Metadata {
                id: "id".into(),
                name: None,
                description: None,
                format: Format::default(),
                schema_string: "{}".into(),
                partition_columns: vec!["part".into()],
                created_time: None,
                configuration: [("delta.appendOnly".to_string(), "true".to_string())].into(),
            })),
            None,
        ];
        assert_eq!(got, expected);
    }

    /// An `add` column of two rows (the second null) with these children
    /// replacing or adding to a complete set.
    fn add_with(replace: Vec<(&str, ArrayRef)>) -> RecordBatch {
        let mut children: Vec<(&str, ArrayRef)> = vec![
            ("path", Arc::new(StringArray::from(vec![Some("p"), None]))),
            ("size", Arc::new(Int64Array::from(vec![Some(1), None]))),
            (
                "modificationTime",
                Arc::new(Int64Array::from(vec![Some(2), None])),
            ),
            (
                "dataChange",
                Arc::new(BooleanArray::from(vec![Some(true), None])),
            ),
        ];
        for (name, array) in replace {
            children.retain(|(n, _)| *n != name);
            children.push((name, array));
        }
        batch(vec![("add", structure(children, &[true, false]))])
    }

    fn error_of(batch: &RecordBatch) -> String {
        match decode(batch) {
            Ok(actions) => panic!("decoded {actions:?}"),
            Err(e) => e,
        }
    }

    #[test]
    fn a_complete_add_decodes() {
        let got = decode(&add_with(vec![])).unwrap();
        assert!(matches!(&got[..], [Some(Action::Add(a)), None] if a.path == "p" && a.size == 1));
    }

    #[test]
    fn missing_or_null_required_fields_are_named() {
        let null_path = add_with(vec![(
            "path",
            Arc::new(StringArray::from(vec![None::<&str>, None])),
        )]);
        assert_eq!(error_of(&null_path), "add.path is missing");

        let mut no_size = add_with(vec![]);
        let add = no_size.column(0).as_struct().clone();
        let (fields, columns, nulls) = add.into_parts();
        let keep: Vec<usize> = (0..fields.len())
            .filter(|&i| fields[i].name() != "size")
            .collect();
        let add = StructArray::new(
            keep.iter().map(|&i| fields[i].clone()).collect(),
            keep.iter().map(|&i| columns[i].clone()).collect(),
            nulls,
        );
        no_size = batch(vec![("add", Arc::new(add))]);
        assert_eq!(error_of(&no_size), "add.size is missing");

        let half_dv = structure(
            vec![(
                "storageType",
                Arc::new(StringArray::from(vec![Some("u"), None])) as ArrayRef,
            )],
            &[true, false],
        );
        let b = add_with(vec![("deletionVector", half_dv)]);
        assert_eq!(error_of(&b), "add.deletionVector.pathOrInlineDv is missing");
    }

    #[test]
    fn wrong_types_and_values_that_do_not_fit_are_errors() {
        let b = add_with(vec![(
            "path",
            Arc::new(Int64Array::from(vec![Some(1), None])),
        )]);
        assert_eq!(error_of(&b), "column add.path holds Int64, not strings");

        let b = add_with(vec![(
            "size",
            Arc::new(UInt64Array::from(vec![Some(u64::MAX), None])),
        )]);
        assert!(
            error_of(&b).starts_with("column add.size:"),
            "{}",
            error_of(&b)
        );

        let dv = structure(
            vec![
                (
                    "storageType",
                    Arc::new(StringArray::from(vec![Some("u"), None])) as ArrayRef,
                ),
                (
                    "pathOrInlineDv",
                    Arc::new(StringArray::from(vec![Some("x"), None])),
                ),
                (
                    "sizeInBytes",
                    Arc::new(Int64Array::from(vec![Some(1 << 40), None])),
                ),
                (
                    "cardinality",
                    Arc::new(Int64Array::from(vec![Some(1), None])),
                ),
            ],
            &[true, false],
        );
        let b = add_with(vec![("deletionVector", dv)]);
        assert_eq!(
            error_of(&b),
            "add.deletionVector.sizeInBytes is 1099511627776, out of range for a 32-bit integer"
        );

        let b = batch(vec![(
            "add",
            Arc::new(Int64Array::from(vec![1])) as ArrayRef,
        )]);
        assert_eq!(error_of(&b), "column add holds Int64, not a struct");

        // binary strings are read when they are UTF-8
        let path =
            |bytes: &'static [u8]| Arc::new(BinaryArray::from(vec![Some(bytes), None])) as ArrayRef;
        let got = decode(&add_with(vec![("path", path(b"p"))])).unwrap();
        assert!(matches!(&got[0], Some(Action::Add(a)) if a.path == "p"));
        let b = add_with(vec![("path", path(b"\xff"))]);
        assert!(
            error_of(&b).starts_with("column add.path:"),
            "{}",
            error_of(&b)
        );
    }

    #[test]
    fn null_list_elements_are_errors() {
        let columns = structure(
            vec![(
                "partitionColumns",
                Arc::new(ListArray::new(
                    Arc::new(Field::new("element", DataType::Utf8, true)),
                    OffsetBuffer::from_lengths([1]),
                    Arc::new(StringArray::from(vec![None::<&str>])),
                    None,
                )) as ArrayRef,
            )],
            &[true],
        );
        let b = batch(vec![("metaData", columns)]);
        assert_eq!(error_of(&b), "metaData.partitionColumns has a null element");
    }
}
