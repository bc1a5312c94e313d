//! Marking rows deleted in deletion vectors: a file's new vector is its old
//! one (if any) with the new rows added; the file is then removed with its
//! old vector and added back with the new one (PROTOCOL.md §"Deletion
//! Vectors"). All new vectors of a statement go into one DV file, tiny ones
//! inline in the log.

use delta_io::dv_write::{DvFile, MAX_INLINE_BYTES, inline_descriptor, serialize_bitmap};
use delta_log::{Add, Remove, TableFeature};
use delta_txn::rewrite::FileMatch;
use delta_txn::{Snapshot, Table, Transaction};
use object_store::ObjectStoreExt;
use roaring::RoaringTreemap;
use serde_json::Value;

use crate::MergeError;

/// Whether statements on this snapshot mark rows in deletion vectors
/// (`delta.enableDeletionVectors = true` and the protocol has the feature)
/// instead of rewriting files.
pub fn uses_deletion_vectors(snapshot: &Snapshot) -> Result<bool, MergeError> {
    let properties = delta_log::TableProperties::parse(snapshot.properties())
        .map_err(delta_txn::TxnError::from)?;
    Ok(properties.enable_deletion_vectors
        && snapshot
            .protocol()
            .has_writer_feature(&TableFeature::DeletionVectors))
}

/// The actions that mark rows deleted.
#[derive(Debug, Default)]
pub struct Marked {
    /// The files added back with their new vectors.
    pub adds: Vec<Add>,
    /// The files removed with their old vectors.
    pub removes: Vec<Remove>,
    /// Rows newly marked (not counting rows the old vectors had).
    pub rows: u64,
    /// Files that had no vector before.
    pub vectors_added: u64,
    /// Files whose vector was replaced.
    pub vectors_updated: u64,
}

/// Marks `rows` (row indexes in the file) deleted in each file (index in
/// the snapshot); writes the DV file, if one is needed, before returning.
pub async fn mark_deleted(
    table: &Table,
    snapshot: &Snapshot,
    files: Vec<(usize, RoaringTreemap)>,
    now: i64,
) -> Result<Marked, MergeError> {
    let store = &table.location().store;
    let root = &table.location().root;
    let table_url = delta_log::paths::table_url_at(&snapshot.state().table, &snapshot.state().root);
    let mut dv_file = DvFile::new(*uuid::Uuid::new_v4().as_bytes());
    let mut marked = Marked::default();
    for (index, rows) in files {
        let Some(file) = snapshot.files().get(index) else {
            continue;
        };
        let old = match file.deletion_vector() {
            Some(dv) => {
                Some(delta_io::load_deletion_vector(store, root, table_url.as_ref(), dv).await?)
            }
            None => None,
        };
        let mut all = rows;
        match &old {
            Some(old) => {
                let before = old.len();
                all |= old;
                marked.rows += all.len() - before;
                marked.vectors_updated += 1;
            }
            None => {
                marked.rows += all.len();
                marked.vectors_added += 1;
            }
        }
        let descriptor = if serialize_bitmap(&all).len() <= MAX_INLINE_BYTES {
            inline_descriptor(&all)
        } else {
            dv_file.add(&all)
        };
        marked.removes.push(file.to_remove(now));
        let mut add = file.to_add();
        add.deletion_vector = Some(descriptor);
        add.data_change = true;
        add.modification_time = now;
        add.stats = add.stats.map(|s| wide_bounds(&s));
        marked.adds.push(add);
    }
    if !dv_file.is_empty() {
        let path = root.clone().join(dv_file.path());
        store
            .put(&path, dv_file.into_bytes().into())
            .await
            .map_err(|source| MergeError::Store {
                path: path.to_string(),
                source,
            })?;
    }
    Ok(marked)
}

/// Statistics of a file with a new deletion vector: the same, with
/// `tightBounds = false` (the bounds may now be wider than the live rows).
fn wide_bounds(stats: &str) -> String {
    match serde_json::from_str::<Value>(stats) {
        Ok(Value::Object(mut map)) => {
            map.insert("tightBounds".to_string(), Value::Bool(false));
            Value::Object(map).to_string()
        }
        _ => stats.to_string(),
    }
}

/// Stages the removal of these files (indices in the snapshot).
pub fn remove_files(txn: &mut Transaction, snapshot: &Snapshot, files: &[usize], now: i64) {
    txn.remove_files(
        files
            .iter()
            .filter_map(|&i| snapshot.files().get(i))
            .map(|f| f.to_remove(now)),
    );
}

/// Marks the matching rows of the mixed files among `matches` (their
/// `rows`) and stages the removes and adds; what was marked.
pub async fn mark_matches(
    table: &Table,
    snapshot: &Snapshot,
    matches: Vec<FileMatch>,
    now: i64,
    txn: &mut Transaction,
) -> Result<Marked, MergeError> {
    let marks = matches
        .into_iter()
        .filter_map(|m| Some((m.index, m.rows?)))
        .collect();
    let mut marked = mark_deleted(table, snapshot, marks, now).await?;
    txn.remove_files(std::mem::take(&mut marked.removes));
    txn.add_files(std::mem::take(&mut marked.adds));
    Ok(marked)
}
