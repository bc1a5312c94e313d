//! Delta actions exactly as PROTOCOL.md §"Actions" writes them.
//!
//! Field names follow the protocol's JSON (camelCase); unknown fields are
//! ignored on read, absent optional fields are left out on write.

use std::collections::HashMap;

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

/// Partition values of a file: column name to the serialized value, `None` for null.
pub type PartitionValues = HashMap<String, Option<String>>;

/// One action of a commit (one line of a commit file).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub enum Action {
    /// `protocol`: the reader and writer versions and features.
    #[serde(rename = "protocol")]
    Protocol(Protocol),
    /// `metaData`: the table's schema, partitioning and configuration.
    #[serde(rename = "metaData")]
    Metadata(Metadata),
    /// `add`: a data file becomes part of the table.
    #[serde(rename = "add")]
    Add(Add),
    /// `remove`: a data file leaves the table.
    #[serde(rename = "remove")]
    Remove(Remove),
    /// `txn`: the latest version an application committed (idempotent writes).
    #[serde(rename = "txn")]
    Txn(Txn),
    /// `commitInfo`: provenance of the commit.
    #[serde(rename = "commitInfo")]
    CommitInfo(CommitInfo),
    /// `cdc`: a change-data file.
    #[serde(rename = "cdc")]
    Cdc(Cdc),
    /// `domainMetadata`: configuration of a metadata domain.
    #[serde(rename = "domainMetadata")]
    DomainMetadata(DomainMetadata),
    /// `checkpointMetadata`: describes a V2 checkpoint.
    #[serde(rename = "checkpointMetadata")]
    CheckpointMetadata(CheckpointMetadata),
    /// `sidecar`: a file holding part of a V2 checkpoint's file actions.
    #[serde(rename = "sidecar")]
    Sidecar(Sidecar),
}

/// The `protocol` action.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Protocol {
    /// Lowest reader version a reader must implement.
    pub min_reader_version: i32,
    /// Lowest writer version a writer must implement.
    pub min_writer_version: i32,
    /// Reader features (only with reader version 3).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reader_features: Option<Vec<String>>,
    /// Writer features (only with writer version 7).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub writer_features: Option<Vec<String>>,
}

/// The `format` of a table's data files.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Format {
    /// Always `parquet` for Delta tables.
    pub provider: String,
    /// Options of the format.
    #[serde(default)]
    pub options: HashMap<String, String>,
}

impl Default for Format {
    fn default() -> Self {
        Format {
            provider: "parquet".to_string(),
            options: HashMap::new(),
        }
    }
}

/// The `metaData` action.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Metadata {
    /// Unique id of the table.
    pub id: String,
    /// User-given name.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    /// User-given description.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    /// Data file format.
    #[serde(default)]
    pub format: Format,
    /// The table schema, as the protocol's schema JSON (parsed by `delta-schema`).
    pub schema_string: String,
    /// Names of the partition columns, in order.
    #[serde(default)]
    pub partition_columns: Vec<String>,
    /// Creation time in milliseconds since the epoch.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub created_time: Option<i64>,
    /// Table properties (`delta.*` and user keys).
    #[serde(default, deserialize_with = "map_skipping_nulls")]
    pub configuration: HashMap<String, String>,
}

/// Some writers put `null` values in `configuration`; they mean "not set".
fn map_skipping_nulls<'de, D>(d: D) -> Result<HashMap<String, String>, D::Error>
where
    D: serde::Deserializer<'de>,
{
    let raw: Option<HashMap<String, Option<String>>> = Option::deserialize(d)?;
    Ok(raw
        .unwrap_or_default()
        .into_iter()
        .filter_map(|(k, v)| v.map(|v| (k, v)))
        .collect())
}

/// Where a deletion vector is and how big it is (PROTOCOL.md §"Deletion Vector Descriptor Schema").
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct DeletionVectorDescriptor {
    /// `storageType`: `"u"` (file at a path relative to the table root, derived from a
    /// UUID), `"i"` (inline in the log) or `"p"` (file at an absolute path).
    pub storage_type: String,
    /// `pathOrInlineDv`: for `"u"` an optional random prefix followed by the 20-character
    /// Z85-encoded UUID; for `"i"` the Z85-encoded serialized vector; for `"p"` the
    /// absolute path, in the format of the `path` field of `add`/`remove` actions.
    pub path_or_inline_dv: String,
    /// `offset`: where the vector starts in its file (at its 4-byte size field). Absent
    /// for inline vectors.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub offset: Option<i32>,
    /// `sizeInBytes`: size of the serialized vector (magic number and bitmap), before
    /// any Z85 encoding.
    pub size_in_bytes: i32,
    /// `cardinality`: number of rows the vector deletes.
    pub cardinality: i64,
}

impl DeletionVectorDescriptor {
    /// The protocol's unique id of this vector: storage type, path or inline
    /// data, and `@offset` when there is an offset.
    pub fn unique_id(&self) -> String {
        match self.offset {
            Some(offset) => format!("{}{}@{offset}", self.storage_type, self.path_or_inline_dv),
            None => format!("{}{}", self.storage_type, self.path_or_inline_dv),
        }
    }
}

/// The `add` action.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Add {
    /// URL-encoded path of the data file, relative to the table root or absolute.
    pub path: String,
    /// Partition values of the file.
    #[serde(default)]
    pub partition_values: PartitionValues,
    /// Size in bytes.
    pub size: i64,
    /// Modification time in milliseconds since the epoch.
    pub modification_time: i64,
    /// Whether the commit changed data (false for compaction).
    pub data_change: bool,
    /// Statistics as JSON text.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub stats: Option<String>,
    /// Free-form tags.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tags: Option<HashMap<String, Option<String>>>,
    /// Rows of the file that are deleted.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub deletion_vector: Option<DeletionVectorDescriptor>,
    /// Row tracking: id of the file's first row.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub base_row_id: Option<i64>,
    /// Row tracking: commit version of rows without one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub default_row_commit_version: Option<i64>,
    /// Clustering implementation that wrote the file.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub clustering_provider: Option<String>,
}

impl Add {
    /// The key that reconciliation uses: path and deletion-vector id.
    pub fn file_key(&self) -> FileKey {
        FileKey::new(&self.path, self.deletion_vector.as_ref())
    }

    /// `numRecords` from the stats, when present: rows in the file, including
    /// rows its deletion vector deletes.
    pub fn num_records(&self) -> Option<u64> {
        num_records(self.stats.as_deref()?)
    }

    /// Rows of the file that are live: `numRecords` minus the deletion
    /// vector's cardinality; `None` without stats.
    pub fn live_records(&self) -> Option<u64> {
        live_records(self.num_records()?, self.deletion_vector.as_ref())
    }
}

/// `numRecords` of JSON statistics. Writers put it first (`{"numRecords":12,...`),
/// read then without parsing the rest; elsewhere the other fields are
/// skipped, not built.
pub(crate) fn num_records(stats: &str) -> Option<u64> {
    if let Some(rest) = stats.strip_prefix(r#"{"numRecords":"#) {
        let digits = rest.bytes().take_while(u8::is_ascii_digit).count();
        if digits > 0 && matches!(rest.as_bytes().get(digits), Some(b',' | b'}')) {
            return rest[..digits].parse().ok();
        }
    }
    #[derive(Deserialize)]
    struct Count {
        #[serde(rename = "numRecords")]
        num_records: Option<u64>,
    }
    serde_json::from_str::<Count>(stats).ok()?.num_records
}

/// `records` minus the rows the deletion vector deletes.
pub(crate) fn live_records(records: u64, dv: Option<&DeletionVectorDescriptor>) -> Option<u64> {
    let deleted = dv.map_or(0, |dv| u64::try_from(dv.cardinality).unwrap_or(0));
    Some(records.saturating_sub(deleted))
}

/// The `remove` action.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Remove {
    /// URL-encoded path of the data file.
    pub path: String,
    /// When the file was removed, in milliseconds since the epoch.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub deletion_timestamp: Option<i64>,
    /// Whether the commit changed data.
    pub data_change: bool,
    /// Whether the fields below are present.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub extended_file_metadata: Option<bool>,
    /// Partition values of the file.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub partition_values: Option<PartitionValues>,
    /// Size in bytes.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub size: Option<i64>,
    /// Statistics as JSON text.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub stats: Option<String>,
    /// Free-form tags.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tags: Option<HashMap<String, Option<String>>>,
    /// The deletion vector of the removed file entry.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub deletion_vector: Option<DeletionVectorDescriptor>,
    /// Row tracking: id of the file's first row.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub base_row_id: Option<i64>,
    /// Row tracking: commit version of rows without one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub default_row_commit_version: Option<i64>,
}

impl Remove {
    /// The key that reconciliation uses: path and deletion-vector id.
    pub fn file_key(&self) -> FileKey {
        FileKey::new(&self.path, self.deletion_vector.as_ref())
    }
}

/// Identity of a logical file in reconciliation: its path and deletion vector.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct FileKey {
    /// The path as written in the log.
    pub path: String,
    /// The deletion vector's unique id, if any.
    pub dv_id: Option<String>,
}

impl FileKey {
    pub(crate) fn new(path: &str, dv: Option<&DeletionVectorDescriptor>) -> Self {
        FileKey {
            path: path.to_string(),
            dv_id: dv.map(DeletionVectorDescriptor::unique_id),
        }
    }
}

/// The `txn` action: application transaction id for idempotent writes.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Txn {
    /// The application's id.
    pub app_id: String,
    /// The application's latest committed version.
    pub version: i64,
    /// When it was written, in milliseconds since the epoch.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_updated: Option<i64>,
}

/// The `commitInfo` action: free-form provenance, kept whole.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(transparent)]
pub struct CommitInfo(pub Map<String, Value>);

impl CommitInfo {
    /// `timestamp`: when the commit was made (ms since the epoch), as the writer says.
    pub fn timestamp(&self) -> Option<i64> {
        self.0.get("timestamp").and_then(Value::as_i64)
    }

    /// `inCommitTimestamp` (ms since the epoch), present when that feature is on.
    pub fn in_commit_timestamp(&self) -> Option<i64> {
        self.0.get("inCommitTimestamp").and_then(Value::as_i64)
    }

    /// `operation`, e.g. `WRITE`, `MERGE`.
    pub fn operation(&self) -> Option<&str> {
        self.0.get("operation").and_then(Value::as_str)
    }

    /// `operationParameters`.
    pub fn operation_parameters(&self) -> Option<&Map<String, Value>> {
        self.0.get("operationParameters").and_then(Value::as_object)
    }

    /// `operationMetrics`.
    pub fn operation_metrics(&self) -> Option<&Map<String, Value>> {
        self.0.get("operationMetrics").and_then(Value::as_object)
    }
}

/// The `cdc` action: a change-data file.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Cdc {
    /// URL-encoded path of the file.
    pub path: String,
    /// Partition values of the file.
    #[serde(default)]
    pub partition_values: PartitionValues,
    /// Size in bytes.
    pub size: i64,
    /// Always false for cdc files.
    pub data_change: bool,
    /// Free-form tags.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tags: Option<HashMap<String, Option<String>>>,
}

/// The `domainMetadata` action.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct DomainMetadata {
    /// Name of the domain.
    pub domain: String,
    /// Its configuration (a string, often JSON).
    pub configuration: String,
    /// Whether the domain is removed.
    pub removed: bool,
}

/// The `checkpointMetadata` action of V2 checkpoints.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct CheckpointMetadata {
    /// Version the checkpoint is of.
    pub version: i64,
    /// Free-form tags.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tags: Option<HashMap<String, Option<String>>>,
}

/// The `sidecar` action of V2 checkpoints.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Sidecar {
    /// Path of the sidecar file, relative to `_delta_log/_sidecars/` (or absolute).
    pub path: String,
    /// Size in bytes.
    pub size_in_bytes: i64,
    /// Modification time in milliseconds since the epoch.
    pub modification_time: i64,
    /// Free-form tags.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tags: Option<HashMap<String, Option<String>>>,
}

/// One line of a commit file, with every known action as an optional key, so that
/// unknown keys (future actions, unknown fields) are ignored.
#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct ActionLine {
    add: Option<Add>,
    remove: Option<Remove>,
    meta_data: Option<Metadata>,
    protocol: Option<Protocol>,
    txn: Option<Txn>,
    commit_info: Option<CommitInfo>,
    cdc: Option<Cdc>,
    domain_metadata: Option<DomainMetadata>,
    checkpoint_metadata: Option<CheckpointMetadata>,
    sidecar: Option<Sidecar>,
}

/// Parses one line of a commit file. `Ok(None)` for a line without a known
/// action (blank lines, actions of newer protocol versions).
pub fn parse_action_line(line: &str) -> Result<Option<Action>, serde_json::Error> {
    if line.trim().is_empty() {
        return Ok(None);
    }
    let l: ActionLine = serde_json::from_str(line)?;
    Ok(l.add
        .map(Action::Add)
        .or(l.remove.map(Action::Remove))
        .or(l.meta_data.map(Action::Metadata))
        .or(l.protocol.map(Action::Protocol))
        .or(l.txn.map(Action::Txn))
        .or(l.commit_info.map(Action::CommitInfo))
        .or(l.cdc.map(Action::Cdc))
        .or(l.domain_metadata.map(Action::DomainMetadata))
        .or(l.checkpoint_metadata.map(Action::CheckpointMetadata))
        .or(l.sidecar.map(Action::Sidecar)))
}

impl Action {
    /// The action as one line of a commit file (no trailing newline).
    pub fn to_json_line(&self) -> Result<String, serde_json::Error> {
        serde_json::to_string(self)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn num_records_wherever_it_is() {
        assert_eq!(num_records(r#"{"numRecords":12,"minValues":{}}"#), Some(12));
        assert_eq!(num_records(r#"{"numRecords":12}"#), Some(12));
        assert_eq!(
            num_records(r#"{"minValues":{"numRecords":1},"numRecords":7}"#),
            Some(7)
        );
        assert_eq!(num_records(r#"{ "numRecords" : 3 }"#), Some(3));
        assert_eq!(num_records(r#"{"minValues":{"numRecords":1}}"#), None);
        assert_eq!(num_records(r#"{"numRecords":-1}"#), None);
        assert_eq!(num_records(r#"{"numRecords":1e3}"#), None);
        assert_eq!(num_records("not json"), None);
        let dv = DeletionVectorDescriptor {
            storage_type: "i".into(),
            path_or_inline_dv: "x".into(),
            offset: None,
            size_in_bytes: 1,
            cardinality: 4,
        };
        assert_eq!(live_records(10, Some(&dv)), Some(6));
        assert_eq!(live_records(3, Some(&dv)), Some(0));
    }
}
