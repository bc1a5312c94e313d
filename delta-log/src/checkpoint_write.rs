//! Writing classic single-file Parquet checkpoints (PROTOCOL.md §"Checkpoints",
//! §"Checkpoint Schema") and the `_last_checkpoint` pointer.
//!
//! Rows are the table state's actions serialized straight into Arrow through
//! the JSON decoder with the checkpoint schema, in chunks, and streamed to the
//! store as a multipart upload: memory stays bounded by a chunk, not the table.
//! The upload completes atomically, so readers never see half a checkpoint.

use std::sync::Arc;

use arrow::datatypes::{DataType, Field, Fields, Schema, SchemaRef};
use arrow::json::reader::ReaderBuilder;
use bytes::Bytes;
use object_store::ObjectStoreExt;
use object_store::buffered::BufWriter;
use parquet::arrow::AsyncArrowWriter;
use parquet::basic::Compression;
use parquet::file::properties::WriterProperties;
use serde::Serialize;

use crate::LogError;
use crate::actions::{Action, Add, CheckpointMetadata, Remove};
use crate::features::TableFeature;
use crate::properties::TableProperties;
use crate::state::{DeltaLog, LAST_CHECKPOINT, TableState};

/// Actions serialized per Arrow batch.
const CHUNK: usize = 8192;

/// What a written checkpoint holds (also the content of `_last_checkpoint`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct CheckpointInfo {
    /// The version checkpointed.
    pub version: u64,
    /// Number of actions (rows) in the checkpoint.
    pub size: u64,
    /// Size of the file in bytes.
    pub size_in_bytes: u64,
    /// Number of `add` actions.
    pub num_of_add_files: u64,
}

fn string_map(name: &str) -> Field {
    let entries = Fields::from(vec![
        Field::new("key", DataType::Utf8, false),
        Field::new("value", DataType::Utf8, true),
    ]);
    Field::new(
        name,
        DataType::Map(
            Arc::new(Field::new("key_value", DataType::Struct(entries), false)),
            false,
        ),
        true,
    )
}

fn strings(name: &str) -> Field {
    Field::new(
        name,
        DataType::List(Arc::new(Field::new("element", DataType::Utf8, true))),
        true,
    )
}

fn structure(name: &str, fields: Vec<Field>) -> Field {
    Field::new(name, DataType::Struct(Fields::from(fields)), true)
}

fn deletion_vector() -> Field {
    structure(
        "deletionVector",
        vec![
            Field::new("storageType", DataType::Utf8, true),
            Field::new("pathOrInlineDv", DataType::Utf8, true),
            Field::new("offset", DataType::Int32, true),
            Field::new("sizeInBytes", DataType::Int32, true),
            Field::new("cardinality", DataType::Int64, true),
        ],
    )
}

/// The typed columns a checkpoint may carry besides the JSON forms
/// (`delta.checkpoint.writeStatsAsStruct`): their Arrow fields come from the
/// table schema, which this crate does not parse (delta-txn builds them).
#[derive(Debug, Clone, PartialEq)]
pub struct ParsedColumns {
    /// Fields of `add.stats_parsed`: `numRecords`, `minValues`, `maxValues`,
    /// `nullCount`, `tightBounds`, keyed by physical column names.
    pub stats: Fields,
    /// Fields of `add.partitionValues_parsed`: one per partition column,
    /// named as its key in `partitionValues`, of the column's type.
    pub partition_values: Fields,
}

/// The Arrow schema of a classic checkpoint, as the protocol lists it; with
/// `v2` (tables with the `v2Checkpoint` feature) it also has `checkpointMetadata`.
pub fn checkpoint_schema(v2: bool) -> SchemaRef {
    checkpoint_schema_with(v2, true, None)
}

/// The checkpoint schema with `add.stats` (JSON statistics) when
/// `json_stats`, and `add.stats_parsed` / `add.partitionValues_parsed` when
/// `parsed` is given.
fn checkpoint_schema_with(v2: bool, json_stats: bool, parsed: Option<&ParsedColumns>) -> SchemaRef {
    let long = |n: &str| Field::new(n, DataType::Int64, true);
    let string = |n: &str| Field::new(n, DataType::Utf8, true);
    let boolean = |n: &str| Field::new(n, DataType::Boolean, true);
    let mut fields = vec![
        structure(
            "txn",
            vec![string("appId"), long("version"), long("lastUpdated")],
        ),
        structure("add", {
            let mut add = vec![
                string("path"),
                string_map("partitionValues"),
                long("size"),
                long("modificationTime"),
                boolean("dataChange"),
            ];
            if json_stats {
                add.push(string("stats"));
            }
            add.extend([
                string_map("tags"),
                deletion_vector(),
                long("baseRowId"),
                long("defaultRowCommitVersion"),
                string("clusteringProvider"),
            ]);
            if let Some(parsed) = parsed {
                add.push(Field::new(
                    "stats_parsed",
                    DataType::Struct(parsed.stats.clone()),
                    true,
                ));
                if !parsed.partition_values.is_empty() {
                    add.push(Field::new(
                        "partitionValues_parsed",
                        DataType::Struct(parsed.partition_values.clone()),
                        true,
                    ));
                }
            }
            add
        }),
        structure(
            "remove",
            vec![
                string("path"),
                long("deletionTimestamp"),
                boolean("dataChange"),
                boolean("extendedFileMetadata"),
                string_map("partitionValues"),
                long("size"),
                deletion_vector(),
                long("baseRowId"),
                long("defaultRowCommitVersion"),
            ],
        ),
        structure(
            "metaData",
            vec![
                string("id"),
                string("name"),
                string("description"),
                structure("format", vec![string("provider"), string_map("options")]),
                string("schemaString"),
                strings("partitionColumns"),
                string_map("configuration"),
                long("createdTime"),
            ],
        ),
        structure(
            "protocol",
            vec![
                Field::new("minReaderVersion", DataType::Int32, true),
                Field::new("minWriterVersion", DataType::Int32, true),
                strings("readerFeatures"),
                strings("writerFeatures"),
            ],
        ),
        structure(
            "domainMetadata",
            vec![
                string("domain"),
                string("configuration"),
                boolean("removed"),
            ],
        ),
    ];
    if v2 {
        fields.push(structure(
            "checkpointMetadata",
            vec![long("version"), string_map("tags")],
        ));
    }
    Arc::new(Schema::new(fields))
}

/// The rows of a checkpoint of `state`: protocol, metadata, app transactions,
/// domains, live files, and tombstones younger than `tombstone_cutoff_ms`.
fn checkpoint_actions(
    state: &TableState,
    tombstone_cutoff_ms: i64,
    v2: bool,
) -> impl Iterator<Item = Action> + '_ {
    let v2_metadata = v2.then(|| {
        Action::CheckpointMetadata(CheckpointMetadata {
            version: i64::try_from(state.version).unwrap_or(i64::MAX),
            tags: None,
        })
    });
    let head = [
        Action::Protocol(state.protocol.clone()),
        Action::Metadata(state.metadata.clone()),
    ]
    .into_iter()
    .chain(v2_metadata);
    let txns = state.txns.values().cloned().map(Action::Txn);
    let domains = state.domains.values().cloned().map(Action::DomainMetadata);
    let adds = state.files.iter().map(|f| {
        Action::Add(Add {
            data_change: false,
            ..f.to_add()
        })
    });
    let removes = state
        .tombstones
        .iter()
        .filter(move |r| r.deletion_timestamp.unwrap_or(0) > tombstone_cutoff_ms)
        .map(|r| {
            Action::Remove(Remove {
                data_change: false,
                stats: None,
                tags: None,
                ..r.clone()
            })
        });
    head.chain(txns).chain(domains).chain(adds).chain(removes)
}

impl DeltaLog {
    /// Writes a classic checkpoint of `state` (`<version>.checkpoint.parquet`)
    /// and points `_last_checkpoint` at it. `now_ms` dates tombstone expiry.
    /// The table stays readable whatever happens here: a checkpoint that is
    /// not complete is not visible, and the pointer is only a hint.
    ///
    /// Statistics are written as the table's properties say:
    /// `delta.checkpoint.writeStatsAsJson` (default true) keeps `add.stats`,
    /// `delta.checkpoint.writeStatsAsStruct` (default false) adds
    /// `add.stats_parsed` and `add.partitionValues_parsed` of the types in
    /// `parsed` (delta-txn's `Table::checkpoint` gives them). Without
    /// `parsed`, only JSON statistics are written, whatever the properties
    /// say, so that no statistics are lost.
    pub async fn write_checkpoint(
        &self,
        state: &TableState,
        now_ms: i64,
        parsed: Option<&ParsedColumns>,
    ) -> Result<CheckpointInfo, LogError> {
        let result = async {
            let version = state.version;
            let path = self.commit_log().path(&classic_checkpoint_name(version));
            let properties = TableProperties::parse(&state.metadata.configuration)?;
            let retention = properties.deleted_file_retention_ms;
            // typed columns only where asked and given; without them the JSON
            // statistics are kept whatever writeStatsAsJson says, so nothing is lost
            let parsed = parsed.filter(|_| properties.checkpoint_write_stats_as_struct);
            let json_stats = properties.checkpoint_write_stats_as_json || parsed.is_none();
            let failed = |reason: String| LogError::MalformedCheckpoint {
                version,
                path: path.to_string(),
                reason: format!("writing: {reason}"),
            };
            let v2 = state
                .protocol
                .has_writer_feature(&TableFeature::V2Checkpoint);
            let schema = checkpoint_schema_with(v2, json_stats, parsed);
            // JSON text rows where adds change form; serialized actions otherwise
            let text_rows = parsed.is_some() || !json_stats;
            let props = WriterProperties::builder()
                // snappy, as Spark writes them: zstd contexts cost more than they save here
                .set_compression(Compression::SNAPPY)
                .build();
            let upload = BufWriter::new(Arc::clone(self.store()), path.clone());
            let mut writer = AsyncArrowWriter::try_new(upload, Arc::clone(&schema), Some(props))
                .map_err(|e| failed(e.to_string()))?;
            let mut decoder = ReaderBuilder::new(Arc::clone(&schema))
                .with_batch_size(CHUNK)
                .build_decoder()
                .map_err(|e| failed(e.to_string()))?;
            let (mut rows, mut adds) = (0u64, 0u64);
            let mut chunk = Vec::with_capacity(CHUNK);
            let mut text = String::new();
            let mut actions =
                checkpoint_actions(state, now_ms.saturating_sub(retention), v2).peekable();
            while actions.peek().is_some() {
                chunk.clear();
                chunk.extend(actions.by_ref().take(CHUNK));
                adds += chunk.iter().filter(|a| matches!(a, Action::Add(_))).count() as u64;
                rows += chunk.len() as u64;
                if text_rows {
                    text.clear();
                    for action in &chunk {
                        push_row(&mut text, action, json_stats, parsed)
                            .map_err(|e| failed(e.to_string()))?;
                    }
                    let consumed = decoder
                        .decode(text.as_bytes())
                        .map_err(|e| failed(e.to_string()))?;
                    if consumed != text.len() {
                        return Err(failed(format!(
                            "{} of {} bytes of rows decoded",
                            consumed,
                            text.len()
                        )));
                    }
                } else {
                    decoder
                        .serialize(&chunk)
                        .map_err(|e| failed(e.to_string()))?;
                }
                if let Some(batch) = decoder.flush().map_err(|e| failed(e.to_string()))? {
                    writer
                        .write(&batch)
                        .await
                        .map_err(|e| failed(e.to_string()))?;
                }
            }
            writer.close().await.map_err(|e| failed(e.to_string()))?;
            let size_in_bytes = self
                .store()
                .head(&path)
                .await
                .map_err(|e| LogError::store(&path, e))?
                .size;
            let info = CheckpointInfo {
                version,
                size: rows,
                size_in_bytes,
                num_of_add_files: adds,
            };
            let pointer = serde_json::to_vec(&info).map_err(|e| failed(e.to_string()))?;
            self.commit_log()
                .write_pointer(LAST_CHECKPOINT, Bytes::from(pointer))
                .await?;
            Ok(info)
        }
        .await;
        self.located(result)
    }
}

/// Appends the JSON line of one checkpoint row to `out`: the action as it
/// serializes, and for an `add`, without `stats` unless `json_stats`, with
/// `stats_parsed` (the JSON statistics, which the decoder types) and
/// `partitionValues_parsed` (each value as the JSON scalar of its column's
/// type) when `parsed` is given.
fn push_row(
    out: &mut String,
    action: &Action,
    json_stats: bool,
    parsed: Option<&ParsedColumns>,
) -> Result<(), serde_json::Error> {
    let Action::Add(add) = action else {
        out.push_str(&action.to_json_line()?);
        out.push('\n');
        return Ok(());
    };
    let stats = add.stats.as_deref();
    let line = if json_stats {
        action.to_json_line()?
    } else {
        Action::Add(Add {
            stats: None,
            ..add.clone()
        })
        .to_json_line()?
    };
    // `{"add":{...}}`: the add's object is closed by the last two braces
    let open = line.strip_suffix("}}").unwrap_or(&line);
    out.push_str(open);
    if let Some(parsed) = parsed {
        out.push_str(",\"stats_parsed\":");
        // statistics that are not a JSON object are left out
        match stats.filter(|s| {
            serde_json::from_str::<serde_json::Map<String, serde_json::Value>>(s).is_ok()
        }) {
            Some(stats) => out.push_str(stats),
            None => out.push_str("null"),
        }
        if !parsed.partition_values.is_empty() {
            out.push_str(",\"partitionValues_parsed\":{");
            for (i, field) in parsed.partition_values.iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                out.push_str(&serde_json::to_string(field.name())?);
                out.push(':');
                let value = add
                    .partition_values
                    .get(field.name())
                    .and_then(|v| v.as_deref());
                out.push_str(&partition_scalar(value, field.data_type()));
            }
            out.push('}');
        }
    }
    out.push_str("}}\n");
    Ok(())
}

/// A partition value (the protocol's string form) as the JSON scalar the
/// decoder reads into a column of `data_type`; null when absent or not of
/// that type.
fn partition_scalar(value: Option<&str>, data_type: &DataType) -> String {
    let Some(value) = value else {
        return "null".to_string();
    };
    let quoted = || serde_json::Value::from(value).to_string();
    match data_type {
        // NaN and infinities are no JSON numbers; the decoder reads them quoted
        DataType::Float32 | DataType::Float64
            if value.parse::<f64>().is_ok_and(|f| !f.is_finite()) =>
        {
            quoted()
        }
        DataType::Int8
        | DataType::Int16
        | DataType::Int32
        | DataType::Int64
        | DataType::Float32
        | DataType::Float64
        | DataType::Decimal128(_, _) => {
            // numbers as written, when they are numbers
            if serde_json::from_str::<serde_json::Number>(value).is_ok() {
                value.to_string()
            } else {
                "null".to_string()
            }
        }
        DataType::Boolean => match value.to_ascii_lowercase().as_str() {
            "true" => "true".to_string(),
            "false" => "false".to_string(),
            _ => "null".to_string(),
        },
        DataType::Utf8 | DataType::Date32 | DataType::Timestamp(_, _) => quoted(),
        _ => "null".to_string(),
    }
}

/// File name of the classic checkpoint of a version.
pub fn classic_checkpoint_name(version: u64) -> String {
    format!("{version:020}.checkpoint.parquet")
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use arrow::array::{Array, AsArray};
    use arrow::datatypes::{DataType, Field, Float64Type, Int32Type, Schema};
    use arrow::json::ReaderBuilder;

    use super::partition_scalar;

    #[test]
    fn partition_values_decode_to_their_types() {
        let schema = Arc::new(Schema::new(vec![
            Field::new("f", DataType::Float64, true),
            Field::new("i", DataType::Int32, true),
            Field::new("b", DataType::Boolean, true),
        ]));
        let mut decoder = ReaderBuilder::new(schema).build_decoder().unwrap();
        let rows = [
            (Some("NaN"), Some("-7"), Some("TRUE")),
            (Some("-Infinity"), Some("x"), Some("false")),
            (Some("1.5"), None, None),
        ];
        for (f, i, b) in rows {
            let line = format!(
                "{{\"f\":{},\"i\":{},\"b\":{}}}\n",
                partition_scalar(f, &DataType::Float64),
                partition_scalar(i, &DataType::Int32),
                partition_scalar(b, &DataType::Boolean)
            );
            decoder.decode(line.as_bytes()).unwrap();
        }
        let batch = decoder.flush().unwrap().unwrap();
        let f = batch.column(0).as_primitive::<Float64Type>();
        assert!(f.value(0).is_nan());
        assert_eq!(f.value(1), f64::NEG_INFINITY);
        assert_eq!(f.value(2), 1.5);
        let i = batch.column(1).as_primitive::<Int32Type>();
        assert_eq!(i.value(0), -7);
        // not a number of the column's type: null, never a wrong value
        assert!(i.is_null(1) && i.is_null(2));
        let b = batch.column(2).as_boolean();
        assert!(b.value(0) && !b.value(1) && b.is_null(2));
    }
}
