//! What BENCHMARKS.md fixes: the workloads, how each is set up, and the
//! parameters of `$DATA/manifest.json`.

use std::path::{Path, PathBuf};

use serde::Deserialize;

/// The `impl` of our records.
pub const OURS: &str = "delta-microcrates";
/// The `impl` of the reference lines: the same Parquet written by arrow-rs alone.
pub const ARROW: &str = "arrow-rs";
/// The `impl` of our records with deletion vectors on (DML workloads):
/// the copied table gets `delta.enableDeletionVectors = true` in setup.
pub const OURS_DV: &str = "delta-microcrates-dv";
/// The `impl` of delta-rs's records (the ratio table's baseline).
pub const DELTA_RS: &str = "delta-rs";

/// How a workload's table is prepared, in a process before the measured one.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Setup {
    /// The target path must not exist (the workload creates the table).
    None,
    /// The measured implementation creates an empty table with the bench schema.
    Create,
    /// The delta-rs template is read in place (and read once to warm the page cache).
    Read(&'static str),
    /// A byte-identical copy of the delta-rs template.
    Copy(&'static str),
}

/// One workload of BENCHMARKS.md.
#[derive(Debug, Clone, Copy)]
pub struct Workload {
    /// `W1` ... `W11`, `W3b`.
    pub id: &'static str,
    /// The name in records and the ratio table.
    pub name: &'static str,
    /// How its table is prepared.
    pub setup: Setup,
    /// Whether we run it (every workload does today; one that does not is
    /// recorded as not implemented).
    pub implemented: bool,
}

/// All workloads, in the order of the ratio table.
pub const WORKLOADS: &[Workload] = &[
    w("W1", "append-large", Setup::None, true),
    w("W2", "append-small-commits", Setup::Create, true),
    w("W3", "snapshot-load", Setup::Read("log_cp"), true),
    w(
        "W3b",
        "snapshot-load-nocheckpoint",
        Setup::Read("log_nocp"),
        true,
    ),
    w("W4", "full-scan", Setup::Read("base"), true),
    w("W5", "filtered-scan", Setup::Read("sorted50"), true),
    w("W6", "time-travel", Setup::Read("log_cp"), true),
    w("W7", "merge-upsert", Setup::Copy("base"), true),
    w("W8", "delete-10pct", Setup::Copy("base"), true),
    w("W9", "update-10pct", Setup::Copy("base"), true),
    w("W10", "optimize-compact", Setup::Copy("small200"), true),
    w("W11", "concurrent-appends", Setup::Create, true),
    // ours, beside BENCHMARKS.md's: SQL through each implementation's DataFusion provider
    w("Q1", "sql-filtered-aggregate", Setup::Read("base"), true),
];

const fn w(id: &'static str, name: &'static str, setup: Setup, implemented: bool) -> Workload {
    Workload {
        id,
        name,
        setup,
        implemented,
    }
}

/// The workload with this id.
pub fn workload(id: &str) -> Option<&'static Workload> {
    WORKLOADS.iter().find(|w| w.id == id)
}

/// Workloads we also run with deletion vectors on ([`OURS_DV`]).
pub fn has_dv_variant(id: &str) -> bool {
    matches!(id, "W7" | "W8" | "W9")
}

/// Workloads with an arrow-rs reference line (writing the same Parquet alone).
pub fn has_arrow_reference(id: &str) -> bool {
    matches!(id, "W1" | "W2")
}

/// The parameters of `$DATA/manifest.json` the harness uses.
#[derive(Debug, Clone, Deserialize)]
pub struct Manifest {
    /// `small` or `full`.
    pub scale: String,
    /// Rows of the big table.
    pub n: u64,
    /// W2 commits.
    pub c2: u64,
    /// W3 commits.
    pub c3: u64,
    /// W3b commits.
    pub c3b: u64,
    /// W6 version.
    pub w6_version: u64,
    /// Rows per W2 commit.
    pub batch_rows: u64,
    /// W5: the lowest id of the filtered range (inclusive).
    pub w5_lo: i64,
    /// W5: the highest id of the filtered range (inclusive).
    pub w5_hi: i64,
    /// W8: the categories deleted.
    pub w8_categories: Vec<String>,
    /// W9: the category updated.
    pub w9_category: String,
    /// W10: the target file size of the compaction, bytes.
    pub w10_target_size: u64,
    /// W11: worker processes.
    pub w11_workers: u64,
    /// W11: append commits per worker.
    pub c11: u64,
}

impl Manifest {
    /// Reads `data/manifest.json`.
    pub fn read(data: &Path) -> Result<Manifest, String> {
        let path = data.join("manifest.json");
        let text = std::fs::read_to_string(&path)
            .map_err(|e| format!("cannot read {}: {e}", path.display()))?;
        serde_json::from_str(&text).map_err(|e| format!("{}: {e}", path.display()))
    }
}

/// Where the data and the scratch space are.
#[derive(Debug, Clone)]
pub struct Dirs {
    /// `$DATA`, written by bench_data.py; read-only here.
    pub data: PathBuf,
    /// `$SCRATCH`: tables the write workloads make.
    pub work: PathBuf,
}

impl Dirs {
    /// An input file, `$DATA/input/<name>`.
    pub fn input(&self, name: &str) -> PathBuf {
        self.data.join("input").join(name)
    }

    /// The table a workload of an implementation works on.
    pub fn table(&self, workload: &Workload, implementation: &str) -> PathBuf {
        match workload.setup {
            Setup::Read(template) => self.data.join("template").join(template),
            _ if implementation == ARROW => self.work.join(format!("{}-arrow", workload.id)),
            _ if implementation == OURS_DV => self.work.join(format!("{}-dv", workload.id)),
            _ => self.work.join(workload.id),
        }
    }
}
