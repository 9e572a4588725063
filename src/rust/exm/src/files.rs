//! Backing files and their descriptors: creating an unlinked file in the
//! data directory, reserving its disk space, keeping descriptors out of the
//! program's way (and some always free for it), copying a file's contents.

use core::ffi::{c_char, c_int, c_void};
use core::sync::atomic::{AtomicUsize, Ordering};

use crate::state::{Block, Refusal, Spare, State, MAX_BLOCKS, PATH_CAP, SPARE_FILES, SPARE_MAX_LEN};
use crate::text::{path_len, put, put_num};
use crate::{errno, set_errno};

/// Open a new anonymous (already unlinked) file in directory `dir`
/// (NUL-terminated). Returns the descriptor or -1 with errno set.
pub fn create_file_in(dir: &[u8], seq: &mut u64) -> c_int {
    if !dir.contains(&0) {
        set_errno(libc::EINVAL);
        return -1;
    }
    // SAFETY: `dir` is NUL-terminated (checked above).
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

/// Descriptors always left to the program: at least this many...
pub const FD_RESERVE_MIN: u64 = 256;
/// ... or this fraction (1/8) of the limit, whichever is more.
pub const FD_RESERVE_DIVISOR: u64 = 8;

/// How many descriptors to leave free under a limit of `limit`.
pub fn fd_reserve(limit: u64) -> u64 {
    (limit / FD_RESERVE_DIVISOR).max(FD_RESERVE_MIN)
}

/// May a backing file keep descriptor `fd` under a limit of `limit`? The
/// kernel hands out the lowest free number (F_DUPFD: the lowest from the
/// floor), so a number in the top `fd_reserve(limit)` means fewer than that
/// many descriptors would be left to the program.
pub fn fd_allowed(fd: c_int, limit: u64) -> bool {
    fd >= 0 && (fd as u64) < limit.saturating_sub(fd_reserve(limit))
}

/// The soft descriptor limit now (the program may change it at any time).
fn nofile_limit() -> u64 {
    let mut rl = libc::rlimit { rlim_cur: 0, rlim_max: 0 };
    // SAFETY: valid out pointer.
    if unsafe { libc::getrlimit(libc::RLIMIT_NOFILE, &mut rl) } != 0 {
        return 0;
    }
    rl.rlim_cur
}

/// What a failed `open`/`fallocate` errno means for the request.
pub fn refusal_of(errno: c_int) -> Refusal {
    match errno {
        libc::ENOSPC | libc::EDQUOT | libc::EFBIG => Refusal::Space,
        libc::EMFILE | libc::ENFILE => Refusal::Descriptors,
        _ => Refusal::Other,
    }
}

/// A new backing file in the data directory, with a descriptor that leaves
/// the program its reserve; the reason when there is none.
pub fn create_file(st: &mut State) -> Result<c_int, Refusal> {
    let path = st.path;
    let fd = high_fd(create_file_in(&path, &mut st.seq));
    if fd < 0 {
        return Err(refusal_of(errno()));
    }
    if !fd_allowed(fd, nofile_limit()) {
        // SAFETY: our own new descriptor.
        unsafe { libc::close(fd) };
        return Err(Refusal::Descriptors);
    }
    Ok(fd)
}

/// Largest file this process may write (RLIMIT_FSIZE); beyond it the kernel
/// would answer with SIGXFSZ, which kills by default.
fn file_size_limit() -> u64 {
    let mut rl = libc::rlimit { rlim_cur: 0, rlim_max: 0 };
    // SAFETY: valid out pointer.
    if unsafe { libc::getrlimit(libc::RLIMIT_FSIZE, &mut rl) } != 0 {
        return u64::MAX;
    }
    rl.rlim_cur
}

/// Allocate the disk blocks of `[from, from + len)` in `fd` (the file grows
/// to cover them), so that no later write through a mapping can fail (a
/// failed write fault is SIGBUS). Returns the reason when the space cannot
/// be had.
pub fn reserve_space(fd: c_int, from: usize, len: usize) -> Result<(), Refusal> {
    let end = (from as u64).saturating_add(len as u64);
    if end > file_size_limit() || end > libc::off_t::MAX as u64 {
        return Err(Refusal::Space);
    }
    loop {
        // posix_fallocate is fallocate(2) where the file system has it and
        // writes one byte per block where it does not: either way the blocks
        // exist afterwards. It returns the error instead of setting errno.
        // SAFETY: our descriptor; plain integer arguments.
        let e = unsafe { libc::posix_fallocate(fd, from as libc::off_t, len as libc::off_t) };
        match e {
            0 => return Ok(()),
            libc::EINTR => continue,
            e => {
                set_errno(e);
                return Err(refusal_of(e));
            }
        }
    }
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
pub fn setup_fds() {
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

/// The spare to reuse for a block of `maplen` bytes: the smallest of at
/// least `maplen` and at most twice that (so little disk is wasted).
pub fn pick_spare(spares: &[Spare], maplen: usize) -> Option<usize> {
    spares
        .iter()
        .enumerate()
        .filter(|(_, s)| s.len >= maplen && s.len / 2 <= maplen)
        .min_by_key(|(_, s)| s.len)
        .map(|(i, _)| i)
}

/// A kept file for a block of `maplen` bytes, if one fits.
pub fn take_spare(st: &mut State, maplen: usize) -> Option<c_int> {
    let i = pick_spare(&st.spares[..st.n_spares], maplen)?;
    let fd = st.spares[i].fd;
    st.spares.copy_within(i + 1..st.n_spares, i);
    st.n_spares -= 1;
    Some(fd)
}

/// Keep the file `fd` of a released block (mapped by no one) for reuse,
/// its contents zeroed and its space still reserved. False when it is not
/// kept: the caller then closes it.
pub fn keep_spare(st: &mut State, fd: c_int) -> bool {
    if st.n_spares == SPARE_FILES {
        return false;
    }
    // SAFETY: `stat` is plain data; all zeros is a valid value.
    let mut sb: libc::stat = unsafe { core::mem::zeroed() };
    // SAFETY: our descriptor and a valid out pointer.
    if unsafe { libc::fstat(fd, &mut sb) } != 0 {
        return false;
    }
    let len = sb.st_size as usize;
    if len == 0 || len > SPARE_MAX_LEN {
        return false;
    }
    // Zeroing keeps the blocks allocated (they become "unwritten" extents)
    // and drops the pages: a reused file reads as zeros, as a new one does.
    // File systems without it (tmpfs) do not keep files.
    // SAFETY: our descriptor; plain integer arguments.
    let zeroed = unsafe { libc::fallocate(fd, libc::FALLOC_FL_ZERO_RANGE | libc::FALLOC_FL_KEEP_SIZE, 0, len as libc::off_t) };
    if zeroed != 0 {
        return false;
    }
    st.spares[st.n_spares] = Spare { fd, len };
    st.n_spares += 1;
    true
}

/// Close every kept file (their space is released).
pub fn drop_spares(st: &mut State) {
    for s in &st.spares[..st.n_spares] {
        // SAFETY: our descriptors, referenced nowhere else.
        unsafe { libc::close(s.fd) };
    }
    st.n_spares = 0;
}

/// Copy the data regions of `from` (holes stay holes) up to `len` into `to`.
pub fn copy_file(from: c_int, to: c_int, len: usize) -> bool {
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
        let n = unsafe { libc::copy_file_range(from, &mut off_in, to, &mut off_out, (end - off_in) as usize, 0) };
        if n <= 0 {
            return false;
        }
    }
    true
}

/// Write the memory of block `b` (as this process sees it) into `to`.
pub fn copy_memory(b: &Block, to: c_int) -> bool {
    let mut done = 0usize;
    while done < b.maplen {
        // SAFETY: `[addr, addr + maplen)` is mapped readable in this process.
        let n = unsafe { libc::pwrite(to, (b.addr + done) as *const c_void, b.maplen - done, done as libc::off_t) };
        if n <= 0 {
            return false;
        }
        done += n as usize;
    }
    true
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn descriptor_reserve() {
        assert_eq!(fd_reserve(1024), 256);
        assert_eq!(fd_reserve(20000), 2500);
        assert_eq!(fd_reserve(0), 256);
        assert!(fd_allowed(767, 1024) && !fd_allowed(768, 1024));
        assert!(fd_allowed(1024, 20000) && fd_allowed(17499, 20000) && !fd_allowed(17500, 20000));
        // a limit below the reserve allows no backing file at all
        assert!(!fd_allowed(3, 200) && !fd_allowed(0, 0));
        assert!(!fd_allowed(-1, 1 << 20));
        assert!(fd_allowed(100_000, u64::MAX));
    }

    #[test]
    fn spare_choice() {
        const MB: usize = 1 << 20;
        let spares = [Spare { fd: 10, len: 4 * MB }, Spare { fd: 11, len: 2 * MB }, Spare { fd: 12, len: 3 * MB }];
        assert_eq!(pick_spare(&spares, 2 * MB), Some(1));
        assert_eq!(pick_spare(&spares, 3 * MB), Some(2));
        assert_eq!(pick_spare(&spares, 5 * MB / 2), Some(2));
        assert_eq!(pick_spare(&spares, 4 * MB), Some(0));
        // too big for any, or so small that a spare would waste half or more
        assert_eq!(pick_spare(&spares, 5 * MB), None);
        assert_eq!(pick_spare(&spares, MB - 4096), None);
        assert_eq!(pick_spare(&spares, MB), Some(1));
        assert_eq!(pick_spare(&[], MB), None);
    }

    #[test]
    fn errors_name_the_refusal() {
        assert_eq!(refusal_of(libc::ENOSPC), Refusal::Space);
        assert_eq!(refusal_of(libc::EDQUOT), Refusal::Space);
        assert_eq!(refusal_of(libc::EFBIG), Refusal::Space);
        assert_eq!(refusal_of(libc::EMFILE), Refusal::Descriptors);
        assert_eq!(refusal_of(libc::ENFILE), Refusal::Descriptors);
        assert_eq!(refusal_of(libc::EACCES), Refusal::Other);
    }
}
