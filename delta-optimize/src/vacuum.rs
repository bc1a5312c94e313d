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

use std::collections::HashSet;

use delta_io::dv::DvLocation;
use delta_io::paths::resolve_log_path;
use delta_log::{DeletionVectorDescriptor, TableProperties};
use delta_txn::{Snapshot, Table, Transaction, TxnError, now_ms};
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
    let keep = Kept::of(&snapshot, cutoff);
    let root = table.location().root.clone();
    let store = table.location().store.clone();
    let doomed = |meta: &ObjectMeta| -> Option<String> {
        let relative = relative_to(&root, &meta.location)?;
        (meta.last_modified.timestamp_millis() < cutoff
            && !keep.files.contains(&meta.location)
            && !hidden(&relative, snapshot.partition_columns()))
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

/// The files VACUUM keeps: those of the current version and of tombstones
/// newer than the cutoff, with their deletion-vector files, as store paths.
struct Kept {
    files: HashSet<Path>,
}

impl Kept {
    fn of(snapshot: &Snapshot, cutoff: i64) -> Kept {
        let root = &snapshot.state().root;
        let table = delta_log::paths::table_url_at(&snapshot.state().table, root);
        let mut files = HashSet::new();
        // a path outside the table's store cannot be under its root: it is
        // never listed, so it needs no entry
        let mut keep = |path: &str, dv: Option<&DeletionVectorDescriptor>| {
            if let Ok(p) = resolve_log_path(root, table.as_ref(), path) {
                files.insert(p);
            }
            if let Some(dv) = dv
                && let Ok(DvLocation::File { path, .. }) =
                    delta_io::dv::DvDescriptor::from(dv).locate()
                && let Ok(p) = resolve_log_path(root, table.as_ref(), &path)
            {
                files.insert(p);
            }
        };
        for file in snapshot.files().iter() {
            keep(file.path(), file.deletion_vector());
        }
        for tombstone in &snapshot.state().tombstones {
            if tombstone.deletion_timestamp.unwrap_or(0) > cutoff {
                keep(&tombstone.path, tombstone.deletion_vector.as_ref());
            }
        }
        Kept { files }
    }
}

/// `path` relative to `root` (`None` for a path not under it).
fn relative_to(root: &Path, path: &Path) -> Option<String> {
    let parts: Vec<_> = path
        .prefix_match(root)?
        .map(|p| p.as_ref().to_string())
        .collect();
    (!parts.is_empty()).then(|| parts.join("/"))
}

/// Whether VACUUM leaves the path alone: the log, and any component that
/// starts with `_` or `.` except partition directories of the table,
/// `_change_data` and `_delta_index` (Spark's `isHiddenDirectory`).
fn hidden(relative: &str, partition_columns: &[String]) -> bool {
    relative.split('/').any(|component| {
        (component.starts_with('_') || component.starts_with('.'))
            && !component.starts_with("_change_data")
            && !component.starts_with("_delta_index")
            && !partition_columns
                .iter()
                .any(|c| component.starts_with(&format!("{c}=")))
    }) || relative.starts_with("_delta_log")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hidden_paths_follow_sparks_rule() {
        let parts = ["_p".to_string()];
        assert!(hidden("_delta_log/00000000000000000000.json", &parts));
        assert!(hidden("_delta_log/_commits/x.json", &parts));
        assert!(hidden(".hidden.parquet", &parts));
        assert!(hidden("p=a/.name", &parts));
        assert!(hidden("p=a/_tmp/part-0.parquet", &parts));
        assert!(hidden("_staging/part-0.parquet", &parts));
        assert!(!hidden("part-0.parquet", &parts));
        assert!(!hidden("deletion_vector_x.bin", &parts));
        assert!(!hidden("_change_data/cdc-0.parquet", &parts));
        assert!(!hidden("_p=1/part-0.parquet", &parts));
        assert!(!hidden("ab/part-0.parquet", &parts));
    }

    #[test]
    fn relative_paths_are_under_the_root() {
        let root = Path::from("t");
        assert_eq!(
            relative_to(&root, &Path::from("t/p=a/f.parquet")).as_deref(),
            Some("p=a/f.parquet")
        );
        assert_eq!(relative_to(&root, &Path::from("other/f.parquet")), None);
        assert_eq!(relative_to(&root, &Path::from("t2/f.parquet")), None);
    }
}
