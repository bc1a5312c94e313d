//! Z-order: the same rows, clustered so that a predicate on any of the
//! chosen columns reads fewer files.

use std::sync::Arc;

use arrow::array::{ArrayRef, Int64Array, RecordBatch, StringArray};
use delta_expr::parse;
use delta_optimize::{OptimizeError, OptimizeOptions, optimize};
use delta_txn::progress::NoProgress;
use delta_txn::{Table, WriteOptions};

use crate::hash_at;

/// 20 appends of 5,000 rows with x and y spread over 0..10,000 at random
/// (a fixed seed): every file holds the whole range of both.
async fn scattered(table: &Table) {
    let mut seed: u64 = 42;
    let mut next = || {
        seed = seed
            .wrapping_mul(6_364_136_223_846_793_005)
            .wrapping_add(1_442_695_040_888_963_407);
        ((seed >> 33) % 10_000) as i64
    };
    for _ in 0..20 {
        let xs: Vec<i64> = (0..5000).map(|_| next()).collect();
        let ys: Vec<i64> = (0..5000).map(|_| next()).collect();
        let tags: Vec<String> = xs.iter().map(|x| format!("t{}", x % 7)).collect();
        let b = RecordBatch::try_from_iter([
            ("x", Arc::new(Int64Array::from(xs)) as ArrayRef),
            ("y", Arc::new(Int64Array::from(ys)) as ArrayRef),
            ("tag", Arc::new(StringArray::from(tags)) as ArrayRef),
        ])
        .unwrap();
        table
            .write(
                b.schema(),
                futures::stream::iter([Ok(b)]),
                WriteOptions::default(),
            )
            .await
            .unwrap();
    }
}

async fn files_read(table: &Table, predicate: &str) -> usize {
    table
        .snapshot()
        .await
        .unwrap()
        .scan()
        .with_predicate(parse(predicate).unwrap())
        .chosen_files()
        .unwrap()
        .len()
}

#[tokio::test]
async fn zorder_clusters_every_column_it_names() {
    let dir = delta_test::scratch_dir("zorder").unwrap();
    let table = Table::at(dir.to_str().unwrap()).unwrap();
    scattered(&table).await;
    let before = hash_at(&table, None).await.unwrap();
    // ranges at the ends of each column, and a band in the middle of one
    // (the hardest case for a Morton curve: files near its seams span it)
    let queries = [
        "x < 1000",
        "y < 1000",
        "x >= 9000",
        "y >= 9000",
        "y BETWEEN 4000 AND 4999",
    ];
    let mut read_before = Vec::new();
    for q in queries {
        read_before.push(files_read(&table, q).await);
    }
    assert!(read_before.iter().all(|n| *n == 20), "{read_before:?}");
    let total: i64 = table
        .snapshot()
        .await
        .unwrap()
        .files()
        .iter()
        .map(|f| f.size())
        .sum();
    let options = OptimizeOptions {
        zorder_by: vec!["x".to_string(), "Y".to_string()],
        target_size: Some((total / 16) as u64),
        ..OptimizeOptions::default()
    };
    let outcome = optimize(&table, options, &NoProgress).await.unwrap();
    assert_eq!(outcome.metrics.num_files_removed, 20);
    let files = outcome.snapshot.files().len();
    assert!(files >= 8, "{files} files");
    assert_eq!(hash_at(&table, None).await.unwrap(), before);
    let mut read_after = Vec::new();
    for q in queries {
        read_after.push(files_read(&table, q).await);
    }
    eprintln!(
        "files read for {queries:?}: before {read_before:?} of 20, after {read_after:?} of {files}"
    );
    for (q, n) in queries.iter().zip(&read_after).take(4) {
        assert!(*n * 2 <= files, "{q}: {n} of {files} files read");
    }
    // the middle band: a smaller share of the files than before
    assert!(
        read_after[4] * 20 < files * read_before[4],
        "{read_after:?}"
    );
    let log = std::fs::read_to_string(dir.join(format!("_delta_log/{:020}.json", outcome.version)))
        .unwrap();
    assert!(log.contains(r#"\"x\",\"y\""#), "{log}");
    std::fs::remove_dir_all(&dir).unwrap();
}

#[tokio::test]
async fn zorder_refuses_what_it_cannot_order() {
    let dir = delta_test::scratch_dir("zorder-bad").unwrap();
    let table = Table::at(dir.to_str().unwrap()).unwrap();
    let b = RecordBatch::try_from_iter([
        ("x", Arc::new(Int64Array::from(vec![1, 2])) as ArrayRef),
        ("p", Arc::new(StringArray::from(vec!["a", "b"])) as ArrayRef),
    ])
    .unwrap();
    let options = WriteOptions {
        partition_by: Some(vec!["p".to_string()]),
        ..Default::default()
    };
    table
        .write(b.schema(), futures::stream::iter([Ok(b)]), options)
        .await
        .unwrap();
    for (columns, message) in [
        (vec!["p"], "is a partition column"),
        (vec!["nope"], "is not in the table"),
    ] {
        let options = OptimizeOptions {
            zorder_by: columns.iter().map(|c| c.to_string()).collect(),
            ..OptimizeOptions::default()
        };
        let err = optimize(&table, options, &NoProgress).await.unwrap_err();
        assert!(
            matches!(err, OptimizeError::Invalid { .. }) && err.to_string().contains(message),
            "{err}"
        );
    }
    std::fs::remove_dir_all(&dir).unwrap();
}
