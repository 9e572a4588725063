//! `which()`-style comparison of a mapping against one value: `m < 100`.
//!
//! The answer is the ascending 0-based positions of the elements for which
//! `element <op> value` holds, exactly as R would decide it on the extracted
//! vector, but without extracting anything:
//!
//! * full precision: an integer type against a fractional value compares with
//!   the value itself (`m < 10.5` includes 10), an int64 against a double or an
//!   integer64 exactly, a double against an integer64 exactly;
//! * each type is read as what it is: signed types signed, in the mapping's
//!   byte order, logical types as 0/1;
//! * NA never matches: neither an NA element (builtin NA, a sentinel, any NaN)
//!   nor anything at all when the value is NA or NaN;
//! * complex values support only `==` and `!=`.
//!
//! The value is first turned into a predicate in the storage's own domain (an
//! integer interval for integer types, a float threshold for float types), so
//! the hot loop never converts elements. Each type and byte order gets its own
//! monomorphised loop over the mapped bytes; large mappings are split across
//! threads (pure Rust, `std::thread::scope`) and the per-chunk answers are
//! concatenated in order.
//!
//! Files: `op` (operators, the value), `dispatch` (scalar types: the codec of
//! each type picks its kernel, decoding through its `Stored` representation), `predicate`
//! (the value in the storage's domain), `scan` (the kernels), `hits` (the
//! answer), `text` (`char(n)`, `cstring`) and `bits`; `tests` checks them all
//! against an oracle.

mod bits;
mod dispatch;
mod hits;
mod op;
mod predicate;
mod scan;
mod text;
#[cfg(test)]
mod tests;

pub use bits::compare_bits;
pub use dispatch::{compare, Comparison};
pub use scan::StoredInt;
pub use hits::Hits;
pub use op::{Op, Scalar};
pub use text::{compare_char, compare_cstring};
