//! MERGE against a model of Delta's semantics, copy-on-write and with
//! deletion vectors, partitioned or not; and the errors Delta raises.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    reason = "tests fail loudly"
)]

use std::collections::HashMap;
use std::sync::Arc;

use arrow::array::{Array, ArrayRef, Int64Array, RecordBatch, StringArray};
use delta_expr::parse;
use delta_merge::{Clause, Merge, MergeError, merge};
use delta_txn::{Table, WriteOptions};
use futures::stream;

/// (id, city, score)
type Row = (Option<i64>, Option<String>, Option<i64>);

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

fn city(i: i64) -> Option<String> {
    ["Oslo", "Rome", "Lima"]
        .get((i % 4) as usize)
        .map(|c| c.to_string())
}

async fn target(name: &str, partitioned: bool, dvs: bool) -> (std::path::PathBuf, Table, Vec<Row>) {
    let dir = delta_test::scratch_dir(name).unwrap();
    let table = Table::at(dir.to_str().unwrap()).unwrap();
    let mut all = Vec::new();
    for f in 0..3 {
        let rows: Vec<Row> = (f * 20..f * 20 + 20)
            .map(|i| (Some(i), city(i), Some(i * 10)))
            .collect();
        let b = batch(&rows);
        let options = WriteOptions {
            partition_by: partitioned.then(|| vec!["city".to_string()]),
            properties: match (f, dvs) {
                (0, true) => HashMap::from([(
                    "delta.enableDeletionVectors".to_string(),
                    "true".to_string(),
                )]),
                _ => HashMap::new(),
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
                ids.is_valid(i).then(|| ids.value(i)),
                cities.is_valid(i).then(|| cities.value(i).to_string()),
                scores.is_valid(i).then(|| scores.value(i)),
            ));
        }
    }
    out.sort();
    out
}

fn e(text: &str) -> delta_expr::Expr {
    parse(text).unwrap()
}

/// The source: updates of ids 10..30 (some with a null city), new ids
/// 100..105, a null key.
fn source() -> Vec<Row> {
    let mut rows: Vec<Row> = (10..30)
        .map(|i| {
            (
                Some(i),
                if i % 5 == 0 { None } else { city(i + 1) },
                Some(i * 10 + (i % 3) * 100 - 100),
            )
        })
        .collect();
    rows.extend((100..105).map(|i| (Some(i), city(i), Some(i))));
    rows.push((None, Some("Oslo".into()), Some(-1)));
    rows
}

/// The model: Delta's MERGE for the clauses of `conditional_merge`.
fn model(target: &[Row], source: &[Row]) -> (Vec<Row>, [u64; 3]) {
    let mut out = Vec::new();
    let (mut updated, mut deleted, mut inserted) = (0, 0, 0);
    let mut matched_source = vec![false; source.len()];
    for t in target {
        let matches: Vec<usize> = (0..source.len())
            .filter(|&j| t.0.is_some() && source[j].0 == t.0)
            .collect();
        for &j in &matches {
            matched_source[j] = true;
        }
        match matches.first() {
            Some(&j) => {
                let s = &source[j];
                // WHEN MATCHED AND source.city IS NULL THEN DELETE
                if s.1.is_none() {
                    deleted += 1;
                // WHEN MATCHED AND source.score > target.score THEN UPDATE SET score = source.score, city = source.city
                } else if matches!((s.2, t.2), (Some(a), Some(b)) if a > b) {
                    updated += 1;
                    out.push((t.0, s.1.clone(), s.2));
                } else {
                    out.push(t.clone());
                }
            }
            None => {
                // WHEN NOT MATCHED BY SOURCE AND target.id % 7 = 0 THEN DELETE
                // WHEN NOT MATCHED BY SOURCE AND target.id >= 50 THEN UPDATE SET score = 0
                let id = t.0.unwrap();
                if id % 7 == 0 {
                    deleted += 1;
                } else if id >= 50 {
                    updated += 1;
                    out.push((t.0, t.1.clone(), Some(0)));
                } else {
                    out.push(t.clone());
                }
            }
        }
    }
    for (j, s) in source.iter().enumerate() {
        // WHEN NOT MATCHED AND source.score > 0 THEN INSERT *
        if !matched_source[j] && s.2.is_some_and(|x| x > 0) {
            inserted += 1;
            out.push(s.clone());
        }
    }
    out.sort();
    (out, [updated, deleted, inserted])
}

#[tokio::test]
async fn merge_follows_deltas_semantics() {
    merge_matches_the_model(None).await;
}

// on a multi-threaded runtime: the data files are written on a task of
// their own
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_source_larger_than_the_memory_budget_is_joined_in_passes() {
    // every batch is over a budget of one byte: the source is spilled in
    // partitions, each its own pass
    merge_matches_the_model(Some(1)).await;
}

/// Runs the statement of [`model`] on each kind of table (with this memory
/// budget) and compares with the model.
async fn merge_matches_the_model(budget: Option<usize>) {
    let mut copied = Vec::new();
    for (partitioned, dvs) in [(false, false), (true, false), (false, true), (true, true)] {
        let what = format!("partitioned {partitioned}, deletion vectors {dvs}, budget {budget:?}");
        let name = if budget.is_some() {
            "merge-spill"
        } else {
            "merge"
        };
        let (dir, table, before) = target(name, partitioned, dvs).await;
        let src = source();
        let b = batch(&src);
        let spill = dir.join("spill");
        let mut statement = Merge::new(b.schema(), vec![b], e("t.id = s.id"));
        if let Some(bytes) = budget {
            statement = statement.with_memory_budget(bytes).with_spill_dir(&spill);
        }
        let statement = statement
            .with_aliases("t", "s")
            .when(Clause::MatchedDelete {
                condition: Some(e("s.city IS NULL")),
            })
            .when(Clause::MatchedUpdate {
                condition: Some(e("s.score > t.score")),
                set: vec![("score".into(), e("s.score")), ("city".into(), e("s.city"))],
            })
            .when(Clause::NotMatchedInsertAll {
                condition: Some(e("s.score > 0")),
            })
            .when(Clause::NotMatchedBySourceDelete {
                condition: Some(e("t.id % 7 = 0")),
            })
            .when(Clause::NotMatchedBySourceUpdate {
                condition: Some(e("id >= 50")),
                set: vec![("score".into(), e("0"))],
            });
        let outcome = merge(&table, statement).await.unwrap();
        let (expected, [updated, deleted, inserted]) = model(&before, &src);
        assert_eq!(rows(&table).await, expected, "{what}");
        let m = &outcome.metrics;
        assert_eq!(m["numTargetRowsUpdated"], updated, "{what}: {m:?}");
        assert_eq!(m["numTargetRowsDeleted"], deleted, "{what}: {m:?}");
        assert_eq!(m["numTargetRowsInserted"], inserted, "{what}: {m:?}");
        assert_eq!(m["numSourceRows"], src.len() as u64, "{what}");
        if dvs {
            assert!(m["numTargetDeletionVectorsAdded"] > 0, "{what}: {m:?}");
        }
        copied.push(m["numTargetRowsCopied"]);
        match budget {
            Some(_) => {
                assert!(outcome.passes > 1, "{what}: {} passes", outcome.passes);
                // the spilled partitions are gone
                let left = std::fs::read_dir(&spill).map_or(0, |d| d.flatten().count());
                assert_eq!(left, 0, "{what}");
            }
            None => assert_eq!(outcome.passes, 1, "{what}"),
        }
        std::fs::remove_dir_all(&dir).unwrap();
    }
    // copy-on-write copies the unchanged rows of changed files, deletion
    // vectors copy none
    assert!(copied[0] > 0 && copied[1] > 0, "{copied:?}");
    assert_eq!(copied[2..], [0, 0]);
}

#[tokio::test]
async fn an_upsert_reads_only_files_in_the_key_range() {
    let (dir, table, mut before) = target("merge-upsert", false, false).await;
    // ids 0..20 are in the first file only: the other two are not rewritten
    let src: Vec<Row> = vec![
        (Some(3), Some("Bergen".into()), Some(1)),
        (Some(7), None, None),
        (Some(-5), None, Some(5)),
    ];
    let b = batch(&src);
    let statement = Merge::new(b.schema(), vec![b], e("target.id = source.id"))
        .when(Clause::MatchedUpdateAll { condition: None })
        .when(Clause::NotMatchedInsertAll { condition: None });
    let outcome = merge(&table, statement).await.unwrap();
    before.retain(|r| r.0 != Some(3) && r.0 != Some(7));
    before.extend(src);
    before.sort();
    assert_eq!(rows(&table).await, before);
    assert_eq!(
        outcome.metrics["numTargetFilesRemoved"], 1,
        "{:?}",
        outcome.metrics
    );
    assert_eq!(outcome.metrics["numTargetRowsCopied"], 18);
    std::fs::remove_dir_all(&dir).unwrap();
}

#[tokio::test]
async fn duplicate_matches_and_bad_names_are_refused() {
    let (dir, table, before) = target("merge-bad", true, false).await;
    let version = table.snapshot().await.unwrap().version();
    let dup = batch(&[(Some(1), None, Some(1)), (Some(1), None, Some(2))]);
    let upsert = |b: &RecordBatch, on: &str| Merge::new(b.schema(), vec![b.clone()], e(on));
    let err = merge(
        &table,
        upsert(&dup, "target.id = source.id").when(Clause::MatchedUpdateAll { condition: None }),
    )
    .await
    .unwrap_err();
    assert!(
        err.to_string()
            .contains("2 source rows matched the same target row"),
        "{err}"
    );
    // also when the source is joined in passes: equal keys share a pass
    let err = merge(
        &table,
        upsert(&dup, "target.id = source.id")
            .with_memory_budget(1)
            .with_spill_dir(dir.join("spill"))
            .when(Clause::MatchedUpdateAll { condition: None }),
    )
    .await
    .unwrap_err();
    assert!(
        err.to_string().contains("matched the same target row"),
        "{err}"
    );
    let cases: Vec<(Merge, &str)> = vec![
        (
            upsert(&dup, "id = source.id").when(Clause::MatchedDelete { condition: None }),
            "'id' in the ON condition is ambiguous",
        ),
        (
            upsert(&dup, "target.id = source.nope").when(Clause::MatchedDelete { condition: None }),
            "unknown column 'source.nope'",
        ),
        (
            upsert(&dup, "target.id = source.id").when(Clause::NotMatchedInsert {
                condition: None,
                values: vec![("id".into(), e("target.id"))],
            }),
            "can only read source columns",
        ),
        (
            upsert(&dup, "target.id > source.id").when(Clause::MatchedDelete { condition: None }),
            "without an equality",
        ),
        (upsert(&dup, "target.id = source.id"), "no WHEN clause"),
    ];
    for (statement, message) in cases {
        let err = merge(&table, statement).await.unwrap_err();
        assert!(
            matches!(
                err,
                MergeError::Invalid { .. } | MergeError::Unsupported { .. }
            ),
            "{err}"
        );
        assert!(
            err.to_string().contains(message),
            "{err} (expected: {message})"
        );
    }
    // an insert-only merge inserts duplicates; NULL keys never match
    let src = batch(&[
        (Some(1000), None, Some(1)),
        (Some(1000), None, Some(2)),
        (None, None, Some(3)),
        (Some(1), None, Some(9)),
    ]);
    let outcome = merge(
        &table,
        upsert(&src, "target.id = source.id").when(Clause::NotMatchedInsertAll { condition: None }),
    )
    .await
    .unwrap();
    assert_eq!(outcome.metrics["numTargetRowsInserted"], 3);
    assert_eq!(table.snapshot().await.unwrap().version(), version + 1);
    assert_eq!(rows(&table).await.len(), before.len() + 3);
    std::fs::remove_dir_all(&dir).unwrap();
}

#[tokio::test]
async fn a_composite_key_matches_on_every_part() {
    for budget in [None, Some(1)] {
        let (dir, table, before) = target("merge-composite", false, false).await;
        // id 5 and 6 with their own city match; id 7 with another city and
        // id 3 (null city in the target) do not
        let src: Vec<Row> = vec![
            (Some(5), city(5), Some(-5)),
            (Some(6), city(6), Some(-6)),
            (Some(7), Some("Bergen".into()), Some(-7)),
            (Some(3), None, Some(-3)),
        ];
        let b = batch(&src);
        let mut statement = Merge::new(
            b.schema(),
            vec![b],
            e("target.id = source.id AND target.city = source.city"),
        )
        .when(Clause::MatchedUpdateAll { condition: None })
        .when(Clause::NotMatchedInsertAll { condition: None });
        if let Some(bytes) = budget {
            statement = statement
                .with_memory_budget(bytes)
                .with_spill_dir(dir.join("spill"));
        }
        let outcome = merge(&table, statement).await.unwrap();
        let mut expected: Vec<Row> = before
            .into_iter()
            .filter(|r| r.0 != Some(5) && r.0 != Some(6))
            .collect();
        expected.extend(src);
        expected.sort();
        assert_eq!(rows(&table).await, expected, "budget {budget:?}");
        assert_eq!(outcome.metrics["numTargetRowsUpdated"], 2);
        assert_eq!(outcome.metrics["numTargetRowsInserted"], 2);
        std::fs::remove_dir_all(&dir).unwrap();
    }
}

#[tokio::test]
async fn on_conjuncts_over_the_target_alone_prune_its_files() {
    let (dir, table, _) = target("merge-prune", true, false).await;
    // the files of every city but Oslo are gone: a merge that read them
    // would fail
    for entry in std::fs::read_dir(&dir).unwrap().flatten() {
        let name = entry.file_name().to_string_lossy().to_string();
        if name.starts_with("city=") && name != "city=Oslo" {
            std::fs::remove_dir_all(entry.path()).unwrap();
        }
    }
    let src: Vec<Row> = (0..4).map(|i| (Some(i), city(i), Some(-i))).collect();
    let b = batch(&src);
    let statement = Merge::new(
        b.schema(),
        vec![b],
        e("target.id = source.id AND target.city = 'Oslo'"),
    )
    .when(Clause::MatchedUpdate {
        condition: None,
        set: vec![("score".into(), e("source.score"))],
    });
    let outcome = merge(&table, statement).await.unwrap();
    // id 0 is the one in Oslo
    assert_eq!(outcome.metrics["numTargetRowsUpdated"], 1);
    assert_eq!(outcome.metrics["numTargetFilesRemoved"], 1);
    std::fs::remove_dir_all(&dir).unwrap();
}

#[tokio::test]
async fn another_table_is_a_source() {
    let (dir, table, mut before) = target("merge-from-table", false, false).await;
    let (source_dir, source_table, _) = target("merge-source-table", true, false).await;
    // the source table: its rows of ids 0..5 changed, and a new one
    let changes = batch(&[(Some(2), None, Some(-2)), (Some(99), city(99), Some(99))]);
    let statement = Merge::new(changes.schema(), vec![changes], e("target.id = source.id"))
        .when(Clause::MatchedUpdateAll { condition: None })
        .when(Clause::NotMatchedInsertAll { condition: None });
    merge(&source_table, statement).await.unwrap();
    let source_rows = rows(&source_table).await;
    // merge the whole source table into the target
    let snapshot = source_table.snapshot().await.unwrap();
    let statement = Merge::from_snapshot(&snapshot, e("target.id = source.id"))
        .unwrap()
        .when(Clause::MatchedUpdateAll { condition: None })
        .when(Clause::NotMatchedInsertAll { condition: None });
    let outcome = merge(&table, statement).await.unwrap();
    assert_eq!(outcome.metrics["numSourceRows"], source_rows.len() as u64);
    before.retain(|r| !source_rows.iter().any(|s| s.0 == r.0));
    before.extend(source_rows);
    before.sort();
    assert_eq!(rows(&table).await, before);
    std::fs::remove_dir_all(&dir).unwrap();
    std::fs::remove_dir_all(&source_dir).unwrap();
}
