//! A column: a run of elements of one layout inside a mapping, as a view (or a
//! summary) reads it. Scalar types, bits, `char(n)`, cstring and one field of
//! a struct are all columns; `start`/`len` select a window of them, which is how
//! a chunk of a larger mapping is viewed without copying.
//!
//! Positions handed to a column are relative to its window; the column adds
//! `start` before touching the bytes.
//!
//! A column is what ALTREP views and summaries read; `m[i]`, `m[i] <- v` and
//! comparisons go through [`crate::view::LayoutView`], which sees the whole
//! mapping (records and all). Both decode scalars through the type's codec
//! (`codec::extract_at`), so neither knows any type by name.

use std::sync::Arc;

use crate::codec::{self, Geometry, OutBuf, NA_INT};
use crate::ctype::{Ctype, Endian, RKind};
use crate::error::{MmError, Result};
use crate::index::{Selection, NA_POS};
use crate::layout::{CharType, FieldType, Layout, Record};
use crate::strings::{self, CIndex};

/// What one element is decoded from.
#[derive(Clone, Debug)]
pub enum Element {
    /// A scalar type at `geometry` (dense for a plain vector, strided for a struct field).
    Scalar(Ctype, Geometry),
    Bits(Endian),
    Char(CharType, Geometry),
    CString(Arc<CIndex>),
}

#[derive(Clone, Debug)]
pub struct Column {
    pub element: Element,
    /// First element of the window, in elements of the whole mapping.
    pub start: u64,
    pub len: u64,
}

/// Decoded elements in R's representation (logicals are `Int`).
pub enum Block<'a> {
    Int(&'a [i32]),
    Dbl(&'a [f64]),
    Cplx(&'a [[f64; 2]]),
    Raw(&'a [u8]),
    I64(&'a [i64]),
}

/// Reusable decode buffers, one per thread.
#[derive(Default)]
pub struct Scratch {
    int: Vec<i32>,
    dbl: Vec<f64>,
    cplx: Vec<[f64; 2]>,
    raw: Vec<u8>,
    i64: Vec<i64>,
}

fn grow<T: Copy + Default>(v: &mut Vec<T>, n: usize) -> &mut [T] {
    if v.len() < n {
        v.resize(n, T::default());
    }
    &mut v[..n]
}

impl Column {
    /// The whole of a mapping of `bytes` bytes laid out as `layout` (a struct
    /// has no single column: see [`Column::field`]). A cstring needs its index.
    pub fn whole(layout: &Layout, bytes: usize, cindex: Option<Arc<CIndex>>) -> Result<Column> {
        let (element, len) = match layout {
            Layout::Scalar(d) => (Element::Scalar(d.clone(), Geometry::dense(d.bytes())), (bytes / d.bytes()) as u64),
            Layout::Bits(e) => (Element::Bits(*e), layout.length(bytes).0),
            Layout::Char(c) => (Element::Char(c.clone(), Geometry::dense(c.bytes())), (bytes / c.bytes()) as u64),
            Layout::CString => {
                let ix = cindex.ok_or_else(|| MmError::Internal("a cstring column needs its index".into()))?;
                let n = ix.len();
                (Element::CString(ix), n)
            }
            Layout::Struct(_) => return Err(MmError::Internal("a struct is viewed one field at a time".into())),
        };
        Ok(Column { element, start: 0, len })
    }

    /// Field `field` of every record of a struct mapping of `bytes` bytes.
    pub fn field(record: &Record, field: usize, bytes: usize) -> Result<Column> {
        let f = record
            .fields
            .get(field)
            .ok_or_else(|| MmError::Internal(format!("the struct has no field {}", field + 1)))?;
        let g = Geometry { size: f.ftype.bytes(), stride: record.bytes, offset: f.offset };
        let element = match &f.ftype {
            FieldType::Scalar(d) => Element::Scalar(d.clone(), g),
            FieldType::Char(c) => Element::Char(c.clone(), g),
        };
        Ok(Column { element, start: 0, len: record.count(bytes) })
    }

    /// Elements `from .. from + len` of this column (relative positions).
    pub fn window(&self, from: u64, len: u64) -> Result<Column> {
        if from.checked_add(len).is_none_or(|end| end > self.len) {
            return Err(MmError::Bounds { index: (from + len) as f64, len: self.len });
        }
        Ok(Column { element: self.element.clone(), start: self.start + from, len })
    }

    /// The R vector type of an element; `None` for strings.
    pub fn rkind(&self) -> Option<RKind> {
        match &self.element {
            Element::Scalar(d, _) => Some(d.info().rkind),
            Element::Bits(_) => Some(RKind::Logical),
            Element::Char(..) | Element::CString(_) => None,
        }
    }

    /// The bytes of the window, when they already are R's representation
    /// (native byte order, densely packed, aligned): R may read them in place.
    pub fn verbatim<'a>(&self, bytes: &'a [u8]) -> Option<&'a [u8]> {
        let Element::Scalar(d, g) = &self.element else { return None };
        if self.len == 0 || !codec::is_verbatim(d) || g.stride != g.size || g.offset != 0 {
            return None;
        }
        let size = d.bytes();
        let from = usize::try_from(self.start).ok()?.checked_mul(size)?;
        let to = from.checked_add(usize::try_from(self.len).ok()?.checked_mul(size)?)?;
        let run = bytes.get(from..to)?;
        let align = match d.info().rkind {
            RKind::Raw => 1,
            RKind::Integer | RKind::Logical => 4,
            RKind::Double | RKind::Integer64 | RKind::Complex => 8,
        };
        (run.as_ptr() as usize).is_multiple_of(align).then_some(run)
    }

    fn absolute(&self, sel: &Selection) -> Selection {
        match sel {
            Selection::Range { start, len } => Selection::Range { start: self.start + start, len: *len },
            Selection::Positions(p) => {
                Selection::Positions(p.iter().map(|&k| if k == NA_POS { NA_POS } else { k + self.start }).collect())
            }
        }
    }

    fn check(&self, sel: &Selection) -> Result<()> {
        let past = match sel {
            Selection::Range { start, len } => start.checked_add(*len).is_none_or(|end| end > self.len),
            Selection::Positions(p) => p.iter().any(|&k| k != NA_POS && k >= self.len),
        };
        if past {
            return Err(MmError::Internal("a view position is past its end".into()));
        }
        Ok(())
    }

    /// Decodes the (relative) selection into `out`, which must match `rkind()`.
    pub fn extract(&self, bytes: &[u8], sel: &Selection, out: OutBuf<'_>) -> Result<()> {
        self.check(sel)?;
        let abs = self.absolute(sel);
        match (&self.element, out) {
            (Element::Scalar(d, g), out) => codec::extract_at(d, *g, bytes, &abs, out),
            (Element::Bits(e), OutBuf::Logical(o)) => {
                crate::bits::extract(*e, bytes, &abs, o);
                Ok(())
            }
            (Element::Bits(_), _) => Err(MmError::Internal("bits decode to logical".into())),
            (Element::Char(..) | Element::CString(_), _) => {
                Err(MmError::Internal("strings decode to character".into()))
            }
        }
    }

    /// Calls `f(k, text)` for the k-th selected string (`None` is NA).
    pub fn strings<'a>(&self, bytes: &'a [u8], sel: &Selection, f: impl FnMut(usize, Option<&'a [u8]>)) -> Result<()> {
        self.check(sel)?;
        let abs = self.absolute(sel);
        match &self.element {
            Element::Char(c, g) => {
                strings::extract_char(c, *g, bytes, &abs, f);
                Ok(())
            }
            Element::CString(ix) => ix.extract(bytes, &abs, f),
            Element::Scalar(..) | Element::Bits(_) => Err(MmError::Internal("not a string column".into())),
        }
    }

    /// Elements `from .. from + len` (relative), decoded unless they can be read in place.
    pub fn block<'a>(&self, bytes: &'a [u8], from: u64, len: usize, scratch: &'a mut Scratch) -> Result<Block<'a>> {
        let window = Column { element: self.element.clone(), start: self.start + from, len: len as u64 };
        if let Some(run) = window.verbatim(bytes) {
            let kind = self.rkind().ok_or_else(|| MmError::Internal("strings have no numeric blocks".into()))?;
            return Ok(match kind {
                RKind::Raw => Block::Raw(run),
                RKind::Integer | RKind::Logical => Block::Int(bytemuck::cast_slice(run)),
                RKind::Double => Block::Dbl(bytemuck::cast_slice(run)),
                RKind::Integer64 => Block::I64(bytemuck::cast_slice(run)),
                RKind::Complex => Block::Cplx(bytemuck::cast_slice(run)),
            });
        }
        let sel = Selection::Range { start: from, len: len as u64 };
        let kind = self.rkind().ok_or_else(|| MmError::Internal("strings have no numeric blocks".into()))?;
        Ok(match kind {
            RKind::Raw => {
                self.extract(bytes, &sel, OutBuf::Raw(grow(&mut scratch.raw, len)))?;
                Block::Raw(&scratch.raw[..len])
            }
            RKind::Integer => {
                self.extract(bytes, &sel, OutBuf::Integer(grow(&mut scratch.int, len)))?;
                Block::Int(&scratch.int[..len])
            }
            RKind::Logical => {
                self.extract(bytes, &sel, OutBuf::Logical(grow(&mut scratch.int, len)))?;
                Block::Int(&scratch.int[..len])
            }
            RKind::Double => {
                self.extract(bytes, &sel, OutBuf::Double(grow(&mut scratch.dbl, len)))?;
                Block::Dbl(&scratch.dbl[..len])
            }
            RKind::Integer64 => {
                self.extract(bytes, &sel, OutBuf::Int64(grow(&mut scratch.i64, len)))?;
                Block::I64(&scratch.i64[..len])
            }
            RKind::Complex => {
                self.extract(bytes, &sel, OutBuf::Complex(grow(&mut scratch.cplx, len)))?;
                Block::Cplx(&scratch.cplx[..len])
            }
        })
    }

    /// `x[idx]` for R's already-checked 1-based indices (`NA` or past the end
    /// gives NA, as R's ExtractSubset does). In-place types copy directly.
    pub fn gather(&self, bytes: &[u8], idx: RIndex<'_>, out: OutBuf<'_>) -> Result<()> {
        let n = self.len;
        let pos = |k: usize| -> u64 {
            match idx {
                RIndex::Int(v) => {
                    let i = v[k];
                    if i == NA_INT || i < 1 || i as u64 > n { NA_POS } else { i as u64 - 1 }
                }
                RIndex::Real(v) => {
                    let i = v[k];
                    if i.is_nan() || i < 1.0 || i >= n as f64 + 1.0 { NA_POS } else { i as u64 - 1 }
                }
            }
        };
        if let Some(run) = self.verbatim(bytes) {
            fn copy<T: Copy + bytemuck::Pod>(src: &[T], out: &mut [T], na: T, pos: impl Fn(usize) -> u64) {
                for (k, o) in out.iter_mut().enumerate() {
                    let p = pos(k);
                    *o = if p == NA_POS { na } else { src[p as usize] };
                }
            }
            let na = codec::na_real();
            match out {
                OutBuf::Raw(o) => copy(run, o, 0, pos),
                OutBuf::Integer(o) | OutBuf::Logical(o) => copy(bytemuck::cast_slice(run), o, NA_INT, pos),
                OutBuf::Double(o) => copy(bytemuck::cast_slice(run), o, na, pos),
                // An integer64 lives in a double vector: R's subsetting pads with NA_real_.
                OutBuf::Int64(o) => copy(bytemuck::cast_slice(run), o, codec::NA_REAL_BITS as i64, pos),
                OutBuf::Complex(o) => copy(bytemuck::cast_slice(run), o, [na, na], pos),
            }
            return Ok(());
        }
        let count = idx.len();
        let sel = Selection::Positions((0..count).map(pos).collect());
        let int64 = matches!(out, OutBuf::Int64(_));
        let mut out = out;
        let pad = |out: &mut OutBuf<'_>| {
            if let OutBuf::Int64(o) = out {
                for (k, v) in o.iter_mut().enumerate() {
                    if sel.get(k as u64) == NA_POS {
                        *v = codec::NA_REAL_BITS as i64;
                    }
                }
            }
        };
        let reborrow = match &mut out {
            OutBuf::Raw(o) => OutBuf::Raw(o),
            OutBuf::Logical(o) => OutBuf::Logical(o),
            OutBuf::Integer(o) => OutBuf::Integer(o),
            OutBuf::Double(o) => OutBuf::Double(o),
            OutBuf::Complex(o) => OutBuf::Complex(o),
            OutBuf::Int64(o) => OutBuf::Int64(o),
        };
        self.extract(bytes, &sel, reborrow)?;
        if int64 {
            pad(&mut out);
        }
        Ok(())
    }
}

/// R's index vector after R resolved it (positive, 1-based, maybe NA or past the end).
#[derive(Clone, Copy)]
pub enum RIndex<'a> {
    Int(&'a [i32]),
    Real(&'a [f64]),
}

impl RIndex<'_> {
    pub fn len(&self) -> usize {
        match self {
            RIndex::Int(v) => v.len(),
            RIndex::Real(v) => v.len(),
        }
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn le(name: &str) -> Ctype {
        Ctype::parse(name, "little", None).unwrap()
    }

    #[test]
    fn windows_decode_relative_positions() {
        let bytes: Vec<u8> = (1..=10i16).flat_map(|v| v.to_le_bytes()).collect();
        let col = Column::whole(&Layout::Scalar(le("int16")), bytes.len(), None).unwrap();
        assert_eq!(col.len, 10);
        let w = col.window(3, 4).unwrap();
        let mut out = [0i32; 4];
        w.extract(&bytes, &Selection::Range { start: 0, len: 4 }, OutBuf::Integer(&mut out)).unwrap();
        assert_eq!(out, [4, 5, 6, 7]);
        let mut g = [0i32; 3];
        w.gather(&bytes, RIndex::Real(&[4.0, f64::NAN, 5.0]), OutBuf::Integer(&mut g)).unwrap();
        assert_eq!(g, [7, NA_INT, NA_INT]);
        assert!(col.window(8, 3).is_err());
        let mut s = Scratch::default();
        match w.block(&bytes, 1, 2, &mut s).unwrap() {
            Block::Int(v) => assert_eq!(v, &[5, 6]),
            _ => panic!("int16 decodes to integers"),
        }
    }

    #[test]
    fn verbatim_columns_are_read_in_place() {
        let data: Vec<f64> = (0..8).map(f64::from).collect();
        let bytes: &[u8] = bytemuck::cast_slice(&data);
        let col = Column::whole(&Layout::Scalar(le("real64")), bytes.len(), None).unwrap().window(2, 3).unwrap();
        let run = col.verbatim(bytes).unwrap();
        assert_eq!(run.as_ptr(), bytes[16..].as_ptr());
        let mut g = [0f64; 2];
        col.gather(bytes, RIndex::Int(&[3, 1]), OutBuf::Double(&mut g)).unwrap();
        assert_eq!(g, [4.0, 2.0]);
        let big = Ctype::parse("real64", "big", None).unwrap();
        assert!(Column::whole(&Layout::Scalar(big), bytes.len(), None).unwrap().verbatim(bytes).is_none());
    }

    #[test]
    fn struct_fields_and_strings() {
        use crate::layout::FieldSpec;
        let rec = Record::new(
            vec![
                FieldSpec::Field { name: "a".into(), ftype: FieldType::Scalar(le("int8")), offset: None },
                FieldSpec::Field {
                    name: "s".into(),
                    ftype: FieldType::Char(CharType::new(2, false, None).unwrap()),
                    offset: None,
                },
            ],
            None,
        )
        .unwrap();
        let bytes = [1u8, b'x', b'y', 2, b'z', 0];
        let a = Column::field(&rec, 0, bytes.len()).unwrap();
        let mut out = [0i32; 2];
        a.extract(&bytes, &Selection::Range { start: 0, len: 2 }, OutBuf::Integer(&mut out)).unwrap();
        assert_eq!(out, [1, 2]);
        let s = Column::field(&rec, 1, bytes.len()).unwrap().window(1, 1).unwrap();
        let mut got = Vec::new();
        s.strings(&bytes, &Selection::Range { start: 0, len: 1 }, |_, t| got.push(t.map(<[u8]>::to_vec))).unwrap();
        assert_eq!(got, vec![Some(b"z".to_vec())]);
        let cs = b"ab\0c\0";
        let ix = Arc::new(CIndex::build(cs));
        let col = Column::whole(&Layout::CString, cs.len(), Some(ix)).unwrap();
        assert_eq!(col.len, 2);
        assert_eq!(col.rkind(), None);
    }
}
