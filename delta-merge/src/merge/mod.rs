//! MERGE INTO target USING source ON condition WHEN ... (Delta's semantics).
//!
//! Rows are matched with a hash join on the equalities of the ON condition
//! between a target and a source expression (the rest of the condition is
//! checked on each candidate pair); NULL keys never match. The source is
//! held in memory up to a budget, beyond it spilled in key partitions and
//! joined in passes ([`crate::source`]); target files are read one at a
//! time, only those whose
//! statistics can hold a key in the source's key range (every file when a
//! NOT MATCHED BY SOURCE clause exists). Expressions see a row as two
//! structs, the target's and the source's columns under their aliases;
//! unqualified names are qualified by the side that has them (a name both
//! sides have is ambiguous).
//!
//! Clauses apply in order, the first whose condition holds wins. A target
//! row matched by several source rows is an error when a matched clause
//! could change it (an insert-only merge allows them). Files with changed
//! rows are rewritten (a file's rows are held only until its first changed
//! row, then streamed), or, with deletion vectors, the changed rows are
//! marked and their new versions written.

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::sync::Arc;

use arrow::array::{Array, RecordBatch, UInt32Array};
use arrow::compute::concat_batches;
use arrow::datatypes::{DataType as ArrowType, SchemaRef};
use arrow::row::{RowConverter, SortField};
use delta_expr::{Bound, Expr, bind_predicate};
use delta_schema::{StructType, add_source_columns};
use delta_txn::constraints::Constraints;
use delta_txn::enforce::Conformer;
use delta_txn::rewrite::data_writer;
use delta_txn::{Snapshot, Table, Transaction, TxnError, evolve_schema, now_ms};
use futures::StreamExt;
use futures::stream::BoxStream;
use roaring::RoaringTreemap;

use crate::assign::Assignment;
use crate::delete::{finish, refuse_change_data};
use crate::keys::{KeyValues, SourceKeys, all_valid, partitions};
use crate::mark::{mark_deleted, remove_files, uses_deletion_vectors};
use crate::source::{DEFAULT_MEMORY_BUDGET, MergeSource, PARTITIONS, gather};
use crate::{DmlOutcome, MergeError};

const OPERATION: &str = "MERGE";

/// One WHEN clause; each has an optional condition.
#[derive(Debug, Clone)]
pub enum Clause {
    /// `WHEN MATCHED [AND cond] THEN UPDATE SET col = expr, ...`.
    MatchedUpdate {
        /// The clause's condition.
        condition: Option<Expr>,
        /// Target column and new value.
        set: Vec<(String, Expr)>,
    },
    /// `WHEN MATCHED [AND cond] THEN UPDATE SET *`: every target column
    /// from the source column of the same name.
    MatchedUpdateAll {
        /// The clause's condition.
        condition: Option<Expr>,
    },
    /// `WHEN MATCHED [AND cond] THEN DELETE`.
    MatchedDelete {
        /// The clause's condition.
        condition: Option<Expr>,
    },
    /// `WHEN NOT MATCHED [AND cond] THEN INSERT (cols) VALUES (exprs)`
    /// (columns left out are null).
    NotMatchedInsert {
        /// The clause's condition (over source columns).
        condition: Option<Expr>,
        /// Target column and value (over source columns).
        values: Vec<(String, Expr)>,
    },
    /// `WHEN NOT MATCHED [AND cond] THEN INSERT *`.
    NotMatchedInsertAll {
        /// The clause's condition (over source columns).
        condition: Option<Expr>,
    },
    /// `WHEN NOT MATCHED BY SOURCE [AND cond] THEN UPDATE SET ...`.
    NotMatchedBySourceUpdate {
        /// The clause's condition (over target columns).
        condition: Option<Expr>,
        /// Target column and new value (over target columns).
        set: Vec<(String, Expr)>,
    },
    /// `WHEN NOT MATCHED BY SOURCE [AND cond] THEN DELETE`.
    NotMatchedBySourceDelete {
        /// The clause's condition (over target columns).
        condition: Option<Expr>,
    },
}

/// Which rows a clause is for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    Matched,
    NotMatched,
    NotMatchedBySource,
}

impl Clause {
    fn kind(&self) -> Kind {
        match self {
            Clause::MatchedUpdate { .. }
            | Clause::MatchedUpdateAll { .. }
            | Clause::MatchedDelete { .. } => Kind::Matched,
            Clause::NotMatchedInsert { .. } | Clause::NotMatchedInsertAll { .. } => {
                Kind::NotMatched
            }
            Clause::NotMatchedBySourceUpdate { .. } | Clause::NotMatchedBySourceDelete { .. } => {
                Kind::NotMatchedBySource
            }
        }
    }

    fn condition(&self) -> Option<&Expr> {
        match self {
            Clause::MatchedUpdate { condition, .. }
            | Clause::MatchedUpdateAll { condition }
            | Clause::MatchedDelete { condition }
            | Clause::NotMatchedInsert { condition, .. }
            | Clause::NotMatchedInsertAll { condition }
            | Clause::NotMatchedBySourceUpdate { condition, .. }
            | Clause::NotMatchedBySourceDelete { condition } => condition.as_ref(),
        }
    }
}

/// A MERGE statement: the source rows, the ON condition and the clauses.
#[derive(Debug)]
pub struct Merge {
    /// The source rows (all batches with one schema).
    pub source: MergeSource,
    /// The source's schema.
    pub source_schema: SchemaRef,
    /// The name expressions use for the source (`source` by default).
    pub source_alias: String,
    /// The name expressions use for the target (`target` by default).
    pub target_alias: String,
    /// The ON condition.
    pub on: Expr,
    /// The WHEN clauses, in order.
    pub clauses: Vec<Clause>,
    /// Schema merging: `UPDATE SET *` and `INSERT *` add the source's
    /// columns the target lacks (top level and in structs), and struct
    /// values may lack fields (they are null).
    pub merge_schema: bool,
    /// How many bytes of source rows the merge holds in memory; a larger
    /// source is spilled to local files and joined in several passes over
    /// the target ([`DEFAULT_MEMORY_BUDGET`] unless set).
    pub memory_budget: usize,
    /// Where a spilled source goes (the system's temporary directory unless
    /// set).
    pub spill_dir: Option<PathBuf>,
}

impl Merge {
    /// A merge of `source` into the target on `on`, with no clause yet and
    /// the aliases `source` and `target`.
    pub fn new(source_schema: SchemaRef, source: Vec<RecordBatch>, on: Expr) -> Merge {
        Merge::from_source(source_schema, MergeSource::Batches(source), on)
    }

    /// A merge of the rows of `source` (read as the merge goes) into the
    /// target on `on`.
    pub fn from_stream(
        source_schema: SchemaRef,
        source: BoxStream<'static, Result<RecordBatch, MergeError>>,
        on: Expr,
    ) -> Merge {
        Merge::from_source(source_schema, MergeSource::Stream(source), on)
    }

    /// A merge of the rows of another table (the snapshot given: its latest
    /// version, or any other) into the target on `on`.
    pub fn from_snapshot(source: &Snapshot, on: Expr) -> Result<Merge, MergeError> {
        let rows = source
            .scan()
            .execute()?
            .map(|b| b.map_err(MergeError::from));
        Ok(Merge::from_stream(source.arrow_schema(), rows.boxed(), on))
    }

    fn from_source(source_schema: SchemaRef, source: MergeSource, on: Expr) -> Merge {
        Merge {
            source,
            source_schema,
            source_alias: "source".to_string(),
            target_alias: "target".to_string(),
            on,
            clauses: Vec::new(),
            merge_schema: false,
            memory_budget: DEFAULT_MEMORY_BUDGET,
            spill_dir: None,
        }
    }

    /// At most `bytes` of source rows in memory (see [`Merge::memory_budget`]).
    pub fn with_memory_budget(mut self, bytes: usize) -> Merge {
        self.memory_budget = bytes;
        self
    }

    /// Spill a source larger than the memory budget under `dir`.
    pub fn with_spill_dir(mut self, dir: impl Into<PathBuf>) -> Merge {
        self.spill_dir = Some(dir.into());
        self
    }

    /// With schema merging (see [`Merge::merge_schema`]).
    pub fn with_merge_schema(mut self, merge_schema: bool) -> Merge {
        self.merge_schema = merge_schema;
        self
    }

    /// Other aliases for the target and the source.
    pub fn with_aliases(mut self, target: &str, source: &str) -> Merge {
        self.target_alias = target.to_string();
        self.source_alias = source.to_string();
        self
    }

    /// Adds a clause (after the ones already there).
    pub fn when(mut self, clause: Clause) -> Merge {
        self.clauses.push(clause);
        self
    }
}

fn invalid(reason: impl Into<String>) -> MergeError {
    MergeError::Invalid {
        operation: OPERATION,
        reason: reason.into(),
    }
}

/// Which sides an expression may read.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Sides {
    Both,
    Source,
    Target,
}

/// A clause, typed.
struct TypedClause {
    kind: Kind,
    condition: Option<Bound>,
    action: Action,
}

enum Action {
    Delete,
    /// The columns an update or insert sets.
    Set(Vec<Assignment>),
}

/// An equality of the ON condition: a target and a source expression.
struct Key {
    target: Bound,
    source: Bound,
    /// The type both are compared in.
    common: ArrowType,
}

/// Merges `merge.source` into `table` as one commit.
pub async fn merge(table: &Table, merge: Merge) -> Result<DmlOutcome, MergeError> {
    let snapshot = table.snapshot().await?;
    let started = std::time::Instant::now();
    let now = now_ms();
    let source_schema = StructType::from_arrow(&merge.source_schema)
        .map_err(|source| TxnError::SchemaMismatch { source })?;
    // schema merging: the clauses with * add the source's new columns
    let evolves = merge.merge_schema
        && merge.clauses.iter().any(|c| {
            matches!(
                c,
                Clause::MatchedUpdateAll { .. } | Clause::NotMatchedInsertAll { .. }
            )
        });
    let schema_change = if evolves {
        let evolved = add_source_columns(snapshot.schema(), &source_schema)
            .map_err(|source| TxnError::SchemaMismatch { source })?;
        (&evolved != snapshot.schema())
            .then(|| evolve_schema(&snapshot, evolved))
            .transpose()?
    } else {
        None
    };
    let (target_schema, metadata) = match &schema_change {
        Some(change) => (change.schema.clone(), &change.metadata),
        None => (snapshot.schema().clone(), snapshot.metadata()),
    };
    let names = Names::new(snapshot.schema(), &target_schema, source_schema, &merge)?;
    if merge.clauses.is_empty() {
        return Err(invalid("no WHEN clause"));
    }
    // as in Spark: of several clauses of a kind, only the last may omit its
    // condition (the ones after it could never apply)
    for kind in [Kind::Matched, Kind::NotMatched, Kind::NotMatchedBySource] {
        let of_kind: Vec<&Clause> = merge.clauses.iter().filter(|c| c.kind() == kind).collect();
        if let Some(split) = of_kind.split_last()
            && split.1.iter().any(|c| c.condition().is_none())
        {
            let name = match kind {
                Kind::Matched => "WHEN MATCHED",
                Kind::NotMatched => "WHEN NOT MATCHED",
                Kind::NotMatchedBySource => "WHEN NOT MATCHED BY SOURCE",
            };
            return Err(invalid(format!(
                "only the last {name} clause may omit its condition (a clause after one without a condition could never apply)"
            )));
        }
    }
    // the ON condition: equalities for the hash join, the rest per pair
    let on = names.qualify(&merge.on, Sides::Both, "the ON condition")?;
    let OnParts {
        keys,
        residual,
        target_only,
    } = split_on(&on, &names)?;
    let residual = residual
        .map(|r| bind_predicate(&r, &names.joined))
        .transpose()?;
    let clauses = merge
        .clauses
        .iter()
        .map(|c| typed_clause(c, &names))
        .collect::<Result<Vec<_>, _>>()?;
    // the source: in memory, or spilled in partitions by key hash when it
    // is larger than the budget; its key range either way
    let fields: Vec<SortField> = keys
        .iter()
        .map(|k| SortField::new(k.common.clone()))
        .collect();
    let converter = RowConverter::new(fields)?;
    let mut key_range = KeyRange::new(keys.len());
    let source_key_columns = |batch: &RecordBatch| {
        let side = joined(&names, None, Some(&as_struct(batch)), batch.num_rows())?;
        key_columns(&keys, &side, false)
    };
    let spill_dir = merge.spill_dir.clone().unwrap_or_else(std::env::temp_dir);
    let gathered = gather(
        merge.source,
        &merge.source_schema,
        merge.memory_budget,
        &spill_dir,
        |batch: &RecordBatch| key_range.observe(&source_key_columns(batch)?),
        |batch: &RecordBatch| partitions(&converter, &source_key_columns(batch)?),
    )
    .await?;
    let mut txn = Transaction::new(table, Some(snapshot.clone()), OPERATION)
        .parameter("predicate", merge.on.to_string());
    if let Some(change) = &schema_change {
        change.apply_to(&mut txn);
    }
    // the target files that can hold a matching row
    let by_source = clauses.iter().any(|c| c.kind == Kind::NotMatchedBySource);
    let candidates: Vec<usize> = if by_source {
        txn.read_whole_table();
        (0..snapshot.files().len()).collect()
    } else {
        // the source's key range and the ON condition's conjuncts on the
        // target alone
        let range = key_range.predicate(&keys, &names);
        let pruning = match (range, target_only) {
            (Some(r), Some(t)) => Some(Expr::And(Box::new(r), Box::new(t))),
            (r, t) => r.or(t),
        };
        match pruning {
            Some(predicate) => {
                txn.read_predicate(predicate.clone());
                snapshot.scan().with_predicate(predicate).chosen_files()?
            }
            None => {
                txn.read_whole_table();
                (0..snapshot.files().len()).collect()
            }
        }
    };
    txn.read_files(&candidates);
    let deletion_vectors = uses_deletion_vectors(&snapshot)?;
    let passes = gathered.passes();
    // with several passes a file's fate is known after the last one: its
    // changed rows are collected as with deletion vectors
    let marking = deletion_vectors || passes.len() > 1;
    let properties =
        delta_log::TableProperties::parse(&metadata.configuration).map_err(TxnError::from)?;
    let constraints = Constraints::for_table(&target_schema, &properties, snapshot.version())?;
    let conformer = Conformer::new(&target_schema);
    let mut writer = data_writer(table, metadata, &target_schema)?;
    let target_arrow: SchemaRef = Arc::new(target_schema.to_arrow());
    let matched_clauses: Vec<&TypedClause> =
        clauses.iter().filter(|c| c.kind == Kind::Matched).collect();
    let one_unconditional_delete = matches!(
        matched_clauses.as_slice(),
        [c] if c.condition.is_none() && matches!(c.action, Action::Delete)
    );
    let mut counts = Counts::default();
    let mut num_source = 0u64;
    let mut removes_cow: Vec<usize> = Vec::new();
    let mut changed_by_file: BTreeMap<usize, RoaringTreemap> = BTreeMap::new();
    let result: Result<(), MergeError> = async {
        for pass in &passes {
            let rows = gathered.rows(pass.as_deref())?;
            let source = concat_batches(&merge.source_schema, &rows)?;
            drop(rows);
            let source_struct = as_struct(&source);
            num_source += source.num_rows() as u64;
            let source_side = joined(&names, None, Some(&source_struct), source.num_rows())?;
            let source_keys = key_columns(&keys, &source_side, false)?;
            let source_rows = KeyValues::new(&converter, &source_keys)?;
            let source_valid = all_valid(&source_keys)?;
            let table_of_keys = SourceKeys::new(&source_rows, &source_valid);
            let mut in_pass = None;
            if let Some(parts) = pass {
                let mut set = [false; PARTITIONS];
                for &p in parts {
                    set[p] = true;
                }
                in_pass = Some(set);
            }
            let ctx = Ctx {
                names: &names,
                keys: &keys,
                residual: residual.as_ref(),
                clauses: &clauses,
                converter: &converter,
                table_of_keys: &table_of_keys,
                source_struct: &source_struct,
                target_arrow: &target_arrow,
                widen: schema_change.is_some().then_some(&conformer),
                multiple_matches_allowed: one_unconditional_delete,
                in_pass,
                marking,
            };
            let mut source_matched = vec![false; source.num_rows()];
            for &index in &candidates {
                let mut batches = snapshot
                    .scan()
                    .only_files(vec![index])
                    .with_row_index()
                    .execute()?;
                // copy-on-write in one pass: a file's rows (those that stay
                // and the new versions, as they come) are held only until
                // its first change, then written as they come; marking: only
                // the new versions are written, gathered into batches of a
                // useful size
                let mut held: Vec<RecordBatch> = Vec::new();
                let mut new_rows = Pending::default();
                let mut changed_rows = RoaringTreemap::new();
                let mut stay = 0;
                while let Some(batch) = batches.next().await {
                    let out = ctx.target_batch(&batch?, &mut source_matched, &mut counts)?;
                    changed_rows |= &out.changed;
                    if marking {
                        new_rows.push(out.updated);
                        if let Some(rows) = new_rows.take_if_full(&target_arrow)? {
                            put(&rows, &conformer, &constraints, &mut writer).await?;
                        }
                        continue;
                    }
                    stay += out.stay.num_rows() as u64;
                    held.push(match out.updated.num_rows() {
                        0 => out.stay,
                        _ => concat_batches(&target_arrow, [&out.stay, &out.updated])?,
                    });
                    if !changed_rows.is_empty() {
                        for rows in held.drain(..) {
                            put(&rows, &conformer, &constraints, &mut writer).await?;
                        }
                    }
                }
                if let Some(rows) = new_rows.take(&target_arrow)? {
                    put(&rows, &conformer, &constraints, &mut writer).await?;
                }
                if changed_rows.is_empty() {
                    continue;
                }
                if marking {
                    *changed_by_file.entry(index).or_default() |= changed_rows;
                } else {
                    counts.copied += stay;
                    removes_cow.push(index);
                }
            }
            // source rows no target row matched: NOT MATCHED clauses
            let unmatched: Vec<u32> = (0..source.num_rows())
                .filter(|&i| !source_matched[i])
                .map(|i| u32::try_from(i).unwrap_or(u32::MAX))
                .collect();
            if !unmatched.is_empty() && clauses.iter().any(|c| c.kind == Kind::NotMatched) {
                let rows = take_struct(&source_struct, &UInt32Array::from(unmatched))?;
                let side = joined(&names, None, Some(&rows), rows.len())?;
                let inserted = ctx.insert(&side, &mut counts)?;
                put(&inserted, &conformer, &constraints, &mut writer).await?;
            }
        }
        if marking && !deletion_vectors {
            // copy-on-write after several passes: the files with changed
            // rows are written again without them
            for (&index, changed) in &changed_by_file {
                counts.copied += copy_unchanged(
                    &snapshot,
                    index,
                    changed,
                    &conformer,
                    &constraints,
                    &mut writer,
                )
                .await?;
                removes_cow.push(index);
            }
        }
        Ok(())
    }
    .await;
    if let Err(e) = result {
        writer.abort().await;
        return Err(e);
    }
    drop(gathered);
    let adds = writer.finish().await.map_err(TxnError::from)?;
    refuse_change_data(&snapshot, counts.changed() > 0, OPERATION)?;
    let mut metrics = BTreeMap::new();
    let mut removed = removes_cow.len() as u64;
    remove_files(&mut txn, &snapshot, &removes_cow, now);
    if deletion_vectors && !changed_by_file.is_empty() {
        let marks = changed_by_file.into_iter().collect();
        let marked = mark_deleted(table, &snapshot, marks, now).await?;
        removed += marked.removes.len() as u64;
        metrics.insert(
            "numTargetDeletionVectorsAdded",
            marked.vectors_added + marked.vectors_updated,
        );
        txn.remove_files(marked.removes);
        txn.add_files(marked.adds);
    }
    metrics.insert("numSourceRows", num_source);
    metrics.insert("numTargetRowsInserted", counts.inserted);
    metrics.insert("numTargetRowsUpdated", counts.updated);
    metrics.insert("numTargetRowsDeleted", counts.deleted);
    metrics.insert("numTargetRowsMatchedUpdated", counts.matched_updated);
    metrics.insert("numTargetRowsMatchedDeleted", counts.matched_deleted);
    metrics.insert(
        "numTargetRowsNotMatchedBySourceUpdated",
        counts.by_source_updated,
    );
    metrics.insert(
        "numTargetRowsNotMatchedBySourceDeleted",
        counts.by_source_deleted,
    );
    metrics.insert("numTargetRowsCopied", counts.copied);
    metrics.insert("numTargetFilesAdded", adds.len() as u64);
    metrics.insert("numTargetFilesRemoved", removed);
    txn.add_files(adds);
    let mut outcome = finish(txn, snapshot, metrics, started).await?;
    outcome.passes = passes.len();
    Ok(outcome)
}

mod apply;
mod names;
mod on;

use apply::{
    Counts, Ctx, Pending, as_struct, copy_unchanged, joined, key_columns, put, take_struct,
};
use names::{Names, typed_clause};
use on::{KeyRange, OnParts, split_on};
