//! SQL over Delta tables through DataFusion: projections, filters that
//! prune files (seen in the scan's metrics), joins, counts and limits,
//! deletion vectors and column mapping from the corpus, INSERT with our
//! integrity rules, and DELETE, UPDATE and MERGE against delta-merge.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    reason = "tests fail loudly"
)]

use std::path::PathBuf;
use std::sync::Arc;

use arrow::array::{ArrayRef, AsArray, Int64Array, RecordBatch, StringArray};
use arrow::datatypes::Int64Type;
use datafusion::physical_plan::{ExecutionPlan, collect};
use datafusion::prelude::SessionContext;
use delta_datafusion::{DeltaScanExec, DeltaTableProvider, enable_time_travel};
use delta_txn::{Table, WriteOptions};

const CITIES: [&str; 4] = ["Lima", "Oslo", "Rome", "Kyiv"];

/// Four appends, each of ids [100 i, 100 i + 100) spread over four cities
/// (partitions): 16 files whose id ranges do not overlap across appends.
async fn cities(name: &str, properties: &[(&str, &str)]) -> (PathBuf, Table) {
    let dir = delta_test::scratch_dir(name).unwrap();
    let table = Table::at(dir.to_str().unwrap()).unwrap();
    for i in 0..4i64 {
        let ids: Vec<i64> = (i * 100..i * 100 + 100).collect();
        let city: Vec<&str> = ids.iter().map(|id| CITIES[(id % 4) as usize]).collect();
        let batch = RecordBatch::try_from_iter([
            ("id", Arc::new(Int64Array::from(ids)) as ArrayRef),
            ("city", Arc::new(StringArray::from(city)) as ArrayRef),
        ])
        .unwrap();
        let options = WriteOptions {
            partition_by: Some(vec!["city".to_string()]),
            properties: properties
                .iter()
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect(),
            ..Default::default()
        };
        table
            .write(batch.schema(), futures::stream::iter([Ok(batch)]), options)
            .await
            .unwrap();
    }
    (dir, table)
}

async fn context(tables: &[(&str, &Table)]) -> SessionContext {
    let ctx = SessionContext::new();
    for (name, table) in tables {
        let provider = DeltaTableProvider::latest((*table).clone()).await.unwrap();
        ctx.register_table(*name, Arc::new(provider)).unwrap();
    }
    ctx
}

/// Runs a query; returns its rows and the plan it ran.
async fn run(ctx: &SessionContext, sql: &str) -> (Vec<RecordBatch>, Arc<dyn ExecutionPlan>) {
    let plan = ctx
        .sql(sql)
        .await
        .unwrap()
        .create_physical_plan()
        .await
        .unwrap();
    let batches = collect(Arc::clone(&plan), ctx.task_ctx()).await.unwrap();
    (batches, plan)
}

/// The scans in a plan.
fn scans(plan: &Arc<dyn ExecutionPlan>) -> Vec<DeltaScanExec> {
    let mut out: Vec<DeltaScanExec> = plan
        .downcast_ref::<DeltaScanExec>()
        .into_iter()
        .cloned()
        .collect();
    for child in plan.children() {
        out.extend(scans(child));
    }
    out
}

/// A scan's metric by name.
fn metric(scan: &DeltaScanExec, name: &str) -> usize {
    scan.metrics()
        .unwrap()
        .sum_by_name(name)
        .map_or(0, |v| v.as_usize())
}

/// The first column of the result as integers, in order.
fn longs(batches: &[RecordBatch]) -> Vec<i64> {
    batches
        .iter()
        .flat_map(|b| b.column(0).as_primitive::<Int64Type>().values().to_vec())
        .collect()
}

#[tokio::test]
async fn filters_prune_files_and_rows_come_out_right() {
    let (dir, table) = cities("sql-filters", &[]).await;
    let ctx = context(&[("t", &table)]).await;
    // a partition filter: 4 of 16 files, exact (no filter above the scan)
    let (rows, plan) = run(&ctx, "SELECT id FROM t WHERE city = 'Oslo' ORDER BY id").await;
    let expected: Vec<i64> = (0..400).filter(|i| i % 4 == 1).collect();
    assert_eq!(longs(&rows), expected);
    let scan = &scans(&plan)[0];
    assert_eq!(metric(scan, "files_read"), 4);
    assert_eq!(metric(scan, "files_considered"), 16);
    assert!(
        !datafusion::physical_plan::displayable(plan.as_ref())
            .indent(true)
            .to_string()
            .contains("FilterExec"),
        "a partition filter is exact"
    );
    // a data filter: statistics keep the 4 files of one append
    let (rows, plan) = run(
        &ctx,
        "SELECT id FROM t WHERE id >= 120 AND id < 130 ORDER BY id",
    )
    .await;
    assert_eq!(longs(&rows), (120..130).collect::<Vec<_>>());
    assert_eq!(metric(&scans(&plan)[0], "files_read"), 4);
    // both: one file
    let (rows, plan) = run(
        &ctx,
        "SELECT id, city FROM t WHERE city = 'Rome' AND id BETWEEN 300 AND 310 ORDER BY id",
    )
    .await;
    assert_eq!(longs(&rows), [302, 306, 310]);
    assert_eq!(metric(&scans(&plan)[0], "files_read"), 1);
    // a filter with no delta-expr form is left to DataFusion: all files
    let (rows, plan) = run(&ctx, "SELECT id FROM t WHERE id % 97 = 0 ORDER BY id").await;
    assert_eq!(longs(&rows), [0, 97, 194, 291, 388]);
    assert_eq!(metric(&scans(&plan)[0], "files_read"), 16);
    std::fs::remove_dir_all(&dir).unwrap();
}

#[tokio::test]
async fn scans_hand_the_files_statistics_to_datafusion() {
    use datafusion::common::ScalarValue;
    use datafusion::common::stats::Precision;
    let (dir, table) = cities("sql-stats", &[("delta.enableDeletionVectors", "true")]).await;
    let scan = |snapshot, predicate: Option<&str>| {
        let predicate = predicate.map(|p| delta_expr::parse(p).unwrap());
        let columns = vec!["id".to_string(), "city".to_string()];
        DeltaScanExec::try_new(snapshot, columns, predicate, None, 3).unwrap()
    };
    let whole = scan(table.snapshot().await.unwrap(), None);
    let stats = stats_of(&whole, None);
    assert_eq!(stats.num_rows, Precision::Exact(400));
    let (id, city) = (&stats.column_statistics[0], &stats.column_statistics[1]);
    assert_eq!(
        id.min_value,
        Precision::Inexact(ScalarValue::Int64(Some(0)))
    );
    assert_eq!(
        id.max_value,
        Precision::Inexact(ScalarValue::Int64(Some(399)))
    );
    assert_eq!(id.null_count, Precision::Exact(0));
    let text = |s: &str| Precision::Inexact(ScalarValue::Utf8(Some(s.to_string())));
    assert_eq!(city.min_value, text("Kyiv"));
    assert_eq!(city.max_value, text("Rome"));
    // each partition: the bounds of the rows its files hold
    let ctx = SessionContext::new();
    let mut rows = 0;
    for p in 0..3 {
        let stats = stats_of(&whole, Some(p));
        let batches = collect_partition(&whole, p, &ctx).await;
        let ids = longs(&batches);
        assert_eq!(stats.num_rows, Precision::Exact(ids.len()));
        let bound = |v: Option<&i64>| Precision::Inexact(ScalarValue::Int64(v.copied()));
        assert_eq!(
            stats.column_statistics[0].min_value,
            bound(ids.iter().min())
        );
        assert_eq!(
            stats.column_statistics[0].max_value,
            bound(ids.iter().max())
        );
        rows += ids.len();
    }
    assert_eq!(rows, 400);
    // a predicate keeps fewer rows: estimates
    let filtered = stats_of(
        &scan(table.snapshot().await.unwrap(), Some("id < 150")),
        None,
    );
    assert_eq!(filtered.num_rows, Precision::Inexact(200));
    assert_eq!(
        filtered.column_statistics[0].null_count,
        Precision::Inexact(0)
    );
    // deleted rows leave the live count exact, and the null count an estimate
    delta_merge::delete(&table, Some(&delta_expr::parse("id < 10").unwrap()))
        .await
        .unwrap();
    let stats = stats_of(&scan(table.snapshot().await.unwrap(), None), None);
    assert_eq!(stats.num_rows, Precision::Exact(390));
    assert_eq!(stats.column_statistics[0].null_count, Precision::Inexact(0));
    assert_eq!(
        stats.column_statistics[0].min_value,
        Precision::Inexact(ScalarValue::Int64(Some(0)))
    );
    std::fs::remove_dir_all(&dir).unwrap();
}

/// The statistics of a scan (one partition or all), as DataFusion asks.
fn stats_of(scan: &DeltaScanExec, partition: Option<usize>) -> Arc<datafusion::common::Statistics> {
    use datafusion::physical_plan::{StatisticsArgs, StatisticsContext};
    StatisticsContext::new()
        .compute(scan, &StatisticsArgs::new().with_partition(partition))
        .unwrap()
}

/// The rows of one partition of a plan.
async fn collect_partition(
    plan: &DeltaScanExec,
    partition: usize,
    ctx: &SessionContext,
) -> Vec<RecordBatch> {
    use futures::TryStreamExt;
    plan.execute(partition, ctx.task_ctx())
        .unwrap()
        .try_collect()
        .await
        .unwrap()
}

#[tokio::test]
async fn counts_limits_aggregates_and_joins() {
    let (dir, table) = cities("sql-aggregates", &[]).await;
    let (dir2, other) = cities("sql-join", &[]).await;
    let ctx = context(&[("t", &table), ("u", &other)]).await;
    let (rows, _) = run(&ctx, "SELECT count(*) FROM t").await;
    assert_eq!(longs(&rows), [400]);
    let (rows, _) = run(&ctx, "SELECT id FROM t LIMIT 7").await;
    assert_eq!(rows.iter().map(RecordBatch::num_rows).sum::<usize>(), 7);
    let (rows, _) = run(
        &ctx,
        "SELECT sum(id) FROM t WHERE city IN ('Lima', 'Kyiv') GROUP BY city ORDER BY 1",
    )
    .await;
    let lima: i64 = (0..400).filter(|i| i % 4 == 0).sum();
    let kyiv: i64 = (0..400).filter(|i| i % 4 == 3).sum();
    assert_eq!(longs(&rows), [lima, kyiv]);
    let (rows, plan) = run(
        &ctx,
        "SELECT count(*) FROM t JOIN u ON t.id = u.id WHERE u.city = 'Oslo' AND t.id < 100",
    )
    .await;
    assert_eq!(longs(&rows), [25]);
    assert_eq!(scans(&plan).len(), 2);
    std::fs::remove_dir_all(&dir).unwrap();
    std::fs::remove_dir_all(&dir2).unwrap();
}

/// The rows of a corpus table through SQL and through our scan hash alike.
async fn same_as_our_scan(name: &str) {
    let path = delta_test::testdata_dir().unwrap().join(name);
    let table = Table::open(path.to_str().unwrap()).await.unwrap();
    let ours = table
        .snapshot()
        .await
        .unwrap()
        .scan()
        .collect()
        .await
        .unwrap();
    let ctx = context(&[("t", &table)]).await;
    let (rows, _) = run(&ctx, "SELECT * FROM t").await;
    assert_eq!(
        delta_test::canonical_hash(&rows).unwrap(),
        delta_test::canonical_hash(&ours).unwrap(),
        "{name}"
    );
}

#[tokio::test]
async fn deletion_vectors_and_column_mapping_read_as_our_scan_does() {
    for name in [
        "golden-dv-partitioned-with-checkpoint",
        "golden-dv-with-columnmapping",
        "golden-table-with-columnmapping-mode-name",
        "golden-table-with-columnmapping-mode-id",
    ] {
        if delta_test::testdata_dir().unwrap().join(name).is_dir() {
            same_as_our_scan(name).await;
        } else {
            panic!("corpus table {name} is missing");
        }
    }
}

#[tokio::test]
async fn inserts_commit_once_and_respect_constraints() {
    let (dir, table) = cities("sql-insert", &[("delta.constraints.small", "id < 1000")]).await;
    let ctx = context(&[("t", &table)]).await;
    let before = table.snapshot().await.unwrap().version();
    let (rows, _) = run(&ctx, "INSERT INTO t VALUES (500, 'Oslo'), (501, 'Bern')").await;
    assert_eq!(
        rows[0]
            .column(0)
            .as_primitive::<arrow::datatypes::UInt64Type>()
            .value(0),
        2
    );
    let after = table.snapshot().await.unwrap().version();
    assert_eq!(after, before + 1);
    // the next query sees the new rows (the provider follows the table)
    let (rows, _) = run(&ctx, "SELECT id FROM t WHERE id >= 500 ORDER BY id").await;
    assert_eq!(longs(&rows), [500, 501]);
    // a row breaking the constraint: refused, nothing committed
    let err = ctx
        .sql("INSERT INTO t VALUES (5000, 'Oslo')")
        .await
        .unwrap()
        .collect()
        .await
        .unwrap_err()
        .to_string();
    assert!(err.contains("small"), "{err}");
    assert_eq!(table.snapshot().await.unwrap().version(), after);
    // INSERT ... SELECT from the table itself
    run(
        &ctx,
        "INSERT INTO t SELECT id + 1000 - 1000 + 600, city FROM t WHERE id < 4",
    )
    .await;
    let (rows, _) = run(&ctx, "SELECT count(*) FROM t").await;
    assert_eq!(longs(&rows), [406]);
    std::fs::remove_dir_all(&dir).unwrap();
}

/// The rows of a table now, hashed.
async fn content(table: &Table) -> String {
    let batches = table
        .snapshot()
        .await
        .unwrap()
        .scan()
        .collect()
        .await
        .unwrap();
    delta_test::canonical_hash(&batches).unwrap()
}

#[tokio::test]
async fn delete_and_update_as_sql_equal_delta_merge() {
    for properties in [&[][..], &[("delta.enableDeletionVectors", "true")][..]] {
        let (dir_sql, by_sql) = cities("sql-dml", properties).await;
        let (dir_api, by_api) = cities("sql-dml-api", properties).await;
        let ctx = context(&[("t", &by_sql)]).await;
        let (rows, _) = run(&ctx, "DELETE FROM t WHERE city = 'Rome' AND id > 150").await;
        let deleted = (0..400).filter(|i| i % 4 == 2 && *i > 150).count() as u64;
        let count = |rows: &[RecordBatch]| {
            rows[0]
                .column(0)
                .as_primitive::<arrow::datatypes::UInt64Type>()
                .value(0)
        };
        assert_eq!(count(&rows), deleted);
        delta_merge::delete(
            &by_api,
            Some(&delta_expr::parse("city = 'Rome' AND id > 150").unwrap()),
        )
        .await
        .unwrap();
        assert_eq!(content(&by_sql).await, content(&by_api).await);
        let (rows, _) = run(&ctx, "UPDATE t SET id = id + 1000 WHERE id < 10").await;
        assert_eq!(count(&rows), 10);
        delta_merge::update(
            &by_api,
            Some(&delta_expr::parse("id < 10").unwrap()),
            &[("id".to_string(), delta_expr::parse("id + 1000").unwrap())],
        )
        .await
        .unwrap();
        assert_eq!(content(&by_sql).await, content(&by_api).await);
        // one commit each, with Delta's operation names
        let history = by_sql.history(Some(2)).await.unwrap();
        let ops: Vec<_> = history
            .iter()
            .map(|c| {
                c.commit_info
                    .as_ref()
                    .unwrap()
                    .operation()
                    .unwrap()
                    .to_string()
            })
            .collect();
        assert_eq!(ops, ["UPDATE", "DELETE"]);
        // planning (EXPLAIN) changes nothing
        let version = by_sql.snapshot().await.unwrap().version();
        run(&ctx, "EXPLAIN DELETE FROM t").await;
        assert_eq!(by_sql.snapshot().await.unwrap().version(), version);
        std::fs::remove_dir_all(&dir_sql).unwrap();
        std::fs::remove_dir_all(&dir_api).unwrap();
    }
}

/// A source table: ids [350, 450) (the first 50 are in `cities`, the rest
/// are new), cities as `cities` gives them.
async fn arrivals(name: &str) -> (PathBuf, Table) {
    let dir = delta_test::scratch_dir(name).unwrap();
    let table = Table::at(dir.to_str().unwrap()).unwrap();
    let ids: Vec<i64> = (350..450).collect();
    let city: Vec<&str> = ids.iter().map(|id| CITIES[(id % 4) as usize]).collect();
    let batch = RecordBatch::try_from_iter([
        ("id", Arc::new(Int64Array::from(ids)) as ArrayRef),
        ("city", Arc::new(StringArray::from(city)) as ArrayRef),
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

#[tokio::test]
async fn merge_as_sql_equals_delta_merge() {
    use delta_merge::{Clause, Merge};
    let parse = |text: &str| delta_expr::parse(text).unwrap();
    for properties in [&[][..], &[("delta.enableDeletionVectors", "true")][..]] {
        let (dir_sql, by_sql) = cities("sql-merge", properties).await;
        let (dir_api, by_api) = cities("sql-merge-api", properties).await;
        let (dir_src, source) = arrivals("sql-merge-source").await;
        let ctx = context(&[("t", &by_sql), ("arrivals", &source)]).await;
        let (rows, plan) = run(
            &ctx,
            "MERGE INTO t AS tgt USING arrivals AS a ON tgt.id = a.id \
             WHEN MATCHED AND a.id % 3 = 0 THEN DELETE \
             WHEN MATCHED THEN UPDATE SET id = tgt.id + 1000 \
             WHEN NOT MATCHED AND a.id < 440 THEN INSERT (id, city) VALUES (a.id * 10, a.city) \
             WHEN NOT MATCHED BY SOURCE AND tgt.id < 10 THEN DELETE",
        )
        .await;
        let matched_deleted = (350..400).filter(|i| i % 3 == 0).count() as u64;
        let updated = 50 - matched_deleted;
        let expected = matched_deleted + updated + 40 + 10;
        let count = rows[0]
            .column(0)
            .as_primitive::<arrow::datatypes::UInt64Type>()
            .value(0);
        assert_eq!(count, expected);
        assert!(
            plan.downcast_ref::<delta_datafusion::DeltaDmlExec>()
                .is_some()
        );
        let merge = Merge::from_snapshot(&source.snapshot().await.unwrap(), parse("tgt.id = a.id"))
            .unwrap()
            .with_aliases("tgt", "a")
            .when(Clause::MatchedDelete {
                condition: Some(parse("a.id % 3 = 0")),
            })
            .when(Clause::MatchedUpdate {
                condition: None,
                set: vec![("id".to_string(), parse("tgt.id + 1000"))],
            })
            .when(Clause::NotMatchedInsert {
                condition: Some(parse("a.id < 440")),
                values: vec![
                    ("id".to_string(), parse("a.id * 10")),
                    ("city".to_string(), parse("a.city")),
                ],
            })
            .when(Clause::NotMatchedBySourceDelete {
                condition: Some(parse("tgt.id < 10")),
            });
        let outcome = delta_merge::merge(&by_api, merge).await.unwrap();
        assert_eq!(content(&by_sql).await, content(&by_api).await);
        // one commit, with the metrics delta-merge gives
        let last = by_sql.history(Some(1)).await.unwrap();
        let info = last[0].commit_info.as_ref().unwrap();
        assert_eq!(info.operation(), Some("MERGE"));
        assert_eq!(
            outcome.metrics.get("numTargetRowsInserted"),
            Some(&40),
            "{:?}",
            outcome.metrics
        );
        std::fs::remove_dir_all(&dir_sql).unwrap();
        std::fs::remove_dir_all(&dir_api).unwrap();
        std::fs::remove_dir_all(&dir_src).unwrap();
    }
}

#[tokio::test]
async fn merge_from_values_without_a_column_list_and_bad_merges_are_refused() {
    let (dir, table) = cities("sql-merge-values", &[]).await;
    let ctx = context(&[("t", &table)]).await;
    let (rows, _) = run(
        &ctx,
        "MERGE INTO t USING (VALUES (1, 'Oslo'), (1000, 'Rome')) AS s(id, city) ON t.id = s.id \
         WHEN MATCHED THEN UPDATE SET city = s.city \
         WHEN NOT MATCHED THEN INSERT VALUES (s.id, s.city)",
    )
    .await;
    assert_eq!(
        rows[0]
            .column(0)
            .as_primitive::<arrow::datatypes::UInt64Type>()
            .value(0),
        2
    );
    let (rows, _) = run(
        &ctx,
        "SELECT id FROM t WHERE city = 'Oslo' AND id IN (1, 1000) ORDER BY id",
    )
    .await;
    assert_eq!(longs(&rows), [1]);
    let (rows, _) = run(&ctx, "SELECT count(*) FROM t").await;
    assert_eq!(longs(&rows), [401]);
    let version = table.snapshot().await.unwrap().version();
    // a source row matching two target rows... here two source rows
    // matching one target row, which an update cannot choose between
    let twice = ctx
        .sql(
            "MERGE INTO t USING (VALUES (5), (5)) AS s(id) ON t.id = s.id \
             WHEN MATCHED THEN UPDATE SET id = 0",
        )
        .await
        .unwrap()
        .collect()
        .await;
    let message = twice.unwrap_err().to_string();
    assert!(message.contains("MERGE"), "{message}");
    // a NOT NULL or type mistake: inserting text into a long column
    let wrong = ctx
        .sql(
            "MERGE INTO t USING (VALUES ('x')) AS s(name) ON t.id = 0 \
             WHEN NOT MATCHED THEN INSERT (id) VALUES (s.name)",
        )
        .await;
    let failed = match wrong {
        Err(_) => true,
        Ok(frame) => frame.collect().await.is_err(),
    };
    assert!(failed);
    // a pinned table is read-only
    let pinned = DeltaTableProvider::at(table.clone(), table.snapshot_at(1).await.unwrap());
    ctx.register_table("t1", Arc::new(pinned)).unwrap();
    let refused = ctx
        .sql("MERGE INTO t1 USING t ON t1.id = t.id WHEN MATCHED THEN DELETE")
        .await;
    let failed = match refused {
        Err(e) => e.to_string(),
        Ok(frame) => frame.collect().await.unwrap_err().to_string(),
    };
    assert!(failed.contains("pinned to version 1"), "{failed}");
    // nothing above committed
    assert_eq!(table.snapshot().await.unwrap().version(), version);
    std::fs::remove_dir_all(&dir).unwrap();
}

/// DataFusion's default (Generic) dialect does not parse time-travel
/// clauses, so without [`enable_time_travel`] no query answers with the
/// latest version instead of the one asked for.
#[tokio::test]
async fn time_travel_clauses_without_the_planner_are_refused() {
    let (dir, table) = cities("sql-time-travel-off", &[]).await;
    let ctx = context(&[("t", &table)]).await;
    for q in [
        "SELECT count(*) FROM t VERSION AS OF 1",
        "SELECT count(*) FROM t FOR SYSTEM_TIME AS OF '2024-01-01'",
        "SELECT count(*) FROM t TIMESTAMP AS OF '2024-01-01'",
    ] {
        assert!(ctx.sql(q).await.is_err(), "{q}");
    }
    std::fs::remove_dir_all(&dir).unwrap();
}

/// The rows at each version, through SQL, equal the rows of that snapshot.
async fn time_travel(name: &str) {
    let (dir, table) = cities(name, &[]).await;
    let ctx = context(&[("t", &table)]).await;
    enable_time_travel(&ctx).unwrap();
    // the planner leaves the dialect alone: Generic cannot parse the clauses
    assert!(ctx.sql("SELECT id FROM t VERSION AS OF 0").await.is_err());
    ctx.sql("SET datafusion.sql_parser.dialect = 'Databricks'")
        .await
        .unwrap();
    let count = |rows: Vec<RecordBatch>| longs(&rows)[0];
    for version in 0..4u64 {
        let (rows, plan) = run(&ctx, &format!("SELECT id FROM t VERSION AS OF {version}")).await;
        assert_eq!(longs(&rows).len() as i64, 100 * (version as i64 + 1));
        // pinned: the scan reads only that version's files
        let files: usize = scans(&plan)
            .iter()
            .map(|s| metric(s, "files_considered"))
            .sum();
        assert_eq!(files, 4 * (version as usize + 1));
    }
    // with a filter, an alias, and joined to the latest version
    let (rows, _) = run(
        &ctx,
        "SELECT count(*) FROM t VERSION AS OF 0 AS old JOIN t ON old.id = t.id WHERE old.city = 'Oslo'",
    )
    .await;
    assert_eq!(count(rows), 25);
    // a timestamp: the latest version committed at or before it
    let history = table.history(None).await.unwrap();
    let at = |ms: i64| {
        history
            .iter()
            .filter(|c| c.timestamp_ms <= ms)
            .map(|c| c.version)
            .max()
            .unwrap()
    };
    let v1 = history
        .iter()
        .find(|c| c.version == 1)
        .unwrap()
        .timestamp_ms;
    let expected = 100 * (at(v1) as i64 + 1);
    let text = chrono::DateTime::from_timestamp_millis(v1)
        .unwrap()
        .format("%Y-%m-%d %H:%M:%S%.3f");
    for clause in [
        format!("TIMESTAMP AS OF '{text}'"),
        format!("TIMESTAMP AS OF to_timestamp_millis({v1})"),
    ] {
        let (rows, _) = run(&ctx, &format!("SELECT count(*) FROM t {clause}")).await;
        assert_eq!(count(rows), expected, "{clause}");
    }
    // the SQL Server / BigQuery form, in a dialect that parses it
    ctx.sql("SET datafusion.sql_parser.dialect = 'BigQuery'")
        .await
        .unwrap();
    let (rows, _) = run(
        &ctx,
        &format!("SELECT count(*) FROM t FOR SYSTEM_TIME AS OF '{text}'"),
    )
    .await;
    assert_eq!(count(rows), expected);
    ctx.sql("SET datafusion.sql_parser.dialect = 'Databricks'")
        .await
        .unwrap();
    // an old version as the source of a write
    run(
        &ctx,
        "INSERT INTO t SELECT id + 1000, city FROM t VERSION AS OF 0",
    )
    .await;
    let (rows, _) = run(&ctx, "SELECT count(*) FROM t").await;
    assert_eq!(count(rows), 500);
    // refused, by name: a version not there, a time before the table, a
    // clause on a table that is not Delta, a timestamp that is not constant
    ctx.register_batch(
        "plain",
        RecordBatch::try_from_iter([("x", Arc::new(Int64Array::from(vec![1])) as ArrayRef)])
            .unwrap(),
    )
    .unwrap();
    for (q, says) in [
        ("SELECT * FROM t VERSION AS OF 99", "99"),
        (
            "SELECT * FROM t TIMESTAMP AS OF '1999-01-01'",
            "1999-01-01T00:00:00",
        ),
        ("SELECT * FROM plain VERSION AS OF 0", "not a Delta table"),
        ("SELECT * FROM t TIMESTAMP AS OF 'soon' AS x", "constant"),
    ] {
        let err = match ctx.sql(q).await {
            Err(e) => e.to_string(),
            Ok(frame) => frame.collect().await.unwrap_err().to_string(),
        };
        assert!(err.contains(says), "{q}: {err}");
    }
    std::fs::remove_dir_all(&dir).unwrap();
}

#[tokio::test]
async fn time_travel_in_sql_reads_the_version_asked_for() {
    time_travel("sql-time-travel").await;
}

/// Snapshots load from the synchronous planner on either kind of runtime.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn time_travel_on_a_multi_thread_runtime() {
    time_travel("sql-time-travel-mt").await;
}
