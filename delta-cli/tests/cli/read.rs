//! Reading: `cat` (formats, time travel, predicates), `describe`, `history`,
//! the read-only `demo` tour, and how reads fail.

use super::*;

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
