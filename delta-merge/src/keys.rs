//! The join keys of MERGE: their values in the form the hash table uses,
//! the table of the source rows by key, and the hash partitions a spilled
//! source is split by.

use std::collections::HashMap;

use arrow::array::{Array, ArrayRef, AsArray, BooleanArray, Int64Array};
use arrow::compute::{and, cast, is_not_null};
use arrow::datatypes::{DataType, Int64Type};
use arrow::row::{RowConverter, Rows};

use crate::MergeError;
use crate::source::PARTITIONS;

/// The join keys of some rows: one integer key as 64-bit integers (hashed
/// and compared as such), anything else in arrow's row format.
pub(crate) enum KeyValues {
    Integer(Int64Array),
    Rows(Rows),
}

impl KeyValues {
    /// The keys of rows from their key columns (in the keys' common types).
    pub fn new(converter: &RowConverter, columns: &[ArrayRef]) -> Result<KeyValues, MergeError> {
        if let [column] = columns
            && column.data_type().is_integer()
        {
            let wide = cast(column, &DataType::Int64)?;
            return Ok(KeyValues::Integer(wide.as_primitive::<Int64Type>().clone()));
        }
        Ok(KeyValues::Rows(converter.convert_columns(columns)?))
    }

    fn len(&self) -> usize {
        match self {
            KeyValues::Integer(a) => a.len(),
            KeyValues::Rows(r) => r.num_rows(),
        }
    }

    /// The hash partition (of [`PARTITIONS`]) of row `i`'s key: a hash with
    /// fixed seeds, so that source and target rows agree.
    pub fn partition(&self, i: usize) -> usize {
        let hasher = ahash::RandomState::with_seeds(0x5eed, 0xde17a, 0x3e46e, 0x9a55);
        let hash = match self {
            KeyValues::Integer(a) => hasher.hash_one(a.value(i)),
            KeyValues::Rows(r) => hasher.hash_one(r.row(i).data()),
        };
        // PARTITIONS divides 2^64: every partition as likely
        (hash % PARTITIONS as u64) as usize
    }
}

/// Rows where every key is non-null (NULL keys never match).
pub(crate) fn all_valid(columns: &[ArrayRef]) -> Result<BooleanArray, MergeError> {
    let mut valid: Option<BooleanArray> = None;
    for c in columns {
        let v = is_not_null(c)?;
        valid = Some(match valid {
            Some(acc) => and(&acc, &v)?,
            None => v,
        });
    }
    valid.ok_or_else(|| MergeError::Invalid {
        operation: "MERGE",
        reason: "no key".to_string(),
    })
}

/// The partition of each row's keys; rows with a NULL key (they never
/// match) go to partition 0.
pub(crate) fn partitions(
    converter: &RowConverter,
    columns: &[ArrayRef],
) -> Result<Vec<u8>, MergeError> {
    let keys = KeyValues::new(converter, columns)?;
    let valid = all_valid(columns)?;
    Ok((0..keys.len())
        .map(|i| match valid.value(i) {
            // below PARTITIONS (64)
            true => keys.partition(i) as u8,
            false => 0,
        })
        .collect())
}

/// The first source row of each key, by key.
enum FirstRow<'a> {
    Integer(HashMap<i64, u32, ahash::RandomState>),
    Rows(HashMap<&'a [u8], u32, ahash::RandomState>),
}

/// The source rows by key: the first row of each key, then a chain to the
/// next row with the same key.
pub(crate) struct SourceKeys<'a> {
    first: FirstRow<'a>,
    next: Vec<u32>,
}

/// The end of a chain in [`SourceKeys`].
const END: u32 = u32::MAX;

impl<'a> SourceKeys<'a> {
    /// The table of the rows whose keys are all non-null (`valid`).
    pub fn new(keys: &'a KeyValues, valid: &BooleanArray) -> SourceKeys<'a> {
        let n = keys.len();
        let mut next = vec![END; n];
        // rows are chained newest first, so that each chain is walked in
        // source order
        let rows = (0..n).rev().filter(|&i| valid.value(i));
        let index = |i: usize| u32::try_from(i).unwrap_or(END);
        let first = match keys {
            KeyValues::Integer(values) => {
                let mut first = HashMap::with_capacity_and_hasher(n, ahash::RandomState::new());
                for i in rows {
                    if let Some(head) = first.insert(values.value(i), index(i)) {
                        next[i] = head;
                    }
                }
                FirstRow::Integer(first)
            }
            KeyValues::Rows(values) => {
                let mut first = HashMap::with_capacity_and_hasher(n, ahash::RandomState::new());
                for i in rows {
                    if let Some(head) = first.insert(values.row(i).data(), index(i)) {
                        next[i] = head;
                    }
                }
                FirstRow::Rows(first)
            }
        };
        SourceKeys { first, next }
    }

    /// The source rows whose key is that of row `i` of `probe` (keys made
    /// with the same converter), in source order.
    pub fn matches<'b>(&'b self, probe: &'b KeyValues, i: usize) -> impl Iterator<Item = u32> + 'b {
        let head = match (&self.first, probe) {
            (FirstRow::Integer(m), KeyValues::Integer(v)) => m.get(&v.value(i)),
            (FirstRow::Rows(m), KeyValues::Rows(r)) => m.get(r.row(i).data()),
            _ => None,
        };
        let mut at = head.copied().unwrap_or(END);
        std::iter::from_fn(move || {
            if at == END {
                return None;
            }
            let row = at;
            at = self.next[row as usize];
            Some(row)
        })
    }
}
