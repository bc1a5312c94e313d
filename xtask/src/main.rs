//! Project automation, run as `cargo xtask <command>`.
//!
//! - `test`: everything CI checks: formatting, clippy with warnings denied,
//!   and the whole test suite (unit, integration, doc and conformance tests).
//! - `conformance`: only the conformance suite over `../shared/testdata`.
//! - `proptest`: the property tests, with more cases (`PROPTEST_CASES`, default 1024).
//! - `bench`: the criterion benchmarks and the memory probe (release builds).

use std::process::{Command, ExitCode};

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let result = match args.first().map(String::as_str) {
        Some("test") => test(),
        Some("conformance") => conformance(),
        Some("proptest") => proptest(),
        Some("bench") => bench(),
        _ => {
            eprintln!("usage: cargo xtask <test|conformance|proptest|bench>");
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
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".to_string());
    let shown = format!("cargo {}", args.join(" "));
    eprintln!("xtask: {shown}");
    let status = Command::new(cargo)
        .args(args)
        .envs(env.iter().copied())
        .status()
        .map_err(|e| format!("{shown}: {e}"))?;
    if status.success() { Ok(()) } else { Err(shown) }
}

fn test() -> Result<(), String> {
    cargo(&["fmt", "--all", "--check"], &[])?;
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
    cargo(&["test", "--workspace", "--all-targets"], &[])?;
    cargo(&["test", "--workspace", "--doc"], &[])
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
    cargo(
        &["test", "--workspace", "--release", "--", "round_trip"],
        &[("PROPTEST_CASES", cases.as_str())],
    )
}

fn bench() -> Result<(), String> {
    cargo(
        &["bench", "-p", "delta-log", "--bench", "snapshot_load"],
        &[],
    )?;
    // peak memory of loading 1 000 000 active files from a checkpoint
    cargo(
        &[
            "run",
            "--release",
            "-p",
            "delta-log",
            "--example",
            "load_memory",
            "--",
            "1000000",
        ],
        &[],
    )
}
