//! Every scalar type of the table, in both byte orders: values written through
//! `replace` read back through `extract`, bytes match a hand-written oracle,
//! NA follows the type's rule and out-of-range values leave the bytes untouched.

use mmapcore::codec::{self, InBuf, OutBuf, NA_INT};
use mmapcore::ctype::{table, Ctype, Endian, Kind, NaRule, RKind};
use mmapcore::index::Selection;
use mmapcore::MmError;

fn all(n: usize) -> Selection {
    Selection::Range { start: 0, len: n as u64 }
}

/// Reads back as f64 whatever the R representation is (NA as None).
fn read_back(t: &Ctype, bytes: &[u8], n: usize) -> Vec<Option<f64>> {
    let sel = all(n);
    match t.info().rkind {
        RKind::Integer | RKind::Logical => {
            let mut o = vec![0i32; n];
            let out = if t.info().rkind == RKind::Integer { OutBuf::Integer(&mut o) } else { OutBuf::Logical(&mut o) };
            codec::extract(t, bytes, &sel, out).unwrap();
            o.into_iter().map(|v| (v != NA_INT).then_some(v as f64)).collect()
        }
        RKind::Double => {
            let mut o = vec![0f64; n];
            codec::extract(t, bytes, &sel, OutBuf::Double(&mut o)).unwrap();
            o.into_iter().map(|v| (!codec::is_r_na(v)).then_some(v)).collect()
        }
        RKind::Integer64 => {
            let mut o = vec![0i64; n];
            codec::extract(t, bytes, &sel, OutBuf::Int64(&mut o)).unwrap();
            o.into_iter().map(|v| (v != i64::MIN).then_some(v as f64)).collect()
        }
        RKind::Raw => {
            let mut o = vec![0u8; n];
            codec::extract(t, bytes, &sel, OutBuf::Raw(&mut o)).unwrap();
            o.into_iter().map(|v| Some(v as f64)).collect()
        }
        RKind::Complex => {
            let mut o = vec![[0f64; 2]; n];
            codec::extract(t, bytes, &sel, OutBuf::Complex(&mut o)).unwrap();
            o.into_iter().map(|v| (!codec::is_r_na(v[0])).then_some(v[0])).collect()
        }
    }
}

fn sample_values(kind: Kind) -> Vec<f64> {
    let info = kind.info();
    match kind {
        Kind::Real32 => vec![0.0, 1.5, -2.25, 2f64.powi(100)],
        Kind::Real64 | Kind::Cplx => vec![0.0, 1.5, -1e300, 4.0],
        Kind::Logi8 | Kind::Logi32 => vec![0.0, 1.0, 1.0, 0.0],
        Kind::Int64 => vec![0.0, -5.0, 9.0e15, 1.0],
        _ => vec![info.min as f64, info.max as f64, 0.0, if info.min < 0 { -1.0 } else { 1.0 }],
    }
}

#[test]
fn every_type_round_trips_in_both_byte_orders() {
    for row in table() {
        for endian in [Endian::Little, Endian::Big] {
            let t = Ctype::new(row.kind, endian, None).unwrap();
            let values = sample_values(row.kind);
            let mut bytes = vec![0u8; values.len() * row.bytes];
            codec::replace(&t, &mut bytes, &all(values.len()), InBuf::Double(&values)).unwrap();
            let back = read_back(&t, &bytes, values.len());
            let expected: Vec<Option<f64>> = values.iter().map(|&v| Some(v)).collect();
            assert_eq!(back, expected, "{} {:?}", row.name, endian);
        }
    }
}

#[test]
fn byte_order_is_visible_on_disk() {
    let values = [0x0102 as f64];
    for (endian, want) in [(Endian::Little, [2u8, 1]), (Endian::Big, [1u8, 2])] {
        let t = Ctype::new(Kind::Int16, endian, None).unwrap();
        let mut bytes = vec![0u8; 2];
        codec::replace(&t, &mut bytes, &all(1), InBuf::Double(&values)).unwrap();
        assert_eq!(bytes, want);
    }
    // Signed types keep their sign in big-endian (a CRAN mmap fault).
    let t = Ctype::new(Kind::Int16, Endian::Big, None).unwrap();
    let bytes = [0xFFu8, 0xFE];
    assert_eq!(read_back(&t, &bytes, 1), vec![Some(-2.0)]);
    let t = Ctype::new(Kind::Int64, Endian::Big, None).unwrap();
    let bytes = (-3i64).to_be_bytes();
    assert_eq!(read_back(&t, &bytes, 1), vec![Some(-3.0)]);
    let t = Ctype::new(Kind::Int8, Endian::Little, None).unwrap();
    assert_eq!(read_back(&t, &[0x80], 1), vec![Some(-128.0)]);
}

#[test]
fn na_follows_each_types_rule() {
    let na = [codec::na_real()];
    for row in table() {
        for endian in [Endian::Little, Endian::Big] {
            let t = Ctype::new(row.kind, endian, None).unwrap();
            let mut bytes = vec![0x11u8; row.bytes];
            let result = codec::replace(&t, &mut bytes, &all(1), InBuf::Double(&na));
            match row.na_rule {
                NaRule::Builtin => {
                    result.unwrap();
                    assert_eq!(read_back(&t, &bytes, 1), vec![None], "{}", row.name);
                }
                NaRule::Sentinel | NaRule::Never => {
                    assert!(matches!(result, Err(MmError::NoNa { .. })), "{}", row.name);
                    assert!(bytes.iter().all(|&b| b == 0x11), "{} changed bytes", row.name);
                }
            }
            if row.na_rule == NaRule::Sentinel {
                let s = Ctype::new(row.kind, endian, Some(row.max)).unwrap();
                codec::replace(&s, &mut bytes, &all(1), InBuf::Double(&na)).unwrap();
                assert_eq!(read_back(&s, &bytes, 1), vec![None], "{}", row.name);
                let max = [row.max as f64];
                assert!(matches!(
                    codec::replace(&s, &mut bytes, &all(1), InBuf::Double(&max)),
                    Err(MmError::Sentinel { .. })
                ));
            }
        }
    }
}

#[test]
fn out_of_range_values_name_the_element_and_write_nothing() {
    for row in table().into_iter().filter(|r| r.min < r.max && r.rkind != RKind::Logical) {
        let t = Ctype::new(row.kind, Endian::Little, None).unwrap();
        let mut bytes = vec![0u8; 3 * row.bytes];
        let values = [1.0, row.max as f64 + 1.0, 2.0];
        let sel = Selection::Positions(vec![2, 0, 1]);
        match codec::replace(&t, &mut bytes, &sel, InBuf::Double(&values)) {
            Err(MmError::Range { position, ctype, .. }) => {
                assert_eq!(position, 1, "{}", row.name);
                assert_eq!(ctype, row.name);
            }
            other => panic!("{}: {other:?}", row.name),
        }
        assert!(bytes.iter().all(|&b| b == 0), "{} wrote before failing", row.name);
    }
}

#[test]
fn fractions_truncate_toward_zero() {
    let t = Ctype::new(Kind::Int16, Endian::Little, None).unwrap();
    let values = [2.9, -2.9, 0.5];
    let mut bytes = vec![0u8; 6];
    codec::replace(&t, &mut bytes, &all(3), InBuf::Double(&values)).unwrap();
    assert_eq!(read_back(&t, &bytes, 3), vec![Some(2.0), Some(-2.0), Some(0.0)]);
}

#[test]
fn real32_keeps_na_and_nan_apart() {
    for endian in [Endian::Little, Endian::Big] {
        let t = Ctype::new(Kind::Real32, endian, None).unwrap();
        let values = [codec::na_real(), f64::NAN];
        let mut bytes = vec![0u8; 8];
        codec::replace(&t, &mut bytes, &all(2), InBuf::Double(&values)).unwrap();
        let mut out = [0f64; 2];
        codec::extract(&t, &bytes, &all(2), OutBuf::Double(&mut out)).unwrap();
        assert!(codec::is_r_na(out[0]));
        assert!(out[1].is_nan() && !codec::is_r_na(out[1]));
    }
}

#[test]
fn int64_is_exact_past_2_to_53() {
    let t = Ctype::new(Kind::Int64, Endian::Big, None).unwrap();
    let values = [9_007_199_254_740_993i64, i64::MAX, -i64::MAX];
    let mut bytes = vec![0u8; 24];
    codec::replace(&t, &mut bytes, &all(3), InBuf::Int64(&values)).unwrap();
    let mut out = [0i64; 3];
    codec::extract(&t, &bytes, &all(3), OutBuf::Int64(&mut out)).unwrap();
    assert_eq!(out, values);
}

#[test]
fn gather_and_scatter_agree_with_a_naive_oracle() {
    let t = Ctype::new(Kind::Real64, Endian::Little, None).unwrap();
    let n = 300_000usize;
    let data: Vec<f64> = (0..n).map(|i| i as f64 * 0.5).collect();
    let bytes: Vec<u8> = data.iter().flat_map(|v| v.to_le_bytes()).collect();
    let positions: Vec<u64> = (0..n as u64).map(|k| (k * 7919) % n as u64).collect();
    let mut out = vec![0f64; n];
    codec::extract(&t, &bytes, &Selection::Positions(positions.clone()), OutBuf::Double(&mut out)).unwrap();
    for (k, &p) in positions.iter().enumerate() {
        assert_eq!(out[k], data[p as usize]);
    }
    let mut target = vec![0u8; bytes.len()];
    codec::replace(&t, &mut target, &Selection::Positions(positions.clone()), InBuf::Double(&out)).unwrap();
    assert_eq!(target, bytes);
}
