//! Bad input of every kind: the binary exits with the documented status,
//! says what is wrong (one line on standard error, no panic or stack
//! trace), and leaves the table exactly as it was.

use std::collections::BTreeMap;

use super::*;

/// Every file under `dir` (relative path and content): what "unchanged" means.
fn files(dir: &Path) -> BTreeMap<String, Vec<u8>> {
    let mut out = BTreeMap::new();
    let mut dirs = vec![dir.to_path_buf()];
    while let Some(d) = dirs.pop() {
        for entry in fs::read_dir(&d).unwrap() {
            let path = entry.unwrap().path();
            if path.is_dir() {
                dirs.push(path);
            } else {
                let relative = path.strip_prefix(dir).unwrap().display().to_string();
                out.insert(relative, fs::read(&path).unwrap());
            }
        }
    }
    out
}

#[test]
fn bad_input_fails_clearly_and_changes_nothing() {
    let dir = scratch("bad-input");
    let t = dir.join("t");
    copy_table(Path::new(&basic()), &t);
    let t = t.to_str().unwrap();
    let before = files(Path::new(t));

    let garbage = dir.join("garbage.parquet");
    fs::write(&garbage, b"this is not a Parquet file").unwrap();
    let wrong_type = dir.join("wrong-type.csv");
    fs::write(&wrong_type, "id\nnot a number\n").unwrap();
    let text = dir.join("notes.txt");
    fs::write(&text, "hello\n").unwrap();
    let missing = dir.join("no-such-file.parquet");
    let (garbage, wrong_type, text, missing) = (
        garbage.to_str().unwrap(),
        wrong_type.to_str().unwrap(),
        text.to_str().unwrap(),
        missing.to_str().unwrap(),
    );
    let no_table = dir.join("no-such-table");
    let no_table = no_table.to_str().unwrap();

    // (arguments, exit status, a piece of the message)
    let cases: &[(&[&str], i32, &str)] = &[
        // bad flags and values: usage errors
        (&["cat", t, "--bogus"], 2, "--bogus"),
        (&["cat"], 2, "TABLE"),
        (&["frobnicate", t], 2, "frobnicate"),
        (&["cat", t, "--version", "abc"], 2, "abc"),
        (&["cat", t, "--timestamp", "yesterday"], 2, "RFC 3339"),
        (&["cat", t, "--format", "xml"], 2, "xml"),
        (
            &["update", t, "--where", "id = 1", "--set", "novalue"],
            2,
            "novalue",
        ),
        (&["write", t, "--mode", "upsert", garbage], 2, "upsert"),
        // bad paths
        (&["cat", no_table], 1, "_delta_log"),
        (&["describe", no_table], 1, "_delta_log"),
        (&["write", t, missing], 1, "no-such-file.parquet"),
        // bad predicates and expressions
        (&["cat", t, "--where", "id >"], 1, "id >"),
        (&["cat", t, "--where", "nosuch = 1"], 1, "nosuch"),
        (&["delete", t, "--where", "id +"], 1, "id +"),
        (&["delete", t, "--where", "nosuch = 1"], 1, "nosuch"),
        (
            &["update", t, "--where", "id = 1", "--set", "nosuch=1"],
            1,
            "nosuch",
        ),
        (
            &["update", t, "--where", "id = 1", "--set", "id='x'"],
            1,
            "id",
        ),
        (&["optimize", t, "--where", "id > 1"], 1, "partition"),
        (&["constraint", "add", t, "c", "nosuch > 0"], 1, "nosuch"),
        (&["constraint", "add", t, "c", "id < 0"], 1, "violated"),
        // wrong files
        (&["write", t, garbage], 1, "garbage.parquet"),
        (
            &["write", t, wrong_type],
            1,
            "'not a number' as type 'Int64'",
        ),
        (&["write", t, text], 1, "notes.txt"),
        (
            &[
                "merge",
                t,
                "--source",
                garbage,
                "--on",
                "target.id = source.id",
                "--when-matched-delete",
            ],
            1,
            "garbage.parquet",
        ),
        // operations the table refuses
        (&["cat", t, "--version", "99"], 1, "99"),
        (&["restore", t, "--version", "99"], 1, "99"),
        (&["vacuum", t, "--retain-hours", "1"], 1, "168"),
        (&["optimize", t, "--target-size", "0"], 1, "target size"),
    ];
    for (args, status, piece) in cases {
        let err = fails(args, *status);
        assert!(err.contains(piece), "delta {args:?}: {err}");
        if *status == 1 {
            assert!(err.starts_with("delta: "), "delta {args:?}: {err}");
            assert_eq!(err.trim_end().lines().count(), 1, "delta {args:?}: {err}");
        }
    }
    assert_eq!(
        files(Path::new(t)),
        before,
        "a refused command changed the table"
    );
}

#[test]
fn a_corrupt_table_is_named_and_left_alone() {
    let dir = scratch("bad-input-corrupt");
    let t = dir.join("t");
    copy_table(Path::new(&basic()), &t);
    let commit = t.join("_delta_log/00000000000000000013.json");
    fs::set_permissions(
        &commit,
        <fs::Permissions as std::os::unix::fs::PermissionsExt>::from_mode(0o644),
    )
    .unwrap();
    fs::write(&commit, "{\"add\": {\"path\": \n").unwrap();
    let t = t.to_str().unwrap();
    let before = files(Path::new(t));
    for args in [
        vec!["cat", t],
        vec!["describe", t],
        vec!["delete", t, "--where", "id = 1"],
        vec!["optimize", t],
    ] {
        let err = fails(&args, 1);
        assert!(
            err.contains("00000000000000000013.json"),
            "delta {args:?}: {err}"
        );
    }
    // the check reports it (exit 1) and names it too
    let out = delta(&["check", t]);
    assert_eq!(out.status.code(), Some(1));
    assert!(
        stdout(&out).contains("00000000000000000013.json"),
        "{}",
        stdout(&out)
    );
    assert_eq!(files(Path::new(t)), before);
}

#[test]
fn a_store_that_is_down_is_an_error_not_a_hang() {
    // nothing listens on port 9 (discard) of the loopback
    let started = std::time::Instant::now();
    let out = Command::new(env!("CARGO_BIN_EXE_delta"))
        .args(["cat", "s3://bucket/t"])
        .env("AWS_ENDPOINT", "http://127.0.0.1:9")
        .env("AWS_ALLOW_HTTP", "true")
        .env("AWS_ACCESS_KEY_ID", "test")
        .env("AWS_SECRET_ACCESS_KEY", "test")
        .env("AWS_REGION", "us-east-1")
        .output()
        .unwrap();
    let err = stderr(&out);
    assert_eq!(out.status.code(), Some(1), "{err}");
    assert!(err.starts_with("delta: "), "{err}");
    assert!(
        err.contains("s3://bucket/t") && err.contains("Connection refused"),
        "{err}"
    );
    assert!(!err.contains("panicked"), "{err}");
    // object_store's retries back off, but give up within seconds
    assert!(started.elapsed() < Duration::from_secs(60), "{err}");
}
