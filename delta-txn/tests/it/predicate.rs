//! Scans with predicates: the rows are exactly those a filter over every row
//! keeps, files ruled out by partition values and statistics are not read,
//! with and without column mapping.

use std::collections::HashMap;
use std::sync::Arc;

use arrow::array::{ArrayRef, Float64Array, Int64Array, RecordBatch, StringArray};
use arrow::compute::filter_record_batch;
use delta_expr::{ExprError, bind_predicate, parse};
use delta_txn::{Table, TxnError, WriteOptions};
use futures::stream;

fn data(ids: std::ops::Range<i64>, city: Option<&str>) -> RecordBatch {
    let n = (ids.end - ids.start) as usize;
    let scores: Vec<Option<f64>> = ids
        .clone()
        .map(|i| match i % 7 {
            0 => None,
            1 => Some(f64::NAN),
            _ => Some(i as f64 / 2.0),
        })
        .collect();
    RecordBatch::try_from_iter([
        (
            "id",
            Arc::new(Int64Array::from_iter_values(ids)) as ArrayRef,
        ),
        (
            "city",
            Arc::new(StringArray::from(vec![city; n])) as ArrayRef,
        ),
        ("score", Arc::new(Float64Array::from(scores)) as ArrayRef),
    ])
    .unwrap()
}

/// Five appends, each its own file (one city per append, one of them null).
async fn table(name: &str, properties: HashMap<String, String>) -> (std::path::PathBuf, Table) {
    let dir = delta_test::scratch_dir(name).unwrap();
    let table = Table::at(dir.to_str().unwrap()).unwrap();
    let cities = [Some("Oslo"), Some("Rome"), None, Some("Oslo"), Some("Lima")];
    for (i, city) in cities.iter().enumerate() {
        let start = i as i64 * 100;
        let batch = data(start..start + 100, *city);
        let options = WriteOptions {
            partition_by: Some(vec!["city".into()]),
            properties: if i == 0 {
                properties.clone()
            } else {
                HashMap::new()
            },
            ..Default::default()
        };
        table
            .write(batch.schema(), stream::iter([Ok(batch)]), options)
            .await
            .unwrap();
    }
    (dir, table)
}

fn sorted_ids(batches: &[RecordBatch]) -> Vec<i64> {
    let mut ids: Vec<i64> = batches
        .iter()
        .flat_map(|b| {
            let column = b.column_by_name("id").unwrap();
            column
                .as_any()
                .downcast_ref::<Int64Array>()
                .unwrap()
                .values()
                .to_vec()
        })
        .collect();
    ids.sort_unstable();
    ids
}

/// Every predicate: the scan's rows equal a filter over all rows, and it
/// reads the expected number of the five files.
async fn check(table: &Table) {
    let snapshot = table.snapshot().await.unwrap();
    let everything = snapshot.scan().collect().await.unwrap();
    let cases: &[(&str, usize)] = &[
        ("id = 150", 1),
        ("id >= 120 AND id < 260", 2),
        ("id < 0", 0),
        ("city = 'Oslo'", 2),
        ("city IS NULL", 1),
        ("city = 'Oslo' AND id > 300", 1),
        ("city <> 'Oslo' OR id = 5", 3),
        ("city IN ('Rome', 'Lima')", 2),
        ("NOT (id BETWEEN 100 AND 399)", 2),
        ("score > 100", 5),
        ("score < 10", 1),
        ("score IS NULL AND id > 400", 1),
        ("id % 100 = 3", 5),
    ];
    for (text, files) in cases {
        let expr = parse(text).unwrap();
        let scan = snapshot.scan().with_predicate(expr.clone());
        let report = scan.skip_report().unwrap();
        assert_eq!(
            (report.read, report.considered),
            (*files, 5),
            "{text}: files read"
        );
        let got = scan.collect().await.unwrap();
        let bound = bind_predicate(&expr, snapshot.schema()).unwrap();
        let want: Vec<RecordBatch> = everything
            .iter()
            .map(|b| filter_record_batch(b, &bound.evaluate_predicate(b).unwrap()).unwrap())
            .collect();
        assert_eq!(sorted_ids(&got), sorted_ids(&want), "{text}");
        // the streaming read gives the same rows
        let streamed: Vec<RecordBatch> = futures::TryStreamExt::try_collect(
            snapshot.scan().with_predicate(expr).execute().unwrap(),
        )
        .await
        .unwrap();
        assert_eq!(
            sorted_ids(&streamed),
            sorted_ids(&want),
            "{text} (streamed)"
        );
    }
}

#[tokio::test]
async fn predicates_read_only_the_files_that_can_match() {
    let (dir, table) = table("predicate", HashMap::new()).await;
    check(&table).await;
    std::fs::remove_dir_all(&dir).unwrap();
}

#[tokio::test]
async fn the_skip_report_tells_partitions_from_statistics() {
    let (dir, table) = table("predicate-report", HashMap::new()).await;
    let snapshot = table.snapshot().await.unwrap();
    let report = |text: &str| {
        snapshot
            .scan()
            .with_predicate(parse(text).unwrap())
            .skip_report()
            .unwrap()
    };
    let r = report("city = 'Oslo' AND id > 300");
    assert_eq!(
        (
            r.considered,
            r.pruned_by_partition,
            r.skipped_by_stats,
            r.read
        ),
        (5, 3, 1, 1)
    );
    let r = report("id < 50");
    assert_eq!(
        (
            r.considered,
            r.pruned_by_partition,
            r.skipped_by_stats,
            r.read
        ),
        (5, 0, 4, 1)
    );
    let r = report("city IS NULL");
    assert_eq!(
        (
            r.considered,
            r.pruned_by_partition,
            r.skipped_by_stats,
            r.read
        ),
        (5, 4, 0, 1)
    );
    let r = snapshot.scan().skip_report().unwrap();
    assert_eq!((r.considered, r.read), (5, 5));
    std::fs::remove_dir_all(&dir).unwrap();
}

#[tokio::test]
async fn predicates_on_column_mapped_tables() {
    let properties = HashMap::from([("delta.columnMapping.mode".to_string(), "name".to_string())]);
    let (dir, table) = table("predicate-mapped", properties).await;
    let snapshot = table.snapshot().await.unwrap();
    assert!(
        snapshot
            .schema()
            .field("id")
            .unwrap()
            .physical_name()
            .starts_with("col-")
    );
    check(&table).await;
    std::fs::remove_dir_all(&dir).unwrap();
}

#[tokio::test]
async fn projected_columns_and_bad_predicates() {
    let (dir, table) = table("predicate-projection", HashMap::new()).await;
    let snapshot = table.snapshot().await.unwrap();
    let got = snapshot
        .scan()
        .with_columns(["id"])
        .with_predicate(parse("city = 'Rome' AND score > 60").unwrap())
        .collect()
        .await
        .unwrap();
    assert!(got.iter().all(|b| b.num_columns() == 1));
    // Rome has ids 100..200, scores id/2 but null for id % 7 = 0 and NaN
    // (above every number) for id % 7 = 1
    let ids = sorted_ids(&got);
    let want: Vec<i64> = (100..200)
        .filter(|i| i % 7 != 0 && (i % 7 == 1 || *i > 120))
        .collect();
    assert_eq!(ids, want);
    let err = snapshot
        .scan()
        .with_predicate(parse("ctiy = 'Rome'").unwrap())
        .collect()
        .await
        .unwrap_err();
    assert!(
        matches!(err, TxnError::Expr(ExprError::UnknownColumn { .. })),
        "{err}"
    );
    assert!(err.to_string().contains("did you mean 'city'"), "{err}");
    let err = snapshot
        .scan()
        .with_predicate(parse("id + city > 1").unwrap())
        .collect()
        .await
        .unwrap_err();
    assert!(
        matches!(err, TxnError::Expr(ExprError::TypeMismatch { .. })),
        "{err}"
    );
    std::fs::remove_dir_all(&dir).unwrap();
}

async fn overwrite_where(
    table: &Table,
    batch: RecordBatch,
    predicate: &str,
) -> Result<delta_txn::CommitOutcome, TxnError> {
    let options = WriteOptions {
        mode: delta_txn::SaveMode::Overwrite,
        replace_where: Some(parse(predicate).unwrap()),
        ..Default::default()
    };
    table
        .write(batch.schema(), stream::iter([Ok(batch)]), options)
        .await
}

#[tokio::test]
async fn replace_where_replaces_only_matching_rows() {
    let (dir, table) = table("replace-where", HashMap::new()).await;
    let before = table.snapshot().await.unwrap();
    let rome_files: Vec<String> = before
        .files()
        .iter()
        .filter(|f| {
            f.partition_values()
                .get("city")
                .cloned()
                .flatten()
                .as_deref()
                == Some("Rome")
        })
        .map(|f| f.path().to_string())
        .collect();
    // partition predicate: the Oslo files go, the others stay as they are
    let outcome = overwrite_where(&table, data(1000..1003, Some("Oslo")), "city = 'Oslo'")
        .await
        .unwrap();
    let after = &outcome.snapshot;
    assert!(
        rome_files
            .iter()
            .all(|p| after.files().iter().any(|f| f.path() == p))
    );
    let ids = sorted_ids(&after.scan().collect().await.unwrap());
    let mut want: Vec<i64> = (100..300).chain(400..500).chain(1000..1003).collect();
    want.sort_unstable();
    assert_eq!(ids, want);
    // data predicate: files that mix are rewritten without the matching rows
    let outcome = overwrite_where(
        &table,
        data(150..152, Some("Rome")),
        "id >= 150 AND id < 250",
    )
    .await
    .unwrap();
    let ids = sorted_ids(&outcome.snapshot.scan().collect().await.unwrap());
    let mut want: Vec<i64> = (100..152)
        .chain(250..300)
        .chain(400..500)
        .chain(1000..1003)
        .collect();
    want.sort_unstable();
    assert_eq!(ids, want);
    // rows whose predicate is null are not replaced: the null city stays
    let outcome = overwrite_where(&table, data(2000..2001, Some("Lima")), "city <> 'Rome'")
        .await
        .unwrap();
    let ids = sorted_ids(&outcome.snapshot.scan().collect().await.unwrap());
    let mut want: Vec<i64> = (100..152).chain(250..300).chain(2000..2001).collect();
    want.sort_unstable();
    assert_eq!(ids, want);
    std::fs::remove_dir_all(&dir).unwrap();
}

#[tokio::test]
async fn replace_where_refuses_rows_outside_the_predicate() {
    let (dir, table) = table("replace-where-outside", HashMap::new()).await;
    let version = table.snapshot().await.unwrap().version();
    let err = overwrite_where(&table, data(5..7, Some("Rome")), "city = 'Oslo'")
        .await
        .unwrap_err();
    assert!(
        err.to_string()
            .starts_with("the replaceWhere predicate (city = 'Oslo') is violated by 2 row(s)"),
        "{err}"
    );
    assert_eq!(table.snapshot().await.unwrap().version(), version);
    // only with overwrite
    let batch = data(1..2, Some("Oslo"));
    let options = WriteOptions {
        replace_where: Some(parse("city = 'Oslo'").unwrap()),
        ..Default::default()
    };
    let err = table
        .write(batch.schema(), stream::iter([Ok(batch)]), options)
        .await
        .unwrap_err();
    assert!(err.to_string().contains("needs mode overwrite"), "{err}");
    std::fs::remove_dir_all(&dir).unwrap();
}

#[tokio::test]
async fn replace_where_on_partition_columns_reads_no_file() {
    let mapped = HashMap::from([("delta.columnMapping.mode".to_string(), "name".to_string())]);
    for properties in [HashMap::new(), mapped] {
        replace_partitions_without_reading(properties).await;
    }
}

async fn replace_partitions_without_reading(properties: HashMap<String, String>) {
    let (dir, table) = table("replace-where-partitions", properties).await;
    let before = table.snapshot().await.unwrap();
    // every data file is damaged: reading any of them fails
    for file in before.files().iter() {
        std::fs::write(dir.join(file.path().replace("%20", " ")), b"not parquet").unwrap();
    }
    // a predicate statistics cannot decide, on partition values alone
    let outcome = overwrite_where(
        &table,
        data(1000..1003, Some("Oslo")),
        "lower(city) = 'oslo' OR city IS NULL",
    )
    .await
    .unwrap();
    // partition values are keyed by physical name under column mapping
    let key = before.schema().field("city").unwrap().physical_name();
    let city = |f: delta_log::ActiveFile<'_>| f.partition_values().get(key).cloned().flatten();
    let mut cities: Vec<Option<String>> = outcome.snapshot.files().iter().map(city).collect();
    cities.sort();
    assert_eq!(
        cities,
        [Some("Lima"), Some("Oslo"), Some("Rome")].map(|c| c.map(str::to_string))
    );
    // the Rome and Lima files are the old ones, untouched
    let old: Vec<&str> = before.files().iter().map(|f| f.path()).collect();
    let kept = outcome
        .snapshot
        .files()
        .iter()
        .filter(|f| old.contains(&f.path()))
        .count();
    assert_eq!(kept, 2);
    // a predicate on data columns has to read the files: the damage is named
    let err = overwrite_where(&table, data(150..151, Some("Rome")), "id >= 150")
        .await
        .unwrap_err();
    assert!(err.to_string().contains(".parquet"), "{err}");
    std::fs::remove_dir_all(&dir).unwrap();
}
