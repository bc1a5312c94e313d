//! Writes the results of a run into BENCHMARKS.md (between its result
//! markers) and the ratio chart beside it: the table, the date, the machine
//! (as our records describe it) and the versions of both sides.

use std::fmt::Write;
use std::path::Path;

use serde_json::Value;

use crate::report::{Row, notes, rows};
use crate::spec::{DELTA_RS, OURS};

/// The markers around the part of BENCHMARKS.md a run rewrites.
pub const START: &str = "<!-- results:start -->";
/// See [`START`].
pub const END: &str = "<!-- results:end -->";

fn text<'a>(record: &'a Value, key: &str) -> Option<&'a str> {
    record.get(key).and_then(Value::as_str)
}

/// The newest record of `implementation` at `scale`.
fn newest<'a>(records: &'a [Value], scale: &str, implementation: &str) -> Option<&'a Value> {
    records
        .iter()
        .filter(|r| text(r, "scale") == Some(scale) && text(r, "impl") == Some(implementation))
        .max_by_key(|r| text(r, "utc").unwrap_or_default())
}

/// How many repeats the runs of `scale` had (the most of any workload).
fn repeats(records: &[Value], scale: &str) -> usize {
    let mut counts = std::collections::BTreeMap::<(&str, &str), usize>::new();
    for r in records.iter().filter(|r| text(r, "scale") == Some(scale)) {
        let key = (
            text(r, "workload").unwrap_or_default(),
            text(r, "impl").unwrap_or_default(),
        );
        *counts.entry(key).or_default() += 1;
    }
    counts.into_values().max().unwrap_or(0)
}

/// The results section: where and when it ran, the chart, the table and
/// the notes of the run.
pub fn section(records: &[Value], scale: &str, chart: &str, rows: &[Row]) -> String {
    let ours = newest(records, scale, OURS);
    let theirs = newest(records, scale, DELTA_RS);
    let version = |r: Option<&Value>| {
        r.and_then(|r| text(r, "impl_version"))
            .unwrap_or("unknown")
            .to_string()
    };
    let date = ours
        .and_then(|r| text(r, "utc"))
        .map_or("unknown", |utc| utc.get(..10).unwrap_or(utc));
    let host = ours.and_then(|r| r.get("host"));
    let field = |key: &str| host.and_then(|h| h.get(key)).map(Value::to_string);
    let mut out = String::new();
    let _ = writeln!(
        out,
        "Recorded on {date} (UTC) at scale `{scale}`, median of {} repeat(s), on one \
         machine: {}, {} cores, {} RAM, {}. Ours: {}; delta-rs: {}.\n",
        repeats(records, scale),
        field("machine").unwrap_or_default().trim_matches('"'),
        field("cores").unwrap_or_default(),
        host.and_then(|h| h.get("memory_gib"))
            .and_then(Value::as_f64)
            .map_or("unknown".to_string(), |g| format!("{g:.0} GiB")),
        field("os").unwrap_or_default().trim_matches('"'),
        version(ours),
        version(theirs),
    );
    let _ = writeln!(out, "![ours ÷ delta-rs per workload]({chart})\n");
    out.push_str(&crate::report::markdown_table(rows));
    let of_scale: Vec<Value> = records
        .iter()
        .filter(|r| text(r, "scale") == Some(scale))
        .cloned()
        .collect();
    let notes = notes(&of_scale);
    if !notes.trim().is_empty() {
        let _ = writeln!(out, "\nNotes of the run:\n\n```text{notes}```");
    }
    out
}

/// Rewrites the part of `markdown` between the markers with the results of
/// `scale`, and writes the chart to `chart` (a path relative to the
/// markdown file's directory is what the section links).
pub fn publish(
    records: &[Value],
    scale: &str,
    markdown: &Path,
    chart: &Path,
) -> Result<(), String> {
    let rows = rows(records, scale);
    if rows.is_empty() {
        return Err(format!("no results at scale {scale} to publish"));
    }
    let document = std::fs::read_to_string(markdown)
        .map_err(|e| format!("cannot read {}: {e}", markdown.display()))?;
    let start = document.find(START);
    let end = start.and_then(|s| document[s..].find(END).map(|e| s + e));
    let (Some(start), Some(end)) = (start, end) else {
        return Err(format!(
            "{} has no {START} ... {END} markers to write between",
            markdown.display()
        ));
    };
    let base = markdown.parent().unwrap_or(Path::new("."));
    let link = chart
        .strip_prefix(base)
        .unwrap_or(chart)
        .display()
        .to_string();
    let section = section(records, scale, &link, &rows);
    let updated = format!(
        "{}{START}\n{section}{}",
        &document[..start],
        &document[end..]
    );
    std::fs::write(chart, crate::chart::svg(&rows, &crate::chart::title(scale)))
        .map_err(|e| format!("cannot write {}: {e}", chart.display()))?;
    std::fs::write(markdown, updated)
        .map_err(|e| format!("cannot write {}: {e}", markdown.display()))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn record(implementation: &str, seconds: f64) -> Value {
        serde_json::json!({
            "workload": "W4", "impl": implementation, "scale": "full", "ok": true,
            "seconds": seconds, "peak_rss_mib": 100.0, "rss_before_mib": 10.0,
            "op_peak_rss_mib": 60.0, "utc": "2026-11-30T10:00:00Z",
            "impl_version": format!("{implementation} 1.0"),
            "host": {"machine": "x86_64", "cores": 2, "os": "linux", "memory_gib": 23.4},
        })
    }

    #[test]
    fn rewrites_only_between_the_markers() {
        let dir = std::env::temp_dir().join(format!("delta-bench-publish-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let markdown = dir.join("BENCHMARKS.md");
        let chart = dir.join("ratios.svg");
        std::fs::write(
            &markdown,
            format!("# B\n\nbefore\n{START}\nold\n{END}\nafter\n"),
        )
        .unwrap();
        let mut other_scale = record(OURS, 9.0);
        other_scale["scale"] = "small".into();
        other_scale["ok"] = false.into();
        other_scale["error"] = "boom at small scale".into();
        let records = [record(OURS, 1.0), record(DELTA_RS, 2.0), other_scale];
        publish(&records, "full", &markdown, &chart).unwrap();
        let text = std::fs::read_to_string(&markdown).unwrap();
        assert!(text.starts_with("# B\n\nbefore\n<!-- results:start -->\nRecorded on 2026-11-30"));
        assert!(text.ends_with("<!-- results:end -->\nafter\n"));
        assert!(!text.contains("old"));
        // only this scale's notes
        assert!(!text.contains("boom"), "{text}");
        assert!(
            text.contains("x86_64, 2 cores, 23 GiB RAM, linux."),
            "{text}"
        );
        assert!(text.contains("Ours: delta-microcrates 1.0; delta-rs: delta-rs 1.0."));
        assert!(text.contains("![ours ÷ delta-rs per workload](ratios.svg)"));
        assert!(text.contains("| W4 | full-scan | 1.000 | 2.000 | 0.50 | 50 | 50 | 1.00 |"));
        assert!(std::fs::read_to_string(&chart).unwrap().starts_with("<svg"));
        // a second run replaces the section again
        publish(&records, "full", &markdown, &chart).unwrap();
        assert_eq!(std::fs::read_to_string(&markdown).unwrap(), text);
        // no markers, no results: clear errors, nothing written
        std::fs::write(&markdown, "# B\n").unwrap();
        assert!(
            publish(&records, "full", &markdown, &chart)
                .unwrap_err()
                .contains("markers")
        );
        assert!(
            publish(&records, "small", &markdown, &chart)
                .unwrap_err()
                .contains("no results")
        );
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
