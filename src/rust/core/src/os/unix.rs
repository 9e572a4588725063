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
