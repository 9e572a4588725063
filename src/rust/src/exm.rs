//! R bindings of the exm steering API (inst/include/exm.h).
//!
//! The shim is not linked: its functions are looked up at run time with
//! `dlsym(RTLD_DEFAULT, "exm_…")`, so the package loads everywhere and
//! `exm_active_()` is FALSE when R was not started under `exm`. Failures come
//! back as values (errno numbers, NA); R/exm.R turns them into conditions.
#![deny(unsafe_op_in_unsafe_fn)]

use extendr_api::prelude::*;
use extendr_ffi as ffi;
use std::ffi::{c_char, c_int, c_void, CStr, CString};

/// Version of the exm shim these bindings were written for.
const EXM_VERSION: &str = "0.1.0";

#[cfg(target_os = "linux")]
fn lookup(name: &CStr) -> *mut c_void {
    extern "C" {
        fn dlsym(handle: *mut c_void, symbol: *const c_char) -> *mut c_void;
    }
    // SAFETY: `name` is NUL-terminated; RTLD_DEFAULT is the null handle on
    // glibc; dlsym only reads its arguments.
    unsafe { dlsym(std::ptr::null_mut(), name.as_ptr()) }
}

#[cfg(not(target_os = "linux"))]
fn lookup(_name: &CStr) -> *mut c_void {
    std::ptr::null_mut()
}

/// Look up `exm_<name>` with the given C signature.
macro_rules! shim_fn {
    ($name:literal, $ty:ty) => {{
        let p = lookup(CStr::from_bytes_with_nul(concat!("exm_", $name, "\0").as_bytes()).unwrap_or_default());
        if p.is_null() {
            None
        } else {
            // SAFETY: the symbol comes from the exm shim, whose exm.h gives it
            // exactly this signature.
            Some(unsafe { std::mem::transmute::<*mut c_void, $ty>(p) })
        }
    }};
}

fn errno() -> i32 {
    std::io::Error::last_os_error().raw_os_error().unwrap_or(0)
}

const ENOSYS: i32 = 38;

/// The address to look up for `x`: its data for an atomic vector with data
/// in memory, else the object itself.
fn address_of(x: &Robj) -> *const c_void {
    // SAFETY: `x` is a live, protected R object; DATAPTR_OR_NULL does not
    // allocate or materialise ALTREP data.
    unsafe {
        let s = x.get();
        let mut p: *const c_void = std::ptr::null();
        if ffi::Rf_isVectorAtomic(s) != ffi::Rboolean::FALSE && ffi::XLENGTH(s) > 0 {
            p = ffi::DATAPTR_OR_NULL(s);
        }
        if p.is_null() {
            s as *const c_void
        } else {
            p
        }
    }
}

/// TRUE when R runs under exm (the shim's API is present).
#[extendr]
fn exm_active_() -> bool {
    !lookup(c"exm_version").is_null()
}

/// Version of the running shim, or of these bindings outside exm.
#[extendr]
fn exm_version_() -> String {
    match shim_fn!("version", unsafe extern "C" fn() -> *const c_char) {
        // SAFETY: exm_version returns a static NUL-terminated string.
        Some(f) => unsafe { CStr::from_ptr(f()) }.to_string_lossy().into_owned(),
        None => EXM_VERSION.to_string(),
    }
}

/// Threshold in bytes (NA outside exm).
#[extendr]
fn exm_threshold_get_() -> f64 {
    match shim_fn!("threshold_get", unsafe extern "C" fn() -> usize) {
        // SAFETY: no arguments, no preconditions.
        Some(f) => (unsafe { f() }) as f64,
        None => f64::NAN,
    }
}

/// Sets the threshold; returns 0 or an errno number.
#[extendr]
fn exm_threshold_set_(bytes: f64) -> i32 {
    let Some(f) = shim_fn!("threshold_set", unsafe extern "C" fn(usize) -> c_int) else {
        return ENOSYS;
    };
    if !(bytes >= 0.0 && bytes <= usize::MAX as f64) {
        return 22; // EINVAL
    }
    // SAFETY: plain value argument.
    if unsafe { f(bytes as usize) } == 0 {
        0
    } else {
        errno()
    }
}

/// Data directory ("" outside exm).
#[extendr]
fn exm_path_get_() -> String {
    let Some(f) = shim_fn!("path_get", unsafe extern "C" fn(*mut c_char, usize) -> usize) else {
        return String::new();
    };
    let mut buf = vec![0u8; 4096];
    // SAFETY: `buf` has `buf.len()` writable bytes; the shim NUL-terminates.
    let n = unsafe { f(buf.as_mut_ptr().cast::<c_char>(), buf.len()) };
    buf.truncate(n.min(buf.len() - 1));
    String::from_utf8_lossy(&buf).into_owned()
}

/// Sets the data directory; returns 0 or an errno number.
#[extendr]
fn exm_path_set_(dir: &str) -> i32 {
    let Some(f) = shim_fn!("path_set", unsafe extern "C" fn(*const c_char) -> c_int) else {
        return ENOSYS;
    };
    let Ok(c) = CString::new(dir) else {
        return 22;
    };
    // SAFETY: `c` is NUL-terminated and outlives the call.
    if unsafe { f(c.as_ptr()) } == 0 {
        0
    } else {
        errno()
    }
}

const MODES: [&str; 3] = ["private", "shared", "duplicate"];

/// Fork mode: "private", "shared" or "duplicate" ("" outside exm).
#[extendr]
fn exm_cow_get_() -> String {
    match shim_fn!("fork_mode_get", unsafe extern "C" fn() -> c_int) {
        // SAFETY: no arguments.
        Some(f) => MODES.get((unsafe { f() }) as usize).copied().unwrap_or("").to_string(),
        None => String::new(),
    }
}

/// Sets the fork mode; returns 0 or an errno number.
#[extendr]
fn exm_cow_set_(mode: &str) -> i32 {
    let Some(f) = shim_fn!("fork_mode_set", unsafe extern "C" fn(c_int) -> c_int) else {
        return ENOSYS;
    };
    let Some(m) = MODES.iter().position(|&x| x == mode) else {
        return 22;
    };
    // SAFETY: plain value argument.
    if unsafe { f(m as c_int) } == 0 {
        0
    } else {
        errno()
    }
}

/// Name of the file backing `x`, or "" when `x` is not file-backed.
#[extendr]
fn exm_lookup_(x: Robj) -> String {
    let Some(f) = shim_fn!("lookup", unsafe extern "C" fn(*const c_void, *mut c_char, usize) -> isize) else {
        return String::new();
    };
    let mut buf = vec![0u8; 4096];
    // SAFETY: `buf` has `buf.len()` writable bytes; the address is only
    // compared against the shim's block table.
    let n = unsafe { f(address_of(&x), buf.as_mut_ptr().cast::<c_char>(), buf.len()) };
    if n < 0 {
        return String::new();
    }
    buf.truncate((n as usize).min(buf.len() - 1));
    String::from_utf8_lossy(&buf).into_owned()
}

/// madvise() the block holding `x`; returns 0 or an errno number.
#[extendr]
fn exm_madvise_(x: Robj, advice: &str) -> i32 {
    let Some(f) = shim_fn!("madvise", unsafe extern "C" fn(*const c_void, c_int) -> c_int) else {
        return ENOSYS;
    };
    // Linux MADV_* values.
    let a = match advice {
        "normal" => 0,
        "random" => 1,
        "sequential" => 2,
        "willneed" => 3,
        "dontneed" => 4,
        _ => return 22,
    };
    // SAFETY: the shim checks that the address lies in one of its blocks.
    if unsafe { f(address_of(&x), a) } == 0 {
        0
    } else {
        errno()
    }
}

/// Statistics: count, bytes, peak, then the requests refused a file for
/// disk space, for descriptors and for other reasons (NA outside exm, and
/// the last three NA under a shim without `exm_fallbacks`).
#[extendr]
fn exm_stats_() -> Vec<f64> {
    let mut out = vec![f64::NAN; 6];
    type Counts = unsafe extern "C" fn(*mut usize, *mut usize, *mut usize);
    for (name, at) in [(shim_fn!("stats", Counts), 0), (shim_fn!("fallbacks", Counts), 3)] {
        let Some(f) = name else { continue };
        let (mut a, mut b, mut c) = (0usize, 0usize, 0usize);
        // SAFETY: three valid out pointers.
        unsafe { f(&mut a, &mut b, &mut c) };
        out[at..at + 3].copy_from_slice(&[a as f64, b as f64, c as f64]);
    }
    out
}

/// An exm threshold from R: `bytes` is a number or a size string ("512MiB",
/// "1e8"), checked by exm's own rules (exm-size, shared with the launcher).
/// Returns `list(bytes, problem)`: the byte count and "", or NA and why
/// the value was refused.
#[extendr]
fn exm_threshold_parse_(bytes: Robj) -> List {
    let parsed = if let Some(s) = bytes.as_str() {
        exm_size::parse_threshold(s.as_bytes())
    } else if let Some(v) = bytes.as_real() {
        exm_size::threshold_from_f64(v)
    } else {
        Err(exm_size::SizeError::BadNumber)
    };
    match parsed {
        Ok(v) => list!(bytes = v as f64, problem = ""),
        Err(e) => list!(bytes = Rfloat::na(), problem = e.message()),
    }
}

extendr_module! {
    mod exm;
    fn exm_active_;
    fn exm_version_;
    fn exm_threshold_get_;
    fn exm_threshold_set_;
    fn exm_path_get_;
    fn exm_path_set_;
    fn exm_cow_get_;
    fn exm_cow_set_;
    fn exm_lookup_;
    fn exm_madvise_;
    fn exm_stats_;
    fn exm_threshold_parse_;
}
