//! RESTORE: bring a table back to an earlier version (or the version at a
//! time) as a new commit, as Delta does: the files of that version the
//! table no longer has are added again and the files it did not have are
//! removed (`dataChange = true` both), and its metadata comes back when it
//! differs. The protocol is kept (a restore never downgrades it). Every
//! file to add back, and its deletion-vector file, must still exist: when
//! VACUUM has taken some, the restore is refused and names them. What it
//! read is the whole table, so any concurrent change conflicts.

use std::collections::HashSet;

use delta_io::dv::{self, DvLocation};
use delta_io::paths::resolve_log_path;
use delta_log::FileKey;
use delta_txn::{Snapshot, Table, Transaction, now_ms};
use futures::{StreamExt, TryStreamExt};
use object_store::ObjectStoreExt;

use crate::OptimizeError;

const OPERATION: &str = "RESTORE";

/// How many missing files an error names at most.
const NAMED_MISSING: usize = 10;

/// The state to restore.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RestoreTarget {
    /// This version.
    Version(u64),
    /// The latest version committed at or before this time (ms since the
    /// epoch).
    Timestamp(i64),
}

/// What RESTORE did, with Delta's metric names in the commit.
#[derive(Debug, Clone)]
pub struct RestoreOutcome {
    /// The version restored.
    pub restored_version: u64,
    /// The new version (the version read when nothing differed).
    pub version: u64,
    /// Whether a commit was made.
    pub committed: bool,
    /// `numRestoredFiles`: files added back.
    pub num_restored_files: u64,
    /// `numRemovedFiles`.
    pub num_removed_files: u64,
    /// `restoredFilesSize`, bytes.
    pub restored_files_size: i64,
    /// `removedFilesSize`, bytes.
    pub removed_files_size: i64,
    /// `numOfFilesAfterRestore`.
    pub num_files_after: u64,
    /// `tableSizeAfterRestore`, bytes.
    pub table_size_after: i64,
}

fn invalid(reason: impl Into<String>) -> OptimizeError {
    OptimizeError::Invalid {
        operation: OPERATION,
        reason: reason.into(),
    }
}

/// Restores `table` to `target` as one commit (see the module doc).
pub async fn restore(
    table: &Table,
    target: RestoreTarget,
) -> Result<RestoreOutcome, OptimizeError> {
    let current = table.snapshot().await?;
    let old = match target {
        RestoreTarget::Version(v) if v > current.version() => {
            return Err(invalid(format!(
                "version {v} is newer than the table's latest version {}",
                current.version()
            )));
        }
        RestoreTarget::Version(v) => table.snapshot_at(v).await?,
        RestoreTarget::Timestamp(t) => table.snapshot_at_timestamp(t).await?,
    };
    let keys =
        |s: &Snapshot| -> HashSet<FileKey> { s.files().iter().map(|f| f.file_key()).collect() };
    let (now_keys, old_keys) = (keys(&current), keys(&old));
    let back: Vec<usize> = (0..old.files().len())
        .filter(|&i| {
            old.files()
                .get(i)
                .is_some_and(|f| !now_keys.contains(&f.file_key()))
        })
        .collect();
    let gone: Vec<usize> = (0..current.files().len())
        .filter(|&i| {
            current
                .files()
                .get(i)
                .is_some_and(|f| !old_keys.contains(&f.file_key()))
        })
        .collect();
    let metadata_differs = old.metadata() != current.metadata();
    let num_files_after = old.files().len() as u64;
    let table_size_after: i64 = old.files().iter().map(|f| f.size()).sum();
    let mut outcome = RestoreOutcome {
        restored_version: old.version(),
        version: current.version(),
        committed: false,
        num_restored_files: back.len() as u64,
        num_removed_files: gone.len() as u64,
        restored_files_size: back
            .iter()
            .filter_map(|&i| old.files().get(i))
            .map(|f| f.size())
            .sum(),
        removed_files_size: gone
            .iter()
            .filter_map(|&i| current.files().get(i))
            .map(|f| f.size())
            .sum(),
        num_files_after,
        table_size_after,
    };
    if back.is_empty() && gone.is_empty() && !metadata_differs {
        return Ok(outcome);
    }
    check_present(table, &old, &back).await?;
    let now = now_ms();
    let mut txn = Transaction::new(table, Some(current.clone()), OPERATION);
    txn = match target {
        RestoreTarget::Version(v) => txn.parameter("version", v.to_string()),
        RestoreTarget::Timestamp(t) => txn.parameter("timestamp", t.to_string()),
    };
    txn.read_whole_table();
    txn.read_files(&(0..current.files().len()).collect::<Vec<_>>());
    if metadata_differs {
        txn.set_metadata(old.metadata().clone());
    }
    txn.add_files(back.iter().filter_map(|&i| old.files().get(i)).map(|f| {
        let mut add = f.to_add();
        add.data_change = true;
        add.modification_time = now;
        add
    }));
    txn.remove_files(
        gone.iter()
            .filter_map(|&i| current.files().get(i))
            .map(|f| f.to_remove(now)),
    );
    txn.metric("numRestoredFiles", outcome.num_restored_files);
    txn.metric("numRemovedFiles", outcome.num_removed_files);
    txn.metric("restoredFilesSize", outcome.restored_files_size);
    txn.metric("removedFilesSize", outcome.removed_files_size);
    txn.metric("numOfFilesAfterRestore", num_files_after);
    txn.metric("tableSizeAfterRestore", table_size_after);
    let committed = txn.commit().await?;
    outcome.version = committed.version;
    outcome.committed = true;
    Ok(outcome)
}

/// Fails, naming them, when files of `snapshot` at `indices` (or their
/// deletion-vector files) are gone from the store.
async fn check_present(
    table: &Table,
    snapshot: &Snapshot,
    indices: &[usize],
) -> Result<(), OptimizeError> {
    let location = table.location();
    let url = delta_log::paths::table_url_at(&snapshot.state().table, &location.root);
    let mut paths: Vec<String> = Vec::new();
    for file in indices.iter().filter_map(|&i| snapshot.files().get(i)) {
        paths.push(file.path().to_string());
        if let Some(dv) = file.deletion_vector()
            && let Ok(DvLocation::File { path, .. }) = dv::locate(dv)
        {
            paths.push(path);
        }
    }
    paths.sort();
    paths.dedup();
    let missing: Vec<String> = futures::stream::iter(paths)
        .map(|path| {
            let url = url.clone();
            async move {
                let store_path = resolve_log_path(&location.root, url.as_ref(), &path)?;
                match location.store.head(&store_path).await {
                    Ok(_) => Ok::<_, OptimizeError>(None),
                    Err(object_store::Error::NotFound { .. }) => Ok(Some(path)),
                    Err(e) => Err(invalid(format!("checking that '{path}' exists: {e}"))),
                }
            }
        })
        .buffer_unordered(16)
        .try_filter_map(|m| async move { Ok(m) })
        .try_collect()
        .await?;
    if missing.is_empty() {
        return Ok(());
    }
    let mut named: Vec<&String> = missing.iter().collect();
    named.sort();
    let shown: Vec<&str> = named
        .iter()
        .take(NAMED_MISSING)
        .map(|s| s.as_str())
        .collect();
    Err(invalid(format!(
        "version {} needs {} files that are gone (VACUUM may have deleted them): {}{}",
        snapshot.version(),
        missing.len(),
        shown.join(", "),
        if missing.len() > NAMED_MISSING {
            ", ..."
        } else {
            ""
        }
    )))
}
