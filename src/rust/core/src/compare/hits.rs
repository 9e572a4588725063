//! The answer of a comparison: ascending positions, in parts of 32-bit offsets.

use crate::error::{MmError, Result};

/// Elements per `Part`, so that offsets fit in 32 bits.
pub(super) const PART_MAX: usize = 1 << 31;

/// A run of hits: positions `base + offset`.
#[derive(Clone, Debug, Default, PartialEq)]
pub(super) struct Part {
    pub(super) base: u64,
    pub(super) offsets: Vec<u32>,
}

/// Ascending 0-based positions of the matching elements. Stored as 32-bit
/// offsets per chunk, so a mapping where everything matches costs 4 bytes per
/// hit before R's result vector is filled.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Hits {
    pub(super) parts: Vec<Part>,
}

impl Hits {
    pub fn len(&self) -> u64 {
        self.parts.iter().map(|p| p.offsets.len() as u64).sum()
    }

    pub fn is_empty(&self) -> bool {
        self.parts.iter().all(|p| p.offsets.is_empty())
    }

    /// The largest position, if any.
    pub fn last(&self) -> Option<u64> {
        self.parts.iter().rev().find_map(|p| p.offsets.last().map(|&o| p.base + o as u64))
    }

    /// The positions, in ascending order.
    pub fn iter(&self) -> impl Iterator<Item = u64> + '_ {
        self.parts.iter().flat_map(|p| p.offsets.iter().map(move |&o| p.base + o as u64))
    }

    pub fn to_vec(&self) -> Vec<u64> {
        self.iter().collect()
    }

    /// Writes the 1-based positions into an R integer vector of `len()` elements.
    /// The caller has checked that `last() < i32::MAX`.
    pub fn fill_one_based_i32(&self, out: &mut [i32]) -> Result<()> {
        self.check_out(out.len())?;
        if self.last().is_some_and(|p| p >= i32::MAX as u64) {
            return Err(MmError::Internal("positions past 2^31-1 need a double vector".into()));
        }
        for (o, p) in out.iter_mut().zip(self.iter()) {
            *o = (p + 1) as i32;
        }
        Ok(())
    }

    /// Writes the 1-based positions into an R double vector of `len()` elements.
    pub fn fill_one_based_f64(&self, out: &mut [f64]) -> Result<()> {
        self.check_out(out.len())?;
        for (o, p) in out.iter_mut().zip(self.iter()) {
            *o = (p + 1) as f64;
        }
        Ok(())
    }

    /// Hits from ascending 0-based positions.
    pub fn from_positions(positions: &[u64]) -> Hits {
        let mut parts: Vec<Part> = Vec::new();
        for &p in positions {
            let base = p - p % PART_MAX as u64;
            match parts.last_mut() {
                Some(part) if part.base == base => part.offsets.push((p - base) as u32),
                _ => parts.push(Part { base, offsets: vec![(p - base) as u32] }),
            }
        }
        Hits { parts }
    }

    fn check_out(&self, n: usize) -> Result<()> {
        if n as u64 != self.len() {
            return Err(MmError::Internal("output length differs from the number of hits".into()));
        }
        Ok(())
    }
}
