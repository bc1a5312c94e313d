//! The side-by-side table of BENCHMARKS.md (per workload our time and
//! delta-rs's, their ratio, our operation memory and delta-rs's, their
//! ratio), followed by our notes: every implementation's memory increment,
//! W1/W2 against arrow-rs alone, workloads not implemented and failed runs.

use std::collections::{BTreeMap, BTreeSet};
use std::fmt::Write;
use std::path::PathBuf;

use serde_json::Value;

use crate::spec::{ARROW, DELTA_RS, OURS, WORKLOADS};

/// Reads the JSON lines of these files (blank lines and `#` lines skipped).
pub fn read_records(files: &[PathBuf]) -> Result<Vec<Value>, String> {
    let mut records = Vec::new();
    for file in files {
        let text = std::fs::read_to_string(file)
            .map_err(|e| format!("cannot read {}: {e}", file.display()))?;
        for (i, line) in text.lines().enumerate() {
            if line.trim().is_empty() || line.starts_with('#') {
                continue;
            }
            let value = serde_json::from_str(line)
                .map_err(|e| format!("{}:{}: {e}", file.display(), i + 1))?;
            records.push(value);
        }
    }
    Ok(records)
}

fn field<'a>(record: &'a Value, key: &str) -> &'a str {
    record.get(key).and_then(Value::as_str).unwrap_or_default()
}

/// The median, as Python's `statistics.median` (mean of the middle two).
fn median(mut values: Vec<f64>) -> Option<f64> {
    if values.is_empty() {
        return None;
    }
    values.sort_by(f64::total_cmp);
    let n = values.len();
    Some(if n % 2 == 1 {
        values[n / 2]
    } else {
        (values[n / 2 - 1] + values[n / 2]) / 2.0
    })
}

fn fmt(value: Option<f64>, digits: usize) -> String {
    value.map_or_else(|| "-".to_string(), |v| format!("{v:.digits$}"))
}

type Key = (String, String, String);

/// `ok` records grouped by (scale, workload, impl).
fn group(records: &[Value]) -> BTreeMap<Key, Vec<&Value>> {
    let mut groups: BTreeMap<Key, Vec<&Value>> = BTreeMap::new();
    for r in records
        .iter()
        .filter(|r| r.get("ok").and_then(Value::as_bool) == Some(true))
    {
        let key = (
            field(r, "scale").to_string(),
            field(r, "workload").to_string(),
            field(r, "impl").to_string(),
        );
        groups.entry(key).or_default().push(r);
    }
    groups
}

fn median_of(records: Option<&Vec<&Value>>, key: &str) -> Option<f64> {
    median(
        records?
            .iter()
            .filter_map(|r| r.get(key).and_then(Value::as_f64))
            .collect(),
    )
}

/// One workload's line of the side-by-side table: medians over repeats.
#[derive(Debug, Clone, PartialEq)]
pub struct Row {
    /// `W1` ... `W11`, `W3b`, `Q1`.
    pub id: &'static str,
    /// Its name.
    pub name: &'static str,
    /// Our seconds.
    pub ours_seconds: Option<f64>,
    /// delta-rs's seconds.
    pub theirs_seconds: Option<f64>,
    /// Our operation memory in MiB (see [`Row::whole_process`]).
    pub ours_mib: Option<f64>,
    /// delta-rs's operation memory in MiB.
    pub theirs_mib: Option<f64>,
    /// The memory columns are whole-process peaks, not operation increments
    /// (W11, whose workers are separate processes).
    pub whole_process: bool,
}

impl Row {
    /// Ours ÷ delta-rs's time.
    pub fn time_ratio(&self) -> Option<f64> {
        ratio(self.ours_seconds, self.theirs_seconds)
    }

    /// Ours ÷ delta-rs's memory.
    pub fn memory_ratio(&self) -> Option<f64> {
        ratio(self.ours_mib, self.theirs_mib)
    }
}

fn ratio(ours: Option<f64>, theirs: Option<f64>) -> Option<f64> {
    match (ours, theirs) {
        (Some(o), Some(t)) if t > 0.0 => Some(o / t),
        _ => None,
    }
}

/// The median over repeats of the operation's memory increment,
/// `op_peak_rss_mib - rss_before_mib`.
fn median_increment(records: Option<&Vec<&Value>>) -> Option<f64> {
    median(
        records?
            .iter()
            .filter_map(|r| {
                Some(r.get("op_peak_rss_mib")?.as_f64()? - r.get("rss_before_mib")?.as_f64()?)
            })
            .collect(),
    )
}

/// The scales the `ok` records cover, in order.
pub fn scales(records: &[Value]) -> Vec<String> {
    let scales: BTreeSet<String> = group(records).keys().map(|k| k.0.clone()).collect();
    scales.into_iter().collect()
}

/// The side-by-side rows of one scale: every workload either side ran.
pub fn rows(records: &[Value], scale: &str) -> Vec<Row> {
    let groups = group(records);
    let key = |w: &str, i: &str| (scale.to_string(), w.to_string(), i.to_string());
    WORKLOADS
        .iter()
        .filter_map(|w| {
            let ours = groups.get(&key(w.id, OURS));
            let theirs = groups.get(&key(w.id, DELTA_RS));
            if ours.is_none() && theirs.is_none() {
                return None;
            }
            let (ours_mib, theirs_mib) = (median_increment(ours), median_increment(theirs));
            // one side without an increment (W11's workers): compare whole
            // processes on both sides rather than an increment with nothing
            let whole_process = (ours.is_some() && ours_mib.is_none())
                || (theirs.is_some() && theirs_mib.is_none());
            let (ours_mib, theirs_mib) = if whole_process {
                (
                    median_of(ours, "peak_rss_mib"),
                    median_of(theirs, "peak_rss_mib"),
                )
            } else {
                (ours_mib, theirs_mib)
            };
            Some(Row {
                id: w.id,
                name: w.name,
                ours_seconds: median_of(ours, "seconds"),
                theirs_seconds: median_of(theirs, "seconds"),
                ours_mib,
                theirs_mib,
                whole_process,
            })
        })
        .collect()
}

/// The side-by-side table of one scale, as Markdown (it reads as a table
/// in a terminal too).
pub fn markdown_table(rows: &[Row]) -> String {
    let mut out = String::from(
        "| workload | name | ours s | delta-rs s | time ratio | ours MiB | delta-rs MiB | memory ratio |\n\
         |---|---|---:|---:|---:|---:|---:|---:|\n",
    );
    for row in rows {
        let mark = if row.whole_process { " †" } else { "" };
        let _ = writeln!(
            out,
            "| {} | {} | {} | {} | {} | {}{mark} | {}{mark} | {} |",
            row.id,
            row.name,
            fmt(row.ours_seconds, 3),
            fmt(row.theirs_seconds, 3),
            fmt(row.time_ratio(), 2),
            fmt(row.ours_mib, 0),
            fmt(row.theirs_mib, 0),
            fmt(row.memory_ratio(), 2),
        );
    }
    if rows.iter().any(|r| r.whole_process) {
        out.push_str(
            "\n† whole-process peaks: no operation increment was recorded for this workload \
             (W11: its workers are separate processes)\n",
        );
    }
    out
}

/// The whole report: per scale the side-by-side table, then our notes.
pub fn report(records: &[Value]) -> String {
    let mut out = String::new();
    for scale in scales(records) {
        let _ = writeln!(
            out,
            "\nscale={scale}   ratio = ours ÷ delta-rs, lower is better; medians of repeats; \
             memory = the operation's increment (op_peak_rss_mib - rss_before_mib)\n"
        );
        out.push_str(&markdown_table(&rows(records, &scale)));
    }
    out + &notes(records)
}

/// Our notes under the table.
pub fn notes(records: &[Value]) -> String {
    let groups = group(records);
    let mut out = String::new();
    let scales: BTreeSet<&str> = records.iter().map(|r| field(r, "scale")).collect();
    for scale in scales {
        let key = |w: &str, i: &str| (scale.to_string(), w.to_string(), i.to_string());
        let impls: BTreeSet<&str> = groups
            .keys()
            .filter(|k| k.0 == scale)
            .map(|k| k.2.as_str())
            .collect();
        let _ = writeln!(
            out,
            "\nscale={scale}   operation increment = op_peak_rss_mib - rss_before_mib (MiB, median)"
        );
        for w in WORKLOADS {
            let mut parts = Vec::new();
            for i in &impls {
                let Some(rs) = groups.get(&key(w.id, i)) else {
                    continue;
                };
                let increments = rs
                    .iter()
                    .filter_map(|r| {
                        Some(
                            r.get("op_peak_rss_mib")?.as_f64()?
                                - r.get("rss_before_mib")?.as_f64()?,
                        )
                    })
                    .collect();
                parts.push(format!("{i} {}", fmt(median(increments), 0)));
            }
            if !parts.is_empty() {
                let mut line = format!("{:<6} {}", w.id, parts.join(" | "));
                let ours = median_of(groups.get(&key(w.id, OURS)), "seconds");
                let arrow = median_of(groups.get(&key(w.id, ARROW)), "seconds");
                if let (Some(o), Some(a)) = (ours, arrow)
                    && a > 0.0
                {
                    let _ = write!(line, "   time {OURS} ÷ {ARROW} = {:.2}", o / a);
                }
                let _ = writeln!(out, "{line}");
            }
        }
        let mut missing = Vec::new();
        let mut failed = Vec::new();
        for r in records.iter().filter(|r| {
            field(r, "scale") == scale && r.get("ok").and_then(Value::as_bool) != Some(true)
        }) {
            let error = field(r, "error");
            let what = format!("{} {}", field(r, "workload"), field(r, "impl"));
            if error == "not implemented yet" {
                if !missing.contains(&what) {
                    missing.push(what);
                }
            } else {
                failed.push(format!("{what} (repeat {}): {error}", r["repeat"]));
            }
        }
        if !missing.is_empty() {
            let _ = writeln!(out, "not implemented yet: {}", missing.join(", "));
        }
        for f in failed {
            let _ = writeln!(out, "FAILED: {f}");
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    const RECORDS: &str = include_str!("../tests/data/report.jsonl");

    fn records() -> Vec<Value> {
        RECORDS
            .lines()
            .filter(|l| !l.trim().is_empty() && !l.starts_with('#'))
            .map(|l| serde_json::from_str(l).unwrap())
            .collect()
    }

    #[test]
    fn rows_take_medians_and_operation_increments() {
        let records = records();
        assert_eq!(scales(&records), ["full", "small"]);
        let rows = rows(&records, "small");
        let w1 = rows.iter().find(|r| r.id == "W1").unwrap();
        // delta-rs: median of 0.2125 and 0.2375; ours: median of three
        assert!((w1.theirs_seconds.unwrap() - 0.225).abs() < 1e-12);
        assert_eq!(w1.ours_seconds, Some(0.15));
        // increments: delta-rs 49.8 and 50.8, ours 40.5, 41.5, 39.5
        assert!((w1.theirs_mib.unwrap() - 50.3).abs() < 1e-9);
        assert_eq!(w1.ours_mib, Some(40.5));
        assert!((w1.time_ratio().unwrap() - 0.15 / 0.225).abs() < 1e-12);
        assert!(!w1.whole_process);
        // a workload only one side ran has no ratio
        let w4 = rows.iter().find(|r| r.id == "W4").unwrap();
        assert_eq!((w4.theirs_seconds, w4.time_ratio()), (None, None));
        // every workload a side ran without failing; failed runs are left out
        let ids: Vec<&str> = rows.iter().map(|r| r.id).collect();
        assert_eq!(ids, ["W1", "W3", "W4", "W6"]);
    }

    #[test]
    fn a_side_without_an_increment_compares_whole_processes() {
        let records: Vec<Value> = [
            r#"{"workload":"W11","impl":"delta-microcrates","scale":"full","ok":true,"seconds":1.0,"peak_rss_mib":50.0,"rss_before_mib":10.0,"op_peak_rss_mib":10.0}"#,
            r#"{"workload":"W11","impl":"delta-rs","scale":"full","ok":true,"seconds":2.0,"peak_rss_mib":200.0,"rss_before_mib":null,"op_peak_rss_mib":null}"#,
        ]
        .iter()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
        let row = &rows(&records, "full")[0];
        assert!(row.whole_process);
        assert_eq!((row.ours_mib, row.theirs_mib), (Some(50.0), Some(200.0)));
        assert_eq!(row.memory_ratio(), Some(0.25));
    }

    #[test]
    fn the_table_shows_both_sides_and_the_ratios() {
        let table = markdown_table(&rows(&records(), "small"));
        let w1 = table.lines().find(|l| l.starts_with("| W1 ")).unwrap();
        assert_eq!(
            w1,
            "| W1 | append-large | 0.150 | 0.225 | 0.67 | 40 | 50 | 0.81 |"
        );
        assert!(table.starts_with("| workload | name | ours s | delta-rs s | time ratio |"));
    }

    #[test]
    fn medians_as_python() {
        assert_eq!(median(vec![]), None);
        assert_eq!(median(vec![3.0, 1.0, 2.0]), Some(2.0));
        assert_eq!(median(vec![4.0, 1.0, 2.0, 3.0]), Some(2.5));
    }

    #[test]
    fn notes_name_increments_references_and_gaps() {
        let notes = notes(&records());
        assert!(
            notes.contains("time delta-microcrates ÷ arrow-rs = "),
            "{notes}"
        );
        assert!(
            notes.contains("not implemented yet: W5 delta-microcrates"),
            "{notes}"
        );
        assert!(
            notes.contains("FAILED: W3 delta-microcrates (repeat 1)"),
            "{notes}"
        );
    }
}
