//! Page skipping: within a row group, the rows whose data pages may hold a
//! row the scan's predicate keeps, from the file's page index (Parquet's
//! column and offset indexes).
//!
//! The skipping predicate of delta-expr reads a statistics batch with a row
//! per file; here a row is a *segment* of the row group: the row group is cut
//! at every page boundary of every column the predicate reads, so that each
//! segment lies in one page of each column and takes that page's minimum,
//! maximum and null count. A segment's row count is left unknown (a page's
//! null count is not the segment's), so only bounds that hold for part of a
//! page are used. Columns without usable page statistics (partition values,
//! nested fields, a type other than the table's) are unknown, which keeps
//! rows. Only conservative: the scan still filters the rows it reads.

use std::ops::Range;
use std::sync::Arc;

use arrow::array::{
    Array, ArrayRef, Int64Array, RecordBatch, StructArray, UInt32Array, new_null_array,
};
use arrow::compute::{cast, take};
use arrow::datatypes::{DataType as ArrowType, Field, Fields, Schema};
use delta_expr::SkippingPredicate;
use delta_expr::skip::{MAX_VALUES, MIN_VALUES, NULL_COUNT, NUM_RECORDS};
use parquet::arrow::arrow_reader::statistics::StatisticsConverter;
use parquet::arrow::arrow_reader::{ArrowReaderMetadata, RowSelection};

use crate::conform::{ColumnMapping, find_column};
use delta_schema::StructField;

/// One predicate column's pages in a row group.
struct PageColumn {
    name: String,
    /// The first row of each page.
    first_rows: Vec<usize>,
    mins: ArrayRef,
    maxes: ArrayRef,
    null_counts: ArrayRef,
}

/// The rows of `row_group` whose pages may hold a row `skip` keeps; `None`
/// when that is every row or the file has no page index. `columns` are the
/// table fields read from the file (not partition values).
pub(crate) fn select_rows(
    skip: &SkippingPredicate,
    columns: &[&StructField],
    mapping: ColumnMapping,
    metadata: &ArrowReaderMetadata,
    row_group: usize,
) -> Option<RowSelection> {
    let parquet = metadata.metadata();
    let (Some(column_index), Some(offset_index)) = (parquet.column_index(), parquet.offset_index())
    else {
        return None;
    };
    let rows = usize::try_from(parquet.row_groups().get(row_group)?.num_rows()).ok()?;
    let file_schema = metadata.schema();
    let mut pages = Vec::new();
    for (path, data_type) in skip.columns() {
        let [name] = path.as_slice() else { continue };
        let Some(field) = columns.iter().find(|f| &f.name == name) else {
            continue;
        };
        let Some((_, file_field)) = find_column(file_schema.fields(), field, mapping) else {
            continue;
        };
        let Ok(converter) =
            StatisticsConverter::try_new(file_field.name(), file_schema, metadata.parquet_schema())
        else {
            continue;
        };
        let Some(parquet_column) = converter.parquet_column_index() else {
            continue;
        };
        let target = data_type.to_arrow();
        let stats = (
            converter.data_page_mins(column_index, offset_index, [&row_group]),
            converter.data_page_maxes(column_index, offset_index, [&row_group]),
            converter.data_page_null_counts(column_index, offset_index, [&row_group]),
        );
        let (Ok(mins), Ok(maxes), Ok(null_counts)) = stats else {
            continue;
        };
        let (Some(mins), Some(maxes), Ok(null_counts)) = (
            as_table_type(&mins, &target),
            as_table_type(&maxes, &target),
            cast(&null_counts, &ArrowType::Int64),
        ) else {
            continue;
        };
        let first_rows: Vec<usize> = offset_index
            .get(row_group)?
            .get(parquet_column)?
            .page_locations()
            .iter()
            .filter_map(|p| usize::try_from(p.first_row_index).ok())
            .collect();
        if first_rows.len() != mins.len() || first_rows.first() != Some(&0) {
            continue;
        }
        pages.push(PageColumn {
            name: name.clone(),
            first_rows,
            mins,
            maxes,
            null_counts,
        });
    }
    if pages.is_empty() {
        return None;
    }
    let segments = segments(&pages, rows);
    let batch = stats_batch(skip, &pages, &segments)?;
    let keep = skip.keep(&batch).ok()?;
    let kept: Vec<Range<usize>> = segments
        .iter()
        .enumerate()
        .filter(|(i, _)| keep.is_null(*i) || keep.value(*i))
        .map(|(_, s)| s.clone())
        .collect();
    if kept.len() == segments.len() {
        return None;
    }
    Some(RowSelection::from_consecutive_ranges(
        kept.into_iter(),
        rows,
    ))
}

/// Page statistics in the table's type: as they are, or widened without
/// loss (a narrower integer or float); anything else is unknown.
fn as_table_type(array: &ArrayRef, target: &ArrowType) -> Option<ArrayRef> {
    use ArrowType::*;
    let from = array.data_type();
    let widens = matches!(
        (from, target),
        (Int8 | Int16 | Int32, Int16 | Int32 | Int64) | (Float32, Float64)
    );
    let same_instant = matches!(
        (from, target),
        (Timestamp(a, _), Timestamp(b, _)) if a == b
    );
    if from == target {
        Some(Arc::clone(array))
    } else if widens || same_instant {
        cast(array, target).ok()
    } else {
        None
    }
}

/// The row group cut at every page boundary of every column.
fn segments(pages: &[PageColumn], rows: usize) -> Vec<Range<usize>> {
    let mut cuts: Vec<usize> = pages
        .iter()
        .flat_map(|p| p.first_rows.iter().copied())
        .filter(|&r| r < rows)
        .collect();
    cuts.push(rows);
    cuts.sort_unstable();
    cuts.dedup();
    cuts.windows(2).map(|w| w[0]..w[1]).collect()
}

/// The statistics batch of the segments, in `skip`'s schema.
fn stats_batch(
    skip: &SkippingPredicate,
    pages: &[PageColumn],
    segments: &[Range<usize>],
) -> Option<RecordBatch> {
    let n = segments.len();
    // for each column, the page of each segment
    let page_of: Vec<UInt32Array> = pages
        .iter()
        .map(|p| {
            segments
                .iter()
                .map(|s| {
                    let page = p.first_rows.partition_point(|&r| r <= s.start) - 1;
                    u32::try_from(page).unwrap_or(u32::MAX)
                })
                .collect()
        })
        .collect();
    let schema = skip.stats_schema();
    let mut fields = Vec::new();
    let mut arrays: Vec<ArrayRef> = Vec::new();
    for field in &schema.fields {
        let arrow_type = field.data_type.to_arrow();
        let array: ArrayRef = match (field.name.as_str(), &arrow_type) {
            (NUM_RECORDS, _) => Arc::new(Int64Array::new_null(n)),
            (name @ (MIN_VALUES | MAX_VALUES | NULL_COUNT), ArrowType::Struct(children)) => {
                struct_of(children, n, |child| {
                    let i = pages.iter().position(|p| p.name == *child.name())?;
                    let values = match name {
                        MIN_VALUES => &pages[i].mins,
                        MAX_VALUES => &pages[i].maxes,
                        _ => &pages[i].null_counts,
                    };
                    take(values, &page_of[i], None).ok()
                })?
            }
            _ => new_null_array(&arrow_type, n),
        };
        fields.push(Field::new(&field.name, array.data_type().clone(), true));
        arrays.push(array);
    }
    RecordBatch::try_new(Arc::new(Schema::new(fields)), arrays).ok()
}

/// A struct array of these children, each from `child` or null.
fn struct_of(
    children: &Fields,
    rows: usize,
    child: impl Fn(&Field) -> Option<ArrayRef>,
) -> Option<ArrayRef> {
    let arrays: Vec<ArrayRef> = children
        .iter()
        .map(|f| {
            child(f)
                .filter(|a| a.data_type() == f.data_type())
                .unwrap_or_else(|| new_null_array(f.data_type(), rows))
        })
        .collect();
    let nullable: Fields = children
        .iter()
        .map(|f| Arc::new(f.as_ref().clone().with_nullable(true)))
        .collect();
    if children.is_empty() {
        return Some(Arc::new(StructArray::new_empty_fields(rows, None)));
    }
    StructArray::try_new(nullable, arrays, None)
        .ok()
        .map(|s| Arc::new(s) as ArrayRef)
}
