//! The system calls the pool needs beyond std: preallocation, advisory locks,
//! directory fsync and the machine's physical memory.

use std::fs::File;
use std::io;
use std::os::unix::io::AsRawFd;
use std::path::Path;

/// Total physical memory in bytes, or `None` when the system will not say.
pub fn physical_memory() -> Option<u64> {
    // SAFETY: sysconf has no preconditions; it only reads system constants.
    let (pages, size) = unsafe { (libc::sysconf(libc::_SC_PHYS_PAGES), libc::sysconf(libc::_SC_PAGESIZE)) };
    if pages > 0 && size > 0 {
        (pages as u64).checked_mul(size as u64)
    } else {
        None
    }
}

/// Reserves `len` bytes of disk for `file`, so that a full disk is an error
/// now rather than a SIGBUS or a short write later.
pub fn preallocate(file: &File, len: u64) -> io::Result<()> {
    if len == 0 {
        return Ok(());
    }
    let len = libc::off_t::try_from(len).map_err(|_| io::Error::from_raw_os_error(libc::EFBIG))?;
    // SAFETY: the descriptor is open for writing for the duration of the call.
    let rc = unsafe { libc::posix_fallocate(file.as_raw_fd(), 0, len) };
    match rc {
        0 => Ok(()),
        // Filesystems without fallocate (some network ones): the writes that
        // follow report a full disk as an ordinary error instead.
        libc::EOPNOTSUPP | libc::EINVAL => Ok(()),
        errno => Err(io::Error::from_raw_os_error(errno)),
    }
}

/// Takes an exclusive advisory lock without waiting. `Ok(false)`: another open
/// file description (a live process) holds it.
pub fn try_lock(file: &File) -> io::Result<bool> {
    // SAFETY: flock only operates on the open descriptor.
    let rc = unsafe { libc::flock(file.as_raw_fd(), libc::LOCK_EX | libc::LOCK_NB) };
    if rc == 0 {
        return Ok(true);
    }
    let err = io::Error::last_os_error();
    if err.raw_os_error() == Some(libc::EWOULDBLOCK) {
        Ok(false)
    } else {
        Err(err)
    }
}

/// Makes a rename or unlink inside `dir` durable.
pub fn sync_dir(dir: &Path) -> io::Result<()> {
    File::open(dir)?.sync_all()
}
