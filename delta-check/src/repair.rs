//! Safe repair: each fix is a normal Delta commit (removing files whose
//! data is gone) or a rewrite of a derived file (a checkpoint,
//! `_last_checkpoint`, a `.crc`). No fix deletes or changes a data file or
//! rewrites a commit.

use std::collections::{BTreeSet, HashSet};

use bytes::Bytes;
use delta_log::core::LogFile;
use delta_log::files::{DeltaFileKind, classify};
use delta_log::segment::complete_checkpoints;
use delta_log::{DeltaLog, LAST_CHECKPOINT, LogError, TableProperties};
use delta_txn::{Table, Transaction, TxnError, now_ms};
use object_store::ObjectStoreExt;
use object_store::path::Path;
use serde::Serialize;

use crate::deep::read_whole;
use crate::log::{checkpoint_rows, read_checkpoint, rows_are_actions, state_avoiding};
use crate::{Fix, Report};

/// Why a repair stopped. Fixes applied before it stay applied (each is
/// whole on its own).
#[derive(Debug, thiserror::Error)]
pub enum RepairError {
    /// Reading the table or committing the file removals failed.
    #[error(transparent)]
    Txn(#[from] TxnError),
    /// Reading or writing the log failed.
    #[error(transparent)]
    Log(#[from] LogError),
    /// A file's statistics cannot be computed: it does not read.
    #[error("the statistics of {path} cannot be computed: {reason}")]
    Stats {
        /// The file, as the log names it.
        path: String,
        /// Why.
        reason: String,
    },
    /// A checkpoint cannot be written again: the commits it summarizes are
    /// gone or unreadable.
    #[error("the checkpoint of version {version} cannot be written again: {reason}")]
    Checkpoint {
        /// Its version.
        version: u64,
        /// Why.
        reason: String,
    },
}

/// What [`repair`] did.
#[derive(Debug, Clone, Default)]
pub struct RepairOutcome {
    /// The fixes applied, in order.
    pub applied: Vec<Fix>,
    /// The version of the commit removing files whose data is gone, if one.
    pub version: Option<u64>,
}

/// Applies the fixes `report` calls for ([`Report::fixes`]), in order:
/// one `FSCK` commit removing every active file whose data or
/// deletion-vector file is gone and adding again, with statistics
/// computed from their rows, files whose statistics are missing or wrong; checkpoints written again from the
/// commits (the damaged files replaced), `_last_checkpoint` pointed at the
/// newest sound checkpoint, wrong `.crc` files deleted.
pub async fn repair(table: &Table, report: &Report) -> Result<RepairOutcome, RepairError> {
    let mut fixes = report.fixes();
    // a rewritten checkpoint moves _last_checkpoint: point it right after
    if fixes
        .iter()
        .any(|f| matches!(f, Fix::RewriteCheckpoint { .. }))
        && !fixes.contains(&Fix::RewriteLastCheckpoint)
    {
        fixes.push(Fix::RewriteLastCheckpoint);
        fixes.sort();
    }
    let mut outcome = RepairOutcome::default();
    let paths = |want_removal: bool| -> Vec<&str> {
        fixes
            .iter()
            .filter_map(|f| match f {
                Fix::RemoveFile { path } if want_removal => Some(path.as_str()),
                Fix::RecomputeStats { path } if !want_removal => Some(path.as_str()),
                _ => None,
            })
            .collect()
    };
    let (gone, restat) = (paths(true), paths(false));
    let mut committed = false;
    // in the order of `Fix`: checkpoints, the one FSCK commit, the rest
    for fix in &fixes {
        match fix {
            Fix::RewriteCheckpoint { version } => rewrite_checkpoint(table, *version).await?,
            Fix::RemoveFile { .. } | Fix::RecomputeStats { .. } => {
                if !committed {
                    outcome.version = Some(fsck_commit(table, &gone, &restat).await?);
                    committed = true;
                }
            }
            Fix::RewriteLastCheckpoint => rewrite_last_checkpoint(table.log()).await?,
            Fix::DeleteChecksum { version } => {
                let path = table.log().commit_log().path(&format!("{version:020}.crc"));
                delete_if_present(table.log(), &path).await?;
            }
        }
        outcome.applied.push(fix.clone());
    }
    Ok(outcome)
}

/// One commit removing the active files with paths in `gone` (as the log
/// names them), as Databricks' FSCK REPAIR TABLE does, and adding those
/// in `restat` again (`dataChange=false`) with statistics computed from
/// their rows.
async fn fsck_commit(table: &Table, gone: &[&str], restat: &[&str]) -> Result<u64, RepairError> {
    // the state on disk now (checkpoints already repaired), not one the
    // handle may have cached through a damaged checkpoint
    let snapshot = table.snapshot_of(table.log().state(None).await?)?;
    let gone: HashSet<&str> = gone.iter().copied().collect();
    // a file that is gone cannot be read for statistics
    let restat: HashSet<&str> = restat
        .iter()
        .copied()
        .filter(|p| !gone.contains(p))
        .collect();
    let now = now_ms();
    let mut read = Vec::new();
    let mut removes = Vec::new();
    let mut adds = Vec::new();
    let properties = TableProperties::parse(snapshot.properties()).map_err(TxnError::from)?;
    for (index, file) in snapshot.files().iter().enumerate() {
        if gone.contains(file.path()) {
            removes.push(file.to_remove(now));
            read.push(index);
        } else if restat.contains(file.path()) {
            let stats = read_whole(table, &snapshot, file, &properties.stats_columns)
                .await
                .map_err(|reason| RepairError::Stats {
                    path: file.path().to_string(),
                    reason,
                })?
                .stats;
            let mut add = file.to_add();
            add.data_change = false;
            // with a deletion vector, bounds over every row are wide for the live ones
            add.stats = Some(match file.deletion_vector() {
                Some(_) => stats.replacen('{', "{\"tightBounds\":false,", 1),
                None => stats,
            });
            adds.push(add);
            read.push(index);
        }
    }
    let mut txn = Transaction::new(table, Some(snapshot), "FSCK");
    // another writer removing or changing one of these files first is a
    // conflict: our add would bring back what it took out
    txn.read_files(&read);
    txn.metric("numMissingFiles", removes.len());
    txn.metric("numFilesRemoved", removes.len());
    txn.metric("numFilesWithStatsRecomputed", adds.len());
    txn.remove_files(removes);
    txn.add_files(adds);
    Ok(txn.commit().await?.version)
}

/// Writes the checkpoint of `version` again from the newest older
/// checkpoint (already sound: fixes run oldest first) and the commits
/// after it, or from the commits alone; then deletes the damaged files it
/// replaces when their names differ from the new one.
async fn rewrite_checkpoint(table: &Table, version: u64) -> Result<(), RepairError> {
    let log = table.log();
    let damaged: Vec<LogFile> = log
        .commit_log()
        .list_from(version)
        .await?
        .into_iter()
        .filter(|f| f.version == version && matches!(classify(f), DeltaFileKind::Checkpoint(_)))
        .collect();
    let state = state_avoiding(log, Some(version), &BTreeSet::from([version]))
        .await
        .map_err(|e| RepairError::Checkpoint {
            version,
            reason: e.to_string(),
        })?;
    let snapshot = table.snapshot_of(state)?;
    table.checkpoint(&snapshot).await?;
    let written = delta_log::checkpoint_write::classic_checkpoint_name(version);
    for file in damaged {
        if file.location.filename() != Some(written.as_str()) {
            delete_if_present(log, &file.location).await?;
        }
    }
    Ok(())
}

/// `_last_checkpoint` as this implementation writes it, plus `parts` for a
/// multi-part checkpoint.
#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct Pointer {
    version: u64,
    size: u64,
    #[serde(skip_serializing_if = "Option::is_none")]
    parts: Option<u64>,
    size_in_bytes: u64,
    num_of_add_files: u64,
}

/// Points `_last_checkpoint` at the newest checkpoint that reads (those
/// that differed from the commits are written again first), or deletes it
/// when none does.
async fn rewrite_last_checkpoint(log: &DeltaLog) -> Result<(), RepairError> {
    let files = log.commit_log().list_from(0).await?;
    for (version, parts) in complete_checkpoints(&files).into_iter().rev() {
        let Ok(state) = read_checkpoint(log, version, &parts).await else {
            continue;
        };
        let classic_or_parts = rows_are_actions(&parts);
        // the actions of the state it holds (a V2 checkpoint's sidecars
        // hold some of them): files, tombstones, protocol, metadata, txns,
        // domains, and a V2 checkpoint's checkpointMetadata
        let actions = state.files.len()
            + state.tombstones.len()
            + 2
            + state.txns.len()
            + state.domains.len()
            + usize::from(!classic_or_parts);
        let size = match classic_or_parts {
            true => checkpoint_rows(log.store(), &parts)
                .await
                .unwrap_or(actions as u64),
            false => actions as u64,
        };
        let pointer = Pointer {
            version,
            size,
            parts: (parts.len() > 1).then_some(parts.len() as u64),
            size_in_bytes: parts.iter().map(|f| f.size).sum(),
            num_of_add_files: state.files.len() as u64,
        };
        let bytes = serde_json::to_vec(&pointer).map_err(|e| RepairError::Checkpoint {
            version,
            reason: e.to_string(),
        })?;
        log.commit_log()
            .write_pointer(LAST_CHECKPOINT, Bytes::from(bytes))
            .await?;
        return Ok(());
    }
    delete_if_present(log, &log.commit_log().path(LAST_CHECKPOINT)).await
}

/// Deletes a derived log file; one already gone is fine.
async fn delete_if_present(log: &DeltaLog, path: &Path) -> Result<(), RepairError> {
    match log.store().delete(path).await {
        Ok(()) | Err(object_store::Error::NotFound { .. }) => Ok(()),
        Err(e) => Err(LogError::store(path, e).into()),
    }
}
