//! Safe repair: each fix is a normal Delta commit (removing files whose
//! data is gone) or a rewrite of a derived file (a checkpoint,
//! `_last_checkpoint`, a `.crc`). No fix deletes or changes a data file or
//! rewrites a commit.

use bytes::Bytes;
use delta_log::core::LogFile;
use delta_log::files::{CheckpointFile, DeltaFileKind, classify};
use delta_log::segment::{LogSegment, complete_checkpoints};
use delta_log::{DeltaLog, LAST_CHECKPOINT, LogError, TableProperties};
use delta_txn::{Table, Transaction, TxnError, now_ms};
use object_store::ObjectStoreExt;
use serde::Serialize;

use crate::deep::read_whole;
use crate::log::checkpoint_rows;
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
    if !gone.is_empty() || !restat.is_empty() {
        outcome.version = Some(fsck_commit(table, &gone, &restat).await?);
    }
    for fix in &fixes {
        match fix {
            Fix::RemoveFile { .. } | Fix::RecomputeStats { .. } => {}
            Fix::RewriteCheckpoint { version } => rewrite_checkpoint(table, *version).await?,
            Fix::RewriteLastCheckpoint => rewrite_last_checkpoint(table.log()).await?,
            Fix::DeleteChecksum { version } => {
                let path = table.log().commit_log().path(&format!("{version:020}.crc"));
                match table.log().store().delete(&path).await {
                    Ok(()) | Err(object_store::Error::NotFound { .. }) => {}
                    Err(e) => return Err(LogError::store(&path, e).into()),
                }
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
    let snapshot = table.snapshot().await?;
    let now = now_ms();
    let removes: Vec<_> = snapshot
        .files()
        .iter()
        .filter(|f| gone.contains(&f.path()))
        .map(|f| f.to_remove(now))
        .collect();
    let properties = TableProperties::parse(snapshot.properties()).map_err(TxnError::from)?;
    let mut adds = Vec::new();
    for file in snapshot
        .files()
        .iter()
        .filter(|f| restat.contains(&f.path()))
    {
        let read = read_whole(table, &snapshot, file, &properties.stats_columns)
            .await
            .map_err(|reason| RepairError::Stats {
                path: file.path().to_string(),
                reason,
            })?;
        let mut add = file.to_add();
        add.data_change = false;
        // with a deletion vector, the bounds of every row are wide for the live ones
        add.stats = Some(match file.deletion_vector() {
            Some(_) => read.stats.replacen('{', "{\"tightBounds\":false,", 1),
            None => read.stats,
        });
        adds.push(add);
    }
    let mut txn = Transaction::new(table, Some(snapshot), "FSCK");
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
    let files = log.commit_log().list_from(0).await?;
    let damaged: Vec<LogFile> = files
        .iter()
        .filter(|f| f.version == version && matches!(classify(f), DeltaFileKind::Checkpoint(_)))
        .cloned()
        .collect();
    let mut checkpoints = complete_checkpoints(&files);
    checkpoints.retain(|&v, _| v < version);
    let base = checkpoints.into_iter().next_back();
    let from = base.as_ref().map_or(0, |(v, _)| v + 1);
    let commits: Vec<LogFile> = files
        .iter()
        .filter(|f| classify(f) == DeltaFileKind::Commit && (from..=version).contains(&f.version))
        .cloned()
        .collect();
    if commits.len() as u64 != version + 1 - from {
        return Err(RepairError::Checkpoint {
            version,
            reason: format!("commits {from} to {version} are not all in the log"),
        });
    }
    let segment = LogSegment {
        version,
        checkpoint: base,
        commits,
        covered_commit: None,
    };
    let state = log.load_segment(segment).await?;
    let snapshot = table.snapshot_of(state)?;
    table.checkpoint(&snapshot).await?;
    let written = delta_log::checkpoint_write::classic_checkpoint_name(version);
    for file in damaged {
        if file.location.filename() != Some(written.as_str()) {
            match log.store().delete(&file.location).await {
                Ok(()) | Err(object_store::Error::NotFound { .. }) => {}
                Err(e) => return Err(LogError::store(&file.location, e).into()),
            }
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

/// Points `_last_checkpoint` at the newest checkpoint that reads, or
/// deletes it when none does.
async fn rewrite_last_checkpoint(log: &DeltaLog) -> Result<(), RepairError> {
    let files = log.commit_log().list_from(0).await?;
    for (version, parts) in complete_checkpoints(&files).into_iter().rev() {
        let segment = LogSegment {
            version,
            checkpoint: Some((version, parts.clone())),
            commits: Vec::new(),
            covered_commit: None,
        };
        let Ok(state) = log.load_segment(segment).await else {
            continue;
        };
        let classic_or_parts = parts.iter().all(|f| {
            matches!(
                classify(f),
                DeltaFileKind::Checkpoint(
                    CheckpointFile::Classic | CheckpointFile::MultiPart { .. }
                )
            )
        });
        // V2 checkpoints count their actions across sidecars: the files
        // already there are the best measure available
        let size = match classic_or_parts {
            true => checkpoint_rows(log.store(), &parts)
                .await
                .unwrap_or(state.files.len() as u64),
            false => state.files.len() as u64 + 2,
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
    let path = log.commit_log().path(LAST_CHECKPOINT);
    match log.store().delete(&path).await {
        Ok(()) | Err(object_store::Error::NotFound { .. }) => Ok(()),
        Err(e) => Err(LogError::store(&path, e).into()),
    }
}
