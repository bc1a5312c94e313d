//! The object-store servers the test suite runs against: an S3 server (Ceph's
//! RADOS Gateway, the S3 server Ceph runs in production) and the Azure
//! emulator (azurite), both on 127.0.0.1.
//!
//! They are started and stopped by the scripts in `xtask/storage/`, which
//! install what they need (apt `radosgw`, npm `azurite`). Ports are
//! free ones picked here (or `RGW_PORT`, `CEPH_MON_PORT`, `AZURITE_PORT`), pid files and data live in `STORAGE_DIR` (default: one
//! directory per workspace under /tmp), so runs of different worktrees do not
//! meet. The test process gets the variables of [`Storage::test_env`].

use std::collections::hash_map::DefaultHasher;
use std::fs::File;
use std::hash::{Hash, Hasher};
use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::thread::JoinHandle;
use std::time::Instant;

/// The storage tests (delta-txn/tests/storage.rs) that must have run against
/// the servers: each leaves a marker file of its name in `DELTA_STORAGE_MARKERS`.
const EXPECTED_MARKERS: &[&str] = &[
    "s3_commit_core_put_if_absent",
    "s3_reads_the_example_table",
    "s3_percent_in_keys_is_literal",
    "s3_writes_tables",
    "s3_lost_commit_response_is_adopted",
    "s3_writes_large_files",
    "azure_commit_core_put_if_absent",
    "azure_reads_the_example_table",
    "azure_percent_in_keys_is_literal",
    "azure_writes_tables",
    "azure_writes_large_files",
    // delta-cli's concurrency tests: many `delta` processes, every backend
    "eight_processes_append_fifty_times_each",
    "appends_overwrites_and_constraint_adds_at_once",
];

const BUCKET: &str = "delta-test";
const CONTAINER: &str = "delta";
const S3_KEY: &str = "test";

/// Every stop script, for leftovers of an interrupted run.
const ALL_STOP_SCRIPTS: &[&str] = &["stop-azurite.sh", "stop-ceph-rgw.sh"];

/// Prefixes of the variables object_store reads; the test process gets only ours.
const CLOUD_ENV_PREFIXES: &[&str] = &["AWS_", "AZURE_", "AZURITE_"];

struct Server {
    name: &'static str,
    start: &'static str,
    stop: &'static str,
    script_env: Vec<(String, String)>,
    starting: Option<JoinHandle<Result<(), String>>>,
}

/// The running (or starting) servers.
pub struct Storage {
    dir: PathBuf,
    scripts: PathBuf,
    servers: Vec<Server>,
    test_env: Vec<(String, String)>,
}

fn free_port(var: &str, taken: &mut Vec<TcpListener>) -> Result<u16, String> {
    if let Ok(port) = std::env::var(var) {
        return port
            .parse()
            .map_err(|e| format!("{var}={port} is not a port: {e}"));
    }
    // keep the listener until every port is picked, so no two are the same
    let listener = TcpListener::bind(("127.0.0.1", 0))
        .map_err(|e| format!("no free port on 127.0.0.1: {e}"))?;
    let port = listener
        .local_addr()
        .map_err(|e| format!("no free port on 127.0.0.1: {e}"))?
        .port();
    taken.push(listener);
    Ok(port)
}

fn pairs(list: &[(&str, String)]) -> Vec<(String, String)> {
    list.iter()
        .map(|(k, v)| (k.to_string(), v.clone()))
        .collect()
}

impl Storage {
    /// Starts every server in the background (see [`Storage::wait_ready`]).
    pub fn start(workspace: &Path) -> Result<Storage, String> {
        let scripts = workspace.join("xtask/storage");
        let scripts = scripts.canonicalize().unwrap_or(scripts);
        let dir = match std::env::var("STORAGE_DIR") {
            Ok(dir) if !dir.is_empty() => PathBuf::from(dir),
            _ => {
                let mut hasher = DefaultHasher::new();
                workspace.hash(&mut hasher);
                // short: Ceph's admin sockets live below it (Unix socket paths are short)
                PathBuf::from(format!("/tmp/delta-storage-{:08x}", hasher.finish() as u32))
            }
        };
        let mut taken = Vec::new();
        let rgw_port = free_port("RGW_PORT", &mut taken)?;
        let mon_port = free_port("CEPH_MON_PORT", &mut taken)?;
        let rgw = Server {
            name: "ceph-rgw",
            start: "start-ceph-rgw.sh",
            stop: "stop-ceph-rgw.sh",
            script_env: pairs(&[
                ("RGW_PORT", rgw_port.to_string()),
                ("CEPH_MON_PORT", mon_port.to_string()),
                ("S3_BUCKET", BUCKET.to_string()),
                ("S3_ACCESS_KEY_ID", S3_KEY.to_string()),
                ("S3_SECRET_ACCESS_KEY", S3_KEY.to_string()),
            ]),
            starting: None,
        };
        let azurite_port = free_port("AZURITE_PORT", &mut taken)?;
        let azurite = Server {
            name: "azurite",
            start: "start-azurite.sh",
            stop: "stop-azurite.sh",
            script_env: pairs(&[
                ("AZURITE_PORT", azurite_port.to_string()),
                ("AZURITE_CONTAINER", CONTAINER.to_string()),
            ]),
            starting: None,
        };
        drop(taken);

        let test_env = pairs(&[
            ("DELTA_REQUIRE_STORAGE", "1".to_string()),
            (
                "DELTA_STORAGE_MARKERS",
                dir.join("markers").display().to_string(),
            ),
            ("DELTA_TEST_S3_URL", format!("s3://{BUCKET}")),
            ("AWS_ENDPOINT", format!("http://127.0.0.1:{rgw_port}")),
            ("AWS_ALLOW_HTTP", "true".to_string()),
            ("AWS_REGION", "us-east-1".to_string()),
            ("AWS_ACCESS_KEY_ID", S3_KEY.to_string()),
            ("AWS_SECRET_ACCESS_KEY", S3_KEY.to_string()),
            ("AWS_VIRTUAL_HOSTED_STYLE_REQUEST", "false".to_string()),
            ("DELTA_TEST_AZURE_URL", format!("az://{CONTAINER}")),
            ("AZURE_STORAGE_USE_EMULATOR", "true".to_string()),
            (
                "AZURITE_BLOB_STORAGE_URL",
                format!("http://127.0.0.1:{azurite_port}"),
            ),
        ]);

        let mut storage = Storage {
            dir,
            scripts,
            servers: vec![rgw, azurite],
            test_env,
        };
        for server in &storage.servers {
            let script = storage.scripts.join(server.start);
            if !script.is_file() {
                return Err(format!(
                    "{} not found: the storage tests start their servers with the scripts in xtask/storage",
                    script.display()
                ));
            }
        }
        std::fs::create_dir_all(&storage.dir)
            .map_err(|e| format!("creating {}: {e}", storage.dir.display()))?;
        // leftovers of an interrupted run of this workspace (pid files in our dir)
        storage.run_stop_scripts(ALL_STOP_SCRIPTS, false);
        for stale in ["markers", "azurite-data"] {
            let path = storage.dir.join(stale);
            if path.exists() {
                std::fs::remove_dir_all(&path)
                    .map_err(|e| format!("removing {}: {e}", path.display()))?;
            }
        }
        for server in &mut storage.servers {
            let script = storage.scripts.join(server.start);
            let log = storage.dir.join(format!("{}-start.log", server.name));
            let dir = storage.dir.clone();
            let env = server.script_env.clone();
            let name = server.name;
            eprintln!(
                "xtask: starting {name} in the background ({})",
                script.display()
            );
            server.starting = Some(std::thread::spawn(move || {
                run_script(name, &script, &dir, &env, &log)
            }));
        }
        Ok(storage)
    }

    /// Waits until every server is up; the error says which did not start and why.
    pub fn wait_ready(&mut self) -> Result<(), String> {
        let mut failed = Vec::new();
        for server in &mut self.servers {
            if let Some(handle) = server.starting.take() {
                match handle.join() {
                    Ok(Ok(())) => {}
                    Ok(Err(e)) => failed.push(e),
                    Err(_) => failed.push(format!("starting {} panicked", server.name)),
                }
            }
        }
        if failed.is_empty() {
            Ok(())
        } else {
            Err(failed.join("\n"))
        }
    }

    /// What the test process needs to reach the servers.
    pub fn test_env(&self) -> &[(String, String)] {
        &self.test_env
    }

    /// Variables of this environment that object_store would also read: the
    /// test process runs without them, so only ours count.
    pub fn env_to_remove(&self) -> Vec<String> {
        std::env::vars_os()
            .filter_map(|(k, _)| k.into_string().ok())
            .filter(|k| CLOUD_ENV_PREFIXES.iter().any(|p| k.starts_with(p)))
            .filter(|k| !self.test_env.iter().any(|(ours, _)| ours == k))
            .collect()
    }

    /// Checks that every storage test left its marker, i.e. really ran
    /// against the servers.
    pub fn check_markers(&self) -> Result<(), String> {
        let dir = self.dir.join("markers");
        let missing: Vec<&str> = EXPECTED_MARKERS
            .iter()
            .copied()
            .filter(|m| !dir.join(m).is_file())
            .collect();
        if missing.is_empty() {
            eprintln!(
                "xtask: all {} storage tests ran against the servers",
                EXPECTED_MARKERS.len()
            );
            Ok(())
        } else {
            Err(format!(
                "storage tests did not run against the servers (no marker in {}): {}",
                dir.display(),
                missing.join(", ")
            ))
        }
    }

    /// Stops every server (after any start still under way has finished).
    pub fn stop(mut self) {
        for server in &mut self.servers {
            if let Some(handle) = server.starting.take() {
                let _ = handle.join();
            }
        }
        let scripts: Vec<&str> = self.servers.iter().rev().map(|s| s.stop).collect();
        self.run_stop_scripts(&scripts, true);
    }

    /// Runs stop scripts; they stop by the pid files in our directory only.
    fn run_stop_scripts(&self, scripts: &[&str], verbose: bool) {
        for name in scripts {
            let script = self.scripts.join(name);
            let out = Command::new("bash")
                .arg(&script)
                .env("STORAGE_DIR", &self.dir)
                .stdin(Stdio::null())
                .output();
            match out {
                Ok(out) if verbose || !out.status.success() => {
                    let text = String::from_utf8_lossy(&out.stdout);
                    for line in text
                        .lines()
                        .chain(String::from_utf8_lossy(&out.stderr).lines())
                    {
                        eprintln!("xtask: [{name}] {line}");
                    }
                }
                Ok(_) => {}
                Err(e) => eprintln!("xtask: {}: {e}", script.display()),
            }
        }
    }
}

/// Runs a start script with its output in `log`; prints the output and how long it took.
fn run_script(
    name: &str,
    script: &Path,
    dir: &Path,
    env: &[(String, String)],
    log: &Path,
) -> Result<(), String> {
    let started = Instant::now();
    let out = File::create(log).map_err(|e| format!("{name}: creating {}: {e}", log.display()))?;
    let err = out
        .try_clone()
        .map_err(|e| format!("{name}: {}: {e}", log.display()))?;
    // the daemons the script leaves running write to their own logs, not to ours
    let status = Command::new("bash")
        .arg(script)
        .env("STORAGE_DIR", dir)
        .envs(env.iter().map(|(k, v)| (k, v)))
        .stdin(Stdio::null())
        .stdout(out)
        .stderr(err)
        .status()
        .map_err(|e| format!("{name}: running {}: {e}", script.display()))?;
    let output = std::fs::read_to_string(log).unwrap_or_default();
    let took = started.elapsed().as_secs_f64();
    if status.success() {
        for line in output.lines() {
            eprintln!("xtask: [{name}] {line}");
        }
        eprintln!("xtask: {name} up after {took:.1} s");
        Ok(())
    } else {
        let hint = if name == "ceph-rgw" {
            "\n(Ceph is installed with apt-get, which needs root or password-less sudo)"
        } else {
            ""
        };
        Err(format!(
            "{name} did not start ({status} after {took:.1} s; {}):\n{output}{hint}",
            script.display()
        ))
    }
}
