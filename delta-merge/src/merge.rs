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

use arrow::array::{
    Array, ArrayRef, BooleanArray, RecordBatch, StructArray, UInt32Array, UInt64Array,
    new_null_array,
};
use arrow::compute::{
    CastOptions, and, cast_with_options, concat_batches, filter_record_batch, not, take,
};
use arrow::datatypes::{DataType as ArrowType, Field, Fields, Schema, SchemaRef};
use arrow::row::{RowConverter, SortField};
use delta_expr::{Bound, CompareOp, Expr, bind, bind_predicate};
use delta_io::ROW_INDEX_COLUMN;
use delta_schema::{DataType, StructField, StructType, add_source_columns};
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

/// The names of one statement: the two schemas and their aliases.
struct Names {
    /// The target's schema as read: what names resolve against.
    target: StructType,
    /// The target's schema as written (with the columns schema merging
    /// adds): what assignments store into.
    written: StructType,
    source: StructType,
    target_alias: String,
    source_alias: String,
    /// The written target and the source, as structs under their aliases:
    /// what expressions bind to.
    joined: StructType,
    /// Schema merging is on.
    merge_schema: bool,
}

impl Names {
    fn new(
        target: &StructType,
        written: &StructType,
        source: StructType,
        merge: &Merge,
    ) -> Result<Names, MergeError> {
        if merge.target_alias.eq_ignore_ascii_case(&merge.source_alias) {
            return Err(invalid(format!(
                "the target and the source have the same alias '{}'",
                merge.target_alias
            )));
        }
        let joined = StructType::new([
            StructField::new(
                merge.target_alias.clone(),
                DataType::Struct(Box::new(written.clone())),
                true,
            ),
            StructField::new(
                merge.source_alias.clone(),
                DataType::Struct(Box::new(source.clone())),
                true,
            ),
        ]);
        Ok(Names {
            target: target.clone(),
            written: written.clone(),
            source,
            target_alias: merge.target_alias.clone(),
            source_alias: merge.source_alias.clone(),
            joined,
            merge_schema: merge.merge_schema,
        })
    }

    /// `expr` with every column qualified by its side; `allowed` limits the
    /// sides it may read (insert clauses read only the source...).
    fn qualify(&self, expr: &Expr, allowed: Sides, what: &str) -> Result<Expr, MergeError> {
        expr.try_map_columns(&mut |path: &[String]| {
            let side = |alias: &str, schema: &StructType| {
                (path.len() > 1
                    && path[0].eq_ignore_ascii_case(alias)
                    && schema.field(&path[1]).is_some())
                .then(|| path[1..].to_vec())
            };
            let (is_target, rest) = if let Some(rest) = side(&self.target_alias, &self.target) {
                (true, rest)
            } else if let Some(rest) = side(&self.source_alias, &self.source) {
                (false, rest)
            } else {
                let in_target = self.target.field(&path[0]).is_some();
                let in_source = self.source.field(&path[0]).is_some();
                match (in_target, in_source) {
                    // a clause that reads one side resolves names there
                    (true, _) if allowed == Sides::Target => (true, path.to_vec()),
                    (_, true) if allowed == Sides::Source => (false, path.to_vec()),
                    (true, true) => {
                        return Err(invalid(format!(
                            "'{}' in {what} is ambiguous: both the target and the source have it (write {}.{} or {}.{})",
                            path.join("."),
                            self.target_alias,
                            path[0],
                            self.source_alias,
                            path[0]
                        )));
                    }
                    (true, false) => (true, path.to_vec()),
                    (false, true) => (false, path.to_vec()),
                    (false, false) => {
                        return Err(invalid(format!(
                            "unknown column '{}' in {what} (target: {}; source: {})",
                            path.join("."),
                            self.target.field_names().collect::<Vec<_>>().join(", "),
                            self.source.field_names().collect::<Vec<_>>().join(", ")
                        )));
                    }
                }
            };
            match (is_target, allowed) {
                (true, Sides::Source) => Err(invalid(format!(
                    "{what} can only read source columns, not the target's '{}'",
                    path.join(".")
                ))),
                (false, Sides::Target) => Err(invalid(format!(
                    "{what} can only read target columns, not the source's '{}'",
                    path.join(".")
                ))),
                _ => {
                    let alias = if is_target { &self.target_alias } else { &self.source_alias };
                    let mut out = vec![alias.clone()];
                    out.extend(rest);
                    Ok(Expr::Column(out))
                }
            }
        })
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

/// Rows waiting to be written together.
#[derive(Default)]
struct Pending {
    batches: Vec<RecordBatch>,
    rows: usize,
}

/// How many rows [`Pending`] gathers before they are written.
const PENDING_ROWS: usize = 64 * 1024;

impl Pending {
    fn push(&mut self, batch: RecordBatch) {
        if batch.num_rows() > 0 {
            self.rows += batch.num_rows();
            self.batches.push(batch);
        }
    }

    /// All rows, if there are enough.
    fn take_if_full(&mut self, schema: &SchemaRef) -> Result<Option<RecordBatch>, MergeError> {
        match self.rows >= PENDING_ROWS {
            true => self.take(schema),
            false => Ok(None),
        }
    }

    /// All rows, if any.
    fn take(&mut self, schema: &SchemaRef) -> Result<Option<RecordBatch>, MergeError> {
        if self.rows == 0 {
            return Ok(None);
        }
        self.rows = 0;
        Ok(Some(concat_batches(
            schema,
            &std::mem::take(&mut self.batches),
        )?))
    }
}

/// Conforms rows to the table schema, checks the constraints and writes
/// them.
async fn put(
    rows: &RecordBatch,
    conformer: &Conformer,
    constraints: &Constraints,
    writer: &mut delta_txn::background_writer::BackgroundWriter,
) -> Result<(), MergeError> {
    if rows.num_rows() == 0 {
        return Ok(());
    }
    let rows = conformer.conform(rows)?;
    constraints.check(&rows)?;
    writer.write(&rows).await?;
    Ok(())
}

/// Writes the rows of file `index` that are not in `changed` again (copy-
/// on-write after a merge in several passes); returns how many.
async fn copy_unchanged(
    snapshot: &Snapshot,
    index: usize,
    changed: &RoaringTreemap,
    conformer: &Conformer,
    constraints: &Constraints,
    writer: &mut delta_txn::background_writer::BackgroundWriter,
) -> Result<u64, MergeError> {
    let mut copied = 0;
    let mut batches = snapshot
        .scan()
        .only_files(vec![index])
        .with_row_index()
        .execute()?;
    while let Some(batch) = batches.next().await {
        let batch = batch?;
        let positions = row_index(&batch)?;
        let keep: BooleanArray = positions
            .values()
            .iter()
            .map(|p| Some(!changed.contains(*p)))
            .collect();
        let kept = filter_record_batch(&batch, &keep)?;
        if kept.num_rows() == 0 {
            continue;
        }
        let rows = without_row_index(&kept)?;
        copied += rows.num_rows() as u64;
        put(&rows, conformer, constraints, writer).await?;
    }
    Ok(copied)
}

/// The rows of a scan `with_row_index` without its row index column (the
/// last one), in the schema the scan read.
fn without_row_index(batch: &RecordBatch) -> Result<RecordBatch, MergeError> {
    let mut columns = batch.columns().to_vec();
    columns.pop();
    let mut fields = batch.schema().fields().to_vec();
    fields.pop();
    Ok(RecordBatch::try_new(
        Arc::new(Schema::new(fields)),
        columns,
    )?)
}

/// The row index column a scan `with_row_index` adds (the last one).
fn row_index(batch: &RecordBatch) -> Result<UInt64Array, MergeError> {
    batch
        .column_by_name(ROW_INDEX_COLUMN)
        .and_then(|c| c.as_any().downcast_ref::<UInt64Array>())
        .cloned()
        .ok_or_else(|| invalid("the scan gave no row index"))
}

/// What a merge did, by row.
#[derive(Debug, Default)]
struct Counts {
    inserted: u64,
    updated: u64,
    deleted: u64,
    copied: u64,
    matched_updated: u64,
    matched_deleted: u64,
    by_source_updated: u64,
    by_source_deleted: u64,
}

impl Counts {
    fn changed(&self) -> u64 {
        self.inserted + self.updated + self.deleted
    }
}

/// What one target batch becomes.
struct TargetOut {
    /// The rows that stay unchanged (copy-on-write in one pass).
    stay: RecordBatch,
    /// Only the new versions of updated rows (deletion vectors).
    updated: RecordBatch,
    /// Row indexes (in the file) of rows updated or deleted.
    changed: RoaringTreemap,
}

/// Everything the per-batch work needs.
struct Ctx<'a> {
    names: &'a Names,
    keys: &'a [Key],
    residual: Option<&'a Bound>,
    clauses: &'a [TypedClause],
    converter: &'a RowConverter,
    table_of_keys: &'a SourceKeys<'a>,
    source_struct: &'a StructArray,
    target_arrow: &'a SchemaRef,
    /// Brings target rows read in the old schema to the evolved one (when
    /// schema merging adds columns).
    widen: Option<&'a Conformer>,
    multiple_matches_allowed: bool,
    /// The key partitions of this pass (`None`: one pass, every row).
    in_pass: Option<[bool; PARTITIONS]>,
    /// Changed rows are marked (deletion vectors, or several passes), so
    /// the rows that stay are not needed.
    marking: bool,
}

impl Ctx<'_> {
    /// Joins one target batch (with its row index column) to the source and
    /// applies the matched and not-matched-by-source clauses.
    fn target_batch(
        &self,
        batch: &RecordBatch,
        source_matched: &mut [bool],
        counts: &mut Counts,
    ) -> Result<TargetOut, MergeError> {
        let n = batch.num_rows();
        let positions = row_index(batch)?;
        let target = match self.widen {
            Some(conformer) => conformer.conform(&without_row_index(batch)?)?,
            None => RecordBatch::try_new(
                Arc::clone(self.target_arrow),
                batch.columns()[..batch.num_columns() - 1].to_vec(),
            )?,
        };
        let target_struct = as_struct(&target);
        let side = joined(self.names, Some(&target_struct), None, n)?;
        let keys = key_columns(self.keys, &side, true)?;
        let rows = KeyValues::new(self.converter, &keys)?;
        let valid = all_valid(&keys)?;
        // the target rows of this pass: those whose key partition it holds
        let in_pass: Vec<bool> = match &self.in_pass {
            None => vec![true; n],
            Some(set) => (0..n)
                .map(|i| match valid.value(i) {
                    true => set[rows.partition(i)],
                    false => set[0],
                })
                .collect(),
        };
        // candidate pairs by key
        let (mut pair_t, mut pair_s) = (Vec::new(), Vec::new());
        for (i, here) in in_pass.iter().enumerate() {
            if !here || !valid.value(i) {
                continue;
            }
            for s in self.table_of_keys.matches(&rows, i) {
                pair_t.push(u32::try_from(i).unwrap_or(u32::MAX));
                pair_s.push(s);
            }
        }
        let pair_t = UInt32Array::from(pair_t);
        let pair_s = UInt32Array::from(pair_s);
        let pairs = joined(
            self.names,
            Some(&take_struct(&target_struct, &pair_t)?),
            Some(&take_struct(self.source_struct, &pair_s)?),
            pair_t.len(),
        )?;
        // the rest of the ON condition
        let (pairs, pair_t, pair_s) = match self.residual {
            Some(residual) => {
                let keep = residual.matching_rows(&pairs)?;
                (
                    filter_record_batch(&pairs, &keep)?,
                    arrow::compute::filter(&pair_t, &keep)?
                        .as_any()
                        .downcast_ref::<UInt32Array>()
                        .cloned()
                        .unwrap_or_else(|| UInt32Array::from(Vec::<u32>::new())),
                    arrow::compute::filter(&pair_s, &keep)?
                        .as_any()
                        .downcast_ref::<UInt32Array>()
                        .cloned()
                        .unwrap_or_else(|| UInt32Array::from(Vec::<u32>::new())),
                )
            }
            None => (pairs, pair_t, pair_s),
        };
        let mut matches_of = vec![0u32; n];
        for t in pair_t.values() {
            matches_of[*t as usize] += 1;
        }
        for s in pair_s.values() {
            source_matched[*s as usize] = true;
        }
        // a target row may meet several source rows only where no matched
        // clause applies to the pairs (Delta counts the pairs some matched
        // clause's condition holds for), or the one matched clause is an
        // unconditional DELETE
        let touching = self.touching(&pairs)?;
        let mut touched_by = vec![0u32; n];
        for (i, t) in pair_t.values().iter().enumerate() {
            if touching.value(i) {
                touched_by[*t as usize] += 1;
            }
        }
        if !self.multiple_matches_allowed
            && let Some(row) = touched_by.iter().position(|m| *m > 1)
        {
            return Err(invalid(format!(
                "{} source rows matched the same target row (row {} of its file) and a WHEN MATCHED clause changes it; a target row may be changed by one source row only (deduplicate the source)",
                touched_by[row],
                positions.value(row)
            )));
        }
        // one pair per target row: the one a clause applies to, if any
        let mut chosen: Vec<Option<usize>> = vec![None; n];
        for (i, t) in pair_t.values().iter().enumerate() {
            let slot = &mut chosen[*t as usize];
            match slot {
                None => *slot = Some(i),
                Some(j) if !touching.value(*j) && touching.value(i) => *slot = Some(i),
                _ => {}
            }
        }
        let keep: Vec<u32> = chosen
            .iter()
            .flatten()
            .map(|&i| u32::try_from(i).unwrap_or(u32::MAX))
            .collect();
        let keep = UInt32Array::from(keep);
        let pairs = take_batch(&pairs, &keep)?;
        let pair_t = take(&pair_t, &keep, None)?
            .as_any()
            .downcast_ref::<UInt32Array>()
            .cloned()
            .ok_or_else(|| invalid("taking pairs gave no indices"))?;
        // matched rows: the pairs, clause by clause
        let matched = self.apply(Kind::Matched, &pairs, counts)?;
        // target rows no source row matched
        let unmatched_rows: Vec<u32> = (0..n)
            .filter(|&i| matches_of[i] == 0 && in_pass[i])
            .map(|i| u32::try_from(i).unwrap_or(u32::MAX))
            .collect();
        let unmatched_rows = UInt32Array::from(unmatched_rows);
        let by_source = if self
            .clauses
            .iter()
            .any(|c| c.kind == Kind::NotMatchedBySource)
        {
            let lonely = joined(
                self.names,
                Some(&take_struct(&target_struct, &unmatched_rows)?),
                None,
                unmatched_rows.len(),
            )?;
            self.apply(Kind::NotMatchedBySource, &lonely, counts)?
        } else {
            // no clause for them: they all stay, without copying them
            Applied {
                untouched: BooleanArray::from(vec![true; unmatched_rows.len()]),
                updated: RecordBatch::new_empty(Arc::clone(self.target_arrow)),
            }
        };
        // which target rows changed, and the rows that stay
        let mut changed = RoaringTreemap::new();
        for (rows, which) in [(&pair_t, &matched), (&unmatched_rows, &by_source)] {
            for (i, row) in rows.values().iter().enumerate() {
                if !which.untouched.value(i) {
                    changed.insert(positions.value(*row as usize));
                }
            }
        }
        let updated = concat_batches(self.target_arrow, [&matched.updated, &by_source.updated])?;
        if self.marking {
            return Ok(TargetOut {
                stay: RecordBatch::new_empty(Arc::clone(self.target_arrow)),
                updated,
                changed,
            });
        }
        // copy-on-write: untouched rows of matched pairs stay once per target
        // row (several matches are only allowed when nothing changes them)
        let mut stays = vec![false; n];
        for (rows, which) in [(&pair_t, &matched), (&unmatched_rows, &by_source)] {
            for (i, row) in rows.values().iter().enumerate() {
                if which.untouched.value(i) {
                    stays[*row as usize] = true;
                }
            }
        }
        let stay = filter_record_batch(&target, &BooleanArray::from(stays))?;
        Ok(TargetOut {
            stay,
            updated,
            changed,
        })
    }

    /// For each matched pair, whether some WHEN MATCHED clause's condition
    /// holds (so that the clause would change the target row).
    fn touching(&self, pairs: &RecordBatch) -> Result<BooleanArray, MergeError> {
        let mut any = BooleanArray::from(vec![false; pairs.num_rows()]);
        for clause in self.clauses.iter().filter(|c| c.kind == Kind::Matched) {
            let holds = match &clause.condition {
                Some(c) => c.matching_rows(pairs)?,
                None => BooleanArray::from(vec![true; pairs.num_rows()]),
            };
            any = arrow::compute::or(&any, &holds)?;
        }
        Ok(any)
    }

    /// Applies the clauses of `kind` to rows (as joined batches): the first
    /// clause whose condition holds takes a row.
    fn apply(
        &self,
        kind: Kind,
        rows: &RecordBatch,
        counts: &mut Counts,
    ) -> Result<Applied, MergeError> {
        let n = rows.num_rows();
        let mut open = BooleanArray::from(vec![true; n]);
        let mut updated = Vec::new();
        for clause in self.clauses.iter().filter(|c| c.kind == kind) {
            if open.true_count() == 0 {
                break;
            }
            let takes = match &clause.condition {
                Some(c) => and(&open, &c.matching_rows(rows)?)?,
                None => open.clone(),
            };
            let taken = takes.true_count() as u64;
            if taken == 0 {
                continue;
            }
            open = and(&open, &not(&takes)?)?;
            match &clause.action {
                Action::Delete => {
                    counts.deleted += taken;
                    match kind {
                        Kind::Matched => counts.matched_deleted += taken,
                        _ => counts.by_source_deleted += taken,
                    }
                }
                Action::Set(set) => {
                    counts.updated += taken;
                    match kind {
                        Kind::Matched => counts.matched_updated += taken,
                        _ => counts.by_source_updated += taken,
                    }
                    let chosen = filter_record_batch(rows, &takes)?;
                    updated.push(self.new_rows(&chosen, set, true)?);
                }
            }
        }
        Ok(Applied {
            untouched: open,
            updated: concat_batches(self.target_arrow, &updated)?,
        })
    }

    /// The NOT MATCHED clauses on source rows (as joined batches): the rows
    /// to insert.
    fn insert(&self, rows: &RecordBatch, counts: &mut Counts) -> Result<RecordBatch, MergeError> {
        let mut open = BooleanArray::from(vec![true; rows.num_rows()]);
        let mut inserted = Vec::new();
        for clause in self.clauses.iter().filter(|c| c.kind == Kind::NotMatched) {
            let takes = match &clause.condition {
                Some(c) => and(&open, &c.matching_rows(rows)?)?,
                None => open.clone(),
            };
            if takes.true_count() == 0 {
                continue;
            }
            open = and(&open, &not(&takes)?)?;
            if let Action::Set(set) = &clause.action {
                counts.inserted += takes.true_count() as u64;
                let chosen = filter_record_batch(rows, &takes)?;
                inserted.push(self.new_rows(&chosen, set, false)?);
            }
        }
        Ok(concat_batches(self.target_arrow, &inserted)?)
    }

    /// Target rows from joined rows: the set columns from their values, the
    /// others from the target row (`keep_target`) or null (inserts).
    fn new_rows(
        &self,
        rows: &RecordBatch,
        set: &[Assignment],
        keep_target: bool,
    ) -> Result<RecordBatch, MergeError> {
        let n = rows.num_rows();
        let target = rows
            .column(0)
            .as_any()
            .downcast_ref::<StructArray>()
            .ok_or_else(|| invalid("the target side is not a struct"))?;
        let mut columns: Vec<ArrayRef> = self
            .target_arrow
            .fields()
            .iter()
            .enumerate()
            .map(|(i, f)| match keep_target {
                true => Arc::clone(target.column(i)),
                false => new_null_array(f.data_type(), n),
            })
            .collect();
        for a in set {
            columns[a.position] = a.evaluate(rows)?;
        }
        Ok(RecordBatch::try_new(
            Arc::clone(self.target_arrow),
            columns,
        )?)
    }
}

/// The outcome of one kind of clauses on some rows.
struct Applied {
    /// Rows no clause took (they stay as they are).
    untouched: BooleanArray,
    /// New versions of the rows an update clause took.
    updated: RecordBatch,
}

/// A batch's columns as one struct array (no nulls).
fn as_struct(batch: &RecordBatch) -> StructArray {
    StructArray::from(batch.clone())
}

/// The rows `indices` of a struct array.
fn take_struct(array: &StructArray, indices: &UInt32Array) -> Result<StructArray, MergeError> {
    let taken = take(array, indices, None)?;
    taken
        .as_any()
        .downcast_ref::<StructArray>()
        .cloned()
        .ok_or_else(|| invalid("taking rows of a struct gave no struct"))
}

fn take_batch(batch: &RecordBatch, indices: &UInt32Array) -> Result<RecordBatch, MergeError> {
    let columns = batch
        .columns()
        .iter()
        .map(|c| take(c, indices, None))
        .collect::<Result<Vec<_>, _>>()?;
    Ok(RecordBatch::try_new_with_options(
        batch.schema(),
        columns,
        &arrow::array::RecordBatchOptions::new().with_row_count(Some(indices.len())),
    )?)
}

/// A batch of `rows` joined rows: the target struct (or nulls) and the
/// source struct (or nulls), under their aliases.
fn joined(
    names: &Names,
    target: Option<&StructArray>,
    source: Option<&StructArray>,
    rows: usize,
) -> Result<RecordBatch, MergeError> {
    let side = |array: Option<&StructArray>, schema: &StructType| -> ArrayRef {
        match array {
            Some(a) => Arc::new(a.clone()),
            None => new_null_array(&ArrowType::Struct(schema.to_arrow().fields().clone()), rows),
        }
    };
    let t = side(target, &names.target);
    let s = side(source, &names.source);
    let fields: Fields = vec![
        Field::new(&names.target_alias, t.data_type().clone(), true),
        Field::new(&names.source_alias, s.data_type().clone(), true),
    ]
    .into();
    Ok(RecordBatch::try_new_with_options(
        Arc::new(Schema::new(fields)),
        vec![t, s],
        &arrow::array::RecordBatchOptions::new().with_row_count(Some(rows)),
    )?)
}

/// The key columns of one side, in the keys' common types.
fn key_columns(
    keys: &[Key],
    rows: &RecordBatch,
    target: bool,
) -> Result<Vec<ArrayRef>, MergeError> {
    keys.iter()
        .map(|k| {
            let bound = if target { &k.target } else { &k.source };
            let value = bound.evaluate(rows)?;
            Ok(if value.data_type() == &k.common {
                value
            } else {
                cast_with_options(&value, &k.common, &CastOptions::default())?
            })
        })
        .collect()
}

/// Splits the qualified ON condition into key equalities (target side =
/// source side) and the rest.
fn split_on(on: &Expr, names: &Names) -> Result<OnParts, MergeError> {
    let mut conjuncts = Vec::new();
    flatten_and(on, &mut conjuncts);
    let side_of = |e: &Expr| -> Option<bool> {
        let mut target = false;
        let mut source = false;
        let _ = e.try_map_columns(&mut |path: &[String]| {
            if path[0] == names.target_alias {
                target = true;
            } else {
                source = true;
            }
            Ok::<_, ()>(Expr::Column(path.to_vec()))
        });
        match (target, source) {
            (true, false) => Some(true),
            (false, true) => Some(false),
            _ => None,
        }
    };
    let mut keys = Vec::new();
    let mut rest: Option<Expr> = None;
    let mut target_only: Option<Expr> = None;
    for c in conjuncts {
        if let Expr::Compare(CompareOp::Eq, a, b) = &c {
            let (t, s) = match (side_of(a), side_of(b)) {
                (Some(true), Some(false)) => (Some(a), Some(b)),
                (Some(false), Some(true)) => (Some(b), Some(a)),
                _ => (None, None),
            };
            if let (Some(t), Some(s)) = (t, s) {
                let target = bind(t, &names.joined)?;
                let source = bind(s, &names.joined)?;
                let (tt, st) = (target.data_type().to_arrow(), source.data_type().to_arrow());
                // the source side is converted to the target's type
                if tt != st && !arrow::compute::can_cast_types(&st, &tt) {
                    return Err(invalid(format!(
                        "{c} compares {} with {}",
                        target.data_type(),
                        source.data_type()
                    )));
                }
                let common = tt;
                keys.push(Key {
                    target,
                    source,
                    common,
                });
                continue;
            }
        }
        if side_of(&c) == Some(true) {
            // on target columns alone: also a filter of the target files
            let unqualified = c.try_map_columns(&mut |path: &[String]| {
                Ok::<_, ()>(Expr::Column(path[1..].to_vec()))
            });
            if let Ok(e) = unqualified {
                target_only = Some(and_also(target_only, e));
            }
        }
        rest = Some(and_also(rest, c));
    }
    if keys.is_empty() {
        return Err(MergeError::Unsupported {
            operation: OPERATION,
            what: "an ON condition without an equality between a target and a source column"
                .to_string(),
        });
    }
    Ok(OnParts {
        keys,
        residual: rest,
        target_only,
    })
}

/// The ON condition, split.
struct OnParts {
    /// The target = source equalities.
    keys: Vec<Key>,
    /// The other conjuncts, checked on each pair.
    residual: Option<Expr>,
    /// The conjuncts that read target columns only (unqualified): no target
    /// row where they are not true can match.
    target_only: Option<Expr>,
}

/// `a AND b`, or `b` alone.
fn and_also(a: Option<Expr>, b: Expr) -> Expr {
    match a {
        Some(a) => Expr::And(Box::new(a), Box::new(b)),
        None => b,
    }
}

fn flatten_and(e: &Expr, out: &mut Vec<Expr>) {
    match e {
        Expr::And(a, b) => {
            flatten_and(a, out);
            flatten_and(b, out);
        }
        other => out.push(other.clone()),
    }
}

/// The smallest and largest source value of each key, gathered batch by
/// batch, for skipping target files.
struct KeyRange {
    bounds: Vec<Bounds>,
}

/// The range of one key's values so far.
#[derive(Debug, Clone, PartialEq)]
enum Bounds {
    /// No non-null value yet.
    Empty,
    Integer(i64, i64),
    String(String, String),
    /// A type without a range here.
    Unknown,
}

impl KeyRange {
    fn new(keys: usize) -> KeyRange {
        KeyRange {
            bounds: vec![Bounds::Empty; keys],
        }
    }

    /// Widens the ranges by one batch's key values.
    fn observe(&mut self, values: &[ArrayRef]) -> Result<(), MergeError> {
        for (bounds, values) in self.bounds.iter_mut().zip(values) {
            let batch = match values.data_type() {
                ArrowType::Int8 | ArrowType::Int16 | ArrowType::Int32 | ArrowType::Int64 => {
                    let v = cast_with_options(values, &ArrowType::Int64, &CastOptions::default())?;
                    let v = v
                        .as_any()
                        .downcast_ref::<arrow::array::Int64Array>()
                        .ok_or_else(|| invalid("an integer key is not an integer"))?;
                    match (arrow::compute::min(v), arrow::compute::max(v)) {
                        (Some(min), Some(max)) => Bounds::Integer(min, max),
                        _ => Bounds::Empty,
                    }
                }
                ArrowType::Utf8 => {
                    let v = values
                        .as_any()
                        .downcast_ref::<arrow::array::StringArray>()
                        .ok_or_else(|| invalid("a string key is not a string"))?;
                    match (arrow::compute::min_string(v), arrow::compute::max_string(v)) {
                        (Some(min), Some(max)) => Bounds::String(min.to_string(), max.to_string()),
                        _ => Bounds::Empty,
                    }
                }
                _ => Bounds::Unknown,
            };
            *bounds = match (std::mem::replace(bounds, Bounds::Empty), batch) {
                (Bounds::Empty, b) | (b, Bounds::Empty) => b,
                (Bounds::Integer(a, b), Bounds::Integer(c, d)) => {
                    Bounds::Integer(a.min(c), b.max(d))
                }
                (Bounds::String(a, b), Bounds::String(c, d)) => Bounds::String(a.min(c), b.max(d)),
                _ => Bounds::Unknown,
            };
        }
        Ok(())
    }

    /// `col BETWEEN min AND max` for the keys that are plain integer or
    /// string target columns.
    fn predicate(&self, keys: &[Key], names: &Names) -> Option<Expr> {
        key_range_predicate(keys, &self.bounds, names)
    }
}

fn key_range_predicate(keys: &[Key], ranges: &[Bounds], names: &Names) -> Option<Expr> {
    let mut predicate: Option<Expr> = None;
    for (key, range) in keys.iter().zip(ranges) {
        let columns = key.target.columns();
        let [path] = columns.as_slice() else { continue };
        let [alias, column] = path.as_slice() else {
            continue;
        };
        if alias != &names.target_alias {
            continue;
        }
        let (low, high) = match range {
            Bounds::Integer(min, max) => (
                delta_expr::Literal::Number(min.to_string()),
                delta_expr::Literal::Number(max.to_string()),
            ),
            Bounds::String(min, max) => (
                delta_expr::Literal::String(min.clone()),
                delta_expr::Literal::String(max.clone()),
            ),
            Bounds::Empty | Bounds::Unknown => continue,
        };
        let between = Expr::Between {
            expr: Box::new(Expr::Column(vec![column.clone()])),
            low: Box::new(Expr::Literal(low)),
            high: Box::new(Expr::Literal(high)),
            negated: false,
        };
        predicate = Some(match predicate {
            Some(p) => Expr::And(Box::new(p), Box::new(between)),
            None => between,
        });
    }
    predicate
}

/// A clause with its expressions qualified and typed.
fn typed_clause(clause: &Clause, names: &Names) -> Result<TypedClause, MergeError> {
    let kind = clause.kind();
    let (sides, what) = match kind {
        Kind::Matched => (Sides::Both, "a WHEN MATCHED clause"),
        Kind::NotMatched => (Sides::Source, "a WHEN NOT MATCHED clause"),
        Kind::NotMatchedBySource => (Sides::Target, "a WHEN NOT MATCHED BY SOURCE clause"),
    };
    let condition = clause
        .condition()
        .map(|c| {
            bind_predicate(&names.qualify(c, sides, what)?, &names.joined).map_err(MergeError::from)
        })
        .transpose()?;
    let all_from_source = || -> Result<Vec<(String, Expr)>, MergeError> {
        if names.merge_schema {
            // every source column (the table has them all now); target
            // columns the source lacks keep their value (update) or are
            // null (insert)
            return Ok(names
                .source
                .fields
                .iter()
                .map(|s| {
                    (
                        s.name.clone(),
                        Expr::Column(vec![names.source_alias.clone(), s.name.clone()]),
                    )
                })
                .collect());
        }
        names
            .target
            .fields
            .iter()
            .map(|f| match names.source.field(&f.name) {
                Some(s) => Ok((
                    f.name.clone(),
                    Expr::Column(vec![names.source_alias.clone(), s.name.clone()]),
                )),
                None => Err(invalid(format!(
                    "{what} with * needs the target column '{}' in the source (or schema merging)",
                    f.name
                ))),
            })
            .collect()
    };
    let action = match clause {
        Clause::MatchedDelete { .. } | Clause::NotMatchedBySourceDelete { .. } => Action::Delete,
        Clause::MatchedUpdateAll { .. } | Clause::NotMatchedInsertAll { .. } => {
            Action::Set(typed_set(&all_from_source()?, names, sides, what)?)
        }
        Clause::MatchedUpdate { set, .. }
        | Clause::NotMatchedBySourceUpdate { set, .. }
        | Clause::NotMatchedInsert { values: set, .. } => {
            Action::Set(typed_set(set, names, sides, what)?)
        }
    };
    Ok(TypedClause {
        kind,
        condition,
        action,
    })
}

fn typed_set(
    set: &[(String, Expr)],
    names: &Names,
    sides: Sides,
    what: &str,
) -> Result<Vec<Assignment>, MergeError> {
    let mut out: Vec<Assignment> = Vec::new();
    for (column, expr) in set {
        let name = column
            .strip_prefix(&format!("{}.", names.target_alias))
            .unwrap_or(column);
        let value = bind(&names.qualify(expr, sides, what)?, &names.joined)?;
        let assignment =
            Assignment::new(&names.written, name, expr, value, &out, names.merge_schema)
                .map_err(|reason| invalid(format!("{what}: {reason}")))?;
        out.push(assignment);
    }
    Ok(out)
}
