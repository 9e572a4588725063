//! Element types beyond the scalar table: bit vectors, fixed-width strings,
//! nul-terminated strings and records (C structs). A `Layout` is what a mapping's
//! `mode` describes; its scalar case is the row of `ctype`'s table.

use crate::ctype::{Ctype, Endian};
use crate::error::{MmError, Result};

/// `char(width, nul)`: `width` bytes of text, then a nul byte if `nul`.
/// Shorter strings are padded with nul bytes; reading stops at the first nul.
#[derive(Clone, Debug, PartialEq)]
pub struct CharType {
    pub width: usize,
    pub nul: bool,
    /// Stored text that reads back as NA (`char(8, na = "NA")`).
    pub na: Option<Vec<u8>>,
}

/// The most bytes one element (a string slot, a record) may take: R counts
/// an element's bytes in an integer.
pub const MAX_ELEMENT_BYTES: u64 = i32::MAX as u64;

/// The error for an element wider than [`MAX_ELEMENT_BYTES`]; `what` names
/// the argument that made it so.
fn too_wide(what: &str, bytes: u64) -> MmError {
    MmError::Type(format!(
        "{what} makes elements of {bytes} bytes; an element can have at most {MAX_ELEMENT_BYTES} bytes"
    ))
}

impl CharType {
    pub fn new(width: usize, nul: bool, na: Option<Vec<u8>>) -> Result<Self> {
        if width == 0 {
            return Err(MmError::Type("`n` (the width of char(n)) must be at least 1".into()));
        }
        let bytes = width as u64 + u64::from(nul);
        if bytes > MAX_ELEMENT_BYTES {
            let with = if nul { "its nul byte" } else { "no nul byte" };
            return Err(too_wide(&format!("`n` = {width} (with {with})"), bytes));
        }
        if let Some(s) = &na {
            if s.len() > width {
                return Err(MmError::Type(format!(
                    "`na` sentinel \"{}\" has {} bytes; char({width}) holds at most {width}",
                    String::from_utf8_lossy(s),
                    s.len()
                )));
            }
        }
        Ok(CharType { width, nul, na })
    }

    pub fn bytes(&self) -> usize {
        self.width + usize::from(self.nul)
    }

    pub fn name(&self) -> String {
        if self.nul {
            format!("char({})", self.width)
        } else {
            format!("char({}, nul = FALSE)", self.width)
        }
    }
}

/// A fixed-width type a record field can have.
#[derive(Clone, Debug, PartialEq)]
pub enum FieldType {
    Scalar(Ctype),
    Char(CharType),
}

impl FieldType {
    pub fn bytes(&self) -> usize {
        match self {
            FieldType::Scalar(d) => d.bytes(),
            FieldType::Char(c) => c.bytes(),
        }
    }

    pub fn name(&self) -> String {
        match self {
            FieldType::Scalar(d) => d.name().to_string(),
            FieldType::Char(c) => c.name(),
        }
    }
}

/// One named field of a record, `offset` bytes from the record's start.
#[derive(Clone, Debug, PartialEq)]
pub struct Field {
    pub name: String,
    pub ftype: FieldType,
    pub offset: usize,
}

/// What `struct(...)` lists, before offsets are settled.
#[derive(Clone, Debug, PartialEq)]
pub enum FieldSpec {
    /// `pad(n)`: n bytes nobody reads.
    Pad(usize),
    /// A field; `offset` given explicitly or `None` for "right after the previous one".
    Field { name: String, ftype: FieldType, offset: Option<usize> },
}

/// A record type: fields at byte offsets within `bytes` bytes.
#[derive(Clone, Debug, PartialEq)]
pub struct Record {
    pub fields: Vec<Field>,
    pub bytes: usize,
}

impl Record {
    /// Lays out `specs` in order (explicit offsets move the cursor), with
    /// `bytes` as the total record size when given (for trailing alignment).
    pub fn new(specs: Vec<FieldSpec>, bytes: Option<usize>) -> Result<Record> {
        let mut cursor = 0usize;
        let mut end = 0usize;
        let mut fields = Vec::new();
        for spec in specs {
            match spec {
                FieldSpec::Pad(n) => {
                    cursor += n;
                    end = end.max(cursor);
                }
                FieldSpec::Field { name, ftype, offset } => {
                    if name.is_empty() {
                        return Err(MmError::Type(format!(
                            "every field of a struct needs a name (field {} has none)",
                            fields.len() + 1
                        )));
                    }
                    if fields.iter().any(|f: &Field| f.name == name) {
                        return Err(MmError::Type(format!("field name `{name}` is used twice")));
                    }
                    let at = offset.unwrap_or(cursor);
                    cursor = at + ftype.bytes();
                    end = end.max(cursor);
                    fields.push(Field { name, ftype, offset: at });
                }
            }
        }
        if fields.is_empty() {
            return Err(MmError::Type("a struct needs at least one field".into()));
        }
        let bytes = match bytes {
            Some(b) if b as u64 > MAX_ELEMENT_BYTES => return Err(too_wide(&format!("`bytes` = {b}"), b as u64)),
            Some(b) if b < end => {
                return Err(MmError::Layout(format!(
                    "`bytes` = {b} is too small: the fields of this struct end at byte {end}"
                )))
            }
            Some(b) => b,
            None if end as u64 > MAX_ELEMENT_BYTES => return Err(too_wide("a struct of these fields", end as u64)),
            None => end,
        };
        Ok(Record { fields, bytes })
    }

    pub fn field_names(&self) -> Vec<&str> {
        self.fields.iter().map(|f| f.name.as_str()).collect()
    }
}

/// The element type of a mapping.
#[derive(Clone, Debug, PartialEq)]
pub enum Layout {
    Scalar(Ctype),
    /// One logical per bit, in 32-bit words of the given byte order.
    Bits(Endian),
    Char(CharType),
    /// Variable-width, nul-terminated; read-only.
    CString,
    Struct(Record),
}

impl Layout {
    pub fn name(&self) -> String {
        match self {
            Layout::Scalar(d) => d.name().to_string(),
            Layout::Bits(_) => "bits".into(),
            Layout::Char(c) => c.name(),
            Layout::CString => "cstring".into(),
            Layout::Struct(_) => "struct".into(),
        }
    }

    /// Whether elements are found through an offset table (`strings::CIndex`)
    /// rather than by arithmetic.
    pub fn is_indexed(&self) -> bool {
        match self {
            Layout::CString => true,
            Layout::Scalar(_) | Layout::Bits(_) | Layout::Char(_) | Layout::Struct(_) => false,
        }
    }

    /// Bytes per storage unit and elements per unit (bits: 4 bytes hold 32).
    /// `None` for variable-width strings.
    pub fn unit(&self) -> Option<(usize, u64)> {
        match self {
            Layout::Scalar(d) => Some((d.bytes(), 1)),
            Layout::Bits(_) => Some((4, 32)),
            Layout::Char(c) => Some((c.bytes(), 1)),
            Layout::CString => None,
            Layout::Struct(r) => Some((r.bytes, 1)),
        }
    }

    /// Bytes a mapping of `n` elements takes (bits fill whole 4-byte words);
    /// `None` for variable-width strings or a size beyond `u64`.
    pub fn bytes_for(&self, n: u64) -> Option<u64> {
        let (size, per) = self.unit()?;
        n.div_ceil(per).checked_mul(size as u64)
    }

    /// Element count and trailing bytes of a mapping of `bytes` bytes
    /// (for cstring, see `strings::CIndex`).
    pub fn length(&self, bytes: usize) -> (u64, usize) {
        match self.unit() {
            Some((size, per)) => ((bytes / size) as u64 * per, bytes % size),
            None => (0, 0),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn scalar(name: &str) -> FieldType {
        FieldType::Scalar(Ctype::parse(name, "little", None).unwrap())
    }

    fn field(name: &str, t: &str) -> FieldSpec {
        FieldSpec::Field { name: name.into(), ftype: scalar(t), offset: None }
    }

    #[test]
    fn packed_and_padded() {
        let r = Record::new(vec![field("short", "int16"), field("int", "int32"), field("double", "real64")], None).unwrap();
        assert_eq!(r.bytes, 14);
        assert_eq!(r.fields.iter().map(|f| f.offset).collect::<Vec<_>>(), vec![0, 2, 6]);
        let r = Record::new(
            vec![field("a", "int16"), FieldSpec::Pad(2), field("b", "int32"), field("c", "real64")],
            Some(24),
        )
        .unwrap();
        assert_eq!(r.fields.iter().map(|f| f.offset).collect::<Vec<_>>(), vec![0, 4, 8]);
        assert_eq!(r.bytes, 24);
        let r = Record::new(
            vec![FieldSpec::Field { name: "x".into(), ftype: scalar("real64"), offset: Some(8) }],
            None,
        )
        .unwrap();
        assert_eq!(r.bytes, 16);
        assert!(Record::new(vec![field("a", "real64")], Some(4)).is_err());
        assert!(Record::new(vec![field("a", "real64"), field("a", "int8")], None).is_err());
        assert!(Record::new(vec![], None).is_err());
    }

    #[test]
    fn lengths() {
        assert_eq!(Layout::Bits(Endian::Little).length(9), (64, 1));
        let c = CharType::new(3, true, None).unwrap();
        assert_eq!(Layout::Char(c).length(9), (2, 1));
        assert!(CharType::new(0, true, None).is_err());
        assert!(CharType::new(2, true, Some(b"abc".to_vec())).is_err());
    }

    #[test]
    fn bytes_for_counts_whole_units() {
        let bits = Layout::Bits(Endian::Little);
        let want = [(0, 0), (1, 4), (31, 4), (32, 4), (33, 8), (64, 8), (65, 12)];
        for (n, bytes) in want {
            assert_eq!(bits.bytes_for(n), Some(bytes), "bits {n}");
            assert_eq!(bits.length(bytes as usize).0, n.div_ceil(32) * 32);
        }
        let int24 = Layout::Scalar(Ctype::parse("int24", "little", None).unwrap());
        assert_eq!(int24.bytes_for(5), Some(15));
        assert_eq!(Layout::CString.bytes_for(5), None);
        assert_eq!(int24.bytes_for(u64::MAX), None);
    }
}
