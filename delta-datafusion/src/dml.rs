//! `DELETE` and `UPDATE` statements through DataFusion's DML hooks, run by
//! delta-merge (deletion vectors or copy-on-write, as the table says; one
//! commit; Delta's metrics in the commit). The plan runs the statement
//! when it is executed (never while it is planned or explained) and
//! produces one row: `count`, the rows deleted or updated.

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
    DisplayAs, DisplayFormatType, ExecutionPlan, Partitioning, PlanProperties,
    SendableRecordBatchStream,
};
use delta_txn::Table;

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
}

/// Runs one [`Statement`] when executed (see the module doc).
#[derive(Debug, Clone)]
pub struct DeltaDmlExec {
    table: Table,
    statement: Statement,
    properties: Arc<PlanProperties>,
}

impl DeltaDmlExec {
    /// The plan of `statement` on `table`.
    pub fn new(table: Table, statement: Statement) -> Self {
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
            properties,
        }
    }
}

/// Runs the statement; the rows it changed.
async fn run(table: Table, statement: Statement) -> Result<u64, DeltaDataFusionError> {
    let (outcome, metric) = match &statement {
        Statement::Delete { predicate } => (
            delta_merge::delete(&table, predicate.as_ref()).await?,
            "numDeletedRows",
        ),
        Statement::Update {
            predicate,
            assignments,
        } => (
            delta_merge::update(&table, predicate.as_ref(), assignments).await?,
            "numUpdatedRows",
        ),
    };
    Ok(outcome.metrics.get(metric).copied().unwrap_or(0))
}

impl DisplayAs for DeltaDmlExec {
    fn fmt_as(&self, _: DisplayFormatType, f: &mut fmt::Formatter) -> fmt::Result {
        let display = &self.table.location().display;
        let predicate = match &self.statement {
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
        Vec::new()
    }

    fn apply_expressions(
        &self,
        _f: &mut dyn FnMut(&Arc<dyn PhysicalExpr>) -> Result<TreeNodeRecursion>,
    ) -> Result<TreeNodeRecursion> {
        Ok(TreeNodeRecursion::Continue)
    }

    fn with_new_children(
        self: Arc<Self>,
        _children: Vec<Arc<dyn ExecutionPlan>>,
    ) -> Result<Arc<dyn ExecutionPlan>> {
        Ok(self)
    }

    fn execute(
        &self,
        partition: usize,
        _context: Arc<TaskContext>,
    ) -> Result<SendableRecordBatchStream> {
        if partition != 0 {
            return datafusion::common::internal_err!(
                "DeltaDmlExec has one partition, not {}",
                partition + 1
            );
        }
        let schema = self.schema();
        let (table, statement) = (self.table.clone(), self.statement.clone());
        let out = Arc::clone(&schema);
        let batch = futures::stream::once(async move {
            let count = run(table, statement).await?;
            Ok(RecordBatch::try_new(
                out,
                vec![Arc::new(UInt64Array::from(vec![count]))],
            )?)
        });
        Ok(Box::pin(RecordBatchStreamAdapter::new(schema, batch)))
    }
}
