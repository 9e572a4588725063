//! Backing files and their descriptors: creating an unlinked file in the
//! data directory, keeping descriptors out of the program's way, copying a
//! file's contents.

use core::ffi::{c_char, c_int, c_void};
use core::sync::atomic::{AtomicUsize, Ordering};

use crate::state::{Block, State, MAX_BLOCKS, PATH_CAP};
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

/// A new backing file in the data directory; -1 with errno set on failure.
pub fn create_file(st: &mut State) -> c_int {
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
