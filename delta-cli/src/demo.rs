//! `delta demo`: the whole story on a fresh table ([`crate::story`]), or a
//! read-only tour of a table: its description, history, content now and at
//! version 0 (time travel), a consistency check and a SQL query.

use std::io::Write;
use std::path::PathBuf;

use delta::txn::Table;

use crate::cat::pretty_rows;
use crate::cli::DemoArgs;
use crate::describe::{Description, schema_tree};
use crate::history::history_table;
use crate::output::{CliResult, Output, error_text, rfc3339};

/// Rows shown per version.
pub const DEMO_MAX_ROWS: usize = 50;

/// Runs `delta demo`: the story on a fresh table, or a read-only tour of
/// the table given.
pub async fn run(args: &DemoArgs) -> CliResult<()> {
    match (&args.table, args.write) {
        (None, _) => story_in_temp_dir(args.keep).await,
        (Some(table), true) => {
            if table.contains("://") {
                return Err(format!(
                    "the story deletes a data file to show a repair, so it runs on a local path only (like /tmp/story), not {table}"
                )
                .into());
            }
            let dir = PathBuf::from(table);
            crate::story::run(table, &dir).await?;
            println!("\nThe table is at {table}: try `delta history {table}`.");
            Ok(())
        }
        (Some(table), false) => tour(table).await,
    }
}

/// The story on a table in a new temporary directory, deleted at the end
/// unless `keep`.
async fn story_in_temp_dir(keep: bool) -> CliResult<()> {
    let dir = std::env::temp_dir().join(format!("delta-demo-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    let location = dir
        .to_str()
        .ok_or("the temporary directory's path is not UTF-8")?;
    let told = crate::story::run(location, &dir).await;
    if keep {
        println!("\nThe table is kept at {location}: try `delta history {location}`.");
    } else {
        let _ = std::fs::remove_dir_all(&dir);
    }
    told
}

/// The read-only tour of the table at `location`.
async fn tour(location: &str) -> CliResult<()> {
    let table = Table::open(location).await?;
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
