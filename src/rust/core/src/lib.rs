//! The pure-Rust core of the R package `mmap`: the type table, codecs, index
//! resolution and file mappings. Nothing here knows about R's API; the extendr
//! crate hands in slices of R's memory and gets plain results back.
#![deny(unsafe_op_in_unsafe_fn)]
#![warn(clippy::undocumented_unsafe_blocks, clippy::missing_safety_doc)]

pub mod codec;
pub mod compare;
pub mod ctype;
pub mod error;
pub mod index;

pub use ctype::{Ctype, Endian, Kind, RKind};
pub use error::{MmError, Result};
pub mod map;
pub mod layout;
pub mod spec;
pub mod strings;
pub mod bits;
pub mod record;
pub mod csv;
pub mod column;
pub mod view;
pub mod summary;
pub mod pool;
#[cfg_attr(unix, path = "os/unix.rs")]
mod os;
