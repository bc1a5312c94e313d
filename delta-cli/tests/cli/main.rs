//! Runs the built `delta` binary on real tables of testdata/ and on tables
//! it writes; the tests are grouped by what they exercise.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    reason = "tests fail loudly"
)]

use std::collections::BTreeSet;
use std::fs::{self, File};
use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::time::{Duration, SystemTime};

use serde_json::Value;

const TESTDATA: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/../testdata");

/// Rows per version of golden-basic-with-inserts-deletes-checkpoint (14
/// commits, a checkpoint at 10; from its expected.json).
const BASIC_ROWS: [usize; 14] = [10, 20, 30, 40, 50, 45, 40, 35, 30, 25, 35, 45, 55, 41];

fn table(name: &str) -> String {
    format!("{TESTDATA}/{name}")
}

fn basic() -> String {
    table("golden-basic-with-inserts-deletes-checkpoint")
}

fn delta(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_delta"))
        .args(args)
        .output()
        .expect("run delta")
}

fn stdout(out: &Output) -> String {
    String::from_utf8(out.stdout.clone()).unwrap()
}

fn stderr(out: &Output) -> String {
    String::from_utf8(out.stderr.clone()).unwrap()
}

/// Runs `delta` and expects success.
fn ok(args: &[&str]) -> String {
    let out = delta(args);
    assert_eq!(
        out.status.code(),
        Some(0),
        "delta {args:?} failed: {}",
        stderr(&out)
    );
    stdout(&out)
}

/// Runs `delta` and expects exit status `code`; returns standard error.
fn fails(args: &[&str], code: i32) -> String {
    let out = delta(args);
    let err = stderr(&out);
    assert_eq!(out.status.code(), Some(code), "delta {args:?}: {err}");
    assert!(!err.contains("panicked"), "{err}");
    assert!(!err.contains("RUST_BACKTRACE"), "{err}");
    err
}

/// Data rows of a pretty table: lines starting with `| ` minus the header.
fn table_rows(text: &str) -> usize {
    text.lines().filter(|l| l.starts_with("| ")).count() - 1
}

fn csv_rows(text: &str) -> usize {
    text.lines().count() - 1
}

fn json_lines(text: &str) -> Vec<Value> {
    text.lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect()
}

fn scratch(name: &str) -> PathBuf {
    let dir = Path::new(env!("CARGO_TARGET_TMPDIR")).join(name);
    let _ = fs::remove_dir_all(&dir);
    fs::create_dir_all(&dir).unwrap();
    dir
}

/// Copies a table directory (flat data files and `_delta_log/`).
fn copy_table(from: &Path, to: &Path) {
    fs::create_dir_all(to).unwrap();
    for entry in fs::read_dir(from).unwrap() {
        let entry = entry.unwrap();
        let target = to.join(entry.file_name());
        if entry.file_type().unwrap().is_dir() {
            copy_table(&entry.path(), &target);
        } else {
            fs::copy(entry.path(), &target).unwrap();
        }
    }
}

/// A copy of golden-basic-with-inserts-deletes-checkpoint whose log files
/// have modification times one minute apart per version (git keeps none):
/// 1600000000 + 60 * version seconds.
fn basic_with_mtimes(name: &str) -> PathBuf {
    let dir = scratch(name).join("t");
    copy_table(Path::new(&basic()), &dir);
    for entry in fs::read_dir(dir.join("_delta_log")).unwrap() {
        let path = entry.unwrap().path();
        let file_name = path.file_name().unwrap().to_str().unwrap().to_string();
        let seconds = match file_name.get(..20).and_then(|v| v.parse::<u64>().ok()) {
            Some(version) => 1_600_000_000 + 60 * version,
            None => 1_600_000_000,
        };
        // the copies are read-only like their sources; their owner may set times
        let file = File::open(&path).unwrap();
        file.set_modified(SystemTime::UNIX_EPOCH + Duration::from_secs(seconds))
            .unwrap();
    }
    dir
}

fn rfc3339(seconds: i64) -> String {
    chrono::DateTime::from_timestamp(seconds, 0)
        .unwrap()
        .to_rfc3339()
}

mod bad_input;
mod change;
mod read;
mod story;
mod write;
