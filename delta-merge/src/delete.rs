//! DELETE FROM table [WHERE predicate].

use std::collections::BTreeMap;

use arrow::array::RecordBatch;
use arrow::compute::{filter_record_batch, not};
use delta_expr::{Expr, bind_predicate};
use delta_txn::enforce::Conformer;
use delta_txn::rewrite::{data_writer, matching_files, rewrite_files};
use delta_txn::{Table, Transaction, TxnError, now_ms};

use crate::mark::{mark_matches, remove_files, uses_deletion_vectors};
use crate::{DmlOutcome, MergeError};

const OPERATION: &str = "DELETE";

/// Deletes the rows of `table` where `predicate` is true (every row when
/// `None`), as one commit. Rows where it is null stay, as in SQL.
pub async fn delete(table: &Table, predicate: Option<&Expr>) -> Result<DmlOutcome, MergeError> {
    let snapshot = table.snapshot().await?;
    let started = std::time::Instant::now();
    let now = now_ms();
    let mut txn = Transaction::new(table, Some(snapshot.clone()), OPERATION).parameter(
        "predicate",
        serde_json::json!([predicate.map_or("true".to_string(), ToString::to_string)]).to_string(),
    );
    let mut metrics = BTreeMap::new();
    let Some(predicate) = predicate else {
        // every file goes, unread
        txn.read_whole_table();
        let files = snapshot.files();
        metrics.insert("numRemovedFiles", files.len() as u64);
        let rows: Option<u64> = files.iter().map(|f| f.live_records()).sum();
        metrics.insert("numDeletedRows", rows.unwrap_or(0));
        txn.remove_files(files.iter().map(|f| f.to_remove(now)));
        return finish(txn, snapshot, metrics, started).await;
    };
    let deletion_vectors = uses_deletion_vectors(&snapshot)?;
    let matches = matching_files(&snapshot, predicate, deletion_vectors).await?;
    txn.read_predicate(predicate.clone());
    txn.read_files(&matches.read);
    let deleted: u64 = matches.files.iter().filter_map(|m| m.matched_rows).sum();
    metrics.insert("numDeletedRows", deleted);
    // files whose every row goes are removed; mixed ones marked or rewritten
    let whole: Vec<usize> = matches
        .files
        .iter()
        .filter(|m| !m.mixed)
        .map(|m| m.index)
        .collect();
    let mixed = matches.mixed();
    refuse_change_data(&snapshot, !mixed.is_empty(), OPERATION)?;
    remove_files(&mut txn, &snapshot, &whole, now);
    let mut removed = whole.len() as u64;
    if deletion_vectors {
        let marked = mark_matches(table, &snapshot, matches.files, now, &mut txn).await?;
        metrics.insert("numDeletionVectorsAdded", marked.vectors_added);
        metrics.insert("numDeletionVectorsUpdated", marked.vectors_updated);
        metrics.insert("numCopiedRows", 0);
        metrics.insert("numAddedFiles", 0);
    } else if !mixed.is_empty() {
        txn.check_allowed()?;
        let bound = bind_predicate(predicate, snapshot.schema())?;
        let keep = |batch: RecordBatch| -> Result<RecordBatch, TxnError> {
            Ok(filter_record_batch(
                &batch,
                &not(&bound.matching_rows(&batch)?)?,
            )?)
        };
        let mut writer = data_writer(table, snapshot.metadata(), snapshot.schema())?;
        let conformer = Conformer::new(snapshot.schema());
        let copied = match rewrite_files(&snapshot, &mixed, keep, &conformer, &mut writer).await {
            Ok(copied) => copied,
            Err(e) => {
                writer.abort().await;
                return Err(e.into());
            }
        };
        let adds = writer.finish().await.map_err(TxnError::from)?;
        removed += mixed.len() as u64;
        metrics.insert("numCopiedRows", copied);
        metrics.insert("numAddedFiles", adds.len() as u64);
        remove_files(&mut txn, &snapshot, &mixed, now);
        txn.add_files(adds);
    }
    metrics.insert("numRemovedFiles", removed);
    finish(txn, snapshot, metrics, started).await
}

/// Row-level changes on a table with the change data feed on would need
/// change data files, which are not written yet: refused by name.
pub(crate) fn refuse_change_data(
    snapshot: &delta_txn::Snapshot,
    row_level: bool,
    operation: &'static str,
) -> Result<(), MergeError> {
    let properties =
        delta_log::TableProperties::parse(snapshot.properties()).map_err(TxnError::from)?;
    if row_level && properties.enable_change_data_feed {
        return Err(MergeError::Unsupported {
            operation,
            what: "changing some rows of a file on a table with delta.enableChangeDataFeed = true (writing change data files)".to_string(),
        });
    }
    Ok(())
}

/// Commits (when anything changes: files or the schema) with the metrics.
pub(crate) async fn finish(
    mut txn: Transaction,
    snapshot: delta_txn::Snapshot,
    metrics: BTreeMap<&'static str, u64>,
    started: std::time::Instant,
) -> Result<DmlOutcome, MergeError> {
    let metrics: BTreeMap<String, u64> = metrics
        .into_iter()
        .map(|(k, v)| (k.to_string(), v))
        .collect();
    if !txn.has_changes() {
        return Ok(DmlOutcome {
            version: snapshot.version(),
            committed: false,
            metrics,
            snapshot,
            passes: 1,
        });
    }
    for (key, value) in &metrics {
        txn.metric(key, value);
    }
    txn.metric(
        "executionTimeMs",
        u64::try_from(started.elapsed().as_millis()).unwrap_or(u64::MAX),
    );
    let outcome = txn.commit().await?;
    Ok(DmlOutcome {
        version: outcome.version,
        committed: true,
        metrics,
        snapshot: outcome.snapshot,
        passes: 1,
    })
}
