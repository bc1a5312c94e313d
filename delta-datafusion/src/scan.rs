//! The scan of a Delta snapshot as a DataFusion `ExecutionPlan`: the files
//! the predicate cannot rule out, chosen once when the plan is made, in
//! groups of about equal size, one group per partition; each partition
//! reads its files through delta-txn's scan (column mapping, deletion
//! vectors, the predicate on rows).

use std::fmt;
use std::sync::Arc;

use arrow::array::{RecordBatch, RecordBatchOptions};
use arrow::datatypes::SchemaRef;
use datafusion::common::tree_node::TreeNodeRecursion;
use datafusion::common::{Result, Statistics};
use datafusion::execution::TaskContext;
use datafusion::physical_expr::{EquivalenceProperties, PhysicalExpr};
use datafusion::physical_plan::execution_plan::{Boundedness, EmissionType};
use datafusion::physical_plan::metrics::{ExecutionPlanMetricsSet, MetricBuilder, MetricsSet};
use datafusion::physical_plan::stream::RecordBatchStreamAdapter;
use datafusion::physical_plan::{
    DisplayAs, DisplayFormatType, ExecutionPlan, Partitioning, PlanProperties,
    SendableRecordBatchStream, StatisticsArgs,
};
use delta_txn::{SkipReport, Snapshot};
use futures::StreamExt;

use crate::df_error;

/// Row groups each partition decodes at once (DataFusion runs the
/// partitions in parallel already).
const DECODE_AHEAD: usize = 2;

/// What a [`DeltaScanExec`] is made of.
#[derive(Debug, Clone)]
pub struct DeltaScanParts {
    /// The snapshot read.
    pub snapshot: Snapshot,
    /// Columns read: the output's, then those only the predicate reads.
    pub columns: Vec<String>,
    /// How many of `columns` are output.
    pub output: usize,
    /// The predicate on rows.
    pub predicate: Option<delta_expr::Expr>,
    /// File indices (in the snapshot) of each partition.
    pub groups: Vec<Vec<usize>>,
    /// At most this many rows per partition.
    pub limit: Option<usize>,
    /// How the predicate narrowed the files.
    pub skipped: SkipReport,
}

/// A scan of some files of one snapshot (see the module doc).
#[derive(Debug, Clone)]
pub struct DeltaScanExec {
    snapshot: Snapshot,
    /// The output schema (the projection).
    schema: SchemaRef,
    /// Columns read: the projection's, then those only the predicate reads.
    columns: Vec<String>,
    /// How many of `columns` are output.
    output: usize,
    predicate: Option<delta_expr::Expr>,
    /// File indices of each partition.
    groups: Vec<Vec<usize>>,
    limit: Option<usize>,
    skipped: SkipReport,
    metrics: ExecutionPlanMetricsSet,
    properties: Arc<PlanProperties>,
}

impl DeltaScanExec {
    /// A scan of `snapshot` producing `projection` (column names, in
    /// order) of the rows `predicate` keeps, at most `limit` of them per
    /// partition, over at most `partitions` partitions.
    pub fn try_new(
        snapshot: Snapshot,
        projection: Vec<String>,
        predicate: Option<delta_expr::Expr>,
        limit: Option<usize>,
        partitions: usize,
    ) -> Result<Self> {
        let table_schema = snapshot.arrow_schema();
        for name in &projection {
            table_schema.field_with_name(name)?;
        }
        let mut columns = projection;
        let output = columns.len();
        if let Some(p) = &predicate {
            let bound =
                delta_expr::bind_predicate(p, snapshot.schema()).map_err(|e| df_error(e.into()))?;
            // paths as the schema spells them
            for path in bound.columns() {
                if !columns.contains(&path[0]) {
                    columns.push(path[0].clone());
                }
            }
        }
        // a count needs rows but no column: read the narrowest one
        if columns.is_empty()
            && let Some(first) = snapshot.schema().fields.first()
        {
            columns.push(first.name.clone());
        }
        let mut choose = snapshot.scan();
        if let Some(p) = &predicate {
            choose = choose.with_predicate(p.clone());
        }
        let skipped = choose.skip_report().map_err(df_error)?;
        let files = choose.chosen_files().map_err(df_error)?;
        let groups = balanced(&snapshot, files, partitions.max(1));
        Ok(DeltaScanExec::from_parts(DeltaScanParts {
            snapshot,
            columns,
            output,
            predicate,
            groups,
            limit,
            skipped,
        }))
    }

    /// A scan from its parts (as [`DeltaScanExec::parts`] gives them, in
    /// another process: a plan codec).
    pub fn from_parts(parts: DeltaScanParts) -> Self {
        let DeltaScanParts {
            snapshot,
            columns,
            output,
            predicate,
            groups,
            limit,
            skipped,
        } = parts;
        let table_schema = snapshot.arrow_schema();
        let fields: Vec<_> = columns[..output.min(columns.len())]
            .iter()
            .filter_map(|name| table_schema.field_with_name(name).ok().cloned())
            .collect();
        let schema = Arc::new(arrow::datatypes::Schema::new(fields));
        let metrics = ExecutionPlanMetricsSet::new();
        for (name, value) in [
            ("files_considered", skipped.considered),
            ("files_pruned_by_partition", skipped.pruned_by_partition),
            ("files_skipped_by_stats", skipped.skipped_by_stats),
            ("files_read", skipped.read),
        ] {
            MetricBuilder::new(&metrics).global_counter(name).add(value);
        }
        let properties = Arc::new(PlanProperties::new(
            EquivalenceProperties::new(Arc::clone(&schema)),
            Partitioning::UnknownPartitioning(groups.len()),
            EmissionType::Incremental,
            Boundedness::Bounded,
        ));
        DeltaScanExec {
            snapshot,
            schema,
            columns,
            output,
            predicate,
            groups,
            limit,
            skipped,
            metrics,
            properties,
        }
    }

    /// The parts of the scan (see [`DeltaScanExec::from_parts`]).
    pub fn parts(&self) -> DeltaScanParts {
        DeltaScanParts {
            snapshot: self.snapshot.clone(),
            columns: self.columns.clone(),
            output: self.output,
            predicate: self.predicate.clone(),
            groups: self.groups.clone(),
            limit: self.limit,
            skipped: self.skipped,
        }
    }

    /// Why files were or were not read.
    pub fn skip_report(&self) -> &SkipReport {
        &self.skipped
    }

    /// The snapshot's version.
    pub fn version(&self) -> u64 {
        self.snapshot.version()
    }
}

/// `files` in `n` groups (fewer when there are fewer files, at least one)
/// of about equal bytes, each in snapshot order.
fn balanced(snapshot: &Snapshot, mut files: Vec<usize>, n: usize) -> Vec<Vec<usize>> {
    let size = |i: &usize| snapshot.files().get(*i).map_or(0, |f| f.size());
    files.sort_by_key(|i| std::cmp::Reverse(size(i)));
    let mut groups: Vec<(i64, Vec<usize>)> = vec![(0, Vec::new()); n.min(files.len()).max(1)];
    for file in files {
        if let Some(lightest) = groups.iter_mut().min_by_key(|(bytes, _)| *bytes) {
            lightest.0 += size(&file);
            lightest.1.push(file);
        }
    }
    groups
        .into_iter()
        .map(|(_, mut g)| {
            g.sort_unstable();
            g
        })
        .collect()
}

impl DisplayAs for DeltaScanExec {
    fn fmt_as(&self, _: DisplayFormatType, f: &mut fmt::Formatter) -> fmt::Result {
        write!(
            f,
            "DeltaScanExec: version={}, files={} of {}, partitions={}",
            self.snapshot.version(),
            self.skipped.read,
            self.skipped.considered,
            self.groups.len()
        )?;
        if let Some(p) = &self.predicate {
            write!(f, ", predicate={p}")?;
        }
        if let Some(limit) = self.limit {
            write!(f, ", limit={limit}")?;
        }
        Ok(())
    }
}

impl ExecutionPlan for DeltaScanExec {
    fn name(&self) -> &str {
        "DeltaScanExec"
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
        let Some(files) = self.groups.get(partition) else {
            return datafusion::common::internal_err!(
                "DeltaScanExec has {} partitions, not {}",
                self.groups.len(),
                partition + 1
            );
        };
        let mut scan = self
            .snapshot
            .scan()
            .with_columns(self.columns.clone())
            .only_files(files.clone())
            .with_parallelism(DECODE_AHEAD);
        if let Some(p) = &self.predicate {
            scan = scan.with_predicate(p.clone());
        }
        let batches = scan.execute().map_err(df_error)?;
        let schema = Arc::clone(&self.schema);
        let output = self.output;
        let projected = batches
            .map(move |batch| {
                let batch = batch.map_err(df_error)?;
                let columns = batch.columns()[..output].to_vec();
                let options = RecordBatchOptions::new().with_row_count(Some(batch.num_rows()));
                Ok(RecordBatch::try_new_with_options(
                    Arc::clone(&schema),
                    columns,
                    &options,
                )?)
            })
            .scan(self.limit.unwrap_or(usize::MAX), |left, batch| {
                if *left == 0 {
                    return futures::future::ready(None);
                }
                let batch = batch.map(|b: RecordBatch| {
                    let keep = b.num_rows().min(*left);
                    *left -= keep;
                    b.slice(0, keep)
                });
                futures::future::ready(Some(batch))
            });
        Ok(Box::pin(RecordBatchStreamAdapter::new(
            Arc::clone(&self.schema),
            projected,
        )))
    }

    fn metrics(&self) -> Option<MetricsSet> {
        Some(self.metrics.clone_inner())
    }

    fn statistics_from_inputs(
        &self,
        _input_stats: &[Arc<Statistics>],
        args: &StatisticsArgs,
    ) -> Result<Arc<Statistics>> {
        let files: Vec<usize> = match args.partition() {
            Some(p) => self.groups.get(p).cloned().unwrap_or_default(),
            None => self.groups.concat(),
        };
        Ok(Arc::new(crate::statistics::of_files(
            &self.snapshot,
            &self.schema,
            &files,
            self.predicate.is_none() && self.limit.is_none(),
        )))
    }
}
