//! The ON condition: its key equalities, the rest, and the key range that
//! selects the target files worth reading.

use arrow::array::{Array, ArrayRef};
use arrow::compute::{CastOptions, cast_with_options};
use arrow::datatypes::DataType as ArrowType;
use delta_expr::{CompareOp, Expr, bind};

use super::names::Names;
use super::{Key, OPERATION, invalid};
use crate::MergeError;

/// Splits the qualified ON condition into key equalities (target side =
/// source side) and the rest.
pub(super) fn split_on(on: &Expr, names: &Names) -> Result<OnParts, MergeError> {
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
pub(super) struct OnParts {
    /// The target = source equalities.
    pub(super) keys: Vec<Key>,
    /// The other conjuncts, checked on each pair.
    pub(super) residual: Option<Expr>,
    /// The conjuncts that read target columns only (unqualified): no target
    /// row where they are not true can match.
    pub(super) target_only: Option<Expr>,
}

/// `a AND b`, or `b` alone.
pub(super) fn and_also(a: Option<Expr>, b: Expr) -> Expr {
    match a {
        Some(a) => Expr::And(Box::new(a), Box::new(b)),
        None => b,
    }
}

pub(super) fn flatten_and(e: &Expr, out: &mut Vec<Expr>) {
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
pub(super) struct KeyRange {
    pub(super) bounds: Vec<Bounds>,
}

/// The range of one key's values so far.
#[derive(Debug, Clone, PartialEq)]
pub(super) enum Bounds {
    /// No non-null value yet.
    Empty,
    Integer(i64, i64),
    String(String, String),
    /// A type without a range here.
    Unknown,
}

impl KeyRange {
    pub(super) fn new(keys: usize) -> KeyRange {
        KeyRange {
            bounds: vec![Bounds::Empty; keys],
        }
    }

    /// Widens the ranges by one batch's key values.
    pub(super) fn observe(&mut self, values: &[ArrayRef]) -> Result<(), MergeError> {
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
    pub(super) fn predicate(&self, keys: &[Key], names: &Names) -> Option<Expr> {
        key_range_predicate(keys, &self.bounds, names)
    }
}

pub(super) fn key_range_predicate(keys: &[Key], ranges: &[Bounds], names: &Names) -> Option<Expr> {
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
