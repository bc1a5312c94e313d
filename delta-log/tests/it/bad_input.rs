//! Bad logs get clear errors naming the file and version, never a panic.

use std::path::Path as FsPath;

use delta_log::LogError;

use crate::local_log;

const PROTOCOL: &str = r#"{"protocol":{"minReaderVersion":1,"minWriterVersion":2}}"#;
const METADATA: &str = r#"{"metaData":{"id":"x","format":{"provider":"parquet","options":{}},"schemaString":"{\"type\":\"struct\",\"fields\":[]}","partitionColumns":[],"configuration":{}}}"#;

/// A fresh table directory with these commit files (version, text).
fn table(name: &str, commits: &[(u64, &str)]) -> std::path::PathBuf {
    let dir = std::env::temp_dir().join(format!("delta-log-bad-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(dir.join("_delta_log")).unwrap();
    for (v, text) in commits {
        std::fs::write(dir.join(format!("_delta_log/{v:020}.json")), text).unwrap();
    }
    dir
}

fn cleanup(dir: &FsPath) {
    let _ = std::fs::remove_dir_all(dir);
}

#[tokio::test]
async fn malformed_commit_json_names_file_version_and_line() {
    let v0 = format!("{PROTOCOL}\n{METADATA}\n");
    let dir = table(
        "json",
        &[(0, &v0), (1, "{\"add\":{\"path\":\"a\",\"size\":1,\n")],
    );
    let err = local_log(&dir).state(None).await.unwrap_err();
    assert!(
        matches!(
            err,
            LogError::MalformedCommit {
                version: 1,
                line: 1,
                ..
            }
        ),
        "{err}"
    );
    assert!(
        err.to_string().contains("00000000000000000001.json"),
        "{err}"
    );
    cleanup(&dir);
}

#[tokio::test]
async fn wrong_action_field_types_are_malformed() {
    let v0 = format!(
        "{PROTOCOL}\n{METADATA}\n{{\"add\":{{\"path\":\"a\",\"size\":\"big\",\"modificationTime\":0,\"dataChange\":true}}}}\n"
    );
    let dir = table("types", &[(0, &v0)]);
    let err = local_log(&dir).state(None).await.unwrap_err();
    assert!(
        matches!(
            err,
            LogError::MalformedCommit {
                version: 0,
                line: 3,
                ..
            }
        ),
        "{err}"
    );
    cleanup(&dir);
}

#[tokio::test]
async fn unknown_fields_and_actions_are_tolerated() {
    let v0 = format!(
        "{PROTOCOL}\n{METADATA}\n{{\"add\":{{\"path\":\"a\",\"size\":1,\"modificationTime\":0,\"dataChange\":true,\"futureField\":[1,2]}}}}\n{{\"someFutureAction\":{{\"x\":1}}}}\n"
    );
    let dir = table("unknown", &[(0, &v0)]);
    let s = local_log(&dir).state(None).await.unwrap();
    assert_eq!(s.files.len(), 1);
    cleanup(&dir);
}

#[tokio::test]
async fn version_gap_is_refused() {
    let v0 = format!("{PROTOCOL}\n{METADATA}\n");
    let dir = table("gap", &[(0, &v0), (1, ""), (3, "")]);
    let err = local_log(&dir).state(None).await.unwrap_err();
    assert!(
        matches!(
            err,
            LogError::MissingVersion {
                missing: 2,
                target: 3,
                ..
            }
        ),
        "{err}"
    );
    // versions before the gap still read
    assert_eq!(local_log(&dir).state(Some(1)).await.unwrap().version, 1);
    cleanup(&dir);
}

#[tokio::test]
async fn missing_delta_log_is_not_a_table() {
    let dir = std::env::temp_dir().join(format!("delta-log-empty-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let err = local_log(&dir).state(None).await.unwrap_err();
    assert!(matches!(err, LogError::NotATable { .. }), "{err}");
    assert!(err.to_string().contains("_delta_log"), "{err}");
    cleanup(&dir);
}

#[tokio::test]
async fn missing_protocol_is_reported() {
    let dir = table("noprotocol", &[(0, METADATA)]);
    let err = local_log(&dir).state(None).await.unwrap_err();
    assert!(
        matches!(
            err,
            LogError::MissingAction {
                action: "protocol",
                ..
            }
        ),
        "{err}"
    );
    cleanup(&dir);
}

#[tokio::test]
async fn truncated_checkpoint_names_the_file() {
    let v0 = format!("{PROTOCOL}\n{METADATA}\n");
    let dir = table("truncated", &[(0, &v0), (1, "")]);
    std::fs::write(
        dir.join("_delta_log/00000000000000000001.checkpoint.parquet"),
        b"PAR1 not really parquet",
    )
    .unwrap();
    let err = local_log(&dir).state(None).await.unwrap_err();
    assert!(
        matches!(err, LogError::MalformedCheckpoint { version: 1, .. }),
        "{err}"
    );
    assert!(
        err.to_string()
            .contains("00000000000000000001.checkpoint.parquet"),
        "{err}"
    );
    cleanup(&dir);
}

#[tokio::test]
async fn wrong_checkpoint_contents_are_refused() {
    // a valid Parquet file that is not a checkpoint: no protocol or metadata in it
    let src = crate::testdata_dir().join("golden-data-reader-primitives");
    let data = std::fs::read_dir(&src)
        .unwrap()
        .flatten()
        .find(|e| e.file_name().to_string_lossy().ends_with(".parquet"))
        .unwrap()
        .path();
    let dir = table("wrongcp", &[(1, "")]);
    std::fs::copy(
        &data,
        dir.join("_delta_log/00000000000000000001.checkpoint.parquet"),
    )
    .unwrap();
    let err = local_log(&dir).state(None).await.unwrap_err();
    assert!(
        matches!(err, LogError::MissingAction { version: 1, .. }),
        "{err}"
    );
    cleanup(&dir);
}

#[tokio::test]
async fn a_checkpoint_add_without_path_names_file_version_and_field() {
    let dir = crate::checkpoint::write_checkpoint_file(
        "cp-no-path",
        2,
        delta_log::checkpoint_schema(false),
        &[
            PROTOCOL,
            METADATA,
            r#"{"add":{"path":"a","size":1,"modificationTime":0,"dataChange":false}}"#,
            r#"{"add":{"size":1,"modificationTime":0,"dataChange":false}}"#,
        ],
    );
    let err = local_log(&dir).state(None).await.unwrap_err();
    assert!(
        matches!(err, LogError::MalformedCheckpoint { version: 2, .. }),
        "{err}"
    );
    let message = err.to_string();
    for part in [
        "00000000000000000002.checkpoint.parquet",
        "row 3",
        "add.path is missing",
    ] {
        assert!(message.contains(part), "{message}");
    }
    cleanup(&dir);
}
