//! DELETE and UPDATE, copy-on-write and with deletion vectors: the rows
//! after each statement equal a brute-force model, metrics count them, and
//! bad statements change nothing.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    reason = "tests fail loudly"
)]

use std::collections::{BTreeMap, HashMap};
use std::sync::Arc;

use arrow::array::{Array, ArrayRef, Int32Array, Int64Array, RecordBatch, StringArray};
use delta_expr::parse;
use delta_merge::{Clause, Merge, MergeError, delete, merge, update};
use delta_txn::{Table, TxnError, WriteOptions};
use futures::stream;

/// (id, city, score)
type Row = (i64, Option<String>, Option<i64>);
/// Which rows of the model a statement touches.
type Matches = Box<dyn Fn(&Row) -> bool>;
/// What an UPDATE does to a row of the model.
type Change = Box<dyn Fn(&mut Row)>;
/// An UPDATE: its predicate, its SET list, and what it does to the model.
type Update = (
    &'static str,
    Vec<(&'static str, &'static str)>,
    Matches,
    Change,
);

fn batch(rows: &[Row]) -> RecordBatch {
    RecordBatch::try_from_iter([
        (
            "id",
            Arc::new(Int64Array::from(
                rows.iter().map(|r| r.0).collect::<Vec<_>>(),
            )) as ArrayRef,
        ),
        (
            "city",
            Arc::new(StringArray::from(
                rows.iter().map(|r| r.1.clone()).collect::<Vec<_>>(),
            )) as ArrayRef,
        ),
        (
            "score",
            Arc::new(Int64Array::from(
                rows.iter().map(|r| r.2).collect::<Vec<_>>(),
            )) as ArrayRef,
        ),
    ])
    .unwrap()
}

fn row(id: i64) -> Row {
    let city = match id % 4 {
        0 => Some("Oslo".to_string()),
        1 => Some("Rome".to_string()),
        2 => Some("Lima".to_string()),
        _ => None,
    };
    let score = (id % 5 != 0).then_some(id * 10);
    (id, city, score)
}

/// Four appends of 25 rows, partitioned by city when `partitioned`.
async fn table(name: &str, partitioned: bool, dvs: bool) -> (std::path::PathBuf, Table, Vec<Row>) {
    let dir = delta_test::scratch_dir(name).unwrap();
    let table = Table::at(dir.to_str().unwrap()).unwrap();
    let mut all = Vec::new();
    for i in 0..4 {
        let rows: Vec<Row> = (i * 25..i * 25 + 25).map(row).collect();
        let b = batch(&rows);
        let options = WriteOptions {
            partition_by: partitioned.then(|| vec!["city".to_string()]),
            properties: if i == 0 && dvs {
                HashMap::from([(
                    "delta.enableDeletionVectors".to_string(),
                    "true".to_string(),
                )])
            } else {
                HashMap::new()
            },
            ..Default::default()
        };
        table
            .write(b.schema(), stream::iter([Ok(b)]), options)
            .await
            .unwrap();
        all.extend(rows);
    }
    (dir, table, all)
}

async fn rows(table: &Table) -> Vec<Row> {
    let batches = table
        .snapshot()
        .await
        .unwrap()
        .scan()
        .with_columns(["id", "city", "score"])
        .collect()
        .await
        .unwrap();
    let mut out = Vec::new();
    for b in &batches {
        let ids = b.column(0).as_any().downcast_ref::<Int64Array>().unwrap();
        let cities = b.column(1).as_any().downcast_ref::<StringArray>().unwrap();
        let scores = b.column(2).as_any().downcast_ref::<Int64Array>().unwrap();
        for i in 0..b.num_rows() {
            out.push((
                ids.value(i),
                cities.is_valid(i).then(|| cities.value(i).to_string()),
                scores.is_valid(i).then(|| scores.value(i)),
            ));
        }
    }
    out.sort();
    out
}

fn metric(metrics: &BTreeMap<String, u64>, key: &str) -> u64 {
    *metrics
        .get(key)
        .unwrap_or_else(|| panic!("no metric {key} in {metrics:?}"))
}

#[tokio::test]
async fn delete_removes_exactly_the_matching_rows() {
    for (partitioned, dvs) in [(false, false), (true, false), (false, true), (true, true)] {
        let what = format!("partitioned {partitioned}, deletion vectors {dvs}");
        let (dir, table, mut model) = table("delete", partitioned, dvs).await;
        // (predicate, the model's rows it deletes): data columns, partition
        // columns, nulls (a null predicate keeps the row), none
        let statements: Vec<(&str, Matches)> = vec![
            ("id % 7 = 3", Box::new(|r: &Row| r.0 % 7 == 3)),
            (
                "score > 500 AND score < 800",
                Box::new(|r: &Row| r.2.is_some_and(|s| s > 500 && s < 800)),
            ),
            (
                "city = 'Rome'",
                Box::new(|r: &Row| r.1.as_deref() == Some("Rome")),
            ),
            ("id = 1000", Box::new(|_: &Row| false)),
            (
                "score IS NULL OR id < 10",
                Box::new(|r: &Row| r.2.is_none() || r.0 < 10),
            ),
            ("id % 7 = 4", Box::new(|r: &Row| r.0 % 7 == 4)),
        ];
        for (text, deletes) in statements {
            let before = model.len();
            model.retain(|r| !deletes(r));
            let outcome = delete(&table, Some(&parse(text).unwrap())).await.unwrap();
            assert_eq!(
                rows(&table).await,
                model,
                "{what}: after DELETE WHERE {text}"
            );
            assert_eq!(
                metric(&outcome.metrics, "numDeletedRows"),
                (before - model.len()) as u64,
                "{what}: {text}"
            );
            assert_eq!(outcome.committed, before != model.len(), "{what}: {text}");
            if dvs && outcome.committed && text.starts_with("id % 7") {
                let snapshot = table.snapshot().await.unwrap();
                assert!(
                    snapshot
                        .files()
                        .iter()
                        .any(|f| f.deletion_vector().is_some()),
                    "{what}: no DV after {text}"
                );
            }
        }
        // every row
        let outcome = delete(&table, None).await.unwrap();
        assert_eq!(
            metric(&outcome.metrics, "numDeletedRows"),
            model.len() as u64
        );
        assert!(rows(&table).await.is_empty());
        std::fs::remove_dir_all(&dir).unwrap();
    }
}

#[tokio::test]
async fn update_sets_exactly_the_matching_rows() {
    for (partitioned, dvs) in [(false, false), (true, false), (false, true), (true, true)] {
        let what = format!("partitioned {partitioned}, deletion vectors {dvs}");
        let (dir, table, mut model) = table("update", partitioned, dvs).await;
        let statements: Vec<Update> = vec![
            (
                "id % 3 = 0",
                vec![("score", "score + 1")],
                Box::new(|r: &Row| r.0 % 3 == 0),
                Box::new(|r: &mut Row| r.2 = r.2.map(|s| s + 1)),
            ),
            (
                "city = 'Oslo'",
                vec![("city", "'Bergen'"), ("score", "id")],
                Box::new(|r: &Row| r.1.as_deref() == Some("Oslo")),
                Box::new(|r: &mut Row| {
                    r.1 = Some("Bergen".into());
                    r.2 = Some(r.0);
                }),
            ),
            (
                "score IS NULL",
                vec![("score", "0")],
                Box::new(|r: &Row| r.2.is_none()),
                Box::new(|r: &mut Row| r.2 = Some(0)),
            ),
            (
                "id > 1000",
                vec![("score", "1")],
                Box::new(|_: &Row| false),
                Box::new(|_: &mut Row| {}),
            ),
        ];
        for (text, set, matches, change) in statements {
            let mut expected = 0;
            for r in model.iter_mut() {
                if matches(r) {
                    change(r);
                    expected += 1;
                }
            }
            model.sort();
            let set: Vec<(String, delta_expr::Expr)> = set
                .iter()
                .map(|(c, e)| (c.to_string(), parse(e).unwrap()))
                .collect();
            let outcome = update(&table, Some(&parse(text).unwrap()), &set)
                .await
                .unwrap();
            assert_eq!(
                rows(&table).await,
                model,
                "{what}: after UPDATE ... WHERE {text}"
            );
            assert_eq!(
                metric(&outcome.metrics, "numUpdatedRows"),
                expected,
                "{what}: {text}"
            );
        }
        // without a predicate: every row
        let set = vec![("score".to_string(), parse("-1").unwrap())];
        let outcome = update(&table, None, &set).await.unwrap();
        assert_eq!(
            metric(&outcome.metrics, "numUpdatedRows"),
            model.len() as u64
        );
        assert!(rows(&table).await.iter().all(|r| r.2 == Some(-1)));
        std::fs::remove_dir_all(&dir).unwrap();
    }
}

#[tokio::test]
async fn bad_statements_change_nothing() {
    let (dir, table, model) = table("bad-dml", true, false).await;
    let version = table.snapshot().await.unwrap().version();
    let set = |c: &str, e: &str| vec![(c.to_string(), parse(e).unwrap())];
    let cases: Vec<(MergeError, &str)> = vec![
        (
            delete(&table, Some(&parse("nope = 1").unwrap()))
                .await
                .unwrap_err(),
            "unknown column 'nope'",
        ),
        (
            delete(&table, Some(&parse("city + 1").unwrap()))
                .await
                .unwrap_err(),
            "city",
        ),
        (
            update(&table, None, &set("nope", "1")).await.unwrap_err(),
            "unknown column 'nope'",
        ),
        (
            update(&table, None, &set("score", "city"))
                .await
                .unwrap_err(),
            "column 'score' is long",
        ),
        (
            update(
                &table,
                Some(&parse("id < 3").unwrap()),
                &set("score", "id / 0"),
            )
            .await
            .unwrap_err(),
            "division by zero",
        ),
        (
            update(&table, None, &[]).await.unwrap_err(),
            "nothing to set",
        ),
    ];
    for (err, expected) in cases {
        assert!(
            err.to_string().contains(expected),
            "{err} (expected: {expected})"
        );
    }
    // a constraint every updated row must keep
    table
        .add_constraint("positive", "score IS NULL OR score >= 0")
        .await
        .unwrap();
    let err = update(&table, Some(&parse("id = 4").unwrap()), &set("score", "-5"))
        .await
        .unwrap_err();
    assert!(
        matches!(err, MergeError::Txn(TxnError::ConstraintViolation { .. })),
        "{err}"
    );
    assert_eq!(table.snapshot().await.unwrap().version(), version + 1);
    assert_eq!(rows(&table).await, model);
    std::fs::remove_dir_all(&dir).unwrap();
}

/// DELETE, UPDATE and MERGE on a table Spark wrote with deletion vectors:
/// rows its vectors delete stay deleted, and with
/// `delta.enableDeletionVectors` our vectors extend Spark's.
#[tokio::test]
async fn dml_on_spark_deletion_vectors() {
    use arrow::compute::cast;
    use arrow::datatypes::DataType;
    let source = delta_test::testdata_dir()
        .unwrap()
        .join("golden-dv-partitioned-with-checkpoint");
    for dvs in [false, true] {
        let dir = delta_test::scratch_copy(&source, "spark-dv").unwrap();
        let table = Table::open(dir.to_str().unwrap()).await.unwrap();
        if dvs {
            let on = [(
                "delta.enableDeletionVectors".to_string(),
                "true".to_string(),
            )];
            table
                .set_properties(on.into_iter().collect())
                .await
                .unwrap();
        }
        let read = |table: Table| async move {
            let batches = table
                .snapshot()
                .await
                .unwrap()
                .scan()
                .with_columns(["part", "col1", "col2"])
                .collect()
                .await
                .unwrap();
            let mut rows: Vec<(i64, i64, String)> = Vec::new();
            for b in &batches {
                let part = cast(b.column(0), &DataType::Int64).unwrap();
                let col1 = cast(b.column(1), &DataType::Int64).unwrap();
                let part = part.as_any().downcast_ref::<Int64Array>().unwrap();
                let col1 = col1.as_any().downcast_ref::<Int64Array>().unwrap();
                let col2 = b.column(2).as_any().downcast_ref::<StringArray>().unwrap();
                for i in 0..b.num_rows() {
                    rows.push((part.value(i), col1.value(i), col2.value(i).to_string()));
                }
            }
            rows.sort();
            rows
        };
        let before = read(table.clone()).await;
        let cardinality = |s: &delta_txn::Snapshot| -> BTreeMap<String, i64> {
            s.files()
                .iter()
                .filter_map(|f| Some((f.path().to_string(), f.deletion_vector()?.cardinality)))
                .collect()
        };
        let spark_dvs = cardinality(&table.snapshot().await.unwrap());
        assert!(!spark_dvs.is_empty());
        let outcome = delete(&table, Some(&parse("col1 % 3 = 0").unwrap()))
            .await
            .unwrap();
        let mut expected: Vec<_> = before.iter().filter(|r| r.1 % 3 != 0).cloned().collect();
        assert_eq!(
            read(table.clone()).await,
            expected,
            "deletion vectors {dvs}"
        );
        assert_eq!(
            outcome.metrics["numDeletedRows"],
            (before.len() - expected.len()) as u64
        );
        let set = vec![("col2".to_string(), parse("'changed'").unwrap())];
        update(&table, Some(&parse("col1 % 3 = 1").unwrap()), &set)
            .await
            .unwrap();
        for r in expected.iter_mut().filter(|r| r.1 % 3 == 1) {
            r.2 = "changed".to_string();
        }
        expected.sort();
        assert_eq!(
            read(table.clone()).await,
            expected,
            "deletion vectors {dvs}"
        );
        if dvs {
            // a file Spark had marked now has more rows marked
            let ours = cardinality(&table.snapshot().await.unwrap());
            assert!(
                spark_dvs
                    .iter()
                    .any(|(path, n)| ours.get(path).is_some_and(|m| m > n)),
                "{spark_dvs:?} -> {ours:?}"
            );
        }
        // MERGE into it: six existing keys updated, one new row inserted
        let mut keys: Vec<(i64, i64)> = expected.iter().map(|r| (r.0, r.1)).collect();
        keys.dedup();
        keys.truncate(6);
        let mut source_keys = keys.clone();
        source_keys.push((keys[0].0, 1_000_000));
        let int_column = |values: Vec<i32>| Arc::new(Int32Array::from(values)) as ArrayRef;
        let source = RecordBatch::try_from_iter([
            (
                "part",
                int_column(source_keys.iter().map(|k| k.0 as i32).collect()),
            ),
            (
                "col1",
                int_column(source_keys.iter().map(|k| k.1 as i32).collect()),
            ),
            (
                "col2",
                Arc::new(StringArray::from(vec!["merged"; source_keys.len()])) as ArrayRef,
            ),
        ])
        .unwrap();
        let statement = Merge::new(
            source.schema(),
            vec![source],
            parse("target.part = source.part AND target.col1 = source.col1").unwrap(),
        )
        .when(Clause::MatchedUpdate {
            condition: None,
            set: vec![("col2".to_string(), parse("source.col2").unwrap())],
        })
        .when(Clause::NotMatchedInsertAll { condition: None });
        let outcome = merge(&table, statement).await.unwrap();
        let mut updated = 0;
        for r in expected.iter_mut().filter(|r| keys.contains(&(r.0, r.1))) {
            r.2 = "merged".to_string();
            updated += 1;
        }
        expected.push((keys[0].0, 1_000_000, "merged".to_string()));
        expected.sort();
        assert_eq!(
            read(table.clone()).await,
            expected,
            "merge, deletion vectors {dvs}"
        );
        assert_eq!(outcome.metrics["numTargetRowsUpdated"], updated);
        assert_eq!(outcome.metrics["numTargetRowsInserted"], 1);
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
