//! The child processes: the setup of one workload, and one measured run.
//!
//! A run loads its inputs into Arrow memory first, then reads `VmRSS`,
//! resets `VmHWM` (so that its high-water mark is the operation's own),
//! starts the clock, runs the operation, stops the clock and reads `VmHWM`.
//! It prints one line `RESULT <json>` ([`RunResult`]) to stdout; the setup
//! prints `SETUP <json>` with what the checks need. Everything else goes to
//! stderr.

use std::fs::File;
use std::io::Read;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Instant;

use arrow::array::{Array, Float64Array, RecordBatch};
use arrow::compute::concat_batches;
use arrow::datatypes::SchemaRef;
use delta_io::writer::{DEFAULT_MAX_ROW_GROUP_BYTES, DEFAULT_MAX_ROW_GROUP_ROWS};
use delta_schema::StructType;
use delta_txn::{CreateOptions, DEFAULT_CHECKPOINT_INTERVAL, Snapshot, Table, WriteOptions};
use parquet::arrow::ArrowWriter;
use parquet::arrow::arrow_reader::ParquetRecordBatchReaderBuilder;
use parquet::basic::Compression;
use parquet::file::properties::WriterProperties;
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value, json};
use tokio::runtime::Runtime;

use crate::mem;
use crate::spec::{ARROW, Dirs, Manifest, OURS_DV, Setup, Workload};

mod concurrent;
use concurrent::w11;
pub use concurrent::w11_worker;

/// What a measured run reports to the parent.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct RunResult {
    /// Wall clock of the operation.
    pub seconds: f64,
    /// Rows written or read, where the workload has them.
    pub rows: Option<u64>,
    /// Data files read, where known.
    pub files_read: Option<u64>,
    /// `VmRSS` right before the clock started.
    pub rss_before_mib: Option<f64>,
    /// `VmHWM` right after the operation (reset before the clock).
    pub op_peak_rss_mib: Option<f64>,
    /// `VmHWM` before the reset: the peak of loading the inputs.
    pub load_peak_rss_mib: Option<f64>,
    /// `VmHWM` when the process is about to exit (what `wait4` reports).
    pub exit_hwm_mib: Option<f64>,
    /// Facts of the workload (counts, versions, sums) for the checks.
    pub extra: Map<String, Value>,
}

/// Runs `f` on a fresh multi-threaded runtime.
fn runtime() -> Result<Runtime, String> {
    tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .map_err(|e| format!("cannot start the async runtime: {e}"))
}

fn text(path: &Path) -> Result<&str, String> {
    path.to_str()
        .ok_or_else(|| format!("not UTF-8: {}", path.display()))
}

/// Reads a Parquet file fully into memory, one batch per row group (as
/// pyarrow's `read_table` makes one chunk per row group).
pub fn read_parquet(path: &Path) -> Result<(SchemaRef, Vec<RecordBatch>), String> {
    let what = |e: &dyn std::fmt::Display| format!("{}: {e}", path.display());
    let file = File::open(path).map_err(|e| what(&e))?;
    let builder = ParquetRecordBatchReaderBuilder::try_new(file).map_err(|e| what(&e))?;
    let largest_group = builder
        .metadata()
        .row_groups()
        .iter()
        .map(|g| usize::try_from(g.num_rows()).unwrap_or(0))
        .max()
        .unwrap_or(0)
        .max(1);
    let schema = Arc::clone(builder.schema());
    let reader = builder
        .with_batch_size(largest_group)
        .build()
        .map_err(|e| what(&e))?;
    let batches = reader
        .collect::<Result<Vec<_>, _>>()
        .map_err(|e| what(&e))?;
    Ok((schema, batches))
}

/// The Arrow schema of a Parquet file.
fn parquet_schema(path: &Path) -> Result<SchemaRef, String> {
    let file = File::open(path).map_err(|e| format!("{}: {e}", path.display()))?;
    let builder = ParquetRecordBatchReaderBuilder::try_new(file)
        .map_err(|e| format!("{}: {e}", path.display()))?;
    Ok(Arc::clone(builder.schema()))
}

/// Reads every file under `path` once, so the page cache is warm.
fn warm(path: &Path) -> Result<u64, String> {
    let mut bytes = 0u64;
    let mut stack = vec![path.to_path_buf()];
    let mut buffer = vec![0u8; 4 << 20];
    while let Some(dir) = stack.pop() {
        let entries = std::fs::read_dir(&dir).map_err(|e| format!("{}: {e}", dir.display()))?;
        for entry in entries {
            let entry = entry.map_err(|e| format!("{}: {e}", dir.display()))?;
            let p = entry.path();
            if p.is_dir() {
                stack.push(p);
                continue;
            }
            let mut f = File::open(&p).map_err(|e| format!("{}: {e}", p.display()))?;
            loop {
                let n = f
                    .read(&mut buffer)
                    .map_err(|e| format!("{}: {e}", p.display()))?;
                if n == 0 {
                    break;
                }
                bytes += n as u64;
            }
        }
    }
    Ok(bytes)
}

/// Copies the directory `from` to `to` (which must not exist).
fn copy_dir(from: &Path, to: &Path) -> Result<(), String> {
    let what = |p: &Path, e: std::io::Error| format!("{}: {e}", p.display());
    std::fs::create_dir_all(to).map_err(|e| what(to, e))?;
    for entry in std::fs::read_dir(from).map_err(|e| what(from, e))? {
        let entry = entry.map_err(|e| what(from, e))?;
        let source = entry.path();
        let target = to.join(entry.file_name());
        if source.is_dir() {
            copy_dir(&source, &target)?;
        } else {
            std::fs::copy(&source, &target).map_err(|e| what(&source, e))?;
        }
    }
    Ok(())
}

fn remove(path: &Path) -> Result<(), String> {
    match std::fs::remove_dir_all(path) {
        Ok(()) => Ok(()),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(()),
        Err(e) => Err(format!("cannot remove {}: {e}", path.display())),
    }
}

/// The setup of a workload; returns what the checks of the run need.
pub fn setup(
    dirs: &Dirs,
    workload: &Workload,
    implementation: &str,
) -> Result<Map<String, Value>, String> {
    let path = dirs.table(workload, implementation);
    let mut out = Map::new();
    match workload.setup {
        Setup::None => remove(&path)?,
        Setup::Create if implementation == ARROW => {
            remove(&path)?;
            std::fs::create_dir_all(&path).map_err(|e| format!("{}: {e}", path.display()))?;
        }
        Setup::Create => {
            remove(&path)?;
            let arrow = parquet_schema(&dirs.input("base.parquet"))?;
            let schema = StructType::from_arrow(&arrow).map_err(|e| e.to_string())?;
            let location = text(&path)?.to_string();
            runtime()?
                .block_on(Table::create(&location, &schema, CreateOptions::default()))
                .map_err(|e| format!("creating {location}: {e}"))?;
            out.insert("warmed_bytes".into(), warm(&path)?.into());
        }
        Setup::Read(_) => {
            out.insert("warmed_bytes".into(), warm(&path)?.into());
        }
        Setup::Copy(template) => {
            remove(&path)?;
            copy_dir(&dirs.data.join("template").join(template), &path)?;
            if implementation == OURS_DV {
                let location = text(&path)?.to_string();
                let on = [(
                    "delta.enableDeletionVectors".to_string(),
                    "true".to_string(),
                )];
                runtime()?
                    .block_on(async {
                        Table::open(&location)
                            .await?
                            .set_properties(on.into_iter().collect())
                            .await
                    })
                    .map_err(|e| format!("enabling deletion vectors on {location}: {e}"))?;
            }
            out.insert("warmed_bytes".into(), warm(&path)?.into());
        }
    }
    if workload.id == "W4" {
        // the expected sum, from the input the template was written from
        let (_, batches) = read_parquet(&dirs.input("base.parquet"))?;
        let (sum, count) = sum_value(&batches)?;
        out.insert("sum_value".into(), sum.into());
        out.insert("count".into(), count.into());
    }
    Ok(out)
}

/// sum(value) and count(*) of batches with a `value` double column.
fn sum_value(batches: &[RecordBatch]) -> Result<(f64, u64), String> {
    let mut sum = 0.0;
    let mut count = 0u64;
    for batch in batches {
        count += batch.num_rows() as u64;
        let column = batch
            .column_by_name("value")
            .ok_or("no column 'value' in the scan")?;
        let values = column
            .as_any()
            .downcast_ref::<Float64Array>()
            .ok_or_else(|| format!("column 'value' is {}, not double", column.data_type()))?;
        sum += arrow::compute::sum(values).unwrap_or(0.0);
    }
    Ok((sum, count))
}

/// The measured region: memory before, the clock, memory after.
struct Clock {
    rss_before: Option<f64>,
    load_peak: Option<f64>,
    reset: bool,
    start: Instant,
}

impl Clock {
    fn start() -> Clock {
        let load_peak = mem::status_mib("VmHWM");
        let rss_before = mem::status_mib("VmRSS");
        let reset = mem::reset_hwm();
        Clock {
            rss_before,
            load_peak,
            reset,
            start: Instant::now(),
        }
    }

    fn stop(self, result: &mut RunResult) {
        result.seconds = self.start.elapsed().as_secs_f64();
        result.rss_before_mib = self.rss_before;
        result.load_peak_rss_mib = self.load_peak;
        result.op_peak_rss_mib = if self.reset {
            mem::status_mib("VmHWM")
        } else {
            None
        };
    }
}

/// One measured run of a workload.
pub fn run(
    dirs: &Dirs,
    manifest: &Manifest,
    workload: &Workload,
    implementation: &str,
) -> Result<RunResult, String> {
    let path = dirs.table(workload, implementation);
    let rt = runtime()?;
    let mut result = match (workload.id, implementation == ARROW) {
        ("W1", false) => w1(&rt, dirs, &path)?,
        ("W1", true) => w1_arrow(dirs, &path)?,
        ("W2", false) => w2(&rt, dirs, manifest, &path)?,
        ("W2", true) => w2_arrow(dirs, manifest, &path)?,
        ("W3" | "W3b", false) => snapshot_load(&rt, &path, None)?,
        ("W6", false) => snapshot_load(&rt, &path, Some(manifest.w6_version))?,
        ("W4", false) => w4(&rt, &path)?,
        ("W5", false) => w5(&rt, manifest, &path)?,
        ("W11", false) => w11(dirs, manifest, workload, implementation, &path)?,
        ("W8" | "W9", false) => dml(&rt, manifest, workload, &path)?,
        ("W7", false) => w7(&rt, dirs, &path)?,
        ("W10", false) => w10(&rt, manifest, &path)?,
        ("Q1", false) => q1(&rt, &path)?,
        (id, _) => return Err(format!("{id} ({implementation}): not implemented yet")),
    };
    // W11's workers report their own peaks: the record has the largest
    let own = mem::status_mib("VmHWM");
    result.exit_hwm_mib = match (own, result.exit_hwm_mib) {
        (Some(a), Some(b)) => Some(a.max(b)),
        (a, b) => a.or(b),
    };
    Ok(result)
}

/// W1: one append of base.parquet into a new table.
fn w1(rt: &Runtime, dirs: &Dirs, path: &Path) -> Result<RunResult, String> {
    let (schema, batches) = read_parquet(&dirs.input("base.parquet"))?;
    let location = text(path)?;
    let mut result = RunResult::default();
    let clock = Clock::start();
    let outcome = rt
        .block_on(async {
            let table = Table::at(location)?;
            let stream = futures::stream::iter(batches.iter().cloned().map(Ok));
            table.write(schema, stream, WriteOptions::default()).await
        })
        .map_err(|e| format!("W1 append: {e}"))?;
    clock.stop(&mut result);
    let files = outcome.snapshot.files();
    result.rows = Some(batches.iter().map(|b| b.num_rows() as u64).sum());
    result.extra = json_map(json!({
        "files_written": files.len(),
        "bytes_written": files.iter().map(|a| a.size()).sum::<i64>(),
        "rows_in_stats": rows_in_stats(&outcome.snapshot),
        "version": outcome.version,
        "input_batches": batches.len(),
    }));
    Ok(result)
}

/// The sum of `numRecords` over the files of a snapshot.
fn rows_in_stats(snapshot: &Snapshot) -> Option<u64> {
    snapshot
        .files()
        .iter()
        .map(|a| {
            let stats: Value = serde_json::from_str(a.stats()?).ok()?;
            stats.get("numRecords")?.as_u64()
        })
        .sum()
}

/// The writer properties of the arrow-rs reference: those of our writer's
/// defaults (snappy, the same row group limits).
fn arrow_properties() -> WriterProperties {
    WriterProperties::builder()
        .set_compression(Compression::SNAPPY)
        .set_max_row_group_row_count(Some(DEFAULT_MAX_ROW_GROUP_ROWS))
        .set_max_row_group_bytes(Some(DEFAULT_MAX_ROW_GROUP_BYTES))
        .build()
}

/// Writes `batches` as one Parquet file with arrow-rs's `ArrowWriter`.
fn write_arrow(path: &Path, schema: &SchemaRef, batches: &[RecordBatch]) -> Result<u64, String> {
    let what = |e: &dyn std::fmt::Display| format!("{}: {e}", path.display());
    let file = File::create(path).map_err(|e| what(&e))?;
    let mut writer = ArrowWriter::try_new(file, Arc::clone(schema), Some(arrow_properties()))
        .map_err(|e| what(&e))?;
    for batch in batches {
        writer.write(batch).map_err(|e| what(&e))?;
    }
    writer.close().map_err(|e| what(&e))?;
    Ok(std::fs::metadata(path).map_err(|e| what(&e))?.len())
}

fn arrow_extra(files: usize, bytes: u64) -> Map<String, Value> {
    json_map(json!({
        "files_written": files,
        "bytes_written": bytes,
        "writer": "parquet::arrow::ArrowWriter to a local file, snappy, \
                   row groups <= 1Mi rows / 64 MiB (our writer's defaults); no Delta log",
    }))
}

/// W1 reference: base.parquet written as one Parquet file by arrow-rs alone.
fn w1_arrow(dirs: &Dirs, dir: &Path) -> Result<RunResult, String> {
    let (schema, batches) = read_parquet(&dirs.input("base.parquet"))?;
    let path = dir.join("part-00000.snappy.parquet");
    let mut result = RunResult::default();
    let clock = Clock::start();
    std::fs::create_dir_all(dir).map_err(|e| format!("{}: {e}", dir.display()))?;
    let bytes = write_arrow(&path, &schema, &batches)?;
    clock.stop(&mut result);
    result.rows = Some(batches.iter().map(|b| b.num_rows() as u64).sum());
    result.extra = arrow_extra(1, bytes);
    Ok(result)
}

/// The W2 commits: commits.parquet in slices of `batch_rows`, as many as the
/// manifest says.
fn commit_batches(
    dirs: &Dirs,
    manifest: &Manifest,
) -> Result<(SchemaRef, Vec<RecordBatch>), String> {
    let (schema, batches) = read_parquet(&dirs.input("commits.parquet"))?;
    let all = concat_batches(&schema, &batches).map_err(|e| e.to_string())?;
    let rows = usize::try_from(manifest.batch_rows).map_err(|e| e.to_string())?;
    let commits = usize::try_from(manifest.c2).map_err(|e| e.to_string())?;
    if all.num_rows() < rows * commits {
        return Err(format!(
            "commits.parquet has {} rows, the manifest asks for {commits} x {rows}",
            all.num_rows()
        ));
    }
    let slices = (0..commits).map(|i| all.slice(i * rows, rows)).collect();
    Ok((schema, slices))
}

/// W2: `c2` appends of 1000 rows through one open table.
fn w2(rt: &Runtime, dirs: &Dirs, manifest: &Manifest, path: &Path) -> Result<RunResult, String> {
    let (schema, batches) = commit_batches(dirs, manifest)?;
    let location = text(path)?;
    let mut result = RunResult::default();
    let clock = Clock::start();
    let (version, checkpoint_errors) = rt
        .block_on(async {
            let table = Table::open(location).await?;
            let mut version = 0;
            let mut checkpoint_errors = Vec::new();
            for batch in &batches {
                let stream = futures::stream::iter([Ok(batch.clone())]);
                let outcome = table
                    .write(Arc::clone(&schema), stream, WriteOptions::default())
                    .await?;
                version = outcome.version;
                if let Some(Err(e)) = outcome.checkpoint {
                    checkpoint_errors.push(e);
                }
            }
            Ok::<_, delta_txn::TxnError>((version, checkpoint_errors))
        })
        .map_err(|e| format!("W2 append: {e}"))?;
    clock.stop(&mut result);
    result.rows = Some(batches.iter().map(|b| b.num_rows() as u64).sum());
    result.extra = json_map(json!({
        "commits": batches.len(),
        "final_version": version,
        "checkpoints": checkpoints(path),
        "checkpoint_interval": DEFAULT_CHECKPOINT_INTERVAL,
        "checkpoint_note": format!(
            "ours: delta.checkpointInterval default {DEFAULT_CHECKPOINT_INTERVAL} \
             (checkpoint at every multiple of it); delta-rs: 100 (at v99, v199, ...)"
        ),
        "checkpoint_errors": checkpoint_errors,
    }));
    Ok(result)
}

/// Versions of the classic checkpoints in a table's log, as strings (as
/// bench_deltars.py lists them).
fn checkpoints(table: &Path) -> Vec<String> {
    let mut versions: Vec<(u64, String)> = std::fs::read_dir(table.join("_delta_log"))
        .into_iter()
        .flatten()
        .flatten()
        .filter_map(|e| {
            let name = e.file_name().to_str()?.to_string();
            let version = name
                .strip_suffix(".checkpoint.parquet")?
                .parse::<u64>()
                .ok()?;
            Some((version, version.to_string()))
        })
        .collect();
    versions.sort();
    versions.into_iter().map(|(_, v)| v).collect()
}

/// W2 reference: the same slices, each written as its own Parquet file by
/// arrow-rs alone.
fn w2_arrow(dirs: &Dirs, manifest: &Manifest, dir: &Path) -> Result<RunResult, String> {
    let (schema, batches) = commit_batches(dirs, manifest)?;
    let paths: Vec<PathBuf> = (0..batches.len())
        .map(|i| dir.join(format!("part-{i:05}.snappy.parquet")))
        .collect();
    let mut result = RunResult::default();
    let clock = Clock::start();
    let mut bytes = 0;
    for (path, batch) in paths.iter().zip(&batches) {
        bytes += write_arrow(path, &schema, std::slice::from_ref(batch))?;
    }
    clock.stop(&mut result);
    result.rows = Some(batches.iter().map(|b| b.num_rows() as u64).sum());
    result.extra = arrow_extra(batches.len(), bytes);
    Ok(result)
}

/// W3, W3b, W6: open the table (at a version), count the active files.
fn snapshot_load(rt: &Runtime, path: &Path, version: Option<u64>) -> Result<RunResult, String> {
    let location = text(path)?;
    let mut result = RunResult::default();
    let clock = Clock::start();
    let (files, version) = rt
        .block_on(async {
            let table = Table::open(location).await?;
            let snapshot = match version {
                Some(v) => table.snapshot_at(v).await?,
                None => table.snapshot().await?,
            };
            Ok::<_, delta_txn::TxnError>((snapshot.files().len(), snapshot.version()))
        })
        .map_err(|e| format!("loading the snapshot of {location}: {e}"))?;
    clock.stop(&mut result);
    result.extra = json_map(json!({ "active_files": files, "version": version }));
    Ok(result)
}

/// W5: the rows of template/sorted50 with `w5_lo <= id <= w5_hi`, read
/// with data skipping; `files_read` is the files the scan opens (counted
/// after the clock).
fn w5(rt: &Runtime, manifest: &Manifest, path: &Path) -> Result<RunResult, String> {
    let location = text(path)?;
    let text = format!("id >= {} AND id <= {}", manifest.w5_lo, manifest.w5_hi);
    let predicate = delta_expr::parse(&text).map_err(|e| e.to_string())?;
    let mut result = RunResult::default();
    let clock = Clock::start();
    let (batches, scan) = rt
        .block_on(async {
            let table = Table::open(location).await?;
            let snapshot = table.snapshot().await?;
            let scan = snapshot.scan().with_predicate(predicate);
            let batches = scan.collect().await?;
            Ok::<_, delta_txn::TxnError>((batches, scan))
        })
        .map_err(|e| format!("scanning {location} where {text}: {e}"))?;
    let (sum, count) = sum_value(&batches)?;
    clock.stop(&mut result);
    let report = scan.skip_report().map_err(|e| e.to_string())?;
    result.rows = Some(count);
    result.files_read = Some(report.read as u64);
    result.extra = json_map(json!({
        "total_files": report.considered,
        "sum_value": sum,
        "predicate": text,
    }));
    Ok(result)
}

/// W4: every row of template/base into Arrow, then sum(value) and count(*).
fn w4(rt: &Runtime, path: &Path) -> Result<RunResult, String> {
    let location = text(path)?;
    let mut result = RunResult::default();
    let clock = Clock::start();
    let (batches, files) = rt
        .block_on(async {
            let table = Table::open(location).await?;
            let snapshot = table.snapshot().await?;
            let batches = snapshot.scan().collect().await?;
            Ok::<_, delta_txn::TxnError>((batches, snapshot.files().len()))
        })
        .map_err(|e| format!("scanning {location}: {e}"))?;
    let (sum, count) = sum_value(&batches)?;
    clock.stop(&mut result);
    result.rows = Some(count);
    result.files_read = Some(files as u64);
    result.extra = json_map(json!({ "sum_value": sum, "count": count, "batches": batches.len() }));
    drop(batches);
    Ok(result)
}

/// Q1's statement (the delta-rs side runs the same file).
pub const Q1_SQL: &str = include_str!("q1.sql");

/// Q1: a TPC-H Q1-like filtered aggregation over template/base, as SQL
/// through DataFusion and our table provider.
fn q1(rt: &Runtime, path: &Path) -> Result<RunResult, String> {
    use delta_datafusion::DeltaTableProvider;
    use delta_datafusion::datafusion::prelude::SessionContext;
    let location = text(path)?;
    let mut result = RunResult::default();
    let clock = Clock::start();
    let batches = rt
        .block_on(async {
            let table = Table::open(location).await.map_err(|e| e.to_string())?;
            let provider = DeltaTableProvider::latest(table)
                .await
                .map_err(|e| e.to_string())?;
            let ctx = SessionContext::new();
            ctx.register_table("t", std::sync::Arc::new(provider))
                .map_err(|e| e.to_string())?;
            let frame = ctx.sql(Q1_SQL).await.map_err(|e| e.to_string())?;
            frame.collect().await.map_err(|e| e.to_string())
        })
        .map_err(|e| format!("Q1 on {location}: {e}"))?;
    clock.stop(&mut result);
    let (groups, count, sum) = q1_totals(&batches)?;
    result.rows = Some(groups);
    result.extra = json_map(json!({ "count": count, "sum_value": sum }));
    Ok(result)
}

/// The groups of Q1's result, its total count and total sum(value) (what
/// both implementations must agree on).
fn q1_totals(batches: &[RecordBatch]) -> Result<(u64, u64, f64), String> {
    let (mut groups, mut count, mut sum) = (0u64, 0u64, 0.0);
    for batch in batches {
        groups += batch.num_rows() as u64;
        let n = batch
            .column_by_name("n")
            .and_then(|c| c.as_any().downcast_ref::<arrow::array::Int64Array>())
            .ok_or("Q1: no count column 'n'")?;
        count += n.values().iter().map(|&v| v as u64).sum::<u64>();
        let s = batch
            .column_by_name("sum_value")
            .and_then(|c| c.as_any().downcast_ref::<Float64Array>())
            .ok_or("Q1: no double column 'sum_value'")?;
        sum += s.values().iter().sum::<f64>();
    }
    Ok((groups, count, sum))
}

fn json_map(value: Value) -> Map<String, Value> {
    match value {
        Value::Object(map) => map,
        _ => Map::new(),
    }
}

/// W8 (DELETE of two categories) and W9 (UPDATE of one category's value).
fn dml(
    rt: &Runtime,
    manifest: &Manifest,
    workload: &Workload,
    path: &Path,
) -> Result<RunResult, String> {
    let location = text(path)?;
    let mut result = RunResult::default();
    let clock = Clock::start();
    let outcome = rt
        .block_on(async {
            let table = Table::open(location).await?;
            if workload.id == "W8" {
                let categories: Vec<String> = manifest
                    .w8_categories
                    .iter()
                    .map(|c| format!("'{c}'"))
                    .collect();
                let predicate =
                    delta_expr::parse(&format!("category IN ({})", categories.join(", ")))?;
                delta_merge::delete(&table, Some(&predicate)).await
            } else {
                let predicate =
                    delta_expr::parse(&format!("category = '{}'", manifest.w9_category))?;
                let set = vec![("value".to_string(), delta_expr::parse("value * 2")?)];
                delta_merge::update(&table, Some(&predicate), &set).await
            }
        })
        .map_err(|e| format!("{}: {e}", workload.id))?;
    clock.stop(&mut result);
    let metric = |k: &str| outcome.metrics.get(k).copied();
    result.rows = metric(if workload.id == "W8" {
        "numDeletedRows"
    } else {
        "numUpdatedRows"
    });
    result.extra = json_map(json!({
        "num_added_files": metric("numAddedFiles"),
        "num_removed_files": metric("numRemovedFiles"),
        "num_copied_rows": metric("numCopiedRows"),
        "num_deletion_vectors_added": metric("numDeletionVectorsAdded"),
        "version": outcome.version,
    }));
    Ok(result)
}

/// W10: OPTIMIZE (bin-packing) of a copy of small200 toward the
/// manifest's target size.
fn w10(rt: &Runtime, manifest: &Manifest, path: &Path) -> Result<RunResult, String> {
    let location = text(path)?;
    let mut result = RunResult::default();
    let clock = Clock::start();
    let outcome = rt
        .block_on(async {
            let table = Table::open(location).await?;
            let options = delta_optimize::OptimizeOptions {
                target_size: Some(manifest.w10_target_size),
                ..Default::default()
            };
            delta_optimize::optimize(&table, options, &delta_txn::progress::NoProgress).await
        })
        .map_err(|e| format!("W10: {e}"))?;
    clock.stop(&mut result);
    result.rows = Some(manifest.n);
    result.extra = json_map(json!({
        "numFilesAdded": outcome.metrics.num_files_added,
        "numFilesRemoved": outcome.metrics.num_files_removed,
        "version": outcome.version,
    }));
    Ok(result)
}

/// W7: MERGE merge_source (preloaded) into a copy of base on id: matched
/// rows updated with every column, the others inserted.
fn w7(rt: &Runtime, dirs: &Dirs, path: &Path) -> Result<RunResult, String> {
    use delta_merge::{Clause, Merge};
    let (schema, batches) = read_parquet(&dirs.input("merge_source.parquet"))?;
    let rows: u64 = batches.iter().map(|b| b.num_rows() as u64).sum();
    let location = text(path)?;
    let on = delta_expr::parse("t.id = s.id").map_err(|e| e.to_string())?;
    let statement = Merge::new(schema, batches, on)
        .with_aliases("t", "s")
        .when(Clause::MatchedUpdateAll { condition: None })
        .when(Clause::NotMatchedInsertAll { condition: None });
    let mut result = RunResult::default();
    let clock = Clock::start();
    let outcome = rt
        .block_on(async {
            let table = Table::open(location).await?;
            delta_merge::merge(&table, statement).await
        })
        .map_err(|e| format!("W7: {e}"))?;
    clock.stop(&mut result);
    let metric = |k: &str| outcome.metrics.get(k).copied();
    result.rows = Some(rows);
    result.extra = json_map(json!({
        "num_target_rows_updated": metric("numTargetRowsUpdated"),
        "num_target_rows_inserted": metric("numTargetRowsInserted"),
        "num_target_files_added": metric("numTargetFilesAdded"),
        "num_target_files_removed": metric("numTargetFilesRemoved"),
        "version": outcome.version,
    }));
    Ok(result)
}
