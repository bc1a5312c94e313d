//! Checkpoints we write replay to the same state as the log they summarize.

use std::collections::BTreeMap;

use delta_log::{FileKey, Metadata, Protocol, TableState};
use serde_json::Value;

use crate::{corpus, local_log, testdata_dir};

/// The parts of a state a checkpoint must keep.
pub fn summary(
    s: &TableState,
) -> (
    Vec<FileKey>,
    Protocol,
    Metadata,
    BTreeMap<String, i64>,
    Vec<String>,
) {
    let mut files: Vec<FileKey> = s.files.iter().map(|a| a.file_key()).collect();
    files.sort();
    let txns = s.txns.iter().map(|(k, t)| (k.clone(), t.version)).collect();
    let mut domains: Vec<String> = s.domains.keys().cloned().collect();
    domains.sort();
    (files, s.protocol.clone(), s.metadata.clone(), txns, domains)
}

#[tokio::test]
async fn our_checkpoints_replay_to_the_same_state() {
    let dir = testdata_dir();
    let mut checked = 0;
    for (table, expected) in corpus() {
        let table = table.as_str();
        if !expected["expected_error"].is_null() {
            continue;
        }
        let copy = delta_test::scratch_copy(&dir.join(table), &format!("cp-{table}")).unwrap();
        let log = local_log(&copy);
        let before = log.state(None).await.unwrap();
        let info = log
            .write_checkpoint(&before, before.timestamp_ms, None)
            .await
            .unwrap();
        assert_eq!(info.version, before.version);
        assert_eq!(info.num_of_add_files as usize, before.files.len());
        // drop the commits the checkpoint replaces: the state must now come from it alone
        for v in 0..=before.version {
            let _ = std::fs::remove_file(copy.join(format!("_delta_log/{v:020}.json")));
        }
        let after = log.state(None).await.unwrap();
        assert_eq!(
            after.segment.checkpoint.as_ref().map(|c| c.0),
            Some(before.version),
            "{table}"
        );
        let (a, b) = (summary(&after), summary(&before));
        assert_eq!(a.0.len(), b.0.len(), "{table}: number of files");
        assert_eq!(a.0, b.0, "{table}: files");
        assert_eq!(a.1, b.1, "{table}: protocol");
        assert_eq!(a.2, b.2, "{table}: metadata");
        assert_eq!(a.3, b.3, "{table}: txns");
        assert_eq!(a.4, b.4, "{table}: domains");
        std::fs::remove_dir_all(&copy).unwrap();
        checked += 1;
    }
    assert!(checked > 30, "only {checked} tables checked");
}

#[tokio::test]
async fn a_damaged_last_checkpoint_pointer_is_ignored() {
    let dir = testdata_dir().join("golden-basic-with-inserts-deletes-checkpoint");
    let copy = delta_test::scratch_copy(&dir, "bad-pointer").unwrap();
    std::fs::write(copy.join("_delta_log/_last_checkpoint"), b"{not json").unwrap();
    let state = local_log(&copy).state(None).await.unwrap();
    assert_eq!(state.version, 13);
    std::fs::remove_dir_all(&copy).unwrap();
}

#[tokio::test]
async fn a_pointer_to_a_missing_checkpoint_falls_back_to_listing() {
    let dir = testdata_dir().join("golden-basic-with-inserts-deletes-checkpoint");
    let copy = delta_test::scratch_copy(&dir, "stale-pointer").unwrap();
    std::fs::write(
        copy.join("_delta_log/_last_checkpoint"),
        br#"{"version":12,"size":3}"#,
    )
    .unwrap();
    let state = local_log(&copy).state(None).await.unwrap();
    assert_eq!(state.version, 13);
    std::fs::remove_dir_all(&copy).unwrap();
}

/// `t` with dictionary-encoded strings as plain strings (the JSON reader has no
/// dictionaries).
fn without_dictionaries(t: &arrow::datatypes::DataType) -> arrow::datatypes::DataType {
    use std::sync::Arc;

    use arrow::datatypes::DataType;

    let field = |f: &arrow::datatypes::Field| {
        Arc::new(
            f.clone()
                .with_data_type(without_dictionaries(f.data_type())),
        )
    };
    match t {
        DataType::Dictionary(_, _) => DataType::Utf8,
        DataType::Struct(fields) => DataType::Struct(fields.iter().map(|f| field(f)).collect()),
        DataType::List(f) => DataType::List(field(f)),
        DataType::Map(f, sorted) => DataType::Map(field(f), *sorted),
        other => other.clone(),
    }
}

/// Writes `lines` (one action each, as JSON) as a Parquet checkpoint of version
/// `version` with the Arrow `schema`, in a fresh table directory.
pub fn write_checkpoint_file(
    name: &str,
    version: u64,
    schema: arrow::datatypes::SchemaRef,
    lines: &[&str],
) -> std::path::PathBuf {
    use std::sync::Arc;

    let dir = delta_test::scratch_dir(name).unwrap();
    std::fs::create_dir_all(dir.join("_delta_log")).unwrap();
    let plain: Vec<_> = schema
        .fields()
        .iter()
        .map(|f| {
            f.as_ref()
                .clone()
                .with_data_type(without_dictionaries(f.data_type()))
        })
        .collect();
    let mut decoder =
        arrow::json::ReaderBuilder::new(Arc::new(arrow::datatypes::Schema::new(plain)))
            .build_decoder()
            .unwrap();
    decoder.decode(lines.join("\n").as_bytes()).unwrap();
    let plain = decoder.flush().unwrap().unwrap();
    let columns = plain
        .columns()
        .iter()
        .zip(schema.fields())
        .map(|(c, f)| arrow::compute::cast(c, f.data_type()).unwrap())
        .collect();
    let batch = arrow::record_batch::RecordBatch::try_new(schema.clone(), columns).unwrap();
    let file =
        std::fs::File::create(dir.join(format!("_delta_log/{version:020}.checkpoint.parquet")))
            .unwrap();
    let mut writer = parquet::arrow::ArrowWriter::try_new(file, schema, None).unwrap();
    writer.write(&batch).unwrap();
    writer.close().unwrap();
    dir
}

/// A checkpoint in the forms other writers use (string views, large strings,
/// dictionaries, 32-bit sizes, other names for map entries, `stats_parsed`
/// without `stats`, absent optional columns) loads to the same state.
#[tokio::test]
async fn checkpoints_in_other_writers_forms_load() {
    use std::sync::Arc;

    use arrow::datatypes::{DataType, Field, Fields, Schema};

    let nullable = |name: &str, t: DataType| Field::new(name, t, true);
    let structure = |name: &str, fields: Vec<Field>| {
        Field::new(name, DataType::Struct(Fields::from(fields)), true)
    };
    let map = |name: &str, entry: &str, key: DataType, value: DataType| {
        let entries = Fields::from(vec![Field::new("k", key, false), nullable("v", value)]);
        nullable(
            name,
            DataType::Map(
                Arc::new(Field::new(entry, DataType::Struct(entries), false)),
                false,
            ),
        )
    };
    let dictionary = |key: DataType| DataType::Dictionary(Box::new(key), Box::new(DataType::Utf8));
    let schema = Arc::new(Schema::new(vec![
        structure(
            "protocol",
            vec![
                nullable("minReaderVersion", DataType::Int64),
                nullable("minWriterVersion", DataType::Int16),
            ],
        ),
        structure(
            "metaData",
            vec![
                nullable("id", DataType::LargeUtf8),
                structure(
                    "format",
                    vec![
                        nullable("provider", DataType::Utf8View),
                        map("options", "entries", DataType::Utf8, DataType::Utf8),
                    ],
                ),
                nullable("schemaString", DataType::LargeUtf8),
                nullable(
                    "partitionColumns",
                    DataType::List(Arc::new(nullable("item", DataType::Utf8View))),
                ),
                map("configuration", "key_value", DataType::Utf8, DataType::Utf8),
            ],
        ),
        structure(
            "add",
            vec![
                nullable("path", DataType::Utf8View),
                map(
                    "partitionValues",
                    "entries",
                    DataType::LargeUtf8,
                    DataType::Utf8View,
                ),
                nullable("size", DataType::Int32),
                nullable("modificationTime", DataType::Int64),
                nullable("dataChange", DataType::Boolean),
                structure(
                    "stats_parsed",
                    vec![nullable("numRecords", DataType::Int64)],
                ),
                structure(
                    "deletionVector",
                    vec![
                        nullable("storageType", dictionary(DataType::Int16)),
                        nullable("pathOrInlineDv", DataType::Utf8),
                        nullable("offset", DataType::Int32),
                        nullable("sizeInBytes", DataType::Int32),
                        nullable("cardinality", DataType::Int64),
                    ],
                ),
                nullable("clusteringProvider", dictionary(DataType::Int32)),
            ],
        ),
        structure(
            "remove",
            vec![
                nullable("path", DataType::LargeUtf8),
                nullable("deletionTimestamp", DataType::Int64),
                nullable("dataChange", DataType::Boolean),
            ],
        ),
    ]));
    let dir = write_checkpoint_file(
        "other-writers",
        3,
        schema,
        &[
            r#"{"protocol":{"minReaderVersion":3,"minWriterVersion":7}}"#,
            r#"{"metaData":{"id":"t","format":{"provider":"parquet","options":{}},"schemaString":"{\"type\":\"struct\",\"fields\":[]}","partitionColumns":["p"],"configuration":{"a":"1"}}}"#,
            r#"{"add":{"path":"p=1/a.parquet","partitionValues":{"p":"1"},"size":10,"modificationTime":5,"dataChange":false,"stats_parsed":{"numRecords":4},"clusteringProvider":"liquid"}}"#,
            r#"{"add":{"path":"p=__HIVE_DEFAULT_PARTITION__/b.parquet","partitionValues":{"p":null},"size":20,"modificationTime":6,"dataChange":false,"deletionVector":{"storageType":"u","pathOrInlineDv":"ab^-aqEH.-t@S}K{vb[*k^","offset":1,"sizeInBytes":36,"cardinality":2}}}"#,
            r#"{"remove":{"path":"c.parquet","deletionTimestamp":9,"dataChange":true}}"#,
        ],
    );
    let state = local_log(&dir).state(None).await.unwrap();
    assert_eq!(state.version, 3);
    assert_eq!(state.protocol.min_writer_version, 7);
    assert_eq!(state.metadata.partition_columns, vec!["p".to_string()]);
    assert_eq!(state.metadata.configuration["a"], "1");
    let mut files: Vec<_> = state.files.iter().map(|f| f.to_add()).collect();
    files.sort_by(|a, b| a.path.cmp(&b.path));
    let [a, b] = &files[..] else {
        panic!("{files:?}")
    };
    assert_eq!(
        (a.path.as_str(), a.size, a.modification_time),
        ("p=1/a.parquet", 10, 5)
    );
    assert_eq!(a.partition_values["p"].as_deref(), Some("1"));
    // no JSON stats column: the typed stats are read and rendered as JSON
    assert_eq!(a.stats.as_deref(), Some(r#"{"numRecords":4}"#));
    assert_eq!(a.clustering_provider.as_deref(), Some("liquid"));
    assert_eq!(a.deletion_vector, None);
    assert_eq!(b.partition_values["p"], None);
    let dv = b.deletion_vector.as_ref().unwrap();
    assert_eq!(
        (dv.unique_id(), dv.size_in_bytes, dv.cardinality),
        ("uab^-aqEH.-t@S}K{vb[*k^@1".to_string(), 36, 2)
    );
    assert_eq!(state.tombstones.len(), 1);
    assert_eq!(state.tombstones[0].path, "c.parquet");
    std::fs::remove_dir_all(&dir).unwrap();
}

/// A store that counts the read requests per file.
#[derive(Debug)]
struct CountingStore {
    inner: std::sync::Arc<dyn object_store::ObjectStore>,
    reads: std::sync::Mutex<BTreeMap<String, usize>>,
}

impl CountingStore {
    fn count(&self, path: &object_store::path::Path) {
        *self
            .reads
            .lock()
            .unwrap()
            .entry(path.to_string())
            .or_default() += 1;
    }
}

impl std::fmt::Display for CountingStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Counting({})", self.inner)
    }
}

#[async_trait::async_trait]
impl object_store::ObjectStore for CountingStore {
    async fn put_opts(
        &self,
        location: &object_store::path::Path,
        payload: object_store::PutPayload,
        opts: object_store::PutOptions,
    ) -> object_store::Result<object_store::PutResult> {
        self.inner.put_opts(location, payload, opts).await
    }

    async fn put_multipart_opts(
        &self,
        location: &object_store::path::Path,
        opts: object_store::PutMultipartOptions,
    ) -> object_store::Result<Box<dyn object_store::MultipartUpload>> {
        self.inner.put_multipart_opts(location, opts).await
    }

    async fn get_opts(
        &self,
        location: &object_store::path::Path,
        options: object_store::GetOptions,
    ) -> object_store::Result<object_store::GetResult> {
        self.count(location);
        self.inner.get_opts(location, options).await
    }

    async fn get_ranges(
        &self,
        location: &object_store::path::Path,
        ranges: &[std::ops::Range<u64>],
    ) -> object_store::Result<Vec<bytes::Bytes>> {
        self.count(location);
        self.inner.get_ranges(location, ranges).await
    }

    fn delete_stream(
        &self,
        locations: futures::stream::BoxStream<
            'static,
            object_store::Result<object_store::path::Path>,
        >,
    ) -> futures::stream::BoxStream<'static, object_store::Result<object_store::path::Path>> {
        self.inner.delete_stream(locations)
    }

    fn list(
        &self,
        prefix: Option<&object_store::path::Path>,
    ) -> futures::stream::BoxStream<'static, object_store::Result<object_store::ObjectMeta>> {
        self.inner.list(prefix)
    }

    async fn list_with_delimiter(
        &self,
        prefix: Option<&object_store::path::Path>,
    ) -> object_store::Result<object_store::ListResult> {
        self.inner.list_with_delimiter(prefix).await
    }

    async fn copy_opts(
        &self,
        from: &object_store::path::Path,
        to: &object_store::path::Path,
        options: object_store::CopyOptions,
    ) -> object_store::Result<()> {
        self.inner.copy_opts(from, to, options).await
    }
}

/// Small Parquet checkpoints (parts, V2 files and sidecars) are read with one
/// request each: the footer request brings the whole file.
#[tokio::test]
async fn small_parquet_checkpoints_take_one_request_each() {
    use std::sync::Arc;

    for table in [
        "golden-multi-part-checkpoint",
        "golden-v2-checkpoint-parquet",
        "kernel-v2-checkpoints-parquet-with-sidecars",
    ] {
        let dir = testdata_dir().join(table);
        let store = Arc::new(CountingStore {
            inner: Arc::new(object_store::local::LocalFileSystem::new()),
            reads: Default::default(),
        });
        let log = delta_log::DeltaLog::new(
            store.clone(),
            object_store::path::Path::from_absolute_path(&dir).unwrap(),
            table,
        );
        log.state(None).await.unwrap();
        let reads = store.reads.lock().unwrap();
        let parquet: Vec<_> = reads
            .iter()
            .filter(|(p, _)| p.ends_with(".parquet"))
            .collect();
        assert!(parquet.len() >= 2, "{table}: {reads:?}");
        for (path, n) in parquet {
            assert_eq!(*n, 1, "{table}: {path} read with {n} requests");
        }
    }
}

/// Statistics per file, as JSON values.
fn stats_by_path(s: &TableState) -> BTreeMap<String, Value> {
    s.files
        .iter()
        .map(|a| {
            let stats = a
                .stats()
                .map_or(Value::Null, |t| serde_json::from_str(t).unwrap());
            (a.path().to_string(), stats)
        })
        .collect()
}

#[tokio::test]
async fn statistics_kept_only_as_stats_parsed_are_read_and_kept() {
    // kernel's checkpoint at 5 has writeStatsAsJson=false: only stats_parsed
    let table = "kernel-v1-multi-part-struct-stats-only";
    let copy = delta_test::scratch_copy(&testdata_dir().join(table), "stats-parsed").unwrap();
    let log = local_log(&copy);
    let from_checkpoint = log.state(None).await.unwrap();
    assert_eq!(
        from_checkpoint.segment.checkpoint.as_ref().map(|c| c.0),
        Some(5)
    );
    // the same files from the JSON commits alone, whose adds carry JSON stats
    let commits_only = delta_test::scratch_copy(&testdata_dir().join(table), "stats-json").unwrap();
    for entry in std::fs::read_dir(commits_only.join("_delta_log"))
        .unwrap()
        .flatten()
    {
        let name = entry.file_name().to_string_lossy().to_string();
        if name.contains(".checkpoint.") || name == "_last_checkpoint" {
            std::fs::remove_file(entry.path()).unwrap();
        }
    }
    let from_json = local_log(&commits_only).state(None).await.unwrap();
    assert!(from_json.segment.checkpoint.is_none());
    let expected = stats_by_path(&from_json);
    assert!(expected.values().all(|s| s["numRecords"].is_u64()));
    assert_eq!(stats_by_path(&from_checkpoint), expected);
    // a checkpoint we write from that state keeps them
    log.write_checkpoint(&from_checkpoint, from_checkpoint.timestamp_ms, None)
        .await
        .unwrap();
    let _ = std::fs::remove_file(copy.join("_delta_log/00000000000000000005.json"));
    let rewritten = log.state(None).await.unwrap();
    assert_eq!(stats_by_path(&rewritten), expected);
    std::fs::remove_dir_all(&copy).unwrap();
    std::fs::remove_dir_all(&commits_only).unwrap();
}
