//! Integration tests of delta-log.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    reason = "tests fail loudly"
)]

mod bad_input;
mod checkpoint;
mod core_reuse;
mod testdata;

use std::path::PathBuf;
use std::sync::Arc;

use delta_log::DeltaLog;
use object_store::local::LocalFileSystem;
use object_store::path::Path;

/// The shared corpus of real tables.
pub fn testdata_dir() -> PathBuf {
    PathBuf::from(concat!(env!("CARGO_MANIFEST_DIR"), "/../testdata"))
        .canonicalize()
        .expect("testdata/ must exist in the workspace")
}

/// The tables of the corpus, sorted by name: each name with its
/// `<name>.expected.json`.
pub fn corpus() -> Vec<(String, serde_json::Value)> {
    let dir = testdata_dir();
    let mut tables: Vec<(String, serde_json::Value)> = std::fs::read_dir(&dir)
        .unwrap()
        .flatten()
        .filter_map(|entry| {
            let name = entry.file_name().to_string_lossy().to_string();
            let table = name.strip_suffix(".expected.json")?.to_string();
            let text = std::fs::read_to_string(entry.path()).unwrap();
            Some((table, serde_json::from_str(&text).unwrap()))
        })
        .collect();
    tables.sort_by(|a, b| a.0.cmp(&b.0));
    tables
}

/// The log of a table in a local directory.
pub fn local_log(dir: &std::path::Path) -> DeltaLog {
    let root = Path::from_absolute_path(dir).unwrap();
    DeltaLog::new(
        Arc::new(LocalFileSystem::new()),
        root,
        dir.display().to_string(),
    )
}
