//! The ratio chart of BENCHMARKS.md: per workload two horizontal bars, time
//! and memory, ours ÷ delta-rs, with the line at 1 where both are equal.
//! Plain SVG text, no dependencies.

use std::fmt::Write;

use crate::report::Row;

const WIDTH: f64 = 760.0;
/// Where the bars start (the labels are left of it).
const LEFT: f64 = 230.0;
const RIGHT_MARGIN: f64 = 60.0;
const TOP: f64 = 56.0;
const ROW_HEIGHT: f64 = 30.0;
const BAR_HEIGHT: f64 = 10.0;
/// Ratios beyond this are drawn to the edge, with their value written.
const MAX_SHOWN: f64 = 4.0;
const TIME_COLOUR: &str = "#3a6ea5";
const MEMORY_COLOUR: &str = "#e08a2c";

/// Escapes text for SVG.
fn escape(text: &str) -> String {
    text.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
}

/// The chart's title for a scale.
pub fn title(scale: &str) -> String {
    format!("ours ÷ delta-rs, scale {scale}")
}

/// The chart of `rows` (workloads without any ratio are left out).
pub fn svg(rows: &[Row], title: &str) -> String {
    let rows: Vec<&Row> = rows
        .iter()
        .filter(|r| r.time_ratio().is_some() || r.memory_ratio().is_some())
        .collect();
    let largest = rows
        .iter()
        .flat_map(|r| [r.time_ratio(), r.memory_ratio()])
        .flatten()
        .fold(1.0_f64, f64::max);
    // the axis ends at a whole half above the largest ratio, at least 1.5
    let axis_end = ((largest.min(MAX_SHOWN) * 2.0).ceil() / 2.0).max(1.5);
    let scale = (WIDTH - LEFT - RIGHT_MARGIN) / axis_end;
    let x = |ratio: f64| LEFT + ratio.min(axis_end) * scale;
    let height = TOP + ROW_HEIGHT * rows.len() as f64 + 40.0;

    let mut out = String::new();
    let _ = writeln!(
        out,
        r#"<svg xmlns="http://www.w3.org/2000/svg" width="{WIDTH}" height="{height}" viewBox="0 0 {WIDTH} {height}" font-family="sans-serif" font-size="12">"#
    );
    let _ = writeln!(
        out,
        r##"<rect width="100%" height="100%" fill="white"/>
<text x="{LEFT}" y="20" font-size="14" font-weight="bold">{}</text>
<rect x="{LEFT}" y="30" width="12" height="10" fill="{TIME_COLOUR}"/><text x="{}" y="39">time</text>
<rect x="{}" y="30" width="12" height="10" fill="{MEMORY_COLOUR}"/><text x="{}" y="39">operation memory</text>
<text x="{}" y="39" fill="#555">ours ÷ delta-rs, lower is better</text>"##,
        escape(title),
        LEFT + 16.0,
        LEFT + 60.0,
        LEFT + 76.0,
        LEFT + 200.0,
    );
    // grid lines every half, the line at 1 darker
    let bottom = TOP + ROW_HEIGHT * rows.len() as f64;
    let mut tick = 0.0;
    while tick <= axis_end + 1e-9 {
        let (colour, width) = if (tick - 1.0_f64).abs() < 1e-9 {
            ("#333", 1.5)
        } else {
            ("#ddd", 1.0)
        };
        let _ = writeln!(
            out,
            r##"<line x1="{0:.1}" y1="{TOP}" x2="{0:.1}" y2="{bottom}" stroke="{colour}" stroke-width="{width}"/><text x="{0:.1}" y="{1:.1}" text-anchor="middle" fill="#555">{tick:.1}</text>"##,
            x(tick),
            bottom + 16.0,
        );
        tick += 0.5;
    }
    for (i, row) in rows.iter().enumerate() {
        let y = TOP + ROW_HEIGHT * i as f64;
        let _ = writeln!(
            out,
            r#"<text x="{:.1}" y="{:.1}" text-anchor="end">{} {}{}</text>"#,
            LEFT - 8.0,
            y + ROW_HEIGHT / 2.0 + 4.0,
            row.id,
            escape(row.name),
            // memory compared as whole-process peaks, as the table's † says
            if row.whole_process { " †" } else { "" }
        );
        for (k, (ratio, colour)) in [
            (row.time_ratio(), TIME_COLOUR),
            (row.memory_ratio(), MEMORY_COLOUR),
        ]
        .into_iter()
        .enumerate()
        {
            let Some(ratio) = ratio else {
                continue;
            };
            let top = y + 4.0 + k as f64 * (BAR_HEIGHT + 2.0);
            let end = x(ratio);
            let _ = writeln!(
                out,
                r#"<rect x="{LEFT}" y="{top:.1}" width="{:.1}" height="{BAR_HEIGHT}" fill="{colour}"/><text x="{:.1}" y="{:.1}" font-size="10">{ratio:.2}</text>"#,
                (end - LEFT).max(1.0),
                end + 4.0,
                top + BAR_HEIGHT - 1.0,
            );
        }
    }
    out.push_str("</svg>\n");
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn row(id: &'static str, time: (f64, f64), memory: (f64, f64)) -> Row {
        Row {
            id,
            name: "a <name>",
            ours_seconds: Some(time.0),
            theirs_seconds: Some(time.1),
            ours_mib: Some(memory.0),
            theirs_mib: Some(memory.1),
            whole_process: false,
        }
    }

    #[test]
    fn draws_one_bar_per_ratio_and_the_line_at_one() {
        let rows = [
            row("W1", (1.0, 2.0), (3.0, 1.0)),
            row("W4", (2.0, 2.0), (1.0, 4.0)),
        ];
        let svg = svg(&rows, "full scale");
        assert!(svg.starts_with("<svg") && svg.ends_with("</svg>\n"));
        // legend (2) + 4 bars
        assert_eq!(svg.matches("<rect x=").count(), 6);
        for value in ["0.50", "3.00", "1.00", "0.25"] {
            assert!(svg.contains(&format!(">{value}</text>")), "{value}: {svg}");
        }
        assert!(svg.contains("a &lt;name&gt;"));
        // the axis ends at 3.0, the largest ratio rounded up to a half
        assert!(svg.contains(">3.0</text>") && !svg.contains(">3.5</text>"));
        assert!(svg.contains(r##"stroke="#333""##));
    }

    #[test]
    fn large_ratios_are_clipped_and_rows_without_ratios_left_out() {
        let mut lonely = row("W6", (1.0, 1.0), (1.0, 1.0));
        lonely.theirs_seconds = None;
        lonely.theirs_mib = None;
        let svg = svg(&[row("W2", (20.0, 1.0), (1.0, 1.0)), lonely], "t");
        assert!(svg.contains(">20.00</text>"));
        assert!(svg.contains(">4.0</text>") && !svg.contains(">4.5</text>"));
        assert!(!svg.contains("W6"));
    }
}
