//! `delta demo` without a table (or with `--write`): the whole story of the
//! project on a fresh local table, each step printed with its result. Every
//! step uses the facade (`delta::DeltaTable`), as a user's program would.

use std::collections::HashSet;
use std::io::Write;
use std::path::Path;
use std::sync::Arc;

use arrow::array::{Float64Array, Int64Array, RecordBatch, StringArray};
use arrow::datatypes::{DataType, Field, Schema};
use delta::DeltaTable;
use delta::datafusion::datafusion::prelude::SessionContext;
use delta::txn::WriteOptions;

use crate::output::{CliResult, Output, error_text};

/// The rows of the story's table: `id`, `city`, `amount`, and `note` when given.
fn rows(ids: &[i64], cities: &[&str], amounts: &[f64], notes: Option<&[&str]>) -> RecordBatch {
    let mut fields = vec![
        Field::new("id", DataType::Int64, false),
        Field::new("city", DataType::Utf8, true),
        Field::new("amount", DataType::Float64, true),
    ];
    let mut columns: Vec<arrow::array::ArrayRef> = vec![
        Arc::new(Int64Array::from(ids.to_vec())),
        Arc::new(StringArray::from(cities.to_vec())),
        Arc::new(Float64Array::from(amounts.to_vec())),
    ];
    if let Some(notes) = notes {
        fields.push(Field::new("note", DataType::Utf8, true));
        columns.push(Arc::new(StringArray::from(notes.to_vec())));
    }
    // the columns match the fields by construction
    RecordBatch::try_new(Arc::new(Schema::new(fields)), columns)
        .unwrap_or_else(|e| unreachable!("the story's rows fit their schema: {e}"))
}

fn count(batches: &[RecordBatch]) -> usize {
    batches.iter().map(RecordBatch::num_rows).sum()
}

/// Prints the steps as they run.
struct Steps {
    out: Output,
    done: usize,
}

impl Steps {
    const TOTAL: usize = 10;

    fn step(&mut self, title: &str) -> CliResult<()> {
        self.done += 1;
        writeln!(self.out, "\n[{}/{}] {title}", self.done, Self::TOTAL)?;
        Ok(())
    }

    fn say(&mut self, text: impl AsRef<str>) -> CliResult<()> {
        for line in text.as_ref().lines() {
            writeln!(self.out, "      {line}")?;
        }
        Ok(())
    }
}

/// Runs the story on a new table at `location` (which must not exist).
pub async fn run(location: &str, dir: &Path) -> CliResult<()> {
    let mut s = Steps {
        out: Output::stdout(),
        done: 0,
    };
    writeln!(s.out, "The story of a Delta table, at {location}")?;
    let table = DeltaTable::at(location)?;
    if table.inner().snapshot_if_exists().await?.is_some() {
        return Err(format!(
            "{location} already holds a Delta table: the story writes a new one (give a new path)"
        )
        .into());
    }
    // never among a user's files: the directory is new or empty
    if std::fs::read_dir(dir).is_ok_and(|mut entries| entries.next().is_some()) {
        return Err(format!(
            "{} is a directory with files in it: the story writes a new table (give a new or empty directory)",
            dir.display()
        )
        .into());
    }

    s.step("An ACID write: every write is one commit, all or nothing")?;
    let first = rows(
        &[1, 2, 3],
        &["Oslo", "Lima", "Oslo"],
        &[10.0, 20.0, 30.0],
        None,
    );
    let commit = table.write([first]).await?;
    s.say(format!(
        "wrote 3 rows: version {}, {} file",
        commit.version,
        commit.snapshot.files().len()
    ))?;

    s.step("Schema enforcement: a write that does not fit is refused")?;
    let wrong_type = Arc::new(Schema::new(vec![
        Field::new("id", DataType::Int64, false),
        Field::new("amount", DataType::Utf8, true),
    ]));
    let wrong = RecordBatch::try_new(
        wrong_type,
        vec![
            Arc::new(Int64Array::from(vec![4])),
            Arc::new(StringArray::from(vec!["a lot"])),
        ],
    )?;
    match table.write([wrong]).await {
        Ok(c) => {
            return Err(format!(
                "a write of the wrong type was accepted (version {})",
                c.version
            )
            .into());
        }
        Err(e) => s.say(format!("refused: {}", error_text(&e)))?,
    }
    let version = table.version().await?;
    if version != commit.version {
        return Err(format!("the refused write moved the table to version {version}").into());
    }
    s.say(format!("still version {version}: nothing committed"))?;

    s.step("Schema evolution: a new column, added on purpose (--merge-schema)")?;
    let wider = rows(&[4], &["Pune"], &[40.0], Some(&["first with a note"]));
    let commit = table.write([wider]).merge_schema().await?;
    let columns: Vec<String> = commit
        .snapshot
        .schema()
        .fields
        .iter()
        .map(|f| f.name.clone())
        .collect();
    s.say(format!(
        "version {}: columns {}",
        commit.version,
        columns.join(", ")
    ))?;

    s.step("MERGE: an upsert of changed and new rows")?;
    let changes = rows(
        &[2, 5],
        &["Lima", "Kyiv"],
        &[25.0, 50.0],
        Some(&["corrected", "new"]),
    );
    let merged = table
        .merge([changes], "target.id = source.id")
        .when_matched_update_all()
        .when_not_matched_insert_all()
        .await?;
    s.say(format!(
        "version {}: {} row updated, {} inserted",
        merged.version,
        merged.metrics["numTargetRowsUpdated"],
        merged.metrics["numTargetRowsInserted"]
    ))?;

    s.step("Time travel and restore")?;
    let latest = count(&table.scan().await?);
    let at_zero = count(&table.scan().at_version(0).await?);
    s.say(format!("latest: {latest} rows; version 0: {at_zero} rows"))?;
    let mistake = table.delete().filter("city = 'Oslo'").await?;
    s.say(format!(
        "a mistaken DELETE (version {}) removes {} rows",
        mistake.version, mistake.metrics["numDeletedRows"]
    ))?;
    let restored = table.restore().to_version(merged.version).await?;
    s.say(format!(
        "RESTORE to version {} (as version {}): {} rows again",
        merged.version,
        restored.version,
        count(&table.scan().await?)
    ))?;

    s.step("Two writers at once: the later commit retries, nothing is lost")?;
    let writer_a = table.inner().clone();
    let read_by_a = writer_a.snapshot().await?;
    let seen = read_by_a.version();
    let by_b = table.write([rows(&[6], &["Rome"], &[60.0], None)]).await?;
    let batch = rows(&[7], &["Lyon"], &[70.0], None);
    let schema = batch.schema();
    let by_a = writer_a
        .write_on(
            Some(read_by_a),
            schema,
            futures::stream::iter(vec![Ok(batch)]),
            WriteOptions::default(),
        )
        .await?;
    // what the steps below claim, checked rather than assumed
    if by_b.version != seen + 1 || by_a.version != by_b.version + 1 {
        return Err(format!(
            "the concurrent writers did not interleave as the story says: A read {seen}, \
             B committed {}, A committed {}",
            by_b.version, by_a.version
        )
        .into());
    }
    s.say(format!(
        "writer A read version {seen}; writer B committed version {} meanwhile",
        by_b.version
    ))?;
    s.say(format!(
        "A's append found version {} taken, checked B's commit for conflicts (two appends do not conflict) and landed as version {}",
        by_b.version, by_a.version
    ))?;
    s.say(format!(
        "{} rows: both writes are there",
        count(&table.scan().await?)
    ))?;

    s.step("Compaction and data skipping")?;
    for start in [100, 200, 300, 400] {
        let ids: Vec<i64> = (start..start + 25).collect();
        let cities = vec!["Bern"; ids.len()];
        let amounts = vec![1.0; ids.len()];
        table.write([rows(&ids, &cities, &amounts, None)]).await?;
    }
    let filter = "id >= 310 AND id < 320";
    let skip = table.scan().filter(filter).skip_report().await?;
    s.say(format!(
        "{} files; WHERE {filter} reads {} of them (statistics skip {})",
        skip.considered, skip.read, skip.skipped_by_stats
    ))?;
    let rows_before = count(&table.scan().await?);
    let optimized = table.optimize().await?;
    let rows_after = count(&table.scan().await?);
    if rows_after != rows_before {
        return Err(
            format!("OPTIMIZE changed the rows: {rows_before} before, {rows_after} after").into(),
        );
    }
    s.say(format!(
        "OPTIMIZE: {} files compacted into {}; the same {rows_after} rows",
        optimized.metrics.num_files_removed, optimized.metrics.num_files_added,
    ))?;

    s.step("A constraint rejects a bad row")?;
    table
        .add_constraint("amount_not_negative", "amount >= 0")
        .await?;
    let before = table.version().await?;
    match table.write([rows(&[8], &["Oslo"], &[-5.0], None)]).await {
        Ok(c) => {
            return Err(format!(
                "a row breaking the constraint was written (version {})",
                c.version
            )
            .into());
        }
        Err(e) => s.say(format!("refused: {}", error_text(&e)))?,
    }
    let now = table.version().await?;
    if now != before {
        return Err(
            format!("the refused write moved the table from version {before} to {now}").into(),
        );
    }
    s.say(format!("still version {now}: nothing committed"))?;

    s.step("A consistency check, a lost file, and a repair")?;
    let report = table.check().deep().await;
    s.say(format!(
        "check --deep: {}",
        if report.is_clean() {
            "clean"
        } else {
            "NOT clean"
        }
    ))?;
    let before: HashSet<String> = table
        .snapshot()
        .await?
        .files()
        .iter()
        .map(|f| f.path().to_string())
        .collect();
    let late = table
        .write([rows(&[9, 10], &["Oslo", "Lima"], &[9.0, 10.0], None)])
        .await?;
    let lost = late
        .snapshot
        .files()
        .iter()
        .map(|f| f.path().to_string())
        .find(|p| !before.contains(p))
        .ok_or("the late write added no file")?;
    let rows_before = count(&table.scan().await?);
    std::fs::remove_file(dir.join(&lost))?;
    s.say(format!(
        "deleted the data file {lost} behind the table's back"
    ))?;
    let report = table.check().await;
    for finding in report
        .findings
        .iter()
        .filter(|f| f.severity == delta::check::Severity::Error)
    {
        s.say(format!("check: {finding}"))?;
    }
    let repaired = table.repair(&report).await?;
    let rows_after = count(&table.scan().await?);
    s.say(format!(
        "repair: the file leaves the table in version {} (its {} rows are gone with it)",
        repaired
            .version
            .map_or_else(|| "-".to_string(), |v| v.to_string()),
        rows_before - rows_after
    ))?;
    let report = table.check().await;
    s.say(format!(
        "check: {}",
        if report.is_clean() {
            "clean again"
        } else {
            "still NOT clean"
        }
    ))?;

    s.step("SQL through DataFusion")?;
    let query = "SELECT city, count(*) AS orders, sum(amount) AS total FROM t GROUP BY city ORDER BY total DESC";
    let ctx = SessionContext::new();
    ctx.register_table("t", Arc::new(table.table_provider().await?))?;
    let batches = ctx.sql(query).await?.collect().await?;
    s.say(query)?;
    s.say(arrow::util::pretty::pretty_format_batches(&batches)?.to_string())?;

    s.out.flush()?;
    Ok(())
}
