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
//!   (`O_TMPFILE`, or create + unlink) gets its disk space reserved and is
//!   mapped `MAP_SHARED | MAP_FIXED` over a free part of the range. The
//!   descriptor is kept for growth and for fork duplication.
//! * `free` of a mapped block puts the reservation back over it (which drops
//!   the mapping at once) and closes the descriptor, which releases the file.
//!
//! Hooks never allocate and never log. Start-up runs from a constructor; while
//! it runs the threshold is "infinite" so any allocation made by libc on our
//! behalf (e.g. inside `pthread_atfork`) goes to glibc: that is the
//! reentrancy guard.
//!
//! Modules, one concept each: [`state`] (settings and the block table under
//! its lock), [`place`] (where blocks go in the reserved range, and their
//! life cycle), [`files`] (backing files and descriptors), [`hooks`] (the
//! malloc family), [`fork`] (the `pthread_atfork` handlers), [`init`]
//! (start-up and exit) and [`api`] (the steering API of exm.h).

#![deny(unsafe_op_in_unsafe_fn)]
#![warn(clippy::undocumented_unsafe_blocks, clippy::missing_safety_doc)]
// In unit tests the hooks are not exported and the constructor is not
// registered (the test binary keeps glibc's allocator), so they look unused.
#![cfg_attr(test, allow(dead_code))]

mod api;
mod files;
mod fork;
mod hooks;
mod init;
mod place;
mod state;
mod text;

use core::ffi::c_int;

/// This thread's `errno`.
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
