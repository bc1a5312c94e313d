//! Reading tables: the example table at every version (checked against
//! delta-rs), projection, time travel, and clear errors for bad tables.

use arrow::array::{AsArray, RecordBatch};
use arrow::datatypes::Int64Type;
use delta_txn::{Table, TxnError};
use futures::{StreamExt, TryStreamExt};
use serde_json::Value;

use crate::{copy_tree, example_table};

fn rows(batches: &[RecordBatch]) -> usize {
    batches.iter().map(RecordBatch::num_rows).sum()
}

#[tokio::test]
async fn example_table_matches_delta_rs_at_every_version() {
    let expected: Value = serde_json::from_str(
        &std::fs::read_to_string(example_table().with_file_name("people.expected.json")).unwrap(),
    )
    .unwrap();
    let table = Table::open(example_table().to_str().unwrap())
        .await
        .unwrap();
    for want in expected["versions"].as_array().unwrap() {
        let version = want["version"].as_u64().unwrap();
        let snapshot = table.snapshot_at(version).await.unwrap();
        assert_eq!(
            snapshot.files().len() as u64,
            want["num_files"].as_u64().unwrap()
        );
        let batches = snapshot.scan().collect().await.unwrap();
        assert_eq!(rows(&batches) as u64, want["num_rows"].as_u64().unwrap());
        assert_eq!(
            delta_test::canonical_hash(&batches).unwrap(),
            want["hash"].as_str().unwrap(),
            "version {version}"
        );
    }
}

#[tokio::test]
async fn projection_reads_only_the_asked_columns_in_order() {
    let table = Table::open(example_table().to_str().unwrap())
        .await
        .unwrap();
    let snapshot = table.snapshot().await.unwrap();
    let batches = snapshot
        .scan()
        .with_columns(["city", "id"])
        .collect()
        .await
        .unwrap();
    let schema = batches[0].schema();
    let names: Vec<&str> = schema.fields().iter().map(|f| f.name().as_str()).collect();
    assert_eq!(names, ["city", "id"]);
    let mut ids: Vec<i64> = batches
        .iter()
        .flat_map(|b| b.column(1).as_primitive::<Int64Type>().values().to_vec())
        .collect();
    ids.sort();
    assert_eq!(ids, [1, 3, 4, 5, 6, 7, 8, 9]);
    // only a partition column
    let batches = snapshot
        .scan()
        .with_columns(["city"])
        .collect()
        .await
        .unwrap();
    assert_eq!(rows(&batches), 8);
    // unknown column
    let err = snapshot
        .scan()
        .with_columns(["nope"])
        .collect()
        .await
        .unwrap_err();
    assert!(
        err.to_string().starts_with("no column 'nope' in the table"),
        "{err}"
    );
}

#[tokio::test]
async fn time_travel_by_timestamp_uses_commit_times() {
    let table = Table::open(example_table().to_str().unwrap())
        .await
        .unwrap();
    let history = table.history(None).await.unwrap();
    assert_eq!(
        history.iter().map(|c| c.version).collect::<Vec<_>>(),
        [3, 2, 1, 0]
    );
    assert_eq!(
        history[1].commit_info.as_ref().unwrap().operation(),
        Some("DELETE")
    );
    for entry in &history {
        let s = table
            .snapshot_at_timestamp(entry.timestamp_ms)
            .await
            .unwrap();
        assert_eq!(s.version(), entry.version);
    }
    let before = history.last().unwrap().timestamp_ms - 1;
    let err = table.snapshot_at_timestamp(before).await.unwrap_err();
    assert!(
        err.to_string()
            .contains("before the earliest retained commit, version 0"),
        "{err}"
    );
}

#[tokio::test]
async fn missing_data_file_names_the_file() {
    let dir = copy_tree(&example_table(), "missing-file");
    let victim = std::fs::read_dir(dir.join("city=Rotterdam"))
        .unwrap()
        .flatten()
        .next()
        .unwrap()
        .path();
    std::fs::remove_file(&victim).unwrap();
    let table = Table::open(dir.to_str().unwrap()).await.unwrap();
    let err = table
        .snapshot()
        .await
        .unwrap()
        .scan()
        .collect()
        .await
        .unwrap_err();
    assert!(
        matches!(err, TxnError::Io(delta_io::IoError::MissingFile { .. })),
        "{err}"
    );
    let name = victim.file_name().unwrap().to_str().unwrap();
    assert!(err.to_string().contains(name), "{err}");
    std::fs::remove_dir_all(&dir).unwrap();
}

#[tokio::test]
async fn missing_delta_log_is_a_clear_error() {
    let dir = std::env::temp_dir().join(format!("delta-txn-not-a-table-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let err = Table::open(dir.to_str().unwrap()).await.unwrap_err();
    assert!(err.to_string().contains("no Delta table at"), "{err}");
    assert!(err.to_string().contains("_delta_log"), "{err}");
    std::fs::remove_dir_all(&dir).unwrap();
}

#[tokio::test]
async fn unsupported_reader_feature_is_refused_by_name() {
    let dir = copy_tree(&example_table(), "feature");
    let commit = r#"{"protocol":{"minReaderVersion":3,"minWriterVersion":7,"readerFeatures":["futureFeature"],"writerFeatures":["futureFeature"]}}"#;
    std::fs::write(dir.join("_delta_log/00000000000000000004.json"), commit).unwrap();
    let table = Table::open(dir.to_str().unwrap()).await.unwrap();
    let err = table.snapshot().await.unwrap_err();
    let text = err.to_string();
    assert!(
        text.starts_with(
            "unsupported table feature 'futureFeature' (version 4): this reader does not implement it"
        ),
        "{text}"
    );
    // and where the protocol comes from
    assert!(text.contains("00000000000000000004.json"), "{text}");
    // older versions still read
    assert_eq!(table.snapshot_at(3).await.unwrap().version(), 3);
    std::fs::remove_dir_all(&dir).unwrap();
}

#[tokio::test]
async fn bad_partition_value_in_the_log_is_an_error_not_a_null() {
    let dir = copy_tree(&example_table(), "bad-partition");
    let log = dir.join("_delta_log/00000000000000000000.json");
    let text = std::fs::read_to_string(&log).unwrap();
    // declare the partition column `city` an integer: its values ("London"...) no longer parse
    let text = text.replace(
        r#"\"name\":\"city\",\"type\":\"string\""#,
        r#"\"name\":\"city\",\"type\":\"integer\""#,
    );
    std::fs::write(&log, text).unwrap();
    let table = Table::open(dir.to_str().unwrap()).await.unwrap();
    let err = table
        .snapshot_at(0)
        .await
        .unwrap()
        .scan()
        .collect()
        .await
        .unwrap_err();
    assert!(
        err.to_string()
            .contains("of column 'city' is not a valid integer"),
        "{err}"
    );
    std::fs::remove_dir_all(&dir).unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn parallel_scans_return_the_rows_in_file_order() {
    let table = Table::open(example_table().to_str().unwrap())
        .await
        .unwrap();
    let snapshot = table.snapshot().await.unwrap();
    assert!(snapshot.files().len() > 1);
    let one = snapshot.scan().with_parallelism(1).collect().await.unwrap();
    for n in [2, 3, 16] {
        let scan = snapshot.scan().with_parallelism(n);
        assert_eq!(
            scan.collect().await.unwrap(),
            one,
            "collect, parallelism {n}"
        );
        let streamed: Vec<RecordBatch> = scan.execute().unwrap().try_collect().await.unwrap();
        assert_eq!(streamed, one, "execute, parallelism {n}");
    }
    // a stream dropped early stops cleanly
    let mut stream = snapshot.scan().execute().unwrap();
    assert!(stream.next().await.is_some());
    drop(stream);
    // every row of every file
    assert_eq!(
        rows(&one),
        snapshot
            .files()
            .iter()
            .map(|a| a.num_records().unwrap() as usize)
            .sum::<usize>()
    );
}

#[tokio::test(flavor = "current_thread")]
async fn scans_on_a_current_thread_runtime_decode_in_place() {
    let table = Table::open(example_table().to_str().unwrap())
        .await
        .unwrap();
    let snapshot = table.snapshot().await.unwrap();
    let collected = snapshot.scan().collect().await.unwrap();
    let streamed: Vec<RecordBatch> = snapshot
        .scan()
        .execute()
        .unwrap()
        .try_collect()
        .await
        .unwrap();
    assert_eq!(collected, streamed);
    // a caller blocking the only thread: no task would ever run, so none is used
    let blocked = futures::executor::block_on(snapshot.scan().collect()).unwrap();
    assert_eq!(blocked, collected);
}

#[test]
fn scans_work_outside_a_tokio_runtime() {
    // another executor: slices decode in place instead of on tokio tasks
    let batches = futures::executor::block_on(async {
        let table = Table::open(example_table().to_str().unwrap()).await?;
        table.snapshot().await?.scan().collect().await
    })
    .unwrap();
    assert!(rows(&batches) > 0);
}

/// Row indexes count the rows a deletion vector deletes: the rows read are
/// exactly the indexes the vector leaves, in each file.
#[tokio::test]
async fn row_indexes_skip_exactly_the_deleted_rows() {
    use arrow::array::{Array, UInt64Array};
    let dir = delta_test::testdata_dir()
        .unwrap()
        .join("golden-dv-partitioned-with-checkpoint");
    let table = Table::open(dir.to_str().unwrap()).await.unwrap();
    let snapshot = table.snapshot().await.unwrap();
    let mut checked = 0;
    for (i, file) in snapshot.files().iter().enumerate() {
        let Some(dv) = file.deletion_vector() else {
            continue;
        };
        let deleted = delta_io::load_deletion_vector(
            &table.location().store,
            &table.location().root,
            None,
            dv,
        )
        .await
        .unwrap();
        let batches = snapshot
            .scan()
            .only_files(vec![i])
            .with_columns(["col1"])
            .with_row_index()
            .collect()
            .await
            .unwrap();
        let mut indexes = Vec::new();
        for b in &batches {
            assert_eq!(b.schema().field(1).name(), delta_io::ROW_INDEX_COLUMN);
            let column = b.column(1).as_any().downcast_ref::<UInt64Array>().unwrap();
            assert_eq!(column.null_count(), 0);
            indexes.extend(column.values().iter().copied());
        }
        let physical = file.num_records().unwrap();
        let expected: Vec<u64> = (0..physical).filter(|r| !deleted.contains(*r)).collect();
        assert_eq!(indexes, expected, "{}", file.path());
        checked += 1;
    }
    assert!(checked > 0, "no file with a deletion vector");
}
