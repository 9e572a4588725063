//! Scalar types: the operator and value become a predicate in the storage's
//! own domain, and each type and byte order gets its own scan.

use super::hits::Hits;
use super::op::{Op, Scalar};
use super::predicate::{cplx_pred, float_pred, int_set, IntSet};
use super::scan::Ctx;
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
    macro_rules! int_kind {
        ($t:ty, $n:literal, $le:expr, $be:expr) => {{
            match ints(info.min, info.max)? {
                None => Ok(Hits::default()),
                Some(set) if big => Ok(ctx.ints::<$t, $n, _>(bytes, set, sentinel, $be)),
                Some(set) => Ok(ctx.ints::<$t, $n, _>(bytes, set, sentinel, $le)),
            }
        }};
    }
    match dtype.kind {
        Kind::UChar => match ints(0, 255)? {
            None => Ok(Hits::default()),
            Some(set) => Ok(ctx.ints::<u8, 1, _>(bytes, set, None, |b: [u8; 1]| b[0])),
        },
        Kind::Int8 => int_kind!(i8, 1, |b: [u8; 1]| b[0] as i8, |b: [u8; 1]| b[0] as i8),
        Kind::UInt8 => int_kind!(u8, 1, |b: [u8; 1]| b[0], |b: [u8; 1]| b[0]),
        Kind::Int16 => int_kind!(i16, 2, i16::from_le_bytes, i16::from_be_bytes),
        Kind::UInt16 => int_kind!(u16, 2, u16::from_le_bytes, u16::from_be_bytes),
        Kind::Int24 => int_kind!(
            i32,
            3,
            |b: [u8; 3]| i32::from_le_bytes([0, b[0], b[1], b[2]]) >> 8,
            |b: [u8; 3]| i32::from_be_bytes([b[0], b[1], b[2], 0]) >> 8
        ),
        Kind::UInt24 => int_kind!(
            u32,
            3,
            |b: [u8; 3]| u32::from_le_bytes([b[0], b[1], b[2], 0]),
            |b: [u8; 3]| u32::from_be_bytes([0, b[0], b[1], b[2]])
        ),
        // The builtin NAs of int32 and int64 lie outside [info.min, info.max].
        Kind::Int32 => int_kind!(i32, 4, i32::from_le_bytes, i32::from_be_bytes),
        Kind::UInt32 => int_kind!(u32, 4, u32::from_le_bytes, u32::from_be_bytes),
        Kind::Int64 => int_kind!(i64, 8, i64::from_le_bytes, i64::from_be_bytes),
        Kind::Logi8 | Kind::Logi32 => {
            let Some(set) = ints(0, 1)? else { return Ok(Hits::default()) };
            let (m0, m1) = (set.contains(0), set.contains(1));
            if !m0 && !m1 {
                return Ok(Hits::default());
            }
            if dtype.kind == Kind::Logi8 {
                Ok(ctx.logicals::<u8, 1, _>(bytes, m0, m1, 0x80, |b: [u8; 1]| b[0]))
            } else if big {
                Ok(ctx.logicals::<i32, 4, _>(bytes, m0, m1, i32::MIN, i32::from_be_bytes))
            } else {
                Ok(ctx.logicals::<i32, 4, _>(bytes, m0, m1, i32::MIN, i32::from_le_bytes))
            }
        }
        Kind::Real32 | Kind::Real64 => {
            let pred = float_pred(op, value).ok_or_else(|| unsupported(dtype, op, value))?;
            // Every NaN (NA included) fails every predicate.
            match (dtype.kind, big) {
                (Kind::Real32, false) => Ok(ctx.floats::<4, _>(bytes, pred, |b| f32::from_le_bytes(b) as f64)),
                (Kind::Real32, true) => Ok(ctx.floats::<4, _>(bytes, pred, |b| f32::from_be_bytes(b) as f64)),
                (_, false) => Ok(ctx.floats::<8, _>(bytes, pred, f64::from_le_bytes)),
                (_, true) => Ok(ctx.floats::<8, _>(bytes, pred, f64::from_be_bytes)),
            }
        }
        Kind::Cplx => {
            let pred = cplx_pred(op, value).ok_or_else(|| unsupported(dtype, op, value))?;
            if big {
                Ok(ctx.cplx(bytes, pred, f64::from_be_bytes))
            } else {
                Ok(ctx.cplx(bytes, pred, f64::from_le_bytes))
            }
        }
        // String and bit layouts are not `DType`s: they have their own scans,
        // `compare_char`, `compare_cstring` and `compare_bits` below.
        #[allow(unreachable_patterns)]
        _ => Err(MmError::Type(format!("comparison is not supported for {} mappings", dtype.name()))),
    }
}
