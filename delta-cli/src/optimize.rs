//! `delta optimize`, `delta vacuum` and `delta restore`.

use delta::optimize::{OptimizeOptions, RestoreTarget, VacuumOptions, optimize};
use delta::txn::Table;

use crate::cli::{OptimizeArgs, RestoreArgs, VacuumArgs};
use crate::output::CliResult;
use crate::progress::{self, Bar};

/// Runs `delta optimize`: compacts, then prints what it removed and added.
pub async fn run(args: &OptimizeArgs) -> CliResult<()> {
    let predicate = args
        .predicate
        .as_deref()
        .map(delta::expr::parse)
        .transpose()?;
    let options = OptimizeOptions {
        predicate,
        target_size: args.target_size,
        zorder_by: args.zorder_by.clone(),
        ..OptimizeOptions::default()
    };
    let table = Table::open(&args.table).await?;
    let bar = Bar::bytes_rewritten(progress::bar("bytes rewritten"));
    let outcome = optimize(&table, options, &bar).await;
    bar.finish();
    let outcome = outcome?;
    let m = &outcome.metrics;
    if outcome.committed {
        println!(
            "optimized: {} files removed, {} files added, version {}",
            m.num_files_removed, m.num_files_added, outcome.version
        );
    } else {
        println!(
            "nothing to compact: table still at version {}",
            outcome.version
        );
    }
    println!("  numFilesRemoved: {}", m.num_files_removed);
    println!("  numFilesAdded: {}", m.num_files_added);
    println!("  filesRemoved: {}", m.files_removed.to_json());
    println!("  filesAdded: {}", m.files_added.to_json());
    println!("  partitionsOptimized: {}", m.partitions_optimized);
    println!("  totalConsideredFiles: {}", m.total_considered_files);
    println!("  totalFilesSkipped: {}", m.total_files_skipped);
    Ok(())
}

/// Runs `delta vacuum`: deletes (or, with `--dry-run`, lists) the files no
/// version inside the retention needs.
pub async fn vacuum(args: &VacuumArgs) -> CliResult<()> {
    let table = Table::open(&args.table).await?;
    let options = VacuumOptions {
        retention_hours: args.retain_hours,
        dry_run: args.dry_run,
        force: args.force,
        now_ms: None,
    };
    let bar = progress::bar("files looked at");
    let outcome = delta::optimize::vacuum(&table, options).await;
    bar.finish_and_clear();
    let outcome = outcome?;
    let hours = outcome.retention_ms / 3_600_000;
    if args.dry_run {
        for path in &outcome.paths {
            println!("{path}");
        }
        println!(
            "dry run: {} files ({} bytes) older than {hours} hours would be deleted",
            outcome.files, outcome.bytes
        );
    } else {
        println!(
            "vacuumed: {} files ({} bytes) older than {hours} hours deleted, version {}",
            outcome.files,
            outcome.bytes,
            outcome.version.unwrap_or_default()
        );
    }
    Ok(())
}

/// Runs `delta restore`.
pub async fn restore(args: &RestoreArgs) -> CliResult<()> {
    let target = match (args.version, args.timestamp) {
        (Some(v), _) => RestoreTarget::Version(v),
        (None, Some(t)) => RestoreTarget::Timestamp(t.timestamp_millis()),
        (None, None) => return Err("give --version or --timestamp".into()),
    };
    let table = Table::open(&args.table).await?;
    let outcome = delta::optimize::restore(&table, target).await?;
    if outcome.committed {
        println!(
            "restored version {} as version {}",
            outcome.restored_version, outcome.version
        );
    } else {
        println!(
            "version {} already has the content of version {}: nothing committed",
            outcome.version, outcome.restored_version
        );
    }
    println!("  numRestoredFiles: {}", outcome.num_restored_files);
    println!("  numRemovedFiles: {}", outcome.num_removed_files);
    println!("  restoredFilesSize: {}", outcome.restored_files_size);
    println!("  removedFilesSize: {}", outcome.removed_files_size);
    println!("  numOfFilesAfterRestore: {}", outcome.num_files_after);
    println!("  tableSizeAfterRestore: {}", outcome.table_size_after);
    Ok(())
}
