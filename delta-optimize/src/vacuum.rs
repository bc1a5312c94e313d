//! VACUUM: delete the files under the table that no version inside the
//! retention needs.
//!
//! As Delta on Spark (VacuumCommand, FULL mode):
//! - the table's write protocol is checked first (every writer feature in
//!   force must be one we respect; `vacuumProtocolCheck` asks for exactly
//!   this);
//! - the retention is `delta.deletedFileRetentionDuration` (7 days by
//!   default); a shorter one is refused unless forced;
//! - the files kept are those of the current version (data files and their
//!   deletion-vector files) and those of every tombstone newer than the
//!   retention cutoff, so every version inside the retention still reads;
//! - under the table root, everything else older than the cutoff goes,
//!   except `_delta_log` and hidden paths: a path with a component starting
//!   with `_` or `.` is left alone, unless it is a partition directory
//!   (`col=value` of a partition column), `_change_data` or `_delta_index`;
//! - a real run commits `VACUUM START` (files and bytes to delete), deletes,
//!   then commits `VACUUM END`.
//!
//! Listing streams, twice in a real run (count, then delete in chunks), so
//! memory holds the set of files kept, not the listing.

use delta_log::TableProperties;
use delta_txn::retained::{RetainedFiles, relative_to, vacuum_ignores};
use delta_txn::{Table, Transaction, TxnError, now_ms};
use futures::{StreamExt, TryStreamExt};
use object_store::ObjectMeta;
use object_store::path::Path;

use crate::OptimizeError;

const HOUR_MS: i64 = 3_600_000;

/// How many deletes go to the store at once.
const DELETE_CHUNK: usize = 1000;

/// What to vacuum.
#[derive(Debug, Clone, Copy, Default)]
pub struct VacuumOptions {
    /// Keep files newer than this many hours (the table's
    /// `delta.deletedFileRetentionDuration` when `None`).
    pub retention_hours: Option<u64>,
    /// List what would be deleted, delete nothing, commit nothing.
    pub dry_run: bool,
    /// Allow a retention shorter than the table's.
    pub force: bool,
    /// The current time in ms since the epoch (the clock when `None`).
    pub now_ms: Option<i64>,
}

/// What VACUUM deleted (or would delete).
#[derive(Debug, Clone, Default)]
pub struct VacuumOutcome {
    /// Files deleted (or to delete, in a dry run).
    pub files: u64,
    /// Their total size in bytes.
    pub bytes: u64,
    /// In a dry run, their paths relative to the table root, sorted.
    pub paths: Vec<String>,
    /// The retention applied, in ms.
    pub retention_ms: i64,
    /// The version of the `VACUUM END` commit (none in a dry run).
    pub version: Option<u64>,
}

fn invalid(reason: impl Into<String>) -> OptimizeError {
    OptimizeError::Invalid {
        operation: "VACUUM",
        reason: reason.into(),
    }
}

/// Deletes the files of `table` no version inside the retention needs (see
/// the module doc).
pub async fn vacuum(table: &Table, options: VacuumOptions) -> Result<VacuumOutcome, OptimizeError> {
    let snapshot = table.snapshot().await?;
    // the write protocol first: never delete for a table we could not write
    Transaction::new(table, Some(snapshot.clone()), "VACUUM START").check_allowed()?;
    let properties = TableProperties::parse(snapshot.properties()).map_err(TxnError::from)?;
    let configured = properties.deleted_file_retention_ms;
    let retention_ms = match options.retention_hours {
        Some(hours) => i64::try_from(hours)
            .ok()
            .and_then(|h| h.checked_mul(HOUR_MS))
            .ok_or_else(|| invalid(format!("a retention of {hours} hours is too long")))?,
        None => configured,
    };
    if retention_ms < configured && !options.force {
        return Err(invalid(format!(
            "a retention of {} hours is shorter than the table's delta.deletedFileRetentionDuration ({} hours): files that readers of recent versions or running writers still need could be deleted; force it to do it anyway",
            retention_ms / HOUR_MS,
            configured / HOUR_MS
        )));
    }
    let now = options.now_ms.unwrap_or_else(now_ms);
    let cutoff = now.saturating_sub(retention_ms);
    let keep = RetainedFiles::of(&snapshot, cutoff);
    let root = table.location().root.clone();
    let store = table.location().store.clone();
    let doomed = |meta: &ObjectMeta| -> Option<String> {
        let relative = relative_to(&root, &meta.location)?;
        (meta.last_modified.timestamp_millis() < cutoff
            && !keep.contains(&meta.location)
            && !vacuum_ignores(&relative, snapshot.partition_columns()))
        .then_some(relative)
    };
    // count (and, in a dry run, name) what goes
    let mut outcome = VacuumOutcome {
        retention_ms,
        ..VacuumOutcome::default()
    };
    let mut listing = store.list(Some(&root));
    while let Some(meta) = listing.next().await {
        let meta = meta.map_err(|e| list_error(&root, e))?;
        if let Some(relative) = doomed(&meta) {
            outcome.files += 1;
            outcome.bytes += meta.size;
            if options.dry_run {
                outcome.paths.push(relative);
            }
        }
    }
    if options.dry_run {
        outcome.paths.sort();
        return Ok(outcome);
    }
    let mut start = Transaction::new(table, Some(snapshot.clone()), "VACUUM START")
        .parameter("retentionCheckEnabled", (!options.force).to_string())
        .parameter("specifiedRetentionMillis", retention_ms.to_string())
        .parameter("defaultRetentionMillis", configured.to_string());
    start.metric("numFilesToDelete", outcome.files);
    start.metric("sizeOfDataToDelete", outcome.bytes);
    let started = start.commit().await?;
    // delete, chunk by chunk, listing again
    let mut deleted = 0u64;
    let mut chunk: Vec<Path> = Vec::with_capacity(DELETE_CHUNK);
    let mut listing = store.list(Some(&root));
    while let Some(meta) = listing.next().await {
        let meta = meta.map_err(|e| list_error(&root, e))?;
        if doomed(&meta).is_some() {
            chunk.push(meta.location);
        }
        if chunk.len() == DELETE_CHUNK {
            deleted += delete_all(&store, std::mem::take(&mut chunk)).await?;
        }
    }
    deleted += delete_all(&store, chunk).await?;
    let mut end = Transaction::new(table, Some(started.snapshot), "VACUUM END")
        .parameter("status", "COMPLETED");
    end.metric("numDeletedFiles", deleted);
    end.metric("numVacuumedDirectories", 0);
    let ended = end.commit().await?;
    outcome.files = deleted;
    outcome.version = Some(ended.version);
    Ok(outcome)
}

async fn delete_all(
    store: &std::sync::Arc<dyn object_store::ObjectStore>,
    paths: Vec<Path>,
) -> Result<u64, OptimizeError> {
    if paths.is_empty() {
        return Ok(0);
    }
    let locations = futures::stream::iter(paths.into_iter().map(Ok)).boxed();
    let deleted: Vec<Path> = store
        .delete_stream(locations)
        .try_collect()
        .await
        .map_err(|e| invalid(format!("deleting files: {e}")))?;
    Ok(deleted.len() as u64)
}

fn list_error(root: &Path, e: object_store::Error) -> OptimizeError {
    invalid(format!("listing the files under '{root}': {e}"))
}
