//! `delta demo`: read and print a small Delta table, with time travel, a
//! consistency check and a SQL query through DataFusion.

use std::io::Write;
use std::path::{Component, Path, PathBuf};

use delta::txn::Table;

use crate::cat::pretty_rows;
use crate::cli::{DEFAULT_DEMO_TABLE, DemoArgs};
use crate::describe::{Description, schema_tree};
use crate::history::history_table;
use crate::output::{CliResult, Context, Output, error_text, rfc3339};

/// Rows shown per version.
pub const DEMO_MAX_ROWS: usize = 50;

/// Runs `delta demo`.
pub async fn run(args: &DemoArgs) -> CliResult<()> {
    let default = lexically_normal(Path::new(DEFAULT_DEMO_TABLE));
    let location = match &args.table {
        Some(table) => table.as_str(),
        None => default.to_str().unwrap_or(DEFAULT_DEMO_TABLE),
    };
    let table = match Table::open(location).await {
        Ok(table) => table,
        Err(e) if args.table.is_none() => {
            return Err(
                Context::new("the demo table is not there (give one: delta demo DIR)", e).into(),
            );
        }
        Err(e) => return Err(e.into()),
    };
    let mut out = Output::stdout();

    let latest = table.snapshot().await?;
    let d = Description::of(location, &latest);
    writeln!(out, "== Table {location} ==")?;
    writeln!(out, "version:           {}", d.version)?;
    writeln!(out, "timestamp:         {}", rfc3339(d.timestamp_ms))?;
    writeln!(
        out,
        "partition columns: {}",
        if d.partition_columns.is_empty() {
            "(none)".to_string()
        } else {
            d.partition_columns.join(", ")
        }
    )?;
    writeln!(out, "files:             {}", d.num_files)?;
    writeln!(
        out,
        "rows:              {}",
        d.num_rows
            .map_or_else(|| "unknown".to_string(), |n| n.to_string())
    )?;
    writeln!(out, "schema:")?;
    write!(out, "{}", schema_tree(&d.schema))?;

    writeln!(out, "\n== History (newest first) ==")?;
    writeln!(out, "{}", history_table(&table.history(None).await?)?)?;

    writeln!(
        out,
        "\n== Content at version {} (latest) ==",
        latest.version()
    )?;
    print_rows(&mut out, pretty_rows(&latest, DEMO_MAX_ROWS).await?)?;

    writeln!(out, "\n== Content at version 0 (time travel) ==")?;
    // old versions may be gone (log cleaned up, data files vacuumed): say so and end well
    let first = match table.snapshot_at(0).await {
        Ok(first) => pretty_rows(&first, DEMO_MAX_ROWS).await,
        Err(e) => Err(e.into()),
    };
    match first {
        Ok(rows) => print_rows(&mut out, rows)?,
        Err(e) => writeln!(out, "version 0 cannot be read: {}", error_text(e.as_ref()))?,
    }

    writeln!(out, "\n== Consistency check (delta check) ==")?;
    let report = delta::check::check(
        &table,
        &delta::check::CheckOptions::default(),
        &delta::txn::progress::NoProgress,
    )
    .await;
    for finding in &report.findings {
        writeln!(out, "{finding}")?;
    }
    match (report.findings.is_empty(), report.is_clean()) {
        (true, _) => writeln!(out, "no problem found")?,
        (false, true) => writeln!(out, "consistent ({} notes)", report.findings.len())?,
        (false, false) => writeln!(
            out,
            "not consistent: delta check --repair fixes what is safe"
        )?,
    }

    writeln!(out, "\n== SQL through DataFusion (delta sql) ==")?;
    let query = "SELECT count(*) AS row_count FROM t";
    writeln!(out, "{query}")?;
    let ctx = delta::datafusion::datafusion::prelude::SessionContext::new();
    let provider = delta::datafusion::DeltaTableProvider::latest(table.clone()).await?;
    ctx.register_table("t", std::sync::Arc::new(provider))?;
    let batches = ctx.sql(query).await?.collect().await?;
    writeln!(
        out,
        "{}",
        arrow::util::pretty::pretty_format_batches(&batches)?
    )?;
    out.flush()?;
    Ok(())
}

/// Prints rows from [`pretty_rows`].
fn print_rows(out: &mut Output, (table, more): (String, bool)) -> CliResult<()> {
    writeln!(out, "{table}")?;
    if more {
        writeln!(out, "(first {DEMO_MAX_ROWS} rows shown)")?;
    }
    Ok(())
}

/// `path` with `.` and `..` components resolved without touching the file
/// system (the default table path is built from `CARGO_MANIFEST_DIR/..`).
fn lexically_normal(path: &Path) -> PathBuf {
    let mut normal = PathBuf::new();
    for component in path.components() {
        match component {
            Component::CurDir => {}
            Component::ParentDir => {
                if !normal.pop() {
                    normal.push(component);
                }
            }
            other => normal.push(other),
        }
    }
    normal
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn normalizes_parent_components() {
        assert_eq!(
            lexically_normal(Path::new("/a/b/../c/./d")),
            PathBuf::from("/a/c/d")
        );
        assert!(lexically_normal(Path::new(DEFAULT_DEMO_TABLE)).ends_with("examples/people"));
    }
}
