//! Start-up (read the environment, reserve the address range, register the
//! fork handlers) and exit (the `--stats` report).

use core::ffi::c_char;
use core::ptr;
use core::sync::atomic::Ordering;

use crate::fork::{fork_child, fork_parent, fork_prepare};
use crate::files::setup_fds;
use crate::place::{MAX_MAPS, RANGE_BASE, RANGE_LEN};
use crate::state::{lock, parse_mode, FORK_MODE, PAGE_SIZE, PATH_CAP, REAL_USABLE, STATS_PID, THRESHOLD};
use crate::text::{put, put_num, warn, write_stderr};

/// A non-empty environment variable; `name` ends in NUL.
fn getenv(name: &[u8]) -> Option<&'static [u8]> {
    debug_assert!(name.ends_with(b"\0"));
    // SAFETY: `name` is NUL-terminated; getenv does not allocate and returns
    // a pointer into the environment.
    let p = unsafe { libc::getenv(name.as_ptr().cast::<c_char>()) };
    if p.is_null() {
        return None;
    }
    // SAFETY: getenv returns a NUL-terminated string that lives as long as
    // the environment is not modified for this variable.
    let s = unsafe { core::ffi::CStr::from_ptr(p) }.to_bytes();
    (!s.is_empty()).then_some(s)
}

/// The threshold from `EXM_THRESHOLD`, never below one page of this system.
fn threshold_from_env(page: usize) -> usize {
    let mut threshold = exm_size::DEFAULT_THRESHOLD;
    if let Some(s) = getenv(b"EXM_THRESHOLD\0") {
        match exm_size::parse_threshold(s) {
            Ok(v) => threshold = v,
            Err(e) => warn(&[b"exm: ignoring EXM_THRESHOLD='", s, b"': ", e.message().as_bytes()]),
        }
    }
    usize::try_from(threshold).unwrap_or(usize::MAX).max(page)
}

/// Parse the decimal number at the start of `bytes` (a /proc file).
fn leading_number(bytes: &[u8]) -> Option<usize> {
    let digits = bytes.iter().take_while(|c| c.is_ascii_digit()).count();
    if digits == 0 {
        return None;
    }
    bytes[..digits].iter().try_fold(0usize, |v, &c| v.checked_mul(10)?.checked_add(usize::from(c - b'0')))
}

/// vm.max_map_count, read without allocating.
fn read_max_map_count() -> Option<usize> {
    // SAFETY: NUL-terminated path.
    let fd = unsafe { libc::open(c"/proc/sys/vm/max_map_count".as_ptr(), libc::O_RDONLY | libc::O_CLOEXEC) };
    if fd < 0 {
        return None;
    }
    let mut buf = [0u8; 32];
    // SAFETY: reading into our stack buffer from our descriptor.
    let n = unsafe { libc::read(fd, buf.as_mut_ptr().cast(), buf.len()) };
    // SAFETY: our descriptor.
    unsafe { libc::close(fd) };
    leading_number(&buf[..usize::try_from(n).ok()?])
}

/// Reserve the address range for blocks: as large as the system lets us.
fn reserve_range() -> bool {
    let mut len: usize = 1 << 45;
    while len >= 1 << 30 {
        // SAFETY: a fresh anonymous PROT_NONE reservation; no memory is used.
        let r = unsafe {
            libc::mmap(
                ptr::null_mut(),
                len,
                libc::PROT_NONE,
                libc::MAP_PRIVATE | libc::MAP_ANONYMOUS | libc::MAP_NORESERVE,
                -1,
                0,
            )
        };
        if r != libc::MAP_FAILED {
            RANGE_BASE.store(r as usize, Ordering::Relaxed);
            RANGE_LEN.store(len, Ordering::Relaxed);
            return true;
        }
        len /= 2;
    }
    false
}

extern "C" fn init() {
    // SAFETY: sysconf has no preconditions.
    let page = unsafe { libc::sysconf(libc::_SC_PAGESIZE) };
    if page > 0 {
        PAGE_SIZE.store(page as usize, Ordering::Relaxed);
    }
    let page = PAGE_SIZE.load(Ordering::Relaxed);
    // glibc's malloc_usable_size is weak and has no __libc_ alias. dlsym may
    // allocate: the threshold is still infinite, so that goes to glibc.
    // SAFETY: dlsym with a NUL-terminated name.
    let f = unsafe { libc::dlsym(libc::RTLD_NEXT, c"malloc_usable_size".as_ptr()) };
    REAL_USABLE.store(f, Ordering::Relaxed);

    let threshold = threshold_from_env(page);
    if let Some(s) = getenv(b"EXM_FORK_MODE\0") {
        match parse_mode(s) {
            Some(m) => FORK_MODE.store(m as u32, Ordering::Relaxed),
            None => warn(&[b"exm: ignoring EXM_FORK_MODE='", s, b"' (use private, shared or duplicate)"]),
        }
    }
    if let Some(s) = getenv(b"EXM_STATS\0") {
        if let Ok(pid) = exm_size::parse_size(s) {
            STATS_PID.store(pid as usize, Ordering::Relaxed);
        }
    }
    let dir = getenv(b"EXM_PATH\0").or_else(|| getenv(b"TMPDIR\0")).unwrap_or(b"/tmp");
    {
        let mut g = lock();
        let st = g.state();
        let n = dir.len().min(PATH_CAP - 1);
        st.path[..n].copy_from_slice(&dir[..n]);
        st.path[n] = 0;
    }

    setup_fds();
    if let Some(m) = read_max_map_count() {
        MAX_MAPS.store(m, Ordering::Relaxed);
    }

    if !reserve_range() {
        warn(&[b"exm: cannot reserve address space; large allocations stay in memory"]);
        return;
    }
    // SAFETY: registering handlers with static lifetime.
    unsafe { libc::pthread_atfork(Some(fork_prepare), Some(fork_parent), Some(fork_child)) };
    THRESHOLD.store(threshold, Ordering::Release);
}

extern "C" fn fini() {
    let pid = STATS_PID.load(Ordering::Relaxed);
    // SAFETY: getpid has no preconditions.
    if pid == 0 || pid != unsafe { libc::getpid() } as usize {
        return;
    }
    let (count, bytes, peak, total) = {
        let mut g = lock();
        let st = g.state();
        (st.n, st.bytes, st.peak, st.total)
    };
    let mut buf = [0u8; 256];
    let mut pos = 0;
    put(&mut buf, &mut pos, b"exm: blocks ");
    put_num(&mut buf, &mut pos, total);
    put(&mut buf, &mut pos, b" mapped in total, ");
    put_num(&mut buf, &mut pos, count as u64);
    put(&mut buf, &mut pos, b" still mapped (");
    put_num(&mut buf, &mut pos, bytes as u64);
    put(&mut buf, &mut pos, b" bytes), peak ");
    put_num(&mut buf, &mut pos, peak as u64);
    put(&mut buf, &mut pos, b" bytes\n");
    write_stderr(&buf[..pos]);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn proc_numbers() {
        assert_eq!(leading_number(b"65530\n"), Some(65530));
        assert_eq!(leading_number(b"0"), Some(0));
        assert_eq!(leading_number(b"\n"), None);
        assert_eq!(leading_number(b"99999999999999999999999999"), None);
        assert!(read_max_map_count().is_some_and(|m| m > 0));
    }
}

// The constructor and destructor; not in unit tests, whose binary keeps
// glibc's allocator.
#[cfg(not(test))]
#[used]
#[link_section = ".init_array"]
static INIT: extern "C" fn() = init;

#[cfg(not(test))]
#[used]
#[link_section = ".fini_array"]
static FINI: extern "C" fn() = fini;
