//! Every comparison against an oracle that decides it as R does on the
//! extracted vector, for every type, byte order, sentinel and operator.

use super::bits::compare_bits_with;
use super::dispatch::compare_with;
use super::hits::{Part, PART_MAX};
use super::*;
use crate::ctype::{Ctype, Endian, Kind};
use crate::strings::CIndex;
use crate::codec::{self, InBuf, OutBuf, NA_INT};
use crate::ctype::RKind;
use crate::index::Selection;
use std::cmp::Ordering;

/// An element as R sees it after extraction, in exact terms.
#[derive(Clone, Copy, Debug)]
enum Val {
    Na,
    Int(i128),
    Real(f64),
    Cplx(f64, f64),
}

fn decode_all(ctype: &Ctype, bytes: &[u8]) -> Vec<Val> {
    let n = bytes.len() / ctype.bytes();
    let sel = Selection::Range { start: 0, len: n as u64 };
    match ctype.info().rkind {
        RKind::Raw => {
            let mut o = vec![0u8; n];
            codec::extract(ctype, bytes, &sel, OutBuf::Raw(&mut o)).unwrap();
            o.into_iter().map(|v| Val::Int(v as i128)).collect()
        }
        RKind::Integer | RKind::Logical => {
            let mut o = vec![0i32; n];
            let out = if ctype.info().rkind == RKind::Integer {
                OutBuf::Integer(&mut o)
            } else {
                OutBuf::Logical(&mut o)
            };
            codec::extract(ctype, bytes, &sel, out).unwrap();
            o.into_iter().map(|v| if v == NA_INT { Val::Na } else { Val::Int(v as i128) }).collect()
        }
        RKind::Double => {
            let mut o = vec![0f64; n];
            codec::extract(ctype, bytes, &sel, OutBuf::Double(&mut o)).unwrap();
            o.into_iter()
                .map(|v| {
                    if v.is_nan() {
                        Val::Na
                    } else if ctype.kind == Kind::UInt32 {
                        Val::Int(v as i128)
                    } else {
                        Val::Real(v)
                    }
                })
                .collect()
        }
        RKind::Integer64 => {
            let mut o = vec![0i64; n];
            codec::extract(ctype, bytes, &sel, OutBuf::Int64(&mut o)).unwrap();
            o.into_iter().map(|v| if v == i64::MIN { Val::Na } else { Val::Int(v as i128) }).collect()
        }
        RKind::Complex => {
            let mut o = vec![[0f64; 2]; n];
            codec::extract(ctype, bytes, &sel, OutBuf::Complex(&mut o)).unwrap();
            o.into_iter().map(|[re, im]| Val::Cplx(re, im)).collect()
        }
    }
}

/// Exact order of an integer against a double, by a different route than
/// the code under test (floor and fraction, not ceil/floor bounds).
fn cmp_int_real(x: i128, t: f64) -> Option<Ordering> {
    if t.is_nan() {
        return None;
    }
    if t.abs() >= 2f64.powi(100) {
        return Some(if t > 0.0 { Ordering::Less } else { Ordering::Greater });
    }
    let fl = t.floor();
    Some(match x.cmp(&(fl as i128)) {
        Ordering::Equal if t > fl => Ordering::Less,
        other => other,
    })
}

fn order(v: Val, s: &Scalar) -> Option<Ordering> {
    match (v, s) {
        (Val::Na, _) | (_, Scalar::Na) => None,
        (Val::Int(x), Scalar::Int(y)) => Some(x.cmp(&(*y as i128))),
        (Val::Int(x), Scalar::Real(t)) => cmp_int_real(x, *t),
        (Val::Real(x), Scalar::Int(y)) => cmp_int_real(*y as i128, x).map(Ordering::reverse),
        (Val::Real(x), Scalar::Real(t)) => x.partial_cmp(t),
        _ => None,
    }
}

/// Equality where complex numbers are involved: `None` is NA.
fn cplx_eq(v: Val, s: &Scalar) -> Option<bool> {
    let real_eq = |v: Val, re: f64| match v {
        Val::Int(x) => cmp_int_real(x, re).map(|o| o == Ordering::Equal),
        Val::Real(x) => (!x.is_nan() && !re.is_nan()).then_some(x == re),
        _ => None,
    };
    match (v, s) {
        (Val::Na, _) | (_, Scalar::Na) => None,
        (Val::Cplx(a, b), _) if a.is_nan() || b.is_nan() => None,
        (Val::Cplx(a, b), Scalar::Int(y)) => cmp_int_real(*y as i128, a).map(|o| o == Ordering::Equal && b == 0.0),
        (Val::Cplx(a, b), Scalar::Real(t)) => (!t.is_nan()).then_some(a == *t && b == 0.0),
        (Val::Cplx(a, b), Scalar::Cplx(c, d)) => (!c.is_nan() && !d.is_nan()).then_some(a == *c && b == *d),
        (_, Scalar::Cplx(c, d)) if c.is_nan() || d.is_nan() => None,
        (v, Scalar::Cplx(c, d)) => {
            if *d != 0.0 {
                Some(false)
            } else {
                real_eq(v, *c)
            }
        }
        _ => unreachable!(),
    }
}

/// What `which(x <op> s)` gives in R; `None` when R's answer is an error.
fn oracle(vals: &[Val], op: Op, s: &Scalar, ctype: &Ctype) -> Option<Vec<u64>> {
    let complex = ctype.kind == Kind::Cplx || matches!(s, Scalar::Cplx(..));
    if matches!(s, Scalar::Str(_)) || (complex && op.is_ordering()) {
        return None;
    }
    let hit = |v: Val| -> bool {
        if complex {
            match op {
                Op::Eq => cplx_eq(v, s) == Some(true),
                Op::Ne => cplx_eq(v, s) == Some(false),
                _ => unreachable!(),
            }
        } else {
            match order(v, s) {
                None => false,
                Some(o) => match op {
                    Op::Eq => o == Ordering::Equal,
                    Op::Ne => o != Ordering::Equal,
                    Op::Lt => o == Ordering::Less,
                    Op::Le => o != Ordering::Greater,
                    Op::Gt => o == Ordering::Greater,
                    Op::Ge => o != Ordering::Less,
                },
            }
        }
    };
    Some(vals.iter().enumerate().filter(|(_, v)| hit(**v)).map(|(k, _)| k as u64).collect())
}

fn scalars() -> Vec<Scalar> {
    let mut s = vec![Scalar::Na, Scalar::Str(b"10".to_vec())];
    let ints: [i64; 30] = [
        -8388609, -32769, -129, -128, -127, -1, 0, 1, 2, 9, 10, 11, 100, 127, 128, 255, 256,
        32767, 65535, 8388607, 16777215, 2147483647, -2147483647, 4294967295, 4294967296,
        1 << 53, (1 << 53) + 1, -(1 << 53) - 1, i64::MAX, i64::MIN + 1,
    ];
    s.extend(ints.iter().map(|&v| Scalar::Int(v)));
    let reals = [
        f64::NAN, f64::INFINITY, f64::NEG_INFINITY, 10.5, -10.5, 0.5, -0.5, 0.0, -0.0, 10.0,
        9.999, 1e300, -1e300, 127.5, -128.5, 255.5, 4294967295.5, 9007199254740992.0,
        9007199254740994.0, 9.223372036854776e18, -9.223372036854776e18, 0.1, 16777216.0,
        1.5e-320,
    ];
    s.extend(reals.iter().map(|&v| Scalar::Real(v)));
    s.extend([
        Scalar::Cplx(10.0, 0.0),
        Scalar::Cplx(10.0, 1.0),
        Scalar::Cplx(f64::NAN, 0.0),
        Scalar::Cplx(1.0, 0.0),
        Scalar::Cplx(-10.5, 0.0),
    ]);
    s
}

/// A small pseudo-random generator, so tests need no dependency.
struct Lcg(u64);
impl Lcg {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
        self.0 >> 11
    }
}

/// A mapping's bytes holding `values` (and NA where the type has one).
fn int_bytes(ctype: &Ctype, extra_random: usize) -> Vec<u8> {
    let info = ctype.info();
    let (min, max) = if ctype.kind == Kind::UChar { (0, 255) } else { (info.min, info.max) };
    let mut values: Vec<i64> = vec![
        min, min + 1, -129, -128, -2, -1, 0, 1, 2, 9, 10, 11, 99, 100, 101, 127, 128, 255,
        256, 1 << 53, (1 << 53) + 1, (1 << 53) - 1, -(1 << 53) - 1, max - 1, max,
    ];
    let mut rng = Lcg(ctype.kind as u64 + 7);
    let span = (max as i128 - min as i128 + 1) as u128;
    for _ in 0..extra_random {
        values.push((min as i128 + (rng.next() as u128 % span) as i128) as i64);
        values.push((rng.next() % 201) as i64 - 100);
    }
    values.retain(|&v| v >= min && v <= max && Some(v) != ctype.sentinel);
    let mut with_na: Vec<i64> = Vec::new();
    for (k, v) in values.into_iter().enumerate() {
        if ctype.has_na() && k % 5 == 3 {
            with_na.push(i64::MIN);
        }
        with_na.push(v);
    }
    let mut bytes = vec![0u8; with_na.len() * ctype.bytes()];
    let sel = Selection::Range { start: 0, len: with_na.len() as u64 };
    if ctype.kind == Kind::UChar {
        let raw: Vec<u8> = with_na.iter().map(|&v| v as u8).collect();
        codec::replace(ctype, &mut bytes, &sel, InBuf::Raw(&raw)).unwrap();
    } else {
        codec::replace(ctype, &mut bytes, &sel, InBuf::Int64(&with_na)).unwrap();
    }
    bytes
}

fn real_bytes(ctype: &Ctype) -> Vec<u8> {
    let na = codec::na_real();
    let mut values = vec![
        na, f64::NAN, f64::INFINITY, f64::NEG_INFINITY, -0.0, 0.0, 0.5, -0.5, 1.0, 9.5, 9.999,
        10.0, 10.5, -10.5, -10.0, 11.0, 99.0, 100.0, 127.5, 0.1, 16777216.0, 16777218.0,
        9007199254740992.0, 9007199254740994.0, -9007199254740994.0, 1.5e-320, 3.0e38,
        -3.0e38, 4294967295.0, 9.223372036854776e18,
    ];
    if ctype.kind == Kind::Real64 {
        values.extend([1e300, -1e300, f64::MAX, f64::MIN_POSITIVE]);
    }
    let mut rng = Lcg(3);
    for _ in 0..200 {
        values.push((rng.next() % 4001) as f64 / 100.0 - 20.0);
    }
    let mut bytes = vec![0u8; values.len() * ctype.bytes()];
    let sel = Selection::Range { start: 0, len: values.len() as u64 };
    codec::replace(ctype, &mut bytes, &sel, InBuf::Double(&values)).unwrap();
    bytes
}

fn cplx_bytes(ctype: &Ctype) -> Vec<u8> {
    let na = codec::na_real();
    let values = [
        [1.0, 0.0], [1.0, 1.0], [na, na], [f64::NAN, 0.0], [0.0, f64::NAN], [10.0, 0.0],
        [10.0, 1.0], [-10.5, 0.0], [9007199254740992.0, 0.0], [0.0, 0.0], [-0.0, 0.0],
        [10.0, -0.0],
    ];
    let mut bytes = vec![0u8; values.len() * 16];
    let sel = Selection::Range { start: 0, len: values.len() as u64 };
    codec::replace(ctype, &mut bytes, &sel, InBuf::Complex(&values)).unwrap();
    bytes
}

fn logi_bytes(ctype: &Ctype) -> Vec<u8> {
    let values = [0, 1, NA_INT, 1, 0, NA_INT, 0];
    let mut bytes = vec![0u8; values.len() * ctype.bytes()];
    let sel = Selection::Range { start: 0, len: values.len() as u64 };
    codec::replace(ctype, &mut bytes, &sel, InBuf::Logical(&values)).unwrap();
    // Other non-zero patterns read as TRUE.
    if ctype.kind == Kind::Logi8 {
        bytes.extend([2u8, 0x7F, 0xFF, 0x81, 0x80, 0]);
    } else {
        for v in [5i32, -1, i32::MAX, i32::MIN + 1] {
            bytes.extend(match ctype.endian {
                Endian::Little => v.to_le_bytes(),
                Endian::Big => v.to_be_bytes(),
            });
        }
    }
    bytes
}

fn check(ctype: &Ctype, bytes: &[u8]) {
    let vals = decode_all(ctype, bytes);
    for op in Op::ALL {
        for s in scalars() {
            let want = oracle(&vals, op, &s, ctype);
            for min_parallel in [usize::MAX, 0] {
                let got = compare_with(ctype, bytes, op, &s, min_parallel);
                match (&want, got) {
                    (None, Err(e)) => assert_eq!(e.class(), "mmap_error_type"),
                    (Some(w), Ok(g)) => assert_eq!(
                        &g.to_vec(),
                        w,
                        "{} {} {:?} {:?}; data {:?}",
                        ctype.name(),
                        ctype.endian.name(),
                        op,
                        s,
                        vals
                    ),
                    (w, g) => panic!("{} {:?} {:?}: want {:?}, got {:?}", ctype.name(), op, s, w, g),
                }
            }
        }
    }
}

fn ctypes() -> Vec<Ctype> {
    let mut out = Vec::new();
    for row in crate::ctype::table() {
        for endian in [Endian::Little, Endian::Big] {
            out.push(Ctype::new(row.kind, endian, None).unwrap());
            if row.na_rule == crate::ctype::NaRule::Sentinel {
                for s in [row.min, 10, row.max] {
                    out.push(Ctype::new(row.kind, endian, Some(s)).unwrap());
                }
            }
        }
    }
    out
}

#[test]
fn every_type_endian_and_op_matches_the_oracle() {
    let mut seen = 0;
    for ctype in ctypes() {
        let bytes = match ctype.kind {
            Kind::Real32 | Kind::Real64 => real_bytes(&ctype),
            Kind::Cplx => cplx_bytes(&ctype),
            Kind::Logi8 | Kind::Logi32 => logi_bytes(&ctype),
            _ => int_bytes(&ctype, 150),
        };
        check(&ctype, &bytes);
        seen += 1;
    }
    assert!(seen >= 2 * 15);
}

fn int32(endian: Endian) -> Ctype {
    Ctype::new(Kind::Int32, endian, None).unwrap()
}

fn bytes_i32(values: &[i32], endian: Endian) -> Vec<u8> {
    values
        .iter()
        .flat_map(|v| match endian {
            Endian::Little => v.to_le_bytes(),
            Endian::Big => v.to_be_bytes(),
        })
        .collect()
}

#[test]
fn known_answers() {
    let t = int32(Endian::Little);
    let b = bytes_i32(&[5, 10, 11, NA_INT, -3, 10], Endian::Little);
    let run = |op, s: Scalar| compare(&t, &b, op, &s).unwrap().to_vec();
    assert_eq!(run(Op::Lt, Scalar::Real(10.5)), vec![0, 1, 4, 5]); // 10 is below 10.5
    assert_eq!(run(Op::Lt, Scalar::Int(10)), vec![0, 4]);
    assert_eq!(run(Op::Eq, Scalar::Real(10.5)), Vec::<u64>::new());
    assert_eq!(run(Op::Ne, Scalar::Real(10.5)), vec![0, 1, 2, 4, 5]); // NA never matches
    assert_eq!(run(Op::Ne, Scalar::Na), Vec::<u64>::new());
    assert_eq!(run(Op::Ge, Scalar::Real(f64::NEG_INFINITY)), vec![0, 1, 2, 4, 5]);
    // `10 > m` is `m < 10`.
    assert_eq!(run(Op::Gt.swapped(), Scalar::Int(10)), run(Op::Lt, Scalar::Int(10)));
    // Big-endian data read as big-endian.
    let tb = int32(Endian::Big);
    let bb = bytes_i32(&[5, 10, 11, NA_INT, -3, 10], Endian::Big);
    assert_eq!(compare(&tb, &bb, Op::Lt, &Scalar::Int(10)).unwrap().to_vec(), vec![0, 4]);
    // Signed int8: 0xFF is -1, below 0.
    let i8t = Ctype::new(Kind::Int8, Endian::Little, None).unwrap();
    assert_eq!(compare(&i8t, &[0xFF, 1, 0x80], Op::Lt, &Scalar::Int(0)).unwrap().to_vec(), vec![0, 2]);
    // int64 beyond 2^53, exact against both integers and doubles.
    let i64t = Ctype::new(Kind::Int64, Endian::Little, None).unwrap();
    let big: Vec<u8> = [(1i64 << 53), (1 << 53) + 1, (1 << 53) + 2].iter().flat_map(|v| v.to_le_bytes()).collect();
    assert_eq!(compare(&i64t, &big, Op::Eq, &Scalar::Int((1 << 53) + 1)).unwrap().to_vec(), vec![1]);
    assert_eq!(compare(&i64t, &big, Op::Gt, &Scalar::Real(9007199254740992.0)).unwrap().to_vec(), vec![1, 2]);
    // real64 against an integer64 that no double holds.
    let r64 = Ctype::new(Kind::Real64, Endian::Little, None).unwrap();
    let d: Vec<u8> = [9007199254740992.0f64, 9007199254740994.0].iter().flat_map(|v| v.to_le_bytes()).collect();
    assert_eq!(compare(&r64, &d, Op::Lt, &Scalar::Int((1 << 53) + 1)).unwrap().to_vec(), vec![0]);
    assert_eq!(compare(&r64, &d, Op::Eq, &Scalar::Int((1 << 53) + 1)).unwrap().to_vec(), Vec::<u64>::new());
    assert_eq!(compare(&r64, &d, Op::Ne, &Scalar::Int((1 << 53) + 1)).unwrap().to_vec(), vec![0, 1]);
}

#[test]
fn unsupported_combinations_are_type_errors() {
    let c = Ctype::new(Kind::Cplx, Endian::Little, None).unwrap();
    let e = compare(&c, &[0u8; 16], Op::Lt, &Scalar::Int(1)).unwrap_err();
    assert_eq!(e.class(), "mmap_error_type");
    assert!(e.to_string().contains("only == and !="), "{e}");
    let t = int32(Endian::Little);
    let e = compare(&t, &[0u8; 4], Op::Eq, &Scalar::Str(b"a".to_vec())).unwrap_err();
    assert!(e.to_string().contains("int32") && e.to_string().contains("string"), "{e}");
    let e = compare(&t, &[0u8; 4], Op::Le, &Scalar::Cplx(1.0, 0.0)).unwrap_err();
    assert!(e.to_string().contains("only == and !="), "{e}");
    assert!(Op::parse("+").is_err());
    for op in Op::ALL {
        assert_eq!(Op::parse(op.symbol()).unwrap(), op);
        assert_eq!(op.swapped().swapped(), op);
    }
}

#[test]
fn swapped_operands_match_the_oracle() {
    // `s <op> x` for every element equals `x <op.swapped()> s`.
    let t = Ctype::new(Kind::Int16, Endian::Big, None).unwrap();
    let bytes = int_bytes(&t, 20);
    let vals = decode_all(&t, &bytes);
    for op in Op::ALL {
        for s in [Scalar::Int(10), Scalar::Real(-0.5), Scalar::Real(127.5)] {
            let want: Vec<u64> = vals
                .iter()
                .enumerate()
                .filter(|(_, v)| match order(**v, &s).map(Ordering::reverse) {
                    None => false,
                    Some(o) => match op {
                        Op::Eq => o.is_eq(),
                        Op::Ne => o.is_ne(),
                        Op::Lt => o.is_lt(),
                        Op::Le => o.is_le(),
                        Op::Gt => o.is_gt(),
                        Op::Ge => o.is_ge(),
                    },
                })
                .map(|(k, _)| k as u64)
                .collect();
            assert_eq!(compare(&t, &bytes, op.swapped(), &s).unwrap().to_vec(), want, "{op:?} {s:?}");
        }
    }
}

#[test]
fn threads_split_and_rejoin_in_order() {
    // Odd lengths: blocks of 64, remainders, chunk edges.
    for n in [0usize, 1, 63, 64, 65, 127, 129, 1000, 4099, 100_003] {
        let mut rng = Lcg(n as u64);
        let values: Vec<i32> = (0..n).map(|_| (rng.next() % 1000) as i32 - 10).collect();
        for endian in [Endian::Little, Endian::Big] {
            let t = int32(endian);
            let b = bytes_i32(&values, endian);
            let want: Vec<u64> = values.iter().enumerate().filter(|(_, &v)| v < 100).map(|(k, _)| k as u64).collect();
            for min_parallel in [0, 64, usize::MAX] {
                let hits = compare_with(&t, &b, Op::Lt, &Scalar::Int(100), min_parallel).unwrap();
                assert_eq!(hits.to_vec(), want);
                assert_eq!(hits.len(), want.len() as u64);
                assert_eq!(hits.last(), want.last().copied());
                let mut one = vec![0i32; want.len()];
                hits.fill_one_based_i32(&mut one).unwrap();
                assert!(one.iter().zip(&want).all(|(&a, &w)| a as u64 == w + 1));
                let mut dbl = vec![0f64; want.len()];
                hits.fill_one_based_f64(&mut dbl).unwrap();
                assert!(dbl.iter().zip(&want).all(|(&a, &w)| a == (w + 1) as f64));
                assert!(hits.fill_one_based_f64(&mut vec![0.0; want.len() + 1]).is_err());
            }
        }
    }
}

#[test]
fn parts_beyond_32_bit_offsets_keep_their_base() {
    let h = Hits {
        parts: vec![
            Part { base: 0, offsets: vec![1, 5] },
            Part { base: 1 << 31, offsets: vec![] },
            Part { base: 1 << 32, offsets: vec![0, 7] },
        ],
    };
    assert_eq!(h.to_vec(), vec![1, 5, 1 << 32, (1 << 32) + 7]);
    assert_eq!(h.last(), Some((1 << 32) + 7));
    assert!(h.fill_one_based_i32(&mut [0; 4]).is_err());
    let mut d = [0.0; 4];
    h.fill_one_based_f64(&mut d).unwrap();
    assert_eq!(d[2], (1u64 << 32) as f64 + 1.0);
}

// -----------------------------------------------------------------------
// Strings and bits

use crate::layout::CharType as Ct;

/// What R gives for `which(x <op> v)` on strings compared in byte order
/// (R in the C collation): a naive loop over decoded texts.
fn string_oracle(texts: &[Option<Vec<u8>>], op: Op, v: Option<&[u8]>) -> Vec<u64> {
    let Some(v) = v else { return Vec::new() };
    texts
        .iter()
        .enumerate()
        .filter(|(_, t)| {
            t.as_deref().is_some_and(|t| match op {
                Op::Eq => t == v,
                Op::Ne => t != v,
                Op::Lt => t < v,
                Op::Le => t <= v,
                Op::Gt => t > v,
                Op::Ge => t >= v,
            })
        })
        .map(|(k, _)| k as u64)
        .collect()
}

fn string_values() -> Vec<Vec<u8>> {
    let mut v: Vec<Vec<u8>> = ["", "a", "ab", "abc", "abd", "abcd", "b", "B", "NA", "N", "zz", "ab ", "\u{e9}", "e\u{301}", "\u{1F600}x"]
        .iter()
        .map(|s| s.as_bytes().to_vec())
        .collect();
    v.push(vec![0xFF, b'a']); // not UTF-8: still bytes in order
    v.push(vec![0x7F]);
    v
}

#[test]
fn char_matches_the_byte_order_oracle() {
    let values = string_values();
    let mut rng = Lcg(11);
    for (width, nul, na) in [
        (3, true, None),
        (4, true, Some(b"NA".to_vec())),
        (4, false, None),
        (5, false, Some(b"NA".to_vec())),
        (1, false, None),
    ] {
        let ct = Ct::new(width, nul, na.clone()).unwrap();
        let size = ct.bytes();
        let mut bytes = Vec::new();
        let mut texts = Vec::new();
        for k in 0..300 {
            let mut slot = vec![0u8; size];
            let pick = &values[(rng.next() as usize + k) % values.len()];
            let text = if pick.len() <= width && !(na.is_some() && k % 7 == 0) { pick.clone() } else { b"".to_vec() };
            slot[..text.len()].copy_from_slice(&text);
            // Garbage after the terminator is not part of the text.
            if text.len() + 1 < size {
                slot[text.len() + 1] = b'q';
            }
            let decoded = if na.as_deref() == Some(&text[..]) || (na.is_some() && k % 7 == 0) {
                if let Some(na) = &na {
                    slot = vec![0u8; size];
                    slot[..na.len()].copy_from_slice(na);
                }
                None
            } else {
                Some(text)
            };
            bytes.extend(slot);
            texts.push(decoded);
        }
        // A partial element at the end is not an element.
        bytes.extend(std::iter::repeat_n(b'a', size - 1));
        for op in Op::ALL {
            for v in values.iter().map(|v| Some(&v[..])).chain([None, Some(&b"abcdefgh"[..])]) {
                let s = v.map_or(Scalar::Na, |v| Scalar::Str(v.to_vec()));
                let got = compare_char(&ct, &bytes, op, &s).unwrap().to_vec();
                assert_eq!(got, string_oracle(&texts, op, v), "{} {op:?} {s:?}", ct.name());
            }
        }
    }
}

#[test]
fn char_is_exact_not_a_prefix_match() {
    // The CRAN fault: `==` matched "abc" for "ab" and `!=` acted like `==`.
    let ct = Ct::new(4, true, Some(b"NA".to_vec())).unwrap();
    let bytes = b"ab\0\0\0abc\0\0NA\0\0\0\0\0\0\0\0a\0\0\0\0".to_vec();
    let run = |op, v: &[u8]| compare_char(&ct, &bytes, op, &Scalar::Str(v.to_vec())).unwrap().to_vec();
    assert_eq!(run(Op::Eq, b"ab"), vec![0]);
    assert_eq!(run(Op::Ne, b"ab"), vec![1, 3, 4]); // NA (element 2) is skipped
    assert_eq!(run(Op::Eq, b""), vec![3]);
    assert_eq!(run(Op::Lt, b"ab"), vec![3, 4]);
    assert_eq!(run(Op::Ge, b"ab"), vec![0, 1]);
    assert_eq!(run(Op::Gt, b"abc"), Vec::<u64>::new());
    assert_eq!(compare_char(&ct, &bytes, Op::Ne, &Scalar::Na).unwrap().to_vec(), Vec::<u64>::new());
    for bad in [Scalar::Int(1), Scalar::Real(1.5), Scalar::Cplx(1.0, 0.0)] {
        let e = compare_char(&ct, &bytes, Op::Eq, &bad).unwrap_err();
        assert_eq!(e.class(), "mmap_error_type");
        assert!(e.to_string().contains("char(4)") && e.to_string().contains("string"), "{e}");
    }
}

#[test]
fn cstring_matches_the_byte_order_oracle() {
    let values = string_values();
    let mut rng = Lcg(5);
    let mut bytes = Vec::new();
    let mut texts = Vec::new();
    for _ in 0..500 {
        let v = values[rng.next() as usize % values.len()].clone();
        bytes.extend(&v);
        bytes.push(0);
        texts.push(Some(v));
    }
    bytes.extend(b"tail"); // unterminated: not a string
    let ix = CIndex::build(&bytes);
    for op in Op::ALL {
        for v in values.iter().map(|v| Some(&v[..])).chain([None]) {
            let s = v.map_or(Scalar::Na, |v| Scalar::Str(v.to_vec()));
            let got = compare_cstring(&ix, &bytes, op, &s).unwrap().to_vec();
            assert_eq!(got, string_oracle(&texts, op, v), "{op:?} {s:?}");
        }
    }
    assert_eq!(compare_cstring(&ix, &bytes, Op::Eq, &Scalar::Int(1)).unwrap_err().class(), "mmap_error_type");
    // A stale index is refused, not read out of bounds.
    assert!(compare_cstring(&ix, &bytes[..10], Op::Eq, &Scalar::Str(b"a".to_vec())).is_err());
}

#[test]
fn bits_match_the_logical_oracle() {
    let logi = Ctype::new(Kind::Logi32, Endian::Little, None).unwrap();
    let mut rng = Lcg(9);
    for words in [0usize, 1, 2, 3, 33, 257] {
        let mut bytes: Vec<u8> = (0..words * 4).map(|_| rng.next() as u8).collect();
        if words > 2 {
            bytes[0..4].copy_from_slice(&[0xFF; 4]);
            bytes[4..8].copy_from_slice(&[0; 4]);
        }
        for endian in [Endian::Little, Endian::Big] {
            for n in [words as u64 * 32, (words as u64 * 32).saturating_sub(5)] {
                let vals: Vec<Val> = (0..n as usize)
                    .map(|k| {
                        let b = &bytes[k / 32 * 4..k / 32 * 4 + 4];
                        let b = [b[0], b[1], b[2], b[3]];
                        let w = match endian {
                            Endian::Little => u32::from_le_bytes(b),
                            Endian::Big => u32::from_be_bytes(b),
                        };
                        Val::Int(((w >> (k % 32)) & 1) as i128)
                    })
                    .collect();
                let values = [
                    Scalar::Int(0), Scalar::Int(1), Scalar::Int(2), Scalar::Int(-1), Scalar::Real(0.5),
                    Scalar::Real(1.0), Scalar::Real(f64::NAN), Scalar::Na, Scalar::Cplx(1.0, 0.0),
                    Scalar::Cplx(1.0, 1.0), Scalar::Str(b"TRUE".to_vec()),
                ];
                for op in Op::ALL {
                    for s in &values {
                        let want = oracle(&vals, op, s, &logi);
                        for min_parallel in [usize::MAX, 0, 8] {
                            let got = compare_bits_with(endian, &bytes, n, op, s, min_parallel);
                            match (&want, got) {
                                (None, Err(e)) => assert_eq!(e.class(), "mmap_error_type"),
                                (Some(w), Ok(g)) => assert_eq!(&g.to_vec(), w, "{endian:?} n={n} {op:?} {s:?}"),
                                (w, g) => panic!("{op:?} {s:?}: want {w:?}, got {g:?}"),
                            }
                        }
                    }
                }
            }
        }
    }
}

#[test]
fn bits_address_each_bit_of_each_word() {
    // The CRAN fault: words addressed by byte offset, so elements 9 and 33
    // (1-based) shared a bit. Here element 33 is bit 0 of word 1.
    let mut bytes = vec![0u8; 8];
    bytes[0] = 1 << 1; // element 2 (1-based)
    bytes[4] = 1; // element 33
    let t = compare_bits(Endian::Little, &bytes, 64, Op::Eq, &Scalar::Int(1)).unwrap();
    assert_eq!(t.to_vec(), vec![1, 32]);
    let f = compare_bits(Endian::Little, &bytes, 64, Op::Ne, &Scalar::Int(1)).unwrap();
    assert_eq!(f.len(), 62);
    assert!(!f.to_vec().contains(&32) && f.to_vec().contains(&8));
    // Big-endian words: the low bit is in the last byte.
    let be = compare_bits(Endian::Big, &[0, 0, 0, 1], 32, Op::Eq, &Scalar::Int(1)).unwrap();
    assert_eq!(be.to_vec(), vec![0]);
    assert!(compare_bits(Endian::Little, &[0; 4], 64, Op::Eq, &Scalar::Int(1)).is_err());
}

#[test]
fn hits_from_positions_split_at_part_boundaries() {
    let p = vec![0, 5, PART_MAX as u64 - 1, PART_MAX as u64, 3 * PART_MAX as u64 + 2];
    let h = Hits::from_positions(&p);
    assert_eq!(h.to_vec(), p);
    assert_eq!(h.parts.len(), 3);
    assert!(Hits::from_positions(&[]).is_empty());
}

#[test]
fn raw_compares_with_a_logical_as_a_logical_and_others_as_numbers() {
    // R: as.raw(c(0, 1, 7)) == TRUE is FALSE TRUE TRUE; 7L == TRUE is FALSE.
    let raw = Ctype::new(Kind::UChar, Endian::Little, None).unwrap();
    let bytes = [0u8, 1, 7, 0, 255];
    let truthy = |b: u8| u8::from(b != 0);
    for op in Op::ALL {
        for v in [false, true] {
            let want: Vec<u64> = (0..bytes.len() as u64)
                .filter(|&k| {
                    let x = truthy(bytes[k as usize]);
                    let v = u8::from(v);
                    match op {
                        Op::Eq => x == v,
                        Op::Ne => x != v,
                        Op::Lt => x < v,
                        Op::Le => x <= v,
                        Op::Gt => x > v,
                        Op::Ge => x >= v,
                    }
                })
                .collect();
            assert_eq!(compare(&raw, &bytes, op, &Scalar::Lgl(v)).unwrap().to_vec(), want, "{op:?} {v}");
        }
    }
    // Numbers compare with the byte's value; other types read TRUE as 1.
    assert_eq!(compare(&raw, &bytes, Op::Eq, &Scalar::Int(7)).unwrap().to_vec(), vec![2]);
    let int16 = Ctype::new(Kind::Int16, Endian::Little, None).unwrap();
    let ints: Vec<u8> = [0i16, 1, 7].iter().flat_map(|x| x.to_le_bytes()).collect();
    assert_eq!(compare(&int16, &ints, Op::Eq, &Scalar::Lgl(true)).unwrap().to_vec(), vec![1]);
}
