//! UPDATE table SET column = expression, ... [WHERE predicate].

use std::collections::BTreeMap;
use std::sync::Arc;

use arrow::array::{ArrayRef, BooleanArray, RecordBatch};
use arrow::compute::filter_record_batch;
use arrow::compute::kernels::zip::zip;
use delta_expr::{Expr, bind, bind_predicate};
use delta_txn::constraints::Constraints;
use delta_txn::enforce::Conformer;
use delta_txn::rewrite::{data_writer, matching_files, rewrite_files};
use delta_txn::{Snapshot, Table, Transaction, TxnError, now_ms};

use crate::assign::Assignment;
use crate::delete::{finish, refuse_change_data};
use crate::mark::{mark_matches, remove_files, uses_deletion_vectors};
use crate::{DmlOutcome, MergeError};

const OPERATION: &str = "UPDATE";

/// Sets `assignments` (top-level column, expression over the row before the
/// update) on the rows of `table` where `predicate` is true (every row when
/// `None`), as one commit. Constraints hold on every updated row.
pub async fn update(
    table: &Table,
    predicate: Option<&Expr>,
    assignments: &[(String, Expr)],
) -> Result<DmlOutcome, MergeError> {
    let snapshot = table.snapshot().await?;
    let started = std::time::Instant::now();
    let now = now_ms();
    let assignments = typed(&snapshot, assignments)?;
    let everything = Expr::Literal(delta_expr::Literal::Boolean(true));
    let predicate_expr = predicate.unwrap_or(&everything);
    let condition = bind_predicate(predicate_expr, snapshot.schema())?;
    let mut txn = Transaction::new(table, Some(snapshot.clone()), OPERATION).parameter(
        "predicate",
        serde_json::json!([predicate_expr.to_string()]).to_string(),
    );
    let deletion_vectors = uses_deletion_vectors(&snapshot)?;
    let matches = matching_files(&snapshot, predicate_expr, deletion_vectors).await?;
    match predicate {
        Some(p) => txn.read_predicate(p.clone()),
        None => txn.read_whole_table(),
    }
    txn.read_files(&matches.read);
    let mut metrics = BTreeMap::new();
    let touched: Vec<usize> = matches.files.iter().map(|m| m.index).collect();
    refuse_change_data(&snapshot, !touched.is_empty(), OPERATION)?;
    if touched.is_empty() {
        metrics.insert("numUpdatedRows", 0);
        return finish(txn, snapshot, metrics, started).await;
    }
    txn.check_allowed()?;
    let properties =
        delta_log::TableProperties::parse(snapshot.properties()).map_err(TxnError::from)?;
    let constraints = Constraints::for_table(snapshot.schema(), &properties, snapshot.version())?;
    let conformer = Conformer::new(snapshot.schema());
    let mut writer = data_writer(table, snapshot.metadata(), snapshot.schema())?;
    let mut updated = 0u64;
    let mut copied = 0u64;
    let mut change = |batch: RecordBatch, keep_others: bool| -> Result<RecordBatch, TxnError> {
        let matching = condition.matching_rows(&batch)?;
        let hits = matching.true_count() as u64;
        updated += hits;
        let batch = if keep_others {
            copied += batch.num_rows() as u64 - hits;
            batch
        } else {
            filter_record_batch(&batch, &matching)?
        };
        let matching = if keep_others {
            matching
        } else {
            BooleanArray::from(vec![true; batch.num_rows()])
        };
        let changed = apply(&batch, &matching, &assignments)?;
        constraints.check(&changed)?;
        Ok(changed)
    };
    let result = if deletion_vectors {
        // the old versions are marked deleted; only new versions are written
        // (files whose every row changes are rewritten whole)
        let mut written = 0;
        let (mixed, whole): (Vec<_>, Vec<_>) = matches.files.iter().partition(|m| m.mixed);
        let whole: Vec<usize> = whole.iter().map(|m| m.index).collect();
        let outcome = async {
            written += rewrite_files(
                &snapshot,
                &whole,
                |b| change(b, true),
                &conformer,
                &mut writer,
            )
            .await?;
            let mixed_files: Vec<usize> = mixed.iter().map(|m| m.index).collect();
            written += rewrite_files(
                &snapshot,
                &mixed_files,
                |b| change(b, false),
                &conformer,
                &mut writer,
            )
            .await?;
            Ok::<_, TxnError>(())
        }
        .await;
        outcome.map(|()| written)
    } else {
        rewrite_files(
            &snapshot,
            &touched,
            |b| change(b, true),
            &conformer,
            &mut writer,
        )
        .await
    };
    if let Err(e) = result {
        writer.abort().await;
        return Err(e.into());
    }
    let adds = writer.finish().await.map_err(TxnError::from)?;
    let mut removed = 0u64;
    if deletion_vectors {
        let whole: Vec<usize> = matches
            .files
            .iter()
            .filter(|m| !m.mixed)
            .map(|m| m.index)
            .collect();
        removed += whole.len() as u64;
        remove_files(&mut txn, &snapshot, &whole, now);
        let marked = mark_matches(table, &snapshot, matches.files, now, &mut txn).await?;
        metrics.insert("numDeletionVectorsAdded", marked.vectors_added);
        metrics.insert("numDeletionVectorsUpdated", marked.vectors_updated);
    } else {
        removed += touched.len() as u64;
        remove_files(&mut txn, &snapshot, &touched, now);
    }
    metrics.insert("numUpdatedRows", updated);
    metrics.insert("numCopiedRows", copied);
    metrics.insert("numAddedFiles", adds.len() as u64);
    metrics.insert("numRemovedFiles", removed);
    txn.add_files(adds);
    finish(txn, snapshot, metrics, started).await
}

/// The SET list typed against the table: top-level columns, each once,
/// values that convert to the column's type.
fn typed(
    snapshot: &Snapshot,
    assignments: &[(String, Expr)],
) -> Result<Vec<Assignment>, MergeError> {
    let schema = snapshot.schema();
    let invalid = |reason: String| MergeError::Invalid {
        operation: OPERATION,
        reason,
    };
    if assignments.is_empty() {
        return Err(invalid(
            "nothing to set (give at least one column = expression)".into(),
        ));
    }
    let mut out: Vec<Assignment> = Vec::new();
    for (column, expr) in assignments {
        if column.contains('.') {
            return Err(MergeError::Unsupported {
                operation: OPERATION,
                what: format!("setting the nested field '{column}'"),
            });
        }
        let value = bind(expr, schema)?;
        out.push(Assignment::new(schema, column, expr, value, &out, false).map_err(invalid)?);
    }
    Ok(out)
}

/// The batch with the assigned columns replaced where `matching` is true.
fn apply(
    batch: &RecordBatch,
    matching: &BooleanArray,
    assignments: &[Assignment],
) -> Result<RecordBatch, TxnError> {
    let mut columns: Vec<ArrayRef> = batch.columns().to_vec();
    for a in assignments {
        let value = a.evaluate(batch)?;
        columns[a.position] = zip(matching, &value, &batch.column(a.position))?;
    }
    Ok(RecordBatch::try_new(
        Arc::clone(batch.schema_ref()),
        columns,
    )?)
}
