//! Conversions between R objects and the core's plain types. No decisions about
//! data live here: only "which slice of R's memory is this" and back.

use std::slice;

use extendr_api::prelude::*;
use extendr_api::Robj;
use extendr_ffi as ffi;
use extendr_ffi::SEXPTYPE;

use mmapcore::codec::{InBuf, OutBuf};
use mmapcore::index::IndexArg;
use mmapcore::{DType, MmError, RKind};

/// Errors travel back to R as a value; the R layer raises a classed condition.
pub fn condition(e: &MmError) -> Robj {
    let mut cond = List::from_names_and_values(
        ["message", "class"],
        [Robj::from(e.to_string()), Robj::from(e.class())],
    )
    .map(Robj::from)
    .unwrap_or_else(|_| Robj::from(e.to_string()));
    let _ = cond.set_class(["mmap_rust_error"]);
    cond
}

/// Unwraps a core result into what R gets back.
pub fn finish(r: mmapcore::Result<Robj>) -> Robj {
    r.unwrap_or_else(|e| condition(&e))
}

fn type_error(what: &str, x: &Robj) -> MmError {
    MmError::Type(format!("{what}, not {:?}", x.rtype()).to_lowercase())
}

/// A whole number stored in an R double, e.g. an offset past 2^31.
pub fn whole(x: f64, what: &str) -> mmapcore::Result<u64> {
    if x.is_finite() && x >= 0.0 && x.fract() == 0.0 && x < 2f64.powi(63) {
        Ok(x as u64)
    } else {
        Err(MmError::Type(format!("`{what}` must be a whole number of at least 0, not {x}")))
    }
}

/// Reads a type description built by R's type constructors (`list(name=, endian=, na=)`).
pub fn dtype(spec: &Robj) -> mmapcore::Result<DType> {
    let list = spec.as_list().ok_or_else(|| MmError::Internal("a type spec must be a list".into()))?;
    let mut name = None;
    let mut endian = "native".to_string();
    let mut na = None;
    for (key, value) in list.iter() {
        match key {
            "name" => name = value.as_str().map(str::to_string),
            "endian" => endian = value.as_str().unwrap_or("native").to_string(),
            "na" if !value.is_null() => {
                let v = value
                    .as_real()
                    .or_else(|| value.as_integer().map(f64::from))
                    .ok_or_else(|| MmError::Type("`na` must be a single number".into()))?;
                if v.is_nan() || v.fract() != 0.0 {
                    return Err(MmError::Type(format!("`na` must be a whole number, not {v}")));
                }
                na = Some(v as i64);
            }
            _ => {}
        }
    }
    let name = name.ok_or_else(|| MmError::Internal("a type spec needs a name".into()))?;
    DType::parse(&name, &endian, na)
}

/// The memory of an R atomic vector as a slice.
///
/// # Safety
/// `x` must be a live vector of the SEXPTYPE matching `T`, protected while the slice lives.
unsafe fn data<T>(x: &Robj, ptr: *mut T) -> &[T] {
    let _ = x;
    // SAFETY: R vectors store XLENGTH contiguous elements at their data pointer;
    // an empty vector still has a valid, aligned data pointer.
    unsafe { slice::from_raw_parts(ptr, ffi::XLENGTH(x.get()) as usize) }
}

/// How R's `i` should be read. `NULL` stands for a missing index.
pub fn index_arg(x: &Robj) -> mmapcore::Result<IndexArg<'_>> {
    // SAFETY: every branch reads `x` according to the SEXPTYPE it was just
    // checked to have; `x` is protected by the caller for the whole call.
    unsafe {
        let sexp = x.get();
        match ffi::TYPEOF(sexp) {
            SEXPTYPE::NILSXP => Ok(IndexArg::Missing),
            SEXPTYPE::INTSXP => {
                if let Some(seq) = compact_int_seq(sexp) {
                    return Ok(seq);
                }
                Ok(IndexArg::Int(data(x, ffi::INTEGER(sexp))))
            }
            SEXPTYPE::REALSXP => {
                if let Some(seq) = compact_real_seq(sexp) {
                    return Ok(seq);
                }
                Ok(IndexArg::Real(data(x, ffi::REAL(sexp))))
            }
            SEXPTYPE::LGLSXP => Ok(IndexArg::Logical(data(x, ffi::LOGICAL(sexp)))),
            _ => Err(type_error("an index must be numeric or logical", x)),
        }
    }
}

/// Recognises R's compact `a:b` without expanding it.
///
/// # Safety
/// `x` must be a protected INTSXP.
unsafe fn compact_int_seq(x: ffi::SEXP) -> Option<IndexArg<'static>> {
    // SAFETY: the ALTREP queries and *_ELT accessors are valid on any INTSXP and
    // do not materialise a compact sequence.
    unsafe {
        let n = ffi::XLENGTH(x);
        if n < 2 || ffi::ALTREP(x) == 0 || ffi::INTEGER_IS_SORTED(x) != 1 || ffi::INTEGER_NO_NA(x) != 1 {
            return None;
        }
        let first = ffi::INTEGER_ELT(x, 0) as i64;
        let last = ffi::INTEGER_ELT(x, n - 1) as i64;
        (last - first + 1 == n as i64).then_some(IndexArg::Seq { from: first, len: n as u64 })
    }
}

/// # Safety
/// `x` must be a protected REALSXP.
unsafe fn compact_real_seq(x: ffi::SEXP) -> Option<IndexArg<'static>> {
    // SAFETY: as in `compact_int_seq`, for doubles.
    unsafe {
        let n = ffi::XLENGTH(x);
        if n < 2 || ffi::ALTREP(x) == 0 || ffi::REAL_IS_SORTED(x) != 1 || ffi::REAL_NO_NA(x) != 1 {
            return None;
        }
        let first = ffi::REAL_ELT(x, 0);
        let last = ffi::REAL_ELT(x, n - 1);
        let whole_run = first.fract() == 0.0 && last - first + 1.0 == n as f64;
        whole_run.then_some(IndexArg::Seq { from: first as i64, len: n as u64 })
    }
}

/// The memory of a replacement value. `int64` marks a bit64::integer64 vector.
pub fn in_buf(x: &Robj, int64: bool) -> mmapcore::Result<InBuf<'_>> {
    // SAFETY: each branch reads `x` as the SEXPTYPE it was checked to have.
    unsafe {
        let sexp = x.get();
        Ok(match ffi::TYPEOF(sexp) {
            SEXPTYPE::RAWSXP => InBuf::Raw(data(x, ffi::RAW(sexp))),
            SEXPTYPE::LGLSXP => InBuf::Logical(data(x, ffi::LOGICAL(sexp))),
            SEXPTYPE::INTSXP => InBuf::Integer(data(x, ffi::INTEGER(sexp))),
            SEXPTYPE::REALSXP if int64 => InBuf::Int64(data(x, ffi::REAL(sexp).cast::<i64>())),
            SEXPTYPE::REALSXP => InBuf::Double(data(x, ffi::REAL(sexp))),
            SEXPTYPE::CPLXSXP => InBuf::Complex(data(x, ffi::COMPLEX(sexp).cast::<[f64; 2]>())),
            _ => return Err(type_error("a replacement value must be raw, logical, integer, double or complex", x)),
        })
    }
}

/// The R vector type that holds elements of `kind` (integer64 lives in doubles).
pub fn sexptype(kind: RKind) -> SEXPTYPE {
    match kind {
        RKind::Raw => SEXPTYPE::RAWSXP,
        RKind::Logical => SEXPTYPE::LGLSXP,
        RKind::Integer => SEXPTYPE::INTSXP,
        RKind::Double | RKind::Integer64 => SEXPTYPE::REALSXP,
        RKind::Complex => SEXPTYPE::CPLXSXP,
    }
}

/// The memory of an R vector as the output of an extraction.
///
/// # Safety
/// `p` must point at `n` writable elements of R's type for `kind` (see
/// [`sexptype`]) that outlive the returned buffer.
pub unsafe fn out_buf<'a>(p: *mut std::ffi::c_void, kind: RKind, n: usize) -> OutBuf<'a> {
    use std::slice::from_raw_parts_mut as slice;
    // SAFETY: per the contract; integer64 is i64 bits in doubles, and R's
    // complex is two doubles.
    unsafe {
        match kind {
            RKind::Raw => OutBuf::Raw(slice(p.cast(), n)),
            RKind::Logical => OutBuf::Logical(slice(p.cast(), n)),
            RKind::Integer => OutBuf::Integer(slice(p.cast(), n)),
            RKind::Double => OutBuf::Double(slice(p.cast(), n)),
            RKind::Integer64 => OutBuf::Int64(slice(p.cast(), n)),
            RKind::Complex => OutBuf::Complex(slice(p.cast(), n)),
        }
    }
}

/// Allocates the R vector an extraction fills, and lets `fill` write into it.
pub fn alloc_and_fill(
    kind: RKind,
    n: u64,
    fill: impl FnOnce(OutBuf<'_>) -> mmapcore::Result<()>,
) -> mmapcore::Result<Robj> {
    let sexptype = sexptype(kind);
    let len = isize::try_from(n).map_err(|_| MmError::Layout(format!("cannot allocate {n} elements")))?;
    // SAFETY: Rf_allocVector either returns a fresh vector or longjmps with R's
    // own "cannot allocate" error; Robj::from_sexp protects it until dropped.
    let robj = unsafe { Robj::from_sexp(ffi::Rf_allocVector(sexptype, len)) };
    let n = n as usize;
    // SAFETY: the vector was just allocated with `n` elements of the matching
    // type; the slices live only for the `fill` call, while `robj` is protected.
    let out = unsafe { out_buf(ffi::DATAPTR(robj.get()), kind, n) };
    fill(out)?;
    Ok(robj)
}
