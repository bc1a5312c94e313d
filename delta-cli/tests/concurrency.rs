//! Many `delta` processes write one table at once, on the local file system
//! and, when `cargo xtask test` has started them, on the S3 server and the
//! Azure emulator (`DELTA_TEST_S3_URL`, `DELTA_TEST_AZURE_URL`; see
//! delta-txn's storage tests for the variables, `DELTA_REQUIRE_STORAGE` and
//! the markers).
//!
//! - Appends: 8 processes x 50 appends: 400 commits, contiguous versions,
//!   every row exactly once, no writer failed. With `DELTA_INTEROP_DIR` set
//!   (xtask's interop step) the local table and our report of its latest
//!   version go there, for delta-rs and Polars to read it back.
//! - A mix: appends, replaceWhere overwrites of disjoint partitions and
//!   constraint adds at once. Each outcome is one the conflict rules allow
//!   for its operation (a conflict exits with status 3 and names its class),
//!   and the table holds exactly what the successful commits wrote.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    reason = "tests fail loudly"
)]

use std::collections::BTreeSet;
use std::io::Write as _;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::sync::Arc;

use arrow::array::{ArrayRef, Int64Array, RecordBatch, StringArray};
use delta::txn::Table;
use parquet::arrow::ArrowWriter;

const WRITERS: i64 = 8;
const APPENDS: i64 = 50;

fn delta(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_delta"))
        .args(args)
        .output()
        .expect("run delta")
}

/// A Parquet file of rows `ids` in partition `part`.
fn input(dir: &Path, name: &str, ids: impl Iterator<Item = i64>, part: &str) -> String {
    let ids: Vec<i64> = ids.collect();
    let batch = RecordBatch::try_from_iter([
        ("id", Arc::new(Int64Array::from(ids.clone())) as ArrayRef),
        (
            "part",
            Arc::new(StringArray::from(vec![part; ids.len()])) as ArrayRef,
        ),
    ])
    .unwrap();
    let path = dir.join(format!("{name}.parquet"));
    let mut writer =
        ArrowWriter::try_new(std::fs::File::create(&path).unwrap(), batch.schema(), None).unwrap();
    writer.write(&batch).unwrap();
    writer.close().unwrap();
    path.display().to_string()
}

/// Where each backend's tables go: a local directory, and the store URLs
/// that are configured (or a failure when they are required but missing).
fn backends(test: &str) -> Vec<(&'static str, String)> {
    let mut out = vec![("local", String::new())];
    for (name, var) in [
        ("s3", "DELTA_TEST_S3_URL"),
        ("azure", "DELTA_TEST_AZURE_URL"),
    ] {
        match std::env::var(var) {
            Ok(url) if !url.is_empty() => out.push((name, url.trim_end_matches('/').to_string())),
            _ if std::env::var("DELTA_REQUIRE_STORAGE").is_ok_and(|v| v == "1") => {
                panic!("{test}: DELTA_REQUIRE_STORAGE=1 but {var} is not set")
            }
            _ => {
                let _ = writeln!(
                    std::io::stderr(),
                    "{test}: {name} skipped (run via cargo xtask test)"
                );
            }
        }
    }
    out
}

/// Tells xtask that `test` ran against the stores.
fn mark_ran(test: &str) {
    if let Ok(dir) = std::env::var("DELTA_STORAGE_MARKERS") {
        std::fs::create_dir_all(&dir).unwrap();
        std::fs::write(Path::new(&dir).join(test), b"ran\n").unwrap();
    }
}

/// A table location for `name` on `backend` (`base` empty: local, under `dir`).
fn location(dir: &Path, base: &str, name: &str) -> String {
    if base.is_empty() {
        dir.join(name).display().to_string()
    } else {
        let nanos = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap()
            .as_nanos();
        format!("{base}/concurrency-{name}-{}-{nanos}", std::process::id())
    }
}

/// Runs each writer's commands in order, the writers at once; returns each
/// command with its output, per writer.
fn run_writers(writers: Vec<Vec<Vec<String>>>) -> Vec<Vec<(Vec<String>, Output)>> {
    let handles: Vec<_> = writers
        .into_iter()
        .map(|commands| {
            std::thread::spawn(move || {
                commands
                    .into_iter()
                    .map(|args| {
                        let refs: Vec<&str> = args.iter().map(String::as_str).collect();
                        let out = delta(&refs);
                        (args, out)
                    })
                    .collect::<Vec<_>>()
            })
        })
        .collect();
    handles.into_iter().map(|h| h.join().unwrap()).collect()
}

fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap()
}

/// The ids in the table at `location`, sorted, per partition.
fn rows(location: &str) -> (u64, Vec<(String, i64)>) {
    runtime().block_on(async {
        let snapshot = Table::open(location)
            .await
            .unwrap()
            .snapshot()
            .await
            .unwrap();
        let batches = snapshot.scan().collect().await.unwrap();
        let mut rows = Vec::new();
        for b in &batches {
            let ids = b.column_by_name("id").unwrap();
            let ids = ids.as_any().downcast_ref::<Int64Array>().unwrap();
            let parts = b.column_by_name("part").unwrap();
            let parts = parts.as_any().downcast_ref::<StringArray>().unwrap();
            for i in 0..b.num_rows() {
                rows.push((parts.value(i).to_string(), ids.value(i)));
            }
        }
        rows.sort();
        (snapshot.version(), rows)
    })
}

fn text(out: &Output) -> String {
    format!(
        "exit {:?}\n{}{}",
        out.status.code(),
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    )
}

fn interop_dir() -> Option<PathBuf> {
    std::env::var_os("DELTA_INTEROP_DIR").map(PathBuf::from)
}

#[test]
fn eight_processes_append_fifty_times_each() {
    let test = "eight_processes_append_fifty_times_each";
    let scratch = delta_test::scratch_dir("concurrent-appends").unwrap();
    let inputs: Vec<Vec<String>> = (0..WRITERS)
        .map(|w| {
            (0..APPENDS)
                .map(|i| {
                    let first = (w * APPENDS + i) * 10;
                    input(&scratch, &format!("w{w}-{i}"), first..first + 10, "p")
                })
                .collect()
        })
        .collect();
    let backends = backends(test);
    for (backend, base) in &backends {
        let dir = match (backend, interop_dir()) {
            (&"local", Some(dir)) => dir,
            _ => scratch.clone(),
        };
        std::fs::create_dir_all(&dir).unwrap();
        let table = location(&dir, base, "stress-appends");
        if base.is_empty() {
            let _ = std::fs::remove_dir_all(&table);
        }
        let out = delta(&["create", &table, "--schema-from", &inputs[0][0]]);
        assert!(out.status.success(), "{backend}: {}", text(&out));
        let writers: Vec<Vec<Vec<String>>> = inputs
            .iter()
            .map(|files| {
                files
                    .iter()
                    .map(|f| vec!["write".to_string(), table.clone(), f.clone()])
                    .collect()
            })
            .collect();
        let results = run_writers(writers);
        for (args, out) in results.iter().flatten() {
            assert!(
                out.status.success(),
                "{backend}: delta {args:?}: {}",
                text(out)
            );
        }
        let (version, rows) = rows(&table);
        assert_eq!(version, (WRITERS * APPENDS) as u64, "{backend}");
        let ids: Vec<i64> = rows.iter().map(|(_, id)| *id).collect();
        assert_eq!(
            ids,
            (0..WRITERS * APPENDS * 10).collect::<Vec<_>>(),
            "{backend}"
        );
        // every version from 0 to the last, each a commit of its own
        let history = runtime().block_on(async {
            Table::open(&table)
                .await
                .unwrap()
                .history(None)
                .await
                .unwrap()
        });
        let mut versions: Vec<u64> = history.iter().map(|c| c.version).collect();
        versions.sort_unstable();
        assert_eq!(versions, (0..=version).collect::<Vec<_>>(), "{backend}");
        if *backend == "local"
            && let Some(dir) = interop_dir()
        {
            report(&dir, "stress-appends", &table, version);
        }
        // a copy of the table on the store, for delta-rs to read (xtask)
        if *backend != "local"
            && let Some(dir) = std::env::var_os("DELTA_INTEROP_REMOTE_DIR")
        {
            let name = format!("stress-appends-{backend}");
            let copy = PathBuf::from(dir).join(&name);
            download(&table, &copy);
            report(
                copy.parent().unwrap(),
                &name,
                copy.to_str().unwrap(),
                version,
            );
        }
    }
    if backends.len() == 3 {
        mark_ran(test);
    }
    std::fs::remove_dir_all(&scratch).unwrap();
}

/// Copies every file of the table at `url` (on an object store) into `to`.
fn download(url: &str, to: &Path) {
    use futures::TryStreamExt;
    use object_store::ObjectStoreExt;
    let location = delta::txn::location::resolve(url).unwrap();
    runtime().block_on(async {
        let store = &location.store;
        let objects: Vec<_> = store
            .list(Some(&location.root))
            .try_collect()
            .await
            .unwrap();
        for object in objects {
            let parts: Vec<String> = object
                .location
                .prefix_match(&location.root)
                .unwrap()
                .map(|p| p.as_ref().to_string())
                .collect();
            let target = parts.iter().fold(to.to_path_buf(), |p, part| p.join(part));
            std::fs::create_dir_all(target.parent().unwrap()).unwrap();
            let bytes = store
                .get(&object.location)
                .await
                .unwrap()
                .bytes()
                .await
                .unwrap();
            std::fs::write(target, bytes).unwrap();
        }
    });
}

/// `<name>.ours.json` with our reader's content of the latest version.
fn report(dir: &Path, name: &str, table: &str, version: u64) {
    let batches = runtime().block_on(async {
        let snapshot = Table::open(table).await.unwrap().snapshot().await.unwrap();
        snapshot.scan().collect().await.unwrap()
    });
    let rows: usize = batches.iter().map(RecordBatch::num_rows).sum();
    let report = serde_json::json!({
        "latest_version": version,
        "versions": [{
            "version": version,
            "num_rows": rows,
            "hash": delta_test::canonical_hash(&batches).unwrap(),
        }],
    });
    std::fs::write(dir.join(format!("{name}.ours.json")), report.to_string()).unwrap();
}

/// What a conflict of each operation may be (the class names printed): the
/// first constraint add also upgrades the protocol (checkConstraints).
const APPEND_CONFLICTS: &[&str] = &[
    "the metadata changed concurrently",
    "the protocol changed concurrently",
];
const CONSTRAINT_CONFLICTS: &[&str] = &[
    "the metadata changed concurrently",
    "the protocol changed concurrently",
    "files were added concurrently",
    "a file this transaction read was removed concurrently",
];

#[test]
fn appends_overwrites_and_constraint_adds_at_once() {
    let test = "appends_overwrites_and_constraint_adds_at_once";
    const ROUNDS: i64 = 8;
    let scratch = delta_test::scratch_dir("concurrent-mix").unwrap();
    let backends = backends(test);
    for (backend, base) in &backends {
        let table = location(&scratch, base, "mix");
        let seed = input(&scratch, "seed", 0..1, "seed");
        let out = delta(&["write", &table, &seed, "--partition-by", "part"]);
        assert!(out.status.success(), "{backend}: {}", text(&out));
        // appenders a0, a1; replacers r0, r1 (each owns its partition); one
        // process adding constraints that every row satisfies
        let mut writers: Vec<Vec<Vec<String>>> = Vec::new();
        for w in 0..2 {
            let part = format!("a{w}");
            writers.push(
                (0..ROUNDS)
                    .map(|i| {
                        let first = 1000 * (w + 1) + i * 10;
                        let file =
                            input(&scratch, &format!("{part}-{i}"), first..first + 10, &part);
                        vec!["write".into(), table.clone(), file]
                    })
                    .collect(),
            );
        }
        for w in 0..2 {
            let part = format!("r{w}");
            writers.push(
                (0..ROUNDS)
                    .map(|i| {
                        let first = 10_000 * (w + 1) + i * 10;
                        let file =
                            input(&scratch, &format!("{part}-{i}"), first..first + 10, &part);
                        vec![
                            "write".into(),
                            table.clone(),
                            file,
                            "--mode".into(),
                            "overwrite".into(),
                            "--replace-where".into(),
                            format!("part = '{part}'"),
                        ]
                    })
                    .collect(),
            );
        }
        writers.push(
            (0..ROUNDS / 2)
                .map(|i| {
                    vec![
                        "constraint".into(),
                        "add".into(),
                        table.clone(),
                        format!("c{i}"),
                        "id >= 0".into(),
                    ]
                })
                .collect(),
        );
        let results = run_writers(writers);
        // what landed, by what each process reported
        let mut expected: BTreeSet<(String, i64)> = BTreeSet::from([("seed".to_string(), 0)]);
        let mut constraints = BTreeSet::new();
        for (writer, outcomes) in results.iter().enumerate() {
            for (args, out) in outcomes {
                let allowed = if writer == 4 {
                    CONSTRAINT_CONFLICTS
                } else {
                    APPEND_CONFLICTS
                };
                match out.status.code() {
                    Some(0) => {}
                    Some(3) => {
                        let message = String::from_utf8_lossy(&out.stderr);
                        assert!(
                            allowed.iter().any(|k| message.contains(k))
                                && message.contains("commit conflict with version"),
                            "{backend}: delta {args:?}: a conflict the rules do not allow: {message}"
                        );
                        continue;
                    }
                    _ => panic!("{backend}: delta {args:?}: {}", text(out)),
                }
                match writer {
                    0 | 1 => {
                        let (first, part) = file_rows(&args[2]);
                        expected.extend(first.map(|id| (part.clone(), id)));
                    }
                    2 | 3 => {
                        let (ids, part) = file_rows(&args[2]);
                        expected.retain(|(p, _)| *p != part);
                        expected.extend(ids.map(|id| (part.clone(), id)));
                    }
                    _ => {
                        constraints.insert(args[3].clone());
                    }
                }
            }
        }
        let conflicts = results
            .iter()
            .flatten()
            .filter(|(_, out)| out.status.code() == Some(3))
            .count();
        eprintln!(
            "{backend}: {conflicts} of {} operations conflicted, {} constraints added",
            results.iter().map(Vec::len).sum::<usize>(),
            constraints.len()
        );
        let (_, rows) = rows(&table);
        assert_eq!(rows, expected.into_iter().collect::<Vec<_>>(), "{backend}");
        let described = delta(&["describe", &table, "--json"]);
        let described: serde_json::Value = serde_json::from_slice(&described.stdout).unwrap();
        let found: BTreeSet<String> = described["constraints"]
            .as_object()
            .unwrap()
            .keys()
            .cloned()
            .collect();
        assert_eq!(found, constraints, "{backend}");
    }
    if backends.len() == 3 {
        mark_ran(test);
    }
    std::fs::remove_dir_all(&scratch).unwrap();
}

/// The ids and partition of an input file this test wrote.
fn file_rows(path: &str) -> (impl Iterator<Item = i64>, String) {
    let file = std::fs::File::open(path).unwrap();
    let reader = parquet::arrow::arrow_reader::ParquetRecordBatchReaderBuilder::try_new(file)
        .unwrap()
        .build()
        .unwrap();
    let mut ids = Vec::new();
    let mut part = String::new();
    for batch in reader {
        let batch = batch.unwrap();
        let column = batch
            .column(0)
            .as_any()
            .downcast_ref::<Int64Array>()
            .unwrap();
        ids.extend(column.values().iter().copied());
        let parts = batch
            .column(1)
            .as_any()
            .downcast_ref::<StringArray>()
            .unwrap();
        part = parts.value(0).to_string();
    }
    (ids.into_iter(), part)
}
