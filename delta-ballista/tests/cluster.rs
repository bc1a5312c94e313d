//! A Ballista scheduler and two executors on the loopback interface, in
//! this process: queries over a partitioned table with deletion vectors
//! give exactly what a local DataFusion session gives, and an INSERT, a
//! DELETE and a MERGE through the cluster land as one commit each.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    reason = "tests fail loudly"
)]

use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

use arrow::array::{ArrayRef, Int64Array, RecordBatch, StringArray};
use arrow::util::pretty::pretty_format_batches;
use ballista::prelude::SessionContextExt;
use ballista_core::serde::protobuf::scheduler_grpc_client::SchedulerGrpcClient;
use ballista_core::utils::default_session_builder;
use ballista_core::{ConfigProducer, RuntimeProducer};
use datafusion::execution::SessionStateBuilder;
use datafusion::execution::runtime_env::RuntimeEnv;
use datafusion::prelude::SessionContext;
use delta_datafusion::DeltaTableProvider;
use delta_txn::{Table, WriteOptions};

const CITIES: [&str; 4] = ["Lima", "Oslo", "Rome", "Kyiv"];

/// No step of the test may hang the build.
async fn bounded<T>(what: &str, step: impl Future<Output = T>) -> T {
    tokio::time::timeout(Duration::from_secs(120), step)
        .await
        .unwrap_or_else(|_| panic!("{what} took over two minutes"))
}

/// Four appends of 500 rows over four city partitions, then a delete that
/// leaves deletion vectors.
async fn table() -> (std::path::PathBuf, Table) {
    let dir = delta_test::scratch_dir("ballista").unwrap();
    let table = Table::at(dir.to_str().unwrap()).unwrap();
    for i in 0..4i64 {
        let ids: Vec<i64> = (i * 500..i * 500 + 500).collect();
        let city: Vec<&str> = ids.iter().map(|id| CITIES[(id % 4) as usize]).collect();
        let batch = RecordBatch::try_from_iter([
            ("id", Arc::new(Int64Array::from(ids)) as ArrayRef),
            ("city", Arc::new(StringArray::from(city)) as ArrayRef),
        ])
        .unwrap();
        let options = WriteOptions {
            partition_by: Some(vec!["city".to_string()]),
            properties: [("delta.enableDeletionVectors", "true")]
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
    let deleted = delta_merge::delete(&table, Some(&delta_expr::parse("id % 10 = 3").unwrap()))
        .await
        .unwrap();
    assert!(deleted.metrics["numDeletionVectorsAdded"] > 0);
    (dir, table)
}

/// Starts a scheduler and two executors with our codecs; the client's URL.
async fn cluster() -> String {
    let config: ConfigProducer = Arc::new(delta_ballista::session_config);
    let scheduler = ballista_scheduler::standalone::new_standalone_scheduler_with_builder(
        Arc::new(default_session_builder),
        Arc::clone(&config),
        delta_ballista::codec(),
    )
    .await
    .expect("the scheduler starts");
    let url = format!("http://localhost:{}", scheduler.port());
    for _ in 0..2 {
        let mut tries = 0;
        let client = loop {
            match SchedulerGrpcClient::connect(url.clone()).await {
                Ok(client) => break client,
                Err(e) if tries < 50 => {
                    tries += 1;
                    tokio::time::sleep(Duration::from_millis(100)).await;
                    let _ = e;
                }
                Err(e) => panic!("no scheduler at {url}: {e}"),
            }
        };
        let runtime: RuntimeProducer = Arc::new(|_| Ok(Arc::new(RuntimeEnv::default())));
        ballista_executor::new_standalone_executor_from_builder(
            client,
            2,
            Arc::clone(&config),
            runtime,
            delta_ballista::codec(),
            Default::default(),
        )
        .await
        .expect("an executor starts");
    }
    format!("df://localhost:{}", scheduler.port())
}

/// The rows of a query, as text.
async fn rows(ctx: &SessionContext, sql: &str) -> String {
    let batches = bounded(sql, async { ctx.sql(sql).await?.collect().await })
        .await
        .unwrap_or_else(|e| panic!("{sql}: {e}"));
    pretty_format_batches(&batches).unwrap().to_string()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_cluster_reads_and_writes_as_one_process_does() {
    let (dir, table) = table().await;
    let url = bounded("starting the cluster", cluster()).await;
    let state = SessionStateBuilder::new()
        .with_default_features()
        .with_config(delta_ballista::session_config())
        .build();
    let remote = SessionContext::remote_with_state(&url, state)
        .await
        .unwrap();
    let local = SessionContext::new();
    for ctx in [&remote, &local] {
        let provider = DeltaTableProvider::latest(table.clone()).await.unwrap();
        ctx.register_table("t", Arc::new(provider)).unwrap();
    }
    let queries = [
        "SELECT city, count(*) AS n, sum(id) AS s, min(id) AS lo, max(id) AS hi \
         FROM t GROUP BY city ORDER BY city",
        "SELECT id FROM t WHERE city = 'Oslo' AND id % 7 = 2 ORDER BY id",
        "SELECT count(*) AS n FROM t WHERE id > 1234",
        "SELECT a.city, count(*) AS n FROM t a JOIN t b ON a.id = b.id + 1 \
         GROUP BY a.city ORDER BY a.city",
    ];
    for q in queries {
        let (on_cluster, here) = (rows(&remote, q).await, rows(&local, q).await);
        assert_eq!(on_cluster, here, "{q}");
        // not vacuous: every query returns rows, and deleted rows stay deleted
        assert!(here.lines().count() > 4, "{q}: {here}");
    }
    let count = |ctx: &SessionContext| {
        let ctx = ctx.clone();
        async move { rows(&ctx, "SELECT count(*) AS n FROM t").await }
    };
    assert_eq!(count(&local).await, count(&remote).await);
    assert!(count(&local).await.contains("1800"));
    // an INSERT and a DELETE through the cluster: one commit each
    let version = table.snapshot().await.unwrap().version();
    rows(
        &remote,
        "INSERT INTO t SELECT id + 10000, city FROM t WHERE city = 'Lima'",
    )
    .await;
    assert_eq!(table.snapshot().await.unwrap().version(), version + 1);
    // 500 Lima rows (none was deleted: their ids are even)
    assert!(
        count(&local).await.contains("2300"),
        "{}",
        count(&local).await
    );
    rows(&remote, "DELETE FROM t WHERE id >= 10000 AND id % 8 = 0").await;
    assert_eq!(table.snapshot().await.unwrap().version(), version + 2);
    assert!(
        count(&local).await.contains("2050"),
        "{}",
        count(&local).await
    );
    // a MERGE, its source planned on the cluster too
    rows(
        &remote,
        "MERGE INTO t USING (SELECT id, city FROM t WHERE city = 'Oslo' AND id < 1000) AS s \
         ON t.id = s.id \
         WHEN MATCHED THEN UPDATE SET id = t.id + 100000 \
         WHEN NOT MATCHED BY SOURCE AND t.id >= 10000 THEN DELETE",
    )
    .await;
    assert_eq!(table.snapshot().await.unwrap().version(), version + 3);
    // the 250 rows of 10000 and up deleted; the 200 Oslo rows under 1000
    // (a source of two files, so two partitions) moved up
    assert!(
        count(&local).await.contains("1800"),
        "{}",
        count(&local).await
    );
    let moved = rows(&local, "SELECT count(*) AS n FROM t WHERE id >= 100000").await;
    assert!(moved.contains("| 200 "), "{moved}");
    let history = table.history(Some(3)).await.unwrap();
    let operations: Vec<_> = history
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
    assert_eq!(operations, ["MERGE", "DELETE", "WRITE"]);
    // a table pinned to a version is read-only on the cluster too
    let pinned = DeltaTableProvider::at(table.clone(), table.snapshot_at(0).await.unwrap());
    remote.register_table("t0", Arc::new(pinned)).unwrap();
    assert!(
        rows(&remote, "SELECT count(*) AS n FROM t0")
            .await
            .contains("500")
    );
    let refused = bounded("an insert into a pinned table", async {
        remote
            .sql("INSERT INTO t0 VALUES (1, 'Oslo')")
            .await?
            .collect()
            .await
    })
    .await;
    assert!(refused.is_err());
    assert_eq!(table.snapshot().await.unwrap().version(), version + 3);
    std::fs::remove_dir_all(&dir).unwrap();
}
