//! Settings and the table of mapped blocks.
//!
//! Settings the hooks read on every call are relaxed atomics. The block
//! table and its counters live in one static behind a pthread mutex (not a
//! Rust `Mutex`: it must be usable before Rust's runtime has run, re-
//! initialisable in a forked child, and never allocate).

use core::cell::UnsafeCell;
use core::ffi::{c_int, c_void};
use core::ptr;
use core::sync::atomic::{AtomicPtr, AtomicU32, AtomicUsize, Ordering};

/// Fork modes (same values as `EXM_FORK_*` in exm.h).
pub const FORK_PRIVATE: c_int = 0;
pub const FORK_SHARED: c_int = 1;
pub const FORK_DUPLICATE: c_int = 2;

/// Most blocks alive at once (the table is a fixed array: no allocation).
pub const MAX_BLOCKS: usize = 1 << 16;
/// Capacity of the data directory name, NUL included.
pub const PATH_CAP: usize = 4096;

/// Requests of at least this many bytes are mapped. `usize::MAX` until the
/// constructor has finished (and in a process where start-up failed).
pub static THRESHOLD: AtomicUsize = AtomicUsize::new(usize::MAX);
pub static PAGE_SIZE: AtomicUsize = AtomicUsize::new(4096);
pub static FORK_MODE: AtomicU32 = AtomicU32::new(FORK_PRIVATE as u32);
/// Process id that prints statistics at exit (0: nobody).
pub static STATS_PID: AtomicUsize = AtomicUsize::new(0);
/// glibc's `malloc_usable_size` (it is a weak symbol, so not reachable by a
/// `__libc_` name); resolved in the constructor.
pub static REAL_USABLE: AtomicPtr<c_void> = AtomicPtr::new(ptr::null_mut());

/// The fork mode as parsed from `EXM_FORK_MODE`.
pub fn parse_mode(s: &[u8]) -> Option<c_int> {
    match s {
        b"private" => Some(FORK_PRIVATE),
        b"shared" => Some(FORK_SHARED),
        b"duplicate" => Some(FORK_DUPLICATE),
        _ => None,
    }
}

/// Block flag: mapped `MAP_PRIVATE` over a file that other processes may
/// still map (private fork mode). The file must never be written or resized.
pub const FROZEN: u32 = 1;
/// Block flag: the file is shared with another process (any fork mode);
/// resizing copies to a new file instead of truncating this one.
pub const SHARED_FILE: u32 = 2;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Block {
    pub addr: usize,
    pub maplen: usize,
    pub size: usize,
    pub fd: c_int,
    /// Copy made before a fork in duplicate mode, for the child.
    pub dup_fd: c_int,
    pub flags: u32,
}

// All zeros so the table lands in .bss (only `blocks[..n]` is ever read).
pub const EMPTY: Block = Block { addr: 0, maplen: 0, size: 0, fd: 0, dup_fd: 0, flags: 0 };

/// Released files kept for reuse, at most...
pub const SPARE_FILES: usize = 4;
/// ... each of at most this many bytes.
pub const SPARE_MAX_LEN: usize = 16 << 20;

/// A released block's file, its space still reserved and its contents
/// zeroed, kept because releasing reserved space is slow on some file
/// systems (about 3 ms per file on ext4 mounted with `discard`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Spare {
    pub fd: c_int,
    pub len: usize,
}

/// Why a request at or above the threshold did not get a file (it then
/// comes from glibc, or fails).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Refusal {
    /// The file's disk space could not be reserved (disk full, quota, file
    /// size limit): mapping it anyway would end in SIGBUS at a later write.
    Space,
    /// The descriptor reserve was reached: the rest is kept for the program.
    Descriptors,
    /// Anything else: no room in the address range or the block table, too
    /// many mappings, the data directory unusable, mmap failed.
    Other,
}

/// Counts of requests refused a file, by [`Refusal`].
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Fallbacks {
    pub space: usize,
    pub descriptors: usize,
    pub other: usize,
}

impl Fallbacks {
    pub fn note(&mut self, why: Refusal) {
        let slot = match why {
            Refusal::Space => &mut self.space,
            Refusal::Descriptors => &mut self.descriptors,
            Refusal::Other => &mut self.other,
        };
        *slot += 1;
    }
}

pub struct State {
    /// Blocks sorted by address; `blocks[..n]` are live.
    pub n: usize,
    pub blocks: [Block; MAX_BLOCKS],
    /// Data directory, NUL-terminated.
    pub path: [u8; PATH_CAP],
    /// Counter for unique names where `O_TMPFILE` is missing.
    pub seq: u64,
    pub bytes: usize,
    pub peak: usize,
    pub total: u64,
    pub fallbacks: Fallbacks,
    /// `spares[..n_spares]` are kept files (this process's alone).
    pub spares: [Spare; SPARE_FILES],
    pub n_spares: usize,
}

impl State {
    pub fn live(&self) -> &[Block] {
        &self.blocks[..self.n]
    }

    pub fn note_alloc(&mut self, size: usize) {
        self.bytes += size;
        self.total += 1;
        self.peak = self.peak.max(self.bytes);
    }

    pub fn note_resize(&mut self, old: usize, new: usize) {
        self.bytes = self.bytes - old + new;
        self.peak = self.peak.max(self.bytes);
    }
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
        fallbacks: Fallbacks { space: 0, descriptors: 0, other: 0 },
        spares: [Spare { fd: -1, len: 0 }; SPARE_FILES],
        n_spares: 0,
    }),
};

/// Proof that this thread holds the state's mutex; unlocks when dropped.
pub struct Guard(());

impl Guard {
    pub fn state(&mut self) -> &mut State {
        // SAFETY: a `Guard` exists only while the mutex is held, and `&mut
        // self` prevents two live borrows through the same guard.
        unsafe { &mut *G.state.get() }
    }

    /// Keep the mutex locked across `fork()`: the child re-initialises it
    /// ([`reinit_in_child`]), the parent takes it back with
    /// [`Guard::resume_after_fork`].
    pub fn hold_across_fork(self) {
        core::mem::forget(self);
    }

    /// The guard that [`Guard::hold_across_fork`] gave up.
    ///
    /// # Safety
    /// Only in the parent's after-fork handler, when the prepare handler
    /// left the mutex locked by this thread.
    pub unsafe fn resume_after_fork() -> Guard {
        Guard(())
    }
}

impl Drop for Guard {
    fn drop(&mut self) {
        // SAFETY: the mutex was locked by `lock()` in this thread.
        unsafe { libc::pthread_mutex_unlock(G.mutex.get()) };
    }
}

pub fn lock() -> Guard {
    // SAFETY: the mutex is statically initialised and never moved.
    unsafe { libc::pthread_mutex_lock(G.mutex.get()) };
    Guard(())
}

/// In a forked child, start with a fresh mutex rather than unlocking one
/// that was locked before the fork.
///
/// # Safety
/// Only in the child's after-fork handler, where this is the only thread.
pub unsafe fn reinit_in_child() {
    // SAFETY: the caller guarantees no other thread can hold or wait on it.
    unsafe { libc::pthread_mutex_init(G.mutex.get(), ptr::null()) };
}

/// The threshold now in force.
#[inline]
pub fn threshold() -> usize {
    THRESHOLD.load(Ordering::Relaxed)
}

#[inline]
pub fn page_size() -> usize {
    PAGE_SIZE.load(Ordering::Relaxed)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fallbacks_are_counted_by_reason() {
        let mut f = Fallbacks::default();
        f.note(Refusal::Space);
        f.note(Refusal::Descriptors);
        f.note(Refusal::Descriptors);
        assert_eq!(f, Fallbacks { space: 1, descriptors: 2, other: 0 });
        f.note(Refusal::Other);
        assert_eq!(f.other, 1);
    }

    #[test]
    fn fork_modes() {
        assert_eq!(parse_mode(b"private"), Some(FORK_PRIVATE));
        assert_eq!(parse_mode(b"shared"), Some(FORK_SHARED));
        assert_eq!(parse_mode(b"duplicate"), Some(FORK_DUPLICATE));
        for bad in [&b""[..], b"Private", b"cow", b"private ", b"dup"] {
            assert_eq!(parse_mode(bad), None, "{bad:?}");
        }
    }
}
