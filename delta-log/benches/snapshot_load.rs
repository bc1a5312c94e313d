//! Snapshot load: replaying a log of many commits, with and without checkpoints.
//!
//! - `2000_commits_checkpoint_every_100`: the state comes from the checkpoint at
//!   1900 plus 100 JSON commits.
//! - `1000_commits_no_checkpoint`: all 1000 JSON commits are replayed.
//!
//! Each commit adds two files (with stats and a partition value) and removes
//! one added earlier, so the table grows by one file per commit.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    missing_docs,
    reason = "benchmark"
)]

use std::sync::Arc;

use bytes::Bytes;
use criterion::{Criterion, criterion_group, criterion_main};
use delta_log::{Action, Add, CommitInfo, DeltaLog, Format, Metadata, Protocol, Remove};
use object_store::local::LocalFileSystem;
use object_store::path::Path;

fn add(i: u64) -> Add {
    Add {
        path: format!("part={}/file-{i:08}.parquet", i % 10),
        partition_values: [("part".to_string(), Some((i % 10).to_string()))].into(),
        size: 1_000_000 + i as i64,
        modification_time: 1_700_000_000_000 + i as i64,
        data_change: true,
        stats: Some(format!(
            r#"{{"numRecords":1000,"minValues":{{"id":{},"name":"a{i}"}},"maxValues":{{"id":{},"name":"z{i}"}},"nullCount":{{"id":0,"name":3}}}}"#,
            i * 1000,
            i * 1000 + 999
        )),
        tags: None,
        deletion_vector: None,
        base_row_id: None,
        default_row_commit_version: None,
        clustering_provider: None,
    }
}

fn commit_text(version: u64) -> String {
    let mut actions = Vec::new();
    let mut info = serde_json::Map::new();
    info.insert(
        "timestamp".into(),
        (1_700_000_000_000 + version as i64).into(),
    );
    info.insert("operation".into(), "WRITE".into());
    actions.push(Action::CommitInfo(CommitInfo(info)));
    if version == 0 {
        actions.push(Action::Protocol(Protocol {
            min_reader_version: 1,
            min_writer_version: 2,
            reader_features: None,
            writer_features: None,
        }));
        actions.push(Action::Metadata(Metadata {
            id: "bench".into(),
            name: None,
            description: None,
            format: Format::default(),
            schema_string: r#"{"type":"struct","fields":[{"name":"id","type":"long","nullable":true,"metadata":{}},{"name":"name","type":"string","nullable":true,"metadata":{}},{"name":"part","type":"integer","nullable":true,"metadata":{}}]}"#.into(),
            partition_columns: vec!["part".into()],
            created_time: Some(0),
            configuration: Default::default(),
        }));
    } else {
        let old = add(2 * (version - 1));
        actions.push(Action::Remove(Remove {
            path: old.path,
            deletion_timestamp: Some(1_700_000_000_000),
            data_change: true,
            extended_file_metadata: Some(true),
            partition_values: Some(old.partition_values),
            size: Some(old.size),
            stats: None,
            tags: None,
            deletion_vector: None,
            base_row_id: None,
            default_row_commit_version: None,
        }));
    }
    actions.push(Action::Add(add(2 * version)));
    actions.push(Action::Add(add(2 * version + 1)));
    actions
        .iter()
        .map(|a| a.to_json_line().unwrap())
        .collect::<Vec<_>>()
        .join("\n")
}

async fn build(dir: &std::path::Path, commits: u64, checkpoint_every: Option<u64>) -> DeltaLog {
    let _ = std::fs::remove_dir_all(dir);
    std::fs::create_dir_all(dir).unwrap();
    let root = Path::from_absolute_path(dir).unwrap();
    let log = DeltaLog::new(
        Arc::new(LocalFileSystem::new()),
        root,
        dir.display().to_string(),
    );
    for v in 0..commits {
        log.commit_log()
            .put_commit(v, Bytes::from(commit_text(v)))
            .await
            .unwrap();
        if let Some(every) = checkpoint_every
            && v > 0
            && v % every == 0
        {
            let state = log.state(Some(v)).await.unwrap();
            log.write_checkpoint(&state, 1_700_000_000_000, None)
                .await
                .unwrap();
        }
    }
    log
}

fn snapshot_load(c: &mut Criterion) {
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .unwrap();
    let base = std::env::temp_dir().join(format!("delta-bench-{}", std::process::id()));
    let with_cp = rt.block_on(build(&base.join("cp"), 2000, Some(100)));
    let without = rt.block_on(build(&base.join("nocp"), 1000, None));
    let mut group = c.benchmark_group("snapshot_load");
    group.sample_size(20);
    group.bench_function("2000_commits_checkpoint_every_100", |b| {
        b.to_async(&rt).iter(|| async {
            let s = with_cp.state(None).await.unwrap();
            assert_eq!(s.files.len(), 2001);
        })
    });
    group.bench_function("1000_commits_no_checkpoint", |b| {
        b.to_async(&rt).iter(|| async {
            let s = without.state(None).await.unwrap();
            assert_eq!(s.files.len(), 1001);
        })
    });
    group.finish();
    let _ = std::fs::remove_dir_all(&base);
}

criterion_group!(benches, snapshot_load);
criterion_main!(benches);
