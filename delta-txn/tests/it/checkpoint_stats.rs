//! Statistics in the checkpoints we write follow the table's properties:
//! `delta.checkpoint.writeStatsAsJson` keeps `add.stats`,
//! `delta.checkpoint.writeStatsAsStruct` adds typed `add.stats_parsed` and
//! `add.partitionValues_parsed`; either way, a reader of the checkpoint gets
//! the same statistics as the commits hold.

use std::collections::BTreeMap;
use std::sync::Arc;

use arrow::array::{
    Array, ArrayRef, AsArray, Date32Array, Decimal128Array, Float64Array, Int32Array, Int64Array,
    RecordBatch, StringArray, StructArray, TimestampMicrosecondArray,
};
use arrow::datatypes::{DataType, Date32Type, Decimal128Type, Field, Fields, Int64Type};
use delta_txn::{Table, WriteOptions};
use parquet::arrow::arrow_reader::ParquetRecordBatchReaderBuilder;
use serde_json::Value;

fn batch() -> RecordBatch {
    let inner = StructArray::new(
        Fields::from(vec![Field::new("y", DataType::Int64, true)]),
        vec![Arc::new(Int64Array::from(vec![Some(5), None, Some(9)])) as ArrayRef],
        None,
    );
    RecordBatch::try_from_iter([
        ("id", Arc::new(Int64Array::from(vec![3, 1, 2])) as ArrayRef),
        ("name", Arc::new(StringArray::from(vec!["c", "a", "b"]))),
        ("x", Arc::new(Float64Array::from(vec![1.5, -2.0, 0.25]))),
        (
            "price",
            Arc::new(
                Decimal128Array::from(vec![12345, -1, 99999])
                    .with_precision_and_scale(10, 2)
                    .unwrap(),
            ),
        ),
        (
            "day",
            Arc::new(Date32Array::from(vec![18628, 18629, 18630])),
        ),
        (
            "ts",
            Arc::new(
                TimestampMicrosecondArray::from(vec![
                    1_609_459_200_123_000,
                    1_609_459_201_000_000,
                    1_609_459_202_000_000,
                ])
                .with_timezone("UTC"),
            ),
        ),
        ("s", Arc::new(inner)),
        ("part", Arc::new(Int32Array::from(vec![7, 7, 8]))),
        (
            "pday",
            Arc::new(Date32Array::from(vec![18628, 18628, 18628])),
        ),
    ])
    .unwrap()
}

fn stats_by_path(state: &delta_log::TableState) -> BTreeMap<String, Value> {
    state
        .files
        .iter()
        .map(|a| {
            let stats: Value = serde_json::from_str(a.stats().unwrap()).unwrap();
            (a.path().to_string(), stats)
        })
        .collect()
}

/// Writes the table with these properties, checkpoints it, and returns its
/// directory and the `add` column of the checkpoint file.
async fn checkpointed(
    name: &str,
    properties: &[(&str, &str)],
) -> (std::path::PathBuf, StructArray) {
    let dir = delta_test::scratch_dir(name).unwrap();
    let table = Table::at(dir.to_str().unwrap()).unwrap();
    let b = batch();
    let options = WriteOptions {
        partition_by: Some(vec!["part".into(), "pday".into()]),
        properties: properties
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect(),
        ..Default::default()
    };
    table
        .write(b.schema(), futures::stream::iter([Ok(b)]), options)
        .await
        .unwrap();
    let snapshot = table.snapshot().await.unwrap();
    let info = table.checkpoint(&snapshot).await.unwrap();
    assert_eq!(info.num_of_add_files, 2);
    let file = std::fs::File::open(dir.join("_delta_log/00000000000000000000.checkpoint.parquet"))
        .unwrap();
    let reader = ParquetRecordBatchReaderBuilder::try_new(file)
        .unwrap()
        .build()
        .unwrap();
    let batches: Vec<RecordBatch> = reader.map(|b| b.unwrap()).collect();
    let batch = arrow::compute::concat_batches(&batches[0].schema(), &batches).unwrap();
    let add = batch.column_by_name("add").unwrap().as_struct().clone();
    // the state read back from the checkpoint alone has the commit's statistics
    let before = stats_by_path(snapshot.state());
    std::fs::remove_file(dir.join("_delta_log/00000000000000000000.json")).unwrap();
    let after = Table::open(dir.to_str().unwrap())
        .await
        .unwrap()
        .snapshot()
        .await
        .unwrap();
    assert_eq!(
        after.state().segment.checkpoint.as_ref().map(|c| c.0),
        Some(0)
    );
    assert_eq!(stats_by_path(after.state()), before, "{name}");
    (dir, add)
}

#[tokio::test]
async fn default_checkpoints_carry_json_statistics_only() {
    let (dir, add) = checkpointed("cp-json-stats", &[]).await;
    assert!(add.column_by_name("stats").is_some());
    assert!(add.column_by_name("stats_parsed").is_none());
    assert!(add.column_by_name("partitionValues_parsed").is_none());
    std::fs::remove_dir_all(&dir).unwrap();
}

#[tokio::test]
async fn struct_statistics_are_typed_and_partition_values_too() {
    let (dir, add) = checkpointed(
        "cp-struct-stats",
        &[
            ("delta.checkpoint.writeStatsAsJson", "false"),
            ("delta.checkpoint.writeStatsAsStruct", "true"),
        ],
    )
    .await;
    assert!(
        add.column_by_name("stats").is_none(),
        "writeStatsAsJson=false"
    );
    let rows: Vec<usize> = (0..add.len()).filter(|&i| add.is_valid(i)).collect();
    assert_eq!(rows.len(), 2);
    let parsed = add.column_by_name("stats_parsed").unwrap().as_struct();
    let min = parsed.column_by_name("minValues").unwrap().as_struct();
    let max = parsed.column_by_name("maxValues").unwrap().as_struct();
    let nulls = parsed.column_by_name("nullCount").unwrap().as_struct();
    let partitions = add
        .column_by_name("partitionValues_parsed")
        .unwrap()
        .as_struct();
    // partition columns have no statistics; typed partition values instead
    assert!(min.column_by_name("part").is_none());
    let part = partitions
        .column_by_name("part")
        .unwrap()
        .as_primitive::<arrow::datatypes::Int32Type>();
    let pday = partitions
        .column_by_name("pday")
        .unwrap()
        .as_primitive::<Date32Type>();
    let num = parsed
        .column_by_name("numRecords")
        .unwrap()
        .as_primitive::<Int64Type>();
    for &row in &rows {
        assert_eq!(pday.value(row), 18628);
        let (records, min_id, max_id, min_price) = match part.value(row) {
            7 => (2, 1, 3, -1),
            8 => (1, 2, 2, 99999),
            other => panic!("partition {other}"),
        };
        assert_eq!(num.value(row), records);
        assert_eq!(
            min.column_by_name("id")
                .unwrap()
                .as_primitive::<Int64Type>()
                .value(row),
            min_id
        );
        assert_eq!(
            max.column_by_name("id")
                .unwrap()
                .as_primitive::<Int64Type>()
                .value(row),
            max_id
        );
        assert_eq!(
            min.column_by_name("price")
                .unwrap()
                .as_primitive::<Decimal128Type>()
                .value(row),
            min_price
        );
        assert!(matches!(
            min.column_by_name("ts").unwrap().data_type(),
            DataType::Timestamp(_, Some(_))
        ));
        assert!(matches!(
            min.column_by_name("day").unwrap().data_type(),
            DataType::Date32
        ));
        let nested = nulls.column_by_name("s").unwrap().as_struct();
        let y_nulls = nested
            .column_by_name("y")
            .unwrap()
            .as_primitive::<Int64Type>();
        assert_eq!(y_nulls.value(row), if part.value(row) == 7 { 1 } else { 0 });
    }
    std::fs::remove_dir_all(&dir).unwrap();
}
