//! Each kind of damage, made on a sound table, is found by its id.

use delta_check::{Fix, Severity};

use crate::{
    a_data_file, append_commit, check, commit_file, ids, log_file, metadata_of, table, table_with,
};

#[tokio::test]
async fn missing_and_cut_data_files() {
    let (dir, t) = table("check-missing").await;
    let victim = a_data_file(&dir);
    std::fs::remove_file(&victim).unwrap();
    let report = check(&t).await;
    assert_eq!(ids(&report), ["data.file-missing"]);
    let finding = &report.findings[0];
    let name = victim.file_name().unwrap().to_string_lossy().to_string();
    assert!(finding.file.as_ref().unwrap().ends_with(&name));
    assert!(matches!(&finding.fix, Some(Fix::RemoveFile { path }) if path.ends_with(&name)));
    assert!(!report.is_clean());
    std::fs::remove_dir_all(&dir).unwrap();

    let (dir, t) = table("check-size").await;
    let victim = a_data_file(&dir);
    let bytes = std::fs::read(&victim).unwrap();
    std::fs::write(&victim, &bytes[..bytes.len() / 2]).unwrap();
    let report = check(&t).await;
    assert_eq!(ids(&report), ["data.size-mismatch"]);
    // nothing safe to do about a damaged data file
    assert!(report.fixes().is_empty());
    std::fs::remove_dir_all(&dir).unwrap();
}

#[tokio::test]
async fn gaps_and_garbage_in_the_log() {
    let (dir, t) = table("check-gap").await;
    std::fs::remove_file(commit_file(&dir, 2)).unwrap();
    let report = check(&t).await;
    assert!(
        ids(&report).contains(&"log.version-missing"),
        "{:?}",
        report.findings
    );
    assert_eq!(report.findings[0].version, Some(2));
    std::fs::remove_dir_all(&dir).unwrap();

    // a gap a later checkpoint covers: the table reads, older versions do not
    let (dir, t) = table("check-covered-gap").await;
    t.checkpoint(&t.snapshot().await.unwrap()).await.unwrap();
    std::fs::remove_file(commit_file(&dir, 1)).unwrap();
    let report = check(&t).await;
    assert_eq!(ids(&report), ["log.version-missing"]);
    assert_eq!(report.findings[0].severity, Severity::Warning);
    assert!(report.is_clean());
    std::fs::remove_dir_all(&dir).unwrap();

    // a stray commit far ahead: one gap, found at once
    let (dir, t) = table("check-far-gap").await;
    std::fs::copy(commit_file(&dir, 3), commit_file(&dir, 999_999_999_999)).unwrap();
    let report = check(&t).await;
    let gaps: Vec<_> = report
        .findings
        .iter()
        .filter(|f| f.id == "log.version-missing")
        .collect();
    assert_eq!(gaps.len(), 1, "{:?}", report.findings);
    assert!(
        gaps[0].message.contains("commits 4 to 999999999998"),
        "{}",
        gaps[0]
    );
    std::fs::remove_dir_all(&dir).unwrap();

    let (dir, t) = table("check-garbage").await;
    std::fs::write(commit_file(&dir, 1), "{not json\n").unwrap();
    let report = check(&t).await;
    assert!(
        ids(&report).contains(&"log.commit-unreadable"),
        "{:?}",
        report.findings
    );
    std::fs::remove_dir_all(&dir).unwrap();
}

#[tokio::test]
async fn actions_the_protocol_forbids() {
    let (dir, t) = table("check-forbidden").await;
    let metadata = metadata_of(&dir).to_string();
    let protocol = r#"{"protocol":{"minReaderVersion":1,"minWriterVersion":2}}"#.to_string();
    let add = r#"{"add":{"path":"x.parquet","partitionValues":{"city":"Oslo"},"size":1,"modificationTime":0,"dataChange":true}}"#;
    let remove = r#"{"remove":{"path":"x.parquet","deletionTimestamp":0,"dataChange":true}}"#;
    append_commit(
        &dir,
        4,
        &[
            metadata.clone(),
            metadata,
            protocol.clone(),
            protocol,
            add.to_string(),
            remove.to_string(),
        ],
    );
    // a file removed that no version added
    let ghost =
        r#"{"remove":{"path":"city=Oslo/ghost.parquet","deletionTimestamp":0,"dataChange":true}}"#;
    append_commit(&dir, 5, &[ghost.to_string()]);
    let report = check(&t).await;
    let found = ids(&report);
    for id in [
        "log.duplicate-metadata",
        "log.duplicate-protocol",
        "log.add-and-remove",
        "log.remove-unknown",
    ] {
        assert!(found.contains(&id), "{id}: {found:?}");
    }
    let unknown = report
        .findings
        .iter()
        .find(|f| f.id == "log.remove-unknown")
        .unwrap();
    assert_eq!(unknown.version, Some(5));
    assert_eq!(unknown.file.as_deref(), Some("city=Oslo/ghost.parquet"));
    std::fs::remove_dir_all(&dir).unwrap();
}

#[tokio::test]
async fn in_commit_timestamps_missing_or_going_back() {
    let (dir, t) = table_with("check-ict", &[("delta.enableInCommitTimestamps", "true")]).await;
    assert!(check(&t).await.findings.is_empty());
    append_commit(
        &dir,
        4,
        &[r#"{"commitInfo":{"inCommitTimestamp":1}}"#.to_string()],
    );
    append_commit(
        &dir,
        5,
        &[r#"{"txn":{"appId":"a","version":1}}"#.to_string()],
    );
    let report = check(&t).await;
    let at = |id| {
        report
            .findings
            .iter()
            .find(|f| f.id == id)
            .and_then(|f| f.version)
    };
    assert_eq!(
        at("log.ict-not-increasing"),
        Some(4),
        "{:?}",
        report.findings
    );
    assert_eq!(at("log.ict-missing"), Some(5), "{:?}", report.findings);
    std::fs::remove_dir_all(&dir).unwrap();
}

/// Commits a copy of version 0's metadata changed by `change` (and this
/// protocol, if one) as version 4, and returns the check's ids.
async fn with_metadata(
    name: &str,
    protocol: Option<&str>,
    change: impl FnOnce(&mut serde_json::Value),
) -> Vec<&'static str> {
    let (dir, t) = table(name).await;
    let mut metadata = metadata_of(&dir);
    change(&mut metadata["metaData"]);
    let mut lines = vec![metadata.to_string()];
    lines.extend(protocol.map(str::to_string));
    append_commit(&dir, 4, &lines);
    let report = check(&t).await;
    assert!(
        report
            .findings
            .iter()
            .all(|f| f.version == Some(4) || f.version.is_none()),
        "{:?}",
        report.findings
    );
    std::fs::remove_dir_all(&dir).unwrap();
    ids(&report)
}

#[tokio::test]
async fn unsound_metadata_and_protocol() {
    let found = with_metadata("check-schema", None, |m| {
        m["schemaString"] = "not a schema".into();
    })
    .await;
    assert_eq!(found, ["metadata.schema-invalid"]);
    let found = with_metadata("check-partitions", None, |m| {
        m["partitionColumns"] = serde_json::json!(["nope"]);
    })
    .await;
    assert!(found.contains(&"metadata.partition-columns"), "{found:?}");
    let found = with_metadata("check-property", None, |m| {
        m["configuration"]["delta.checkpointInterval"] = "often".into();
    })
    .await;
    assert!(found.contains(&"metadata.property-invalid"), "{found:?}");
    // a constraint on a column the table lacks; and the protocol does not
    // list CHECK constraints
    let found = with_metadata("check-constraint", None, |m| {
        m["configuration"]["delta.constraints.positive"] = "nope > 0".into();
    })
    .await;
    assert!(found.contains(&"metadata.constraint-invalid"), "{found:?}");
    assert!(found.contains(&"protocol.feature-missing"), "{found:?}");
    // deletion vectors on without the feature
    let found = with_metadata("check-feature", None, |m| {
        m["configuration"]["delta.enableDeletionVectors"] = "true".into();
    })
    .await;
    assert_eq!(found, ["protocol.feature-missing"]);
    // writer version 7 without its feature list
    let found = with_metadata(
        "check-lists",
        Some(r#"{"protocol":{"minReaderVersion":1,"minWriterVersion":7}}"#),
        |_| {},
    )
    .await;
    assert!(found.contains(&"protocol.feature-lists"), "{found:?}");
    // column mapping on, but the columns have no ids or physical names
    let found = with_metadata(
        "check-mapping",
        Some(r#"{"protocol":{"minReaderVersion":2,"minWriterVersion":5}}"#),
        |m| {
            m["configuration"]["delta.columnMapping.mode"] = "name".into();
            m["configuration"]["delta.columnMapping.maxColumnId"] = "1".into();
        },
    )
    .await;
    assert!(
        found.iter().all(|id| *id == "metadata.column-mapping"),
        "{found:?}"
    );
    assert_eq!(found.len(), 4, "{found:?}");
}

#[tokio::test]
async fn damaged_checkpoints_and_pointers() {
    // a checkpoint cut short
    let (dir, t) = table("check-cp-cut").await;
    let snapshot = t.snapshot().await.unwrap();
    t.checkpoint(&snapshot).await.unwrap();
    let cp = log_file(&dir, "00000000000000000003.checkpoint.parquet");
    let bytes = std::fs::read(&cp).unwrap();
    std::fs::write(&cp, &bytes[..bytes.len() / 2]).unwrap();
    let report = check(&t).await;
    assert!(
        ids(&report).contains(&"checkpoint.unreadable"),
        "{:?}",
        report.findings
    );
    assert!(
        report
            .fixes()
            .contains(&Fix::RewriteCheckpoint { version: 3 })
    );
    std::fs::remove_dir_all(&dir).unwrap();

    // the checkpoint of version 1 under the name of version 3
    let (dir, t) = table("check-cp-differs").await;
    t.checkpoint(&t.snapshot_at(1).await.unwrap())
        .await
        .unwrap();
    std::fs::copy(
        log_file(&dir, "00000000000000000001.checkpoint.parquet"),
        log_file(&dir, "00000000000000000003.checkpoint.parquet"),
    )
    .unwrap();
    let report = check(&t).await;
    let differs = report
        .findings
        .iter()
        .find(|f| f.id == "checkpoint.differs")
        .unwrap();
    assert_eq!(differs.version, Some(3));
    assert!(
        differs.message.contains("4 no entry for files"),
        "{differs}"
    );
    // _last_checkpoint names version 1, the newest sound checkpoint; the
    // other checks use the state the commits give, not the damaged one
    assert_eq!(ids(&report), ["checkpoint.differs"]);
    std::fs::remove_dir_all(&dir).unwrap();

    // _last_checkpoint unreadable, or naming a version without a checkpoint
    let (dir, t) = table("check-pointer").await;
    t.checkpoint(&t.snapshot().await.unwrap()).await.unwrap();
    let pointer = log_file(&dir, "_last_checkpoint");
    std::fs::write(&pointer, "{version").unwrap();
    let report = check(&t).await;
    assert_eq!(ids(&report), ["checkpoint.last-unreadable"]);
    assert_eq!(report.findings[0].severity, Severity::Warning);
    std::fs::write(&pointer, r#"{"version":2,"size":4}"#).unwrap();
    assert_eq!(ids(&check(&t).await), ["checkpoint.last-wrong"]);
    std::fs::write(&pointer, r#"{"version":3,"size":999}"#).unwrap();
    let report = check(&t).await;
    assert_eq!(ids(&report), ["checkpoint.last-wrong"]);
    assert!(
        report.findings[0].message.contains("size 999"),
        "{:?}",
        report.findings
    );
    // parts of a multi-part checkpoint alone
    std::fs::write(
        log_file(
            &dir,
            "00000000000000000002.checkpoint.0000000001.0000000002.parquet",
        ),
        "junk",
    )
    .unwrap();
    let report = check(&t).await;
    assert!(
        ids(&report).contains(&"checkpoint.incomplete"),
        "{:?}",
        report.findings
    );
    std::fs::remove_dir_all(&dir).unwrap();
}

#[tokio::test]
async fn wrong_checksum_files() {
    let (dir, t) = table("check-crc").await;
    let crc = log_file(&dir, "00000000000000000002.crc");
    let mut content: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&crc).unwrap()).unwrap();
    content["numFiles"] = 99.into();
    std::fs::write(&crc, content.to_string()).unwrap();
    let report = check(&t).await;
    assert_eq!(ids(&report), ["crc.differs"]);
    assert!(
        report.findings[0].message.contains("numFiles 99"),
        "{:?}",
        report.findings
    );
    std::fs::write(&crc, "][").unwrap();
    assert_eq!(ids(&check(&t).await), ["crc.unreadable"]);
    std::fs::remove_dir_all(&dir).unwrap();
}

#[tokio::test]
async fn orphan_files_are_noted_not_errors() {
    let (dir, t) = table("check-orphan").await;
    std::fs::write(dir.join("city=Oslo/stray.parquet"), "x").unwrap();
    // VACUUM's hidden paths are no orphans
    std::fs::create_dir_all(dir.join("_tmp")).unwrap();
    std::fs::write(dir.join("_tmp/scratch.parquet"), "x").unwrap();
    let report = check(&t).await;
    assert_eq!(ids(&report), ["files.orphan"]);
    assert_eq!(
        report.findings[0].file.as_deref(),
        Some("city=Oslo/stray.parquet")
    );
    assert_eq!(report.findings[0].severity, Severity::Info);
    assert!(report.is_clean());
    std::fs::remove_dir_all(&dir).unwrap();
}
