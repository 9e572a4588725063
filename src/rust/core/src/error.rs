//! One error type for the whole core. Every variant knows the R condition class
//! it becomes, so the R layer can raise classed conditions without parsing text.

use std::path::PathBuf;

#[derive(Debug, thiserror::Error)]
pub enum MmError {
    #[error("index {} is out of bounds: the mapping has {len} elements", show_index(*.index))]
    Bounds { index: f64, len: u64 },
    #[error("{0}")]
    Index(String),
    #[error("cannot write {value} to element {position} of the mapping: {ctype} holds {range}")]
    Range { value: String, position: u64, ctype: String, range: String },
    #[error("cannot write NA to element {position} of the mapping: {ctype} has no NA; give the type a sentinel, e.g. {ctype}(na = ...)")]
    NoNa { position: u64, ctype: String },
    #[error("cannot write {value} to element {position} of the mapping: it is the NA sentinel of this {ctype}, so it would read back as NA")]
    Sentinel { value: String, position: u64, ctype: String },
    #[error("{0}")]
    Type(String),
    #[error("{0}")]
    Value(String),
    #[error("file '{}' does not exist", .0.display())]
    NotFound(PathBuf),
    #[error("file '{}' is read-only: map it with prot = mmapFlags(\"PROT_READ\")", .0.display())]
    ReadOnly(PathBuf),
    #[error("{0}")]
    Layout(String),
    #[error("the mapping is not writable (mapped without PROT_WRITE); use mprotect() to change it")]
    NotWritable,
    #[error("the mapping is not readable (protected with PROT_NONE); use mprotect() to change it")]
    NotReadable,
    #[error("the mapping was released with munmap()")]
    Unmapped,
    #[error("cannot use the mapping of '{}': the file shrank from {from} to {to} bytes after it was mapped, but the mapping reaches byte {needed}; map the file again with mmap()", path.display())]
    Shrunk { path: PathBuf, from: u64, to: u64, needed: u64 },
    #[error("'{}' is not a regular file ({kind}): only regular files can be mapped", path.display())]
    NotRegular { path: PathBuf, kind: &'static str },
    #[error("{0}")]
    Memory(String),
    #[error("{op} failed on '{}': {source}", path.display())]
    Io { op: &'static str, path: PathBuf, source: std::io::Error },
    #[error("{op} failed: {source}")]
    Os { op: &'static str, source: std::io::Error },
    /// A broken invariant of this package, not a user error: please report it.
    #[error("internal error (please report): {0}")]
    Internal(String),
    /// An operation mmap objects do not support (e.g. comparing a struct as a whole).
    #[error("{0}")]
    Op(String),
    /// A pool file that is corrupt, truncated or cannot be written.
    #[error("{0}")]
    Pool(String),
}

impl MmError {
    /// Whether opening a file failed because the process (or the system) has
    /// no file descriptor left: each live mapping keeps one open.
    pub fn is_out_of_descriptors(&self) -> bool {
        matches!(self, Self::Io { source, .. } if matches!(source.raw_os_error(), Some(libc::EMFILE | libc::ENFILE)))
    }

    /// The R condition class, most specific first; `mmap_error` is added by R.
    pub fn class(&self) -> &'static str {
        match self {
            Self::Bounds { .. } | Self::Index(_) => "mmap_error_bounds",
            Self::Range { .. } | Self::NoNa { .. } | Self::Sentinel { .. } | Self::Value(_) => {
                "mmap_error_value"
            }
            Self::Type(_) | Self::Layout(_) => "mmap_error_type",
            Self::NotWritable | Self::NotReadable | Self::ReadOnly(_) => "mmap_error_protection",
            Self::Unmapped => "mmap_error_unmapped",
            Self::NotFound(_)
            | Self::Io { .. }
            | Self::Os { .. }
            | Self::Shrunk { .. }
            | Self::NotRegular { .. } => "mmap_error_io",
            Self::Memory(_) => "mmap_error_memory",
            Self::Internal(_) => "mmap_error_internal",
            Self::Pool(_) => "mmap_error_pool",
            Self::Op(_) => "mmap_error_op",
        }
    }

    /// Every R condition class, most specific first: an unsupported operation
    /// is also a type error, as R's own are.
    pub fn classes(&self) -> Vec<&'static str> {
        match self {
            Self::Op(_) => vec!["mmap_error_op", "mmap_error_type"],
            _ => vec![self.class()],
        }
    }
}

/// An index as R prints it: `Inf`, whole numbers without a fraction.
pub fn show_index(x: f64) -> String {
    if x.is_infinite() {
        return if x > 0.0 { "Inf".into() } else { "-Inf".into() };
    }
    if x.fract() == 0.0 && x.abs() < 1e15 {
        return format!("{x:.0}");
    }
    format!("{x}")
}

pub type Result<T> = std::result::Result<T, MmError>;
