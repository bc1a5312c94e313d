//! The protocol's rules for writers: writer features are respected or the
//! write is refused by name (and nothing moves), append-only tables keep
//! their data, in-commit timestamp enablement is recorded, checksums are
//! never overwritten, and rebases keep what the transaction read. Lost
//! commit responses are in `lost_responses.rs`.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use arrow::array::{Int64Array, RecordBatch};
use arrow::datatypes::{DataType as ArrowType, Field, Schema};
use delta_log::{Action, Format, LogError, Metadata, Protocol};
use delta_schema::{DataType, StructField, StructType};
use delta_txn::progress::Progress;
use delta_txn::{CreateOptions, SaveMode, Table, TxnError, WriteOptions};
use serde_json::Value;

use crate::remove;

fn batch(values: &[i64]) -> RecordBatch {
    let schema = Arc::new(Schema::new(vec![Field::new("x", ArrowType::Int64, true)]));
    RecordBatch::try_new(schema, vec![Arc::new(Int64Array::from(values.to_vec()))]).unwrap()
}

async fn write(table: &Table, values: &[i64], mode: SaveMode) -> Result<u64, TxnError> {
    let b = batch(values);
    let options = WriteOptions {
        mode,
        ..Default::default()
    };
    table
        .write(b.schema(), futures::stream::iter([Ok(b)]), options)
        .await
        .map(|o| o.version)
}

pub(crate) fn x_schema(metadata: &[(&str, Value)]) -> StructType {
    let mut field = StructField::new("x", DataType::LONG, true);
    for (k, v) in metadata {
        field.metadata.insert(k.to_string(), v.clone());
    }
    StructType::new([field])
}

/// A table at version 0 written by "another writer": this protocol, schema
/// and properties, committed as they are.
async fn foreign_table(
    name: &str,
    protocol: Protocol,
    schema: &StructType,
    properties: &[(&str, &str)],
) -> (std::path::PathBuf, Table) {
    let dir = delta_test::scratch_dir(name).unwrap();
    let table = Table::at(dir.to_str().unwrap()).unwrap();
    let metadata = Metadata {
        id: "00000000-0000-0000-0000-000000000001".into(),
        name: None,
        description: None,
        format: Format::default(),
        schema_string: schema.to_json(),
        partition_columns: vec![],
        created_time: Some(0),
        configuration: properties
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect(),
    };
    table
        .log()
        .commit(0, &[Action::Protocol(protocol), Action::Metadata(metadata)])
        .await
        .unwrap();
    (dir, table)
}

fn legacy(writer: i32) -> Protocol {
    Protocol {
        min_reader_version: 1,
        min_writer_version: writer,
        reader_features: None,
        writer_features: None,
    }
}

fn parquet_files(dir: &std::path::Path) -> usize {
    std::fs::read_dir(dir)
        .unwrap()
        .filter(|e| {
            e.as_ref()
                .unwrap()
                .file_name()
                .to_string_lossy()
                .ends_with(".parquet")
        })
        .count()
}

/// A refused write names `feature`, leaves the version at 0 and writes no data.
async fn assert_refused(dir: &std::path::Path, table: &Table, feature: &str) {
    let err = write(table, &[-5], SaveMode::Append).await.unwrap_err();
    assert!(
        matches!(&err, TxnError::Log(LogError::UnsupportedFeature { feature: f, .. }) if f == feature),
        "{err}"
    );
    assert!(err.to_string().contains(feature), "{err}");
    assert_eq!(table.snapshot().await.unwrap().version(), 0);
    assert_eq!(parquet_files(dir), 0, "a refused write wrote data");
}

#[tokio::test]
async fn append_only_tables_refuse_overwrites() {
    let dir = delta_test::scratch_dir("append-only").unwrap();
    let table = Table::at(dir.to_str().unwrap()).unwrap();
    let create = WriteOptions {
        properties: [("delta.appendOnly".to_string(), "true".to_string())].into(),
        ..Default::default()
    };
    let b = batch(&[1, 2]);
    table
        .write(b.schema(), futures::stream::iter([Ok(b)]), create)
        .await
        .unwrap();
    assert_eq!(write(&table, &[3], SaveMode::Append).await.unwrap(), 1);
    let files_before = parquet_files(&dir);
    let err = write(&table, &[4], SaveMode::Overwrite).await.unwrap_err();
    assert!(
        matches!(&err, TxnError::AppendOnly { files: 2, .. }),
        "{err}"
    );
    assert!(err.to_string().contains("delta.appendOnly"), "{err}");
    assert_eq!(table.snapshot().await.unwrap().version(), 1);
    assert_eq!(parquet_files(&dir), files_before, "no data was written");
    // a transaction that removes files directly is refused the same way
    let snapshot = table.snapshot().await.unwrap();
    let mut txn = table.transaction("DELETE").await.unwrap();
    txn.remove_files(snapshot.files().iter().map(|a| remove(a.path())));
    assert!(matches!(
        txn.commit().await.unwrap_err(),
        TxnError::AppendOnly { .. }
    ));
    // turning the property off allows it again (Spark's rule)
    table
        .set_properties([("delta.appendOnly".to_string(), "false".to_string())].into())
        .await
        .unwrap();
    assert_eq!(write(&table, &[4], SaveMode::Overwrite).await.unwrap(), 3);
    std::fs::remove_dir_all(&dir).unwrap();
}

/// A write that breaks a rule names it, commits nothing and writes no data.
async fn assert_violates(dir: &std::path::Path, table: &Table, values: &[i64], rule: &str) {
    let version = table.snapshot().await.unwrap().version();
    let files = parquet_files(dir);
    let err = write(table, values, SaveMode::Append).await.unwrap_err();
    match &err {
        TxnError::ConstraintViolation { constraint, .. } => assert_eq!(constraint, rule, "{err}"),
        other => panic!("not a violation: {other}"),
    }
    assert_eq!(table.snapshot().await.unwrap().version(), version);
    assert_eq!(parquet_files(dir), files, "a refused write wrote data");
}

#[tokio::test]
async fn check_constraints_of_other_writers_are_enforced() {
    let (dir, table) = foreign_table(
        "check-constraint",
        legacy(3),
        &x_schema(&[]),
        &[("delta.constraints.XPos", "x > 0")],
    )
    .await;
    assert_violates(&dir, &table, &[3, -5, 7], "CHECK constraint xpos").await;
    let err = write(&table, &[3, -5, -6], SaveMode::Append)
        .await
        .unwrap_err();
    assert_eq!(
        err.to_string(),
        "CHECK constraint xpos (x > 0) is violated by 2 row(s), e.g. x = -5; x = -6; nothing was committed"
    );
    // null is not true: it fails too
    let b = RecordBatch::try_new(
        batch(&[]).schema(),
        vec![Arc::new(Int64Array::from(vec![Some(1), None]))],
    )
    .unwrap();
    let err = table
        .write(
            b.schema(),
            futures::stream::iter([Ok(b)]),
            WriteOptions::default(),
        )
        .await
        .unwrap_err();
    assert!(err.to_string().contains("e.g. x = null"), "{err}");
    assert_eq!(write(&table, &[1, 2], SaveMode::Append).await.unwrap(), 1);
    assert_eq!(write(&table, &[9], SaveMode::Overwrite).await.unwrap(), 2);
    assert_violates(&dir, &table, &[0], "CHECK constraint xpos").await;
    std::fs::remove_dir_all(&dir).unwrap();
}

#[tokio::test]
async fn constraints_that_cannot_be_checked_refuse_writes() {
    let (dir, table) = foreign_table(
        "check-unsupported",
        legacy(3),
        &x_schema(&[]),
        &[("delta.constraints.odd", "soundex(x) > 0")],
    )
    .await;
    assert_refused(&dir, &table, "checkConstraints").await;
    let err = write(&table, &[1], SaveMode::Append).await.unwrap_err();
    assert!(
        err.to_string().contains(
            "CHECK constraint odd (soundex(x) > 0) cannot be checked: the function soundex"
        ),
        "{err}"
    );
    std::fs::remove_dir_all(&dir).unwrap();
}

#[tokio::test]
async fn invariants_are_enforced() {
    let invariant = (
        "delta.invariants",
        Value::from(r#"{"expression":{"expression":"x > 0"}}"#),
    );
    let (dir, table) = foreign_table("invariant", legacy(2), &x_schema(&[invariant]), &[]).await;
    assert_violates(&dir, &table, &[1, 0], "invariant of column x").await;
    assert_eq!(write(&table, &[1], SaveMode::Append).await.unwrap(), 1);
    std::fs::remove_dir_all(&dir).unwrap();
}

#[tokio::test]
async fn unknown_writer_features_refuse_writes() {
    let protocol = Protocol {
        min_reader_version: 1,
        min_writer_version: 7,
        reader_features: None,
        writer_features: Some(vec!["appendOnly".into(), "fancyNewFeature".into()]),
    };
    let (dir, table) = foreign_table("unknown-feature", protocol, &x_schema(&[]), &[]).await;
    assert_refused(&dir, &table, "fancyNewFeature").await;
    std::fs::remove_dir_all(&dir).unwrap();
}

#[tokio::test]
async fn generated_and_identity_columns_refuse_writes() {
    let cases = [
        (
            "generated",
            4,
            ("delta.generationExpression", Value::from("y + 1")),
            "generatedColumns",
        ),
        (
            "identity",
            6,
            ("delta.identity.start", Value::from(1)),
            "identityColumns",
        ),
    ];
    for (name, writer, field_metadata, feature) in cases {
        let (dir, table) =
            foreign_table(name, legacy(writer), &x_schema(&[field_metadata]), &[]).await;
        assert_refused(&dir, &table, feature).await;
        std::fs::remove_dir_all(&dir).unwrap();
    }
    // the same legacy versions without such columns are written to
    let (dir, table) = foreign_table("legacy-6", legacy(6), &x_schema(&[]), &[]).await;
    assert_eq!(write(&table, &[1], SaveMode::Append).await.unwrap(), 1);
    std::fs::remove_dir_all(&dir).unwrap();
}

#[tokio::test]
async fn named_features_without_a_writer_refuse_writes() {
    for feature in [
        "rowTracking",
        "clustering",
        "icebergCompatV2",
        "catalogManaged",
    ] {
        let protocol = Protocol {
            min_reader_version: 1,
            min_writer_version: 7,
            reader_features: None,
            writer_features: Some(vec![feature.into()]),
        };
        let (dir, table) = foreign_table(feature, protocol, &x_schema(&[]), &[]).await;
        assert_refused(&dir, &table, feature).await;
        std::fs::remove_dir_all(&dir).unwrap();
    }
    let (dir, table) = foreign_table("writer-8", legacy(8), &x_schema(&[]), &[]).await;
    let err = write(&table, &[1], SaveMode::Append).await.unwrap_err();
    assert!(err.to_string().contains("minWriterVersion 8"), "{err}");
    std::fs::remove_dir_all(&dir).unwrap();
}

#[tokio::test]
async fn bad_property_values_are_refused_when_set() {
    let dir = delta_test::scratch_dir("bad-property").unwrap();
    let err = Table::create(
        dir.to_str().unwrap(),
        &x_schema(&[]),
        CreateOptions {
            properties: [("delta.checkpointInterval".to_string(), "often".to_string())].into(),
            ..Default::default()
        },
    )
    .await
    .unwrap_err();
    assert!(
        matches!(&err, TxnError::Log(LogError::InvalidProperty { key, .. }) if key == "delta.checkpointInterval"),
        "{err}"
    );
    assert!(!dir.join("_delta_log").exists() || parquet_files(&dir) == 0);
    std::fs::remove_dir_all(&dir).ok();
}

#[tokio::test]
async fn enabling_in_commit_timestamps_records_when() {
    let dir = delta_test::scratch_dir("ict-enable").unwrap();
    let (table, _) = Table::create(
        dir.to_str().unwrap(),
        &x_schema(&[]),
        CreateOptions::default(),
    )
    .await
    .unwrap();
    write(&table, &[1], SaveMode::Append).await.unwrap();
    let outcome = table
        .set_properties(
            [(
                "delta.enableInCommitTimestamps".to_string(),
                "true".to_string(),
            )]
            .into(),
        )
        .await
        .unwrap();
    assert_eq!(outcome.version, 2);
    let commit: Vec<Value> =
        std::fs::read_to_string(dir.join("_delta_log/00000000000000000002.json"))
            .unwrap()
            .lines()
            .map(|l| serde_json::from_str(l).unwrap())
            .collect();
    let ict = commit[0]["commitInfo"]["inCommitTimestamp"]
        .as_i64()
        .unwrap();
    let config =
        &commit.iter().find(|a| a.get("metaData").is_some()).unwrap()["metaData"]["configuration"];
    assert_eq!(config["delta.inCommitTimestampEnablementVersion"], "2");
    assert_eq!(
        config["delta.inCommitTimestampEnablementTimestamp"],
        ict.to_string()
    );
    // the next commits keep them as they are
    write(&table, &[2], SaveMode::Append).await.unwrap();
    let props = table.snapshot().await.unwrap().properties().clone();
    assert_eq!(props["delta.inCommitTimestampEnablementVersion"], "2");
    // a table created with them on needs no enablement version
    let dir2 = delta_test::scratch_dir("ict-create").unwrap();
    let (table2, _) = Table::create(
        dir2.to_str().unwrap(),
        &x_schema(&[]),
        CreateOptions {
            properties: [(
                "delta.enableInCommitTimestamps".to_string(),
                "true".to_string(),
            )]
            .into(),
            ..Default::default()
        },
    )
    .await
    .unwrap();
    let props = table2.snapshot().await.unwrap().properties().clone();
    assert!(!props.contains_key("delta.inCommitTimestampEnablementVersion"));
    std::fs::remove_dir_all(&dir).unwrap();
    std::fs::remove_dir_all(&dir2).unwrap();
}

#[tokio::test]
async fn checksums_are_never_overwritten_and_carry_ict_only_when_on() {
    // the feature listed but not enabled: no inCommitTimestampOpt
    let protocol = Protocol {
        min_reader_version: 1,
        min_writer_version: 7,
        reader_features: None,
        writer_features: Some(vec!["inCommitTimestamp".into()]),
    };
    let (dir, table) = foreign_table("crc", protocol, &x_schema(&[]), &[]).await;
    let crc_path = dir.join("_delta_log/00000000000000000001.crc");
    write(&table, &[1], SaveMode::Append).await.unwrap();
    let crc: Value = serde_json::from_str(&std::fs::read_to_string(&crc_path).unwrap()).unwrap();
    assert!(crc.get("inCommitTimestampOpt").is_none(), "{crc}");
    assert_eq!(crc["numFiles"], 1);
    // writing the checksum of version 1 again leaves the first one
    let mut state = table.snapshot().await.unwrap().state().clone();
    state.files = delta_log::ActiveFiles::new();
    table.log().write_checksum(&state, None).await.unwrap();
    let again: Value = serde_json::from_str(&std::fs::read_to_string(&crc_path).unwrap()).unwrap();
    assert_eq!(again, crc);
    std::fs::remove_dir_all(&dir).unwrap();
}

#[tokio::test]
async fn ict_set_before_the_protocol_had_it_records_its_enablement() {
    // another engine set the property on a (1, 2) table, without the feature
    let (dir, table) = foreign_table(
        "ict-late",
        legacy(2),
        &x_schema(&[]),
        &[("delta.enableInCommitTimestamps", "true")],
    )
    .await;
    // our next metadata change upgrades the protocol: ICT starts here
    let outcome = table
        .set_properties([("user.note".to_string(), "x".to_string())].into())
        .await
        .unwrap();
    assert_eq!(outcome.version, 1);
    let s = table.snapshot().await.unwrap();
    assert!(
        s.protocol()
            .has_writer_feature(&delta_log::TableFeature::InCommitTimestamp)
    );
    assert_eq!(
        s.properties()["delta.inCommitTimestampEnablementVersion"],
        "1"
    );
    std::fs::remove_dir_all(&dir).unwrap();
}

#[tokio::test]
async fn checkpoints_are_refused_like_writes() {
    let protocol = Protocol {
        min_reader_version: 1,
        min_writer_version: 7,
        reader_features: None,
        writer_features: Some(vec!["fancyNewFeature".into()]),
    };
    let (dir, table) = foreign_table("checkpoint-refused", protocol, &x_schema(&[]), &[]).await;
    let snapshot = table.snapshot().await.unwrap();
    let err = table.checkpoint(&snapshot).await.unwrap_err();
    assert!(err.to_string().contains("fancyNewFeature"), "{err}");
    assert!(
        !dir.join("_delta_log/00000000000000000000.checkpoint.parquet")
            .exists()
    );
    std::fs::remove_dir_all(&dir).unwrap();
}

#[tokio::test]
async fn a_log_with_only_an_incomplete_checkpoint_is_not_written_over() {
    let dir = delta_test::scratch_dir("only-a-part").unwrap();
    std::fs::create_dir_all(dir.join("_delta_log")).unwrap();
    std::fs::write(
        dir.join("_delta_log/00000000000000000010.checkpoint.0000000001.0000000002.parquet"),
        b"PAR1",
    )
    .unwrap();
    let table = Table::at(dir.to_str().unwrap()).unwrap();
    assert!(write(&table, &[1], SaveMode::Append).await.is_err());
    assert!(!dir.join("_delta_log/00000000000000000000.json").exists());
    std::fs::remove_dir_all(&dir).unwrap();
}

#[tokio::test]
async fn write_on_refuses_another_tables_snapshot() {
    let (dir_a, a) = foreign_table("snap-a", legacy(2), &x_schema(&[]), &[]).await;
    let (dir_b, b) = foreign_table("snap-b", legacy(2), &x_schema(&[]), &[]).await;
    let snapshot_a = a.snapshot().await.unwrap();
    let data = batch(&[1]);
    let err = b
        .write_on(
            Some(snapshot_a),
            data.schema(),
            futures::stream::iter([Ok(data.clone())]),
            WriteOptions::default(),
        )
        .await
        .unwrap_err();
    assert!(matches!(err, TxnError::InvalidArgument { .. }), "{err}");
    assert_eq!(b.snapshot().await.unwrap().version(), 0);
    std::fs::remove_dir_all(&dir_a).unwrap();
    std::fs::remove_dir_all(&dir_b).unwrap();
}

#[tokio::test]
async fn constraints_on_nested_fields_of_our_tables() {
    use arrow::array::{ArrayRef, StructArray};
    let dir = delta_test::scratch_dir("nested-constraint").unwrap();
    let inner = StructType::new([StructField::new("a", DataType::LONG, true)]);
    let schema = StructType::new([
        StructField::new("id", DataType::LONG, true),
        StructField::new("s", DataType::Struct(Box::new(inner)), true),
    ]);
    let (table, _) = Table::create(
        dir.to_str().unwrap(),
        &schema,
        CreateOptions {
            properties: [(
                "delta.constraints.positive".to_string(),
                "s.a > 0".to_string(),
            )]
            .into(),
            ..Default::default()
        },
    )
    .await
    .unwrap();
    let protocol = table.snapshot().await.unwrap().protocol().clone();
    assert!(protocol.min_writer_version >= 3, "{protocol:?}");
    let rows = |a: Vec<Option<i64>>, valid: Vec<bool>| {
        let n = a.len();
        let s = StructArray::new(
            vec![Arc::new(Field::new("a", ArrowType::Int64, true))].into(),
            vec![Arc::new(Int64Array::from(a)) as ArrayRef],
            Some(valid.into()),
        );
        RecordBatch::try_from_iter([
            (
                "id",
                Arc::new(Int64Array::from_iter_values(0..n as i64)) as ArrayRef,
            ),
            ("s", Arc::new(s) as ArrayRef),
        ])
        .unwrap()
    };
    let write = |b: RecordBatch| {
        table.write(
            b.schema(),
            futures::stream::iter([Ok(b)]),
            WriteOptions::default(),
        )
    };
    assert_eq!(
        write(rows(vec![Some(1), Some(2)], vec![true, true]))
            .await
            .unwrap()
            .version,
        1
    );
    let err = write(rows(vec![Some(1), Some(-2)], vec![true, true]))
        .await
        .unwrap_err();
    assert!(err.to_string().contains("e.g. s.a = -2"), "{err}");
    // a null struct has a null field: not true, a violation
    let err = write(rows(vec![Some(1), Some(5)], vec![true, false]))
        .await
        .unwrap_err();
    assert!(err.to_string().contains("e.g. s.a = null"), "{err}");
    assert_eq!(table.snapshot().await.unwrap().version(), 1);
    std::fs::remove_dir_all(&dir).unwrap();
}

#[tokio::test]
async fn adding_a_constraint_checks_the_existing_rows() {
    let dir = delta_test::scratch_dir("add-constraint").unwrap();
    let table = Table::at(dir.to_str().unwrap()).unwrap();
    assert_eq!(
        write(&table, &[1, 5, -2], SaveMode::Append).await.unwrap(),
        0
    );
    assert_eq!(write(&table, &[-7, 9], SaveMode::Append).await.unwrap(), 1);
    let err = table.add_constraint("Positive", "x > 0").await.unwrap_err();
    assert_eq!(
        err.to_string(),
        "CHECK constraint positive (x > 0) is violated by 2 row(s), e.g. x = -2; x = -7; nothing was committed"
    );
    assert_eq!(table.snapshot().await.unwrap().version(), 1);
    // one that holds is committed, with the feature it needs; the progress
    // learns the number of rows and sees every one checked
    #[derive(Default)]
    struct Counted(AtomicU64, AtomicU64);
    impl Progress for Counted {
        fn total(&self, units: u64) {
            self.0.store(units, Ordering::Relaxed);
        }
        fn advance(&self, units: u64) {
            self.1.fetch_add(units, Ordering::Relaxed);
        }
    }
    let progress = Counted::default();
    let outcome = table
        .add_constraint_with("Small", "x < 100", &progress)
        .await
        .unwrap();
    assert_eq!(progress.0.load(Ordering::Relaxed), 5);
    assert_eq!(progress.1.load(Ordering::Relaxed), 5);
    assert_eq!(outcome.version, 2);
    let protocol = outcome.snapshot.protocol().clone();
    assert!(protocol.min_writer_version >= 3, "{protocol:?}");
    assert_eq!(
        outcome.snapshot.properties()["delta.constraints.small"],
        "x < 100"
    );
    let err = write(&table, &[100], SaveMode::Append).await.unwrap_err();
    assert!(matches!(err, TxnError::ConstraintViolation { .. }), "{err}");
    // names are case-insensitive; a second one of a name is refused
    let err = table.add_constraint("SMALL", "x < 5").await.unwrap_err();
    assert!(
        err.to_string().contains("already has a constraint 'small'"),
        "{err}"
    );
    let err = table.add_constraint("bad name", "x < 5").await.unwrap_err();
    assert!(err.to_string().contains("not a constraint name"), "{err}");
    let err = table.add_constraint("typo", "y < 5").await.unwrap_err();
    assert!(err.to_string().contains("unknown column 'y'"), "{err}");
    // a constraint is not a property to set or unset by hand
    let err = table
        .set_properties([("delta.constraints.z".to_string(), "x > 0".to_string())].into())
        .await
        .unwrap_err();
    assert!(err.to_string().contains("add_constraint"), "{err}");
    // dropping it lifts the rule
    assert_eq!(table.drop_constraint("Small").await.unwrap().version, 3);
    assert_eq!(write(&table, &[100], SaveMode::Append).await.unwrap(), 4);
    let err = table.drop_constraint("small").await.unwrap_err();
    assert!(err.to_string().contains("no constraint 'small'"), "{err}");
    std::fs::remove_dir_all(&dir).unwrap();
}

#[tokio::test]
async fn columns_a_constraint_reads_cannot_be_dropped_or_renamed() {
    let dir = delta_test::scratch_dir("constraint-columns").unwrap();
    let schema = StructType::new([
        StructField::new("x", DataType::LONG, true),
        StructField::new("y", DataType::LONG, true),
    ]);
    let (table, _) = Table::create(
        dir.to_str().unwrap(),
        &schema,
        CreateOptions {
            properties: [
                ("delta.columnMapping.mode".to_string(), "name".to_string()),
                ("delta.constraints.ypos".to_string(), "y > 0".to_string()),
            ]
            .into(),
            ..Default::default()
        },
    )
    .await
    .unwrap();
    for err in [
        table.drop_column("y").await.unwrap_err(),
        table.rename_column("y", "z").await.unwrap_err(),
    ] {
        assert!(
            err.to_string().contains("would break a rule of the table"),
            "{err}"
        );
        assert!(err.to_string().contains("CHECK constraint ypos"), "{err}");
    }
    assert_eq!(table.snapshot().await.unwrap().version(), 0);
    // a column no rule reads can go
    assert_eq!(table.drop_column("x").await.unwrap().version, 1);
    std::fs::remove_dir_all(&dir).unwrap();
}

#[tokio::test]
async fn a_violation_mid_write_commits_and_leaves_nothing() {
    use arrow::array::{ArrayRef, StringArray};
    let dir = delta_test::scratch_dir("violation-upload").unwrap();
    let schema = StructType::new([
        StructField::new("x", DataType::LONG, true),
        StructField::new("s", DataType::STRING, true),
    ]);
    let (table, _) = Table::create(
        dir.to_str().unwrap(),
        &schema,
        CreateOptions {
            properties: [("delta.constraints.pos".to_string(), "x > 0".to_string())].into(),
            ..Default::default()
        },
    )
    .await
    .unwrap();
    // a first batch of good rows (held by the encoder), then a violation
    let rows = 120_000;
    let mut state = 0x9e37_79b9_7f4a_7c15_u64;
    let text: Vec<String> = (0..rows)
        .map(|_| {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            format!(
                "{state:016x}{:016x}{:016x}",
                state.rotate_left(7),
                state.rotate_left(19)
            )
        })
        .collect();
    let batch = |xs: Vec<i64>, s: Vec<String>| {
        RecordBatch::try_from_iter([
            ("x", Arc::new(Int64Array::from(xs)) as ArrayRef),
            ("s", Arc::new(StringArray::from(s)) as ArrayRef),
        ])
        .unwrap()
    };
    let big = batch(vec![1; rows], text);
    let bad = batch(vec![-1], vec!["x".into()]);
    let err = table
        .write(
            big.schema(),
            futures::stream::iter([Ok(big.clone()), Ok(bad)]),
            WriteOptions::default(),
        )
        .await
        .unwrap_err();
    assert!(matches!(err, TxnError::ConstraintViolation { .. }), "{err}");
    let left: Vec<String> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().to_string())
        .filter(|n| n != "_delta_log")
        .collect();
    assert!(left.is_empty(), "left behind: {left:?}");
    assert_eq!(table.snapshot().await.unwrap().version(), 0);
    std::fs::remove_dir_all(&dir).unwrap();
}
