//! [`DeltaTable`]: one handle on one table, with a method (or a builder) for
//! each feature.

use arrow::array::RecordBatch;
use delta_check::{CheckOptions, RepairOutcome, Report};
use delta_log::CommitEntry;
use delta_schema::StructType;
use delta_txn::progress::NoProgress;
use delta_txn::{CommitOutcome, CreateOptions, SkipReport, Snapshot, Table};
use futures::future::BoxFuture;
use std::future::IntoFuture;

use crate::Error;
use crate::builders::{
    DeleteBuilder, MergeBuilder, OptimizeBuilder, RestoreBuilder, UpdateBuilder, VacuumBuilder,
    WriteBuilder,
};
use crate::error::parse;

/// A Delta table at a location (a local path, `file://`, `s3://`, `az://`,
/// `gs://`, `memory://`), with a method for each operation. Every write is
/// one atomic commit; reads see the latest version unless told otherwise.
///
/// Cloning is cheap: clones share the object store and the cached log state.
#[derive(Debug, Clone)]
pub struct DeltaTable {
    table: Table,
}

impl DeltaTable {
    /// Opens the table at `location`; fails when there is no Delta table.
    pub async fn open(location: &str) -> Result<DeltaTable, Error> {
        Ok(DeltaTable {
            table: Table::open(location).await?,
        })
    }

    /// A handle on `location` whether or not a table exists there yet: the
    /// first [`DeltaTable::write`] creates it.
    pub fn at(location: &str) -> Result<DeltaTable, Error> {
        Ok(DeltaTable {
            table: Table::at(location)?,
        })
    }

    /// Creates an empty table with `schema` at `location` (version 0); see
    /// [`CreateBuilder`] for partitioning and properties.
    pub fn create(location: &str, schema: StructType) -> CreateBuilder {
        CreateBuilder {
            location: location.to_string(),
            schema,
            options: CreateOptions::default(),
        }
    }

    /// The handle of the `delta-txn` crate, for everything this facade does
    /// not wrap (transactions, ALTER TABLE, log cleanup).
    pub fn inner(&self) -> &Table {
        &self.table
    }

    /// The latest snapshot: version, schema, files, properties.
    pub async fn snapshot(&self) -> Result<Snapshot, Error> {
        Ok(self.table.snapshot().await?)
    }

    /// The latest version.
    pub async fn version(&self) -> Result<u64, Error> {
        Ok(self.table.snapshot().await?.version())
    }

    /// The commits, newest first, at most `limit` of them (all when `None`).
    pub async fn history(&self, limit: Option<usize>) -> Result<Vec<CommitEntry>, Error> {
        Ok(self.table.history(limit).await?)
    }

    /// Reads rows: the latest version unless [`ScanBuilder::at_version`] or
    /// [`ScanBuilder::at_timestamp`] travels back.
    pub fn scan(&self) -> ScanBuilder<'_> {
        ScanBuilder {
            table: self,
            filter: None,
            columns: None,
            version: None,
            timestamp_ms: None,
        }
    }

    /// Writes `batches` as one commit (appends unless told otherwise),
    /// creating the table when there is none. The schema is the batches'
    /// (there must be at least one batch; it may be empty).
    pub fn write(&self, batches: impl IntoIterator<Item = RecordBatch>) -> WriteBuilder<'_> {
        WriteBuilder::new(&self.table, batches.into_iter().collect())
    }

    /// Deletes rows (all of them unless [`DeleteBuilder::filter`] says which).
    pub fn delete(&self) -> DeleteBuilder<'_> {
        DeleteBuilder::new(&self.table)
    }

    /// Updates rows: [`UpdateBuilder::set`] columns, optionally only where
    /// [`UpdateBuilder::filter`] holds.
    pub fn update(&self) -> UpdateBuilder<'_> {
        UpdateBuilder::new(&self.table)
    }

    /// Merges `source` into the table on the condition `on` (SQL over the
    /// aliases `target` and `source`), with the clauses added to the
    /// builder in order.
    pub fn merge(
        &self,
        source: impl IntoIterator<Item = RecordBatch>,
        on: &str,
    ) -> MergeBuilder<'_> {
        MergeBuilder::new(&self.table, source.into_iter().collect(), on)
    }

    /// Compacts small files (and Z-orders with [`OptimizeBuilder::zorder_by`]).
    pub fn optimize(&self) -> OptimizeBuilder<'_> {
        OptimizeBuilder::new(&self.table)
    }

    /// Deletes files no version inside the retention needs.
    pub fn vacuum(&self) -> VacuumBuilder<'_> {
        VacuumBuilder::new(&self.table)
    }

    /// Restores the table to an older version or time, as a new commit.
    pub fn restore(&self) -> RestoreBuilder<'_> {
        RestoreBuilder::new(&self.table)
    }

    /// Adds a CHECK constraint after checking every existing row.
    pub async fn add_constraint(
        &self,
        name: &str,
        expression: &str,
    ) -> Result<CommitOutcome, Error> {
        Ok(self.table.add_constraint(name, expression).await?)
    }

    /// Drops a CHECK constraint.
    pub async fn drop_constraint(&self, name: &str) -> Result<CommitOutcome, Error> {
        Ok(self.table.drop_constraint(name).await?)
    }

    /// The table as a DataFusion table provider (latest version at each
    /// statement): SELECT, INSERT, DELETE, UPDATE and MERGE INTO in SQL.
    pub async fn table_provider(&self) -> Result<delta_datafusion::DeltaTableProvider, Error> {
        Ok(delta_datafusion::DeltaTableProvider::latest(self.table.clone()).await?)
    }

    /// Checks the table's consistency (log, checkpoints, files, statistics);
    /// [`CheckBuilder::deep`] reads every data file too.
    pub fn check(&self) -> CheckBuilder<'_> {
        CheckBuilder {
            table: self,
            options: CheckOptions::default(),
        }
    }

    /// Applies the safe fixes a check's `report` calls for.
    pub async fn repair(&self, report: &Report) -> Result<RepairOutcome, Error> {
        Ok(delta_check::repair(&self.table, report).await?)
    }
}

/// Creates a table: [`DeltaTable::create`]. Await it.
#[derive(Debug)]
pub struct CreateBuilder {
    location: String,
    schema: StructType,
    options: CreateOptions,
}

impl CreateBuilder {
    /// Partitions the table by these columns, in order.
    pub fn partition_by(mut self, columns: impl IntoIterator<Item = impl Into<String>>) -> Self {
        self.options.partition_columns = columns.into_iter().map(Into::into).collect();
        self
    }

    /// Sets a table property (`delta.enableDeletionVectors`, `delta.appendOnly`,
    /// `delta.constraints.<name>`, or a key of your own).
    pub fn property(mut self, key: impl Into<String>, value: impl Into<String>) -> Self {
        self.options.properties.insert(key.into(), value.into());
        self
    }

    /// Names the table.
    pub fn name(mut self, name: impl Into<String>) -> Self {
        self.options.name = Some(name.into());
        self
    }

    async fn run(self) -> Result<DeltaTable, Error> {
        let (table, _) = Table::create(&self.location, &self.schema, self.options).await?;
        Ok(DeltaTable { table })
    }
}

impl IntoFuture for CreateBuilder {
    type Output = Result<DeltaTable, Error>;
    type IntoFuture = BoxFuture<'static, Self::Output>;
    fn into_future(self) -> Self::IntoFuture {
        Box::pin(self.run())
    }
}

/// Reads rows: [`DeltaTable::scan`]. Await it (or call
/// [`ScanBuilder::collect`]) for the batches.
#[derive(Debug)]
pub struct ScanBuilder<'a> {
    table: &'a DeltaTable,
    filter: Option<String>,
    columns: Option<Vec<String>>,
    version: Option<u64>,
    timestamp_ms: Option<i64>,
}

impl ScanBuilder<'_> {
    /// Only rows for which this SQL predicate is true. Files whose
    /// partition values or statistics rule it out are not read.
    pub fn filter(mut self, predicate: &str) -> Self {
        self.filter = Some(predicate.to_string());
        self
    }

    /// Only these columns, in this order.
    pub fn columns(mut self, columns: impl IntoIterator<Item = impl Into<String>>) -> Self {
        self.columns = Some(columns.into_iter().map(Into::into).collect());
        self
    }

    /// Time travel: the table as of this version.
    pub fn at_version(mut self, version: u64) -> Self {
        self.version = Some(version);
        self
    }

    /// Time travel: the table as of the latest version committed at or
    /// before this time (milliseconds since the epoch). A time before the
    /// first commit, or after the latest one, is an error
    /// (`LogError::TimestampNotAvailable`), as in Spark.
    pub fn at_timestamp(mut self, timestamp_ms: i64) -> Self {
        self.timestamp_ms = Some(timestamp_ms);
        self
    }

    /// The snapshot the scan reads.
    pub async fn snapshot(&self) -> Result<Snapshot, Error> {
        let table = &self.table.table;
        Ok(match (self.version, self.timestamp_ms) {
            (Some(_), Some(_)) => {
                return Err(delta_txn::TxnError::InvalidArgument {
                    reason: "time travel takes a version or a timestamp, not both".to_string(),
                }
                .into());
            }
            (Some(version), None) => table.snapshot_at(version).await?,
            (None, Some(ms)) => table.snapshot_at_timestamp(ms).await?,
            (None, None) => table.snapshot().await?,
        })
    }

    async fn plan(&self) -> Result<delta_txn::Scan, Error> {
        let mut scan = self.snapshot().await?.scan();
        if let Some(filter) = &self.filter {
            scan = scan.with_predicate(parse("the filter", filter)?);
        }
        if let Some(columns) = &self.columns {
            scan = scan.with_columns(columns.clone());
        }
        Ok(scan)
    }

    /// How the filter narrows the files (considered, pruned by partition,
    /// skipped by statistics, read), without reading any data file.
    pub async fn skip_report(&self) -> Result<SkipReport, Error> {
        Ok(self.plan().await?.skip_report()?)
    }

    /// Every matching row.
    pub async fn collect(self) -> Result<Vec<RecordBatch>, Error> {
        Ok(self.plan().await?.collect().await?)
    }
}

impl<'a> IntoFuture for ScanBuilder<'a> {
    type Output = Result<Vec<RecordBatch>, Error>;
    type IntoFuture = BoxFuture<'a, Self::Output>;
    fn into_future(self) -> Self::IntoFuture {
        Box::pin(self.collect())
    }
}

/// Checks a table: [`DeltaTable::check`]. Await it for the report; the
/// check itself never fails (what cannot be read is a finding).
#[derive(Debug)]
pub struct CheckBuilder<'a> {
    table: &'a DeltaTable,
    options: CheckOptions,
}

impl CheckBuilder<'_> {
    /// Also read every active file: row counts, statistics, deletion
    /// vectors, schema, constraints.
    pub fn deep(mut self) -> Self {
        self.options.deep = true;
        self
    }

    /// Do not list the directory for files no version references.
    pub fn without_orphans(mut self) -> Self {
        self.options.orphans = false;
        self
    }
}

impl<'a> IntoFuture for CheckBuilder<'a> {
    type Output = Report;
    type IntoFuture = BoxFuture<'a, Report>;
    fn into_future(self) -> Self::IntoFuture {
        Box::pin(
            async move { delta_check::check(&self.table.table, &self.options, &NoProgress).await },
        )
    }
}
