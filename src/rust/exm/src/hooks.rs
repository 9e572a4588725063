//! The malloc family. Below the threshold every call goes straight to
//! glibc's `__libc_*` entry points; `free` and `realloc` tell our blocks from
//! glibc's by address alone ([`in_range`]). The hooks never allocate.
//!
//! In unit tests the hooks are ordinary Rust functions (not exported), so
//! the test binary keeps glibc's allocator.

use core::ffi::{c_int, c_void};
use core::ptr;
use core::sync::atomic::Ordering;

use crate::place::{find_block, in_range, map_new, resize_block, round_up, unmap_block};
use crate::state::{lock, page_size, threshold, State, FROZEN, REAL_USABLE, SHARED_FILE};
use crate::{errno, set_errno};

extern "C" {
    fn __libc_malloc(n: usize) -> *mut c_void;
    fn __libc_free(p: *mut c_void);
    fn __libc_calloc(n: usize, s: usize) -> *mut c_void;
    fn __libc_realloc(p: *mut c_void, n: usize) -> *mut c_void;
    fn __libc_memalign(align: usize, n: usize) -> *mut c_void;
}

/// Mapped allocation with glibc fallback (e.g. the data directory is full).
fn big_alloc(size: usize, align: usize, zero: bool) -> *mut c_void {
    let p = {
        let mut g = lock();
        map_new(g.state(), size, align)
    };
    if !p.is_null() {
        return p;
    }
    // SAFETY: plain glibc calls; `align` is a power of two.
    unsafe {
        if align > 16 {
            let q = __libc_memalign(align, size);
            if zero && !q.is_null() {
                ptr::write_bytes(q.cast::<u8>(), 0, size);
            }
            q
        } else if zero {
            __libc_calloc(1, size)
        } else {
            __libc_malloc(size)
        }
    }
}

/// glibc's usable size of its block `p`.
fn real_usable(p: *mut c_void) -> usize {
    let f = REAL_USABLE.load(Ordering::Relaxed);
    if f.is_null() {
        return 0;
    }
    // SAFETY: `f` is glibc's malloc_usable_size, resolved by dlsym.
    let f: unsafe extern "C" fn(*mut c_void) -> usize = unsafe { core::mem::transmute(f) };
    // SAFETY: `p` is a glibc block (caller checked it is not ours).
    unsafe { f(p) }
}

/// C `malloc`.
///
/// # Safety
/// The C contract: the result is freed once, with this library's `free`.
#[cfg_attr(not(test), no_mangle)]
pub unsafe extern "C" fn malloc(size: usize) -> *mut c_void {
    if size < threshold() {
        // SAFETY: plain glibc allocation.
        return unsafe { __libc_malloc(size) };
    }
    big_alloc(size, 1, false)
}

/// C `free`; keeps `errno`.
///
/// # Safety
/// `p` is null or a live block from this library's allocation functions
/// (or glibc's), freed only once.
#[cfg_attr(not(test), no_mangle)]
pub unsafe extern "C" fn free(p: *mut c_void) {
    if !in_range(p) {
        // SAFETY: not one of ours, so it came from glibc (or is null).
        unsafe { __libc_free(p) };
        return;
    }
    let e = errno();
    {
        let mut g = lock();
        let st = g.state();
        if let Some(i) = find_block(st.live(), p as usize) {
            unmap_block(st, i);
        }
    }
    set_errno(e);
}

/// Old name of `free`.
///
/// # Safety
/// As [`free`].
#[cfg_attr(not(test), no_mangle)]
pub unsafe extern "C" fn cfree(p: *mut c_void) {
    // SAFETY: same contract as free.
    unsafe { free(p) }
}

/// C `calloc`: overflow checked; a fresh file already reads as zeros.
///
/// # Safety
/// As [`malloc`].
#[cfg_attr(not(test), no_mangle)]
pub unsafe extern "C" fn calloc(n: usize, size: usize) -> *mut c_void {
    let Some(total) = n.checked_mul(size) else {
        set_errno(libc::ENOMEM);
        return ptr::null_mut();
    };
    if total < threshold() {
        // SAFETY: plain glibc allocation.
        return unsafe { __libc_calloc(n, size) };
    }
    big_alloc(total, 1, true)
}

/// C `realloc` with glibc's semantics (`realloc(p, 0)` frees). A failure
/// leaves `p` untouched.
///
/// # Safety
/// `p` is null or a live block of this library (or glibc's); after success
/// only the result may be used.
#[cfg_attr(not(test), no_mangle)]
pub unsafe extern "C" fn realloc(p: *mut c_void, size: usize) -> *mut c_void {
    let threshold = threshold();
    if !in_range(p) {
        if p.is_null() {
            // SAFETY: realloc(NULL, n) is malloc(n).
            return unsafe { malloc(size) };
        }
        if size < threshold {
            // SAFETY: a glibc block staying in glibc.
            return unsafe { __libc_realloc(p, size) };
        }
        // A heap block grown past the threshold becomes file-backed.
        let q = {
            let mut g = lock();
            map_new(g.state(), size, 1)
        };
        if q.is_null() {
            // SAFETY: fall back to glibc; on failure `p` is left intact.
            return unsafe { __libc_realloc(p, size) };
        }
        let old = real_usable(p).min(size);
        // SAFETY: `p` has at least `old` readable bytes, `q` has `size`.
        unsafe {
            ptr::copy_nonoverlapping(p.cast::<u8>(), q.cast::<u8>(), old);
            __libc_free(p);
        }
        return q;
    }
    if size == 0 {
        // SAFETY: `p` is one of ours.
        unsafe { free(p) };
        return ptr::null_mut();
    }
    let mut g = lock();
    let st = g.state();
    let Some(i) = find_block(st.live(), p as usize) else {
        set_errno(libc::EINVAL);
        return ptr::null_mut();
    };
    let b = st.blocks[i];
    if size < threshold {
        return move_to_heap(st, i, size);
    }
    if b.flags & (FROZEN | SHARED_FILE) != 0 {
        // Another process maps this file: never resize it; copy instead.
        let q = map_new(st, size, 1);
        if q.is_null() {
            return move_to_heap(st, i, size);
        }
        // SAFETY: distinct blocks, each at least min(size, b.size) long.
        unsafe { ptr::copy_nonoverlapping(p.cast::<u8>(), q.cast::<u8>(), size.min(b.size)) };
        let j = find_block(st.live(), b.addr).unwrap_or(i);
        unmap_block(st, j);
        return q;
    }
    let q = resize_block(st, i, size);
    if q.is_null() {
        // No disk space for the growth (or no room to move): the heap.
        return move_to_heap(st, i, size);
    }
    q
}

/// Move mapped block `i` to a glibc block of `size` bytes (contents kept up
/// to `size`) and release it; null with the block untouched when glibc
/// has no memory either.
fn move_to_heap(st: &mut State, i: usize, size: usize) -> *mut c_void {
    let b = st.blocks[i];
    // SAFETY: plain glibc allocation (glibc never calls back into us).
    let q = unsafe { __libc_malloc(size) };
    if q.is_null() {
        return ptr::null_mut();
    }
    // SAFETY: `b` has `b.size` readable bytes, `q` has `size` writable ones.
    unsafe { ptr::copy_nonoverlapping(b.addr as *const u8, q.cast::<u8>(), size.min(b.size)) };
    unmap_block(st, i);
    q
}

/// C `reallocarray`: `realloc(p, n * size)` with overflow checked.
///
/// # Safety
/// As [`realloc`].
#[cfg_attr(not(test), no_mangle)]
pub unsafe extern "C" fn reallocarray(p: *mut c_void, n: usize, size: usize) -> *mut c_void {
    let Some(total) = n.checked_mul(size) else {
        set_errno(libc::ENOMEM);
        return ptr::null_mut();
    };
    // SAFETY: same contract as realloc.
    unsafe { realloc(p, total) }
}

/// Aligned allocation; `align` must be a power of two.
fn aligned(align: usize, size: usize) -> *mut c_void {
    if size < threshold() {
        // SAFETY: plain glibc allocation.
        return unsafe { __libc_memalign(align, size) };
    }
    big_alloc(size, align, false)
}

/// C `posix_memalign`; keeps `errno`.
///
/// # Safety
/// `out` is valid for one pointer write; the result is freed with `free`.
#[cfg_attr(not(test), no_mangle)]
pub unsafe extern "C" fn posix_memalign(out: *mut *mut c_void, align: usize, size: usize) -> c_int {
    if !align.is_power_of_two() || !align.is_multiple_of(core::mem::size_of::<*mut c_void>()) {
        return libc::EINVAL;
    }
    let e = errno();
    let p = aligned(align, size);
    if p.is_null() {
        set_errno(e);
        return libc::ENOMEM;
    }
    // SAFETY: the caller passes a valid out pointer.
    unsafe { *out = p };
    set_errno(e);
    0
}

/// C11 `aligned_alloc`.
///
/// # Safety
/// As [`malloc`].
#[cfg_attr(not(test), no_mangle)]
pub unsafe extern "C" fn aligned_alloc(align: usize, size: usize) -> *mut c_void {
    if !align.is_power_of_two() {
        set_errno(libc::EINVAL);
        return ptr::null_mut();
    }
    aligned(align, size)
}

/// Obsolete `memalign`; like glibc, rounds the alignment up to a power of two.
///
/// # Safety
/// As [`malloc`].
#[cfg_attr(not(test), no_mangle)]
pub unsafe extern "C" fn memalign(align: usize, size: usize) -> *mut c_void {
    let Some(align) = align.max(1).checked_next_power_of_two() else {
        set_errno(libc::EINVAL);
        return ptr::null_mut();
    };
    aligned(align, size)
}

/// Obsolete `valloc`: page-aligned.
///
/// # Safety
/// As [`malloc`].
#[cfg_attr(not(test), no_mangle)]
pub unsafe extern "C" fn valloc(size: usize) -> *mut c_void {
    aligned(page_size(), size)
}

/// Obsolete `pvalloc`: page-aligned, size rounded up to whole pages.
///
/// # Safety
/// As [`malloc`].
#[cfg_attr(not(test), no_mangle)]
pub unsafe extern "C" fn pvalloc(size: usize) -> *mut c_void {
    let page = page_size();
    let Some(n) = round_up(size.max(1), page) else {
        set_errno(libc::ENOMEM);
        return ptr::null_mut();
    };
    aligned(page, n)
}

/// `malloc_usable_size`: the page-rounded size for a mapped block.
///
/// # Safety
/// `p` is null or a live block of this library (or glibc's).
#[cfg_attr(not(test), no_mangle)]
pub unsafe extern "C" fn malloc_usable_size(p: *mut c_void) -> usize {
    if p.is_null() {
        return 0;
    }
    if !in_range(p) {
        return real_usable(p);
    }
    let mut g = lock();
    let st = g.state();
    find_block(st.live(), p as usize).map_or(0, |i| st.blocks[i].maplen)
}
