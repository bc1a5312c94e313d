//! The `TableProvider`: a table at its latest version (looked up again for
//! every statement, so a query sees the rows an INSERT before it wrote) or
//! pinned to a version.

use std::sync::Arc;

use arrow::datatypes::SchemaRef;
use async_trait::async_trait;
use datafusion::catalog::Session;
use datafusion::common::DFSchemaRef;
use datafusion::common::Result;
use datafusion::datasource::sink::DataSinkExec;
use datafusion::datasource::{TableProvider, TableType};
use datafusion::logical_expr::dml::{InsertOp, MergeIntoClause};
use datafusion::logical_expr::{Expr, TableProviderFilterPushDown};
use datafusion::physical_plan::ExecutionPlan;
use delta_schema::StructType;
use delta_txn::{SaveMode, Snapshot, Table};

use crate::DeltaDataFusionError;
use crate::dml::{DeltaDmlExec, Statement};
use crate::filters::{pushdown, to_expr, to_predicate};
use crate::scan::DeltaScanExec;
use crate::sink::DeltaSink;

/// Which snapshot a provider reads.
#[derive(Debug, Clone)]
enum Pin {
    /// The latest, looked up for each statement.
    Latest,
    /// This one.
    Snapshot(Snapshot),
    /// This version, loaded for each statement (a provider decoded in
    /// another process, see [`DeltaTableProvider::from_parts`]).
    Version(u64),
}

/// A Delta table as a DataFusion table (see the crate doc).
#[derive(Debug, Clone)]
pub struct DeltaTableProvider {
    table: Table,
    pin: Pin,
    /// The schema DataFusion plans with: the table's when the provider was
    /// made (Arrow, and as Delta has it), and its partition columns.
    schema: SchemaRef,
    table_schema: StructType,
    partition_columns: Vec<String>,
}

impl DeltaTableProvider {
    /// The table at its latest version, for every statement (its schema
    /// is the one it has now).
    pub async fn latest(table: Table) -> Result<Self, DeltaDataFusionError> {
        let snapshot = table.snapshot().await?;
        let mut provider = DeltaTableProvider::at(table, snapshot);
        provider.pin = Pin::Latest;
        Ok(provider)
    }

    /// The table pinned to one snapshot (time travel): read-only.
    pub fn at(table: Table, snapshot: Snapshot) -> Self {
        DeltaTableProvider {
            schema: snapshot.arrow_schema(),
            table_schema: snapshot.schema().clone(),
            partition_columns: snapshot.partition_columns().to_vec(),
            table,
            pin: Pin::Snapshot(snapshot),
        }
    }

    /// A provider of `table` described by its parts, as another process
    /// sends it (a plan codec): pinned to `version` (read-only), or the
    /// latest version when `None`; `schema` is what DataFusion plans with,
    /// `table_schema` and `partition_columns` the table's at that version.
    pub fn from_parts(
        table: Table,
        version: Option<u64>,
        schema: SchemaRef,
        table_schema: StructType,
        partition_columns: Vec<String>,
    ) -> Self {
        DeltaTableProvider {
            table,
            pin: version.map_or(Pin::Latest, Pin::Version),
            schema,
            table_schema,
            partition_columns,
        }
    }

    /// The table.
    pub fn table(&self) -> &Table {
        &self.table
    }

    /// The version the provider is pinned to; `None` for the latest.
    pub fn pinned_version(&self) -> Option<u64> {
        match &self.pin {
            Pin::Latest => None,
            Pin::Snapshot(s) => Some(s.version()),
            Pin::Version(v) => Some(*v),
        }
    }

    /// The table's schema (as Delta has it) when the provider was made.
    pub fn table_schema(&self) -> &StructType {
        &self.table_schema
    }

    /// The table's partition columns when the provider was made.
    pub fn partition_columns(&self) -> &[String] {
        &self.partition_columns
    }

    /// The snapshot a statement reads now.
    pub async fn snapshot(&self) -> Result<Snapshot, DeltaDataFusionError> {
        match &self.pin {
            Pin::Snapshot(s) => Ok(s.clone()),
            Pin::Version(v) => Ok(self.table.snapshot_at(*v).await?),
            Pin::Latest => {
                let snapshot = self.table.snapshot().await?;
                if snapshot.arrow_schema() != self.schema {
                    return Err(DeltaDataFusionError::SchemaChanged {
                        table: self.table.location().display.clone(),
                        version: snapshot.version(),
                    });
                }
                Ok(snapshot)
            }
        }
    }
}

#[async_trait]
impl TableProvider for DeltaTableProvider {
    fn schema(&self) -> SchemaRef {
        Arc::clone(&self.schema)
    }

    fn table_type(&self) -> TableType {
        TableType::Base
    }

    async fn scan(
        &self,
        state: &dyn Session,
        projection: Option<&Vec<usize>>,
        filters: &[Expr],
        limit: Option<usize>,
    ) -> Result<Arc<dyn ExecutionPlan>> {
        let snapshot = self.snapshot().await?;
        let names: Vec<String> = match projection {
            Some(indices) => indices
                .iter()
                .map(|&i| self.schema.field(i).name().clone())
                .collect(),
            None => self
                .schema
                .fields()
                .iter()
                .map(|f| f.name().clone())
                .collect(),
        };
        // every filter with a delta-expr form, joined: it chooses the files
        // and filters their rows
        let predicate = all_of(
            filters
                .iter()
                .filter_map(|f| to_predicate(f, snapshot.schema())),
        );
        let partitions = state.config().target_partitions();
        Ok(Arc::new(DeltaScanExec::try_new(
            snapshot, names, predicate, limit, partitions,
        )?))
    }

    fn supports_filters_pushdown(
        &self,
        filters: &[&Expr],
    ) -> Result<Vec<TableProviderFilterPushDown>> {
        Ok(filters
            .iter()
            .map(|f| pushdown(f, &self.table_schema, &self.partition_columns))
            .collect())
    }

    async fn insert_into(
        &self,
        _state: &dyn Session,
        input: Arc<dyn ExecutionPlan>,
        insert_op: InsertOp,
    ) -> Result<Arc<dyn ExecutionPlan>> {
        let table = self.writable("INSERT")?;
        let mode = match insert_op {
            InsertOp::Append => SaveMode::Append,
            InsertOp::Overwrite => SaveMode::Overwrite,
            InsertOp::Replace => {
                return Err(DeltaDataFusionError::Unsupported {
                    what: "REPLACE INTO a Delta table".to_string(),
                }
                .into());
            }
        };
        let sink = DeltaSink::new(table, Arc::clone(&self.schema), mode);
        Ok(Arc::new(DataSinkExec::new(input, Arc::new(sink), None)))
    }

    async fn delete_from(
        &self,
        _state: &dyn Session,
        filters: Vec<Expr>,
    ) -> Result<Arc<dyn ExecutionPlan>> {
        let table = self.writable("DELETE")?;
        let predicate = self.predicate_of("DELETE", &filters)?;
        Ok(Arc::new(DeltaDmlExec::new(
            table,
            Statement::Delete { predicate },
        )))
    }

    async fn update(
        &self,
        _state: &dyn Session,
        assignments: Vec<(String, Expr)>,
        filters: Vec<Expr>,
    ) -> Result<Arc<dyn ExecutionPlan>> {
        let table = self.writable("UPDATE")?;
        let predicate = self.predicate_of("UPDATE", &filters)?;
        let assignments = assignments
            .into_iter()
            // DataFusion lists every column; those set to themselves stay
            .filter(|(column, value)| !matches!(value, Expr::Column(c) if c.name == *column))
            .map(|(column, value)| match to_expr(&value) {
                Some(e) => Ok((column, e)),
                None => Err(DeltaDataFusionError::Unsupported {
                    what: format!("UPDATE ... SET {column} = {value} (no delta-expr form)"),
                }),
            })
            .collect::<Result<Vec<_>, _>>()?;
        Ok(Arc::new(DeltaDmlExec::new(
            table,
            Statement::Update {
                predicate,
                assignments,
            },
        )))
    }

    async fn merge_into(
        &self,
        _state: &dyn Session,
        source: Arc<dyn ExecutionPlan>,
        merge_schema: DFSchemaRef,
        on: Expr,
        clauses: Vec<MergeIntoClause>,
    ) -> Result<Arc<dyn ExecutionPlan>> {
        let table = self.writable("MERGE")?;
        let statement =
            crate::merge::statement(&merge_schema, self.schema.fields().len(), &on, &clauses)?;
        Ok(Arc::new(DeltaDmlExec::merge(table, statement, source)))
    }
}

impl DeltaTableProvider {
    /// The table, when statements may change it (not pinned to a version).
    fn writable(&self, statement: &str) -> Result<Table, DeltaDataFusionError> {
        match self.pinned_version() {
            None => Ok(self.table.clone()),
            Some(version) => Err(DeltaDataFusionError::Unsupported {
                what: format!(
                    "{statement} on '{}' pinned to version {version}",
                    self.table.location().display
                ),
            }),
        }
    }

    /// The WHERE of a DELETE or UPDATE as one delta-expr predicate; every
    /// part must translate (a part left out would change more rows).
    fn predicate_of(
        &self,
        statement: &str,
        filters: &[Expr],
    ) -> Result<Option<delta_expr::Expr>, DeltaDataFusionError> {
        let mut parts = Vec::new();
        for filter in filters {
            match to_predicate(filter, &self.table_schema) {
                Some(p) => parts.push(p),
                None => {
                    return Err(DeltaDataFusionError::Unsupported {
                        what: format!("{statement} ... WHERE {filter} (no delta-expr form)"),
                    });
                }
            }
        }
        Ok(all_of(parts))
    }
}

/// The predicates joined by AND; `None` for none.
fn all_of(parts: impl IntoIterator<Item = delta_expr::Expr>) -> Option<delta_expr::Expr> {
    parts
        .into_iter()
        .reduce(|a, b| delta_expr::Expr::And(Box::new(a), Box::new(b)))
}
