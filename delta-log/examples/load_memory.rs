//! Peak memory and time of loading a table with many active files from a
//! classic checkpoint and a JSON tail:
//! `cargo run --release -p delta-log --example load_memory -- [FILES] [--keep DIR]`
//! (default 1 000 000 files). The table is built in a temporary directory
//! (or in DIR, left there for other tools to open), then a child process
//! loads it and reports its peak resident set (Linux `VmHWM`).
//!
//! The checkpoint at version 0 holds FILES files; each of the
//! [`TAIL_COMMITS`] commits after it adds [`TAIL_FILES`] files and removes
//! as many of the checkpoint's, so FILES stay active.
#![allow(clippy::unwrap_used, clippy::expect_used, reason = "measurement tool")]

use std::sync::Arc;
use std::time::Instant;

use bytes::Bytes;
use delta_log::replay::Replay;
use delta_log::segment::LogSegment;
use delta_log::{Action, Add, DeltaLog, Format, Metadata, Protocol, Remove, TableState};

/// Commits after the checkpoint.
const TAIL_COMMITS: u64 = 10;
/// Files each of them adds and removes.
const TAIL_FILES: u64 = 100;
use object_store::local::LocalFileSystem;
use object_store::path::Path;

fn log_at(dir: &std::path::Path) -> DeltaLog {
    let root = Path::from_absolute_path(dir).unwrap();
    DeltaLog::new(
        Arc::new(LocalFileSystem::new()),
        root,
        dir.display().to_string(),
    )
}

fn add(i: u64) -> Add {
    Add {
        path: format!(
            "part={}/part-{i:010}-0a1b2c3d-4e5f-6789-abcd-ef0123456789.c000.snappy.parquet",
            i % 100
        ),
        partition_values: [("part".to_string(), Some((i % 100).to_string()))].into(),
        size: 10_000_000,
        modification_time: 1_700_000_000_000,
        data_change: false,
        stats: Some(format!(
            r#"{{"numRecords":100000,"minValues":{{"id":{},"name":"aaaa"}},"maxValues":{{"id":{},"name":"zzzz"}},"nullCount":{{"id":0,"name":0}}}}"#,
            i * 100_000,
            i * 100_000 + 99_999
        )),
        tags: None,
        deletion_vector: None,
        base_row_id: None,
        default_row_commit_version: None,
        clustering_provider: None,
    }
}

async fn build(dir: &std::path::Path, files: u64) {
    let _ = std::fs::remove_dir_all(dir);
    std::fs::create_dir_all(dir).unwrap();
    let log = log_at(dir);
    let protocol = Protocol {
        min_reader_version: 1,
        min_writer_version: 2,
        reader_features: None,
        writer_features: None,
    };
    let metadata = Metadata {
        id: "memory".into(),
        name: None,
        description: None,
        format: Format::default(),
        schema_string: r#"{"type":"struct","fields":[{"name":"id","type":"long","nullable":true,"metadata":{}},{"name":"name","type":"string","nullable":true,"metadata":{}},{"name":"part","type":"integer","nullable":true,"metadata":{}}]}"#.into(),
        partition_columns: vec!["part".into()],
        created_time: Some(0),
        configuration: Default::default(),
    };
    let commit = [
        Action::Protocol(protocol.clone()),
        Action::Metadata(metadata.clone()),
    ]
    .iter()
    .map(|a| a.to_json_line().unwrap())
    .collect::<Vec<_>>()
    .join("\n");
    log.commit_log()
        .put_commit(0, Bytes::from(commit))
        .await
        .unwrap();
    let mut replay = Replay::new();
    replay.apply_checkpoint([Action::Protocol(protocol), Action::Metadata(metadata)]);
    replay.apply_checkpoint((0..files).map(|i| Action::Add(add(i))));
    let out = replay.finish();
    let state = TableState {
        table: dir.display().to_string(),
        root: Path::from_absolute_path(dir).unwrap(),
        version: 0,
        timestamp_ms: 0,
        protocol: out.protocol.unwrap(),
        metadata: out.metadata.unwrap(),
        files: out.adds,
        tombstones: out.tombstones,
        txns: out.txns,
        domains: out.domains,
        segment: LogSegment {
            version: 0,
            checkpoint: None,
            commits: Vec::new(),
            covered_commit: None,
        },
        metadata_file: None,
        protocol_file: None,
    };
    let started = Instant::now();
    let info = log.write_checkpoint(&state, 0, None).await.unwrap();
    println!(
        "wrote checkpoint: {} actions, {} bytes in {:.2?}",
        info.size,
        info.size_in_bytes,
        started.elapsed()
    );
    for v in 1..=TAIL_COMMITS {
        let mut lines = Vec::new();
        for k in 0..TAIL_FILES {
            let gone = add((v - 1) * TAIL_FILES + k);
            let remove = Remove {
                path: gone.path,
                deletion_timestamp: Some(1_700_000_000_000),
                data_change: true,
                extended_file_metadata: None,
                partition_values: None,
                size: None,
                stats: None,
                tags: None,
                deletion_vector: None,
                base_row_id: None,
                default_row_commit_version: None,
            };
            lines.push(Action::Remove(remove).to_json_line().unwrap());
            lines.push(
                Action::Add(add(files + (v - 1) * TAIL_FILES + k))
                    .to_json_line()
                    .unwrap(),
            );
        }
        log.commit_log()
            .put_commit(v, Bytes::from(lines.join("\n")))
            .await
            .unwrap();
    }
}

fn peak_rss_mib() -> Option<f64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = status.lines().find(|l| l.starts_with("VmHWM:"))?;
    let kib: f64 = line.split_whitespace().nth(1)?.parse().ok()?;
    Some(kib / 1024.0)
}

#[tokio::main]
async fn main() {
    let args: Vec<String> = std::env::args().collect();
    if args.get(1).map(String::as_str) == Some("--load") {
        let dir = std::path::PathBuf::from(&args[2]);
        let started = Instant::now();
        let state = log_at(&dir).state(None).await.unwrap();
        let elapsed = started.elapsed();
        println!(
            "loaded {} active files in {:.2?}; peak RSS {:.0} MiB",
            state.files.len(),
            elapsed,
            peak_rss_mib().unwrap_or(f64::NAN)
        );
        return;
    }
    let files: u64 = args.get(1).map_or(1_000_000, |a| a.parse().unwrap());
    let keep = args
        .iter()
        .position(|a| a == "--keep")
        .map(|i| std::path::PathBuf::from(&args[i + 1]));
    let dir = keep.clone().unwrap_or_else(|| {
        std::env::temp_dir().join(format!("delta-load-memory-{}", std::process::id()))
    });
    build(&dir, files).await;
    let status = std::process::Command::new(&args[0])
        .arg("--load")
        .arg(&dir)
        .status()
        .unwrap();
    if keep.is_none() {
        std::fs::remove_dir_all(&dir).unwrap();
    }
    assert!(status.success());
}
