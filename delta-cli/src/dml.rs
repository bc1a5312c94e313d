//! `delta delete` and `delta update`.

use delta::merge::DmlOutcome;
use delta::txn::Table;

use crate::cli::{DeleteArgs, UpdateArgs};
use crate::output::CliResult;

/// Runs `delta delete`.
pub async fn delete(args: &DeleteArgs) -> CliResult<()> {
    let predicate = delta::expr::parse(&args.predicate)?;
    let table = Table::open(&args.table).await?;
    let outcome = delta::merge::delete(&table, Some(&predicate)).await?;
    print_outcome(&outcome, "deleted");
    Ok(())
}

/// Runs `delta update`.
pub async fn update(args: &UpdateArgs) -> CliResult<()> {
    let predicate = delta::expr::parse(&args.predicate)?;
    let set = args
        .set
        .iter()
        .map(|(column, text)| Ok((column.clone(), delta::expr::parse(text)?)))
        .collect::<Result<Vec<_>, delta::expr::ExprError>>()?;
    let table = Table::open(&args.table).await?;
    let outcome = delta::merge::update(&table, Some(&predicate), &set).await?;
    print_outcome(&outcome, "updated");
    Ok(())
}

/// `committed version N` (or that nothing matched), then the metrics.
fn print_outcome(outcome: &DmlOutcome, what: &str) {
    if outcome.committed {
        println!("committed version {}", outcome.version);
    } else {
        println!(
            "no row matched: nothing {what}, table still at version {}",
            outcome.version
        );
    }
    for (key, value) in &outcome.metrics {
        println!("  {key}: {value}");
    }
}
