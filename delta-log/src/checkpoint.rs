//! Reading checkpoints: classic and multi-part Parquet, V2 (top-level JSON or
//! Parquet) and their sidecars. Parquet reads project only the columns replay
//! needs and stream batch by batch into the [`Replay`].

use std::sync::Arc;

use arrow::json::LineDelimitedWriter;
use arrow::record_batch::RecordBatch;
use futures::TryStreamExt;
use object_store::ObjectStore;
use object_store::path::Path;
use parquet::arrow::{ParquetRecordBatchStreamBuilder, ProjectionMask};

use crate::LogError;
use crate::actions::{Action, parse_action_line};
use crate::parquet_reader::ObjectReader;
use crate::replay::Replay;

/// The checkpoint columns replay reads (statistics as JSON text; the parsed
/// forms `stats_parsed` and `partitionValues_parsed` are not read).
const CHECKPOINT_COLUMNS: &[&str] = &[
    "add.path",
    "add.partitionValues",
    "add.size",
    "add.modificationTime",
    "add.dataChange",
    "add.stats",
    "add.tags",
    "add.deletionVector",
    "add.baseRowId",
    "add.defaultRowCommitVersion",
    "add.clusteringProvider",
    "remove.path",
    "remove.deletionTimestamp",
    "remove.dataChange",
    "remove.extendedFileMetadata",
    "remove.partitionValues",
    "remove.size",
    "remove.deletionVector",
    "remove.baseRowId",
    "remove.defaultRowCommitVersion",
    "metaData",
    "protocol",
    "txn",
    "domainMetadata",
    "checkpointMetadata",
    "sidecar",
];

/// Rows per batch when decoding a checkpoint.
const BATCH_ROWS: usize = 8192;

fn malformed(version: u64, path: &Path, reason: impl ToString) -> LogError {
    LogError::MalformedCheckpoint {
        version,
        path: path.to_string(),
        reason: reason.to_string(),
    }
}

/// Reads the actions of one Parquet checkpoint file (or part, or sidecar) into `replay`.
pub(crate) async fn read_parquet_checkpoint(
    store: &Arc<dyn ObjectStore>,
    path: &Path,
    size: Option<u64>,
    version: u64,
    replay: &mut Replay,
) -> Result<(), LogError> {
    let reader = ObjectReader::new(Arc::clone(store), path.clone(), size);
    let builder = ParquetRecordBatchStreamBuilder::new(reader)
        .await
        .map_err(|e| malformed(version, path, e))?;
    let mask =
        ProjectionMask::columns(builder.parquet_schema(), CHECKPOINT_COLUMNS.iter().copied());
    let mut stream = builder
        .with_projection(mask)
        .with_batch_size(BATCH_ROWS)
        .build()
        .map_err(|e| malformed(version, path, e))?;
    while let Some(batch) = stream
        .try_next()
        .await
        .map_err(|e| malformed(version, path, e))?
    {
        replay.apply_checkpoint(batch_to_actions(&batch, version, path)?);
    }
    Ok(())
}

/// Turns checkpoint rows into actions by way of their JSON form, which is the
/// same as a commit line's (null columns are left out).
fn batch_to_actions(
    batch: &RecordBatch,
    version: u64,
    path: &Path,
) -> Result<Vec<Action>, LogError> {
    let mut buf = Vec::with_capacity(batch.num_rows() * 256);
    {
        let mut writer = LineDelimitedWriter::new(&mut buf);
        writer
            .write(batch)
            .map_err(|e| malformed(version, path, e))?;
        writer.finish().map_err(|e| malformed(version, path, e))?;
    }
    let text = std::str::from_utf8(&buf).map_err(|e| malformed(version, path, e))?;
    let mut actions = Vec::with_capacity(batch.num_rows());
    for line in text.lines() {
        if let Some(action) = parse_action_line(line).map_err(|e| malformed(version, path, e))? {
            actions.push(action);
        }
    }
    Ok(actions)
}

/// Parses the lines of a commit (or JSON checkpoint) file.
pub(crate) fn parse_json_actions(
    bytes: &[u8],
    version: u64,
    path: &Path,
    checkpoint: bool,
) -> Result<Vec<Action>, LogError> {
    let error = |line: usize, reason: String| {
        if checkpoint {
            malformed(version, path, format!("line {line}: {reason}"))
        } else {
            LogError::MalformedCommit {
                version,
                path: path.to_string(),
                line,
                reason,
            }
        }
    };
    let text = std::str::from_utf8(bytes).map_err(|e| error(0, format!("not UTF-8: {e}")))?;
    let mut actions = Vec::new();
    for (i, line) in text.lines().enumerate() {
        if let Some(action) = parse_action_line(line).map_err(|e| error(i + 1, e.to_string()))? {
            actions.push(action);
        }
    }
    Ok(actions)
}
