//! Changing and maintaining: `delete`, `update`, `merge`, `optimize`,
//! `vacuum`, `restore`, `check`, `sql`.

use super::*;

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
