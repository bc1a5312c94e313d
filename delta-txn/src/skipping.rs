//! Choosing the files of a scan with a predicate: the files' statistics and
//! partition values as one batch (a row per file, see
//! [`delta_expr::skip`]), read by the predicate's skipping form.
//!
//! Statistics are read as the protocol stores them, under physical names,
//! and made conservative: a maximum timestamp is raised to the end of its
//! millisecond (writers keep milliseconds), a maximum string of 32 or more
//! characters is dropped (writers may keep a prefix). Statistics that do not
//! parse leave the file's bounds unknown, which keeps it.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use arrow::array::{
    Array, ArrayRef, AsArray, Int64Array, RecordBatch, RecordBatchOptions, StringArray,
    StructArray, UInt32Array, make_array, new_null_array,
};
use arrow::buffer::NullBuffer;
use arrow::compute::{concat, concat_batches, take};
use arrow::datatypes::{
    DataType as ArrowType, Field, Fields, Schema, TimeUnit, TimestampMicrosecondType,
};
use arrow::json::ReaderBuilder;
use delta_expr::SkippingPredicate;
use delta_expr::skip::{MAX_VALUES, MIN_VALUES, NULL_COUNT, NUM_RECORDS, stats_schema};
use delta_log::ActiveFiles;
use delta_schema::{DataType, StructField, StructType};

use crate::TxnError;

/// Longest string maximum taken as exact (Delta keeps 32-character prefixes).
const STRING_PREFIX: usize = 32;

/// The files (indices in `files`) the predicate may find rows in.
pub(crate) fn select(
    skip: &SkippingPredicate,
    files: &ActiveFiles,
    schema: &StructType,
    partition_columns: &[String],
    cache: &StatsCache,
) -> Result<Selection, TxnError> {
    let kept = |with_stats: bool| -> Result<Vec<bool>, TxnError> {
        let batch = stats_batch(
            skip.columns(),
            files,
            schema,
            partition_columns,
            with_stats,
            cache,
        )?;
        Ok(skip
            .keep(&batch)?
            .iter()
            .map(|k| k.unwrap_or(true))
            .collect())
    };
    let all = kept(true)?;
    let on_partition = |path: &Vec<String>| path.len() == 1 && partition_columns.contains(&path[0]);
    let columns = skip.columns();
    let by_partition = if columns.iter().all(|(p, _)| on_partition(p)) {
        all.iter().filter(|k| !**k).count()
    } else if columns.iter().any(|(p, _)| on_partition(p)) {
        kept(false)?.iter().filter(|k| !**k).count()
    } else {
        0
    };
    let files: Vec<usize> = all
        .iter()
        .enumerate()
        .filter(|(_, k)| **k)
        .map(|(i, _)| i)
        .collect();
    let skipped = all.len() - files.len();
    Ok(Selection {
        files,
        pruned_by_partition: by_partition,
        skipped_by_stats: skipped - by_partition.min(skipped),
    })
}

/// The files a predicate reads, and why the others are not.
#[derive(Debug, Clone, Default)]
pub(crate) struct Selection {
    /// Indices of the files to read.
    pub files: Vec<usize>,
    /// Files ruled out by their partition values alone.
    pub pruned_by_partition: usize,
    /// Files ruled out only with their statistics.
    pub skipped_by_stats: usize,
}

/// The statistics batch of the files (a row per file, see
/// [`delta_expr::skip`]) for `columns` (logical paths and their types;
/// without the files' statistics, only their partition values, when not
/// `with_stats`).
pub(crate) fn stats_batch(
    columns: &[(Vec<String>, DataType)],
    files: &ActiveFiles,
    schema: &StructType,
    partition_columns: &[String],
    with_stats: bool,
    cache: &StatsCache,
) -> Result<RecordBatch, TxnError> {
    let (partitions, data): (Vec<_>, Vec<_>) = columns
        .iter()
        .cloned()
        .partition(|(path, _)| path.len() == 1 && partition_columns.contains(&path[0]));
    // decoded under physical names, then given the logical ones
    let physical: Vec<(Vec<String>, DataType)> = data
        .iter()
        .map(|(path, t)| (physical_path(schema, path), t.clone()))
        .collect();
    let mut columns: Vec<ArrayRef> = if data.is_empty() {
        // partition columns only: the row counts, and structs to add them to
        let counts = Arc::new(Schema::new(vec![Field::new(
            NUM_RECORDS,
            ArrowType::Int64,
            true,
        )]));
        let decoded = cache.decode(files, &counts, with_stats)?;
        let empty = || Arc::new(StructArray::new_empty_fields(files.len(), None)) as ArrayRef;
        vec![Arc::clone(decoded.column(0)), empty(), empty(), empty()]
    } else {
        let physical_schema = Arc::new(Schema::new(
            stats_schema(&physical)
                .fields
                .iter()
                .map(|f| f.to_arrow())
                .collect::<Vec<_>>(),
        ));
        let logical_schema = stats_schema(&data);
        let decoded = cache.decode(files, &physical_schema, with_stats)?;
        decoded
            .columns()
            .iter()
            .zip(&logical_schema.fields)
            .map(|(c, f)| renamed(c, &f.data_type.to_arrow()))
            .collect()
    };
    columns[2] = conservative_max(&columns[2]);
    if !partitions.is_empty() {
        let rows = columns[0]
            .as_primitive::<arrow::datatypes::Int64Type>()
            .clone();
        add_partitions(&mut columns, &partitions, files, schema, &rows)?;
    }
    let fields: Vec<Field> = [NUM_RECORDS, MIN_VALUES, MAX_VALUES, NULL_COUNT]
        .iter()
        .zip(&columns)
        .map(|(name, c)| Field::new(*name, c.data_type().clone(), true))
        .collect();
    Ok(RecordBatch::try_new(
        Arc::new(Schema::new(fields)),
        columns,
    )?)
}

/// A logical column path in physical names (column mapping).
fn physical_path(schema: &StructType, path: &[String]) -> Vec<String> {
    let mut fields = &schema.fields;
    let mut out = Vec::with_capacity(path.len());
    for name in path {
        match fields.iter().find(|f| &f.name == name) {
            Some(f) => {
                out.push(f.physical_name().to_string());
                if let DataType::Struct(s) = &f.data_type {
                    fields = &s.fields;
                }
            }
            None => out.push(name.clone()),
        }
    }
    out
}

/// The statistics of a snapshot's files as decoded so far, by the columns
/// decoded: the JSON statistics are parsed once per snapshot and set of
/// columns, not once per scan. Shared by the clones of a snapshot; holds the
/// last few sets of columns.
#[derive(Debug, Clone, Default)]
pub(crate) struct StatsCache(Arc<Mutex<Vec<Decoded>>>);

/// Statistics decoded in a schema, with or without the files' statistics.
type Decoded = (Arc<Schema>, bool, RecordBatch);

/// Sets of columns a [`StatsCache`] keeps.
const CACHED_DECODES: usize = 8;

impl StatsCache {
    /// [`decode`], or its result for the same columns before.
    fn decode(
        &self,
        files: &ActiveFiles,
        schema: &Arc<Schema>,
        with_stats: bool,
    ) -> Result<RecordBatch, TxnError> {
        let cached = |entries: &[Decoded]| {
            entries
                .iter()
                .find(|(s, w, _)| s == schema && *w == with_stats)
                .map(|(_, _, b)| b.clone())
        };
        if let Some(batch) = self.0.lock().ok().and_then(|e| cached(&e)) {
            return Ok(batch);
        }
        let batch = decode(files, schema, with_stats)?;
        if let Ok(mut entries) = self.0.lock() {
            if entries.len() >= CACHED_DECODES {
                entries.remove(0);
            }
            entries.push((Arc::clone(schema), with_stats, batch.clone()));
        }
        Ok(batch)
    }
}

/// The files' JSON statistics in `schema`, a row per file; statistics that
/// are missing or do not parse are a row of nulls.
fn decode(
    files: &ActiveFiles,
    schema: &Arc<Schema>,
    with_stats: bool,
) -> Result<RecordBatch, TxnError> {
    // without statistics, the row counts stay: a null partition value
    // then rules its file out by itself
    let counts: Vec<String> = match with_stats {
        true => Vec::new(),
        false => files
            .iter()
            .map(|f| match f.num_records() {
                Some(n) => format!(r#"{{"numRecords":{n}}}"#),
                None => "{}".to_string(),
            })
            .collect(),
    };
    let lines: Vec<&str> = match with_stats {
        true => files.iter().map(|f| f.stats().unwrap_or("{}")).collect(),
        false => counts.iter().map(String::as_str).collect(),
    };
    let all = lines.join("\n");
    if let Some(batch) = decode_lines(&all, schema, lines.len()) {
        return Ok(batch);
    }
    // one line is bad: decode them one by one
    let batches: Vec<RecordBatch> = lines
        .iter()
        .map(|line| {
            decode_lines(line, schema, 1)
                .or_else(|| decode_lines("{}", schema, 1))
                .ok_or_else(|| TxnError::InvalidArgument {
                    reason: "cannot build the statistics of a file".to_string(),
                })
        })
        .collect::<Result<_, _>>()?;
    Ok(concat_batches(schema, &batches)?)
}

fn decode_lines(text: &str, schema: &Arc<Schema>, rows: usize) -> Option<RecordBatch> {
    let mut decoder = ReaderBuilder::new(Arc::clone(schema))
        .with_batch_size(rows.max(1))
        .build_decoder()
        .ok()?;
    let mut input = text.as_bytes();
    while !input.is_empty() {
        let read = decoder.decode(input).ok()?;
        if read == 0 {
            break;
        }
        input = &input[read..];
    }
    let batch = match decoder.flush().ok()? {
        Some(b) => b,
        None => RecordBatch::new_empty(Arc::clone(schema)),
    };
    (batch.num_rows() == rows).then_some(batch)
}

/// The array with the field names of `to` (same shape, other names).
fn renamed(array: &ArrayRef, to: &ArrowType) -> ArrayRef {
    match (array.as_struct_opt(), to) {
        (Some(s), ArrowType::Struct(fields)) => {
            let children = s
                .columns()
                .iter()
                .zip(fields.iter())
                .map(|(c, f)| renamed(c, f.data_type()))
                .collect();
            Arc::new(StructArray::new(
                fields.clone(),
                children,
                s.nulls().cloned(),
            ))
        }
        _ => Arc::clone(array),
    }
}

/// Maximums made safe upper bounds: timestamps to the end of their
/// millisecond, long strings unknown.
fn conservative_max(array: &ArrayRef) -> ArrayRef {
    if let Some(s) = array.as_struct_opt() {
        if s.num_columns() == 0 {
            return Arc::clone(array);
        }
        let children = s.columns().iter().map(conservative_max).collect();
        let fields = s.fields().clone();
        return Arc::new(StructArray::new(fields, children, s.nulls().cloned()));
    }
    match array.data_type() {
        ArrowType::Timestamp(TimeUnit::Microsecond, _) => {
            let raised = array
                .as_primitive::<TimestampMicrosecondType>()
                .unary::<_, TimestampMicrosecondType>(|v| v.saturating_add(999));
            Arc::new(raised.with_data_type(array.data_type().clone()))
        }
        ArrowType::Utf8 => {
            let strings = array.as_string::<i32>();
            let kept: StringArray = strings
                .iter()
                .map(|v| v.filter(|s| s.chars().count() < STRING_PREFIX))
                .collect();
            Arc::new(kept)
        }
        _ => Arc::clone(array),
    }
}

/// Puts each partition column's value in as minimum and maximum, and its
/// null count (all rows, or none).
fn add_partitions(
    columns: &mut [ArrayRef],
    partitions: &[(Vec<String>, DataType)],
    files: &ActiveFiles,
    schema: &StructType,
    rows: &Int64Array,
) -> Result<(), TxnError> {
    let mut values = Vec::new();
    let mut nulls = Vec::new();
    for (path, data_type) in partitions {
        let name = &path[0];
        let column = partition_column(files, schema, name, data_type)?;
        let null_count: Int64Array = (0..column.len())
            .map(|i| match column.is_null(i) {
                // a null partition value: every row is null (count unknown: at least one)
                true => Some(if rows.is_null(i) {
                    1
                } else {
                    rows.value(i).max(1)
                }),
                false => Some(0),
            })
            .collect();
        values.push((name.clone(), column));
        nulls.push((name.clone(), Arc::new(null_count) as ArrayRef));
    }
    for (position, added) in [(1, &values), (2, &values), (3, &nulls)] {
        columns[position] = with_children(&columns[position], added);
    }
    Ok(())
}

/// The partition values of every file (a row per file) of the partition
/// column `name`, typed.
fn partition_column(
    files: &ActiveFiles,
    schema: &StructType,
    name: &str,
    data_type: &DataType,
) -> Result<ArrayRef, TxnError> {
    // keyed by physical name under column mapping
    let key = schema.field(name).map_or(name, |f| f.physical_name());
    // each distinct value parsed once
    let mut distinct: HashMap<Option<&str>, u32> = HashMap::new();
    let mut parsed: Vec<ArrayRef> = Vec::new();
    let mut indices = Vec::with_capacity(files.len());
    for file in files.iter() {
        let value = file
            .partition_values()
            .get(key)
            .or_else(|| file.partition_values().get(name))
            .and_then(|v| v.as_deref())
            .filter(|v| !v.is_empty());
        let next = u32::try_from(parsed.len()).unwrap_or(u32::MAX);
        let index = match distinct.get(&value) {
            Some(i) => *i,
            None => {
                parsed.push(delta_io::partition::partition_column(
                    name, value, data_type, 1,
                )?);
                distinct.insert(value, next);
                next
            }
        };
        indices.push(index);
    }
    Ok(if parsed.is_empty() {
        new_null_array(&data_type.to_arrow(), 0)
    } else {
        let refs: Vec<&dyn Array> = parsed.iter().map(AsRef::as_ref).collect();
        take(&concat(&refs)?, &UInt32Array::from(indices), None)?
    })
}

/// The partition values of every file as a batch (a row per file) of the
/// partition columns `columns` (top-level fields of `schema`), under their
/// logical names and types.
pub(crate) fn partition_values(
    files: &ActiveFiles,
    schema: &StructType,
    columns: &[&StructField],
) -> Result<RecordBatch, TxnError> {
    let arrays = columns
        .iter()
        .map(|f| partition_column(files, schema, &f.name, &f.data_type))
        .collect::<Result<Vec<_>, _>>()?;
    let fields: Vec<Field> = columns
        .iter()
        .map(|f| Field::new(&f.name, f.data_type.to_arrow(), true))
        .collect();
    let options = RecordBatchOptions::new().with_row_count(Some(files.len()));
    Ok(RecordBatch::try_new_with_options(
        Arc::new(Schema::new(fields)),
        arrays,
        &options,
    )?)
}

/// A struct array with these children added. Its own nulls (files without
/// these statistics) move into its children first, so that the added
/// children are not hidden by them.
fn with_children(array: &ArrayRef, added: &[(String, ArrayRef)]) -> ArrayRef {
    let Some(s) = array.as_struct_opt() else {
        return Arc::clone(array);
    };
    let mut fields: Vec<Arc<Field>> = s.fields().iter().cloned().collect();
    let mut children: Vec<ArrayRef> = s
        .columns()
        .iter()
        .map(|c| with_parent_nulls(c, s.nulls()))
        .collect();
    for (name, child) in added {
        fields.push(Arc::new(Field::new(name, child.data_type().clone(), true)));
        children.push(Arc::clone(child));
    }
    Arc::new(StructArray::new(Fields::from(fields), children, None))
}

/// `child` null wherever its parent is (recursively into structs).
fn with_parent_nulls(child: &ArrayRef, parent: Option<&NullBuffer>) -> ArrayRef {
    let Some(parent) = parent.filter(|p| p.null_count() > 0) else {
        return Arc::clone(child);
    };
    let nulls = NullBuffer::union(Some(parent), child.nulls());
    match child.as_struct_opt() {
        Some(s) => {
            let children = s
                .columns()
                .iter()
                .map(|c| with_parent_nulls(c, nulls.as_ref()))
                .collect();
            Arc::new(StructArray::new(s.fields().clone(), children, nulls))
        }
        None => match child.to_data().into_builder().nulls(nulls).build() {
            Ok(data) => make_array(data),
            // cannot happen (same length); unknown bounds keep files
            Err(_) => new_null_array(child.data_type(), child.len()),
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use delta_log::Add;

    fn add(path: &str, stats: &str) -> Add {
        Add {
            path: path.into(),
            partition_values: Default::default(),
            size: 1,
            modification_time: 0,
            data_change: true,
            stats: Some(stats.into()),
            tags: None,
            deletion_vector: None,
            base_row_id: None,
            default_row_commit_version: None,
            clustering_provider: None,
        }
    }

    #[test]
    fn statistics_are_decoded_once_per_set_of_columns() {
        let files: ActiveFiles = [
            add("a", r#"{"numRecords":3,"minValues":{"x":1}}"#),
            add("b", "not json"),
        ]
        .into_iter()
        .collect();
        let schema = Arc::new(Schema::new(vec![Field::new(
            NUM_RECORDS,
            ArrowType::Int64,
            true,
        )]));
        let cache = StatsCache::default();
        let first = cache.decode(&files, &schema, true).unwrap();
        assert_eq!(
            format!("{:?}", first.column(0)),
            format!("{:?}", Int64Array::from(vec![Some(3), None]))
        );
        let again = cache.decode(&files, &schema, true).unwrap();
        assert_eq!(first, again);
        cache.decode(&files, &schema, false).unwrap();
        assert_eq!(cache.0.lock().unwrap().len(), 2);
        // a bounded number of sets of columns
        for i in 0..CACHED_DECODES + 3 {
            let other = Arc::new(Schema::new(vec![Field::new(
                format!("c{i}"),
                ArrowType::Int64,
                true,
            )]));
            cache.decode(&files, &other, true).unwrap();
        }
        assert_eq!(cache.0.lock().unwrap().len(), CACHED_DECODES);
    }
}
