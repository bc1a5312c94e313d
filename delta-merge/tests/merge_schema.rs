//! Schema evolution in MERGE (merge-schema): `UPDATE SET *` and `INSERT *`
//! add the source's new columns, top level and nested, copy-on-write and
//! with deletion vectors, with column mapping; without it, the same
//! statements are refused or leave the schema alone, as in Delta.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    reason = "tests fail loudly"
)]

use std::collections::HashMap;
use std::io::Cursor;
use std::sync::Arc;

use arrow::array::RecordBatch;
use arrow::datatypes::{DataType, Field, Fields, Schema, SchemaRef};
use delta_expr::parse;
use delta_merge::{Clause, Merge, merge};
use delta_txn::{Table, WriteOptions};
use futures::stream;
use serde_json::{Value, json};

/// `(id, name, address {city, zip})`, or the source's shape.
fn schema(fields: Vec<Field>) -> SchemaRef {
    Arc::new(Schema::new(fields))
}

fn address(fields: Vec<Field>) -> Field {
    Field::new("address", DataType::Struct(Fields::from(fields)), true)
}

fn target_schema() -> SchemaRef {
    schema(vec![
        Field::new("id", DataType::Int64, true),
        Field::new("name", DataType::Utf8, true),
        address(vec![
            Field::new("city", DataType::Utf8, true),
            Field::new("zip", DataType::Int32, true),
        ]),
    ])
}

/// Rows given as JSON objects, in `schema`.
fn batch(schema: &SchemaRef, rows: &[Value]) -> RecordBatch {
    let text: String = rows.iter().map(|r| format!("{r}\n")).collect();
    let mut reader = arrow::json::ReaderBuilder::new(Arc::clone(schema))
        .build(Cursor::new(text))
        .unwrap();
    reader.next().unwrap().unwrap()
}

async fn target(name: &str, properties: &[(&str, &str)]) -> (std::path::PathBuf, Table) {
    let dir = delta_test::scratch_dir(name).unwrap();
    let table = Table::at(dir.to_str().unwrap()).unwrap();
    let rows = batch(
        &target_schema(),
        &[
            json!({"id": 1, "name": "ann", "address": {"city": "Oslo", "zip": 1}}),
            json!({"id": 2, "name": "bob", "address": {"city": "Rome", "zip": 2}}),
            json!({"id": 3, "name": "cy", "address": null}),
        ],
    );
    let options = WriteOptions {
        properties: properties
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect::<HashMap<_, _>>(),
        ..Default::default()
    };
    table
        .write(rows.schema(), stream::iter([Ok(rows)]), options)
        .await
        .unwrap();
    (dir, table)
}

/// The table's rows as canonical JSON, sorted.
async fn content(table: &Table) -> Vec<Value> {
    let batches = table
        .snapshot()
        .await
        .unwrap()
        .scan()
        .collect()
        .await
        .unwrap();
    delta_test::canonical_rows(&batches).unwrap()
}

fn sorted(mut rows: Vec<Value>) -> Vec<Value> {
    rows.sort_by_key(|r| r.to_string());
    rows
}

fn upsert(source: RecordBatch) -> Merge {
    Merge::new(
        source.schema(),
        vec![source],
        parse("target.id = source.id").unwrap(),
    )
    .when(Clause::MatchedUpdateAll { condition: None })
    .when(Clause::NotMatchedInsertAll { condition: None })
}

#[tokio::test]
async fn update_all_and_insert_all_add_new_columns_top_level_and_nested() {
    // the source lacks `name`, has a new top-level column and a new field
    // in `address`, and lacks `address.zip`
    let source_schema = schema(vec![
        Field::new("id", DataType::Int64, true),
        address(vec![
            Field::new("city", DataType::Utf8, true),
            Field::new("street", DataType::Utf8, true),
        ]),
        Field::new("email", DataType::Utf8, true),
    ]);
    let source = batch(
        &source_schema,
        &[
            json!({"id": 2, "address": {"city": "Bern", "street": "Main"}, "email": "b@x"}),
            json!({"id": 4, "address": null, "email": "d@x"}),
        ],
    );
    let expected = sorted(vec![
        json!({"id": 1, "name": "ann", "address": {"city": "Oslo", "zip": 1, "street": null}, "email": null}),
        // updated: `name` (not in the source) keeps its value; the struct
        // comes from the source, its missing field null
        json!({"id": 2, "name": "bob", "address": {"city": "Bern", "zip": null, "street": "Main"}, "email": "b@x"}),
        json!({"id": 3, "name": "cy", "address": null, "email": null}),
        // inserted: `name` is null
        json!({"id": 4, "name": null, "address": null, "email": "d@x"}),
    ]);
    for properties in [
        vec![],
        vec![("delta.enableDeletionVectors", "true")],
        vec![("delta.columnMapping.mode", "name")],
    ] {
        let (dir, table) = target("merge-schema", &properties).await;
        let outcome = merge(&table, upsert(source.clone()).with_merge_schema(true))
            .await
            .unwrap();
        assert!(outcome.committed, "{properties:?}");
        assert_eq!(outcome.metrics["numTargetRowsUpdated"], 1);
        assert_eq!(outcome.metrics["numTargetRowsInserted"], 1);
        let snapshot = table.snapshot().await.unwrap();
        let columns: Vec<&str> = snapshot.schema().field_names().collect();
        assert_eq!(
            columns,
            ["id", "name", "address", "email"],
            "{properties:?}"
        );
        assert_eq!(content(&table).await, expected, "{properties:?}");
        if properties
            .iter()
            .any(|(k, _)| k.starts_with("delta.columnMapping"))
        {
            // new columns, nested ones too, get ids and physical names
            let email = snapshot.schema().field("email").unwrap();
            assert!(email.column_mapping_id().is_some(), "{email:?}");
        }
        std::fs::remove_dir_all(&dir).unwrap();
    }
}

#[tokio::test]
async fn a_merge_that_changes_no_row_still_commits_the_new_schema() {
    let (dir, table) = target("merge-schema-norows", &[]).await;
    let source_schema = schema(vec![
        Field::new("id", DataType::Int64, true),
        Field::new("name", DataType::Utf8, true),
        Field::new("email", DataType::Utf8, true),
    ]);
    let source = batch(
        &source_schema,
        &[json!({"id": 9, "name": "zed", "email": "z@x"})],
    );
    let statement = Merge::new(
        source.schema(),
        vec![source],
        parse("target.id = source.id").unwrap(),
    )
    .with_merge_schema(true)
    .when(Clause::MatchedUpdateAll { condition: None });
    let before = table.snapshot().await.unwrap().version();
    let outcome = merge(&table, statement).await.unwrap();
    assert!(outcome.committed);
    assert_eq!(outcome.version, before + 1);
    let snapshot = table.snapshot().await.unwrap();
    assert!(snapshot.schema().field("email").is_some());
    assert_eq!(content(&table).await.len(), 3);
    std::fs::remove_dir_all(&dir).unwrap();
}

#[tokio::test]
async fn without_merge_schema_the_schema_stays_and_gaps_are_refused() {
    let (dir, table) = target("merge-schema-off", &[]).await;
    let version = table.snapshot().await.unwrap().version();
    // a source without `name`: UPDATE SET * cannot set it
    let lacking = schema(vec![
        Field::new("id", DataType::Int64, true),
        address(vec![
            Field::new("city", DataType::Utf8, true),
            Field::new("zip", DataType::Int32, true),
        ]),
    ]);
    let source = batch(&lacking, &[json!({"id": 2, "address": null})]);
    let err = merge(&table, upsert(source)).await.unwrap_err().to_string();
    assert!(
        err.contains("'name'") && err.contains("schema merging"),
        "{err}"
    );
    // a struct value without one of the column's fields
    let narrow = schema(vec![
        Field::new("id", DataType::Int64, true),
        Field::new("name", DataType::Utf8, true),
        address(vec![Field::new("city", DataType::Utf8, true)]),
    ]);
    let source = batch(
        &narrow,
        &[json!({"id": 2, "name": "b", "address": {"city": "X"}})],
    );
    let err = merge(&table, upsert(source)).await.unwrap_err().to_string();
    assert!(
        err.contains("'address'") && err.contains("schema merging"),
        "{err}"
    );
    // a case-only difference is refused even with schema merging
    let shouting = schema(vec![
        Field::new("id", DataType::Int64, true),
        Field::new("NAME", DataType::Utf8, true),
    ]);
    let source = batch(&shouting, &[json!({"id": 2, "NAME": "b"})]);
    let err = merge(&table, upsert(source).with_merge_schema(true))
        .await
        .unwrap_err()
        .to_string();
    assert!(err.contains("only by case"), "{err}");
    assert_eq!(table.snapshot().await.unwrap().version(), version);
    // extra source columns are left out when the schema may not change
    let extra = schema(vec![
        Field::new("id", DataType::Int64, true),
        Field::new("name", DataType::Utf8, true),
        address(vec![
            Field::new("city", DataType::Utf8, true),
            Field::new("zip", DataType::Int32, true),
        ]),
        Field::new("email", DataType::Utf8, true),
    ]);
    let source = batch(
        &extra,
        &[json!({"id": 5, "name": "eve", "address": null, "email": "e@x"})],
    );
    merge(&table, upsert(source)).await.unwrap();
    let snapshot = table.snapshot().await.unwrap();
    assert!(snapshot.schema().field("email").is_none());
    assert_eq!(content(&table).await.len(), 4);
    std::fs::remove_dir_all(&dir).unwrap();
}
