//! `delta create`, `delta write`, `delta checkpoint` and `delta constraint`.

use std::collections::HashMap;
use std::sync::Arc;

use futures::StreamExt;

use delta::schema::StructType;
use delta::txn::{CreateOptions, SaveMode, Table, TxnError, WriteOptions};

use crate::cli::{CheckpointArgs, ConstraintAction, ConstraintArgs, CreateArgs, Mode, WriteArgs};
use crate::input;
use crate::output::{CliResult, Context};
use crate::progress::{self, Bar};

/// Runs `delta create`.
pub async fn create(args: &CreateArgs) -> CliResult<()> {
    let arrow = input::schema(&args.schema_from, None)?;
    let schema = StructType::from_arrow(&arrow).map_err(|e| {
        Context::new(
            format!("cannot use the schema of '{}'", args.schema_from.display()),
            e,
        )
    })?;
    let mut properties: HashMap<String, String> = args.properties.iter().cloned().collect();
    for (name, expression) in &args.constraints {
        let key = format!("delta.constraints.{}", name.to_lowercase());
        if properties.insert(key, expression.clone()).is_some() {
            return Err(
                format!("constraint '{name}' is given twice (names are case-insensitive)").into(),
            );
        }
    }
    let options = CreateOptions {
        partition_columns: args.partition_by.clone(),
        properties,
        ..Default::default()
    };
    let (_, outcome) = Table::create(&args.table, &schema, options).await?;
    println!(
        "created {} (version {}, {} columns)",
        args.table,
        outcome.version,
        schema.fields.len()
    );
    Ok(())
}

/// Runs `delta write`.
pub async fn write(args: &WriteArgs) -> CliResult<()> {
    // a predicate that does not parse fails before anything is read
    let replace_where = args
        .replace_where
        .as_deref()
        .map(delta::expr::parse)
        .transpose()?;
    let table = Table::at(&args.table)?;
    // one snapshot for the whole command: it types the input and the write reads it
    let snapshot = table.snapshot_if_exists().await?;
    let table_schema = snapshot.as_ref().map(|s| s.arrow_schema());
    let schema = input::schema(&args.files[0], table_schema.as_ref())?;
    for file in &args.files[1..] {
        let other = input::schema(file, table_schema.as_ref())?;
        if other.fields() != schema.fields() {
            return Err(format!(
                "'{}' has a different schema than '{}'; write them separately",
                file.display(),
                args.files[0].display()
            )
            .into());
        }
    }
    let mut readers = Vec::with_capacity(args.files.len());
    for file in &args.files {
        let path = file.clone();
        let batches = input::batches(file, &schema)?.map(move |b| {
            b.map_err(|e| TxnError::InvalidArgument {
                reason: format!("cannot read '{}': {e}", path.display()),
            })
        });
        readers.push(batches);
    }
    let progress = progress::bar("rows written");
    let shown = progress.clone();
    let batches = futures::stream::iter(readers.into_iter().flatten()).inspect(move |batch| {
        if let Ok(b) = batch {
            shown.inc(b.num_rows() as u64);
        }
    });
    let options = WriteOptions {
        mode: match args.mode {
            Mode::Append => SaveMode::Append,
            Mode::Overwrite => SaveMode::Overwrite,
        },
        merge_schema: args.merge_schema,
        overwrite_schema: args.overwrite_schema,
        partition_by: args.partition_by.clone(),
        properties: HashMap::new(),
        app_transaction: args.app_id.clone().zip(args.app_version),
        replace_where,
    };
    let outcome = table
        .write_on(snapshot, Arc::clone(&schema), batches, options)
        .await;
    progress.finish_and_clear();
    let outcome = outcome?;
    if outcome.committed {
        println!("committed version {}", outcome.version);
    } else {
        println!(
            "skipped: version {} of app '{}' was already written (table at version {})",
            args.app_version.unwrap_or_default(),
            args.app_id.clone().unwrap_or_default(),
            outcome.version
        );
    }
    if let Some(Err(e)) = &outcome.checkpoint {
        eprintln!("delta: warning: the commit succeeded but its checkpoint failed: {e}");
    }
    Ok(())
}

/// Runs `delta checkpoint`.
pub async fn checkpoint(args: &CheckpointArgs) -> CliResult<()> {
    let table = Table::open(&args.table).await?;
    let snapshot = table.snapshot().await?;
    let info = table.checkpoint(&snapshot).await?;
    println!(
        "checkpoint at version {}: {} actions, {} files, {} bytes",
        info.version, info.size, info.num_of_add_files, info.size_in_bytes
    );
    // as Delta after a checkpoint: log files past delta.logRetentionDuration
    // go, up to a checkpoint
    let cleaned = table.cleanup_log(Default::default()).await?;
    if cleaned.files > 0 {
        println!(
            "expired log files deleted: {} (the log now starts at version {})",
            cleaned.files,
            cleaned.oldest_kept.unwrap_or_default()
        );
    }
    Ok(())
}

/// Runs `delta constraint add|drop`.
pub async fn constraint(args: &ConstraintArgs) -> CliResult<()> {
    match &args.action {
        ConstraintAction::Add {
            table,
            name,
            expression,
        } => {
            let bar = Bar::rows_checked(progress::bar("rows checked"));
            let outcome = Table::open(table)
                .await?
                .add_constraint_with(name, expression, &bar)
                .await;
            bar.finish();
            let outcome = outcome?;
            println!(
                "added constraint {} ({expression}) at version {}",
                name.to_lowercase(),
                outcome.version
            );
        }
        ConstraintAction::Drop { table, name } => {
            let outcome = Table::open(table).await?.drop_constraint(name).await?;
            println!(
                "dropped constraint {} at version {}",
                name.to_lowercase(),
                outcome.version
            );
        }
    }
    Ok(())
}
