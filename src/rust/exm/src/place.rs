//! Block placement: the reserved address range, where a block goes in it,
//! and a block's life cycle (map, resize, unmap).

use core::ffi::c_void;
use core::ptr;
use core::sync::atomic::{AtomicUsize, Ordering};

use crate::files;
use crate::set_errno;
use crate::state::{page_size, Block, Refusal, State, MAX_BLOCKS};

/// The reserved address range holding every mapped block.
pub static RANGE_BASE: AtomicUsize = AtomicUsize::new(0);
pub static RANGE_LEN: AtomicUsize = AtomicUsize::new(0);

/// Every block starts on a 2 MiB boundary, so virtual addresses and file
/// offsets agree modulo the largest page-cache folio: the kernel can then
/// map a whole large folio per fault instead of one page per fault (a
/// misaligned block made first writes several times slower on ext4).
pub const BLOCK_ALIGN: usize = 2 << 20;

/// Is `p` inside the reserved range (so possibly one of our blocks)?
#[inline]
pub fn in_range(p: *mut c_void) -> bool {
    (p as usize).wrapping_sub(RANGE_BASE.load(Ordering::Relaxed)) < RANGE_LEN.load(Ordering::Relaxed)
}

fn range() -> (usize, usize) {
    let base = RANGE_BASE.load(Ordering::Relaxed);
    (base, base + RANGE_LEN.load(Ordering::Relaxed))
}

/// `n` rounded up to a multiple of `to` (a power of two); None on overflow.
#[inline]
pub fn round_up(n: usize, to: usize) -> Option<usize> {
    n.checked_add(to - 1).map(|v| v & !(to - 1))
}

/// Find room for `len` bytes aligned to `align` in `[base, end)` among
/// `blocks` (sorted by address), ignoring the block at index `skip` (the
/// one being moved). Tries after the last block first (leaves room for
/// growth), then the first gap that fits.
pub fn find_gap(blocks: &[Block], base: usize, end: usize, len: usize, align: usize, skip: usize) -> Option<usize> {
    let fits = |from: usize, to: usize| -> Option<usize> {
        let a = round_up(from, align)?;
        (a.checked_add(len)? <= to).then_some(a)
    };
    let live = || blocks.iter().enumerate().filter(|(i, _)| *i != skip).map(|(_, b)| b);
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

/// Index of the block starting at `addr`.
pub fn find_block(blocks: &[Block], addr: usize) -> Option<usize> {
    blocks.binary_search_by(|b| b.addr.cmp(&addr)).ok()
}

/// Index of the block containing `addr` (not only its start).
pub fn find_containing(blocks: &[Block], addr: usize) -> Option<usize> {
    let i = blocks.partition_point(|b| b.addr <= addr);
    if i == 0 {
        return None;
    }
    let b = &blocks[i - 1];
    (addr < b.addr + b.maplen).then_some(i - 1)
}

/// Insert `b` into `blocks[..*n]`, keeping the order by address.
pub fn insert_block(blocks: &mut [Block], n: &mut usize, b: Block) {
    let i = blocks[..*n].partition_point(|x| x.addr < b.addr);
    blocks.copy_within(i..*n, i + 1);
    blocks[i] = b;
    *n += 1;
}

/// Remove and return block `i` of `blocks[..*n]`.
pub fn remove_block(blocks: &mut [Block], n: &mut usize, i: usize) -> Block {
    let b = blocks[i];
    blocks.copy_within(i + 1..*n, i);
    *n -= 1;
    b
}

/// Put the reservation back over `[addr, addr + len)`, dropping whatever was
/// mapped there.
///
/// # Safety
/// The range must lie inside our reservation and hold nothing that anyone
/// still uses (a block already taken out of the table, or a failed mapping).
pub unsafe fn reserve(addr: usize, len: usize) -> bool {
    // SAFETY: the caller guarantees the range is ours and unused; MAP_FIXED
    // then replaces only our own mapping.
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

/// Map `len` bytes of `fd` from `offset` read-write and shared at `addr`.
///
/// # Safety
/// `[addr, addr + len)` must be free reservation (a placeholder nobody
/// uses); `fd` must be a descriptor of ours.
unsafe fn map_shared(addr: usize, len: usize, fd: libc::c_int, offset: usize) -> bool {
    // SAFETY: per the caller, MAP_FIXED replaces only our placeholder.
    let r = unsafe {
        libc::mmap(
            addr as *mut c_void,
            len,
            libc::PROT_READ | libc::PROT_WRITE,
            libc::MAP_SHARED | libc::MAP_FIXED,
            fd,
            offset as libc::off_t,
        )
    };
    r != libc::MAP_FAILED
}

/// Most mappings a process may have (vm.max_map_count); read at start-up.
pub static MAX_MAPS: AtomicUsize = AtomicUsize::new(65530);

/// Most blocks alive at once under a mapping limit of `max_maps`. A block
/// costs up to two mappings (itself and the placeholder it splits off), and
/// at least half of the limit stays with the program: past it, `mmap` fails
/// everywhere, so the program could not even load a library.
pub fn block_cap(max_maps: usize) -> usize {
    (max_maps / 4).min(MAX_BLOCKS)
}

/// Create a mapped block of `size` bytes aligned to `align` (a power of two,
/// at least one page), its disk space reserved. On failure returns null
/// with errno ENOMEM and counts the refusal: the caller falls back to glibc.
pub fn map_new(st: &mut State, size: usize, align: usize) -> *mut c_void {
    match try_map_new(st, size, align) {
        Ok(p) => p,
        Err(why) => {
            st.fallbacks.note(why);
            set_errno(libc::ENOMEM);
            ptr::null_mut()
        }
    }
}

fn try_map_new(st: &mut State, size: usize, align: usize) -> Result<*mut c_void, Refusal> {
    let maplen = round_up(size.max(1), page_size()).filter(|&l| l <= isize::MAX as usize).ok_or(Refusal::Other)?;
    if st.n >= block_cap(MAX_MAPS.load(Ordering::Relaxed)) {
        return Err(Refusal::Other);
    }
    let (base, end) = range();
    let addr = find_gap(st.live(), base, end, maplen, align.max(BLOCK_ALIGN), usize::MAX).ok_or(Refusal::Other)?;
    let fd = match files::take_spare(st, maplen) {
        Some(fd) => fd,
        None => new_file(st, maplen)?,
    };
    // SAFETY: `[addr, addr + maplen)` is a free part of our reservation
    // (find_gap), and `fd` is ours.
    if !unsafe { map_shared(addr, maplen, fd, 0) } {
        // SAFETY: restore the placeholder over our own range; close our fd.
        unsafe {
            reserve(addr, maplen);
            libc::close(fd);
        }
        return Err(Refusal::Other);
    }
    insert_block(&mut st.blocks, &mut st.n, Block { addr, maplen, size, fd, dup_fd: -1, flags: 0 });
    st.note_alloc(size);
    Ok(addr as *mut c_void)
}

/// A new file of `maplen` bytes with its space reserved. When the disk is
/// full, the kept spare files give their space back first.
fn new_file(st: &mut State, maplen: usize) -> Result<libc::c_int, Refusal> {
    let fd = files::create_file(st)?;
    let mut reserved = files::reserve_space(fd, 0, maplen);
    if reserved == Err(Refusal::Space) && st.n_spares > 0 {
        files::drop_spares(st);
        reserved = files::reserve_space(fd, 0, maplen);
    }
    if let Err(why) = reserved {
        // SAFETY: closing our own descriptor (the file goes with it).
        unsafe { libc::close(fd) };
        return Err(why);
    }
    Ok(fd)
}

/// Release block `i`: the reservation goes back over it; its file is kept
/// for reuse when only this process ever mapped it and it is small, else
/// closed (the file disappears with its last descriptor).
pub fn unmap_block(st: &mut State, i: usize) {
    let b = remove_block(&mut st.blocks, &mut st.n, i);
    // SAFETY: the block was ours and is no longer in the table.
    unsafe { reserve(b.addr, b.maplen) };
    if b.flags != 0 || !files::keep_spare(st, b.fd) {
        // SAFETY: our descriptor, no longer used by any block.
        unsafe { libc::close(b.fd) };
    }
    st.bytes -= b.size;
}

/// Resize mapped block `i` in place or by moving it (mremap); growth gets
/// its disk space reserved first. On failure the block is left as it was,
/// null is returned and the refusal counted (the caller may move the block
/// to glibc).
pub fn resize_block(st: &mut State, i: usize, size: usize) -> *mut c_void {
    let b = st.blocks[i];
    let Some(newlen) = round_up(size, page_size()).filter(|&l| l <= isize::MAX as usize) else {
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
        st.note_resize(b.size, size);
        let blk = &mut st.blocks[i];
        blk.size = size;
        blk.maplen = newlen;
        return b.addr as *mut c_void;
    }
    // Grow: the file first.
    if let Err(why) = files::reserve_space(b.fd, b.maplen, newlen - b.maplen) {
        // SAFETY: a failed reservation may have grown our file part way.
        unsafe { libc::ftruncate(b.fd, b.maplen as libc::off_t) };
        st.fallbacks.note(why);
        set_errno(libc::ENOMEM);
        return ptr::null_mut();
    }
    let (_, end) = range();
    let next = if i + 1 < st.n { st.blocks[i + 1].addr } else { end };
    let mut addr = b.addr;
    let ok = if b.addr + newlen <= next {
        // Room behind the block: map the extension in place.
        // SAFETY: `[addr + maplen, addr + newlen)` is free reservation.
        if unsafe { map_shared(b.addr + b.maplen, newlen - b.maplen, b.fd, b.maplen) } {
            true
        } else {
            // SAFETY: restore the placeholder over the free tail.
            unsafe { reserve(b.addr + b.maplen, newlen - b.maplen) };
            false
        }
    } else if let Some(to) = find_gap(st.live(), range().0, end, newlen, BLOCK_ALIGN, i) {
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
        // When mremap fails (the mapping spans several areas), map the file
        // afresh: all data lives in the file, nothing is lost.
        // SAFETY: as above.
        let moved = r != libc::MAP_FAILED || unsafe { map_shared(to, newlen, b.fd, 0) };
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
        st.fallbacks.note(Refusal::Other);
        set_errno(libc::ENOMEM);
        return ptr::null_mut();
    }
    let mut nb = remove_block(&mut st.blocks, &mut st.n, i);
    nb.addr = addr;
    nb.maplen = newlen;
    nb.size = size;
    insert_block(&mut st.blocks, &mut st.n, nb);
    st.note_resize(b.size, size);
    addr as *mut c_void
}

#[cfg(test)]
mod tests {
    use super::*;

    const MB: usize = 1 << 20;

    fn blk(addr: usize, maplen: usize) -> Block {
        Block { addr, maplen, size: maplen, fd: 3, dup_fd: -1, flags: 0 }
    }

    #[test]
    fn block_cap_leaves_half_the_mappings() {
        assert_eq!(block_cap(65530), 16382);
        assert_eq!(block_cap(0), 0);
        assert_eq!(block_cap(usize::MAX), MAX_BLOCKS);
    }

    #[test]
    fn rounding() {
        assert_eq!(round_up(0, 4096), Some(0));
        assert_eq!(round_up(1, 4096), Some(4096));
        assert_eq!(round_up(4096, 4096), Some(4096));
        assert_eq!(round_up(4097, 4096), Some(8192));
        assert_eq!(round_up(3 * MB + 1, BLOCK_ALIGN), Some(4 * MB));
        assert_eq!(round_up(usize::MAX - 10, 4096), None);
        assert_eq!(round_up(usize::MAX, 1), Some(usize::MAX));
    }

    #[test]
    fn gap_after_the_last_block_first() {
        let base = 64 * MB;
        let end = base + 100 * MB;
        assert_eq!(find_gap(&[], base, end, 4096, BLOCK_ALIGN, usize::MAX), Some(base));
        let blocks = [blk(base + 10 * MB, 4096), blk(base + 20 * MB, 3 * MB)];
        // after the last block, rounded up to the alignment
        assert_eq!(find_gap(&blocks, base, end, MB, BLOCK_ALIGN, usize::MAX), Some(base + 24 * MB));
        assert_eq!(find_gap(&blocks, base, end, MB, 4096, usize::MAX), Some(base + 23 * MB));
    }

    #[test]
    fn gap_search_falls_back_to_the_first_hole_that_fits() {
        let base = 64 * MB;
        let end = base + 32 * MB;
        let blocks = [blk(base + 4 * MB, 2 * MB), blk(base + 16 * MB, 16 * MB)];
        // no room at the end: the first hole of at least 3 MiB
        assert_eq!(find_gap(&blocks, base, end, 3 * MB, BLOCK_ALIGN, usize::MAX), Some(base));
        assert_eq!(find_gap(&blocks, base, end, 5 * MB, BLOCK_ALIGN, usize::MAX), Some(base + 6 * MB));
        assert_eq!(find_gap(&blocks, base, end, 11 * MB, BLOCK_ALIGN, usize::MAX), None);
        // the block being moved does not count
        assert_eq!(find_gap(&blocks, base, end, 20 * MB, BLOCK_ALIGN, 1), Some(base + 6 * MB));
        assert_eq!(find_gap(&blocks, base, end, 40 * MB, BLOCK_ALIGN, 1), None);
        // sizes that overflow never match
        assert_eq!(find_gap(&blocks, base, end, usize::MAX - 4096, 4096, usize::MAX), None);
    }

    #[test]
    fn table_stays_sorted_and_lookups_find_blocks() {
        let mut t = [crate::state::EMPTY; 8];
        let mut n = 0;
        for a in [5, 1, 3, 7] {
            insert_block(&mut t, &mut n, blk(a * MB, MB / 2));
        }
        let addrs: Vec<usize> = t[..n].iter().map(|b| b.addr / MB).collect();
        assert_eq!(addrs, [1, 3, 5, 7]);
        assert_eq!(find_block(&t[..n], 5 * MB), Some(2));
        assert_eq!(find_block(&t[..n], 5 * MB + 1), None);
        assert_eq!(find_containing(&t[..n], 5 * MB + 100), Some(2));
        assert_eq!(find_containing(&t[..n], 5 * MB + MB / 2), None);
        assert_eq!(find_containing(&t[..n], 0), None);
        assert_eq!(find_containing(&t[..n], 7 * MB + MB / 2 - 1), Some(3));
        let gone = remove_block(&mut t, &mut n, 1);
        assert_eq!(gone.addr, 3 * MB);
        let addrs: Vec<usize> = t[..n].iter().map(|b| b.addr / MB).collect();
        assert_eq!(addrs, [1, 5, 7]);
    }
}
