//! `INSERT INTO` / `INSERT OVERWRITE`: DataFusion's rows written by
//! `Table::write` (schema enforcement, constraints, conflict rules) as one
//! commit.

use std::fmt;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use arrow::datatypes::SchemaRef;
use async_trait::async_trait;
use datafusion::common::Result;
use datafusion::datasource::sink::DataSink;
use datafusion::execution::{SendableRecordBatchStream, TaskContext};
use datafusion::physical_plan::{DisplayAs, DisplayFormatType};
use delta_txn::{SaveMode, Table, TxnError, WriteOptions};
use futures::StreamExt;

use crate::df_error;

/// Writes a statement's rows to a Delta table in one commit.
#[derive(Debug)]
pub struct DeltaSink {
    table: Table,
    schema: SchemaRef,
    mode: SaveMode,
}

impl DeltaSink {
    /// A sink appending to (or overwriting) `table`, whose rows have `schema`.
    pub fn new(table: Table, schema: SchemaRef, mode: SaveMode) -> Self {
        DeltaSink {
            table,
            schema,
            mode,
        }
    }

    /// The table written.
    pub fn table(&self) -> &Table {
        &self.table
    }

    /// Append or overwrite.
    pub fn mode(&self) -> SaveMode {
        self.mode
    }
}

impl DisplayAs for DeltaSink {
    fn fmt_as(&self, _: DisplayFormatType, f: &mut fmt::Formatter) -> fmt::Result {
        write!(
            f,
            "DeltaSink: {} ({:?})",
            self.table.location().display,
            self.mode
        )
    }
}

#[async_trait]
impl DataSink for DeltaSink {
    fn schema(&self) -> &SchemaRef {
        &self.schema
    }

    async fn write_all(
        &self,
        data: SendableRecordBatchStream,
        _context: &Arc<TaskContext>,
    ) -> Result<u64> {
        let rows = Arc::new(AtomicU64::new(0));
        let counted = Arc::clone(&rows);
        let schema = data.schema();
        let batches = data.map(move |batch| {
            let batch = batch.map_err(|e| {
                TxnError::Arrow(arrow::error::ArrowError::ExternalError(Box::new(e)))
            })?;
            counted.fetch_add(batch.num_rows() as u64, Ordering::Relaxed);
            Ok(batch)
        });
        let options = WriteOptions {
            mode: self.mode,
            ..WriteOptions::default()
        };
        self.table
            .write(schema, Box::pin(batches), options)
            .await
            .map_err(df_error)?;
        Ok(rows.load(Ordering::Relaxed))
    }
}
