//! The command line: clap definitions of the commands and their flags.

use std::path::PathBuf;

use chrono::{DateTime, FixedOffset};
use clap::{Args, Parser, Subcommand, ValueEnum};

/// Where `delta demo` looks when no directory is given: the example table of the workspace.
pub const DEFAULT_DEMO_TABLE: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/../examples/people");

/// `delta`: read Delta Lake tables from the command line.
///
/// TABLE is a path or URL (/data/t, file:///data/t, s3://bucket/t, az://container/t,
/// gs://bucket/t). Exit status: 0 success, 1 an error (message on stderr),
/// 2 bad command-line usage.
#[derive(Debug, Parser)]
#[command(name = "delta", version, about, long_about)]
pub struct Cli {
    /// The command to run.
    #[command(subcommand)]
    pub command: Command,
}

/// The commands.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Print the rows of a table (or of one version of it).
    Cat(CatArgs),
    /// Describe a table: version, protocol, features, schema, partitioning,
    /// properties, constraints, number of files, rows and bytes.
    Describe(DescribeArgs),
    /// Print the commits of a table, newest first.
    History(HistoryArgs),
    /// Read and print a small Delta table: its description, history, latest
    /// content and its content at version 0 (time travel).
    Demo(DemoArgs),
}

/// Output formats of `delta cat`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Format {
    /// An aligned text table (reads all selected rows before printing).
    Table,
    /// CSV with a header row.
    Csv,
    /// Newline-delimited JSON: one object per row, nulls written as null.
    Json,
    /// One Parquet file with the scan's Arrow schema (requires --out).
    Parquet,
}

/// Flags of `delta cat`.
#[derive(Debug, Args)]
pub struct CatArgs {
    /// The table: a path or URL.
    pub table: String,

    /// Read this version of the table (time travel).
    #[arg(long, value_name = "N", conflicts_with = "timestamp")]
    pub version: Option<u64>,

    /// Read the latest version committed at or before this time, an RFC 3339
    /// timestamp such as 2024-01-31T12:00:00Z.
    #[arg(long, value_name = "RFC3339", value_parser = parse_rfc3339)]
    pub timestamp: Option<DateTime<FixedOffset>>,

    /// Only rows matching this predicate. Not supported yet: predicates arrive
    /// with SQL expressions; giving it fails with exit status 1.
    #[arg(long = "where", value_name = "PRED")]
    pub where_: Option<String>,

    /// Only these columns, in this order (comma separated).
    #[arg(long, value_name = "a,b", value_delimiter = ',')]
    pub columns: Option<Vec<String>>,

    /// Output format. `parquet` requires --out (exit status 2 without it).
    #[arg(long, value_enum, default_value_t = Format::Table)]
    pub format: Format,

    /// Write to this file instead of standard output (any format).
    #[arg(long, value_name = "FILE", required_if_eq("format", "parquet"))]
    pub out: Option<PathBuf>,

    /// Stop after this many rows.
    #[arg(long, value_name = "N")]
    pub limit: Option<usize>,
}

/// Flags of `delta describe`.
#[derive(Debug, Args)]
pub struct DescribeArgs {
    /// The table: a path or URL.
    pub table: String,

    /// Describe this version instead of the latest.
    #[arg(long, value_name = "N")]
    pub version: Option<u64>,

    /// Print one JSON object (snake_case keys: table, version, timestamp,
    /// timestamp_ms, id, name, description, protocol, table_features,
    /// column_mapping_mode, schema (Delta schema JSON), partition_columns,
    /// properties, constraints, num_files, num_rows (null when unknown),
    /// num_bytes).
    #[arg(long)]
    pub json: bool,
}

/// Flags of `delta history`.
#[derive(Debug, Args)]
pub struct HistoryArgs {
    /// The table: a path or URL.
    pub table: String,

    /// Only the newest N commits.
    #[arg(long, value_name = "N")]
    pub limit: Option<usize>,

    /// Print newline-delimited JSON, one object per commit, newest first, with
    /// keys version, timestamp (RFC 3339), timestamp_ms, operation,
    /// operation_parameters and operation_metrics (objects, or null when the
    /// commit has no commitInfo).
    #[arg(long)]
    pub json: bool,
}

/// Flags of `delta demo`.
#[derive(Debug, Args)]
pub struct DemoArgs {
    /// The table to show: a path or URL [default: the workspace's examples/people]
    pub table: Option<String>,
}

/// Parses an RFC 3339 timestamp for `--timestamp`.
fn parse_rfc3339(text: &str) -> Result<DateTime<FixedOffset>, String> {
    DateTime::parse_from_rfc3339(text).map_err(|e| {
        format!("'{text}' is not an RFC 3339 timestamp (like 2024-01-31T12:00:00Z): {e}")
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::CommandFactory;

    #[test]
    fn cli_definition_is_valid() {
        Cli::command().debug_assert();
    }
}
