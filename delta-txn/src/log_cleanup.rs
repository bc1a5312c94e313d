//! Log cleanup: delete the commit, checkpoint and checksum files of versions
//! older than the log retention, only up to a checkpoint, so every version
//! inside the retention stays readable (PROTOCOL.md "Metadata Cleanup").
//!
//! With `delta.enableExpiredLogCleanup` (true by default): the cutoff is
//! now minus `delta.logRetentionDuration` (30 days by default), truncated to
//! midnight UTC as Delta does; the cutoff commit is the newest commit at or
//! before it (by in-commit timestamp where the table has them, else by file
//! time); the cutoff checkpoint is the newest complete checkpoint at or
//! before that commit. Every log file of a version below the cutoff
//! checkpoint's goes, oldest first, so that a crash leaves a readable log.
//! The checkpoint, its commit, `_last_checkpoint` and sidecar files stay.
//! The table's write protocol is checked first: a table whose writer
//! features we do not know (`checkpointProtection` among them) is refused
//! by name. A commit runs it (best effort) after the checkpoint it writes.

use delta_log::segment::complete_checkpoints;
use delta_log::{LogError, TableProperties};
use futures::{StreamExt, TryStreamExt};
use object_store::path::Path;

use crate::transaction::now_ms;
use crate::{Table, Transaction, TxnError};

const DAY_MS: i64 = 24 * 3_600_000;

/// Log cleanup's clock.
#[derive(Debug, Clone, Copy, Default)]
pub struct LogCleanupOptions {
    /// The current time in ms since the epoch (the clock when `None`).
    pub now_ms: Option<i64>,
}

/// What log cleanup deleted.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct LogCleanupOutcome {
    /// Log files deleted.
    pub files: u64,
    /// The oldest version the log still has a checkpoint or commit for
    /// (`None` when nothing was deleted).
    pub oldest_kept: Option<u64>,
}

impl Table {
    /// Deletes the expired log files of the table (see the module doc).
    pub async fn cleanup_log(
        &self,
        options: LogCleanupOptions,
    ) -> Result<LogCleanupOutcome, TxnError> {
        cleanup_log(self, options).await
    }
}

async fn cleanup_log(
    table: &Table,
    options: LogCleanupOptions,
) -> Result<LogCleanupOutcome, TxnError> {
    let snapshot = table.snapshot().await?;
    Transaction::new(table, Some(snapshot.clone()), "LOG CLEANUP").check_allowed()?;
    let properties = TableProperties::parse(snapshot.properties())?;
    if !properties.enable_expired_log_cleanup {
        return Ok(LogCleanupOutcome::default());
    }
    let now = options.now_ms.unwrap_or_else(now_ms);
    let cutoff = now.saturating_sub(properties.log_retention_ms);
    let cutoff = cutoff - cutoff.rem_euclid(DAY_MS);
    let log = table.log();
    // the newest commit at or before the cutoff
    let history = log.history(None).await?;
    let Some(cutoff_commit) = history
        .iter()
        .filter(|e| e.timestamp_ms <= cutoff)
        .map(|e| e.version)
        .max()
    else {
        return Ok(LogCleanupOutcome::default());
    };
    let files = log.commit_log().list_from(0).await?;
    let Some(keep_from) = complete_checkpoints(&files)
        .keys()
        .rev()
        .find(|v| **v <= cutoff_commit)
        .copied()
    else {
        return Ok(LogCleanupOutcome::default());
    };
    let doomed: Vec<Path> = files
        .iter()
        .filter(|f| f.version < keep_from)
        .map(|f| f.location.clone())
        .collect();
    if doomed.is_empty() {
        return Ok(LogCleanupOutcome::default());
    }
    // oldest first, one at a time: a crash leaves a contiguous log
    let store = log.store().clone();
    let mut deleted = 0u64;
    let dir = log.commit_log().dir().clone();
    let mut results =
        store.delete_stream(futures::stream::iter(doomed.into_iter().map(Ok)).boxed());
    while results
        .try_next()
        .await
        .map_err(|e| LogError::store(&dir, e))?
        .is_some()
    {
        deleted += 1;
    }
    Ok(LogCleanupOutcome {
        files: deleted,
        oldest_kept: Some(keep_from),
    })
}
