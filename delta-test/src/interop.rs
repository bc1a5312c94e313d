//! The files of the interop check: our tests write tables and, for each,
//! `<name>.ours.json` (what our reader sees at every version); `cargo xtask
//! interop` has delta-rs and Polars read the same versions and compares.

use std::io;
use std::path::{Path, PathBuf};

use arrow::array::RecordBatch;
use serde_json::json;

use crate::canonical_hash;

/// Where interop tables go: `DELTA_INTEROP_DIR` (created if missing), or a
/// fresh scratch directory named after `fallback` when it is not set.
pub fn interop_dir(fallback: &str) -> io::Result<PathBuf> {
    match std::env::var_os("DELTA_INTEROP_DIR") {
        Some(dir) => {
            let dir = PathBuf::from(dir);
            std::fs::create_dir_all(&dir)?;
            Ok(dir)
        }
        None => crate::scratch_dir(fallback),
    }
}

/// Writes `<dir>/<name>.ours.json` from the rows our reader sees at each
/// version, 0 to the latest, in order: per version its row count and
/// canonical hash.
pub fn write_interop_report(
    dir: &Path,
    name: &str,
    versions: &[Vec<RecordBatch>],
) -> io::Result<()> {
    let listed: Vec<(u64, &[RecordBatch])> = versions
        .iter()
        .enumerate()
        .map(|(v, batches)| (v as u64, batches.as_slice()))
        .collect();
    write_interop_report_of(dir, name, &listed)
}

/// [`write_interop_report`] for some versions only (the peers compare the
/// versions listed), each with its rows; the last one listed is the latest.
pub fn write_interop_report_of(
    dir: &Path,
    name: &str,
    versions: &[(u64, &[RecordBatch])],
) -> io::Result<()> {
    let mut entries = Vec::with_capacity(versions.len());
    for (version, batches) in versions {
        let rows: usize = batches.iter().map(RecordBatch::num_rows).sum();
        let hash = canonical_hash(batches).map_err(io::Error::other)?;
        entries.push(json!({"version": version, "num_rows": rows, "hash": hash}));
    }
    let latest = versions.last().map_or(0, |(v, _)| *v);
    let text = serde_json::to_string_pretty(&json!({
        "latest_version": latest,
        "versions": entries,
    }))
    .map_err(io::Error::other)?;
    std::fs::write(dir.join(format!("{name}.ours.json")), text)
}
