//! extendr bindings of the R package mmap: conversions only; the work is in `mmapcore`.
#![deny(unsafe_op_in_unsafe_fn)]
#![warn(clippy::undocumented_unsafe_blocks, clippy::missing_safety_doc)]

use extendr_api::prelude::*;

mod altrep;
mod conv;
mod exm;
mod handle;
mod vec;
mod ops;
mod rec;
mod pool;

extendr_module! {
    mod mmap;
    use vec;
    use altrep;
    use exm;
    use ops;
    use rec;
    use pool;
}
