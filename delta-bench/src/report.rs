//! The ratio table of BENCHMARKS.md, in the layout the first delta-rs
//! harness printed (pinned by a test), followed by our notes: the
//! operation's memory increment, W1/W2 against arrow-rs alone, workloads not
//! implemented and failed runs.

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

/// The ratio table (time and whole-process peak RSS against delta-rs).
pub fn ratio_table(records: &[Value]) -> String {
    let baseline = DELTA_RS;
    let groups = group(records);
    let impls: BTreeSet<&str> = groups
        .keys()
        .map(|k| k.2.as_str())
        .filter(|i| *i != baseline)
        .collect();
    let scales: BTreeSet<&str> = groups.keys().map(|k| k.0.as_str()).collect();
    let mut out = String::new();
    for scale in scales {
        let _ = writeln!(
            out,
            "\nscale={scale}   (ratio = impl ÷ {baseline}; lower is better; median of repeats)"
        );
        let mut header = format!(
            "{:<6} {:<27} {:>10} {:>7}",
            "workload",
            "name",
            format!("{baseline} s"),
            "MiB"
        );
        for i in &impls {
            let _ = write!(
                header,
                " | {:>10} {:>7} {:>7} {:>7}",
                format!("{i} s"),
                "MiB",
                "t-ratio",
                "m-ratio"
            );
        }
        let _ = writeln!(out, "{header}");
        let key = |w: &str, i: &str| (scale.to_string(), w.to_string(), i.to_string());
        for w in WORKLOADS {
            let b = groups.get(&key(w.id, baseline));
            if b.is_none() && !impls.iter().any(|i| groups.contains_key(&key(w.id, i))) {
                continue;
            }
            let bs = median_of(b, "seconds");
            let bm = median_of(b, "peak_rss_mib");
            let mut line = format!(
                "{:<6} {:<27} {:>10} {:>7}",
                w.id,
                w.name,
                fmt(bs, 3),
                fmt(bm, 0)
            );
            for i in &impls {
                let rs = groups.get(&key(w.id, i));
                let s = median_of(rs, "seconds");
                let m = median_of(rs, "peak_rss_mib");
                let ratio = |x: Option<f64>, base: Option<f64>| match (x, base) {
                    (Some(x), Some(base)) if base != 0.0 => Some(x / base),
                    _ => None,
                };
                let _ = write!(
                    line,
                    " | {:>10} {:>7} {:>7} {:>7}",
                    fmt(s, 3),
                    fmt(m, 0),
                    fmt(ratio(s, bs), 2),
                    fmt(ratio(m, bm), 2)
                );
            }
            let _ = writeln!(out, "{line}");
        }
    }
    out
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
    /// The table the first delta-rs harness printed for `tests/data/report.jsonl`.
    const EXPECTED: &str = include_str!("../tests/data/report.expected.txt");

    fn records() -> Vec<Value> {
        RECORDS
            .lines()
            .filter(|l| !l.trim().is_empty() && !l.starts_with('#'))
            .map(|l| serde_json::from_str(l).unwrap())
            .collect()
    }

    #[test]
    fn prints_the_table_of_the_reference_script() {
        assert_eq!(ratio_table(&records()), EXPECTED);
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
