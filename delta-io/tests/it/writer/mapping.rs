//! Column mapping: physical names (nested too) and field ids in the files,
//! physical names in partition values and statistics, random prefixes.

use std::collections::BTreeMap;
use std::sync::Arc;

use delta_io::ColumnMapping;
use delta_io::writer::WriterOptions;
use delta_schema::{
    ArrayType, COLUMN_MAPPING_ID, COLUMN_MAPPING_PHYSICAL_NAME, DataType, MapType, StructField,
    StructType,
};
use object_store::path::Path;
use object_store::{ObjectStore, ObjectStoreExt};
use parquet::arrow::arrow_reader::ParquetRecordBatchReaderBuilder;
use parquet::schema::types::Type;
use serde_json::json;

use super::{batch, check_files, hash, memory, read_back, stats, write_all};

fn mapped(name: &str, data_type: impl Into<DataType>, id: i64) -> StructField {
    StructField::new(name, data_type, true)
        .with_metadata(COLUMN_MAPPING_ID, id)
        .with_metadata(COLUMN_MAPPING_PHYSICAL_NAME, format!("col-{id}-{name}"))
}

fn schema() -> StructType {
    let s = StructType::new([
        mapped("a", DataType::INTEGER, 4),
        mapped("b", DataType::STRING, 5),
    ]);
    let element = StructType::new([mapped("c", DataType::LONG, 7)]);
    let value = StructType::new([mapped("d", DataType::INTEGER, 9)]);
    StructType::new([
        mapped("id", DataType::LONG, 1),
        mapped("part", DataType::STRING, 2),
        mapped("s", s, 3),
        mapped("arr", ArrayType::new(element, true), 6),
        mapped("m", MapType::new(DataType::STRING, value, true), 8),
    ])
}

const ROWS: &str = r#"
{"id":1,"part":"x","s":{"a":1,"b":"p"},"arr":[{"c":10}],"m":{"k":{"d":4}}}
{"id":2,"part":"y","s":{"a":2,"b":null},"arr":[],"m":{}}
{"id":3,"part":null,"s":null,"arr":null,"m":null}
{"id":4,"part":"x","s":{"a":null,"b":"q"},"arr":[null,{"c":null}],"m":{"z":null}}
"#;

/// The Parquet schema of a file as (dotted physical path, field id) pairs.
fn parquet_fields(bytes: bytes::Bytes) -> BTreeMap<String, Option<i32>> {
    fn walk(t: &Type, prefix: &str, out: &mut BTreeMap<String, Option<i32>>) {
        for f in t.get_fields() {
            let info = f.get_basic_info();
            let path = format!("{prefix}{}", f.name());
            out.insert(path.clone(), info.has_id().then(|| info.id()));
            if f.is_group() {
                walk(f, &format!("{path}."), out);
            }
        }
    }
    let reader = ParquetRecordBatchReaderBuilder::try_new(bytes).unwrap();
    let mut out = BTreeMap::new();
    walk(reader.parquet_schema().root_schema(), "", &mut out);
    out
}

async fn write_mapped(mode: ColumnMapping) {
    let store = memory();
    let root = Path::from("t");
    let schema = schema();
    let written = batch(&schema, ROWS);
    let adds = write_all(
        &store,
        &root,
        &schema,
        &["part"],
        mode,
        WriterOptions::default(),
        std::slice::from_ref(&written),
    )
    .await;
    assert_eq!(adds.len(), 3);
    let paths = check_files(&store, &root, &adds).await;
    for add in &adds {
        // keyed by physical name; files under a random two-character prefix
        assert_eq!(
            add.partition_values.keys().collect::<Vec<_>>(),
            ["col-2-part"]
        );
        let (prefix, name) = add.path.split_once('/').unwrap();
        assert_eq!(prefix.len(), 2, "{}", add.path);
        assert!(prefix.bytes().all(|b| b.is_ascii_alphanumeric()));
        assert!(name.starts_with("part-") && !name.contains('/'));
    }
    let x = adds
        .iter()
        .find(|a| a.partition_values["col-2-part"].as_deref() == Some("x"))
        .unwrap();
    assert_eq!(
        stats(x),
        json!({
            "numRecords": 2,
            "minValues": {"col-1-id": 1, "col-3-s": {"col-4-a": 1, "col-5-b": "p"}},
            "maxValues": {"col-1-id": 4, "col-3-s": {"col-4-a": 1, "col-5-b": "q"}},
            "nullCount": {
                "col-1-id": 0,
                "col-3-s": {"col-4-a": 1, "col-5-b": 0},
                "col-6-arr": 0,
                "col-8-m": 0
            }
        })
    );

    // read back to the logical schema
    let read = read_back(&store, &root, &schema, &["part"], mode, &adds).await;
    assert_eq!(hash(&read), hash(std::slice::from_ref(&written)));

    // a plain Parquet reader sees the physical names (and ids in id mode)
    let bytes = store.get(&paths[0]).await.unwrap().bytes().await.unwrap();
    let fields = parquet_fields(bytes);
    let id = |n: i32| (mode == ColumnMapping::Id).then_some(n);
    let expected: BTreeMap<String, Option<i32>> = [
        ("col-1-id", id(1)),
        ("col-3-s", id(3)),
        ("col-3-s.col-4-a", id(4)),
        ("col-3-s.col-5-b", id(5)),
        ("col-6-arr", id(6)),
        ("col-6-arr.list", None),
        ("col-6-arr.list.element", None),
        ("col-6-arr.list.element.col-7-c", id(7)),
        ("col-8-m", id(8)),
        ("col-8-m.key_value", None),
        ("col-8-m.key_value.key", None),
        ("col-8-m.key_value.value", None),
        ("col-8-m.key_value.value.col-9-d", id(9)),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_string(), v))
    .collect();
    assert_eq!(fields, expected);
}

#[tokio::test]
async fn name_mode_writes_physical_names() {
    write_mapped(ColumnMapping::Name).await;
}

#[tokio::test]
async fn id_mode_writes_field_ids() {
    write_mapped(ColumnMapping::Id).await;
}

#[tokio::test]
async fn id_mode_files_read_after_renames() {
    // the file's names mean nothing in id mode: a schema whose physical names
    // changed (a column re-created with the same id) still finds the data by id
    let store: Arc<dyn ObjectStore> = memory();
    let root = Path::from("t");
    let schema = schema();
    let written = batch(&schema, ROWS);
    let adds = write_all(
        &store,
        &root,
        &schema,
        &["part"],
        ColumnMapping::Id,
        WriterOptions::default(),
        std::slice::from_ref(&written),
    )
    .await;
    let mut renamed = schema.clone();
    renamed.fields[0]
        .metadata
        .insert(COLUMN_MAPPING_PHYSICAL_NAME.to_string(), json!("other"));
    let read = read_back(&store, &root, &renamed, &["part"], ColumnMapping::Id, &adds).await;
    assert_eq!(hash(&read), hash(std::slice::from_ref(&written)));
    // while name mode would not find it
    let read = read_back(
        &store,
        &root,
        &renamed,
        &["part"],
        ColumnMapping::Name,
        &adds,
    )
    .await;
    assert_ne!(hash(&read), hash(std::slice::from_ref(&written)));
}
