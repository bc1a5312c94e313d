//! OPTIMIZE: bin-packing compaction.
//!
//! Per partition, the files smaller than the target size (and every file
//! with a deletion vector, whose deleted rows the rewrite drops) are sorted
//! by size and packed greedily into bins of at most the target size. Each
//! bin of two files or more (or one file with a deletion vector) is read
//! and written again as one file, batch by batch; the commit removes the
//! bin's files and adds the new ones, all with `dataChange = false`, so the
//! table holds the same rows. What it read is the bins' files: a concurrent
//! append does not conflict, a concurrent removal of a file it compacts
//! does (never a resurrected row). Bins run `parallelism` at a time; memory
//! is bounded by the bins in flight (a few batches and a row group each).

use std::collections::BTreeMap;

use delta_expr::{Expr, bind};
use delta_io::writer::WriterOptions;
use delta_log::{Add, TableProperties};
use delta_txn::progress::Progress;
use delta_txn::rewrite::data_writer_with;
use delta_txn::{Snapshot, Table, Transaction, TxnError, now_ms};
use futures::{StreamExt, TryStreamExt};

use crate::OptimizeError;

const OPERATION: &str = "OPTIMIZE";

/// The size OPTIMIZE packs files toward when the table sets no
/// `delta.targetFileSize`: 1 GiB, Delta's `optimize.maxFileSize`.
pub const DEFAULT_TARGET_SIZE: u64 = 1 << 30;

/// What to compact, and how.
#[derive(Debug, Clone)]
pub struct OptimizeOptions {
    /// Only the partitions matching this predicate (on partition columns
    /// only).
    pub predicate: Option<Expr>,
    /// The size to pack toward; the table's `delta.targetFileSize`, else
    /// [`DEFAULT_TARGET_SIZE`], when `None`. Files this large or larger are
    /// left alone (unless they have a deletion vector).
    pub target_size: Option<u64>,
    /// How many bins are rewritten at once (at least 1).
    pub parallelism: usize,
    /// Z-order by these columns (not partition columns): every file of each
    /// chosen partition is rewritten with its rows ordered by a Morton key
    /// over the columns' ranks, a partition at a time in memory.
    pub zorder_by: Vec<String>,
}

impl Default for OptimizeOptions {
    fn default() -> Self {
        OptimizeOptions {
            predicate: None,
            target_size: None,
            parallelism: 2,
            zorder_by: Vec::new(),
        }
    }
}

/// Sizes of a set of files, as Delta reports them.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct FileSizes {
    /// The smallest, in bytes (0 for no file).
    pub min: i64,
    /// The largest, in bytes.
    pub max: i64,
    /// The average, in bytes.
    pub avg: i64,
    /// How many.
    pub total_files: u64,
    /// Their total size, in bytes.
    pub total_size: i64,
}

impl FileSizes {
    fn of(sizes: impl Iterator<Item = i64>) -> FileSizes {
        let sizes: Vec<i64> = sizes.collect();
        let total_size: i64 = sizes.iter().sum();
        let total_files = sizes.len() as u64;
        FileSizes {
            min: sizes.iter().copied().min().unwrap_or(0),
            max: sizes.iter().copied().max().unwrap_or(0),
            avg: match total_files {
                0 => 0,
                n => total_size / n as i64,
            },
            total_files,
            total_size,
        }
    }

    /// Delta's JSON form (`{"min":..,"max":..,"avg":..,"totalFiles":..,"totalSize":..}`).
    pub fn to_json(&self) -> String {
        serde_json::json!({
            "min": self.min,
            "max": self.max,
            "avg": self.avg,
            "totalFiles": self.total_files,
            "totalSize": self.total_size,
        })
        .to_string()
    }
}

/// What OPTIMIZE did, with Delta's metric names in the commit.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct OptimizeMetrics {
    /// `numFilesAdded`.
    pub num_files_added: u64,
    /// `numFilesRemoved`.
    pub num_files_removed: u64,
    /// `filesAdded`.
    pub files_added: FileSizes,
    /// `filesRemoved`.
    pub files_removed: FileSizes,
    /// `partitionsOptimized`.
    pub partitions_optimized: u64,
    /// `numBins` (Delta's `numBatches`): the bins rewritten.
    pub num_bins: u64,
    /// `totalConsideredFiles`: the files in the chosen partitions.
    pub total_considered_files: u64,
    /// `totalFilesSkipped`: considered files left as they are.
    pub total_files_skipped: u64,
    /// `numDeletionVectorsRemoved`: files whose deletion vector the rewrite
    /// applied.
    pub num_deletion_vectors_removed: u64,
}

/// The commit OPTIMIZE made (none when nothing needed compacting).
#[derive(Debug, Clone)]
pub struct OptimizeOutcome {
    /// The version committed, or the version read when nothing was done.
    pub version: u64,
    /// Whether a commit was made.
    pub committed: bool,
    /// What was done.
    pub metrics: OptimizeMetrics,
    /// The table after it.
    pub snapshot: Snapshot,
}

fn arrow_error(e: arrow::error::ArrowError) -> OptimizeError {
    invalid(format!("ordering rows: {e}"))
}

fn invalid(reason: impl Into<String>) -> OptimizeError {
    OptimizeError::Invalid {
        operation: OPERATION,
        reason: reason.into(),
    }
}

/// Compacts the small files of `table` (see the module doc) as one commit;
/// `progress` counts the bytes of the files rewritten.
pub async fn optimize(
    table: &Table,
    options: OptimizeOptions,
    progress: &dyn Progress,
) -> Result<OptimizeOutcome, OptimizeError> {
    let snapshot = table.snapshot().await?;
    let properties = TableProperties::parse(snapshot.properties()).map_err(TxnError::from)?;
    let target = options
        .target_size
        .or(properties.target_file_size)
        .unwrap_or(DEFAULT_TARGET_SIZE);
    if target == 0 {
        return Err(invalid("the target size must be more than 0 bytes"));
    }
    let considered = considered_files(&snapshot, options.predicate.as_ref())?;
    let zorder = zorder_columns(&snapshot, &options.zorder_by)?;
    let bins = match zorder.is_empty() {
        true => plan_bins(&snapshot, &considered, target),
        false => partitions_of(&snapshot, &considered),
    };
    let in_bins: Vec<usize> = bins.iter().flatten().copied().collect();
    let mut metrics = OptimizeMetrics {
        total_considered_files: considered.len() as u64,
        total_files_skipped: (considered.len() - in_bins.len()) as u64,
        num_bins: bins.len() as u64,
        ..OptimizeMetrics::default()
    };
    if bins.is_empty() {
        return Ok(OptimizeOutcome {
            version: snapshot.version(),
            committed: false,
            metrics,
            snapshot,
        });
    }
    let files = snapshot.files();
    let size_of = |i: &usize| files.get(*i).map_or(0, |f| f.size());
    progress.total(in_bins.iter().map(size_of).sum::<i64>().max(0) as u64);
    let writer_options = WriterOptions {
        target_file_size: target,
        ..WriterOptions::from_table(&properties)
    };
    // the bins, `parallelism` at a time
    // owned bins: a closure over `&Vec<usize>` makes the future not provably
    // Send (rustc's higher-ranked lifetime limitation), and callers box it
    let adds: Vec<Vec<Add>> = futures::stream::iter(bins)
        .map(|bin: Vec<usize>| {
            let writer_options = writer_options.clone();
            let snapshot = &snapshot;
            let zorder = &zorder;
            async move {
                let adds = rewrite_bin(table, snapshot, &bin, writer_options, zorder).await?;
                progress.advance(bin.iter().map(size_of).sum::<i64>().max(0) as u64);
                Ok::<_, OptimizeError>(adds)
            }
        })
        .buffer_unordered(options.parallelism.max(1))
        .try_collect()
        .await?;
    let now = now_ms();
    let mut adds: Vec<Add> = adds.into_iter().flatten().collect();
    for add in &mut adds {
        add.data_change = false;
    }
    let removes: Vec<_> = in_bins
        .iter()
        .filter_map(|&i| files.get(i))
        .map(|f| {
            let mut remove = f.to_remove(now);
            remove.data_change = false;
            remove
        })
        .collect();
    metrics.num_files_added = adds.len() as u64;
    metrics.num_files_removed = removes.len() as u64;
    metrics.files_added = FileSizes::of(adds.iter().map(|a| a.size));
    metrics.files_removed = FileSizes::of(in_bins.iter().map(size_of));
    metrics.num_deletion_vectors_removed = in_bins
        .iter()
        .filter(|&&i| files.get(i).is_some_and(|f| f.deletion_vector().is_some()))
        .count() as u64;
    metrics.partitions_optimized = {
        let mut partitions: Vec<PartitionKey> = in_bins
            .iter()
            .map(|&i| partition_key(&snapshot, i))
            .collect();
        partitions.sort();
        partitions.dedup();
        partitions.len() as u64
    };
    let predicates: Vec<String> = options.predicate.iter().map(Expr::to_string).collect();
    let mut txn = Transaction::new(table, Some(snapshot.clone()), OPERATION)
        .parameter(
            "predicate",
            serde_json::to_string(&predicates).unwrap_or_default(),
        )
        .parameter(
            "zOrderBy",
            serde_json::to_string(&zorder).unwrap_or_default(),
        );
    // what it read: the files it compacts (a concurrent removal of one is a
    // conflict; appends are not, as its actions change no data)
    txn.read_files(&in_bins);
    for (key, value) in metric_entries(&metrics) {
        txn.metric(key, value);
    }
    txn.remove_files(removes);
    txn.add_files(adds);
    let outcome = txn.commit().await?;
    Ok(OptimizeOutcome {
        version: outcome.version,
        committed: true,
        metrics,
        snapshot: outcome.snapshot,
    })
}

/// The metrics under Delta's names, as the commit records them.
fn metric_entries(m: &OptimizeMetrics) -> Vec<(&'static str, String)> {
    vec![
        ("numFilesAdded", m.num_files_added.to_string()),
        ("numFilesRemoved", m.num_files_removed.to_string()),
        ("filesAdded", m.files_added.to_json()),
        ("filesRemoved", m.files_removed.to_json()),
        ("partitionsOptimized", m.partitions_optimized.to_string()),
        ("numBatches", m.num_bins.to_string()),
        ("totalConsideredFiles", m.total_considered_files.to_string()),
        ("totalFilesSkipped", m.total_files_skipped.to_string()),
        (
            "numDeletionVectorsRemoved",
            m.num_deletion_vectors_removed.to_string(),
        ),
    ]
}

/// The files in the partitions `predicate` chooses (all without one); the
/// predicate may read partition columns only.
fn considered_files(
    snapshot: &Snapshot,
    predicate: Option<&Expr>,
) -> Result<Vec<usize>, OptimizeError> {
    let Some(predicate) = predicate else {
        return Ok((0..snapshot.files().len()).collect());
    };
    let bound = bind(predicate, snapshot.schema())?;
    let partition_columns = snapshot.partition_columns();
    for column in bound.columns() {
        let name = column.first().map(String::as_str).unwrap_or_default();
        if !partition_columns
            .iter()
            .any(|p| p.eq_ignore_ascii_case(name))
        {
            return Err(invalid(format!(
                "the predicate reads '{}', which is not a partition column (partition columns: {})",
                column.join("."),
                if partition_columns.is_empty() {
                    "none".to_string()
                } else {
                    partition_columns.join(", ")
                }
            )));
        }
    }
    Ok(snapshot
        .scan()
        .with_predicate(predicate.clone())
        .chosen_files()?)
}

/// The table's names of the Z-order columns, checked: top-level, not
/// partition columns, of a type with an order.
fn zorder_columns(snapshot: &Snapshot, names: &[String]) -> Result<Vec<String>, OptimizeError> {
    let mut out: Vec<String> = Vec::new();
    for name in names {
        let field = snapshot
            .schema()
            .fields
            .iter()
            .find(|f| f.name.eq_ignore_ascii_case(name))
            .ok_or_else(|| {
                invalid(format!(
                    "Z-order column '{name}' is not in the table (columns: {})",
                    snapshot
                        .schema()
                        .field_names()
                        .collect::<Vec<_>>()
                        .join(", ")
                ))
            })?;
        if snapshot
            .partition_columns()
            .iter()
            .any(|p| p.eq_ignore_ascii_case(&field.name))
        {
            return Err(invalid(format!(
                "'{}' is a partition column: Z-order clusters rows inside partitions",
                field.name
            )));
        }
        if !crate::zorder::orderable(&field.data_type.to_arrow()) {
            return Err(invalid(format!(
                "Z-order by '{}' of type {} is not supported",
                field.name, field.data_type
            )));
        }
        if !out.contains(&field.name) {
            out.push(field.name.clone());
        }
    }
    Ok(out)
}

/// The considered files grouped by partition: Z-order rewrites each
/// partition whole.
fn partitions_of(snapshot: &Snapshot, considered: &[usize]) -> Vec<Vec<usize>> {
    let mut by_partition: BTreeMap<PartitionKey, Vec<usize>> = BTreeMap::new();
    for &i in considered {
        by_partition
            .entry(partition_key(snapshot, i))
            .or_default()
            .push(i);
    }
    by_partition.into_values().collect()
}

/// A file's partition values, in a fixed order.
type PartitionKey = Vec<(String, Option<String>)>;

/// The partition of file `index`.
fn partition_key(snapshot: &Snapshot, index: usize) -> PartitionKey {
    let mut key: PartitionKey = snapshot
        .files()
        .get(index)
        .map(|f| {
            f.partition_values()
                .iter()
                .map(|(k, v)| (k.clone(), v.clone()))
                .collect()
        })
        .unwrap_or_default();
    key.sort();
    key
}

/// The bins of files to rewrite together (indices in the snapshot), per
/// partition, smallest files first; a bin has two files or more, or one
/// with a deletion vector.
fn plan_bins(snapshot: &Snapshot, considered: &[usize], target: u64) -> Vec<Vec<usize>> {
    let files = snapshot.files();
    let target = i64::try_from(target).unwrap_or(i64::MAX);
    // per partition: (size, index) of each candidate
    let mut by_partition: BTreeMap<PartitionKey, Vec<(i64, usize)>> = BTreeMap::new();
    for &i in considered {
        let Some(file) = files.get(i) else { continue };
        if file.size() < target || file.deletion_vector().is_some() {
            by_partition
                .entry(partition_key(snapshot, i))
                .or_default()
                .push((file.size(), i));
        }
    }
    let mut bins = Vec::new();
    for (_, mut sized) in by_partition {
        sized.sort_unstable();
        let mut bin: Vec<usize> = Vec::new();
        let mut bin_size = 0i64;
        let mut close = |bin: &mut Vec<usize>| {
            let keep = bin.len() > 1
                || bin
                    .first()
                    .and_then(|&i| files.get(i))
                    .is_some_and(|f| f.deletion_vector().is_some());
            let taken = std::mem::take(bin);
            if keep {
                bins.push(taken);
            }
        };
        for (size, index) in sized {
            if !bin.is_empty() && bin_size.saturating_add(size) > target {
                close(&mut bin);
                bin_size = 0;
            }
            bin.push(index);
            bin_size = bin_size.saturating_add(size);
        }
        close(&mut bin);
    }
    bins
}

/// How many rows go to the writer at once when Z-ordered rows are written.
const ZORDER_SLICE_ROWS: usize = 64 * 1024;

/// Reads the files of one bin (deletion vectors applied) and writes their
/// rows again, in Z-order over `zorder` when it names columns; the new
/// files' `add` actions.
async fn rewrite_bin(
    table: &Table,
    snapshot: &Snapshot,
    bin: &[usize],
    options: WriterOptions,
    zorder: &[String],
) -> Result<Vec<Add>, OptimizeError> {
    let mut writer = data_writer_with(table, snapshot.metadata(), snapshot.schema(), options)?;
    let written = async {
        let mut batches = snapshot.scan().only_files(bin.to_vec()).execute()?;
        if zorder.is_empty() {
            while let Some(batch) = batches.next().await {
                let batch = batch?;
                if batch.num_rows() > 0 {
                    writer.write(&batch).await?;
                }
            }
            return Ok(());
        }
        // Z-order: the partition's rows, sorted by their key
        let mut all = Vec::new();
        while let Some(batch) = batches.next().await {
            all.push(batch?);
        }
        let Some(first) = all.first() else {
            return Ok(());
        };
        let rows = arrow::compute::concat_batches(&first.schema(), &all).map_err(arrow_error)?;
        drop(all);
        let columns: Vec<usize> = zorder
            .iter()
            .filter_map(|name| rows.schema().index_of(name).ok())
            .collect();
        let order = crate::zorder::zorder(&rows, &columns).map_err(arrow_error)?;
        for slice in order.chunks(ZORDER_SLICE_ROWS) {
            let indices = arrow::array::UInt32Array::from(slice.to_vec());
            let columns = rows
                .columns()
                .iter()
                .map(|c| arrow::compute::take(c, &indices, None))
                .collect::<Result<Vec<_>, _>>()
                .map_err(arrow_error)?;
            let sorted =
                arrow::array::RecordBatch::try_new(rows.schema(), columns).map_err(arrow_error)?;
            writer.write(&sorted).await?;
        }
        Ok::<_, OptimizeError>(())
    }
    .await;
    match written {
        Ok(()) => Ok(writer.finish().await?),
        Err(e) => {
            writer.abort().await;
            Err(e)
        }
    }
}
