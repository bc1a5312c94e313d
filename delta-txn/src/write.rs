//! Writing data: append or overwrite as one transaction, with schema
//! enforcement before anything is written and schema evolution when asked.
//!
//! Data files are written first; the commit that references them comes last.
//! If anything fails before the commit, no committed state refers to the
//! files already written (VACUUM can delete them later).

use std::collections::HashMap;

use arrow::compute::{filter_record_batch, not};
use arrow::datatypes::SchemaRef;
use arrow::record_batch::RecordBatch;
use delta_expr::{Expr, bind_predicate};
use delta_log::{Format, Metadata, TableProperties};
use delta_schema::{StructType, WriteSchemaOptions, check_write_schema};
use futures::{Stream, StreamExt};

use crate::column_mapping;
use crate::constraints::Constraints;
use crate::enforce::Conformer;
use crate::protocol::{protocol_for, required_features, upgrade};
use crate::rewrite::{data_writer, matching_files, rewrite_files};
use crate::table::check_partition_columns;
use crate::transaction::{CommitOutcome, Transaction, now_ms};
use crate::{Snapshot, Table, TxnError};

/// How a write treats the rows already in the table.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum SaveMode {
    /// Add the rows to the table.
    #[default]
    Append,
    /// Replace the table's rows.
    Overwrite,
}

impl SaveMode {
    fn name(self) -> &'static str {
        match self {
            SaveMode::Append => "Append",
            SaveMode::Overwrite => "Overwrite",
        }
    }
}

/// Options of a write.
#[derive(Debug, Clone, Default)]
pub struct WriteOptions {
    /// Append or overwrite.
    pub mode: SaveMode,
    /// Add the data's new columns to the table schema.
    pub merge_schema: bool,
    /// With `Overwrite`: replace the table schema (and partitioning) by the data's.
    pub overwrite_schema: bool,
    /// Partition columns when the write creates the table (or overwrites its
    /// schema); must match the table's otherwise.
    pub partition_by: Option<Vec<String>>,
    /// Table properties when the write creates the table.
    pub properties: HashMap<String, String>,
    /// Idempotent writer: (application id, version); a write whose version
    /// the table has already seen for this application is skipped.
    pub app_transaction: Option<(String, i64)>,
    /// With `Overwrite`: replace only the rows for which this predicate is
    /// true (Delta's replaceWhere). Files holding only such rows are
    /// removed, files that mix are rewritten without them, and every written
    /// row must satisfy the predicate, or nothing is committed.
    pub replace_where: Option<Expr>,
}

impl Table {
    /// Writes `batches` (all of Arrow schema `schema`) to the table as one
    /// commit, creating the table when it does not exist.
    pub async fn write<S>(
        &self,
        schema: SchemaRef,
        batches: S,
        options: WriteOptions,
    ) -> Result<CommitOutcome, TxnError>
    where
        S: Stream<Item = Result<RecordBatch, TxnError>> + Unpin,
    {
        let snapshot = self.snapshot_if_exists().await?;
        self.write_on(snapshot, schema, batches, options).await
    }

    /// [`Table::write`] on a snapshot the caller already loaded (`None`: the
    /// table does not exist yet), so that it is not loaded twice. The write
    /// reads that snapshot; versions committed since are handled as for any
    /// concurrent writer.
    pub async fn write_on<S>(
        &self,
        snapshot: Option<Snapshot>,
        schema: SchemaRef,
        batches: S,
        options: WriteOptions,
    ) -> Result<CommitOutcome, TxnError>
    where
        S: Stream<Item = Result<RecordBatch, TxnError>> + Unpin,
    {
        if let Some(s) = &snapshot
            && s.state().root != self.location().root
        {
            return Err(TxnError::InvalidArgument {
                reason: format!(
                    "the snapshot is of the table '{}', not of '{}'",
                    s.state().table,
                    self.location().display
                ),
            });
        }
        if options.replace_where.is_some()
            && (options.mode != SaveMode::Overwrite || options.overwrite_schema)
        {
            return Err(TxnError::InvalidArgument {
                reason: "replaceWhere needs mode overwrite, and cannot overwrite the schema"
                    .to_string(),
            });
        }
        let plan = plan_write(snapshot.as_ref(), &schema, &options)?;
        let mut txn = Transaction::new(self, snapshot.clone(), "WRITE")
            .parameter("mode", options.mode.name())
            .parameter(
                "partitionBy",
                serde_json::to_string(&plan.metadata.partition_columns).unwrap_or_default(),
            );
        if let Some((app_id, version)) = &options.app_transaction {
            txn.set_app_transaction(app_id.clone(), *version);
            // an applied write is skipped before any data is written
            if txn.is_already_applied() {
                return txn.commit().await;
            }
        }
        let properties = TableProperties::parse(&plan.metadata.configuration)?;
        if let Some(protocol) = plan.protocol {
            txn.set_protocol(protocol);
        }
        if plan.metadata_changed {
            txn.set_metadata(plan.metadata.clone());
        }
        // replaceWhere: which files hold matching rows, and which of them
        // must be rewritten without those rows
        let replaced = match (&options.replace_where, &snapshot) {
            (Some(predicate), Some(s)) => {
                txn = txn.parameter("predicate", predicate.to_string());
                Some(matching_files(s, predicate, false).await?)
            }
            _ => None,
        };
        if options.mode == SaveMode::Overwrite
            && let Some(s) = &snapshot
        {
            let now = now_ms();
            let removed: Vec<usize> = match &replaced {
                Some(r) => r.files.iter().map(|m| m.index).collect(),
                None => (0..s.files().len()).collect(),
            };
            txn.metric("numRemovedFiles", removed.len());
            // what the overwrite replaces is what it read: the rows of its
            // predicate (and the files it looked into), or the whole table
            match (&replaced, &options.replace_where) {
                (Some(r), Some(predicate)) => {
                    txn.read_predicate(predicate.clone());
                    txn.read_files(&r.read);
                }
                _ => txn.read_whole_table(),
            }
            txn.remove_files(
                removed
                    .iter()
                    .filter_map(|&i| s.files().get(i))
                    .map(|f| f.to_remove(now)),
            );
        }
        // refused writes (writer features, append-only) write no data
        txn.check_allowed()?;
        // CHECK constraints and invariants, typed before any data is written
        let mut constraints = Constraints::for_table(
            &plan.schema,
            &properties,
            snapshot.as_ref().map_or(0, Snapshot::version),
        )?;
        if let Some(predicate) = &options.replace_where {
            constraints = constraints.with_rule(
                "the replaceWhere predicate",
                predicate,
                bind_predicate(predicate, &plan.schema)?,
            );
        }
        let mut writer = data_writer(self, &plan.metadata, &plan.schema)?;
        let conformer = Conformer::new(&plan.schema);
        let written = async {
            // rows of rewritten files that the predicate does not replace
            let copied = match (&replaced, &snapshot, &options.replace_where) {
                (Some(r), Some(s), Some(predicate)) => {
                    // the rows of mixed files the predicate does not replace
                    let bound = bind_predicate(predicate, s.schema())?;
                    let keep = |batch: RecordBatch| -> Result<RecordBatch, TxnError> {
                        Ok(filter_record_batch(
                            &batch,
                            &not(&bound.matching_rows(&batch)?)?,
                        )?)
                    };
                    rewrite_files(s, &r.mixed(), keep, &conformer, &mut writer).await?
                }
                _ => 0,
            };
            let mut rows = 0u64;
            let mut batches = batches;
            while let Some(batch) = batches.next().await {
                let batch = conformer.conform(&batch?)?;
                constraints.check(&batch)?;
                rows += batch.num_rows() as u64;
                writer.write(&batch).await?;
            }
            Ok::<_, TxnError>((rows, copied))
        }
        .await;
        let rows = match written {
            Ok((rows, copied)) => {
                if options.replace_where.is_some() {
                    txn.metric("numCopiedRows", copied);
                }
                rows
            }
            Err(e) => {
                // nothing is committed; uploads in flight are given up
                writer.abort().await;
                return Err(e);
            }
        };
        let adds = writer.finish().await?;
        txn.metric("numFiles", adds.len());
        txn.metric("numOutputRows", rows);
        txn.metric("numOutputBytes", adds.iter().map(|a| a.size).sum::<i64>());
        txn.add_files(adds);
        txn.commit().await
    }
}

/// What a write commits besides data: the schema to write with, and new
/// metadata and protocol when they change.
struct WritePlan {
    schema: StructType,
    metadata: Metadata,
    metadata_changed: bool,
    protocol: Option<delta_log::Protocol>,
}

fn plan_write(
    snapshot: Option<&Snapshot>,
    data: &SchemaRef,
    options: &WriteOptions,
) -> Result<WritePlan, TxnError> {
    let data_schema =
        StructType::from_arrow(data).map_err(|source| TxnError::SchemaMismatch { source })?;
    let Some(snapshot) = snapshot else {
        // the write creates the table
        let partition_columns = options.partition_by.clone().unwrap_or_default();
        let mut schema = nullable_top_level(data_schema);
        check_partition_columns(&schema, &partition_columns)?;
        let mut properties = options.properties.clone();
        column_mapping::apply(&mut schema, &mut properties)
            .map_err(|reason| TxnError::InvalidArgument { reason })?;
        let protocol = protocol_for(&required_features(
            &schema,
            &TableProperties::parse(&properties)?,
        ));
        return Ok(WritePlan {
            metadata: Metadata {
                id: uuid::Uuid::new_v4().to_string(),
                name: None,
                description: None,
                format: Format::default(),
                schema_string: schema.to_json(),
                partition_columns,
                created_time: Some(now_ms()),
                configuration: properties,
            },
            schema,
            metadata_changed: true,
            protocol: Some(protocol),
        });
    };
    let current = snapshot.metadata();
    if options.overwrite_schema {
        if options.mode != SaveMode::Overwrite {
            return Err(TxnError::InvalidArgument {
                reason: "overwrite-schema needs mode overwrite".to_string(),
            });
        }
        let partition_columns = options
            .partition_by
            .clone()
            .unwrap_or_else(|| current.partition_columns.clone());
        let mut schema = nullable_top_level(data_schema);
        check_partition_columns(&schema, &partition_columns)?;
        let mut metadata = current.clone();
        column_mapping::apply(&mut schema, &mut metadata.configuration)
            .map_err(|reason| TxnError::InvalidArgument { reason })?;
        metadata.schema_string = schema.to_json();
        metadata.partition_columns = partition_columns;
        let protocol = upgrade(
            snapshot.protocol(),
            &required_features(&schema, &TableProperties::parse(&metadata.configuration)?),
        );
        return Ok(WritePlan {
            schema,
            metadata,
            metadata_changed: true,
            protocol,
        });
    }
    if let Some(partition_by) = &options.partition_by
        && partition_by != &current.partition_columns
    {
        return Err(TxnError::InvalidArgument {
            reason: format!(
                "the table is partitioned by {:?}, not {:?} (use overwrite-schema to change it)",
                current.partition_columns, partition_by
            ),
        });
    }
    let checked = check_write_schema(
        snapshot.schema(),
        data,
        WriteSchemaOptions {
            merge_schema: options.merge_schema,
            type_widening: TableProperties::parse(&current.configuration)?.enable_type_widening,
        },
    )
    .map_err(|source| TxnError::SchemaMismatch { source })?;
    if !checked.changed {
        return Ok(WritePlan {
            schema: checked.table_schema,
            metadata: current.clone(),
            metadata_changed: false,
            protocol: None,
        });
    }
    let change = evolve_schema(snapshot, checked.table_schema)?;
    Ok(WritePlan {
        schema: change.schema,
        metadata: change.metadata,
        metadata_changed: true,
        protocol: change.protocol,
    })
}

/// A change of a table's schema that a transaction commits along with its
/// data.
#[derive(Debug, Clone)]
pub struct SchemaChange {
    /// The new schema (with column mapping applied to new columns).
    pub schema: StructType,
    /// The table's metadata with the new schema.
    pub metadata: Metadata,
    /// The protocol the new schema needs, when it needs an upgrade.
    pub protocol: Option<delta_log::Protocol>,
}

impl SchemaChange {
    /// Puts the new metadata (and protocol) into `txn`.
    pub fn apply_to(&self, txn: &mut Transaction) {
        if let Some(protocol) = &self.protocol {
            txn.set_protocol(protocol.clone());
        }
        txn.set_metadata(self.metadata.clone());
    }
}

/// The table of `snapshot` evolved to `schema` (columns added or widened by
/// schema merging): new columns get column-mapping ids and physical names
/// when the table maps columns, and the protocol is upgraded when the schema
/// needs features the table does not have.
pub fn evolve_schema(
    snapshot: &Snapshot,
    mut schema: StructType,
) -> Result<SchemaChange, TxnError> {
    let mut metadata = snapshot.metadata().clone();
    column_mapping::apply(&mut schema, &mut metadata.configuration)
        .map_err(|reason| TxnError::InvalidArgument { reason })?;
    metadata.schema_string = schema.to_json();
    let protocol = upgrade(
        snapshot.protocol(),
        &required_features(&schema, &TableProperties::parse(&metadata.configuration)?),
    );
    Ok(SchemaChange {
        schema,
        metadata,
        protocol,
    })
}

/// Top-level columns of a new table schema are nullable (as Spark makes them),
/// so that later writes may leave them out.
fn nullable_top_level(mut schema: StructType) -> StructType {
    for f in &mut schema.fields {
        f.nullable = true;
    }
    schema
}
