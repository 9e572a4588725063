//! The spilling object pool: the books (which object is where, LRU order, what
//! to spill), the file format of spilled objects with its checksums and
//! durable writes, and the sweep of files left by dead processes.
//!
//! R holds the objects themselves; everything that decides or touches a file
//! is here.

pub mod format;
pub mod store;
pub mod sweep;
mod sys;

pub use format::{Entry, PendingFile, Section, SectionKind, Shape};
pub use store::{Admission, Stats, Store, Where};
pub use sweep::OwnerDir;
pub use sys::physical_memory;

/// The default budget: a quarter of physical memory (1 GiB if unknown).
pub fn default_budget() -> u64 {
    physical_memory().map_or(1 << 30, |m| m / 4)
}

/// Objects whose payload is below this are checksummed on every read; larger
/// ones only by an explicit verification, so a read stays a mapping.
pub const VERIFY_ON_READ_BELOW: u64 = 64 << 20;
