//! Writing commits: the actions of one version as a commit file, created only
//! if absent; the state after a commit, derived in memory; and the version
//! checksum file (PROTOCOL.md §"Version Checksum File").

use std::collections::HashSet;

use bytes::Bytes;
use serde::Serialize;

use crate::LogError;
use crate::actions::{
    Action, DeletionVectorDescriptor, DomainMetadata, FileKey, Metadata, Protocol, Txn,
};
use crate::paths::{reconciliation_path, table_url_at};
use crate::properties::in_commit_timestamps_on;
use crate::state::{DeltaLog, TableState};

impl DeltaLog {
    /// Writes `actions` as the commit of `version`, only if that version does
    /// not exist yet. On success the commit is visible to every reader; on
    /// [`LogError::VersionExists`] another writer took the version first.
    pub async fn commit(&self, version: u64, actions: &[Action]) -> Result<(), LogError> {
        let result = async {
            let mut text = String::new();
            for action in actions {
                let line = action.to_json_line().map_err(|e| LogError::Serialize {
                    version,
                    reason: e.to_string(),
                })?;
                text.push_str(&line);
                text.push('\n');
            }
            self.commit_log()
                .put_commit(version, Bytes::from(text))
                .await
        }
        .await;
        self.located(result)
    }

    /// Writes the version checksum file `<version>.crc` of `state`. It is a
    /// hint for readers and checkers; failing to write it loses nothing.
    pub async fn write_checksum(
        &self,
        state: &TableState,
        txn_id: Option<&str>,
    ) -> Result<(), LogError> {
        let result = async {
            let checksum = Checksum {
                txn_id,
                table_size_bytes: state.files.iter().map(|f| f.size()).sum(),
                num_files: state.files.len() as u64,
                num_metadata: 1,
                num_protocol: 1,
                // only where in-commit timestamps are on, not merely supported
                in_commit_timestamp_opt: in_commit_timestamps_on(&state.protocol, &state.metadata)
                    .is_ok_and(|on| on)
                    .then_some(state.timestamp_ms),
                set_transactions: state.txns.values().collect(),
                domain_metadata: state.domains.values().collect(),
                metadata: &state.metadata,
                protocol: &state.protocol,
            };
            let bytes = serde_json::to_vec(&checksum).map_err(|e| LogError::Serialize {
                version: state.version,
                reason: e.to_string(),
            })?;
            // writers must not overwrite a checksum file (PROTOCOL.md)
            self.commit_log()
                .put_if_absent(&format!("{:020}.crc", state.version), Bytes::from(bytes))
                .await
                .map(|_| ())
        }
        .await;
        self.located(result)
    }
}

/// The content of a version checksum file.
#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct Checksum<'a> {
    #[serde(skip_serializing_if = "Option::is_none")]
    txn_id: Option<&'a str>,
    table_size_bytes: i64,
    num_files: u64,
    num_metadata: u64,
    num_protocol: u64,
    #[serde(skip_serializing_if = "Option::is_none")]
    in_commit_timestamp_opt: Option<i64>,
    set_transactions: Vec<&'a Txn>,
    domain_metadata: Vec<&'a DomainMetadata>,
    metadata: &'a Metadata,
    protocol: &'a Protocol,
}

impl TableState {
    /// The state after committing `actions` as `version` on top of this
    /// state, derived in memory (no I/O): what a reader replaying the log
    /// would build.
    pub fn apply_commit(&self, version: u64, actions: &[Action], timestamp_ms: i64) -> TableState {
        let mut next = self.clone();
        next.apply_commit_in_place(version, actions, timestamp_ms);
        next
    }

    /// [`TableState::apply_commit`] on this state itself.
    pub(crate) fn apply_commit_in_place(
        &mut self,
        version: u64,
        actions: &[Action],
        timestamp_ms: i64,
    ) {
        let next = self;
        next.version = version;
        next.timestamp_ms = timestamp_ms;
        // files compared as replay compares them (see `paths::reconciliation_path`)
        let url = table_url_at(&next.table, &next.root);
        let key = |path: &str, dv: Option<&DeletionVectorDescriptor>| FileKey {
            path: reconciliation_path(url.as_ref(), path).into_owned(),
            dv_id: dv.map(DeletionVectorDescriptor::unique_id),
        };
        // where this commit's protocol or metadata will be read from
        let commit_file = next
            .root
            .clone()
            .join(crate::LOG_DIR)
            .join(format!("{version:020}.json"));
        let mut gone: HashSet<FileKey> = HashSet::new();
        let mut added = Vec::new();
        for action in actions {
            match action {
                Action::Add(a) => {
                    gone.insert(key(&a.path, a.deletion_vector.as_ref()));
                    added.push(a.clone());
                }
                Action::Remove(r) => {
                    let removed = key(&r.path, r.deletion_vector.as_ref());
                    added.retain(|a: &crate::Add| {
                        key(&a.path, a.deletion_vector.as_ref()) != removed
                    });
                    gone.insert(removed);
                    next.tombstones.push(r.clone());
                }
                Action::Protocol(p) => {
                    next.protocol = p.clone();
                    next.protocol_file = Some(commit_file.clone());
                }
                Action::Metadata(m) => {
                    next.metadata = m.clone();
                    next.metadata_file = Some(commit_file.clone());
                }
                Action::Txn(t) => {
                    next.txns.insert(t.app_id.clone(), t.clone());
                }
                Action::DomainMetadata(d) => {
                    if d.removed {
                        next.domains.remove(&d.domain);
                    } else {
                        next.domains.insert(d.domain.clone(), d.clone());
                    }
                }
                Action::CommitInfo(_)
                | Action::Cdc(_)
                | Action::CheckpointMetadata(_)
                | Action::Sidecar(_) => {}
            }
        }
        if !gone.is_empty() {
            next.files
                .retain(|f| !gone.contains(&key(f.path(), f.deletion_vector())));
            let readded: HashSet<FileKey> = added
                .iter()
                .map(|a| key(&a.path, a.deletion_vector.as_ref()))
                .collect();
            next.tombstones
                .retain(|r| !readded.contains(&key(&r.path, r.deletion_vector.as_ref())));
        }
        next.files.extend(added);
        // the files read stay those of the base state; the new commit is in memory
        next.segment.version = version;
    }
}
