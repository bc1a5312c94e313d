//! Writing: `write`, `create`, constraints, writer features, a damaged
//! checkpoint.

use super::*;

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
