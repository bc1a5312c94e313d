//! The builders of the operations that change a table. Each collects its
//! options and runs when awaited; an expression given as SQL text that does
//! not parse fails the operation before anything is read or written.

use std::future::IntoFuture;

use arrow::array::RecordBatch;
use delta_expr::Expr;
use delta_merge::{Clause, DmlOutcome, Merge, MergeError};
use delta_optimize::{
    OptimizeOptions, OptimizeOutcome, RestoreOutcome, RestoreTarget, VacuumOptions, VacuumOutcome,
};
use delta_txn::progress::NoProgress;
use delta_txn::{CommitOutcome, SaveMode, Table, TxnError, WriteOptions};
use futures::future::BoxFuture;

use crate::Error;
use crate::error::parse;

/// Makes a builder awaitable: awaiting it runs its `run` method.
macro_rules! awaitable {
    ($builder:ident, $output:ty) => {
        impl<'a> IntoFuture for $builder<'a> {
            type Output = Result<$output, Error>;
            type IntoFuture = BoxFuture<'a, Self::Output>;
            fn into_future(self) -> Self::IntoFuture {
                Box::pin(self.run())
            }
        }
    };
}

/// The first error among a builder's parsed arguments, reported when it runs.
#[derive(Debug, Default)]
struct FirstError(Option<Error>);

impl FirstError {
    /// The value, or `None` after keeping the error (the first one only).
    fn keep<T>(&mut self, result: Result<T, Error>) -> Option<T> {
        match result {
            Ok(value) => Some(value),
            Err(e) => {
                self.0.get_or_insert(e);
                None
            }
        }
    }

    fn check(self) -> Result<(), Error> {
        self.0.map_or(Ok(()), Err)
    }
}

/// `(column, SQL expression)` pairs, parsed.
fn assignments(
    errors: &mut FirstError,
    what: &str,
    pairs: impl IntoIterator<Item = (impl Into<String>, impl AsRef<str>)>,
) -> Vec<(String, Expr)> {
    pairs
        .into_iter()
        .filter_map(|(column, sql)| {
            let column = column.into();
            let what = format!("{what} of '{column}'");
            errors.keep(parse(&what, sql.as_ref())).map(|e| (column, e))
        })
        .collect()
}

/// Writes rows: [`crate::DeltaTable::write`]. Await it for the commit.
#[derive(Debug)]
pub struct WriteBuilder<'a> {
    table: &'a Table,
    batches: Vec<RecordBatch>,
    options: WriteOptions,
    errors: FirstError,
}

impl<'a> WriteBuilder<'a> {
    pub(crate) fn new(table: &'a Table, batches: Vec<RecordBatch>) -> Self {
        WriteBuilder {
            table,
            batches,
            options: WriteOptions::default(),
            errors: FirstError::default(),
        }
    }

    /// Append (the default) or overwrite.
    pub fn mode(mut self, mode: SaveMode) -> Self {
        self.options.mode = mode;
        self
    }

    /// Adds the batches' new columns to the table schema (schema
    /// evolution); without it a write whose schema differs is refused.
    pub fn merge_schema(mut self) -> Self {
        self.options.merge_schema = true;
        self
    }

    /// With [`SaveMode::Overwrite`]: replace the schema (and partitioning)
    /// by the batches'.
    pub fn overwrite_schema(mut self) -> Self {
        self.options.overwrite_schema = true;
        self
    }

    /// Partition columns when the write creates the table.
    pub fn partition_by(mut self, columns: impl IntoIterator<Item = impl Into<String>>) -> Self {
        self.options.partition_by = Some(columns.into_iter().map(Into::into).collect());
        self
    }

    /// Overwrites only the rows where this SQL predicate holds (Delta's
    /// replaceWhere); every written row must satisfy it.
    pub fn replace_where(mut self, predicate: &str) -> Self {
        self.options.mode = SaveMode::Overwrite;
        self.options.replace_where = self.errors.keep(parse("replaceWhere", predicate));
        self
    }

    /// Idempotent write: skipped when the table has already seen this
    /// version (or a later one) for this application id.
    pub fn app_transaction(mut self, app_id: impl Into<String>, version: i64) -> Self {
        self.options.app_transaction = Some((app_id.into(), version));
        self
    }

    async fn run(self) -> Result<CommitOutcome, Error> {
        self.errors.check()?;
        let Some(first) = self.batches.first() else {
            return Err(TxnError::InvalidArgument {
                reason: "a write needs at least one batch (it may be empty): it carries the schema"
                    .to_string(),
            }
            .into());
        };
        let schema = first.schema();
        let rows = futures::stream::iter(self.batches.into_iter().map(Ok));
        Ok(self.table.write(schema, rows, self.options).await?)
    }
}

awaitable!(WriteBuilder, CommitOutcome);

/// Deletes rows: [`crate::DeltaTable::delete`].
#[derive(Debug)]
pub struct DeleteBuilder<'a> {
    table: &'a Table,
    predicate: Option<Expr>,
    errors: FirstError,
}

impl<'a> DeleteBuilder<'a> {
    pub(crate) fn new(table: &'a Table) -> Self {
        DeleteBuilder {
            table,
            predicate: None,
            errors: FirstError::default(),
        }
    }

    /// Only the rows where this SQL predicate is true.
    pub fn filter(mut self, predicate: &str) -> Self {
        self.predicate = self.errors.keep(parse("the DELETE filter", predicate));
        self
    }

    async fn run(self) -> Result<DmlOutcome, Error> {
        self.errors.check()?;
        Ok(delta_merge::delete(self.table, self.predicate.as_ref()).await?)
    }
}

awaitable!(DeleteBuilder, DmlOutcome);

/// Updates rows: [`crate::DeltaTable::update`].
#[derive(Debug)]
pub struct UpdateBuilder<'a> {
    table: &'a Table,
    predicate: Option<Expr>,
    set: Vec<(String, Expr)>,
    errors: FirstError,
}

impl<'a> UpdateBuilder<'a> {
    pub(crate) fn new(table: &'a Table) -> Self {
        UpdateBuilder {
            table,
            predicate: None,
            set: Vec::new(),
            errors: FirstError::default(),
        }
    }

    /// Sets `column` to the SQL `expression` over the row before the update.
    pub fn set(mut self, column: &str, expression: &str) -> Self {
        let parsed = assignments(&mut self.errors, "the value", [(column, expression)]);
        self.set.extend(parsed);
        self
    }

    /// Only the rows where this SQL predicate is true.
    pub fn filter(mut self, predicate: &str) -> Self {
        self.predicate = self.errors.keep(parse("the UPDATE filter", predicate));
        self
    }

    async fn run(self) -> Result<DmlOutcome, Error> {
        self.errors.check()?;
        Ok(delta_merge::update(self.table, self.predicate.as_ref(), &self.set).await?)
    }
}

awaitable!(UpdateBuilder, DmlOutcome);

/// Merges a source into the table: [`crate::DeltaTable::merge`]. Clauses
/// apply in the order they are added; the first whose condition holds wins.
#[derive(Debug)]
pub struct MergeBuilder<'a> {
    table: &'a Table,
    merge: Option<Merge>,
    errors: FirstError,
}

impl<'a> MergeBuilder<'a> {
    pub(crate) fn new(table: &'a Table, source: Vec<RecordBatch>, on: &str) -> Self {
        let mut errors = FirstError::default();
        let merge = match source.first() {
            Some(first) => {
                let schema = first.schema();
                errors
                    .keep(parse("the ON condition", on))
                    .map(|on| Merge::new(schema, source, on))
            }
            None => {
                errors.keep::<()>(Err(MergeError::Invalid {
                    operation: "MERGE",
                    reason: "a MERGE needs at least one source batch (it may be empty): it \
                             carries the source schema"
                        .to_string(),
                }
                .into()));
                None
            }
        };
        MergeBuilder {
            table,
            merge,
            errors,
        }
    }

    fn clause(mut self, clause: Clause) -> Self {
        self.merge = self.merge.map(|m| m.when(clause));
        self
    }

    /// Adds a clause of any kind, with a condition if it has one.
    pub fn when(self, clause: Clause) -> Self {
        self.clause(clause)
    }

    /// WHEN MATCHED THEN UPDATE SET * (every target column from the source
    /// column of its name).
    pub fn when_matched_update_all(self) -> Self {
        self.clause(Clause::MatchedUpdateAll { condition: None })
    }

    /// WHEN MATCHED THEN UPDATE SET column = expression, ...
    pub fn when_matched_update<C: Into<String>, S: AsRef<str>>(
        mut self,
        set: impl IntoIterator<Item = (C, S)>,
    ) -> Self {
        let set = assignments(&mut self.errors, "the MERGE value", set);
        self.clause(Clause::MatchedUpdate {
            condition: None,
            set,
        })
    }

    /// WHEN MATCHED THEN DELETE.
    pub fn when_matched_delete(self) -> Self {
        self.clause(Clause::MatchedDelete { condition: None })
    }

    /// WHEN NOT MATCHED THEN INSERT * (every source column).
    pub fn when_not_matched_insert_all(self) -> Self {
        self.clause(Clause::NotMatchedInsertAll { condition: None })
    }

    /// WHEN NOT MATCHED BY SOURCE THEN DELETE (target rows no source row
    /// matches).
    pub fn when_not_matched_by_source_delete(self) -> Self {
        self.clause(Clause::NotMatchedBySourceDelete { condition: None })
    }

    /// Names the two sides in expressions (default `target` and `source`).
    pub fn aliases(mut self, target: &str, source: &str) -> Self {
        self.merge = self.merge.map(|m| m.with_aliases(target, source));
        self
    }

    /// Adds source columns the target lacks to its schema.
    pub fn merge_schema(mut self) -> Self {
        self.merge = self.merge.map(|m| m.with_merge_schema(true));
        self
    }

    async fn run(self) -> Result<DmlOutcome, Error> {
        self.errors.check()?;
        // without a source the builder kept an error, returned above
        let Some(merge) = self.merge else {
            return Err(MergeError::Invalid {
                operation: "MERGE",
                reason: "the MERGE has no source".to_string(),
            }
            .into());
        };
        Ok(delta_merge::merge(self.table, merge).await?)
    }
}

awaitable!(MergeBuilder, DmlOutcome);

/// Compacts files: [`crate::DeltaTable::optimize`].
#[derive(Debug)]
pub struct OptimizeBuilder<'a> {
    table: &'a Table,
    options: OptimizeOptions,
    errors: FirstError,
}

impl<'a> OptimizeBuilder<'a> {
    pub(crate) fn new(table: &'a Table) -> Self {
        OptimizeBuilder {
            table,
            options: OptimizeOptions::default(),
            errors: FirstError::default(),
        }
    }

    /// Packs files toward this size in bytes (default: the table's
    /// `delta.targetFileSize`, else 1 GiB).
    pub fn target_size(mut self, bytes: u64) -> Self {
        self.options.target_size = Some(bytes);
        self
    }

    /// Rewrites every file with its rows in Z-order over these columns, so
    /// that a filter on any of them skips more files.
    pub fn zorder_by(mut self, columns: impl IntoIterator<Item = impl Into<String>>) -> Self {
        self.options.zorder_by = columns.into_iter().map(Into::into).collect();
        self
    }

    /// Only the partitions where this SQL predicate (on partition columns)
    /// holds.
    pub fn filter(mut self, predicate: &str) -> Self {
        self.options.predicate = self.errors.keep(parse("the OPTIMIZE filter", predicate));
        self
    }

    async fn run(self) -> Result<OptimizeOutcome, Error> {
        self.errors.check()?;
        let progress = NoProgress;
        Ok(delta_optimize::optimize(self.table, self.options, &progress).await?)
    }
}

awaitable!(OptimizeBuilder, OptimizeOutcome);

/// Deletes unreferenced files: [`crate::DeltaTable::vacuum`].
#[derive(Debug)]
pub struct VacuumBuilder<'a> {
    table: &'a Table,
    options: VacuumOptions,
}

impl<'a> VacuumBuilder<'a> {
    pub(crate) fn new(table: &'a Table) -> Self {
        VacuumBuilder {
            table,
            options: VacuumOptions::default(),
        }
    }

    /// Keeps files removed less than this many hours ago (default: the
    /// table's `delta.deletedFileRetentionDuration`, 7 days).
    pub fn retention_hours(mut self, hours: u64) -> Self {
        self.options.retention_hours = Some(hours);
        self
    }

    /// Lists what would be deleted; deletes nothing.
    pub fn dry_run(mut self) -> Self {
        self.options.dry_run = true;
        self
    }

    /// Allows a retention shorter than the table's (readers of older
    /// versions may then fail).
    pub fn force(mut self) -> Self {
        self.options.force = true;
        self
    }

    async fn run(self) -> Result<VacuumOutcome, Error> {
        Ok(delta_optimize::vacuum(self.table, self.options).await?)
    }
}

awaitable!(VacuumBuilder, VacuumOutcome);

/// Restores an older state: [`crate::DeltaTable::restore`]. Say which with
/// [`RestoreBuilder::to_version`] or [`RestoreBuilder::to_timestamp`].
#[derive(Debug)]
pub struct RestoreBuilder<'a> {
    table: &'a Table,
    target: Option<RestoreTarget>,
}

impl<'a> RestoreBuilder<'a> {
    pub(crate) fn new(table: &'a Table) -> Self {
        RestoreBuilder {
            table,
            target: None,
        }
    }

    /// The state of this version.
    pub fn to_version(mut self, version: u64) -> Self {
        self.target = Some(RestoreTarget::Version(version));
        self
    }

    /// The state of the latest version committed at or before this time
    /// (milliseconds since the epoch); a time before the first commit or
    /// after the latest one is an error.
    pub fn to_timestamp(mut self, timestamp_ms: i64) -> Self {
        self.target = Some(RestoreTarget::Timestamp(timestamp_ms));
        self
    }

    async fn run(self) -> Result<RestoreOutcome, Error> {
        let Some(target) = self.target else {
            return Err(TxnError::InvalidArgument {
                reason: "RESTORE needs a version or a timestamp".to_string(),
            }
            .into());
        };
        Ok(delta_optimize::restore(self.table, target).await?)
    }
}

awaitable!(RestoreBuilder, RestoreOutcome);
