//! Reading checkpoints: classic and multi-part Parquet, V2 (top-level JSON or
//! Parquet) and their sidecars. Parquet reads project only the columns replay
//! needs and stream batch by batch into the [`Replay`], each batch decoded
//! straight from its Arrow columns ([`crate::checkpoint_decode`]).

use std::sync::Arc;

use futures::{StreamExt, TryStreamExt};
use object_store::ObjectStore;
use object_store::path::Path;
use parquet::arrow::arrow_reader::ArrowReaderOptions;
use parquet::arrow::async_reader::ParquetRecordBatchStream;
use parquet::arrow::{ParquetRecordBatchStreamBuilder, ProjectionMask};
use parquet::file::metadata::ParquetMetaData;

use crate::LogError;
use crate::actions::{Action, parse_action_line};
use crate::checkpoint_decode::CheckpointBatch;
use crate::parquet_reader::{ObjectReader, panic_safe};
use crate::replay::Replay;

/// The checkpoint columns replay reads (statistics as JSON text; the typed
/// `stats_parsed` only where the file has no JSON statistics, see
/// [`needs_parsed_stats`]; `partitionValues_parsed` never, as
/// `partitionValues` is required).
const CHECKPOINT_COLUMNS: &[&str] = &[
    "add.path",
    "add.partitionValues",
    "add.size",
    "add.modificationTime",
    "add.dataChange",
    "add.stats",
    "add.tags",
    "add.deletionVector.storageType",
    "add.deletionVector.pathOrInlineDv",
    "add.deletionVector.offset",
    "add.deletionVector.sizeInBytes",
    "add.deletionVector.cardinality",
    "add.baseRowId",
    "add.defaultRowCommitVersion",
    "add.clusteringProvider",
    "remove.path",
    "remove.deletionTimestamp",
    "remove.dataChange",
    "remove.extendedFileMetadata",
    "remove.partitionValues",
    "remove.size",
    "remove.deletionVector.storageType",
    "remove.deletionVector.pathOrInlineDv",
    "remove.deletionVector.offset",
    "remove.deletionVector.sizeInBytes",
    "remove.deletionVector.cardinality",
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

/// Opens one Parquet checkpoint file (or part, or sidecar) as a stream of
/// batches of the [`CHECKPOINT_COLUMNS`].
async fn checkpoint_batches(
    store: &Arc<dyn ObjectStore>,
    path: &Path,
    size: Option<u64>,
    version: u64,
) -> Result<ParquetRecordBatchStream<ObjectReader>, LogError> {
    let reader = ObjectReader::new(Arc::clone(store), path.clone(), size);
    // the Arrow schema hint in the footer is not needed (columns are read
    // by name and decoded as the protocol says), and a damaged one panics
    // in arrow-ipc: it is not read
    let options = ArrowReaderOptions::new().with_skip_arrow_metadata(true);
    let builder = ParquetRecordBatchStreamBuilder::new_with_options(reader, options)
        .await
        .map_err(|e| malformed(version, path, e))?;
    let parsed = needs_parsed_stats(builder.metadata()).then_some("add.stats_parsed");
    let mask = ProjectionMask::columns(
        builder.parquet_schema(),
        CHECKPOINT_COLUMNS.iter().copied().chain(parsed),
    );
    builder
        .with_projection(mask)
        .with_batch_size(BATCH_ROWS)
        .build()
        .map_err(|e| malformed(version, path, e))
}

/// Whether a checkpoint file keeps its statistics only typed: it has an
/// `add.stats_parsed` column and its `add.stats` column is absent or, by the
/// column chunks' statistics, null in every row. Reading `stats_parsed` only
/// then keeps the common case (JSON statistics, or both) as cheap as before.
fn needs_parsed_stats(metadata: &ParquetMetaData) -> bool {
    let schema = metadata.file_metadata().schema_descr();
    let paths: Vec<Vec<String>> = (0..schema.num_columns())
        .map(|i| schema.column(i).path().parts().to_vec())
        .collect();
    let has_parsed = paths
        .iter()
        .any(|p| p.len() > 2 && p[0] == "add" && p[1] == "stats_parsed");
    if !has_parsed {
        return false;
    }
    let Some(stats) = paths.iter().position(|p| p == &["add", "stats"]) else {
        return true;
    };
    // where null counts are unknown, the typed form is read too, to lose nothing
    metadata.row_groups().iter().all(|rg| {
        rg.column(stats)
            .statistics()
            .and_then(|s| s.null_count_opt())
            .is_none_or(|nulls| i64::try_from(nulls).ok() == Some(rg.num_rows()))
    })
}

/// Reads the actions of one Parquet checkpoint file (or part, or sidecar) into
/// `replay`, decoding each batch straight from its Arrow columns.
pub(crate) async fn read_parquet_checkpoint(
    store: &Arc<dyn ObjectStore>,
    path: &Path,
    size: Option<u64>,
    version: u64,
    replay: &mut Replay,
) -> Result<(), LogError> {
    let mut batches = panic_safe(checkpoint_batches(store, path, size, version).await?).boxed();
    let mut first_row = 0;
    while let Some(batch) = batches
        .try_next()
        .await
        .map_err(|e| malformed(version, path, e))?
    {
        let columns = CheckpointBatch::new(&batch).map_err(|e| malformed(version, path, e))?;
        for row in 0..columns.num_rows() {
            let action = columns
                .action(row)
                .map_err(|e| malformed(version, path, format!("row {}: {e}", first_row + row)))?;
            if let Some(action) = action {
                replay.apply_checkpoint_action(action);
            }
        }
        first_row += columns.num_rows();
    }
    Ok(())
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

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;
    use std::path::PathBuf;

    use arrow::json::LineDelimitedWriter;
    use arrow::record_batch::RecordBatch;
    use object_store::local::LocalFileSystem;

    use super::*;

    /// The decoding this crate used before reading Arrow directly, kept as the
    /// reference: each row written as JSON text (null columns left out) and
    /// parsed like a commit line.
    fn json_reference(batch: &RecordBatch) -> Vec<Action> {
        let mut buf = Vec::new();
        let mut writer = LineDelimitedWriter::new(&mut buf);
        writer.write(batch).unwrap();
        writer.finish().unwrap();
        std::str::from_utf8(&buf)
            .unwrap()
            .lines()
            .filter_map(|line| parse_action_line(line).unwrap())
            .collect()
    }

    fn direct(batch: &RecordBatch) -> Vec<Action> {
        let columns = CheckpointBatch::new(batch).unwrap();
        (0..columns.num_rows())
            .filter_map(|row| columns.action(row).unwrap())
            .collect()
    }

    /// Every Parquet checkpoint file of the corpus: classic, multi-part, V2
    /// top-level and sidecars.
    fn corpus_checkpoints() -> Vec<PathBuf> {
        let mut files = Vec::new();
        let root = delta_test::testdata_dir().unwrap();
        for table in std::fs::read_dir(root).unwrap().flatten() {
            let log = table.path().join("_delta_log");
            for dir in [log.clone(), log.join("_sidecars")] {
                let Ok(entries) = std::fs::read_dir(dir) else {
                    continue;
                };
                for entry in entries.flatten() {
                    let name = entry.file_name().to_string_lossy().to_string();
                    if name.contains(".checkpoint.") && name.ends_with(".parquet") {
                        files.push(entry.path());
                    }
                }
            }
        }
        files.sort();
        files
    }

    fn kind(action: &Action) -> &'static str {
        match action {
            Action::Add(a) if a.deletion_vector.is_some() => "add with deletion vector",
            Action::Add(_) => "add",
            Action::Remove(_) => "remove",
            Action::Metadata(_) => "metaData",
            Action::Protocol(_) => "protocol",
            Action::Txn(_) => "txn",
            Action::DomainMetadata(_) => "domainMetadata",
            Action::CheckpointMetadata(_) => "checkpointMetadata",
            Action::Sidecar(_) => "sidecar",
            Action::CommitInfo(_) | Action::Cdc(_) => "other",
        }
    }

    #[tokio::test]
    async fn direct_decoding_matches_the_json_path_on_every_corpus_checkpoint() {
        let store: Arc<dyn ObjectStore> = Arc::new(LocalFileSystem::new());
        let files = corpus_checkpoints();
        let mut kinds = BTreeMap::new();
        for file in &files {
            let path = Path::from_absolute_path(file).unwrap();
            let mut batches = checkpoint_batches(&store, &path, None, 0).await.unwrap();
            while let Some(batch) = batches.try_next().await.unwrap() {
                let mut got = direct(&batch);
                let reference = json_reference(&batch);
                // the JSON detour ignores stats_parsed; the direct path renders
                // it where JSON stats are absent (compared with the commits'
                // JSON in tests/it/checkpoint.rs)
                for (g, r) in got.iter_mut().zip(&reference) {
                    if let (Action::Add(g), Action::Add(r)) = (g, r)
                        && r.stats.is_none()
                        && g.stats.take().is_some()
                    {
                        *kinds.entry("add with only stats_parsed").or_insert(0) += 1;
                    }
                }
                assert_eq!(got, reference, "{}", file.display());
                for action in &got {
                    *kinds.entry(kind(action)).or_insert(0) += 1;
                }
            }
        }
        assert!(files.len() >= 40, "only {} checkpoint files", files.len());
        for k in [
            "add",
            "add with deletion vector",
            "remove",
            "metaData",
            "protocol",
            "txn",
            "checkpointMetadata",
            "sidecar",
        ] {
            assert!(kinds.contains_key(k), "no {k} in the corpus: {kinds:?}");
        }
    }
}
