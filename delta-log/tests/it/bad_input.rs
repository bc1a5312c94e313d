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
async fn a_truncated_checkpoint_falls_back_to_the_commits() {
    let v0 = format!("{PROTOCOL}\n{METADATA}\n");
    let add = |p: &str| {
        format!(
            r#"{{"add":{{"path":"{p}","partitionValues":{{}},"size":1,"modificationTime":0,"dataChange":true}}}}"#
        )
    };
    let dir = table(
        "truncated",
        &[(0, &v0), (1, &add("a")), (2, &add("b")), (3, &add("c"))],
    );
    let log = local_log(&dir);
    let expected = log.state(None).await.unwrap();
    // a good checkpoint at 1, a truncated newest one at 2, named by the hint
    log.write_checkpoint(&log.state(Some(1)).await.unwrap(), 0, None)
        .await
        .unwrap();
    let good = log
        .write_checkpoint(&log.state(Some(2)).await.unwrap(), 0, None)
        .await
        .unwrap();
    let cp2 = dir.join("_delta_log/00000000000000000002.checkpoint.parquet");
    let bytes = std::fs::read(&cp2).unwrap();
    std::fs::write(&cp2, &bytes[..bytes.len() / 2]).unwrap();
    assert_eq!(good.version, 2);
    let state = log.state(None).await.unwrap();
    assert_eq!(state.version, 3);
    assert_eq!(state.segment.checkpoint.as_ref().map(|c| c.0), Some(1));
    let paths = |s: &delta_log::TableState| {
        let mut p: Vec<String> = s.files.iter().map(|a| a.path().to_string()).collect();
        p.sort();
        p
    };
    assert_eq!(paths(&state), paths(&expected));
    // both damaged: the commits alone
    let cp1 = dir.join("_delta_log/00000000000000000001.checkpoint.parquet");
    std::fs::write(&cp1, b"PAR1 not really parquet").unwrap();
    let state = log.state(Some(2)).await.unwrap();
    assert!(state.segment.checkpoint.is_none());
    assert_eq!(paths(&state), ["a", "b"]);
    cleanup(&dir);
}

#[tokio::test]
async fn a_truncated_checkpoint_without_its_commits_names_the_file() {
    let v0 = format!("{PROTOCOL}\n{METADATA}\n");
    let dir = table("truncated-alone", &[(0, &v0), (1, ""), (2, "")]);
    std::fs::write(
        dir.join("_delta_log/00000000000000000001.checkpoint.parquet"),
        b"PAR1 not really parquet",
    )
    .unwrap();
    // the commits before the checkpoint are gone (log cleanup)
    std::fs::remove_file(dir.join("_delta_log/00000000000000000000.json")).unwrap();
    let err = local_log(&dir).state(None).await.unwrap_err();
    assert!(
        matches!(err, LogError::MalformedCheckpoint { version: 1, .. }),
        "{err}"
    );
    // named as the user knows it: the absolute local path, leading '/' included
    let named = format!(
        "'{}/_delta_log/00000000000000000001.checkpoint.parquet'",
        dir.display()
    );
    assert!(err.to_string().contains(&named), "{err}");
    cleanup(&dir);
}

#[tokio::test]
async fn a_hint_naming_an_incomplete_multi_part_checkpoint_is_ignored() {
    let v0 = format!("{PROTOCOL}\n{METADATA}\n");
    let dir = table("incomplete-parts", &[(0, &v0), (1, ""), (2, "")]);
    // part 1 of 2 only, and _last_checkpoint pointing at it
    std::fs::write(
        dir.join("_delta_log/00000000000000000002.checkpoint.0000000001.0000000002.parquet"),
        b"PAR1 not really parquet",
    )
    .unwrap();
    std::fs::write(
        dir.join("_delta_log/_last_checkpoint"),
        r#"{"version":2,"size":3,"parts":2}"#,
    )
    .unwrap();
    let state = local_log(&dir).state(None).await.unwrap();
    assert_eq!(state.version, 2);
    assert!(state.segment.checkpoint.is_none());
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
    // the checkpoint is named as the damaged file (with no commits to
    // stand in for it)
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
