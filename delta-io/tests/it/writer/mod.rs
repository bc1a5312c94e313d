//! The data-file writer: round trips through the reader, layout, rolling,
//! failure. Partitions, statistics and column mapping have their own modules.

mod mapping;
mod partitions;
mod slices;
mod stats;

use std::io::Cursor;
use std::sync::Arc;

use arrow::record_batch::RecordBatch;
use delta_io::writer::{DataWriter, WriterOptions};
use delta_io::{ColumnMapping, IoError, ReadPlan, read_file};
use delta_log::Add;
use delta_schema::{ArrayType, DataType, MapType, PrimitiveType, StructField, StructType};
use futures::TryStreamExt;
use object_store::memory::InMemory;
use object_store::path::Path;
use object_store::{ObjectStore, ObjectStoreExt};
use serde_json::Value;

/// An empty in-memory store.
pub fn memory() -> Arc<dyn ObjectStore> {
    Arc::new(InMemory::new())
}

/// A batch in the table's Arrow schema from JSON lines.
pub fn batch(schema: &StructType, json: &str) -> RecordBatch {
    let mut reader = arrow::json::ReaderBuilder::new(Arc::new(schema.to_arrow()))
        .build(Cursor::new(json.as_bytes().to_vec()))
        .unwrap();
    let batch = reader.next().unwrap().unwrap();
    assert!(reader.next().is_none());
    batch
}

/// A nullable field.
pub fn field(name: &str, data_type: impl Into<DataType>) -> StructField {
    StructField::new(name, data_type, true)
}

/// Writes the batches and returns the adds.
pub async fn write_all(
    store: &Arc<dyn ObjectStore>,
    root: &Path,
    schema: &StructType,
    partition_columns: &[&str],
    mapping: ColumnMapping,
    options: WriterOptions,
    batches: &[RecordBatch],
) -> Vec<Add> {
    let parts: Vec<String> = partition_columns.iter().map(|s| s.to_string()).collect();
    let mut writer = DataWriter::try_new(
        Arc::clone(store),
        root.clone(),
        schema,
        &parts,
        mapping,
        options,
    )
    .unwrap();
    for b in batches {
        writer.write(b).await.unwrap();
    }
    writer.finish().await.unwrap()
}

/// Reads every file of `adds` back in the table's logical schema.
pub async fn read_back(
    store: &Arc<dyn ObjectStore>,
    root: &Path,
    schema: &StructType,
    partition_columns: &[&str],
    mapping: ColumnMapping,
    adds: &[Add],
) -> Vec<RecordBatch> {
    let parts: Vec<String> = partition_columns.iter().map(|s| s.to_string()).collect();
    let plan = Arc::new(ReadPlan::new(schema, &parts, mapping, None).unwrap());
    let files: delta_log::ActiveFiles = adds.iter().cloned().collect();
    let mut out = Vec::new();
    for file in files.iter() {
        let stream = read_file(Arc::clone(store), root, Arc::clone(&plan), file)
            .await
            .unwrap();
        let batches: Vec<RecordBatch> = stream.try_collect().await.unwrap();
        out.extend(batches);
    }
    out
}

pub fn hash(batches: &[RecordBatch]) -> String {
    delta_test::canonical_hash(batches).unwrap()
}

/// The parsed `stats` of an add.
pub fn stats(add: &Add) -> Value {
    serde_json::from_str(add.stats.as_deref().unwrap()).unwrap()
}

/// Checks that every add names a file of its size that exists where
/// `resolve_log_path` says, and returns the store paths.
pub async fn check_files(store: &Arc<dyn ObjectStore>, root: &Path, adds: &[Add]) -> Vec<Path> {
    let mut paths = Vec::new();
    for add in adds {
        let path = delta_io::paths::resolve_log_path(root, None, &add.path).unwrap();
        let meta = store.head(&path).await.unwrap();
        assert_eq!(meta.size, u64::try_from(add.size).unwrap(), "{}", add.path);
        assert!(add.data_change);
        assert!(add.modification_time > 1_600_000_000_000);
        assert!(add.deletion_vector.is_none());
        paths.push(path);
    }
    paths
}

/// A schema with every primitive type and nested struct, list and map columns.
pub fn all_types() -> StructType {
    let inner = StructType::new([field("x", DataType::INTEGER), field("y", DataType::STRING)]);
    let element = StructType::new([field("z", DataType::LONG)]);
    StructType::new([
        field("id", DataType::LONG),
        field("i", DataType::INTEGER),
        field("s", DataType::SHORT),
        field("b", DataType::BYTE),
        field("f", DataType::FLOAT),
        field("d", DataType::DOUBLE),
        field("m", PrimitiveType::decimal(10, 2).unwrap()),
        field("bo", DataType::BOOLEAN),
        field("bi", DataType::BINARY),
        field("dt", DataType::DATE),
        field("ts", DataType::TIMESTAMP),
        field("tn", DataType::TIMESTAMP_NTZ),
        field("st", DataType::STRING),
        field("nested", inner),
        field("list", ArrayType::new(DataType::INTEGER, true)),
        field(
            "map",
            MapType::new(DataType::STRING, DataType::INTEGER, true),
        ),
        field("los", ArrayType::new(element, true)),
        field("nothing", PrimitiveType::Void),
    ])
}

pub const ALL_TYPES_ROWS: &str = r#"
{"id":1,"i":1,"s":2,"b":3,"f":1.5,"d":2.25,"m":"12.34","bo":true,"bi":"00ff","dt":"2021-01-01","ts":"2021-01-01T00:00:00.123456Z","tn":"2021-01-01T00:00:00.5","st":"x","nested":{"x":1,"y":"a"},"list":[1,null],"map":{"k":1},"los":[{"z":5}]}
{"id":2,"i":-7,"s":-2,"b":-3,"f":-0.25,"d":1e300,"m":"-0.05","bo":false,"bi":"","dt":"1969-12-31","ts":"1960-01-01T12:00:00Z","tn":"1900-01-01T00:00:00","st":"","nested":{"x":null,"y":"b"},"list":[],"map":{},"los":[]}
{"id":3}
{"id":4,"nested":null,"list":null,"map":{"a":null,"b":2},"los":[null,{"z":null}]}
"#;

/// The writer's futures can be spawned on a multi-threaded runtime.
#[allow(dead_code)]
fn futures_are_send(mut writer: DataWriter, batch: &RecordBatch) {
    fn send<T: Send>(_: T) {}
    send(writer.write(batch));
    send(writer.finish());
}

#[tokio::test]
async fn unpartitioned_round_trip() {
    let store = memory();
    let root = Path::from("warehouse/t");
    let schema = all_types();
    let batches = [
        batch(&schema, ALL_TYPES_ROWS),
        batch(&schema, ALL_TYPES_ROWS),
    ];
    let adds = write_all(
        &store,
        &root,
        &schema,
        &[],
        ColumnMapping::None,
        WriterOptions::default(),
        &batches,
    )
    .await;
    assert_eq!(adds.len(), 1);
    let add = &adds[0];
    assert!(add.partition_values.is_empty());
    assert!(add.path.starts_with("part-00000-"), "{}", add.path);
    assert!(add.path.ends_with("-c000.snappy.parquet"), "{}", add.path);
    assert_eq!(
        add.path.len(),
        "part-00000-".len() + 36 + "-c000.snappy.parquet".len()
    );
    let add_stats = stats(add);
    assert_eq!(add_stats["numRecords"], 8);
    assert_eq!(add_stats["nullCount"]["nothing"], 8);
    assert_eq!(
        add_stats["nullCount"]["nested"],
        serde_json::json!({"x": 6, "y": 4})
    );
    let paths = check_files(&store, &root, &adds).await;
    assert!(paths[0].as_ref().starts_with("warehouse/t/part-"));

    let read = read_back(&store, &root, &schema, &[], ColumnMapping::None, &adds).await;
    assert_eq!(hash(&read), hash(&batches));
    assert_eq!(read[0].schema().as_ref(), &schema.to_arrow());
}

#[tokio::test]
async fn local_directory_round_trip() {
    let dir = delta_test::scratch_dir("writer-local").unwrap();
    let store: Arc<dyn ObjectStore> =
        Arc::new(object_store::local::LocalFileSystem::new_with_prefix(&dir).unwrap());
    let root = Path::from("t");
    let schema = all_types();
    let batches = [batch(&schema, ALL_TYPES_ROWS)];
    let adds = write_all(
        &store,
        &root,
        &schema,
        &["bo"],
        ColumnMapping::None,
        WriterOptions::default(),
        &batches,
    )
    .await;
    assert_eq!(adds.len(), 3);
    check_files(&store, &root, &adds).await;
    let mut dirs: Vec<String> = std::fs::read_dir(dir.join("t"))
        .unwrap()
        .map(|e| e.unwrap().file_name().into_string().unwrap())
        .collect();
    dirs.sort();
    assert_eq!(
        dirs,
        ["bo=__HIVE_DEFAULT_PARTITION__", "bo=false", "bo=true"]
    );
    let read = read_back(&store, &root, &schema, &["bo"], ColumnMapping::None, &adds).await;
    assert_eq!(hash(&read), hash(&batches));
    std::fs::remove_dir_all(dir).unwrap();
}

#[tokio::test]
async fn files_roll_over_at_the_target_size() {
    let store = memory();
    let root = Path::from("t");
    let schema = StructType::new([field("id", DataType::LONG), field("s", DataType::STRING)]);
    let batches: Vec<RecordBatch> = (0..40)
        .map(|b| {
            let lines: String = (0..250)
                .map(|i| {
                    let id = b * 250 + i;
                    format!(
                        "{{\"id\":{id},\"s\":\"row {id} {}\"}}\n",
                        "x".repeat(id % 17)
                    )
                })
                .collect();
            batch(&schema, &lines)
        })
        .collect();
    let options = WriterOptions {
        target_file_size: 16 * 1024,
        max_row_group_rows: 1000,
        ..WriterOptions::default()
    };
    let adds = write_all(
        &store,
        &root,
        &schema,
        &[],
        ColumnMapping::None,
        options,
        &batches,
    )
    .await;
    assert!(adds.len() >= 4, "{} files", adds.len());
    check_files(&store, &root, &adds).await;
    let mut total = 0;
    for (n, add) in adds.iter().enumerate() {
        assert!(
            add.path.starts_with(&format!("part-{n:05}-")),
            "{}",
            add.path
        );
        total += stats(add)["numRecords"].as_u64().unwrap();
        // every file but the last reached the target; none is far beyond it
        assert!(add.size < 64 * 1024, "{}", add.size);
    }
    assert_eq!(total, 10_000);
    let read = read_back(&store, &root, &schema, &[], ColumnMapping::None, &adds).await;
    assert_eq!(hash(&read), hash(&batches));

    // row groups are bounded by max_row_group_rows
    let bytes = store
        .get(&delta_io::paths::resolve_log_path(&root, None, &adds[0].path).unwrap())
        .await
        .unwrap()
        .bytes()
        .await
        .unwrap();
    let reader =
        parquet::arrow::arrow_reader::ParquetRecordBatchReaderBuilder::try_new(bytes).unwrap();
    for rg in reader.metadata().row_groups() {
        assert!(rg.num_rows() <= 1000);
    }
}

#[tokio::test]
async fn files_end_with_whole_row_groups() {
    let store = memory();
    let root = Path::from("t");
    let schema = StructType::new([field("id", DataType::LONG), field("s", DataType::STRING)]);
    // batches of 700 rows: row groups of 1000 close inside them
    let batches: Vec<RecordBatch> = (0..20)
        .map(|b| {
            let lines: String = (0..700)
                .map(|i| {
                    let id = b * 700 + i;
                    format!(
                        "{{\"id\":{id},\"s\":\"row {id} {}\"}}\n",
                        "y".repeat(id % 13)
                    )
                })
                .collect();
            batch(&schema, &lines)
        })
        .collect();
    let one_group = {
        let options = WriterOptions {
            max_row_group_rows: 1000,
            ..WriterOptions::default()
        };
        let first = batch_rows(&batches, 1000);
        let adds = write_all(
            &store,
            &Path::from("probe"),
            &schema,
            &[],
            ColumnMapping::None,
            options,
            &first,
        )
        .await;
        adds[0].size as u64
    };
    // room for two and a half row groups per file
    let options = WriterOptions {
        target_file_size: one_group * 5 / 2,
        max_row_group_rows: 1000,
        ..WriterOptions::default()
    };
    let adds = write_all(
        &store,
        &root,
        &schema,
        &[],
        ColumnMapping::None,
        options,
        &batches,
    )
    .await;
    assert!(adds.len() >= 4, "{} files", adds.len());
    let mut total = 0;
    for (n, add) in adds.iter().enumerate() {
        let bytes = store
            .get(&delta_io::paths::resolve_log_path(&root, None, &add.path).unwrap())
            .await
            .unwrap()
            .bytes()
            .await
            .unwrap();
        let reader =
            parquet::arrow::arrow_reader::ParquetRecordBatchReaderBuilder::try_new(bytes).unwrap();
        let groups: Vec<i64> = reader
            .metadata()
            .row_groups()
            .iter()
            .map(|rg| rg.num_rows())
            .collect();
        if n + 1 < adds.len() {
            assert!(
                groups.iter().all(|&g| g == 1000),
                "file {n}: row groups {groups:?}"
            );
        }
        // the statistics are those of the file's own rows
        let read = read_back(
            &store,
            &root,
            &schema,
            &[],
            ColumnMapping::None,
            std::slice::from_ref(add),
        )
        .await;
        let ids: Vec<i64> = read
            .iter()
            .flat_map(|b| {
                b.column(0)
                    .as_any()
                    .downcast_ref::<arrow::array::Int64Array>()
                    .unwrap()
                    .values()
                    .to_vec()
            })
            .collect();
        let st = stats(add);
        assert_eq!(st["numRecords"].as_u64().unwrap(), ids.len() as u64);
        assert_eq!(st["minValues"]["id"].as_i64(), ids.iter().min().copied());
        assert_eq!(st["maxValues"]["id"].as_i64(), ids.iter().max().copied());
        total += ids.len();
    }
    assert_eq!(total, 14_000);
    let read = read_back(&store, &root, &schema, &[], ColumnMapping::None, &adds).await;
    assert_eq!(hash(&read), hash(&batches));
}

/// The first `rows` rows of the batches.
fn batch_rows(batches: &[RecordBatch], rows: usize) -> Vec<RecordBatch> {
    let all = arrow::compute::concat_batches(&batches[0].schema(), batches).unwrap();
    vec![all.slice(0, rows)]
}

#[tokio::test]
async fn many_partitions_with_few_open_files() {
    let store = memory();
    let root = Path::from("t");
    let schema = StructType::new([field("p", DataType::INTEGER), field("v", DataType::LONG)]);
    let batches: Vec<RecordBatch> = (0..5)
        .map(|b| {
            let lines: String = (0..100)
                .map(|i| format!("{{\"p\":{},\"v\":{}}}\n", i % 10, b * 100 + i))
                .collect();
            batch(&schema, &lines)
        })
        .collect();
    let options = WriterOptions {
        max_open_files: 3,
        ..WriterOptions::default()
    };
    let adds = write_all(
        &store,
        &root,
        &schema,
        &["p"],
        ColumnMapping::None,
        options,
        &batches,
    )
    .await;
    // 10 partitions through 3 open files: partitions get several files
    assert!(adds.len() > 10, "{} files", adds.len());
    check_files(&store, &root, &adds).await;
    for add in &adds {
        let p = add.partition_values["p"].as_deref().unwrap();
        assert!(
            add.path.starts_with(&format!("p={p}/part-")),
            "{}",
            add.path
        );
    }
    let read = read_back(&store, &root, &schema, &["p"], ColumnMapping::None, &adds).await;
    assert_eq!(hash(&read), hash(&batches));
}

#[tokio::test]
async fn compression_codec_names_the_files() {
    let store = memory();
    let root = Path::from("t");
    let schema = StructType::new([field("v", DataType::LONG)]);
    let props = [(
        "delta.parquet.compression.codec".to_string(),
        "zstd".to_string(),
    )]
    .into();
    let options = WriterOptions::from_table(&delta_log::TableProperties::parse(&props).unwrap());
    let batches = [batch(&schema, "{\"v\":1}\n{\"v\":2}\n")];
    let adds = write_all(
        &store,
        &root,
        &schema,
        &[],
        ColumnMapping::None,
        options,
        &batches,
    )
    .await;
    assert!(
        adds[0].path.ends_with("-c000.zstd.parquet"),
        "{}",
        adds[0].path
    );
    let read = read_back(&store, &root, &schema, &[], ColumnMapping::None, &adds).await;
    assert_eq!(hash(&read), hash(&batches));
}

#[tokio::test]
async fn no_rows_no_files() {
    let store = memory();
    let schema = StructType::new([field("v", DataType::LONG)]);
    let empty = RecordBatch::new_empty(Arc::new(schema.to_arrow()));
    let adds = write_all(
        &store,
        &Path::from("t"),
        &schema,
        &[],
        ColumnMapping::None,
        WriterOptions::default(),
        &[empty],
    )
    .await;
    assert!(adds.is_empty());
}

#[tokio::test]
async fn bad_input_is_refused() {
    let store = memory();
    let root = Path::from("t");
    let schema = StructType::new([field("p", DataType::BINARY), field("v", DataType::LONG)]);
    let new = |parts: &[&str]| {
        let parts: Vec<String> = parts.iter().map(|s| s.to_string()).collect();
        DataWriter::try_new(
            Arc::clone(&store),
            root.clone(),
            &schema,
            &parts,
            ColumnMapping::None,
            WriterOptions::default(),
        )
    };
    let err = new(&["nope"]).unwrap_err();
    assert!(matches!(err, IoError::NoSuchColumn { .. }), "{err}");
    let err = new(&["p", "v"]).unwrap_err();
    assert!(err.to_string().contains("not a partition column"), "{err}");

    // a batch of another schema: an error, and the writer is then unusable
    let mut writer = new(&["p"]).unwrap();
    let other = StructType::new([field("p", DataType::BINARY), field("v", DataType::INTEGER)]);
    let err = writer
        .write(&batch(&other, "{\"v\":1}\n"))
        .await
        .unwrap_err();
    assert_eq!(
        err.to_string(),
        "batch does not match the table schema at column 'v': type Int32, expected Int64"
    );
    let err = writer.finish().await.unwrap_err();
    assert!(matches!(err, IoError::WriterFailed { .. }), "{err}");

    // a binary partition value that is not UTF-8 fails part-way: no adds
    let mut writer = new(&["p"]).unwrap();
    writer
        .write(&batch(&schema, "{\"p\":\"61\",\"v\":1}\n"))
        .await
        .unwrap();
    let err = writer
        .write(&batch(&schema, "{\"p\":\"ff\",\"v\":2}\n"))
        .await
        .unwrap_err();
    assert!(
        err.to_string()
            .starts_with("cannot serialize a value of partition column 'p' (binary)"),
        "{err}"
    );
    let err = writer
        .write(&batch(&schema, "{\"v\":3}\n"))
        .await
        .unwrap_err();
    assert!(matches!(err, IoError::WriterFailed { .. }), "{err}");
    assert!(matches!(
        writer.finish().await.unwrap_err(),
        IoError::WriterFailed { .. }
    ));
}

#[tokio::test]
async fn a_store_failure_returns_no_adds() {
    let dir = delta_test::scratch_dir("writer-fail").unwrap();
    // the table root is a file: nothing can be written under it
    std::fs::write(dir.join("t"), b"not a directory").unwrap();
    let store: Arc<dyn ObjectStore> =
        Arc::new(object_store::local::LocalFileSystem::new_with_prefix(&dir).unwrap());
    let schema = StructType::new([field("v", DataType::LONG)]);
    let mut writer = DataWriter::try_new(
        store,
        Path::from("t"),
        &schema,
        &[],
        ColumnMapping::None,
        WriterOptions::default(),
    )
    .unwrap();
    let result = writer.write(&batch(&schema, "{\"v\":1}\n")).await;
    let err = match result {
        Err(e) => e,
        Ok(()) => writer.finish().await.unwrap_err(),
    };
    assert!(matches!(err, IoError::Write { .. }), "{err}");
    assert!(
        err.to_string()
            .starts_with("cannot write data file 't/part-00000-"),
        "{err}"
    );
    std::fs::remove_dir_all(dir).unwrap();
}
