//! Partitioned writes: every partition type, serialization round trips through
//! the reader's parser, nasty values in paths, several partition columns.

use std::sync::Arc;

use arrow::array::{
    ArrayRef, BinaryArray, Date32Array, Decimal128Array, Float32Array, Float64Array, Int64Array,
    StringArray, TimestampMicrosecondArray,
};
use arrow::record_batch::RecordBatch;
use delta_io::ColumnMapping;
use delta_io::partition::partition_column;
use delta_io::writer::{HIVE_DEFAULT_PARTITION, WriterOptions, serialize_partition_value};
use delta_schema::{DataType, PrimitiveType, StructType};
use object_store::ObjectStore;
use object_store::path::Path;

use super::{batch, check_files, field, hash, memory, read_back, stats, write_all};

/// A one-column batch, for the canonical comparison.
fn one(name: &str, array: ArrayRef) -> RecordBatch {
    RecordBatch::try_from_iter([(name, array)]).unwrap()
}

/// Each value serializes to a string the reader parses back to the same
/// value; empty strings (and empty binaries) come back null.
fn round_trips(data_type: DataType, array: ArrayRef, empty_as_null: &[usize]) {
    for row in 0..array.len() {
        let text = serialize_partition_value("c", array.as_ref(), row, &data_type).unwrap();
        let parsed = partition_column("c", text.as_deref(), &data_type, 1).unwrap();
        let expected = if empty_as_null.contains(&row) {
            assert_eq!(text, None);
            arrow::array::new_null_array(&data_type.to_arrow(), 1)
        } else {
            array.slice(row, 1)
        };
        assert_eq!(
            delta_test::canonical_lines(&[one("c", parsed)]).unwrap(),
            delta_test::canonical_lines(&[one("c", expected)]).unwrap(),
            "{data_type} row {row}: {text:?}"
        );
    }
}

#[test]
fn every_partition_type_round_trips_through_the_reader() {
    round_trips(
        DataType::STRING,
        Arc::new(StringArray::from(vec![
            Some("a"),
            Some(""),
            None,
            Some(" x "),
            Some("ü/=%"),
            Some(HIVE_DEFAULT_PARTITION),
        ])),
        &[1],
    );
    round_trips(
        DataType::LONG,
        Arc::new(Int64Array::from(vec![
            Some(i64::MIN),
            Some(0),
            None,
            Some(i64::MAX),
        ])),
        &[],
    );
    round_trips(
        DataType::DOUBLE,
        Arc::new(Float64Array::from(vec![
            Some(0.1),
            Some(-0.0),
            Some(1e300),
            Some(-2.5e-300),
            Some(f64::MIN_POSITIVE),
            Some(f64::NAN),
            Some(f64::INFINITY),
            Some(f64::NEG_INFINITY),
            None,
        ])),
        &[],
    );
    round_trips(
        DataType::FLOAT,
        Arc::new(Float32Array::from(vec![
            Some(1.1f32),
            Some(f32::MAX),
            Some(1e-45),
            Some(f32::NAN),
            Some(f32::NEG_INFINITY),
        ])),
        &[],
    );
    let dec = PrimitiveType::decimal(38, 10).unwrap();
    round_trips(
        dec.into(),
        Arc::new(
            Decimal128Array::from(vec![
                Some(-99_999_999_999_999_999_999_999_999_999_999_999_999i128),
                Some(1),
                Some(-1),
                Some(0),
            ])
            .with_precision_and_scale(38, 10)
            .unwrap(),
        ),
        &[],
    );
    round_trips(
        DataType::DATE,
        Arc::new(Date32Array::from(vec![
            Some(0),
            Some(-719_162),
            Some(2_932_896),
        ])),
        &[],
    );
    let micros = vec![
        Some(0),
        Some(-1),
        Some(1_631_099_471_123_456),
        Some(-62_135_596_800_000_000),
        Some(253_402_300_799_999_999),
    ];
    round_trips(
        DataType::TIMESTAMP,
        Arc::new(TimestampMicrosecondArray::from(micros.clone()).with_timezone("UTC")),
        &[],
    );
    round_trips(
        DataType::TIMESTAMP_NTZ,
        Arc::new(TimestampMicrosecondArray::from(micros)),
        &[],
    );
    round_trips(
        DataType::BINARY,
        Arc::new(BinaryArray::from(vec![
            Some(b"abc".as_ref()),
            Some(b"".as_ref()),
            Some("ü\u{1}".as_bytes()),
        ])),
        &[1],
    );

    // the formats
    let ts = TimestampMicrosecondArray::from(vec![1_631_099_471_000_001]).with_timezone("UTC");
    assert_eq!(
        serialize_partition_value("t", &ts, 0, &DataType::TIMESTAMP)
            .unwrap()
            .as_deref(),
        Some("2021-09-08T11:11:11.000001Z")
    );
    let ntz = TimestampMicrosecondArray::from(vec![1_631_099_471_500_000]);
    assert_eq!(
        serialize_partition_value("t", &ntz, 0, &DataType::TIMESTAMP_NTZ)
            .unwrap()
            .as_deref(),
        Some("2021-09-08 11:11:11.500000")
    );
    let f = Float64Array::from(vec![1e20, f64::NAN, f64::INFINITY]);
    let text = |row| serialize_partition_value("f", &f, row, &DataType::DOUBLE).unwrap();
    assert_eq!(
        [text(0), text(1), text(2)],
        [
            Some("1e20".into()),
            Some("NaN".into()),
            Some("Infinity".into())
        ]
    );
}

/// Rows of a table `(p, v)` for each partition type, nulls and duplicates
/// included; the second string is what reads back (`""` as null).
fn typed_rows() -> Vec<(DataType, Vec<&'static str>)> {
    vec![
        (
            DataType::STRING,
            vec!["\"a\"", "\"\"", "null", "\"a\"", "\"b c\""],
        ),
        (
            DataType::LONG,
            vec!["1", "-1", "null", "9223372036854775807", "1"],
        ),
        (DataType::INTEGER, vec!["0", "2147483647", "null"]),
        (DataType::SHORT, vec!["-32768", "7", "null"]),
        (DataType::BYTE, vec!["-128", "127", "null", "127"]),
        (DataType::FLOAT, vec!["1.5", "-0.0", "null", "3.4028235e38"]),
        (DataType::DOUBLE, vec!["0.1", "1e300", "-2.5e-300", "null"]),
        (
            PrimitiveType::decimal(10, 2).unwrap().into(),
            vec!["\"1.50\"", "\"-0.05\"", "null", "\"99999999.99\""],
        ),
        (DataType::BOOLEAN, vec!["true", "false", "null", "true"]),
        (DataType::BINARY, vec!["\"616263\"", "\"\"", "null"]),
        (
            DataType::DATE,
            vec!["\"2021-01-01\"", "\"1969-12-31\"", "null"],
        ),
        (
            DataType::TIMESTAMP,
            vec![
                "\"2021-01-01T00:00:00.123456Z\"",
                "\"1960-06-01T12:00:00Z\"",
                "null",
            ],
        ),
        (
            DataType::TIMESTAMP_NTZ,
            vec![
                "\"2021-01-01T10:00:00.000001\"",
                "null",
                "\"1999-12-31T23:59:59\"",
            ],
        ),
    ]
}

#[tokio::test]
async fn partitioned_on_every_primitive_type() {
    for (data_type, values) in typed_rows() {
        let store = memory();
        let root = Path::from("t");
        let schema = StructType::new([field("p", data_type.clone()), field("v", DataType::LONG)]);
        let lines: String = values
            .iter()
            .enumerate()
            .map(|(i, p)| format!("{{\"p\":{p},\"v\":{i}}}\n"))
            .collect();
        let written = batch(&schema, &lines);
        let adds = write_all(
            &store,
            &root,
            &schema,
            &["p"],
            ColumnMapping::None,
            WriterOptions::default(),
            std::slice::from_ref(&written),
        )
        .await;
        check_files(&store, &root, &adds).await;
        let mut distinct: Vec<&str> = values
            .iter()
            .map(|v| if *v == "\"\"" { "null" } else { v })
            .collect();
        distinct.sort();
        distinct.dedup();
        assert_eq!(adds.len(), distinct.len(), "{data_type}: {adds:?}");
        for add in &adds {
            let value = &add.partition_values["p"];
            let dir = add.path.split('/').next().unwrap();
            match value {
                None => assert_eq!(dir, "p=__HIVE_DEFAULT_PARTITION__"),
                Some(v) => {
                    assert!(!v.is_empty());
                    assert!(dir.starts_with("p="), "{dir}");
                }
            }
            // no statistics for partition columns
            assert!(
                stats(add)["minValues"].get("p").is_none(),
                "{:?}",
                add.stats
            );
        }
        let expected_lines: String = values
            .iter()
            .enumerate()
            .map(|(i, p)| {
                let p = if *p == "\"\"" { "null" } else { p };
                format!("{{\"p\":{p},\"v\":{i}}}\n")
            })
            .collect();
        let expected = batch(&schema, &expected_lines);
        let read = read_back(&store, &root, &schema, &["p"], ColumnMapping::None, &adds).await;
        assert_eq!(hash(&read), hash(&[expected]), "{data_type}");
    }
}

const NASTY: [&str; 16] = [
    "a b",
    "100%",
    "%25",
    "a/b",
    "x=y",
    "ünïcødé €",
    HIVE_DEFAULT_PARTITION,
    "",
    "#?:*\"'\\{}[]^<>|`",
    "\u{1}ctrl\u{7f}",
    "tab\tnew\nline",
    "emoji 😀",
    "a+b;c@d&e$f,g!h~i(j)",
    ".",
    "..",
    "_hidden",
];

async fn nasty_round_trip(store: Arc<dyn ObjectStore>, root: Path) -> Vec<delta_log::Add> {
    let schema = StructType::new([
        field("my col/=%", DataType::STRING),
        field("v", DataType::LONG),
    ]);
    let mut lines: String = NASTY
        .iter()
        .enumerate()
        .map(|(i, s)| {
            format!(
                "{{\"my col/=%\":{},\"v\":{i}}}\n",
                serde_json::Value::String(s.to_string())
            )
        })
        .collect();
    lines.push_str("{\"v\":100}\n");
    let written = batch(&schema, &lines);
    let adds = write_all(
        &store,
        &root,
        &schema,
        &["my col/=%"],
        ColumnMapping::None,
        WriterOptions::default(),
        std::slice::from_ref(&written),
    )
    .await;
    // "" joins null
    assert_eq!(adds.len(), NASTY.len());
    let paths = check_files(&store, &root, &adds).await;
    for (add, path) in adds.iter().zip(&paths) {
        let value = add.partition_values["my col/=%"].as_deref();
        let dir = path.parts().nth(root.parts().count()).unwrap();
        let expected_dir = match value {
            None => "my col%2F%3D%25=__HIVE_DEFAULT_PARTITION__".to_string(),
            Some(v) => format!("my col%2F%3D%25={}", delta_io::writer::escape_path_name(v)),
        };
        assert_eq!(dir.as_ref(), expected_dir, "{}", add.path);
        assert!(!add.path.contains(' '), "{}", add.path);
    }
    let expected_lines = lines.replace("\"my col/=%\":\"\"", "\"my col/=%\":null");
    let expected = batch(&schema, &expected_lines);
    let read = read_back(
        &store,
        &root,
        &schema,
        &["my col/=%"],
        ColumnMapping::None,
        &adds,
    )
    .await;
    assert_eq!(hash(&read), hash(&[expected]));
    adds
}

#[tokio::test]
async fn nasty_partition_values_in_memory() {
    let adds = nasty_round_trip(memory(), Path::from("t")).await;
    let by_value = |v: &str| {
        adds.iter()
            .find(|a| a.partition_values["my col/=%"].as_deref() == Some(v))
            .unwrap()
            .path
            .clone()
    };
    // Hive escaping, then URI encoding: `%` of the escapes becomes `%25`
    assert!(by_value("a b").starts_with("my%20col%252F%253D%2525=a%20b/part-"));
    assert!(by_value("100%").starts_with("my%20col%252F%253D%2525=100%2525/part-"));
    assert!(by_value("a/b").starts_with("my%20col%252F%253D%2525=a%252Fb/part-"));
    assert!(by_value("ünïcødé €").starts_with("my%20col%252F%253D%2525=ünïcødé%20€/part-"));
}

#[tokio::test]
async fn nasty_partition_values_in_a_local_directory() {
    let dir = delta_test::scratch_dir("writer-nasty").unwrap();
    let store: Arc<dyn ObjectStore> =
        Arc::new(object_store::local::LocalFileSystem::new_with_prefix(&dir).unwrap());
    let adds = nasty_round_trip(store, Path::from("tables/t")).await;
    // the directories on disk have the escaped names literally
    let mut names: Vec<String> = std::fs::read_dir(dir.join("tables/t"))
        .unwrap()
        .map(|e| e.unwrap().file_name().into_string().unwrap())
        .collect();
    names.sort();
    // the value "__HIVE_DEFAULT_PARTITION__" shares the directory of null, as
    // in Spark; the log tells them apart
    assert_eq!(names.len(), adds.len() - 1);
    assert!(
        names.contains(&"my col%2F%3D%25=a%2Fb".to_string()),
        "{names:?}"
    );
    assert!(
        names.contains(&"my col%2F%3D%25=100%25".to_string()),
        "{names:?}"
    );
    std::fs::remove_dir_all(dir).unwrap();
}

#[tokio::test]
async fn several_partition_columns_nest_in_order() {
    let store = memory();
    let root = Path::from("t");
    let schema = StructType::new([
        field("v", DataType::LONG),
        field("b", DataType::STRING),
        field("a", DataType::INTEGER),
    ]);
    let written = batch(
        &schema,
        "{\"v\":1,\"a\":1,\"b\":\"x\"}\n{\"v\":2,\"a\":1,\"b\":\"y\"}\n\
         {\"v\":3,\"a\":2,\"b\":\"x\"}\n{\"v\":4,\"a\":1,\"b\":\"x\"}\n{\"v\":5}\n",
    );
    let adds = write_all(
        &store,
        &root,
        &schema,
        &["a", "b"],
        ColumnMapping::None,
        WriterOptions::default(),
        std::slice::from_ref(&written),
    )
    .await;
    let mut dirs: Vec<String> = adds
        .iter()
        .map(|a| a.path.rsplit_once('/').unwrap().0.to_string())
        .collect();
    dirs.sort();
    assert_eq!(
        dirs,
        [
            "a=1/b=x",
            "a=1/b=y",
            "a=2/b=x",
            "a=__HIVE_DEFAULT_PARTITION__/b=__HIVE_DEFAULT_PARTITION__"
        ]
    );
    let x = adds
        .iter()
        .find(|a| a.path.starts_with("a=1/b=x/"))
        .unwrap();
    assert_eq!(stats(x)["numRecords"], 2);
    assert_eq!(
        x.partition_values,
        [
            ("a".to_string(), Some("1".to_string())),
            ("b".to_string(), Some("x".to_string()))
        ]
        .into()
    );
    let read = read_back(
        &store,
        &root,
        &schema,
        &["a", "b"],
        ColumnMapping::None,
        &adds,
    )
    .await;
    assert_eq!(hash(&read), hash(&[written]));
}

#[tokio::test]
async fn hidden_partition_directories_are_avoided() {
    let store = memory();
    let root = Path::from("t");
    let schema = StructType::new([field("_p", DataType::INTEGER), field("v", DataType::LONG)]);
    let written = batch(&schema, "{\"_p\":1,\"v\":1}\n{\"_p\":2,\"v\":2}\n");
    let adds = write_all(
        &store,
        &root,
        &schema,
        &["_p"],
        ColumnMapping::None,
        WriterOptions::default(),
        std::slice::from_ref(&written),
    )
    .await;
    for add in &adds {
        let (prefix, name) = add.path.split_once('/').unwrap();
        assert_eq!(prefix.len(), 2);
        assert!(
            prefix.bytes().all(|b| b.is_ascii_alphanumeric()),
            "{}",
            add.path
        );
        assert!(name.starts_with("part-"));
    }
    let read = read_back(&store, &root, &schema, &["_p"], ColumnMapping::None, &adds).await;
    assert_eq!(hash(&read), hash(&[written]));
}
