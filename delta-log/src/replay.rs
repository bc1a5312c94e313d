//! Log reconciliation (PROTOCOL.md §"Action Reconciliation"): pure, sync code
//! over actions, fed newest first.
//!
//! Commits are applied from the newest to the oldest, each commit's actions in
//! reverse file order, then the checkpoint. The first action seen for a file key
//! (path, deletion-vector id) decides it; the first protocol, metadata, `txn` per
//! application and domain metadata per domain win.

use std::borrow::Borrow;
use std::collections::{HashMap, HashSet};
use std::fmt::Write as _;
use std::hash::{Hash, Hasher};

use url::Url;

use crate::actions::{
    Action, DeletionVectorDescriptor, DomainMetadata, Metadata, Protocol, Remove, Sidecar, Txn,
};
use crate::active::ActiveFiles;
use crate::paths::reconciliation_path;

/// The reconciled state of a table, built newest action first.
#[derive(Debug, Default)]
pub struct Replay {
    /// The table's URL, to compare absolute and relative paths of one file.
    table: Option<Url>,
    seen: Seen,
    adds: ActiveFiles,
    tombstones: Vec<Remove>,
    protocol: Option<Protocol>,
    metadata: Option<Metadata>,
    txns: HashMap<String, Txn>,
    domains: HashMap<String, DomainMetadata>,
    sidecars: Vec<Sidecar>,
}

/// Everything reconciliation produces.
#[derive(Debug, Default, Clone)]
pub struct ReplayOutput {
    /// Active files (newest first).
    pub adds: ActiveFiles,
    /// Removed files not re-added since (tombstones), from commits and checkpoint.
    pub tombstones: Vec<Remove>,
    /// The newest protocol.
    pub protocol: Option<Protocol>,
    /// The newest metadata.
    pub metadata: Option<Metadata>,
    /// The newest `txn` per application id.
    pub txns: HashMap<String, Txn>,
    /// Domain metadata per domain (removed domains left out).
    pub domains: HashMap<String, DomainMetadata>,
}

impl Replay {
    /// An empty replay; absolute file paths are compared as written.
    pub fn new() -> Self {
        Replay::default()
    }

    /// An empty replay for the table at `table` (see
    /// [`crate::paths::table_url`]): an absolute path under the table and
    /// the relative path of the same file are one file.
    pub fn for_table(table: Option<Url>) -> Self {
        Replay {
            table,
            ..Replay::default()
        }
    }

    /// Applies the actions of one commit; commits must come newest first.
    pub fn apply_commit(&mut self, actions: Vec<Action>) {
        for action in actions.into_iter().rev() {
            self.apply(action, false);
        }
    }

    /// Applies actions of the checkpoint (after every newer commit). The
    /// checkpoint's `sidecar` actions are collected for the caller to read;
    /// their actions come back through this method too.
    pub fn apply_checkpoint(&mut self, actions: impl IntoIterator<Item = Action>) {
        for action in actions {
            self.apply(action, true);
        }
    }

    /// Applies one action of the checkpoint (see [`Replay::apply_checkpoint`]).
    pub(crate) fn apply_checkpoint_action(&mut self, action: Action) {
        self.apply(action, true);
    }

    /// Whether a `protocol` action has been applied yet (the one in force).
    pub fn has_protocol(&self) -> bool {
        self.protocol.is_some()
    }

    /// Whether a `metaData` action has been applied yet (the one in force).
    pub fn has_metadata(&self) -> bool {
        self.metadata.is_some()
    }

    /// Sidecar files named by the checkpoint so far; takes them out.
    pub fn take_sidecars(&mut self) -> Vec<Sidecar> {
        std::mem::take(&mut self.sidecars)
    }

    fn apply(&mut self, action: Action, from_checkpoint: bool) {
        match action {
            Action::Add(add) => {
                // checkpoints hold only live files, each key once: their adds are
                // checked against the newer commits, not recorded
                let dv = add.deletion_vector.as_ref();
                let path = reconciliation_path(self.table.as_ref(), &add.path);
                if self.seen.first_sighting(&path, dv, !from_checkpoint) {
                    self.adds.push(&add);
                }
            }
            Action::Remove(remove) => {
                // checkpoint removes are tombstones of older commits: kept for VACUUM and
                // the next checkpoint, but they shadow nothing
                let dv = remove.deletion_vector.as_ref();
                let path = reconciliation_path(self.table.as_ref(), &remove.path);
                if self.seen.first_sighting(&path, dv, !from_checkpoint) {
                    self.tombstones.push(remove);
                }
            }
            Action::Protocol(p) => {
                self.protocol.get_or_insert(p);
            }
            Action::Metadata(m) => {
                self.metadata.get_or_insert(m);
            }
            Action::Txn(t) => {
                self.txns.entry(t.app_id.clone()).or_insert(t);
            }
            Action::DomainMetadata(d) => {
                self.domains.entry(d.domain.clone()).or_insert(d);
            }
            Action::Sidecar(s) => self.sidecars.push(s),
            Action::CommitInfo(_) | Action::Cdc(_) | Action::CheckpointMetadata(_) => {}
        }
    }

    /// The reconciled state.
    pub fn finish(self) -> ReplayOutput {
        ReplayOutput {
            adds: self.adds,
            tombstones: self.tombstones,
            protocol: self.protocol,
            metadata: self.metadata,
            txns: self.txns,
            domains: self
                .domains
                .into_iter()
                .filter(|(_, d)| !d.removed)
                .collect(),
        }
    }
}

/// The file keys (path, deletion-vector unique id) seen so far, as
/// [`crate::FileKey`] defines them; looked up without allocating.
#[derive(Debug, Default)]
struct Seen {
    keys: HashSet<SeenKey>,
    /// Buffer for the deletion-vector id of the key being looked up.
    dv_id: String,
}

impl Seen {
    /// Whether the key of (`path`, `dv`) is new; with `record`, it is seen from now on.
    fn first_sighting(
        &mut self,
        path: &str,
        dv: Option<&DeletionVectorDescriptor>,
        record: bool,
    ) -> bool {
        if !record && self.keys.is_empty() {
            return true;
        }
        let dv_id = dv.map(|dv| {
            self.dv_id.clear();
            self.dv_id.push_str(&dv.storage_type);
            self.dv_id.push_str(&dv.path_or_inline_dv);
            if let Some(offset) = dv.offset {
                // writing to a String cannot fail
                let _ = write!(self.dv_id, "@{offset}");
            }
            self.dv_id.as_str()
        });
        let key = KeyRef { path, dv_id };
        if self.keys.contains(&key as &dyn AsKeyRef) {
            return false;
        }
        if record {
            self.keys.insert(SeenKey {
                path: path.to_owned(),
                dv_id: dv_id.map(str::to_owned),
            });
        }
        true
    }
}

/// An owned file key in [`Seen`].
#[derive(Debug)]
struct SeenKey {
    path: String,
    dv_id: Option<String>,
}

/// A borrowed file key; [`SeenKey`]s hash and compare as theirs.
#[derive(PartialEq, Eq, Hash)]
struct KeyRef<'a> {
    path: &'a str,
    dv_id: Option<&'a str>,
}

/// Both key forms as a [`KeyRef`], so that a `HashSet<SeenKey>` can be
/// searched with a `KeyRef` (through `Borrow<dyn AsKeyRef>`).
trait AsKeyRef {
    fn key_ref(&self) -> KeyRef<'_>;
}

impl AsKeyRef for SeenKey {
    fn key_ref(&self) -> KeyRef<'_> {
        KeyRef {
            path: &self.path,
            dv_id: self.dv_id.as_deref(),
        }
    }
}

impl AsKeyRef for KeyRef<'_> {
    fn key_ref(&self) -> KeyRef<'_> {
        KeyRef {
            path: self.path,
            dv_id: self.dv_id,
        }
    }
}

impl<'a> Borrow<dyn AsKeyRef + 'a> for SeenKey {
    fn borrow(&self) -> &(dyn AsKeyRef + 'a) {
        self
    }
}

impl Hash for dyn AsKeyRef + '_ {
    fn hash<H: Hasher>(&self, state: &mut H) {
        self.key_ref().hash(state);
    }
}

impl PartialEq for dyn AsKeyRef + '_ {
    fn eq(&self, other: &Self) -> bool {
        self.key_ref() == other.key_ref()
    }
}

impl Eq for dyn AsKeyRef + '_ {}

impl Hash for SeenKey {
    fn hash<H: Hasher>(&self, state: &mut H) {
        self.key_ref().hash(state);
    }
}

impl PartialEq for SeenKey {
    fn eq(&self, other: &Self) -> bool {
        self.key_ref() == other.key_ref()
    }
}

impl Eq for SeenKey {}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::actions::Add;
    use crate::actions::DeletionVectorDescriptor;

    fn add(path: &str, dv: Option<&str>) -> Action {
        Action::Add(Add {
            path: path.into(),
            partition_values: Default::default(),
            size: 1,
            modification_time: 0,
            data_change: true,
            stats: None,
            tags: None,
            deletion_vector: dv.map(|d| DeletionVectorDescriptor {
                storage_type: "u".into(),
                path_or_inline_dv: d.into(),
                offset: Some(1),
                size_in_bytes: 10,
                cardinality: 1,
            }),
            base_row_id: None,
            default_row_commit_version: None,
            clustering_provider: None,
        })
    }

    fn remove(path: &str, dv: Option<&str>) -> Action {
        let Action::Add(a) = add(path, dv) else {
            unreachable!()
        };
        Action::Remove(Remove {
            path: a.path,
            deletion_timestamp: Some(5),
            data_change: true,
            extended_file_metadata: None,
            partition_values: None,
            size: None,
            stats: None,
            tags: None,
            deletion_vector: a.deletion_vector,
            base_row_id: None,
            default_row_commit_version: None,
        })
    }

    fn live(replay: Replay) -> Vec<(String, Option<String>)> {
        let mut v: Vec<_> = replay
            .finish()
            .adds
            .iter()
            .map(|a| (a.path().to_string(), a.file_key().dv_id))
            .collect();
        v.sort();
        v
    }

    #[test]
    fn newest_action_per_file_wins() {
        let mut r = Replay::new();
        // v2: remove b; v1: add b, add c; v0 (checkpoint): add a, add c
        r.apply_commit(vec![remove("b", None)]);
        r.apply_commit(vec![add("b", None), add("c", None)]);
        r.apply_checkpoint(vec![add("a", None), add("c", None)]);
        assert_eq!(
            live(r),
            vec![("a".to_string(), None), ("c".to_string(), None)]
        );
    }

    #[test]
    fn relative_and_absolute_names_of_one_file_are_one_file() {
        let table = crate::paths::table_url("s3://bucket/tables/t");
        let mut r = Replay::for_table(table.clone());
        // v2 removes by absolute URL (another writer), v1 added it relatively
        r.apply_commit(vec![remove(
            "s3a://bucket/tables/t/x=1/f%201.parquet",
            None,
        )]);
        r.apply_commit(vec![add("x=1/f%201.parquet", None), add("g", None)]);
        assert_eq!(live(r), vec![("g".to_string(), None)]);
        // and the other way round; a file of another bucket is another file
        let mut r = Replay::for_table(table);
        r.apply_commit(vec![remove("h", None)]);
        r.apply_commit(vec![
            add("s3://bucket/tables/t/h", None),
            add("s3://other/tables/t/g", None),
        ]);
        r.apply_checkpoint(vec![add("g", None)]);
        assert_eq!(
            live(r),
            vec![
                ("g".to_string(), None),
                ("s3://other/tables/t/g".to_string(), None)
            ]
        );
    }

    #[test]
    fn deletion_vector_ids_are_part_of_the_key() {
        let mut r = Replay::new();
        // v1 replaces the DV of file f: remove (f, none) + add (f, dv1)
        r.apply_commit(vec![remove("f", None), add("f", Some("dv1"))]);
        r.apply_checkpoint(vec![add("f", None)]);
        assert_eq!(live(r), vec![("f".to_string(), Some("udv1@1".to_string()))]);
    }

    #[test]
    fn deletion_vector_offsets_are_part_of_the_key() {
        let with_offset = |action: Action, offset| match action {
            Action::Add(mut a) => {
                if let Some(dv) = a.deletion_vector.as_mut() {
                    dv.offset = offset;
                }
                Action::Add(a)
            }
            other => other,
        };
        let mut r = Replay::new();
        // the commit removes (f, dv@1); the checkpoint has (f, dv@1), (f, dv@2), (f, dv)
        r.apply_commit(vec![remove("f", Some("dv"))]);
        r.apply_checkpoint(vec![
            add("f", Some("dv")),
            with_offset(add("f", Some("dv")), Some(2)),
            with_offset(add("f", Some("dv")), None),
        ]);
        assert_eq!(
            live(r),
            vec![
                ("f".to_string(), Some("udv".to_string())),
                ("f".to_string(), Some("udv@2".to_string())),
            ]
        );
    }

    #[test]
    fn later_action_in_the_same_commit_wins() {
        let mut r = Replay::new();
        r.apply_commit(vec![remove("x", None), add("x", None)]);
        assert_eq!(live(r), vec![("x".to_string(), None)]);
    }

    #[test]
    fn newest_metadata_protocol_txn_and_domain_win() {
        let p = |v| Protocol {
            min_reader_version: v,
            min_writer_version: 2,
            reader_features: None,
            writer_features: None,
        };
        let txn = |v| Txn {
            app_id: "app".into(),
            version: v,
            last_updated: None,
        };
        let dom = |c: &str, removed| DomainMetadata {
            domain: "d".into(),
            configuration: c.into(),
            removed,
        };
        let mut r = Replay::new();
        r.apply_commit(vec![Action::Protocol(p(2)), Action::Txn(txn(7))]);
        r.apply_commit(vec![
            Action::Protocol(p(1)),
            Action::Txn(txn(3)),
            Action::DomainMetadata(dom("new", true)),
        ]);
        r.apply_checkpoint(vec![Action::DomainMetadata(dom("old", false))]);
        let out = r.finish();
        assert_eq!(out.protocol.map(|p| p.min_reader_version), Some(2));
        assert_eq!(out.txns["app"].version, 7);
        assert!(out.domains.is_empty(), "a removed domain stays removed");
    }
}
