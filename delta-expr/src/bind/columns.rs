//! Column paths: resolving a name against the schema (exactly, else
//! case-insensitively when that is unambiguous), with a suggestion of the
//! closest name when none matches.

use super::type_name;
use crate::ExprError;
use delta_schema::{DataType, StructField, StructType};

/// Resolves a column path: each name exactly, else case-insensitively when
/// that matches one field.
pub(super) fn resolve(
    schema: &StructType,
    path: &[String],
) -> Result<(Vec<String>, DataType), ExprError> {
    let mut fields: &[StructField] = &schema.fields;
    let mut names = Vec::with_capacity(path.len());
    let mut data_type = None;
    for (depth, name) in path.iter().enumerate() {
        let shown = path[..=depth].join(".");
        let field = match fields.iter().find(|f| &f.name == name) {
            Some(f) => f,
            None => {
                let matches: Vec<&StructField> = fields
                    .iter()
                    .filter(|f| f.name.eq_ignore_ascii_case(name))
                    .collect();
                match matches.as_slice() {
                    [one] => *one,
                    [] => {
                        let prefix = names.join(".");
                        return Err(ExprError::UnknownColumn {
                            name: shown,
                            suggestion: closest(name, fields).map(|s| {
                                if prefix.is_empty() {
                                    s.to_string()
                                } else {
                                    format!("{prefix}.{s}")
                                }
                            }),
                        });
                    }
                    many => {
                        return Err(ExprError::AmbiguousColumn {
                            name: shown,
                            candidates: many.iter().map(|f| f.name.clone()).collect(),
                        });
                    }
                }
            }
        };
        names.push(field.name.clone());
        if depth + 1 < path.len() {
            match &field.data_type {
                DataType::Struct(s) => fields = &s.fields,
                other => {
                    return Err(ExprError::TypeMismatch {
                        expr: path.join("."),
                        reason: format!("'{shown}' is {}, it has no fields", type_name(other)),
                    });
                }
            }
        }
        data_type = Some(field.data_type.clone());
    }
    let data_type = data_type.ok_or_else(|| ExprError::UnknownColumn {
        name: String::new(),
        suggestion: None,
    })?;
    Ok((names, data_type))
}

/// The field name nearest to `name` (edit distance at most a third of its
/// length rounded up, at least 1), ignoring case.
pub(super) fn closest<'a>(name: &str, fields: &'a [StructField]) -> Option<&'a str> {
    let wanted = name.to_lowercase();
    fields
        .iter()
        .map(|f| (distance(&wanted, &f.name.to_lowercase()), f.name.as_str()))
        .filter(|(d, _)| *d <= wanted.chars().count().div_ceil(3).max(1))
        .min_by_key(|(d, _)| *d)
        .map(|(_, n)| n)
}

/// Levenshtein distance.
pub(super) fn distance(a: &str, b: &str) -> usize {
    let b: Vec<char> = b.chars().collect();
    let mut row: Vec<usize> = (0..=b.len()).collect();
    for (i, ca) in a.chars().enumerate() {
        let mut previous = row[0];
        row[0] = i + 1;
        for (j, cb) in b.iter().enumerate() {
            let current = row[j + 1];
            row[j + 1] = if ca == *cb {
                previous
            } else {
                1 + previous.min(row[j]).min(current)
            };
            previous = current;
        }
    }
    row[b.len()]
}
