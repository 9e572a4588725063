//! `bits()`: one logical per bit. Element k (0-based here) is bit `k % 32` of
//! the 32-bit word `k / 32`, words stored in the mapping's byte order. Bits
//! have no NA: reading gives TRUE/FALSE, writing NA is an error.

use byteorder::{BigEndian, ByteOrder, LittleEndian};

use crate::codec::{InBuf, ReplaceReport, NA_INT};
use crate::ctype::Endian;
use crate::error::{MmError, Result};
use crate::index::{Selection, NA_POS};

fn word(bytes: &[u8], endian: Endian, w: usize) -> u32 {
    let b = &bytes[w * 4..w * 4 + 4];
    match endian {
        Endian::Little => LittleEndian::read_u32(b),
        Endian::Big => BigEndian::read_u32(b),
    }
}

fn put_word(bytes: &mut [u8], endian: Endian, w: usize, v: u32) {
    let b = &mut bytes[w * 4..w * 4 + 4];
    match endian {
        Endian::Little => LittleEndian::write_u32(b, v),
        Endian::Big => BigEndian::write_u32(b, v),
    }
}

/// Reads the selected bits into R logicals (an NA index gives NA).
pub fn extract(endian: Endian, bytes: &[u8], sel: &Selection, out: &mut [i32]) {
    if let Selection::Range { start, len } = sel {
        // Whole words at a time along a run.
        let (mut k, end) = (*start as usize, (*start + *len) as usize);
        let mut o = 0;
        while k < end {
            let w = word(bytes, endian, k / 32);
            let stop = end.min((k / 32 + 1) * 32);
            while k < stop {
                out[o] = ((w >> (k % 32)) & 1) as i32;
                k += 1;
                o += 1;
            }
        }
        return;
    }
    for (o, k) in out.iter_mut().zip(0..sel.len()) {
        let p = sel.get(k);
        *o = if p == NA_POS {
            NA_INT
        } else {
            let p = p as usize;
            ((word(bytes, endian, p / 32) >> (p % 32)) & 1) as i32
        };
    }
}

fn flag(value: &InBuf<'_>, k: usize) -> std::result::Result<bool, &'static str> {
    match *value {
        InBuf::Logical(v) | InBuf::Integer(v) => {
            if v[k] == NA_INT { Err("NA") } else { Ok(v[k] != 0) }
        }
        InBuf::Double(v) => {
            if v[k].is_nan() { Err("NA") } else { Ok(v[k] != 0.0) }
        }
        InBuf::Raw(v) => Ok(v[k] != 0),
        InBuf::Int64(v) => {
            if v[k] == i64::MIN { Err("NA") } else { Ok(v[k] != 0) }
        }
        InBuf::Complex(_) => Err("complex"),
    }
}

/// Writes `value` (recycled, non-zero is TRUE) to the selected bits. Every value
/// is checked first; NA is an error and leaves the mapping unchanged.
pub fn replace(endian: Endian, bytes: &mut [u8], sel: &Selection, value: InBuf<'_>) -> Result<ReplaceReport> {
    let n = sel.len() as usize;
    if n == 0 {
        return Ok(ReplaceReport::default());
    }
    let used = crate::codec::check_replacement(sel, value.len())?;
    let mut flags = Vec::with_capacity(used);
    for k in 0..used {
        match flag(&value, k) {
            Ok(f) => flags.push(f),
            Err("complex") => {
                return Err(MmError::Type("cannot write complex values to a bits mapping".into()))
            }
            Err(_) => {
                return Err(MmError::Value(format!(
                    "cannot write NA to element {} of the mapping: bits have no NA (each is one bit: TRUE or FALSE)",
                    sel.get(k as u64) + 1
                )));
            }
        }
    }
    for k in 0..n {
        let p = sel.get(k as u64) as usize;
        let w = word(bytes, endian, p / 32);
        let mask = 1u32 << (p % 32);
        let v = if flags[k % used] { w | mask } else { w & !mask };
        if v != w {
            put_word(bytes, endian, p / 32, v);
        }
    }
    Ok(ReplaceReport::recycling(n, value.len()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn addressing_is_by_word_and_bit() {
        // Elements 9 and 33 (1-based) are different bits: CRAN mmap mixed them up.
        let mut bytes = vec![0u8; 8];
        replace(Endian::Little, &mut bytes, &Selection::Positions(vec![8]), InBuf::Logical(&[1])).unwrap();
        assert_eq!(bytes, [0, 1, 0, 0, 0, 0, 0, 0]);
        let mut out = [0i32; 2];
        extract(Endian::Little, &bytes, &Selection::Positions(vec![8, 32]), &mut out);
        assert_eq!(out, [1, 0]);
        replace(Endian::Little, &mut bytes, &Selection::Positions(vec![32]), InBuf::Logical(&[1])).unwrap();
        assert_eq!(bytes, [0, 1, 0, 0, 1, 0, 0, 0]);
        // Big-endian words: bit 0 lives in the last byte of the word.
        let mut be = vec![0u8; 4];
        replace(Endian::Big, &mut be, &Selection::Positions(vec![0]), InBuf::Logical(&[1])).unwrap();
        assert_eq!(be, [0, 0, 0, 1]);
        let mut all = [9i32; 64];
        extract(Endian::Little, &bytes, &Selection::Range { start: 0, len: 64 }, &mut all);
        assert_eq!(all.iter().filter(|&&b| b == 1).count(), 2);
        assert_eq!((all[8], all[32]), (1, 1));
    }

    #[test]
    fn na_is_refused() {
        let mut bytes = vec![0u8; 4];
        let err = replace(Endian::Little, &mut bytes, &Selection::Range { start: 0, len: 2 }, InBuf::Logical(&[1, NA_INT]));
        assert!(err.unwrap_err().to_string().contains("element 2"));
        assert_eq!(bytes, [0, 0, 0, 0]);
    }
}
