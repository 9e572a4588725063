//! R's index forms resolved against a mapping of fixed length.
//!
//! Positions are 0-based `u64`; `NA_POS` marks an NA index (extraction gives NA;
//! replacement skips it when the value has one element, as R does, and refuses
//! it otherwise). Anything past the end is an error: a mapping cannot grow, so
//! where R would extend a vector (or read NA past its end) we stop instead.
//!
//! The rules follow R's subscript.c: a double index is truncated toward zero
//! first; NaN, NA and -Inf are NA indices; zeros are dropped; negatives
//! exclude and mix only with zeros. `+Inf` is a position past the end.

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
    /// An increasing run of `len` 1-based positions starting at `from`, each
    /// one more than the last (R's compact `a:b`), recognised without
    /// materialising it. The binding proves the +1 steps before using it.
    Seq { from: i64, len: u64 },
}

impl IndexArg<'_> {
    fn len(&self) -> Option<u64> {
        match self {
            IndexArg::Missing => None,
            IndexArg::Int(v) | IndexArg::Logical(v) => Some(v.len() as u64),
            IndexArg::Real(v) => Some(v.len() as u64),
            IndexArg::Seq { len, .. } => Some(*len),
        }
    }
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

    /// Turns a run of positions, each one more than the one before, into a
    /// range, which copies in bulk. Any other list stays as it is.
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

/// One element of a numeric index after R's conversion.
#[derive(Clone, Copy, Debug, PartialEq)]
enum Num {
    Na,
    Whole(i64),
    /// Past any mapping (`+Inf`, or beyond i64): always out of bounds.
    Beyond(f64),
}

fn int_num(x: i32) -> Num {
    if x == R_NA_INT { Num::Na } else { Num::Whole(x as i64) }
}

fn real_num(x: f64) -> Num {
    if x.is_nan() || x == f64::NEG_INFINITY {
        return Num::Na;
    }
    // R truncates toward zero before looking at the sign: -0.5 is 0.
    let t = x.trunc();
    if t >= 9.0e18 {
        Num::Beyond(t)
    } else {
        // Negatives this large exclude nothing, as any past the end.
        Num::Whole(t.max(-9.0e18) as i64)
    }
}

/// Resolves one index against a vector of length `n`, for extraction.
pub fn resolve(arg: IndexArg<'_>, n: u64) -> Result<Selection> {
    match arg {
        IndexArg::Missing => Ok(Selection::Range { start: 0, len: n }),
        IndexArg::Seq { from, len } => resolve_seq(from, len, n),
        IndexArg::Int(v) => resolve_numbers(v.len(), |k| int_num(v[k]), n),
        IndexArg::Real(v) => resolve_numbers(v.len(), |k| real_num(v[k]), n),
        IndexArg::Logical(v) => resolve_logical(v, n),
    }
}

/// Resolves the index of `x[i] <- value` with `values` replacement values:
/// R's rules for extraction, plus those of assignment (NA positions are
/// skipped for a single value and an error otherwise). A logical index longer
/// than the mapping would make R extend the vector; here it is an error.
pub fn resolve_assign(arg: IndexArg<'_>, n: u64, values: usize) -> Result<Selection> {
    if let IndexArg::Logical(v) = arg {
        if v.len() as u64 > n {
            return Err(MmError::Index(format!(
                "a logical index of length {} is longer than the mapping ({n} elements): R would extend the vector, and a mapping cannot grow",
                v.len()
            )));
        }
    }
    assignable(resolve(arg, n)?, values, false)
}

/// `m[i] <- list(...)` on records, one value vector per column: each column
/// follows R's rules for its own values (an empty one with any position, NA
/// included, is an error; NA positions need every column to have one value).
pub fn resolve_assign_columns(arg: IndexArg<'_>, n: u64, values: &[usize]) -> Result<Selection> {
    let narrowest = values.iter().copied().min().unwrap_or(0);
    let widest = values.iter().copied().max().unwrap_or(0);
    if narrowest == 0 {
        resolve_assign(arg, n, 0)?;
    }
    resolve_assign(arg, n, widest)
}

/// R's checks on the positions of an assignment, before anything is written.
/// `matrix` is `x[i, j] <- value`, where uneven recycling is an error rather
/// than a warning.
pub fn assignable(sel: Selection, values: usize, matrix: bool) -> Result<Selection> {
    let n = sel.len() as usize;
    if n == 0 {
        return Ok(sel);
    }
    if values == 0 {
        return Err(MmError::Value("replacement has length zero".into()));
    }
    if matrix && !n.is_multiple_of(values) {
        return Err(MmError::Value(
            "number of items to replace is not a multiple of replacement length".into(),
        ));
    }
    if !sel.has_na() {
        return Ok(sel);
    }
    if values > 1 {
        return Err(MmError::Index("NAs are not allowed in subscripted assignments".into()));
    }
    match sel {
        Selection::Positions(p) => Ok(Selection::compact(p.into_iter().filter(|&p| p != NA_POS).collect())),
        range => Ok(range),
    }
}

/// Whether the values `(offset, value)` of a chunk starting at element `start`
/// continue the run `first, first + 1, ...`: the proof an index is `a:b`.
pub fn continues_run(first: i64, start: u64, chunk: impl Iterator<Item = (usize, f64)>) -> bool {
    let mut chunk = chunk;
    chunk.all(|(o, v)| v == (first + start as i64 + o as i64) as f64)
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
    resolve_numbers(len as usize, |k| Num::Whole(from + k as i64), n)
}

fn resolve_numbers(count: usize, at: impl Fn(usize) -> Num, n: u64) -> Result<Selection> {
    // One pass for the common case (positive indices); negatives divert to `exclude`.
    let mut positions = Vec::with_capacity(count);
    for k in 0..count {
        match at(k) {
            Num::Na => positions.push(NA_POS),
            Num::Whole(0) => {}
            Num::Whole(x) if x < 0 => return negative(count, &at, n),
            Num::Whole(x) => {
                if x as u64 > n {
                    return Err(bounds(x as f64, n));
                }
                positions.push(x as u64 - 1);
            }
            Num::Beyond(x) => return Err(bounds(x, n)),
        }
    }
    Ok(Selection::compact(positions))
}

fn negative(count: usize, at: &impl Fn(usize) -> Num, n: u64) -> Result<Selection> {
    let mixed = (0..count).any(|k| !matches!(at(k), Num::Whole(x) if x <= 0));
    if mixed {
        return Err(MmError::Index("only 0's may be mixed with negative subscripts".into()));
    }
    Ok(exclude(count, |k| match at(k) {
        Num::Whole(x) => x,
        Num::Na | Num::Beyond(_) => 0,
    }, n))
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
    // Sorted and distinct, so first == 0 and last == d - 1 means exactly 0..d
    // (and the mirror image for a suffix): one range, cheap on huge maps.
    let d = dropped.len() as u64;
    if d == 0 {
        return Selection::Range { start: 0, len: n };
    }
    if d == n {
        return Selection::Range { start: 0, len: 0 };
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

/// One subscript of `m[i, j]` against an extent of the matrix.
fn resolve_dim(arg: IndexArg<'_>, extent: u64, what: &str) -> Result<Selection> {
    if let IndexArg::Logical(v) = arg {
        if v.len() as u64 > extent {
            return Err(MmError::Index(format!(
                "(subscript) logical subscript too long: {} values for {extent} {what}s",
                v.len()
            )));
        }
    }
    resolve(arg, extent).map_err(|e| rename_bounds(e, what, extent))
}

/// `m[i, j]` on a column-major matrix view: positions in R's order (i fastest).
pub fn resolve_matrix(
    i: IndexArg<'_>,
    j: IndexArg<'_>,
    nrow: u64,
    ncol: u64,
) -> Result<(Selection, u64, u64)> {
    let rows = resolve_dim(i, nrow, "row")?;
    let cols = resolve_dim(j, ncol, "column")?;
    let (nr, nc) = (rows.len(), cols.len());
    Ok((cells(&rows, &cols, nrow), nr, nc))
}

/// `m[i, j] <- value`: the cells, checked as R's matrix assignment checks them.
pub fn resolve_matrix_assign(
    i: IndexArg<'_>,
    j: IndexArg<'_>,
    nrow: u64,
    ncol: u64,
    values: usize,
) -> Result<Selection> {
    let rows = resolve_dim(i, nrow, "row")?;
    let cols = resolve_dim(j, ncol, "column")?;
    // R refuses an NA subscript with several values even when no cell is selected.
    if values > 1 && (rows.has_na() || cols.has_na()) {
        return Err(MmError::Index("NAs are not allowed in subscripted assignments".into()));
    }
    assignable(cells(&rows, &cols, nrow), values, true)
}

/// The cells of the rows × columns given, column by column.
fn cells(rows: &Selection, cols: &Selection, nrow: u64) -> Selection {
    let (nr, nc) = (rows.len(), cols.len());
    if nr == 0 || nc == 0 {
        // An empty run of rows or columns may start at the end: start at 0.
        return Selection::Range { start: 0, len: 0 };
    }
    if let (Selection::Range { start: r0, len: rl }, Selection::Range { start: c0, len: cl }) = (rows, cols) {
        // All rows of consecutive columns, or a run of rows in one column, are
        // consecutive elements on disk. A full-length range of rows starts at 0.
        if *rl == nrow || *cl == 1 {
            return Selection::Range { start: c0 * nrow + r0, len: rl * cl };
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
    Selection::compact(positions)
}

/// `m[cbind(i, j)]`: a numeric matrix with one row per cell, given column-major.
/// Per row, as R reads it: an NA makes the cell NA, a zero drops the row, a
/// negative is an error, and so is a position past the extent.
pub fn resolve_cells(cells: IndexArg<'_>, nrow: u64, ncol: u64) -> Result<Selection> {
    let count = cells.len().unwrap_or(0) as usize / 2;
    let at = |k: usize| -> Result<Num> {
        match cells {
            IndexArg::Int(v) => Ok(int_num(v[k])),
            IndexArg::Real(v) => Ok(real_num(v[k])),
            IndexArg::Missing | IndexArg::Logical(_) | IndexArg::Seq { .. } => {
                Err(MmError::Internal("a cell index is an integer or double matrix".into()))
            }
        }
    };
    let mut positions = Vec::with_capacity(count);
    'rows: for r in 0..count {
        let mut pos = 0u64;
        for (c, (extent, stride, what)) in [(nrow, 1, "row"), (ncol, nrow, "column")].into_iter().enumerate() {
            match at(r + c * count)? {
                Num::Na => {
                    positions.push(NA_POS);
                    continue 'rows;
                }
                Num::Whole(0) => continue 'rows,
                Num::Whole(x) if x < 0 => {
                    return Err(MmError::Index("negative values are not allowed in a matrix subscript".into()))
                }
                Num::Whole(x) if x as u64 <= extent => pos += (x as u64 - 1) * stride,
                Num::Whole(x) => return Err(cell_bounds(x as f64, r, what, extent)),
                Num::Beyond(x) => return Err(cell_bounds(x, r, what, extent)),
            }
        }
        positions.push(pos);
    }
    Ok(Selection::compact(positions))
}

fn cell_bounds(index: f64, row: usize, what: &str, extent: u64) -> MmError {
    MmError::Index(format!(
        "subscript out of bounds: row {} of the index matrix asks for {what} {}, the matrix has {extent} {what}s",
        row + 1,
        crate::error::show_index(index)
    ))
}

fn rename_bounds(e: MmError, what: &str, extent: u64) -> MmError {
    match e {
        MmError::Bounds { index, .. } => MmError::Index(format!(
            "{what} index {} is out of bounds: the matrix has {extent} {what}s",
            crate::error::show_index(index)
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

    #[test]
    fn sorted_ties_are_not_a_range() {
        assert_eq!(pos(resolve(IndexArg::Int(&[1, 1, 3]), 4).unwrap()), vec![0, 0, 2]);
        assert_eq!(pos(resolve(IndexArg::Real(&[1.2, 1.7, 3.0]), 4).unwrap()), vec![0, 0, 2]);
        let s = resolve_assign(IndexArg::Int(&[1, 1, 3]), 4, 3).unwrap();
        assert_eq!(pos(s), vec![0, 0, 2]);
    }

    #[test]
    fn infinities_follow_r() {
        // -Inf is an NA index in R: NA when extracting, nothing written for one value.
        assert_eq!(pos(resolve(IndexArg::Real(&[f64::NEG_INFINITY]), 4).unwrap()), vec![NA_POS]);
        assert!(resolve_assign(IndexArg::Real(&[f64::NEG_INFINITY]), 4, 1).unwrap().is_empty());
        assert!(resolve_assign(IndexArg::Real(&[f64::NEG_INFINITY]), 4, 2).is_err());
        // +Inf is past the end, and the message says so.
        let e = resolve(IndexArg::Real(&[f64::INFINITY]), 4).unwrap_err();
        assert_eq!(e.to_string(), "index Inf is out of bounds: the mapping has 4 elements");
        // Truncation comes before the sign: -0.5 is 0.
        assert!(resolve(IndexArg::Real(&[-0.5]), 4).unwrap().is_empty());
        assert_eq!(pos(resolve(IndexArg::Real(&[-0.5, 2.0]), 4).unwrap()), vec![1]);
    }

    #[test]
    fn assignment_rules() {
        assert!(resolve_assign(IndexArg::Logical(&[1, 0, 0, 0, 0]), 4, 1).is_err());
        assert!(resolve_assign(IndexArg::Int(&[1]), 4, 0).is_err());
        assert!(resolve_assign(IndexArg::Int(&[]), 4, 0).unwrap().is_empty());
        assert_eq!(pos(resolve_assign(IndexArg::Int(&[2, R_NA_INT]), 4, 1).unwrap()), vec![1]);
        assert!(resolve_matrix_assign(IndexArg::Missing, IndexArg::Int(&[1]), 2, 2, 3).is_err());
        assert!(resolve_matrix_assign(IndexArg::Logical(&[1, 1, 1]), IndexArg::Missing, 2, 2, 1).is_err());
    }

    #[test]
    fn record_columns_each_follow_r() {
        // m[c(FALSE, NA), ] <- list(5L, character()): the empty column is R's error.
        assert!(resolve_assign_columns(IndexArg::Logical(&[0, R_NA_INT]), 4, &[1, 0]).is_err());
        assert!(resolve_assign_columns(IndexArg::Int(&[2, R_NA_INT]), 4, &[1, 2]).is_err());
        assert_eq!(pos(resolve_assign_columns(IndexArg::Int(&[2, R_NA_INT]), 4, &[1, 1]).unwrap()), vec![1]);
        assert!(resolve_assign_columns(IndexArg::Int(&[]), 4, &[0, 3]).unwrap().is_empty());
    }

    #[test]
    fn cells_pick_row_and_column() {
        // cbind(c(1, 2, 0, NA), c(3, 1, 9, 1)) on a 2 x 3 matrix.
        let s = resolve_cells(IndexArg::Real(&[1.0, 2.0, 0.0, f64::NAN, 3.0, 1.0, 9.0, 1.0]), 2, 3).unwrap();
        assert_eq!(pos(s), vec![4, 1, NA_POS]);
        assert!(resolve_cells(IndexArg::Int(&[-1, 1]), 2, 3).is_err());
        assert!(resolve_cells(IndexArg::Int(&[3, 1]), 2, 3).is_err());
    }
}
