//! `delta check`.

use delta::check::{CheckOptions, Report, Severity};
use delta::txn::Table;

use crate::cli::CheckArgs;
use crate::output::CliResult;
use crate::progress::{Bar, bar};

/// Runs `delta check`: prints the findings (or the report as JSON); with
/// `--repair`, the plan, then (unless `--dry-run`) applies it and checks
/// again. A finding of severity error left at the end makes it fail with
/// exit status 1.
pub async fn run(args: &CheckArgs) -> CliResult<()> {
    let table = Table::open(&args.table).await?;
    let options = CheckOptions {
        deep: args.deep,
        ..CheckOptions::default()
    };
    let mut report = checked(&table, &options).await;
    print_report(&report, args.json)?;
    if args.repair {
        let fixes = report.fixes();
        if fixes.is_empty() {
            eprintln!("nothing to repair safely");
        } else {
            eprintln!("repair plan:");
            for fix in &fixes {
                eprintln!("  {fix}");
            }
            if args.dry_run {
                eprintln!("dry run: nothing changed");
            } else {
                let outcome = delta::check::repair(&table, &report).await?;
                match outcome.version {
                    Some(v) => eprintln!(
                        "repaired: {} fixes applied, files removed in version {v}",
                        outcome.applied.len()
                    ),
                    None => eprintln!("repaired: {} fixes applied", outcome.applied.len()),
                }
                eprintln!("checking again:");
                report = checked(&table, &options).await;
                print_report(&report, args.json)?;
            }
        }
    }
    let errors = report
        .findings
        .iter()
        .filter(|f| f.severity == Severity::Error)
        .count();
    if errors == 0 {
        Ok(())
    } else {
        Err(format!("'{}' is not consistent: {errors} errors", args.table).into())
    }
}

async fn checked(table: &Table, options: &CheckOptions) -> Report {
    let progress = Bar::items_checked(bar("commits and files checked"));
    let report = delta::check::check(table, options, &progress).await;
    progress.finish();
    report
}

fn print_report(report: &Report, json: bool) -> CliResult<()> {
    if json {
        println!("{}", serde_json::to_string(report)?);
        return Ok(());
    }
    for finding in &report.findings {
        println!("{finding}");
    }
    match report.version {
        Some(v) if report.findings.is_empty() => println!("version {v}: no problem found"),
        Some(v) => println!("version {v}: {} findings", report.findings.len()),
        None => println!("{} findings", report.findings.len()),
    }
    Ok(())
}
