//! One error type for the whole core. Every variant knows the R condition class
//! it becomes, so the R layer can raise classed conditions without parsing text.

use std::path::PathBuf;

#[derive(Debug, thiserror::Error)]
pub enum MmError {
    #[error("index {index} is out of bounds: the mapping has {len} elements")]
    Bounds { index: f64, len: u64 },
    #[error("{0}")]
    Index(String),
    #[error("cannot write {value} to element {position} of the mapping: {dtype} holds {range}")]
    Range { value: String, position: u64, dtype: String, range: String },
    #[error("cannot write NA to element {position} of the mapping: {dtype} has no NA; give the type a sentinel, e.g. {dtype}(na = ...)")]
    NoNa { position: u64, dtype: String },
    #[error("cannot write {value} to element {position} of the mapping: it is the NA sentinel of this {dtype}, so it would read back as NA")]
    Sentinel { value: String, position: u64, dtype: String },
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
    #[error("{op} failed on '{}': {source}", path.display())]
    Io { op: &'static str, path: PathBuf, source: std::io::Error },
    #[error("{op} failed: {source}")]
    Os { op: &'static str, source: std::io::Error },
    /// A pool file that is corrupt, truncated or cannot be written.
    #[error("{0}")]
    Pool(String),
}

impl MmError {
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
            Self::NotFound(_) | Self::Io { .. } | Self::Os { .. } => "mmap_error_io",
            Self::Pool(_) => "mmap_error_pool",
        }
    }
}

pub type Result<T> = std::result::Result<T, MmError>;
