//! Scalar types: the type's codec chooses the kernel for its storage (see
//! `Comparison`), the operator and value become a predicate in the storage's
//! own domain, and each type and byte order gets its own scan.

use super::hits::Hits;
use super::op::{Op, Scalar};
use super::predicate::{cplx_pred, float_pred, int_set, IntSet};
use super::scan::{Ctx, StoredInt};
use crate::codec::{Codec, CodecOp, Order, Stored};
use crate::ctype::{Ctype, RKind};
use crate::error::{MmError, Result};

/// Bytes past which a comparison is split across threads.
pub(super) const PARALLEL_MIN_BYTES: usize = 1 << 22;

/// Compares every element of `bytes` (whole elements of `ctype`) with `value`.
pub fn compare(ctype: &Ctype, bytes: &[u8], op: Op, value: &Scalar) -> Result<Hits> {
    compare_with(ctype, bytes, op, value, PARALLEL_MIN_BYTES)
}

fn unsupported(ctype: &Ctype, op: Op, value: &Scalar) -> MmError {
    MmError::Type(format!(
        "cannot compare a {} mapping with {} {}",
        ctype.name(),
        value.describe(),
        match value {
            Scalar::Str(_) => "(a string): compare it with a number".to_string(),
            _ if op.is_ordering() && (ctype.info().rkind == RKind::Complex || matches!(value, Scalar::Cplx(..))) => {
                format!("using `{}`: complex values support only == and !=", op.symbol())
            }
            _ => format!("using `{}`", op.symbol()),
        }
    ))
}

pub(super) fn compare_with(ctype: &Ctype, bytes: &[u8], op: Op, value: &Scalar, min_parallel: usize) -> Result<Hits> {
    struct Run<'a>(Comparison<'a>);
    impl CodecOp for Run<'_> {
        type Output = Result<Hits>;
        fn run<C: Codec, O: Order>(self) -> Result<Hits> {
            C::compare::<O>(&self.0)
        }
    }
    ctype.dispatch(Run(Comparison { ctx: Ctx { min_parallel }, ctype, bytes, op, value }))
}

/// One comparison of a scalar mapping, handed to its type's codec, which
/// picks the kernel for its storage: the value becomes a predicate in the
/// storage's own domain, and each type and byte order gets its own scan.
pub struct Comparison<'a> {
    ctx: Ctx,
    ctype: &'a Ctype,
    bytes: &'a [u8],
    op: Op,
    value: &'a Scalar,
}

impl Comparison<'_> {
    fn unsupported(&self) -> MmError {
        unsupported(self.ctype, self.op, self.value)
    }

    /// Integer storage: the value becomes an interval of the type's integers;
    /// a sentinel never matches, and a builtin NA lies outside the interval.
    pub(crate) fn ints<T: StoredInt + Stored<N>, const N: usize, O: Order>(&self) -> Result<Hits> {
        let info = self.ctype.info();
        match int_set(self.op, self.value).ok_or_else(|| self.unsupported())?.and_then(|s| s.clamp(info.min, info.max)) {
            None => Ok(Hits::default()),
            Some(set) => Ok(self.ctx.ints::<T, N, _>(self.bytes, set, self.ctype.sentinel, O::from_array::<T, N>)),
        }
    }

    /// Raw storage: a number compares with the byte's value, but a logical
    /// with the byte as a logical (nonzero is TRUE), as R coerces raw.
    pub(crate) fn raw<O: Order>(&self) -> Result<Hits> {
        let Scalar::Lgl(b) = *self.value else { return self.ints::<u8, 1, O>() };
        let truth = int_set(self.op, &Scalar::Int(i64::from(b))).ok_or_else(|| self.unsupported())?;
        let Some(truth) = truth.and_then(|s| s.clamp(0, 1)) else { return Ok(Hits::default()) };
        let (lo, hi) = match (truth.contains(0), truth.contains(1)) {
            (true, true) => (0, 255),
            (true, false) => (0, 0),
            (false, true) => (1, 255),
            (false, false) => return Ok(Hits::default()),
        };
        let bytes = IntSet { lo, hi, hole: None };
        Ok(self.ctx.ints::<u8, 1, _>(self.bytes, bytes, None, O::from_array::<u8, 1>))
    }

    /// Logical storage: 0 is FALSE, `na` is NA, anything else TRUE.
    pub(crate) fn logicals<T: StoredInt + Stored<N>, const N: usize, O: Order>(&self, na: T) -> Result<Hits> {
        let Some(set) = int_set(self.op, self.value).ok_or_else(|| self.unsupported())?.and_then(|s| s.clamp(0, 1)) else {
            return Ok(Hits::default());
        };
        Ok(self.ctx.logicals::<T, N, _>(self.bytes, set.contains(0), set.contains(1), na, O::from_array::<T, N>))
    }

    /// Floating-point storage: every NaN (NA included) fails every predicate.
    pub(crate) fn floats<T: Stored<N> + Into<f64>, const N: usize, O: Order>(&self) -> Result<Hits> {
        let pred = float_pred(self.op, self.value).ok_or_else(|| self.unsupported())?;
        Ok(self.ctx.floats::<N, _>(self.bytes, pred, |b| O::from_array::<T, N>(b).into()))
    }

    /// Complex storage: two doubles, compared for equality only.
    pub(crate) fn complex<O: Order>(&self) -> Result<Hits> {
        let pred = cplx_pred(self.op, self.value).ok_or_else(|| self.unsupported())?;
        Ok(self.ctx.cplx(self.bytes, pred, O::from_array::<f64, 8>))
    }
}
