//! A Delta table at a location: the entry point for reading (and, later, writing).

use delta_log::{CommitEntry, DeltaLog};

use crate::location::{Location, resolve};
use crate::{Snapshot, TxnError};

/// A Delta table: its location and its log.
#[derive(Debug, Clone)]
pub struct Table {
    location: Location,
    log: DeltaLog,
}

impl Table {
    /// Opens the table at `location` (a path or URL; see [`resolve`]) and checks
    /// that it has a log.
    pub async fn open(location: &str) -> Result<Table, TxnError> {
        let table = Table::at(location)?;
        if table.log.commit_log().latest_version().await?.is_none() {
            // a log with only checkpoints still is a table: let state() decide
            table.log.state(None).await?;
        }
        Ok(table)
    }

    /// The table at `location`, without touching the store.
    pub fn at(location: &str) -> Result<Table, TxnError> {
        let location = resolve(location)?;
        let log = DeltaLog::new(
            location.store.clone(),
            location.root.clone(),
            location.display.clone(),
        );
        Ok(Table { location, log })
    }

    /// Where the table is.
    pub fn location(&self) -> &Location {
        &self.location
    }

    /// The table's log.
    pub fn log(&self) -> &DeltaLog {
        &self.log
    }

    /// The latest snapshot.
    pub async fn snapshot(&self) -> Result<Snapshot, TxnError> {
        Snapshot::try_new(self, self.log.state(None).await?)
    }

    /// The snapshot at `version`.
    pub async fn snapshot_at(&self, version: u64) -> Result<Snapshot, TxnError> {
        Snapshot::try_new(self, self.log.state(Some(version)).await?)
    }

    /// The snapshot of the latest version committed at or before
    /// `timestamp_ms` (ms since the epoch).
    pub async fn snapshot_at_timestamp(&self, timestamp_ms: i64) -> Result<Snapshot, TxnError> {
        let version = self.log.version_at(timestamp_ms).await?;
        self.snapshot_at(version).await
    }

    /// The commits, newest first (at most `limit`).
    pub async fn history(&self, limit: Option<usize>) -> Result<Vec<CommitEntry>, TxnError> {
        Ok(self.log.history(limit).await?)
    }
}
