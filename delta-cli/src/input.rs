//! Input files of `delta write` and `delta create`: Parquet, CSV (header row)
//! and newline-delimited JSON, read batch by batch. CSV and JSON schemas are
//! taken from the table when it exists, else inferred from the file.

use std::fs::File;
use std::io::{BufReader, Seek};
use std::path::Path;
use std::sync::Arc;

use arrow::datatypes::SchemaRef;
use arrow::error::ArrowError;
use arrow::record_batch::RecordBatch;
use parquet::arrow::arrow_reader::{
    ArrowReaderMetadata, ArrowReaderOptions, ParquetRecordBatchReaderBuilder,
};
use parquet::errors::ParquetError;

use crate::output::{CliResult, Context};

/// Rows per batch read from an input file.
const BATCH_ROWS: usize = 8192;
/// Rows read to infer the schema of CSV and JSON files.
const INFER_ROWS: usize = 10_000;

/// Batches of one input file.
pub type Batches = Box<dyn Iterator<Item = Result<RecordBatch, ArrowError>> + Send>;

/// The kinds of input files.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    Parquet,
    Csv,
    Json,
}

fn kind(path: &Path) -> CliResult<Kind> {
    let ext = path
        .extension()
        .and_then(|e| e.to_str())
        .map(str::to_ascii_lowercase);
    match ext.as_deref() {
        Some("parquet") => Ok(Kind::Parquet),
        Some("csv") => Ok(Kind::Csv),
        Some("json" | "jsonl" | "ndjson") => Ok(Kind::Json),
        _ => Err(format!(
            "'{}': unknown file type; use .parquet, .csv, or .json/.jsonl/.ndjson",
            path.display()
        )
        .into()),
    }
}

fn open(path: &Path) -> CliResult<File> {
    File::open(path)
        .map_err(|e| Context::new(format!("cannot open '{}'", path.display()), e).into())
}

/// The schema of an input file. CSV and JSON columns that the table (when
/// given) has take the table's types; the others are inferred.
pub fn schema(path: &Path, table: Option<&SchemaRef>) -> CliResult<SchemaRef> {
    let file = file_schema(path)?;
    let (Some(table), Kind::Csv | Kind::Json) = (table, kind(path)?) else {
        return Ok(file);
    };
    let fields: Vec<_> = file
        .fields()
        .iter()
        .map(|f| match table.field_with_name(f.name()) {
            Ok(t) => Arc::new(t.clone().with_nullable(true)),
            Err(_) => Arc::clone(f),
        })
        .collect();
    Ok(Arc::new(arrow::datatypes::Schema::new(fields)))
}

/// A reader of a Parquet input file; a damaged footer (its Arrow schema
/// too, which arrow-ipc would panic on) is an error naming the file.
fn parquet_builder(path: &Path) -> CliResult<ParquetRecordBatchReaderBuilder<File>> {
    let bad = |e: ParquetError| Context::new(format!("cannot read '{}'", path.display()), e);
    let file = open(path)?;
    let footer = ArrowReaderMetadata::load(
        &file,
        ArrowReaderOptions::new().with_skip_arrow_metadata(true),
    )
    .map_err(bad)?;
    let metadata = delta::log::parquet_reader::arrow_metadata_guarded(
        Arc::clone(footer.metadata()),
        ArrowReaderOptions::new(),
    )
    .map_err(bad)?;
    Ok(ParquetRecordBatchReaderBuilder::new_with_metadata(
        file, metadata,
    ))
}

/// The schema of an input file on its own (inferred for CSV and JSON).
fn file_schema(path: &Path) -> CliResult<SchemaRef> {
    let bad = |e: ArrowError| Context::new(format!("cannot read '{}'", path.display()), e);
    match kind(path)? {
        Kind::Parquet => Ok(parquet_builder(path)?.schema().clone()),
        Kind::Csv => {
            let mut file = open(path)?;
            let (schema, _) = arrow::csv::reader::Format::default()
                .with_header(true)
                .infer_schema(&mut file, Some(INFER_ROWS))
                .map_err(bad)?;
            Ok(Arc::new(schema))
        }
        Kind::Json => {
            let file = open(path)?;
            let (schema, _) =
                arrow::json::reader::infer_json_schema(BufReader::new(file), Some(INFER_ROWS))
                    .map_err(bad)?;
            Ok(Arc::new(schema))
        }
    }
}

/// Reads an input file in batches of `schema` (from [`schema`]).
pub fn batches(path: &Path, schema: &SchemaRef) -> CliResult<Batches> {
    let bad = |e: ArrowError| Context::new(format!("cannot read '{}'", path.display()), e);
    match kind(path)? {
        Kind::Parquet => {
            let reader = parquet_builder(path)?
                .with_batch_size(BATCH_ROWS)
                .build()
                .map_err(|e| Context::new(format!("cannot read '{}'", path.display()), e))?;
            Ok(Box::new(reader))
        }
        Kind::Csv => {
            let mut file = open(path)?;
            file.rewind()
                .map_err(|e| Context::new(format!("cannot read '{}'", path.display()), e))?;
            let reader = arrow::csv::ReaderBuilder::new(schema.clone())
                .with_header(true)
                .with_batch_size(BATCH_ROWS)
                .build(file)
                .map_err(bad)?;
            Ok(Box::new(reader))
        }
        Kind::Json => {
            let reader = arrow::json::ReaderBuilder::new(schema.clone())
                .with_batch_size(BATCH_ROWS)
                .build(BufReader::new(open(path)?))
                .map_err(bad)?;
            Ok(Box::new(reader))
        }
    }
}
