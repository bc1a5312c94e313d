//! The statistics a scan hands DataFusion, from the files' statistics in
//! the log: rows (live rows, after deletion vectors), and for each
//! top-level primitive column its minimum, maximum and null count over the
//! files read. Minimums and maximums are always inexact (bounds: a file's
//! may be wider than its rows, and deleted rows still count); counts are
//! exact only when every file has them, none has a deletion vector, and no
//! predicate or limit keeps fewer rows (a partition column's null count is
//! never exact: the skipping statistics bound it).

use arrow::array::{Array, ArrayRef, AsArray, RecordBatch};
use arrow::datatypes::{Int64Type, Schema};
use datafusion::common::stats::Precision;
use datafusion::common::{ColumnStatistics, ScalarValue, Statistics};
use delta_schema::DataType;
use delta_txn::Snapshot;

/// The statistics of `files` (indices in the snapshot) read into `schema`;
/// `all_rows` when every row of the files is output.
pub(crate) fn of_files(
    snapshot: &Snapshot,
    schema: &Schema,
    files: &[usize],
    all_rows: bool,
) -> Statistics {
    let mut stats = Statistics::new_unknown(schema);
    let active = snapshot.files();
    let without_dvs = files
        .iter()
        .all(|&i| active.get(i).is_some_and(|f| f.deletion_vector().is_none()));
    let exact = |n: usize| {
        if all_rows {
            Precision::Exact(n)
        } else {
            Precision::Inexact(n)
        }
    };
    let live: Option<u64> = files
        .iter()
        .map(|&i| active.get(i).and_then(|f| f.live_records()))
        .sum();
    if let Some(rows) = live.and_then(|r| usize::try_from(r).ok()) {
        stats.num_rows = exact(rows);
    }
    // the output columns that are top-level primitives of the table
    let columns: Vec<(usize, Vec<String>, DataType)> = schema
        .fields()
        .iter()
        .enumerate()
        .filter_map(|(i, f)| {
            let field = snapshot.schema().field(f.name())?;
            matches!(field.data_type, DataType::Primitive(_))
                .then(|| (i, vec![f.name().clone()], field.data_type.clone()))
        })
        .collect();
    if columns.is_empty() {
        return stats;
    }
    let paths: Vec<(Vec<String>, DataType)> = columns
        .iter()
        .map(|(_, p, t)| (p.clone(), t.clone()))
        .collect();
    // statistics that do not decode leave every column unknown
    let Ok(batch) = snapshot.file_statistics(&paths) else {
        return stats;
    };
    let partitions = snapshot.partition_columns();
    for (i, path, _) in &columns {
        let field = schema.field(*i);
        // a partition column's null count in the statistics batch is a
        // bound for skipping ("at least one" for a null value), not a count
        let counted = without_dvs && !partitions.contains(&path[0]);
        if let Some(column) = column_of(&batch, &path[0], field.data_type(), files) {
            stats.column_statistics[*i] = ColumnStatistics {
                null_count: match column.null_count {
                    Some(n) if counted => exact(n),
                    Some(n) => Precision::Inexact(n),
                    None => Precision::Absent,
                },
                min_value: column.min.map_or(Precision::Absent, Precision::Inexact),
                max_value: column.max.map_or(Precision::Absent, Precision::Inexact),
                ..ColumnStatistics::new_unknown()
            };
        }
    }
    stats
}

/// One column's statistics over some files; `None` where a file lacks one.
struct Column {
    min: Option<ScalarValue>,
    max: Option<ScalarValue>,
    null_count: Option<usize>,
}

/// The statistics of `name` over `files` from the statistics batch, when
/// they have the type the scan outputs.
fn column_of(
    batch: &RecordBatch,
    name: &str,
    data_type: &arrow::datatypes::DataType,
    files: &[usize],
) -> Option<Column> {
    let part = |i: usize| -> Option<&ArrayRef> { batch.column(i).as_struct().column_by_name(name) };
    let (mins, maxs, nulls) = (part(1)?, part(2)?, part(3)?);
    if mins.data_type() != data_type || maxs.data_type() != data_type {
        return None;
    }
    let records = batch.column(0).as_primitive::<Int64Type>();
    let nulls = nulls.as_primitive_opt::<Int64Type>()?;
    let null_count = files
        .iter()
        .map(|&f| (!nulls.is_null(f)).then(|| usize::try_from(nulls.value(f)).ok())?)
        .sum::<Option<usize>>();
    // a file whose rows are all null has no bounds and needs none
    let all_null =
        |f: usize| !nulls.is_null(f) && !records.is_null(f) && nulls.value(f) == records.value(f);
    let bound = |values: &ArrayRef, wanted: std::cmp::Ordering| -> Option<ScalarValue> {
        let mut best: Option<ScalarValue> = None;
        for &f in files {
            if values.is_null(f) {
                if all_null(f) {
                    continue;
                }
                return None;
            }
            let value = ScalarValue::try_from_array(values, f).ok()?;
            best = match best {
                Some(b) if value.partial_cmp(&b)? != wanted => Some(b),
                _ => Some(value),
            };
        }
        best
    };
    Some(Column {
        min: bound(mins, std::cmp::Ordering::Less),
        max: bound(maxs, std::cmp::Ordering::Greater),
        null_count,
    })
}
