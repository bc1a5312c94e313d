//! Deep checks (`--deep`): every active file is read, one at a time, as a
//! stream. Its rows must number what the log says, its statistics must
//! bound its values, its deletion vector must read and count what the log
//! says, its columns must fit the table schema (column-mapping aware); and
//! every CHECK constraint and invariant must hold on the table's rows.

use std::collections::HashMap;
use std::sync::Arc;

use delta_io::writer::{StatsCollector, StatsColumns};
use delta_io::{IoError, ReadPlan, load_deletion_vector, read_file};
use delta_log::properties::ColumnMapping;
use delta_log::{ActiveFile, ActiveFiles, TableProperties};
use delta_schema::{DataType, PrimitiveType, StructField};
use delta_txn::constraints::Constraints;
use delta_txn::progress::{NoProgress, Progress};
use delta_txn::{Snapshot, Table, TxnError};
use futures::TryStreamExt;
use serde_json::Value;

use crate::{Finding, Fix, Report};

/// Characters of a string value statistics keep (Delta's prefix length).
const STRING_PREFIX: usize = delta_io::writer::STRING_PREFIX_LENGTH;
/// A timestamp's statistics are cut to milliseconds: a minimum may be up
/// to this many microseconds above the smallest value.
const MILLI_SLACK_MICROS: i64 = 999;
/// Relative rounding of a 32-bit float (a little above its epsilon).
const FLOAT_SLACK: f64 = 1e-6;

/// What reading one file found: its rows and the statistics of them.
pub(crate) struct FileRead {
    /// Rows in the file (deleted ones too).
    pub rows: u64,
    /// The JSON statistics of every row.
    pub stats: String,
}

/// The data columns of `snapshot` (without partition columns).
fn data_fields(snapshot: &Snapshot) -> Vec<StructField> {
    snapshot
        .schema()
        .fields
        .iter()
        .filter(|f| !snapshot.partition_columns().contains(&f.name))
        .cloned()
        .collect()
}

/// Reads every row of `file` (deleted ones too) through the table's read
/// path (so its columns must fit the schema) and computes the statistics
/// of `columns` over them.
pub(crate) async fn read_whole(
    table: &Table,
    snapshot: &Snapshot,
    file: ActiveFile<'_>,
    columns: &StatsColumns,
) -> Result<FileRead, String> {
    let fields = data_fields(snapshot);
    let names: Vec<String> = fields.iter().map(|f| f.name.clone()).collect();
    let url = delta_log::paths::table_url_at(&snapshot.state().table, &snapshot.state().root);
    let plan = ReadPlan::new(
        snapshot.schema(),
        snapshot.partition_columns(),
        snapshot.column_mapping(),
        Some(&names),
    )
    .map_err(|e| e.to_string())?
    .with_table(url);
    // the file as if it had no deletion vector: statistics count every row
    let mut add = file.to_add();
    add.deletion_vector = None;
    let mut alone = ActiveFiles::new();
    alone.push(&add);
    let Some(whole) = alone.get(0) else {
        return Err("the file cannot be listed".to_string());
    };
    let location = table.location();
    let mut batches = read_file(
        Arc::clone(&location.store),
        &location.root,
        Arc::new(plan),
        whole,
    )
    .await
    .map_err(|e| e.to_string())?;
    let mut collector = StatsCollector::new(&fields, snapshot.column_mapping(), columns);
    let mut rows = 0u64;
    while let Some(batch) = batches.try_next().await.map_err(|e| e.to_string())? {
        rows += batch.num_rows() as u64;
        collector
            .update(&batch)
            .map_err(|e| format!("statistics cannot be computed: {e}"))?;
    }
    Ok(FileRead {
        rows,
        stats: collector.to_json(),
    })
}

/// Reads every active file (see the module doc); `done` units of
/// `progress` went to earlier checks.
pub(crate) async fn check_files_deeply(
    table: &Table,
    snapshot: &Snapshot,
    report: &mut Report,
    progress: &dyn Progress,
    done: u64,
) {
    let version = snapshot.version();
    let types = leaf_types(&data_fields(snapshot), snapshot.column_mapping());
    let files = snapshot.files();
    progress.total(done + files.len() as u64);
    let location = table.location();
    let url = delta_log::paths::table_url_at(&snapshot.state().table, &location.root);
    for file in files.iter() {
        progress.advance(1);
        let finding = |id: &'static str, message: String| {
            Finding::error(id, message)
                .at_version(version)
                .at_file(file.path())
        };
        let restat = || Fix::RecomputeStats {
            path: file.path().to_string(),
        };
        let read = match read_whole(table, snapshot, file, &StatsColumns::AllLeaves).await {
            Ok(read) => read,
            Err(e) => {
                report.push(finding(
                    "data.unreadable",
                    format!("the file does not read as the table's schema says: {e}"),
                ));
                continue;
            }
        };
        if let Some(logged) = file.num_records()
            && logged != read.rows
        {
            report.push(
                finding(
                    "data.num-records",
                    format!("the log says {logged} rows, the file has {}", read.rows),
                )
                .with_fix(restat()),
            );
        }
        if let Some(dv) = file.deletion_vector() {
            // the loader checks the checksum, size, format and cardinality
            match load_deletion_vector(&location.store, &location.root, url.as_ref(), dv).await {
                Err(e @ IoError::DvCardinalityMismatch { .. }) => {
                    report.push(finding("data.dv-cardinality", e.to_string()))
                }
                Err(e) => report.push(finding(
                    "data.dv-unreadable",
                    format!("the deletion vector does not read: {e}"),
                )),
                Ok(deleted) => {
                    if deleted.max().is_some_and(|m| m >= read.rows) {
                        report.push(finding(
                            "data.dv-out-of-range",
                            format!(
                                "the deletion vector deletes row {}, but the file has {} rows",
                                deleted.max().unwrap_or_default(),
                                read.rows
                            ),
                        ));
                    }
                }
            }
        }
        if let Some(logged) = file.stats()
            && let (Ok(logged), Ok(actual)) = (
                serde_json::from_str::<Value>(logged),
                serde_json::from_str::<Value>(&read.stats),
            )
        {
            let has_dv = file.deletion_vector().is_some();
            for (column, message) in wrong_stats(&logged, &actual, &types, has_dv) {
                report.push(
                    finding("data.stats-wrong", message)
                        .at_column(column)
                        .with_fix(restat()),
                );
            }
        }
    }
    check_constraints(snapshot, report).await;
}

/// Every CHECK constraint and invariant holds on the table's live rows.
async fn check_constraints(snapshot: &Snapshot, report: &mut Report) {
    let version = snapshot.version();
    let Ok(properties) = TableProperties::parse(snapshot.properties()) else {
        return;
    };
    // rules that do not type-check are the metadata check's finding
    let Ok(rules) = Constraints::for_table(snapshot.schema(), &properties, version) else {
        return;
    };
    if rules.is_empty() {
        return;
    }
    match rules.check_existing(snapshot, &NoProgress).await {
        Ok(()) => {}
        Err(TxnError::ConstraintViolation {
            constraint,
            expression,
            rows,
            examples,
        }) => report.push(
            Finding::error(
                "data.constraint-violated",
                format!(
                    "{constraint} ({expression}) does not hold for {rows} rows, e.g. {}",
                    examples.join("; ")
                ),
            )
            .at_version(version),
        ),
        // unreadable files are the per-file checks' findings
        Err(_) => {}
    }
}

/// The type of every leaf of the data columns, by its keys in statistics
/// (physical names under column mapping, nested as the schema).
fn leaf_types(fields: &[StructField], mapping: ColumnMapping) -> HashMap<Vec<String>, DataType> {
    fn walk(
        fields: &[StructField],
        mapping: ColumnMapping,
        keys: &mut Vec<String>,
        out: &mut HashMap<Vec<String>, DataType>,
    ) {
        for field in fields {
            let name = match mapping {
                ColumnMapping::None => field.name.clone(),
                _ => field.physical_name().to_string(),
            };
            keys.push(name);
            match &field.data_type {
                DataType::Struct(s) => walk(&s.fields, mapping, keys, out),
                other => {
                    out.insert(keys.clone(), other.clone());
                }
            }
            keys.pop();
        }
    }
    let mut out = HashMap::new();
    walk(fields, mapping, &mut Vec::new(), &mut out);
    out
}

/// Leaves of a statistics object: keys and value.
fn leaves<'a>(value: &'a Value, keys: &mut Vec<String>, out: &mut Vec<(Vec<String>, &'a Value)>) {
    match value {
        Value::Object(map) => {
            for (k, v) in map {
                keys.push(k.clone());
                leaves(v, keys, out);
                keys.pop();
            }
        }
        other => out.push((keys.clone(), other)),
    }
}

fn lookup<'a>(value: &'a Value, keys: &[String]) -> Option<&'a Value> {
    keys.iter().try_fold(value, |v, k| v.get(k))
}

/// Where the logged statistics do not hold for the file's rows: a minimum
/// above its smallest value, a maximum below its largest, a null count
/// other than its nulls; only for files without a deletion vector.
fn wrong_stats(
    logged: &Value,
    actual: &Value,
    types: &HashMap<Vec<String>, DataType>,
    has_dv: bool,
) -> Vec<(String, String)> {
    let mut wrong = Vec::new();
    // with a deletion vector, bounds need only cover the live rows (tight
    // or wide), which the rows read here (every row) do not tell
    let sections: &[(&str, bool)] = match has_dv {
        false => &[
            ("minValues", true),
            ("maxValues", false),
            ("nullCount", false),
        ],
        true => &[],
    };
    for &(section, is_min) in sections {
        let Some(logged_section) = logged.get(section) else {
            continue;
        };
        let mut found = Vec::new();
        leaves(logged_section, &mut Vec::new(), &mut found);
        for (keys, value) in found {
            let (Some(data_type), Some(real)) = (
                types.get(&keys),
                actual.get(section).and_then(|a| lookup(a, &keys)),
            ) else {
                continue;
            };
            if value.is_null() || real.is_null() {
                continue;
            }
            let holds = match section {
                "nullCount" => value.as_u64() == real.as_u64(),
                _ => bound_holds(is_min, data_type, value, real),
            };
            if !holds {
                let what = match section {
                    "minValues" => "the file's smallest value is",
                    "maxValues" => "the file's largest value is",
                    _ => "the file's nulls number",
                };
                wrong.push((
                    keys.join("."),
                    format!("{section} says {value}, but {what} {real}"),
                ));
            }
        }
    }
    wrong
}

/// Whether a logged minimum (`is_min`) or maximum bounds the real one (as
/// the statistics writer renders it) of a column of `data_type`.
fn bound_holds(is_min: bool, data_type: &DataType, logged: &Value, real: &Value) -> bool {
    let DataType::Primitive(p) = data_type else {
        return true;
    };
    let ordered = |l: f64, r: f64| if is_min { l <= r } else { l >= r };
    match p {
        // a float's bound may be written at float precision and read back
        // wider (a float column widened to double): allow float rounding
        PrimitiveType::Float | PrimitiveType::Double => match (logged.as_f64(), real.as_f64()) {
            (Some(l), Some(r)) => {
                let slack = r.abs() * FLOAT_SLACK;
                if is_min {
                    l <= r + slack
                } else {
                    l >= r - slack
                }
            }
            _ => true,
        },
        PrimitiveType::Byte
        | PrimitiveType::Short
        | PrimitiveType::Integer
        | PrimitiveType::Long
        | PrimitiveType::Decimal { .. } => match (logged.as_f64(), real.as_f64()) {
            // rounding to f64 keeps the order of the exact values
            (Some(l), Some(r)) => ordered(l, r),
            _ => true,
        },
        PrimitiveType::Date => match (logged.as_str(), real.as_str()) {
            (Some(l), Some(r)) => {
                if is_min {
                    l <= r
                } else {
                    l >= r
                }
            }
            _ => true,
        },
        PrimitiveType::Timestamp | PrimitiveType::TimestampNtz => {
            match (
                logged.as_str().and_then(micros),
                real.as_str().and_then(micros),
            ) {
                // the real bound is cut down to milliseconds
                (Some(l), Some(r)) if is_min => l <= r + MILLI_SLACK_MICROS,
                (Some(l), Some(r)) => l >= r,
                _ => true,
            }
        }
        PrimitiveType::String => match (logged.as_str(), real.as_str()) {
            (Some(l), Some(r)) => string_bound_holds(is_min, l, r),
            _ => true,
        },
        _ => true,
    }
}

/// String bounds: the real one is cut to a prefix (a cut maximum ends in a
/// tie-breaker), so a longer logged bound sharing that prefix may be right.
fn string_bound_holds(is_min: bool, logged: &str, real: &str) -> bool {
    let prefix: String = real.chars().take(STRING_PREFIX).collect();
    let cut = real.chars().count() >= STRING_PREFIX;
    if cut && logged.starts_with(&prefix) {
        return true;
    }
    if is_min {
        logged <= real
    } else {
        logged >= real
    }
}

/// A timestamp in statistics (`2021-01-01T00:00:00.000Z`, with an offset,
/// or without a zone for `timestamp_ntz`) in microseconds since the epoch.
fn micros(text: &str) -> Option<i64> {
    if let Ok(t) = chrono::DateTime::parse_from_rfc3339(text) {
        return Some(t.timestamp_micros());
    }
    chrono::NaiveDateTime::parse_from_str(text, "%Y-%m-%dT%H:%M:%S%.f")
        .ok()
        .map(|t| t.and_utc().timestamp_micros())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bounds_allow_cut_strings_and_millisecond_timestamps() {
        let long = "a".repeat(40);
        let cut_max = format!("{}\u{FFFD}", "a".repeat(32));
        assert!(string_bound_holds(true, &long, &"a".repeat(32)));
        assert!(string_bound_holds(false, &long, &cut_max));
        assert!(!string_bound_holds(true, "b", "a"));
        assert!(!string_bound_holds(false, "a", "b"));
        let ts = DataType::Primitive(PrimitiveType::Timestamp);
        let at = |s: &str| Value::from(s);
        // a minimum logged in microseconds above the real one cut to ms
        assert!(bound_holds(
            true,
            &ts,
            &at("2021-01-01T00:00:00.000500Z"),
            &at("2021-01-01T00:00:00.000Z")
        ));
        assert!(!bound_holds(
            true,
            &ts,
            &at("2021-01-01T00:00:00.002Z"),
            &at("2021-01-01T00:00:00.000Z")
        ));
        // an offset is the same instant
        assert!(bound_holds(
            false,
            &ts,
            &at("2021-01-01T01:00:00.000+01:00"),
            &at("2021-01-01T00:00:00.000Z")
        ));
        let long_t = DataType::Primitive(PrimitiveType::Long);
        assert!(!bound_holds(
            false,
            &long_t,
            &Value::from(5),
            &Value::from(6)
        ));
        assert!(bound_holds(
            false,
            &long_t,
            &Value::from(6),
            &Value::from(6)
        ));
    }
}
