//! Z-order keys: rows ordered by a Morton (interleaved-bits) key over the
//! chosen columns, so that files written in that order hold narrow ranges
//! of every one of them and a predicate on any of them skips more files.
//!
//! Each column's values are range-normalized by rank (equal values share a
//! rank; nulls first), scaled to 32 bits, and the bits of the columns are
//! interleaved, most significant first. Ranks make the key robust to skew
//! (a few huge values do not squeeze the others into one bucket). Pure and
//! sync.

use arrow::array::RecordBatch;
use arrow::compute::rank;
use arrow::datatypes::DataType;

/// Whether a column of this type can take part in a Z-order key.
pub(crate) fn orderable(data_type: &DataType) -> bool {
    data_type.is_primitive()
        || matches!(
            data_type,
            DataType::Boolean
                | DataType::Utf8
                | DataType::LargeUtf8
                | DataType::Binary
                | DataType::LargeBinary
        )
}

/// The row positions of `batch` in Z-order over the columns at `columns`.
pub fn zorder(
    batch: &RecordBatch,
    columns: &[usize],
) -> Result<Vec<u32>, arrow::error::ArrowError> {
    let n = batch.num_rows();
    let scaled: Vec<Vec<u32>> = columns
        .iter()
        .map(|&c| {
            let ranks = rank(batch.column(c).as_ref(), None)?;
            Ok(ranks.into_iter().map(|r| scale(r, n)).collect())
        })
        .collect::<Result<_, arrow::error::ArrowError>>()?;
    let keys: Vec<Vec<u8>> = (0..n)
        .map(|row| {
            let values: Vec<u32> = scaled.iter().map(|column| column[row]).collect();
            interleave(&values)
        })
        .collect();
    let mut order: Vec<u32> = (0..n)
        .map(|i| u32::try_from(i).unwrap_or(u32::MAX))
        .collect();
    order.sort_by(|a, b| keys[*a as usize].cmp(&keys[*b as usize]));
    Ok(order)
}

/// A rank in `1..=n` spread over the 32-bit range.
fn scale(rank: u32, n: usize) -> u32 {
    let n = n.max(1) as u64;
    let scaled = (u64::from(rank.saturating_sub(1)) << 32) / n;
    u32::try_from(scaled).unwrap_or(u32::MAX)
}

/// The bits of `values` interleaved, most significant first: bit 31 of
/// each value in turn, then bit 30, ...
pub(crate) fn interleave(values: &[u32]) -> Vec<u8> {
    let mut out = vec![0u8; values.len() * 4];
    let mut at = 0usize;
    for bit in (0..32).rev() {
        for v in values {
            if (v >> bit) & 1 == 1 {
                out[at / 8] |= 0x80 >> (at % 8);
            }
            at += 1;
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use arrow::array::{ArrayRef, Int64Array, StringArray};
    use std::sync::Arc;

    #[test]
    fn interleaving_takes_the_columns_bits_in_turn() {
        // 0b10.. and 0b01..: the first two key bits are 1 then 0, then 0, 1
        let key = interleave(&[0x8000_0000, 0x4000_0000]);
        assert_eq!(key.len(), 8);
        assert_eq!(key[0], 0b1001_0000);
        assert_eq!(interleave(&[u32::MAX]), vec![0xff; 4]);
        assert_eq!(interleave(&[0, 0, 0]), vec![0; 12]);
    }

    #[test]
    fn a_grid_comes_out_in_morton_order() {
        // a 4 x 4 grid of (x, y): Morton order visits 2 x 2 quadrants
        let (mut xs, mut ys) = (Vec::new(), Vec::new());
        for y in 0..4i64 {
            for x in 0..4i64 {
                xs.push(x);
                ys.push(y);
            }
        }
        let batch = RecordBatch::try_from_iter([
            ("x", Arc::new(Int64Array::from(xs.clone())) as ArrayRef),
            ("y", Arc::new(Int64Array::from(ys.clone())) as ArrayRef),
        ])
        .unwrap();
        let order = zorder(&batch, &[0, 1]).unwrap();
        let visited: Vec<(i64, i64)> = order
            .iter()
            .map(|&i| (xs[i as usize], ys[i as usize]))
            .collect();
        // the first quadrant (x, y < 2) comes first, whole
        let first: Vec<(i64, i64)> = visited[..4].to_vec();
        assert!(first.iter().all(|(x, y)| *x < 2 && *y < 2), "{visited:?}");
        let last: Vec<(i64, i64)> = visited[12..].to_vec();
        assert!(last.iter().all(|(x, y)| *x >= 2 && *y >= 2), "{visited:?}");
    }

    #[test]
    fn strings_and_nulls_have_an_order() {
        let batch = RecordBatch::try_from_iter([(
            "s",
            Arc::new(StringArray::from(vec![Some("b"), None, Some("a")])) as ArrayRef,
        )])
        .unwrap();
        assert_eq!(zorder(&batch, &[0]).unwrap(), vec![1, 2, 0]);
    }
}
