//! The parent: for each (repeat, workload, implementation) a setup process,
//! then a fresh measured process; their results become one JSON line each,
//! appended to `--out` and echoed to stdout.

use std::io::{Read, Write};
use std::path::PathBuf;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

use crate::child::RunResult;
use crate::spec::{
    ARROW, Dirs, Manifest, OURS, OURS_DV, Setup, WORKLOADS, Workload, has_arrow_reference,
    has_dv_variant,
};

/// One line of the results file (BENCHMARKS.md, "Output format").
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct Record {
    /// `W1` ... `W11`, `W3b`.
    pub workload: String,
    /// Its name.
    pub name: String,
    /// Which implementation.
    #[serde(rename = "impl")]
    pub implementation: String,
    /// Its version.
    pub impl_version: String,
    /// `small` or `full`.
    pub scale: String,
    /// 0, 1, ... per `--repeat`.
    pub repeat: u32,
    /// False when the run failed or a check did not hold.
    pub ok: bool,
    /// Why not ok.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
    /// Wall clock of the operation.
    pub seconds: Option<f64>,
    /// High-water RSS of the process, as `wait4` reports it.
    pub peak_rss_mib: Option<f64>,
    /// Rows written or read.
    pub rows: Option<u64>,
    /// Data files read.
    pub files_read: Option<u64>,
    /// RSS right before the clock.
    pub rss_before_mib: Option<f64>,
    /// High-water RSS of the operation alone.
    pub op_peak_rss_mib: Option<f64>,
    /// Wall of the whole measured process, from the parent.
    pub process_seconds: Option<f64>,
    /// Free-form facts.
    #[serde(default)]
    pub extra: Map<String, Value>,
    /// When.
    pub utc: String,
    /// Where.
    #[serde(default)]
    pub host: Map<String, Value>,
}

impl Record {
    /// The JSON line (no newline).
    pub fn to_line(&self) -> String {
        serde_json::to_string(self).unwrap_or_else(|e| format!("{{\"error\":\"{e}\"}}"))
    }
}

fn round(value: f64, digits: i32) -> f64 {
    let factor = 10f64.powi(digits);
    (value * factor).round() / factor
}

/// Options of a suite run.
#[derive(Debug, Clone)]
pub struct SuiteOptions {
    /// Data and scratch directories.
    pub dirs: Dirs,
    /// The results file lines are appended to.
    pub out: Option<PathBuf>,
    /// Workloads, in order (empty: all).
    pub only: Vec<String>,
    /// Runs of each workload.
    pub repeat: u32,
    /// Limit of each process.
    pub timeout: Duration,
    /// Keep the tables written.
    pub keep: bool,
    /// Also run the arrow-rs reference of W1 and W2.
    pub arrow: bool,
    /// The scale the data must have, if given.
    pub scale: Option<String>,
}

/// What a child process did.
struct ChildOutput {
    stdout: String,
    stderr: String,
    wall: f64,
    /// Exit code; `None` when killed (timeout or signal).
    code: Option<i32>,
    timed_out: bool,
}

impl ChildOutput {
    /// The JSON after `prefix` on the last line that has it.
    fn line(&self, prefix: &str) -> Option<&str> {
        self.stdout
            .lines()
            .rev()
            .find_map(|l| l.strip_prefix(prefix))
    }

    fn failure(&self, phase: &str) -> String {
        let tail: String = {
            let s = self.stderr.trim();
            let start = s.char_indices().rev().nth(399).map(|(i, _)| i).unwrap_or(0);
            s[start..].to_string()
        };
        if self.timed_out {
            format!("{phase} timed out: {tail}")
        } else {
            match self.code {
                Some(c) => format!("{phase} rc={c}: {tail}"),
                None => format!("{phase} killed by a signal: {tail}"),
            }
        }
    }
}

/// Runs this binary with `args`, waiting at most `timeout`.
fn run_child(args: &[String], timeout: Duration) -> Result<ChildOutput, String> {
    let exe = std::env::current_exe().map_err(|e| format!("cannot find this program: {e}"))?;
    let start = Instant::now();
    let mut child = Command::new(&exe)
        .args(args)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .map_err(|e| format!("cannot start {}: {e}", exe.display()))?;
    let reader = |pipe: Option<Box<dyn Read + Send>>| {
        std::thread::spawn(move || {
            let mut text = String::new();
            if let Some(mut p) = pipe {
                let _ = p.read_to_string(&mut text);
            }
            text
        })
    };
    let out = reader(
        child
            .stdout
            .take()
            .map(|p| Box::new(p) as Box<dyn Read + Send>),
    );
    let err = reader(
        child
            .stderr
            .take()
            .map(|p| Box::new(p) as Box<dyn Read + Send>),
    );
    let mut timed_out = false;
    let status = loop {
        match child.try_wait() {
            Ok(Some(status)) => break status,
            Ok(None) if start.elapsed() > timeout => {
                timed_out = true;
                let _ = child.kill();
                break child.wait().map_err(|e| e.to_string())?;
            }
            Ok(None) => std::thread::sleep(Duration::from_millis(20)),
            Err(e) => return Err(format!("waiting for {}: {e}", exe.display())),
        }
    };
    let wall = start.elapsed().as_secs_f64();
    Ok(ChildOutput {
        stdout: out.join().unwrap_or_default(),
        stderr: err.join().unwrap_or_default(),
        wall,
        code: status.code(),
        timed_out,
    })
}

/// `machine`, `cores`, `node` (and `os`), as bench_deltars.py records them.
fn host() -> Map<String, Value> {
    let mut host = Map::new();
    host.insert("machine".into(), std::env::consts::ARCH.into());
    host.insert(
        "cores".into(),
        std::thread::available_parallelism()
            .map(|n| n.get())
            .unwrap_or(0)
            .into(),
    );
    host.insert("os".into(), std::env::consts::OS.into());
    if let Some(gib) = crate::mem::total_gib() {
        host.insert("memory_gib".into(), ((gib * 10.0).round() / 10.0).into());
    }
    let node = std::fs::read_to_string("/proc/sys/kernel/hostname")
        .map(|s| s.trim().to_string())
        .unwrap_or_default();
    host.insert("node".into(), node.into());
    host
}

/// Our version: crate version and git commit of the workspace, if known.
fn our_version() -> String {
    let version = env!("CARGO_PKG_VERSION");
    let commit = Command::new("git")
        .args([
            "-C",
            env!("CARGO_MANIFEST_DIR"),
            "rev-parse",
            "--short",
            "HEAD",
        ])
        .output()
        .ok()
        .filter(|o| o.status.success())
        .map(|o| String::from_utf8_lossy(&o.stdout).trim().to_string())
        .filter(|s| !s.is_empty());
    match commit {
        Some(c) => format!("{OURS} {version} ({c})"),
        None => format!("{OURS} {version}"),
    }
}

fn utc_now() -> String {
    chrono::Utc::now().format("%Y-%m-%dT%H:%M:%SZ").to_string()
}

/// The workloads to run, in the order given.
pub fn select(only: &[String]) -> Result<Vec<&'static Workload>, String> {
    if only.is_empty() {
        return Ok(WORKLOADS.iter().collect());
    }
    only.iter()
        .map(|id| {
            crate::spec::workload(id.trim()).ok_or_else(|| {
                format!(
                    "unknown workload {id}; choose from {}",
                    WORKLOADS.iter().map(|w| w.id).collect::<Vec<_>>().join(",")
                )
            })
        })
        .collect()
}

/// Runs the suite; the error is a setup problem of the whole run.
pub fn run_suite(options: &SuiteOptions) -> Result<(), String> {
    let manifest = Manifest::read(&options.dirs.data)?;
    if let Some(scale) = &options.scale
        && *scale != manifest.scale
    {
        return Err(format!(
            "{} holds {} data, not {scale}",
            options.dirs.data.display(),
            manifest.scale
        ));
    }
    let workloads = select(&options.only)?;
    std::fs::create_dir_all(&options.dirs.work)
        .map_err(|e| format!("{}: {e}", options.dirs.work.display()))?;
    let host = host();
    let ours = our_version();
    let arrow_version = format!("arrow-rs/parquet {ARROW_VERSION} ArrowWriter");
    let started = Instant::now();
    let emit = |record: Record| -> Result<(), String> {
        let line = record.to_line();
        // echoed; a closed stdout must not stop the suite
        let _ = writeln!(std::io::stdout().lock(), "{line}");
        if let Some(out) = &options.out {
            let mut f = std::fs::OpenOptions::new()
                .create(true)
                .append(true)
                .open(out)
                .map_err(|e| format!("{}: {e}", out.display()))?;
            writeln!(f, "{line}").map_err(|e| format!("{}: {e}", out.display()))?;
        }
        Ok(())
    };
    for repeat in 0..options.repeat {
        for workload in &workloads {
            let mut impls = vec![(OURS, ours.as_str())];
            if options.arrow && has_arrow_reference(workload.id) {
                impls.push((ARROW, arrow_version.as_str()));
            }
            if has_dv_variant(workload.id) {
                impls.push((OURS_DV, ours.as_str()));
            }
            for (implementation, version) in impls {
                let mut record = Record {
                    workload: workload.id.to_string(),
                    name: workload.name.to_string(),
                    implementation: implementation.to_string(),
                    impl_version: version.to_string(),
                    scale: manifest.scale.clone(),
                    repeat,
                    ..Record::default()
                };
                if !workload.implemented {
                    if repeat == 0 {
                        eprintln!("# {}: not implemented yet", workload.id);
                        record.error = Some("not implemented yet".to_string());
                        record.utc = utc_now();
                        record.host = host.clone();
                        emit(record)?;
                    }
                    continue;
                }
                measure(options, &manifest, workload, implementation, &mut record);
                record.utc = utc_now();
                record.host = host.clone();
                emit(record)?;
                if !options.keep && !matches!(workload.setup, Setup::Read(_)) {
                    let _ = std::fs::remove_dir_all(options.dirs.table(workload, implementation));
                }
            }
        }
    }
    eprintln!("# suite wall {:.1}s", started.elapsed().as_secs_f64());
    Ok(())
}

/// The arrow and parquet crates' version (the workspace pins both to it).
const ARROW_VERSION: &str = "60.1";

/// Setup, measured run and checks of one (workload, implementation) into `record`.
fn measure(
    options: &SuiteOptions,
    manifest: &Manifest,
    workload: &Workload,
    implementation: &str,
    record: &mut Record,
) {
    let base = |phase: &str| -> Vec<String> {
        vec![
            "child".into(),
            "--workload".into(),
            workload.id.into(),
            "--phase".into(),
            phase.into(),
            "--impl".into(),
            implementation.into(),
            "--data".into(),
            options.dirs.data.display().to_string(),
            "--work".into(),
            options.dirs.work.display().to_string(),
        ]
    };
    let setup = match run_child(&base("setup"), options.timeout) {
        Err(e) => return record.fail(e),
        Ok(out) if out.code != Some(0) => return record.fail(out.failure("setup")),
        Ok(out) => out
            .line("SETUP ")
            .and_then(|l| serde_json::from_str::<Map<String, Value>>(l).ok())
            .unwrap_or_default(),
    };
    let out = match run_child(&base("run"), options.timeout) {
        Err(e) => return record.fail(e),
        Ok(out) => out,
    };
    record.process_seconds = Some(round(out.wall, 3));
    let result = match out.line("RESULT ") {
        Some(line) if out.code == Some(0) => serde_json::from_str::<RunResult>(line)
            .map_err(|e| format!("run printed a bad result ({e}): {line}")),
        _ => Err(out.failure("run")),
    };
    let result = match result {
        Ok(r) => r,
        Err(e) => return record.fail(e),
    };
    record.seconds = Some(round(result.seconds, 4));
    record.peak_rss_mib = result.exit_hwm_mib.map(|m| round(m, 1));
    record.rows = result.rows;
    record.files_read = result.files_read;
    record.rss_before_mib = result.rss_before_mib.map(|m| round(m, 1));
    record.op_peak_rss_mib = result.op_peak_rss_mib.map(|m| round(m, 1));
    record.extra = result.extra.clone();
    if let Some(load) = result.load_peak_rss_mib {
        record
            .extra
            .insert("load_peak_rss_mib".into(), round(load, 1).into());
    }
    match check(workload, implementation, manifest, &setup, &result) {
        Ok(()) => record.ok = true,
        Err(e) => record.fail(format!("check failed: {e}")),
    }
}

impl Record {
    fn fail(&mut self, error: String) {
        eprintln!("# {} {}: {error}", self.workload, self.implementation);
        self.ok = false;
        self.error = Some(error);
    }
}

fn extra_u64(result: &RunResult, key: &str) -> Option<u64> {
    result.extra.get(key).and_then(Value::as_u64)
}

fn expect(what: &str, actual: Option<u64>, expected: u64) -> Result<(), String> {
    match actual {
        Some(a) if a == expected => Ok(()),
        Some(a) => Err(format!("{what} is {a}, expected {expected}")),
        None => Err(format!("{what} missing, expected {expected}")),
    }
}

/// BENCHMARKS.md's correctness checks: a result with wrong counts is not valid.
pub fn check(
    workload: &Workload,
    implementation: &str,
    m: &Manifest,
    setup: &Map<String, Value>,
    result: &RunResult,
) -> Result<(), String> {
    match workload.id {
        "W1" => {
            expect("rows", result.rows, m.n)?;
            if implementation == OURS {
                expect(
                    "numRecords in the stats",
                    extra_u64(result, "rows_in_stats"),
                    m.n,
                )?;
            }
        }
        "W2" => {
            expect("rows", result.rows, m.c2 * m.batch_rows)?;
            if implementation == OURS {
                expect("final version", extra_u64(result, "final_version"), m.c2)?;
            } else {
                expect("files", extra_u64(result, "files_written"), m.c2)?;
            }
        }
        "W3" => {
            expect("active files", extra_u64(result, "active_files"), m.c3)?;
            expect(
                "version",
                extra_u64(result, "version"),
                m.c3.saturating_sub(1),
            )?;
        }
        "W3b" => {
            expect("active files", extra_u64(result, "active_files"), m.c3b)?;
            expect(
                "version",
                extra_u64(result, "version"),
                m.c3b.saturating_sub(1),
            )?;
        }
        "W6" => {
            expect(
                "active files",
                extra_u64(result, "active_files"),
                m.w6_version + 1,
            )?;
            expect("version", extra_u64(result, "version"), m.w6_version)?;
        }
        "W5" => {
            let span = u64::try_from(m.w5_hi - m.w5_lo + 1).unwrap_or(0);
            expect("rows", result.rows, span)?;
        }
        "W7" => {
            // BENCHMARKS.md: n/5 source rows, half of them matching
            expect("rows", result.rows, m.n / 5)?;
            expect(
                "updated",
                extra_u64(result, "num_target_rows_updated"),
                m.n / 10,
            )?;
            expect(
                "inserted",
                extra_u64(result, "num_target_rows_inserted"),
                m.n / 10,
            )?;
        }
        "W8" | "W9" => {
            // BENCHMARKS.md: 2 of 20 categories deleted, 1 of 20 updated (uniform)
            let share = if workload.id == "W8" { 10 } else { 20 };
            let expected = m.n / share;
            match result.rows {
                Some(r) if r.abs_diff(expected) <= expected / 10 => {}
                other => {
                    return Err(format!(
                        "rows is {other:?}, expected about {expected} (1/{share} of the rows)"
                    ));
                }
            }
        }
        "W11" => {
            let commits = m.w11_workers * m.c11;
            expect("rows", result.rows, commits * m.batch_rows)?;
            expect(
                "failed writers' commits",
                extra_u64(result, "failed_commits"),
                0,
            )?;
            expect("final version", extra_u64(result, "final_version"), commits)?;
            expect("active files", extra_u64(result, "active_files"), commits)?;
        }
        "W10" => {
            // small200: every one of its 200 files is compacted
            expect("files removed", extra_u64(result, "numFilesRemoved"), 200)?;
        }
        "W4" => {
            expect("count", result.rows, m.n)?;
            let sum = result.extra.get("sum_value").and_then(Value::as_f64);
            let expected = setup.get("sum_value").and_then(Value::as_f64);
            match (sum, expected) {
                (Some(s), Some(e)) if sum_matches(s, e, m.n) => {}
                (s, e) => return Err(format!("sum(value) is {s:?}, expected {e:?}")),
            }
        }
        _ => {}
    }
    Ok(())
}

/// Sums of the same values in another order differ in the last bits only.
fn sum_matches(actual: f64, expected: f64, rows: u64) -> bool {
    (actual - expected).abs() <= 1e-9 * (rows.max(1) as f64)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::spec::workload;

    fn manifest() -> Manifest {
        serde_json::from_str(
            r#"{"scale":"small","n":100000,"c2":20,"c11":5,"w11_workers":4,"c3":200,"c3b":100,
                "w8_categories":["cat_03","cat_11"],"w9_category":"cat_07",
                "w6_version":100,"batch_rows":1000,"seed":20261124,
                "w5_lo":37000,"w5_hi":37200,"w10_target_size":268435456}"#,
        )
        .unwrap()
    }

    #[test]
    fn record_line_has_the_required_keys() {
        let record = Record {
            workload: "W1".into(),
            name: "append-large".into(),
            implementation: OURS.into(),
            impl_version: "x".into(),
            scale: "small".into(),
            ok: true,
            seconds: Some(0.5),
            peak_rss_mib: Some(100.0),
            rows: Some(100_000),
            ..Record::default()
        };
        let line = record.to_line();
        let value: Value = serde_json::from_str(&line).unwrap();
        for key in [
            "workload",
            "impl",
            "scale",
            "seconds",
            "peak_rss_mib",
            "rows",
            "ok",
        ] {
            assert!(value.get(key).is_some(), "{key} missing in {line}");
        }
        assert_eq!(value["impl"], OURS);
        assert!(value.get("error").is_none());
        assert_eq!(value["files_read"], Value::Null);
        let back: Record = serde_json::from_str(&line).unwrap();
        assert_eq!(back.implementation, OURS);
        assert_eq!(back.rows, Some(100_000));
    }

    #[test]
    fn checks_counts() {
        let m = manifest();
        let w3 = workload("W3").unwrap();
        let mut result = RunResult::default();
        result.extra.insert("active_files".into(), 200.into());
        result.extra.insert("version".into(), 199.into());
        assert!(check(w3, OURS, &m, &Map::new(), &result).is_ok());
        result.extra.insert("active_files".into(), 199.into());
        let err = check(w3, OURS, &m, &Map::new(), &result).unwrap_err();
        assert_eq!(err, "active files is 199, expected 200");

        let w4 = workload("W4").unwrap();
        let mut setup = Map::new();
        setup.insert("sum_value".into(), 1234.5678.into());
        let mut result = RunResult {
            rows: Some(100_000),
            ..RunResult::default()
        };
        result
            .extra
            .insert("sum_value".into(), (1234.5678 + 1e-9).into());
        assert!(check(w4, OURS, &m, &setup, &result).is_ok());
        result.extra.insert("sum_value".into(), 1235.0.into());
        assert!(check(w4, OURS, &m, &setup, &result).is_err());
        result.rows = Some(99_999);
        assert!(check(w4, OURS, &m, &setup, &result).is_err());

        // W11: 4 workers x 5 commits of 1000 rows, none failed
        let w11 = workload("W11").unwrap();
        let mut result = RunResult {
            rows: Some(20_000),
            ..RunResult::default()
        };
        for (key, value) in [
            ("failed_commits", 0),
            ("final_version", 20),
            ("active_files", 20),
        ] {
            result.extra.insert(key.into(), value.into());
        }
        assert!(check(w11, OURS, &m, &Map::new(), &result).is_ok());
        result.extra.insert("failed_commits".into(), 1.into());
        let err = check(w11, OURS, &m, &Map::new(), &result).unwrap_err();
        assert_eq!(err, "failed writers' commits is 1, expected 0");
    }

    #[test]
    fn selects_workloads() {
        let ids = |only: &[&str]| -> Result<Vec<&str>, String> {
            let only: Vec<String> = only.iter().map(|s| s.to_string()).collect();
            Ok(select(&only)?.iter().map(|w| w.id).collect())
        };
        assert_eq!(ids(&["W4", "W1"]).unwrap(), ["W4", "W1"]);
        assert_eq!(ids(&[]).unwrap().len(), 13);
        assert_eq!(ids(&["Q1"]).unwrap(), ["Q1"]);
        assert!(ids(&["W12"]).unwrap_err().contains("unknown workload W12"));
    }
}
