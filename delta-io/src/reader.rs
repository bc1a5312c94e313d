//! Reading the data files of a snapshot as Arrow record batches in the table's
//! logical schema: Parquet with projection, columns conformed (column mapping,
//! widening, missing columns), partition values added, deleted rows dropped.

use std::sync::Arc;

use arrow::array::ArrayRef;
use arrow::compute::filter_record_batch;
use arrow::datatypes::{Schema, SchemaRef};
use arrow::record_batch::{RecordBatch, RecordBatchOptions};
use delta_expr::SkippingPredicate;
use delta_log::parquet_reader::{ObjectReader, arrow_metadata_guarded, panic_safe};
use delta_log::{ActiveFile, DeletionVectorDescriptor};
use delta_schema::{StructField, StructType};
use futures::stream::BoxStream;
use futures::{StreamExt, TryStreamExt};
use object_store::path::Path;
use object_store::{ObjectStore, ObjectStoreExt};
use parquet::arrow::arrow_reader::{ArrowReaderMetadata, ArrowReaderOptions};
use parquet::arrow::{ParquetRecordBatchStreamBuilder, ProjectionMask};
use parquet::errors::ParquetError;
use parquet::file::metadata::PageIndexPolicy;
use url::Url;

use crate::IoError;
use crate::conform::{ColumnMapping, Ctx, conform, find_column};
use crate::dv::{self, DvLocation, row_mask};
use crate::pages::select_rows;
use crate::partition::partition_column;
use crate::paths::resolve_log_path;

/// Rows per batch read from a data file.
pub const BATCH_ROWS: usize = 8192;

/// Where an output column comes from.
#[derive(Debug, Clone)]
enum Source {
    /// A column of the data file.
    Data,
    /// The file's partition value in the log.
    Partition,
}

/// What to read from every file of a table: the output columns and how to
/// find them. Built once per scan.
#[derive(Debug, Clone)]
pub struct ReadPlan {
    columns: Vec<(StructField, Source)>,
    /// The schema of `columns`.
    columns_schema: SchemaRef,
    /// The schema of the batches: `columns_schema`, with the row index.
    schema: SchemaRef,
    mapping: ColumnMapping,
    /// The table's URL, to place absolute file paths (see [`resolve_log_path`]).
    table: Option<Url>,
    /// Rows in pages this predicate rules out are not read (see [`crate::pages`]).
    pages: Option<SkippingPredicate>,
    /// Whether batches end with [`ROW_INDEX_COLUMN`].
    row_index: bool,
}

/// The column [`ReadPlan::with_row_index`] adds: each row's index in its
/// data file (counting deleted rows too), as deletion vectors address rows.
pub const ROW_INDEX_COLUMN: &str = "__delta_row_index";

impl ReadPlan {
    /// A plan for a table with this schema and partitioning, reading `columns`
    /// (all when `None`) in the order given, or in schema order when all.
    pub fn new(
        schema: &StructType,
        partition_columns: &[String],
        mapping: ColumnMapping,
        columns: Option<&[String]>,
    ) -> Result<Self, IoError> {
        let selected: Vec<&StructField> = match columns {
            None => schema.fields.iter().collect(),
            Some(names) => names
                .iter()
                .map(|n| {
                    schema.field(n).ok_or_else(|| IoError::NoSuchColumn {
                        column: n.clone(),
                        available: schema.field_names().collect::<Vec<_>>().join(", "),
                    })
                })
                .collect::<Result<_, _>>()?,
        };
        let columns: Vec<(StructField, Source)> = selected
            .into_iter()
            .map(|f| {
                let source = if partition_columns.contains(&f.name) {
                    Source::Partition
                } else {
                    Source::Data
                };
                (f.clone(), source)
            })
            .collect();
        let schema = Arc::new(Schema::new(
            columns
                .iter()
                .map(|(f, _)| f.to_arrow())
                .collect::<Vec<_>>(),
        ));
        Ok(ReadPlan {
            table: None,
            pages: None,
            row_index: false,
            columns,
            columns_schema: Arc::clone(&schema),
            schema,
            mapping,
        })
    }

    /// The plan for the table at `table` (a [`delta_log::paths::table_url`]):
    /// absolute file paths in the table or its store are read, others refused.
    pub fn with_table(mut self, table: Option<Url>) -> Self {
        self.table = table;
        self
    }

    /// The plan, reading only the rows of pages whose statistics may hold a
    /// row `skip` keeps (in files with a page index and no deletion vector).
    /// The rows read still need filtering.
    pub fn with_page_skipping(mut self, skip: Option<SkippingPredicate>) -> Self {
        self.pages = skip;
        self
    }

    /// The plan, adding to every batch a last column [`ROW_INDEX_COLUMN`]
    /// (non-null `UInt64`): each row's index in its data file. Pages are
    /// then not skipped.
    pub fn with_row_index(mut self) -> Self {
        if !self.row_index {
            self.row_index = true;
            let mut fields: Vec<_> = self.schema.fields().iter().cloned().collect();
            fields.push(Arc::new(arrow::datatypes::Field::new(
                ROW_INDEX_COLUMN,
                arrow::datatypes::DataType::UInt64,
                false,
            )));
            self.schema = Arc::new(Schema::new(fields));
        }
        self
    }

    /// [`Self::with_row_index`] when `wanted`.
    pub fn with_row_index_if(self, wanted: bool) -> Self {
        if wanted { self.with_row_index() } else { self }
    }

    /// The Arrow schema of the batches this plan produces.
    pub fn schema(&self) -> SchemaRef {
        Arc::clone(&self.schema)
    }
}

fn parquet_error(path: &Path, e: ParquetError) -> IoError {
    if let ParquetError::External(inner) = &e
        && let Some(object_store::Error::NotFound { .. }) =
            inner.downcast_ref::<object_store::Error>()
    {
        return IoError::MissingFile {
            path: path.to_string(),
        };
    }
    IoError::Parquet {
        path: path.to_string(),
        reason: e.to_string(),
    }
}

/// Rows of a file that are deleted, by row index in the file.
pub type DeletedRows = roaring::RoaringTreemap;

/// Loads the rows a deletion vector deletes (inline, or from its file under `root`).
pub async fn load_deletion_vector(
    store: &Arc<dyn ObjectStore>,
    root: &Path,
    table: Option<&Url>,
    descriptor: &DeletionVectorDescriptor,
) -> Result<DeletedRows, IoError> {
    let location = dv::locate(descriptor)?;
    let (DvLocation::File { path, .. }, Some(range)) = (&location, location.file_range()) else {
        return dv::decode_inline(descriptor);
    };
    let file = resolve_log_path(root, table, path)?;
    let bytes = store.get_range(&file, range).await.map_err(|e| match e {
        object_store::Error::NotFound { .. } => IoError::MissingFile {
            path: file.to_string(),
        },
        other => IoError::Store {
            path: file.to_string(),
            source: other,
        },
    })?;
    dv::decode_file_region(descriptor, &bytes)
}

/// Reads one data file of a table rooted at `root`: a stream of batches in
/// the plan's schema, without the rows its deletion vector deletes. (Its
/// slices, one after the other; see [`open_file`] to decode them in parallel.)
pub async fn read_file(
    store: Arc<dyn ObjectStore>,
    root: &Path,
    plan: Arc<ReadPlan>,
    file: ActiveFile<'_>,
) -> Result<BoxStream<'static, Result<RecordBatch, IoError>>, IoError> {
    let slices = open_file(store, root, plan, file).await?;
    Ok(futures::stream::iter(slices)
        .map(FileSlice::read)
        .try_flatten()
        .boxed())
}

/// A part of a data file that decodes on its own: some of its row groups,
/// with what is needed to bring their rows to the plan's schema.
#[derive(Debug)]
pub struct FileSlice {
    reader: ObjectReader,
    metadata: ArrowReaderMetadata,
    row_groups: Vec<usize>,
    /// Index in the file of the slice's first row (for deletion vectors).
    first_row: u64,
    plan: Arc<ReadPlan>,
    partition_values: Arc<Vec<Option<Option<String>>>>,
    deleted: Option<Arc<DeletedRows>>,
    path: Path,
}

/// Opens one data file of a table rooted at `root`: reads its footer and its
/// deletion vector, and splits it into slices of one row group each (one
/// empty slice for a file without row groups), in file order.
pub async fn open_file(
    store: Arc<dyn ObjectStore>,
    root: &Path,
    plan: Arc<ReadPlan>,
    file: ActiveFile<'_>,
) -> Result<Vec<FileSlice>, IoError> {
    let path = resolve_log_path(root, plan.table.as_ref(), file.path())?;
    let deleted = match file.deletion_vector() {
        Some(dv) => Some(Arc::new(
            load_deletion_vector(&store, root, plan.table.as_ref(), dv).await?,
        )),
        None => None,
    };
    let size = u64::try_from(file.size()).ok();
    let mut reader = ObjectReader::new(store, path.clone(), size);
    // the page index is read where pages may be skipped (not with a deletion
    // vector, which counts rows by their place in the file)
    let page_index = match (&plan.pages, &deleted) {
        (Some(_), None) => PageIndexPolicy::Optional,
        _ => PageIndexPolicy::Skip,
    };
    let options = ArrowReaderOptions::new().with_page_index_policy(page_index);
    let parquet = ArrowReaderMetadata::load_async(
        &mut reader,
        options.clone().with_skip_arrow_metadata(true),
    )
    .await
    .map_err(|e| parquet_error(&path, e))?;
    let metadata = arrow_metadata_guarded(Arc::clone(parquet.metadata()), options)
        .map_err(|e| parquet_error(&path, e))?;
    let partition_values: Arc<Vec<Option<Option<String>>>> = Arc::new(
        plan.columns
            .iter()
            .map(|(f, source)| match source {
                Source::Partition => Some(
                    file.partition_values()
                        .get(f.physical_name())
                        .or_else(|| file.partition_values().get(&f.name))
                        .cloned()
                        .flatten(),
                ),
                Source::Data => None,
            })
            .collect(),
    );
    let row_counts: Vec<u64> = metadata
        .metadata()
        .row_groups()
        .iter()
        .map(|rg| u64::try_from(rg.num_rows()).unwrap_or(0))
        .collect();
    let groups: Vec<Vec<usize>> = if row_counts.is_empty() {
        vec![Vec::new()]
    } else {
        (0..row_counts.len()).map(|i| vec![i]).collect()
    };
    let mut first_row = 0;
    let mut slices = Vec::with_capacity(groups.len());
    for row_groups in groups {
        let rows: u64 = row_groups.iter().map(|&i| row_counts[i]).sum();
        slices.push(FileSlice {
            reader: reader.clone(),
            metadata: metadata.clone(),
            row_groups,
            first_row,
            plan: Arc::clone(&plan),
            partition_values: Arc::clone(&partition_values),
            deleted: deleted.clone(),
            path: path.clone(),
        });
        first_row += rows;
    }
    Ok(slices)
}

impl FileSlice {
    /// The slice's rows: a stream of batches in the plan's schema, without
    /// the rows the file's deletion vector deletes.
    pub fn read(self) -> Result<BoxStream<'static, Result<RecordBatch, IoError>>, IoError> {
        let FileSlice {
            reader,
            metadata,
            row_groups,
            first_row,
            plan,
            partition_values,
            deleted,
            path,
        } = self;
        let selection = match (&plan.pages, &deleted, row_groups.as_slice()) {
            (Some(skip), None, [row_group]) if !plan.row_index => {
                let data: Vec<&StructField> = plan
                    .columns
                    .iter()
                    .filter(|(_, s)| matches!(s, Source::Data))
                    .map(|(f, _)| f)
                    .collect();
                select_rows(skip, &data, plan.mapping, &metadata, *row_group)
            }
            _ => None,
        };
        let builder = ParquetRecordBatchStreamBuilder::new_with_metadata(reader, metadata);
        let file_fields = builder.schema().fields().clone();
        let roots: Vec<usize> = plan
            .columns
            .iter()
            .filter(|(_, s)| matches!(s, Source::Data))
            .filter_map(|(f, _)| find_column(&file_fields, f, plan.mapping).map(|(i, _)| i))
            .collect();
        let mask = ProjectionMask::roots(builder.parquet_schema(), roots);
        if selection.as_ref().is_some_and(|s| !s.selects_any()) {
            return Ok(futures::stream::empty().boxed());
        }
        let builder = match selection {
            Some(selection) => builder.with_row_selection(selection),
            None => builder,
        };
        let stream = builder
            .with_projection(mask)
            .with_row_groups(row_groups)
            .with_batch_size(BATCH_ROWS)
            .build()
            .map_err(|e| parquet_error(&path, e))?;
        let mut next_row = first_row;
        let batches = panic_safe(stream)
            .map_err({
                let path = path.clone();
                move |e| parquet_error(&path, e)
            })
            .and_then(move |batch| {
                let result = to_output(&plan, &batch, &partition_values, &path).and_then(|out| {
                    let rows = batch.num_rows() as u64;
                    let out = match plan.row_index {
                        true => with_row_index(out, next_row, &plan, &path)?,
                        false => out,
                    };
                    let out = match &deleted {
                        Some(d) => drop_deleted(out, d, next_row, &path),
                        None => Ok(out),
                    };
                    next_row += rows;
                    out
                });
                futures::future::ready(result)
            });
        Ok(batches.boxed())
    }
}

/// One file batch to the plan's schema.
fn to_output(
    plan: &ReadPlan,
    batch: &RecordBatch,
    partition_values: &[Option<Option<String>>],
    path: &Path,
) -> Result<RecordBatch, IoError> {
    let path_text = path.to_string();
    let ctx = Ctx {
        path: &path_text,
        mapping: plan.mapping,
    };
    let num_rows = batch.num_rows();
    let mut arrays: Vec<ArrayRef> = Vec::with_capacity(plan.columns.len());
    for ((field, _), partition) in plan.columns.iter().zip(partition_values) {
        let array = match partition {
            Some(value) => {
                partition_column(&field.name, value.as_deref(), &field.data_type, num_rows)?
            }
            None => match find_column(batch.schema_ref().fields(), field, plan.mapping) {
                Some((i, _)) => conform(batch.column(i), &field.data_type, &field.name, &ctx)?,
                None => arrow::array::new_null_array(&field.data_type.to_arrow(), num_rows),
            },
        };
        arrays.push(array);
    }
    let options = RecordBatchOptions::new().with_row_count(Some(num_rows));
    RecordBatch::try_new_with_options(Arc::clone(&plan.columns_schema), arrays, &options).map_err(
        |e| IoError::Column {
            path: path_text.clone(),
            column: "*".to_string(),
            reason: e.to_string(),
        },
    )
}

/// `batch` (of rows `first_row..` of its file) with the row index column.
fn with_row_index(
    batch: RecordBatch,
    first_row: u64,
    plan: &ReadPlan,
    path: &Path,
) -> Result<RecordBatch, IoError> {
    let rows = batch.num_rows() as u64;
    let mut columns = batch.columns().to_vec();
    columns.push(Arc::new(arrow::array::UInt64Array::from_iter_values(
        first_row..first_row + rows,
    )));
    RecordBatch::try_new(plan.schema(), columns).map_err(|e| IoError::Column {
        path: path.to_string(),
        column: ROW_INDEX_COLUMN.to_string(),
        reason: e.to_string(),
    })
}

/// Drops the rows of `batch` (which starts at `first_row` in its file) that
/// the deletion vector deletes.
fn drop_deleted(
    batch: RecordBatch,
    deleted: &DeletedRows,
    first_row: u64,
    path: &Path,
) -> Result<RecordBatch, IoError> {
    let end = first_row + batch.num_rows() as u64;
    if deleted.range_cardinality(first_row..end) == 0 {
        return Ok(batch);
    }
    let keep = row_mask(deleted, batch.num_rows(), first_row);
    filter_record_batch(&batch, &keep).map_err(|e| IoError::Column {
        path: path.to_string(),
        column: "*".to_string(),
        reason: format!("applying the deletion vector: {e}"),
    })
}
