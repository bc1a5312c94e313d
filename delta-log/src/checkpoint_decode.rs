//! Checkpoint rows to actions, straight from Arrow: the columns of a projected
//! checkpoint batch are resolved once per batch, then each row becomes at most
//! one [`Action`] by reading the arrays (no detour through JSON text).
//!
//! Checkpoints differ by writer (Spark, delta-rs, kernel), so the reading is
//! lenient about form and strict about content:
//! - strings may be `Utf8`, `LargeUtf8`, `Utf8View`, dictionary-encoded or
//!   binary (checked to be UTF-8); integers may have any width or sign (cast,
//!   values that do not fit are errors); maps may name their entry fields
//!   anything (key first, value second) and may also come as a list of
//!   two-field structs;
//! - a column that is absent is null everywhere: optional fields become `None`
//!   (`partitionValues`, `configuration`, `partitionColumns` and `format`
//!   their defaults), while a required field (e.g. `add.path`) that is absent
//!   or null in a non-null action is an error naming the field;
//! - a row holds one action; the first non-null of `add`, `remove`,
//!   `metaData`, `protocol`, `txn`, `domainMetadata`, `checkpointMetadata`,
//!   `sidecar` is taken, and a row with none of them is skipped.
//!
//! Null values of `metaData.configuration` and `format.options` mean "not set"
//! and are left out; null values of `partitionValues` and `tags` are kept as
//! `None`. A deletion-vector struct with neither a storage type nor a path is
//! taken as no deletion vector.

use arrow::array::{RecordBatch, StructArray};
use arrow::buffer::NullBuffer;

use crate::actions::{
    Action, Add, CheckpointMetadata, DeletionVectorDescriptor, DomainMetadata, Format, Metadata,
    Protocol, Remove, Sidecar, Txn,
};
use crate::stats_json::stats_json;

mod columns;
use columns::{
    Bools, DecodeResult, Group, Ints, StringList, StringMap, Strings, is_valid, missing, opt_bool,
    opt_i32, opt_i64, opt_map, opt_str, req_bool, req_i32, req_i64, req_str,
};

/// `deletionVector` of an add or remove.
struct DvColumns {
    nulls: Option<NullBuffer>,
    storage_type: Option<Strings>,
    path_or_inline_dv: Option<Strings>,
    offset: Option<Ints>,
    size_in_bytes: Option<Ints>,
    cardinality: Option<Ints>,
}

impl DvColumns {
    fn new(parent: &Group<'_>, path: &'static str) -> DecodeResult<Option<Self>> {
        let Some(g) = parent.group("deletionVector", path)? else {
            return Ok(None);
        };
        Ok(Some(DvColumns {
            nulls: g.nulls(),
            storage_type: g.strings("storageType")?,
            path_or_inline_dv: g.strings("pathOrInlineDv")?,
            offset: g.ints("offset")?,
            size_in_bytes: g.ints("sizeInBytes")?,
            cardinality: g.ints("cardinality")?,
        }))
    }

    /// The descriptor of `row`; `prefix` is `add.deletionVector` or `remove.deletionVector`.
    fn get(
        this: &Option<Self>,
        row: usize,
        prefix: &str,
    ) -> DecodeResult<Option<DeletionVectorDescriptor>> {
        let Some(c) = this else {
            return Ok(None);
        };
        if !is_valid(&c.nulls, row) {
            return Ok(None);
        }
        let storage_type = c.storage_type.as_ref().and_then(|s| s.get(row));
        let path_or_inline_dv = c.path_or_inline_dv.as_ref().and_then(|s| s.get(row));
        let (storage_type, path_or_inline_dv) = match (storage_type, path_or_inline_dv) {
            (None, None) => return Ok(None),
            (Some(s), Some(p)) => (s, p),
            (None, Some(_)) => return Err(missing(&format!("{prefix}.storageType"))),
            (Some(_), None) => return Err(missing(&format!("{prefix}.pathOrInlineDv"))),
        };
        let field = |f: &str| format!("{prefix}.{f}");
        Ok(Some(DeletionVectorDescriptor {
            storage_type: storage_type.to_owned(),
            path_or_inline_dv: path_or_inline_dv.to_owned(),
            offset: opt_i32(&c.offset, row, &field("offset"))?,
            size_in_bytes: req_i32(&c.size_in_bytes, row, &field("sizeInBytes"))?,
            cardinality: req_i64(&c.cardinality, row, &field("cardinality"))?,
        }))
    }
}

/// The `add` columns.
struct AddColumns {
    path: Option<Strings>,
    partition_values: Option<StringMap>,
    size: Option<Ints>,
    modification_time: Option<Ints>,
    data_change: Option<Bools>,
    stats: Option<Strings>,
    /// Typed statistics, read where `stats` is null (see [`crate::stats_json`]).
    stats_parsed: Option<StructArray>,
    tags: Option<StringMap>,
    deletion_vector: Option<DvColumns>,
    base_row_id: Option<Ints>,
    default_row_commit_version: Option<Ints>,
    clustering_provider: Option<Strings>,
}

impl AddColumns {
    fn new(g: &Group<'_>) -> DecodeResult<Self> {
        Ok(AddColumns {
            path: g.strings("path")?,
            partition_values: g.map("partitionValues")?,
            size: g.ints("size")?,
            modification_time: g.ints("modificationTime")?,
            data_change: g.bools("dataChange")?,
            stats: g.strings("stats")?,
            stats_parsed: g
                .group("stats_parsed", "add.stats_parsed")?
                .map(|parsed| parsed.array.clone()),
            tags: g.map("tags")?,
            deletion_vector: DvColumns::new(g, "add.deletionVector")?,
            base_row_id: g.ints("baseRowId")?,
            default_row_commit_version: g.ints("defaultRowCommitVersion")?,
            clustering_provider: g.strings("clusteringProvider")?,
        })
    }

    fn get(&self, row: usize) -> DecodeResult<Add> {
        Ok(Add {
            path: req_str(&self.path, row, "add.path")?.to_owned(),
            partition_values: opt_map(&self.partition_values, row, "add.partitionValues")?
                .unwrap_or_default(),
            size: req_i64(&self.size, row, "add.size")?,
            modification_time: req_i64(&self.modification_time, row, "add.modificationTime")?,
            data_change: req_bool(&self.data_change, row, "add.dataChange")?,
            stats: opt_str(&self.stats, row).or_else(|| {
                self.stats_parsed
                    .as_ref()
                    .and_then(|parsed| stats_json(parsed, row))
            }),
            tags: opt_map(&self.tags, row, "add.tags")?,
            deletion_vector: DvColumns::get(&self.deletion_vector, row, "add.deletionVector")?,
            base_row_id: opt_i64(&self.base_row_id, row),
            default_row_commit_version: opt_i64(&self.default_row_commit_version, row),
            clustering_provider: opt_str(&self.clustering_provider, row),
        })
    }
}

/// The `remove` columns (checkpoints carry neither `stats` nor `tags` of removes).
struct RemoveColumns {
    path: Option<Strings>,
    deletion_timestamp: Option<Ints>,
    data_change: Option<Bools>,
    extended_file_metadata: Option<Bools>,
    partition_values: Option<StringMap>,
    size: Option<Ints>,
    deletion_vector: Option<DvColumns>,
    base_row_id: Option<Ints>,
    default_row_commit_version: Option<Ints>,
}

impl RemoveColumns {
    fn new(g: &Group<'_>) -> DecodeResult<Self> {
        Ok(RemoveColumns {
            path: g.strings("path")?,
            deletion_timestamp: g.ints("deletionTimestamp")?,
            data_change: g.bools("dataChange")?,
            extended_file_metadata: g.bools("extendedFileMetadata")?,
            partition_values: g.map("partitionValues")?,
            size: g.ints("size")?,
            deletion_vector: DvColumns::new(g, "remove.deletionVector")?,
            base_row_id: g.ints("baseRowId")?,
            default_row_commit_version: g.ints("defaultRowCommitVersion")?,
        })
    }

    fn get(&self, row: usize) -> DecodeResult<Remove> {
        Ok(Remove {
            path: req_str(&self.path, row, "remove.path")?.to_owned(),
            deletion_timestamp: opt_i64(&self.deletion_timestamp, row),
            data_change: req_bool(&self.data_change, row, "remove.dataChange")?,
            extended_file_metadata: opt_bool(&self.extended_file_metadata, row),
            partition_values: opt_map(&self.partition_values, row, "remove.partitionValues")?,
            size: opt_i64(&self.size, row),
            stats: None,
            tags: None,
            deletion_vector: DvColumns::get(&self.deletion_vector, row, "remove.deletionVector")?,
            base_row_id: opt_i64(&self.base_row_id, row),
            default_row_commit_version: opt_i64(&self.default_row_commit_version, row),
        })
    }
}

/// The `metaData` columns.
struct MetadataColumns {
    id: Option<Strings>,
    name: Option<Strings>,
    description: Option<Strings>,
    format: Option<(Option<NullBuffer>, Option<Strings>, Option<StringMap>)>,
    schema_string: Option<Strings>,
    partition_columns: Option<StringList>,
    created_time: Option<Ints>,
    configuration: Option<StringMap>,
}

impl MetadataColumns {
    fn new(g: &Group<'_>) -> DecodeResult<Self> {
        let format = match g.group("format", "metaData.format")? {
            Some(f) => Some((f.nulls(), f.strings("provider")?, f.map("options")?)),
            None => None,
        };
        Ok(MetadataColumns {
            id: g.strings("id")?,
            name: g.strings("name")?,
            description: g.strings("description")?,
            format,
            schema_string: g.strings("schemaString")?,
            partition_columns: g.list("partitionColumns")?,
            created_time: g.ints("createdTime")?,
            configuration: g.map("configuration")?,
        })
    }

    fn get(&self, row: usize) -> DecodeResult<Metadata> {
        let format = match &self.format {
            Some((nulls, provider, options)) if is_valid(nulls, row) => Format {
                provider: req_str(provider, row, "metaData.format.provider")?.to_owned(),
                options: match options {
                    Some(o) => o.get_set(row, "metaData.format.options")?,
                    None => None,
                }
                .unwrap_or_default(),
            },
            _ => Format::default(),
        };
        let partition_columns = match &self.partition_columns {
            Some(l) => l.get(row, "metaData.partitionColumns")?,
            None => None,
        };
        let configuration = match &self.configuration {
            Some(c) => c.get_set(row, "metaData.configuration")?,
            None => None,
        };
        Ok(Metadata {
            id: req_str(&self.id, row, "metaData.id")?.to_owned(),
            name: opt_str(&self.name, row),
            description: opt_str(&self.description, row),
            format,
            schema_string: req_str(&self.schema_string, row, "metaData.schemaString")?.to_owned(),
            partition_columns: partition_columns.unwrap_or_default(),
            created_time: opt_i64(&self.created_time, row),
            configuration: configuration.unwrap_or_default(),
        })
    }
}

/// The `protocol` columns.
struct ProtocolColumns {
    min_reader_version: Option<Ints>,
    min_writer_version: Option<Ints>,
    reader_features: Option<StringList>,
    writer_features: Option<StringList>,
}

impl ProtocolColumns {
    fn new(g: &Group<'_>) -> DecodeResult<Self> {
        Ok(ProtocolColumns {
            min_reader_version: g.ints("minReaderVersion")?,
            min_writer_version: g.ints("minWriterVersion")?,
            reader_features: g.list("readerFeatures")?,
            writer_features: g.list("writerFeatures")?,
        })
    }

    fn get(&self, row: usize) -> DecodeResult<Protocol> {
        let features = |list: &Option<StringList>, field: &str| match list {
            Some(l) => l.get(row, field),
            None => Ok(None),
        };
        Ok(Protocol {
            min_reader_version: req_i32(
                &self.min_reader_version,
                row,
                "protocol.minReaderVersion",
            )?,
            min_writer_version: req_i32(
                &self.min_writer_version,
                row,
                "protocol.minWriterVersion",
            )?,
            reader_features: features(&self.reader_features, "protocol.readerFeatures")?,
            writer_features: features(&self.writer_features, "protocol.writerFeatures")?,
        })
    }
}

/// The `txn` columns.
struct TxnColumns {
    app_id: Option<Strings>,
    version: Option<Ints>,
    last_updated: Option<Ints>,
}

impl TxnColumns {
    fn new(g: &Group<'_>) -> DecodeResult<Self> {
        Ok(TxnColumns {
            app_id: g.strings("appId")?,
            version: g.ints("version")?,
            last_updated: g.ints("lastUpdated")?,
        })
    }

    fn get(&self, row: usize) -> DecodeResult<Txn> {
        Ok(Txn {
            app_id: req_str(&self.app_id, row, "txn.appId")?.to_owned(),
            version: req_i64(&self.version, row, "txn.version")?,
            last_updated: opt_i64(&self.last_updated, row),
        })
    }
}

/// The `domainMetadata` columns.
struct DomainColumns {
    domain: Option<Strings>,
    configuration: Option<Strings>,
    removed: Option<Bools>,
}

impl DomainColumns {
    fn new(g: &Group<'_>) -> DecodeResult<Self> {
        Ok(DomainColumns {
            domain: g.strings("domain")?,
            configuration: g.strings("configuration")?,
            removed: g.bools("removed")?,
        })
    }

    fn get(&self, row: usize) -> DecodeResult<DomainMetadata> {
        Ok(DomainMetadata {
            domain: req_str(&self.domain, row, "domainMetadata.domain")?.to_owned(),
            configuration: req_str(&self.configuration, row, "domainMetadata.configuration")?
                .to_owned(),
            removed: req_bool(&self.removed, row, "domainMetadata.removed")?,
        })
    }
}

/// The `checkpointMetadata` columns.
struct CheckpointMetadataColumns {
    version: Option<Ints>,
    tags: Option<StringMap>,
}

impl CheckpointMetadataColumns {
    fn new(g: &Group<'_>) -> DecodeResult<Self> {
        Ok(CheckpointMetadataColumns {
            version: g.ints("version")?,
            tags: g.map("tags")?,
        })
    }

    fn get(&self, row: usize) -> DecodeResult<CheckpointMetadata> {
        Ok(CheckpointMetadata {
            version: req_i64(&self.version, row, "checkpointMetadata.version")?,
            tags: opt_map(&self.tags, row, "checkpointMetadata.tags")?,
        })
    }
}

/// The `sidecar` columns.
struct SidecarColumns {
    path: Option<Strings>,
    size_in_bytes: Option<Ints>,
    modification_time: Option<Ints>,
    tags: Option<StringMap>,
}

impl SidecarColumns {
    fn new(g: &Group<'_>) -> DecodeResult<Self> {
        Ok(SidecarColumns {
            path: g.strings("path")?,
            size_in_bytes: g.ints("sizeInBytes")?,
            modification_time: g.ints("modificationTime")?,
            tags: g.map("tags")?,
        })
    }

    fn get(&self, row: usize) -> DecodeResult<Sidecar> {
        Ok(Sidecar {
            path: req_str(&self.path, row, "sidecar.path")?.to_owned(),
            size_in_bytes: req_i64(&self.size_in_bytes, row, "sidecar.sizeInBytes")?,
            modification_time: req_i64(&self.modification_time, row, "sidecar.modificationTime")?,
            tags: opt_map(&self.tags, row, "sidecar.tags")?,
        })
    }
}

/// The columns of one action, with the validity of its struct.
struct Present<T> {
    nulls: Option<NullBuffer>,
    columns: T,
}

/// The columns of the action `c` when it is present in `row`.
fn at<T>(c: &Option<Present<T>>, row: usize) -> Option<&T> {
    c.as_ref()
        .filter(|c| is_valid(&c.nulls, row))
        .map(|c| &c.columns)
}

/// The action columns of one checkpoint batch, resolved once; absent (or
/// all-null) action columns are `None`.
pub(crate) struct CheckpointBatch {
    rows: usize,
    add: Option<Present<AddColumns>>,
    remove: Option<Present<RemoveColumns>>,
    metadata: Option<Present<MetadataColumns>>,
    protocol: Option<Present<ProtocolColumns>>,
    txn: Option<Present<TxnColumns>>,
    domain: Option<Present<DomainColumns>>,
    checkpoint_metadata: Option<Present<CheckpointMetadataColumns>>,
    sidecar: Option<Present<SidecarColumns>>,
}

/// Resolves the top-level action column `name` with `make`.
fn action_columns<'a, T>(
    top: &'a StructArray,
    name: &'a str,
    make: impl FnOnce(&Group<'a>) -> DecodeResult<T>,
) -> DecodeResult<Option<Present<T>>> {
    match Group::child_of(top, name, name)? {
        Some(g) => Ok(Some(Present {
            nulls: g.nulls(),
            columns: make(&g)?,
        })),
        None => Ok(None),
    }
}

impl CheckpointBatch {
    /// Resolves the columns of `batch`; fails on columns of the wrong type.
    pub(crate) fn new(batch: &RecordBatch) -> DecodeResult<Self> {
        let top = StructArray::from(batch.clone());
        Ok(CheckpointBatch {
            rows: batch.num_rows(),
            add: action_columns(&top, "add", AddColumns::new)?,
            remove: action_columns(&top, "remove", RemoveColumns::new)?,
            metadata: action_columns(&top, "metaData", MetadataColumns::new)?,
            protocol: action_columns(&top, "protocol", ProtocolColumns::new)?,
            txn: action_columns(&top, "txn", TxnColumns::new)?,
            domain: action_columns(&top, "domainMetadata", DomainColumns::new)?,
            checkpoint_metadata: action_columns(
                &top,
                "checkpointMetadata",
                CheckpointMetadataColumns::new,
            )?,
            sidecar: action_columns(&top, "sidecar", SidecarColumns::new)?,
        })
    }

    /// Number of rows.
    pub(crate) fn num_rows(&self) -> usize {
        self.rows
    }

    /// The action of `row`, `None` for a row without a known action.
    pub(crate) fn action(&self, row: usize) -> DecodeResult<Option<Action>> {
        let action = if let Some(c) = at(&self.add, row) {
            Action::Add(c.get(row)?)
        } else if let Some(c) = at(&self.remove, row) {
            Action::Remove(c.get(row)?)
        } else if let Some(c) = at(&self.metadata, row) {
            Action::Metadata(c.get(row)?)
        } else if let Some(c) = at(&self.protocol, row) {
            Action::Protocol(c.get(row)?)
        } else if let Some(c) = at(&self.txn, row) {
            Action::Txn(c.get(row)?)
        } else if let Some(c) = at(&self.domain, row) {
            Action::DomainMetadata(c.get(row)?)
        } else if let Some(c) = at(&self.checkpoint_metadata, row) {
            Action::CheckpointMetadata(c.get(row)?)
        } else if let Some(c) = at(&self.sidecar, row) {
            Action::Sidecar(c.get(row)?)
        } else {
            return Ok(None);
        };
        Ok(Some(action))
    }
}

#[cfg(test)]
mod tests;
