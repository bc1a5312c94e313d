//! Building blocks of operations that change rows already in a table
//! (replaceWhere here; DELETE, UPDATE and MERGE in delta-merge): which files
//! hold rows matching a predicate, and writing the rows of files again,
//! changed.

use arrow::array::{Array, RecordBatch, UInt64Array};
use delta_expr::{Expr, bind_predicate};
use delta_io::ROW_INDEX_COLUMN;
use delta_io::writer::{DataWriter, WriterOptions};
use delta_log::{Metadata, TableProperties};
use delta_schema::{StructField, StructType};
use futures::StreamExt;
use roaring::RoaringTreemap;

use crate::background_writer::BackgroundWriter;
use crate::enforce::Conformer;
use crate::skipping::partition_values;
use crate::{Snapshot, Table, TxnError};

/// A file of the snapshot that holds rows matching a predicate.
#[derive(Debug, Clone)]
pub struct FileMatch {
    /// Its index in the snapshot's file list.
    pub index: usize,
    /// Whether it also holds rows that do not match.
    pub mixed: bool,
    /// How many of its rows match, where known (a file chosen by its
    /// partition values alone is not read: its statistics say).
    pub matched_rows: Option<u64>,
    /// The indexes in the file of the matching rows, when asked for and the
    /// file is mixed.
    pub rows: Option<RoaringTreemap>,
}

/// The files holding rows that match a predicate.
#[derive(Debug, Clone, Default)]
pub struct FileMatches {
    /// The files with matching rows, in snapshot order.
    pub files: Vec<FileMatch>,
    /// The files whose rows were read to find them (none when the predicate
    /// reads only partition columns).
    pub read: Vec<usize>,
}

impl FileMatches {
    /// Indices of the files that also hold rows that do not match.
    pub fn mixed(&self) -> Vec<usize> {
        self.files
            .iter()
            .filter(|f| f.mixed)
            .map(|f| f.index)
            .collect()
    }
}

/// Sorts the snapshot's files by the rows matching `predicate`: none (left
/// out), only matching rows, or both (`mixed`); a row whose predicate is
/// null does not match. A predicate on partition columns alone is decided by
/// the partition values, reading no file; otherwise only the files the
/// statistics cannot rule out are read, and only the columns the predicate
/// reads. With `row_indexes`, the indexes of the matching rows of mixed
/// files are kept (for deletion vectors).
pub async fn matching_files(
    snapshot: &Snapshot,
    predicate: &Expr,
    row_indexes: bool,
) -> Result<FileMatches, TxnError> {
    let schema = snapshot.schema();
    let partition_columns = &snapshot.metadata().partition_columns;
    let bound = bind_predicate(predicate, schema)?;
    let columns = bound.columns();
    let partition_fields: Option<Vec<&StructField>> = columns
        .iter()
        .map(|path| match path.as_slice() {
            [name] if partition_columns.contains(name) => schema.field(name),
            _ => None,
        })
        .collect();
    if let Some(fields) = partition_fields {
        let partition_schema = StructType::new(fields.iter().map(|f| (*f).clone()));
        let on_partitions = bind_predicate(predicate, &partition_schema)?;
        let values = partition_values(snapshot.files(), schema, &fields)?;
        let matches = on_partitions.matching_rows(&values)?;
        let files = (0..matches.len())
            .filter(|&i| matches.value(i))
            .map(|index| FileMatch {
                index,
                mixed: false,
                matched_rows: snapshot.files().get(index).and_then(|f| f.live_records()),
                rows: None,
            })
            .collect();
        return Ok(FileMatches {
            files,
            read: Vec::new(),
        });
    }
    let mut read: Vec<String> = Vec::new();
    for path in columns {
        if !read.contains(&path[0]) {
            read.push(path[0].clone());
        }
    }
    let mut found = FileMatches::default();
    let candidates = snapshot
        .scan()
        .with_predicate(predicate.clone())
        .chosen_files()?;
    for index in candidates {
        found.read.push(index);
        let mut scan = snapshot
            .scan()
            .only_files(vec![index])
            .with_columns(read.clone());
        if row_indexes {
            scan = scan.with_row_index();
        }
        let mut batches = scan.execute()?;
        let (mut rows, mut matched) = (0u64, 0u64);
        let mut indexes = RoaringTreemap::new();
        while let Some(batch) = batches.next().await {
            let batch = batch?;
            rows += batch.num_rows() as u64;
            let matches = bound.matching_rows(&batch)?;
            matched += matches.true_count() as u64;
            if row_indexes && let Some(column) = batch.column_by_name(ROW_INDEX_COLUMN) {
                let positions = column
                    .as_any()
                    .downcast_ref::<UInt64Array>()
                    .ok_or_else(|| TxnError::InvalidArgument {
                        reason: "the row index column is not UInt64".to_string(),
                    })?;
                indexes.extend(
                    (0..matches.len())
                        .filter(|&i| matches.value(i))
                        .map(|i| positions.value(i)),
                );
            }
        }
        if matched > 0 {
            let mixed = matched < rows;
            found.files.push(FileMatch {
                index,
                mixed,
                matched_rows: Some(matched),
                rows: (row_indexes && mixed).then_some(indexes),
            });
        }
    }
    Ok(found)
}

/// A writer of data files for `table` with schema `schema` and the
/// partitioning, column mapping and writer properties of `metadata` (a
/// snapshot's, or the new metadata of a transaction that changes them),
/// encoding on a task of its own while the caller makes the next rows.
pub fn data_writer(
    table: &Table,
    metadata: &Metadata,
    schema: &StructType,
) -> Result<BackgroundWriter, TxnError> {
    let properties = TableProperties::parse(&metadata.configuration)?;
    let options = WriterOptions::from_table(&properties);
    writer_for(table, metadata, schema, &properties, options)
}

/// [`data_writer`] with other writer options (a compaction's target file
/// size...).
pub fn data_writer_with(
    table: &Table,
    metadata: &Metadata,
    schema: &StructType,
    options: WriterOptions,
) -> Result<BackgroundWriter, TxnError> {
    let properties = TableProperties::parse(&metadata.configuration)?;
    writer_for(table, metadata, schema, &properties, options)
}

fn writer_for(
    table: &Table,
    metadata: &Metadata,
    schema: &StructType,
    properties: &TableProperties,
    options: WriterOptions,
) -> Result<BackgroundWriter, TxnError> {
    Ok(BackgroundWriter::new(DataWriter::try_new(
        table.location().store.clone(),
        table.location().root.clone(),
        schema,
        &metadata.partition_columns,
        properties.column_mapping,
        options,
    )?))
}

/// Writes the rows of the files `files` (indices in the snapshot) again,
/// each batch changed by `change` (which may drop rows) and conformed to
/// the table schema; returns the rows written. Memory is bounded by a
/// batch.
pub async fn rewrite_files(
    snapshot: &Snapshot,
    files: &[usize],
    mut change: impl FnMut(RecordBatch) -> Result<RecordBatch, TxnError>,
    conformer: &Conformer,
    writer: &mut BackgroundWriter,
) -> Result<u64, TxnError> {
    let mut written = 0;
    for &i in files {
        let mut batches = snapshot.scan().only_files(vec![i]).execute()?;
        while let Some(batch) = batches.next().await {
            let changed = change(batch?)?;
            if changed.num_rows() == 0 {
                continue;
            }
            let changed = conformer.conform(&changed)?;
            written += changed.num_rows() as u64;
            writer.write(&changed).await?;
        }
    }
    Ok(written)
}
