//! One view over every layout: a mapping's bytes as the elements its
//! [`Layout`] describes. Extraction, replacement, comparison and element counts
//! for scalar, bits, char, cstring and struct mappings all go through
//! [`LayoutView`], so a new layout is a compile error here and nowhere else.

use crate::bits;
use crate::codec::{self, Geometry, InBuf, OutBuf, ReplaceReport};
use crate::ctype::Ctype;
use crate::compare::{self, Hits, Op, Scalar};
use crate::ctype::RKind;
use crate::error::{MmError, Result};
use crate::index::{self, IndexArg, Selection};
use crate::layout::{Layout, Record};
use crate::map::Mapping;
use crate::record::FieldValue;
use crate::strings::{self, CIndex};

/// A mapping seen through its layout. A cstring mapping needs its offset table.
pub struct LayoutView<'a> {
    map: &'a Mapping,
    layout: &'a Layout,
    cindex: Option<&'a CIndex>,
}

/// What an extracted element becomes in R.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Output {
    /// An atomic vector of this kind (scalars, bits).
    Vector(RKind),
    /// A character vector (char, cstring).
    Strings,
    /// One column per selected field (struct).
    Columns,
}

/// The values of `m[i] <- value`, as the bindings read them for [`Output`].
pub enum Values<'v> {
    Numbers(InBuf<'v>),
    Strings(Vec<Option<&'v [u8]>>),
    /// One value vector per field position (struct).
    Columns(Vec<(usize, FieldValue<'v>)>),
}

impl Values<'_> {
    /// How many values there are to recycle over the selection.
    fn counts(&self) -> Vec<usize> {
        match self {
            Values::Numbers(v) => vec![v.len()],
            Values::Strings(v) => vec![v.len()],
            Values::Columns(c) => c.iter().map(|(_, v)| v.len()).collect(),
        }
    }
}

fn read_only() -> MmError {
    MmError::Type(
        "a cstring mapping is read-only: its strings have no fixed slots to write to; \
         convert it with make.fixedwidth() and map it as char(n) to modify strings"
            .into(),
    )
}

fn internal(what: &str) -> MmError {
    MmError::Internal(what.into())
}

impl<'a> LayoutView<'a> {
    pub fn new(map: &'a Mapping, layout: &'a Layout, cindex: Option<&'a CIndex>) -> Result<Self> {
        match layout {
            Layout::CString if cindex.is_none() => Err(internal("a cstring view needs its index")),
            Layout::Scalar(_) | Layout::Bits(_) | Layout::Char(_) | Layout::CString | Layout::Struct(_) => {
                Ok(LayoutView { map, layout, cindex })
            }
        }
    }

    pub fn layout(&self) -> &Layout {
        self.layout
    }

    /// The cstring offset table (present for cstring mappings, by construction).
    fn cindex(&self) -> Result<&'a CIndex> {
        self.cindex.ok_or_else(|| internal("a cstring view needs its index"))
    }

    /// Element count (records for a struct, bits for bits).
    pub fn len(&self) -> Result<u64> {
        Ok(self.counts()?.0)
    }

    pub fn is_empty(&self) -> Result<bool> {
        Ok(self.len()? == 0)
    }

    /// Element count and trailing bytes that hold no whole element.
    pub fn counts(&self) -> Result<(u64, usize)> {
        match self.layout {
            Layout::CString => {
                let c = self.cindex()?;
                Ok((c.len(), c.trailing))
            }
            Layout::Scalar(_) | Layout::Bits(_) | Layout::Char(_) | Layout::Struct(_) => Ok(self.layout.length(self.map.len())),
        }
    }

    pub fn output(&self) -> Output {
        match self.layout {
            Layout::Scalar(d) => Output::Vector(d.info().rkind),
            Layout::Bits(_) => Output::Vector(RKind::Logical),
            Layout::Char(_) | Layout::CString => Output::Strings,
            Layout::Struct(_) => Output::Columns,
        }
    }

    pub fn select(&self, i: IndexArg<'_>) -> Result<Selection> {
        index::resolve(i, self.len()?)
    }

    pub fn select_assign(&self, i: IndexArg<'_>, values: &Values<'_>) -> Result<Selection> {
        match values.counts().as_slice() {
            [n] => index::resolve_assign(i, self.len()?, *n),
            lens => index::resolve_assign_columns(i, self.len()?, lens),
        }
    }

    /// `m[i, j]` of a mapping with dims; the selection and the result's dims.
    pub fn select_matrix(&self, i: IndexArg<'_>, j: IndexArg<'_>, nrow: u64, ncol: u64) -> Result<(Selection, u64, u64)> {
        check_dim(nrow, ncol, self.len()?)?;
        index::resolve_matrix(i, j, nrow, ncol)
    }

    pub fn select_matrix_assign(&self, i: IndexArg<'_>, j: IndexArg<'_>, nrow: u64, ncol: u64, values: &Values<'_>) -> Result<Selection> {
        check_dim(nrow, ncol, self.len()?)?;
        let n = values.counts().first().copied().unwrap_or(0);
        index::resolve_matrix_assign(i, j, nrow, ncol, n)
    }

    /// The whole elements of a scalar mapping (without trailing bytes).
    fn elements(&self, d: &Ctype) -> Result<&'a [u8]> {
        let used = self.len()? as usize * d.bytes();
        Ok(&self.map.bytes()?[..used])
    }

    /// The record layout of a struct mapping.
    pub fn record(&self) -> Result<&'a Record> {
        match self.layout {
            Layout::Struct(r) => Ok(r),
            Layout::Scalar(_) | Layout::Bits(_) | Layout::Char(_) | Layout::CString => {
                Err(internal("only struct mappings have fields"))
            }
        }
    }

    /// The fields `j` picks (all of them for a missing `j`).
    pub fn select_fields(&self, j: IndexArg<'_>) -> Result<Vec<usize>> {
        self.record()?.select_fields(j)
    }

    /// Decodes the selected elements of a scalar or bits mapping into `out`.
    pub fn extract(&self, sel: &Selection, out: OutBuf<'_>) -> Result<()> {
        match (self.layout, out) {
            (Layout::Scalar(d), out) => codec::extract(d, self.elements(d)?, sel, out),
            (Layout::Bits(endian), OutBuf::Logical(o)) => {
                bits::extract(*endian, self.map.bytes()?, sel, o);
                Ok(())
            }
            (Layout::Bits(_), _) => Err(internal("bits extract to logical")),
            (Layout::Char(_) | Layout::CString, _) => Err(internal("strings extract with extract_strings")),
            (Layout::Struct(_), _) => Err(internal("records extract one field at a time")),
        }
    }

    /// Calls `set(k, text)` for the selected elements of a char or cstring mapping.
    pub fn extract_strings(&self, sel: &Selection, set: impl FnMut(usize, Option<&'a [u8]>)) -> Result<()> {
        match self.layout {
            Layout::Char(c) => {
                strings::extract_char(c, Geometry::dense(c.bytes()), self.map.bytes()?, sel, set);
                Ok(())
            }
            Layout::CString => self.cindex()?.extract(self.map.bytes()?, sel, set),
            Layout::Scalar(_) | Layout::Bits(_) | Layout::Struct(_) => Err(internal("only strings extract as text")),
        }
    }

    /// Decodes the selected records of the numeric fields `fields`, one output each.
    pub fn extract_fields(&self, fields: &[usize], sel: &Selection, outs: Vec<OutBuf<'_>>) -> Result<()> {
        self.record()?.extract_fields(fields, self.map.bytes()?, sel, outs)
    }

    /// Calls `set(k, text)` for the selected records of the char field `field`.
    pub fn extract_field_strings(&self, field: usize, sel: &Selection, set: impl FnMut(usize, Option<&'a [u8]>)) -> Result<()> {
        self.record()?.extract_char_field(field, self.map.bytes()?, sel, set)
    }

    /// An error for layouts that cannot be written (cstring), before any
    /// value is read.
    pub fn check_writable(&self) -> Result<()> {
        match self.layout {
            Layout::CString => Err(read_only()),
            Layout::Scalar(_) | Layout::Bits(_) | Layout::Char(_) | Layout::Struct(_) => Ok(()),
        }
    }

    /// Writes `values` (recycled) to the selected elements; nothing is written
    /// unless every value fits.
    pub fn replace(&self, sel: &Selection, values: Values<'_>) -> Result<ReplaceReport> {
        let wrong = |what: &str| MmError::Type(format!("a {} mapping takes {what}", self.layout.name()));
        match (self.layout, values) {
            (Layout::Scalar(_), Values::Numbers(_)) if sel.is_empty() => Ok(ReplaceReport::default()),
            (Layout::Scalar(d), Values::Numbers(v)) => {
                let used = self.len()? as usize * d.bytes();
                codec::replace(d, &mut self.map.bytes_mut()?[..used], sel, v)
            }
            (Layout::Bits(endian), Values::Numbers(v)) => bits::replace(*endian, self.map.bytes_mut()?, sel, v),
            (Layout::Char(c), Values::Strings(v)) => {
                let used = self.len()? as usize * c.bytes();
                strings::replace_char(c, Geometry::dense(c.bytes()), &mut self.map.bytes_mut()?[..used], sel, &v)
            }
            (Layout::Struct(r), Values::Columns(columns)) => r.replace(self.map.bytes_mut()?, sel, &columns),
            (Layout::CString, Values::Numbers(_) | Values::Strings(_) | Values::Columns(_)) => Err(read_only()),
            (Layout::Scalar(_) | Layout::Bits(_), Values::Strings(_) | Values::Columns(_)) => Err(wrong("numbers")),
            (Layout::Char(_), Values::Numbers(_) | Values::Columns(_)) => Err(wrong("character values")),
            (Layout::Struct(_), Values::Numbers(_) | Values::Strings(_)) => Err(wrong("one column per field")),
        }
    }

    /// The positions of the elements with `element <op> value`.
    pub fn compare(&self, op: Op, value: &Scalar) -> Result<Hits> {
        match self.layout {
            Layout::Scalar(d) => compare::compare(d, self.elements(d)?, op, value),
            Layout::Char(c) => compare::compare_char(c, self.map.bytes()?, op, value),
            Layout::CString => compare::compare_cstring(self.cindex()?, self.map.bytes()?, op, value),
            Layout::Bits(endian) => compare::compare_bits(*endian, self.map.bytes()?, self.len()?, op, value),
            Layout::Struct(_) => Err(MmError::Op(format!(
                "cannot compare a struct mapping as a whole with `{}`: compare one of its fields instead.",
                op.symbol()
            ))),
        }
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ctype::Endian;
    use crate::layout::CharType;
    use crate::map::MapOptions;
    use std::io::Write;

    fn mapping(bytes: &[u8]) -> (tempfile_path::Guard, Mapping) {
        let g = tempfile_path::Guard::new(bytes);
        let m = Mapping::open(&g.0, &MapOptions::default()).unwrap();
        (g, m)
    }

    mod tempfile_path {
        pub struct Guard(pub std::path::PathBuf);
        impl Guard {
            pub fn new(bytes: &[u8]) -> Guard {
                use std::sync::atomic::{AtomicU64, Ordering};
                static N: AtomicU64 = AtomicU64::new(0);
                let p = std::env::temp_dir().join(format!("mm-view-{}-{}", std::process::id(), N.fetch_add(1, Ordering::Relaxed)));
                let mut f = std::fs::File::create(&p).unwrap();
                super::Write::write_all(&mut f, bytes).unwrap();
                Guard(p)
            }
        }
        impl Drop for Guard {
            fn drop(&mut self) {
                let _ = std::fs::remove_file(&self.0);
            }
        }
    }

    #[test]
    fn every_layout_counts_extracts_and_compares() {
        let (_g, m) = mapping(b"ab\0cd\0ef\0x");
        let char3 = Layout::Char(CharType::new(2, true, None).unwrap());
        let v = LayoutView::new(&m, &char3, None).unwrap();
        assert_eq!(v.counts().unwrap(), (3, 1));
        assert_eq!(v.output(), Output::Strings);
        let mut got = Vec::new();
        v.extract_strings(&v.select(IndexArg::Missing).unwrap(), |_, t| got.push(t.map(<[u8]>::to_vec))).unwrap();
        assert_eq!(got, vec![Some(b"ab".to_vec()), Some(b"cd".to_vec()), Some(b"ef".to_vec())]);
        let hits = v.compare(Op::parse("==").unwrap(), &Scalar::Str(b"cd".to_vec())).unwrap();
        assert_eq!(hits.len(), 1);

        assert!(LayoutView::new(&m, &Layout::CString, None).is_err());
        let ix = CIndex::build(m.bytes().unwrap());
        let v = LayoutView::new(&m, &Layout::CString, Some(&ix)).unwrap();
        assert_eq!(v.counts().unwrap(), (3, 1)); // "x" has no nul: trailing
        let sel = v.select_assign(IndexArg::Missing, &Values::Strings(vec![None])).unwrap();
        assert!(v.replace(&sel, Values::Strings(vec![None])).unwrap_err().to_string().contains("read-only"));

        let bits = Layout::Bits(Endian::Little);
        let v = LayoutView::new(&m, &bits, None).unwrap();
        assert_eq!(v.counts().unwrap(), (64, 2));
        assert_eq!(v.output(), Output::Vector(RKind::Logical));
        let mut out = vec![0i32; 64];
        v.extract(&v.select(IndexArg::Missing).unwrap(), OutBuf::Logical(&mut out)).unwrap();
        assert_eq!(out[0..8], [1, 0, 0, 0, 0, 1, 1, 0]); // b'a' = 0x61

        let int16 = Layout::Scalar(Ctype::new(crate::Kind::Int16, Endian::Little, None).unwrap());
        let v = LayoutView::new(&m, &int16, None).unwrap();
        assert_eq!(v.counts().unwrap(), (5, 0));
        assert_eq!(v.output(), Output::Vector(RKind::Integer));
        assert!(v.replace(&Selection::Range { start: 0, len: 1 }, Values::Strings(vec![None])).is_err());
        assert!(v.record().is_err());
    }
}
