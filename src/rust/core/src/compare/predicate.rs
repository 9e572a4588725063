//! Predicates in the storage's domain: the value of `m <op> value` turned into
//! an integer interval (integer types), a float threshold (float types) or a
//! complex equality, exactly, so that the scan never converts an element.

use super::op::{Op, Scalar};

const NEG: i128 = i128::MIN / 4;
const POS: i128 = i128::MAX / 4;

/// The integers `x` with `lo <= x <= hi` and `x != hole`.
#[derive(Clone, Copy, Debug, PartialEq)]
pub(super) struct IntSet {
    pub(super) lo: i128,
    pub(super) hi: i128,
    pub(super) hole: Option<i128>,
}

impl IntSet {
    fn all() -> Self {
        IntSet { lo: NEG, hi: POS, hole: None }
    }

    fn range(lo: i128, hi: i128) -> Self {
        IntSet { lo, hi, hole: None }
    }

    /// Restricts to a type's valid values; `None` when nothing is left.
    pub(super) fn clamp(self, lo: i64, hi: i64) -> Option<IntSet> {
        let lo = self.lo.max(lo as i128);
        let hi = self.hi.min(hi as i128);
        (lo <= hi).then(|| IntSet { lo, hi, hole: self.hole.filter(|h| (lo..=hi).contains(h)) })
    }

    pub(super) fn contains(&self, x: i128) -> bool {
        x >= self.lo && x <= self.hi && self.hole != Some(x)
    }
}

/// The integers `x` for which `x <op> value` holds. `Some(None)`: none;
/// `None`: the comparison is not defined (strings, ordering a complex).
pub(super) fn int_set(op: Op, value: &Scalar) -> Option<Option<IntSet>> {
    let v = match *value {
        Scalar::Na => return Some(None),
        Scalar::Int(v) => v as i128,
        Scalar::Lgl(b) => i128::from(b),
        Scalar::Real(t) => return Some(real_int_set(op, t)),
        Scalar::Cplx(re, im) => {
            if op.is_ordering() {
                return None;
            }
            if re.is_nan() || im.is_nan() {
                return Some(None);
            }
            if im != 0.0 {
                // No real element equals it; every element differs from it.
                return Some((op == Op::Ne).then(IntSet::all));
            }
            return Some(real_int_set(op, re));
        }
        Scalar::Str(_) => return None,
    };
    Some(Some(match op {
        Op::Lt => IntSet::range(NEG, v - 1),
        Op::Le => IntSet::range(NEG, v),
        Op::Gt => IntSet::range(v + 1, POS),
        Op::Ge => IntSet::range(v, POS),
        Op::Eq => IntSet::range(v, v),
        Op::Ne => IntSet { lo: NEG, hi: POS, hole: Some(v) },
    }))
}

/// Integers against a double `t`, exactly: `x < t` is `x < ceil(t)`,
/// `x <= t` is `x <= floor(t)`, and `x == t` needs a whole `t`.
fn real_int_set(op: Op, t: f64) -> Option<IntSet> {
    if t.is_nan() {
        return None;
    }
    // Saturating casts, then clamp so that ±1 cannot overflow; the type's
    // range is far inside [NEG, POS].
    let floor = (t.floor() as i128).clamp(NEG, POS);
    let ceil = (t.ceil() as i128).clamp(NEG, POS);
    let whole = t.is_finite() && t.fract() == 0.0;
    match op {
        Op::Lt if t == f64::INFINITY => Some(IntSet::all()),
        Op::Le if t == f64::INFINITY => Some(IntSet::all()),
        Op::Gt if t == f64::NEG_INFINITY => Some(IntSet::all()),
        Op::Ge if t == f64::NEG_INFINITY => Some(IntSet::all()),
        Op::Lt => Some(IntSet::range(NEG, ceil - 1)),
        Op::Le => Some(IntSet::range(NEG, floor)),
        Op::Gt => Some(IntSet::range(floor + 1, POS)),
        Op::Ge => Some(IntSet::range(ceil, POS)),
        Op::Eq => whole.then(|| IntSet::range(floor, floor)),
        Op::Ne => Some(IntSet { lo: NEG, hi: POS, hole: whole.then_some(floor) }),
    }
}

/// What a float element must satisfy. NaN elements fail every variant.
#[derive(Clone, Copy, Debug, PartialEq)]
pub(super) enum FloatPred {
    Nothing,
    Lt(f64),
    Le(f64),
    Gt(f64),
    Ge(f64),
    Eq(f64),
    Ne(f64),
    NotNan,
}

/// The smallest and the largest double bracketing `v`: equal when `v` is exact.
fn f64_bracket(v: i64) -> (f64, f64) {
    let f = v as f64; // round to nearest: off by less than one step
    let exact = f as i128; // f is whole and below 2^64, so this is exact
    let v = v as i128;
    if exact == v {
        (f, f)
    } else if exact > v {
        (f.next_down(), f)
    } else {
        (f, f.next_up())
    }
}

pub(super) fn float_pred(op: Op, value: &Scalar) -> Option<FloatPred> {
    let t = match *value {
        Scalar::Na => return Some(FloatPred::Nothing),
        Scalar::Lgl(_) => return float_pred(op, &value.numeric()),
        Scalar::Real(t) => t,
        Scalar::Int(v) => {
            // Exact: `x < v` is `x < ceil_f64(v)`, `x <= v` is `x <= floor_f64(v)`.
            let (floor, ceil) = f64_bracket(v);
            let exact = floor == ceil;
            return Some(match op {
                Op::Lt => FloatPred::Lt(ceil),
                Op::Le => FloatPred::Le(floor),
                Op::Gt => FloatPred::Gt(floor),
                Op::Ge => FloatPred::Ge(ceil),
                Op::Eq if exact => FloatPred::Eq(floor),
                Op::Eq => FloatPred::Nothing,
                Op::Ne if exact => FloatPred::Ne(floor),
                Op::Ne => FloatPred::NotNan,
            });
        }
        Scalar::Cplx(re, im) => {
            if op.is_ordering() {
                return None;
            }
            if re.is_nan() || im.is_nan() {
                return Some(FloatPred::Nothing);
            }
            if im != 0.0 {
                return Some(if op == Op::Ne { FloatPred::NotNan } else { FloatPred::Nothing });
            }
            re
        }
        Scalar::Str(_) => return None,
    };
    if t.is_nan() {
        return Some(FloatPred::Nothing);
    }
    Some(match op {
        Op::Lt => FloatPred::Lt(t),
        Op::Le => FloatPred::Le(t),
        Op::Gt => FloatPred::Gt(t),
        Op::Ge => FloatPred::Ge(t),
        Op::Eq => FloatPred::Eq(t),
        Op::Ne => FloatPred::Ne(t),
    })
}

/// What a complex element must satisfy; NaN in either part never matches.
#[derive(Clone, Copy, Debug, PartialEq)]
pub(super) enum CplxPred {
    Nothing,
    Eq(f64, f64),
    Ne(f64, f64),
    NotNa,
}

pub(super) fn cplx_pred(op: Op, value: &Scalar) -> Option<CplxPred> {
    if op.is_ordering() {
        return None;
    }
    let eq = op == Op::Eq;
    let (re, im) = match *value {
        Scalar::Na => return Some(CplxPred::Nothing),
        Scalar::Lgl(_) => return cplx_pred(op, &value.numeric()),
        Scalar::Int(v) => {
            let (floor, ceil) = f64_bracket(v);
            if floor != ceil {
                return Some(if eq { CplxPred::Nothing } else { CplxPred::NotNa });
            }
            (floor, 0.0)
        }
        Scalar::Real(t) => (t, 0.0),
        Scalar::Cplx(re, im) => (re, im),
        Scalar::Str(_) => return None,
    };
    if re.is_nan() || im.is_nan() {
        return Some(CplxPred::Nothing);
    }
    Some(if eq { CplxPred::Eq(re, im) } else { CplxPred::Ne(re, im) })
}
