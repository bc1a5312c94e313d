//! `cargo xtask bench`: the workloads of BENCHMARKS.md, side by side: ours
//! run by the release-built `delta-bench` binary, delta-rs's by
//! xtask/peer/bench_deltars.py (and bench_sql.py for Q1) in the peer venv,
//! each workload and repeat in its own process, on the same data; then the
//! table of both with their ratios, and the ratio chart
//! (`target/bench-ratios.svg`). `--publish` writes the table, the date, the
//! machine and the versions into BENCHMARKS.md and the chart beside it.
//! `--criterion` runs the criterion micro benchmarks.
//!
//! ```text
//! cargo xtask bench [--data DATA] [--work SCRATCH] [--out results.jsonl]
//!                   [--only W1,W4] [--repeat N] [--scale small|full]
//!                   [--timeout SECONDS] [--keep] [--no-arrow]
//!                   [--ours-only] [--publish]
//! cargo xtask bench --report results.jsonl [more.jsonl ...]
//! cargo xtask bench --criterion
//! ```
//!
//! Without `--data`, the data of `--scale` (default small) is generated once
//! into `target/bench-data/<scale>` by xtask/peer/bench_data.py in the
//! peer venv ([`crate::peer`]). `--work` defaults to `target/bench-work`
//! (our tables in `ours/`, delta-rs's in `delta-rs/`).
//! Results are appended to `--out`; without it they go to
//! `target/bench-results.jsonl`, emptied first so the table is this run's.

use std::path::{Path, PathBuf};
use std::process::Command;

use crate::peer::Peer;
use crate::{cargo, workspace};

const USAGE: &str = "usage: cargo xtask bench [--data DIR] [--work DIR] [--out FILE] \
[--only W1,W4] [--repeat N] [--scale small|full] [--timeout S] [--keep] [--no-arrow] \
[--ours-only] [--publish]\n\
       cargo xtask bench --report FILE...\n\
       cargo xtask bench --criterion";

/// Parsed arguments.
#[derive(Debug, Default, PartialEq)]
struct Args {
    criterion: bool,
    report: Vec<String>,
    data: Option<String>,
    work: Option<String>,
    out: Option<String>,
    scale: Option<String>,
    /// Run only our side.
    ours_only: bool,
    /// Write the results into BENCHMARKS.md and the chart beside it.
    publish: bool,
    /// Passed through to `delta-bench suite` as they are.
    pass: Vec<String>,
}

impl Args {
    /// The value of a flag passed through to the suite.
    fn pass_value(&self, flag: &str) -> Option<&str> {
        let at = self.pass.iter().position(|a| a == flag)?;
        self.pass.get(at + 1).map(String::as_str)
    }

    /// `--only` for delta-rs's harness: the selection without Q1 (which
    /// bench_sql.py runs); `None` for every workload, `Some("")` for none.
    fn deltars_only(&self) -> Option<String> {
        let only = self.pass_value("--only")?;
        let kept: Vec<&str> = only
            .split(',')
            .map(str::trim)
            .filter(|w| *w != "Q1")
            .collect();
        Some(kept.join(","))
    }

    /// Whether the run includes this workload (all do without `--only`).
    fn selects(&self, workload: &str) -> bool {
        self.pass_value("--only")
            .is_none_or(|only| only.split(',').any(|w| w.trim() == workload))
    }
}

fn parse(args: &[String]) -> Result<Args, String> {
    let mut parsed = Args::default();
    let mut it = args.iter();
    while let Some(arg) = it.next() {
        let mut value = || {
            it.next()
                .cloned()
                .ok_or_else(|| format!("{arg} needs a value\n{USAGE}"))
        };
        match arg.as_str() {
            "--criterion" => parsed.criterion = true,
            "--report" => {
                parsed.report.extend(it.by_ref().cloned());
                if parsed.report.is_empty() {
                    return Err(format!("--report needs files\n{USAGE}"));
                }
                if let Some(flag) = parsed.report.iter().find(|f| f.starts_with("--")) {
                    return Err(format!(
                        "--report takes only files, and comes last (found {flag})\n{USAGE}"
                    ));
                }
            }
            "--data" => parsed.data = Some(value()?),
            "--work" => parsed.work = Some(value()?),
            "--out" => parsed.out = Some(value()?),
            "--scale" => {
                let scale = value()?;
                if scale != "small" && scale != "full" {
                    return Err(format!("--scale is small or full, not {scale}"));
                }
                parsed.scale = Some(scale);
            }
            "--only" | "--repeat" | "--timeout" => {
                let v = value()?;
                parsed.pass.extend([arg.clone(), v]);
            }
            "--keep" | "--no-arrow" => parsed.pass.push(arg.clone()),
            "--ours-only" => parsed.ours_only = true,
            "--publish" => parsed.publish = true,
            other => return Err(format!("unknown argument {other}\n{USAGE}")),
        }
    }
    if parsed.publish && parsed.ours_only {
        return Err("--publish needs both sides: it cannot go with --ours-only".to_string());
    }
    Ok(parsed)
}

/// Runs `cargo xtask bench` with these arguments.
pub fn bench(args: &[String]) -> Result<(), String> {
    let args = parse(args)?;
    if args.criterion {
        return criterion();
    }
    let root = workspace();
    cargo(&["build", "--release", "-p", "delta-bench"], &[])?;
    let binary = target_dir(&root).join("release/delta-bench");
    if !args.report.is_empty() {
        return run(Command::new(&binary).arg("report").args(&args.report));
    }
    let data = match &args.data {
        Some(d) => PathBuf::from(d),
        None => generate(&root, args.scale.as_deref().unwrap_or("small"))?,
    };
    let work = args
        .work
        .as_ref()
        .map_or_else(|| root.join("target/bench-work"), PathBuf::from);
    let out = match &args.out {
        Some(out) => PathBuf::from(out),
        None => {
            let out = root.join("target/bench-results.jsonl");
            let _ = std::fs::remove_file(&out);
            out
        }
    };
    // each side's tables in its own directory, so a kept table of one
    // (`--keep`) is not removed by the other's setup
    let mut suite = Command::new(&binary);
    suite
        .arg("suite")
        .arg("--data")
        .arg(&data)
        .arg("--work")
        .arg(work.join("ours"))
        .arg("--out")
        .arg(&out)
        .args(&args.pass);
    if let Some(scale) = &args.scale {
        suite.args(["--scale", scale]);
    }
    run(&mut suite)?;
    if !args.ours_only {
        deltars(&root, &args, &data, &work.join("delta-rs"), &out)?;
    }
    eprintln!("xtask: results in {}", out.display());
    let mut report = Command::new(&binary);
    report.arg("report").arg(&out);
    let scale = args
        .scale
        .clone()
        .or_else(|| args.data.is_none().then(|| "small".to_string()));
    if let Some(scale) = &scale {
        report.args(["--scale", scale]);
    }
    if args.publish {
        report
            .arg("--publish")
            .arg(root.join("BENCHMARKS.md"))
            .arg("--chart")
            .arg(root.join("bench-ratios.svg"));
    } else {
        report
            .arg("--chart")
            .arg(target_dir(&root).join("bench-ratios.svg"));
    }
    run(&mut report)
}

/// delta-rs's side of the selected workloads, on the same data, appended to
/// the same results file.
fn deltars(root: &Path, args: &Args, data: &Path, work: &Path, out: &Path) -> Result<(), String> {
    let python = Peer::start(root).python()?;
    let repeat = args.pass_value("--repeat").unwrap_or("1");
    let only = args.deltars_only();
    if only.as_deref() != Some("") {
        let mut harness = Command::new(&python);
        harness
            .arg(root.join("xtask/peer/bench_deltars.py"))
            .arg("--data")
            .arg(data)
            .arg("--work")
            .arg(work)
            .arg("--out")
            .arg(out)
            .args(["--repeat", repeat]);
        if let Some(only) = &only {
            harness.args(["--only", only]);
        }
        if let Some(timeout) = args.pass_value("--timeout") {
            harness.args(["--timeout", timeout]);
        }
        if args.pass.iter().any(|a| a == "--keep") {
            harness.arg("--keep");
        }
        run(&mut harness)?;
    }
    if args.selects("Q1") {
        run(Command::new(&python)
            .arg(root.join("xtask/peer/bench_sql.py"))
            .arg("--data")
            .arg(data)
            .arg("--sql")
            .arg(root.join("delta-bench/src/q1.sql"))
            .arg("--out")
            .arg(out)
            .args(["--repeat", repeat]))?;
    }
    Ok(())
}

fn run(command: &mut Command) -> Result<(), String> {
    let shown = format!("{command:?}");
    let status = command
        .status()
        .map_err(|e| format!("{shown}: cannot start: {e}"))?;
    if status.success() {
        Ok(())
    } else {
        Err(format!("{shown}: {status}"))
    }
}

/// Where cargo puts build output.
fn target_dir(root: &Path) -> PathBuf {
    std::env::var_os("CARGO_TARGET_DIR").map_or_else(|| root.join("target"), PathBuf::from)
}

/// The data of this scale in `target/bench-data/<scale>`: bench_data.py
/// keeps data its manifest says is of this scale and generator version, and
/// writes it anew otherwise (also after an interrupted run: the manifest is
/// written last).
fn generate(root: &Path, scale: &str) -> Result<PathBuf, String> {
    let data = root.join("target/bench-data").join(scale);
    let python = Peer::start(root).python()?;
    let script = root.join("xtask/peer/bench_data.py");
    eprintln!("xtask: the {scale} bench data in {}", data.display());
    run(Command::new(python)
        .arg(script)
        .args(["--scale", scale, "--out"])
        .arg(&data))?;
    Ok(data)
}

/// The criterion benches (log replay, the consistency check, statistics,
/// deletion vectors, expression evaluation, the Z-order key, MERGE's join)
/// and the 1M-file probe: the peak memory and time of loading 1 000 000
/// active files (a checkpoint and a JSON tail) with our log reader, then
/// with delta-rs on the same table.
fn criterion() -> Result<(), String> {
    let root = workspace();
    cargo(
        &["bench", "-p", "delta-log", "--bench", "snapshot_load"],
        &[],
    )?;
    cargo(&["bench", "-p", "delta-check", "--bench", "check"], &[])?;
    // the hot paths: statistics and deletion vectors, expression
    // evaluation, the Z-order key, MERGE's join
    cargo(&["bench", "-p", "delta-io", "--bench", "hot_paths"], &[])?;
    cargo(&["bench", "-p", "delta-expr", "--bench", "evaluate"], &[])?;
    cargo(&["bench", "-p", "delta-optimize", "--bench", "zorder"], &[])?;
    cargo(
        &["bench", "-p", "delta-merge", "--bench", "merge_join"],
        &[],
    )?;
    let mut peer = Peer::start(&root);
    let table = target_dir(&root).join("bench-work/million-files");
    let table_arg = table.display().to_string();
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
            "--keep",
            &table_arg,
        ],
        &[],
    )?;
    let python = peer.python()?;
    let compared = run(Command::new(python)
        .arg(root.join("xtask/peer/load_files.py"))
        .arg(&table));
    let _ = std::fs::remove_dir_all(&table);
    compared
}

#[cfg(test)]
mod tests {
    use super::*;

    fn args(s: &str) -> Vec<String> {
        s.split_whitespace().map(String::from).collect()
    }

    #[test]
    fn parses_arguments() {
        let a = parse(&args(
            "--data d --only W1,W2 --repeat 3 --scale full --keep",
        ))
        .unwrap();
        assert_eq!(a.data.as_deref(), Some("d"));
        assert_eq!(a.scale.as_deref(), Some("full"));
        assert_eq!(a.pass, args("--only W1,W2 --repeat 3 --keep"));
        assert!(a.selects("W2") && !a.selects("Q1"));
        assert_eq!(a.pass_value("--repeat"), Some("3"));
        assert!(parse(&args("--scale small")).unwrap().selects("Q1"));
        assert!(parse(&args("--criterion")).unwrap().criterion);
        assert_eq!(parse(&args("--report a b")).unwrap().report, args("a b"));
        assert!(parse(&args("--scale huge")).is_err());
        assert!(parse(&args("--repeat")).is_err());
        assert!(parse(&args("--bogus")).is_err());
        let a = parse(&args("--only W1,Q1,W3b --publish")).unwrap();
        assert!(a.publish && !a.ours_only);
        assert!(parse(&args("--ours-only")).unwrap().ours_only);
        assert_eq!(a.deltars_only().as_deref(), Some("W1,W3b"));
        assert_eq!(
            parse(&args("--only Q1")).unwrap().deltars_only().as_deref(),
            Some("")
        );
        assert_eq!(parse(&args("")).unwrap().deltars_only(), None);
        assert!(parse(&args("--publish --ours-only")).is_err());
        assert!(parse(&args("--report a --scale full")).is_err());
    }
}
