//! Runs the built `delta` binary on real tables of testdata/.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    reason = "tests fail loudly"
)]

use std::collections::BTreeSet;
use std::fs::{self, File};
use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::time::{Duration, SystemTime};

use serde_json::Value;

const TESTDATA: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/../testdata");

/// Rows per version of golden-basic-with-inserts-deletes-checkpoint (14
/// commits, a checkpoint at 10; from its expected.json).
const BASIC_ROWS: [usize; 14] = [10, 20, 30, 40, 50, 45, 40, 35, 30, 25, 35, 45, 55, 41];

fn table(name: &str) -> String {
    format!("{TESTDATA}/{name}")
}

fn basic() -> String {
    table("golden-basic-with-inserts-deletes-checkpoint")
}

fn delta(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_delta"))
        .args(args)
        .output()
        .expect("run delta")
}

fn stdout(out: &Output) -> String {
    String::from_utf8(out.stdout.clone()).unwrap()
}

fn stderr(out: &Output) -> String {
    String::from_utf8(out.stderr.clone()).unwrap()
}

/// Runs `delta` and expects success.
fn ok(args: &[&str]) -> String {
    let out = delta(args);
    assert_eq!(
        out.status.code(),
        Some(0),
        "delta {args:?} failed: {}",
        stderr(&out)
    );
    stdout(&out)
}

/// Runs `delta` and expects exit status `code`; returns standard error.
fn fails(args: &[&str], code: i32) -> String {
    let out = delta(args);
    let err = stderr(&out);
    assert_eq!(out.status.code(), Some(code), "delta {args:?}: {err}");
    assert!(!err.contains("panicked"), "{err}");
    assert!(!err.contains("RUST_BACKTRACE"), "{err}");
    err
}

/// Data rows of a pretty table: lines starting with `| ` minus the header.
fn table_rows(text: &str) -> usize {
    text.lines().filter(|l| l.starts_with("| ")).count() - 1
}

fn csv_rows(text: &str) -> usize {
    text.lines().count() - 1
}

fn json_lines(text: &str) -> Vec<Value> {
    text.lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect()
}

fn scratch(name: &str) -> PathBuf {
    let dir = Path::new(env!("CARGO_TARGET_TMPDIR")).join(name);
    let _ = fs::remove_dir_all(&dir);
    fs::create_dir_all(&dir).unwrap();
    dir
}

#[test]
fn cat_table_format() {
    let out = ok(&["cat", &basic()]);
    assert_eq!(table_rows(&out), 41);
    assert!(out.lines().nth(1).unwrap().contains("| id |"), "{out}");
}

#[test]
fn cat_csv_has_header_and_rows() {
    let out = ok(&["cat", &basic(), "--format", "csv"]);
    assert_eq!(out.lines().next(), Some("id"));
    assert_eq!(csv_rows(&out), 41);
    // an empty result still has its header
    let out = ok(&["cat", &basic(), "--format", "csv", "--limit", "0"]);
    assert_eq!(out, "id\n");
}

#[test]
fn cat_json_lines_parse() {
    let out = ok(&[
        "cat",
        &table("kernel-app-txn-checkpoint"),
        "--format",
        "json",
    ]);
    let rows = json_lines(&out);
    assert_eq!(rows.len(), 22);
    for row in &rows {
        let keys: Vec<&String> = row.as_object().unwrap().keys().collect();
        assert_eq!(keys, ["id", "modified", "value"]);
    }
}

#[test]
fn cat_parquet_out_reads_back() {
    let dir = scratch("cat_parquet");
    let file = dir.join("out.parquet");
    let path = file.to_str().unwrap();
    let source = table("kernel-app-txn-checkpoint");
    let printed = ok(&["cat", &source, "--format", "parquet", "--out", path]);
    assert_eq!(printed, "");
    let reader = parquet::arrow::arrow_reader::ParquetRecordBatchReaderBuilder::try_new(
        File::open(&file).unwrap(),
    )
    .unwrap();
    let names: Vec<String> = reader
        .schema()
        .fields()
        .iter()
        .map(|f| f.name().clone())
        .collect();
    assert_eq!(names, ["id", "value", "modified"]);
    let rows: usize = reader.build().unwrap().map(|b| b.unwrap().num_rows()).sum();
    assert_eq!(rows, 22);
}

#[test]
fn cat_out_file_for_text_formats() {
    let dir = scratch("cat_out");
    for (format, name) in [("csv", "t.csv"), ("json", "t.json"), ("table", "t.txt")] {
        let file = dir.join(name);
        let printed = ok(&[
            "cat",
            &basic(),
            "--format",
            format,
            "--out",
            file.to_str().unwrap(),
        ]);
        assert_eq!(printed, "", "{format}");
        let text = fs::read_to_string(&file).unwrap();
        let rows = match format {
            "csv" => csv_rows(&text),
            "json" => json_lines(&text).len(),
            _ => table_rows(&text),
        };
        assert_eq!(rows, 41, "{format}");
    }
}

#[test]
fn cat_parquet_without_out_is_usage_error() {
    let err = fails(&["cat", &basic(), "--format", "parquet"], 2);
    assert!(err.contains("--out"), "{err}");
}

#[test]
fn cat_version_time_travel() {
    for (version, rows) in BASIC_ROWS.iter().enumerate() {
        let out = ok(&[
            "cat",
            &basic(),
            "--version",
            &version.to_string(),
            "--format",
            "csv",
        ]);
        assert_eq!(csv_rows(&out), *rows, "version {version}");
    }
    let err = fails(&["cat", &basic(), "--version", "14"], 1);
    assert!(err.contains("version 14"), "{err}");
}

/// Copies a table directory (flat data files and `_delta_log/`).
fn copy_table(from: &Path, to: &Path) {
    fs::create_dir_all(to).unwrap();
    for entry in fs::read_dir(from).unwrap() {
        let entry = entry.unwrap();
        let target = to.join(entry.file_name());
        if entry.file_type().unwrap().is_dir() {
            copy_table(&entry.path(), &target);
        } else {
            fs::copy(entry.path(), &target).unwrap();
        }
    }
}

/// A copy of golden-basic-with-inserts-deletes-checkpoint whose log files
/// have modification times one minute apart per version (git keeps none):
/// 1600000000 + 60 * version seconds.
fn basic_with_mtimes(name: &str) -> PathBuf {
    let dir = scratch(name).join("t");
    copy_table(Path::new(&basic()), &dir);
    for entry in fs::read_dir(dir.join("_delta_log")).unwrap() {
        let path = entry.unwrap().path();
        let file_name = path.file_name().unwrap().to_str().unwrap().to_string();
        let seconds = match file_name.get(..20).and_then(|v| v.parse::<u64>().ok()) {
            Some(version) => 1_600_000_000 + 60 * version,
            None => 1_600_000_000,
        };
        // the copies are read-only like their sources; their owner may set times
        let file = File::open(&path).unwrap();
        file.set_modified(SystemTime::UNIX_EPOCH + Duration::from_secs(seconds))
            .unwrap();
    }
    dir
}

fn rfc3339(seconds: i64) -> String {
    chrono::DateTime::from_timestamp(seconds, 0)
        .unwrap()
        .to_rfc3339()
}

#[test]
fn cat_timestamp_time_travel() {
    let dir = basic_with_mtimes("cat_timestamp");
    let t = dir.to_str().unwrap();
    for version in [0, 4, 5, 9, 10, 12] {
        let at = rfc3339(1_600_000_000 + 60 * version + 30);
        let out = ok(&["cat", t, "--timestamp", &at, "--format", "csv"]);
        assert_eq!(csv_rows(&out), BASIC_ROWS[version as usize], "at {at}");
    }
    // exactly at a commit's time selects that commit; other offsets work too
    let out = ok(&[
        "cat",
        t,
        "--timestamp",
        "2020-09-13T14:31:40+02:00",
        "--format",
        "csv",
    ]);
    assert_eq!(csv_rows(&out), BASIC_ROWS[5]);
    let err = fails(&["cat", t, "--timestamp", &rfc3339(1_599_999_999)], 1);
    assert!(err.contains("no version"), "{err}");
    assert!(err.contains("before the earliest retained commit"), "{err}");
    // after the latest commit: an error naming it (Spark), not the latest version
    let err = fails(
        &[
            "cat",
            t,
            "--timestamp",
            &rfc3339(1_600_000_000 + 60 * 13 + 1),
        ],
        1,
    );
    assert!(
        err.contains("after the latest commit, version 13 at 2020-09-13T12:39:40.000Z"),
        "{err}"
    );
    let out = ok(&[
        "cat",
        t,
        "--timestamp",
        &rfc3339(1_600_000_000 + 60 * 13),
        "--format",
        "csv",
    ]);
    assert_eq!(csv_rows(&out), BASIC_ROWS[13]);
    // the history agrees with the file times
    let history = json_lines(&ok(&["history", t, "--json", "--limit", "2"]));
    assert_eq!(
        history[0]["timestamp_ms"],
        1_600_000_000_000_i64 + 13 * 60_000
    );
    assert_eq!(history[1]["timestamp"], "2020-09-13T12:38:40.000Z");
}

#[test]
fn cat_version_and_timestamp_conflict() {
    let err = fails(
        &[
            "cat",
            &basic(),
            "--version",
            "1",
            "--timestamp",
            "2020-09-13T12:26:40Z",
        ],
        2,
    );
    assert!(err.contains("cannot be used with"), "{err}");
    let err = fails(&["cat", &basic(), "--timestamp", "yesterday"], 2);
    assert!(err.contains("RFC 3339"), "{err}");
}

#[test]
fn cat_columns_and_limit() {
    let t = table("kernel-app-txn-checkpoint");
    let out = ok(&["cat", &t, "--columns", "value,id", "--format", "csv"]);
    assert_eq!(out.lines().next(), Some("value,id"));
    assert_eq!(csv_rows(&out), 22);
    for limit in [0, 1, 5, 11, 12, 22, 100] {
        let out = ok(&["cat", &t, "--limit", &limit.to_string(), "--format", "json"]);
        assert_eq!(json_lines(&out).len(), limit.min(22), "limit {limit}");
    }
    let out = ok(&["cat", &t, "--limit", "3"]);
    assert_eq!(table_rows(&out), 3);
}

#[test]
fn cat_unknown_column_fails() {
    let err = fails(&["cat", &basic(), "--columns", "id,nope"], 1);
    assert!(err.starts_with("delta: "), "{err}");
    assert!(err.contains("nope"), "{err}");
}

#[test]
fn cat_failure_keeps_an_existing_out_file() {
    let dir = scratch("cat_keep");
    let file = dir.join("keep.csv");
    fs::write(&file, "precious\n").unwrap();
    let path = file.to_str().unwrap();
    fails(&["cat", &basic(), "--columns", "nope", "--out", path], 1);
    assert_eq!(fs::read_to_string(&file).unwrap(), "precious\n");
}

#[test]
fn cat_nested_types() {
    let t = table("golden-data-reader-map");
    // CSV cannot hold maps: refused before any output, naming the column
    let err = fails(&["cat", &t, "--format", "csv"], 1);
    assert!(
        err.contains("column 'a'") && err.contains("map<integer,integer>"),
        "{err}"
    );
    let out = ok(&["cat", &t, "--format", "csv", "--columns", "i"]);
    assert_eq!(out.lines().next(), Some("i"));
    // JSON writes maps with non-string keys as objects with string keys
    let rows = json_lines(&ok(&["cat", &t, "--format", "json"]));
    assert!(!rows.is_empty());
    for row in &rows {
        let i = row["i"].as_i64().unwrap().to_string();
        assert_eq!(row["a"][&i], row["i"], "{row}");
        assert!(row["f"][&i].is_array(), "{row}");
    }
}

#[test]
fn cat_where_filters_rows() {
    let ids = |args: &[&str]| -> Vec<i64> {
        let mut ids: Vec<i64> = ok(args)
            .lines()
            .map(|l| {
                serde_json::from_str::<serde_json::Value>(l).unwrap()["id"]
                    .as_i64()
                    .unwrap()
            })
            .collect();
        ids.sort_unstable();
        ids
    };
    let table = basic();
    let all = ids(&["cat", &table, "--format", "json"]);
    let want: Vec<i64> = all
        .iter()
        .copied()
        .filter(|i| *i > 30 && i % 2 == 0)
        .collect();
    assert!(!want.is_empty() && want.len() < all.len());
    let got = ids(&[
        "cat",
        &table,
        "--format",
        "json",
        "--where",
        "id > 30 AND id % 2 = 0",
    ]);
    assert_eq!(got, want);
    // with --limit and --columns too
    let got = ids(&[
        "cat",
        &table,
        "--format",
        "json",
        "--columns",
        "id",
        "--where",
        "id >= 55",
        "--limit",
        "3",
    ]);
    assert_eq!(got.len(), 3);
    assert!(got.iter().all(|i| *i >= 55));
}

#[test]
fn cat_explain_tells_how_files_were_chosen() {
    let table = basic();
    let all = ok(&["cat", &table, "--explain"]);
    let considered = all.lines().next().unwrap().to_string();
    assert!(considered.starts_with("files considered: "), "{all}");
    assert!(all.contains("pruned by partition values: 0"), "{all}");
    let none = ok(&["cat", &table, "--explain", "--where", "id < 0"]);
    assert!(none.contains(&considered), "{none}");
    assert!(none.contains("read: 0"), "{none}");
    assert!(!none.contains("skipped by statistics: 0"), "{none}");
}

#[test]
fn cat_bad_predicates_fail_clearly() {
    let table = basic();
    let err = fails(&["cat", &table, "--where", "idd > 3"], 1);
    assert!(
        err.contains("unknown column 'idd'; did you mean 'id'?"),
        "{err}"
    );
    let err = fails(&["cat", &table, "--where", "id >"], 1);
    assert!(err.contains("cannot parse 'id >'"), "{err}");
    let err = fails(&["cat", &table, "--where", "id = 'x'"], 1);
    assert!(err.contains("'x' is not a long"), "{err}");
    let err = fails(&["cat", &table, "--where", "soundex(id) = 1"], 1);
    assert!(err.contains("the function soundex"), "{err}");
    let err = fails(&["cat", &table, "--where", "lower(id) = 'a'"], 1);
    assert!(err.contains("lower takes a string, not long"), "{err}");
    let out = format!("{}/where-out.json", env!("CARGO_TARGET_TMPDIR"));
    let _ = fs::remove_file(&out);
    fails(&["cat", &table, "--where", "nope = 1", "--out", &out], 1);
    assert!(
        !Path::new(&out).exists(),
        "no output file for a bad predicate"
    );
}

#[test]
fn missing_table_fails() {
    let missing = format!("{}/no-such-table", env!("CARGO_TARGET_TMPDIR"));
    for command in ["cat", "describe", "history", "demo"] {
        let err = fails(&[command, &missing], 1);
        assert!(err.contains("_delta_log"), "{command}: {err}");
        assert_eq!(err.lines().count(), 1, "{err}");
    }
}

#[test]
fn refused_table_fails() {
    let t = table("golden-versions-not-contiguous");
    for command in ["cat", "describe"] {
        let err = fails(&[command, &t], 1);
        assert!(err.contains("not contiguous"), "{err}");
    }
}

#[test]
fn bad_usage_exits_2() {
    fails(&["cat", &basic(), "--bogus"], 2);
    fails(&["cat"], 2);
    fails(&["frobnicate"], 2);
    fails(&["cat", &basic(), "--format", "xml"], 2);
    fails(&["cat", &basic(), "--version", "-1"], 2);
}

#[test]
fn describe_text() {
    let out = ok(&["describe", &table("golden-dv-with-columnmapping")]);
    for expected in [
        "Version:           15",
        "Partition columns: part",
        "Files:             15",
        "Rows:              35",
        "Table features:    columnMapping, deletionVectors",
        "delta.columnMapping.mode = name",
        " |-- col1: integer (nullable = true, physical name = col-",
    ] {
        assert!(out.contains(expected), "{expected} in\n{out}");
    }
}

#[test]
fn describe_json() {
    let out = ok(&["describe", "--json", &table("golden-dv-with-columnmapping")]);
    let d: Value = serde_json::from_str(&out).unwrap();
    assert_eq!(d["version"], 15);
    assert_eq!(d["num_files"], 15);
    assert_eq!(d["num_rows"], 35);
    assert_eq!(d["partition_columns"], serde_json::json!(["part"]));
    assert_eq!(d["protocol"]["min_reader_version"], 3);
    assert_eq!(d["column_mapping_mode"], "name");
    assert_eq!(d["schema"]["type"], "struct");
    assert_eq!(d["schema"]["fields"][0]["name"], "part");
    assert!(d["num_bytes"].as_i64().unwrap() > 0);
    assert!(d["timestamp"].as_str().unwrap().ends_with('Z'));

    let out = ok(&["describe", "--json", &basic(), "--version", "3"]);
    let d: Value = serde_json::from_str(&out).unwrap();
    assert_eq!(d["version"], 3);
    assert_eq!(d["num_files"], 4);
    assert_eq!(d["num_rows"], 40);
    assert_eq!(d["partition_columns"], serde_json::json!([]));
    assert_eq!(d["constraints"], serde_json::json!({}));
    assert_eq!(
        d["table_features"],
        serde_json::json!(["appendOnly", "invariants"])
    );
}

#[test]
fn history_table_and_json() {
    let out = ok(&["history", &basic()]);
    assert_eq!(table_rows(&out), 14);
    assert!(out.contains("operationParameters"), "{out}");
    assert!(out.contains("DELETE"), "{out}");

    let lines = json_lines(&ok(&["history", &basic(), "--json", "--limit", "3"]));
    let versions: Vec<u64> = lines
        .iter()
        .map(|l| l["version"].as_u64().unwrap())
        .collect();
    assert_eq!(versions, [13, 12, 11]);
    assert_eq!(lines[0]["operation"], "DELETE");
    assert!(lines[0]["operation_parameters"].is_object());
    assert!(lines[0]["operation_metrics"]["numDeletedRows"].is_string());
    assert!(lines[1]["timestamp"].as_str().unwrap().ends_with('Z'));
}

#[test]
fn demo_prints_all_sections() {
    let out = ok(&["demo", &basic()]);
    let headings: Vec<&str> = out.lines().filter(|l| l.starts_with("== ")).collect();
    assert_eq!(headings.len(), 6, "{out}");
    assert!(headings[2].contains("version 13"), "{out}");
    assert!(headings[3].contains("version 0"), "{out}");
    assert!(headings[4].contains("Consistency check"), "{out}");
    assert!(headings[5].contains("SQL"), "{out}");
    assert!(out.contains("rows:              41"), "{out}");
    assert!(out.contains(" |-- id: long"), "{out}");
    // the content at version 0: 10 rows
    let sections: Vec<&str> = out.split("\n== ").collect();
    assert_eq!(table_rows(sections[3]), 10);
    // the check finds nothing wrong; SQL counts the 41 rows
    assert!(sections[4].contains("no problem found"), "{out}");
    assert!(sections[5].contains("| 41 "), "{out}");
}

#[test]
fn broken_pipe_is_quiet() {
    for command in [
        vec!["cat", "--format", "table"],
        vec!["cat", "--format", "csv"],
        vec!["cat", "--format", "json"],
        vec!["describe"],
        vec!["history"],
        vec!["demo"],
    ] {
        // standard output is a pipe whose reader is already gone
        let (reader, writer) = std::io::pipe().unwrap();
        drop(reader);
        let out = Command::new(env!("CARGO_BIN_EXE_delta"))
            .args(&command)
            .arg(basic())
            .stdout(writer)
            .output()
            .unwrap();
        let err = stderr(&out);
        assert_eq!(out.status.code(), Some(0), "{command:?}: {err}");
        assert_eq!(err, "", "{command:?}");
    }
}

#[test]
fn demo_notes_an_unreadable_version_0() {
    // its version 0 data files were vacuumed: the demo says so and succeeds
    let out = ok(&["demo", &table("golden-snapshot-vacuumed")]);
    let section = out
        .split("\n== ")
        .find(|s| s.starts_with("Content at version 0"))
        .unwrap();
    assert!(section.contains("version 0 cannot be read"), "{out}");
    assert!(section.contains("missing"), "{out}");
}

#[test]
fn write_creates_appends_overwrites_and_is_idempotent() {
    let dir = scratch("write-roundtrip");
    let input = dir.join("in.parquet");
    let input = input.to_str().unwrap();
    let t = dir.join("t");
    let t = t.to_str().unwrap();
    ok(&["cat", &basic(), "--format", "parquet", "--out", input]);
    assert!(ok(&["write", t, input]).contains("committed version 0"));
    assert!(
        ok(&["write", t, input, "--app-id", "etl", "--app-version", "7"]).contains("version 1")
    );
    assert!(
        ok(&["write", t, input, "--app-id", "etl", "--app-version", "7"]).starts_with("skipped")
    );
    let rows = ok(&["cat", t, "--format", "json"]).lines().count();
    assert_eq!(rows, 2 * BASIC_ROWS[13]);
    ok(&["write", t, input, "--mode", "overwrite"]);
    assert_eq!(
        ok(&["cat", t, "--format", "json"]).lines().count(),
        BASIC_ROWS[13]
    );
    let history = ok(&["history", t, "--json"]);
    assert_eq!(history.lines().count(), 3);
    assert!(ok(&["checkpoint", t]).starts_with("checkpoint at version 2"));
    // the table reads the same from its checkpoint
    assert_eq!(
        ok(&["cat", t, "--format", "json"]).lines().count(),
        BASIC_ROWS[13]
    );
}

#[test]
fn write_replace_where_replaces_matching_rows() {
    let dir = scratch("write-replace-where");
    let all = dir.join("all.csv");
    fs::write(&all, "id,city\n1,Oslo\n2,Rome\n3,Oslo\n").unwrap();
    let new = dir.join("new.csv");
    fs::write(&new, "id,city\n10,Oslo\n").unwrap();
    let t = dir.join("t");
    let t = t.to_str().unwrap();
    ok(&["write", t, all.to_str().unwrap(), "--partition-by", "city"]);
    let args = ["write", t, new.to_str().unwrap(), "--mode", "overwrite"];
    ok(&[&args[..], &["--replace-where", "city = 'Oslo'"]].concat());
    assert_eq!(
        ok(&[
            "cat",
            t,
            "--format",
            "csv",
            "--columns",
            "id,city",
            "--where",
            "id > 0"
        ])
        .lines()
        .skip(1)
        .collect::<BTreeSet<_>>(),
        ["10,Oslo", "2,Rome"].into_iter().collect()
    );
    let h: Vec<Value> = ok(&["history", t, "--json"])
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(
        h[0]["operation_parameters"]["predicate"], "city = 'Oslo'",
        "{}",
        h[0]
    );
}

#[test]
fn write_refuses_bad_data_and_flags() {
    let dir = scratch("write-refuse");
    let input = dir.join("in.parquet");
    let input = input.to_str().unwrap();
    let t = dir.join("t");
    let t = t.to_str().unwrap();
    ok(&["cat", &basic(), "--format", "parquet", "--out", input]);
    ok(&["write", t, input]);
    // a CSV whose column has the wrong type
    let csv = dir.join("bad.csv");
    fs::write(&csv, "id,extra\n1,x\n").unwrap();
    let err = fails(&["write", t, csv.to_str().unwrap()], 1);
    assert!(
        err.contains("column 'extra': is not in the table schema"),
        "{err}"
    );
    let err = fails(&["write", t, input, "--replace-where", "id > 1"], 1);
    assert!(err.contains("needs mode overwrite"), "{err}");
    let err = fails(
        &[
            "write",
            t,
            input,
            "--mode",
            "overwrite",
            "--replace-where",
            "id >",
        ],
        1,
    );
    assert!(err.contains("cannot parse 'id >'"), "{err}");
    // the input's rows are not all above 60: nothing is committed
    let err = fails(
        &[
            "write",
            t,
            input,
            "--mode",
            "overwrite",
            "--replace-where",
            "id > 60",
        ],
        1,
    );
    assert!(
        err.contains("the replaceWhere predicate (id > 60) is violated by"),
        "{err}"
    );
    fails(&["write", t, input, "--app-id", "x"], 2);
    fails(&["write", t, input, "--mode", "sideways"], 2);
    let err = fails(&["write", t, "/no/such/file.parquet"], 1);
    assert!(err.contains("/no/such/file.parquet"), "{err}");
    // nothing of the refused writes was committed
    assert_eq!(ok(&["history", t, "--json"]).lines().count(), 1);
}

#[test]
fn create_takes_the_schema_of_a_file() {
    let dir = scratch("write-create");
    let csv = dir.join("s.csv");
    fs::write(&csv, "id,city\n1,Oslo\n").unwrap();
    let t = dir.join("t");
    let t = t.to_str().unwrap();
    ok(&[
        "create",
        t,
        "--schema-from",
        csv.to_str().unwrap(),
        "--partition-by",
        "city",
        "--property",
        "delta.appendOnly=true",
    ]);
    let d: Value = serde_json::from_str(&ok(&["describe", t, "--json"])).unwrap();
    assert_eq!(d["version"], 0);
    assert_eq!(d["partition_columns"][0], "city");
    assert_eq!(d["properties"]["delta.appendOnly"], "true");
    let err = fails(&["create", t, "--schema-from", csv.to_str().unwrap()], 1);
    assert!(err.contains("already exists"), "{err}");
    ok(&["write", t, csv.to_str().unwrap()]);
    assert_eq!(ok(&["cat", t, "--format", "csv"]), "id,city\n1,Oslo\n");
}

#[test]
fn check_constraints_from_create_hold_on_writes() {
    let dir = scratch("write-constraint");
    let good = dir.join("good.csv");
    fs::write(&good, "id,city\n1,Oslo\n").unwrap();
    let bad = dir.join("bad.csv");
    fs::write(&bad, "id,city\n2,Rome\n-3,Lima\n").unwrap();
    let t = dir.join("t");
    let t = t.to_str().unwrap();
    let schema = good.to_str().unwrap();
    ok(&[
        "create",
        t,
        "--schema-from",
        schema,
        "--constraint",
        "Positive=id > 0",
    ]);
    let d: Value = serde_json::from_str(&ok(&["describe", t, "--json"])).unwrap();
    assert_eq!(d["constraints"]["positive"], "id > 0");
    ok(&["write", t, good.to_str().unwrap()]);
    let err = fails(&["write", t, bad.to_str().unwrap()], 1);
    assert!(
        err.contains("CHECK constraint positive (id > 0) is violated by 1 row(s), e.g. id = -3"),
        "{err}"
    );
    let d: Value = serde_json::from_str(&ok(&["describe", t, "--json"])).unwrap();
    assert_eq!(d["version"], 1, "nothing was committed");
    // constraints that do not fit the schema are refused when the table is created
    let t2 = dir.join("t2");
    let t2 = t2.to_str().unwrap();
    let create = |constraints: &[&str]| {
        let mut args = vec!["create", t2, "--schema-from", schema];
        for c in constraints {
            args.extend(["--constraint", c]);
        }
        fails(&args, 1)
    };
    let err = create(&["c=nope > 0"]);
    assert!(err.contains("unknown column 'nope'"), "{err}");
    let err = create(&["c=id + 1"]);
    assert!(err.contains("must be boolean"), "{err}");
    let err = create(&["c=id > 0", "C=id > 1"]);
    assert!(err.contains("given twice"), "{err}");
    assert!(!Path::new(t2).join("_delta_log").exists());
}

#[test]
fn constraints_are_added_after_checking_rows_and_dropped() {
    let dir = scratch("constraint-add");
    let csv = dir.join("rows.csv");
    fs::write(&csv, "id,city\n1,Oslo\n-2,Rome\n").unwrap();
    let t = dir.join("t");
    let t = t.to_str().unwrap();
    ok(&["write", t, csv.to_str().unwrap()]);
    let err = fails(&["constraint", "add", t, "positive", "id > 0"], 1);
    assert!(err.contains("violated by 1 row(s), e.g. id = -2"), "{err}");
    let out = ok(&["constraint", "add", t, "Known", "city IS NOT NULL"]);
    assert!(
        out.contains("added constraint known (city IS NOT NULL) at version 1"),
        "{out}"
    );
    let nulls = dir.join("nulls.csv");
    fs::write(&nulls, "id,city\n3,\n").unwrap();
    let err = fails(&["write", t, nulls.to_str().unwrap()], 1);
    assert!(err.contains("CHECK constraint known"), "{err}");
    let out = ok(&["constraint", "drop", t, "KNOWN"]);
    assert!(
        out.contains("dropped constraint known at version 2"),
        "{out}"
    );
    ok(&["write", t, nulls.to_str().unwrap()]);
    let err = fails(&["constraint", "drop", t, "known"], 1);
    assert!(err.contains("no constraint 'known'"), "{err}");
    fails(&["constraint", "add", t], 2);
}

#[test]
fn writer_features_are_shown_and_refused_writes_leave_the_table() {
    let dir = scratch("write-features");
    let csv = dir.join("s.csv");
    fs::write(&csv, "x\n5\n").unwrap();
    let t = dir.join("t");
    let t = t.to_str().unwrap();
    let csv = csv.to_str().unwrap();
    ok(&[
        "create",
        t,
        "--schema-from",
        csv,
        "--property",
        "delta.appendOnly=true",
    ]);
    ok(&["write", t, csv]);
    let d: Value = serde_json::from_str(&ok(&["describe", t, "--json"])).unwrap();
    assert_eq!(d["writable"], true);
    let support = d["writer_support"].as_array().unwrap();
    assert!(
        support
            .iter()
            .any(|s| s["feature"] == "appendOnly" && s["supported"] == true),
        "{support:?}"
    );
    // an overwrite of an append-only table: exit 1, version unchanged
    let err = fails(&["write", t, csv, "--mode", "overwrite"], 1);
    assert!(err.contains("append-only"), "{err}");
    let d: Value = serde_json::from_str(&ok(&["describe", t, "--json"])).unwrap();
    assert_eq!(d["version"], 1);

    // a table another writer gave a feature we do not implement
    let log = dir.join("t/_delta_log/00000000000000000002.json");
    fs::write(
        &log,
        "{\"protocol\":{\"minReaderVersion\":1,\"minWriterVersion\":7,\"writerFeatures\":[\"appendOnly\",\"rowTracking\"]}}\n",
    )
    .unwrap();
    let text = ok(&["describe", t]);
    assert!(text.contains("Writes:            refused"), "{text}");
    assert!(text.contains("rowTracking (assigning row ids"), "{text}");
    let err = fails(&["write", t, csv], 1);
    assert!(err.contains("'rowTracking'"), "{err}");
    let d: Value = serde_json::from_str(&ok(&["describe", t, "--json"])).unwrap();
    assert_eq!(d["version"], 2);
    assert_eq!(d["writable"], false);
}

#[test]
fn a_damaged_checkpoint_warns_and_the_table_stays_usable() {
    let dir = scratch("damaged-checkpoint");
    let csv = dir.join("s.csv");
    fs::write(&csv, "x\n5\n").unwrap();
    let t = dir.join("t");
    let (t, csv) = (t.to_str().unwrap(), csv.to_str().unwrap());
    ok(&["write", t, csv]);
    ok(&["write", t, csv]);
    ok(&["checkpoint", t]);
    let cp = dir.join("t/_delta_log/00000000000000000001.checkpoint.parquet");
    let bytes = fs::read(&cp).unwrap();
    fs::write(&cp, &bytes[..bytes.len() / 3]).unwrap();
    let out = delta(&["cat", t, "--format", "csv"]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    assert_eq!(stdout(&out), "x\n5\n5\n");
    let err = stderr(&out);
    assert!(err.contains("WARN"), "{err}");
    assert!(
        err.contains("00000000000000000001.checkpoint.parquet"),
        "{err}"
    );
    assert!(ok(&["write", t, csv]).contains("version 2"));
    assert_eq!(ok(&["cat", t, "--format", "csv"]), "x\n5\n5\n5\n");
}

#[test]
fn delete_and_update_change_matching_rows_and_print_metrics() {
    let dir = scratch("dml");
    let all = dir.join("all.csv");
    fs::write(
        &all,
        "id,city,score\n1,Oslo,10\n2,Rome,20\n3,Oslo,30\n4,Lima,40\n",
    )
    .unwrap();
    let t = dir.join("t");
    let t = t.to_str().unwrap();
    ok(&["write", t, all.to_str().unwrap()]);
    let rows = |t: &str| -> BTreeSet<String> {
        ok(&["cat", t, "--format", "csv", "--columns", "id,city,score"])
            .lines()
            .skip(1)
            .map(str::to_string)
            .collect()
    };
    let out = ok(&["delete", t, "--where", "city = 'Oslo' AND score > 15"]);
    assert!(out.starts_with("committed version 1"), "{out}");
    assert!(out.contains("numDeletedRows: 1"), "{out}");
    let out = ok(&[
        "update",
        t,
        "--where",
        "id < 3",
        "--set",
        "score=score * 2",
        "--set",
        "city='Bergen'",
    ]);
    assert!(out.contains("numUpdatedRows: 2"), "{out}");
    assert_eq!(
        rows(t),
        ["1,Bergen,20", "2,Bergen,40", "4,Lima,40"]
            .into_iter()
            .map(String::from)
            .collect()
    );
    let out = ok(&["delete", t, "--where", "id > 100"]);
    assert!(out.starts_with("no row matched"), "{out}");
    // bad statements: a clear message, exit 1 (2 for usage), nothing committed
    for (args, code, message) in [
        (
            vec!["delete", t, "--where", "nope = 1"],
            1,
            "unknown column 'nope'",
        ),
        (vec!["delete", t, "--where", "id >"], 1, "id >"),
        (
            vec!["update", t, "--where", "id = 1", "--set", "score='x'"],
            1,
            "column 'score' is long",
        ),
        (vec!["update", t, "--where", "id = 1"], 2, "--set"),
        (vec!["delete", t], 2, "--where"),
    ] {
        let err = fails(&args, code);
        assert!(err.contains(message), "{args:?}: {err}");
    }
    assert_eq!(ok(&["history", t, "--json"]).lines().count(), 3);
}

#[test]
fn merge_upserts_in_clause_order_and_prints_metrics() {
    let dir = scratch("merge");
    let target = dir.join("target.csv");
    fs::write(
        &target,
        "id,city,score\n1,Oslo,10\n2,Rome,20\n3,Oslo,30\n4,Lima,40\n",
    )
    .unwrap();
    let source = dir.join("source.csv");
    fs::write(
        &source,
        "id,city,score\n2,Rome,25\n3,Oslo,5\n9,Bergen,90\n10,Bergen,-1\n",
    )
    .unwrap();
    let t = dir.join("t");
    let t = t.to_str().unwrap();
    let source = source.to_str().unwrap();
    ok(&["write", t, target.to_str().unwrap()]);
    let out = ok(&[
        "merge",
        t,
        "--source",
        source,
        "--on",
        "target.id = source.id",
        "--when-matched-delete",
        "--if",
        "source.score < target.score",
        "--when-matched-update",
        "score=source.score",
    ]);
    assert!(out.contains("numTargetRowsDeleted: 1"), "{out}");
    assert!(out.contains("numTargetRowsUpdated: 1"), "{out}");
    let out = ok(&[
        "merge",
        t,
        "--source",
        source,
        "--on",
        "target.id = source.id",
        "--when-not-matched-insert-all",
        "--if",
        "source.score > 0",
        "--when-not-matched-by-source-update",
        "score=target.score + 1, city='gone'",
        "--if",
        "target.id = 4",
    ]);
    // id 3 (deleted by the first merge) and 9 come in; 10 has a score of -1
    assert!(out.contains("numTargetRowsInserted: 2"), "{out}");
    let rows: BTreeSet<String> = ok(&["cat", t, "--format", "csv", "--columns", "id,city,score"])
        .lines()
        .skip(1)
        .map(str::to_string)
        .collect();
    assert_eq!(
        rows,
        [
            "1,Oslo,10",
            "2,Rome,25",
            "3,Oslo,5",
            "4,gone,41",
            "9,Bergen,90"
        ]
        .into_iter()
        .map(String::from)
        .collect(),
    );
    // errors: exit 1 with the reason, nothing committed
    for (args, message) in [
        (
            vec![
                "merge",
                t,
                "--source",
                source,
                "--on",
                "target.id = source.id",
            ],
            "at least one --when",
        ),
        (
            vec![
                "merge",
                t,
                "--source",
                source,
                "--on",
                "id = id",
                "--when-matched-delete",
            ],
            "ambiguous",
        ),
        (
            vec![
                "merge",
                t,
                "--source",
                source,
                "--on",
                "target.id = source.id",
                "--if",
                "true",
            ],
            "--if must follow",
        ),
        (
            vec![
                "merge",
                t,
                "--source",
                source,
                "--on",
                "target.id = source.id",
                "--when-matched-update",
                "score",
            ],
            "column=expression",
        ),
    ] {
        let err = fails(&args, 1);
        assert!(err.contains(message), "{args:?}: {err}");
    }
    assert_eq!(ok(&["history", t, "--json"]).lines().count(), 3);
}

#[test]
fn merge_takes_a_table_as_source_and_merges_schemas() {
    let dir = scratch("merge-table-source");
    let target = dir.join("target.csv");
    fs::write(&target, "id,city,score\n1,Oslo,10\n2,Rome,20\n").unwrap();
    let changes = dir.join("changes.csv");
    fs::write(
        &changes,
        "id,city,score,note\n2,Rome,25,late\n3,Lima,30,new\n",
    )
    .unwrap();
    let t = dir.join("t");
    let t = t.to_str().unwrap();
    let s = dir.join("s");
    let s = s.to_str().unwrap();
    ok(&["write", t, target.to_str().unwrap()]);
    ok(&["write", s, changes.to_str().unwrap()]);
    let merge = |extra: &[&str]| {
        let mut args = vec![
            "merge",
            t,
            "--source",
            s,
            "--on",
            "target.id = source.id",
            "--when-matched-update-all",
            "--when-not-matched-insert-all",
        ];
        args.extend_from_slice(extra);
        args.iter().map(|a| a.to_string()).collect::<Vec<_>>()
    };
    // without --merge-schema the source's new column is left out
    let without: Vec<String> = merge(&[]);
    let without: Vec<&str> = without.iter().map(String::as_str).collect();
    ok(&without);
    let header = ok(&["cat", t, "--format", "csv"]);
    assert_eq!(header.lines().next(), Some("id,city,score"), "{header}");
    // with it the table gains the column
    let with: Vec<String> = merge(&["--merge-schema"]);
    let with: Vec<&str> = with.iter().map(String::as_str).collect();
    let out = ok(&with);
    assert!(out.contains("numTargetRowsUpdated: 2"), "{out}");
    let rows: BTreeSet<String> = ok(&["cat", t, "--format", "csv"])
        .lines()
        .map(str::to_string)
        .collect();
    assert!(rows.contains("id,city,score,note"), "{rows:?}");
    assert!(rows.contains("2,Rome,25,late"), "{rows:?}");
    assert!(rows.contains("3,Lima,30,new"), "{rows:?}");
    assert!(rows.contains("1,Oslo,10,"), "{rows:?}");
}

#[test]
fn optimize_compacts_and_keeps_the_rows() {
    let dir = scratch("optimize");
    let t = dir.join("t");
    let t = t.to_str().unwrap();
    for i in 0..4 {
        let file = dir.join(format!("part{i}.csv"));
        fs::write(
            &file,
            format!("id,city\n{},Oslo\n{},Rome\n", i * 2, i * 2 + 1),
        )
        .unwrap();
        ok(&["write", t, file.to_str().unwrap(), "--partition-by", "city"]);
    }
    let before = ok(&["cat", t, "--format", "csv"]);
    let out = ok(&["optimize", t, "--where", "city = 'Oslo'"]);
    assert!(out.contains("4 files removed, 1 files added"), "{out}");
    let out = ok(&["optimize", t]);
    assert!(out.contains("4 files removed, 1 files added"), "{out}");
    let out = ok(&["optimize", t]);
    assert!(out.contains("nothing to compact"), "{out}");
    let sorted = |text: String| -> BTreeSet<String> { text.lines().map(str::to_string).collect() };
    assert_eq!(
        sorted(ok(&["cat", t, "--format", "csv"])),
        sorted(before.clone())
    );
    let history = ok(&["history", t, "--json"]);
    assert!(history.contains("OPTIMIZE"), "{history}");
    // refused with the reason, nothing committed
    let err = fails(&["optimize", t, "--where", "id > 1"], 1);
    assert!(err.contains("not a partition column"), "{err}");
    let err = fails(&["optimize", t, "--zorder-by", "city"], 1);
    assert!(err.contains("is a partition column"), "{err}");
    assert_eq!(ok(&["history", t, "--json"]).lines().count(), 6);
    // Z-order rewrites each partition's files in Z-order
    let out = ok(&["optimize", t, "--zorder-by", "id"]);
    assert!(out.contains("2 files removed, 2 files added"), "{out}");
    assert_eq!(
        sorted(ok(&["cat", t, "--format", "csv"])),
        sorted(before.clone())
    );
}

#[test]
fn vacuum_refuses_a_short_retention_and_keeps_what_the_table_needs() {
    let dir = scratch("vacuum");
    let t = dir.join("t");
    let file = dir.join("rows.csv");
    fs::write(&file, "id,city\n1,Oslo\n2,Rome\n").unwrap();
    let ts = t.to_str().unwrap();
    ok(&["write", ts, file.to_str().unwrap()]);
    ok(&["write", ts, file.to_str().unwrap(), "--mode", "overwrite"]);
    let before = ok(&["cat", ts, "--format", "csv"]);
    let orphan = t.join("orphan.parquet");
    fs::write(&orphan, b"x").unwrap();
    // the default retention keeps everything this young
    let out = ok(&["vacuum", ts, "--dry-run"]);
    assert!(out.contains("0 files"), "{out}");
    let err = fails(&["vacuum", ts, "--retain-hours", "0"], 1);
    assert!(err.contains("delta.deletedFileRetentionDuration"), "{err}");
    assert!(orphan.exists());
    let out = ok(&["vacuum", ts, "--retain-hours", "0", "--force", "--dry-run"]);
    assert!(out.contains("orphan.parquet"), "{out}");
    assert!(out.contains("2 files"), "{out}");
    assert!(orphan.exists());
    let out = ok(&["vacuum", ts, "--retain-hours", "0", "--force"]);
    assert!(out.contains("2 files"), "{out}");
    assert!(!orphan.exists());
    assert_eq!(ok(&["cat", ts, "--format", "csv"]), before);
    let history = ok(&["history", ts]);
    assert!(history.contains("VACUUM END"), "{history}");
}

#[test]
fn restore_brings_back_a_version_as_a_new_commit() {
    let dir = scratch("restore");
    let t = dir.join("t");
    let t = t.to_str().unwrap();
    let file = dir.join("rows.csv");
    fs::write(&file, "id,city\n1,Oslo\n2,Rome\n").unwrap();
    ok(&["write", t, file.to_str().unwrap()]);
    let v0 = ok(&["cat", t, "--format", "csv"]);
    ok(&["delete", t, "--where", "id = 1"]);
    let out = ok(&["restore", t, "--version", "0"]);
    assert!(out.contains("restored version 0 as version 2"), "{out}");
    assert_eq!(ok(&["cat", t, "--format", "csv"]), v0);
    let history = ok(&["history", t]);
    assert!(history.contains("RESTORE"), "{history}");
    // errors: exit 1 with the reason
    let err = fails(&["restore", t, "--version", "9"], 1);
    assert!(err.contains("newer than"), "{err}");
    fails(&["restore", t], 2);
}

#[test]
fn check_finds_a_missing_file_and_exits_1() {
    let dir = scratch("check");
    let t = dir.join("t");
    let ts = t.to_str().unwrap();
    let file = dir.join("rows.csv");
    fs::write(&file, "id,city\n1,Oslo\n2,Rome\n").unwrap();
    ok(&["write", ts, file.to_str().unwrap()]);
    let out = ok(&["check", ts]);
    assert!(out.contains("no problem found"), "{out}");
    let data = fs::read_dir(&t)
        .unwrap()
        .flatten()
        .map(|e| e.path())
        .find(|p| p.extension().is_some_and(|e| e == "parquet"))
        .unwrap();
    fs::remove_file(&data).unwrap();
    let err = fails(&["check", ts], 1);
    assert!(err.contains("not consistent"), "{err}");
    let out = delta(&["check", ts, "--json"]);
    let report: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(report["findings"][0]["id"], "data.file-missing");
    assert_eq!(report["findings"][0]["severity"], "error");
    // the plan, and nothing changed
    let log_before = fs::read_dir(t.join("_delta_log")).unwrap().count();
    let err = fails(&["check", ts, "--repair", "--dry-run"], 1);
    assert!(
        err.contains("repair plan:") && err.contains("FSCK"),
        "{err}"
    );
    assert!(err.contains("dry run: nothing changed"), "{err}");
    assert_eq!(
        fs::read_dir(t.join("_delta_log")).unwrap().count(),
        log_before
    );
    // repaired: one commit removes the lost file, and the check is clean
    let out = ok(&["check", ts, "--repair"]);
    assert!(out.ends_with("version 1: no problem found\n"), "{out}");
    assert!(ok(&["check", ts]).contains("no problem found"));
    assert!(ok(&["history", ts]).contains("FSCK"));
    assert_eq!(ok(&["cat", ts, "--format", "csv"]).trim(), "id,city");
}

#[test]
fn sql_reads_and_writes_tables() {
    let dir = scratch("sql");
    let t = dir.join("t");
    let ts = t.to_str().unwrap();
    let file = dir.join("rows.csv");
    fs::write(&file, "id,city\n1,Oslo\n2,Rome\n").unwrap();
    ok(&["write", ts, file.to_str().unwrap()]);
    let spec = format!("t={ts}");
    // a statement over t, its rows as CSV
    let sql = |query: &str| ok(&["sql", query, "--table", &spec, "--format", "csv"]);
    let out = sql("SELECT city, id * 10 AS x FROM t WHERE id > 1");
    assert_eq!(out, "city,x\nRome,20\n");
    let out = sql("INSERT INTO t VALUES (3, 'Lima')");
    assert_eq!(out, "count\n1\n");
    let out = sql("DELETE FROM t WHERE city = 'Oslo'");
    assert_eq!(out, "count\n1\n");
    let out = sql("SELECT id FROM t ORDER BY id");
    assert_eq!(out, "id\n2\n3\n");
    assert!(ok(&["history", ts]).contains("DELETE"));
    let out = sql(
        "MERGE INTO t USING (VALUES (3, 'Oslo'), (4, 'Kyiv')) AS s(id, city) ON t.id = s.id \
         WHEN MATCHED THEN UPDATE SET city = s.city WHEN NOT MATCHED THEN INSERT VALUES (s.id, s.city)",
    );
    assert_eq!(out, "count\n2\n");
    let out = sql("SELECT id, city FROM t ORDER BY id");
    assert_eq!(out, "id,city\n2,Rome\n3,Oslo\n4,Kyiv\n");
    // time travel: the table before the MERGE, and as first written
    let out = sql("SELECT id, city FROM t VERSION AS OF 2 ORDER BY id");
    assert_eq!(out, "id,city\n2,Rome\n3,Lima\n");
    // Spark SQL: backticks name a column, double quotes make a string
    let out = sql("SELECT `id`, \"id\" AS text FROM t VERSION AS OF 0 ORDER BY id");
    assert_eq!(out, "id,text\n1,id\n2,id\n");
    let out = sql("SELECT count(*) AS n FROM t VERSION AS OF 0");
    assert_eq!(out, "n\n2\n");
    assert!(ok(&["history", ts]).contains("MERGE"));
    // bad input: a message, exit status 1, nothing changed
    let version = |s: &str| s.lines().count();
    let before = version(&ok(&["history", ts]));
    let err = fails(&["sql", "SELEC nonsense", "--table", &spec], 1);
    assert!(err.contains("SELEC"), "{err}");
    let err = fails(&["sql", "SELECT * FROM missing", "--table", &spec], 1);
    assert!(err.contains("missing"), "{err}");
    let err = fails(&["sql", "SELECT 1", "--table", "no-equals-sign"], 1);
    assert!(err.contains("NAME=TABLE"), "{err}");
    // our own errors read as they are, not as DataFusion's "External error"
    let err = fails(
        &[
            "sql",
            "MERGE INTO t USING (VALUES (2), (2)) AS s(id) ON t.id = s.id WHEN MATCHED THEN UPDATE SET id = 0",
            "--table",
            &spec,
        ],
        1,
    );
    assert!(
        err.contains("invalid MERGE") && !err.contains("External"),
        "{err}"
    );
    assert_eq!(version(&ok(&["history", ts])), before);
}
