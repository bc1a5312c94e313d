//! The command line: clap definitions of the commands and their flags.

use std::path::PathBuf;

use chrono::{DateTime, FixedOffset};
use clap::{Args, Parser, Subcommand, ValueEnum};

/// `delta`: read, write, change, maintain and check Delta Lake tables, and
/// run SQL over them.
///
/// TABLE is a path or URL (/data/t, file:///data/t, s3://bucket/t, az://container/t,
/// gs://bucket/t). Exit status: 0 success, 1 an error (message on stderr),
/// 2 bad command-line usage, 3 a commit conflict that was not retried away.
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
    #[command(
        after_help = "Examples:\n  delta cat /data/events --where \"day = DATE '2024-06-01'\" --limit 20\n  delta cat s3://bucket/events --version 3 --format csv --out v3.csv\n  delta cat /data/events --timestamp 2024-06-01T10:00:00Z --columns id,day --format json"
    )]
    Cat(CatArgs),
    /// Describe a table: version, protocol, features, schema, partitioning,
    /// properties, constraints, number of files, rows and bytes.
    #[command(
        after_help = "Examples:\n  delta describe /data/events\n  delta describe /data/events --version 3 --json"
    )]
    Describe(DescribeArgs),
    /// Print the commits of a table, newest first.
    #[command(
        after_help = "Examples:\n  delta history /data/events --limit 5\n  delta history /data/events --json"
    )]
    History(HistoryArgs),
    /// Show what Delta tables do: on a fresh table, the whole story (an ACID
    /// write, schema enforcement and evolution, MERGE, time travel and
    /// restore, concurrent writers, compaction and data skipping, a
    /// constraint, check and repair, SQL); given a TABLE, a read-only tour
    /// of it (description, history, content now and at version 0, check, SQL).
    #[command(
        after_help = "Examples:\n  delta demo\n  delta demo --keep\n  delta demo /data/events\n  delta demo /tmp/story --write"
    )]
    Demo(DemoArgs),
    /// Create an empty table with the schema of a file.
    #[command(
        after_help = "Examples:\n  delta create /data/events --schema-from sample.parquet --partition-by day\n  delta create /data/events --schema-from sample.csv --property delta.enableDeletionVectors=true --constraint \"positive_qty=qty > 0\""
    )]
    Create(CreateArgs),
    /// Write files to a table (append or overwrite) as one commit; creates
    /// the table when it does not exist.
    #[command(
        after_help = "Examples:\n  delta write /data/events part-1.parquet part-2.parquet\n  delta write /data/events new.csv --merge-schema\n  delta write /data/events june.ndjson --replace-where \"day >= DATE '2024-06-01'\""
    )]
    Write(WriteArgs),
    /// Write a checkpoint at the latest version.
    #[command(after_help = "Examples:\n  delta checkpoint /data/events")]
    Checkpoint(CheckpointArgs),
    /// Add or drop a CHECK constraint.
    #[command(
        after_help = "Examples:\n  delta constraint add /data/events positive_qty \"qty > 0\"\n  delta constraint drop /data/events positive_qty"
    )]
    Constraint(ConstraintArgs),
    /// Delete the rows where a predicate is true, e.g.
    /// `delta delete t --where "day < DATE '2024-01-01'"`.
    #[command(
        after_help = "Examples:\n  delta delete /data/events --where \"day < DATE '2024-01-01'\""
    )]
    Delete(DeleteArgs),
    /// Set columns on the rows where a predicate is true, e.g.
    /// `delta update t --where "id = 7" --set "score=score + 1"`.
    #[command(
        after_help = "Examples:\n  delta update /data/events --where \"id = 7\" --set \"score=score + 1\" --set \"note='fixed'\""
    )]
    Update(UpdateArgs),
    /// Merge a file into a table (upsert), e.g. `delta merge t --source
    /// new.parquet --on "target.id = source.id" --when-matched-update-all
    /// --when-not-matched-insert-all`. Clauses apply in the order given,
    /// the first that matches a row wins; an `--if COND` belongs to the
    /// clause flag right before it.
    #[command(
        after_help = "Examples:\n  delta merge /data/events --source updates.parquet --on \"target.id = source.id\" --when-matched-update-all --when-not-matched-insert-all\n  delta merge /data/events --source gone.csv --on \"target.id = source.id\" --when-matched-delete --if \"source.deleted\""
    )]
    Merge(MergeArgs),
    /// Compact small files into files of about the target size, e.g.
    /// `delta optimize t --where "day = DATE '2024-01-01'"`; the rows stay
    /// the same.
    #[command(
        after_help = "Examples:\n  delta optimize /data/events\n  delta optimize /data/events --zorder-by user_id,ts --where \"day = DATE '2024-06-01'\""
    )]
    Optimize(OptimizeArgs),
    /// Delete the files no version inside the retention needs, e.g.
    /// `delta vacuum t --dry-run`.
    #[command(
        after_help = "Examples:\n  delta vacuum /data/events --dry-run\n  delta vacuum /data/events --retain-hours 24 --force"
    )]
    Vacuum(VacuumArgs),
    /// Restore the table to an earlier version as a new commit, e.g.
    /// `delta restore t --version 3`.
    #[command(
        after_help = "Examples:\n  delta restore /data/events --version 3\n  delta restore /data/events --timestamp 2024-06-01T10:00:00Z"
    )]
    Restore(RestoreArgs),
    /// Check that the log and the data files agree; exit 1 when a problem
    /// is found, e.g. `delta check t --json`.
    #[command(
        after_help = "Examples:\n  delta check /data/events\n  delta check /data/events --deep --json\n  delta check /data/events --repair --dry-run"
    )]
    Check(CheckArgs),
    /// Run SQL over Delta tables (DataFusion), e.g.
    /// `delta sql "SELECT city, count(*) FROM t GROUP BY city" --table t=/data/t`;
    /// INSERT, DELETE, UPDATE and MERGE commit to the table; `t VERSION AS
    /// OF 3` and `t TIMESTAMP AS OF '2024-05-01 10:00:00'` read an older
    /// version. The dialect is Spark SQL's: names in `backticks`, "..." is
    /// a string, `INTERVAL 1 DAY`.
    #[command(
        after_help = "Examples:\n  delta sql \"SELECT city, count(*) FROM t GROUP BY city\" --table t=/data/t\n  delta sql \"SELECT * FROM t VERSION AS OF 3 LIMIT 10\" --table t=s3://bucket/t"
    )]
    Sql(SqlArgs),
}

/// `delta sql`.
#[derive(Debug, Args)]
pub struct SqlArgs {
    /// The statement.
    pub query: String,

    /// A table the statement names: NAME=TABLE (a path or URL); repeat for
    /// more.
    #[arg(long = "table", value_name = "NAME=TABLE")]
    pub tables: Vec<String>,

    /// Output format. `parquet` requires --out (exit status 2 without it).
    #[arg(long, value_enum, default_value_t = Format::Table)]
    pub format: Format,

    /// Write to this file instead of standard output (any format).
    #[arg(long, value_name = "FILE", required_if_eq("format", "parquet"))]
    pub out: Option<PathBuf>,
}

/// `delta check`.
#[derive(Debug, Args)]
pub struct CheckArgs {
    /// The table.
    pub table: String,
    /// Print one JSON object: the version checked and every finding.
    #[arg(long)]
    pub json: bool,
    /// Also read every data file (footers, statistics, constraints).
    #[arg(long)]
    pub deep: bool,
    /// Repair what can be repaired safely.
    #[arg(long)]
    pub repair: bool,
    /// With --repair: print the plan, change nothing.
    #[arg(long, requires = "repair")]
    pub dry_run: bool,
}

/// `delta restore`.
#[derive(Debug, Args)]
#[command(group(clap::ArgGroup::new("target").required(true).args(["version", "timestamp"])))]
pub struct RestoreArgs {
    /// The table.
    pub table: String,
    /// The version to restore.
    #[arg(long, value_name = "N")]
    pub version: Option<u64>,
    /// Restore the latest version committed at or before this RFC 3339
    /// timestamp such as 2024-01-31T12:00:00Z.
    #[arg(long, value_name = "RFC3339", value_parser = parse_rfc3339)]
    pub timestamp: Option<DateTime<FixedOffset>>,
}

/// `delta vacuum`.
#[derive(Debug, Args)]
pub struct VacuumArgs {
    /// The table.
    pub table: String,
    /// Keep files newer than this many hours (the table's
    /// delta.deletedFileRetentionDuration, 168 by default).
    #[arg(long, value_name = "H")]
    pub retain_hours: Option<u64>,
    /// List what would be deleted; delete nothing.
    #[arg(long)]
    pub dry_run: bool,
    /// Allow a retention shorter than the table's.
    #[arg(long)]
    pub force: bool,
}

/// `delta optimize`.
#[derive(Debug, Args)]
pub struct OptimizeArgs {
    /// The table.
    pub table: String,
    /// The size in bytes to pack files toward (the table's
    /// delta.targetFileSize, else 1 GiB).
    #[arg(long, value_name = "BYTES")]
    pub target_size: Option<u64>,
    /// Cluster the rows by these columns (Z-order).
    #[arg(long, value_name = "c1,c2", value_delimiter = ',')]
    pub zorder_by: Vec<String>,
    /// Only the partitions where this predicate (on partition columns) is true.
    #[arg(long = "where", value_name = "PARTITION_PRED")]
    pub predicate: Option<String>,
}

/// `delta merge`. The clause flags are read in command-line order (see
/// `dml::clauses`); these fields are what clap checks.
#[derive(Debug, Args)]
pub struct MergeArgs {
    /// The target table.
    pub table: String,
    /// The source rows: a Parquet, CSV or JSON-lines file, or another
    /// Delta table (a directory with a _delta_log, or a URL).
    #[arg(long, value_name = "FILE|TABLE")]
    pub source: PathBuf,
    /// How target and source rows match, e.g. "target.id = source.id".
    #[arg(long, value_name = "COND")]
    pub on: String,
    /// Let update-all / insert-all add the source's new columns.
    #[arg(long)]
    pub merge_schema: bool,
    /// Update every column of matched target rows from the source.
    #[arg(long, action = clap::ArgAction::Count)]
    pub when_matched_update_all: u8,
    /// Update these columns of matched target rows: "c1=EXPR,c2=EXPR".
    #[arg(long, value_name = "c1=EXPR,...")]
    pub when_matched_update: Vec<String>,
    /// Delete matched target rows.
    #[arg(long, action = clap::ArgAction::Count)]
    pub when_matched_delete: u8,
    /// Insert source rows no target row matched, every column.
    #[arg(long, action = clap::ArgAction::Count)]
    pub when_not_matched_insert_all: u8,
    /// Insert source rows no target row matched: "c1=EXPR,c2=EXPR".
    #[arg(long, value_name = "c1=EXPR,...")]
    pub when_not_matched_insert: Vec<String>,
    /// Delete target rows no source row matched.
    #[arg(long, action = clap::ArgAction::Count)]
    pub when_not_matched_by_source_delete: u8,
    /// Update target rows no source row matched: "c1=EXPR,c2=EXPR".
    #[arg(long, value_name = "c1=EXPR,...")]
    pub when_not_matched_by_source_update: Vec<String>,
    /// The condition of the clause flag right before it.
    #[arg(long = "if", value_name = "COND")]
    pub conditions: Vec<String>,
}

/// `delta delete`.
#[derive(Debug, Args)]
pub struct DeleteArgs {
    /// The table.
    pub table: String,
    /// Which rows to delete (`--where true` deletes every row).
    #[arg(long = "where", value_name = "PRED")]
    pub predicate: String,
}

/// `delta update`.
#[derive(Debug, Args)]
pub struct UpdateArgs {
    /// The table.
    pub table: String,
    /// Which rows to update.
    #[arg(long = "where", value_name = "PRED")]
    pub predicate: String,
    /// A column and its new value, COL=EXPR (repeatable; expressions see
    /// the row before the update).
    #[arg(long = "set", value_name = "COL=EXPR", required = true, value_parser = parse_key_value)]
    pub set: Vec<(String, String)>,
}

/// `delta constraint`.
#[derive(Debug, Args)]
pub struct ConstraintArgs {
    /// What to do.
    #[command(subcommand)]
    pub action: ConstraintAction,
}

/// `delta constraint add|drop`.
#[derive(Debug, Subcommand)]
pub enum ConstraintAction {
    /// Add a CHECK constraint after checking that every existing row
    /// satisfies it, e.g. `delta constraint add t positive "id > 0"`.
    Add {
        /// The table: a path or URL.
        table: String,
        /// The constraint's name (case-insensitive).
        name: String,
        /// A SQL boolean expression every row must make true.
        expression: String,
    },
    /// Drop a CHECK constraint, e.g. `delta constraint drop t positive`.
    Drop {
        /// The table: a path or URL.
        table: String,
        /// The constraint's name.
        name: String,
    },
}

/// Flags of `delta create`.
#[derive(Debug, Args)]
pub struct CreateArgs {
    /// The table to create: a path or URL.
    pub table: String,

    /// Take the schema from this file (.parquet, .csv with a header, or
    /// .json/.jsonl/.ndjson; CSV and JSON schemas are inferred).
    #[arg(long, value_name = "FILE")]
    pub schema_from: PathBuf,

    /// Partition the table by these columns (comma separated).
    #[arg(long, value_name = "c1,c2", value_delimiter = ',')]
    pub partition_by: Vec<String>,

    /// A table property, such as delta.appendOnly=true (repeatable).
    #[arg(long = "property", value_name = "k=v", value_parser = parse_key_value)]
    pub properties: Vec<(String, String)>,

    /// A CHECK constraint NAME=EXPR, e.g. "positive=id > 0" (repeatable;
    /// names are case-insensitive). Every written row must make it true.
    #[arg(long = "constraint", value_name = "NAME=EXPR", value_parser = parse_key_value)]
    pub constraints: Vec<(String, String)>,
}

/// Write modes of `delta write`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Mode {
    /// Add the rows to the table.
    Append,
    /// Replace the table's rows.
    Overwrite,
}

/// Flags of `delta write`.
#[derive(Debug, Args)]
pub struct WriteArgs {
    /// The table: a path or URL.
    pub table: String,

    /// The files to write (.parquet, .csv with a header, .json/.jsonl/.ndjson),
    /// all with the same schema.
    #[arg(required = true, value_name = "FILE")]
    pub files: Vec<PathBuf>,

    /// Append to or overwrite the table.
    #[arg(long, value_enum, default_value_t = Mode::Append)]
    pub mode: Mode,

    /// Add the files' new columns to the table schema.
    #[arg(long)]
    pub merge_schema: bool,

    /// With --mode overwrite: replace the table schema with the files'.
    #[arg(long)]
    pub overwrite_schema: bool,

    /// Partition columns when the write creates the table (or with
    /// --overwrite-schema); must match the table's otherwise.
    #[arg(long, value_name = "c1,c2", value_delimiter = ',')]
    pub partition_by: Option<Vec<String>>,

    /// With --mode overwrite: replace only the rows matching this SQL
    /// predicate, e.g. "day = '2024-01-01'"; every written row must match it.
    #[arg(long, value_name = "PRED")]
    pub replace_where: Option<String>,

    /// Application id of an idempotent writer (with --app-version).
    #[arg(long, value_name = "ID", requires = "app_version")]
    pub app_id: Option<String>,

    /// Version of the idempotent writer's write: skipped when the table has
    /// already seen this or a later version for --app-id.
    #[arg(long, value_name = "N", requires = "app_id")]
    pub app_version: Option<i64>,
}

/// Flags of `delta checkpoint`.
#[derive(Debug, Args)]
pub struct CheckpointArgs {
    /// The table: a path or URL.
    pub table: String,
}

/// Parses `k=v`.
fn parse_key_value(text: &str) -> Result<(String, String), String> {
    match text.split_once('=') {
        Some((k, v)) if !k.trim().is_empty() => Ok((k.trim().to_string(), v.to_string())),
        _ => Err(format!("'{text}' is not of the form key=value")),
    }
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

    /// Only rows matching this SQL predicate, e.g. "id > 10 AND city = 'Oslo'"
    /// (comparisons, AND/OR/NOT, IS [NOT] NULL, IN, BETWEEN, arithmetic).
    /// Files that cannot match are not read (--explain, or RUST_LOG=debug,
    /// shows how many).
    #[arg(long = "where", value_name = "PRED")]
    pub where_: Option<String>,

    /// Print how the files to read were chosen (considered, pruned by
    /// partition values, skipped by statistics, read) instead of the rows.
    #[arg(long)]
    pub explain: bool,

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
    /// A table to tour, read-only: a path or URL. Without it the demo tells
    /// the whole story on a fresh table in a temporary directory.
    pub table: Option<String>,

    /// Tell the whole story (it writes) on a new table at TABLE, a local
    /// path where no table is yet, instead of touring it read-only.
    #[arg(long, requires = "table")]
    pub write: bool,

    /// Keep the temporary table of the story (it is deleted at the end).
    #[arg(long, conflicts_with = "table")]
    pub keep: bool,
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

    /// Splits an example line as a shell would: spaces outside double
    /// quotes separate words, `\"` inside them is a quote.
    fn words(line: &str) -> Vec<String> {
        let (mut words, mut word, mut quoted) = (Vec::new(), String::new(), false);
        let mut chars = line.chars();
        while let Some(c) = chars.next() {
            match c {
                '"' => quoted = !quoted,
                '\\' if quoted => word.extend(chars.next()),
                ' ' if !quoted => {
                    words.extend((!word.is_empty()).then(|| std::mem::take(&mut word)))
                }
                c => word.push(c),
            }
        }
        words.extend((!word.is_empty()).then_some(word));
        words
    }

    #[test]
    fn every_command_has_examples_that_parse() {
        let cli = Cli::command();
        for command in cli.get_subcommands() {
            let name = command.get_name();
            let help = command
                .get_after_help()
                .map(|h| h.to_string())
                .unwrap_or_default();
            let examples: Vec<&str> = help.lines().filter_map(|l| l.strip_prefix("  ")).collect();
            assert!(
                help.starts_with("Examples:") && !examples.is_empty(),
                "`delta {name} --help` shows no example"
            );
            for example in examples {
                let parsed = Cli::try_parse_from(words(example));
                assert!(parsed.is_ok(), "{example}: {}", parsed.unwrap_err());
                assert!(
                    example.starts_with(&format!("delta {name} "))
                        || example == format!("delta {name}")
                );
            }
        }
        assert_eq!(
            words(r#"delta a "b \"c\" d" e"#),
            ["delta", "a", "b \"c\" d", "e"]
        );
    }
}
