//! Arrays of records (`struct(...)`): each field is read and written as a
//! strided column, `record bytes` apart, `offset` bytes into each record.

use crate::codec::{self, Geometry, InBuf, OutBuf, ReplaceReport};
use crate::error::{MmError, Result};
use crate::index::{self, IndexArg, Selection};
use crate::layout::{FieldType, Record};
use crate::strings;

impl Record {
    fn geometry(&self, field: usize) -> Geometry {
        let f = &self.fields[field];
        Geometry { size: f.ftype.bytes(), stride: self.bytes, offset: f.offset }
    }

    /// Records in a mapping of `bytes` bytes.
    pub fn count(&self, bytes: usize) -> u64 {
        (bytes / self.bytes) as u64
    }

    /// The fields `j` picks (positions, negative positions, logical), in order.
    /// A column past the last field is an error; so is an NA column.
    pub fn select_fields(&self, j: IndexArg<'_>) -> Result<Vec<usize>> {
        let n = self.fields.len() as u64;
        let sel = index::resolve(j, n).map_err(|e| match e {
            MmError::Bounds { index, .. } => MmError::Index(format!(
                "column {} is out of bounds: the struct has {n} field{}",
                crate::error::show_index(index),
                if n == 1 { "" } else { "s" }
            )),
            other => other,
        })?;
        if sel.has_na() {
            return Err(MmError::Index("NA column indices are not allowed".into()));
        }
        Ok((0..sel.len()).map(|k| sel.get(k) as usize).collect())
    }

    fn records<'a>(&self, bytes: &'a [u8]) -> &'a [u8] {
        &bytes[..self.count(bytes.len()) as usize * self.bytes]
    }

    /// Decodes the selected records of a numeric (scalar) field into `out`.
    pub fn extract_field(&self, field: usize, bytes: &[u8], sel: &Selection, out: OutBuf<'_>) -> Result<()> {
        match &self.fields[field].ftype {
            FieldType::Scalar(d) => codec::extract_at(d, self.geometry(field), self.records(bytes), sel, out),
            FieldType::Char(_) => Err(MmError::Internal("a char field extracts to character".into())),
        }
    }

    /// Decodes several numeric fields of the selected records, one output per
    /// field. Random records are read a block at a time, every field per block,
    /// so each record's cache line is fetched once rather than once per field;
    /// large selections are split across threads.
    pub fn extract_fields(&self, fields: &[usize], bytes: &[u8], sel: &Selection, outs: Vec<OutBuf<'_>>) -> Result<()> {
        if fields.len() != outs.len() {
            return Err(MmError::Internal("one output per field".into()));
        }
        let positions = match sel {
            Selection::Positions(p) if fields.len() > 1 && p.len() > BLOCK => p,
            _ => {
                for (&f, out) in fields.iter().zip(outs) {
                    self.extract_field(f, bytes, sel, out)?;
                }
                return Ok(());
            }
        };
        let bytes = self.records(bytes);
        let threads = if positions.len() >= 1 << 18 {
            std::thread::available_parallelism().map_or(1, |p| p.get()).clamp(1, 8)
        } else {
            1
        };
        let per = positions.len().div_ceil(threads);
        let mut parts: Vec<Vec<OutBuf<'_>>> = (0..positions.len().div_ceil(per)).map(|_| Vec::new()).collect();
        for out in outs {
            for (c, piece) in split(out, per).into_iter().enumerate() {
                parts[c].push(piece);
            }
        }
        if threads == 1 {
            return self.blocks(fields, bytes, positions, parts.pop().unwrap_or_default());
        }
        std::thread::scope(|scope| {
            let handles: Vec<_> = positions
                .chunks(per)
                .zip(parts)
                .map(|(p, outs)| scope.spawn(move || self.blocks(fields, bytes, p, outs)))
                .collect();
            handles
                .into_iter()
                .map(|h| h.join().unwrap_or_else(|_| Err(MmError::Internal("a worker thread panicked".into()))))
                .collect::<Result<Vec<()>>>()
                .map(|_| ())
        })
    }

    fn blocks(&self, fields: &[usize], bytes: &[u8], positions: &[u64], mut outs: Vec<OutBuf<'_>>) -> Result<()> {
        for (b, block) in positions.chunks(BLOCK).enumerate() {
            let sel = Selection::Positions(block.to_vec());
            for (k, &f) in fields.iter().enumerate() {
                let FieldType::Scalar(d) = &self.fields[f].ftype else {
                    return Err(MmError::Internal("a char field extracts to character".into()));
                };
                let out = sub(&mut outs[k], b * BLOCK, block.len());
                codec::extract_at(d, self.geometry(f), bytes, &sel, out)?;
            }
        }
        Ok(())
    }

    /// Calls `f(k, text)` for the selected records of a `char(n)` field.
    pub fn extract_char_field<'a>(
        &self,
        field: usize,
        bytes: &'a [u8],
        sel: &Selection,
        f: impl FnMut(usize, Option<&'a [u8]>),
    ) -> Result<()> {
        match &self.fields[field].ftype {
            FieldType::Char(c) => {
                strings::extract_char(c, self.geometry(field), self.records(bytes), sel, f);
                Ok(())
            }
            FieldType::Scalar(_) => Err(MmError::Internal("a numeric field has no text".into())),
        }
    }

    /// Writes one value vector per listed field to the selected records. Every
    /// value of every field is checked before the first byte is written.
    pub fn replace(&self, bytes: &mut [u8], sel: &Selection, columns: &[(usize, FieldValue<'_>)]) -> Result<ReplaceReport> {
        let n = sel.len() as usize;
        if n == 0 {
            return Ok(ReplaceReport::default());
        }
        if sel.has_na() {
            return Err(MmError::Index("NA indices are not allowed in a replacement".into()));
        }
        let mut encoded = Vec::with_capacity(columns.len());
        let mut report = ReplaceReport::default();
        for (field, value) in columns {
            let f = &self.fields[*field];
            let len = value.len();
            let enc = match (&f.ftype, value) {
                (FieldType::Scalar(d), FieldValue::Num(v)) => codec::encode(d, sel, *v),
                (FieldType::Char(c), FieldValue::Str(v)) => strings::encode_char(c, sel, v),
                (FieldType::Scalar(d), FieldValue::Str(_)) => Err(MmError::Type(format!(
                    "cannot write character values to a {} field", d.name()
                ))),
                (FieldType::Char(c), FieldValue::Num(_)) => Err(MmError::Type(format!(
                    "a {} field takes character values", c.name()
                ))),
            }
            .map_err(|e| in_field(e, &f.name))?;
            report.uneven_recycling |= ReplaceReport::recycling(n, len).uneven_recycling;
            encoded.push((*field, enc));
        }
        let count = self.count(bytes.len()) as usize;
        let records = &mut bytes[..count * self.bytes];
        for (field, enc) in &encoded {
            codec::scatter(records, self.geometry(*field), sel, enc);
        }
        Ok(report)
    }
}

/// Records per block when gathering random records field by field.
const BLOCK: usize = 2048;

/// `out` cut into pieces of `per` elements.
fn split(out: OutBuf<'_>, per: usize) -> Vec<OutBuf<'_>> {
    match out {
        OutBuf::Raw(o) => o.chunks_mut(per).map(OutBuf::Raw).collect(),
        OutBuf::Logical(o) => o.chunks_mut(per).map(OutBuf::Logical).collect(),
        OutBuf::Integer(o) => o.chunks_mut(per).map(OutBuf::Integer).collect(),
        OutBuf::Double(o) => o.chunks_mut(per).map(OutBuf::Double).collect(),
        OutBuf::Complex(o) => o.chunks_mut(per).map(OutBuf::Complex).collect(),
        OutBuf::Int64(o) => o.chunks_mut(per).map(OutBuf::Int64).collect(),
    }
}

/// Elements `start..start + len` of `out`.
fn sub<'b>(out: &'b mut OutBuf<'_>, start: usize, len: usize) -> OutBuf<'b> {
    let r = start..start + len;
    match out {
        OutBuf::Raw(o) => OutBuf::Raw(&mut o[r]),
        OutBuf::Logical(o) => OutBuf::Logical(&mut o[r]),
        OutBuf::Integer(o) => OutBuf::Integer(&mut o[r]),
        OutBuf::Double(o) => OutBuf::Double(&mut o[r]),
        OutBuf::Complex(o) => OutBuf::Complex(&mut o[r]),
        OutBuf::Int64(o) => OutBuf::Int64(&mut o[r]),
    }
}

/// The values for one field of a replacement.
pub enum FieldValue<'a> {
    Num(InBuf<'a>),
    Str(Vec<Option<&'a [u8]>>),
}

impl FieldValue<'_> {
    pub(crate) fn len(&self) -> usize {
        match self {
            FieldValue::Num(v) => v.len(),
            FieldValue::Str(v) => v.len(),
        }
    }
}

/// Names the field in an error about one of its values.
fn in_field(e: MmError, name: &str) -> MmError {
    match e.class() {
        "mmap_error_value" => MmError::Value(format!("field `{name}`: {e}")),
        "mmap_error_type" => MmError::Type(format!("field `{name}`: {e}")),
        _ => e,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ctype::Ctype;
    use crate::layout::{CharType, FieldSpec};

    fn rec() -> Record {
        let s = |n: &str, t: &str| FieldSpec::Field {
            name: n.into(),
            ftype: FieldType::Scalar(Ctype::parse(t, "little", None).unwrap()),
            offset: None,
        };
        Record::new(
            vec![
                s("short", "int16"),
                s("int", "int32"),
                s("double", "real64"),
                FieldSpec::Field { name: "s".into(), ftype: FieldType::Char(CharType::new(3, true, None).unwrap()), offset: None },
            ],
            None,
        )
        .unwrap()
    }

    #[test]
    fn columns_roundtrip() {
        let r = rec();
        assert_eq!(r.bytes, 18);
        let mut bytes = vec![0u8; 18 * 4 + 5];
        let all = Selection::Range { start: 0, len: 4 };
        let cols = vec![
            (0, FieldValue::Num(InBuf::Integer(&[1, -2, 3, -4]))),
            (1, FieldValue::Num(InBuf::Integer(&[10, 20, 30, 40]))),
            (2, FieldValue::Num(InBuf::Double(&[0.5]))),
            (3, FieldValue::Str(vec![Some(b"a"), Some(b"abc")])),
        ];
        r.replace(&mut bytes, &all, &cols).unwrap();
        let mut ints = [0i32; 4];
        r.extract_field(1, &bytes, &all, OutBuf::Integer(&mut ints)).unwrap();
        assert_eq!(ints, [10, 20, 30, 40]);
        let mut shorts = [0i32; 2];
        r.extract_field(0, &bytes, &Selection::Positions(vec![3, 1]), OutBuf::Integer(&mut shorts)).unwrap();
        assert_eq!(shorts, [-4, -2]);
        let mut texts = Vec::new();
        r.extract_char_field(3, &bytes, &all, |_, t| texts.push(t.unwrap().to_vec())).unwrap();
        assert_eq!(texts, vec![b"a".to_vec(), b"abc".to_vec(), b"a".to_vec(), b"abc".to_vec()]);
    }

    #[test]
    fn bad_value_writes_nothing() {
        let r = rec();
        let mut bytes = vec![0u8; 18 * 2];
        let all = Selection::Range { start: 0, len: 2 };
        let cols = vec![
            (1, FieldValue::Num(InBuf::Integer(&[7, 7]))),
            (0, FieldValue::Num(InBuf::Integer(&[1, 40000]))),
        ];
        let err = r.replace(&mut bytes, &all, &cols).unwrap_err();
        assert!(err.to_string().contains("field `short`"), "{err}");
        assert!(err.to_string().contains("element 2"), "{err}");
        assert!(bytes.iter().all(|&b| b == 0));
        // A too-long string never bleeds into the next record.
        let cols = vec![(3, FieldValue::Str(vec![Some(b"abcd")]))];
        assert!(r.replace(&mut bytes, &all, &cols).is_err());
        assert!(bytes.iter().all(|&b| b == 0));
    }

    #[test]
    fn many_random_records_match_field_by_field() {
        let r = rec();
        let n = 5000usize;
        let mut bytes = vec![0u8; r.bytes * n];
        let all = Selection::Range { start: 0, len: n as u64 };
        let shorts: Vec<i32> = (0..n as i32).map(|k| k % 30000 - 15000).collect();
        let ints: Vec<i32> = (0..n as i32).map(|k| k * 7).collect();
        let dbls: Vec<f64> = (0..n).map(|k| k as f64 / 3.0).collect();
        r.replace(&mut bytes, &all, &[
            (0, FieldValue::Num(InBuf::Integer(&shorts))),
            (1, FieldValue::Num(InBuf::Integer(&ints))),
            (2, FieldValue::Num(InBuf::Double(&dbls))),
        ]).unwrap();
        let pos: Vec<u64> = (0..n as u64).map(|k| (k * 7919) % n as u64).chain([crate::index::NA_POS]).collect();
        let sel = Selection::Positions(pos.clone());
        let (mut a, mut b, mut c) = (vec![0i32; pos.len()], vec![0i32; pos.len()], vec![0f64; pos.len()]);
        r.extract_fields(&[2, 0, 1], &bytes, &sel, vec![OutBuf::Double(&mut c), OutBuf::Integer(&mut a), OutBuf::Integer(&mut b)]).unwrap();
        for (k, &p) in pos[..n].iter().enumerate() {
            assert_eq!((a[k], b[k], c[k]), (shorts[p as usize], ints[p as usize], dbls[p as usize]));
        }
        assert_eq!(a[n], crate::codec::NA_INT);
    }

    #[test]
    fn field_selection() {
        let r = rec();
        assert_eq!(r.select_fields(IndexArg::Int(&[-1])).unwrap(), vec![1, 2, 3]);
        assert_eq!(r.select_fields(IndexArg::Logical(&[1, 0])).unwrap(), vec![0, 2]);
        assert!(r.select_fields(IndexArg::Int(&[5])).is_err());
        assert!(r.select_fields(IndexArg::Int(&[i32::MIN])).is_err());
    }
}
