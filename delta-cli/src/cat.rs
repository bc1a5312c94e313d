//! `delta cat`: stream the rows of a table version to standard output or a file.

use std::fs::File;
use std::io::Write;
use std::sync::Arc;

use arrow::datatypes::{DataType, FieldRef, Fields, Schema, SchemaRef};
use arrow::json::LineDelimitedWriter;
use arrow::record_batch::RecordBatch;
use chrono::{DateTime, FixedOffset};
use delta::schema::StructType;
use delta::txn::{Scan, Snapshot, Table};
use futures::TryStreamExt;
use parquet::arrow::ArrowWriter;
use parquet::basic::Compression;
use parquet::file::properties::WriterProperties;

use crate::cli::{CatArgs, Format};
use crate::output::{CliResult, Output, create_file, remove_partial};

/// Opens the table and its snapshot: the latest, at `version`, or the latest
/// committed at or before `timestamp`.
pub async fn open_snapshot(
    location: &str,
    version: Option<u64>,
    timestamp: Option<DateTime<FixedOffset>>,
) -> CliResult<Snapshot> {
    let table = Table::open(location).await?;
    let snapshot = match (version, timestamp) {
        (Some(v), _) => table.snapshot_at(v).await?,
        (None, Some(t)) => table.snapshot_at_timestamp(t.timestamp_millis()).await?,
        (None, None) => table.snapshot().await?,
    };
    Ok(snapshot)
}

/// Runs `delta cat`.
pub async fn run(args: &CatArgs) -> CliResult<()> {
    // a predicate that does not parse fails before the table is opened
    let predicate = args.where_.as_deref().map(delta::expr::parse).transpose()?;
    let snapshot = open_snapshot(&args.table, args.version, args.timestamp).await?;
    let mut scan = match &args.columns {
        Some(columns) => snapshot
            .scan()
            .with_columns(columns.iter().map(String::as_str)),
        None => snapshot.scan(),
    };
    if let Some(predicate) = predicate {
        // typed against the schema here, before any output is written (the
        // scan itself chooses its files once, when it starts)
        delta::expr::bind_predicate(&predicate, snapshot.schema())?;
        scan = scan.with_predicate(predicate);
    }
    if args.explain {
        let report = scan.skip_report()?;
        println!("files considered: {}", report.considered);
        println!("pruned by partition values: {}", report.pruned_by_partition);
        println!("skipped by statistics: {}", report.skipped_by_stats);
        println!("read: {}", report.read);
        return Ok(());
    }
    // what can fail without writing fails before the output file is created
    let schema = scan.schema()?;
    if args.format == Format::Csv {
        check_csv(&schema, snapshot.schema())?;
    }
    let file = match &args.out {
        Some(path) => Some(create_file(path)?),
        None if args.format == Format::Parquet => {
            return Err("--format parquet needs --out FILE".into());
        }
        None => None,
    };
    // from here on the output file is ours: a half-written one is removed on failure
    let result = write_rows(&scan, schema, args, file).await;
    if result.is_err() {
        remove_partial(args.out.as_ref());
    }
    result
}

async fn write_rows(
    scan: &Scan,
    schema: SchemaRef,
    args: &CatArgs,
    file: Option<File>,
) -> CliResult<()> {
    let mut sink = Sink::new(args.format, file, schema)?;
    let mut remaining = args.limit.unwrap_or(usize::MAX);
    if remaining > 0 {
        let mut batches = scan.execute()?;
        while let Some(batch) = batches.try_next().await? {
            let take = batch.num_rows().min(remaining);
            sink.write(&batch.slice(0, take))?;
            remaining -= take;
            if remaining == 0 {
                // dropping the stream stops reading the remaining files
                break;
            }
        }
    }
    sink.finish()
}

/// CSV holds no nested values: say which column is in the way before writing anything.
fn check_csv(schema: &SchemaRef, table_schema: &StructType) -> CliResult<()> {
    match schema.fields().iter().find(|f| f.data_type().is_nested()) {
        Some(field) => {
            let type_name = table_schema.field(field.name()).map_or_else(
                || field.data_type().to_string(),
                |f| f.data_type.to_string(),
            );
            Err(format!(
                "column '{}' has the nested type {type_name}, which CSV cannot hold: \
                 use --format json, table or parquet, or leave it out with --columns",
                field.name(),
            )
            .into())
        }
        None => Ok(()),
    }
}

/// The type JSON output writes for `data_type`: the same, except that map
/// keys become strings (JSON object keys are strings; Delta maps may have
/// keys of any type).
fn json_type(data_type: &DataType) -> DataType {
    let with_type = |field: &FieldRef, data_type: DataType| -> FieldRef {
        Arc::new(field.as_ref().clone().with_data_type(data_type))
    };
    match data_type {
        DataType::List(f) => DataType::List(with_type(f, json_type(f.data_type()))),
        DataType::LargeList(f) => DataType::LargeList(with_type(f, json_type(f.data_type()))),
        DataType::FixedSizeList(f, n) => {
            DataType::FixedSizeList(with_type(f, json_type(f.data_type())), *n)
        }
        DataType::Struct(fields) => DataType::Struct(
            fields
                .iter()
                .map(|f| with_type(f, json_type(f.data_type())))
                .collect(),
        ),
        DataType::Map(entries, sorted) => match entries.data_type() {
            DataType::Struct(kv) if kv.len() == 2 => {
                let key_type = match kv[0].data_type() {
                    t @ (DataType::Utf8 | DataType::LargeUtf8 | DataType::Utf8View) => t.clone(),
                    _ => DataType::Utf8,
                };
                let kv: Fields = vec![
                    with_type(&kv[0], key_type),
                    with_type(&kv[1], json_type(kv[1].data_type())),
                ]
                .into();
                DataType::Map(with_type(entries, DataType::Struct(kv)), *sorted)
            }
            _ => data_type.clone(),
        },
        other => other.clone(),
    }
}

/// The schema JSON output writes, when it differs from `schema`.
fn json_schema(schema: &SchemaRef) -> Option<SchemaRef> {
    let fields: Vec<FieldRef> = schema
        .fields()
        .iter()
        .map(|f| Arc::new(f.as_ref().clone().with_data_type(json_type(f.data_type()))))
        .collect();
    let converted = Schema::new_with_metadata(fields, schema.metadata().clone());
    (converted != *schema.as_ref()).then(|| Arc::new(converted))
}

/// Writes batches in one output format.
pub enum Sink {
    /// An aligned text table: batches are kept until the end for the widths.
    Table {
        /// Where the table goes.
        out: Output,
        /// The columns, for the header of an empty result.
        schema: SchemaRef,
        /// The rows so far.
        batches: Vec<RecordBatch>,
    },
    /// CSV with a header row.
    Csv(arrow::csv::Writer<Output>),
    /// Newline-delimited JSON objects.
    Json {
        /// The writer.
        writer: LineDelimitedWriter<Output>,
        /// The schema batches are cast to first (maps with non-string keys), if any.
        cast_to: Option<SchemaRef>,
    },
    /// One Parquet file.
    Parquet(ArrowWriter<File>),
}

impl Sink {
    /// A sink in `format` writing batches of `schema` to `file`, or to
    /// standard output when `None` (Parquet needs a file).
    pub fn new(format: Format, file: Option<File>, schema: SchemaRef) -> CliResult<Sink> {
        let text_output = |file: Option<File>| match file {
            Some(file) => Output::file(file),
            None => Output::stdout(),
        };
        Ok(match format {
            Format::Table => Sink::Table {
                out: text_output(file),
                schema,
                batches: Vec::new(),
            },
            Format::Csv => {
                let mut writer = arrow::csv::WriterBuilder::new()
                    .with_header(true)
                    .build(text_output(file));
                // an empty batch writes the header, so an empty result still has one
                writer.write(&RecordBatch::new_empty(schema))?;
                Sink::Csv(writer)
            }
            Format::Json => Sink::Json {
                writer: arrow::json::WriterBuilder::new()
                    .with_explicit_nulls(true)
                    .build(text_output(file)),
                cast_to: json_schema(&schema),
            },
            Format::Parquet => {
                let file = file.ok_or("--format parquet needs --out FILE")?;
                let props = WriterProperties::builder()
                    .set_compression(Compression::SNAPPY)
                    .build();
                Sink::Parquet(ArrowWriter::try_new(file, schema, Some(props))?)
            }
        })
    }

    /// Writes one batch.
    pub fn write(&mut self, batch: &RecordBatch) -> CliResult<()> {
        match self {
            Sink::Table { batches, .. } => batches.push(batch.clone()),
            Sink::Csv(w) => w.write(batch)?,
            Sink::Json {
                writer,
                cast_to: None,
            } => writer.write(batch)?,
            Sink::Json {
                writer,
                cast_to: Some(schema),
            } => {
                let columns = batch
                    .columns()
                    .iter()
                    .zip(schema.fields())
                    .map(|(column, field)| arrow::compute::cast(column, field.data_type()))
                    .collect::<Result<Vec<_>, _>>()?;
                writer.write(&RecordBatch::try_new(Arc::clone(schema), columns)?)?;
            }
            Sink::Parquet(w) => w.write(batch)?,
        }
        Ok(())
    }

    /// Writes what is pending and flushes.
    pub fn finish(self) -> CliResult<()> {
        match self {
            Sink::Table {
                mut out,
                schema,
                batches,
            } => {
                let table =
                    arrow::util::pretty::pretty_format_batches_with_schema(schema, &batches)?;
                writeln!(out, "{table}")?;
                out.flush()?;
            }
            Sink::Csv(w) => w.into_inner().flush()?,
            Sink::Json { mut writer, .. } => {
                writer.finish()?;
                writer.into_inner().flush()?;
            }
            Sink::Parquet(w) => {
                w.close()?;
            }
        }
        Ok(())
    }
}

/// Up to `max_rows` rows of `snapshot` as an aligned text table, and whether
/// there were more rows.
pub async fn pretty_rows(snapshot: &Snapshot, max_rows: usize) -> CliResult<(String, bool)> {
    let scan = snapshot.scan();
    let schema = scan.schema()?;
    let mut batches = Vec::new();
    let mut remaining = max_rows;
    let mut more = false;
    let mut stream = scan.execute()?;
    while let Some(batch) = stream.try_next().await? {
        if remaining == 0 {
            more |= batch.num_rows() > 0;
            if more {
                break;
            }
            continue;
        }
        let take = batch.num_rows().min(remaining);
        more |= take < batch.num_rows();
        batches.push(batch.slice(0, take));
        remaining -= take;
        if more {
            break;
        }
    }
    let table = arrow::util::pretty::pretty_format_batches_with_schema(schema, &batches)?;
    Ok((table.to_string(), more))
}
