//! Fork: the `pthread_atfork` handlers that give parent and child the view
//! of the mapped blocks chosen by the fork mode (see README.md).

use core::ffi::{c_int, c_void};
use core::sync::atomic::Ordering;

use crate::files::{copy_file, copy_memory, create_file, drop_spares, reserve_space};
use crate::state::{lock, reinit_in_child, Block, Guard, State, FORK_DUPLICATE, FORK_MODE, FORK_SHARED, FROZEN, SHARED_FILE};

/// Copy the contents of block `b` into a fresh file; returns its descriptor
/// or -1. Only data regions are copied (holes stay holes).
fn copy_block(st: &mut State, b: &Block) -> c_int {
    let Ok(nfd) = create_file(st) else {
        return -1;
    };
    // The copy's space is reserved like any block's: the child writes to it.
    let sized = reserve_space(nfd, 0, b.maplen).is_ok();
    // A frozen block's current contents live in this process's memory, not
    // in the file; a failed file copy is retried from memory too.
    if sized && ((b.flags & FROZEN == 0 && copy_file(b.fd, nfd, b.maplen)) || copy_memory(b, nfd)) {
        nfd
    } else {
        // SAFETY: our new descriptor.
        unsafe { libc::close(nfd) };
        -1
    }
}

/// Maps `fd` read-write over block `b`'s own address range, with `sharing`
/// (MAP_SHARED or MAP_PRIVATE); MAP_FAILED on failure.
///
/// # Safety
/// `fd` must hold the block's contents (at least `b.maplen` bytes), so that
/// nothing the process reads at `b.addr` changes.
unsafe fn remap(b: &Block, sharing: libc::c_int, fd: libc::c_int) -> *mut c_void {
    // SAFETY: per the contract, the block's own range is replaced by a
    // mapping of the same contents.
    unsafe { libc::mmap(b.addr as *mut c_void, b.maplen, libc::PROT_READ | libc::PROT_WRITE, sharing | libc::MAP_FIXED, fd, 0) }
}

/// Re-map block `b` privately over its own file: its current contents are
/// in the file (shared mapping), so nothing changes for this process, and
/// from now on nobody writes the file.
fn freeze(b: &mut Block) {
    // SAFETY: replaces our own shared mapping of `b.fd` by a private one of
    // the same file at the same place; contents are identical.
    let r = unsafe { remap(b, libc::MAP_PRIVATE, b.fd) };
    if r != libc::MAP_FAILED {
        b.flags |= FROZEN | SHARED_FILE;
    }
}

/// Before `fork()`: per the fork mode, freeze blocks (private), mark them
/// shared, or copy them for the child (duplicate); the lock is held across.
pub extern "C" fn fork_prepare() {
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
    g.hold_across_fork();
}

/// After `fork()` in the parent: drop the child's copies and unlock.
pub extern "C" fn fork_parent() {
    // SAFETY: we are the parent's after-fork handler; fork_prepare left the
    // mutex locked by this thread.
    let mut g = unsafe { Guard::resume_after_fork() };
    let st = g.state();
    for b in &mut st.blocks[..st.n] {
        if b.dup_fd >= 0 {
            // SAFETY: the copy belongs to the child.
            unsafe { libc::close(b.dup_fd) };
            b.dup_fd = -1;
        }
    }
}

/// After `fork()` in the child: a fresh lock, no kept files, and the
/// child's own copies mapped over the blocks (duplicate mode).
pub extern "C" fn fork_child() {
    // SAFETY: the child's after-fork handler: only this thread exists.
    unsafe { reinit_in_child() };
    let mut g = lock();
    let st = g.state();
    // The parent may reuse its kept files: the child must never map them.
    drop_spares(st);
    for b in &mut st.blocks[..st.n] {
        if b.dup_fd < 0 {
            continue;
        }
        // SAFETY: map the child's own copy over the block (same contents).
        let r = unsafe { remap(b, libc::MAP_SHARED, b.dup_fd) };
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
