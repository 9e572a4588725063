//! Conversions between R objects and the core's plain types. No decisions about
//! data live here: only "which slice of R's memory is this" and back.

use std::ffi::c_void;
use std::slice;

use extendr_api::prelude::*;
use extendr_api::Robj;
use extendr_ffi as ffi;
use extendr_ffi::SEXPTYPE;

use mmapcore::codec::{InBuf, OutBuf};
use mmapcore::index::IndexArg;
use mmapcore::layout::Layout;
use mmapcore::spec::Spec;
use mmapcore::{Ctype, MmError, RKind};

/// Errors travel back to R as a value; the R layer raises a classed condition.
pub fn condition(e: &MmError) -> Robj {
    let mut cond = List::from_names_and_values(
        ["message", "class"],
        [Robj::from(e.to_string()), Robj::from(e.classes())],
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

pub use mmapcore::spec::whole;

/// An R type description (the list R's type constructors build) as plain
/// values, uninterpreted: `mmapcore::spec` reads it.
pub fn spec(x: &Robj) -> Spec {
    if x.is_null() {
        return Spec::Null;
    }
    if let Some(list) = x.as_list() {
        return Spec::List(list.iter().map(|(k, v)| (k.to_string(), spec(&v))).collect());
    }
    if let Some(s) = x.as_str() {
        // extendr reads NA_character_ as the text "NA": keep it apart, so that
        // char(3, na = NA_character_) is refused rather than taken as "NA".
        if x.is_na() {
            return Spec::Other("NA_character_".into());
        }
        return Spec::Text(s.to_string());
    }
    if let Some(v) = x.as_real_slice() {
        return Spec::Numbers(v.to_vec());
    }
    if let Some(v) = x.as_integer_slice() {
        return Spec::Numbers(v.iter().map(|&k| if k == i32::MIN { f64::NAN } else { f64::from(k) }).collect());
    }
    if let Some(v) = x.as_logical_slice() {
        return Spec::Flags(v.iter().map(|b| if b.is_na() { None } else { Some(b.is_true()) }).collect());
    }
    Spec::Other(format!("{:?} of length {}", x.rtype(), x.len()).to_lowercase())
}

/// The scalar type an R type description stands for.
pub fn ctype(x: &Robj) -> mmapcore::Result<Ctype> {
    spec(x).ctype()
}

/// The layout an R type description stands for.
pub fn layout(x: &Robj) -> mmapcore::Result<Layout> {
    spec(x).layout()
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

/// Whether the `n` elements that `region(k, buf)` reads (R's GET_REGION,
/// a block at a time; it returns how many it filled) are `first`,
/// `first + 1`, ... Every element is read: nothing is taken from metadata.
fn reads_as_run<T: Copy + Default>(
    n: ffi::R_xlen_t,
    first: i64,
    mut region: impl FnMut(ffi::R_xlen_t, &mut [T]) -> ffi::R_xlen_t,
    as_f64: impl Fn(T) -> f64,
) -> bool {
    let mut buf = [T::default(); 4096];
    let mut k: ffi::R_xlen_t = 0;
    while k < n {
        let want = (n - k).min(buf.len() as ffi::R_xlen_t) as usize;
        let got = region(k, &mut buf[..want]);
        if got <= 0 || got as usize > want {
            return false;
        }
        let steps = buf[..got as usize].iter().enumerate().map(|(o, &v)| (o, as_f64(v)));
        if !mmapcore::index::continues_run(first, k as u64, steps) {
            return false;
        }
        k += got;
    }
    true
}

/// Recognises an ALTREP run `a:b` (R's compact sequences, or any vector that
/// holds one) without expanding it.
///
/// Nothing is assumed from ALTREP metadata: a vector that is sorted, NA-free
/// and spans n values may still repeat one (`sort(c(3L, 1L, 1L))`), so every
/// element is read, a region at a time, and must be one more than the last.
///
/// # Safety
/// `x` must be a protected INTSXP.
unsafe fn compact_int_seq(x: ffi::SEXP) -> Option<IndexArg<'static>> {
    // SAFETY: ALTREP, XLENGTH and INTEGER_GET_REGION are valid on any INTSXP;
    // the region read fills at most `buf.len()` elements of `buf` and does
    // not materialise a compact sequence.
    unsafe {
        let n = ffi::XLENGTH(x);
        if n < 2 || ffi::ALTREP(x) == 0 {
            return None;
        }
        let first = ffi::INTEGER_ELT(x, 0);
        if first == i32::MIN {
            return None;
        }
        let run = reads_as_run(n, first as i64, |k, buf: &mut [i32]| {
            ffi::INTEGER_GET_REGION(x, k, buf.len() as ffi::R_xlen_t, buf.as_mut_ptr())
        }, f64::from);
        run.then_some(IndexArg::Seq { from: first as i64, len: n as u64 })
    }
}

/// # Safety
/// `x` must be a protected REALSXP.
unsafe fn compact_real_seq(x: ffi::SEXP) -> Option<IndexArg<'static>> {
    // SAFETY: as in `compact_int_seq`, for doubles.
    unsafe {
        let n = ffi::XLENGTH(x);
        if n < 2 || ffi::ALTREP(x) == 0 {
            return None;
        }
        let first = ffi::REAL_ELT(x, 0);
        // Whole and small enough that first + k is exact.
        if !(first.is_finite() && first.fract() == 0.0 && first.abs() < 2f64.powi(52)) {
            return None;
        }
        let run = reads_as_run(n, first as i64, |k, buf: &mut [f64]| {
            ffi::REAL_GET_REGION(x, k, buf.len() as ffi::R_xlen_t, buf.as_mut_ptr())
        }, |v| v);
        run.then_some(IndexArg::Seq { from: first as i64, len: n as u64 })
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

#[allow(improper_ctypes)] // SEXP is an opaque pointer to C, as in extendr-ffi
extern "C" {
    // R_ext/Memory.h; extendr-ffi does not declare it.
    fn R_gc();
    // R >= 3.4 (Rinternals.h); extendr-ffi does not declare it.
    fn R_tryCatchError(
        body: Option<unsafe extern "C" fn(*mut c_void) -> ffi::SEXP>,
        bdata: *mut c_void,
        handler: Option<unsafe extern "C" fn(ffi::SEXP, *mut c_void) -> ffi::SEXP>,
        hdata: *mut c_void,
    ) -> ffi::SEXP;
}

/// Runs `body`, which calls the R API, so that an R error inside it (above all
/// "cannot allocate vector") comes back as `Err(MmError::Memory)` instead of a
/// longjmp over the caller's Rust frames: those frames own the mapping (an
/// `Arc`), the selection and other heap memory, which a longjmp would leak for
/// the rest of the session. Only `body`'s own frames are skipped on an error,
/// so `body` must borrow what it uses and own nothing that needs dropping.
/// `body` must not panic (it runs inside a C callback).
pub fn catch_r_error<T, F: FnOnce() -> T>(body: F) -> mmapcore::Result<T> {
    struct Call<F, T> {
        body: Option<F>,
        out: Option<T>,
        error: Option<String>,
    }
    unsafe extern "C" fn run<F: FnOnce() -> T, T>(data: *mut c_void) -> ffi::SEXP {
        // SAFETY: `data` is the `Call` below, alive and exclusively ours for
        // the duration of R_tryCatchError.
        let call = unsafe { &mut *data.cast::<Call<F, T>>() };
        if let Some(f) = call.body.take() {
            call.out = Some(f());
        }
        // SAFETY: reading a global constant of R's.
        unsafe { ffi::R_NilValue }
    }
    unsafe extern "C" fn on_error<F, T>(cond: ffi::SEXP, data: *mut c_void) -> ffi::SEXP {
        // SAFETY: as in `run`; `cond` is R's condition object, a list whose
        // first element is the message (a character vector) by R's convention.
        unsafe {
            let call = &mut *data.cast::<Call<F, T>>();
            let mut message = "R signalled an error".to_string();
            if ffi::TYPEOF(cond) == SEXPTYPE::VECSXP && ffi::XLENGTH(cond) > 0 {
                let m = ffi::VECTOR_ELT(cond, 0);
                if ffi::TYPEOF(m) == SEXPTYPE::STRSXP && ffi::XLENGTH(m) > 0 {
                    let c = std::ffi::CStr::from_ptr(ffi::R_CHAR(ffi::STRING_ELT(m, 0)));
                    message = c.to_string_lossy().into_owned();
                }
            }
            call.error = Some(message);
            ffi::R_NilValue
        }
    }
    let mut call: Call<F, T> = Call { body: Some(body), out: None, error: None };
    let data: *mut c_void = (&mut call as *mut Call<F, T>).cast();
    // SAFETY: both callbacks get `data`, which outlives the call; R runs the
    // body under tryCatch(error =), so an R error returns here normally.
    unsafe {
        R_tryCatchError(Some(run::<F, T>), data, Some(on_error::<F, T>), data);
    }
    match (call.out, call.error) {
        (Some(out), None) => Ok(out),
        (_, Some(message)) => Err(MmError::Memory(message)),
        (None, None) => Err(MmError::Internal("R skipped a protected call".into())),
    }
}

/// Runs `open`; if the process is out of file descriptors (each live mapping
/// keeps one), lets R collect garbage, whose finalizers close the files of
/// unreachable mmap objects, and tries once more.
pub fn open_retrying_after_gc<T>(open: impl Fn() -> mmapcore::Result<T>) -> mmapcore::Result<T> {
    match open() {
        Err(e) if e.is_out_of_descriptors() => {
            // SAFETY: called from R's main thread between Rust calls that own
            // nothing; finalizers run under R's own top-level protection.
            unsafe { R_gc() };
            open()
        }
        done => done,
    }
}

/// A fresh R vector of `n` elements; R's allocation failure is an `Err`, not
/// a longjmp (see [`catch_r_error`]), so callers may hold Rust resources.
pub fn alloc_vector(sexptype: SEXPTYPE, n: u64) -> mmapcore::Result<Robj> {
    let len = r_length(n)?;
    // SAFETY: as in `alloc_unguarded`, under the catch.
    catch_r_error(|| unsafe { alloc_unguarded(sexptype, len) }).map_err(|e| match e {
        MmError::Memory(why) => MmError::Memory(format!("R cannot allocate a result of {n} elements: {why}")),
        other => other,
    })
}

pub fn r_length(n: u64) -> mmapcore::Result<isize> {
    isize::try_from(n).map_err(|_| MmError::Layout(format!("cannot allocate {n} elements")))
}

/// # Safety
/// R may longjmp out of this (out of memory): the caller's frames up to R
/// must own nothing that needs dropping, or it must run under [`catch_r_error`].
unsafe fn alloc_unguarded(sexptype: SEXPTYPE, len: isize) -> Robj {
    // SAFETY: Rf_allocVector returns a fresh vector; it stays on R's protect
    // stack while Robj registers it (which may allocate too).
    unsafe {
        let x = ffi::Rf_protect(ffi::Rf_allocVector(sexptype, len));
        let robj = Robj::from_sexp(x);
        ffi::Rf_unprotect(1);
        robj
    }
}

/// Allocates the R vector an extraction fills, and lets `fill` write into it.
/// The allocation cannot longjmp (see [`alloc_vector`]), so callers may hold
/// the mapping and the selection across it; small results are cheaper
/// through [`Stage`].
pub fn alloc_and_fill(
    kind: RKind,
    n: u64,
    fill: impl FnOnce(OutBuf<'_>) -> mmapcore::Result<()>,
) -> mmapcore::Result<Robj> {
    let robj = alloc_vector(sexptype(kind), n)?;
    // SAFETY: the vector was just allocated with `n` elements of the matching
    // type; the slices live only for the `fill` call, while `robj` is protected.
    let out = unsafe { out_buf(ffi::DATAPTR(robj.get()), kind, n as usize) };
    fill(out)?;
    Ok(robj)
}

const STAGE_WORDS: usize = 4096;

/// Stack room for a small extraction result (64 KiB). Guarding an R
/// allocation with [`catch_r_error`] costs several microseconds (R evaluates a
/// `tryCatch()`), as much as the whole of `m[i]` for one element. So small
/// results are extracted here while the mapping is held, and copied into an
/// R vector allocated only after the caller has let go of the mapping and the
/// selection: should that allocation longjmp, it skips only plain data. The
/// stage lives in the outermost frame of the entry point, declared before any
/// resource is taken.
pub struct Stage {
    words: std::mem::MaybeUninit<[u128; STAGE_WORDS]>,
}

/// Where [`Stage::fill`] put the result.
pub enum Filled {
    /// In the stage: `n` elements of `kind`, waiting for [`Stage::to_robj`].
    Staged { kind: RKind, n: usize },
    /// Too large for the stage: already an R vector (allocated under [`catch_r_error`]).
    Vector(Robj),
}

impl Stage {
    pub fn new() -> Stage {
        Stage { words: std::mem::MaybeUninit::uninit() }
    }

    /// Lets `fill` write `n` elements of `kind`: into the stage when they fit,
    /// else into an R vector allocated under [`catch_r_error`].
    pub fn fill(
        &mut self,
        kind: RKind,
        n: u64,
        fill: impl FnOnce(OutBuf<'_>) -> mmapcore::Result<()>,
    ) -> mmapcore::Result<Filled> {
        let bytes = n.saturating_mul(element_bytes(kind) as u64);
        if bytes > (STAGE_WORDS * 16) as u64 {
            return alloc_and_fill(kind, n, fill).map(Filled::Vector);
        }
        let p = self.words.as_mut_ptr().cast::<u8>();
        // SAFETY: `bytes` fits the stage, which is 16-byte aligned (u128), as
        // every R element type needs; zeroing makes the prefix initialised
        // before a typed slice is made over it.
        let out = unsafe {
            std::ptr::write_bytes(p, 0, bytes as usize);
            out_buf(p.cast(), kind, n as usize)
        };
        fill(out)?;
        Ok(Filled::Staged { kind, n: n as usize })
    }

    /// The R vector of a result. For a staged result this allocates without a
    /// guard: call it only once every Rust resource of the call (mapping,
    /// selection, buffers) has been dropped.
    pub fn to_robj(&self, filled: Filled) -> Robj {
        match filled {
            Filled::Vector(robj) => robj,
            Filled::Staged { kind, n } => {
                // SAFETY: `n` elements fit the stage, so `n` fits isize; the
                // caller owns nothing a longjmp would skip. The copy moves the
                // initialised prefix of the stage into the fresh vector.
                unsafe {
                    let robj = alloc_unguarded(sexptype(kind), n as isize);
                    let bytes = n * element_bytes(kind);
                    std::ptr::copy_nonoverlapping(self.words.as_ptr().cast::<u8>(), ffi::DATAPTR(robj.get()).cast::<u8>(), bytes);
                    robj
                }
            }
        }
    }
}

impl Default for Stage {
    fn default() -> Self {
        Stage::new()
    }
}

/// Bytes of one element of R's vector for `kind`.
fn element_bytes(kind: RKind) -> usize {
    match kind {
        RKind::Raw => 1,
        RKind::Logical | RKind::Integer => 4,
        RKind::Double | RKind::Integer64 => 8,
        RKind::Complex => 16,
    }
}
