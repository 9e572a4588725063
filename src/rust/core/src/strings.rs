//! Fixed-width (`char(n)`) and nul-terminated (`cstring`) strings.
//!
//! Strings travel as bytes (R hands over UTF-8). A string longer than its field
//! is refused, never truncated; `char(n)` with `nul = TRUE` always keeps its
//! terminator. There is no NA unless the type names a sentinel text.

use crate::codec::{Geometry, ReplaceReport};
use crate::error::{MmError, Result};
use crate::index::{Selection, NA_POS};
use crate::layout::CharType;

/// The text stored in one `char(n)` slot: up to the first nul, `None` for the sentinel.
pub fn decode_char<'a>(ct: &CharType, slot: &'a [u8]) -> Option<&'a [u8]> {
    let text = &slot[..ct.width.min(slot.len())];
    let end = text.iter().position(|&b| b == 0).unwrap_or(text.len());
    let text = &text[..end];
    match &ct.na {
        Some(na) if na.as_slice() == text => None,
        _ => Some(text),
    }
}

/// Calls `f(k, text)` for the k-th selected element (`None` is NA).
pub fn extract_char<'a>(
    ct: &CharType,
    g: Geometry,
    bytes: &'a [u8],
    sel: &Selection,
    mut f: impl FnMut(usize, Option<&'a [u8]>),
) {
    for k in 0..sel.len() {
        let p = sel.get(k);
        if p == NA_POS {
            f(k as usize, None);
            continue;
        }
        let at = p as usize * g.stride + g.offset;
        f(k as usize, decode_char(ct, &bytes[at..at + g.size]));
    }
}

fn shown(s: &[u8]) -> String {
    let t = String::from_utf8_lossy(s);
    if t.chars().count() > 40 {
        format!("\"{}...\"", t.chars().take(37).collect::<String>())
    } else {
        format!("\"{t}\"")
    }
}

/// Checks and encodes the values of a replacement of `sel` (recycled later);
/// nothing is written. Errors name the element of the mapping.
/// Writes `values` to a new file at `path` as cstring stores them: each
/// string's bytes and a terminating NUL. A cstring has no NA: an NA is an
/// error naming its element, found before the file is created.
pub fn write_cstrings(path: &std::path::Path, values: &[Option<&[u8]>]) -> Result<()> {
    use std::io::Write;
    if let Some(k) = values.iter().position(Option::is_none) {
        return Err(MmError::Value(format!(
            "element {} of `x` is NA: cstring() has no NA; use char(n, na = \"NA\") to keep NAs.",
            k + 1
        )));
    }
    let io = |op: &'static str| move |source| MmError::Io { op, path: path.to_path_buf(), source };
    let mut out = std::io::BufWriter::with_capacity(1 << 20, std::fs::File::create(path).map_err(io("open"))?);
    for text in values.iter().flatten() {
        out.write_all(text).map_err(io("write"))?;
        out.write_all(&[0]).map_err(io("write"))?;
    }
    out.flush().map_err(io("write"))
}

pub fn encode_char(ct: &CharType, sel: &Selection, values: &[Option<&[u8]>]) -> Result<Vec<u8>> {
    let used = crate::codec::values_used(sel.len() as usize, values.len())?;
    let size = ct.bytes();
    let mut encoded = vec![0u8; used * size];
    for (k, slot) in encoded.chunks_exact_mut(size).enumerate() {
        let position = sel.get(k as u64) + 1;
        let text: &[u8] = match (values[k], &ct.na) {
            (None, Some(na)) => na,
            (None, None) => {
                return Err(MmError::Value(format!(
                    "cannot write NA to element {position} of the mapping: {} has no NA; give the type a sentinel, e.g. char({}, na = \"NA\")",
                    ct.name(),
                    ct.width
                )));
            }
            (Some(v), Some(na)) if v == na.as_slice() => {
                return Err(MmError::Value(format!(
                    "cannot write {} to element {position} of the mapping: it is the NA sentinel of this {}, so it would read back as NA",
                    shown(v),
                    ct.name()
                )));
            }
            (Some(v), _) => v,
        };
        if text.len() > ct.width {
            return Err(MmError::Value(format!(
                "cannot write {} ({} bytes) to element {position} of the mapping: {} holds at most {} bytes; strings are never truncated",
                shown(text),
                text.len(),
                ct.name(),
                ct.width
            )));
        }
        if text.contains(&0) {
            return Err(MmError::Value(format!(
                "cannot write a string with an embedded nul to element {position} of the mapping"
            )));
        }
        slot[..text.len()].copy_from_slice(text);
    }
    Ok(encoded)
}

/// Writes `values` (recycled) to the elements `sel` of a `char(n)` layout.
pub fn replace_char(
    ct: &CharType,
    g: Geometry,
    bytes: &mut [u8],
    sel: &Selection,
    values: &[Option<&[u8]>],
) -> Result<ReplaceReport> {
    let n = sel.len() as usize;
    if n == 0 {
        return Ok(ReplaceReport::default());
    }
    if sel.has_na() {
        return Err(MmError::Index("NA indices are not allowed in a replacement".into()));
    }
    let encoded = encode_char(ct, sel, values)?;
    crate::codec::scatter(bytes, g, sel, &encoded);
    Ok(ReplaceReport::recycling(n, values.len()))
}

/// Where each string of a cstring mapping starts: built once when mapped.
/// `starts[k]..ends[k]` is string k without its nul. Bytes after the last nul
/// are not a string (no terminator) and are reported as trailing.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct CIndex {
    pub starts: Vec<u64>,
    pub ends: Vec<u64>,
    pub trailing: usize,
    /// Size of the bytes the index was built from.
    pub bytes: usize,
}

impl CIndex {
    pub fn build(bytes: &[u8]) -> CIndex {
        let mut starts = Vec::new();
        let mut ends = Vec::new();
        let mut start = 0usize;
        for (k, &b) in bytes.iter().enumerate() {
            if b == 0 {
                starts.push(start as u64);
                ends.push(k as u64);
                start = k + 1;
            }
        }
        CIndex { starts, ends, trailing: bytes.len() - start, bytes: bytes.len() }
    }

    pub fn len(&self) -> u64 {
        self.starts.len() as u64
    }

    pub fn is_empty(&self) -> bool {
        self.starts.is_empty()
    }

    /// The widest string, in bytes (0 for none).
    pub fn max_width(&self) -> u64 {
        self.starts.iter().zip(&self.ends).map(|(s, e)| e - s).max().unwrap_or(0)
    }

    /// Calls `f(k, text)` for the k-th selected string.
    pub fn extract<'a>(&self, bytes: &'a [u8], sel: &Selection, mut f: impl FnMut(usize, Option<&'a [u8]>)) -> Result<()> {
        if bytes.len() != self.bytes {
            return Err(MmError::Layout("the cstring index no longer matches the mapping; map the file again".into()));
        }
        for k in 0..sel.len() {
            let p = sel.get(k);
            if p == NA_POS {
                f(k as usize, None);
                continue;
            }
            let (s, e) = (self.starts[p as usize] as usize, self.ends[p as usize] as usize);
            f(k as usize, Some(&bytes[s..e]));
        }
        Ok(())
    }
}

// ---------------------------------------------------------------------------
// which()-style comparisons, for Ops on string mappings

/// 0-based positions (ascending) of the elements of a `char(n)` mapping whose
/// text `t` satisfies `pred(t.cmp(value))`: exact, whole-string comparison in
/// byte order (so "ab" == "abc" is false). NA elements never match. Large
/// mappings are scanned by two or more threads.
pub fn which_char(
    ct: &CharType,
    bytes: &[u8],
    value: &[u8],
    pred: impl Fn(std::cmp::Ordering) -> bool + Sync,
) -> Vec<u64> {
    let size = ct.bytes();
    let n = bytes.len() / size;
    let scan = |from: usize, to: usize| -> Vec<u64> {
        (from..to)
            .filter(|&k| decode_char(ct, &bytes[k * size..k * size + size]).is_some_and(|t| pred(t.cmp(value))))
            .map(|k| k as u64)
            .collect()
    };
    split_scan(n, scan)
}

impl CIndex {
    /// As [`which_char`], for the strings of a cstring mapping.
    pub fn which(&self, bytes: &[u8], value: &[u8], pred: impl Fn(std::cmp::Ordering) -> bool + Sync) -> Result<Vec<u64>> {
        if bytes.len() != self.bytes {
            return Err(MmError::Layout("the cstring index no longer matches the mapping; map the file again".into()));
        }
        let scan = |from: usize, to: usize| -> Vec<u64> {
            (from..to)
                .filter(|&k| pred(bytes[self.starts[k] as usize..self.ends[k] as usize].cmp(value)))
                .map(|k| k as u64)
                .collect()
        };
        Ok(split_scan(self.starts.len(), scan))
    }
}

/// Runs `scan` over `0..n` in contiguous parts (threads for large `n`) and
/// concatenates the results in order.
fn split_scan(n: usize, scan: impl Fn(usize, usize) -> Vec<u64> + Sync) -> Vec<u64> {
    let threads = if n >= 1 << 20 {
        std::thread::available_parallelism().map_or(1, |p| p.get()).clamp(1, 8)
    } else {
        1
    };
    if threads == 1 {
        return scan(0, n);
    }
    let per = n.div_ceil(threads);
    std::thread::scope(|scope| {
        let parts: Vec<_> = (0..threads)
            .map(|t| {
                let scan = &scan;
                scope.spawn(move || scan((t * per).min(n), ((t + 1) * per).min(n)))
            })
            .collect();
        parts.into_iter().flat_map(|h| h.join().unwrap_or_default()).collect()
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn collect(ct: &CharType, bytes: &[u8], sel: &Selection) -> Vec<Option<Vec<u8>>> {
        let mut out = vec![None; sel.len() as usize];
        extract_char(ct, Geometry::dense(ct.bytes()), bytes, sel, |k, v| out[k] = v.map(<[u8]>::to_vec));
        out
    }

    #[test]
    fn char_roundtrip_and_refusals() {
        let ct = CharType::new(3, true, None).unwrap();
        let mut bytes = vec![0xAAu8; 12];
        let all = Selection::Range { start: 0, len: 3 };
        let vals: Vec<Option<&[u8]>> = vec![Some(b"ab"), Some(b"abc"), Some(b"")];
        replace_char(&ct, Geometry::dense(4), &mut bytes, &all, &vals).unwrap();
        assert_eq!(&bytes, b"ab\0\0abc\0\0\0\0\0");
        assert_eq!(collect(&ct, &bytes, &all), vec![Some(b"ab".to_vec()), Some(b"abc".to_vec()), Some(vec![])]);
        // Too long: refused, nothing written.
        let before = bytes.clone();
        let err = replace_char(&ct, Geometry::dense(4), &mut bytes, &all, &[Some(b"x"), Some(b"abcd")]).unwrap_err();
        assert!(err.to_string().contains("element 2"), "{err}");
        assert_eq!(bytes, before);
        // No NA without a sentinel.
        let err = replace_char(&ct, Geometry::dense(4), &mut bytes, &all, &[None]).unwrap_err();
        assert!(err.to_string().contains("element 1") && err.to_string().contains("has no NA"), "{err}");
    }

    #[test]
    fn sentinel() {
        let ct = CharType::new(4, true, Some(b"NA".to_vec())).unwrap();
        let mut bytes = vec![0u8; 10];
        let all = Selection::Range { start: 0, len: 2 };
        replace_char(&ct, Geometry::dense(5), &mut bytes, &all, &[None, Some(b"N")]).unwrap();
        assert_eq!(collect(&ct, &bytes, &all), vec![None, Some(b"N".to_vec())]);
        assert!(replace_char(&ct, Geometry::dense(5), &mut bytes, &all, &[Some(b"NA")]).is_err());
    }

    #[test]
    fn no_nul_uses_full_width() {
        let ct = CharType::new(2, false, None).unwrap();
        let bytes = b"abc\0".to_vec();
        let all = Selection::Range { start: 0, len: 2 };
        assert_eq!(collect(&ct, &bytes, &all), vec![Some(b"ab".to_vec()), Some(b"c".to_vec())]);
    }

    #[test]
    fn which_is_exact_and_skips_na() {
        use std::cmp::Ordering;
        let ct = CharType::new(3, true, Some(b"NA".to_vec())).unwrap();
        let mut bytes = vec![0u8; 16];
        let all = Selection::Range { start: 0, len: 4 };
        replace_char(&ct, Geometry::dense(4), &mut bytes, &all, &[Some(b"ab"), Some(b"abc"), None, Some(b"b")]).unwrap();
        assert_eq!(which_char(&ct, &bytes, b"ab", |o| o == Ordering::Equal), vec![0]);
        assert_eq!(which_char(&ct, &bytes, b"ab", |o| o != Ordering::Equal), vec![1, 3]);
        assert_eq!(which_char(&ct, &bytes, b"abc", |o| o == Ordering::Less), vec![0]);
        assert_eq!(which_char(&ct, &bytes, b"abc", |o| o == Ordering::Greater), vec![3]);
        let cs = b"ab\0abc\0\0";
        let ix = CIndex::build(cs);
        assert_eq!(ix.which(cs, b"ab", |o| o == Ordering::Equal).unwrap(), vec![0]);
        assert_eq!(ix.which(cs, b"a", |o| o == Ordering::Greater).unwrap(), vec![0, 1]);
        // Many elements: the threaded scan keeps ascending order.
        let ct1 = CharType::new(1, false, None).unwrap();
        let big: Vec<u8> = (0..(1usize << 20) + 7).map(|k| if k % 3 == 0 { b'x' } else { b'y' }).collect();
        let hits = which_char(&ct1, &big, b"x", |o| o == Ordering::Equal);
        assert_eq!(hits.len(), big.len().div_ceil(3));
        assert!(hits.windows(2).all(|w| w[0] + 3 == w[1]));
    }

    #[test]
    fn cindex() {
        let bytes = b"a\0bcd\0\0xy";
        let ix = CIndex::build(bytes);
        assert_eq!(ix.len(), 3);
        assert_eq!(ix.trailing, 2);
        assert_eq!(ix.max_width(), 3);
        let mut out = Vec::new();
        ix.extract(bytes, &Selection::Positions(vec![2, 1, NA_POS]), |_, v| out.push(v.map(<[u8]>::to_vec))).unwrap();
        assert_eq!(out, vec![Some(vec![]), Some(b"bcd".to_vec()), None]);
    }

    #[test]
    fn cstrings_are_written_nul_terminated_and_read_back() {
        let dir = std::env::temp_dir().join(format!("mmap-cstrings-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join("s.bin");
        let values: Vec<Option<&[u8]>> = vec![Some(b"apple"), Some(b""), Some("\u{e9}t\u{e9}".as_bytes())];
        write_cstrings(&path, &values).unwrap();
        let bytes = std::fs::read(&path).unwrap();
        assert_eq!(bytes, b"apple\0\0\xc3\xa9t\xc3\xa9\0");
        let ix = CIndex::build(&bytes);
        assert_eq!(ix.len(), 3);
        let mut back = Vec::new();
        ix.extract(&bytes, &Selection::Range { start: 0, len: 3 }, |_, t| back.push(t.map(<[u8]>::to_vec))).unwrap();
        assert_eq!(back, values.iter().map(|v| v.map(<[u8]>::to_vec)).collect::<Vec<_>>());

        // An NA is refused before the file is touched.
        let e = write_cstrings(&path, &[Some(b"x"), None]).unwrap_err();
        assert_eq!(e.class(), "mmap_error_value");
        assert!(e.to_string().contains("element 2"), "{e}");
        assert_eq!(std::fs::read(&path).unwrap(), bytes);
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
