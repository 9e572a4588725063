//! R entry point for `which()`-style comparisons (`m < 100`). Conversions only:
//! the comparison itself is `mmapcore::compare`.

use std::ffi::CStr;

use extendr_api::prelude::*;
use extendr_api::Robj;
use extendr_ffi as ffi;
use extendr_ffi::SEXPTYPE;

use mmapcore::codec::OutBuf;
use mmapcore::compare::{Op, Scalar};
use mmapcore::{MmError, RKind};

use crate::conv::{finish, Stage};
use crate::rec;

/// The value a mapping is compared with. `int64` marks a bit64::integer64.
fn scalar(x: &Robj, int64: bool) -> mmapcore::Result<Scalar> {
    // SAFETY: `x` is protected for the call; each branch reads element 0 of a
    // vector checked to have that SEXPTYPE and exactly one element.
    unsafe {
        let sexp = x.get();
        if ffi::XLENGTH(sexp) != 1 {
            return Err(MmError::Value(format!(
                "a mapping can only be compared with a single value, not {} values",
                ffi::XLENGTH(sexp)
            )));
        }
        Ok(match ffi::TYPEOF(sexp) {
            SEXPTYPE::LGLSXP => {
                let v = ffi::LOGICAL_ELT(sexp, 0);
                if v == i32::MIN { Scalar::Na } else { Scalar::Lgl(v != 0) }
            }
            SEXPTYPE::INTSXP => {
                let v = ffi::INTEGER_ELT(sexp, 0);
                if v == i32::MIN { Scalar::Na } else { Scalar::Int(v as i64) }
            }
            SEXPTYPE::REALSXP if int64 => {
                let v = ffi::REAL_ELT(sexp, 0).to_bits() as i64;
                if v == i64::MIN { Scalar::Na } else { Scalar::Int(v) }
            }
            SEXPTYPE::REALSXP => {
                let v = ffi::REAL_ELT(sexp, 0);
                if mmapcore::codec::is_r_na(v) { Scalar::Na } else { Scalar::Real(v) }
            }
            SEXPTYPE::RAWSXP => Scalar::Int(*ffi::RAW(sexp) as i64),
            SEXPTYPE::CPLXSXP => {
                let c = ffi::COMPLEX_ELT(sexp, 0);
                if mmapcore::codec::is_r_na(c.r) || mmapcore::codec::is_r_na(c.i) {
                    Scalar::Na
                } else {
                    Scalar::Cplx(c.r, c.i)
                }
            }
            SEXPTYPE::STRSXP => {
                let s = ffi::STRING_ELT(sexp, 0);
                if s == ffi::R_NaString {
                    Scalar::Na
                } else {
                    Scalar::Str(CStr::from_ptr(ffi::R_CHAR(s)).to_bytes().to_vec())
                }
            }
            _ => {
                return Err(MmError::Type(format!(
                    "a mapping can be compared with a number, a logical, a complex or a string, not {:?}",
                    x.rtype()
                )
                .to_lowercase()))
            }
        })
    }
}

/// `which(m <op> value)`: 1-based positions, integer (double past 2^31-1).
/// `spec` is the mapping's type spec (a struct is refused); for cstring `ix`
/// is the mapping's offset table (rebuilt here when absent or stale).
/// `mapping_first` is FALSE for `value <op> m`.
#[extendr]
fn mm_compare_(h: Robj, spec: Robj, op: &str, value: Robj, int64: bool, ix: Robj, mapping_first: bool) -> Robj {
    let mut stage = Stage::new();
    let filled = (|| {
        // `v < m` is `m > v`.
        let op = if mapping_first { Op::parse(op)? } else { Op::parse(op)?.swapped() };
        let hits = rec::with_view(&h, &spec, &ix, |v| v.compare(op, &scalar(&value, int64)?))?;
        if hits.last().is_some_and(|p| p >= i32::MAX as u64) {
            stage.fill(RKind::Double, hits.len(), |out| {
                let OutBuf::Double(o) = out else { return Err(MmError::Internal("expected a double vector".into())) };
                hits.fill_one_based_f64(o)
            })
        } else {
            stage.fill(RKind::Integer, hits.len(), |out| {
                let OutBuf::Integer(o) = out else { return Err(MmError::Internal("expected an integer vector".into())) };
                hits.fill_one_based_i32(o)
            })
        }
    })();
    // The mapping and the hits are gone: R may allocate now.
    finish(filled.map(|f| stage.to_robj(f)))
}

extendr_module! {
    mod ops;
    fn mm_compare_;
}
