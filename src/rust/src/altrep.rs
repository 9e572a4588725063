//! Zero-copy ALTREP views: ordinary R vectors whose elements live in a mapping.
//!
//! A view holds its own private (copy-on-write) mapping of the same bytes, so
//! `munmap()` of the mmap object never pulls pages out from under it, and R may
//! write through the pointer it is given without touching the file. When the
//! stored bytes already are R's representation, R reads the mapping directly;
//! otherwise elements are decoded on demand (Elt, Get_region) and a full
//! pointer request decodes once into a copy. Classes are registered once, from `R_init_mmap`, with the
//! package's real DllInfo so that subsetting and readRDS() find them.

use std::ffi::{c_char, c_int, c_void, CString};
use std::sync::{Arc, OnceLock};

use extendr_api::prelude::*;
use extendr_api::Robj;
use extendr_ffi as ffi;
use extendr_ffi::{R_altrep_class_t, R_xlen_t, Rboolean, SEXP};

use mmapcore::codec::OutBuf;
use mmapcore::index::Selection;
use mmapcore::map::{MapOptions, Mapping, PROT_READ, PROT_WRITE};
use mmapcore::vector::View;
use mmapcore::{DType, MmError, RKind};

use crate::conv::{dtype, finish, out_buf, sexptype, whole};
use crate::handle;

/// What a view reads: the shared mapping and how to decode it.
struct ViewState {
    map: Arc<Mapping>,
    dtype: DType,
}

impl ViewState {
    fn view(&self) -> View<'_> {
        View::new(&self.map, &self.dtype)
    }
}

#[derive(Clone, Copy)]
struct Classes {
    real: R_altrep_class_t,
    integer: R_altrep_class_t,
    logical: R_altrep_class_t,
    raw: R_altrep_class_t,
    complex: R_altrep_class_t,
}

// SAFETY: the class handles are R objects that R keeps alive for the session;
// they are only ever used on R's main thread.
unsafe impl Send for Classes {}
// SAFETY: as above; the OnceLock only publishes them once, at package init.
unsafe impl Sync for Classes {}

static CLASSES: OnceLock<Classes> = OnceLock::new();

fn class_for(kind: RKind) -> Option<R_altrep_class_t> {
    let c = CLASSES.get()?;
    Some(match kind {
        RKind::Double | RKind::Integer64 => c.real,
        RKind::Integer => c.integer,
        RKind::Logical => c.logical,
        RKind::Raw => c.raw,
        RKind::Complex => c.complex,
    })
}

fn tag() -> SEXP {
    let name = CString::new("mmap_view").unwrap_or_default();
    // SAFETY: Rf_install interns a symbol from a valid nul-terminated string.
    unsafe { ffi::Rf_install(name.as_ptr()) }
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

/// Makes a view. `info` (file, off, bytes, spec) is kept for serialization.
fn new_view(map: Arc<Mapping>, dtype: DType, info: SEXP) -> mmapcore::Result<Robj> {
    let rkind = dtype.info().rkind;
    let class = class_for(rkind).ok_or_else(|| MmError::Type("ALTREP classes are not registered".into()))?;
    let state = Box::into_raw(Box::new(ViewState { map, dtype }));
    // SAFETY: standard construction of an external pointer that owns `state`
    // (freed by its finalizer) and of the ALTREP object that holds it; every
    // fresh SEXP is protected until the ALTREP object references it.
    unsafe {
        let ptr = ffi::Rf_protect(ffi::R_MakeExternalPtr(state.cast(), tag(), info));
        ffi::R_RegisterCFinalizerEx(ptr, Some(finalize_state), Rboolean::TRUE);
        let view = ffi::R_new_altrep(class, ptr, ffi::R_NilValue);
        let robj = Robj::from_sexp(view);
        ffi::Rf_unprotect(1);
        Ok(robj)
    }
}

/// A zero-copy view of the bytes a live mmap handle maps (`info` describes them).
#[extendr]
fn mm_view_(h: Robj, info: Robj) -> Robj {
    finish((|| {
        // The mmap object must still be mapped, by a file that still covers it.
        handle::mapping(&h)?.check_covered()?;
        let (map, t) = reopen(&info)?;
        // SAFETY: `info` is a live R object protected by the caller for this call.
        new_view(map, t, unsafe { info.get() })
    })())
}

/// Whether `x` is one of our views, and whether R reads it in place.
#[extendr]
fn mm_view_info_(x: Robj) -> Robj {
    // SAFETY: ALTREP and R_altrep_inherits only inspect the object's header.
    let ours = unsafe {
        let s = x.get();
        ffi::ALTREP(s) != 0 && CLASSES.get().is_some_and(|c| {
            [c.real, c.integer, c.logical, c.raw, c.complex]
                .iter()
                .any(|&cl| ffi::R_altrep_inherits(s, cl) != Rboolean::FALSE)
        })
    };
    if !ours {
        return Robj::from([false, false, false]);
    }
    // SAFETY: `x` is one of our views (checked above).
    let (zero_copy, materialized) = unsafe {
        let s = x.get();
        let zc = state(s).map(|st| st.view().zero_copy_ptr().is_some()).unwrap_or(false);
        (zc, ffi::R_altrep_data2(s) != ffi::R_NilValue)
    };
    Robj::from([true, zero_copy, materialized])
}

// ---------------------------------------------------------------------------
// ALTREP methods

unsafe extern "C" fn length(x: SEXP) -> R_xlen_t {
    // SAFETY: R calls this only on our views.
    guarded(|| Ok(unsafe { state(x) }?.view().len() as R_xlen_t))
}

/// The copy made when R asks for a writable pointer or the bytes need decoding.
///
/// # Safety
/// `x` must be one of our views; called on R's main thread.
unsafe fn materialize(x: SEXP) -> Result<SEXP, String> {
    // SAFETY: see the function contract; the new vector is protected while filled.
    unsafe {
        let existing = ffi::R_altrep_data2(x);
        if existing != ffi::R_NilValue {
            return Ok(existing);
        }
        let st = state(x)?;
        let view = st.view();
        let rkind = st.dtype.info().rkind;
        let n = view.len();
        let copy = ffi::Rf_protect(ffi::Rf_allocVector(sexptype(rkind), n as R_xlen_t));
        let filled = fill(copy, rkind, n as usize, |out| view.extract(&Selection::Range { start: 0, len: n }, out));
        if let Err(e) = filled {
            ffi::Rf_unprotect(1);
            return Err(e.to_string());
        }
        ffi::R_set_altrep_data2(x, copy);
        ffi::Rf_unprotect(1);
        Ok(copy)
    }
}

/// Hands the memory of R vector `v` (of `n` elements, matching `rkind`) to `f`.
///
/// # Safety
/// `v` must be a protected vector of the SEXPTYPE for `rkind` with `n` elements.
unsafe fn fill(v: SEXP, rkind: RKind, n: usize, f: impl FnOnce(OutBuf<'_>) -> mmapcore::Result<()>) -> mmapcore::Result<()> {
    // SAFETY: per the contract, DATAPTR points at `n` elements of that type.
    unsafe { f(out_buf(ffi::DATAPTR(v), rkind, n)) }
}

unsafe extern "C" fn dataptr(x: SEXP, writeable: Rboolean) -> *mut c_void {
    guarded(|| {
        // SAFETY: R calls this only on our views, on its main thread.
        unsafe {
            // The view's mapping is private (copy-on-write), so a writable
            // pointer into it is safe: writes never reach the file.
            let _ = writeable;
            if ffi::R_altrep_data2(x) == ffi::R_NilValue {
                if let Some(p) = state(x)?.view().zero_copy_ptr() {
                    return Ok(p as *mut c_void);
                }
            }
            // Types R cannot read in place are decoded once into a copy.
            Ok(ffi::DATAPTR(materialize(x)?))
        }
    })
}

unsafe extern "C" fn dataptr_or_null(x: SEXP) -> *const c_void {
    // SAFETY: R calls this only on our views.
    unsafe {
        let copy = ffi::R_altrep_data2(x);
        if copy != ffi::R_NilValue {
            return ffi::DATAPTR_RO(copy);
        }
        match state(x) {
            Ok(st) => st.view().zero_copy_ptr().map_or(std::ptr::null(), |p| p.cast()),
            Err(_) => std::ptr::null(),
        }
    }
}

/// Decodes elements `i .. i+n` of view `x` into `buf`; returns how many.
///
/// # Safety
/// `x` is one of our views; `buf` has room for `n` elements of its R type.
unsafe fn region(x: SEXP, i: R_xlen_t, n: R_xlen_t, buf: *mut c_void) -> Result<R_xlen_t, String> {
    // SAFETY: per the contract; a materialized copy is read in place.
    unsafe {
        let st = state(x)?;
        let view = st.view();
        let len = view.len() as R_xlen_t;
        if i < 0 || i >= len || n <= 0 {
            return Ok(0);
        }
        let n = n.min(len - i);
        let rkind = st.dtype.info().rkind;
        let out = out_buf(buf, rkind, n as usize);
        view.extract(&Selection::Range { start: i as u64, len: n as u64 }, out).map_err(|e| e.to_string())?;
        Ok(n)
    }
}

macro_rules! elt_and_region {
    ($elt:ident, $region:ident, $t:ty) => {
        unsafe extern "C" fn $elt(x: SEXP, i: R_xlen_t) -> $t {
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

unsafe extern "C" fn duplicate(x: SEXP, _deep: Rboolean) -> SEXP {
    guarded(|| {
        // SAFETY: R calls this only on our views; the copy is protected while filled.
        unsafe {
            let st = state(x)?;
            let view = st.view();
            let rkind = st.dtype.info().rkind;
            let n = view.len();
            let copy = ffi::Rf_protect(ffi::Rf_allocVector(sexptype(rkind), n as R_xlen_t));
            let filled = fill(copy, rkind, n as usize, |out| view.extract(&Selection::Range { start: 0, len: n }, out));
            ffi::Rf_unprotect(1);
            filled.map_err(|e| e.to_string())?;
            Ok(copy)
        }
    })
}

unsafe extern "C" fn serialized_state(x: SEXP) -> SEXP {
    // SAFETY: the state pointer's `prot` slot holds the info list given at creation.
    unsafe { ffi::R_ExternalPtrProtected(ffi::R_altrep_data1(x)) }
}

/// Re-maps the file named in `info` = list(file, off, bytes, spec).
fn reopen(info: &Robj) -> mmapcore::Result<(Arc<Mapping>, DType)> {
    let bad = || MmError::Type("a saved mmap view has an unreadable description".into());
    let list = info.as_list().ok_or_else(bad)?;
    let items: Vec<Robj> = list.values().collect();
    if items.len() < 4 {
        return Err(bad());
    }
    let path = items[0].as_str().ok_or_else(bad)?.to_string();
    let off = whole(items[1].as_real().ok_or_else(bad)?, "off")?;
    let bytes = whole(items[2].as_real().ok_or_else(bad)?, "len")?;
    let t = dtype(&items[3])?;
    // A private, copy-on-write mapping of its own: R may write through the
    // pointer it gets (REAL(x) asks for a writable one), and such writes must
    // neither reach the file nor fault on a read-only mapping. Pages not
    // written still show the file's current contents.
    let opts = MapOptions { offset: off, len: Some(bytes), prot: PROT_READ | PROT_WRITE, private: true };
    let map = Mapping::open(std::path::Path::new(&path), &opts).map_err(|e| match e {
        MmError::NotFound(p) => MmError::NotFound(p),
        other => other,
    })?;
    Ok((Arc::new(map), t))
}

unsafe extern "C" fn unserialize(_class: SEXP, info: SEXP) -> SEXP {
    guarded(|| {
        // SAFETY: `info` is the list R read back; Robj protects it while used.
        let robj = unsafe { Robj::from_sexp(info) };
        let (map, t) = reopen(&robj).map_err(|e| format!("cannot restore an mmap view: {e}"))?;
        let view = new_view(map, t, info).map_err(|e| e.to_string())?;
        // SAFETY: returned to R, which takes over protecting it.
        Ok(unsafe { view.get() })
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
                " mmap view of {} ({}, {} elements)\n",
                st.map.path().display(),
                st.dtype.name(),
                st.view().len()
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
        };
        let real = ffi::R_make_altreal_class(c"mmap_real".as_ptr(), pkg, dll);
        common(real);
        ffi::R_set_altreal_Elt_method(real, Some(real_elt));
        ffi::R_set_altreal_Get_region_method(real, Some(real_region));
        let integer = ffi::R_make_altinteger_class(c"mmap_integer".as_ptr(), pkg, dll);
        common(integer);
        ffi::R_set_altinteger_Elt_method(integer, Some(int_elt));
        ffi::R_set_altinteger_Get_region_method(integer, Some(int_region));
        let logical = ffi::R_make_altlogical_class(c"mmap_logical".as_ptr(), pkg, dll);
        common(logical);
        ffi::R_set_altlogical_Elt_method(logical, Some(lgl_elt));
        ffi::R_set_altlogical_Get_region_method(logical, Some(lgl_region));
        let raw = ffi::R_make_altraw_class(c"mmap_raw".as_ptr(), pkg, dll);
        common(raw);
        ffi::R_set_altraw_Elt_method(raw, Some(raw_elt));
        ffi::R_set_altraw_Get_region_method(raw, Some(raw_region));
        let complex = ffi::R_make_altcomplex_class(c"mmap_complex".as_ptr(), pkg, dll);
        common(complex);
        ffi::R_set_altcomplex_Elt_method(complex, Some(cplx_elt));
        ffi::R_set_altcomplex_Get_region_method(complex, Some(cplx_region));
        let _ = CLASSES.set(Classes { real, integer, logical, raw, complex });
    }
}

extendr_module! {
    mod altrep;
    fn mm_view_;
    fn mm_view_info_;
}
