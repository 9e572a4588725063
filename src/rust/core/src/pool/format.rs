//! One file per pooled object.
//!
//! ```text
//! 0     magic "MMAPPOOL", version u32, payload byte order u32,
//!       shape u32, section count u32, alignment u32, reserved u32,
//!       file length u64, attributes offset/length/checksum u64 x3
//! 64    per section: kind u32, reserved u32, elements u64, offset u64,
//!       bytes u64, checksum u64                               (40 bytes each)
//! ...   header checksum u64 over everything before it
//!       padding to the alignment (a page)
//!       sections, each starting on an aligned offset: the raw payload of an
//!       atomic vector in R's own layout, or the bytes of base serialize()
//!       the attributes (base serialize() bytes, possibly empty)
//! ```
//!
//! Header fields are little-endian; payloads are in the writer's byte order,
//! recorded in the header, because they are mapped as they are. Checksums are
//! XXH3-64. Every length in the header is checked against the file before any
//! byte of it is mapped, so a truncated file is an error and never a SIGBUS.

use std::fs::{self, File, OpenOptions};
use std::io::{self, ErrorKind};
use std::os::unix::fs::{FileExt, OpenOptionsExt};
use std::path::{Path, PathBuf};
use std::sync::atomic::Ordering;

use xxhash_rust::xxh3::{xxh3_64, Xxh3Default};

use super::sys;
use crate::error::{MmError, Result};

pub const MAGIC: [u8; 8] = *b"MMAPPOOL";
pub const VERSION: u32 = 1;
const FIXED: usize = 64;
const PER_SECTION: usize = 40;
/// A corrupt count must not make us allocate without bound before the header
/// checksum has been verified.
const MAX_SECTIONS: u32 = 1 << 20;
const ORDER_LITTLE: u32 = 1;
const ORDER_BIG: u32 = 2;

fn native_order() -> u32 {
    if cfg!(target_endian = "little") { ORDER_LITTLE } else { ORDER_BIG }
}

/// What a section holds. The payload kinds are R's atomic vector types.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SectionKind {
    Serialized,
    Logical,
    Integer,
    Double,
    Complex,
    Raw,
}

impl SectionKind {
    pub fn code(self) -> u32 {
        match self {
            SectionKind::Serialized => 0,
            SectionKind::Logical => 1,
            SectionKind::Integer => 2,
            SectionKind::Double => 3,
            SectionKind::Complex => 4,
            SectionKind::Raw => 5,
        }
    }

    pub fn from_code(code: u32) -> Option<SectionKind> {
        Some(match code {
            0 => SectionKind::Serialized,
            1 => SectionKind::Logical,
            2 => SectionKind::Integer,
            3 => SectionKind::Double,
            4 => SectionKind::Complex,
            5 => SectionKind::Raw,
            _ => return None,
        })
    }

    /// Bytes per element.
    pub fn width(self) -> u64 {
        match self {
            SectionKind::Serialized | SectionKind::Raw => 1,
            SectionKind::Logical | SectionKind::Integer => 4,
            SectionKind::Double => 8,
            SectionKind::Complex => 16,
        }
    }

    pub fn name(self) -> &'static str {
        match self {
            SectionKind::Serialized => "serialized",
            SectionKind::Logical => "logical",
            SectionKind::Integer => "integer",
            SectionKind::Double => "double",
            SectionKind::Complex => "complex",
            SectionKind::Raw => "raw",
        }
    }

    pub fn parse(name: &str) -> Option<SectionKind> {
        [
            SectionKind::Serialized,
            SectionKind::Logical,
            SectionKind::Integer,
            SectionKind::Double,
            SectionKind::Complex,
            SectionKind::Raw,
        ]
        .into_iter()
        .find(|k| k.name() == name)
    }
}

/// How the sections make up the R object.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Shape {
    /// One serialized section: any R object.
    Object,
    /// One payload section: an atomic vector; the attributes hold its attributes.
    Vector,
    /// One payload section per column of a data.frame.
    Frame,
}

impl Shape {
    pub fn code(self) -> u32 {
        match self {
            Shape::Object => 0,
            Shape::Vector => 1,
            Shape::Frame => 2,
        }
    }

    pub fn from_code(code: u32) -> Option<Shape> {
        Some(match code {
            0 => Shape::Object,
            1 => Shape::Vector,
            2 => Shape::Frame,
            _ => return None,
        })
    }

    pub fn name(self) -> &'static str {
        match self {
            Shape::Object => "object",
            Shape::Vector => "vector",
            Shape::Frame => "frame",
        }
    }

    pub fn parse(name: &str) -> Option<Shape> {
        [Shape::Object, Shape::Vector, Shape::Frame].into_iter().find(|s| s.name() == name)
    }
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Section {
    pub kind: SectionKind,
    /// Elements (bytes, for a serialized section).
    pub length: u64,
    pub offset: u64,
    pub bytes: u64,
    pub checksum: u64,
}

/// A verified header and the attribute bytes.
#[derive(Clone, Debug)]
pub struct Entry {
    pub shape: Shape,
    pub sections: Vec<Section>,
    pub attributes: Vec<u8>,
    pub file_len: u64,
}

impl Entry {
    pub fn payload_bytes(&self) -> u64 {
        self.sections.iter().map(|s| s.bytes).sum()
    }
}

fn align_up(x: u64, to: u64) -> Option<u64> {
    x.checked_add(to - 1).map(|v| v / to * to)
}

fn alignment() -> u64 {
    (crate::os::page_size() as u64).max(4096)
}

fn corrupt(path: &Path, what: impl std::fmt::Display) -> MmError {
    MmError::Pool(format!("pool file '{}' is corrupt: {what}", path.display()))
}

/// Where everything goes, computed before the first byte is written.
#[derive(Clone, Debug)]
struct Layout {
    header_len: u64,
    sections: Vec<Section>,
    attr_off: u64,
    file_len: u64,
}

fn layout(parts: &[(SectionKind, u64)], attr_len: u64, align: u64) -> Result<Layout> {
    let overflow = || MmError::Pool("the object is too large for a pool file".into());
    let header_len = (FIXED + PER_SECTION * parts.len() + 8) as u64;
    let mut at = align_up(header_len, align).ok_or_else(overflow)?;
    let mut sections = Vec::with_capacity(parts.len());
    for &(kind, length) in parts {
        let bytes = length.checked_mul(kind.width()).ok_or_else(overflow)?;
        sections.push(Section { kind, length, offset: at, bytes, checksum: 0 });
        let end = at.checked_add(bytes).ok_or_else(overflow)?;
        at = align_up(end, align).ok_or_else(overflow)?;
    }
    // The attributes follow the last payload directly; only payloads are mapped.
    let attr_off = match sections.last() {
        Some(s) => s.offset + s.bytes,
        None => header_len,
    };
    let file_len = attr_off.checked_add(attr_len).ok_or_else(overflow)?;
    Ok(Layout { header_len, sections, attr_off, file_len })
}

fn encode_header(shape: Shape, lay: &Layout, align: u64, attr_len: u64, attr_sum: u64) -> Vec<u8> {
    let mut h = Vec::with_capacity(lay.header_len as usize);
    h.extend_from_slice(&MAGIC);
    h.extend_from_slice(&VERSION.to_le_bytes());
    h.extend_from_slice(&native_order().to_le_bytes());
    h.extend_from_slice(&shape.code().to_le_bytes());
    h.extend_from_slice(&(lay.sections.len() as u32).to_le_bytes());
    h.extend_from_slice(&(align as u32).to_le_bytes());
    h.extend_from_slice(&0u32.to_le_bytes());
    h.extend_from_slice(&lay.file_len.to_le_bytes());
    h.extend_from_slice(&lay.attr_off.to_le_bytes());
    h.extend_from_slice(&attr_len.to_le_bytes());
    h.extend_from_slice(&attr_sum.to_le_bytes());
    for s in &lay.sections {
        h.extend_from_slice(&s.kind.code().to_le_bytes());
        h.extend_from_slice(&0u32.to_le_bytes());
        h.extend_from_slice(&s.length.to_le_bytes());
        h.extend_from_slice(&s.offset.to_le_bytes());
        h.extend_from_slice(&s.bytes.to_le_bytes());
        h.extend_from_slice(&s.checksum.to_le_bytes());
    }
    let sum = xxh3_64(&h);
    h.extend_from_slice(&sum.to_le_bytes());
    h
}

fn u32_at(b: &[u8], at: usize) -> u32 {
    let mut a = [0u8; 4];
    a.copy_from_slice(&b[at..at + 4]);
    u32::from_le_bytes(a)
}

fn u64_at(b: &[u8], at: usize) -> u64 {
    let mut a = [0u8; 8];
    a.copy_from_slice(&b[at..at + 8]);
    u64::from_le_bytes(a)
}

// ---------------------------------------------------------------------------
// Fault injection, for tests of the failure paths (a full disk, a failing
// write) on machines where a real full filesystem cannot be arranged.

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Fault {
    None,
    /// Preallocation fails with ENOSPC.
    NoSpace,
    /// The first payload write fails with EIO.
    WriteError,
}

thread_local! {
    // Per thread: R calls from one thread, and parallel cargo tests must not
    // see each other's faults.
    static FAULT: std::cell::Cell<Fault> = const { std::cell::Cell::new(Fault::None) };
}

pub fn set_fault(fault: Fault) {
    FAULT.with(|f| f.set(fault));
}

fn fault() -> Fault {
    FAULT.with(|f| f.get())
}

fn write_error(path: &Path, op: &str, e: io::Error) -> MmError {
    let hint = match e.raw_os_error() {
        Some(libc::ENOSPC) | Some(libc::EDQUOT) => " (the disk is full)",
        Some(libc::EACCES) | Some(libc::EPERM) | Some(libc::EROFS) => " (no permission to write there)",
        _ => "",
    };
    MmError::Pool(format!("cannot write pool file '{}': {op} failed: {e}{hint}", path.display()))
}

// ---------------------------------------------------------------------------
// Writing.

/// A pool file being written: a temporary file next to its destination that
/// becomes the destination only in `commit()` (fsync, rename, fsync of the
/// directory). Dropping it uncommitted removes the temporary file, so a failed
/// or interrupted write leaves nothing behind and never a partial file under
/// the final name.
pub struct PendingFile {
    dest: PathBuf,
    tmp: PathBuf,
    file: Option<File>,
    shape: Shape,
    align: u64,
    lay: Layout,
    attr_len: u64,
    attr_sum: u64,
    hashers: Vec<Xxh3Default>,
    written: Vec<u64>,
}

impl std::fmt::Debug for PendingFile {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PendingFile").field("dest", &self.dest).field("written", &self.written).finish()
    }
}

impl PendingFile {
    /// Creates the temporary file, reserves the whole file on disk, and writes
    /// the attributes. `parts` are the sections' kinds and element counts.
    pub fn create(dest: &Path, shape: Shape, parts: &[(SectionKind, u64)], attributes: &[u8]) -> Result<PendingFile> {
        match shape {
            Shape::Object => {
                if parts.len() != 1 || parts[0].0 != SectionKind::Serialized {
                    return Err(MmError::Value("an object pool file has exactly one serialized section".into()));
                }
            }
            Shape::Vector | Shape::Frame => {
                if shape == Shape::Vector && parts.len() != 1 {
                    return Err(MmError::Value("a vector pool file has exactly one section".into()));
                }
                if parts.iter().any(|p| p.0 == SectionKind::Serialized) {
                    return Err(MmError::Value("vector and frame pool files hold atomic payloads only".into()));
                }
            }
        }
        let align = alignment();
        let lay = layout(parts, attributes.len() as u64, align)?;
        let dir = dest.parent().filter(|d| !d.as_os_str().is_empty()).unwrap_or(Path::new("."));
        let name = dest.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default();
        let (tmp, file) = create_temp(dir, &name).map_err(|e| write_error(dest, "creating a temporary file", e))?;
        let pending = PendingFile {
            dest: dest.to_path_buf(),
            tmp,
            file: Some(file),
            shape,
            align,
            attr_len: attributes.len() as u64,
            attr_sum: xxh3_64(attributes),
            hashers: parts.iter().map(|_| Xxh3Default::new()).collect(),
            written: vec![0; parts.len()],
            lay,
        };
        pending.reserve()?;
        let attr_off = pending.lay.attr_off;
        pending.write_at(attributes, attr_off)?;
        Ok(pending)
    }

    fn file(&self) -> &File {
        self.file.as_ref().expect("PendingFile used after commit")
    }

    fn reserve(&self) -> Result<()> {
        let res = if fault() == Fault::NoSpace {
            Err(io::Error::from_raw_os_error(libc::ENOSPC))
        } else {
            sys::preallocate(self.file(), self.lay.file_len)
        };
        res.map_err(|e| write_error(&self.dest, "reserving disk space", e))
    }

    fn write_at(&self, bytes: &[u8], at: u64) -> Result<()> {
        if fault() == Fault::WriteError && !bytes.is_empty() {
            return Err(write_error(&self.dest, "write", io::Error::from_raw_os_error(libc::EIO)));
        }
        self.file().write_all_at(bytes, at).map_err(|e| write_error(&self.dest, "write", e))
    }

    pub fn file_len(&self) -> u64 {
        self.lay.file_len
    }

    /// Bytes still to be written to section `i`.
    pub fn remaining(&self, i: usize) -> Result<u64> {
        let s = self.lay.sections.get(i).ok_or_else(|| MmError::Value(format!("no section {i}")))?;
        Ok(s.bytes - self.written[i])
    }

    /// Appends the next bytes of section `i`.
    pub fn write(&mut self, i: usize, bytes: &[u8]) -> Result<()> {
        let remaining = self.remaining(i)?;
        if bytes.len() as u64 > remaining {
            return Err(MmError::Value(format!(
                "section {i} takes {remaining} more bytes, not {}",
                bytes.len()
            )));
        }
        let at = self.lay.sections[i].offset + self.written[i];
        self.write_at(bytes, at)?;
        self.hashers[i].update(bytes);
        self.written[i] += bytes.len() as u64;
        Ok(())
    }

    /// Writes the header, makes the file durable and gives it its name.
    /// Returns the file's length.
    pub fn commit(mut self) -> Result<u64> {
        for (i, s) in self.lay.sections.iter().enumerate() {
            if self.written[i] != s.bytes {
                return Err(MmError::Value(format!(
                    "section {i} is incomplete: {} of {} bytes written",
                    self.written[i], s.bytes
                )));
            }
        }
        let mut lay = self.lay.clone();
        for (s, h) in lay.sections.iter_mut().zip(&self.hashers) {
            s.checksum = h.digest();
        }
        let header = encode_header(self.shape, &lay, self.align, self.attr_len, self.attr_sum);
        self.write_at(&header, 0)?;
        self.file().sync_all().map_err(|e| write_error(&self.dest, "fsync", e))?;
        self.file = None; // close before the rename
        fs::rename(&self.tmp, &self.dest).map_err(|e| write_error(&self.dest, "rename", e))?;
        let len = lay.file_len;
        self.tmp = PathBuf::new(); // renamed: nothing to clean up
        let dir = self.dest.parent().filter(|d| !d.as_os_str().is_empty()).unwrap_or(Path::new("."));
        sys::sync_dir(dir).map_err(|e| write_error(&self.dest, "fsync of the directory", e))?;
        Ok(len)
    }
}

impl Drop for PendingFile {
    fn drop(&mut self) {
        self.file = None;
        if !self.tmp.as_os_str().is_empty() {
            let _ = fs::remove_file(&self.tmp);
        }
    }
}

fn create_temp(dir: &Path, name: &str) -> io::Result<(PathBuf, File)> {
    static COUNTER: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);
    for _ in 0..100 {
        let n = COUNTER.fetch_add(1, Ordering::Relaxed);
        let nanos = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.subsec_nanos())
            .unwrap_or(0);
        let tmp = dir.join(format!(".{name}.{}-{n}-{nanos}.tmp", std::process::id()));
        match OpenOptions::new().write(true).create_new(true).mode(0o644).open(&tmp) {
            Ok(f) => return Ok((tmp, f)),
            Err(e) if e.kind() == ErrorKind::AlreadyExists => continue,
            Err(e) => return Err(e),
        }
    }
    Err(io::Error::new(ErrorKind::AlreadyExists, "no free temporary file name"))
}

/// Writes a whole object at once (the sections' bytes are at hand).
pub fn write_file(dest: &Path, shape: Shape, parts: &[(SectionKind, &[u8])], attributes: &[u8]) -> Result<u64> {
    let mut kinds = Vec::with_capacity(parts.len());
    for (kind, bytes) in parts {
        let width = kind.width();
        if !(bytes.len() as u64).is_multiple_of(width) {
            return Err(MmError::Value(format!("{} bytes do not make whole {} elements", bytes.len(), kind.name())));
        }
        kinds.push((*kind, bytes.len() as u64 / width));
    }
    let mut pending = PendingFile::create(dest, shape, &kinds, attributes)?;
    for (i, (_, bytes)) in parts.iter().enumerate() {
        pending.write(i, bytes)?;
    }
    pending.commit()
}

// ---------------------------------------------------------------------------
// Reading.

fn open_read(path: &Path) -> Result<File> {
    File::open(path).map_err(|e| match e.kind() {
        ErrorKind::NotFound => MmError::Pool(format!("pool file '{}' does not exist", path.display())),
        _ => MmError::Pool(format!("cannot open pool file '{}': {e}", path.display())),
    })
}

fn read_exact(file: &File, path: &Path, buf: &mut [u8], at: u64, what: &str) -> Result<()> {
    file.read_exact_at(buf, at).map_err(|e| match e.kind() {
        ErrorKind::UnexpectedEof => corrupt(path, format!("it is truncated (while reading the {what})")),
        _ => MmError::Pool(format!("cannot read pool file '{}': {e}", path.display())),
    })
}

/// Reads and verifies the header and the attributes; with `verify_payload`,
/// the payload checksums too. Everything the header claims is checked against
/// the file's actual length.
pub fn open(path: &Path, verify_payload: bool) -> Result<Entry> {
    let file = open_read(path)?;
    let actual = file.metadata().map_err(|e| MmError::Pool(format!("cannot stat '{}': {e}", path.display())))?.len();
    if actual < FIXED as u64 {
        return Err(corrupt(path, format!("it is truncated: {actual} bytes, shorter than a header")));
    }
    let mut fixed = [0u8; FIXED];
    read_exact(&file, path, &mut fixed, 0, "header")?;
    if fixed[..8] != MAGIC {
        return Err(corrupt(path, "it is not a pool file (bad magic number)"));
    }
    let version = u32_at(&fixed, 8);
    if version != VERSION {
        return Err(corrupt(path, format!("format version {version}; this build reads version {VERSION}")));
    }
    let nsec = u32_at(&fixed, 20);
    if nsec > MAX_SECTIONS {
        return Err(corrupt(path, format!("the header claims {nsec} sections")));
    }
    let header_len = FIXED + PER_SECTION * nsec as usize + 8;
    if (header_len as u64) > actual {
        return Err(corrupt(path, format!("it is truncated: {actual} bytes, shorter than its header")));
    }
    let mut header = vec![0u8; header_len];
    read_exact(&file, path, &mut header, 0, "header")?;
    let stored = u64_at(&header, header_len - 8);
    if xxh3_64(&header[..header_len - 8]) != stored {
        return Err(corrupt(path, "the header checksum does not match"));
    }
    let order = u32_at(&header, 12);
    if order != native_order() {
        return Err(corrupt(path, "its payload was written in the other byte order"));
    }
    let shape = Shape::from_code(u32_at(&header, 16)).ok_or_else(|| corrupt(path, "unknown shape"))?;
    let file_len = u64_at(&header, 32);
    if actual < file_len {
        return Err(corrupt(path, format!("it is truncated: {actual} bytes, its header says {file_len}")));
    }
    if actual > file_len {
        return Err(corrupt(path, format!("it has {} bytes more than its header says", actual - file_len)));
    }
    let attr_off = u64_at(&header, 40);
    let attr_len = u64_at(&header, 48);
    let attr_sum = u64_at(&header, 56);
    if attr_off.checked_add(attr_len) != Some(file_len) {
        return Err(corrupt(path, "the attributes do not end the file"));
    }
    let mut sections = Vec::with_capacity(nsec as usize);
    let mut prev_end = header_len as u64;
    for i in 0..nsec as usize {
        let at = FIXED + PER_SECTION * i;
        let kind = SectionKind::from_code(u32_at(&header, at))
            .ok_or_else(|| corrupt(path, format!("section {} has an unknown kind", i + 1)))?;
        let s = Section {
            kind,
            length: u64_at(&header, at + 8),
            offset: u64_at(&header, at + 16),
            bytes: u64_at(&header, at + 24),
            checksum: u64_at(&header, at + 32),
        };
        let end = s.offset.checked_add(s.bytes);
        if s.length.checked_mul(kind.width()) != Some(s.bytes) || s.offset < prev_end || end.is_none_or(|e| e > attr_off) {
            return Err(corrupt(path, format!("section {} lies outside the file", i + 1)));
        }
        prev_end = end.unwrap_or(attr_off);
        sections.push(s);
    }
    let shape_ok = match shape {
        Shape::Object => sections.len() == 1 && sections[0].kind == SectionKind::Serialized,
        Shape::Vector => sections.len() == 1 && sections[0].kind != SectionKind::Serialized,
        Shape::Frame => sections.iter().all(|s| s.kind != SectionKind::Serialized),
    };
    if !shape_ok {
        return Err(corrupt(path, "its sections do not match its shape"));
    }
    let attr_len_usize =
        usize::try_from(attr_len).map_err(|_| corrupt(path, "the attributes do not fit in memory"))?;
    let mut attributes = vec![0u8; attr_len_usize];
    read_exact(&file, path, &mut attributes, attr_off, "attributes")?;
    if xxh3_64(&attributes) != attr_sum {
        return Err(corrupt(path, "the attributes' checksum does not match"));
    }
    let entry = Entry { shape, sections, attributes, file_len };
    if verify_payload {
        for (i, s) in entry.sections.iter().enumerate() {
            verify_section(&file, path, s, i)?;
        }
    }
    Ok(entry)
}

fn verify_section(file: &File, path: &Path, s: &Section, i: usize) -> Result<()> {
    const CHUNK: u64 = 4 << 20;
    let mut hasher = Xxh3Default::new();
    let mut buf = vec![0u8; CHUNK.min(s.bytes) as usize];
    let mut done = 0u64;
    while done < s.bytes {
        let n = CHUNK.min(s.bytes - done) as usize;
        read_exact(file, path, &mut buf[..n], s.offset + done, "payload")?;
        hasher.update(&buf[..n]);
        done += n as u64;
    }
    if hasher.digest() != s.checksum {
        return Err(corrupt(path, format!("the checksum of section {} (the data) does not match", i + 1)));
    }
    Ok(())
}

/// Reads section `i` into `out` (exactly its length), verifying its checksum.
pub fn read_section(path: &Path, entry: &Entry, i: usize, out: &mut [u8]) -> Result<()> {
    let s = entry.sections.get(i).ok_or_else(|| MmError::Value(format!("no section {}", i + 1)))?;
    if out.len() as u64 != s.bytes {
        return Err(MmError::Value(format!("section {} has {} bytes, not {}", i + 1, s.bytes, out.len())));
    }
    let file = open_read(path)?;
    let actual = file.metadata().map_err(|e| MmError::Pool(format!("cannot stat '{}': {e}", path.display())))?.len();
    if actual != entry.file_len {
        return Err(corrupt(path, format!("it changed size since it was opened ({actual} bytes, expected {})", entry.file_len)));
    }
    read_exact(&file, path, out, s.offset, "payload")?;
    if xxh3_64(out) != s.checksum {
        return Err(corrupt(path, format!("the checksum of section {} (the data) does not match", i + 1)));
    }
    Ok(())
}

/// The check made on every read: header and attributes always, payload
/// checksums of mapped payloads when they are small enough to hash at once
/// (or always, with `always`). A serialized section is checked when it is read.
pub fn open_for_read(path: &Path, always: bool) -> Result<Entry> {
    let e = open(path, false)?;
    if e.shape != Shape::Object && (always || e.payload_bytes() < super::VERIFY_ON_READ_BELOW) {
        let file = open_read(path)?;
        for (i, s) in e.sections.iter().enumerate() {
            verify_section(&file, path, s, i)?;
        }
    }
    Ok(e)
}

/// Full verification: header, attributes and every payload checksum.
pub fn verify(path: &Path) -> Result<Entry> {
    open(path, true)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn doubles(v: &[f64]) -> Vec<u8> {
        v.iter().flat_map(|x| x.to_ne_bytes()).collect()
    }

    #[test]
    fn round_trip_vector_and_alignment() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("a.pool");
        let data = doubles(&[1.0, f64::NAN, -0.0, f64::INFINITY]);
        let len = write_file(&p, Shape::Vector, &[(SectionKind::Double, &data)], b"attrs").unwrap();
        assert_eq!(len, std::fs::metadata(&p).unwrap().len());
        let e = open(&p, true).unwrap();
        assert_eq!(e.shape, Shape::Vector);
        assert_eq!(e.attributes, b"attrs");
        let s = &e.sections[0];
        assert_eq!((s.kind, s.length, s.bytes), (SectionKind::Double, 4, 32));
        assert_eq!(s.offset % alignment(), 0);
        let mut out = vec![0u8; 32];
        read_section(&p, &e, 0, &mut out).unwrap();
        assert_eq!(out, data);
        // no temporary files are left behind
        assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 1);
    }

    #[test]
    fn frame_sections_are_each_aligned_and_zero_length_works() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("f.pool");
        let a = [1u8, 2, 3];
        let b: Vec<u8> = (0..5i32).flat_map(|x| x.to_ne_bytes()).collect();
        write_file(&p, Shape::Frame, &[(SectionKind::Raw, &a), (SectionKind::Integer, &b), (SectionKind::Double, &[])], b"")
            .unwrap();
        let e = verify(&p).unwrap();
        assert_eq!(e.sections.len(), 3);
        for s in &e.sections {
            assert_eq!(s.offset % alignment(), 0);
        }
        assert_eq!(e.sections[1].length, 5);
        assert_eq!(e.sections[2].bytes, 0);
        assert!(e.attributes.is_empty());
    }

    #[test]
    fn every_truncation_is_detected() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("t.pool");
        let data = doubles(&[1.0; 1000]);
        let full = write_file(&p, Shape::Vector, &[(SectionKind::Double, &data)], b"some attributes").unwrap();
        let original = std::fs::read(&p).unwrap();
        for cut in [0, 10, 63, 64, 100, 4096, 5000, full - 1] {
            std::fs::write(&p, &original[..cut as usize]).unwrap();
            let err = open(&p, false).unwrap_err();
            assert_eq!(err.class(), "mmap_error_pool", "cut at {cut}");
            assert!(err.to_string().contains("truncated") || err.to_string().contains("header"), "{err}");
        }
        let mut longer = original.clone();
        longer.push(0);
        std::fs::write(&p, &longer).unwrap();
        assert!(open(&p, false).is_err());
    }

    #[test]
    fn corruption_is_detected_where_promised() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("c.pool");
        let data = doubles(&[2.5; 100]);
        write_file(&p, Shape::Vector, &[(SectionKind::Double, &data)], b"attrs").unwrap();
        let original = std::fs::read(&p).unwrap();
        let e = open(&p, false).unwrap();
        let payload_at = e.sections[0].offset as usize;
        let attr_at = (e.file_len - 5) as usize;
        // header byte, payload byte, attribute byte
        for (at, header_or_attr) in [(20usize, true), (payload_at + 3, false), (attr_at + 1, true)] {
            let mut bad = original.clone();
            bad[at] ^= 0x40;
            std::fs::write(&p, &bad).unwrap();
            let quick = open(&p, false);
            assert_eq!(quick.is_err(), header_or_attr, "byte {at}");
            // a small payload is checked on every read
            assert!(open_for_read(&p, false).is_err());
            let err = verify(&p).unwrap_err();
            assert_eq!(err.class(), "mmap_error_pool");
            assert!(err.to_string().contains("corrupt"));
        }
        std::fs::write(&p, b"not a pool file at all, but long enough to hold a header ..........").unwrap();
        assert!(open(&p, false).unwrap_err().to_string().contains("magic"));
    }

    #[test]
    fn failed_writes_leave_nothing_and_say_why() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("x.pool");
        set_fault(Fault::NoSpace);
        let err = write_file(&p, Shape::Object, &[(SectionKind::Serialized, b"abc")], b"").unwrap_err();
        set_fault(Fault::None);
        assert!(err.to_string().contains("disk is full"), "{err}");
        assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 0);
        // an abandoned write removes its temporary file
        let mut pending = PendingFile::create(&p, Shape::Vector, &[(SectionKind::Raw, 10)], b"").unwrap();
        pending.write(0, &[1, 2, 3]).unwrap();
        assert!(pending.write(0, &[0; 8]).is_err());
        drop(pending);
        assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 0);
        // a directory we cannot write to
        let missing = dir.path().join("no/such/dir/x.pool");
        assert_eq!(write_file(&missing, Shape::Object, &[(SectionKind::Serialized, b"a")], b"").unwrap_err().class(), "mmap_error_pool");
    }

    #[test]
    fn shapes_are_checked_on_write() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("s.pool");
        assert!(write_file(&p, Shape::Object, &[(SectionKind::Raw, b"a")], b"").is_err());
        assert!(write_file(&p, Shape::Vector, &[(SectionKind::Raw, b"a"), (SectionKind::Raw, b"b")], b"").is_err());
        assert!(write_file(&p, Shape::Vector, &[(SectionKind::Integer, b"abc")], b"").is_err());
    }
}
