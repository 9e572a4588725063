//! R's index forms resolved against a mapping of fixed length.
//!
//! Positions are 0-based `u64`; `NA_POS` marks an NA index (extraction gives NA,
//! replacement refuses it). Anything past the end is an error: a mapping cannot grow.

use crate::error::{MmError, Result};

pub const NA_POS: u64 = u64::MAX;
const R_NA_INT: i32 = i32::MIN;

/// An index as R handed it over, before any interpretation.
#[derive(Clone, Copy, Debug)]
pub enum IndexArg<'a> {
    Missing,
    Int(&'a [i32]),
    Real(&'a [f64]),
    Logical(&'a [i32]),
    /// An increasing run of `len` 1-based positions starting at `from` (R's compact `a:b`),
    /// recognised without materialising it.
    Seq { from: i64, len: u64 },
}

/// The elements an operation touches, in order.
#[derive(Clone, Debug, PartialEq)]
pub enum Selection {
    Range { start: u64, len: u64 },
    Positions(Vec<u64>),
}

impl Selection {
    pub fn len(&self) -> u64 {
        match self {
            Selection::Range { len, .. } => *len,
            Selection::Positions(p) => p.len() as u64,
        }
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    pub fn get(&self, k: u64) -> u64 {
        match self {
            Selection::Range { start, .. } => start + k,
            Selection::Positions(p) => p[k as usize],
        }
    }

    pub fn has_na(&self) -> bool {
        match self {
            Selection::Range { .. } => false,
            Selection::Positions(p) => p.contains(&NA_POS),
        }
    }

    /// Turns a contiguous run of positions into a range, which copies in bulk.
    fn compact(positions: Vec<u64>) -> Selection {
        let contiguous = positions.first().is_some_and(|&first| {
            first != NA_POS && positions.iter().enumerate().all(|(k, &p)| p == first + k as u64)
        });
        if contiguous {
            Selection::Range { start: positions[0], len: positions.len() as u64 }
        } else {
            Selection::Positions(positions)
        }
    }
}

fn bounds(index: f64, len: u64) -> MmError {
    MmError::Bounds { index, len }
}

/// Resolves one index against a vector of length `n`.
pub fn resolve(arg: IndexArg<'_>, n: u64) -> Result<Selection> {
    match arg {
        IndexArg::Missing => Ok(Selection::Range { start: 0, len: n }),
        IndexArg::Seq { from, len } => resolve_seq(from, len, n),
        IndexArg::Int(v) => resolve_numbers(v.len(), |k| {
            let x = v[k];
            if x == R_NA_INT { None } else { Some(x as i64) }
        }, n),
        IndexArg::Real(v) => resolve_numbers(v.len(), |k| {
            let x = v[k];
            if x.is_nan() {
                None
            } else {
                // R truncates fractional indices toward zero.
                Some(x.trunc().clamp(-9.0e18, 9.0e18) as i64)
            }
        }, n),
        IndexArg::Logical(v) => resolve_logical(v, n),
    }
}

fn resolve_seq(from: i64, len: u64, n: u64) -> Result<Selection> {
    if len == 0 {
        return Ok(Selection::Range { start: 0, len: 0 });
    }
    let last = from + len as i64 - 1;
    if from >= 1 {
        if last as u64 > n {
            return Err(bounds(last as f64, n));
        }
        return Ok(Selection::Range { start: from as u64 - 1, len });
    }
    // A run that reaches zero or below is rare; take the general path.
    let values: Vec<i64> = (from..=last).collect();
    resolve_numbers(values.len(), |k| Some(values[k]), n)
}

fn resolve_numbers(count: usize, at: impl Fn(usize) -> Option<i64>, n: u64) -> Result<Selection> {
    // One pass for the common case (positive indices); negatives divert to `exclude`.
    let mut positions = Vec::with_capacity(count);
    let mut contiguous = true;
    for k in 0..count {
        match at(k) {
            None => {
                contiguous = false;
                positions.push(NA_POS);
            }
            Some(0) => {}
            Some(x) if x < 0 => return negative(count, &at, n),
            Some(x) => {
                if x as u64 > n {
                    return Err(bounds(x as f64, n));
                }
                let p = x as u64 - 1;
                contiguous &= positions.last().is_none_or(|&last| last.wrapping_add(1) == p);
                positions.push(p);
            }
        }
    }
    if contiguous && !positions.is_empty() {
        return Ok(Selection::Range { start: positions[0], len: positions.len() as u64 });
    }
    Ok(Selection::Positions(positions))
}

fn negative(count: usize, at: &impl Fn(usize) -> Option<i64>, n: u64) -> Result<Selection> {
    let mixed = (0..count).any(|k| at(k).is_none_or(|x| x > 0));
    if mixed {
        return Err(MmError::Index("can't mix negative indices with positive or NA indices".into()));
    }
    Ok(exclude(count, |k| at(k).unwrap_or(0), n))
}

/// Negative indices drop elements; like R, ones past the end drop nothing.
fn exclude(count: usize, at: impl Fn(usize) -> i64, n: u64) -> Selection {
    let mut dropped: Vec<u64> = (0..count)
        .map(|k| at(k).unsigned_abs())
        .filter(|&x| x >= 1 && x <= n)
        .map(|x| x - 1)
        .collect();
    dropped.sort_unstable();
    dropped.dedup();
    // Dropping a prefix or a suffix leaves one range; keep that cheap for huge maps.
    let d = dropped.len() as u64;
    if d == 0 {
        return Selection::Range { start: 0, len: n };
    }
    if dropped[0] == 0 && dropped[d as usize - 1] == d - 1 {
        return Selection::Range { start: d, len: n - d };
    }
    if dropped[0] == n - d && dropped[d as usize - 1] == n - 1 {
        return Selection::Range { start: 0, len: n - d };
    }
    let mut keep = Vec::with_capacity((n - d) as usize);
    let mut next = dropped.iter().peekable();
    for p in 0..n {
        if next.peek() == Some(&&p) {
            next.next();
        } else {
            keep.push(p);
        }
    }
    Selection::Positions(keep)
}

fn resolve_logical(v: &[i32], n: u64) -> Result<Selection> {
    if v.is_empty() {
        return Ok(Selection::Range { start: 0, len: 0 });
    }
    let total = n.max(v.len() as u64);
    let mut positions = Vec::new();
    for k in 0..total {
        let flag = v[(k % v.len() as u64) as usize];
        if flag == R_NA_INT {
            positions.push(NA_POS);
        } else if flag != 0 {
            if k >= n {
                return Err(bounds((k + 1) as f64, n));
            }
            positions.push(k);
        }
    }
    Ok(Selection::compact(positions))
}

/// `m[i, j]` on a column-major matrix view: positions in R's order (i fastest).
pub fn resolve_matrix(
    i: IndexArg<'_>,
    j: IndexArg<'_>,
    nrow: u64,
    ncol: u64,
) -> Result<(Selection, u64, u64)> {
    let rows = resolve(i, nrow).map_err(|e| rename_bounds(e, "row", nrow))?;
    let cols = resolve(j, ncol).map_err(|e| rename_bounds(e, "column", ncol))?;
    let (nr, nc) = (rows.len(), cols.len());
    if let (Selection::Range { start: r0, len: rl }, Selection::Range { start: c0, len: cl }) =
        (&rows, &cols)
    {
        if *rl == nrow || *cl <= 1 {
            // Whole columns, or a slice of one column, are contiguous on disk.
            return Ok((Selection::Range { start: c0 * nrow + r0, len: rl * cl }, nr, nc));
        }
    }
    let mut positions = Vec::with_capacity((nr * nc) as usize);
    for c in 0..nc {
        let col = cols.get(c);
        for r in 0..nr {
            let row = rows.get(r);
            positions.push(if row == NA_POS || col == NA_POS { NA_POS } else { col * nrow + row });
        }
    }
    Ok((Selection::compact(positions), nr, nc))
}

fn rename_bounds(e: MmError, what: &str, extent: u64) -> MmError {
    match e {
        MmError::Bounds { index, .. } => MmError::Index(format!(
            "{what} index {index} is out of bounds: the matrix has {extent} {what}s"
        )),
        other => other,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pos(s: Selection) -> Vec<u64> {
        (0..s.len()).map(|k| s.get(k)).collect()
    }

    #[test]
    fn positive_and_zero() {
        assert_eq!(resolve(IndexArg::Int(&[3, 0, 1]), 5).unwrap(), Selection::Positions(vec![2, 0]));
        assert_eq!(resolve(IndexArg::Int(&[2, 3, 4]), 5).unwrap(), Selection::Range { start: 1, len: 3 });
        assert!(matches!(resolve(IndexArg::Int(&[6]), 5), Err(MmError::Bounds { .. })));
    }

    #[test]
    fn na_kept_as_marker() {
        let s = resolve(IndexArg::Int(&[1, R_NA_INT]), 5).unwrap();
        assert!(s.has_na());
        assert_eq!(pos(s), vec![0, NA_POS]);
        let s = resolve(IndexArg::Real(&[f64::NAN, 2.9]), 5).unwrap();
        assert_eq!(pos(s), vec![NA_POS, 1]);
    }

    #[test]
    fn negative_excludes() {
        assert_eq!(resolve(IndexArg::Int(&[-1]), 4).unwrap(), Selection::Range { start: 1, len: 3 });
        assert_eq!(resolve(IndexArg::Int(&[-4]), 4).unwrap(), Selection::Range { start: 0, len: 3 });
        assert_eq!(pos(resolve(IndexArg::Int(&[-2, -3]), 5).unwrap()), vec![0, 3, 4]);
        assert_eq!(pos(resolve(IndexArg::Int(&[-9]), 3).unwrap()), vec![0, 1, 2]);
        assert!(resolve(IndexArg::Int(&[-1, 2]), 4).is_err());
        assert!(resolve(IndexArg::Int(&[-1, R_NA_INT]), 4).is_err());
    }

    #[test]
    fn logical_recycles() {
        assert_eq!(pos(resolve(IndexArg::Logical(&[1, 0]), 5).unwrap()), vec![0, 2, 4]);
        assert_eq!(pos(resolve(IndexArg::Logical(&[0, R_NA_INT]), 2).unwrap()), vec![NA_POS]);
        assert!(resolve(IndexArg::Logical(&[0, 0, 0, 1]), 3).is_err());
        assert_eq!(resolve(IndexArg::Logical(&[0, 0, 0, 0]), 3).unwrap().len(), 0);
    }

    #[test]
    fn large_doubles() {
        let n = 5_000_000_000u64;
        assert_eq!(pos(resolve(IndexArg::Real(&[4_999_999_999.0]), n).unwrap()), vec![4_999_999_998]);
    }

    #[test]
    fn seq_fast_path() {
        assert_eq!(resolve(IndexArg::Seq { from: 3, len: 2 }, 4).unwrap(), Selection::Range { start: 2, len: 2 });
        assert!(resolve(IndexArg::Seq { from: 3, len: 3 }, 4).is_err());
        assert_eq!(pos(resolve(IndexArg::Seq { from: 0, len: 3 }, 4).unwrap()), vec![0, 1]);
    }

    #[test]
    fn matrix_column_major() {
        let (s, nr, nc) = resolve_matrix(IndexArg::Int(&[1, 3]), IndexArg::Int(&[2]), 3, 2).unwrap();
        assert_eq!((nr, nc), (2, 1));
        assert_eq!(pos(s), vec![3, 5]);
        let (s, _, _) = resolve_matrix(IndexArg::Missing, IndexArg::Int(&[2]), 3, 2).unwrap();
        assert_eq!(s, Selection::Range { start: 3, len: 3 });
        assert!(resolve_matrix(IndexArg::Int(&[4]), IndexArg::Missing, 3, 2).is_err());
    }
}
