//! Interop check: tables our writer makes are read by delta-rs (and Polars)
//! with equal canonical content at every version.
//!
//! A Python venv with xtask/peer/requirements.txt is set up in
//! `target/peer-venv` (in a background thread while the build runs); the
//! `interop` test of delta-txn writes the tables and our reader's report of
//! each into `target/interop`; then xtask/peer/check_table.py reads each
//! table with delta-rs (every version) and Polars (the latest), except where
//! [`SPECIAL`] says why other readers are used. Then xtask/peer/constraints.py
//! checks that CHECK and NOT NULL constraints hold both ways: delta-rs's rules
//! stop our `delta` binary, ours stop delta-rs; and xtask/peer/dml_diff.py runs
//! random DELETE, UPDATE and MERGE statements through delta-rs and our binary
//! on copies of random tables and compares. `cargo xtask bench` uses the
//! same venv to generate its data with xtask/peer/bench_data.py.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::thread::JoinHandle;

/// Why tables with deletion vectors are read another way.
const DELETION_VECTORS: &str = "delta-rs's pyarrow path refuses the deletionVectors reader \
     feature; its DataFusion scan and Polars apply deletion vectors";

/// The readers of check_table.py for a table [`SPECIAL`] does not name:
/// delta-rs's pyarrow path at every version, Polars at the latest.
const DEFAULT_READERS: &str = "deltalake,polars";

/// Tables checked another way, and why.
const SPECIAL: &[(&str, &str, &str)] = &[
    (
        "column-mapped",
        "querybuilder",
        "delta-rs's pyarrow path ignores column mapping (returns nulls) and Polars refuses it; \
         delta-rs's DataFusion scan applies it",
    ),
    (
        "mapping-enabled",
        "querybuilder",
        "a renamed column under column mapping: delta-rs's pyarrow path ignores column mapping",
    ),
    (
        "widened",
        "manual-cast",
        "delta-rs 1.6.6 and Polars refuse the typeWidening reader feature; the Parquet files \
         delta-rs lists are read with pyarrow and cast to the widened schema",
    ),
    (
        "dml-deletion-vectors",
        "querybuilder,polars",
        DELETION_VECTORS,
    ),
    (
        "dml-deletion-vectors-partitioned",
        "querybuilder,polars",
        DELETION_VECTORS,
    ),
    (
        "optimized-deletion-vectors",
        "querybuilder,polars",
        DELETION_VECTORS,
    ),
    (
        "negative-decimal-partition",
        "polars",
        "delta-rs 1.6.6 cannot parse negative decimal partition values ('-1.25' becomes '-1.-25')",
    ),
];

/// The peer venv, being set up.
pub struct Peer {
    venv: PathBuf,
    setup: Option<JoinHandle<Result<(), String>>>,
}

fn run(command: &mut Command, what: &str) -> Result<(), String> {
    let status = command
        .status()
        .map_err(|e| format!("{what}: cannot start: {e}"))?;
    if status.success() {
        Ok(())
    } else {
        Err(format!("{what}: {status}"))
    }
}

impl Peer {
    /// Starts setting up the venv (unless it is already there).
    pub fn start(workspace: &Path) -> Peer {
        let venv = workspace.join("target/peer-venv");
        let requirements = workspace.join("xtask/peer/requirements.txt");
        let marker = venv.join("installed.txt");
        let setup_venv = venv.clone();
        let setup = std::thread::spawn(move || {
            let wanted = std::fs::read_to_string(&requirements)
                .map_err(|e| format!("cannot read {}: {e}", requirements.display()))?;
            if std::fs::read_to_string(&marker).ok().as_deref() == Some(wanted.as_str()) {
                return Ok(());
            }
            eprintln!(
                "xtask: setting up {} (delta-rs, pyarrow, Polars)",
                setup_venv.display()
            );
            run(
                Command::new("python3")
                    .args(["-m", "venv"])
                    .arg(&setup_venv),
                "python3 -m venv",
            )?;
            run(
                Command::new(setup_venv.join("bin/python"))
                    .args(["-m", "pip", "install", "-q", "-r"])
                    .arg(&requirements),
                "pip install -r xtask/peer/requirements.txt",
            )?;
            std::fs::write(&marker, wanted).map_err(|e| e.to_string())
        });
        Peer {
            venv,
            setup: Some(setup),
        }
    }

    /// Waits for the venv and returns its Python.
    pub fn python(&mut self) -> Result<PathBuf, String> {
        if let Some(setup) = self.setup.take() {
            setup
                .join()
                .map_err(|_| "the venv setup thread panicked".to_string())??;
        }
        Ok(self.venv.join("bin/python"))
    }

    /// Runs a peer script of xtask/peer against our `delta` binary: with
    /// `--delta BIN --work target/<script name>` and `args`.
    pub fn check_binary(
        &mut self,
        workspace: &Path,
        script: &str,
        delta: &Path,
        args: &[&str],
    ) -> Result<(), String> {
        let python = self.python()?;
        let name = script.trim_end_matches(".py");
        run(
            Command::new(&python)
                .arg(workspace.join("xtask/peer").join(script))
                .arg("--delta")
                .arg(delta)
                .arg("--work")
                .arg(workspace.join("target").join(format!("peer-{name}")))
                .args(args),
            &format!("{script} check"),
        )
    }

    /// Writes the interop tables with our writer and has the peers read them.
    /// Tables already in `copies` (copies of tables on the object stores)
    /// are checked too.
    pub fn check(
        &mut self,
        workspace: &Path,
        copies: &Path,
        cargo_test: impl Fn(&Path) -> Result<(), String>,
    ) -> Result<(), String> {
        let python = self.python()?;
        // the Python canonical hash against the fixtures the Rust one passes
        run(
            Command::new(&python)
                .arg(workspace.join("xtask/peer/check_canonical.py"))
                .arg(workspace.join("delta-test/tests/data/canonical")),
            "canonical hash fixtures (xtask/peer/check_canonical.py)",
        )?;
        let dir = workspace.join("target/interop");
        let _ = std::fs::remove_dir_all(&dir);
        cargo_test(&dir)?;
        let mut reports: Vec<PathBuf> = std::fs::read_dir(&dir)
            .map_err(|e| format!("{}: {e}", dir.display()))?
            .chain(std::fs::read_dir(copies).into_iter().flatten())
            .flatten()
            .map(|e| e.path())
            .filter(|p| p.to_string_lossy().ends_with(".ours.json"))
            .collect();
        reports.sort();
        if reports.is_empty() {
            return Err(format!(
                "the interop test wrote no tables into {}",
                dir.display()
            ));
        }
        let mut failed = Vec::new();
        for report in &reports {
            let name = report
                .file_name()
                .and_then(|n| n.to_str())
                .and_then(|n| n.strip_suffix(".ours.json"))
                .unwrap_or_default()
                .to_string();
            let table = report.with_file_name(&name);
            let readers = match SPECIAL.iter().find(|(t, _, _)| *t == name) {
                Some((_, readers, why)) => {
                    eprintln!("xtask: interop {name}: checked with {readers} ({why})");
                    readers
                }
                None => DEFAULT_READERS,
            };
            let mut command = Command::new(&python);
            command
                .arg(workspace.join("xtask/peer/check_table.py"))
                .arg(&table)
                .arg("--expect")
                .arg(report);
            for reader in readers.split(',') {
                command.args(["--reader", reader]);
            }
            match run(&mut command, &format!("interop check of {name}")) {
                Ok(()) => eprintln!("xtask: interop {name}: equal"),
                Err(e) => failed.push(e),
            }
        }
        eprintln!(
            "xtask: interop: {} tables equal, {} different",
            reports.len() - failed.len(),
            failed.len()
        );
        if failed.is_empty() {
            Ok(())
        } else {
            Err(failed.join("; "))
        }
    }
}
