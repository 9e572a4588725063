//! The R handle of a mapping: an external pointer to a slot that shares the
//! core's `Arc<Mapping>`. `munmap()` empties the slot; R's copies of the object
//! all see that at once. After `readRDS()` the pointer is NULL ("detached") and
//! R re-attaches a fresh mapping by path.

use std::ffi::CString;
use std::sync::Arc;

use extendr_api::prelude::*;
use extendr_api::Robj;
use extendr_ffi as ffi;
use extendr_ffi::SEXPTYPE;

use mmapcore::map::Mapping;
use mmapcore::MmError;

struct Slot(Option<Arc<Mapping>>);

pub enum State {
    Live,
    Unmapped,
    Detached,
}

fn tag() -> ffi::SEXP {
    let name = CString::new("mmap_handle").unwrap_or_default();
    // SAFETY: Rf_install interns a symbol from a valid nul-terminated string.
    unsafe { ffi::Rf_install(name.as_ptr()) }
}

unsafe extern "C" fn finalize(x: ffi::SEXP) {
    // SAFETY: registered only on our own handles, whose address is either NULL
    // or a Box<Slot> leaked by `attach`; it is cleared after freeing.
    unsafe {
        let p = ffi::R_ExternalPtrAddr(x).cast::<Slot>();
        if !p.is_null() {
            drop(Box::from_raw(p));
            ffi::R_ClearExternalPtr(x);
        }
    }
}

fn check(h: &Robj) -> mmapcore::Result<ffi::SEXP> {
    // SAFETY: TYPEOF and R_ExternalPtrTag only read the header of a live SEXP.
    unsafe {
        let s = h.get();
        if ffi::TYPEOF(s) != SEXPTYPE::EXTPTRSXP || ffi::R_ExternalPtrTag(s) != tag() {
            return Err(MmError::Type("not an mmap handle (was the object modified by hand?)".into()));
        }
        Ok(s)
    }
}

fn register(s: ffi::SEXP, map: Mapping) {
    let slot = Box::into_raw(Box::new(Slot(Some(Arc::new(map)))));
    // SAFETY: ownership of the box passes to the pointer, whose finalizer frees it once.
    unsafe { ffi::R_SetExternalPtrAddr(s, slot.cast()) };
}

/// A handle with no mapping yet ("detached"); [`attach`] gives it one. Made
/// before the file is mapped, so that no R allocation happens while Rust owns
/// a mapping.
pub fn empty_handle() -> Robj {
    // SAFETY: a fresh external pointer with a NULL address, protected by Robj.
    let h = unsafe { Robj::from_sexp(ffi::R_MakeExternalPtr(std::ptr::null_mut(), tag(), ffi::R_NilValue)) };
    // SAFETY: just created above: one of our external pointers.
    unsafe { add_finalizer(h.get()) };
    h
}

/// Gives a handle its finalizer. Registering allocates in R, which may
/// longjmp, so it happens before the handle's mapping is opened; the
/// finalizer copes with a handle that never got a mapping. A handle restored
/// by readRDS() has none (finalizers are not serialised).
pub fn prepare(h: &Robj) -> mmapcore::Result<()> {
    // SAFETY: `check` makes sure it is one of our external pointers.
    unsafe { add_finalizer(check(h)?) };
    Ok(())
}

/// # Safety
/// `s` must be one of our handles.
unsafe fn add_finalizer(s: ffi::SEXP) {
    // SAFETY: per the contract; `finalize` copes with a NULL address.
    unsafe { ffi::R_RegisterCFinalizerEx(s, Some(finalize), ffi::Rboolean::TRUE) };
}

fn slot(h: &Robj) -> mmapcore::Result<*mut Slot> {
    let s = check(h)?;
    // SAFETY: `s` is one of our handles (checked), so its address is NULL or a Slot.
    Ok(unsafe { ffi::R_ExternalPtrAddr(s) }.cast::<Slot>())
}

pub fn state(h: &Robj) -> mmapcore::Result<State> {
    let p = slot(h)?;
    if p.is_null() {
        return Ok(State::Detached);
    }
    // SAFETY: non-null addresses of our handles point to a live Slot.
    Ok(if unsafe { (*p).0.is_some() } { State::Live } else { State::Unmapped })
}

/// The shared mapping behind a handle, or a clear error.
pub fn mapping(h: &Robj) -> mmapcore::Result<Arc<Mapping>> {
    let p = slot(h)?;
    if p.is_null() {
        return Err(MmError::Internal("the mapping was not re-attached after readRDS()".into()));
    }
    // SAFETY: as in `state`; R is single-threaded, so nothing mutates the slot now.
    unsafe { (*p).0.clone() }.ok_or(MmError::Unmapped)
}

/// Drops the handle's share of the mapping. Views still holding it keep it alive.
pub fn close(h: &Robj) -> mmapcore::Result<bool> {
    let p = slot(h)?;
    if p.is_null() {
        return Ok(false);
    }
    // SAFETY: as in `mapping`.
    Ok(unsafe { (*p).0.take() }.is_some())
}

/// Gives a detached handle (from readRDS) a fresh mapping.
pub fn attach(h: &Robj, map: Mapping) -> mmapcore::Result<()> {
    let s = check(h)?;
    if !slot(h)?.is_null() {
        return Err(MmError::Internal("the handle is already attached".into()));
    }
    register(s, map);
    Ok(())
}
