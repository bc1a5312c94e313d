//! The files beside the commits that summarise them: each version's `.crc`
//! checksum against the state the commits give, and `_last_checkpoint`
//! against the checkpoint it points to.

use super::{
    Listing, Running, checkpoint_rows, domain_configs, name_of, rows_are_actions, same_metadata,
    same_protocol, txn_versions,
};
use crate::{Finding, Fix, Report, Severity};
use delta_log::core::LogFile;
use delta_log::{DeltaLog, DomainMetadata, LAST_CHECKPOINT, Metadata, Protocol, Txn};
use serde::Deserialize;
use std::collections::BTreeSet;

/// The parts of a `.crc` file the check compares (all optional: writers
/// differ in what they write).
#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
pub(super) struct Checksum {
    pub(super) table_size_bytes: Option<i64>,
    pub(super) num_files: Option<u64>,
    pub(super) num_metadata: Option<u64>,
    pub(super) num_protocol: Option<u64>,
    pub(super) metadata: Option<Metadata>,
    pub(super) protocol: Option<Protocol>,
    pub(super) set_transactions: Option<Vec<Txn>>,
    pub(super) domain_metadata: Option<Vec<DomainMetadata>>,
    pub(super) in_commit_timestamp_opt: Option<i64>,
}

pub(super) async fn check_checksum(
    log: &DeltaLog,
    file: &LogFile,
    running: &Running,
    report: &mut Report,
) {
    let version = file.version;
    let finding = |id: &'static str, message: String| {
        Finding::error(id, message)
            .at_version(version)
            .at_file(name_of(file))
            .with_fix(Fix::DeleteChecksum { version })
    };
    let checksum = match log.commit_log().read(&file.location).await {
        Ok(bytes) => serde_json::from_slice::<Checksum>(&bytes).map_err(|e| e.to_string()),
        Err(e) => Err(e.to_string()),
    };
    let checksum = match checksum {
        Ok(c) => c,
        Err(e) => {
            report.push(finding(
                "crc.unreadable",
                format!("the checksum file does not parse: {e}"),
            ));
            return;
        }
    };
    let mut wrong = Vec::new();
    let size: i64 = running.files.values().sum();
    if checksum.table_size_bytes.is_some_and(|s| s != size) {
        wrong.push(format!(
            "tableSizeBytes {} (the commits say {size})",
            checksum.table_size_bytes.unwrap_or_default()
        ));
    }
    let count = running.files.len() as u64;
    if checksum.num_files.is_some_and(|n| n != count) {
        wrong.push(format!(
            "numFiles {} (the commits say {count})",
            checksum.num_files.unwrap_or_default()
        ));
    }
    if checksum.num_metadata.is_some_and(|n| n != 1)
        || checksum.num_protocol.is_some_and(|n| n != 1)
    {
        wrong.push("numMetadata or numProtocol is not 1".to_string());
    }
    if let (Some(theirs), Some(ours)) = (&checksum.metadata, &running.metadata)
        && !same_metadata(theirs, ours)
    {
        wrong.push("other metadata".to_string());
    }
    if let (Some(theirs), Some(ours)) = (&checksum.protocol, &running.protocol)
        && !same_protocol(theirs, ours)
    {
        wrong.push("another protocol".to_string());
    }
    // txns past their retention may be left out, as in checkpoints
    let txn_retention = running.metadata.as_ref().is_some_and(|m| {
        m.configuration
            .contains_key("delta.setTransactionRetentionDuration")
    });
    if let Some(txns) = &checksum.set_transactions
        && !txn_retention
        && txn_versions(txns.iter()) != running.txns
    {
        wrong.push("other application transactions (setTransactions)".to_string());
    }
    if let Some(domains) = &checksum.domain_metadata
        && domain_configs(domains.iter()) != running.domains
    {
        wrong.push("other domain metadata".to_string());
    }
    if let (Some(theirs), Some((at, ours))) = (checksum.in_commit_timestamp_opt, running.last_ict)
        && at == version
        && theirs != ours
    {
        wrong.push(format!(
            "inCommitTimestampOpt {theirs} (the commit says {ours})"
        ));
    }
    if !wrong.is_empty() {
        report.push(finding(
            "crc.differs",
            format!(
                "the checksum file disagrees with the commits: {}",
                wrong.join("; ")
            ),
        ));
    }
}

/// The part of `_last_checkpoint` the check compares.
#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
pub(super) struct LastCheckpoint {
    pub(super) version: u64,
    pub(super) size: Option<u64>,
    pub(super) parts: Option<u64>,
    pub(super) size_in_bytes: Option<u64>,
}

pub(super) async fn check_last_checkpoint(
    log: &DeltaLog,
    listing: &Listing,
    sound: &BTreeSet<u64>,
    report: &mut Report,
) {
    let warning = |id: &'static str, message: String| {
        Finding::new(Severity::Warning, id, message)
            .at_file(LAST_CHECKPOINT)
            .with_fix(Fix::RewriteLastCheckpoint)
    };
    let bytes = match log.commit_log().read_pointer(LAST_CHECKPOINT).await {
        Ok(Some(bytes)) => bytes,
        Ok(None) => return,
        Err(e) => {
            report.push(warning("checkpoint.last-unreadable", e.to_string()));
            return;
        }
    };
    let pointer = match serde_json::from_slice::<LastCheckpoint>(&bytes) {
        Ok(p) => p,
        Err(e) => {
            report.push(warning(
                "checkpoint.last-unreadable",
                format!("the file does not parse: {e}; readers list the log instead"),
            ));
            return;
        }
    };
    let Some(parts) = listing.checkpoints.get(&pointer.version) else {
        report.push(warning(
            "checkpoint.last-wrong",
            format!(
                "it names version {}, which has no complete checkpoint",
                pointer.version
            ),
        ));
        return;
    };
    let classic_or_parts = rows_are_actions(parts);
    let mut wrong = Vec::new();
    let multi = parts.len() > 1;
    match pointer.parts {
        Some(n) if n != parts.len() as u64 => {
            wrong.push(format!("parts {n} (the checkpoint has {})", parts.len()));
        }
        None if multi => wrong.push(format!("no parts (the checkpoint has {})", parts.len())),
        _ => {}
    }
    if classic_or_parts {
        let bytes: u64 = parts.iter().map(|f| f.size).sum();
        if pointer.size_in_bytes.is_some_and(|s| s != bytes) {
            wrong.push(format!(
                "sizeInBytes {} (the checkpoint has {bytes})",
                pointer.size_in_bytes.unwrap_or_default()
            ));
        }
        if let Some(size) = pointer.size
            && let Ok(rows) = checkpoint_rows(log.store(), parts).await
            && rows != size
        {
            wrong.push(format!("size {size} (the checkpoint has {rows} actions)"));
        }
    }
    if !wrong.is_empty() {
        report.push(warning(
            "checkpoint.last-wrong",
            format!(
                "it describes the checkpoint of version {} wrongly: {}",
                pointer.version,
                wrong.join("; ")
            ),
        ));
    } else if let Some(&newest) = sound.last()
        && newest > pointer.version
    {
        report.push(
            Finding::new(
                Severity::Info,
                "checkpoint.last-stale",
                format!(
                    "it names version {}; the newest checkpoint is {newest} (readers list past it)",
                    pointer.version
                ),
            )
            .at_file(LAST_CHECKPOINT)
            .with_fix(Fix::RewriteLastCheckpoint),
        );
    }
}
