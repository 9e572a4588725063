//! Views: ALTREP vectors whose elements live in a mapping, and the summaries
//! of mappings and views.
//!
//! A view holds the very `Arc<Mapping>` its mmap object holds (never a mapping
//! of its own, never the path), so it shows what `m[]` shows, including the
//! writes of a private mapping and after the file at the path was replaced,
//! and it stays valid after `munmap()`. R may read the mapped pages in place
//! (read-only pointer requests) when they already are R's representation;
//! everything else is decoded on demand. A writable pointer request (R's own
//! modify path, or C code calling `REAL(x)`) gets a private copy that the view
//! serves from then on: a view never writes to the file or the mapping.
//!
//! `data2` of a view is NULL or a list of two slots: the private copy, and for
//! character views a cache of the CHARSXPs handed out (R requires that a
//! string element stays valid while the vector lives).

use std::ffi::{c_char, c_int, c_void, CString};
use std::sync::{Arc, OnceLock};

use extendr_api::prelude::*;
use extendr_api::Robj;
use extendr_ffi as ffi;
use extendr_ffi::{R_altrep_class_t, R_xlen_t, Rboolean, SEXP, SEXPTYPE};

use mmapcore::codec::int64_to_double;
use mmapcore::column::{Column, RIndex};
use mmapcore::index::Selection;
use mmapcore::layout::Layout;
use mmapcore::map::{MapOptions, Mapping, PROT_READ};
use mmapcore::summary::{self, Op, Value};
use mmapcore::{MmError, RKind};

use crate::conv::{finish, out_buf, sexptype, whole};
use crate::handle;
use crate::conv::layout;
use crate::rec::shared_index;

/// What a view reads and how R sees it.
struct ViewState {
    map: Arc<Mapping>,
    col: Column,
    /// The R vector type of the view.
    rtype: SEXPTYPE,
    /// int64 shown as doubles (no bit64): decoded, then converted.
    int64_as_double: bool,
    /// Serialize as a reference to the file rather than as values.
    by_reference: bool,
    /// The mapped elements when R reads them in place (address of the first).
    direct: Option<*const u8>,
}

impl ViewState {
    fn bytes(&self) -> Result<&[u8], String> {
        self.map.bytes().map_err(|e| e.to_string())
    }

    fn rkind(&self) -> Option<RKind> {
        self.col.rkind()
    }
}

#[derive(Clone, Copy)]
struct Classes {
    real: R_altrep_class_t,
    integer: R_altrep_class_t,
    logical: R_altrep_class_t,
    raw: R_altrep_class_t,
    complex: R_altrep_class_t,
    string: R_altrep_class_t,
}

// SAFETY: the class handles are R objects that R keeps alive for the session;
// they are only ever used on R's main thread.
unsafe impl Send for Classes {}
// SAFETY: as above; the OnceLock only publishes them once, at package init.
unsafe impl Sync for Classes {}

static CLASSES: OnceLock<Classes> = OnceLock::new();

fn class_for(rtype: SEXPTYPE) -> Option<R_altrep_class_t> {
    let c = CLASSES.get()?;
    Some(match rtype {
        SEXPTYPE::REALSXP => c.real,
        SEXPTYPE::INTSXP => c.integer,
        SEXPTYPE::LGLSXP => c.logical,
        SEXPTYPE::RAWSXP => c.raw,
        SEXPTYPE::CPLXSXP => c.complex,
        SEXPTYPE::STRSXP => c.string,
        _ => return None,
    })
}

fn tag() -> SEXP {
    // SAFETY: Rf_install interns a symbol from a valid nul-terminated string.
    unsafe { ffi::Rf_install(c"mmap_view".as_ptr()) }
}

unsafe extern "C" fn finalize_state(x: SEXP) {
    // SAFETY: only registered on view state pointers created in `new_view`,
    // whose address is a leaked Box<ViewState>, cleared after freeing.
    unsafe {
        let p = ffi::R_ExternalPtrAddr(x).cast::<ViewState>();
        if !p.is_null() {
            drop(Box::from_raw(p));
            ffi::R_ClearExternalPtr(x);
        }
    }
}

/// Raises an R error. Nothing with a destructor may be alive in the caller's
/// frame: R unwinds with longjmp. The message is leaked on purpose.
fn r_error(msg: String) -> ! {
    let c = CString::new(msg.replace('\0', " ")).unwrap_or_default().into_raw();
    // SAFETY: "%s" with one C string argument; Rf_error never returns.
    unsafe { ffi::Rf_error(c"%s".as_ptr(), c) }
}

/// Runs `f`, turning an error or a panic into an R error after `f`'s frame is gone.
fn guarded<T>(f: impl FnOnce() -> Result<T, String>) -> T {
    let outcome = std::panic::catch_unwind(std::panic::AssertUnwindSafe(f))
        .unwrap_or_else(|_| Err("internal error in an mmap view".to_string()));
    match outcome {
        Ok(v) => v,
        Err(msg) => r_error(msg),
    }
}

/// # Safety
/// `x` must be one of our ALTREP views.
unsafe fn state<'a>(x: SEXP) -> Result<&'a ViewState, String> {
    // SAFETY: data1 of our views is the state external pointer; its address
    // is a live ViewState for as long as the pointer object is reachable.
    let p = unsafe { ffi::R_ExternalPtrAddr(ffi::R_altrep_data1(x)) }.cast::<ViewState>();
    if p.is_null() {
        return Err("the mmap view has lost its mapping".into());
    }
    // SAFETY: non-null addresses are live boxes owned by the external pointer.
    Ok(unsafe { &*p })
}

/// The private copy of view `x`, or NULL.
///
/// # Safety
/// `x` must be one of our views.
unsafe fn copy_of(x: SEXP) -> SEXP {
    // SAFETY: data2 is NULL or the two-slot list this module creates.
    unsafe {
        let d2 = ffi::R_altrep_data2(x);
        if d2 == ffi::R_NilValue { d2 } else { ffi::VECTOR_ELT(d2, 0) }
    }
}

/// data2 as the two-slot list, created on first use.
///
/// # Safety
/// `x` must be one of our views; R's main thread.
unsafe fn slots(x: SEXP) -> SEXP {
    // SAFETY: the new list is stored in `x` right away, which protects it.
    unsafe {
        let d2 = ffi::R_altrep_data2(x);
        if d2 != ffi::R_NilValue {
            return d2;
        }
        let d2 = ffi::Rf_allocVector(SEXPTYPE::VECSXP, 2);
        ffi::R_set_altrep_data2(x, d2);
        d2
    }
}

/// Wraps a state in a new view. `info` (the description kept for
/// serialization by reference) is held by the state pointer.
///
/// # Safety
/// R's main thread; `info` is a live R object.
unsafe fn new_view(st: ViewState, info: SEXP) -> Result<SEXP, String> {
    let class = class_for(st.rtype).ok_or("ALTREP classes are not registered")?;
    let state = Box::into_raw(Box::new(st));
    // SAFETY: standard construction of an external pointer that owns `state`
    // (freed by its finalizer) and of the ALTREP object that holds it; every
    // fresh SEXP is protected until the ALTREP object references it. If an
    // allocation fails R longjmps and the box leaks, which is safe.
    unsafe {
        let ptr = ffi::Rf_protect(ffi::R_MakeExternalPtr(state.cast(), tag(), info));
        ffi::R_RegisterCFinalizerEx(ptr, Some(finalize_state), Rboolean::TRUE);
        let view = ffi::R_new_altrep(class, ptr, ffi::R_NilValue);
        ffi::Rf_unprotect(1);
        Ok(view)
    }
}

fn direct_of(map: &Mapping, col: &Column, int64_as_double: bool) -> Option<*const u8> {
    if int64_as_double {
        return None;
    }
    map.bytes().ok().and_then(|b| col.verbatim(b)).map(<[u8]>::as_ptr)
}

fn view_rtype(col: &Column) -> SEXPTYPE {
    col.rkind().map_or(SEXPTYPE::STRSXP, sexptype)
}

/// The column `field` (1-based; 0 for a non-struct) of a mapping, windowed to
/// `from .. from + len` (`len` < 0: to the end).
fn column(map: &Mapping, spec: &Robj, field: i32, cindex: &Robj, from: f64, len: f64) -> mmapcore::Result<Column> {
    let l = layout(spec)?;
    let col = match &l {
        Layout::Struct(r) => {
            let k = usize::try_from(field - 1).map_err(|_| MmError::Internal("a struct column needs a field".into()))?;
            Column::field(r, k, map.len())?
        }
        Layout::CString => Column::whole(&l, map.len(), Some(shared_index(map, cindex)?))?,
        Layout::Scalar(_) | Layout::Bits(_) | Layout::Char(_) => Column::whole(&l, map.len(), None)?,
    };
    let from = whole(from, "from")?;
    let len = if len < 0.0 { col.len.saturating_sub(from) } else { whole(len, "len")? };
    col.window(from, len)
}

/// A view of the live mmap handle `h`: `spec` describes the type, `field`
/// picks a struct column, `from`/`len` a window. `info` is what a view
/// serialized by reference stores.
#[extendr]
#[allow(clippy::too_many_arguments)]
fn mm_view_(h: Robj, spec: Robj, field: i32, cindex: Robj, from: f64, len: f64, int64_as_double: bool, by_reference: bool, info: Robj) -> Robj {
    finish((|| {
        let map = handle::mapping(&h)?;
        let col = column(&map, &spec, field, &cindex, from, len)?;
        let rtype = if int64_as_double { SEXPTYPE::REALSXP } else { view_rtype(&col) };
        let direct = direct_of(&map, &col, int64_as_double);
        let st = ViewState { map, col, rtype, int64_as_double, by_reference, direct };
        // SAFETY: `info` is protected by its Robj for this call; the view is
        // wrapped in an Robj (which protects it) before anything else allocates.
        unsafe {
            let view = new_view(st, info.get()).map_err(MmError::Type)?;
            Ok(Robj::from_sexp(view))
        }
    })())
}

/// Whether `x` is one of our views; whether R reads it in place; whether it
/// has a private copy.
#[extendr]
fn mm_view_info_(x: Robj) -> Robj {
    // SAFETY: ALTREP and R_altrep_inherits only inspect the object's header.
    let ours = unsafe {
        let s = x.get();
        ffi::ALTREP(s) != 0 && CLASSES.get().is_some_and(|c| {
            [c.real, c.integer, c.logical, c.raw, c.complex, c.string]
                .iter()
                .any(|&cl| ffi::R_altrep_inherits(s, cl) != Rboolean::FALSE)
        })
    };
    if !ours {
        return Robj::from([false, false, false]);
    }
    // SAFETY: `x` is one of our views (checked above).
    let (zero_copy, copied) = unsafe {
        let s = x.get();
        let copied = copy_of(s) != ffi::R_NilValue;
        let zc = state(s)
            .ok()
            .and_then(|st| st.bytes().ok().map(|b| !st.int64_as_double && st.col.verbatim(b).is_some()))
            .unwrap_or(false);
        (zc && !copied, copied)
    };
    Robj::from([true, zero_copy, copied])
}

// ---------------------------------------------------------------------------
// Summaries

fn value_robj(v: Value) -> Robj {
    match v {
        Value::Int(v) => Robj::from(v),
        Value::Lgl(v) => {
            let l = if v == i32::MIN { Rbool::na() } else { Rbool::from(v != 0) };
            Robj::from(l)
        }
        Value::Dbl(v) => Robj::from(v),
        Value::Cplx([re, im]) => Robj::from(Rcplx::new(re, im)),
        Value::I64(v) => {
            // bit64's integer64: the i64 bit patterns in a double vector.
            let bits: Vec<f64> = v.iter().map(|&x| f64::from_bits(x as u64)).collect();
            let mut r = Robj::from(bits);
            // Setting a class on a fresh, unshared vector cannot fail.
            let _ = r.set_class(["integer64"]);
            r
        }
    }
}

/// `op` over a window of a mapping: list(value, warnings), or NULL where R's
/// own function must answer (the caller then applies it to a view).
#[extendr]
#[allow(clippy::too_many_arguments)]
fn mm_summary_op_(h: Robj, spec: Robj, field: i32, cindex: Robj, from: f64, len: f64, op: &str, narm: bool) -> Robj {
    finish((|| {
        let op = Op::parse(op).ok_or_else(|| MmError::Internal(format!("unknown summary \"{op}\"")))?;
        let map = handle::mapping(&h)?;
        let col = column(&map, &spec, field, &cindex, from, len)?;
        let bytes = map.bytes()?;
        Ok(match summary::summarise(&col, bytes, op, narm)? {
            None => Robj::from(()),
            Some(a) => Robj::from(List::from_values([value_robj(a.value), Robj::from(a.warnings)])),
        })
    })())
}

/// An R vector holding a summary's value, or NULL for R to compute it.
///
/// # Safety
/// `x` must be one of our views; R's main thread.
unsafe fn view_summary(x: SEXP, op: Op, narm: Rboolean) -> SEXP {
    let none = std::ptr::null_mut();
    // SAFETY: per the contract; the answer is computed before any allocation.
    unsafe {
        if copy_of(x) != ffi::R_NilValue {
            return none;
        }
        let Ok(st) = state(x) else { return none };
        if st.int64_as_double {
            return none;
        }
        let Ok(bytes) = st.bytes() else { return none };
        let answer = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
            summary::summarise(&st.col, bytes, op, narm != Rboolean::FALSE)
        }));
        // R issues its own warnings (e.g. for an empty view): leave those to it.
        let value = match answer {
            Ok(Ok(Some(a))) if a.warnings.is_empty() => a.value,
            _ => return none,
        };
        match value {
            Value::Int(v) if v.len() == 1 => ffi::Rf_ScalarInteger(v[0]),
            Value::Dbl(v) if v.len() == 1 => {
                let s = ffi::Rf_allocVector(SEXPTYPE::REALSXP, 1);
                *ffi::REAL(s) = v[0];
                s
            }
            _ => none,
        }
    }
}

unsafe extern "C" fn alt_sum(x: SEXP, narm: Rboolean) -> SEXP {
    // SAFETY: R calls this only on our views.
    unsafe { view_summary(x, Op::Sum, narm) }
}

unsafe extern "C" fn alt_min(x: SEXP, narm: Rboolean) -> SEXP {
    // SAFETY: R calls this only on our views.
    unsafe { view_summary(x, Op::Min, narm) }
}

unsafe extern "C" fn alt_max(x: SEXP, narm: Rboolean) -> SEXP {
    // SAFETY: R calls this only on our views.
    unsafe { view_summary(x, Op::Max, narm) }
}

// ---------------------------------------------------------------------------
// ALTREP methods

unsafe extern "C" fn length(x: SEXP) -> R_xlen_t {
    // SAFETY: R calls this only on our views.
    guarded(|| Ok(unsafe { state(x) }?.col.len as R_xlen_t))
}

/// Decodes elements `i .. i+n` of view `x` (not its copy) into `buf`.
///
/// # Safety
/// `x` is one of our views; `buf` has room for `n` elements of its R type.
unsafe fn decode(st: &ViewState, i: u64, n: usize, buf: *mut c_void) -> Result<(), String> {
    let rkind = st.rkind().ok_or("internal: strings are not decoded into a buffer")?;
    let bytes = st.bytes()?;
    // SAFETY: per the contract, `buf` holds `n` elements of R's type for `rkind`
    // (integer64 and its double form are both 8-byte slots).
    let out = unsafe { out_buf(buf, rkind, n) };
    st.col.extract(bytes, &Selection::Range { start: i, len: n as u64 }, out).map_err(|e| e.to_string())?;
    if st.int64_as_double {
        // SAFETY: as above; the bit patterns just written become doubles in place.
        int64_to_double(unsafe { std::slice::from_raw_parts_mut(buf.cast::<f64>(), n) });
    }
    Ok(())
}

fn elt_width(rtype: SEXPTYPE) -> usize {
    match rtype {
        SEXPTYPE::RAWSXP => 1,
        SEXPTYPE::INTSXP | SEXPTYPE::LGLSXP => 4,
        SEXPTYPE::CPLXSXP => 16,
        _ => 8,
    }
}

/// Elements `i .. i+n` of view `x` into `buf`; returns how many.
///
/// # Safety
/// `x` is one of our numeric views; `buf` has room for `n` elements of its R type.
unsafe fn region(x: SEXP, i: R_xlen_t, n: R_xlen_t, buf: *mut c_void) -> Result<R_xlen_t, String> {
    // SAFETY: per the contract; a private copy is read in place.
    unsafe {
        let st = state(x)?;
        let len = st.col.len as R_xlen_t;
        if i < 0 || i >= len || n <= 0 {
            return Ok(0);
        }
        let n = n.min(len - i);
        let copy = copy_of(x);
        if copy != ffi::R_NilValue {
            let w = elt_width(st.rtype);
            let src = ffi::DATAPTR_RO(copy).cast::<u8>().add(i as usize * w);
            std::ptr::copy_nonoverlapping(src, buf.cast::<u8>(), n as usize * w);
            return Ok(n);
        }
        decode(st, i as u64, n as usize, buf)?;
        Ok(n)
    }
}

/// Element `i` read straight from the private copy or the mapped bytes, when
/// the view has one or the other (R's element-wise loops call Elt per element).
///
/// # Safety
/// `x` is one of our numeric views whose R element type is `T`.
unsafe fn direct_elt<T: Copy>(x: SEXP, i: R_xlen_t) -> Option<T> {
    // SAFETY: per the contract; `i` is checked against the length first, and
    // both the copy and the verbatim run hold `len` elements of type `T`.
    unsafe {
        let st = state(x).ok()?;
        if i < 0 || i as u64 >= st.col.len {
            return None;
        }
        let copy = copy_of(x);
        if copy != ffi::R_NilValue {
            return Some(*ffi::DATAPTR_RO(copy).cast::<T>().add(i as usize));
        }
        // mprotect() may have taken reading away since the view was made:
        // then the checked path below reports it as an R error.
        if st.map.prot() & PROT_READ == 0 {
            return None;
        }
        let p = st.direct?;
        Some(std::ptr::read_unaligned(p.cast::<T>().add(i as usize)))
    }
}

macro_rules! elt_and_region {
    ($elt:ident, $region:ident, $t:ty) => {
        unsafe extern "C" fn $elt(x: SEXP, i: R_xlen_t) -> $t {
            // SAFETY: R calls this only on our views of this element type.
            if let Some(v) = unsafe { direct_elt::<$t>(x, i) } {
                return v;
            }
            guarded(|| {
                let mut v = std::mem::MaybeUninit::<$t>::zeroed();
                // SAFETY: one element of room; `x` is one of our views.
                let got = unsafe { region(x, i, 1, v.as_mut_ptr().cast()) }?;
                if got != 1 {
                    return Err(format!("index {} is out of bounds for an mmap view", i + 1));
                }
                // SAFETY: zero-initialised and then fully written by `region`.
                Ok(unsafe { v.assume_init() })
            })
        }

        unsafe extern "C" fn $region(x: SEXP, i: R_xlen_t, n: R_xlen_t, buf: *mut $t) -> R_xlen_t {
            // SAFETY: R guarantees `buf` holds `n` elements.
            guarded(|| unsafe { region(x, i, n, buf.cast()) })
        }
    };
}

elt_and_region!(real_elt, real_region, f64);
elt_and_region!(int_elt, int_region, c_int);
elt_and_region!(lgl_elt, lgl_region, c_int);
elt_and_region!(raw_elt, raw_region, u8);
elt_and_region!(cplx_elt, cplx_region, ffi::Rcomplex);

/// One string of view `x` as a CHARSXP (NA_STRING for NA), not cached.
///
/// # Safety
/// `st` is the state of a live string view; R's main thread.
unsafe fn decode_string(st: &ViewState, i: u64) -> Result<SEXP, String> {
    let bytes = st.bytes()?;
    let mut text: Option<&[u8]> = None;
    st.col
        .strings(bytes, &Selection::Range { start: i, len: 1 }, |_, t| text = t)
        .map_err(|e| e.to_string())?;
    let Some(t) = text else {
        // SAFETY: reading R's NA string constant.
        return Ok(unsafe { ffi::R_NaString });
    };
    let n = i32::try_from(t.len()).map_err(|_| "a string is longer than R's limit of 2^31-1 bytes".to_string())?;
    let enc = if t.is_ascii() {
        ffi::cetype_t::CE_NATIVE
    } else if std::str::from_utf8(t).is_ok() {
        ffi::cetype_t::CE_UTF8
    } else {
        ffi::cetype_t::CE_BYTES
    };
    // SAFETY: mkCharLenCE copies `n` bytes (which hold no nul) into R's cache.
    Ok(unsafe { ffi::Rf_mkCharLenCE(t.as_ptr().cast(), n, enc) })
}

const STRING_BLOCK: R_xlen_t = 1024;

/// String `i` of view `x`, decoded once and kept in the view's cache so that
/// the CHARSXP stays reachable for as long as the view.
///
/// # Safety
/// `x` is one of our string views, `0 <= i < length`; R's main thread.
unsafe fn string_at(x: SEXP, i: R_xlen_t) -> Result<SEXP, String> {
    // SAFETY: each fresh SEXP is stored into a list reachable from `x` before
    // the next allocation, so the collector always sees it.
    unsafe {
        let copy = copy_of(x);
        if copy != ffi::R_NilValue {
            return Ok(ffi::STRING_ELT(copy, i));
        }
        let st = state(x)?;
        let d2 = slots(x);
        let mut cache = ffi::VECTOR_ELT(d2, 1);
        if cache == ffi::R_NilValue {
            let blocks = (st.col.len as R_xlen_t + STRING_BLOCK - 1) / STRING_BLOCK;
            cache = ffi::Rf_allocVector(SEXPTYPE::VECSXP, blocks);
            ffi::SET_VECTOR_ELT(d2, 1, cache);
        }
        let mut block = ffi::VECTOR_ELT(cache, i / STRING_BLOCK);
        if block == ffi::R_NilValue {
            block = ffi::Rf_allocVector(SEXPTYPE::VECSXP, STRING_BLOCK);
            ffi::SET_VECTOR_ELT(cache, i / STRING_BLOCK, block);
        }
        let hit = ffi::VECTOR_ELT(block, i % STRING_BLOCK);
        if hit != ffi::R_NilValue {
            return Ok(hit);
        }
        let s = decode_string(st, i as u64)?;
        ffi::SET_VECTOR_ELT(block, i % STRING_BLOCK, s);
        Ok(s)
    }
}

unsafe extern "C" fn string_elt(x: SEXP, i: R_xlen_t) -> SEXP {
    guarded(|| {
        // SAFETY: R calls this only on our string views.
        unsafe {
            if i < 0 || i >= state(x)?.col.len as R_xlen_t {
                return Err(format!("index {} is out of bounds for an mmap view", i + 1));
            }
            string_at(x, i)
        }
    })
}

/// The private copy of `x`, made now if there is none: the whole view decoded
/// into an ordinary R vector that the view serves from then on.
///
/// # Safety
/// `x` must be one of our views; R's main thread.
unsafe fn materialize(x: SEXP) -> Result<SEXP, String> {
    // SAFETY: see the function contract; the new vector is protected while filled.
    unsafe {
        let existing = copy_of(x);
        if existing != ffi::R_NilValue {
            return Ok(existing);
        }
        let st = state(x)?;
        let n = st.col.len as R_xlen_t;
        let copy = ffi::Rf_protect(ffi::Rf_allocVector(st.rtype, n));
        if st.rtype == SEXPTYPE::STRSXP {
            for i in 0..n {
                match decode_string(st, i as u64) {
                    Ok(s) => ffi::SET_STRING_ELT(copy, i, s),
                    Err(e) => {
                        ffi::Rf_unprotect(1);
                        return Err(e);
                    }
                }
            }
        } else if n > 0 {
            if let Err(e) = decode(st, 0, n as usize, ffi::DATAPTR(copy)) {
                ffi::Rf_unprotect(1);
                return Err(e);
            }
        }
        let d2 = slots(x);
        ffi::SET_VECTOR_ELT(d2, 0, copy);
        // The copy serves strings now; the per-element cache is no longer needed.
        ffi::SET_VECTOR_ELT(d2, 1, ffi::R_NilValue);
        ffi::Rf_unprotect(1);
        Ok(copy)
    }
}

unsafe extern "C" fn dataptr(x: SEXP, writeable: Rboolean) -> *mut c_void {
    guarded(|| {
        // SAFETY: R calls this only on our views, on its main thread.
        unsafe {
            if writeable == Rboolean::FALSE && copy_of(x) == ffi::R_NilValue {
                let st = state(x)?;
                if !st.int64_as_double {
                    if let Some(run) = st.col.verbatim(st.bytes()?) {
                        // Read-only: R promised not to write through this pointer.
                        return Ok(run.as_ptr() as *mut c_void);
                    }
                }
            }
            // A writable pointer is never the mapped pages: R gets a private copy.
            Ok(ffi::DATAPTR(materialize(x)?))
        }
    })
}

unsafe extern "C" fn dataptr_or_null(x: SEXP) -> *const c_void {
    // SAFETY: R calls this only on our views.
    unsafe {
        let copy = copy_of(x);
        if copy != ffi::R_NilValue {
            return ffi::DATAPTR_RO(copy);
        }
        match state(x) {
            Ok(st) if !st.int64_as_double => st
                .bytes()
                .ok()
                .and_then(|b| st.col.verbatim(b))
                .map_or(std::ptr::null(), |run| run.as_ptr().cast()),
            _ => std::ptr::null(),
        }
    }
}

unsafe extern "C" fn string_set_elt(x: SEXP, i: R_xlen_t, v: SEXP) {
    guarded(|| {
        // SAFETY: R calls this only on our string views with a CHARSXP `v`,
        // which R protects for the call.
        unsafe {
            let copy = materialize(x)?;
            ffi::SET_STRING_ELT(copy, i, v);
        }
        Ok(())
    })
}

/// `x[indx]` for R's resolved index (1-based, NA or past the end give NA).
unsafe extern "C" fn extract_subset(x: SEXP, indx: SEXP, _call: SEXP) -> SEXP {
    guarded(|| {
        // SAFETY: R calls this only on our views with an integer or double
        // index vector it protects; the result is protected while filled.
        unsafe {
            let st = state(x)?;
            // A copy is read in place by R's own code; int64 shown as doubles
            // is converted element by element (Elt).
            if copy_of(x) != ffi::R_NilValue || st.int64_as_double {
                return Ok(std::ptr::null_mut());
            }
            let n = ffi::XLENGTH(indx);
            let idx = match ffi::TYPEOF(indx) {
                SEXPTYPE::INTSXP => RIndex::Int(std::slice::from_raw_parts(ffi::DATAPTR_RO(indx).cast(), n as usize)),
                SEXPTYPE::REALSXP => RIndex::Real(std::slice::from_raw_parts(ffi::DATAPTR_RO(indx).cast(), n as usize)),
                _ => return Ok(std::ptr::null_mut()),
            };
            let result = ffi::Rf_protect(ffi::Rf_allocVector(st.rtype, n));
            let len = st.col.len;
            if st.rtype == SEXPTYPE::STRSXP {
                for k in 0..n as usize {
                    let p = match idx {
                        RIndex::Int(v) if v[k] != i32::MIN && v[k] >= 1 && (v[k] as u64) <= len => Some(v[k] as R_xlen_t - 1),
                        RIndex::Real(v) if v[k] >= 1.0 && v[k] < len as f64 + 1.0 => Some(v[k] as R_xlen_t - 1),
                        _ => None,
                    };
                    let s = match p {
                        Some(p) => match string_at(x, p) {
                            Ok(s) => s,
                            Err(e) => {
                                ffi::Rf_unprotect(1);
                                return Err(e);
                            }
                        },
                        None => ffi::R_NaString,
                    };
                    ffi::SET_STRING_ELT(result, k as R_xlen_t, s);
                }
                ffi::Rf_unprotect(1);
                return Ok(result);
            }
            let rkind = st.rkind().ok_or("internal: a numeric view without a numeric type")?;
            let filled = st.bytes().and_then(|bytes| {
                let out = out_buf(ffi::DATAPTR(result), rkind, n as usize);
                st.col.gather(bytes, idx, out).map_err(|e| e.to_string())
            });
            if let Err(e) = filled {
                ffi::Rf_unprotect(1);
                return Err(e);
            }
            ffi::Rf_unprotect(1);
            Ok(result)
        }
    })
}

unsafe extern "C" fn duplicate(x: SEXP, _deep: Rboolean) -> SEXP {
    guarded(|| {
        // SAFETY: R calls this only on our views. A view without a copy
        // duplicates into another view of the same state (data1 is immutable);
        // a modified view duplicates its copy.
        unsafe {
            let copy = copy_of(x);
            if copy != ffi::R_NilValue {
                return Ok(ffi::Rf_duplicate(copy));
            }
            let st = state(x)?;
            let class = class_for(st.rtype).ok_or("ALTREP classes are not registered")?;
            Ok(ffi::R_new_altrep(class, ffi::R_altrep_data1(x), ffi::R_NilValue))
        }
    })
}

unsafe extern "C" fn serialized_state(x: SEXP) -> SEXP {
    // SAFETY: R calls this only on our views; the state pointer's `prot` slot
    // holds the description given at creation.
    unsafe {
        match state(x) {
            // A modified view serializes its values; C NULL asks R to write
            // the plain vector, readable without this package.
            Ok(st) if st.by_reference && copy_of(x) == ffi::R_NilValue => {
                ffi::R_ExternalPtrProtected(ffi::R_altrep_data1(x))
            }
            _ => std::ptr::null_mut(),
        }
    }
}

/// Re-maps, read-only, what a view serialized by reference describes:
/// list(file, off, bytes, spec, field, from, len, int64_as_double, cindex).
fn reopen(info: &Robj) -> mmapcore::Result<ViewState> {
    let bad = || MmError::Type("a saved mmap view has an unreadable description".into());
    let list = info.as_list().ok_or_else(bad)?;
    let get = |k: &str| list.iter().find(|(n, _)| *n == k).map(|(_, v)| v).ok_or_else(bad);
    let num = |k: &str| get(k).and_then(|v| v.as_real().ok_or_else(bad));
    let path = get("file")?.as_str().ok_or_else(bad)?.to_string();
    if !std::path::Path::new(&path).exists() {
        return Err(MmError::NotFound(path.into()));
    }
    let opts = MapOptions { offset: whole(num("off")?, "off")?, len: Some(whole(num("bytes")?, "len")?), prot: PROT_READ, private: false };
    let map = Arc::new(Mapping::open(std::path::Path::new(&path), &opts)?);
    let spec = get("spec")?;
    let field = get("field")?.as_integer().ok_or_else(bad)?;
    let col = column(&map, &spec, field, &Robj::from(()), num("from")?, num("len")?)?;
    let int64_as_double = get("int64_as_double")?.as_bool().ok_or_else(bad)?;
    let rtype = if int64_as_double { SEXPTYPE::REALSXP } else { view_rtype(&col) };
    let direct = direct_of(&map, &col, int64_as_double);
    Ok(ViewState { map, col, rtype, int64_as_double, by_reference: true, direct })
}

unsafe extern "C" fn unserialize(_class: SEXP, info: SEXP) -> SEXP {
    guarded(|| {
        // SAFETY: `info` is the list R read back, protected by R during this call.
        let robj = unsafe { Robj::from_sexp(info) };
        let st = reopen(&robj).map_err(|e| format!("cannot restore an mmap view: {e}"))?;
        drop(robj);
        // SAFETY: R's main thread; `info` is live.
        unsafe { new_view(st, info) }
    })
}

unsafe extern "C" fn inspect(
    x: SEXP,
    _pre: c_int,
    _deep: c_int,
    _pvec: c_int,
    _inspect_subtree: Option<unsafe extern "C" fn(SEXP, c_int, c_int, c_int)>,
) -> Rboolean {
    // SAFETY: R calls this only on our views; Rprintf with a literal format.
    unsafe {
        if let Ok(st) = state(x) {
            let line = CString::new(format!(
                " mmap view of {} (elements {}..{}{})\n",
                st.map.path().display(),
                st.col.start + 1,
                st.col.start + st.col.len,
                if copy_of(x) != ffi::R_NilValue { ", modified: private copy" } else { "" }
            ))
            .unwrap_or_default();
            ffi::Rprintf(c"%s".as_ptr(), line.as_ptr());
        }
    }
    Rboolean::FALSE
}

/// Creates and registers the view classes. Called once from `R_init_mmap`.
///
/// # Safety
/// `dll` must be the DllInfo R passed to `R_init_mmap`.
#[no_mangle]
pub unsafe extern "C" fn mmap_register_altrep(dll: *mut ffi::DllInfo) {
    let pkg: *const c_char = c"mmap".as_ptr();
    // SAFETY: R's documented ALTREP class construction, with our package's
    // DllInfo, on the main thread during package initialisation.
    unsafe {
        let common = |cls: R_altrep_class_t| {
            ffi::R_set_altrep_Length_method(cls, Some(length));
            ffi::R_set_altrep_Duplicate_method(cls, Some(duplicate));
            ffi::R_set_altrep_Serialized_state_method(cls, Some(serialized_state));
            ffi::R_set_altrep_Unserialize_method(cls, Some(unserialize));
            ffi::R_set_altrep_Inspect_method(cls, Some(inspect));
            ffi::R_set_altvec_Dataptr_method(cls, Some(dataptr));
            ffi::R_set_altvec_Dataptr_or_null_method(cls, Some(dataptr_or_null));
            ffi::R_set_altvec_Extract_subset_method(cls, Some(extract_subset));
        };
        let real = ffi::R_make_altreal_class(c"mmap_real".as_ptr(), pkg, dll);
        common(real);
        ffi::R_set_altreal_Elt_method(real, Some(real_elt));
        ffi::R_set_altreal_Get_region_method(real, Some(real_region));
        ffi::R_set_altreal_Sum_method(real, Some(alt_sum));
        ffi::R_set_altreal_Min_method(real, Some(alt_min));
        ffi::R_set_altreal_Max_method(real, Some(alt_max));
        let integer = ffi::R_make_altinteger_class(c"mmap_integer".as_ptr(), pkg, dll);
        common(integer);
        ffi::R_set_altinteger_Elt_method(integer, Some(int_elt));
        ffi::R_set_altinteger_Get_region_method(integer, Some(int_region));
        ffi::R_set_altinteger_Sum_method(integer, Some(alt_sum));
        ffi::R_set_altinteger_Min_method(integer, Some(alt_min));
        ffi::R_set_altinteger_Max_method(integer, Some(alt_max));
        let logical = ffi::R_make_altlogical_class(c"mmap_logical".as_ptr(), pkg, dll);
        common(logical);
        ffi::R_set_altlogical_Elt_method(logical, Some(lgl_elt));
        ffi::R_set_altlogical_Get_region_method(logical, Some(lgl_region));
        ffi::R_set_altlogical_Sum_method(logical, Some(alt_sum));
        let raw = ffi::R_make_altraw_class(c"mmap_raw".as_ptr(), pkg, dll);
        common(raw);
        ffi::R_set_altraw_Elt_method(raw, Some(raw_elt));
        ffi::R_set_altraw_Get_region_method(raw, Some(raw_region));
        let complex = ffi::R_make_altcomplex_class(c"mmap_complex".as_ptr(), pkg, dll);
        common(complex);
        ffi::R_set_altcomplex_Elt_method(complex, Some(cplx_elt));
        ffi::R_set_altcomplex_Get_region_method(complex, Some(cplx_region));
        let string = ffi::R_make_altstring_class(c"mmap_string".as_ptr(), pkg, dll);
        common(string);
        ffi::R_set_altstring_Elt_method(string, Some(string_elt));
        ffi::R_set_altstring_Set_elt_method(string, Some(string_set_elt));
        let _ = CLASSES.set(Classes { real, integer, logical, raw, complex, string });
    }
}

extendr_module! {
    mod altrep;
    fn mm_view_;
    fn mm_view_info_;
    fn mm_summary_op_;
}
