//! One codec per scalar type: how its stored bytes become R's element, how an
//! R value is checked and stored, and how a comparison reads it. Each row of
//! the type table (`scalar_table!` in ctype.rs) names its codec, and every
//! operation reaches the codec through [`Ctype::dispatch`], so a new type is
//! one row plus, when no codec here fits it, one `impl Codec`.

use std::marker::PhantomData;

use super::stored::{Order, Stored};
use super::OutBuf;
use crate::compare::{Comparison, Hits, StoredInt};
use crate::ctype::{Ctype, KindInfo, RKind};
use crate::error::Result;

/// R's `NA_integer_` (and the NA of logicals).
pub const NA_INT: i32 = i32::MIN;
/// R's `NA_real_`: a NaN whose low word is 1954.
pub const NA_REAL_BITS: u64 = 0x7FF0_0000_0000_07A2;
/// The real32 NA on disk: a quiet NaN carrying R's payload 1954.
pub const REAL32_NA_BITS: u32 = 0x7FC0_07A2;
const REAL32_NAN_BITS: u32 = 0x7FC0_0000;

pub fn na_real() -> f64 {
    f64::from_bits(NA_REAL_BITS)
}

/// R's `R_IsNA`: NA, as opposed to any other NaN.
pub fn is_r_na(x: f64) -> bool {
    x.is_nan() && (x.to_bits() & 0xFFFF_FFFF) == 1954
}

// ---------------------------------------------------------------------------
// The R vectors elements become

/// An R vector kind as a type: its element, its NA and its output buffer.
pub trait RVector {
    type Elem: Copy + Send + Sync + 'static;
    const KIND: RKind;
    /// What an NA index extracts to.
    fn na() -> Self::Elem;
    /// The buffer as this kind's elements, or `None` for another kind.
    fn slice(out: OutBuf<'_>) -> Option<&mut [Self::Elem]>;
}

macro_rules! r_vector {
    ($($name:ident: $elem:ty, $kind:ident, $variant:ident, $na:expr;)*) => {$(
        #[doc = concat!("R's ", stringify!($kind), " vector.")]
        pub struct $name;
        impl RVector for $name {
            type Elem = $elem;
            const KIND: RKind = RKind::$kind;
            #[inline(always)]
            fn na() -> $elem {
                $na
            }
            fn slice(out: OutBuf<'_>) -> Option<&mut [$elem]> {
                if let OutBuf::$variant(o) = out { Some(o) } else { None }
            }
        }
    )*};
}

r_vector! {
    RawVector: u8, Raw, Raw, 0;
    LogicalVector: i32, Logical, Logical, NA_INT;
    IntegerVector: i32, Integer, Integer, NA_INT;
    DoubleVector: f64, Double, Double, na_real();
    ComplexVector: [f64; 2], Complex, Complex, [na_real(), na_real()];
    Integer64Vector: i64, Integer64, Int64, i64::MIN;
}

/// The R element type of codec `C`.
pub type Elem<C> = <<C as Codec>::R as RVector>::Elem;

// ---------------------------------------------------------------------------
// Values to store

/// One replacement value, as R meant it.
#[derive(Clone, Copy, Debug)]
pub enum Num {
    Na,
    Int(i64),
    Real(f64),
    Cplx(f64, f64),
}

impl Num {
    pub fn text(self) -> String {
        match self {
            Num::Na => "NA".into(),
            Num::Int(v) => v.to_string(),
            Num::Real(x) => r_number(x),
            Num::Cplx(re, im) => format!("{re}{im:+}i"),
        }
    }
}

/// A double as R prints it in messages.
fn r_number(x: f64) -> String {
    if x.is_nan() {
        "NaN".into()
    } else if x.is_infinite() {
        if x > 0.0 { "Inf".into() } else { "-Inf".into() }
    } else {
        format!("{x}")
    }
}

/// Why one value could not be stored; the caller adds where it was headed.
#[derive(Debug)]
pub enum Refusal {
    Range(Num),
    NoNa,
    Sentinel(Num),
    Type(&'static str),
}

// ---------------------------------------------------------------------------
// The codec trait

/// Everything the package does with one scalar type's bytes.
pub trait Codec: 'static {
    /// The R vector the elements become.
    type R: RVector;
    /// Bytes per element.
    const BYTES: usize;
    /// Whether the stored bytes, in native order, are exactly R's vector's.
    const VERBATIM: bool;

    /// How messages describe the values the type accepts.
    fn range_text(info: &KindInfo) -> String {
        format!("integers from {} to {}", info.min, info.max)
    }

    /// The R element stored in `b` (exactly `BYTES` long).
    fn decode<O: Order>(b: &[u8], sentinel: Option<i64>) -> Elem<Self>;

    /// Stores `v` in `slot` (exactly `BYTES` long), or says why it cannot.
    fn encode<O: Order>(ctype: &Ctype, v: Num, slot: &mut [u8]) -> std::result::Result<(), Refusal>;

    /// The positions of the elements for which the comparison holds.
    fn compare<O: Order>(c: &Comparison<'_>) -> Result<Hits>;
}

/// An operation that is generic over a type's codec and byte order, run by
/// [`Ctype::dispatch`] for the mapping's type.
pub trait CodecOp {
    type Output;
    fn run<C: Codec, O: Order>(self) -> Self::Output;
}

// ---------------------------------------------------------------------------
// Integer codecs

/// Raw bytes (`uchar`): R's raw vector, which has no NA.
pub struct Byte;

impl Codec for Byte {
    type R = RawVector;
    const BYTES: usize = 1;
    const VERBATIM: bool = true;

    fn decode<O: Order>(b: &[u8], _: Option<i64>) -> u8 {
        O::get::<u8, 1>(b)
    }
    fn encode<O: Order>(ctype: &Ctype, v: Num, slot: &mut [u8]) -> std::result::Result<(), Refusal> {
        O::put::<u8, 1>(slot, u8::from_i128(stored_int(ctype, v, None)?.into()));
        Ok(())
    }
    fn compare<O: Order>(c: &Comparison<'_>) -> Result<Hits> {
        c.raw::<O>()
    }
}

/// An integer narrower than R's (`int8` to `uint24`): an R integer, with NA
/// only through a sentinel value.
pub struct SmallInt<T, const N: usize>(PhantomData<T>);

impl<T, const N: usize> Codec for SmallInt<T, N>
where
    T: Stored<N> + StoredInt + Into<i64>,
{
    type R = IntegerVector;
    const BYTES: usize = N;
    const VERBATIM: bool = false;

    fn decode<O: Order>(b: &[u8], sentinel: Option<i64>) -> i32 {
        let v: i64 = O::get::<T, N>(b).into();
        // Every value of the type fits in an i32.
        if Some(v) == sentinel { NA_INT } else { v as i32 }
    }
    fn encode<O: Order>(ctype: &Ctype, v: Num, slot: &mut [u8]) -> std::result::Result<(), Refusal> {
        O::put::<T, N>(slot, T::from_i128(stored_int(ctype, v, None)?.into()));
        Ok(())
    }
    fn compare<O: Order>(c: &Comparison<'_>) -> Result<Hits> {
        c.ints::<T, N, O>()
    }
}

/// `int32`: R's own integer, whose NA is -2^31.
pub struct Int32;

impl Codec for Int32 {
    type R = IntegerVector;
    const BYTES: usize = 4;
    const VERBATIM: bool = true;

    fn decode<O: Order>(b: &[u8], _: Option<i64>) -> i32 {
        O::get::<i32, 4>(b)
    }
    fn encode<O: Order>(ctype: &Ctype, v: Num, slot: &mut [u8]) -> std::result::Result<(), Refusal> {
        O::put::<i32, 4>(slot, i32::from_i128(stored_int(ctype, v, Some(NA_INT.into()))?.into()));
        Ok(())
    }
    fn compare<O: Order>(c: &Comparison<'_>) -> Result<Hits> {
        // The NA pattern lies outside the type's range, so no set contains it.
        c.ints::<i32, 4, O>()
    }
}

/// `uint32`: wider than R's integer, so extracted as doubles; NA only
/// through a sentinel.
pub struct UInt32;

impl Codec for UInt32 {
    type R = DoubleVector;
    const BYTES: usize = 4;
    const VERBATIM: bool = false;

    fn decode<O: Order>(b: &[u8], sentinel: Option<i64>) -> f64 {
        let v = i64::from(O::get::<u32, 4>(b));
        if Some(v) == sentinel { na_real() } else { v as f64 }
    }
    fn encode<O: Order>(ctype: &Ctype, v: Num, slot: &mut [u8]) -> std::result::Result<(), Refusal> {
        O::put::<u32, 4>(slot, u32::from_i128(stored_int(ctype, v, None)?.into()));
        Ok(())
    }
    fn compare<O: Order>(c: &Comparison<'_>) -> Result<Hits> {
        c.ints::<u32, 4, O>()
    }
}

/// `int64`: bit64's integer64, whose NA is -2^63.
pub struct Int64;

impl Codec for Int64 {
    type R = Integer64Vector;
    const BYTES: usize = 8;
    const VERBATIM: bool = true;

    fn decode<O: Order>(b: &[u8], _: Option<i64>) -> i64 {
        O::get::<i64, 8>(b)
    }
    fn encode<O: Order>(ctype: &Ctype, v: Num, slot: &mut [u8]) -> std::result::Result<(), Refusal> {
        O::put::<i64, 8>(slot, stored_int(ctype, v, Some(i64::MIN))?);
        Ok(())
    }
    fn compare<O: Order>(c: &Comparison<'_>) -> Result<Hits> {
        c.ints::<i64, 8, O>()
    }
}

// ---------------------------------------------------------------------------
// Floating-point codecs

/// `real32`: a float, widened to R's double; R's NA is a NaN of its own.
pub struct Real32;

impl Codec for Real32 {
    type R = DoubleVector;
    const BYTES: usize = 4;
    const VERBATIM: bool = false;

    fn range_text(_: &KindInfo) -> String {
        "finite values up to about 3.4e38 in magnitude".into()
    }
    fn decode<O: Order>(b: &[u8], _: Option<i64>) -> f64 {
        let bits = O::get::<u32, 4>(b);
        if bits == REAL32_NA_BITS { na_real() } else { f32::from_bits(bits) as f64 }
    }
    fn encode<O: Order>(_: &Ctype, v: Num, slot: &mut [u8]) -> std::result::Result<(), Refusal> {
        let bits = match v {
            Num::Na => REAL32_NA_BITS,
            _ => {
                let x = as_real(v)?;
                if x.is_nan() {
                    REAL32_NAN_BITS
                } else if x.is_finite() && x.abs() > f32::MAX as f64 {
                    return Err(Refusal::Range(v));
                } else {
                    (x as f32).to_bits()
                }
            }
        };
        O::put::<u32, 4>(slot, bits);
        Ok(())
    }
    fn compare<O: Order>(c: &Comparison<'_>) -> Result<Hits> {
        c.floats::<f32, 4, O>()
    }
}

/// `real64`: R's own double.
pub struct Real64;

impl Codec for Real64 {
    type R = DoubleVector;
    const BYTES: usize = 8;
    const VERBATIM: bool = true;

    fn range_text(_: &KindInfo) -> String {
        "any double".into()
    }
    fn decode<O: Order>(b: &[u8], _: Option<i64>) -> f64 {
        O::get::<f64, 8>(b)
    }
    fn encode<O: Order>(_: &Ctype, v: Num, slot: &mut [u8]) -> std::result::Result<(), Refusal> {
        O::put::<f64, 8>(slot, as_real(v)?);
        Ok(())
    }
    fn compare<O: Order>(c: &Comparison<'_>) -> Result<Hits> {
        c.floats::<f64, 8, O>()
    }
}

/// `cplx`: R's own complex, two doubles.
pub struct Cplx;

impl Codec for Cplx {
    type R = ComplexVector;
    const BYTES: usize = 16;
    const VERBATIM: bool = true;

    fn range_text(_: &KindInfo) -> String {
        "any complex number".into()
    }
    fn decode<O: Order>(b: &[u8], _: Option<i64>) -> [f64; 2] {
        [O::get::<f64, 8>(&b[..8]), O::get::<f64, 8>(&b[8..])]
    }
    fn encode<O: Order>(_: &Ctype, v: Num, slot: &mut [u8]) -> std::result::Result<(), Refusal> {
        let (re, im) = match v {
            Num::Na => (na_real(), na_real()),
            Num::Cplx(re, im) => (re, im),
            other => (as_real(other)?, 0.0),
        };
        O::put::<f64, 8>(&mut slot[..8], re);
        O::put::<f64, 8>(&mut slot[8..], im);
        Ok(())
    }
    fn compare<O: Order>(c: &Comparison<'_>) -> Result<Hits> {
        c.complex::<O>()
    }
}

// ---------------------------------------------------------------------------
// Logical codecs

/// A stored logical's NA pattern.
pub trait LogicalNa: Copy {
    const NA: Self;
}

impl LogicalNa for u8 {
    const NA: u8 = 0x80;
}

impl LogicalNa for i32 {
    const NA: i32 = NA_INT;
}

/// A logical stored in `N` bytes (`logi8`, `logi32`): 0 is FALSE, the NA
/// pattern NA, anything else TRUE. Never verbatim: R's logicals are 0, 1 or
/// NA, so other stored values must be normalised.
pub struct Logical<T, const N: usize>(PhantomData<T>);

impl<T, const N: usize> Codec for Logical<T, N>
where
    T: Stored<N> + StoredInt + LogicalNa,
{
    type R = LogicalVector;
    const BYTES: usize = N;
    const VERBATIM: bool = false;

    fn range_text(_: &KindInfo) -> String {
        "TRUE, FALSE and NA".into()
    }
    fn decode<O: Order>(b: &[u8], _: Option<i64>) -> i32 {
        let v = O::get::<T, N>(b);
        if v == T::from_i128(0) {
            0
        } else if v == T::NA {
            NA_INT
        } else {
            1
        }
    }
    fn encode<O: Order>(_: &Ctype, v: Num, slot: &mut [u8]) -> std::result::Result<(), Refusal> {
        O::put::<T, N>(slot, logical(v)?.map_or(T::NA, |b| T::from_i128(i128::from(b))));
        Ok(())
    }
    fn compare<O: Order>(c: &Comparison<'_>) -> Result<Hits> {
        c.logicals::<T, N, O>(T::NA)
    }
}

// ---------------------------------------------------------------------------
// Value conversions shared by the codecs

/// The integer a value stands for: R's `as.integer()` truncation toward zero.
/// `Ok(None)` is NA (NaN counts as NA, as in `as.integer(NaN)`).
fn integral(v: Num, min: i64, max: i64) -> std::result::Result<Option<i64>, Refusal> {
    match v {
        Num::Na => Ok(None),
        Num::Int(i) if i >= min && i <= max => Ok(Some(i)),
        Num::Int(_) => Err(Refusal::Range(v)),
        Num::Real(x) if x.is_nan() => Ok(None),
        Num::Real(x) => {
            // Through i128, which holds every integral double below 2^127 exactly:
            // comparing as doubles would round max (2^63 - 1) up to 2^63.
            let t = x.trunc() as i128;
            if t >= min as i128 && t <= max as i128 {
                Ok(Some(t as i64))
            } else {
                Err(Refusal::Range(v))
            }
        }
        Num::Cplx(..) => Err(Refusal::Type("complex")),
    }
}

/// The integer an integer type stores for `v`: the value itself (checked
/// against the type's range), or for NA the sentinel or `builtin_na`, the
/// type's own NA pattern (outside its range).
fn stored_int(ctype: &Ctype, v: Num, builtin_na: Option<i64>) -> std::result::Result<i64, Refusal> {
    let info = ctype.info();
    match integral(v, info.min, info.max)? {
        Some(i) if Some(i) == ctype.sentinel => Err(Refusal::Sentinel(v)),
        Some(i) => Ok(i),
        None => ctype.sentinel.or(builtin_na).ok_or(Refusal::NoNa),
    }
}

/// A value as a logical: `None` is NA (NaN counts as NA, as in `as.logical(NaN)`).
fn logical(v: Num) -> std::result::Result<Option<bool>, Refusal> {
    match v {
        Num::Na => Ok(None),
        Num::Int(i) => Ok(Some(i != 0)),
        Num::Real(x) if x.is_nan() => Ok(None),
        Num::Real(x) => Ok(Some(x != 0.0)),
        Num::Cplx(..) => Err(Refusal::Type("complex")),
    }
}

fn as_real(v: Num) -> std::result::Result<f64, Refusal> {
    match v {
        Num::Na => Ok(na_real()),
        Num::Int(i) => Ok(i as f64),
        Num::Real(x) => Ok(x),
        Num::Cplx(..) => Err(Refusal::Type("complex")),
    }
}
