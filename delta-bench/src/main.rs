//! `delta-bench`: the workloads of BENCHMARKS.md against our
//! implementation, one workload per process, for `cargo xtask bench`.
//!
//! ```text
//! delta-bench suite --data DATA --work SCRATCH [--out results.jsonl] [--only W1,W4] [--repeat N]
//! delta-bench report results.jsonl [more.jsonl ...]
//! ```
//!
//! `suite` runs, for each repeat and workload, a setup process (creates or
//! removes the table, reads the template once to warm the page cache), then a
//! fresh measured process (`child`), and appends one JSON line per run to
//! `--out` (and stdout). W1 and W2 also get a reference line, impl
//! `arrow-rs`: the same rows written as Parquet by arrow-rs's `ArrowWriter`
//! alone. A workload `spec.rs` marks not implemented (none today) gets one
//! `ok: false` line with `error: "not implemented yet"`, which the ratio
//! table leaves out. `report` prints the ratio table, then our notes.

/// The allocator of our binaries (as in `delta`): it keeps freed memory for
/// reuse, where the system allocator returns large blocks and takes page
/// faults on the next ones.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

mod chart;
mod child;
mod mem;
mod publish;
mod report;
mod spec;
mod suite;

use std::io::Write;
use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;

use clap::{Parser, Subcommand};
use spec::{Dirs, Manifest};

#[derive(Parser)]
#[command(
    name = "delta-bench",
    about = "BENCHMARKS.md workloads against our Delta implementation"
)]
struct Cli {
    #[command(subcommand)]
    command: Cmd,
}

#[derive(Subcommand)]
enum Cmd {
    /// Runs the workloads, one fresh process each, appending JSON lines.
    Suite {
        /// Data written by bench_data.py (inputs, templates, manifest.json).
        #[arg(long)]
        data: PathBuf,
        /// Scratch directory for the tables the workloads write.
        #[arg(long)]
        work: PathBuf,
        /// Append the JSON lines here (they are printed to stdout too).
        #[arg(long)]
        out: Option<PathBuf>,
        /// Comma-separated workloads, e.g. W1,W4 (default: all).
        #[arg(long, value_delimiter = ',')]
        only: Vec<String>,
        /// Runs of each workload.
        #[arg(long, default_value_t = 1)]
        repeat: u32,
        /// Limit of each process, in seconds.
        #[arg(long, default_value_t = 900)]
        timeout: u64,
        /// Keep the tables written in --work.
        #[arg(long)]
        keep: bool,
        /// Skip the arrow-rs reference lines of W1 and W2.
        #[arg(long)]
        no_arrow: bool,
        /// Refuse data of another scale than this (small or full).
        #[arg(long)]
        scale: Option<String>,
    },
    /// Prints the side-by-side table (and our notes) of results files.
    Report {
        /// JSON-lines files.
        #[arg(required = true)]
        files: Vec<PathBuf>,
        /// Also draw the ratio chart of --scale into this SVG file.
        #[arg(long)]
        chart: Option<PathBuf>,
        /// Rewrite the results section of this Markdown file (BENCHMARKS.md)
        /// with --scale's results; needs --chart.
        #[arg(long, requires = "chart")]
        publish: Option<PathBuf>,
        /// The scale to chart and publish (default: the only one in the files).
        #[arg(long)]
        scale: Option<String>,
    },
    /// One phase of one workload (what `suite` starts).
    #[command(hide = true)]
    Child {
        #[arg(long)]
        workload: String,
        #[arg(long)]
        phase: String,
        #[arg(long = "impl")]
        implementation: String,
        #[arg(long)]
        data: PathBuf,
        #[arg(long)]
        work: PathBuf,
        /// W11: which worker this process is (phase `worker`).
        #[arg(long)]
        worker: Option<u64>,
    },
}

fn main() -> ExitCode {
    match run(Cli::parse().command) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("delta-bench: {e}");
            ExitCode::FAILURE
        }
    }
}

fn absolute(path: PathBuf) -> Result<PathBuf, String> {
    std::path::absolute(&path).map_err(|e| format!("{}: {e}", path.display()))
}

fn run(command: Cmd) -> Result<(), String> {
    match command {
        Cmd::Suite {
            data,
            work,
            out,
            only,
            repeat,
            timeout,
            keep,
            no_arrow,
            scale,
        } => suite::run_suite(&suite::SuiteOptions {
            dirs: Dirs {
                data: absolute(data)?,
                work: absolute(work)?,
            },
            out,
            only,
            repeat,
            timeout: Duration::from_secs(timeout),
            keep,
            arrow: !no_arrow,
            scale,
        }),
        Cmd::Report {
            files,
            chart,
            publish,
            scale,
        } => {
            let records = report::read_records(&files)?;
            let text = report::report(&records);
            // a closed stdout (`| head`) ends quietly
            let _ = std::io::stdout().lock().write_all(text.as_bytes());
            let Some(chart) = chart else {
                return Ok(());
            };
            let scale = match scale {
                Some(scale) => scale,
                None => match report::scales(&records).as_slice() {
                    [only] => only.clone(),
                    scales => {
                        return Err(format!(
                            "the files hold results of {} scales: say which with --scale",
                            scales.len()
                        ));
                    }
                },
            };
            match publish {
                Some(markdown) => {
                    publish::publish(&records, &scale, &markdown, &chart)?;
                    eprintln!("delta-bench: results written into {}", markdown.display());
                }
                None => {
                    let rows = report::rows(&records, &scale);
                    std::fs::write(&chart, chart::svg(&rows, &chart::title(&scale)))
                        .map_err(|e| format!("cannot write {}: {e}", chart.display()))?;
                }
            }
            eprintln!("delta-bench: ratio chart in {}", chart.display());
            Ok(())
        }
        Cmd::Child {
            workload,
            phase,
            implementation,
            data,
            work,
            worker,
        } => {
            let dirs = Dirs { data, work };
            let workload =
                spec::workload(&workload).ok_or_else(|| format!("unknown workload {workload}"))?;
            match phase.as_str() {
                "setup" => {
                    let out = child::setup(&dirs, workload, &implementation)?;
                    println!("SETUP {}", serde_json::Value::Object(out));
                }
                "run" => {
                    let manifest = Manifest::read(&dirs.data)?;
                    let result = child::run(&dirs, &manifest, workload, &implementation)?;
                    let line = serde_json::to_string(&result).map_err(|e| e.to_string())?;
                    println!("RESULT {line}");
                }
                "worker" => {
                    let manifest = Manifest::read(&dirs.data)?;
                    let index = worker.ok_or("phase worker needs --worker")?;
                    child::w11_worker(&dirs, &manifest, workload, index)?;
                }
                other => return Err(format!("unknown phase {other}")),
            }
            Ok(())
        }
    }
}
