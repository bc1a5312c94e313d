//! Real object stores: an S3 server (Ceph RGW) and the Azure emulator (azurite),
//! both started on 127.0.0.1 by `cargo xtask test`.
//!
//! The stores come from the environment: `DELTA_TEST_S3_URL` (e.g.
//! `s3://delta-test`) with the `AWS_*` settings, and `DELTA_TEST_AZURE_URL`
//! (e.g. `az://delta`) with `AZURE_STORAGE_USE_EMULATOR` /
//! `AZURITE_BLOB_STORAGE_URL`. Everything is opened the way users open tables,
//! through `Table::open` / `location::resolve`, so these tests also prove that
//! credentials and endpoints are read from the environment.
//!
//! Without those variables a test prints `skipped: ...` and returns, unless
//! `DELTA_REQUIRE_STORAGE=1` (set by xtask): then it fails. Each test that ran
//! against a store leaves a marker file in `DELTA_STORAGE_MARKERS`, which xtask
//! checks, so a suite that silently skipped does not pass.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    reason = "tests fail loudly"
)]

use std::io::Write;
use std::path::{Path as FsPath, PathBuf};
use std::sync::Arc;

use arrow::array::RecordBatch;
use delta_log::LogError;
use delta_log::core::CommitLog;
use delta_txn::Table;
use delta_txn::location::resolve;
use futures::TryStreamExt;
use object_store::path::{Path, PathPart};
use object_store::{ObjectStore, ObjectStoreExt, PutPayload};
use serde_json::Value;

#[derive(Clone, Copy)]
enum Backend {
    S3,
    Azure,
}

impl Backend {
    fn url_var(self) -> &'static str {
        match self {
            Backend::S3 => "DELTA_TEST_S3_URL",
            Backend::Azure => "DELTA_TEST_AZURE_URL",
        }
    }

    fn server(self) -> &'static str {
        match self {
            Backend::S3 => "S3 server",
            Backend::Azure => "Azure server (azurite)",
        }
    }

    /// The bucket or container URL, without a trailing `/`; `None` (after a
    /// visible notice) when no server is configured and none is required.
    fn base_url(self, test: &str) -> Option<String> {
        match std::env::var(self.url_var()) {
            Ok(url) if !url.is_empty() => Some(url.trim_end_matches('/').to_string()),
            _ => {
                if std::env::var("DELTA_REQUIRE_STORAGE").is_ok_and(|v| v == "1") {
                    panic!(
                        "{test}: DELTA_REQUIRE_STORAGE=1 but {} is not set: no {}",
                        self.url_var(),
                        self.server()
                    );
                }
                // straight to stderr: libtest does not capture this, so the skip is visible
                let _ = writeln!(
                    std::io::stderr(),
                    "{test}: skipped: no {} (run via cargo xtask test)",
                    self.server()
                );
                None
            }
        }
    }
}

/// Tells xtask that `test` really ran against a store.
fn mark_ran(test: &str) {
    if let Ok(dir) = std::env::var("DELTA_STORAGE_MARKERS") {
        std::fs::create_dir_all(&dir).unwrap();
        std::fs::write(FsPath::new(&dir).join(test), b"ran\n").unwrap();
    }
}

/// A prefix no other run or test uses.
fn unique(what: &str) -> String {
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_nanos();
    format!("storage-test-{what}-{}-{nanos}", std::process::id())
}

async fn delete_prefix(store: &Arc<dyn ObjectStore>, prefix: &Path) {
    let metas: Vec<_> = store.list(Some(prefix)).try_collect().await.unwrap();
    for meta in metas {
        store.delete(&meta.location).await.unwrap();
    }
    let left: Vec<_> = store.list(Some(prefix)).try_collect().await.unwrap();
    assert!(left.is_empty(), "left behind: {left:?}");
}

// ---------------------------------------------------------------------------
// (1) the generic commit core: put-if-absent on a real store

async fn commit_core(backend: Backend, test: &str) {
    let Some(base) = backend.base_url(test) else {
        return;
    };
    let location = resolve(&format!("{base}/{}", unique("commit"))).unwrap();
    let log = CommitLog::new(
        Arc::clone(&location.store),
        location.root.clone().join("_log"),
        "json",
    );
    assert_eq!(log.latest_version().await.unwrap(), None);

    // a second create of one version fails and leaves the first content
    log.put_commit(0, b"first".to_vec().into()).await.unwrap();
    let err = log
        .put_commit(0, b"second".to_vec().into())
        .await
        .unwrap_err();
    assert!(
        matches!(err, LogError::VersionExists { version: 0, .. }),
        "{err}"
    );
    assert_eq!(&log.read_commit(0).await.unwrap()[..], b"first");

    // 16 writers race for each version: exactly one wins, its content stays
    const WRITERS: usize = 16;
    const VERSIONS: u64 = 5;
    for version in 1..=VERSIONS {
        let tasks: Vec<_> = (0..WRITERS)
            .map(|writer| {
                let log = log.clone();
                tokio::spawn(async move {
                    let body = format!("version={version} writer={writer}");
                    (
                        writer,
                        log.put_commit(version, body.into_bytes().into()).await,
                    )
                })
            })
            .collect();
        let mut winners = Vec::new();
        for task in tasks {
            match task.await.unwrap() {
                (writer, Ok(())) => winners.push(writer),
                (_, Err(LogError::VersionExists { version: v, .. })) => assert_eq!(v, version),
                (_, Err(e)) => panic!("version {version}: unexpected error {e}"),
            }
        }
        assert_eq!(winners.len(), 1, "version {version}: winners {winners:?}");
        assert_eq!(
            log.read_commit(version).await.unwrap(),
            format!("version={version} writer={}", winners[0]).as_bytes()
        );
    }
    let files = log.list_from(0).await.unwrap();
    assert_eq!(
        files.iter().map(|f| f.version).collect::<Vec<_>>(),
        (0..=VERSIONS).collect::<Vec<_>>()
    );
    assert_eq!(log.latest_version().await.unwrap(), Some(VERSIONS));

    delete_prefix(&location.store, &location.root).await;
    mark_ran(test);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn s3_commit_core_put_if_absent() {
    commit_core(Backend::S3, "s3_commit_core_put_if_absent").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn azure_commit_core_put_if_absent() {
    commit_core(Backend::Azure, "azure_commit_core_put_if_absent").await;
}

// ---------------------------------------------------------------------------
// (2) the example table, uploaded to the store and read through Table::open

fn example_table() -> PathBuf {
    PathBuf::from(concat!(env!("CARGO_MANIFEST_DIR"), "/../examples/people"))
}

/// Every file under `dir`, as paths relative to it.
fn files_under(dir: &FsPath) -> Vec<PathBuf> {
    let mut out = Vec::new();
    let mut todo = vec![PathBuf::new()];
    while let Some(rel) = todo.pop() {
        for entry in std::fs::read_dir(dir.join(&rel)).unwrap() {
            let entry = entry.unwrap();
            let rel = rel.join(entry.file_name());
            if entry.file_type().unwrap().is_dir() {
                todo.push(rel);
            } else {
                out.push(rel);
            }
        }
    }
    out.sort();
    out
}

/// The store path of a local relative path under `root`: each file name is
/// taken literally (`PathPart::parse`), as the log's decoded paths are.
/// `Path::join(&str)` would instead escape a `%` to `%25`.
fn store_path(root: &Path, rel: &FsPath) -> Path {
    rel.components().fold(root.clone(), |path, c| {
        path.join(PathPart::parse(c.as_os_str().to_str().unwrap()).unwrap())
    })
}

/// Uploads the example table under `root`; returns the keys written.
async fn upload_example(store: &Arc<dyn ObjectStore>, root: &Path) -> Vec<Path> {
    let dir = example_table();
    let mut keys = Vec::new();
    // commits in version order, so their modification times increase
    for rel in files_under(&dir) {
        let key = store_path(root, &rel);
        let bytes = std::fs::read(dir.join(&rel)).unwrap();
        store.put(&key, PutPayload::from(bytes)).await.unwrap();
        keys.push(key);
    }
    keys
}

fn rows(batches: &[RecordBatch]) -> usize {
    batches.iter().map(RecordBatch::num_rows).sum()
}

async fn reads_example_table(backend: Backend, test: &str) {
    let Some(base) = backend.base_url(test) else {
        return;
    };
    // the root has a space: the URL carries it encoded, the store key literally
    let prefix = unique("people");
    let url = format!("{base}/{prefix}/people%20table");
    let location = resolve(&url).unwrap();
    assert_eq!(location.root.as_ref(), format!("{prefix}/people table"));
    let keys = upload_example(&location.store, &location.root).await;

    // the store lists the keys exactly as written, `%` and space included
    let mut listed: Vec<Path> = location
        .store
        .list(Some(&location.root))
        .map_ok(|m| m.location)
        .try_collect()
        .await
        .unwrap();
    listed.sort();
    let mut written = keys.clone();
    written.sort();
    assert_eq!(listed, written);
    let new_york = keys
        .iter()
        .find(|k| k.as_ref().contains("city=New%20York/"))
        .expect("the example has a city=New%20York directory");
    assert!(location.store.head(new_york).await.is_ok());

    let expected: Value = serde_json::from_str(
        &std::fs::read_to_string(example_table().with_file_name("people.expected.json")).unwrap(),
    )
    .unwrap();
    let table = Table::open(&url).await.unwrap();
    for want in expected["versions"].as_array().unwrap() {
        let version = want["version"].as_u64().unwrap();
        let snapshot = table.snapshot_at(version).await.unwrap();
        assert_eq!(snapshot.version(), version);
        assert_eq!(
            snapshot.files().len() as u64,
            want["num_files"].as_u64().unwrap(),
            "version {version}"
        );
        let batches = snapshot.scan().collect().await.unwrap();
        assert_eq!(
            rows(&batches) as u64,
            want["num_rows"].as_u64().unwrap(),
            "version {version}"
        );
        assert_eq!(
            delta_test::canonical_hash(&batches).unwrap(),
            want["hash"].as_str().unwrap(),
            "version {version}"
        );
    }
    assert_eq!(table.snapshot().await.unwrap().version(), 3);

    // history and time travel by timestamp (file times from the store)
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

    delete_prefix(&location.store, &Path::from(prefix.as_str())).await;
    mark_ran(test);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn s3_reads_the_example_table() {
    reads_example_table(Backend::S3, "s3_reads_the_example_table").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn azure_reads_the_example_table() {
    reads_example_table(Backend::Azure, "azure_reads_the_example_table").await;
}

// ---------------------------------------------------------------------------
// (3) `%` in object keys: a key is the literal string of the object_store Path

/// Writes keys with `%` under a new prefix of `base`, checks them and returns
/// where they are (the caller deletes them).
async fn percent_keys(base: &str) -> delta_txn::location::Location {
    let location = resolve(&format!("{base}/{}", unique("percent"))).unwrap();
    let store = &location.store;
    // literal names with `%`: as resolve_log_path builds them from the log
    let names = ["a%20b", "a b", "a%2520b", "x=A%2FA", "100%", "%zz"];
    for (i, name) in names.iter().enumerate() {
        let key = location
            .root
            .clone()
            .join(PathPart::parse(name).unwrap())
            .join("f");
        store
            .put(&key, PutPayload::from(format!("{i}").into_bytes()))
            .await
            .unwrap();
    }
    // each name is its own key: no two collapse, and listing returns them unchanged
    let listed: Vec<_> = store
        .list(Some(&location.root))
        .try_collect::<Vec<_>>()
        .await
        .unwrap();
    assert_eq!(listed.len(), names.len(), "{listed:?}");
    for (i, name) in names.iter().enumerate() {
        let key = Path::parse(format!("{}/{name}/f", location.root)).unwrap();
        assert!(
            listed.iter().any(|m| m.location == key),
            "{key} not in {listed:?}"
        );
        let got = store.get(&key).await.unwrap().bytes().await.unwrap();
        assert_eq!(&got[..], format!("{i}").as_bytes(), "{key}");
    }
    // directories under `%` names list by delimiter as well
    let dirs = store
        .list_with_delimiter(Some(&location.root))
        .await
        .unwrap();
    let mut prefixes: Vec<String> = dirs
        .common_prefixes
        .iter()
        .map(|p| p.filename().unwrap().to_string())
        .collect();
    prefixes.sort();
    let mut want: Vec<String> = names.iter().map(|s| s.to_string()).collect();
    want.sort();
    assert_eq!(prefixes, want);
    location
}

#[tokio::test]
async fn s3_percent_in_keys_is_literal() {
    let test = "s3_percent_in_keys_is_literal";
    if let Some(base) = Backend::S3.base_url(test) {
        let location = percent_keys(&base).await;
        delete_prefix(&location.store, &location.root).await;
        mark_ran(test);
    }
}

#[tokio::test]
async fn azure_percent_in_keys_is_literal() {
    let test = "azure_percent_in_keys_is_literal";
    if let Some(base) = Backend::Azure.base_url(test) {
        let location = percent_keys(&base).await;
        delete_prefix(&location.store, &location.root).await;
        mark_ran(test);
    }
}

/// The same on the local file system: a key is the file name, `%` and all.
#[tokio::test]
async fn local_percent_in_keys_is_literal() {
    let dir = std::env::temp_dir().join(unique("local"));
    std::fs::create_dir_all(&dir).unwrap();
    let location = percent_keys(dir.to_str().unwrap()).await;
    let on_disk = std::path::Path::new("/").join(location.root.as_ref());
    let mut names: Vec<String> = std::fs::read_dir(on_disk)
        .unwrap()
        .map(|e| e.unwrap().file_name().into_string().unwrap())
        .collect();
    names.sort();
    assert_eq!(names, ["%zz", "100%", "a b", "a%20b", "a%2520b", "x=A%2FA"]);
    // the trap for uploaders: `Path::from` / `join(&str)` escape `%`, making another key
    assert_eq!(Path::from("t/a%20b").as_ref(), "t/a%2520b");
    assert_eq!(Path::parse("t/a%20b").unwrap().as_ref(), "t/a%20b");
    std::fs::remove_dir_all(&dir).unwrap();
}

// ---------------------------------------------------------------------------
// (4) writing on a real store: Parquet through multipart uploads, commits with
// put-if-absent, concurrent blind appends, a checkpoint, then reading back

async fn writes_tables(backend: Backend, test: &str) {
    use arrow::array::{ArrayRef, Int64Array, StringArray};
    use delta_txn::WriteOptions;

    let Some(base) = backend.base_url(test) else {
        return;
    };
    let prefix = unique("write");
    let url = format!("{base}/{prefix}/t");
    let batch = |ids: Vec<i64>| {
        let cities: Vec<&str> = ids
            .iter()
            .map(|i| if i % 2 == 0 { "New York" } else { "a%2Fb=c" })
            .collect();
        RecordBatch::try_from_iter([
            ("id", Arc::new(Int64Array::from(ids)) as ArrayRef),
            ("city", Arc::new(StringArray::from(cities)) as ArrayRef),
        ])
        .unwrap()
    };
    let write = |ids: Vec<i64>, options: WriteOptions| {
        let url = url.clone();
        let b = batch(ids);
        async move {
            let table = Table::at(&url).unwrap();
            table
                .write(b.schema(), futures::stream::iter([Ok(b)]), options)
                .await
                .unwrap()
                .version
        }
    };
    let create = WriteOptions {
        partition_by: Some(vec!["city".into()]),
        properties: [("delta.checkpointInterval".to_string(), "3".to_string())].into(),
        ..Default::default()
    };
    assert_eq!(write(vec![0, 1], create).await, 0);
    // four writers append at once: every append lands, in some order
    let appends = (1..=4).map(|w| write(vec![w * 10, w * 10 + 1], WriteOptions::default()));
    let mut versions = futures::future::join_all(appends).await;
    versions.sort();
    assert_eq!(versions, [1, 2, 3, 4]);
    let table = Table::open(&url).await.unwrap();
    let snapshot = table.snapshot().await.unwrap();
    assert_eq!(snapshot.version(), 4);
    // version 3 was checkpointed; the latest state comes from it
    assert_eq!(
        snapshot.state().segment.checkpoint.as_ref().map(|c| c.0),
        Some(3)
    );
    let batches = snapshot.scan().collect().await.unwrap();
    assert_eq!(rows(&batches), 10);
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
    ids.sort();
    assert_eq!(ids, [0, 1, 10, 11, 20, 21, 30, 31, 40, 41]);
    let location = resolve(&url).unwrap();
    delete_prefix(&location.store, &Path::from(prefix.as_str())).await;
    mark_ran(test);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn s3_writes_tables() {
    writes_tables(Backend::S3, "s3_writes_tables").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn azure_writes_tables() {
    writes_tables(Backend::Azure, "azure_writes_tables").await;
}

/// A file larger than one upload part (10 MiB) goes up as a multipart
/// upload: it lands whole, with the size the log records, and reads back.
async fn writes_large_files(backend: Backend, test: &str) {
    use arrow::array::{ArrayRef, Int64Array, StringArray};
    use delta_txn::WriteOptions;

    let Some(base) = backend.base_url(test) else {
        return;
    };
    let prefix = unique("large");
    let url = format!("{base}/{prefix}/t");
    // 25 MiB of hexadecimal text: about 14 MiB of Parquet, two parts
    let rows = 200_000_i64;
    let mut state = 0x2545_f491_4f6c_dd1d_u64;
    let texts: Vec<String> = (0..rows)
        .map(|_| {
            (0..4)
                .map(|_| {
                    state ^= state << 13;
                    state ^= state >> 7;
                    state ^= state << 17;
                    format!("{state:016x}")
                })
                .collect()
        })
        .collect();
    let batch = RecordBatch::try_from_iter([
        (
            "id",
            Arc::new(Int64Array::from_iter_values(0..rows)) as ArrayRef,
        ),
        (
            "text",
            Arc::new(StringArray::from(texts.clone())) as ArrayRef,
        ),
    ])
    .unwrap();
    let table = Table::at(&url).unwrap();
    let outcome = table
        .write(
            batch.schema(),
            futures::stream::iter([Ok(batch.clone())]),
            WriteOptions::default(),
        )
        .await
        .unwrap();
    let files = outcome.snapshot.files();
    assert_eq!(files.len(), 1);
    let file = files.get(0).unwrap();
    assert!(file.size() > 10 << 20, "{} bytes", file.size());
    let location = resolve(&url).unwrap();
    let stored = location
        .store
        .head(&location.root.clone().join(file.path()))
        .await
        .unwrap();
    assert_eq!(stored.size, u64::try_from(file.size()).unwrap());
    let back = Table::open(&url)
        .await
        .unwrap()
        .snapshot()
        .await
        .unwrap()
        .scan()
        .collect()
        .await
        .unwrap();
    let read: Vec<String> = back
        .iter()
        .flat_map(|b| {
            b.column(1)
                .as_any()
                .downcast_ref::<StringArray>()
                .unwrap()
                .iter()
                .map(|t| t.unwrap().to_string())
                .collect::<Vec<_>>()
        })
        .collect();
    assert!(read == texts, "the text column reads back as written");
    delete_prefix(&location.store, &Path::from(prefix.as_str())).await;
    mark_ran(test);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn s3_writes_large_files() {
    writes_large_files(Backend::S3, "s3_writes_large_files").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn azure_writes_large_files() {
    writes_large_files(Backend::Azure, "azure_writes_large_files").await;
}

// ---------------------------------------------------------------------------
// (5) a lost commit response on a real S3 API: the put of the commit lands,
// a proxy answers 503, object_store retries the conditional put and gets
// "already exists"; the transaction finds its own commit and adopts it

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn s3_lost_commit_response_is_adopted() {
    use arrow::array::{ArrayRef, Int64Array};
    use delta_test::FaultProxy;
    use delta_txn::{SaveMode, WriteOptions};
    use object_store::aws::AmazonS3Builder;

    let test = "s3_lost_commit_response_is_adopted";
    let Some(base) = Backend::S3.base_url(test) else {
        return;
    };
    let prefix = unique("lost");
    let url = format!("{base}/{prefix}/t");
    let batch = |ids: Vec<i64>| {
        RecordBatch::try_from_iter([("id", Arc::new(Int64Array::from(ids)) as ArrayRef)]).unwrap()
    };
    let write = |table: Table, ids: Vec<i64>, mode: SaveMode| {
        let b = batch(ids);
        async move {
            let options = WriteOptions {
                mode,
                ..Default::default()
            };
            table
                .write(b.schema(), futures::stream::iter([Ok(b)]), options)
                .await
                .unwrap()
        }
    };
    let direct = Table::at(&url).unwrap();
    assert_eq!(
        write(direct.clone(), vec![1, 2], SaveMode::Append)
            .await
            .version,
        0
    );

    // the same table through the proxy
    let endpoint = std::env::var("AWS_ENDPOINT").expect("AWS_ENDPOINT of the S3 server");
    let proxy = FaultProxy::start(&endpoint).await.unwrap();
    let store = AmazonS3Builder::from_env()
        .with_url(url.as_str())
        .with_endpoint(proxy.url())
        .with_allow_http(true)
        .build()
        .unwrap();
    let proxied = Table::with_store(
        Arc::new(store),
        Path::from(format!("{prefix}/t").as_str()),
        url.clone(),
    );
    for (version, ids, mode) in [
        (1, vec![3], SaveMode::Append),
        (2, vec![7, 8, 9], SaveMode::Overwrite),
    ] {
        proxy.lose_response("PUT", &format!("_delta_log/{version:020}.json"), 503);
        let outcome = write(proxied.clone(), ids, mode).await;
        assert_eq!(proxy.injected(), version as usize, "the fault was injected");
        assert_eq!(
            outcome.version, version,
            "one commit, at the contested version"
        );
        assert!(outcome.adopted, "the landed commit was adopted");
        // read directly: exactly one new version, with the rows written once
        let snapshot = direct.snapshot().await.unwrap();
        assert_eq!(snapshot.version(), version);
        // 1, 2, 3 after the append (a second commit of it would add 3 again);
        // 7, 8, 9 after the overwrite
        assert_eq!(rows(&snapshot.scan().collect().await.unwrap()), 3);
    }
    assert_eq!(direct.history(None).await.unwrap().len(), 3);
    assert!(proxy.requests() > 0);
    let location = resolve(&url).unwrap();
    delete_prefix(&location.store, &Path::from(prefix.as_str())).await;
    mark_ran(test);
}
