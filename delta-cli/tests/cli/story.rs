//! `delta demo`: the whole story on a fresh table, and on a table the user
//! names with `--write`.

use super::*;

/// Every step of the story ran and printed its result.
fn assert_whole_story(out: &str) {
    for step in 1..=10 {
        assert!(out.contains(&format!("[{step}/10] ")), "step {step}: {out}");
    }
    // the wrong schema and the bad row are refused, nothing committed
    assert_eq!(out.matches("refused: ").count(), 2, "{out}");
    assert_eq!(out.matches(": nothing committed").count(), 2, "{out}");
    assert!(out.contains("columns id, city, amount, note"), "{out}");
    assert!(out.contains("1 row updated, 1 inserted"), "{out}");
    // the story checks the versions it tells; here they are read back
    let line = out
        .lines()
        .find(|l| l.contains("writer A read version"))
        .unwrap();
    let numbers: Vec<u64> = line
        .split(|c: char| !c.is_ascii_digit())
        .filter_map(|w| w.parse().ok())
        .collect();
    let (seen, by_b) = (numbers[0], numbers[1]);
    assert_eq!(by_b, seen + 1, "{line}");
    let landed = format!(
        "(two appends do not conflict) and landed as version {}",
        by_b + 1
    );
    assert!(out.contains(&landed), "{out}");
    assert!(
        out.contains("8 files compacted into 1; the same 107 rows"),
        "{out}"
    );
    assert!(out.contains("reads 1 of them"), "{out}");
    assert!(out.contains("check --deep: clean"), "{out}");
    assert!(out.contains("check: error [data.file-missing] "), "{out}");
    assert!(out.contains("(its 2 rows are gone with it)"), "{out}");
    assert!(out.contains("check: clean again"), "{out}");
    assert!(out.contains("| Oslo "), "{out}");
}

#[test]
fn demo_tells_the_whole_story_on_a_fresh_table() {
    let out = ok(&["demo"]);
    assert_whole_story(&out);
    assert!(!out.contains("is kept at"), "{out}");
}

#[test]
fn demo_write_tells_the_story_on_a_named_table_and_leaves_it_consistent() {
    let dir = scratch("story");
    let t = dir.join("t");
    let t = t.to_str().unwrap();
    let out = ok(&["demo", t, "--write"]);
    assert_whole_story(&out);
    assert!(out.contains(&format!("The table is at {t}")), "{out}");
    // the table it leaves is consistent and tells its history
    ok(&["check", t, "--deep"]);
    let history = ok(&["history", t, "--json"]);
    let operations: BTreeSet<String> = json_lines(&history)
        .iter()
        .filter_map(|c| c["operation"].as_str().map(String::from))
        .collect();
    for operation in [
        "WRITE",
        "MERGE",
        "DELETE",
        "RESTORE",
        "OPTIMIZE",
        "ADD CONSTRAINT",
    ] {
        assert!(
            operations.contains(operation),
            "{operation}: {operations:?}"
        );
    }
    // never over an existing table, never on a store it cannot delete a file on
    let err = fails(&["demo", t, "--write"], 1);
    assert!(err.contains("already holds a Delta table"), "{err}");
    let err = fails(&["demo", "s3://bucket/t", "--write"], 1);
    assert!(err.contains("local path only"), "{err}");
    fails(&["demo", "--write"], 2);
    // nor among a user's files
    let busy = dir.join("busy");
    fs::create_dir_all(&busy).unwrap();
    fs::write(busy.join("notes.txt"), "mine").unwrap();
    let err = fails(&["demo", busy.to_str().unwrap(), "--write"], 1);
    assert!(err.contains("with files in it"), "{err}");
    assert_eq!(fs::read_dir(&busy).unwrap().count(), 1);
}
