//! Robustness: commit JSON, checkpoint Parquet, `_last_checkpoint` and
//! `.crc` bytes, mutated at random, fed to snapshot loading and to the
//! check. Never a panic; an error names the file it comes from; and when
//! the table does not load, the check does not call it clean.
//!
//! `DELTA_FUZZ_CASES` sets the number of inputs (a short run by default;
//! `cargo xtask proptest` runs a million).

use std::sync::{Arc, OnceLock};

use arrow::array::{ArrayRef, Int64Array, RecordBatch, StringArray};
use bytes::Bytes;
use delta_txn::{Table, WriteOptions};
use object_store::memory::InMemory;
use object_store::path::Path;
use object_store::{ObjectStore, ObjectStoreExt};
use proptest::prelude::*;

use crate::check;

const ROOT: &str = "t";
const URL: &str = "memory:///t";

/// The log files a case may damage, by name under `_delta_log`.
const TARGETS: &[&str] = &[
    "00000000000000000000.json",
    "00000000000000000002.json",
    "00000000000000000004.json",
    "00000000000000000003.checkpoint.parquet",
    "_last_checkpoint",
    "00000000000000000004.crc",
];

fn runtime() -> &'static tokio::runtime::Runtime {
    static RUNTIME: OnceLock<tokio::runtime::Runtime> = OnceLock::new();
    RUNTIME.get_or_init(|| {
        tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap()
    })
}

/// Every object of a table at version 4 with a checkpoint at 3, a CHECK
/// constraint, partitions and checksums: the same for every case.
fn base() -> &'static Vec<(Path, Bytes)> {
    static BASE: OnceLock<Vec<(Path, Bytes)>> = OnceLock::new();
    BASE.get_or_init(|| {
        runtime().block_on(async {
            use futures::TryStreamExt;
            let store: Arc<dyn ObjectStore> = Arc::new(InMemory::new());
            let table = Table::with_store(Arc::clone(&store), Path::from(ROOT), URL);
            for i in 0..5i64 {
                let batch = RecordBatch::try_from_iter([
                    (
                        "id",
                        Arc::new(Int64Array::from(vec![i, i + 10])) as ArrayRef,
                    ),
                    (
                        "city",
                        Arc::new(StringArray::from(vec!["Oslo", "Rome"])) as ArrayRef,
                    ),
                ])
                .unwrap();
                let options = WriteOptions {
                    partition_by: Some(vec!["city".to_string()]),
                    properties: [
                        ("delta.checkpointInterval".to_string(), "3".to_string()),
                        (
                            "delta.constraints.positive".to_string(),
                            "id >= 0".to_string(),
                        ),
                    ]
                    .into(),
                    ..Default::default()
                };
                table
                    .write(batch.schema(), futures::stream::iter([Ok(batch)]), options)
                    .await
                    .unwrap();
            }
            let metas: Vec<_> = store.list(None).try_collect().await.unwrap();
            let mut objects = Vec::new();
            for meta in metas {
                let bytes = store
                    .get(&meta.location)
                    .await
                    .unwrap()
                    .bytes()
                    .await
                    .unwrap();
                objects.push((meta.location, bytes));
            }
            for target in TARGETS {
                let path = Path::from(format!("{ROOT}/_delta_log/{target}"));
                assert!(objects.iter().any(|(p, _)| *p == path), "{target} missing");
            }
            objects
        })
    })
}

/// One edit of a file's bytes.
#[derive(Debug, Clone)]
enum Edit {
    /// Flip one bit.
    Flip { at: usize, bit: u8 },
    /// Cut the file at a point.
    Cut { at: usize },
    /// Overwrite bytes from a point.
    Overwrite { at: usize, with: Vec<u8> },
    /// Insert bytes at a point.
    Insert { at: usize, with: Vec<u8> },
    /// Put a byte JSON cares about at a point.
    Token { at: usize, token: u8 },
}

fn edit() -> impl Strategy<Value = Edit> {
    let bytes = proptest::collection::vec(any::<u8>(), 1..8);
    prop_oneof![
        (any::<usize>(), 0u8..8).prop_map(|(at, bit)| Edit::Flip { at, bit }),
        any::<usize>().prop_map(|at| Edit::Cut { at }),
        (any::<usize>(), bytes.clone()).prop_map(|(at, with)| Edit::Overwrite { at, with }),
        (any::<usize>(), bytes).prop_map(|(at, with)| Edit::Insert { at, with }),
        (
            any::<usize>(),
            proptest::sample::select(b"{}[]\":,-0123456789.eEntrufals ".to_vec())
        )
            .prop_map(|(at, token)| Edit::Token { at, token }),
    ]
}

fn apply(bytes: &mut Vec<u8>, edit: &Edit) {
    if bytes.is_empty() {
        return;
    }
    let len = bytes.len();
    match edit {
        Edit::Flip { at, bit } => bytes[at % len] ^= 1 << bit,
        Edit::Cut { at } => bytes.truncate(at % len),
        Edit::Overwrite { at, with } => {
            for (i, b) in with.iter().enumerate() {
                if let Some(slot) = bytes.get_mut(at % len + i) {
                    *slot = *b;
                }
            }
        }
        Edit::Insert { at, with } => {
            let at = at % len;
            bytes.splice(at..at, with.iter().copied());
        }
        Edit::Token { at, token } => bytes[at % len] = *token,
    }
}

/// Loads and checks the table with `target` replaced by `damaged`.
async fn load_and_check(target: &str, damaged: Vec<u8>) -> Result<(), TestCaseError> {
    let store: Arc<dyn ObjectStore> = Arc::new(InMemory::new());
    let wanted = Path::from(format!("{ROOT}/_delta_log/{target}"));
    for (path, bytes) in base() {
        let bytes = if *path == wanted {
            Bytes::from(damaged.clone())
        } else {
            bytes.clone()
        };
        store.put(path, bytes.into()).await.unwrap();
    }
    let table = Table::with_store(Arc::clone(&store), Path::from(ROOT), URL);
    let loaded = table.snapshot().await;
    if let Err(e) = &loaded {
        let message = e.to_string();
        prop_assert!(
            message.contains(target),
            "the error does not name {target}: {message}"
        );
    }
    let report = check(&table).await;
    if loaded.is_err() {
        prop_assert!(
            !report.is_clean(),
            "{target}: the table does not load, yet checks clean"
        );
    }
    Ok(())
}

fn cases() -> u32 {
    std::env::var("DELTA_FUZZ_CASES")
        .ok()
        .and_then(|c| c.parse().ok())
        .unwrap_or(400)
}

proptest! {
    #![proptest_config(ProptestConfig {
        cases: cases(),
        failure_persistence: None,
        ..ProptestConfig::default()
    })]

    #[test]
    fn mutated_log_files_never_panic_and_errors_name_the_file(
        target in proptest::sample::select(TARGETS),
        edits in proptest::collection::vec(edit(), 1..4),
    ) {
        let original = base()
            .iter()
            .find(|(p, _)| p.filename() == Some(target))
            .map(|(_, b)| b.to_vec())
            .unwrap();
        let mut damaged = original;
        for e in &edits {
            apply(&mut damaged, e);
        }
        runtime().block_on(load_and_check(target, damaged))?;
    }
}

/// A protocol the reader rejects names the log file it came from (found by
/// the fuzz test with a bit flipped in a checkpoint).
#[tokio::test]
async fn a_bad_protocol_names_its_file() {
    let (dir, t) = crate::table("fuzz-protocol").await;
    crate::append_commit(
        &dir,
        4,
        &[r#"{"protocol":{"minReaderVersion":0,"minWriterVersion":3}}"#.to_string()],
    );
    let fresh = Table::open(dir.to_str().unwrap())
        .await
        .unwrap()
        .snapshot()
        .await
        .unwrap_err()
        .to_string();
    assert!(fresh.contains("00000000000000000004.json"), "{fresh}");
    assert!(!check(&t).await.is_clean());
    std::fs::remove_dir_all(&dir).unwrap();
}
