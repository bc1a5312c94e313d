//! Progress bars on standard error, drawn only when it is a terminal.

use std::io::IsTerminal;
use std::time::Duration;

use indicatif::{ProgressBar, ProgressStyle};

/// A bar (or a spinner until the total is known) with this template after
/// the bar; hidden when standard error is not a terminal.
pub fn bar(message: &str) -> ProgressBar {
    if !std::io::stderr().is_terminal() {
        return ProgressBar::hidden();
    }
    let bar = ProgressBar::new_spinner();
    if let Ok(style) = ProgressStyle::with_template(&format!(
        "{{spinner}} {{human_pos}} {message} ({{per_sec}}) {{elapsed}}"
    )) {
        bar.set_style(style);
    }
    bar.enable_steady_tick(Duration::from_millis(200));
    bar
}

/// A bar the library moves (`delta::txn::progress::Progress`), in rows or
/// in bytes.
pub struct Bar {
    bar: ProgressBar,
    template: &'static str,
}

impl Bar {
    /// Counts rows checked.
    pub fn rows_checked(bar: ProgressBar) -> Bar {
        Bar {
            bar,
            template: "{bar:30} {human_pos}/{human_len} rows checked ({per_sec}, {eta} left)",
        }
    }

    /// Counts commits and files checked.
    pub fn items_checked(bar: ProgressBar) -> Bar {
        Bar {
            bar,
            template: "{bar:30} {human_pos}/{human_len} commits and files checked ({per_sec}, {eta} left)",
        }
    }

    /// Counts bytes rewritten.
    pub fn bytes_rewritten(bar: ProgressBar) -> Bar {
        Bar {
            bar,
            template: "{bar:30} {binary_bytes}/{binary_total_bytes} rewritten ({binary_bytes_per_sec}, {eta} left)",
        }
    }

    /// Removes the bar from the terminal.
    pub fn finish(&self) {
        self.bar.finish_and_clear();
    }
}

impl delta::txn::progress::Progress for Bar {
    fn total(&self, units: u64) {
        self.bar.set_length(units);
        if let Ok(style) = ProgressStyle::with_template(self.template) {
            self.bar.set_style(style);
        }
    }

    fn advance(&self, units: u64) {
        self.bar.inc(units);
    }
}
