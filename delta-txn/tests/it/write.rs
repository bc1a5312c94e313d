//! Writes: create, append and overwrite round-trip through our reader; schema
//! enforcement refuses bad data before anything is committed; schema
//! evolution by merge and by overwrite.

use std::collections::HashMap;
use std::sync::Arc;

use arrow::array::{ArrayRef, Int32Array, Int64Array, RecordBatch, StringArray, StructArray};
use arrow::datatypes::{DataType, Field, Schema, SchemaRef};
use delta_txn::{SaveMode, Table, TxnError, WriteOptions};
use futures::stream;

fn batch(columns: Vec<(&str, ArrayRef)>) -> RecordBatch {
    RecordBatch::try_from_iter(columns).unwrap()
}

fn people(ids: &[i64], cities: &[Option<&str>]) -> RecordBatch {
    batch(vec![
        ("id", Arc::new(Int64Array::from(ids.to_vec())) as ArrayRef),
        (
            "city",
            Arc::new(StringArray::from(cities.to_vec())) as ArrayRef,
        ),
    ])
}

async fn write(
    table: &Table,
    batches: Vec<RecordBatch>,
    options: WriteOptions,
) -> Result<u64, TxnError> {
    let schema: SchemaRef = batches[0].schema();
    let outcome = table
        .write(schema, stream::iter(batches.into_iter().map(Ok)), options)
        .await?;
    Ok(outcome.version)
}

async fn read(table: &Table) -> Vec<RecordBatch> {
    table
        .snapshot()
        .await
        .unwrap()
        .scan()
        .collect()
        .await
        .unwrap()
}

fn hash(batches: &[RecordBatch]) -> String {
    delta_test::canonical_hash(batches).unwrap()
}

fn rows(batches: &[RecordBatch]) -> usize {
    batches.iter().map(RecordBatch::num_rows).sum()
}

#[tokio::test]
async fn create_append_overwrite_round_trip() {
    let dir = delta_test::scratch_dir("write-roundtrip").unwrap();
    let table = Table::at(dir.to_str().unwrap()).unwrap();
    let first = people(&[1, 2, 3], &[Some("Oslo"), None, Some("New York")]);
    let options = WriteOptions {
        partition_by: Some(vec!["city".into()]),
        ..Default::default()
    };
    assert_eq!(
        write(&table, vec![first.clone()], options).await.unwrap(),
        0
    );
    assert_eq!(
        hash(&read(&table).await),
        hash(std::slice::from_ref(&first))
    );
    let snapshot = table.snapshot().await.unwrap();
    assert_eq!(snapshot.partition_columns(), ["city"]);
    assert_eq!(snapshot.files().len(), 3);
    assert!(snapshot.files().iter().all(|a| a.stats().is_some()));

    let second = people(&[4, 5], &[Some("Oslo"), Some("a/b c%d")]);
    assert_eq!(
        write(&table, vec![second.clone()], WriteOptions::default())
            .await
            .unwrap(),
        1
    );
    assert_eq!(
        hash(&read(&table).await),
        hash(&[first.clone(), second.clone()])
    );

    let third = people(&[9], &[Some("Rome")]);
    let overwrite = WriteOptions {
        mode: SaveMode::Overwrite,
        ..Default::default()
    };
    assert_eq!(
        write(&table, vec![third.clone()], overwrite).await.unwrap(),
        2
    );
    assert_eq!(hash(&read(&table).await), hash(&[third]));
    // time travel still sees the old versions
    let v1 = table
        .snapshot_at(1)
        .await
        .unwrap()
        .scan()
        .collect()
        .await
        .unwrap();
    assert_eq!(hash(&v1), hash(&[first, second]));
    let history = table.history(None).await.unwrap();
    let ops: Vec<_> = history
        .iter()
        .map(|c| {
            let info = c.commit_info.as_ref().unwrap();
            (
                info.operation().unwrap().to_string(),
                info.operation_parameters().unwrap()["mode"]
                    .as_str()
                    .unwrap()
                    .to_string(),
            )
        })
        .collect();
    assert_eq!(
        ops,
        [
            ("WRITE".to_string(), "Overwrite".to_string()),
            ("WRITE".to_string(), "Append".to_string()),
            ("WRITE".to_string(), "Append".to_string())
        ]
    );
    std::fs::remove_dir_all(&dir).unwrap();
}

/// A table with `id long not null, city string, address struct<zip int>`.
async fn strict_table(name: &str) -> (std::path::PathBuf, Table) {
    use delta_schema::{DataType as D, StructField, StructType};
    let dir = delta_test::scratch_dir(name).unwrap();
    let schema = StructType::new([
        StructField::new("id", D::LONG, false),
        StructField::new("city", D::STRING, true),
        StructField::new(
            "address",
            StructType::new([StructField::new("zip", D::INTEGER, true)]),
            true,
        ),
    ]);
    let (table, _) = Table::create(dir.to_str().unwrap(), &schema, Default::default())
        .await
        .unwrap();
    (dir, table)
}

fn address(zips: Vec<Option<i64>>) -> ArrayRef {
    Arc::new(StructArray::from(vec![(
        Arc::new(Field::new("zip", DataType::Int64, true)),
        Arc::new(Int64Array::from(zips)) as ArrayRef,
    )]))
}

#[tokio::test]
async fn schema_enforcement_refuses_bad_data_before_committing() {
    let (dir, table) = strict_table("enforce").await;
    let cases: Vec<(RecordBatch, &str)> = vec![
        (
            batch(vec![(
                "city",
                Arc::new(StringArray::from(vec!["x"])) as ArrayRef,
            )]),
            "column 'id': is not nullable but the data does not have it",
        ),
        (
            batch(vec![(
                "id",
                Arc::new(Int64Array::from(vec![Some(1), None])) as ArrayRef,
            )]),
            "column 'id': is not nullable but row 1 of the data is null",
        ),
        (
            batch(vec![(
                "id",
                Arc::new(StringArray::from(vec!["1"])) as ArrayRef,
            )]),
            "column 'id': has type string in the data but long in the table",
        ),
        (
            batch(vec![
                ("id", Arc::new(Int64Array::from(vec![1])) as ArrayRef),
                ("extra", Arc::new(Int32Array::from(vec![1])) as ArrayRef),
            ]),
            "column 'extra': is not in the table schema",
        ),
        (
            batch(vec![
                ("id", Arc::new(Int64Array::from(vec![1])) as ArrayRef),
                ("address", address(vec![Some(1)])),
            ]),
            "column 'address.zip': has type long in the data but integer in the table",
        ),
        (
            batch(vec![(
                "ID",
                Arc::new(Int64Array::from(vec![1])) as ArrayRef,
            )]),
            "column 'ID': differs from table column 'id' only by case",
        ),
    ];
    for (data, want) in cases {
        let err = write(&table, vec![data], WriteOptions::default())
            .await
            .unwrap_err();
        assert!(matches!(err, TxnError::SchemaMismatch { .. }), "{err}");
        assert!(err.to_string().contains(want), "got '{err}', want '{want}'");
        assert_eq!(table.snapshot().await.unwrap().version(), 0, "{want}");
    }
    // a null in a non-nullable column in a later batch: the earlier batch's
    // files are written but never committed
    let good = batch(vec![(
        "id",
        Arc::new(Int64Array::from(vec![1])) as ArrayRef,
    )]);
    let bad = batch(vec![(
        "id",
        Arc::new(Int64Array::from(vec![None])) as ArrayRef,
    )]);
    let err = table
        .write(
            Arc::new(Schema::new(vec![Field::new("id", DataType::Int64, true)])),
            stream::iter([Ok(good), Ok(bad)]),
            WriteOptions::default(),
        )
        .await
        .unwrap_err();
    assert!(
        err.to_string().contains("row 0 of the data is null"),
        "{err}"
    );
    assert_eq!(table.snapshot().await.unwrap().version(), 0);
    assert_eq!(rows(&read(&table).await), 0);
    std::fs::remove_dir_all(&dir).unwrap();
}

#[tokio::test]
async fn merge_schema_adds_top_level_and_nested_columns() {
    let (dir, table) = strict_table("merge").await;
    let v1 = batch(vec![
        ("id", Arc::new(Int64Array::from(vec![1])) as ArrayRef),
        (
            "city",
            Arc::new(StringArray::from(vec!["Oslo"])) as ArrayRef,
        ),
    ]);
    write(&table, vec![v1], WriteOptions::default())
        .await
        .unwrap();
    let nested = Arc::new(StructArray::from(vec![
        (
            Arc::new(Field::new("zip", DataType::Int32, true)),
            Arc::new(Int32Array::from(vec![7])) as ArrayRef,
        ),
        (
            Arc::new(Field::new("street", DataType::Utf8, true)),
            Arc::new(StringArray::from(vec!["Main"])) as ArrayRef,
        ),
    ])) as ArrayRef;
    let v2 = batch(vec![
        ("id", Arc::new(Int64Array::from(vec![2])) as ArrayRef),
        ("address", nested),
        ("score", Arc::new(Int32Array::from(vec![5])) as ArrayRef),
    ]);
    // without merge-schema: refused
    let err = write(&table, vec![v2.clone()], WriteOptions::default())
        .await
        .unwrap_err();
    assert!(err.to_string().contains("address.street"), "{err}");
    let merge = WriteOptions {
        merge_schema: true,
        ..Default::default()
    };
    assert_eq!(write(&table, vec![v2], merge).await.unwrap(), 2);
    let snapshot = table.snapshot().await.unwrap();
    let names: Vec<_> = snapshot.schema().field_names().collect();
    assert_eq!(names, ["id", "city", "address", "score"]);
    let lines = delta_test::canonical_lines(&read(&table).await).unwrap();
    assert_eq!(
        lines,
        [
            r#"{"address":null,"city":"Oslo","id":1,"score":null}"#,
            r#"{"address":{"street":"Main","zip":7},"city":null,"id":2,"score":5}"#,
        ]
    );
    std::fs::remove_dir_all(&dir).unwrap();
}

#[tokio::test]
async fn overwrite_schema_replaces_schema_and_partitioning() {
    let dir = delta_test::scratch_dir("overwrite-schema").unwrap();
    let table = Table::at(dir.to_str().unwrap()).unwrap();
    write(
        &table,
        vec![people(&[1, 2], &[Some("a"), Some("b")])],
        WriteOptions::default(),
    )
    .await
    .unwrap();
    let other = batch(vec![(
        "name",
        Arc::new(StringArray::from(vec!["x", "y"])) as ArrayRef,
    )]);
    let err = write(
        &table,
        vec![other.clone()],
        WriteOptions {
            overwrite_schema: true,
            ..Default::default()
        },
    )
    .await
    .unwrap_err();
    assert!(
        err.to_string()
            .contains("overwrite-schema needs mode overwrite"),
        "{err}"
    );
    write(
        &table,
        vec![other.clone()],
        WriteOptions {
            mode: SaveMode::Overwrite,
            overwrite_schema: true,
            partition_by: Some(vec![]),
            ..Default::default()
        },
    )
    .await
    .unwrap();
    let snapshot = table.snapshot().await.unwrap();
    assert_eq!(
        snapshot.schema().field_names().collect::<Vec<_>>(),
        ["name"]
    );
    assert_eq!(hash(&read(&table).await), hash(&[other]));
    // the old version keeps its schema
    let v0 = table.snapshot_at(0).await.unwrap();
    assert_eq!(
        v0.schema().field_names().collect::<Vec<_>>(),
        ["id", "city"]
    );
    std::fs::remove_dir_all(&dir).unwrap();
}

#[tokio::test]
async fn idempotent_writes_are_not_duplicated() {
    let dir = delta_test::scratch_dir("write-idempotent").unwrap();
    let table = Table::at(dir.to_str().unwrap()).unwrap();
    let options = |v| WriteOptions {
        app_transaction: Some(("etl".to_string(), v)),
        ..Default::default()
    };
    for v in [1, 1, 2, 2, 1] {
        write(&table, vec![people(&[v], &[Some("x")])], options(v))
            .await
            .unwrap();
    }
    let batches = read(&table).await;
    assert_eq!(rows(&batches), 2);
    assert_eq!(table.snapshot().await.unwrap().version(), 1);
    std::fs::remove_dir_all(&dir).unwrap();
}

#[tokio::test]
async fn column_mapped_tables_write_and_read_by_logical_names() {
    let dir = delta_test::scratch_dir("write-mapping").unwrap();
    let table = Table::at(dir.to_str().unwrap()).unwrap();
    let data = people(&[1, 2], &[Some("Oslo"), Some("Rome")]);
    let options = WriteOptions {
        partition_by: Some(vec!["city".into()]),
        properties: HashMap::from([("delta.columnMapping.mode".to_string(), "name".to_string())]),
        ..Default::default()
    };
    write(&table, vec![data.clone()], options).await.unwrap();
    let snapshot = table.snapshot().await.unwrap();
    assert_eq!(snapshot.protocol().min_reader_version, 2);
    let id = snapshot.schema().field("id").unwrap();
    assert!(id.physical_name().starts_with("col-"));
    // partition values are keyed by physical name
    let city = snapshot
        .schema()
        .field("city")
        .unwrap()
        .physical_name()
        .to_string();
    assert!(
        snapshot
            .files()
            .iter()
            .all(|a| a.partition_values().contains_key(&city))
    );
    assert_eq!(hash(&read(&table).await), hash(&[data]));
    std::fs::remove_dir_all(&dir).unwrap();
}
