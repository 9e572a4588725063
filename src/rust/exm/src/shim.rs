//! exm shim: a preloadable library that sends large allocations to
//! file-backed mappings.
//!
//! Layout of the design (see README.md for the long version):
//!
//! * At start-up the shim reserves one large range of address space
//!   (`PROT_NONE`, no memory, no commit charge). Every file-backed block lives
//!   inside that range, so `free`/`realloc` recognise a mapped block with a
//!   single subtraction and compare: no lock and no lookup on the fast path.
//! * Requests below the threshold go straight to glibc through its exported
//!   `__libc_*` entry points (no `dlsym` at start-up, hence no recursion).
//! * A large request takes the slow path under one mutex: an unlinked file
//!   (`O_TMPFILE`, or create + unlink) is sized with `ftruncate` (no pages are
//!   written) and mapped `MAP_SHARED | MAP_FIXED` over a free part of the
//!   range. The descriptor is kept for growth and for fork duplication.
//! * `free` of a mapped block puts the reservation back over it (which drops
//!   the mapping at once) and closes the descriptor, which releases the file.
//!
//! Hooks never allocate and never log. Start-up runs from a constructor; while
//! it runs the threshold is "infinite" so any allocation made by libc on our
//! behalf (e.g. inside `pthread_atfork`) goes to glibc: that is the
//! reentrancy guard.

#![deny(unsafe_op_in_unsafe_fn)]
#![warn(clippy::undocumented_unsafe_blocks)]
// The exported hooks are `unsafe` to call by nature (C ABI, raw pointers);
// they are not meant to be called from Rust.
#![allow(clippy::missing_safety_doc)]

mod size;

use core::cell::UnsafeCell;
use core::ffi::{c_char, c_int, c_void};
use core::ptr;
use core::sync::atomic::{AtomicPtr, AtomicU32, AtomicUsize, Ordering};

extern "C" {
    fn __libc_malloc(n: usize) -> *mut c_void;
    fn __libc_free(p: *mut c_void);
    fn __libc_calloc(n: usize, s: usize) -> *mut c_void;
    fn __libc_realloc(p: *mut c_void, n: usize) -> *mut c_void;
    fn __libc_memalign(align: usize, n: usize) -> *mut c_void;
}

/// Version string reported by `exm_version()`.
static VERSION: &[u8] = concat!(env!("CARGO_PKG_VERSION"), "\0").as_bytes();

/// Fork modes (same values as `EXM_FORK_*` in exm.h).
pub const FORK_PRIVATE: c_int = 0;
pub const FORK_SHARED: c_int = 1;
pub const FORK_DUPLICATE: c_int = 2;

const DEFAULT_THRESHOLD: usize = 2 << 30;
const PAGE: usize = 4096;
const MAX_BLOCKS: usize = 1 << 16;
/// Every block starts on a 2 MiB boundary, so virtual addresses and file
/// offsets agree modulo the largest page-cache folio: the kernel can then
/// map a whole large folio per fault instead of one page per fault (a
/// misaligned block made first writes several times slower on ext4).
const BLOCK_ALIGN: usize = 2 << 20;
const PATH_CAP: usize = 4096;

/// Requests of at least this many bytes are mapped. `usize::MAX` until the
/// constructor has finished (and in a process where start-up failed).
static THRESHOLD: AtomicUsize = AtomicUsize::new(usize::MAX);
/// The reserved address range holding every mapped block.
static RANGE_BASE: AtomicUsize = AtomicUsize::new(0);
static RANGE_LEN: AtomicUsize = AtomicUsize::new(0);
static PAGE_SIZE: AtomicUsize = AtomicUsize::new(PAGE);
static FORK_MODE: AtomicU32 = AtomicU32::new(FORK_PRIVATE as u32);
/// Process id that prints statistics at exit (0: nobody).
static STATS_PID: AtomicUsize = AtomicUsize::new(0);
/// glibc's `malloc_usable_size` (it is a weak symbol, so not reachable by a
/// `__libc_` name); resolved in the constructor.
static REAL_USABLE: AtomicPtr<c_void> = AtomicPtr::new(ptr::null_mut());

/// Block flag: mapped `MAP_PRIVATE` over a file that other processes may
/// still map (private fork mode). The file must never be written or resized.
const FROZEN: u32 = 1;
/// Block flag: the file is shared with another process (any fork mode);
/// resizing copies to a new file instead of truncating this one.
const SHARED_FILE: u32 = 2;

#[derive(Clone, Copy)]
struct Block {
    addr: usize,
    maplen: usize,
    size: usize,
    fd: c_int,
    /// Copy made before a fork in duplicate mode, for the child.
    dup_fd: c_int,
    flags: u32,
}

// All zeros so the table lands in .bss (only `blocks[..n]` is ever read).
const EMPTY: Block = Block { addr: 0, maplen: 0, size: 0, fd: 0, dup_fd: 0, flags: 0 };

struct State {
    /// Blocks sorted by address; `blocks[..n]` are live.
    n: usize,
    blocks: [Block; MAX_BLOCKS],
    path: [u8; PATH_CAP],
    seq: u64,
    bytes: usize,
    peak: usize,
    total: u64,
}

struct Global {
    mutex: UnsafeCell<libc::pthread_mutex_t>,
    state: UnsafeCell<State>,
}

// SAFETY: `state` is only reached through `lock()`, which holds `mutex`.
unsafe impl Sync for Global {}

static G: Global = Global {
    mutex: UnsafeCell::new(libc::PTHREAD_MUTEX_INITIALIZER),
    state: UnsafeCell::new(State {
        n: 0,
        blocks: [EMPTY; MAX_BLOCKS],
        path: [0; PATH_CAP],
        seq: 0,
        bytes: 0,
        peak: 0,
        total: 0,
    }),
};

struct Guard;

impl Guard {
    fn state(&mut self) -> &mut State {
        // SAFETY: a `Guard` exists only while the mutex is held, and `&mut
        // self` prevents two live borrows through the same guard.
        unsafe { &mut *G.state.get() }
    }
}

impl Drop for Guard {
    fn drop(&mut self) {
        // SAFETY: the mutex was locked by `lock()` in this thread.
        unsafe { libc::pthread_mutex_unlock(G.mutex.get()) };
    }
}

fn lock() -> Guard {
    // SAFETY: the mutex is statically initialised and never moved.
    unsafe { libc::pthread_mutex_lock(G.mutex.get()) };
    Guard
}

#[inline]
fn errno() -> c_int {
    // SAFETY: `__errno_location` always returns this thread's errno slot.
    unsafe { *libc::__errno_location() }
}

#[inline]
fn set_errno(e: c_int) {
    // SAFETY: as in `errno()`.
    unsafe { *libc::__errno_location() = e };
}

#[inline]
fn in_range(p: *mut c_void) -> bool {
    (p as usize).wrapping_sub(RANGE_BASE.load(Ordering::Relaxed)) < RANGE_LEN.load(Ordering::Relaxed)
}

#[inline]
fn round_up(n: usize, to: usize) -> Option<usize> {
    n.checked_add(to - 1).map(|v| v & !(to - 1))
}

// ---------------------------------------------------------------------------
// Address range and files
// ---------------------------------------------------------------------------

/// Put the reservation back over `[addr, addr + len)`, dropping whatever was
/// mapped there.
unsafe fn reserve(addr: usize, len: usize) -> bool {
    // SAFETY: the caller guarantees the range lies inside our reservation and
    // holds nothing anyone else still uses.
    let r = unsafe {
        libc::mmap(
            addr as *mut c_void,
            len,
            libc::PROT_NONE,
            libc::MAP_PRIVATE | libc::MAP_ANONYMOUS | libc::MAP_NORESERVE | libc::MAP_FIXED,
            -1,
            0,
        )
    };
    r != libc::MAP_FAILED
}

/// Find room for `len` bytes aligned to `align` in the range, ignoring the
/// block at index `skip` (the one being moved). Tries after the last block
/// first (leaves room for growth), then the first gap that fits.
fn find_gap(st: &State, len: usize, align: usize, skip: usize) -> Option<usize> {
    let base = RANGE_BASE.load(Ordering::Relaxed);
    let end = base + RANGE_LEN.load(Ordering::Relaxed);
    let fits = |from: usize, to: usize| -> Option<usize> {
        let a = round_up(from, align)?;
        (a.checked_add(len)? <= to).then_some(a)
    };
    let live = || st.blocks[..st.n].iter().enumerate().filter(|(i, _)| *i != skip).map(|(_, b)| b);
    let last_end = live().next_back().map_or(base, |b| b.addr + b.maplen);
    if let Some(a) = fits(last_end, end) {
        return Some(a);
    }
    let mut cursor = base;
    for b in live() {
        if let Some(a) = fits(cursor, b.addr) {
            return Some(a);
        }
        cursor = b.addr + b.maplen;
    }
    None
}

fn find_block(st: &State, addr: usize) -> Option<usize> {
    st.blocks[..st.n].binary_search_by(|b| b.addr.cmp(&addr)).ok()
}

/// Index of the block containing `addr` (not only its start).
fn find_containing(st: &State, addr: usize) -> Option<usize> {
    let i = st.blocks[..st.n].partition_point(|b| b.addr <= addr);
    if i == 0 {
        return None;
    }
    let b = &st.blocks[i - 1];
    (addr < b.addr + b.maplen).then_some(i - 1)
}

fn insert_block(st: &mut State, b: Block) {
    let i = st.blocks[..st.n].partition_point(|x| x.addr < b.addr);
    st.blocks.copy_within(i..st.n, i + 1);
    st.blocks[i] = b;
    st.n += 1;
}

fn remove_block(st: &mut State, i: usize) -> Block {
    let b = st.blocks[i];
    st.blocks.copy_within(i + 1..st.n, i);
    st.n -= 1;
    b
}

/// Append decimal `v` to `buf` at `*pos`.
fn put_num(buf: &mut [u8], pos: &mut usize, mut v: u64) {
    let mut tmp = [0u8; 20];
    let mut k = tmp.len();
    loop {
        k -= 1;
        tmp[k] = b'0' + (v % 10) as u8;
        v /= 10;
        if v == 0 {
            break;
        }
    }
    put(buf, pos, &tmp[k..]);
}

fn put(buf: &mut [u8], pos: &mut usize, s: &[u8]) {
    let n = s.len().min(buf.len().saturating_sub(*pos));
    buf[*pos..*pos + n].copy_from_slice(&s[..n]);
    *pos += n;
}

fn path_len(path: &[u8]) -> usize {
    path.iter().position(|&c| c == 0).unwrap_or(path.len())
}

/// Open a new anonymous (already unlinked) file in directory `dir`
/// (NUL-terminated). Returns the descriptor or -1 with errno set.
fn create_file_in(dir: &[u8], seq: &mut u64) -> c_int {
    // SAFETY: `dir` is NUL-terminated (callers keep a NUL in the buffer).
    let fd = unsafe {
        libc::open(dir.as_ptr().cast::<c_char>(), libc::O_TMPFILE | libc::O_RDWR | libc::O_CLOEXEC, 0o600)
    };
    if fd >= 0 {
        return fd;
    }
    // Filesystems without O_TMPFILE: create a unique name and unlink it at
    // once, so nothing is left behind whatever happens next.
    let mut name = [0u8; PATH_CAP + 64];
    let dl = path_len(dir);
    for _ in 0..100 {
        *seq += 1;
        let mut pos = 0;
        put(&mut name, &mut pos, &dir[..dl]);
        put(&mut name, &mut pos, b"/exm-");
        // SAFETY: getpid has no preconditions.
        put_num(&mut name, &mut pos, unsafe { libc::getpid() } as u64);
        put(&mut name, &mut pos, b"-");
        put_num(&mut name, &mut pos, *seq);
        if pos >= name.len() - 1 {
            set_errno(libc::ENAMETOOLONG);
            return -1;
        }
        name[pos] = 0;
        // SAFETY: `name` is NUL-terminated just above.
        let fd = unsafe {
            libc::open(
                name.as_ptr().cast::<c_char>(),
                libc::O_CREAT | libc::O_EXCL | libc::O_RDWR | libc::O_CLOEXEC,
                0o600,
            )
        };
        if fd >= 0 {
            // SAFETY: as above.
            unsafe { libc::unlink(name.as_ptr().cast::<c_char>()) };
            return fd;
        }
        if errno() != libc::EEXIST {
            return -1;
        }
    }
    -1
}

fn create_file(st: &mut State) -> c_int {
    let path = st.path;
    high_fd(create_file_in(&path, &mut st.seq))
}

/// Lowest descriptor number used for backing files when the limit allows:
/// keeps descriptors below FD_SETSIZE free for the program (select()).
static FD_FLOOR: AtomicUsize = AtomicUsize::new(0);

/// Move `fd` to FD_FLOOR or above (when set); returns the descriptor to use.
fn high_fd(fd: c_int) -> c_int {
    let floor = FD_FLOOR.load(Ordering::Relaxed);
    if fd < 0 || floor == 0 || fd as usize >= floor {
        return fd;
    }
    // SAFETY: duplicating our own descriptor.
    let hi = unsafe { libc::fcntl(fd, libc::F_DUPFD_CLOEXEC, floor as c_int) };
    if hi < 0 {
        return fd;
    }
    // SAFETY: closing our original descriptor; `hi` refers to the same file.
    unsafe { libc::close(fd) };
    hi
}

/// Raise the soft descriptor limit (each mapped block holds a descriptor)
/// and keep backing files above FD_SETSIZE when there is room.
fn setup_fds() {
    let mut rl = libc::rlimit { rlim_cur: 0, rlim_max: 0 };
    // SAFETY: valid out pointer.
    if unsafe { libc::getrlimit(libc::RLIMIT_NOFILE, &mut rl) } != 0 {
        return;
    }
    let want = rl.rlim_cur.saturating_add(MAX_BLOCKS as libc::rlim_t).min(rl.rlim_max);
    if want > rl.rlim_cur {
        let new = libc::rlimit { rlim_cur: want, rlim_max: rl.rlim_max };
        // SAFETY: valid rlimit.
        if unsafe { libc::setrlimit(libc::RLIMIT_NOFILE, &new) } == 0 {
            rl.rlim_cur = want;
        }
    }
    let floor = libc::FD_SETSIZE as libc::rlim_t;
    if rl.rlim_cur >= floor + 4096 {
        FD_FLOOR.store(floor as usize, Ordering::Relaxed);
    }
}

fn note_alloc(st: &mut State, size: usize) {
    st.bytes += size;
    st.total += 1;
    if st.bytes > st.peak {
        st.peak = st.bytes;
    }
}

/// Create a mapped block of `size` bytes aligned to `align` (a power of two,
/// at least one page). Returns null with errno set on failure.
fn map_new(st: &mut State, size: usize, align: usize) -> *mut c_void {
    let page = PAGE_SIZE.load(Ordering::Relaxed);
    let Some(maplen) = round_up(size.max(1), page) else {
        set_errno(libc::ENOMEM);
        return ptr::null_mut();
    };
    if st.n == MAX_BLOCKS || maplen > isize::MAX as usize {
        set_errno(libc::ENOMEM);
        return ptr::null_mut();
    }
    let Some(addr) = find_gap(st, maplen, align.max(BLOCK_ALIGN), usize::MAX) else {
        set_errno(libc::ENOMEM);
        return ptr::null_mut();
    };
    let fd = create_file(st);
    if fd < 0 {
        return ptr::null_mut();
    }
    // SAFETY: `fd` is ours; sizing the file writes no data pages.
    if unsafe { libc::ftruncate(fd, maplen as libc::off_t) } != 0 {
        let e = errno();
        // SAFETY: closing our own descriptor.
        unsafe { libc::close(fd) };
        set_errno(if e == libc::EFBIG || e == libc::EINVAL { libc::ENOMEM } else { e });
        return ptr::null_mut();
    }
    // SAFETY: `[addr, addr + maplen)` is a free part of our reservation
    // (find_gap), so MAP_FIXED replaces only our PROT_NONE placeholder.
    let r = unsafe {
        libc::mmap(
            addr as *mut c_void,
            maplen,
            libc::PROT_READ | libc::PROT_WRITE,
            libc::MAP_SHARED | libc::MAP_FIXED,
            fd,
            0,
        )
    };
    if r == libc::MAP_FAILED {
        let e = errno();
        // SAFETY: restore the placeholder over our own range; close our fd.
        unsafe {
            reserve(addr, maplen);
            libc::close(fd);
        }
        set_errno(e);
        return ptr::null_mut();
    }
    insert_block(st, Block { addr, maplen, size, fd, dup_fd: -1, flags: 0 });
    note_alloc(st, size);
    addr as *mut c_void
}

/// Release block `i`: the reservation goes back over it, the descriptor is
/// closed (the file disappears with its last descriptor).
fn unmap_block(st: &mut State, i: usize) {
    let b = remove_block(st, i);
    // SAFETY: the block was ours and is no longer in the table.
    unsafe {
        reserve(b.addr, b.maplen);
        libc::close(b.fd);
    }
    st.bytes -= b.size;
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

// ---------------------------------------------------------------------------
// The allocation family
// ---------------------------------------------------------------------------

#[no_mangle]
pub unsafe extern "C" fn malloc(size: usize) -> *mut c_void {
    if size < THRESHOLD.load(Ordering::Relaxed) {
        // SAFETY: plain glibc allocation.
        return unsafe { __libc_malloc(size) };
    }
    big_alloc(size, 1, false)
}

#[no_mangle]
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
        if let Some(i) = find_block(st, p as usize) {
            unmap_block(st, i);
        }
    }
    set_errno(e);
}

#[no_mangle]
pub unsafe extern "C" fn cfree(p: *mut c_void) {
    // SAFETY: same contract as free.
    unsafe { free(p) }
}

#[no_mangle]
pub unsafe extern "C" fn calloc(n: usize, size: usize) -> *mut c_void {
    let Some(total) = n.checked_mul(size) else {
        set_errno(libc::ENOMEM);
        return ptr::null_mut();
    };
    if total < THRESHOLD.load(Ordering::Relaxed) {
        // SAFETY: plain glibc allocation.
        return unsafe { __libc_calloc(n, size) };
    }
    // A fresh file reads as zeros: nothing to clear.
    big_alloc(total, 1, true)
}

#[no_mangle]
pub unsafe extern "C" fn realloc(p: *mut c_void, size: usize) -> *mut c_void {
    let threshold = THRESHOLD.load(Ordering::Relaxed);
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
        // glibc semantics: realloc(p, 0) frees and returns NULL.
        // SAFETY: `p` is one of ours.
        unsafe { free(p) };
        return ptr::null_mut();
    }
    let mut g = lock();
    let st = g.state();
    let Some(i) = find_block(st, p as usize) else {
        set_errno(libc::EINVAL);
        return ptr::null_mut();
    };
    let b = st.blocks[i];
    if size < threshold {
        // Back to the heap.
        // SAFETY: plain glibc allocation.
        let q = unsafe { __libc_malloc(size) };
        if q.is_null() {
            return ptr::null_mut();
        }
        // SAFETY: both blocks hold at least `size` bytes (size < b.size here
        // or b.size bytes are readable).
        unsafe { ptr::copy_nonoverlapping(p.cast::<u8>(), q.cast::<u8>(), size.min(b.size)) };
        unmap_block(st, i);
        return q;
    }
    if b.flags & (FROZEN | SHARED_FILE) != 0 {
        // Another process maps this file: never resize it; copy instead.
        let q = map_new(st, size, 1);
        if q.is_null() {
            return ptr::null_mut();
        }
        // SAFETY: distinct blocks, each at least min(size, b.size) long.
        unsafe { ptr::copy_nonoverlapping(p.cast::<u8>(), q.cast::<u8>(), size.min(b.size)) };
        let j = find_block(st, b.addr).unwrap_or(i);
        unmap_block(st, j);
        return q;
    }
    resize_block(st, i, size)
}

/// Resize mapped block `i` in place or by moving it (mremap). On failure
/// the block is left as it was and null is returned.
fn resize_block(st: &mut State, i: usize, size: usize) -> *mut c_void {
    let page = PAGE_SIZE.load(Ordering::Relaxed);
    let b = st.blocks[i];
    let Some(newlen) = round_up(size, page).filter(|&l| l <= isize::MAX as usize) else {
        set_errno(libc::ENOMEM);
        return ptr::null_mut();
    };
    if newlen <= b.maplen {
        if newlen < b.maplen {
            // SAFETY: shrinking our own mapping in place; the tail goes back
            // to the reservation, then the file is cut (no one else maps it).
            unsafe {
                // mremap leaves a hole behind the block (or fails when the
                // mapping spans several areas); either way the placeholder
                // then goes over the tail, which also unmaps it.
                libc::mremap(b.addr as *mut c_void, b.maplen, newlen, 0);
                reserve(b.addr + newlen, b.maplen - newlen);
                libc::ftruncate(b.fd, newlen as libc::off_t);
            }
        }
        st.bytes = st.bytes - b.size + size;
        if st.bytes > st.peak {
            st.peak = st.bytes;
        }
        let blk = &mut st.blocks[i];
        blk.size = size;
        blk.maplen = newlen;
        return b.addr as *mut c_void;
    }
    // Grow: size the file first (writes nothing).
    // SAFETY: our descriptor.
    if unsafe { libc::ftruncate(b.fd, newlen as libc::off_t) } != 0 {
        set_errno(libc::ENOMEM);
        return ptr::null_mut();
    }
    let end = RANGE_BASE.load(Ordering::Relaxed) + RANGE_LEN.load(Ordering::Relaxed);
    let next = if i + 1 < st.n { st.blocks[i + 1].addr } else { end };
    let mut addr = b.addr;
    let ok = if b.addr + newlen <= next {
        // Room behind the block: map the extension in place.
        // SAFETY: `[addr + maplen, addr + newlen)` is free reservation.
        let r = unsafe {
            libc::mmap(
                (b.addr + b.maplen) as *mut c_void,
                newlen - b.maplen,
                libc::PROT_READ | libc::PROT_WRITE,
                libc::MAP_SHARED | libc::MAP_FIXED,
                b.fd,
                b.maplen as libc::off_t,
            )
        };
        if r == libc::MAP_FAILED {
            // SAFETY: restore the placeholder over the free tail.
            unsafe { reserve(b.addr + b.maplen, newlen - b.maplen) };
            false
        } else {
            true
        }
    } else if let Some(to) = find_gap(st, newlen, BLOCK_ALIGN, i) {
        // Move: mremap keeps the page tables; the old range goes back to
        // the reservation.
        // SAFETY: `to..to+newlen` is free reservation; MREMAP_FIXED replaces
        // the placeholder there.
        let r = unsafe {
            libc::mremap(
                b.addr as *mut c_void,
                b.maplen,
                newlen,
                libc::MREMAP_MAYMOVE | libc::MREMAP_FIXED,
                to as *mut c_void,
            )
        };
        let moved = if r == libc::MAP_FAILED {
            // The mapping spans several areas: map the file afresh (all data
            // lives in the file, nothing is lost).
            // SAFETY: as above.
            let r = unsafe {
                libc::mmap(
                    to as *mut c_void,
                    newlen,
                    libc::PROT_READ | libc::PROT_WRITE,
                    libc::MAP_SHARED | libc::MAP_FIXED,
                    b.fd,
                    0,
                )
            };
            r != libc::MAP_FAILED
        } else {
            true
        };
        if moved {
            // SAFETY: the old range is ours and no longer holds the block.
            unsafe { reserve(b.addr, b.maplen) };
            addr = to;
        } else {
            // SAFETY: restore the placeholder at the target.
            unsafe { reserve(to, newlen) };
        }
        moved
    } else {
        false
    };
    if !ok {
        // SAFETY: undo the growth of our own file; the block is untouched.
        unsafe { libc::ftruncate(b.fd, b.maplen as libc::off_t) };
        set_errno(libc::ENOMEM);
        return ptr::null_mut();
    }
    let mut nb = remove_block(st, i);
    nb.addr = addr;
    nb.maplen = newlen;
    nb.size = size;
    insert_block(st, nb);
    st.bytes = st.bytes - b.size + size;
    if st.bytes > st.peak {
        st.peak = st.bytes;
    }
    addr as *mut c_void
}

#[no_mangle]
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
    if size < THRESHOLD.load(Ordering::Relaxed) {
        // SAFETY: plain glibc allocation.
        return unsafe { __libc_memalign(align, size) };
    }
    big_alloc(size, align, false)
}

#[no_mangle]
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

#[no_mangle]
pub unsafe extern "C" fn aligned_alloc(align: usize, size: usize) -> *mut c_void {
    if !align.is_power_of_two() {
        set_errno(libc::EINVAL);
        return ptr::null_mut();
    }
    aligned(align, size)
}

#[no_mangle]
pub unsafe extern "C" fn memalign(align: usize, size: usize) -> *mut c_void {
    // glibc rounds a non-power-of-two alignment up.
    let align = match align.max(1).checked_next_power_of_two() {
        Some(a) => a,
        None => {
            set_errno(libc::EINVAL);
            return ptr::null_mut();
        }
    };
    aligned(align, size)
}

#[no_mangle]
pub unsafe extern "C" fn valloc(size: usize) -> *mut c_void {
    aligned(PAGE_SIZE.load(Ordering::Relaxed), size)
}

#[no_mangle]
pub unsafe extern "C" fn pvalloc(size: usize) -> *mut c_void {
    let page = PAGE_SIZE.load(Ordering::Relaxed);
    let Some(n) = round_up(size.max(1), page) else {
        set_errno(libc::ENOMEM);
        return ptr::null_mut();
    };
    aligned(page, n)
}

#[no_mangle]
pub unsafe extern "C" fn malloc_usable_size(p: *mut c_void) -> usize {
    if p.is_null() {
        return 0;
    }
    if !in_range(p) {
        return real_usable(p);
    }
    let mut g = lock();
    let st = g.state();
    find_block(st, p as usize).map_or(0, |i| st.blocks[i].maplen)
}

// ---------------------------------------------------------------------------
// Fork
// ---------------------------------------------------------------------------

/// Copy the contents of block `b` into a fresh file; returns its descriptor
/// or -1. Only data regions are copied (holes stay holes).
fn copy_block(st: &mut State, b: &Block) -> c_int {
    let nfd = create_file(st);
    if nfd < 0 {
        return -1;
    }
    // SAFETY: our new descriptor.
    if unsafe { libc::ftruncate(nfd, b.maplen as libc::off_t) } != 0 {
        // SAFETY: our new descriptor.
        unsafe { libc::close(nfd) };
        return -1;
    }
    let ok = if b.flags & FROZEN == 0 { copy_file(b.fd, nfd, b.maplen) } else { false };
    // A frozen block's current contents live in this process's memory, not
    // in the file; a failed file copy is retried from memory too.
    if ok || copy_memory(b, nfd) {
        nfd
    } else {
        // SAFETY: our new descriptor.
        unsafe { libc::close(nfd) };
        -1
    }
}

fn copy_file(from: c_int, to: c_int, len: usize) -> bool {
    let mut pos: libc::off_t = 0;
    let len = len as libc::off_t;
    while pos < len {
        // SAFETY: lseek on our descriptor.
        let data = unsafe { libc::lseek(from, pos, libc::SEEK_DATA) };
        if data < 0 {
            if errno() == libc::ENXIO {
                return true; // only a hole remains
            }
            // No SEEK_DATA support: copy everything.
            return copy_range(from, to, pos, len);
        }
        // SAFETY: as above.
        let hole = unsafe { libc::lseek(from, data, libc::SEEK_HOLE) };
        let hole = if hole < 0 { len } else { hole.min(len) };
        if !copy_range(from, to, data, hole) {
            return false;
        }
        pos = hole;
    }
    true
}

fn copy_range(from: c_int, to: c_int, start: libc::off_t, end: libc::off_t) -> bool {
    let mut off_in = start;
    let mut off_out = start;
    while off_in < end {
        // SAFETY: our descriptors and offset variables.
        let n = unsafe {
            libc::copy_file_range(from, &mut off_in, to, &mut off_out, (end - off_in) as usize, 0)
        };
        if n <= 0 {
            return false;
        }
    }
    true
}

fn copy_memory(b: &Block, to: c_int) -> bool {
    let mut done = 0usize;
    while done < b.maplen {
        // SAFETY: `[addr, addr + maplen)` is mapped readable in this process.
        let n = unsafe {
            libc::pwrite(to, (b.addr + done) as *const c_void, b.maplen - done, done as libc::off_t)
        };
        if n <= 0 {
            return false;
        }
        done += n as usize;
    }
    true
}

/// Re-map block `b` privately over its own file: its current contents are
/// in the file (shared mapping), so nothing changes for this process, and
/// from now on nobody writes the file.
fn freeze(b: &mut Block) {
    // SAFETY: replaces our own shared mapping of `b.fd` by a private one of
    // the same file at the same place; contents are identical.
    let r = unsafe {
        libc::mmap(
            b.addr as *mut c_void,
            b.maplen,
            libc::PROT_READ | libc::PROT_WRITE,
            libc::MAP_PRIVATE | libc::MAP_FIXED,
            b.fd,
            0,
        )
    };
    if r != libc::MAP_FAILED {
        b.flags |= FROZEN | SHARED_FILE;
    }
}

extern "C" fn fork_prepare() {
    let mut g = lock();
    let st = g.state();
    let mode = FORK_MODE.load(Ordering::Relaxed) as c_int;
    for i in 0..st.n {
        let mut b = st.blocks[i];
        match mode {
            FORK_SHARED => b.flags |= SHARED_FILE,
            FORK_DUPLICATE => {
                b.dup_fd = copy_block(st, &b);
                if b.dup_fd < 0 && b.flags & FROZEN == 0 {
                    // Could not copy (disk full?): fall back to a snapshot.
                    freeze(&mut b);
                }
            }
            _ => {
                if b.flags & FROZEN == 0 {
                    freeze(&mut b);
                }
            }
        }
        st.blocks[i] = b;
    }
    // Keep the lock across fork(); released in the parent/child handlers.
    core::mem::forget(g);
}

extern "C" fn fork_parent() {
    // SAFETY: the prepare handler left the mutex locked by this thread.
    let mut g = Guard;
    let st = g.state();
    for b in &mut st.blocks[..st.n] {
        if b.dup_fd >= 0 {
            // SAFETY: the copy belongs to the child.
            unsafe { libc::close(b.dup_fd) };
            b.dup_fd = -1;
        }
    }
}

extern "C" fn fork_child() {
    // SAFETY: only this thread exists in the child; start with a fresh
    // mutex rather than unlocking one locked before fork.
    unsafe { libc::pthread_mutex_init(G.mutex.get(), ptr::null()) };
    let mut g = lock();
    let st = g.state();
    for b in &mut st.blocks[..st.n] {
        if b.dup_fd < 0 {
            continue;
        }
        // SAFETY: map the child's own copy over the block (same contents).
        let r = unsafe {
            libc::mmap(
                b.addr as *mut c_void,
                b.maplen,
                libc::PROT_READ | libc::PROT_WRITE,
                libc::MAP_SHARED | libc::MAP_FIXED,
                b.dup_fd,
                0,
            )
        };
        if r == libc::MAP_FAILED {
            // SAFETY: our descriptor; keep the inherited mapping.
            unsafe { libc::close(b.dup_fd) };
        } else {
            // SAFETY: the parent's file is no longer mapped by this block.
            unsafe { libc::close(b.fd) };
            b.fd = b.dup_fd;
            b.flags = 0;
        }
        b.dup_fd = -1;
    }
}

// ---------------------------------------------------------------------------
// Start-up and exit
// ---------------------------------------------------------------------------

fn getenv(name: &[u8]) -> Option<&'static [u8]> {
    // SAFETY: `name` is NUL-terminated by every caller; getenv does not
    // allocate and returns a pointer into the environment.
    let p = unsafe { libc::getenv(name.as_ptr().cast::<c_char>()) };
    if p.is_null() {
        return None;
    }
    // SAFETY: getenv returns a NUL-terminated string that lives as long as
    // the environment is not modified for this variable.
    let s = unsafe { core::ffi::CStr::from_ptr(p) }.to_bytes();
    (!s.is_empty()).then_some(s)
}

fn warn(parts: &[&[u8]]) {
    let mut buf = [0u8; 512];
    let mut pos = 0;
    for p in parts {
        put(&mut buf, &mut pos, p);
    }
    put(&mut buf, &mut pos, b"\n");
    // SAFETY: writing our stack buffer to stderr.
    unsafe { libc::write(2, buf.as_ptr().cast::<c_void>(), pos) };
}

fn parse_mode(s: &[u8]) -> Option<c_int> {
    match s {
        b"private" => Some(FORK_PRIVATE),
        b"shared" => Some(FORK_SHARED),
        b"duplicate" => Some(FORK_DUPLICATE),
        _ => None,
    }
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

    let mut threshold = DEFAULT_THRESHOLD;
    if let Some(s) = getenv(b"EXM_THRESHOLD\0") {
        match size::parse_size(s) {
            Ok(v) => threshold = usize::try_from(v).unwrap_or(usize::MAX).max(page),
            Err(e) => warn(&[b"exm: ignoring EXM_THRESHOLD='", s, b"': ", e.message().as_bytes()]),
        }
    }
    if let Some(s) = getenv(b"EXM_FORK_MODE\0") {
        match parse_mode(s) {
            Some(m) => FORK_MODE.store(m as u32, Ordering::Relaxed),
            None => warn(&[b"exm: ignoring EXM_FORK_MODE='", s, b"' (use private, shared or duplicate)"]),
        }
    }
    if let Some(s) = getenv(b"EXM_STATS\0") {
        if let Ok(pid) = size::parse_size(s) {
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

    // Reserve the address range: as large as the system lets us.
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
            break;
        }
        len /= 2;
    }
    if RANGE_LEN.load(Ordering::Relaxed) == 0 {
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
    // SAFETY: writing our stack buffer to stderr.
    unsafe { libc::write(2, buf.as_ptr().cast::<c_void>(), pos) };
}

#[used]
#[link_section = ".init_array"]
static INIT: extern "C" fn() = init;

#[used]
#[link_section = ".fini_array"]
static FINI: extern "C" fn() = fini;

// ---------------------------------------------------------------------------
// Steering API (exm.h)
// ---------------------------------------------------------------------------

#[no_mangle]
pub extern "C" fn exm_version() -> *const c_char {
    VERSION.as_ptr().cast::<c_char>()
}

#[no_mangle]
pub extern "C" fn exm_threshold_get() -> usize {
    THRESHOLD.load(Ordering::Relaxed)
}

#[no_mangle]
pub extern "C" fn exm_threshold_set(bytes: usize) -> c_int {
    if bytes < PAGE_SIZE.load(Ordering::Relaxed) || RANGE_LEN.load(Ordering::Relaxed) == 0 {
        set_errno(libc::EINVAL);
        return -1;
    }
    THRESHOLD.store(bytes, Ordering::Relaxed);
    0
}

#[no_mangle]
pub unsafe extern "C" fn exm_path_get(buf: *mut c_char, len: usize) -> usize {
    let mut g = lock();
    let st = g.state();
    let n = path_len(&st.path);
    if !buf.is_null() && len > 0 {
        let k = n.min(len - 1);
        // SAFETY: the caller gives `len` writable bytes at `buf`.
        unsafe {
            ptr::copy_nonoverlapping(st.path.as_ptr(), buf.cast::<u8>(), k);
            *buf.add(k) = 0;
        }
    }
    n
}

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
    // Check that files can be created there before switching.
    let fd = create_file_in(s, &mut st.seq);
    if fd < 0 {
        return -1;
    }
    // SAFETY: our probe descriptor.
    unsafe { libc::close(fd) };
    st.path[..s.len()].copy_from_slice(s);
    0
}

#[no_mangle]
pub extern "C" fn exm_fork_mode_get() -> c_int {
    FORK_MODE.load(Ordering::Relaxed) as c_int
}

#[no_mangle]
pub extern "C" fn exm_fork_mode_set(mode: c_int) -> c_int {
    if !(FORK_PRIVATE..=FORK_DUPLICATE).contains(&mode) {
        set_errno(libc::EINVAL);
        return -1;
    }
    FORK_MODE.store(mode as u32, Ordering::Relaxed);
    0
}

#[no_mangle]
pub unsafe extern "C" fn exm_lookup(p: *const c_void, buf: *mut c_char, len: usize) -> isize {
    let fd = {
        let mut g = lock();
        let st = g.state();
        match find_containing(st, p as usize) {
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
    let n = unsafe {
        libc::readlink(link.as_ptr().cast::<c_char>(), target.as_mut_ptr().cast::<c_char>(), target.len())
    };
    if n < 0 {
        return -1;
    }
    let mut n = n as usize;
    let suffix = b" (deleted)";
    if target[..n].ends_with(suffix) {
        n -= suffix.len();
    }
    if !buf.is_null() && len > 0 {
        let k = n.min(len - 1);
        // SAFETY: the caller gives `len` writable bytes at `buf`.
        unsafe {
            ptr::copy_nonoverlapping(target.as_ptr(), buf.cast::<u8>(), k);
            *buf.add(k) = 0;
        }
    }
    n as isize
}

#[no_mangle]
pub unsafe extern "C" fn exm_madvise(p: *const c_void, advice: c_int) -> c_int {
    let mut g = lock();
    let st = g.state();
    let Some(i) = find_containing(st, p as usize) else {
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
