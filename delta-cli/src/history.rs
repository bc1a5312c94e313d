//! `delta history`: the commits of a table, newest first.

use std::io::Write;
use std::sync::Arc;

use arrow::array::{ArrayRef, StringArray, UInt64Array};
use arrow::record_batch::RecordBatch;
use delta::log::CommitEntry;
use delta::txn::Table;
use serde_json::{Map, Value, json};

use crate::cli::HistoryArgs;
use crate::output::{CliResult, Output, rfc3339};

/// Runs `delta history`.
pub async fn run(args: &HistoryArgs) -> CliResult<()> {
    let table = Table::open(&args.table).await?;
    let commits = table.history(args.limit).await?;
    let mut out = Output::stdout();
    if args.json {
        for commit in &commits {
            writeln!(out, "{}", serde_json::to_string(&commit_json(commit))?)?;
        }
    } else {
        writeln!(out, "{}", history_table(&commits)?)?;
    }
    out.flush()?;
    Ok(())
}

/// One commit as the JSON object of `history --json`.
pub fn commit_json(commit: &CommitEntry) -> Value {
    let info = commit.commit_info.as_ref();
    json!({
        "version": commit.version,
        "timestamp": rfc3339(commit.timestamp_ms),
        "timestamp_ms": commit.timestamp_ms,
        "operation": info.and_then(|i| i.operation()),
        "operation_parameters": info.and_then(|i| i.operation_parameters()),
        "operation_metrics": info.and_then(|i| i.operation_metrics()),
    })
}

fn compact(map: Option<&Map<String, Value>>) -> Option<String> {
    map.map(|m| Value::Object(m.clone()).to_string())
}

/// The commits as an aligned text table (empty cells where a commit has no
/// `commitInfo`).
pub fn history_table(commits: &[CommitEntry]) -> CliResult<impl std::fmt::Display + use<>> {
    let infos = || commits.iter().map(|c| c.commit_info.as_ref());
    let columns: Vec<(&str, ArrayRef)> = vec![
        (
            "version",
            Arc::new(UInt64Array::from_iter_values(
                commits.iter().map(|c| c.version),
            )),
        ),
        (
            "timestamp",
            Arc::new(StringArray::from_iter_values(
                commits.iter().map(|c| rfc3339(c.timestamp_ms)),
            )),
        ),
        (
            "operation",
            Arc::new(StringArray::from_iter(
                infos().map(|i| i.and_then(|i| i.operation())),
            )),
        ),
        (
            "operationParameters",
            Arc::new(StringArray::from_iter(
                infos().map(|i| compact(i.and_then(|i| i.operation_parameters()))),
            )),
        ),
        (
            "operationMetrics",
            Arc::new(StringArray::from_iter(
                infos().map(|i| compact(i.and_then(|i| i.operation_metrics()))),
            )),
        ),
    ];
    let batch = RecordBatch::try_from_iter(columns)?;
    Ok(arrow::util::pretty::pretty_format_batches(&[batch])?)
}
