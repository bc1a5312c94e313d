//! Statistics of written files on known data.

use std::sync::Arc;

use arrow::array::{ArrayRef, Float32Array, Float64Array, RecordBatch};
use delta_io::ColumnMapping;
use delta_io::writer::{StatsColumns, WriterOptions};
use delta_schema::{ArrayType, DataType, MapType, PrimitiveType, StructType};
use object_store::path::Path;
use serde_json::json;

use super::{batch, field, memory, write_all};

fn schema() -> StructType {
    let inner = StructType::new([field("y", DataType::STRING)]);
    let nested = StructType::new([field("x", DataType::INTEGER), field("inner", inner)]);
    StructType::new([
        field("p", DataType::STRING),
        field("i", DataType::INTEGER),
        field("l", DataType::LONG),
        field("f", DataType::DOUBLE),
        field("fl", DataType::FLOAT),
        field("dec", PrimitiveType::decimal(5, 2).unwrap()),
        field("s", DataType::STRING),
        field("dt", DataType::DATE),
        field("ts", DataType::TIMESTAMP),
        field("tn", DataType::TIMESTAMP_NTZ),
        field("bo", DataType::BOOLEAN),
        field("bi", DataType::BINARY),
        field("nested", nested),
        field("arr", ArrayType::new(DataType::INTEGER, true)),
        field(
            "mp",
            MapType::new(DataType::STRING, DataType::INTEGER, true),
        ),
        field("allnull", DataType::INTEGER),
    ])
}

const BATCH_1: &str = r#"
{"p":"x","i":3,"l":-5,"f":1.5,"fl":0.5,"dec":"1.25","s":"m","dt":"2021-06-01","ts":"2021-01-01T00:00:00.123999Z","tn":"2021-01-01T00:00:00.000999","bo":true,"bi":"00","nested":{"x":1,"inner":{"y":"q"}},"arr":[1],"mp":{"a":1}}
{"p":"x","i":null,"l":7,"f":-2.0,"dec":"-3.50","s":"aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa","ts":"1969-12-31T23:59:59.999999Z","nested":null}
"#;

const BATCH_2: &str = r#"
{"p":"x","i":-1,"f":1e10,"s":"zz","nested":{"x":null,"inner":null}}
{"p":"x","i":0,"nested":{"x":9,"inner":{"y":"a"}}}
"#;

async fn write(
    schema: &StructType,
    options: WriterOptions,
    batches: &[RecordBatch],
) -> Vec<String> {
    let adds = write_all(
        &memory(),
        &Path::from("t"),
        schema,
        &["p"],
        ColumnMapping::None,
        options,
        batches,
    )
    .await;
    adds.into_iter().map(|a| a.stats.unwrap()).collect()
}

#[tokio::test]
async fn stats_of_known_data() {
    let schema = schema();
    let batches = [batch(&schema, BATCH_1), batch(&schema, BATCH_2)];
    let all = write(&schema, WriterOptions::default(), &batches).await;
    assert_eq!(all.len(), 1);
    let text = &all[0];
    let stats: serde_json::Value = serde_json::from_str(text).unwrap();
    assert_eq!(
        stats,
        json!({
            "numRecords": 4,
            "minValues": {
                "i": -1, "l": -5, "f": -2.0, "fl": 0.5, "dec": -3.5,
                "s": "a".repeat(32),
                "dt": "2021-06-01",
                "ts": "1969-12-31T23:59:59.999Z",
                "tn": "2021-01-01T00:00:00.000",
                "nested": {"x": 1, "inner": {"y": "a"}}
            },
            "maxValues": {
                "i": 3, "l": 7, "f": 1e10, "fl": 0.5, "dec": 1.25,
                "s": "zz",
                "dt": "2021-06-01",
                "ts": "2021-01-01T00:00:00.123Z",
                "tn": "2021-01-01T00:00:00.000",
                "nested": {"x": 9, "inner": {"y": "q"}}
            },
            "nullCount": {
                "i": 1, "l": 2, "f": 1, "fl": 3, "dec": 2, "s": 1, "dt": 3, "ts": 2, "tn": 3,
                "bo": 3, "bi": 3,
                "nested": {"x": 2, "inner": {"y": 2}},
                "arr": 3, "mp": 3, "allnull": 4
            }
        })
    );
    // decimals are exact JSON numbers; keys keep the schema order
    assert!(text.contains("\"dec\":-3.50"), "{text}");
    assert!(
        text.starts_with("{\"numRecords\":4,\"minValues\":{\"i\":-1,\"l\":-5,"),
        "{text}"
    );

    // the same data in one batch gives the same statistics
    let one = batch(&schema, &format!("{BATCH_1}{BATCH_2}"));
    let again = write(&schema, WriterOptions::default(), &[one]).await;
    assert_eq!(&again[0], text);
}

#[tokio::test]
async fn strings_are_truncated_and_max_rounded_up() {
    let schema = StructType::new([field("p", DataType::STRING), field("s", DataType::STRING)]);
    let rows = [
        "a".repeat(40),
        format!("{}x", "b".repeat(40)),
        format!("{}\u{1F600}\u{FFFF}tail", "é".repeat(32)),
    ];
    let json = |s: &str| serde_json::Value::String(s.to_string());
    let lines: String = rows
        .iter()
        .map(|s| format!("{{\"p\":\"x\",\"s\":{}}}\n", json(s)))
        .collect();
    let all = write(&schema, WriterOptions::default(), &[batch(&schema, &lines)]).await;
    let stats: serde_json::Value = serde_json::from_str(&all[0]).unwrap();
    assert_eq!(stats["minValues"]["s"], json!("a".repeat(32)));
    let max = format!("{}\u{1F600}\u{FFFF}\u{FFFD}", "é".repeat(32));
    assert_eq!(stats["maxValues"]["s"], json!(max));
    for s in &rows {
        assert!(max.as_str() >= s.as_str());
    }

    // a cut max without characters past the tie-breaker
    let lines = format!("{{\"p\":\"x\",\"s\":\"{}\"}}\n", "b".repeat(40));
    let all = write(&schema, WriterOptions::default(), &[batch(&schema, &lines)]).await;
    let stats: serde_json::Value = serde_json::from_str(&all[0]).unwrap();
    assert_eq!(
        stats["maxValues"]["s"],
        json!(format!("{}\u{FFFD}", "b".repeat(32)))
    );
}

#[tokio::test]
async fn floats_without_nan_or_infinite_bounds() {
    let schema = StructType::new([
        field("p", DataType::STRING),
        field("f", DataType::DOUBLE),
        field("fl", DataType::FLOAT),
        field("g", DataType::DOUBLE),
    ]);
    let columns: Vec<ArrayRef> = vec![
        Arc::new(arrow::array::StringArray::from(vec!["x"; 3])),
        Arc::new(Float64Array::from(vec![1.0, f64::NAN, -2.5])),
        Arc::new(Float32Array::from(vec![f32::NAN, f32::NAN, f32::NAN])),
        Arc::new(Float64Array::from(vec![f64::NEG_INFINITY, 0.1, 3.0])),
    ];
    let b = RecordBatch::try_new(Arc::new(schema.to_arrow()), columns).unwrap();
    let all = write(&schema, WriterOptions::default(), &[b]).await;
    let stats: serde_json::Value = serde_json::from_str(&all[0]).unwrap();
    assert_eq!(
        stats,
        json!({
            "numRecords": 3,
            "minValues": {"f": -2.5},
            "maxValues": {"g": 3.0},
            "nullCount": {"f": 0, "fl": 0, "g": 0}
        })
    );
}

#[tokio::test]
async fn indexed_columns_follow_the_properties() {
    let schema = schema();
    let batches = [batch(&schema, BATCH_1)];
    let props = |k: &str, v: &str| {
        WriterOptions::from_table(
            &delta_log::TableProperties::parse(&[(k.to_string(), v.to_string())].into()).unwrap(),
        )
    };

    // the first two leaves of the data columns (the partition column is not one)
    let all = write(
        &schema,
        props("delta.dataSkippingNumIndexedCols", "2"),
        &batches,
    )
    .await;
    let stats: serde_json::Value = serde_json::from_str(&all[0]).unwrap();
    assert_eq!(
        stats,
        json!({
            "numRecords": 2,
            "minValues": {"i": 3, "l": -5},
            "maxValues": {"i": 3, "l": 7},
            "nullCount": {"i": 1, "l": 0}
        })
    );

    // none
    let all = write(
        &schema,
        props("delta.dataSkippingNumIndexedCols", "0"),
        &batches,
    )
    .await;
    assert_eq!(all[0], "{\"numRecords\":2}");

    // named columns, in schema order, a struct standing for its leaves
    let all = write(
        &schema,
        props("delta.dataSkippingStatsColumns", "NESTED.inner, l, arr"),
        &batches,
    )
    .await;
    let stats: serde_json::Value = serde_json::from_str(&all[0]).unwrap();
    assert_eq!(
        stats,
        json!({
            "numRecords": 2,
            "minValues": {"l": -5, "nested": {"inner": {"y": "q"}}},
            "maxValues": {"l": 7, "nested": {"inner": {"y": "q"}}},
            "nullCount": {"l": 0, "nested": {"inner": {"y": 1}}, "arr": 1}
        })
    );

    // a struct counts its leaves
    let options = WriterOptions {
        stats: StatsColumns::FirstLeaves(12),
        ..WriterOptions::default()
    };
    let all = write(&schema, options, &batches).await;
    let stats: serde_json::Value = serde_json::from_str(&all[0]).unwrap();
    assert_eq!(stats["nullCount"]["nested"], json!({"x": 1}));
    assert!(stats["nullCount"].get("arr").is_none());
}
