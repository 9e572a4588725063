//! Index resolution against a naive oracle of R's subscript rules.
//!
//! The oracle is written from R's documented behaviour (and R 4.2's
//! subscript.c), element by element, with no fast paths; `resolve()` must
//! agree with it on every generated index, so its range shortcuts (compact
//! runs, exclusion prefixes/suffixes, whole-column matrix slices) are proven
//! against it rather than assumed.

use mmapcore::index::{
    resolve, resolve_assign, resolve_cells, resolve_matrix, resolve_matrix_assign, IndexArg, Selection, NA_POS,
};
use mmapcore::MmError;
use proptest::prelude::*;

const NA_INT: i32 = i32::MIN;

/// The oracle's reading of one element: None is NA, Err is "past any end".
#[derive(Clone, Copy, Debug)]
enum El {
    Na,
    Whole(i64),
    PastEnd,
}

fn el_int(x: i32) -> El {
    if x == NA_INT { El::Na } else { El::Whole(x as i64) }
}

fn el_real(x: f64) -> El {
    if x.is_nan() || x == f64::NEG_INFINITY {
        El::Na
    } else if x == f64::INFINITY || x.trunc() >= 9.0e18 {
        El::PastEnd
    } else {
        El::Whole(x.trunc().max(-9.0e18) as i64)
    }
}

#[derive(Debug, PartialEq)]
enum Oracle {
    Positions(Vec<Option<u64>>),
    /// Past the end: R would read NA or extend; a mapping refuses.
    Bounds,
    /// R itself refuses (mixed signs, NA with several values, ...).
    Error,
}

fn numbers(els: &[El], n: u64) -> Oracle {
    let negative = els.iter().any(|e| matches!(e, El::Whole(x) if *x < 0));
    if negative {
        if els.iter().any(|e| !matches!(e, El::Whole(x) if *x <= 0)) {
            return Oracle::Error;
        }
        let keep = (0..n)
            .filter(|p| !els.iter().any(|e| matches!(e, El::Whole(x) if (-*x) as u64 == p + 1)))
            .map(Some)
            .collect();
        return Oracle::Positions(keep);
    }
    let mut out = Vec::new();
    for e in els {
        match *e {
            El::Na => out.push(None),
            El::Whole(0) => {}
            El::Whole(x) if x as u64 <= n => out.push(Some(x as u64 - 1)),
            El::Whole(_) | El::PastEnd => return Oracle::Bounds,
        }
    }
    Oracle::Positions(out)
}

fn logical(v: &[i32], n: u64) -> Oracle {
    if v.is_empty() {
        return Oracle::Positions(vec![]);
    }
    let mut out = Vec::new();
    for k in 0..n.max(v.len() as u64) {
        match v[(k % v.len() as u64) as usize] {
            NA_INT => out.push(None),
            0 => {}
            _ if k >= n => return Oracle::Bounds,
            _ => out.push(Some(k)),
        }
    }
    Oracle::Positions(out)
}

#[derive(Clone, Debug)]
enum Ix {
    Missing,
    Int(Vec<i32>),
    Real(Vec<f64>),
    Logical(Vec<i32>),
    Seq(i64, u64),
}

impl Ix {
    fn arg(&self) -> IndexArg<'_> {
        match self {
            Ix::Missing => IndexArg::Missing,
            Ix::Int(v) => IndexArg::Int(v),
            Ix::Real(v) => IndexArg::Real(v),
            Ix::Logical(v) => IndexArg::Logical(v),
            Ix::Seq(from, len) => IndexArg::Seq { from: *from, len: *len },
        }
    }

    fn oracle(&self, n: u64) -> Oracle {
        match self {
            Ix::Missing => Oracle::Positions((0..n).map(Some).collect()),
            Ix::Int(v) => numbers(&v.iter().map(|&x| el_int(x)).collect::<Vec<_>>(), n),
            Ix::Real(v) => numbers(&v.iter().map(|&x| el_real(x)).collect::<Vec<_>>(), n),
            Ix::Logical(v) => logical(v, n),
            Ix::Seq(from, len) => numbers(&(0..*len as i64).map(|k| El::Whole(from + k)).collect::<Vec<_>>(), n),
        }
    }

    fn logical_len(&self) -> Option<u64> {
        match self {
            Ix::Logical(v) => Some(v.len() as u64),
            _ => None,
        }
    }
}

fn expand(s: &Selection) -> Vec<Option<u64>> {
    (0..s.len()).map(|k| s.get(k)).map(|p| if p == NA_POS { None } else { Some(p) }).collect()
}

/// A selection's outcome; a range must lie inside the `n` elements, even when
/// empty (an extraction slices the mapping with it).
fn observed_in(r: Result<Selection, MmError>, n: u64) -> Oracle {
    match r {
        Ok(s) => {
            if let Selection::Range { start, len } = s {
                assert!(start.checked_add(len).is_some_and(|end| end <= n), "range {start}+{len} past {n}");
            }
            Oracle::Positions(expand(&s))
        }
        Err(MmError::Bounds { .. }) => Oracle::Bounds,
        Err(_) => Oracle::Error,
    }
}

/// Errors agree in kind where only one kind is possible; otherwise both must fail.
fn same(ours: Oracle, want: Oracle) -> Result<(), TestCaseError> {
    match (&ours, &want) {
        (Oracle::Positions(a), Oracle::Positions(b)) => prop_assert_eq!(a, b),
        (Oracle::Positions(_), _) | (_, Oracle::Positions(_)) => prop_assert_eq!(ours, want),
        _ => {}
    }
    Ok(())
}

fn int_el() -> impl Strategy<Value = i32> {
    prop_oneof![8 => -12i32..=12, 1 => Just(NA_INT), 1 => any::<i32>()]
}

fn real_el() -> impl Strategy<Value = f64> {
    prop_oneof![
        6 => (-120i32..=120).prop_map(|x| x as f64 / 10.0),
        4 => (-12i32..=12).prop_map(f64::from),
        1 => Just(f64::NAN),
        1 => Just(f64::INFINITY),
        1 => Just(f64::NEG_INFINITY),
        1 => Just(1e300),
        1 => Just(-1e300),
    ]
}

fn lgl_el() -> impl Strategy<Value = i32> {
    prop_oneof![3 => Just(0), 3 => Just(1), 1 => Just(NA_INT)]
}

fn index() -> impl Strategy<Value = Ix> {
    prop_oneof![
        1 => Just(Ix::Missing),
        4 => prop::collection::vec(int_el(), 0..12).prop_map(Ix::Int),
        // Sorted with ties: the shape that fooled the old compact-run check.
        2 => prop::collection::vec(int_el(), 0..12).prop_map(|mut v| { v.sort(); Ix::Int(v) }),
        4 => prop::collection::vec(real_el(), 0..12).prop_map(Ix::Real),
        2 => prop::collection::vec(real_el(), 0..12)
            .prop_map(|mut v| { v.sort_by(|a, b| a.total_cmp(b)); Ix::Real(v) }),
        3 => prop::collection::vec(lgl_el(), 0..30).prop_map(Ix::Logical),
        2 => (-5i64..15, 0u64..15).prop_map(|(from, len)| Ix::Seq(from, len)),
    ]
}

fn assign_oracle(ix: &Ix, n: u64, values: usize) -> Oracle {
    if ix.logical_len().is_some_and(|l| l > n) {
        return Oracle::Bounds;
    }
    after_assign(ix.oracle(n), values, false)
}

fn after_assign(o: Oracle, values: usize, matrix: bool) -> Oracle {
    let Oracle::Positions(p) = o else { return o };
    if p.is_empty() {
        return Oracle::Positions(p);
    }
    if values == 0 || (matrix && p.len() % values != 0) {
        return Oracle::Error;
    }
    if p.contains(&None) && values > 1 {
        return Oracle::Error;
    }
    Oracle::Positions(p.into_iter().filter(Option::is_some).collect())
}

fn matrix_oracle(i: &Ix, j: &Ix, nrow: u64, ncol: u64) -> Oracle {
    if i.logical_len().is_some_and(|l| l > nrow) || j.logical_len().is_some_and(|l| l > ncol) {
        return Oracle::Error;
    }
    let (Oracle::Positions(rows), Oracle::Positions(cols)) = (i.oracle(nrow), j.oracle(ncol)) else {
        return Oracle::Error;
    };
    let mut out = Vec::new();
    for c in &cols {
        for r in &rows {
            out.push(match (r, c) {
                (Some(r), Some(c)) => Some(c * nrow + r),
                _ => None,
            });
        }
    }
    Oracle::Positions(out)
}

fn cells_oracle(cells: &[El], nrow: u64, ncol: u64) -> Oracle {
    let k = cells.len() / 2;
    let mut out = Vec::new();
    'rows: for r in 0..k {
        let mut pos = 0;
        for (c, (extent, stride)) in [(nrow, 1), (ncol, nrow)].into_iter().enumerate() {
            match cells[r + c * k] {
                El::Na => {
                    out.push(None);
                    continue 'rows;
                }
                El::Whole(0) => continue 'rows,
                El::Whole(x) if x < 0 => return Oracle::Error,
                El::Whole(x) if x as u64 <= extent => pos += (x as u64 - 1) * stride,
                El::Whole(_) | El::PastEnd => return Oracle::Error,
            }
        }
        out.push(Some(pos));
    }
    Oracle::Positions(out)
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 4000, ..ProptestConfig::default() })]

    #[test]
    fn extraction_matches_r(ix in index(), n in 0u64..20) {
        same(observed_in(resolve(ix.arg(), n), n), ix.oracle(n))?;
    }

    #[test]
    fn assignment_matches_r(ix in index(), n in 0u64..20, values in 0usize..4) {
        same(observed_in(resolve_assign(ix.arg(), n, values), n), assign_oracle(&ix, n, values))?;
    }

    #[test]
    fn matrix_matches_r(i in index(), j in index(), nrow in 0u64..6, ncol in 0u64..6, values in 0usize..4) {
        let ours = resolve_matrix(i.arg(), j.arg(), nrow, ncol);
        let want = matrix_oracle(&i, &j, nrow, ncol);
        if let (Ok((_, nr, nc)), Oracle::Positions(p)) = (&ours, &want) {
            prop_assert_eq!((nr * nc) as usize, p.len());
        }
        same(observed_in(ours.map(|(s, _, _)| s), nrow * ncol), matrix_oracle(&i, &j, nrow, ncol))?;
        // R refuses an NA row or column with several values, even for no cell.
        let na_subscript = [(&i, nrow), (&j, ncol)].iter().any(|(ix, ext)| {
            matches!(ix.oracle(*ext), Oracle::Positions(p) if p.contains(&None))
        });
        let want_assign = if values > 1 && na_subscript && !matches!(want, Oracle::Error) { Oracle::Error } else { after_assign(want, values, true) };
        same(observed_in(resolve_matrix_assign(i.arg(), j.arg(), nrow, ncol, values), nrow * ncol), want_assign)?;
    }

    #[test]
    fn cells_match_r(cells in prop::collection::vec(prop_oneof![8 => (-1i32..=5).prop_map(f64::from), 1 => real_el()], 0..5),
                     nrow in 0u64..5, ncol in 0u64..5) {
        let doubled: Vec<f64> = cells.iter().chain(cells.iter().rev()).copied().collect();
        let els: Vec<El> = doubled.iter().map(|&x| el_real(x)).collect();
        same(observed_in(resolve_cells(IndexArg::Real(&doubled), nrow, ncol), nrow * ncol), cells_oracle(&els, nrow, ncol))?;
        let ints: Vec<i32> = doubled.iter().map(|&x| if x.is_finite() && x.abs() < 1e9 { x as i32 } else { NA_INT }).collect();
        let els: Vec<El> = ints.iter().map(|&x| el_int(x)).collect();
        same(observed_in(resolve_cells(IndexArg::Int(&ints), nrow, ncol), nrow * ncol), cells_oracle(&els, nrow, ncol))?;
    }
}
