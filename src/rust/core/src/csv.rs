//! CSV ingestion into an array of records, in two passes over byte ranges so the
//! caller can report progress between chunks: `Scan` infers each column's type
//! (logical, integer, double or fixed-width character), `write_records` encodes
//! rows into the records of a mapping.
//!
//! Format: fields split by `sep`; a field may be quoted with `"` (a doubled `""`
//! is a literal quote; separators and newlines inside quotes are data); records
//! end at `\n` or `\r\n`; blank lines are skipped. An unquoted or quoted `NA`
//! and, for non-character columns, an empty field are NA.

use std::borrow::Cow;


use crate::codec::Num;
use crate::ctype::RKind;
use crate::error::{MmError, Result};
use crate::layout::{FieldType, Record};

/// The fields of one record and the position after it.
pub type Fields<'a> = (Vec<Cow<'a, [u8]>>, usize);

/// Splits one record starting at `pos`; returns the fields and the position
/// after the record's line end. `None` when only blank lines remain.
///
/// A record ends at LF, CRLF or a lone CR (classic Mac files). As in base R's
/// `read.csv()`, a line break inside a quoted field reads as one `\n`
/// whichever of the three the file uses.
pub fn next_record(bytes: &[u8], mut pos: usize, sep: u8) -> Result<Option<Fields<'_>>> {
    let is_end = |b: u8| b == sep || b == b'\n' || b == b'\r';
    // Skip blank lines.
    while pos < bytes.len() && (bytes[pos] == b'\n' || bytes[pos] == b'\r') {
        pos += 1;
    }
    if pos >= bytes.len() {
        return Ok(None);
    }
    let mut fields = Vec::new();
    loop {
        if pos < bytes.len() && bytes[pos] == b'"' {
            let mut text: Vec<u8> = Vec::new();
            let mut k = pos + 1;
            loop {
                match bytes[k..].iter().position(|&b| b == b'"') {
                    None => {
                        return Err(MmError::Value(format!(
                            "unterminated quoted field starting at byte {} of the CSV file",
                            pos + 1
                        )))
                    }
                    Some(q) => {
                        push_normalising_line_breaks(&mut text, &bytes[k..k + q]);
                        k += q + 1;
                        if k < bytes.len() && bytes[k] == b'"' {
                            text.push(b'"');
                            k += 1;
                        } else {
                            break;
                        }
                    }
                }
            }
            // Anything between the closing quote and the separator is kept.
            let rest_end = bytes[k..].iter().position(|&b| is_end(b)).map_or(bytes.len(), |e| k + e);
            text.extend_from_slice(&bytes[k..rest_end]);
            fields.push(Cow::Owned(text));
            pos = rest_end;
        } else {
            let end = bytes[pos..].iter().position(|&b| is_end(b)).map_or(bytes.len(), |e| pos + e);
            fields.push(Cow::Borrowed(&bytes[pos..end]));
            pos = end;
        }
        if pos >= bytes.len() {
            return Ok(Some((fields, pos)));
        }
        match bytes[pos] {
            b'\n' => return Ok(Some((fields, pos + 1))),
            b'\r' if bytes.get(pos + 1) == Some(&b'\n') => return Ok(Some((fields, pos + 2))),
            b'\r' => return Ok(Some((fields, pos + 1))),
            _ => {}
        }
        pos += 1; // the separator
        if pos >= bytes.len() {
            fields.push(Cow::Borrowed(&bytes[pos..pos]));
            return Ok(Some((fields, pos)));
        }
    }
}

/// Appends `s` with every CRLF and lone CR turned into LF.
fn push_normalising_line_breaks(text: &mut Vec<u8>, s: &[u8]) {
    let mut k = 0;
    while let Some(r) = s[k..].iter().position(|&b| b == b'\r') {
        text.extend_from_slice(&s[k..k + r]);
        text.push(b'\n');
        k += r + 1;
        if s.get(k) == Some(&b'\n') {
            k += 1;
        }
    }
    text.extend_from_slice(&s[k..]);
}

fn trim(s: &[u8]) -> &[u8] {
    let start = s.iter().position(|b| !b.is_ascii_whitespace()).unwrap_or(s.len());
    let end = s.iter().rposition(|b| !b.is_ascii_whitespace()).map_or(start, |e| e + 1);
    &s[start..end]
}

fn is_na_text(s: &[u8]) -> bool {
    s == b"NA"
}

fn parse_logical(s: &[u8]) -> Option<bool> {
    match s {
        b"TRUE" | b"T" | b"true" | b"True" => Some(true),
        b"FALSE" | b"F" | b"false" | b"False" => Some(false),
        _ => None,
    }
}

fn parse_int(s: &[u8]) -> Option<i32> {
    let v: i32 = std::str::from_utf8(s).ok()?.parse().ok()?;
    (v != i32::MIN).then_some(v)
}

fn parse_double(s: &[u8]) -> Option<f64> {
    let t = std::str::from_utf8(s).ok()?;
    match t {
        "Inf" => Some(f64::INFINITY),
        "-Inf" => Some(f64::NEG_INFINITY),
        "NaN" => Some(f64::NAN),
        _ if t.chars().any(|c| c.is_ascii_alphabetic() && !matches!(c, 'e' | 'E')) => None,
        _ => t.parse().ok(),
    }
}

/// The type a column gets.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ColKind {
    Logical,
    Integer,
    Double,
    Character,
}

impl ColKind {
    pub fn name(self) -> &'static str {
        match self {
            ColKind::Logical => "logical",
            ColKind::Integer => "integer",
            ColKind::Double => "double",
            ColKind::Character => "character",
        }
    }
}

/// What a pass over a column has seen.
#[derive(Clone, Debug)]
pub struct ColStats {
    pub logical: bool,
    pub integer: bool,
    pub double: bool,
    pub any_value: bool,
    pub any_na: bool,
    /// Widest field in bytes.
    pub width: usize,
}

impl Default for ColStats {
    fn default() -> Self {
        ColStats { logical: true, integer: true, double: true, any_value: false, any_na: false, width: 0 }
    }
}

impl ColStats {
    fn add(&mut self, raw: &[u8]) {
        self.width = self.width.max(raw.len());
        let s = trim(raw);
        if is_na_text(s) {
            self.any_na = true;
            return;
        }
        if s.is_empty() {
            // NA unless the column turns out to be character ("" stays "").
            self.any_na = true;
            return;
        }
        self.any_value = true;
        if self.logical && parse_logical(s).is_none() {
            self.logical = false;
        }
        if self.integer && parse_int(s).is_none() {
            self.integer = false;
        }
        if self.double && !self.integer && parse_double(s).is_none() {
            self.double = false;
        }
        if self.double && self.integer {
            // still integer; nothing to check
        }
    }

    pub fn kind(&self) -> ColKind {
        if !self.any_value || self.logical {
            ColKind::Logical
        } else if self.integer {
            ColKind::Integer
        } else if self.double {
            ColKind::Double
        } else {
            ColKind::Character
        }
    }
}

/// Column statistics accumulated over successive chunks of the file.
#[derive(Clone, Debug, Default)]
pub struct Scan {
    pub cols: Vec<ColStats>,
    pub rows: u64,
}

impl Scan {
    pub fn new(ncol: usize) -> Self {
        Scan { cols: vec![ColStats::default(); ncol], rows: 0 }
    }

    /// Scans whole records starting at `from` until `from + limit` is passed;
    /// returns where the next chunk starts.
    pub fn chunk(&mut self, bytes: &[u8], from: usize, limit: usize, sep: u8) -> Result<usize> {
        let stop = from.saturating_add(limit).min(bytes.len());
        let mut pos = from;
        while pos < stop {
            let Some((fields, next)) = next_record(bytes, pos, sep)? else {
                return Ok(bytes.len());
            };
            if fields.len() != self.cols.len() {
                return Err(width_error(self.rows + 1, fields.len(), self.cols.len()));
            }
            check_no_nul(&fields, Some(self.rows + 1))?;
            for (c, f) in self.cols.iter_mut().zip(&fields) {
                c.add(f);
            }
            self.rows += 1;
            pos = next;
        }
        Ok(pos)
    }
}

/// R strings cannot hold a NUL byte: a field with one would be cut short (or,
/// in `read.csv()`, silently truncated), so it is an error naming the spot.
/// `row` is the 1-based data row, `None` for the header.
pub fn check_no_nul(fields: &[Cow<'_, [u8]>], row: Option<u64>) -> Result<()> {
    for (col, f) in fields.iter().enumerate() {
        if f.contains(&0) {
            let line = row.map_or_else(|| "the header".to_string(), |r| format!("data row {r}"));
            return Err(MmError::Value(format!(
                "{line} of the CSV file, column {}, holds a NUL byte, which R strings cannot hold; \
                 remove the NUL bytes from the file first",
                col + 1
            )));
        }
    }
    Ok(())
}

fn width_error(row: u64, got: usize, want: usize) -> MmError {
    MmError::Value(format!("data row {row} of the CSV file has {got} fields; the header has {want}"))
}

/// Encodes records starting at `from` into `out` (an array of `rec`), row
/// `first_row` (0-based) onwards, until `from + limit` is passed. Returns the
/// next position and the number of rows written. Fields are `int32`, `real64`,
/// `logi32` or `char(n)` as `Scan` chose them.
#[allow(clippy::too_many_arguments)]
pub fn write_records(
    bytes: &[u8],
    from: usize,
    limit: usize,
    sep: u8,
    rec: &Record,
    out: &mut [u8],
    first_row: u64,
) -> Result<(usize, u64)> {
    let stop = from.saturating_add(limit).min(bytes.len());
    let capacity = rec.count(out.len());
    let mut pos = from;
    let mut row = first_row;
    while pos < stop {
        let Some((fields, next)) = next_record(bytes, pos, sep)? else {
            return Ok((bytes.len(), row - first_row));
        };
        if fields.len() != rec.fields.len() {
            return Err(width_error(row + 1, fields.len(), rec.fields.len()));
        }
        check_no_nul(&fields, Some(row + 1))?;
        if row >= capacity {
            return Err(MmError::Layout("the CSV file has more rows than when it was scanned".into()));
        }
        let base = row as usize * rec.bytes;
        let slot = &mut out[base..base + rec.bytes];
        for (f, raw) in rec.fields.iter().zip(&fields) {
            let dst = &mut slot[f.offset..f.offset + f.ftype.bytes()];
            encode_field(&f.ftype, raw, dst).map_err(|e| {
                MmError::Value(format!("data row {} of the CSV file, column `{}`: {e}", row + 1, f.name))
            })?;
        }
        row += 1;
        pos = next;
    }
    Ok((pos, row - first_row))
}

fn encode_field(t: &FieldType, raw: &[u8], dst: &mut [u8]) -> std::result::Result<(), String> {
    let s = trim(raw);
    let na = is_na_text(s) || s.is_empty();
    let bad = || format!("\"{}\" is not a {}", String::from_utf8_lossy(raw), t.name());
    match t {
        FieldType::Scalar(d) => {
            // The text is read as the R value it would be; the type's codec stores it.
            let value = if na {
                Num::Na
            } else {
                match d.info().rkind {
                    RKind::Logical => Num::Int(i64::from(parse_logical(s).ok_or_else(bad)?)),
                    RKind::Raw | RKind::Integer | RKind::Integer64 => Num::Int(i64::from(parse_int(s).ok_or_else(bad)?)),
                    RKind::Double => Num::Real(parse_double(s).ok_or_else(bad)?),
                    RKind::Complex => return Err(format!("CSV columns cannot be stored as {}", d.name())),
                }
            };
            crate::codec::encode_value(d, value, dst)?;
        }
        FieldType::Char(c) => {
            dst.fill(0);
            let text: &[u8] = if is_na_text(s) {
                c.na.as_deref().ok_or_else(|| "NA in a column without an NA sentinel".to_string())?
            } else {
                raw
            };
            if text.len() > c.width {
                return Err(format!("\"{}\" is wider than {}", String::from_utf8_lossy(text), c.name()));
            }
            dst[..text.len()].copy_from_slice(text);
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ctype::Ctype;
    use byteorder::{ByteOrder, LittleEndian};
    use crate::layout::{CharType, FieldSpec};

    #[test]
    fn splits_quotes_and_line_ends() {
        let b = b"a,\"b,\"\"c\"\"\",\r\n\n1,2,3";
        let (f, next) = next_record(b, 0, b',').unwrap().unwrap();
        assert_eq!(f.iter().map(|x| x.to_vec()).collect::<Vec<_>>(), vec![b"a".to_vec(), b"b,\"c\"".to_vec(), vec![]]);
        let (f, next) = next_record(b, next, b',').unwrap().unwrap();
        assert_eq!(f.len(), 3);
        assert_eq!(next, b.len());
        assert!(next_record(b, next, b',').unwrap().is_none());
        assert!(next_record(b"\"open", 0, b',').is_err());
        let (f, _) = next_record(b"\"x\ny\",z\n", 0, b',').unwrap().unwrap();
        assert_eq!(f[0].as_ref(), b"x\ny");
    }

    #[test]
    fn infers_and_writes() {
        let body = b"1,1.5,TRUE,abc\n2,NA,F,\nNA,3,NA,NA\n";
        let mut scan = Scan::new(4);
        let mut pos = 0;
        while pos < body.len() {
            pos = scan.chunk(body, pos, 5, b',').unwrap();
        }
        assert_eq!(scan.rows, 3);
        let kinds: Vec<_> = scan.cols.iter().map(|c| c.kind()).collect();
        assert_eq!(kinds, vec![ColKind::Integer, ColKind::Double, ColKind::Logical, ColKind::Character]);
        assert_eq!(scan.cols[3].width, 3);
        let s = |n: &str, t: &str| FieldSpec::Field {
            name: n.into(),
            ftype: FieldType::Scalar(Ctype::parse(t, "little", None).unwrap()),
            offset: None,
        };
        let rec = Record::new(
            vec![
                s("a", "int32"),
                s("b", "real64"),
                s("c", "logi32"),
                FieldSpec::Field {
                    name: "d".into(),
                    ftype: FieldType::Char(CharType::new(3, true, Some(b"NA".to_vec())).unwrap()),
                    offset: None,
                },
            ],
            None,
        )
        .unwrap();
        let mut out = vec![0u8; rec.bytes * 3];
        let (end, rows) = write_records(body, 0, usize::MAX, b',', &rec, &mut out, 0).unwrap();
        assert_eq!((end, rows), (body.len(), 3));
        assert_eq!(LittleEndian::read_i32(&out[rec.bytes * 2..]), i32::MIN);
        assert_eq!(LittleEndian::read_f64(&out[4..]), 1.5);
        assert_eq!(&out[rec.bytes * 2 + 16..rec.bytes * 2 + 18], b"NA");
    }

    #[test]
    fn ragged_rows_are_errors() {
        let mut scan = Scan::new(2);
        let err = scan.chunk(b"1,2\n3\n", 0, 100, b',').unwrap_err();
        assert!(err.to_string().contains("row 2"), "{err}");
    }

    fn records(b: &[u8]) -> Vec<Vec<Vec<u8>>> {
        let mut out = Vec::new();
        let mut pos = 0;
        while let Some((f, next)) = next_record(b, pos, b',').unwrap() {
            out.push(f.iter().map(|x| x.to_vec()).collect());
            pos = next;
        }
        out
    }

    #[test]
    fn lf_crlf_and_lone_cr_end_records_alike() {
        let want = records(b"a,b\n1,\"x\ny\"\n2,\n");
        assert_eq!(want.len(), 3);
        assert_eq!(records(b"a,b\r\n1,\"x\r\ny\"\r\n2,\r\n"), want);
        assert_eq!(records(b"a,b\r1,\"x\ry\"\r2,\r"), want);
        assert_eq!(records(b"a,b\r1,\"x\ry\"\r2,"), want);
        assert_eq!(records(b"\r\ra,b\r\r1,\"x\ny\"\r\n\r2,"), want);
    }

    #[test]
    fn a_nul_byte_is_an_error_naming_row_and_column() {
        let mut scan = Scan::new(2);
        let err = scan.chunk(b"1,a\n2,b\x00c\n", 0, 100, b',').unwrap_err();
        assert!(err.to_string().contains("data row 2 of the CSV file, column 2, holds a NUL byte"), "{err}");
        assert_eq!(err.class(), "mmap_error_value");
        let (f, _) = next_record(b"x\x00,y\n", 0, b',').unwrap().unwrap();
        assert!(check_no_nul(&f, None).unwrap_err().to_string().contains("the header"));
    }
}
