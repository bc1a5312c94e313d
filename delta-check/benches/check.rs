//! The consistency check of a table of 10 000 files in 1 000 commits, as
//! our writer leaves it (a checksum per commit, a checkpoint every 10
//! commits): `shallow` reads the log, compares every checkpoint and
//! checksum with the commits, looks up every file and lists the table for
//! orphans; `deep` also reads every data file (one row each here).
//!
//! The table is built once under `target/bench-check` (set
//! `DELTA_CHECK_BENCH_COMMITS` for another size; 10 files per commit).
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    missing_docs,
    reason = "benchmark"
)]

use std::path::PathBuf;
use std::sync::Arc;

use arrow::array::{ArrayRef, Int64Array, RecordBatch};
use criterion::{Criterion, criterion_group, criterion_main};
use delta_check::{CheckOptions, check};
use delta_log::Add;
use delta_schema::{DataType, StructField, StructType};
use delta_txn::progress::NoProgress;
use delta_txn::{CreateOptions, Table};

const FILES_PER_COMMIT: usize = 10;

fn commits() -> usize {
    std::env::var("DELTA_CHECK_BENCH_COMMITS")
        .ok()
        .and_then(|c| c.parse().ok())
        .unwrap_or(1000)
}

/// One Parquet file of one row (id 7), and its statistics.
fn data_file() -> (Vec<u8>, String) {
    let batch =
        RecordBatch::try_from_iter([("id", Arc::new(Int64Array::from(vec![7])) as ArrayRef)])
            .unwrap();
    let mut bytes = Vec::new();
    let mut writer =
        parquet::arrow::ArrowWriter::try_new(&mut bytes, batch.schema(), None).unwrap();
    writer.write(&batch).unwrap();
    writer.close().unwrap();
    let stats =
        r#"{"numRecords":1,"minValues":{"id":7},"maxValues":{"id":7},"nullCount":{"id":0}}"#;
    (bytes, stats.to_string())
}

/// The table, built on first use: `commits` commits of 10 files each.
fn table(rt: &tokio::runtime::Runtime) -> Table {
    let commits = commits();
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../target/bench-check")
        .join(format!("t{commits}"));
    let table = Table::at(dir.to_str().unwrap()).unwrap();
    let done = dir.join("_delta_log").join(format!("{:020}.json", commits));
    if done.exists() {
        return table;
    }
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    let (bytes, stats) = data_file();
    rt.block_on(async {
        let schema = StructType::new([StructField::new("id", DataType::LONG, true)]);
        table
            .initialize(&schema, CreateOptions::default())
            .await
            .unwrap();
        for c in 0..commits {
            let mut adds = Vec::new();
            for f in 0..FILES_PER_COMMIT {
                let name = format!("part-{c:05}-{f:02}.parquet");
                std::fs::write(dir.join(&name), &bytes).unwrap();
                adds.push(Add {
                    path: name,
                    partition_values: Default::default(),
                    size: bytes.len() as i64,
                    modification_time: 1_700_000_000_000,
                    data_change: true,
                    stats: Some(stats.clone()),
                    tags: None,
                    deletion_vector: None,
                    base_row_id: None,
                    default_row_commit_version: None,
                    clustering_provider: None,
                });
            }
            let mut txn = table.transaction("WRITE").await.unwrap();
            txn.add_files(adds);
            txn.commit().await.unwrap();
        }
    });
    table
}

fn bench(c: &mut Criterion) {
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .unwrap();
    let table = table(&rt);
    let files = FILES_PER_COMMIT * commits();
    let mut group = c.benchmark_group("check");
    group.sample_size(10);
    group.bench_function(
        format!("shallow_{files}_files_{}_commits", commits()),
        |b| {
            b.iter(|| {
                let report = rt.block_on(check(&table, &CheckOptions::default(), &NoProgress));
                assert!(report.findings.is_empty(), "{:?}", &report.findings[..1]);
            });
        },
    );
    let deep = CheckOptions {
        deep: true,
        ..CheckOptions::default()
    };
    group.bench_function(format!("deep_{files}_files_{}_commits", commits()), |b| {
        b.iter(|| {
            let report = rt.block_on(check(&table, &deep, &NoProgress));
            assert!(report.findings.is_empty(), "{:?}", &report.findings[..1]);
        });
    });
    group.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
