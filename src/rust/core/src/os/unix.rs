//! The few system calls memmap2 does not wrap: page size, mprotect, madvise.

use std::io;

pub fn page_size() -> usize {
    // SAFETY: sysconf has no preconditions; it only reads a system constant.
    let size = unsafe { libc::sysconf(libc::_SC_PAGESIZE) };
    if size > 0 { size as usize } else { 4096 }
}

/// The page-aligned span that covers `len` bytes at `ptr`.
fn page_span(ptr: *mut u8, len: usize) -> (*mut libc::c_void, usize) {
    let page = page_size();
    let start = (ptr as usize) & !(page - 1);
    let end = ptr as usize + len;
    (start as *mut libc::c_void, end - start)
}

pub const PROT_READ: i32 = libc::PROT_READ;
pub const PROT_WRITE: i32 = libc::PROT_WRITE;
pub const PROT_NONE: i32 = libc::PROT_NONE;

/// # Safety
/// `ptr..ptr+len` must lie inside one live mapping owned by the caller, and no
/// reference into it may be used in a way the new protection forbids.
pub unsafe fn protect(ptr: *mut u8, len: usize, prot: i32) -> io::Result<()> {
    let (start, span) = page_span(ptr, len);
    // SAFETY: the caller guarantees the span lies in its own live mapping; the
    // aligned start only widens it to pages of that same mapping.
    if unsafe { libc::mprotect(start, span, prot) } == 0 {
        Ok(())
    } else {
        Err(io::Error::last_os_error())
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Advice {
    Normal,
    Random,
    Sequential,
    WillNeed,
    DontNeed,
}

impl Advice {
    pub fn parse(s: &str) -> Option<Advice> {
        let s = s.to_ascii_lowercase();
        let s = s.strip_prefix("madv_").unwrap_or(&s);
        Some(match s {
            "normal" => Advice::Normal,
            "random" => Advice::Random,
            "sequential" => Advice::Sequential,
            "willneed" => Advice::WillNeed,
            "dontneed" => Advice::DontNeed,
            _ => return None,
        })
    }

    fn raw(self) -> i32 {
        match self {
            Advice::Normal => libc::MADV_NORMAL,
            Advice::Random => libc::MADV_RANDOM,
            Advice::Sequential => libc::MADV_SEQUENTIAL,
            Advice::WillNeed => libc::MADV_WILLNEED,
            Advice::DontNeed => libc::MADV_DONTNEED,
        }
    }
}

/// # Safety
/// `ptr..ptr+len` must lie inside one live mapping owned by the caller.
pub unsafe fn advise(ptr: *mut u8, len: usize, advice: Advice) -> io::Result<()> {
    let (start, span) = page_span(ptr, len);
    // SAFETY: the span lies in the caller's live mapping. MADV_DONTNEED on a
    // shared file mapping drops only clean cached pages; the file keeps the data.
    if unsafe { libc::madvise(start, span, advice.raw()) } == 0 {
        Ok(())
    } else {
        Err(io::Error::last_os_error())
    }
}

/// Why `meta` (of a file that exists) cannot be mapped, if it cannot: only
/// regular files have bytes to map. Opening a FIFO for reading would block,
/// so this is asked of `stat()` before the file is opened.
pub fn unmappable_kind(meta: &std::fs::Metadata) -> Option<&'static str> {
    use std::os::unix::fs::FileTypeExt;
    let t = meta.file_type();
    if t.is_file() {
        None
    } else if t.is_dir() {
        Some("a directory")
    } else if t.is_fifo() {
        Some("a FIFO")
    } else if t.is_socket() {
        Some("a socket")
    } else if t.is_char_device() {
        Some("a character device")
    } else if t.is_block_device() {
        Some("a block device")
    } else {
        Some("not a regular file")
    }
}

/// The pseudo-filesystem an open file lives on, if any. Files in /proc and
/// /sys claim to be regular files of size 0 while reading as text, so a
/// mapping of them would be silently empty.
#[cfg(target_os = "linux")]
pub fn pseudo_filesystem(file: &std::fs::File) -> Option<&'static str> {
    use std::os::fd::AsRawFd;
    // SAFETY: fstatfs writes one statfs struct into the zeroed buffer we own;
    // the descriptor is open for the duration of the call.
    let fs_type = unsafe {
        let mut buf: libc::statfs = std::mem::zeroed();
        if libc::fstatfs(file.as_raw_fd(), &mut buf) != 0 {
            return None;
        }
        buf.f_type as i64
    };
    match fs_type {
        0x9fa0 => Some("a file of the proc pseudo-filesystem"),
        0x6265_6572 => Some("a file of the sysfs pseudo-filesystem"),
        0x6462_6720 | 0x7472_6163 => Some("a file of a kernel debug pseudo-filesystem"),
        0x0027_e0eb | 0x6367_7270 => Some("a file of the cgroup pseudo-filesystem"),
        0x7363_6673 | 0xcafe_4a11 | 0x6265_6570 | 0xde5e_81e4 => Some("a file of a kernel pseudo-filesystem"),
        _ => None,
    }
}

#[cfg(not(target_os = "linux"))]
pub fn pseudo_filesystem(_file: &std::fs::File) -> Option<&'static str> {
    None
}

/// Allocates `len` bytes of disk for `file`, so that later writes through a
/// mapping cannot fail with SIGBUS on a full disk.
#[cfg(target_os = "linux")]
pub fn reserve(file: &std::fs::File, len: u64) -> io::Result<()> {
    use std::os::fd::AsRawFd;
    let len = libc::off_t::try_from(len).map_err(|_| io::Error::from_raw_os_error(libc::EFBIG))?;
    if len == 0 {
        return Ok(());
    }
    // SAFETY: posix_fallocate only reads its integer arguments and acts on the
    // open descriptor we own.
    match unsafe { libc::posix_fallocate(file.as_raw_fd(), 0, len) } {
        0 => Ok(()),
        // Filesystems without fallocate: a sparse file is the best we can do.
        libc::EOPNOTSUPP | libc::EINVAL => file.set_len(len as u64),
        e => Err(io::Error::from_raw_os_error(e)),
    }
}

/// Without posix_fallocate (macOS), the file is sized but left sparse.
#[cfg(not(target_os = "linux"))]
pub fn reserve(file: &std::fs::File, len: u64) -> io::Result<()> {
    file.set_len(len)
}

/// Whether the current user may write `path` (root may write anything).
pub fn may_write(path: &std::path::Path) -> bool {
    use std::os::unix::ffi::OsStrExt;
    let Ok(c) = std::ffi::CString::new(path.as_os_str().as_bytes()) else { return false };
    // SAFETY: access() reads the nul-terminated path we own.
    unsafe { libc::access(c.as_ptr(), libc::W_OK) == 0 }
}

/// Same device and inode: one file under two names.
pub fn same_file(a: &std::fs::Metadata, b: &std::fs::Metadata) -> bool {
    use std::os::unix::fs::MetadataExt;
    a.dev() == b.dev() && a.ino() == b.ino()
}
