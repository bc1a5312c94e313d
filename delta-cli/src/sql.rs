//! `delta sql`: a statement over Delta tables through DataFusion, its rows
//! written as `delta cat` writes them.

use std::sync::Arc;

use delta::datafusion::datafusion::common::config::Dialect;
use delta::datafusion::datafusion::error::DataFusionError;
use delta::datafusion::datafusion::prelude::{SessionConfig, SessionContext};
use delta::datafusion::{DeltaTableProvider, enable_time_travel};
use delta::txn::Table;
use futures::TryStreamExt;

use crate::cat::Sink;
use crate::cli::SqlArgs;
use crate::output::{CliError, CliResult, create_file, remove_partial};

/// Runs `delta sql`.
pub async fn run(args: &SqlArgs) -> CliResult<()> {
    // Spark SQL, as Delta users write it: `VERSION AS OF` parses,
    // identifiers go in backticks and "..." is a string
    let mut config = SessionConfig::new();
    config.options_mut().sql_parser.dialect = Dialect::Databricks;
    let ctx = SessionContext::new_with_config(config);
    enable_time_travel(&ctx)?;
    for spec in &args.tables {
        let Some((name, location)) = spec.split_once('=') else {
            return Err(format!("--table {spec}: expected NAME=TABLE").into());
        };
        let table = Table::open(location).await?;
        let provider = DeltaTableProvider::latest(table).await?;
        ctx.register_table(name, Arc::new(provider))?;
    }
    // what can fail without writing fails before the output file is created
    let frame = ctx.sql(&args.query).await.map_err(plain)?;
    let schema = Arc::new(frame.schema().as_arrow().clone());
    let mut batches = frame.execute_stream().await.map_err(plain)?;
    let file = match &args.out {
        Some(path) => Some(create_file(path)?),
        None => None,
    };
    let result = async {
        let mut sink = Sink::new(args.format, file, schema)?;
        while let Some(batch) = batches.try_next().await.map_err(plain)? {
            sink.write(&batch)?;
        }
        sink.finish()
    }
    .await;
    if result.is_err() {
        remove_partial(args.out.as_ref());
    }
    result
}

/// A DataFusion error as the user should read it: our own errors (which
/// DataFusion wraps as "External error") as they are, after what DataFusion
/// was doing.
fn plain(e: DataFusionError) -> CliError {
    match e {
        DataFusionError::External(inner) => inner,
        DataFusionError::Context(context, inner) => format!("{context}: {}", plain(*inner)).into(),
        other => other.into(),
    }
}
