//! A Delta table at a location: the entry point for reading (and, later, writing).

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use delta_io::writer::parsed_columns;
use delta_log::{
    CheckpointInfo, CommitEntry, DeltaLog, Format, Metadata, TableProperties, TableState,
};
use delta_schema::{DataType, StructType};
use object_store::ObjectStore;
use object_store::path::Path;

use crate::column_mapping;
use crate::conflict::ConflictKind;
use crate::location::{Location, resolve};
use crate::protocol::{protocol_for, required_features};
use crate::transaction::{CommitOutcome, DEFAULT_MAX_COMMIT_ATTEMPTS, Transaction, now_ms};
use crate::writable::check_writable;
use crate::{Snapshot, TxnError};

/// How to create a table.
#[derive(Debug, Clone, Default)]
pub struct CreateOptions {
    /// A name for the table.
    pub name: Option<String>,
    /// A description.
    pub description: Option<String>,
    /// Partition columns, in order.
    pub partition_columns: Vec<String>,
    /// Table properties (`delta.*` and user keys).
    pub properties: HashMap<String, String>,
}

/// Checks that partition columns exist, are primitive, are not repeated and
/// are not all of the columns; the error says which rule a column breaks.
pub(crate) fn check_partition_columns(
    schema: &StructType,
    columns: &[String],
) -> Result<(), TxnError> {
    for (i, name) in columns.iter().enumerate() {
        let field = schema
            .field(name)
            .ok_or_else(|| TxnError::InvalidArgument {
                reason: format!(
                    "partition column '{name}' is not in the schema (columns: {})",
                    schema.field_names().collect::<Vec<_>>().join(", ")
                ),
            })?;
        if !matches!(field.data_type, DataType::Primitive(_)) {
            return Err(TxnError::InvalidArgument {
                reason: format!(
                    "partition column '{name}' has type {}; only primitive types can partition a table",
                    field.data_type
                ),
            });
        }
        if columns[..i].contains(name) {
            return Err(TxnError::InvalidArgument {
                reason: format!("partition column '{name}' is listed twice"),
            });
        }
    }
    if !columns.is_empty() && columns.len() == schema.fields.len() {
        return Err(TxnError::InvalidArgument {
            reason: "a table cannot be partitioned by all of its columns".to_string(),
        });
    }
    Ok(())
}

/// A Delta table: its location, its log, and the newest snapshot this
/// handle (or any clone of it) has loaded or committed. That snapshot is
/// brought forward by the commits made since ([`DeltaLog::update`]) instead
/// of being loaded again, and is kept in memory as long as the handle.
#[derive(Debug, Clone)]
pub struct Table {
    location: Location,
    log: DeltaLog,
    latest: Latest,
    max_commit_attempts: u32,
}

/// The newest snapshot known to a table handle, shared by its clones.
#[derive(Clone, Default)]
struct Latest(Arc<Mutex<Option<Snapshot>>>);

impl Latest {
    fn get(&self) -> Option<Snapshot> {
        self.0.lock().ok().and_then(|known| known.clone())
    }

    /// Keeps `snapshot` unless a newer one is known.
    fn offer(&self, snapshot: &Snapshot) {
        if let Ok(mut known) = self.0.lock()
            && known
                .as_ref()
                .is_none_or(|k| k.version() < snapshot.version())
        {
            *known = Some(snapshot.clone());
        }
    }
}

impl std::fmt::Debug for Latest {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self.get() {
            Some(s) => write!(f, "version {}", s.version()),
            None => f.write_str("none"),
        }
    }
}

impl Table {
    /// Opens the table at `location` (a path or URL; see [`resolve`]) and checks
    /// that it has a log.
    pub async fn open(location: &str) -> Result<Table, TxnError> {
        let table = Table::at(location)?;
        if !table.log.exists().await? {
            // the same clear error a snapshot gives
            table.log.state(None).await?;
        }
        Ok(table)
    }

    /// Creates an empty table with this schema at `location` (version 0).
    /// Fails with [`TxnError::TableExists`] when there already is one.
    pub async fn create(
        location: &str,
        schema: &StructType,
        options: CreateOptions,
    ) -> Result<(Table, CommitOutcome), TxnError> {
        let table = Table::at(location)?;
        let outcome = table.initialize(schema, options).await?;
        Ok((table, outcome))
    }

    /// Creates an empty table with this schema where this `Table` points
    /// (version 0). Fails with [`TxnError::TableExists`] when there is one.
    pub async fn initialize(
        &self,
        schema: &StructType,
        options: CreateOptions,
    ) -> Result<CommitOutcome, TxnError> {
        let table = self;
        let location = table.location.display.as_str();
        if table.log.exists().await? {
            let version = table
                .log
                .commit_log()
                .latest_version()
                .await?
                .unwrap_or_default();
            return Err(TxnError::TableExists {
                location: location.to_string(),
                version,
            });
        }
        if schema.fields.is_empty() {
            return Err(TxnError::InvalidArgument {
                reason: "a table needs at least one column".to_string(),
            });
        }
        check_partition_columns(schema, &options.partition_columns)?;
        let mut schema = schema.clone();
        let mut properties = options.properties;
        column_mapping::apply(&mut schema, &mut properties)
            .map_err(|reason| TxnError::InvalidArgument { reason })?;
        let parsed = TableProperties::parse(&properties)?;
        crate::constraints::validate(&schema, &parsed)
            .map_err(|reason| TxnError::InvalidArgument { reason })?;
        let protocol = protocol_for(&required_features(&schema, &parsed));
        let metadata = Metadata {
            id: uuid::Uuid::new_v4().to_string(),
            name: options.name,
            description: options.description,
            format: Format::default(),
            schema_string: schema.to_json(),
            partition_columns: options.partition_columns.clone(),
            created_time: Some(now_ms()),
            configuration: properties,
        };
        let partition_by = serde_json::to_string(&options.partition_columns).unwrap_or_default();
        let mut txn = Transaction::new(table, None, "CREATE TABLE")
            .parameter("isManaged", "false")
            .parameter(
                "description",
                metadata.description.clone().unwrap_or_default(),
            )
            .parameter("partitionBy", partition_by)
            .parameter(
                "properties",
                serde_json::to_string(&metadata.configuration).unwrap_or_default(),
            );
        txn.set_protocol(protocol);
        txn.set_metadata(metadata);
        let outcome = txn.commit().await.map_err(|e| match e {
            TxnError::Conflict {
                version,
                kind: ConflictKind::TableCreated,
                ..
            } => TxnError::TableExists {
                location: location.to_string(),
                version,
            },
            other => other,
        })?;
        Ok(outcome)
    }

    /// This handle, committing each transaction in at most `attempts`
    /// tries (at least one) when other writers commit first (default
    /// [`DEFAULT_MAX_COMMIT_ATTEMPTS`]).
    pub fn with_max_commit_attempts(mut self, attempts: u32) -> Table {
        self.max_commit_attempts = attempts.max(1);
        self
    }

    /// How many tries a commit gets ([`Table::with_max_commit_attempts`]).
    pub fn max_commit_attempts(&self) -> u32 {
        self.max_commit_attempts
    }

    /// A transaction on the latest snapshot.
    pub async fn transaction(&self, operation: &str) -> Result<Transaction, TxnError> {
        Ok(Transaction::new(
            self,
            Some(self.snapshot().await?),
            operation,
        ))
    }

    /// The table rooted at `root` in a store of the caller's (a custom or
    /// wrapped store); `display` names it in messages.
    pub fn with_store(
        store: Arc<dyn ObjectStore>,
        root: Path,
        display: impl Into<String>,
    ) -> Table {
        let location = Location {
            display: display.into(),
            store,
            root,
        };
        let log = DeltaLog::new(
            location.store.clone(),
            location.root.clone(),
            location.display.clone(),
        );
        Table {
            location,
            log,
            latest: Latest::default(),
            max_commit_attempts: DEFAULT_MAX_COMMIT_ATTEMPTS,
        }
    }

    /// The table at `location`, without touching the store.
    pub fn at(location: &str) -> Result<Table, TxnError> {
        let Location {
            display,
            store,
            root,
        } = resolve(location)?;
        Ok(Table::with_store(store, root, display))
    }

    /// Where the table is.
    pub fn location(&self) -> &Location {
        &self.location
    }

    /// The table's log.
    pub fn log(&self) -> &DeltaLog {
        &self.log
    }

    /// The latest snapshot: the newest one this handle knows brought forward
    /// by the commits made since (one listing), or loaded.
    pub async fn snapshot(&self) -> Result<Snapshot, TxnError> {
        let snapshot = match self.latest.get() {
            Some(known) => self.brought_forward(known).await?,
            None => Snapshot::try_new(self, self.log.state(None).await?)?,
        };
        self.latest.offer(&snapshot);
        Ok(snapshot)
    }

    async fn brought_forward(&self, known: Snapshot) -> Result<Snapshot, TxnError> {
        match self.log.update(known.state()).await? {
            Some(state) => Snapshot::try_new(self, state),
            None => Ok(known),
        }
    }

    /// Records a snapshot made by a commit through this handle.
    pub(crate) fn remember(&self, snapshot: &Snapshot) {
        self.latest.offer(snapshot);
    }

    /// The latest snapshot, or `None` where there is no table yet (no
    /// commit or checkpoint in `_delta_log`): one listing of the log.
    pub async fn snapshot_if_exists(&self) -> Result<Option<Snapshot>, TxnError> {
        if let Some(known) = self.latest.get() {
            let snapshot = self.brought_forward(known).await?;
            self.latest.offer(&snapshot);
            return Ok(Some(snapshot));
        }
        match self.log.state(None).await {
            Ok(state) => {
                let snapshot = Snapshot::try_new(self, state)?;
                self.latest.offer(&snapshot);
                Ok(Some(snapshot))
            }
            // no table, unless the log holds checkpoint files (an incomplete
            // one): then it is a table that cannot be read, not an empty place
            Err(e @ delta_log::LogError::NotATable { .. }) => match self.log.exists().await? {
                false => Ok(None),
                true => Err(e.into()),
            },
            Err(e) => Err(e.into()),
        }
    }

    /// The snapshot at `version`.
    pub async fn snapshot_at(&self, version: u64) -> Result<Snapshot, TxnError> {
        Snapshot::try_new(self, self.log.state(Some(version)).await?)
    }

    /// The snapshot of a state read elsewhere, e.g. from a log segment
    /// chosen by hand ([`DeltaLog::load_segment`]); checked as any
    /// snapshot is (readable protocol, parsable schema).
    pub fn snapshot_of(&self, state: TableState) -> Result<Snapshot, TxnError> {
        Snapshot::try_new(self, state)
    }

    /// The snapshot of the latest version committed at or before
    /// `timestamp_ms` (ms since the epoch).
    pub async fn snapshot_at_timestamp(&self, timestamp_ms: i64) -> Result<Snapshot, TxnError> {
        let version = self.log.version_at(timestamp_ms).await?;
        self.snapshot_at(version).await
    }

    /// Writes a checkpoint of `snapshot` and points `_last_checkpoint` at it
    /// (see [`DeltaLog::write_checkpoint`]), with the typed statistics and
    /// partition values the table's properties ask for.
    /// A table with a writer feature this implementation cannot respect is
    /// refused (a checkpoint could drop what the feature adds to actions).
    pub async fn checkpoint(&self, snapshot: &Snapshot) -> Result<CheckpointInfo, TxnError> {
        check_writable(snapshot.protocol(), snapshot.metadata(), snapshot.version())?;
        let parsed = parsed_columns(
            snapshot.schema(),
            snapshot.partition_columns(),
            snapshot.column_mapping(),
        );
        Ok(self
            .log
            .write_checkpoint(snapshot.state(), now_ms(), Some(&parsed))
            .await?)
    }

    /// The commits, newest first (at most `limit`).
    pub async fn history(&self, limit: Option<usize>) -> Result<Vec<CommitEntry>, TxnError> {
        Ok(self.log.history(limit).await?)
    }
}
