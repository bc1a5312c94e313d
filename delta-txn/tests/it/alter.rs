//! Metadata changes without rewriting data: properties, NOT NULL, type
//! widening, column mapping, rename and drop.

use std::collections::HashMap;
use std::sync::Arc;

use arrow::array::{ArrayRef, Int32Array, Int64Array, RecordBatch, StringArray};
use delta_schema::{DataType, PrimitiveType, StructField, StructType};
use delta_txn::{CreateOptions, Table, WriteOptions};

async fn table_with_rows(name: &str, properties: &[(&str, &str)]) -> (std::path::PathBuf, Table) {
    let dir = delta_test::scratch_dir(name).unwrap();
    let schema = StructType::new([
        StructField::new("id", DataType::INTEGER, false),
        StructField::new("name", DataType::STRING, true),
    ]);
    let options = CreateOptions {
        properties: properties
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect(),
        ..Default::default()
    };
    let (table, _) = Table::create(dir.to_str().unwrap(), &schema, options)
        .await
        .unwrap();
    let batch = RecordBatch::try_from_iter([
        ("id", Arc::new(Int32Array::from(vec![1, 2])) as ArrayRef),
        (
            "name",
            Arc::new(StringArray::from(vec!["a", "b"])) as ArrayRef,
        ),
    ])
    .unwrap();
    table
        .write(
            batch.schema(),
            futures::stream::iter([Ok(batch)]),
            WriteOptions::default(),
        )
        .await
        .unwrap();
    (dir, table)
}

async fn lines(table: &Table) -> Vec<String> {
    let batches = table
        .snapshot()
        .await
        .unwrap()
        .scan()
        .collect()
        .await
        .unwrap();
    delta_test::canonical_lines(&batches).unwrap()
}

#[tokio::test]
async fn properties_set_and_unset_and_upgrade_the_protocol() {
    let (dir, table) = table_with_rows("alter-props", &[]).await;
    let outcome = table
        .set_properties(HashMap::from([
            ("owner".to_string(), "data-eng".to_string()),
            (
                "delta.enableDeletionVectors".to_string(),
                "true".to_string(),
            ),
        ]))
        .await
        .unwrap();
    let s = outcome.snapshot;
    assert_eq!(s.properties()["owner"], "data-eng");
    assert_eq!(
        (
            s.protocol().min_reader_version,
            s.protocol().min_writer_version
        ),
        (3, 7)
    );
    assert!(
        s.protocol()
            .has_reader_feature(&delta_log::TableFeature::DeletionVectors)
    );
    // the implied legacy features stay
    assert!(
        s.protocol()
            .has_writer_feature(&delta_log::TableFeature::Invariants)
    );
    let s = table
        .unset_properties(&["owner".to_string(), "absent".to_string()])
        .await
        .unwrap()
        .snapshot;
    assert!(!s.properties().contains_key("owner"));
    assert_eq!(lines(&table).await.len(), 2);
    std::fs::remove_dir_all(&dir).unwrap();
}

#[tokio::test]
async fn drop_not_null_allows_nulls() {
    let (dir, table) = table_with_rows("alter-notnull", &[]).await;
    let nulls =
        RecordBatch::try_from_iter([("id", Arc::new(Int32Array::from(vec![None])) as ArrayRef)])
            .unwrap();
    let write = |b: RecordBatch| {
        let table = table.clone();
        async move {
            table
                .write(
                    b.schema(),
                    futures::stream::iter([Ok(b)]),
                    WriteOptions::default(),
                )
                .await
        }
    };
    assert!(write(nulls.clone()).await.is_err());
    table.drop_not_null("id").await.unwrap();
    write(nulls).await.unwrap();
    assert_eq!(lines(&table).await.len(), 3);
    std::fs::remove_dir_all(&dir).unwrap();
}

#[tokio::test]
async fn type_widening_reads_old_files_upcast() {
    let (dir, table) = table_with_rows("alter-widen", &[]).await;
    let err = table
        .widen_column("id", PrimitiveType::Long)
        .await
        .unwrap_err();
    assert!(
        err.to_string().contains("type widening is not enabled"),
        "{err}"
    );
    table
        .set_properties(HashMap::from([(
            "delta.enableTypeWidening".to_string(),
            "true".to_string(),
        )]))
        .await
        .unwrap();
    let err = table
        .widen_column("name", PrimitiveType::Long)
        .await
        .unwrap_err();
    assert!(
        err.to_string().contains("not a widening Delta allows"),
        "{err}"
    );
    let s = table
        .widen_column("id", PrimitiveType::Long)
        .await
        .unwrap()
        .snapshot;
    assert!(
        s.protocol()
            .has_reader_feature(&delta_log::TableFeature::TypeWidening)
    );
    let id = s.schema().field("id").unwrap();
    assert_eq!(id.data_type, DataType::LONG);
    assert_eq!(
        id.metadata["delta.typeChanges"],
        serde_json::json!([{"fromType": "integer", "toType": "long"}])
    );
    // old file (int32) and a new one (int64) read as long
    let big = RecordBatch::try_from_iter([(
        "id",
        Arc::new(Int64Array::from(vec![5_000_000_000i64])) as ArrayRef,
    )])
    .unwrap();
    table
        .write(
            big.schema(),
            futures::stream::iter([Ok(big)]),
            WriteOptions::default(),
        )
        .await
        .unwrap();
    assert_eq!(
        lines(&table).await,
        [
            r#"{"id":1,"name":"a"}"#,
            r#"{"id":2,"name":"b"}"#,
            r#"{"id":5000000000,"name":null}"#
        ]
    );
    std::fs::remove_dir_all(&dir).unwrap();
}

#[tokio::test]
async fn merge_schema_widens_types_when_enabled() {
    let (dir, table) =
        table_with_rows("alter-merge-widen", &[("delta.enableTypeWidening", "true")]).await;
    let wide =
        RecordBatch::try_from_iter([("id", Arc::new(Int64Array::from(vec![7i64])) as ArrayRef)])
            .unwrap();
    let write = |merge_schema| {
        let table = table.clone();
        let wide = wide.clone();
        async move {
            let options = WriteOptions {
                merge_schema,
                ..Default::default()
            };
            table
                .write(wide.schema(), futures::stream::iter([Ok(wide)]), options)
                .await
        }
    };
    let err = write(false).await.unwrap_err();
    assert!(
        err.to_string()
            .contains("has type long in the data but integer in the table"),
        "{err}"
    );
    write(true).await.unwrap();
    let s = table.snapshot().await.unwrap();
    assert_eq!(s.schema().field("id").unwrap().data_type, DataType::LONG);
    assert_eq!(lines(&table).await.len(), 3);
    std::fs::remove_dir_all(&dir).unwrap();
}

#[tokio::test]
async fn column_mapping_enables_rename_and_drop_without_rewriting() {
    let (dir, table) = table_with_rows("alter-mapping", &[]).await;
    let err = table.rename_column("name", "label").await.unwrap_err();
    assert!(err.to_string().contains("needs column mapping"), "{err}");
    let files_before: Vec<String> = table
        .snapshot()
        .await
        .unwrap()
        .files()
        .iter()
        .map(|a| a.path().to_string())
        .collect();
    let s = table
        .set_properties(HashMap::from([(
            "delta.columnMapping.mode".to_string(),
            "name".to_string(),
        )]))
        .await
        .unwrap()
        .snapshot;
    assert_eq!(
        (
            s.protocol().min_reader_version,
            s.protocol().min_writer_version
        ),
        (2, 5)
    );
    assert_eq!(s.schema().field("name").unwrap().physical_name(), "name");
    assert_eq!(s.properties()["delta.columnMapping.maxColumnId"], "2");
    // existing files still read
    assert_eq!(
        lines(&table).await,
        [r#"{"id":1,"name":"a"}"#, r#"{"id":2,"name":"b"}"#]
    );
    table.rename_column("name", "label").await.unwrap();
    assert_eq!(
        lines(&table).await,
        [r#"{"id":1,"label":"a"}"#, r#"{"id":2,"label":"b"}"#]
    );
    let err = table.rename_column("label", "ID").await.unwrap_err();
    assert!(err.to_string().contains("already exists"), "{err}");
    // a new column may reuse the old name: it gets a new physical name
    let again = RecordBatch::try_from_iter([
        ("id", Arc::new(Int32Array::from(vec![3])) as ArrayRef),
        ("name", Arc::new(StringArray::from(vec!["new"])) as ArrayRef),
    ])
    .unwrap();
    let options = WriteOptions {
        merge_schema: true,
        ..Default::default()
    };
    table
        .write(again.schema(), futures::stream::iter([Ok(again)]), options)
        .await
        .unwrap();
    let s = table.snapshot().await.unwrap();
    assert_ne!(s.schema().field("name").unwrap().physical_name(), "name");
    assert_eq!(
        lines(&table).await,
        [
            r#"{"id":1,"label":"a","name":null}"#,
            r#"{"id":2,"label":"b","name":null}"#,
            r#"{"id":3,"label":null,"name":"new"}"#
        ]
    );
    table.drop_column("label").await.unwrap();
    assert_eq!(
        lines(&table).await,
        [
            r#"{"id":1,"name":null}"#,
            r#"{"id":2,"name":null}"#,
            r#"{"id":3,"name":"new"}"#
        ]
    );
    // no data file was rewritten
    let files_after: Vec<String> = table
        .snapshot()
        .await
        .unwrap()
        .files()
        .iter()
        .map(|a| a.path().to_string())
        .collect();
    assert!(files_before.iter().all(|f| files_after.contains(f)));
    std::fs::remove_dir_all(&dir).unwrap();
}
