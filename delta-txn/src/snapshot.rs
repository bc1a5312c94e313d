//! A snapshot: the table at one version, with its parsed schema and a scan API.

use std::collections::HashMap;
use std::sync::Arc;

use arrow::datatypes::SchemaRef;
use arrow::record_batch::RecordBatch;
use delta_io::{ColumnMapping, FileSlice, IoError, ReadPlan, open_file};
use delta_log::properties::COLUMN_MAPPING_MODE;
use delta_log::{Add, Metadata, Protocol, TableFeature, TableState};
use delta_schema::StructType;
use futures::stream::BoxStream;
use futures::{StreamExt, TryStreamExt};
use object_store::ObjectStore;

use crate::{Table, TxnError};

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
}

impl Snapshot {
    /// Checks the state is readable and parses its schema.
    pub(crate) fn try_new(table: &Table, state: TableState) -> Result<Snapshot, TxnError> {
        let version = state.version;
        state
            .protocol
            .check_readable(SUPPORTED_READER_FEATURES, version)?;
        let schema = StructType::from_json(&state.metadata.schema_string)
            .map_err(|source| TxnError::Schema { version, source })?;
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
    pub fn files(&self) -> &[Add] {
        &self.state.files
    }

    /// The reconciled log state underneath.
    pub fn state(&self) -> &TableState {
        &self.state
    }

    /// A scan of the whole table; narrow it with [`Scan::with_columns`].
    pub fn scan(&self) -> Scan {
        Scan {
            snapshot: self.clone(),
            columns: None,
            parallelism: default_parallelism(),
        }
    }
}

/// Decodes one slice of a data file on a task of its own, so that slices
/// decode on every core (in place when not polled inside a tokio runtime).
async fn decode_on_a_task(slice: FileSlice) -> Result<Vec<RecordBatch>, TxnError> {
    let decode = async move { slice.read()?.try_collect::<Vec<_>>().await };
    // outside a tokio runtime (another executor), decode where we are
    let Ok(runtime) = tokio::runtime::Handle::try_current() else {
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
/// per core, so that one slice's reads overlap another's decoding (BENCH.md
/// W4 on 2 cores: 0.94 s with 1, 0.77 s with 2, 0.50 s with 4, 0.52 s with 6).
fn default_parallelism() -> usize {
    2 * std::thread::available_parallelism().map_or(1, |n| n.get())
}

/// A read of a snapshot's rows.
#[derive(Debug, Clone)]
pub struct Scan {
    snapshot: Snapshot,
    columns: Option<Vec<String>>,
    parallelism: usize,
}

impl Scan {
    /// Reads only these columns, in this order.
    pub fn with_columns(mut self, columns: impl IntoIterator<Item = impl Into<String>>) -> Self {
        self.columns = Some(columns.into_iter().map(Into::into).collect());
        self
    }

    /// Decodes up to `n` slices (row groups) of the data files at once, each
    /// on its own task of the async runtime (default: two per core; at
    /// least 1). Rows come out in file and row-group order whatever `n` is;
    /// memory grows with `n` decoded row groups.
    pub fn with_parallelism(mut self, n: usize) -> Self {
        self.parallelism = n.max(1);
        self
    }

    fn plan(&self) -> Result<ReadPlan, TxnError> {
        Ok(ReadPlan::new(
            &self.snapshot.schema,
            self.snapshot.partition_columns(),
            self.snapshot.mapping,
            self.columns.as_deref(),
        )?
        .with_table(delta_log::paths::table_url_at(
            &self.snapshot.state.table,
            &self.snapshot.state.root,
        )))
    }

    /// The Arrow schema of the batches.
    pub fn schema(&self) -> Result<SchemaRef, TxnError> {
        Ok(self.plan()?.schema())
    }

    /// The rows as a stream of batches, file after file, in the order of
    /// the snapshot's files. Footers are fetched a few files ahead; the
    /// files' row groups are decoded [`Scan::with_parallelism`] at a time on
    /// tasks of the tokio runtime the stream is polled in.
    pub fn execute(&self) -> Result<BoxStream<'static, Result<RecordBatch, TxnError>>, TxnError> {
        let plan = Arc::new(self.plan()?);
        let store = Arc::clone(&self.snapshot.store);
        let state = Arc::clone(&self.snapshot.state);
        let stream = futures::stream::iter(0..state.files.len())
            .map(move |i| {
                let store = Arc::clone(&store);
                let plan = Arc::clone(&plan);
                let state = Arc::clone(&state);
                async move { open_file(store, &state.root, plan, &state.files[i]).await }
            })
            .buffered(FILES_IN_FLIGHT)
            .map_ok(|slices| futures::stream::iter(slices.into_iter().map(Ok::<_, IoError>)))
            .try_flatten()
            .map_err(TxnError::from)
            .map_ok(decode_on_a_task)
            .try_buffered(self.parallelism)
            .map_ok(|batches| futures::stream::iter(batches.into_iter().map(Ok)))
            .try_flatten();
        Ok(stream.boxed())
    }

    /// All rows, collected.
    pub async fn collect(&self) -> Result<Vec<RecordBatch>, TxnError> {
        self.execute()?.try_collect().await
    }
}
