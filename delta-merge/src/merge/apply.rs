//! Applying the clauses: the join of source and target rows, and what each
//! changed target file becomes.

use std::sync::Arc;

use arrow::array::{
    Array, ArrayRef, BooleanArray, RecordBatch, StructArray, UInt32Array, UInt64Array,
    new_null_array,
};
use arrow::compute::{
    CastOptions, and, cast_with_options, concat_batches, filter_record_batch, not, take,
};
use arrow::datatypes::{DataType as ArrowType, Field, Fields, Schema, SchemaRef};
use arrow::row::RowConverter;
use delta_expr::Bound;
use delta_io::ROW_INDEX_COLUMN;
use delta_schema::StructType;
use delta_txn::Snapshot;
use delta_txn::constraints::Constraints;
use delta_txn::enforce::Conformer;
use futures::StreamExt;
use roaring::RoaringTreemap;

use super::names::Names;
use super::{Action, Key, Kind, TypedClause, invalid};
use crate::MergeError;
use crate::assign::Assignment;
use crate::keys::{KeyValues, SourceKeys, all_valid};
use crate::source::PARTITIONS;

/// Rows waiting to be written together.
#[derive(Default)]
pub(super) struct Pending {
    pub(super) batches: Vec<RecordBatch>,
    pub(super) rows: usize,
}

/// How many rows [`Pending`] gathers before they are written.
pub(super) const PENDING_ROWS: usize = 64 * 1024;

impl Pending {
    pub(super) fn push(&mut self, batch: RecordBatch) {
        if batch.num_rows() > 0 {
            self.rows += batch.num_rows();
            self.batches.push(batch);
        }
    }

    /// All rows, if there are enough.
    pub(super) fn take_if_full(
        &mut self,
        schema: &SchemaRef,
    ) -> Result<Option<RecordBatch>, MergeError> {
        match self.rows >= PENDING_ROWS {
            true => self.take(schema),
            false => Ok(None),
        }
    }

    /// All rows, if any.
    pub(super) fn take(&mut self, schema: &SchemaRef) -> Result<Option<RecordBatch>, MergeError> {
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
pub(super) async fn put(
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
pub(super) async fn copy_unchanged(
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
pub(super) fn without_row_index(batch: &RecordBatch) -> Result<RecordBatch, MergeError> {
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
pub(super) fn row_index(batch: &RecordBatch) -> Result<UInt64Array, MergeError> {
    batch
        .column_by_name(ROW_INDEX_COLUMN)
        .and_then(|c| c.as_any().downcast_ref::<UInt64Array>())
        .cloned()
        .ok_or_else(|| invalid("the scan gave no row index"))
}

/// What a merge did, by row.
#[derive(Debug, Default)]
pub(super) struct Counts {
    pub(super) inserted: u64,
    pub(super) updated: u64,
    pub(super) deleted: u64,
    pub(super) copied: u64,
    pub(super) matched_updated: u64,
    pub(super) matched_deleted: u64,
    pub(super) by_source_updated: u64,
    pub(super) by_source_deleted: u64,
}

impl Counts {
    pub(super) fn changed(&self) -> u64 {
        self.inserted + self.updated + self.deleted
    }
}

/// What one target batch becomes.
pub(super) struct TargetOut {
    /// The rows that stay unchanged (copy-on-write in one pass).
    pub(super) stay: RecordBatch,
    /// Only the new versions of updated rows (deletion vectors).
    pub(super) updated: RecordBatch,
    /// Row indexes (in the file) of rows updated or deleted.
    pub(super) changed: RoaringTreemap,
}

/// Everything the per-batch work needs.
pub(super) struct Ctx<'a> {
    pub(super) names: &'a Names,
    pub(super) keys: &'a [Key],
    pub(super) residual: Option<&'a Bound>,
    pub(super) clauses: &'a [TypedClause],
    pub(super) converter: &'a RowConverter,
    pub(super) table_of_keys: &'a SourceKeys<'a>,
    pub(super) source_struct: &'a StructArray,
    pub(super) target_arrow: &'a SchemaRef,
    /// Brings target rows read in the old schema to the evolved one (when
    /// schema merging adds columns).
    pub(super) widen: Option<&'a Conformer>,
    pub(super) multiple_matches_allowed: bool,
    /// The key partitions of this pass (`None`: one pass, every row).
    pub(super) in_pass: Option<[bool; PARTITIONS]>,
    /// Changed rows are marked (deletion vectors, or several passes), so
    /// the rows that stay are not needed.
    pub(super) marking: bool,
}

impl Ctx<'_> {
    /// Joins one target batch (with its row index column) to the source and
    /// applies the matched and not-matched-by-source clauses.
    pub(super) fn target_batch(
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
    pub(super) fn touching(&self, pairs: &RecordBatch) -> Result<BooleanArray, MergeError> {
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
    pub(super) fn apply(
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
    pub(super) fn insert(
        &self,
        rows: &RecordBatch,
        counts: &mut Counts,
    ) -> Result<RecordBatch, MergeError> {
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
    pub(super) fn new_rows(
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
pub(super) struct Applied {
    /// Rows no clause took (they stay as they are).
    pub(super) untouched: BooleanArray,
    /// New versions of the rows an update clause took.
    pub(super) updated: RecordBatch,
}

/// A batch's columns as one struct array (no nulls).
pub(super) fn as_struct(batch: &RecordBatch) -> StructArray {
    StructArray::from(batch.clone())
}

/// The rows `indices` of a struct array.
pub(super) fn take_struct(
    array: &StructArray,
    indices: &UInt32Array,
) -> Result<StructArray, MergeError> {
    let taken = take(array, indices, None)?;
    taken
        .as_any()
        .downcast_ref::<StructArray>()
        .cloned()
        .ok_or_else(|| invalid("taking rows of a struct gave no struct"))
}

pub(super) fn take_batch(
    batch: &RecordBatch,
    indices: &UInt32Array,
) -> Result<RecordBatch, MergeError> {
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
pub(super) fn joined(
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
pub(super) fn key_columns(
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
