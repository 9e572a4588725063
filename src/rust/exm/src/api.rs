//! The steering API declared in inst/include/exm.h. Functions returning
//! `c_int` give 0 on success and -1 with `errno` set on failure.

use core::ffi::{c_char, c_int, c_void};
use core::ptr;
use core::sync::atomic::Ordering;

use crate::files::{create_file_in, drop_spares};
use crate::place::{find_containing, RANGE_LEN};
use crate::state::{lock, page_size, FORK_DUPLICATE, FORK_MODE, FORK_PRIVATE, FROZEN, PATH_CAP, SHARED_FILE, THRESHOLD};
use crate::set_errno;
use crate::text::{path_len, put, put_num};

/// Version string reported by `exm_version()`.
static VERSION: &[u8] = concat!(env!("CARGO_PKG_VERSION"), "\0").as_bytes();

/// Copy `src` into the caller's `buf` of `len` bytes, NUL-terminated and
/// truncated to `len - 1` bytes; nothing when `buf` is null or `len` is 0.
///
/// # Safety
/// `buf` is null or valid for `len` bytes of writes.
unsafe fn copy_out(src: &[u8], buf: *mut c_char, len: usize) {
    if buf.is_null() || len == 0 {
        return;
    }
    let k = src.len().min(len - 1);
    // SAFETY: per the caller, `buf` has `len > k` writable bytes.
    unsafe {
        ptr::copy_nonoverlapping(src.as_ptr(), buf.cast::<u8>(), k);
        *buf.add(k) = 0;
    }
}

/// Version of the shim, a static NUL-terminated string.
#[no_mangle]
pub extern "C" fn exm_version() -> *const c_char {
    VERSION.as_ptr().cast::<c_char>()
}

/// Requests of at least this many bytes are mapped.
#[no_mangle]
pub extern "C" fn exm_threshold_get() -> usize {
    THRESHOLD.load(Ordering::Relaxed)
}

/// Set the threshold: at least one page (exm-size's rule and this
/// system's page size); EINVAL otherwise, or when the shim is inactive.
#[no_mangle]
pub extern "C" fn exm_threshold_set(bytes: usize) -> c_int {
    let ok = exm_size::check_threshold(bytes as u64).is_ok() && bytes >= page_size();
    if !ok || RANGE_LEN.load(Ordering::Relaxed) == 0 {
        set_errno(libc::EINVAL);
        return -1;
    }
    THRESHOLD.store(bytes, Ordering::Relaxed);
    0
}

/// Copy the data directory into `buf`; returns its full length.
///
/// # Safety
/// `buf` is null or valid for `len` bytes of writes.
#[no_mangle]
pub unsafe extern "C" fn exm_path_get(buf: *mut c_char, len: usize) -> usize {
    let mut g = lock();
    let st = g.state();
    let n = path_len(&st.path);
    // SAFETY: the caller's contract.
    unsafe { copy_out(&st.path[..n], buf, len) };
    n
}

/// Use `dir` for new blocks, after checking a file can be created there.
///
/// # Safety
/// `dir` is null or a NUL-terminated string.
#[no_mangle]
pub unsafe extern "C" fn exm_path_set(dir: *const c_char) -> c_int {
    if dir.is_null() {
        set_errno(libc::EINVAL);
        return -1;
    }
    // SAFETY: the caller passes a NUL-terminated string.
    let s = unsafe { core::ffi::CStr::from_ptr(dir) }.to_bytes_with_nul();
    if s.len() > PATH_CAP || s.len() < 2 {
        set_errno(if s.len() < 2 { libc::EINVAL } else { libc::ENAMETOOLONG });
        return -1;
    }
    let mut g = lock();
    let st = g.state();
    let fd = create_file_in(s, &mut st.seq);
    if fd < 0 {
        return -1;
    }
    // SAFETY: our probe descriptor.
    unsafe { libc::close(fd) };
    // Kept files live in the old directory; new blocks go to the new one.
    drop_spares(st);
    st.path[..s.len()].copy_from_slice(s);
    0
}

/// The fork mode, one of `EXM_FORK_*`.
#[no_mangle]
pub extern "C" fn exm_fork_mode_get() -> c_int {
    FORK_MODE.load(Ordering::Relaxed) as c_int
}

/// Set the fork mode; EINVAL for an unknown one.
#[no_mangle]
pub extern "C" fn exm_fork_mode_set(mode: c_int) -> c_int {
    if !(FORK_PRIVATE..=FORK_DUPLICATE).contains(&mode) {
        set_errno(libc::EINVAL);
        return -1;
    }
    FORK_MODE.store(mode as u32, Ordering::Relaxed);
    0
}

/// Name of the file backing the block that contains `p`; its length, or -1
/// with `ENOENT` when `p` is in no block.
///
/// # Safety
/// `buf` is null or valid for `len` bytes of writes. `p` is only compared
/// with block addresses, never read.
#[no_mangle]
pub unsafe extern "C" fn exm_lookup(p: *const c_void, buf: *mut c_char, len: usize) -> isize {
    let fd = {
        let mut g = lock();
        let st = g.state();
        match find_containing(st.live(), p as usize) {
            Some(i) => st.blocks[i].fd,
            None => {
                set_errno(libc::ENOENT);
                return -1;
            }
        }
    };
    let mut link = [0u8; 64];
    let mut pos = 0;
    put(&mut link, &mut pos, b"/proc/self/fd/");
    put_num(&mut link, &mut pos, fd as u64);
    link[pos] = 0;
    let mut target = [0u8; PATH_CAP];
    // SAFETY: NUL-terminated link name, buffer of the given size.
    let n = unsafe { libc::readlink(link.as_ptr().cast::<c_char>(), target.as_mut_ptr().cast::<c_char>(), target.len()) };
    if n < 0 {
        return -1;
    }
    let mut n = n as usize;
    let suffix = b" (deleted)";
    if target[..n].ends_with(suffix) {
        n -= suffix.len();
    }
    // SAFETY: the caller's contract.
    unsafe { copy_out(&target[..n], buf, len) };
    n as isize
}

/// `madvise(2)` the whole block containing `p`.
///
/// # Safety
/// `p` is only compared with block addresses, never read; any value is
/// safe. Unsafe for symmetry with the C declaration.
#[no_mangle]
pub unsafe extern "C" fn exm_madvise(p: *const c_void, advice: c_int) -> c_int {
    let mut g = lock();
    let st = g.state();
    let Some(i) = find_containing(st.live(), p as usize) else {
        set_errno(libc::ENOENT);
        return -1;
    };
    let b = st.blocks[i];
    // Advice that discards contents would lose data here: on a frozen block
    // the process's own writes live only in its private pages, and the file
    // of a shared block belongs to other processes too.
    let discards = advice == libc::MADV_DONTNEED || advice == libc::MADV_FREE || advice == libc::MADV_REMOVE;
    if discards && (b.flags & FROZEN != 0 || (advice == libc::MADV_REMOVE && b.flags & SHARED_FILE != 0)) {
        set_errno(libc::EINVAL);
        return -1;
    }
    // SAFETY: the whole block is our mapping.
    unsafe { libc::madvise(b.addr as *mut c_void, b.maplen, advice) }
}

/// Number of blocks, their bytes and the peak of bytes.
///
/// # Safety
/// Each pointer is null or valid for one write.
#[no_mangle]
pub unsafe extern "C" fn exm_stats(count: *mut usize, bytes: *mut usize, peak: *mut usize) {
    let mut g = lock();
    let st = g.state();
    // SAFETY: the caller passes valid pointers or null.
    unsafe {
        if !count.is_null() {
            *count = st.n;
        }
        if !bytes.is_null() {
            *bytes = st.bytes;
        }
        if !peak.is_null() {
            *peak = st.peak;
        }
    }
}

/// Requests at or above the threshold that did not get a file, by reason:
/// disk space could not be reserved, the descriptor reserve was reached,
/// anything else. They came from glibc instead (or failed).
///
/// # Safety
/// Each pointer is null or valid for one write.
#[no_mangle]
pub unsafe extern "C" fn exm_fallbacks(space: *mut usize, descriptors: *mut usize, other: *mut usize) {
    let f = lock().state().fallbacks;
    // SAFETY: the caller passes valid pointers or null.
    unsafe {
        if !space.is_null() {
            *space = f.space;
        }
        if !descriptors.is_null() {
            *descriptors = f.descriptors;
        }
        if !other.is_null() {
            *other = f.other;
        }
    }
}
