//! A file mapped into memory, shared between every R object that views it.
//!
//! `Mapping` is handed around as `Arc<Mapping>`: `munmap()` drops the R handle's
//! reference at once, and the pages go away only when the last holder (a
//! zero-copy view, a pool entry) lets go.

use std::fs::{File, OpenOptions};
use std::io::ErrorKind;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicI32, Ordering};

use memmap2::{MmapOptions, MmapRaw};

use crate::error::{MmError, Result};
use crate::os;
pub use crate::os::Advice;

pub const PROT_READ: i32 = os::PROT_READ;
pub const PROT_WRITE: i32 = os::PROT_WRITE;
pub const PROT_NONE: i32 = os::PROT_NONE;

/// How to map a file.
#[derive(Clone, Debug)]
pub struct MapOptions {
    /// Byte offset into the file; any value, page-aligned or not.
    pub offset: u64,
    /// Bytes to map; `None` maps to the end of the file.
    pub len: Option<u64>,
    /// `PROT_*` bits.
    pub prot: i32,
    /// MAP_PRIVATE: writes stay in this process (copy on write).
    pub private: bool,
}

impl Default for MapOptions {
    fn default() -> Self {
        MapOptions { offset: 0, len: None, prot: PROT_READ | PROT_WRITE, private: false }
    }
}

pub struct Mapping {
    map: Option<MmapRaw>,
    /// Kept open so every access can ask cheaply (fstat) whether the file
    /// still covers the mapping: a page past the end of a shortened file
    /// kills the process with SIGBUS when touched.
    file: File,
    /// The file's size when it was mapped, for the error message.
    mapped_file_len: u64,
    len: usize,
    prot: AtomicI32,
    private: bool,
    path: PathBuf,
    offset: u64,
}

impl std::fmt::Debug for Mapping {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Mapping")
            .field("path", &self.path)
            .field("offset", &self.offset)
            .field("len", &self.len)
            .field("prot", &self.prot())
            .finish()
    }
}

fn io_err(op: &'static str, path: &Path, source: std::io::Error) -> MmError {
    match source.kind() {
        ErrorKind::NotFound => MmError::NotFound(path.to_path_buf()),
        _ => MmError::Io { op, path: path.to_path_buf(), source },
    }
}

impl Mapping {
    /// Maps `path`. Nothing proportional to the file's size happens here.
    pub fn open(path: &Path, opts: &MapOptions) -> Result<Mapping> {
        let wants_write = opts.prot & PROT_WRITE != 0;
        let meta = std::fs::metadata(path).map_err(|e| io_err("stat", path, e))?;
        if let Some(kind) = os::unmappable_kind(&meta) {
            return Err(MmError::NotRegular { path: path.to_path_buf(), kind });
        }
        let file = open_file(path, wants_write && !opts.private)?;
        let meta = file.metadata().map_err(|e| io_err("stat", path, e))?;
        if let Some(kind) = os::unmappable_kind(&meta).or_else(|| os::pseudo_filesystem(&file)) {
            return Err(MmError::NotRegular { path: path.to_path_buf(), kind });
        }
        let size = meta.len();
        if opts.offset > size {
            return Err(MmError::Layout(format!(
                "`off` ({}) is past the end of '{}' ({} bytes)",
                opts.offset,
                path.display(),
                size
            )));
        }
        let len = opts.len.unwrap_or(size - opts.offset);
        if opts.offset.checked_add(len).is_none_or(|end| end > size) {
            return Err(MmError::Layout(format!(
                "`off` + `len` ({} + {}) is past the end of '{}' ({} bytes): the file is shorter than the mapping",
                opts.offset,
                len,
                path.display(),
                size
            )));
        }
        let len = usize::try_from(len)
            .map_err(|_| MmError::Layout("`len` does not fit this machine's address space".into()))?;
        let map = if len == 0 {
            None
        } else {
            let mut options = MmapOptions::new();
            options.offset(opts.offset).len(len);
            let raw = if opts.private {
                // SAFETY: MAP_PRIVATE copy-on-write; other processes may still change
                // pages we have not written, which is the documented nature of mmap.
                let copy = unsafe { options.map_copy(&file) };
                copy.map(MmapRaw::from)
            } else if wants_write {
                options.map_raw(&file)
            } else {
                options.map_raw_read_only(&file)
            };
            Some(raw.map_err(|e| io_err("mmap", path, e))?)
        };
        let mapping = Mapping {
            map,
            file,
            mapped_file_len: size,
            len,
            prot: AtomicI32::new(PROT_READ | PROT_WRITE),
            private: opts.private,
            path: path.to_path_buf(),
            offset: opts.offset,
        };
        let initial = if wants_write { PROT_READ | PROT_WRITE } else { PROT_READ };
        if opts.prot != initial {
            mapping.protect(opts.prot)?;
        } else {
            mapping.prot.store(initial, Ordering::Release);
        }
        Ok(mapping)
    }

    pub fn len(&self) -> usize {
        self.len
    }

    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    pub fn offset(&self) -> u64 {
        self.offset
    }

    pub fn is_private(&self) -> bool {
        self.private
    }

    pub fn prot(&self) -> i32 {
        self.prot.load(Ordering::Acquire)
    }

    pub fn is_writable(&self) -> bool {
        self.prot() & PROT_WRITE != 0
    }

    fn ptr(&self) -> *mut u8 {
        self.map.as_ref().map_or(std::ptr::NonNull::dangling().as_ptr(), |m| m.as_mut_ptr())
    }

    /// Errors when the file has become too short to back every mapped page,
    /// as touching such a page would kill the process with SIGBUS. Called by
    /// `bytes()` and `bytes_mut()`, the only ways to the mapped memory; users of
    /// the raw pointer (`as_ptr`) call it before each access themselves.
    ///
    /// Another process can still shorten the file between this check and the
    /// access that follows; nothing short of copying the file can close that race.
    pub fn check_covered(&self) -> Result<()> {
        if self.len == 0 {
            return Ok(());
        }
        let now = self.file.metadata().map_err(|e| io_err("stat", &self.path, e))?.len();
        let needed = self.offset + self.len as u64;
        if now < needed {
            return Err(MmError::Shrunk { path: self.path.clone(), from: self.mapped_file_len, to: now, needed });
        }
        Ok(())
    }

    /// The mapped bytes, for reading.
    pub fn bytes(&self) -> Result<&[u8]> {
        if self.prot() & PROT_READ == 0 {
            return Err(MmError::NotReadable);
        }
        self.check_covered()?;
        // SAFETY: ptr..ptr+len is the live mapping owned by self (or a dangling,
        // well-aligned pointer with len 0), readable as just checked. Other
        // processes may change the file underneath; we only copy bytes out.
        Ok(unsafe { std::slice::from_raw_parts(self.ptr(), self.len) })
    }

    /// The mapped bytes, for writing. Callers on R's side run on one thread and
    /// hold no other slice of this mapping while they write.
    #[allow(clippy::mut_from_ref)]
    pub fn bytes_mut(&self) -> Result<&mut [u8]> {
        if !self.is_writable() {
            return Err(MmError::NotWritable);
        }
        self.check_covered()?;
        // SAFETY: as in `bytes`, and PROT_WRITE is set. Exclusive access is the
        // caller's contract above: R's main thread is the only writer.
        Ok(unsafe { std::slice::from_raw_parts_mut(self.ptr(), self.len) })
    }

    /// Raw address of the first byte, for zero-copy views. Call
    /// [`Mapping::check_covered`] before reading through it.
    pub fn as_ptr(&self) -> *const u8 {
        self.ptr()
    }

    pub fn flush(&self, asynchronous: bool) -> Result<()> {
        let Some(map) = &self.map else { return Ok(()) };
        let done = if asynchronous { map.flush_async() } else { map.flush() };
        done.map_err(|e| io_err("msync", &self.path, e))
    }

    pub fn protect(&self, prot: i32) -> Result<()> {
        if prot & !(PROT_READ | PROT_WRITE) != 0 {
            return Err(MmError::Type(format!("`prot` has unsupported bits: {prot}")));
        }
        if self.map.is_some() {
            // SAFETY: the span is exactly our own live mapping; R's side holds no
            // slice across this call, and later accesses check `prot` first.
            unsafe { os::protect(self.ptr(), self.len, prot) }.map_err(|e| match e.kind() {
                ErrorKind::PermissionDenied => MmError::ReadOnly(self.path.clone()),
                _ => io_err("mprotect", &self.path, e),
            })?;
        }
        self.prot.store(prot, Ordering::Release);
        Ok(())
    }

    pub fn advise(&self, advice: Advice) -> Result<()> {
        if self.map.is_none() {
            return Ok(());
        }
        // SAFETY: the span is exactly our own live mapping.
        unsafe { os::advise(self.ptr(), self.len, advice) }.map_err(|e| io_err("madvise", &self.path, e))
    }
}

fn open_file(path: &Path, need_write: bool) -> Result<File> {
    use std::os::unix::fs::OpenOptionsExt;
    // Open read-write when we may, so that mprotect() can add PROT_WRITE later.
    // O_NONBLOCK: should the path become a FIFO after it was checked, opening
    // it must not wait for a writer; on regular files the flag does nothing.
    match OpenOptions::new().read(true).write(true).custom_flags(libc::O_NONBLOCK).open(path) {
        Ok(f) => return Ok(f),
        Err(e) if e.kind() == ErrorKind::NotFound => return Err(MmError::NotFound(path.to_path_buf())),
        Err(e) if need_write => {
            return Err(match e.kind() {
                ErrorKind::PermissionDenied | ErrorKind::ReadOnlyFilesystem => MmError::ReadOnly(path.to_path_buf()),
                _ => io_err("open", path, e),
            })
        }
        Err(_) => {}
    }
    OpenOptions::new()
        .read(true)
        .custom_flags(libc::O_NONBLOCK)
        .open(path)
        .map_err(|e| io_err("open", path, e))
}

/// A new file being written to replace `dest`. It lives next to `dest` (same
/// filesystem), so [`Replacement::commit`] is an atomic rename: mappings of
/// the old file keep the old inode and its bytes, where truncating `dest` in
/// place would make their next access die of SIGBUS.
#[derive(Debug)]
pub struct Replacement {
    pub temp: PathBuf,
    pub dest: PathBuf,
}

impl Replacement {
    /// Creates the temporary file with `len` zero bytes, reserved on disk so
    /// that writing them through a mapping cannot hit a full disk. `target`
    /// may not exist yet; if it is a symlink, the file it points to is replaced.
    pub fn create(target: &Path, len: u64) -> Result<Replacement> {
        let dest = match std::fs::metadata(target) {
            Ok(meta) => {
                if let Some(kind) = os::unmappable_kind(&meta) {
                    return Err(MmError::NotRegular { path: target.to_path_buf(), kind });
                }
                if !os::may_write(target) {
                    return Err(MmError::ReadOnly(target.to_path_buf()));
                }
                std::fs::canonicalize(target).map_err(|e| io_err("resolve", target, e))?
            }
            Err(e) if e.kind() == ErrorKind::NotFound => target.to_path_buf(),
            Err(e) => return Err(io_err("stat", target, e)),
        };
        let dir = match dest.parent() {
            Some(d) if !d.as_os_str().is_empty() => d.to_path_buf(),
            _ => PathBuf::from("."),
        };
        if !dir.is_dir() {
            return Err(MmError::NotFound(dir));
        }
        let name = dest.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_else(|| "mmap".into());
        let (temp, file) = create_unique(&dir, &name)?;
        if let Err(e) = os::reserve(&file, len).map_err(|e| io_err("reserve disk space for", &temp, e)) {
            let _ = std::fs::remove_file(&temp);
            return Err(e);
        }
        Ok(Replacement { temp, dest })
    }

    /// Renames the finished file over `dest`, which keeps its permissions.
    pub fn commit(&self) -> Result<()> {
        if let Ok(old) = std::fs::metadata(&self.dest) {
            std::fs::set_permissions(&self.temp, old.permissions()).map_err(|e| io_err("chmod", &self.temp, e))?;
        }
        std::fs::rename(&self.temp, &self.dest).map_err(|e| io_err("rename", &self.dest, e))
    }
}

fn create_unique(dir: &Path, name: &str) -> Result<(PathBuf, File)> {
    use std::sync::atomic::AtomicU32;
    static COUNTER: AtomicU32 = AtomicU32::new(0);
    let pid = std::process::id();
    loop {
        let n = COUNTER.fetch_add(1, Ordering::Relaxed);
        let temp = dir.join(format!(".{name}.{pid}-{n}.mmap-new"));
        match OpenOptions::new().read(true).write(true).create_new(true).open(&temp) {
            Ok(f) => return Ok((temp, f)),
            Err(e) if e.kind() == ErrorKind::AlreadyExists => continue,
            Err(e) => return Err(io_err("create", &temp, e)),
        }
    }
}

/// Replaces `path` by a new file of `len` zero bytes; mappings of the old file
/// keep their bytes (see [`Replacement`]).
pub fn create_file(path: &Path, len: u64) -> Result<()> {
    let r = Replacement::create(path, len)?;
    r.commit().inspect_err(|_| {
        let _ = std::fs::remove_file(&r.temp);
    })
}

/// Whether `a` and `b` name the same file (through symlinks, hard links or
/// different spellings). A `b` that does not exist is not `a`.
pub fn same_file(a: &Path, b: &Path) -> Result<bool> {
    let ma = std::fs::metadata(a).map_err(|e| io_err("stat", a, e))?;
    match std::fs::metadata(b) {
        Ok(mb) => Ok(os::same_file(&ma, &mb)),
        Err(e) if e.kind() == ErrorKind::NotFound => Ok(false),
        Err(e) => Err(io_err("stat", b, e)),
    }
}

pub fn page_size() -> usize {
    os::page_size()
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Write;

    fn file_with(bytes: &[u8]) -> tempfile::NamedTempFile {
        let mut f = tempfile::NamedTempFile::new().unwrap();
        f.write_all(bytes).unwrap();
        f.flush().unwrap();
        f
    }

    #[test]
    fn maps_at_unaligned_offsets() {
        let data: Vec<u8> = (0..=255u8).cycle().take(10_000).collect();
        let f = file_with(&data);
        let m = Mapping::open(f.path(), &MapOptions { offset: 4099, len: Some(10), ..Default::default() }).unwrap();
        assert_eq!(m.bytes().unwrap(), &data[4099..4109]);
    }

    #[test]
    fn writes_reach_the_file() {
        let f = file_with(&[0; 16]);
        let m = Mapping::open(f.path(), &MapOptions::default()).unwrap();
        m.bytes_mut().unwrap()[3] = 7;
        m.flush(false).unwrap();
        assert_eq!(std::fs::read(f.path()).unwrap()[3], 7);
    }

    #[test]
    fn empty_file_is_an_empty_mapping() {
        let f = file_with(&[]);
        let m = Mapping::open(f.path(), &MapOptions::default()).unwrap();
        assert!(m.is_empty());
        assert_eq!(m.bytes().unwrap().len(), 0);
    }

    #[test]
    fn read_only_mapping_refuses_writes_and_protect_toggles() {
        let f = file_with(&[1; 8]);
        let m = Mapping::open(f.path(), &MapOptions { prot: PROT_READ, ..Default::default() }).unwrap();
        assert!(matches!(m.bytes_mut(), Err(MmError::NotWritable)));
        m.protect(PROT_READ | PROT_WRITE).unwrap();
        m.bytes_mut().unwrap()[0] = 2;
        m.protect(PROT_NONE).unwrap();
        assert!(matches!(m.bytes(), Err(MmError::NotReadable)));
        m.protect(PROT_READ).unwrap();
        assert_eq!(m.bytes().unwrap()[0], 2);
    }

    #[test]
    fn errors_name_the_problem() {
        let missing = Path::new("/nonexistent/mmap-test");
        assert!(matches!(Mapping::open(missing, &MapOptions::default()), Err(MmError::NotFound(_))));
        let f = file_with(&[0; 8]);
        let past = MapOptions { offset: 4, len: Some(8), ..Default::default() };
        assert!(matches!(Mapping::open(f.path(), &past), Err(MmError::Layout(_))));
    }

    #[test]
    fn private_writes_stay_private() {
        let f = file_with(&[5; 8]);
        let m = Mapping::open(f.path(), &MapOptions { private: true, ..Default::default() }).unwrap();
        m.bytes_mut().unwrap()[0] = 9;
        assert_eq!(std::fs::read(f.path()).unwrap()[0], 5);
    }

    #[test]
    fn advice_is_accepted() {
        let f = file_with(&[0; 8192]);
        let m = Mapping::open(f.path(), &MapOptions { offset: 100, ..Default::default() }).unwrap();
        for a in ["normal", "random", "sequential", "willneed", "MADV_DONTNEED"] {
            m.advise(Advice::parse(a).unwrap()).unwrap();
        }
        assert!(Advice::parse("sometimes").is_none());
    }

    #[test]
    fn a_shrunk_file_is_an_error_not_sigbus() {
        let f = file_with(&[7; 20000]);
        let m = Mapping::open(f.path(), &MapOptions { offset: 100, ..Default::default() }).unwrap();
        assert_eq!(m.bytes().unwrap()[0], 7);
        std::fs::OpenOptions::new().write(true).open(f.path()).unwrap().set_len(50).unwrap();
        let err = m.bytes().unwrap_err();
        assert_eq!(err.class(), "mmap_error_io");
        assert!(err.to_string().contains("the file shrank from 20000 to 50 bytes"), "{err}");
        assert!(m.bytes_mut().is_err());
        // Growing back makes the mapping usable again (the pages read as zeros).
        std::fs::OpenOptions::new().write(true).open(f.path()).unwrap().set_len(20000).unwrap();
        assert_eq!(m.bytes().unwrap()[19899], 0);
    }

    #[test]
    fn only_regular_files_map() {
        let dir = tempfile::tempdir().unwrap();
        let fifo = dir.path().join("fifo");
        let c = std::ffi::CString::new(fifo.to_str().unwrap()).unwrap();
        // SAFETY: mkfifo reads the nul-terminated path.
        assert_eq!(unsafe { libc::mkfifo(c.as_ptr(), 0o600) }, 0);
        let read_only = MapOptions { prot: PROT_READ, ..Default::default() };
        let err = Mapping::open(&fifo, &read_only).unwrap_err();
        assert!(err.to_string().contains("a FIFO"), "{err}");
        assert_eq!(err.class(), "mmap_error_io");
        let err = Mapping::open(dir.path(), &read_only).unwrap_err();
        assert!(err.to_string().contains("a directory"), "{err}");
        if Path::new("/proc/self/status").exists() {
            let err = Mapping::open(Path::new("/proc/self/status"), &read_only).unwrap_err();
            assert!(err.to_string().contains("proc pseudo-filesystem"), "{err}");
        }
    }

    #[test]
    fn replacing_a_mapped_file_keeps_the_old_bytes() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("data.bin");
        std::fs::write(&path, [3u8; 8192]).unwrap();
        let old = Mapping::open(&path, &MapOptions::default()).unwrap();
        create_file(&path, 16).unwrap();
        assert_eq!(std::fs::metadata(&path).unwrap().len(), 16);
        assert_eq!(old.bytes().unwrap()[8191], 3);
        let leftovers: Vec<_> = std::fs::read_dir(dir.path()).unwrap().collect();
        assert_eq!(leftovers.len(), 1, "the temporary file was renamed into place");
    }

    #[test]
    fn replacement_follows_symlinks_and_refuses_odd_targets() {
        let dir = tempfile::tempdir().unwrap();
        let real = dir.path().join("real.bin");
        let link = dir.path().join("link.bin");
        std::fs::write(&real, [1u8; 4]).unwrap();
        std::os::unix::fs::symlink(&real, &link).unwrap();
        create_file(&link, 10).unwrap();
        assert!(std::fs::symlink_metadata(&link).unwrap().file_type().is_symlink());
        assert_eq!(std::fs::metadata(&real).unwrap().len(), 10);
        assert!(matches!(create_file(dir.path(), 1), Err(MmError::NotRegular { .. })));
        assert!(matches!(create_file(&dir.path().join("no/such/dir/x"), 1), Err(MmError::NotFound(_))));
        assert!(same_file(&real, &link).unwrap());
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(&real, std::fs::Permissions::from_mode(0o640)).unwrap();
        create_file(&real, 3).unwrap();
        assert_eq!(std::fs::metadata(&real).unwrap().permissions().mode() & 0o777, 0o640);
        assert!(!same_file(&real, &dir.path().join("missing")).unwrap());
    }

    #[test]
    fn a_file_the_disk_cannot_hold_is_an_error_and_leaves_nothing() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("huge.bin");
        std::fs::write(&path, [9u8; 4]).unwrap();
        let err = Replacement::create(&path, 1 << 60).unwrap_err();
        assert_eq!(err.class(), "mmap_error_io");
        assert!(err.to_string().contains("reserve disk space"), "{err}");
        let left: Vec<_> = std::fs::read_dir(dir.path()).unwrap().map(|e| e.unwrap().file_name()).collect();
        assert_eq!(left, vec![std::ffi::OsString::from("huge.bin")]);
        assert_eq!(std::fs::read(&path).unwrap(), [9u8; 4]);
    }
}
