//! W11, concurrent appends: the coordinator process and the worker processes it
//! starts (`delta-bench w11-worker`), which signal READY, wait for GO and
//! retry a failed commit up to 10 times.

use super::{Clock, RunResult, json_map, read_parquet, runtime, text};
use crate::mem;
use crate::spec::{Dirs, Manifest, OURS, Workload};
use arrow::array::RecordBatch;
use arrow::compute::concat_batches;
use delta_txn::{Table, WriteOptions};
use serde::{Deserialize, Serialize};
use serde_json::json;
use std::path::Path;
use std::sync::Arc;
use std::time::Instant;

/// What a W11 worker reports (`WORKER <json>`).
#[derive(Debug, Serialize, Deserialize)]
pub(super) struct WorkerResult {
    pub(super) committed: u64,
    pub(super) failed: u64,
    pub(super) retries: u64,
    pub(super) errors: Vec<String>,
    pub(super) seconds: f64,
    pub(super) peak_rss_mib: Option<f64>,
}

/// W11: the coordinator. Starts the workers, waits until each has loaded
/// its batches and opened the table (`READY`), starts the clock, says `GO`
/// and stops the clock when all have exited.
pub(super) fn w11(
    dirs: &Dirs,
    manifest: &Manifest,
    workload: &Workload,
    implementation: &str,
    path: &Path,
) -> Result<RunResult, String> {
    use std::io::{BufRead, BufReader, Write};
    use std::process::{Command, Stdio};
    let exe = std::env::current_exe().map_err(|e| e.to_string())?;
    let mut workers = Vec::new();
    for index in 0..manifest.w11_workers {
        let mut child = Command::new(&exe)
            .args(["child", "--workload", workload.id, "--phase", "worker"])
            .args(["--impl", implementation, "--worker", &index.to_string()])
            .arg("--data")
            .arg(&dirs.data)
            .arg("--work")
            .arg(&dirs.work)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .spawn()
            .map_err(|e| format!("cannot start W11 worker {index}: {e}"))?;
        let stdout = child.stdout.take().ok_or("no worker stdout")?;
        let mut lines = BufReader::new(stdout).lines();
        match lines.next() {
            Some(Ok(line)) if line == "READY" => {}
            other => return Err(format!("W11 worker {index} did not get ready: {other:?}")),
        }
        workers.push((child, lines));
    }
    let mut result = RunResult::default();
    let clock = Clock::start();
    for (child, _) in &mut workers {
        let stdin = child.stdin.as_mut().ok_or("no worker stdin")?;
        stdin
            .write_all(b"GO\n")
            .and_then(|()| stdin.flush())
            .map_err(|e| format!("telling a W11 worker to go: {e}"))?;
    }
    let mut reports = Vec::new();
    for (index, (mut child, lines)) in workers.into_iter().enumerate() {
        let mut report = None;
        for line in lines {
            let line = line.map_err(|e| e.to_string())?;
            if let Some(json) = line.strip_prefix("WORKER ") {
                report =
                    Some(serde_json::from_str::<WorkerResult>(json).map_err(|e| e.to_string())?);
            }
        }
        let status = child.wait().map_err(|e| e.to_string())?;
        match report {
            Some(r) if status.success() => reports.push(r),
            _ => return Err(format!("W11 worker {index} failed: {status}")),
        }
    }
    clock.stop(&mut result);
    let snapshot = runtime()?.block_on(async {
        Table::open(text(path)?)
            .await
            .map_err(|e| e.to_string())?
            .snapshot()
            .await
            .map_err(|e| e.to_string())
    })?;
    let committed: u64 = reports.iter().map(|r| r.committed).sum();
    result.rows = Some(committed * manifest.batch_rows);
    result.exit_hwm_mib = reports
        .iter()
        .filter_map(|r| r.peak_rss_mib)
        .reduce(f64::max);
    let mut errors: Vec<String> = reports.iter().flat_map(|r| r.errors.clone()).collect();
    errors.sort();
    errors.dedup();
    errors.truncate(5);
    result.extra = json_map(json!({
        "workers": manifest.w11_workers,
        "commits_per_worker": manifest.c11,
        "committed": committed,
        "failed_commits": reports.iter().map(|r| r.failed).sum::<u64>(),
        "retries": reports.iter().map(|r| r.retries).sum::<u64>(),
        "errors": errors,
        "final_version": snapshot.version(),
        "active_files": snapshot.files().len(),
        "per_worker_seconds": reports.iter().map(|r| (r.seconds * 1000.0).round() / 1000.0).collect::<Vec<_>>(),
        "commits_per_second": committed as f64 / result.seconds,
    }));
    Ok(result)
}

/// A W11 worker: its `c11` batches of concurrent.parquet, appended one
/// commit each; an error is retried (table opened again) up to 10 times.
pub fn w11_worker(
    dirs: &Dirs,
    manifest: &Manifest,
    workload: &Workload,
    index: u64,
) -> Result<(), String> {
    use std::io::BufRead;
    let path = dirs.table(workload, OURS);
    let location = text(&path)?.to_string();
    let (schema, batches) = read_parquet(&dirs.input("concurrent.parquet"))?;
    let all = concat_batches(&schema, &batches).map_err(|e| e.to_string())?;
    let rows = usize::try_from(manifest.batch_rows).map_err(|e| e.to_string())?;
    let count = usize::try_from(manifest.c11).map_err(|e| e.to_string())?;
    let first = usize::try_from(index).map_err(|e| e.to_string())? * count;
    if all.num_rows() < (first + count) * rows {
        return Err(format!(
            "concurrent.parquet has {} rows, too few for worker {index}",
            all.num_rows()
        ));
    }
    let mine: Vec<RecordBatch> = (first..first + count)
        .map(|j| all.slice(j * rows, rows))
        .collect();
    let rt = runtime()?;
    let mut table = rt
        .block_on(Table::open(&location))
        .map_err(|e| e.to_string())?;
    println!("READY");
    let mut go = String::new();
    std::io::stdin()
        .lock()
        .read_line(&mut go)
        .map_err(|e| e.to_string())?;
    let started = Instant::now();
    let (mut committed, mut failed, mut retries) = (0, 0, 0);
    let mut errors = Vec::new();
    for batch in mine {
        let mut done = false;
        for attempt in 0..11 {
            let stream = futures::stream::iter([Ok(batch.clone())]);
            match rt.block_on(table.write(Arc::clone(&schema), stream, WriteOptions::default())) {
                Ok(_) => {
                    done = true;
                    break;
                }
                Err(e) => {
                    if attempt < 10 {
                        retries += 1;
                    }
                    errors.push(e.to_string());
                    if let Ok(t) = rt.block_on(Table::open(&location)) {
                        table = t;
                    }
                }
            }
        }
        if done {
            committed += 1;
        } else {
            failed += 1;
        }
    }
    errors.truncate(5);
    let report = WorkerResult {
        committed,
        failed,
        retries,
        errors,
        seconds: started.elapsed().as_secs_f64(),
        peak_rss_mib: mem::status_mib("VmHWM"),
    };
    println!(
        "WORKER {}",
        serde_json::to_string(&report).map_err(|e| e.to_string())?
    );
    Ok(())
}
