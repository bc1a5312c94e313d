//! The scan of a Delta snapshot as a DataFusion `ExecutionPlan`: the files
//! the predicate cannot rule out, chosen once when the plan is made, in
//! groups of about equal size, one group per partition; each partition
//! reads its files through delta-txn's scan (column mapping, deletion
//! vectors, the predicate on rows).
//!
//! Which group a partition reads comes from the scan's one child: an
//! in-memory source whose partition `i` holds the number of the group it
//! stands for (made with the scan, so at first partition `i` reads group
//! `i`). A distributed engine that runs a stage's partitions as separate
//! tasks restricts each task's copy of the plan to its partitions by
//! rewriting the leaves it knows (Ballista does so), and an in-memory
//! source is one of them: restricted to partitions `[5, 9]`, the child
//! holds the numbers 5 and 9, and the scan's partitions 0 and 1 read those
//! groups. A scan that were itself the leaf would be left whole, and every
//! task would read every file.

use std::fmt;
use std::sync::Arc;

use arrow::array::{AsArray, RecordBatch, RecordBatchOptions, UInt32Array};
use arrow::datatypes::{DataType, Field, Schema, SchemaRef, UInt32Type};
use datafusion::common::tree_node::TreeNodeRecursion;
use datafusion::common::{Result, Statistics, internal_datafusion_err};
use datafusion::datasource::memory::MemorySourceConfig;
use datafusion::datasource::source::DataSourceExec;
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
    /// The numbers of the groups the partitions read (see the module doc).
    groups_read: Arc<dyn ExecutionPlan>,
    metrics: ExecutionPlanMetricsSet,
    properties: Arc<PlanProperties>,
}

/// The name of the one column of a scan's child.
const GROUP: &str = "delta_scan_group";

/// The child of a scan of `groups` groups: partition `i` holds `i`.
fn group_numbers(groups: usize) -> Result<Arc<dyn ExecutionPlan>> {
    let schema = Arc::new(Schema::new(vec![Field::new(
        GROUP,
        DataType::UInt32,
        false,
    )]));
    let partitions = (0..groups)
        .map(|g| {
            let number = u32::try_from(g)
                .map_err(|_| internal_datafusion_err!("a scan of {groups} partitions"))?;
            Ok(vec![RecordBatch::try_new(
                Arc::clone(&schema),
                vec![Arc::new(UInt32Array::from(vec![number]))],
            )?])
        })
        .collect::<Result<Vec<_>>>()?;
    let source = MemorySourceConfig::try_new(&partitions, schema, None)?;
    Ok(DataSourceExec::from_data_source(source))
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
        DeltaScanExec::from_parts(DeltaScanParts {
            snapshot,
            columns,
            output,
            predicate,
            groups,
            limit,
            skipped,
        })
    }

    /// A scan from its parts (as [`DeltaScanExec::parts`] gives them, in
    /// another process: a plan codec), whose partition `i` reads group `i`
    /// (see [`DeltaScanExec::reading`]).
    pub fn from_parts(parts: DeltaScanParts) -> Result<Self> {
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
        let metrics = counters(&skipped, true);
        let groups_read = group_numbers(groups.len())?;
        Ok(DeltaScanExec {
            properties: properties(&schema, &groups_read),
            snapshot,
            schema,
            columns,
            output,
            predicate,
            groups,
            limit,
            skipped,
            groups_read,
            metrics,
        })
    }

    /// The scan whose partitions read the groups `groups_read` names (see
    /// the module doc): a restricted copy of its child.
    pub fn reading(mut self, groups_read: Arc<dyn ExecutionPlan>) -> Self {
        self.properties = properties(&self.schema, &groups_read);
        self.groups_read = groups_read;
        let reads_first = (0..self.properties.partitioning.partition_count())
            .any(|p| self.groups_of(p).is_ok_and(|g| g.contains(&0)));
        self.metrics = counters(&self.skipped, reads_first);
        self
    }

    /// The groups partition `partition` reads (see the module doc).
    pub fn groups_of(&self, partition: usize) -> Result<Vec<usize>> {
        let source = self
            .groups_read
            .downcast_ref::<DataSourceExec>()
            .and_then(|e| {
                let source: &dyn std::any::Any = e.data_source().as_ref();
                source.downcast_ref::<MemorySourceConfig>()
            })
            .ok_or_else(|| {
                internal_datafusion_err!(
                    "the child of a DeltaScanExec must be the in-memory source of its group numbers, not {}",
                    self.groups_read.name()
                )
            })?;
        let batches = source.partitions().get(partition).ok_or_else(|| {
            internal_datafusion_err!(
                "DeltaScanExec has {} partitions, not {}",
                source.partitions().len(),
                partition + 1
            )
        })?;
        let mut groups = Vec::new();
        for batch in batches {
            let numbers = batch
                .column_by_name(GROUP)
                .and_then(|c| c.as_primitive_opt::<UInt32Type>())
                .ok_or_else(|| internal_datafusion_err!("no group numbers in a scan's child"))?;
            for &g in numbers.values() {
                if g as usize >= self.groups.len() {
                    return Err(internal_datafusion_err!(
                        "a scan of {} groups asked for group {g}",
                        self.groups.len()
                    ));
                }
                groups.push(g as usize);
            }
        }
        Ok(groups)
    }

    /// The files partition `partition` reads (indices in the snapshot).
    fn files_of(&self, partition: usize) -> Result<Vec<usize>> {
        Ok(self
            .groups_of(partition)?
            .iter()
            .flat_map(|&g| self.groups[g].iter().copied())
            .collect())
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

/// The scan's file counters, with their values in the copy of the scan
/// that reads group 0 and zero in the others: a distributed engine adds up
/// the metrics of every task's copy, and each group is in one copy.
fn counters(skipped: &SkipReport, reported: bool) -> ExecutionPlanMetricsSet {
    let metrics = ExecutionPlanMetricsSet::new();
    for (name, value) in [
        ("files_considered", skipped.considered),
        ("files_pruned_by_partition", skipped.pruned_by_partition),
        ("files_skipped_by_stats", skipped.skipped_by_stats),
        ("files_read", skipped.read),
    ] {
        let value = if reported { value } else { 0 };
        MetricBuilder::new(&metrics).global_counter(name).add(value);
    }
    metrics
}

/// The properties of a scan with this output whose partitions are those of
/// `groups_read`.
fn properties(schema: &SchemaRef, groups_read: &Arc<dyn ExecutionPlan>) -> Arc<PlanProperties> {
    Arc::new(PlanProperties::new(
        EquivalenceProperties::new(Arc::clone(schema)),
        Partitioning::UnknownPartitioning(groups_read.properties().partitioning.partition_count()),
        EmissionType::Incremental,
        Boundedness::Bounded,
    ))
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
            self.properties.partitioning.partition_count()
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
        vec![&self.groups_read]
    }

    fn benefits_from_input_partitioning(&self) -> Vec<bool> {
        // the child's partitions are the scan's: never repartition them
        vec![false]
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
        let [groups_read] = <[_; 1]>::try_from(children).map_err(|c| {
            internal_datafusion_err!("DeltaScanExec has one child, not {}", c.len())
        })?;
        Ok(Arc::new((*self).clone().reading(groups_read)))
    }

    fn execute(
        &self,
        partition: usize,
        _context: Arc<TaskContext>,
    ) -> Result<SendableRecordBatchStream> {
        let files = self.files_of(partition)?;
        let mut scan = self
            .snapshot
            .scan()
            .with_columns(self.columns.clone())
            .only_files(files)
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
            Some(p) => self.files_of(p)?,
            None => (0..self.properties.partitioning.partition_count())
                .map(|p| self.files_of(p))
                .collect::<Result<Vec<_>>>()?
                .concat(),
        };
        Ok(Arc::new(crate::statistics::of_files(
            &self.snapshot,
            &self.schema,
            &files,
            self.predicate.is_none() && self.limit.is_none(),
        )))
    }
}
