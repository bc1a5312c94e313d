//! `MERGE INTO` as DataFusion plans it, turned into a delta-merge
//! statement: the ON condition and every clause's condition and values
//! become delta-expr expressions whose columns are qualified by their side
//! (the target under its table name, the source under its alias), and the
//! clauses keep their order, so the first whose condition holds wins, as
//! in Delta.

use datafusion::common::tree_node::{Transformed, TreeNode};
use datafusion::common::{Column, DFSchema, TableReference};
use datafusion::logical_expr::Expr;
use datafusion::logical_expr::dml::{MergeIntoAction, MergeIntoClause, MergeIntoClauseKind};
use datafusion::sql::unparser::expr_to_sql;
use delta_merge::Clause;

use crate::DeltaDataFusionError;
use crate::dml::Statement;

/// The names a MERGE's expressions use for its two sides.
struct Sides<'a> {
    /// The target's columns, then the source's, with their qualifiers.
    schema: &'a DFSchema,
    /// How many of the first columns are the target's.
    target_columns: usize,
    target_alias: String,
    source_alias: String,
}

impl Sides<'_> {
    /// The delta-expr form of `expr`, each column qualified by its side.
    fn expr(&self, expr: &Expr, what: &str) -> Result<delta_expr::Expr, DeltaDataFusionError> {
        let unsupported = |why: String| DeltaDataFusionError::Unsupported {
            what: format!("{what} '{expr}' in MERGE ({why})"),
        };
        let qualified = expr
            .clone()
            .transform(|e| {
                Ok(match e {
                    Expr::Column(c) => {
                        let i = self.schema.index_of_column(&c)?;
                        let alias = if i < self.target_columns {
                            &self.target_alias
                        } else {
                            &self.source_alias
                        };
                        Transformed::yes(Expr::Column(Column::new(
                            Some(TableReference::bare(alias.as_str())),
                            c.name,
                        )))
                    }
                    other => Transformed::no(other),
                })
            })
            .map_err(|e| unsupported(e.to_string()))?
            .data;
        let sql = expr_to_sql(&qualified).map_err(|e| unsupported(e.to_string()))?;
        delta_expr::parse(&sql.to_string())
            .map_err(|e| unsupported(format!("no delta-expr form: {e}")))
    }

    fn condition(
        &self,
        clause: &MergeIntoClause,
    ) -> Result<Option<delta_expr::Expr>, DeltaDataFusionError> {
        clause
            .predicate
            .as_ref()
            .map(|p| self.expr(p, "the WHEN condition"))
            .transpose()
    }

    /// Column names and their values, delta-expr.
    fn values<'e>(
        &self,
        pairs: impl Iterator<Item = (&'e String, &'e Expr)>,
        what: &str,
    ) -> Result<Vec<(String, delta_expr::Expr)>, DeltaDataFusionError> {
        pairs
            .map(|(column, value)| Ok((column.clone(), self.expr(value, what)?)))
            .collect()
    }

    /// One WHEN clause as delta-merge has it.
    fn clause(&self, clause: &MergeIntoClause) -> Result<Clause, DeltaDataFusionError> {
        let condition = self.condition(clause)?;
        let misplaced = |action: &str| DeltaDataFusionError::Unsupported {
            what: format!("{action} in a WHEN {:?} clause of MERGE", clause.kind),
        };
        Ok(match (&clause.kind, &clause.action) {
            (MergeIntoClauseKind::Matched, MergeIntoAction::Update(set)) => Clause::MatchedUpdate {
                condition,
                set: self.values(set.iter().map(|(c, v)| (c, v)), "the value")?,
            },
            (MergeIntoClauseKind::Matched, MergeIntoAction::Delete) => {
                Clause::MatchedDelete { condition }
            }
            (
                MergeIntoClauseKind::NotMatched | MergeIntoClauseKind::NotMatchedByTarget,
                MergeIntoAction::Insert { columns, values },
            ) => {
                // no column list: every target column, in order
                let all: Vec<String>;
                let columns = if columns.is_empty() {
                    all = self.schema.fields()[..self.target_columns]
                        .iter()
                        .map(|f| f.name().clone())
                        .collect();
                    &all
                } else {
                    columns
                };
                Clause::NotMatchedInsert {
                    condition,
                    values: self.values(columns.iter().zip(values), "the inserted value")?,
                }
            }
            (MergeIntoClauseKind::NotMatchedBySource, MergeIntoAction::Update(set)) => {
                Clause::NotMatchedBySourceUpdate {
                    condition,
                    set: self.values(set.iter().map(|(c, v)| (c, v)), "the value")?,
                }
            }
            (MergeIntoClauseKind::NotMatchedBySource, MergeIntoAction::Delete) => {
                Clause::NotMatchedBySourceDelete { condition }
            }
            (_, MergeIntoAction::Update(_)) => return Err(misplaced("UPDATE")),
            (_, MergeIntoAction::Delete) => return Err(misplaced("DELETE")),
            (_, MergeIntoAction::Insert { .. }) => return Err(misplaced("INSERT")),
        })
    }
}

/// The delta-merge statement of a MERGE over `merge_schema` (the target's
/// `target_columns` columns, then the source's).
pub(crate) fn statement(
    merge_schema: &DFSchema,
    target_columns: usize,
    on: &Expr,
    clauses: &[MergeIntoClause],
) -> Result<Statement, DeltaDataFusionError> {
    let qualifier = |i: usize| {
        merge_schema
            .qualified_field(i)
            .0
            .map(|q| q.table().to_string())
    };
    let target_alias = (target_columns > 0)
        .then(|| qualifier(0))
        .flatten()
        .unwrap_or_else(|| "target".to_string());
    // the source's own name when all its columns have one (`USING s`,
    // `USING (...) AS s`), else `source`
    let mut source_names: Vec<Option<String>> = (target_columns..merge_schema.fields().len())
        .map(qualifier)
        .collect();
    source_names.dedup();
    let source_alias = match source_names.as_slice() {
        [Some(name)] if !name.eq_ignore_ascii_case(&target_alias) => name.clone(),
        _ if target_alias.eq_ignore_ascii_case("source") => "merge_source".to_string(),
        _ => "source".to_string(),
    };
    let sides = Sides {
        schema: merge_schema,
        target_columns,
        target_alias,
        source_alias,
    };
    Ok(Statement::Merge {
        on: sides.expr(on, "the ON condition")?,
        clauses: clauses
            .iter()
            .map(|c| sides.clause(c))
            .collect::<Result<_, _>>()?,
        target_alias: sides.target_alias,
        source_alias: sides.source_alias,
    })
}
