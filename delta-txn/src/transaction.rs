//! Transactions: stage actions against a snapshot, then commit them as one
//! new version with put-if-absent. A commit is visible exactly when its file
//! exists; nothing else a transaction does (data files, checksum, checkpoint)
//! is part of the table until then, and what follows the commit is best effort.

use std::collections::BTreeSet;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use delta_expr::Expr;
use delta_log::properties::{
    ICT_ENABLEMENT_TIMESTAMP, ICT_ENABLEMENT_VERSION, in_commit_timestamps_on,
};
use delta_log::replay::Replay;
use delta_log::segment::LogSegment;
use delta_log::{
    Action, Add, CheckpointInfo, CommitInfo, LogError, Metadata, Protocol, Remove, TableProperties,
    TableState, Txn,
};
use serde_json::{Map, Value};

use crate::conflict::{self, ConflictKind, IsolationLevel, ReadSet, ReadTable, Staged};
use crate::writable::{check_append_only, check_writable};
use crate::{Snapshot, Table, TxnError};

/// Name and version of this engine, written to `commitInfo.engineInfo`.
pub const ENGINE_INFO: &str = concat!("delta-microcrates/", env!("CARGO_PKG_VERSION"));
/// How many tries a commit gets by default when other writers keep
/// committing first (Spark's limit is ten million, in effect none; ours is
/// generous but bounded). See [`crate::Table::with_max_commit_attempts`].
pub const DEFAULT_MAX_COMMIT_ATTEMPTS: u32 = 1000;
/// The longest pause between two tries.
const MAX_BACKOFF_MS: u64 = 1000;

/// Milliseconds since the epoch, now: how commits, removes and adds are
/// stamped.
pub fn now_ms() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| i64::try_from(d.as_millis()).unwrap_or(i64::MAX))
}

/// What a commit did.
#[derive(Debug, Clone)]
pub struct CommitOutcome {
    /// The version committed, or the version at which an idempotent write
    /// found its (app id, version) already applied.
    pub version: u64,
    /// False when the write was skipped as already applied.
    pub committed: bool,
    /// True when the store reported a failure or a lost race for the commit
    /// although it had landed (a lost response), and the transaction found
    /// its own commit there and adopted it.
    pub adopted: bool,
    /// The table after the commit.
    pub snapshot: Snapshot,
    /// The checkpoint written after the commit, if one was due; an error here
    /// never affects the commit.
    pub checkpoint: Option<Result<CheckpointInfo, String>>,
}

/// A set of changes to commit as one version.
#[derive(Debug)]
pub struct Transaction {
    table: Table,
    read: Option<Snapshot>,
    operation: String,
    parameters: Map<String, Value>,
    metrics: Map<String, Value>,
    protocol: Option<Protocol>,
    metadata: Option<Metadata>,
    adds: Vec<Add>,
    removes: Vec<Remove>,
    app_txn: Option<Txn>,
    read_set: ReadSet,
    txn_id: String,
}

impl Transaction {
    /// A transaction on `table` that read `snapshot` (`None` creates the table).
    pub fn new(table: &Table, snapshot: Option<Snapshot>, operation: impl Into<String>) -> Self {
        Transaction {
            table: table.clone(),
            read: snapshot,
            operation: operation.into(),
            parameters: Map::new(),
            metrics: Map::new(),
            protocol: None,
            metadata: None,
            adds: Vec::new(),
            removes: Vec::new(),
            app_txn: None,
            read_set: ReadSet::default(),
            txn_id: uuid::Uuid::new_v4().to_string(),
        }
    }

    /// The unique id of this transaction, written to `commitInfo.txnId`; it
    /// tells this transaction's commit from any other's.
    pub fn txn_id(&self) -> &str {
        &self.txn_id
    }

    /// The snapshot this transaction reads, if the table exists.
    pub fn read_snapshot(&self) -> Option<&Snapshot> {
        self.read.as_ref()
    }

    /// An `operationParameters` entry (Delta writes values as strings).
    pub fn parameter(mut self, key: &str, value: impl Into<String>) -> Self {
        self.parameters
            .insert(key.to_string(), Value::String(value.into()));
        self
    }

    /// An `operationMetrics` entry (Delta writes values as strings).
    pub fn metric(&mut self, key: &str, value: impl ToString) {
        self.metrics
            .insert(key.to_string(), Value::String(value.to_string()));
    }

    /// Sets a new protocol.
    pub fn set_protocol(&mut self, protocol: Protocol) {
        self.protocol = Some(protocol);
    }

    /// Sets new metadata (schema, partitioning, properties).
    pub fn set_metadata(&mut self, metadata: Metadata) {
        self.metadata = Some(metadata);
    }

    /// Adds data files.
    pub fn add_files(&mut self, adds: impl IntoIterator<Item = Add>) {
        self.adds.extend(adds);
    }

    /// Removes data files.
    pub fn remove_files(&mut self, removes: impl IntoIterator<Item = Remove>) {
        self.removes.extend(removes);
    }

    /// Records that the commit depends on the rows matching `predicate`:
    /// files another writer adds that may hold such rows conflict.
    pub fn read_predicate(&mut self, predicate: Expr) {
        self.read_set.predicates.push(predicate);
    }

    /// Records that the commit depends on every row of the table.
    pub fn read_whole_table(&mut self) {
        self.read_set.whole_table = true;
    }

    /// Records that the commit depends on these data files (indices in the
    /// snapshot the transaction read): another writer removing one of them
    /// conflicts.
    pub fn read_files(&mut self, files: &[usize]) {
        if let Some(snapshot) = &self.read {
            let paths = files
                .iter()
                .filter_map(|&i| snapshot.files().get(i))
                .map(|f| f.path().to_string());
            self.read_set.files.extend(paths);
        }
    }

    /// Whether it changes anything: adds or removes a file, or sets new
    /// metadata or a new protocol.
    pub fn has_changes(&self) -> bool {
        !self.adds.is_empty()
            || !self.removes.is_empty()
            || self.metadata.is_some()
            || self.protocol.is_some()
    }

    /// What the transaction has read so far.
    pub fn read_set(&self) -> &ReadSet {
        &self.read_set
    }

    /// Makes the write idempotent: it is applied at most once per
    /// (`app_id`, `version`), and skipped when the table has already seen
    /// this or a newer version of the application.
    pub fn set_app_transaction(&mut self, app_id: impl Into<String>, version: i64) {
        let app_id = app_id.into();
        // it looks up the application's version: a concurrent commit of the
        // same application conflicts
        self.read_set.app_ids.insert(app_id.clone());
        self.app_txn = Some(Txn {
            app_id,
            version,
            last_updated: Some(now_ms()),
        });
    }

    /// A blind append only adds files and reads nothing.
    fn is_blind_append(&self) -> bool {
        self.read_set.is_empty_of_data()
            && self.removes.is_empty()
            && self.metadata.is_none()
            && self.protocol.is_none()
    }

    /// Whether the snapshot this transaction read has already seen its
    /// application transaction (so committing would skip it).
    pub fn is_already_applied(&self) -> bool {
        self.already_applied(self.read.as_ref())
    }

    fn already_applied(&self, snapshot: Option<&Snapshot>) -> bool {
        match (&self.app_txn, snapshot) {
            (Some(txn), Some(s)) => s
                .state()
                .txns
                .get(&txn.app_id)
                .is_some_and(|seen| seen.version >= txn.version),
            _ => false,
        }
    }

    fn commit_info(&self, timestamp: i64, ict: Option<i64>) -> CommitInfo {
        let mut info = Map::new();
        if let Some(ict) = ict {
            info.insert("inCommitTimestamp".into(), ict.into());
        }
        info.insert("timestamp".into(), timestamp.into());
        info.insert("operation".into(), self.operation.clone().into());
        info.insert(
            "operationParameters".into(),
            Value::Object(self.parameters.clone()),
        );
        // the version this transaction read, also after a rebase
        if let Some(read) = &self.read {
            info.insert("readVersion".into(), read.version().into());
        }
        info.insert(
            "isolationLevel".into(),
            self.isolation_level().name().into(),
        );
        info.insert("isBlindAppend".into(), self.is_blind_append().into());
        info.insert(
            "operationMetrics".into(),
            Value::Object(self.metrics.clone()),
        );
        info.insert("engineInfo".into(), ENGINE_INFO.into());
        info.insert("txnId".into(), self.txn_id.clone().into());
        CommitInfo(info)
    }

    /// The isolation level of the table as this transaction leaves it
    /// (checked valid by [`Self::check_allowed`]).
    fn isolation_level(&self) -> IsolationLevel {
        match self.protocol_and_metadata(self.read.as_ref()) {
            (_, Some(metadata)) => {
                IsolationLevel::of_table(&metadata.configuration).unwrap_or_default()
            }
            _ => IsolationLevel::default(),
        }
    }

    /// The protocol and metadata the commit leaves in force.
    fn protocol_and_metadata<'a>(
        &'a self,
        base: Option<&'a Snapshot>,
    ) -> (Option<&'a Protocol>, Option<&'a Metadata>) {
        (
            self.protocol.as_ref().or(base.map(Snapshot::protocol)),
            self.metadata.as_ref().or(base.map(Snapshot::metadata)),
        )
    }

    /// The actions of the commit at `version` on top of `base`.
    fn actions(
        &self,
        base: Option<&Snapshot>,
        version: u64,
        timestamp: i64,
    ) -> Result<Vec<Action>, TxnError> {
        let ict_enabled = match self.protocol_and_metadata(base) {
            (Some(protocol), Some(metadata)) => in_commit_timestamps_on(protocol, metadata)?,
            _ => false,
        };
        // in-commit timestamps increase strictly with versions
        let ict = ict_enabled.then(|| {
            base.map_or(timestamp, |s| {
                timestamp.max(s.timestamp_ms().saturating_add(1))
            })
        });
        let mut metadata = self.metadata.clone();
        // turning in-commit timestamps on for an existing table records
        // when (PROTOCOL.md §"In-Commit Timestamps", writer requirement 4),
        // also when the property was set before the protocol had the feature
        if let (Some(ict), Some(base)) = (ict, base)
            && !in_commit_timestamps_on(base.protocol(), base.metadata())?
        {
            let m = metadata.get_or_insert_with(|| base.metadata().clone());
            m.configuration
                .insert(ICT_ENABLEMENT_VERSION.to_string(), version.to_string());
            m.configuration
                .insert(ICT_ENABLEMENT_TIMESTAMP.to_string(), ict.to_string());
        }
        let mut actions = vec![Action::CommitInfo(self.commit_info(timestamp, ict))];
        actions.extend(self.protocol.clone().map(Action::Protocol));
        actions.extend(metadata.map(Action::Metadata));
        actions.extend(self.app_txn.clone().map(Action::Txn));
        actions.extend(self.removes.iter().cloned().map(Action::Remove));
        actions.extend(self.adds.iter().cloned().map(Action::Add));
        Ok(actions)
    }

    /// Refuses the commit when the table's writer features forbid it: a
    /// feature this writer cannot respect, or removing data from an
    /// append-only table. Nothing is written.
    pub fn check_allowed(&self) -> Result<(), TxnError> {
        let base = self.read.as_ref();
        let (Some(protocol), Some(metadata)) = self.protocol_and_metadata(base) else {
            return Err(TxnError::InvalidArgument {
                reason: "a new table needs a protocol and metadata".to_string(),
            });
        };
        let version = base.map_or(0, |s| s.version() + 1);
        check_writable(protocol, metadata, version)?;
        IsolationLevel::of_table(&metadata.configuration)?;
        // a table that was append-only stays so for this commit's removes
        if let Some(base) = base {
            check_append_only(
                base.protocol(),
                base.metadata(),
                &self.removes,
                &self.operation,
                &self.table.location().display,
            )?;
        }
        check_append_only(
            protocol,
            metadata,
            &self.removes,
            &self.operation,
            &self.table.location().display,
        )
    }

    /// Whether version `version` of the log is this transaction's own commit
    /// (`None` when that version does not exist).
    async fn own_commit(&self, version: u64) -> Result<Option<bool>, TxnError> {
        let log = self.table.log();
        match log.read_commit(version).await {
            Ok(actions) => Ok(Some(actions.iter().any(|a| match a {
                Action::CommitInfo(ci) => {
                    ci.0.get("txnId").and_then(Value::as_str) == Some(self.txn_id.as_str())
                }
                _ => false,
            }))),
            Err(LogError::Store {
                source: object_store::Error::NotFound { .. },
                ..
            }) => Ok(None),
            Err(e) => Err(e.into()),
        }
    }

    /// Commits the transaction as the next version.
    ///
    /// First the table's writer features are checked ([`Self::check_allowed`]).
    /// When other writers commit first, their commits are checked against
    /// what this transaction read and writes ([`crate::conflict`]): where
    /// none conflicts, the transaction is rebased onto them (their actions
    /// applied to its snapshot in memory) and tried again, pausing a
    /// little longer (with jitter) each time it loses again, up to the
    /// table's [`crate::Table::max_commit_attempts`]; otherwise it fails
    /// with [`TxnError::Conflict`]. Data files this transaction wrote are
    /// then referenced by no commit and are left for VACUUM.
    ///
    /// A lost response is not a lost race: when the store reports that the
    /// version exists, or fails, and the version holds this transaction's
    /// own commit (its `commitInfo.txnId`), the commit is adopted as made.
    pub async fn commit(self) -> Result<CommitOutcome, TxnError> {
        self.check_allowed()?;
        let log = self.table.log().clone();
        let mut base = self.read.clone();
        let mut attempt = 1;
        loop {
            if self.already_applied(base.as_ref())
                && let Some(snapshot) = base
            {
                return Ok(CommitOutcome {
                    version: snapshot.version(),
                    committed: false,
                    adopted: false,
                    snapshot,
                    checkpoint: None,
                });
            }
            let version = base.as_ref().map_or(0, |s| s.version() + 1);
            let timestamp = now_ms();
            let actions = self.actions(base.as_ref(), version, timestamp)?;
            let ours = match log.commit(version, &actions).await {
                Ok(()) => {
                    return self
                        .after_commit(base.as_ref(), version, &actions, false)
                        .await;
                }
                Err(LogError::VersionExists { .. }) => {
                    self.own_commit(version).await? == Some(true)
                }
                // the reply may be lost although the put landed
                Err(e) => match self.own_commit(version).await {
                    Ok(Some(true)) => true,
                    Ok(Some(false)) => false,
                    _ => return Err(e.into()),
                },
            };
            if ours {
                return self
                    .after_commit(base.as_ref(), version, &actions, true)
                    .await;
            }
            let rebased = self.rebase(base.as_ref(), version).await?;
            if attempt >= self.table.max_commit_attempts() {
                return Err(TxnError::Conflict {
                    version: rebased.version(),
                    kind: ConflictKind::TooManyAttempts,
                    winning_operation: "several".to_string(),
                    detail: format!("gave up after {attempt} attempts"),
                });
            }
            if attempt > 1 {
                pause(backoff(attempt)).await;
            }
            attempt += 1;
            base = Some(rebased);
        }
    }

    /// After losing version `lost` to another writer: the newest snapshot,
    /// when no commit since the one this transaction read conflicts with it.
    async fn rebase(&self, base: Option<&Snapshot>, lost: u64) -> Result<Snapshot, TxnError> {
        let log = self.table.log();
        let Some(base) = base else {
            let winner = log.read_commit(lost).await?;
            return Err(TxnError::Conflict {
                version: lost,
                kind: ConflictKind::TableCreated,
                winning_operation: operation_of(&winner),
                detail: String::new(),
            });
        };
        // the commits checked are exactly those the new snapshot holds
        let Some(state) = log.update(base.state()).await? else {
            // the store said the version exists but does not list it yet
            return Ok(base.clone());
        };
        let latest = Snapshot::try_new(&self.table, state)?;
        let removes: BTreeSet<String> = self.removes.iter().map(|r| r.path.clone()).collect();
        let staged = Staged {
            metadata: self.metadata.is_some() || self.protocol.is_some(),
            blind_append: self.is_blind_append(),
            data_change: self.metadata.is_some()
                || self.protocol.is_some()
                || self.adds.iter().any(|a| a.data_change)
                || self.removes.iter().any(|r| r.data_change),
            removes: &removes,
        };
        let table = ReadTable {
            schema: base.schema(),
            partition_columns: base.partition_columns(),
        };
        let level = IsolationLevel::of_table(&base.metadata().configuration)?;
        for version in lost..=latest.version() {
            let winner = log.read_commit(version).await?;
            if let Err(found) = conflict::check(&self.read_set, &staged, table, level, &winner) {
                return Err(TxnError::Conflict {
                    version,
                    kind: found.kind,
                    winning_operation: operation_of(&winner),
                    detail: found.detail,
                });
            }
        }
        self.table.remember(&latest);
        Ok(latest)
    }

    async fn after_commit(
        &self,
        base: Option<&Snapshot>,
        version: u64,
        actions: &[Action],
        adopted: bool,
    ) -> Result<CommitOutcome, TxnError> {
        let timestamp = actions
            .iter()
            .find_map(|a| match a {
                Action::CommitInfo(ci) => ci.in_commit_timestamp().or(ci.timestamp()),
                _ => None,
            })
            .unwrap_or_else(now_ms);
        let state = match base {
            Some(s) => s.state().apply_commit(version, actions, timestamp),
            None => new_table_state(&self.table, version, actions, timestamp)?,
        };
        let snapshot = Snapshot::try_new(&self.table, state)?;
        self.table.remember(&snapshot);
        let log = self.table.log();
        // hints only: a failure here loses nothing
        let _ = log
            .write_checksum(snapshot.state(), Some(&self.txn_id))
            .await;
        let interval = TableProperties::parse(snapshot.properties())?.checkpoint_interval;
        let checkpoint = if version > 0 && version.is_multiple_of(interval) {
            let written = self.table.checkpoint(&snapshot).await;
            if written.is_ok() {
                // as Delta after a checkpoint: the expired log goes (best
                // effort; a failure leaves files a later cleanup deletes)
                let _ = self.table.cleanup_log(Default::default()).await;
            }
            Some(written.map_err(|e| e.to_string()))
        } else {
            None
        };
        Ok(CommitOutcome {
            version,
            committed: true,
            adopted,
            snapshot,
            checkpoint,
        })
    }
}

/// The state of a table created by the commit `actions` at `version`.
fn new_table_state(
    table: &Table,
    version: u64,
    actions: &[Action],
    timestamp: i64,
) -> Result<TableState, TxnError> {
    let mut replay = Replay::for_table(delta_log::paths::table_url_at(
        &table.location().display,
        &table.location().root,
    ));
    replay.apply_commit(actions.to_vec());
    let out = replay.finish();
    let missing = |action| {
        TxnError::Log(LogError::MissingAction {
            table: table.location().display.clone(),
            version,
            action,
        })
    };
    Ok(TableState {
        table: table.location().display.clone(),
        root: table.location().root.clone(),
        version,
        timestamp_ms: timestamp,
        protocol: out.protocol.ok_or_else(|| missing("protocol"))?,
        metadata: out.metadata.ok_or_else(|| missing("metaData"))?,
        files: out.adds,
        tombstones: out.tombstones,
        txns: out.txns,
        domains: out.domains,
        segment: LogSegment {
            version,
            checkpoint: None,
            commits: Vec::new(),
            covered_commit: None,
        },
        metadata_file: Some(table.log().commit_log().commit_path(version)),
        protocol_file: Some(table.log().commit_log().commit_path(version)),
    })
}

/// The operation a commit names in its `commitInfo`.
fn operation_of(actions: &[Action]) -> String {
    actions
        .iter()
        .find_map(|a| match a {
            Action::CommitInfo(ci) => ci.operation().map(str::to_string),
            _ => None,
        })
        .unwrap_or_else(|| "an unnamed operation".to_string())
}

/// How long to wait before try number `attempt` (from the third on):
/// exponential, capped, with full jitter so that writers that lost together
/// do not try again together.
fn backoff(attempt: u32) -> Duration {
    use std::hash::{BuildHasher, Hasher};
    let ceiling = 2u64
        .saturating_pow(attempt.saturating_sub(1).min(20))
        .min(MAX_BACKOFF_MS);
    // a random number from the standard library's per-process hash keys
    let random = std::collections::hash_map::RandomState::new()
        .build_hasher()
        .finish();
    Duration::from_millis(random % (ceiling + 1))
}

/// Waits without holding up the executor: on a blocking thread under a
/// tokio runtime (whatever its timer setting), in place elsewhere.
async fn pause(duration: Duration) {
    if duration.is_zero() {
        return;
    }
    match tokio::runtime::Handle::try_current() {
        Ok(handle) => {
            let _ = handle
                .spawn_blocking(move || std::thread::sleep(duration))
                .await;
        }
        Err(_) => std::thread::sleep(duration),
    }
}
