//! Writing data files: Arrow record batches in, Parquet files in the table's
//! store and the `add` actions describing them (with statistics) out.
//!
//! ```no_run
//! # use std::sync::Arc;
//! # use delta_io::{ColumnMapping, writer::{DataWriter, WriterOptions}};
//! # async fn demo(
//! #     store: Arc<dyn object_store::ObjectStore>,
//! #     schema: delta_schema::StructType,
//! #     batches: Vec<arrow::record_batch::RecordBatch>,
//! # ) -> Result<(), delta_io::IoError> {
//! let root = object_store::path::Path::from("tables/t");
//! let options = WriterOptions::default();
//! let mut writer = DataWriter::try_new(
//!     store, root, &schema, &["date".to_string()], ColumnMapping::None, options,
//! )?;
//! for batch in &batches {
//!     writer.write(batch).await?; // batches in `schema.to_arrow()`
//! }
//! let adds = writer.finish().await?; // for the commit
//! # Ok(()) }
//! ```
//!
//! How files are laid out:
//! - Rows are grouped by the values of the partition columns (no sorting;
//!   null is a group of its own, and the empty string joins it, see
//!   [`serialize_partition_value`]); the partition columns are not written to
//!   the files, their values go to `add.partitionValues`, keyed by physical
//!   name under column mapping.
//! - Without column mapping, files go to Hive-style directories
//!   `col=value/...` ([`escape_path_name`], null as
//!   [`HIVE_DEFAULT_PARTITION`]). The protocol does not require these
//!   directories (readers take partition values from the log), and Delta
//!   Spark does not use them under column mapping: there, and when
//!   `delta.randomizeFilePrefixes` is set, each file goes to a directory of
//!   random letters and digits (`delta.randomPrefixLength`, 2 by default). A
//!   partition column whose name starts with `_` or `.` would make a hidden
//!   directory, which the protocol does not allow for data files; such tables
//!   get random prefixes too.
//! - Files are named `part-<5-digit counter>-<uuid>-c000.<codec>.parquet`;
//!   `add.path` is the relative path URL-encoded ([`encode_log_path`]), and
//!   [`crate::paths::resolve_log_path`] of it is the store path written to.
//! - Parquet columns carry physical names (nested fields too) and, in `id`
//!   mode, field ids; every column is optional, as Spark writes them.
//!
//! Memory: each partition being written has one open Parquet encoder
//! (`encoder`: its columns encoded on worker threads) whose output goes to
//! the store as it is produced (`upload`: one `put` for a small file, a
//! multipart upload otherwise). A file holds at most its current row group
//! (`max_row_group_bytes`, `max_row_group_rows`) plus the parts in flight,
//! so memory is bounded by `max_open_files` × (row group + parts), not by
//! the data. When a new partition would exceed `max_open_files`, the least
//! recently written file is closed first. A file is closed and a new one
//! started at about `target_file_size`, between row groups (see
//! [`WriterOptions::target_file_size`]).
//!
//! Failure: a write that fails part-way returns the error and aborts the
//! files still open; files already completed stay in the store, but the
//! writer refuses further use ([`IoError::WriterFailed`]) and returns no
//! `add` for any of them, so they are never committed.

mod encoder;
mod options;
mod partition_path;
mod physical;
mod stats;
mod upload;

use std::collections::HashMap;
use std::sync::Arc;

use arrow::array::{ArrayRef, RecordBatch, RecordBatchOptions, UInt32Array};
use arrow::compute::take;
use arrow::datatypes::SchemaRef;
use arrow::row::{RowConverter, SortField};
use delta_log::Add;
use delta_schema::{DataType, StructField, StructType};
use object_store::ObjectStore;
use object_store::path::Path;
use parquet::file::properties::WriterProperties;

pub use delta_log::properties::StatsColumns;
pub use options::{
    DEFAULT_DATA_PAGE_ROWS, DEFAULT_MAX_OPEN_FILES, DEFAULT_MAX_ROW_GROUP_BYTES,
    DEFAULT_MAX_ROW_GROUP_ROWS, DEFAULT_TARGET_FILE_SIZE, WriterOptions,
};
pub use partition_path::{
    HIVE_DEFAULT_PARTITION, encode_log_path, escape_path_name, serialize_partition_value,
};
pub use stats::{STRING_PREFIX_LENGTH, StatsCollector, parsed_columns};

use crate::IoError;
use crate::paths::resolve_log_path;
use delta_log::ColumnMapping;
use delta_log::properties::DEFAULT_RANDOM_PREFIX_LENGTH;
use encoder::{Encoder, Written};
use options::codec_extension;
use physical::{file_name, physical_schema, same_layout, to_physical};
use stats::{FileStats, StatsPlan};
use upload::Upload;

/// Rows handed to the Parquet writer at a time, so that files roll over at
/// about their target size even when batches are large.
const WRITE_CHUNK_ROWS: usize = 8192;

/// Parts of this size go up in a multipart upload (a smaller file is one `put`).
const UPLOAD_PART_BYTES: usize = 10 * 1024 * 1024;
/// Parts of one file uploading at once.
const UPLOAD_CONCURRENCY: usize = 2;

/// A partition column of the table.
#[derive(Debug, Clone)]
struct PartitionColumn {
    /// Position in the batches.
    index: usize,
    /// Logical name.
    name: String,
    /// Key in `add.partitionValues` and name of its directories.
    key: String,
    data_type: DataType,
}

/// Where files go.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Layout {
    /// Hive-style partition directories (or the root when unpartitioned).
    PartitionDirs,
    /// A random directory of this many characters per file.
    RandomPrefix(usize),
}

/// A file being written.
struct OpenFile {
    /// The serialized partition values.
    values: Vec<Option<String>>,
    /// `add.path`.
    log_path: String,
    /// Where it is in the store.
    store_path: Path,
    encoder: Encoder,
    upload: Upload,
    stats: FileStats,
    /// When it was last written to (a counter).
    last_used: u64,
    /// Order of opening.
    seq: u64,
}

/// Writes record batches of one table as Parquet data files and returns the
/// `add` actions for them. See the [module docs](self) for the layout.
pub struct DataWriter {
    store: Arc<dyn ObjectStore>,
    root: Path,
    options: WriterOptions,
    layout: Layout,
    /// The table's Arrow schema (what batches must have).
    logical: SchemaRef,
    partitions: Vec<PartitionColumn>,
    /// Positions of the data (non-partition) columns in batches.
    data_columns: Vec<usize>,
    /// The Arrow schema of the data files.
    physical: SchemaRef,
    stats_plan: StatsPlan,
    converter: Option<RowConverter>,
    properties: WriterProperties,
    open: HashMap<Vec<Option<String>>, OpenFile>,
    done: Vec<Add>,
    files_started: u64,
    clock: u64,
    failed: Option<String>,
}

impl std::fmt::Debug for DataWriter {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("DataWriter")
            .field("root", &self.root)
            .field("options", &self.options)
            .field("layout", &self.layout)
            .field("open_files", &self.open.len())
            .field("done_files", &self.done.len())
            .field("failed", &self.failed)
            .finish_non_exhaustive()
    }
}

impl DataWriter {
    /// A writer for the table rooted at `root` in `store`, with this
    /// (logical) schema, partition columns and column mapping mode.
    pub fn try_new(
        store: Arc<dyn ObjectStore>,
        root: Path,
        schema: &StructType,
        partition_columns: &[String],
        mapping: ColumnMapping,
        options: WriterOptions,
    ) -> Result<Self, IoError> {
        let mut partitions = Vec::with_capacity(partition_columns.len());
        for name in partition_columns {
            let index = schema.index_of(name).ok_or_else(|| IoError::NoSuchColumn {
                column: name.clone(),
                available: schema.field_names().collect::<Vec<_>>().join(", "),
            })?;
            if partitions
                .iter()
                .any(|p: &PartitionColumn| p.index == index)
            {
                return Err(IoError::InvalidPartitionColumn {
                    column: name.clone(),
                    reason: "listed twice".to_string(),
                });
            }
            let field = &schema.fields[index];
            match &field.data_type {
                DataType::Primitive(p)
                    if !matches!(
                        p,
                        delta_schema::PrimitiveType::Variant | delta_schema::PrimitiveType::Void
                    ) => {}
                other => {
                    return Err(IoError::InvalidPartitionColumn {
                        column: name.clone(),
                        reason: format!("a {other} column cannot be a partition column"),
                    });
                }
            }
            partitions.push(PartitionColumn {
                index,
                name: name.clone(),
                key: file_name(field, mapping).to_string(),
                data_type: field.data_type.clone(),
            });
        }
        let data_columns: Vec<usize> = (0..schema.fields.len())
            .filter(|i| !partitions.iter().any(|p| p.index == *i))
            .collect();
        if data_columns.is_empty() {
            return Err(IoError::InvalidPartitionColumn {
                column: partition_columns.join(", "),
                reason: "a table needs at least one column that is not a partition column"
                    .to_string(),
            });
        }
        let data_fields: Vec<StructField> = data_columns
            .iter()
            .map(|i| schema.fields[*i].clone())
            .collect();
        let hidden_dirs = partitions
            .iter()
            .any(|p| p.key.starts_with('_') || p.key.starts_with('.'));
        let layout = match options.random_prefix_length {
            Some(n) if n > 0 => Layout::RandomPrefix(n),
            _ if mapping != ColumnMapping::None || hidden_dirs => {
                Layout::RandomPrefix(DEFAULT_RANDOM_PREFIX_LENGTH)
            }
            _ => Layout::PartitionDirs,
        };
        let converter = if partitions.is_empty() {
            None
        } else {
            let fields = partitions
                .iter()
                .map(|p| SortField::new(p.data_type.to_arrow()))
                .collect();
            Some(
                RowConverter::new(fields).map_err(|e| IoError::InvalidPartitionColumn {
                    column: partition_columns.join(", "),
                    reason: e.to_string(),
                })?,
            )
        };
        let properties = WriterProperties::builder()
            .set_compression(options.compression)
            .set_max_row_group_row_count(Some(options.max_row_group_rows.max(1)))
            .set_max_row_group_bytes(Some(options.max_row_group_bytes.max(1)))
            .set_data_page_row_count_limit(options.data_page_rows.max(1))
            // the page row limit is checked between mini-batches of this size
            .set_write_batch_size(options.data_page_rows.clamp(1, 1024))
            .build();
        Ok(DataWriter {
            store,
            root,
            layout,
            logical: Arc::new(schema.to_arrow()),
            partitions,
            data_columns,
            physical: Arc::new(physical_schema(&data_fields, mapping)),
            stats_plan: StatsPlan::new(&data_fields, mapping, &options.stats),
            converter,
            properties,
            open: HashMap::new(),
            done: Vec::new(),
            files_started: 0,
            clock: 0,
            failed: None,
            options,
        })
    }

    /// Writes one batch, which must have the table's Arrow schema
    /// ([`StructType::to_arrow`]; nullability and field metadata aside).
    /// After an error the writer is unusable.
    pub async fn write(&mut self, batch: &RecordBatch) -> Result<(), IoError> {
        if let Some(reason) = &self.failed {
            return Err(IoError::WriterFailed {
                reason: reason.clone(),
            });
        }
        let result = self.write_batch(batch).await;
        if let Err(e) = &result {
            self.fail(e.to_string()).await;
        }
        result
    }

    /// Closes every open file and returns the `add` actions of all files
    /// written, with `dataChange = true` (the caller may change it) and
    /// statistics.
    pub async fn finish(mut self) -> Result<Vec<Add>, IoError> {
        if let Some(reason) = &self.failed {
            return Err(IoError::WriterFailed {
                reason: reason.clone(),
            });
        }
        let mut keys: Vec<(u64, Vec<Option<String>>)> =
            self.open.iter().map(|(k, f)| (f.seq, k.clone())).collect();
        keys.sort();
        for (_, key) in keys {
            if let Err(e) = self.close_file(&key).await {
                self.fail(e.to_string()).await;
                return Err(e);
            }
        }
        Ok(self.done)
    }

    /// Gives up: the files still open are aborted (their multipart uploads
    /// too, best effort); files already completed stay in the store,
    /// referenced by no commit (VACUUM takes them).
    pub async fn abort(mut self) {
        self.fail("aborted".to_string()).await;
    }

    /// Records the failure and aborts the open files (best effort).
    async fn fail(&mut self, reason: String) {
        self.failed.get_or_insert(reason);
        for (_, file) in self.open.drain() {
            // the error is already being reported; an abort that fails leaves
            // an incomplete upload the store expires
            file.upload.abort().await;
        }
    }

    fn check_schema(&self, batch: &RecordBatch) -> Result<(), IoError> {
        let actual = batch.schema();
        let expected = &self.logical;
        if actual.fields().len() != expected.fields().len() {
            return Err(IoError::BatchSchema {
                column: "*".to_string(),
                reason: format!(
                    "{} columns, the table has {}",
                    actual.fields().len(),
                    expected.fields().len()
                ),
            });
        }
        for (a, e) in actual.fields().iter().zip(expected.fields()) {
            if a.name() != e.name() {
                return Err(IoError::BatchSchema {
                    column: e.name().clone(),
                    reason: format!("found column '{}' in its place", a.name()),
                });
            }
            if !same_layout(a.data_type(), e.data_type()) {
                return Err(IoError::BatchSchema {
                    column: e.name().clone(),
                    reason: format!("type {}, expected {}", a.data_type(), e.data_type()),
                });
            }
        }
        Ok(())
    }

    async fn write_batch(&mut self, batch: &RecordBatch) -> Result<(), IoError> {
        self.check_schema(batch)?;
        if batch.num_rows() == 0 {
            return Ok(());
        }
        for (first_row, indices) in self.group_rows(batch)? {
            let mut values = Vec::with_capacity(self.partitions.len());
            for p in &self.partitions {
                values.push(serialize_partition_value(
                    &p.name,
                    batch.column(p.index).as_ref(),
                    first_row,
                    &p.data_type,
                )?);
            }
            let columns: Vec<ArrayRef> = match &indices {
                None => self
                    .data_columns
                    .iter()
                    .map(|i| Arc::clone(batch.column(*i)))
                    .collect(),
                Some(indices) => self
                    .data_columns
                    .iter()
                    .map(|i| take(batch.column(*i).as_ref(), indices, None))
                    .collect::<Result<_, _>>()
                    .map_err(|e| IoError::BatchSchema {
                        column: "*".to_string(),
                        reason: format!("splitting the batch by partition: {e}"),
                    })?,
            };
            let rows = indices.as_ref().map_or(batch.num_rows(), UInt32Array::len);
            self.write_group(values, columns, rows).await?;
        }
        Ok(())
    }

    /// The rows of each partition of a batch: the first row and the row
    /// indices (`None`: all rows), in order of first appearance.
    fn group_rows(
        &self,
        batch: &RecordBatch,
    ) -> Result<Vec<(usize, Option<UInt32Array>)>, IoError> {
        let Some(converter) = &self.converter else {
            return Ok(vec![(0, None)]);
        };
        let columns: Vec<ArrayRef> = self
            .partitions
            .iter()
            .map(|p| Arc::clone(batch.column(p.index)))
            .collect();
        let rows = converter
            .convert_columns(&columns)
            .map_err(|e| IoError::BatchSchema {
                column: "*".to_string(),
                reason: format!("grouping by the partition columns: {e}"),
            })?;
        let mut index = HashMap::new();
        let mut groups: Vec<(usize, Vec<u32>)> = Vec::new();
        for i in 0..batch.num_rows() {
            let row = u32::try_from(i).map_err(|_| IoError::BatchSchema {
                column: "*".to_string(),
                reason: "a partitioned batch may have at most 2^32 rows".to_string(),
            })?;
            let g = *index.entry(rows.row(i)).or_insert_with(|| {
                groups.push((i, Vec::new()));
                groups.len() - 1
            });
            groups[g].1.push(row);
        }
        if groups.len() == 1 {
            return Ok(vec![(0, None)]);
        }
        Ok(groups
            .into_iter()
            .map(|(first, rows)| (first, Some(UInt32Array::from(rows))))
            .collect())
    }

    /// Writes the data columns of rows of one partition.
    async fn write_group(
        &mut self,
        values: Vec<Option<String>>,
        columns: Vec<ArrayRef>,
        rows: usize,
    ) -> Result<(), IoError> {
        let physical_columns = columns
            .iter()
            .zip(self.physical.fields())
            .map(|(c, f)| to_physical(c, f.data_type()))
            .collect::<Result<Vec<_>, _>>()
            .map_err(|e| IoError::BatchSchema {
                column: "*".to_string(),
                reason: e.to_string(),
            })?;
        let options = RecordBatchOptions::new().with_row_count(Some(rows));
        let physical = RecordBatch::try_new_with_options(
            Arc::clone(&self.physical),
            physical_columns,
            &options,
        )
        .map_err(|e| IoError::BatchSchema {
            column: "*".to_string(),
            reason: e.to_string(),
        })?;
        let mut offset = 0;
        while offset < rows {
            let len = WRITE_CHUNK_ROWS.min(rows - offset);
            self.ensure_open(&values).await?;
            self.clock += 1;
            let clock = self.clock;
            let file = self
                .open
                .get_mut(&values)
                .ok_or_else(|| IoError::WriterFailed {
                    reason: "internal: the file of a partition is not open".to_string(),
                })?;
            file.last_used = clock;
            let chunk: Vec<ArrayRef> = columns.iter().map(|c| c.slice(offset, len)).collect();
            let write_error = |reason: String| IoError::Write {
                path: file.store_path.to_string(),
                reason,
            };
            // statistics are collected while the encoder's workers encode;
            // when the file takes only some of the rows (it is full), they
            // are collected again for those
            let target = usize::try_from(self.options.target_file_size).unwrap_or(usize::MAX);
            let before = file.stats.clone();
            let (stats, plan) = (&mut file.stats, &self.stats_plan);
            let took = file
                .encoder
                .write(&physical.slice(offset, len), target, || {
                    stats.update(plan, &chunk, len)
                })
                .map_err(|e| match e {
                    Written::Parquet(e) => write_error(e.to_string()),
                    Written::Alongside(reason) => {
                        write_error(format!("collecting statistics: {reason}"))
                    }
                })?;
            if took < len {
                file.stats = before;
                if took > 0 {
                    let taken: Vec<ArrayRef> = chunk.iter().map(|c| c.slice(0, took)).collect();
                    file.stats
                        .update(&self.stats_plan, &taken, took)
                        .map_err(|reason| {
                            write_error(format!("collecting statistics: {reason}"))
                        })?;
                }
            }
            let blocks = file.encoder.take_full();
            if !blocks.is_empty() {
                file.upload
                    .send(blocks)
                    .await
                    .map_err(|e| write_error(e.to_string()))?;
            }
            offset += took;
            if took < len || file.encoder.past(target) {
                self.close_file(&values).await?;
            }
        }
        Ok(())
    }

    /// Opens a file for these partition values unless one is open, first
    /// closing the least recently written file when too many are open.
    async fn ensure_open(&mut self, values: &[Option<String>]) -> Result<(), IoError> {
        if self.open.contains_key(values) {
            return Ok(());
        }
        while self.open.len() >= self.options.max_open_files.max(1) {
            let Some(oldest) = self
                .open
                .iter()
                .min_by_key(|(_, f)| f.last_used)
                .map(|(k, _)| k.clone())
            else {
                break;
            };
            self.close_file(&oldest).await?;
        }
        let relative = self.relative_path(values);
        let log_path = encode_log_path(&relative);
        let store_path = resolve_log_path(&self.root, None, &log_path)?;
        let upload = Upload::new(
            Arc::clone(&self.store),
            store_path.clone(),
            UPLOAD_PART_BYTES,
            UPLOAD_CONCURRENCY,
        );
        let encoder = Encoder::try_new(
            Arc::clone(&self.physical),
            self.properties.clone(),
            self.options.encoding_threads,
        )
        .map_err(|e| IoError::Write {
            path: store_path.to_string(),
            reason: e.to_string(),
        })?;
        self.files_started += 1;
        self.open.insert(
            values.to_vec(),
            OpenFile {
                values: values.to_vec(),
                log_path,
                store_path,
                encoder,
                upload,
                stats: FileStats::new(&self.stats_plan),
                last_used: self.clock,
                seq: self.files_started,
            },
        );
        Ok(())
    }

    /// The literal relative path of a new file for these partition values.
    fn relative_path(&self, values: &[Option<String>]) -> String {
        let name = format!(
            "part-{:05}-{}-c000{}.parquet",
            self.files_started,
            uuid::Uuid::new_v4(),
            codec_extension(self.options.compression)
        );
        let mut segments: Vec<String> = match self.layout {
            Layout::RandomPrefix(n) => vec![partition_path::random_prefix(n)],
            Layout::PartitionDirs => self
                .partitions
                .iter()
                .zip(values)
                .map(|(p, v)| partition_path::partition_dir(&p.key, v.as_deref()))
                .collect(),
        };
        segments.push(name);
        segments.join("/")
    }

    /// Completes the open file of these partition values and records its `add`.
    async fn close_file(&mut self, values: &[Option<String>]) -> Result<(), IoError> {
        let Some(mut file) = self.open.remove(values) else {
            return Ok(());
        };
        let write_error = |path: &Path, reason: String| IoError::Write {
            path: path.to_string(),
            reason,
        };
        let (size, last) = match file.encoder.finish() {
            Ok(done) => done,
            Err(e) => {
                file.upload.abort().await;
                return Err(write_error(&file.store_path, e.to_string()));
            }
        };
        let size = i64::try_from(size).map_err(|e| write_error(&file.store_path, e.to_string()))?;
        // a failed completion aborts what was sent (WriteMultipart does)
        if let Err(e) = file.upload.finish(last).await {
            return Err(write_error(&file.store_path, e.to_string()));
        }
        let partition_values = self
            .partitions
            .iter()
            .zip(file.values)
            .map(|(p, v)| (p.key.clone(), v))
            .collect();
        self.done.push(Add {
            path: file.log_path,
            partition_values,
            size,
            modification_time: chrono::Utc::now().timestamp_millis(),
            data_change: true,
            stats: Some(file.stats.to_json(&self.stats_plan)),
            tags: None,
            deletion_vector: None,
            base_row_id: None,
            default_row_commit_version: None,
            clustering_provider: None,
        });
        Ok(())
    }
}
