//! Random concurrent transactions against a model: each transaction reads a
//! snapshot at one point of a random schedule and commits at a later one.
//! Whatever the interleaving and isolation level, the table ends as some
//! serial order of exactly the transactions that committed leaves it, and
//! the ones that failed left no trace in the log.

use std::collections::BTreeSet;
use std::sync::Arc;

use arrow::array::{ArrayRef, Int64Array, RecordBatch, StringArray};
use delta_expr::parse;
use delta_txn::{SaveMode, Table, TxnError, WriteOptions};
use object_store::memory::InMemory;
use object_store::path::Path;
use proptest::prelude::*;

const PARTS: [&str; 3] = ["a", "b", "c"];

/// A transaction of the test.
#[derive(Debug, Clone)]
enum Op {
    /// Adds rows to a partition.
    Append(usize),
    /// Replaces the rows of a partition.
    ReplaceWhere(usize),
    /// Replaces every row.
    Overwrite(usize),
    /// Adds a CHECK constraint every row satisfies.
    AddConstraint,
}

type Rows = BTreeSet<(String, i64)>;

impl Op {
    /// The model: the rows after this transaction (writing rows `ids`).
    fn apply(&self, rows: &mut Rows, ids: &[i64]) {
        let put = |rows: &mut Rows, p: usize| {
            rows.extend(ids.iter().map(|&id| (PARTS[p].to_string(), id)));
        };
        match self {
            Op::Append(p) => put(rows, *p),
            Op::ReplaceWhere(p) => {
                rows.retain(|(part, _)| part != PARTS[*p]);
                put(rows, *p);
            }
            Op::Overwrite(p) => {
                rows.clear();
                put(rows, *p);
            }
            Op::AddConstraint => {}
        }
    }
}

fn op() -> impl Strategy<Value = Op> {
    prop_oneof![
        3 => (0..PARTS.len()).prop_map(Op::Append),
        2 => (0..PARTS.len()).prop_map(Op::ReplaceWhere),
        1 => (0..PARTS.len()).prop_map(Op::Overwrite),
        1 => Just(Op::AddConstraint),
    ]
}

/// Transactions and a schedule: a permutation of their read and commit
/// events (as sort keys; a transaction's read comes first).
fn scenario() -> impl Strategy<Value = (Vec<Op>, Vec<(u32, u32)>, bool)> {
    prop::collection::vec(op(), 2..6).prop_flat_map(|ops| {
        let n = ops.len();
        (
            Just(ops),
            prop::collection::vec((0u32..100, 0u32..100), n),
            any::<bool>(),
        )
    })
}

fn batch(p: usize, ids: &[i64]) -> RecordBatch {
    RecordBatch::try_from_iter([
        ("id", Arc::new(Int64Array::from(ids.to_vec())) as ArrayRef),
        (
            "part",
            Arc::new(StringArray::from(vec![PARTS[p]; ids.len()])) as ArrayRef,
        ),
    ])
    .unwrap()
}

async fn contents(table: &Table) -> Rows {
    let batches = table
        .snapshot()
        .await
        .unwrap()
        .scan()
        .collect()
        .await
        .unwrap();
    let mut rows = Rows::new();
    for b in &batches {
        let ids = b.column_by_name("id").unwrap();
        let ids = ids.as_any().downcast_ref::<Int64Array>().unwrap();
        let parts = b.column_by_name("part").unwrap();
        let parts = parts.as_any().downcast_ref::<StringArray>().unwrap();
        for i in 0..b.num_rows() {
            assert!(
                rows.insert((parts.value(i).to_string(), ids.value(i))),
                "a row twice"
            );
        }
    }
    rows
}

/// Whether applying the committed transactions in some order to `start`
/// gives `end`.
fn some_serial_order(start: &Rows, committed: &[(Op, Vec<i64>)], end: &Rows) -> bool {
    fn go(rows: &Rows, left: &mut Vec<(Op, Vec<i64>)>, end: &Rows) -> bool {
        if left.is_empty() {
            return rows == end;
        }
        for i in 0..left.len() {
            let (op, ids) = left.remove(i);
            let mut next = rows.clone();
            op.apply(&mut next, &ids);
            let found = go(&next, left, end);
            left.insert(i, (op, ids));
            if found {
                return true;
            }
        }
        false
    }
    go(start, &mut committed.to_vec(), end)
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(
        std::env::var("PROPTEST_CASES").ok().and_then(|c| c.parse().ok()).unwrap_or(32)
    ))]

    #[test]
    fn concurrent_transactions_serialize((ops, keys, serializable) in scenario()) {
        let runtime = tokio::runtime::Builder::new_current_thread().build().unwrap();
        runtime.block_on(async {
            let table = Table::with_store(Arc::new(InMemory::new()), Path::from("t"), "memory:///t");
            let level = if serializable { "Serializable" } else { "WriteSerializable" };
            // version 0: a row in every partition
            let seed = batch(0, &[0]);
            let options = WriteOptions {
                partition_by: Some(vec!["part".into()]),
                properties: [("delta.isolationLevel".to_string(), level.to_string())].into(),
                ..Default::default()
            };
            table.write(seed.schema(), futures::stream::iter([Ok(seed)]), options).await.unwrap();
            for p in 1..PARTS.len() {
                let b = batch(p, &[p as i64]);
                table.write(b.schema(), futures::stream::iter([Ok(b)]), WriteOptions::default()).await.unwrap();
            }
            let start = contents(&table).await;
            let first_version = table.snapshot().await.unwrap().version();
            // events: (key, transaction, is_commit); a read sorts before its commit
            let mut events: Vec<(u32, usize, bool)> = Vec::new();
            for (i, (a, b)) in keys.iter().enumerate() {
                events.push(((*a).min(*b) * 2, i, false));
                events.push(((*a).max(*b) * 2 + 1, i, true));
            }
            events.sort();
            let mut snapshots = vec![None; ops.len()];
            let mut committed: Vec<(Op, Vec<i64>)> = Vec::new();
            let mut failed = 0;
            for (_, i, is_commit) in events {
                if !is_commit {
                    snapshots[i] = Some(table.snapshot().await.unwrap());
                    continue;
                }
                let snapshot = snapshots[i].take().unwrap();
                let ids: Vec<i64> = (0..3).map(|k| 100 * (i as i64 + 1) + k).collect();
                let op = &ops[i];
                let result = match op {
                    Op::AddConstraint => {
                        // through a transaction on the snapshot read, as add_constraint does
                        let mut txn = delta_txn::Transaction::new(&table, Some(snapshot.clone()), "ADD CONSTRAINT");
                        let mut metadata = snapshot.metadata().clone();
                        metadata.configuration.insert(format!("delta.constraints.c{i}"), "id >= 0".into());
                        txn.set_metadata(metadata);
                        txn.read_whole_table();
                        txn.commit().await
                    }
                    Op::Append(p) | Op::ReplaceWhere(p) | Op::Overwrite(p) => {
                        let b = batch(*p, &ids);
                        let options = match op {
                            Op::Append(_) => WriteOptions::default(),
                            Op::ReplaceWhere(p) => WriteOptions {
                                mode: SaveMode::Overwrite,
                                replace_where: Some(parse(&format!("part = '{}'", PARTS[*p])).unwrap()),
                                ..Default::default()
                            },
                            _ => WriteOptions { mode: SaveMode::Overwrite, ..Default::default() },
                        };
                        table.write_on(Some(snapshot), b.schema(), futures::stream::iter([Ok(b)]), options).await
                    }
                };
                match result {
                    Ok(_) => committed.push((op.clone(), ids)),
                    Err(TxnError::Conflict { .. }) => failed += 1,
                    Err(e) => panic!("{op:?}: {e}"),
                }
            }
            let end = contents(&table).await;
            prop_assert!(
                some_serial_order(&start, &committed, &end),
                "no serial order of {committed:?} gives {end:?} (from {start:?}, {failed} failed, {level})"
            );
            // exactly one new version per committed transaction
            let version = table.snapshot().await.unwrap().version();
            prop_assert_eq!(version, first_version + committed.len() as u64);
            // under Serializable, the commit order is a serial order
            if serializable {
                let mut rows = start.clone();
                for (op, ids) in &committed {
                    op.apply(&mut rows, ids);
                }
                prop_assert_eq!(&rows, &end);
            }
            Ok(())
        })?;
    }
}
