//! The `bits` layout: each bit a logical 0 or 1, 32 to a word.

use super::dispatch::PARALLEL_MIN_BYTES;
use super::hits::{Hits, Part, PART_MAX};
use super::op::{Op, Scalar};
use super::predicate::int_set;
use super::scan::threads_for;
use crate::ctype::Endian;
use crate::error::{MmError, Result};

/// A `bits` mapping of `n` elements (bit k of word k / 32, words in `endian`
/// order) against a value, the bits being the logicals 0 and 1: `== TRUE`,
/// `!= 0`, `< 1`, `>= 0.5` and so on, exactly as for the other logical types.
/// Bits have no NA; an NA value matches nothing. Strings are an error.
pub fn compare_bits(endian: Endian, bytes: &[u8], n: u64, op: Op, value: &Scalar) -> Result<Hits> {
    compare_bits_with(endian, bytes, n, op, value, PARALLEL_MIN_BYTES)
}

pub(super) fn compare_bits_with(endian: Endian, bytes: &[u8], n: u64, op: Op, value: &Scalar, min_parallel: usize) -> Result<Hits> {
    let words = n.div_ceil(32) as usize;
    if words * 4 > bytes.len() {
        return Err(MmError::Internal(format!("{n} bits need {} bytes, the mapping has {}", words * 4, bytes.len())));
    }
    let set = match int_set(op, value) {
        Some(set) => set.and_then(|s| s.clamp(0, 1)),
        None => {
            return Err(MmError::Type(format!(
                "cannot compare a bits mapping with {} using `{}`: compare it with TRUE, FALSE, 0 or 1",
                value.describe(),
                op.symbol()
            )))
        }
    };
    let Some(set) = set else { return Ok(Hits::default()) };
    let want = match (set.contains(0), set.contains(1)) {
        (false, false) => return Ok(Hits::default()),
        (true, true) => None,
        (false, true) => Some(true),
        (true, false) => Some(false),
    };
    let bytes = &bytes[..words * 4];
    let threads = threads_for(bytes.len(), min_parallel);
    // Whole words per thread, so no two threads share a word.
    let per = words.div_ceil(threads).max(1);
    let chunk = |w0: usize| bit_parts(endian, bytes, w0, (w0 + per).min(words), n, want);
    if threads == 1 || words < 2 {
        return Ok(Hits { parts: chunk(0) });
    }
    let parts = std::thread::scope(|scope| {
        let chunk = &chunk;
        let jobs: Vec<_> = (0..words)
            .step_by(per)
            .map(|w0| {
                std::thread::Builder::new()
                    .name("mmap-compare".into())
                    .spawn_scoped(scope, move || chunk(w0))
                    .map_err(|_| w0)
            })
            .collect();
        jobs.into_iter()
            .flat_map(|job| match job {
                Ok(handle) => handle.join().unwrap_or_else(|panic| std::panic::resume_unwind(panic)),
                Err(w0) => chunk(w0),
            })
            .collect()
    });
    Ok(Hits { parts })
}

/// The positions among words `w0..w1` whose bit is `want` (every position
/// below `n` for `None`), as parts of at most `PART_MAX` positions.
fn bit_parts(endian: Endian, bytes: &[u8], w0: usize, w1: usize, n: u64, want: Option<bool>) -> Vec<Part> {
    const WORDS_PER_PART: usize = PART_MAX / 32;
    let mut parts = Vec::new();
    let mut start = w0;
    while start < w1 {
        let stop = w1.min(start + WORDS_PER_PART);
        let base = start as u64 * 32;
        let mut offsets = Vec::new();
        for w in start..stop {
            let b = [bytes[w * 4], bytes[w * 4 + 1], bytes[w * 4 + 2], bytes[w * 4 + 3]];
            let word = match endian {
                Endian::Little => u32::from_le_bytes(b),
                Endian::Big => u32::from_be_bytes(b),
            };
            let mut v = match want {
                Some(true) => word,
                Some(false) => !word,
                None => u32::MAX,
            };
            // Bits past the last element are not elements.
            let first = w as u64 * 32;
            if first + 32 > n {
                v &= (1u32 << (n - first)) - 1;
            }
            let at = (first - base) as u32;
            while v != 0 {
                offsets.push(at + v.trailing_zeros());
                v &= v - 1;
            }
        }
        parts.push(Part { base, offsets });
        start = stop;
    }
    parts
}
