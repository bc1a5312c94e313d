//! `DELETE`, `UPDATE` and `MERGE` statements through DataFusion's DML
//! hooks, run by delta-merge (deletion vectors or copy-on-write, as the
//! table says; one commit; Delta's metrics in the commit). The plan runs
//! the statement when it is executed (never while it is planned or
//! explained) and produces one row: `count`, the rows deleted, updated or
//! inserted. A MERGE's source (its USING clause) is the plan's one child,
//! read as the merge goes.

use std::fmt;
use std::sync::Arc;

use arrow::array::{RecordBatch, UInt64Array};
use arrow::datatypes::{DataType, Field, Schema, SchemaRef};
use datafusion::common::Result;
use datafusion::common::tree_node::TreeNodeRecursion;
use datafusion::execution::TaskContext;
use datafusion::physical_expr::{EquivalenceProperties, PhysicalExpr};
use datafusion::physical_plan::execution_plan::{Boundedness, EmissionType};
use datafusion::physical_plan::stream::RecordBatchStreamAdapter;
use datafusion::physical_plan::{
    DisplayAs, DisplayFormatType, Distribution, ExecutionPlan, InputDistributionRequirements,
    Partitioning, PlanProperties, SendableRecordBatchStream, execute_stream,
};
use delta_txn::Table;
use futures::{StreamExt, TryStreamExt};

use crate::DeltaDataFusionError;

/// A row-level statement on a Delta table.
#[derive(Debug, Clone)]
pub enum Statement {
    /// `DELETE FROM t [WHERE predicate]`.
    Delete {
        /// The condition; every row when `None`.
        predicate: Option<delta_expr::Expr>,
    },
    /// `UPDATE t SET c = e, ... [WHERE predicate]`.
    Update {
        /// The condition; every row when `None`.
        predicate: Option<delta_expr::Expr>,
        /// Columns and their new values.
        assignments: Vec<(String, delta_expr::Expr)>,
    },
    /// `MERGE INTO t USING s ON on WHEN ...`; the source rows come from
    /// the plan's child.
    Merge {
        /// The ON condition.
        on: delta_expr::Expr,
        /// The WHEN clauses, in order.
        clauses: Vec<delta_merge::Clause>,
        /// The name expressions use for the target.
        target_alias: String,
        /// The name expressions use for the source.
        source_alias: String,
    },
}

/// Runs one [`Statement`] when executed (see the module doc).
#[derive(Debug, Clone)]
pub struct DeltaDmlExec {
    table: Table,
    statement: Statement,
    /// A MERGE's source.
    source: Option<Arc<dyn ExecutionPlan>>,
    properties: Arc<PlanProperties>,
}

impl DeltaDmlExec {
    /// The plan of a DELETE or UPDATE `statement` on `table`.
    pub fn new(table: Table, statement: Statement) -> Self {
        DeltaDmlExec::with_source(table, statement, None)
    }

    /// The plan of a MERGE `statement` on `table` whose source rows come
    /// from `source`.
    pub fn merge(table: Table, statement: Statement, source: Arc<dyn ExecutionPlan>) -> Self {
        DeltaDmlExec::with_source(table, statement, Some(source))
    }

    fn with_source(
        table: Table,
        statement: Statement,
        source: Option<Arc<dyn ExecutionPlan>>,
    ) -> Self {
        let schema: SchemaRef = Arc::new(Schema::new(vec![Field::new(
            "count",
            DataType::UInt64,
            false,
        )]));
        let properties = Arc::new(PlanProperties::new(
            EquivalenceProperties::new(schema),
            Partitioning::UnknownPartitioning(1),
            EmissionType::Final,
            Boundedness::Bounded,
        ));
        DeltaDmlExec {
            table,
            statement,
            source,
            properties,
        }
    }

    /// The table the statement changes.
    pub fn table(&self) -> &Table {
        &self.table
    }

    /// The statement.
    pub fn statement(&self) -> &Statement {
        &self.statement
    }
}

/// Runs the statement (a MERGE reads `source`); the rows it changed.
async fn run(
    table: Table,
    statement: Statement,
    source: Option<SendableRecordBatchStream>,
) -> Result<u64, DeltaDataFusionError> {
    let (outcome, metrics): (_, &[&str]) = match statement {
        Statement::Delete { predicate } => (
            delta_merge::delete(&table, predicate.as_ref()).await?,
            &["numDeletedRows"],
        ),
        Statement::Update {
            predicate,
            assignments,
        } => (
            delta_merge::update(&table, predicate.as_ref(), &assignments).await?,
            &["numUpdatedRows"],
        ),
        Statement::Merge {
            on,
            clauses,
            target_alias,
            source_alias,
        } => {
            let Some(source) = source else {
                return Err(DeltaDataFusionError::Unsupported {
                    what: "MERGE without a source plan".to_string(),
                });
            };
            let schema = source.schema();
            let rows = source.map_err(|e| delta_merge::MergeError::Source {
                source_name: "the USING clause".to_string(),
                reason: e.to_string(),
            });
            let mut merge = delta_merge::Merge::from_stream(schema, rows.boxed(), on)
                .with_aliases(&target_alias, &source_alias);
            for clause in clauses {
                merge = merge.when(clause);
            }
            (
                delta_merge::merge(&table, merge).await?,
                &[
                    "numTargetRowsInserted",
                    "numTargetRowsUpdated",
                    "numTargetRowsDeleted",
                ],
            )
        }
    };
    Ok(metrics
        .iter()
        .map(|m| outcome.metrics.get(*m).copied().unwrap_or(0))
        .sum())
}

impl DisplayAs for DeltaDmlExec {
    fn fmt_as(&self, _: DisplayFormatType, f: &mut fmt::Formatter) -> fmt::Result {
        let display = &self.table.location().display;
        let predicate = match &self.statement {
            Statement::Merge { on, clauses, .. } => {
                return write!(
                    f,
                    "DeltaDmlExec: MERGE INTO {display} ON {on} ({} clauses)",
                    clauses.len()
                );
            }
            Statement::Delete { predicate } => {
                write!(f, "DeltaDmlExec: DELETE FROM {display}")?;
                predicate
            }
            Statement::Update {
                predicate,
                assignments,
            } => {
                write!(f, "DeltaDmlExec: UPDATE {display} SET ")?;
                for (i, (column, value)) in assignments.iter().enumerate() {
                    if i > 0 {
                        f.write_str(", ")?;
                    }
                    write!(f, "{column} = {value}")?;
                }
                predicate
            }
        };
        if let Some(p) = predicate {
            write!(f, " WHERE {p}")?;
        }
        Ok(())
    }
}

impl ExecutionPlan for DeltaDmlExec {
    fn name(&self) -> &str {
        "DeltaDmlExec"
    }

    fn properties(&self) -> &Arc<PlanProperties> {
        &self.properties
    }

    fn children(&self) -> Vec<&Arc<dyn ExecutionPlan>> {
        self.source.iter().collect()
    }

    fn input_distribution_requirements(&self) -> InputDistributionRequirements {
        // a MERGE reads all its source: asking for one partition makes
        // DataFusion merge them below, and makes a distributed engine that
        // restricts tasks to partitions give this one task all the rows
        InputDistributionRequirements::new(
            self.source
                .iter()
                .map(|_| Distribution::SinglePartition)
                .collect(),
        )
    }

    fn benefits_from_input_partitioning(&self) -> Vec<bool> {
        self.source.iter().map(|_| false).collect()
    }

    fn apply_expressions(
        &self,
        _f: &mut dyn FnMut(&Arc<dyn PhysicalExpr>) -> Result<TreeNodeRecursion>,
    ) -> Result<TreeNodeRecursion> {
        Ok(TreeNodeRecursion::Continue)
    }

    fn with_new_children(
        self: Arc<Self>,
        children: Vec<Arc<dyn ExecutionPlan>>,
    ) -> Result<Arc<dyn ExecutionPlan>> {
        if children.len() != self.source.iter().count() {
            return datafusion::common::internal_err!(
                "DeltaDmlExec has {} children, not {}",
                self.source.iter().count(),
                children.len()
            );
        }
        let mut plan = (*self).clone();
        plan.source = children.into_iter().next();
        Ok(Arc::new(plan))
    }

    fn execute(
        &self,
        partition: usize,
        context: Arc<TaskContext>,
    ) -> Result<SendableRecordBatchStream> {
        if partition != 0 {
            return datafusion::common::internal_err!(
                "DeltaDmlExec has one partition, not {}",
                partition + 1
            );
        }
        let schema = self.schema();
        let (table, statement) = (self.table.clone(), self.statement.clone());
        // all the source's partitions, as one stream
        let source = self
            .source
            .as_ref()
            .map(|s| execute_stream(Arc::clone(s), context))
            .transpose()?;
        let out = Arc::clone(&schema);
        let batch = futures::stream::once(async move {
            let count = run(table, statement, source).await?;
            Ok(RecordBatch::try_new(
                out,
                vec![Arc::new(UInt64Array::from(vec![count]))],
            )?)
        });
        Ok(Box::pin(RecordBatchStreamAdapter::new(schema, batch)))
    }
}
