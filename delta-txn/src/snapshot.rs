//! A snapshot: the table at one version, with its parsed schema and a scan API.

use std::collections::HashMap;
use std::sync::Arc;

use arrow::compute::filter_record_batch;
use arrow::datatypes::SchemaRef;
use arrow::record_batch::RecordBatch;
use delta_expr::{Bound, Expr, SkippingPredicate, bind_predicate};
use delta_io::{ColumnMapping, FileSlice, ReadPlan, open_file};
use delta_log::properties::COLUMN_MAPPING_MODE;
use delta_log::{ActiveFiles, LogError, Metadata, Protocol, TableFeature, TableState};
use delta_schema::{DataType, StructType};
use futures::stream::BoxStream;
use futures::{StreamExt, TryStreamExt};
use object_store::ObjectStore;

use crate::{Table, TxnError, skipping};

/// Reader features this implementation reads correctly.
pub const SUPPORTED_READER_FEATURES: &[TableFeature] = &[
    TableFeature::ColumnMapping,
    TableFeature::DeletionVectors,
    TableFeature::TimestampNtz,
    TableFeature::TypeWidening,
    TableFeature::TypeWideningPreview,
    TableFeature::V2Checkpoint,
    TableFeature::VacuumProtocolCheck,
    TableFeature::VariantType,
    TableFeature::VariantTypePreview,
];

/// How many data files a scan reads ahead.
const FILES_IN_FLIGHT: usize = 4;

/// The table at one version.
#[derive(Debug, Clone)]
pub struct Snapshot {
    /// Shared: snapshots, scans and transactions clone the handle, never the
    /// file list.
    state: Arc<TableState>,
    schema: StructType,
    mapping: ColumnMapping,
    store: Arc<dyn ObjectStore>,
    /// The files' statistics as decoded for scans with predicates.
    stats: skipping::StatsCache,
}

impl Snapshot {
    /// Checks the state is readable and parses its schema.
    pub(crate) fn try_new(table: &Table, state: TableState) -> Result<Snapshot, TxnError> {
        let version = state.version;
        // a bad protocol names the log file it came from
        let in_file = |reason: String| match &state.protocol_file {
            Some(file) => format!("{reason} (the protocol in {file})"),
            None => reason,
        };
        state
            .protocol
            .check_readable(SUPPORTED_READER_FEATURES, version)
            .map_err(|e| match e {
                LogError::InvalidProtocol { version, reason } => LogError::InvalidProtocol {
                    version,
                    reason: in_file(reason),
                },
                LogError::UnsupportedFeature {
                    feature,
                    version,
                    reason,
                } => LogError::UnsupportedFeature {
                    feature,
                    version,
                    reason: in_file(reason),
                },
                other => other,
            })?;
        let schema = StructType::from_json(&state.metadata.schema_string).map_err(|source| {
            TxnError::Schema {
                version,
                file: state.metadata_file.as_ref().map(ToString::to_string),
                source,
            }
        })?;
        let mode = state
            .metadata
            .configuration
            .get(COLUMN_MAPPING_MODE)
            .map(String::as_str);
        let mapping = ColumnMapping::from_property(mode).ok_or_else(|| TxnError::Unsupported {
            what: format!("column mapping mode {mode:?}"),
            version,
        })?;
        Ok(Snapshot {
            state: Arc::new(state),
            schema,
            mapping,
            store: Arc::clone(&table.location().store),
            stats: skipping::StatsCache::default(),
        })
    }

    /// The version.
    pub fn version(&self) -> u64 {
        self.state.version
    }

    /// When the version was committed (ms since the epoch).
    pub fn timestamp_ms(&self) -> i64 {
        self.state.timestamp_ms
    }

    /// The table schema (logical names).
    pub fn schema(&self) -> &StructType {
        &self.schema
    }

    /// The Arrow schema of a full scan.
    pub fn arrow_schema(&self) -> SchemaRef {
        Arc::new(self.schema.to_arrow())
    }

    /// The partition columns, in order.
    pub fn partition_columns(&self) -> &[String] {
        &self.state.metadata.partition_columns
    }

    /// The protocol in force.
    pub fn protocol(&self) -> &Protocol {
        &self.state.protocol
    }

    /// The metadata action in force.
    pub fn metadata(&self) -> &Metadata {
        &self.state.metadata
    }

    /// Table properties.
    pub fn properties(&self) -> &HashMap<String, String> {
        &self.state.metadata.configuration
    }

    /// The column mapping mode.
    pub fn column_mapping(&self) -> ColumnMapping {
        self.mapping
    }

    /// The active data files.
    pub fn files(&self) -> &ActiveFiles {
        &self.state.files
    }

    /// The statistics of every active file (a row per file, in
    /// [`Snapshot::files`] order) for `columns` (logical paths and their
    /// types), in the layout of [`delta_expr::skip::stats_schema`]:
    /// `numRecords`, then `minValues`, `maxValues` and `nullCount` structs.
    /// Partition columns have their partition value as minimum and maximum.
    /// Bounds are conservative: a maximum timestamp is raised to the end of
    /// its millisecond and a string maximum that may be a prefix is null,
    /// as is every statistic a file lacks or that does not parse. Bounds
    /// cover a file's rows with or without its deletion vector; the counts
    /// are of all its rows.
    pub fn file_statistics(
        &self,
        columns: &[(Vec<String>, DataType)],
    ) -> Result<RecordBatch, TxnError> {
        skipping::stats_batch(
            columns,
            &self.state.files,
            &self.schema,
            self.partition_columns(),
            true,
            &self.stats,
        )
    }

    /// The reconciled log state underneath.
    pub fn state(&self) -> &TableState {
        &self.state
    }

    /// A scan of the whole table; narrow it with [`Scan::with_columns`] and
    /// [`Scan::with_predicate`].
    pub fn scan(&self) -> Scan {
        Scan {
            snapshot: self.clone(),
            columns: None,
            predicate: None,
            only: None,
            parallelism: default_parallelism(),
            row_index: false,
        }
    }
}

/// Batches decoded ahead of the reader by each streaming slice task.
const BATCHES_AHEAD: usize = 4;

/// The runtime to decode on, if tasks may be spawned on it: a
/// multi-threaded tokio runtime (on a current-thread one, a caller blocked
/// on the scan could hold the only thread the tasks need).
fn task_runtime() -> Option<tokio::runtime::Handle> {
    tokio::runtime::Handle::try_current()
        .ok()
        .filter(|h| h.runtime_flavor() == tokio::runtime::RuntimeFlavor::MultiThread)
}

/// One slice's batches as a stream: decoded on a task of its own, at most
/// [`BATCHES_AHEAD`] batches ahead, or in place (see [`task_runtime`]).
fn decode_streaming(slice: FileSlice) -> BoxStream<'static, Result<RecordBatch, TxnError>> {
    let Some(runtime) = task_runtime() else {
        return match slice.read() {
            Ok(batches) => batches.map_err(TxnError::from).boxed(),
            Err(e) => futures::stream::once(futures::future::ready(Err(e.into()))).boxed(),
        };
    };
    let (sender, receiver) = tokio::sync::mpsc::channel(BATCHES_AHEAD);
    let task = AbortOnDrop(runtime.spawn(async move {
        let mut batches = match slice.read() {
            Ok(batches) => batches,
            Err(e) => {
                let _ = sender.send(Err(TxnError::from(e))).await;
                return;
            }
        };
        while let Some(batch) = batches.next().await {
            let failed = batch.is_err();
            // a reader that went away ends the task
            if sender.send(batch.map_err(TxnError::from)).await.is_err() || failed {
                return;
            }
        }
    }));
    futures::stream::unfold((receiver, task), |(mut receiver, task)| async move {
        let batch = receiver.recv().await?;
        Some((batch, (receiver, task)))
    })
    .boxed()
}

/// One slice's batches, all of them: decoded on a task of its own, or in
/// place (see [`task_runtime`]).
async fn decode_whole(slice: FileSlice) -> Result<Vec<RecordBatch>, TxnError> {
    let decode = async move { slice.read()?.try_collect::<Vec<_>>().await };
    let Some(runtime) = task_runtime() else {
        return Ok(decode.await?);
    };
    let mut task = AbortOnDrop(runtime.spawn(decode));
    match (&mut task.0).await {
        Ok(batches) => Ok(batches?),
        Err(e) => Err(TxnError::TaskFailed {
            reason: e.to_string(),
        }),
    }
}

/// A task that stops when its handle is dropped: a scan dropped early (or
/// failed on another slice) leaves no decoding behind.
struct AbortOnDrop<T>(tokio::task::JoinHandle<T>);

impl<T> Drop for AbortOnDrop<T> {
    fn drop(&mut self) {
        self.0.abort();
    }
}

/// How many slices of data files a scan decodes at once by default: two
/// per core, so that one slice's reads overlap another's decoding (BENCHMARKS.md
/// W4 on 2 cores: 0.94 s with 1, 0.77 s with 2, 0.50 s with 4, 0.52 s with 6).
fn default_parallelism() -> usize {
    2 * std::thread::available_parallelism().map_or(1, |n| n.get())
}

/// A read of a snapshot's rows.
#[derive(Debug, Clone)]
pub struct Scan {
    snapshot: Snapshot,
    columns: Option<Vec<String>>,
    predicate: Option<Expr>,
    /// Only these files (indices in the snapshot), when set.
    only: Option<Vec<usize>>,
    parallelism: usize,
    /// Whether batches end with each row's index in its data file.
    row_index: bool,
}

/// What a scan reads, worked out before any data file is opened.
struct Prepared {
    plan: Arc<ReadPlan>,
    /// Indices of the files to read, in snapshot order.
    files: Vec<usize>,
    filter: Option<Arc<RowFilter>>,
    /// Why the other files are not read.
    skipped: SkipReport,
}

/// How a scan's predicate narrowed the files to read.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct SkipReport {
    /// Files of the snapshot (or of the files the scan was limited to).
    pub considered: usize,
    /// Ruled out by their partition values.
    pub pruned_by_partition: usize,
    /// Ruled out by their statistics.
    pub skipped_by_stats: usize,
    /// Read.
    pub read: usize,
}

/// The rows a predicate keeps, then the columns asked for.
#[derive(Debug)]
struct RowFilter {
    predicate: Bound,
    /// Positions of the output columns among those read (`None`: all).
    output: Option<Vec<usize>>,
}

impl RowFilter {
    fn apply(&self, batch: &RecordBatch) -> Result<RecordBatch, TxnError> {
        let keep = self.predicate.evaluate_predicate(batch)?;
        let kept = filter_record_batch(batch, &keep)?;
        Ok(match &self.output {
            Some(columns) => kept.project(columns)?,
            None => kept,
        })
    }
}

/// Applies the scan's row filter to each batch of a stream.
fn filtered(
    batches: BoxStream<'static, Result<RecordBatch, TxnError>>,
    filter: Option<Arc<RowFilter>>,
) -> BoxStream<'static, Result<RecordBatch, TxnError>> {
    match filter {
        None => batches,
        Some(filter) => batches
            .map(move |batch| batch.and_then(|b| filter.apply(&b)))
            .boxed(),
    }
}

impl Scan {
    /// Reads only these columns, in this order.
    pub fn with_columns(mut self, columns: impl IntoIterator<Item = impl Into<String>>) -> Self {
        self.columns = Some(columns.into_iter().map(Into::into).collect());
        self
    }

    /// Decodes up to `n` slices (row groups) of the data files at once, each
    /// on its own task of a multi-threaded tokio runtime (default: two per
    /// core; at least 1). Rows come out in file and row-group order whatever
    /// `n` is. [`Scan::execute`] keeps a few batches per slice in memory,
    /// [`Scan::collect`] up to `n` decoded row groups besides its result.
    pub fn with_parallelism(mut self, n: usize) -> Self {
        self.parallelism = n.max(1);
        self
    }

    /// Only the rows for which `predicate` is true (SQL: null is not true).
    /// Files that cannot hold such rows are not read: their partition
    /// values and statistics rule them out ([`delta_expr::skip`]). The
    /// predicate is typed against the table schema when the scan starts;
    /// an unknown column or a type mismatch is an error then.
    pub fn with_predicate(mut self, predicate: Expr) -> Self {
        self.predicate = Some(predicate);
        self
    }

    /// Only these files (indices in the snapshot's file list), in this
    /// order; the predicate then filters rows but rules out no file.
    pub fn only_files(mut self, files: Vec<usize>) -> Self {
        self.only = Some(files);
        self
    }

    /// Batches end with a column [`delta_io::ROW_INDEX_COLUMN`]: each row's
    /// index in its data file (counting rows a deletion vector deletes), as
    /// deletion vectors address rows.
    pub fn with_row_index(mut self) -> Self {
        self.row_index = true;
        self
    }

    /// The indices of the files the scan reads.
    pub fn chosen_files(&self) -> Result<Vec<usize>, TxnError> {
        Ok(self.prepare()?.files)
    }

    fn read_plan(&self, columns: Option<&[String]>) -> Result<ReadPlan, TxnError> {
        Ok(ReadPlan::new(
            &self.snapshot.schema,
            self.snapshot.partition_columns(),
            self.snapshot.mapping,
            columns,
        )?
        .with_table(delta_log::paths::table_url_at(
            &self.snapshot.state.table,
            &self.snapshot.state.root,
        ))
        .with_row_index_if(self.row_index))
    }

    /// The plan, the files to read and the row filter.
    fn prepare(&self) -> Result<Prepared, TxnError> {
        let all_files = || match &self.only {
            Some(files) => files.clone(),
            None => (0..self.snapshot.state.files.len()).collect(),
        };
        let Some(expr) = &self.predicate else {
            let files: Vec<usize> = all_files();
            return Ok(Prepared {
                plan: Arc::new(self.read_plan(self.columns.as_deref())?),
                skipped: SkipReport {
                    considered: files.len(),
                    read: files.len(),
                    ..SkipReport::default()
                },
                files,
                filter: None,
            });
        };
        let predicate = bind_predicate(expr, &self.snapshot.schema)?;
        // the predicate's columns are read too, and dropped after filtering
        let (read, output) = match &self.columns {
            None => (None, None),
            Some(asked) => {
                let mut read = asked.clone();
                for path in predicate.columns() {
                    if !read.contains(&path[0]) {
                        read.push(path[0].clone());
                    }
                }
                let output = (read.len() > asked.len()).then(|| {
                    let mut output: Vec<usize> = (0..asked.len()).collect();
                    if self.row_index {
                        // the row index comes after the columns read
                        output.push(read.len());
                    }
                    output
                });
                (Some(read), output)
            }
        };
        let skip = SkippingPredicate::new(&predicate);
        let selection = match (&skip, &self.only) {
            (Some(skip), None) => skipping::select(
                skip,
                &self.snapshot.state.files,
                &self.snapshot.schema,
                self.snapshot.partition_columns(),
                &self.snapshot.stats,
            )?,
            _ => skipping::Selection {
                files: all_files(),
                ..Default::default()
            },
        };
        let skipped = SkipReport {
            considered: selection.files.len()
                + selection.pruned_by_partition
                + selection.skipped_by_stats,
            pruned_by_partition: selection.pruned_by_partition,
            skipped_by_stats: selection.skipped_by_stats,
            read: selection.files.len(),
        };
        tracing::debug!(
            considered = skipped.considered,
            pruned_by_partition = skipped.pruned_by_partition,
            skipped_by_stats = skipped.skipped_by_stats,
            read = skipped.read,
            "scan files"
        );
        Ok(Prepared {
            plan: Arc::new(self.read_plan(read.as_deref())?.with_page_skipping(skip)),
            files: selection.files,
            filter: Some(Arc::new(RowFilter { predicate, output })),
            skipped,
        })
    }

    /// The Arrow schema of the batches.
    pub fn schema(&self) -> Result<SchemaRef, TxnError> {
        Ok(self.read_plan(self.columns.as_deref())?.schema())
    }

    /// How the predicate narrows the files: considered, pruned by partition
    /// values, skipped by statistics, read. Reads no data file.
    pub fn skip_report(&self) -> Result<SkipReport, TxnError> {
        Ok(self.prepare()?.skipped)
    }

    /// The slices of the chosen files, in order (footers fetched a few
    /// files ahead); an error keeps its place in the sequence.
    fn slices(&self, prepared: &Prepared) -> BoxStream<'static, Result<FileSlice, TxnError>> {
        let plan = Arc::clone(&prepared.plan);
        let store = Arc::clone(&self.snapshot.store);
        let state = Arc::clone(&self.snapshot.state);
        let stream = futures::stream::iter(prepared.files.clone())
            .map(move |i| {
                let store = Arc::clone(&store);
                let plan = Arc::clone(&plan);
                let state = Arc::clone(&state);
                async move {
                    // `i` is below the number of files
                    let Some(file) = state.files.get(i) else {
                        return Ok(Vec::new());
                    };
                    open_file(store, &state.root, plan, file).await
                }
            })
            .buffered(FILES_IN_FLIGHT)
            .flat_map(|opened| match opened {
                Ok(slices) => futures::stream::iter(slices.into_iter().map(Ok)).left_stream(),
                Err(e) => futures::stream::once(futures::future::ready(Err(TxnError::from(e))))
                    .right_stream(),
            });
        stream.boxed()
    }

    /// The rows as a stream of batches, in the order of the snapshot's files
    /// and their row groups. Up to [`Scan::with_parallelism`] row groups
    /// decode at once on tasks of a multi-threaded tokio runtime, each
    /// handing over at most a few batches ahead of the reader, so memory
    /// stays bounded however large the row groups; elsewhere (a
    /// current-thread runtime, another executor) they decode in place.
    pub fn execute(&self) -> Result<BoxStream<'static, Result<RecordBatch, TxnError>>, TxnError> {
        let prepared = self.prepare()?;
        let filter = prepared.filter.clone();
        let stream = self
            .slices(&prepared)
            .map(move |slice| {
                let filter = filter.clone();
                futures::future::ready(slice.map(|s| filtered(decode_streaming(s), filter)))
            })
            .buffered(self.parallelism)
            .map(|decoded| match decoded {
                Ok(batches) => batches.left_stream(),
                Err(e) => futures::stream::once(futures::future::ready(Err(e))).right_stream(),
            })
            .flatten();
        Ok(stream.boxed())
    }

    /// All rows, collected in the order of [`Scan::execute`]. Row groups
    /// decode whole, [`Scan::with_parallelism`] at a time in any order, and
    /// are put back in order at the end: faster than collecting `execute`
    /// when the caller keeps every row anyway.
    pub async fn collect(&self) -> Result<Vec<RecordBatch>, TxnError> {
        let prepared = self.prepare()?;
        let filter = prepared.filter.clone();
        let mut pieces: Vec<(usize, Vec<RecordBatch>)> = self
            .slices(&prepared)
            .enumerate()
            .map(|(i, slice)| {
                let filter = filter.clone();
                async move {
                    let batches = decode_whole(slice?).await?;
                    let batches = match &filter {
                        Some(f) => batches
                            .iter()
                            .map(|b| f.apply(b))
                            .collect::<Result<_, _>>()?,
                        None => batches,
                    };
                    Ok::<_, TxnError>((i, batches))
                }
            })
            .buffer_unordered(self.parallelism)
            .try_collect()
            .await?;
        pieces.sort_unstable_by_key(|(i, _)| *i);
        Ok(pieces
            .into_iter()
            .flat_map(|(_, batches)| batches)
            .collect())
    }
}
