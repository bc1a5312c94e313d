//! `delta optimize`.

use delta::optimize::{OptimizeOptions, optimize};
use delta::txn::Table;

use crate::cli::OptimizeArgs;
use crate::output::CliResult;
use crate::progress::{self, Bar};

/// Runs `delta optimize`: compacts, then prints what it removed and added.
pub async fn run(args: &OptimizeArgs) -> CliResult<()> {
    if !args.zorder_by.is_empty() {
        return Err("--zorder-by: Z-order clustering is not supported yet".into());
    }
    let predicate = args
        .predicate
        .as_deref()
        .map(delta::expr::parse)
        .transpose()?;
    let options = OptimizeOptions {
        predicate,
        target_size: args.target_size,
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
