//! The names of a MERGE statement (target, source, aliases) and its clauses,
//! qualified and typed against them.

use delta_expr::{Expr, bind, bind_predicate};
use delta_schema::{DataType, StructField, StructType};

use super::{Action, Clause, Kind, Merge, Sides, TypedClause, invalid};
use crate::MergeError;
use crate::assign::Assignment;

/// The names of one statement: the two schemas and their aliases.
pub(super) struct Names {
    /// The target's schema as read: what names resolve against.
    pub(super) target: StructType,
    /// The target's schema as written (with the columns schema merging
    /// adds): what assignments store into.
    pub(super) written: StructType,
    pub(super) source: StructType,
    pub(super) target_alias: String,
    pub(super) source_alias: String,
    /// The written target and the source, as structs under their aliases:
    /// what expressions bind to.
    pub(super) joined: StructType,
    /// Schema merging is on.
    pub(super) merge_schema: bool,
}

impl Names {
    pub(super) fn new(
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
    pub(super) fn qualify(
        &self,
        expr: &Expr,
        allowed: Sides,
        what: &str,
    ) -> Result<Expr, MergeError> {
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

/// A clause with its expressions qualified and typed.
pub(super) fn typed_clause(clause: &Clause, names: &Names) -> Result<TypedClause, MergeError> {
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

pub(super) fn typed_set(
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
