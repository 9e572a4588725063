//! Scalar types: the operator and value become a predicate in the storage's
//! own domain, and each type and byte order gets its own scan.

use super::hits::Hits;
use super::op::{Op, Scalar};
use super::predicate::{cplx_pred, float_pred, int_set, IntSet};
use super::scan::Ctx;
use crate::codec::Stored;
use crate::dtype::{DType, Endian, Kind};
use crate::error::{MmError, Result};
use crate::vector::View;

impl View<'_> {
    /// The positions of the elements with `element <op> value`.
    pub fn compare(&self, op: Op, value: &Scalar) -> Result<Hits> {
        let bytes = self.map.bytes()?;
        let used = self.len() as usize * self.dtype.bytes();
        compare(self.dtype, &bytes[..used], op, value)
    }
}

/// Bytes past which a comparison is split across threads.
pub(super) const PARALLEL_MIN_BYTES: usize = 1 << 22;

/// Compares every element of `bytes` (whole elements of `dtype`) with `value`.
pub fn compare(dtype: &DType, bytes: &[u8], op: Op, value: &Scalar) -> Result<Hits> {
    compare_with(dtype, bytes, op, value, PARALLEL_MIN_BYTES)
}

fn unsupported(dtype: &DType, op: Op, value: &Scalar) -> MmError {
    MmError::Type(format!(
        "cannot compare a {} mapping with {} {}",
        dtype.name(),
        value.describe(),
        match value {
            Scalar::Str(_) => "(a string): compare it with a number".to_string(),
            _ if op.is_ordering() && (dtype.kind == Kind::Cplx || matches!(value, Scalar::Cplx(..))) => {
                format!("using `{}`: complex values support only == and !=", op.symbol())
            }
            _ => format!("using `{}`", op.symbol()),
        }
    ))
}

pub(super) fn compare_with(dtype: &DType, bytes: &[u8], op: Op, value: &Scalar, min_parallel: usize) -> Result<Hits> {
    let ctx = Ctx { min_parallel };
    let big = dtype.endian == Endian::Big;
    // Integer storage: the value becomes an interval of the type's integers.
    let ints = |lo: i64, hi: i64| -> Result<Option<IntSet>> {
        Ok(int_set(op, value).ok_or_else(|| unsupported(dtype, op, value))?.and_then(|s| s.clamp(lo, hi)))
    };
    let info = dtype.info();
    let sentinel = dtype.sentinel;
    // Elements are decoded by the codec's stored representation of the type.
    macro_rules! int_kind {
        ($t:ty, $n:literal) => {{
            match ints(info.min, info.max)? {
                None => Ok(Hits::default()),
                Some(set) if big => Ok(ctx.ints::<$t, $n, _>(bytes, set, sentinel, <$t as Stored<$n>>::from_be)),
                Some(set) => Ok(ctx.ints::<$t, $n, _>(bytes, set, sentinel, <$t as Stored<$n>>::from_le)),
            }
        }};
    }
    match dtype.kind {
        // Raw bytes: 0 to 255, no NA (the table allows no sentinel).
        Kind::UChar => int_kind!(u8, 1),
        Kind::Int8 => int_kind!(i8, 1),
        Kind::UInt8 => int_kind!(u8, 1),
        Kind::Int16 => int_kind!(i16, 2),
        Kind::UInt16 => int_kind!(u16, 2),
        Kind::Int24 => int_kind!(i32, 3),
        Kind::UInt24 => int_kind!(u32, 3),
        // The builtin NAs of int32 and int64 lie outside [info.min, info.max].
        Kind::Int32 => int_kind!(i32, 4),
        Kind::UInt32 => int_kind!(u32, 4),
        Kind::Int64 => int_kind!(i64, 8),
        Kind::Logi8 | Kind::Logi32 => {
            let Some(set) = ints(0, 1)? else { return Ok(Hits::default()) };
            let (m0, m1) = (set.contains(0), set.contains(1));
            if !m0 && !m1 {
                return Ok(Hits::default());
            }
            if dtype.kind == Kind::Logi8 {
                Ok(ctx.logicals::<u8, 1, _>(bytes, m0, m1, 0x80, <u8 as Stored<1>>::from_le))
            } else if big {
                Ok(ctx.logicals::<i32, 4, _>(bytes, m0, m1, i32::MIN, <i32 as Stored<4>>::from_be))
            } else {
                Ok(ctx.logicals::<i32, 4, _>(bytes, m0, m1, i32::MIN, <i32 as Stored<4>>::from_le))
            }
        }
        Kind::Real32 | Kind::Real64 => {
            let pred = float_pred(op, value).ok_or_else(|| unsupported(dtype, op, value))?;
            // Every NaN (NA included) fails every predicate.
            match (dtype.kind == Kind::Real32, big) {
                (true, false) => Ok(ctx.floats::<4, _>(bytes, pred, |b| <f32 as Stored<4>>::from_le(b) as f64)),
                (true, true) => Ok(ctx.floats::<4, _>(bytes, pred, |b| <f32 as Stored<4>>::from_be(b) as f64)),
                (false, false) => Ok(ctx.floats::<8, _>(bytes, pred, <f64 as Stored<8>>::from_le)),
                (false, true) => Ok(ctx.floats::<8, _>(bytes, pred, <f64 as Stored<8>>::from_be)),
            }
        }
        Kind::Cplx => {
            let pred = cplx_pred(op, value).ok_or_else(|| unsupported(dtype, op, value))?;
            if big {
                Ok(ctx.cplx(bytes, pred, <f64 as Stored<8>>::from_be))
            } else {
                Ok(ctx.cplx(bytes, pred, <f64 as Stored<8>>::from_le))
            }
        }
    }
}
