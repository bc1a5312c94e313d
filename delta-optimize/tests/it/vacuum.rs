//! VACUUM never deletes a file a version inside the retention needs (data
//! files, deletion-vector files), never touches the log or hidden paths,
//! refuses a short retention unless forced, and records its commits.

use std::collections::HashMap;
use std::path::{Path, PathBuf};

use arrow::array::{RecordBatch, StringArray};
use delta_expr::parse;
use delta_optimize::{
    OptimizeError, OptimizeOptions, RestoreTarget, VacuumOptions, VacuumOutcome, optimize, restore,
    vacuum,
};
use delta_txn::log_cleanup::LogCleanupOptions;
use delta_txn::progress::NoProgress;
use delta_txn::{SaveMode, Table, WriteOptions, now_ms};

use crate::{city_rows as rows, hash_at};
use proptest::prelude::*;

const DAY_MS: i64 = 24 * 3_600_000;

async fn write(table: &Table, batch: RecordBatch, mode: SaveMode, dvs: bool) {
    let options = WriteOptions {
        mode,
        partition_by: Some(vec!["city".to_string()]),
        // a checkpoint every other commit
        properties: HashMap::from([
            ("delta.enableDeletionVectors".to_string(), dvs.to_string()),
            ("delta.checkpointInterval".to_string(), "2".to_string()),
        ]),
        ..Default::default()
    };
    table
        .write(batch.schema(), futures::stream::iter([Ok(batch)]), options)
        .await
        .unwrap();
}

/// The canonical content of every version.
async fn every_version(table: &Table) -> Vec<String> {
    let latest = table.snapshot().await.unwrap().version();
    let mut out = Vec::new();
    for v in 0..=latest {
        let batches = table
            .snapshot_at(v)
            .await
            .unwrap()
            .scan()
            .collect()
            .await
            .unwrap();
        out.push(delta_test::canonical_hash(&batches).unwrap());
    }
    out
}

fn plant(dir: &Path, relative: &str) -> PathBuf {
    let path = dir.join(relative);
    std::fs::create_dir_all(path.parent().unwrap()).unwrap();
    std::fs::write(&path, b"not ours to delete").unwrap();
    path
}

fn at(now: i64) -> VacuumOptions {
    VacuumOptions {
        now_ms: Some(now),
        ..VacuumOptions::default()
    }
}

/// A history with removed files: appends, a copy-on-write delete, an
/// overwrite of one partition, a compaction.
async fn history(name: &str, dvs: bool) -> (PathBuf, Table) {
    let dir = delta_test::scratch_dir(name).unwrap();
    let table = Table::at(dir.to_str().unwrap()).unwrap();
    for i in 0..4 {
        write(
            &table,
            rows(i * 30..i * 30 + 30),
            SaveMode::Append,
            dvs && i == 0,
        )
        .await;
    }
    delta_merge::delete(&table, Some(&parse("id % 5 = 0").unwrap()))
        .await
        .unwrap();
    optimize(&table, OptimizeOptions::default(), &NoProgress)
        .await
        .unwrap();
    delta_merge::delete(&table, Some(&parse("id % 7 = 0").unwrap()))
        .await
        .unwrap();
    (dir, table)
}

#[tokio::test]
async fn inside_the_retention_nothing_a_version_needs_goes() {
    for dvs in [false, true] {
        let (dir, table) = history("vacuum-retained", dvs).await;
        let before = every_version(&table).await;
        let orphan = plant(&dir, "city=Oslo/orphan.parquet");
        let hidden = [
            plant(&dir, "city=Oslo/.hidden"),
            plant(&dir, "_staging/part-0.parquet"),
            plant(&dir, ".tmp/part-1.parquet"),
        ];
        // a day later: every tombstone is a day old, inside the 7 days
        let outcome = vacuum(&table, at(now_ms() + DAY_MS)).await.unwrap();
        assert_eq!(outcome.files, 0, "deletion vectors {dvs}");
        // VACUUM START and END read as the version before them
        assert_eq!(every_version(&table).await[..before.len()], before[..]);
        assert!(orphan.exists());
        // eight days later: the orphan and the removed files go; the latest
        // version reads the same, hidden paths and the log stay
        let dry = vacuum(
            &table,
            VacuumOptions {
                dry_run: true,
                ..at(now_ms() + 8 * DAY_MS)
            },
        )
        .await
        .unwrap();
        assert!(
            dry.paths.contains(&"city=Oslo/orphan.parquet".to_string()),
            "{:?}",
            dry.paths
        );
        assert!(orphan.exists(), "a dry run deletes nothing");
        let before = every_version(&table).await;
        let version = table.snapshot().await.unwrap().version();
        let done: VacuumOutcome = vacuum(&table, at(now_ms() + 8 * DAY_MS)).await.unwrap();
        assert_eq!(done.files, dry.files);
        assert!(!orphan.exists());
        assert!(hidden.iter().all(|h| h.exists()));
        assert_eq!(
            hash_at(&table, None).await.unwrap(),
            *before.last().unwrap()
        );
        // VACUUM START and VACUUM END are commits
        assert_eq!(done.version, Some(version + 2));
        let snapshot = table.snapshot().await.unwrap();
        assert_eq!(snapshot.version(), version + 2);
        std::fs::remove_dir_all(&dir).unwrap();
    }
}

fn vector_files(dir: &Path) -> usize {
    std::fs::read_dir(dir)
        .unwrap()
        .flatten()
        .filter(|e| {
            e.file_name()
                .to_string_lossy()
                .starts_with("deletion_vector_")
        })
        .count()
}

#[tokio::test]
async fn a_forced_zero_retention_keeps_the_latest_versions_files_and_vectors() {
    // vectors large enough for files: the second delete replaces the first
    // delete's vector files
    let dir = delta_test::scratch_dir("vacuum-zero").unwrap();
    let table = Table::at(dir.to_str().unwrap()).unwrap();
    write(&table, rows(0..3000), SaveMode::Append, true).await;
    for predicate in ["id % 5 = 0", "id % 7 = 0"] {
        delta_merge::delete(&table, Some(&parse(predicate).unwrap()))
            .await
            .unwrap();
    }
    assert!(vector_files(&dir) >= 2);
    let before = hash_at(&table, None).await.unwrap();
    let zero = VacuumOptions {
        retention_hours: Some(0),
        force: true,
        now_ms: Some(now_ms() + 60_000),
        ..VacuumOptions::default()
    };
    let outcome = vacuum(&table, zero).await.unwrap();
    assert!(outcome.files > 0);
    assert_eq!(hash_at(&table, None).await.unwrap(), before);
    // the vector file the latest version names is still there
    assert_eq!(vector_files(&dir), 1);
    std::fs::remove_dir_all(&dir).unwrap();
}

#[tokio::test]
async fn a_short_retention_is_refused_unless_forced() {
    let (dir, table) = history("vacuum-short", false).await;
    let version = table.snapshot().await.unwrap().version();
    let orphan = plant(&dir, "orphan.parquet");
    let short = VacuumOptions {
        retention_hours: Some(1),
        now_ms: Some(now_ms() + 2 * 3_600_000),
        ..VacuumOptions::default()
    };
    let err = vacuum(&table, short).await.unwrap_err();
    assert!(
        matches!(err, OptimizeError::Invalid { .. })
            && err
                .to_string()
                .contains("delta.deletedFileRetentionDuration"),
        "{err}"
    );
    assert!(orphan.exists());
    assert_eq!(table.snapshot().await.unwrap().version(), version);
    let forced = vacuum(
        &table,
        VacuumOptions {
            force: true,
            ..short
        },
    )
    .await
    .unwrap();
    assert!(forced.files > 0);
    assert!(!orphan.exists());
    std::fs::remove_dir_all(&dir).unwrap();
}

/// One random history (a checkpoint every other commit): appends,
/// replaceWhere overwrites, deletes and updates with and without deletion
/// vectors, compactions, restores; then VACUUM and log cleanup at a time
/// inside the retention keep every version readable and equal, and after
/// the retention keep the latest.
async fn retention_keeps_retained_versions(dvs: bool, steps: &[(u8, u8, u8)]) {
    static CASES: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(0);
    let case = CASES.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
    {
        let dir = delta_test::scratch_dir(&format!("vacuum-random-{case}")).unwrap();
        let table = Table::at(dir.to_str().unwrap()).unwrap();
        write(&table, rows(0..60), SaveMode::Append, dvs).await;
        for (step, &(op, a, b)) in steps.iter().enumerate() {
            let base = 1000 * (step as i64 + 1);
            match op % 6 {
                0 => write(&table, rows(base..base + 20), SaveMode::Append, false).await,
                1 => {
                    let predicate = format!("id % {} = {}", a % 5 + 2, b % 2);
                    delta_merge::delete(&table, Some(&parse(&predicate).unwrap()))
                        .await
                        .unwrap();
                }
                2 => {
                    optimize(&table, OptimizeOptions::default(), &NoProgress)
                        .await
                        .unwrap();
                }
                5 => {
                    let latest = table.snapshot().await.unwrap().version();
                    let version = u64::from(a) % (latest + 1);
                    restore(&table, RestoreTarget::Version(version))
                        .await
                        .unwrap();
                }
                3 => {
                    let set = vec![("id".to_string(), parse("id + 100000").unwrap())];
                    delta_merge::update(&table, Some(&parse("id % 4 = 1").unwrap()), &set)
                        .await
                        .unwrap();
                }
                _ => {
                    let options = WriteOptions {
                        mode: SaveMode::Overwrite,
                        replace_where: Some(parse("city = 'Rome'").unwrap()),
                        ..Default::default()
                    };
                    let b = rows(base..base + 9);
                    let b = arrow::compute::filter_record_batch(
                        &b,
                        &arrow::compute::kernels::cmp::eq(
                            b.column(1),
                            &StringArray::new_scalar("Rome"),
                        )
                        .unwrap(),
                    )
                    .unwrap();
                    table
                        .write(b.schema(), futures::stream::iter([Ok(b)]), options)
                        .await
                        .unwrap();
                }
            }
        }
        plant(&dir, "orphan.parquet");
        let before = every_version(&table).await;
        vacuum(&table, at(now_ms() + DAY_MS)).await.unwrap();
        let cleanup = LogCleanupOptions {
            now_ms: Some(now_ms() + DAY_MS),
        };
        assert_eq!(table.cleanup_log(cleanup).await.unwrap().files, 0);
        let after = every_version(&table).await;
        // the two VACUUM commits read as the version before them
        assert_eq!(after[..before.len()], before[..], "case {case}");
        vacuum(&table, at(now_ms() + 30 * DAY_MS)).await.unwrap();
        let cleanup = LogCleanupOptions {
            now_ms: Some(now_ms() + 31 * DAY_MS),
        };
        let cleaned = table.cleanup_log(cleanup).await.unwrap();
        let fresh = Table::at(dir.to_str().unwrap()).unwrap();
        assert_eq!(
            hash_at(&fresh, None).await.unwrap(),
            *before.last().unwrap(),
            "case {case}"
        );
        // every version from the oldest checkpoint kept on still loads
        let kept = cleaned.oldest_kept.unwrap_or(0);
        let newest = fresh.snapshot().await.unwrap().version();
        for v in kept..=newest {
            fresh.snapshot_at(v).await.unwrap();
        }
        std::fs::remove_dir_all(&dir).unwrap();
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(
        std::env::var("PROPTEST_CASES").ok().and_then(|c| c.parse().ok()).unwrap_or(8)
    ))]

    #[test]
    fn retention_keeps_every_version_it_must(
        dvs in any::<bool>(),
        steps in proptest::collection::vec((0u8..6, any::<u8>(), any::<u8>()), 1..10),
    ) {
        let runtime = tokio::runtime::Builder::new_current_thread().build().unwrap();
        runtime.block_on(retention_keeps_retained_versions(dvs, &steps));
    }
}
