//! A typed vector over a mapping: element count, selection, extraction, replacement.

use crate::codec::{self, InBuf, OutBuf, ReplaceReport};
use crate::dtype::DType;
use crate::error::{MmError, Result};
use crate::index::{self, IndexArg, Selection};
use crate::map::Mapping;

pub struct View<'a> {
    pub map: &'a Mapping,
    pub dtype: &'a DType,
}

impl<'a> View<'a> {
    pub fn new(map: &'a Mapping, dtype: &'a DType) -> Self {
        View { map, dtype }
    }

    /// Whole elements in the mapping.
    pub fn len(&self) -> u64 {
        (self.map.len() / self.dtype.bytes()) as u64
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Bytes at the end that do not make a whole element.
    pub fn trailing_bytes(&self) -> usize {
        self.map.len() % self.dtype.bytes()
    }

    pub fn select(&self, i: IndexArg<'_>) -> Result<Selection> {
        index::resolve(i, self.len())
    }

    /// Resolves `m[i, j]` for a matrix view of `nrow` × `ncol`.
    pub fn select_matrix(&self, i: IndexArg<'_>, j: IndexArg<'_>, nrow: u64, ncol: u64) -> Result<(Selection, u64, u64)> {
        check_dim(nrow, ncol, self.len())?;
        index::resolve_matrix(i, j, nrow, ncol)
    }

    /// The elements `m[i] <- value` writes, with `values` replacement values.
    pub fn select_assign(&self, i: IndexArg<'_>, values: usize) -> Result<Selection> {
        index::resolve_assign(i, self.len(), values)
    }

    /// The cells `m[i, j] <- value` writes, with `values` replacement values.
    pub fn select_matrix_assign(&self, i: IndexArg<'_>, j: IndexArg<'_>, nrow: u64, ncol: u64, values: usize) -> Result<Selection> {
        check_dim(nrow, ncol, self.len())?;
        index::resolve_matrix_assign(i, j, nrow, ncol, values)
    }

    fn element_bytes(&self, bytes: &'a [u8]) -> &'a [u8] {
        &bytes[..self.len() as usize * self.dtype.bytes()]
    }

    pub fn extract(&self, sel: &Selection, out: OutBuf<'_>) -> Result<()> {
        let bytes = self.element_bytes(self.map.bytes()?);
        codec::extract(self.dtype, bytes, sel, out)
    }

    pub fn replace(&self, sel: &Selection, value: InBuf<'_>) -> Result<ReplaceReport> {
        if sel.is_empty() {
            return Ok(ReplaceReport::default());
        }
        let all = self.map.bytes_mut()?;
        let used = self.len() as usize * self.dtype.bytes();
        codec::replace(self.dtype, &mut all[..used], sel, value)
    }
}

/// `dim(m) <- c(nrow, ncol)` must describe exactly the mapping's elements.
pub fn check_dim(nrow: u64, ncol: u64, len: u64) -> Result<()> {
    if nrow.checked_mul(ncol) != Some(len) {
        return Err(MmError::Layout(format!(
            "dims [product {}] do not match the length of the mapping ({len})",
            nrow as u128 * ncol as u128
        )));
    }
    Ok(())
}

/// Streaming statistics over a whole mapping.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Summary {
    pub count: u64,
    pub na: u64,
    pub min: f64,
    pub max: f64,
    pub sum: f64,
    /// Neumaier's compensation for `sum` (never plain left-to-right doubles).
    pub compensation: f64,
}

impl Summary {
    fn new() -> Self {
        Summary { count: 0, na: 0, min: f64::INFINITY, max: f64::NEG_INFINITY, sum: 0.0, compensation: 0.0 }
    }

    fn add(&mut self, v: Option<f64>) {
        match v {
            None => self.na += 1,
            Some(x) => {
                self.count += 1;
                self.min = self.min.min(x);
                self.max = self.max.max(x);
                let t = self.sum + x;
                if t.is_finite() {
                    self.compensation += if self.sum.abs() >= x.abs() { (self.sum - t) + x } else { (x - t) + self.sum };
                }
                self.sum = t;
            }
        }
    }

    pub fn mean(&self) -> f64 {
        if self.count == 0 { f64::NAN } else { (self.sum + self.compensation) / self.count as f64 }
    }
}

const SUMMARY_CHUNK: u64 = 1 << 16;

impl View<'_> {
    /// Min, max, sum and NA count, decoding a chunk at a time.
    pub fn summarise(&self) -> Result<Summary> {
        use crate::codec::{is_r_na, NA_INT};
        use crate::dtype::RKind;
        let mut s = Summary::new();
        let n = self.len();
        let mut start = 0;
        while start < n {
            let len = SUMMARY_CHUNK.min(n - start);
            let sel = Selection::Range { start, len };
            match self.dtype.info().rkind {
                RKind::Raw => {
                    let mut buf = vec![0u8; len as usize];
                    self.extract(&sel, OutBuf::Raw(&mut buf))?;
                    buf.iter().for_each(|&b| s.add(Some(b as f64)));
                }
                RKind::Integer | RKind::Logical => {
                    let mut buf = vec![0i32; len as usize];
                    let out = if self.dtype.info().rkind == RKind::Integer {
                        OutBuf::Integer(&mut buf)
                    } else {
                        OutBuf::Logical(&mut buf)
                    };
                    self.extract(&sel, out)?;
                    buf.iter().for_each(|&v| s.add((v != NA_INT).then_some(v as f64)));
                }
                RKind::Double => {
                    let mut buf = vec![0f64; len as usize];
                    self.extract(&sel, OutBuf::Double(&mut buf))?;
                    buf.iter().for_each(|&v| s.add((!is_r_na(v)).then_some(v)));
                }
                RKind::Integer64 => {
                    let mut buf = vec![0i64; len as usize];
                    self.extract(&sel, OutBuf::Int64(&mut buf))?;
                    buf.iter().for_each(|&v| s.add((v != i64::MIN).then_some(v as f64)));
                }
                RKind::Complex => {
                    return Err(MmError::Type("summary() is not defined for complex mappings".into()))
                }
            }
            start += len;
        }
        Ok(s)
    }
}

impl View<'_> {
    /// The mapped bytes, when they already are R's representation of the
    /// elements (native byte order, same width, suitably aligned): a zero-copy
    /// view may hand this address to R. `None` means values must be decoded.
    pub fn zero_copy_ptr(&self) -> Option<*const u8> {
        use crate::dtype::RKind;
        if self.is_empty() || !codec::is_verbatim(self.dtype) {
            return None;
        }
        let bytes = self.map.bytes().ok()?;
        let align = match self.dtype.info().rkind {
            RKind::Raw => 1,
            RKind::Integer | RKind::Logical => 4,
            RKind::Double | RKind::Integer64 | RKind::Complex => 8,
        };
        (bytes.as_ptr() as usize).is_multiple_of(align).then_some(bytes.as_ptr())
    }
}
