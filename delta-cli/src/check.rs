//! `delta check`.

use delta::txn::Table;

use crate::cli::CheckArgs;
use crate::output::CliResult;

/// Runs `delta check`: prints the findings (or the report as JSON); a
/// finding of severity error makes it fail with exit status 1.
pub async fn run(args: &CheckArgs) -> CliResult<()> {
    if args.deep {
        return Err("--deep: reading every data file is not supported yet".into());
    }
    if args.repair {
        return Err("--repair: repair is not supported yet".into());
    }
    let table = Table::open(&args.table).await?;
    let report = delta::check::check(&table).await;
    if args.json {
        println!("{}", serde_json::to_string(&report)?);
    } else {
        for finding in &report.findings {
            println!("{finding}");
        }
        match report.version {
            Some(v) if report.findings.is_empty() => {
                println!("version {v}: no problem found");
            }
            Some(v) => println!("version {v}: {} findings", report.findings.len()),
            None => println!("{} findings", report.findings.len()),
        }
    }
    if report.is_clean() {
        Ok(())
    } else {
        Err(format!(
            "'{}' is not consistent: {} errors",
            args.table,
            report
                .findings
                .iter()
                .filter(|f| f.severity == delta::check::Severity::Error)
                .count()
        )
        .into())
    }
}
