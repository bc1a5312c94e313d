//! Every table of testdata/: the log replays to the expected version
//! and number of active files at every listed version; refused tables fail.

use delta_log::TableFeature;
use serde_json::Value;

use crate::checkpoint::summary;
use crate::{corpus, local_log, testdata_dir};

/// Reader features the full read path implements (the log layer checks them).
const READER_FEATURES: &[TableFeature] = &[
    TableFeature::ColumnMapping,
    TableFeature::DeletionVectors,
    TableFeature::TimestampNtz,
    TableFeature::V2Checkpoint,
    TableFeature::TypeWidening,
    TableFeature::TypeWideningPreview,
    TableFeature::VariantType,
    TableFeature::VariantTypePreview,
    TableFeature::VacuumProtocolCheck,
];

#[tokio::test]
async fn every_table_replays_to_the_expected_files() {
    let dir = testdata_dir();
    let mut checked = 0;
    let mut failures = Vec::new();
    for (table, expected) in corpus() {
        let table = table.as_str();
        let log = local_log(&dir.join(table));
        if !expected["expected_error"].is_null() {
            let result = async {
                let s = log.state(None).await?;
                s.protocol.check_readable(READER_FEATURES, s.version)
            }
            .await;
            if result.is_ok() {
                failures.push(format!("{table}: loaded but should be refused"));
            }
            checked += 1;
            continue;
        }
        for v in expected["versions"].as_array().unwrap() {
            let version = v["version"].as_u64().unwrap();
            match log.state(Some(version)).await {
                Ok(s) => {
                    let want = v["num_files"].as_u64().unwrap() as usize;
                    if s.version != version || s.files.len() != want {
                        failures.push(format!(
                            "{table}@{version}: got version {} with {} files, want {want}",
                            s.version,
                            s.files.len()
                        ));
                    }
                    if let Err(e) = s.protocol.check_readable(READER_FEATURES, version) {
                        failures.push(format!("{table}@{version}: {e}"));
                    }
                }
                Err(e) => failures.push(format!("{table}@{version}: {e}")),
            }
            checked += 1;
        }
        // and the latest version loads without naming one
        if let Some(latest) = expected["latest_version"].as_u64() {
            match log.state(None).await {
                Ok(s) if s.version == latest => {}
                Ok(s) => failures.push(format!("{table}: latest is {}, want {latest}", s.version)),
                Err(e) => failures.push(format!("{table} latest: {e}")),
            }
        }
    }
    assert!(checked > 100, "only {checked} versions checked");
    assert!(
        failures.is_empty(),
        "{} failures:\n{}",
        failures.len(),
        failures.join("\n")
    );
}

/// A state brought forward with `DeltaLog::update` from every listed version
/// of every table equals the latest state loaded anew: files (with their
/// statistics), protocol, metadata, application transactions, domains,
/// version and timestamp. (Tombstones may differ: a newer checkpoint drops
/// expired ones.)
#[tokio::test]
async fn states_brought_forward_equal_states_loaded_anew() {
    let dir = testdata_dir();
    let mut checked = 0;
    let mut failures = Vec::new();
    for (table, expected) in corpus() {
        let table = table.as_str();
        if !expected["expected_error"].is_null() {
            continue;
        }
        let log = local_log(&dir.join(table));
        let Ok(latest) = log.state(None).await else {
            continue;
        };
        // statistics compared as JSON values: a checkpoint keeping them
        // only typed renders them in its own key order
        let stats = |s: &delta_log::TableState| {
            let mut v: Vec<(String, Value)> = s
                .files
                .iter()
                .map(|f| {
                    let stats = f.stats().map_or(Value::Null, |t| {
                        serde_json::from_str(t).unwrap_or(Value::Null)
                    });
                    (f.path().to_string(), stats)
                })
                .collect();
            v.sort_by(|a, b| a.0.cmp(&b.0));
            v
        };
        for v in expected["versions"].as_array().unwrap() {
            let version = v["version"].as_u64().unwrap();
            let Ok(old) = log.state(Some(version)).await else {
                continue;
            };
            let brought = match log.update(&old).await {
                Ok(Some(s)) => s,
                Ok(None) if version == latest.version => continue,
                Ok(None) => {
                    failures.push(format!("{table}@{version}: no newer commit found"));
                    continue;
                }
                Err(e) => {
                    failures.push(format!("{table}@{version}: {e}"));
                    continue;
                }
            };
            if summary(&brought) != summary(&latest)
                || stats(&brought) != stats(&latest)
                || (brought.version, brought.timestamp_ms) != (latest.version, latest.timestamp_ms)
            {
                failures.push(format!(
                    "{table}@{version}: brought forward to version {} at {} ms, the latest is {} at {} ms; same files, protocol, metadata, txns, domains: {}; same stats: {}",
                    brought.version,
                    brought.timestamp_ms,
                    latest.version,
                    latest.timestamp_ms,
                    summary(&brought) == summary(&latest),
                    stats(&brought) == stats(&latest),
                ));
            }
            checked += 1;
        }
    }
    assert!(checked > 50, "only {checked} versions brought forward");
    assert!(
        failures.is_empty(),
        "{} failures:\n{}",
        failures.len(),
        failures.join("\n")
    );
}
