//! Project automation, run as `cargo xtask <command>`.
//!
//! - `test`: everything CI checks: the house rules of [`tidy`], formatting,
//!   clippy with warnings denied,
//!   and the whole test suite (unit, integration, doc and conformance tests),
//!   with the object-store servers of [`storage`] running: it starts them
//!   (while clippy runs), passes their settings to the tests, checks that the
//!   storage tests really ran against them, and stops them, also on failure.
//!   Then the interop check of [`peer`]: delta-rs and Polars read the tables
//!   our writer makes, with equal content at every version, constraints
//!   hold both ways between delta-rs and our `delta` binary, and random
//!   DELETE/UPDATE/MERGE statements agree with delta-rs (or Spark).
//! - `tidy`: only the house rules (dependency layers, crate docs and
//!   paragraphs, file lengths, nothing outside the repository).
//! - `conformance`: only the conformance suite over `testdata/`.
//! - `interop`: only the interop check.
//! - `proptest`: the property tests, with more cases (`PROPTEST_CASES`, default 1024;
//!   `DELTA_FUZZ_CASES`, default a million, for the damaged-log-file test of delta-check).
//! - `bench`: the workloads of BENCHMARKS.md against our implementation
//!   (see [`bench`]: one release-built `delta-bench` process per workload,
//!   JSON lines, the ratio table against delta-rs); `bench --criterion` runs
//!   the criterion benchmarks and the memory probe (release builds).

mod bench;
mod peer;
mod storage;
mod tidy;

use std::path::PathBuf;
use std::process::{Command, ExitCode};

use peer::Peer;
use storage::Storage;

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let result = match args.first().map(String::as_str) {
        Some("test") => test(),
        Some("conformance") => conformance(),
        Some("interop") => interop(&mut Peer::start(&workspace())),
        Some("proptest") => proptest(),
        Some("bench") => bench::bench(&args[1..]),
        Some("tidy") => tidy::tidy(&workspace()),
        _ => {
            eprintln!("usage: cargo xtask <test|conformance|interop|proptest|bench|tidy>");
            return ExitCode::from(2);
        }
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(step) => {
            eprintln!("xtask: step failed: {step}");
            ExitCode::FAILURE
        }
    }
}

/// Runs `cargo` with these arguments; the error names the step.
fn cargo(args: &[&str], env: &[(&str, &str)]) -> Result<(), String> {
    cargo_in(args, env, &[])
}

/// Runs `cargo` with these arguments, setting `env` and removing `remove`.
fn cargo_in<K: AsRef<str>, V: AsRef<str>>(
    args: &[&str],
    env: &[(K, V)],
    remove: &[String],
) -> Result<(), String> {
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".to_string());
    let shown = format!("cargo {}", args.join(" "));
    eprintln!("xtask: {shown}");
    let mut command = Command::new(cargo);
    command.args(args);
    for key in remove {
        command.env_remove(key);
    }
    let status = command
        .envs(env.iter().map(|(k, v)| (k.as_ref(), v.as_ref())))
        .status()
        .map_err(|e| format!("{shown}: {e}"))?;
    if status.success() { Ok(()) } else { Err(shown) }
}

/// The workspace root.
fn workspace() -> PathBuf {
    let root = PathBuf::from(concat!(env!("CARGO_MANIFEST_DIR"), "/.."));
    root.canonicalize().unwrap_or(root)
}

fn test() -> Result<(), String> {
    tidy::tidy(&workspace())?;
    cargo(&["fmt", "--all", "--check"], &[])?;
    let mut peer = Peer::start(&workspace());
    let mut storage = Storage::start(&workspace())?;
    let result = test_with(&mut storage);
    storage.stop();
    result?;
    interop(&mut peer)
}

/// Where the tests put copies of tables they wrote to S3 and Azure (with
/// our reports), for the interop check.
const REMOTE_INTEROP_DIR: &str = "target/interop-remote";

/// Tables our writer makes, read by delta-rs and Polars ([`peer`]): those
/// the interop tests write now, and copies of those the storage tests wrote
/// to S3 and Azure (from the last `cargo xtask test`, when there are any).
fn interop(peer: &mut Peer) -> Result<(), String> {
    peer.check(&workspace(), &workspace().join(REMOTE_INTEROP_DIR), |dir| {
        let dir = dir.display().to_string();
        // every crate's interop test: tables delta-txn writes, tables
        // DELETE, UPDATE and MERGE changed, tables OPTIMIZE compacted (with
        // deletion vectors or not), a table damaged four ways and repaired
        // by delta-check. `--workspace` keeps the features of the test
        // build above, so nothing is compiled again.
        cargo(
            &["test", "--workspace", "--test", "interop"],
            &[("DELTA_INTEROP_DIR", dir.as_str())],
        )?;
        // the table 8 processes appended to at once (local disk)
        cargo(
            &[
                "test",
                "--workspace",
                "--test",
                "concurrency",
                "eight_processes",
            ],
            &[("DELTA_INTEROP_DIR", dir.as_str())],
        )
    })?;
    // the `delta` binary, as the test build made it
    cargo(&["test", "--workspace", "--all-targets", "--no-run"], &[])?;
    let delta = workspace().join("target/debug/delta");
    check_deeply(
        &delta,
        &[
            workspace().join("target/interop"),
            workspace().join(REMOTE_INTEROP_DIR),
        ],
    )?;
    peer.check_binary(&workspace(), "constraints.py", &delta, &[])?;
    peer.check_binary(&workspace(), "dml_diff.py", &delta, &["--cases", "200"])
}

/// `delta check --deep` on every table under `dirs` (the tables the test
/// suites wrote for the interop check): each must have no error.
fn check_deeply(delta: &std::path::Path, dirs: &[PathBuf]) -> Result<(), String> {
    let mut tables: Vec<PathBuf> = dirs
        .iter()
        .filter_map(|d| std::fs::read_dir(d).ok())
        .flatten()
        .flatten()
        .map(|e| e.path())
        .filter(|p| p.join("_delta_log").is_dir())
        .collect();
    tables.sort();
    let mut failed = Vec::new();
    for table in &tables {
        let out = Command::new(delta)
            .args(["check", "--deep"])
            .arg(table)
            .output()
            .map_err(|e| format!("running {}: {e}", delta.display()))?;
        if !out.status.success() {
            failed.push(format!(
                "{}:\n{}{}",
                table.display(),
                String::from_utf8_lossy(&out.stdout),
                String::from_utf8_lossy(&out.stderr)
            ));
        }
    }
    eprintln!(
        "xtask: delta check --deep: {} tables consistent, {} not",
        tables.len() - failed.len(),
        failed.len()
    );
    if failed.is_empty() {
        Ok(())
    } else {
        Err(format!(
            "delta check --deep found errors in {}",
            failed.join("\n")
        ))
    }
}

fn test_with(storage: &mut Storage) -> Result<(), String> {
    cargo(
        &[
            "clippy",
            "--workspace",
            "--all-targets",
            "--",
            "-D",
            "warnings",
        ],
        &[],
    )?;
    storage
        .wait_ready()
        .map_err(|e| format!("object-store servers for the tests:\n{e}"))?;
    let remove = storage.env_to_remove();
    // tables the tests wrote to the stores, copied here for the interop check
    let remote = workspace().join(REMOTE_INTEROP_DIR);
    let _ = std::fs::remove_dir_all(&remote);
    let mut env = storage.test_env().to_vec();
    env.push((
        "DELTA_INTEROP_REMOTE_DIR".to_string(),
        remote.display().to_string(),
    ));
    cargo_in(&["test", "--workspace", "--all-targets"], &env, &remove)?;
    storage.check_markers()?;
    cargo_in(
        &["test", "--workspace", "--doc"],
        storage.test_env(),
        &remove,
    )
}

fn conformance() -> Result<(), String> {
    cargo(
        &[
            "test",
            "-p",
            "delta-txn",
            "--test",
            "conformance",
            "--",
            "--nocapture",
        ],
        &[],
    )
}

fn proptest() -> Result<(), String> {
    let cases = std::env::var("PROPTEST_CASES").unwrap_or_else(|_| "1024".to_string());
    // damaged log files fed to loading and the check: a million by default
    let fuzz = std::env::var("DELTA_FUZZ_CASES").unwrap_or_else(|_| "1000000".to_string());
    cargo(
        &[
            "test",
            "--workspace",
            "--release",
            "--",
            "round_trip",
            "skipping_never_drops",
            "predicate_scans",
            "concurrent_transactions",
            "retention_keeps",
            "mutated_log_files",
        ],
        &[
            ("PROPTEST_CASES", cases.as_str()),
            ("DELTA_FUZZ_CASES", fuzz.as_str()),
            // the fuzz test catches parquet's panics on damaged files; a
            // backtrace for each would cost more than the cases
            ("RUST_BACKTRACE", "0"),
        ],
    )
}
