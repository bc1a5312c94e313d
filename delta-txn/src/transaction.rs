//! Transactions: stage actions against a snapshot, then commit them as one
//! new version with put-if-absent. A commit is visible exactly when its file
//! exists; nothing else a transaction does (data files, checksum, checkpoint)
//! is part of the table until then, and what follows the commit is best effort.

use std::time::{SystemTime, UNIX_EPOCH};

use delta_log::replay::Replay;
use delta_log::segment::LogSegment;
use delta_log::{
    Action, Add, CheckpointInfo, CommitInfo, LogError, Metadata, Protocol, Remove, TableState, Txn,
};
use serde_json::{Map, Value};

use crate::{Snapshot, Table, TxnError};

/// Name and version of this engine, written to `commitInfo.engineInfo`.
pub const ENGINE_INFO: &str = concat!("delta-microcrates/", env!("CARGO_PKG_VERSION"));
/// Default of `delta.checkpointInterval`.
pub const DEFAULT_CHECKPOINT_INTERVAL: u64 = 10;
/// How many times a blind append is rebased onto newer versions before giving up.
const MAX_ATTEMPTS: u32 = 16;

/// Milliseconds since the epoch, now.
pub(crate) fn now_ms() -> i64 {
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
    data_read: bool,
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
            data_read: false,
        }
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

    /// Removes data files (marks that the transaction read the table).
    pub fn remove_files(&mut self, removes: impl IntoIterator<Item = Remove>) {
        self.removes.extend(removes);
        self.data_read = true;
    }

    /// Records that the commit's changes depend on the data read.
    pub fn mark_data_read(&mut self) {
        self.data_read = true;
    }

    /// Makes the write idempotent: it is applied at most once per
    /// (`app_id`, `version`), and skipped when the table has already seen
    /// this or a newer version of the application.
    pub fn set_app_transaction(&mut self, app_id: impl Into<String>, version: i64) {
        self.app_txn = Some(Txn {
            app_id: app_id.into(),
            version,
            last_updated: Some(now_ms()),
        });
    }

    /// A blind append only adds files and reads nothing.
    fn is_blind_append(&self) -> bool {
        !self.data_read
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

    fn commit_info(
        &self,
        timestamp: i64,
        read_version: Option<u64>,
        ict: Option<i64>,
    ) -> CommitInfo {
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
        if let Some(v) = read_version {
            info.insert("readVersion".into(), v.into());
        }
        info.insert("isolationLevel".into(), "Serializable".into());
        info.insert("isBlindAppend".into(), self.is_blind_append().into());
        info.insert(
            "operationMetrics".into(),
            Value::Object(self.metrics.clone()),
        );
        info.insert("engineInfo".into(), ENGINE_INFO.into());
        CommitInfo(info)
    }

    /// The actions of the commit at `version` on top of `base`.
    fn actions(&self, base: Option<&Snapshot>, timestamp: i64) -> Vec<Action> {
        let protocol = self
            .protocol
            .clone()
            .or_else(|| base.map(|s| s.protocol().clone()));
        let ict_enabled = protocol
            .as_ref()
            .is_some_and(|p| p.has_writer_feature("inCommitTimestamp"))
            && self
                .metadata
                .as_ref()
                .or_else(|| base.map(Snapshot::metadata))
                .is_some_and(|m| {
                    m.configuration
                        .get("delta.enableInCommitTimestamps")
                        .is_some_and(|v| v == "true")
                });
        // in-commit timestamps increase strictly with versions
        let ict = ict_enabled.then(|| {
            base.map_or(timestamp, |s| {
                timestamp.max(s.timestamp_ms().saturating_add(1))
            })
        });
        let mut actions = vec![Action::CommitInfo(self.commit_info(
            timestamp,
            base.map(Snapshot::version),
            ict,
        ))];
        actions.extend(self.protocol.clone().map(Action::Protocol));
        actions.extend(self.metadata.clone().map(Action::Metadata));
        actions.extend(self.app_txn.clone().map(Action::Txn));
        actions.extend(self.removes.iter().cloned().map(Action::Remove));
        actions.extend(self.adds.iter().cloned().map(Action::Add));
        actions
    }

    /// Commits the transaction as the next version.
    ///
    /// When another writer commits first, a blind append is rebased onto the
    /// new version and retried (up to a bound) unless the winner changed the
    /// protocol or metadata or applied the same application transaction;
    /// anything else is a [`TxnError::Conflict`]. Data files this transaction
    /// wrote are then referenced by no commit and are left for VACUUM.
    pub async fn commit(self) -> Result<CommitOutcome, TxnError> {
        let log = self.table.log().clone();
        let mut base = self.read.clone();
        for _ in 0..MAX_ATTEMPTS {
            if self.already_applied(base.as_ref()) {
                let Some(snapshot) = base else { break };
                return Ok(CommitOutcome {
                    version: snapshot.version(),
                    committed: false,
                    snapshot,
                    checkpoint: None,
                });
            }
            let version = base.as_ref().map_or(0, |s| s.version() + 1);
            let timestamp = now_ms();
            let actions = self.actions(base.as_ref(), timestamp);
            match log.commit(version, &actions).await {
                Ok(()) => return self.after_commit(base.as_ref(), version, &actions).await,
                Err(LogError::VersionExists { .. }) => {
                    base = Some(self.rebase(base.as_ref(), version).await?);
                }
                Err(e) => return Err(e.into()),
            }
        }
        Err(TxnError::Conflict {
            version: base.map_or(0, |s| s.version()),
            reason: format!(
                "gave up after {MAX_ATTEMPTS} attempts: other writers kept committing first"
            ),
        })
    }

    /// After losing version `lost` to another writer: the newest snapshot, if
    /// this transaction may be retried on top of it.
    async fn rebase(&self, base: Option<&Snapshot>, lost: u64) -> Result<Snapshot, TxnError> {
        let conflict = |reason: String| TxnError::Conflict {
            version: lost,
            reason,
        };
        if base.is_none() {
            return Err(conflict(
                "the table was created by another writer".to_string(),
            ));
        }
        if !self.is_blind_append() {
            return Err(conflict(format!(
                "another writer committed version {lost} after this {} read the table",
                self.operation
            )));
        }
        let latest = self.table.snapshot().await?;
        for v in lost..=latest.version() {
            for action in self.table.log().read_commit(v).await? {
                match action {
                    Action::Protocol(_) | Action::Metadata(_) => {
                        return Err(conflict(format!(
                            "version {v} changed the table's protocol or metadata"
                        )));
                    }
                    Action::Txn(t)
                        if self
                            .app_txn
                            .as_ref()
                            .is_some_and(|mine| mine.app_id == t.app_id) =>
                    {
                        // the idempotency check on the new base decides
                    }
                    _ => {}
                }
            }
        }
        Ok(latest)
    }

    async fn after_commit(
        &self,
        base: Option<&Snapshot>,
        version: u64,
        actions: &[Action],
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
        let log = self.table.log();
        // hints only: a failure here loses nothing
        let _ = log.write_checksum(snapshot.state(), None).await;
        let interval = snapshot
            .properties()
            .get("delta.checkpointInterval")
            .and_then(|v| v.parse::<u64>().ok())
            .filter(|i| *i > 0)
            .unwrap_or(DEFAULT_CHECKPOINT_INTERVAL);
        let checkpoint = if version > 0 && version.is_multiple_of(interval) {
            Some(
                log.write_checkpoint(snapshot.state(), now_ms())
                    .await
                    .map_err(|e| e.to_string()),
            )
        } else {
            None
        };
        Ok(CommitOutcome {
            version,
            committed: true,
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
    let mut replay = Replay::new();
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
        },
    })
}
