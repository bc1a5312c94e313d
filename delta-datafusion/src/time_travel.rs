//! Time travel in SQL: `t VERSION AS OF 3`, `t TIMESTAMP AS OF '2024-05-01
//! 10:00:00'` and `t FOR SYSTEM_TIME AS OF ...` read the Delta table `t`
//! at that version (for a timestamp: the latest version committed at or
//! before it, as Delta on Spark does).
//!
//! DataFusion's own planner ignores these clauses (it would answer with
//! the latest version), so [`TimeTravelPlanner`] plans every relation that
//! has one: a Delta table is read pinned to the snapshot asked for, and
//! any other table is refused. [`enable_time_travel`] registers it. The
//! clauses parse only in the dialects that have them (Databricks, that is
//! Spark SQL, and BigQuery, MsSql, Snowflake; set
//! `datafusion.sql_parser.dialect`); in DataFusion's default Generic
//! dialect they are a parse error. The dialect is left as the session has
//! it: switching it would change what other text means (in Spark SQL,
//! `"name"` is a string, not a column).
//!
//! A relation planner is synchronous and loading a snapshot is not: the
//! snapshot is loaded on the caller's Tokio runtime where it has worker
//! threads to spare (`block_in_place`), else on a runtime of its own in a
//! helper thread (the caller's runtime waits meanwhile; prefer a
//! multi-thread runtime for tables on object stores, whose connections are
//! tied to the runtime that opened them).

use std::sync::Arc;

use arrow::datatypes::{DataType, TimeUnit};
use datafusion::common::{DFSchema, Result, ScalarValue};
use datafusion::datasource::{provider_as_source, source_as_provider};
use datafusion::logical_expr::planner::{
    PlannedRelation, RelationPlanner, RelationPlannerContext, RelationPlanning,
};
use datafusion::logical_expr::simplify::SimplifyContext;
use datafusion::logical_expr::{Expr, LogicalPlanBuilder, cast};
use datafusion::optimizer::simplify_expressions::ExprSimplifier;
use datafusion::prelude::SessionContext;
use datafusion::sql::sqlparser::ast::{self, TableFactor, TableVersion};
use delta_txn::{Snapshot, Table};

use crate::{DeltaDataFusionError, DeltaTableProvider};

/// Plans relations with a version clause (see the module doc).
#[derive(Debug, Default, Clone, Copy)]
pub struct TimeTravelPlanner;

/// The version a clause asks for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum AsOf {
    Version(u64),
    /// Milliseconds since the epoch.
    Timestamp(i64),
}

/// Registers [`TimeTravelPlanner`] on `ctx` (the clauses parse in the
/// dialects that have them, see the module doc).
pub fn enable_time_travel(ctx: &SessionContext) -> Result<()> {
    ctx.register_relation_planner(Arc::new(TimeTravelPlanner))
}

impl RelationPlanner for TimeTravelPlanner {
    fn plan_relation(
        &self,
        relation: TableFactor,
        context: &mut dyn RelationPlannerContext,
    ) -> Result<RelationPlanning> {
        let TableFactor::Table {
            name,
            alias,
            version: Some(version),
            ..
        } = &relation
        else {
            return Ok(RelationPlanning::Original(Box::new(relation)));
        };
        let reference = context.object_name_to_table_reference(name.clone())?;
        let source = context
            .context_provider()
            .get_table_source(reference.clone())?;
        let provider = source_as_provider(&source)?;
        let Some(delta) = provider.downcast_ref::<DeltaTableProvider>() else {
            return Err(DeltaDataFusionError::Unsupported {
                what: format!("{version} on '{reference}', which is not a Delta table"),
            }
            .into());
        };
        let as_of = as_of(version, context)?;
        let table = delta.table().clone();
        let snapshot = load(table.clone(), as_of)?;
        let pinned = DeltaTableProvider::at(table, snapshot);
        let plan = LogicalPlanBuilder::scan(reference, provider_as_source(Arc::new(pinned)), None)?
            .build()?;
        Ok(RelationPlanning::Planned(Box::new(PlannedRelation::new(
            plan,
            alias.clone(),
        ))))
    }
}

/// The version or timestamp a clause names.
fn as_of(version: &TableVersion, context: &mut dyn RelationPlannerContext) -> Result<AsOf> {
    let unsupported = || -> datafusion::error::DataFusionError {
        DeltaDataFusionError::Unsupported {
            what: format!("the time-travel clause '{version}' on a Delta table"),
        }
        .into()
    };
    match version {
        TableVersion::VersionAsOf(ast::Expr::Value(value)) => match &value.value {
            ast::Value::Number(n, _) => n.parse::<u64>().map(AsOf::Version).map_err(|_| {
                DeltaDataFusionError::Unsupported {
                    what: format!("VERSION AS OF {n} (a version is a whole number, 0 or more)"),
                }
                .into()
            }),
            _ => Err(unsupported()),
        },
        TableVersion::TimestampAsOf(e) | TableVersion::ForSystemTimeAsOf(e) => {
            let expr = context.sql_to_expr(e.clone(), &DFSchema::empty())?;
            timestamp_ms(expr).map(AsOf::Timestamp).ok_or_else(|| {
                DeltaDataFusionError::Unsupported {
                    what: format!(
                        "'{version}': the timestamp must be a constant (e.g. '2024-05-01 10:00:00', UTC unless it has a zone)"
                    ),
                }
                .into()
            })
        }
        _ => Err(unsupported()),
    }
}

/// A constant expression as milliseconds since the epoch (UTC).
fn timestamp_ms(expr: Expr) -> Option<i64> {
    let utc = DataType::Timestamp(TimeUnit::Millisecond, Some("UTC".into()));
    let context = SimplifyContext::builder().with_current_time().build();
    match ExprSimplifier::new(context)
        .simplify(cast(expr, utc))
        .ok()?
    {
        Expr::Literal(ScalarValue::TimestampMillisecond(Some(ms), _), _) => Some(ms),
        _ => None,
    }
}

/// Loads the snapshot `as_of` names, from synchronous code (see the module
/// doc).
fn load(table: Table, as_of: AsOf) -> Result<Snapshot> {
    let load = async move {
        match as_of {
            AsOf::Version(v) => table.snapshot_at(v).await,
            AsOf::Timestamp(ms) => table.snapshot_at_timestamp(ms).await,
        }
    };
    let runtime = |reason: String| DeltaDataFusionError::Runtime { reason };
    let loaded: Result<Snapshot, DeltaDataFusionError> = match tokio::runtime::Handle::try_current()
    {
        Ok(handle) if handle.runtime_flavor() == tokio::runtime::RuntimeFlavor::MultiThread => {
            tokio::task::block_in_place(|| handle.block_on(load)).map_err(DeltaDataFusionError::Txn)
        }
        _ => std::thread::scope(|scope| {
            scope
                .spawn(|| {
                    tokio::runtime::Builder::new_current_thread()
                        .enable_all()
                        .build()
                        .map_err(|e| {
                            runtime(format!("starting a runtime to load a snapshot: {e}"))
                        })?
                        .block_on(load)
                        .map_err(DeltaDataFusionError::Txn)
                })
                .join()
                .unwrap_or_else(|_| Err(runtime("loading the snapshot panicked".to_string())))
        }),
    };
    Ok(loaded?)
}
