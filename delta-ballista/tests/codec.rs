//! Our plans through the codec: a scan restricted to some of its
//! partitions (as a Ballista scheduler restricts a task's copy) reads,
//! after the trip, exactly the rows those partitions read before it, and
//! carries only their files; DML statements come back as they went; a
//! table no other process can open is refused by name.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    reason = "tests fail loudly"
)]

use std::sync::Arc;

use arrow::array::{ArrayRef, Int64Array, RecordBatch, StringArray};
use ballista_scheduler::state::task_builder::restrict_plan_to_partitions;
use datafusion::physical_plan::{ExecutionPlan, collect_partitioned};
use datafusion::prelude::SessionContext;
use datafusion_proto::bytes::{
    physical_plan_from_bytes_with_extension_codec, physical_plan_to_bytes_with_extension_codec,
};
use delta_datafusion::{DeltaDmlExec, DeltaScanExec, Statement};
use delta_merge::Clause;
use delta_txn::{Table, WriteOptions};

async fn table(name: &str) -> (std::path::PathBuf, Table) {
    let dir = delta_test::scratch_dir(name).unwrap();
    let table = Table::at(dir.to_str().unwrap()).unwrap();
    for i in 0..6i64 {
        let ids: Vec<i64> = (i * 100..i * 100 + 100).collect();
        let city: Vec<String> = ids.iter().map(|id| format!("c{}", id % 3)).collect();
        let batch = RecordBatch::try_from_iter([
            ("id", Arc::new(Int64Array::from(ids)) as ArrayRef),
            ("city", Arc::new(StringArray::from(city)) as ArrayRef),
        ])
        .unwrap();
        let options = WriteOptions {
            partition_by: Some(vec!["city".to_string()]),
            ..Default::default()
        };
        table
            .write(batch.schema(), futures::stream::iter([Ok(batch)]), options)
            .await
            .unwrap();
    }
    (dir, table)
}

/// The plan after a trip through our codec.
fn round_trip(plan: Arc<dyn ExecutionPlan>, ctx: &SessionContext) -> Arc<dyn ExecutionPlan> {
    let codec = delta_ballista::physical_codec();
    let bytes = physical_plan_to_bytes_with_extension_codec(plan, codec.as_ref()).unwrap();
    physical_plan_from_bytes_with_extension_codec(&bytes, &ctx.task_ctx(), codec.as_ref()).unwrap()
}

/// The sorted ids of each partition of a plan.
async fn ids_by_partition(plan: Arc<dyn ExecutionPlan>, ctx: &SessionContext) -> Vec<Vec<i64>> {
    collect_partitioned(plan, ctx.task_ctx())
        .await
        .unwrap()
        .iter()
        .map(|batches| {
            let mut ids: Vec<i64> = batches
                .iter()
                .flat_map(|b| {
                    b.column(0)
                        .as_any()
                        .downcast_ref::<Int64Array>()
                        .unwrap()
                        .values()
                        .to_vec()
                })
                .collect();
            ids.sort_unstable();
            ids
        })
        .collect()
}

#[tokio::test]
async fn a_restricted_scan_reads_its_partitions_files_after_the_trip() {
    let (dir, table) = table("codec-scan").await;
    let ctx = SessionContext::new();
    let snapshot = table.snapshot().await.unwrap();
    let predicate = delta_expr::parse("id % 5 <> 1 AND city <> 'c2'").unwrap();
    let scan = DeltaScanExec::try_new(
        snapshot,
        vec!["id".to_string(), "city".to_string()],
        Some(predicate),
        None,
        4,
    )
    .unwrap();
    let scan: Arc<dyn ExecutionPlan> = Arc::new(scan);
    let whole = ids_by_partition(Arc::clone(&scan), &ctx).await;
    assert_eq!(whole.len(), 4);
    assert!(whole.iter().all(|ids| !ids.is_empty()));
    // the whole scan, then a task's copy of partitions 1 and 3
    assert_eq!(
        ids_by_partition(round_trip(Arc::clone(&scan), &ctx), &ctx).await,
        whole
    );
    let restricted = restrict_plan_to_partitions(Arc::clone(&scan), &[1, 3]).unwrap();
    let back = round_trip(restricted, &ctx);
    assert_eq!(
        ids_by_partition(Arc::clone(&back), &ctx).await,
        [whole[1].clone(), whole[3].clone()]
    );
    // only the files of those partitions made the trip
    let back = back.downcast_ref::<DeltaScanExec>().unwrap();
    let original = scan.downcast_ref::<DeltaScanExec>().unwrap().parts();
    let expected = original.groups[1].len() + original.groups[3].len();
    assert_eq!(back.parts().snapshot.files().len(), expected);
    // the scan's file counters are in the one copy that reads group 0, so
    // the sum over the tasks' copies is the scan's
    let files_read = |plan: &Arc<dyn ExecutionPlan>| {
        plan.metrics()
            .unwrap()
            .sum_by_name("files_read")
            .map_or(0, |v| v.as_usize())
    };
    let read = original.skipped.read;
    assert!(read > 0);
    let tasks = [vec![1, 3], vec![0, 2]].map(|partitions| {
        round_trip(
            restrict_plan_to_partitions(Arc::clone(&scan), &partitions).unwrap(),
            &ctx,
        )
    });
    assert_eq!(files_read(&tasks[0]), 0);
    assert_eq!(files_read(&tasks[1]), read);
    std::fs::remove_dir_all(&dir).unwrap();
}

#[tokio::test]
async fn statements_come_back_as_they_went() {
    let (dir, table) = table("codec-dml").await;
    let ctx = SessionContext::new();
    let parse = |t: &str| delta_expr::parse(t).unwrap();
    let statements = [
        Statement::Delete { predicate: None },
        Statement::Delete {
            predicate: Some(parse("id < 3 OR city = 'it''s'")),
        },
        Statement::Update {
            predicate: Some(parse("id BETWEEN 1 AND 5")),
            assignments: vec![("id".to_string(), parse("-(id * 2) + 1"))],
        },
    ];
    for statement in statements {
        let plan = Arc::new(DeltaDmlExec::new(table.clone(), statement.clone()));
        let back = round_trip(plan, &ctx);
        let back = back.downcast_ref::<DeltaDmlExec>().unwrap();
        assert_eq!(format!("{:?}", back.statement()), format!("{statement:?}"));
    }
    // a MERGE with every kind of clause, its source the plan's child
    let merge = Statement::Merge {
        on: parse("t.id = s.id"),
        clauses: vec![
            Clause::MatchedDelete {
                condition: Some(parse("s.id > 10")),
            },
            Clause::MatchedUpdate {
                condition: None,
                set: vec![("id".to_string(), parse("s.id + 1"))],
            },
            Clause::MatchedUpdateAll { condition: None },
            Clause::NotMatchedInsert {
                condition: Some(parse("s.city IS NOT NULL")),
                values: vec![("city".to_string(), parse("upper(s.city)"))],
            },
            Clause::NotMatchedInsertAll { condition: None },
            Clause::NotMatchedBySourceUpdate {
                condition: None,
                set: vec![("city".to_string(), parse("'gone'"))],
            },
            Clause::NotMatchedBySourceDelete {
                condition: Some(parse("t.id < 0")),
            },
        ],
        target_alias: "t".to_string(),
        source_alias: "s".to_string(),
    };
    let source = ctx
        .sql("SELECT 1 AS id, 'x' AS city")
        .await
        .unwrap()
        .create_physical_plan()
        .await
        .unwrap();
    let plan = Arc::new(DeltaDmlExec::merge(table.clone(), merge.clone(), source));
    let back = round_trip(plan, &ctx);
    assert_eq!(back.children().len(), 1);
    let back = back.downcast_ref::<DeltaDmlExec>().unwrap();
    assert_eq!(format!("{:?}", back.statement()), format!("{merge:?}"));
    std::fs::remove_dir_all(&dir).unwrap();
}

#[tokio::test]
async fn a_table_in_memory_is_refused_by_name() {
    let table = Table::at("memory://bucket/t").unwrap();
    let plan = Arc::new(DeltaDmlExec::new(
        table,
        Statement::Delete { predicate: None },
    ));
    let codec = delta_ballista::physical_codec();
    let err = physical_plan_to_bytes_with_extension_codec(plan, codec.as_ref()).unwrap_err();
    assert!(
        err.to_string()
            .contains("in-memory table 'memory://bucket/t'"),
        "{err}"
    );
}
