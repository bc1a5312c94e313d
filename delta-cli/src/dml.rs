//! `delta delete`, `delta update` and `delta merge`.

use delta::expr::Expr;
use delta::merge::{Clause, DmlOutcome, Merge};
use delta::txn::Table;
use futures::StreamExt;

use crate::cli::{DeleteArgs, MergeArgs, UpdateArgs};
use crate::input;
use crate::output::CliResult;
use crate::progress;

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

/// Runs `delta merge`.
pub async fn merge(args: &MergeArgs) -> CliResult<()> {
    let raw: Vec<String> = std::env::args().collect();
    let clauses = clauses(&raw)?;
    if clauses.is_empty() {
        return Err("give at least one --when-... clause".into());
    }
    let on = delta::expr::parse(&args.on)?;
    let mut statement = source(args, on).await?.with_merge_schema(args.merge_schema);
    for clause in clauses {
        statement = statement.when(clause);
    }
    let table = Table::open(&args.table).await?;
    let progress = progress::bar("merging");
    let outcome = delta::merge::merge(&table, statement).await;
    progress.finish_and_clear();
    print_outcome(&outcome?, "merged");
    Ok(())
}

/// The merge of `--source`: another Delta table (a directory with a
/// `_delta_log`, or a URL), or a file, read as the merge goes (a source
/// larger than the memory budget is spilled, never held whole).
async fn source(args: &MergeArgs, on: Expr) -> CliResult<Merge> {
    let name = args.source.display().to_string();
    if name.contains("://") || args.source.join("_delta_log").is_dir() {
        let snapshot = Table::open(&name).await?.snapshot().await?;
        return Ok(Merge::from_snapshot(&snapshot, on)?);
    }
    let schema = input::schema(&args.source, None)?;
    let rows = futures::stream::iter(input::batches(&args.source, &schema)?).map(move |b| {
        b.map_err(|e| delta::merge::MergeError::Source {
            source_name: name.clone(),
            reason: e.to_string(),
        })
    });
    Ok(Merge::from_stream(schema, rows.boxed(), on))
}

/// The MERGE clauses in command-line order, each `--if` given to the
/// clause flag right before it.
fn clauses(raw: &[String]) -> CliResult<Vec<Clause>> {
    const FLAGS: [&str; 7] = [
        "--when-matched-update-all",
        "--when-matched-update",
        "--when-matched-delete",
        "--when-not-matched-insert-all",
        "--when-not-matched-insert",
        "--when-not-matched-by-source-delete",
        "--when-not-matched-by-source-update",
    ];
    // (flag, its value, its condition)
    let mut found: Vec<(&str, Option<String>, Option<String>)> = Vec::new();
    let mut tokens = raw.iter().skip_while(|t| *t != "merge").skip(1);
    while let Some(token) = tokens.next() {
        let (name, inline) = match token.split_once('=') {
            Some((n, v)) if n.starts_with("--") => (n, Some(v.to_string())),
            _ => (token.as_str(), None),
        };
        let takes_value = |flag: &str| !flag.ends_with("-all") && !flag.ends_with("-delete");
        if let Some(flag) = FLAGS.iter().find(|f| **f == name) {
            let value = match (takes_value(flag), inline) {
                (true, Some(v)) => Some(v),
                (true, None) => tokens.next().cloned(),
                (false, _) => None,
            };
            found.push((flag, value, None));
        } else if name == "--if" {
            let condition = inline.or_else(|| tokens.next().cloned());
            match found.last_mut() {
                Some((_, _, c @ None)) => *c = condition,
                Some((flag, _, Some(_))) => {
                    return Err(format!("{flag} has two --if conditions").into());
                }
                None => return Err("--if must follow a --when-... clause flag".into()),
            }
        } else if (name == "--source" || name == "--on") && inline.is_none() {
            // their values are not flags
            tokens.next();
        }
    }
    found
        .into_iter()
        .map(|(flag, value, condition)| {
            let condition = condition.as_deref().map(delta::expr::parse).transpose()?;
            let set = || assignments(value.as_deref().unwrap_or_default());
            Ok(match flag {
                "--when-matched-update-all" => Clause::MatchedUpdateAll { condition },
                "--when-matched-update" => Clause::MatchedUpdate {
                    condition,
                    set: set()?,
                },
                "--when-matched-delete" => Clause::MatchedDelete { condition },
                "--when-not-matched-insert-all" => Clause::NotMatchedInsertAll { condition },
                "--when-not-matched-insert" => Clause::NotMatchedInsert {
                    condition,
                    values: set()?,
                },
                "--when-not-matched-by-source-delete" => {
                    Clause::NotMatchedBySourceDelete { condition }
                }
                _ => Clause::NotMatchedBySourceUpdate {
                    condition,
                    set: set()?,
                },
            })
        })
        .collect()
}

/// "c1=EXPR,c2=EXPR" split at the top-level commas (not inside parentheses
/// or quotes), each at its first `=`.
fn assignments(text: &str) -> CliResult<Vec<(String, Expr)>> {
    let mut parts = Vec::new();
    let (mut depth, mut quote, mut start) = (0i32, None::<char>, 0);
    for (i, c) in text.char_indices() {
        match (quote, c) {
            (Some(q), c) if c == q => quote = None,
            (Some(_), _) => {}
            (None, '\'' | '"' | '`') => quote = Some(c),
            (None, '(') => depth += 1,
            (None, ')') => depth -= 1,
            (None, ',') if depth == 0 => {
                parts.push(&text[start..i]);
                start = i + 1;
            }
            _ => {}
        }
    }
    parts.push(&text[start..]);
    parts
        .into_iter()
        .map(|part| match part.split_once('=') {
            Some((column, expr)) if !column.trim().is_empty() => {
                Ok((column.trim().to_string(), delta::expr::parse(expr)?))
            }
            _ => Err(format!("'{part}' is not of the form column=expression").into()),
        })
        .collect()
}
