//! Decoding stored bytes into R's vectors and encoding R's vectors into stored bytes.
//!
//! Every function here works on plain slices: the caller supplies the mapped bytes
//! and the R vector's memory, so this module is pure and testable without R.

use crate::dtype::{DType, Endian, Kind, RKind};
use crate::error::{MmError, Result};
use crate::index::{Selection, NA_POS};

/// R's `NA_integer_` (and the NA of logicals).
pub const NA_INT: i32 = i32::MIN;
/// R's `NA_real_`: a NaN whose low word is 1954.
pub const NA_REAL_BITS: u64 = 0x7FF0_0000_0000_07A2;
/// The real32 NA on disk: a quiet NaN carrying R's payload 1954.
pub const REAL32_NA_BITS: u32 = 0x7FC0_07A2;
const REAL32_NAN_BITS: u32 = 0x7FC0_0000;
const LOGI8_NA: u8 = 0x80;

pub fn na_real() -> f64 {
    f64::from_bits(NA_REAL_BITS)
}

/// R's `R_IsNA`: NA, as opposed to any other NaN.
pub fn is_r_na(x: f64) -> bool {
    x.is_nan() && (x.to_bits() & 0xFFFF_FFFF) == 1954
}

/// Destination of an extraction: the memory of a freshly allocated R vector.
pub enum OutBuf<'a> {
    Raw(&'a mut [u8]),
    Logical(&'a mut [i32]),
    Integer(&'a mut [i32]),
    Double(&'a mut [f64]),
    Complex(&'a mut [[f64; 2]]),
    Int64(&'a mut [i64]),
}

/// Source of a replacement: the memory of an R vector.
#[derive(Clone, Copy)]
pub enum InBuf<'a> {
    Raw(&'a [u8]),
    Logical(&'a [i32]),
    Integer(&'a [i32]),
    Double(&'a [f64]),
    Complex(&'a [[f64; 2]]),
    Int64(&'a [i64]),
}

impl OutBuf<'_> {
    fn len(&self) -> usize {
        match self {
            OutBuf::Raw(o) => o.len(),
            OutBuf::Logical(o) | OutBuf::Integer(o) => o.len(),
            OutBuf::Double(o) => o.len(),
            OutBuf::Complex(o) => o.len(),
            OutBuf::Int64(o) => o.len(),
        }
    }

    fn rkind(&self) -> RKind {
        match self {
            OutBuf::Raw(_) => RKind::Raw,
            OutBuf::Logical(_) => RKind::Logical,
            OutBuf::Integer(_) => RKind::Integer,
            OutBuf::Double(_) => RKind::Double,
            OutBuf::Complex(_) => RKind::Complex,
            OutBuf::Int64(_) => RKind::Integer64,
        }
    }
}

// The buffer as the one R kind the caller's type extracts to, or `None`.
impl<'a> OutBuf<'a> {
    fn raw(self) -> Option<&'a mut [u8]> {
        if let OutBuf::Raw(o) = self { Some(o) } else { None }
    }
    fn logicals(self) -> Option<&'a mut [i32]> {
        if let OutBuf::Logical(o) = self { Some(o) } else { None }
    }
    fn integers(self) -> Option<&'a mut [i32]> {
        if let OutBuf::Integer(o) = self { Some(o) } else { None }
    }
    fn doubles(self) -> Option<&'a mut [f64]> {
        if let OutBuf::Double(o) = self { Some(o) } else { None }
    }
    fn complexes(self) -> Option<&'a mut [[f64; 2]]> {
        if let OutBuf::Complex(o) = self { Some(o) } else { None }
    }
    fn int64s(self) -> Option<&'a mut [i64]> {
        if let OutBuf::Int64(o) = self { Some(o) } else { None }
    }
}

impl InBuf<'_> {
    pub fn len(&self) -> usize {
        match self {
            InBuf::Raw(v) => v.len(),
            InBuf::Logical(v) | InBuf::Integer(v) => v.len(),
            InBuf::Double(v) => v.len(),
            InBuf::Complex(v) => v.len(),
            InBuf::Int64(v) => v.len(),
        }
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    fn rkind(&self) -> RKind {
        match self {
            InBuf::Raw(_) => RKind::Raw,
            InBuf::Logical(_) => RKind::Logical,
            InBuf::Integer(_) => RKind::Integer,
            InBuf::Double(_) => RKind::Double,
            InBuf::Complex(_) => RKind::Complex,
            InBuf::Int64(_) => RKind::Integer64,
        }
    }

    fn at(&self, k: usize) -> Num {
        match self {
            InBuf::Raw(v) => Num::Int(v[k] as i64),
            InBuf::Logical(v) | InBuf::Integer(v) => {
                if v[k] == NA_INT { Num::Na } else { Num::Int(v[k] as i64) }
            }
            InBuf::Double(v) => {
                let x = v[k];
                if is_r_na(x) { Num::Na } else { Num::Real(x) }
            }
            InBuf::Int64(v) => {
                if v[k] == i64::MIN { Num::Na } else { Num::Int(v[k]) }
            }
            InBuf::Complex(v) => Num::Cplx(v[k][0], v[k][1]),
        }
    }
}

/// One replacement value, as R meant it.
#[derive(Clone, Copy, Debug)]
enum Num {
    Na,
    Int(i64),
    Real(f64),
    Cplx(f64, f64),
}

impl Num {
    fn text(self) -> String {
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

// ---------------------------------------------------------------------------
// Stored representations

/// The fixed-width value a type stores, `N` bytes in either byte order: the
/// one definition of how each width and signedness is laid out, used by
/// extraction, replacement and comparison alike. The 24-bit types store an
/// `i32` / `u32` in 3 bytes.
pub trait Stored<const N: usize>: Copy + PartialEq + Send + Sync + 'static {
    fn from_le(b: [u8; N]) -> Self;
    fn from_be(b: [u8; N]) -> Self;
    fn to_le(self) -> [u8; N];
    fn to_be(self) -> [u8; N];
}

macro_rules! stored_primitive {
    ($($t:ty: $n:literal),*) => {$(
        impl Stored<$n> for $t {
            #[inline(always)]
            fn from_le(b: [u8; $n]) -> Self { <$t>::from_le_bytes(b) }
            #[inline(always)]
            fn from_be(b: [u8; $n]) -> Self { <$t>::from_be_bytes(b) }
            #[inline(always)]
            fn to_le(self) -> [u8; $n] { self.to_le_bytes() }
            #[inline(always)]
            fn to_be(self) -> [u8; $n] { self.to_be_bytes() }
        }
    )*};
}
stored_primitive!(u8: 1, i8: 1, u16: 2, i16: 2, u32: 4, i32: 4, f32: 4, i64: 8, f64: 8);

impl Stored<3> for i32 {
    #[inline(always)]
    fn from_le(b: [u8; 3]) -> Self {
        // The arithmetic shift sign-extends bit 23.
        i32::from_le_bytes([0, b[0], b[1], b[2]]) >> 8
    }
    #[inline(always)]
    fn from_be(b: [u8; 3]) -> Self {
        i32::from_be_bytes([b[0], b[1], b[2], 0]) >> 8
    }
    #[inline(always)]
    fn to_le(self) -> [u8; 3] {
        let [a, b, c, _] = self.to_le_bytes();
        [a, b, c]
    }
    #[inline(always)]
    fn to_be(self) -> [u8; 3] {
        let [_, a, b, c] = self.to_be_bytes();
        [a, b, c]
    }
}

impl Stored<3> for u32 {
    #[inline(always)]
    fn from_le(b: [u8; 3]) -> Self {
        u32::from_le_bytes([b[0], b[1], b[2], 0])
    }
    #[inline(always)]
    fn from_be(b: [u8; 3]) -> Self {
        u32::from_be_bytes([0, b[0], b[1], b[2]])
    }
    #[inline(always)]
    fn to_le(self) -> [u8; 3] {
        let [a, b, c, _] = self.to_le_bytes();
        [a, b, c]
    }
    #[inline(always)]
    fn to_be(self) -> [u8; 3] {
        let [_, a, b, c] = self.to_be_bytes();
        [a, b, c]
    }
}

/// A byte order as a type, so that each decoding loop is compiled once per order.
pub trait Order {
    /// The value stored in the first `N` bytes of `b`.
    fn get<T: Stored<N>, const N: usize>(b: &[u8]) -> T;
    /// Stores `v` in the first `N` bytes of `slot`.
    fn put<T: Stored<N>, const N: usize>(slot: &mut [u8], v: T);
}

/// Little-endian storage.
pub struct Le;
/// Big-endian storage.
pub struct Be;

/// The first `N` bytes of `b`; callers pass slices of exactly one element.
#[inline(always)]
fn head<const N: usize>(b: &[u8]) -> [u8; N] {
    let mut a = [0u8; N];
    a.copy_from_slice(&b[..N]);
    a
}

impl Order for Le {
    #[inline(always)]
    fn get<T: Stored<N>, const N: usize>(b: &[u8]) -> T {
        T::from_le(head(b))
    }
    #[inline(always)]
    fn put<T: Stored<N>, const N: usize>(slot: &mut [u8], v: T) {
        slot[..N].copy_from_slice(&v.to_le());
    }
}

impl Order for Be {
    #[inline(always)]
    fn get<T: Stored<N>, const N: usize>(b: &[u8]) -> T {
        T::from_be(head(b))
    }
    #[inline(always)]
    fn put<T: Stored<N>, const N: usize>(slot: &mut [u8], v: T) {
        slot[..N].copy_from_slice(&v.to_be());
    }
}

// ---------------------------------------------------------------------------
// Extraction

/// Elements past which extraction is split across threads.
const PARALLEL_MIN: usize = 1 << 20;

fn threads_for(n: usize) -> usize {
    if n < PARALLEL_MIN {
        return 1;
    }
    std::thread::available_parallelism().map_or(1, |p| p.get()).clamp(1, 8)
}

/// Where element `p` lives: `size` bytes at `p * stride + offset`. A plain
/// vector has `stride == size` and `offset == 0`; a field of an array of
/// records has the record's size as stride and the field's offset.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Geometry {
    pub size: usize,
    pub stride: usize,
    pub offset: usize,
}

impl Geometry {
    pub fn dense(size: usize) -> Self {
        Geometry { size, stride: size, offset: 0 }
    }

    fn is_dense(&self) -> bool {
        self.stride == self.size && self.offset == 0
    }
}

/// Decodes `sel` of `bytes` into `out`, one element at a time.
fn gather<T, F>(bytes: &[u8], g: Geometry, sel: &Selection, out: &mut [T], na: T, decode: F)
where
    T: Copy + Send + Sync,
    F: Fn(&[u8]) -> T + Sync,
{
    let Geometry { size, stride, offset } = g;
    match sel {
        Selection::Range { start, len } => {
            let from = *start as usize * stride;
            let src = &bytes[from..from + *len as usize * stride];
            let threads = threads_for(out.len());
            if threads == 1 {
                if g.is_dense() {
                    for (o, b) in out.iter_mut().zip(src.chunks_exact(size)) {
                        *o = decode(b);
                    }
                } else {
                    for (o, b) in out.iter_mut().zip(src.chunks_exact(stride)) {
                        *o = decode(&b[offset..offset + size]);
                    }
                }
                return;
            }
            let per = out.len().div_ceil(threads);
            std::thread::scope(|scope| {
                for (o, s) in out.chunks_mut(per).zip(src.chunks(per * stride)) {
                    let decode = &decode;
                    scope.spawn(move || {
                        for (o, b) in o.iter_mut().zip(s.chunks_exact(stride)) {
                            *o = decode(&b[offset..offset + size]);
                        }
                    });
                }
            });
        }
        Selection::Positions(positions) => {
            let one = |out: &mut [T], positions: &[u64]| {
                for (o, &p) in out.iter_mut().zip(positions) {
                    *o = if p == NA_POS {
                        na
                    } else {
                        let at = p as usize * stride + offset;
                        decode(&bytes[at..at + size])
                    };
                }
            };
            // One thread: measured on 2 cores, splitting a 1e6 random gather
            // across threads cost more (spawn, TLB shootdowns) than it won.
            one(out, positions);
        }
    }
}

/// Bulk copy for types whose stored bytes already are R's representation.
fn copy_range(src: &[u8], dst: &mut [u8]) {
    let threads = threads_for(dst.len() / 8);
    if threads == 1 {
        dst.copy_from_slice(src);
        return;
    }
    let per = dst.len().div_ceil(threads);
    std::thread::scope(|scope| {
        for (d, s) in dst.chunks_mut(per).zip(src.chunks(per)) {
            scope.spawn(move || d.copy_from_slice(s));
        }
    });
}

/// Whether extraction of this type is a plain byte copy (stored bytes are R's own).
pub fn is_verbatim(dtype: &DType) -> bool {
    let r_layout = match dtype.kind {
        Kind::UChar | Kind::Int32 | Kind::Int64 | Kind::Real64 | Kind::Cplx => true,
        // Narrower, wider or differently coded than R's vector of the same kind.
        Kind::Int8
        | Kind::UInt8
        | Kind::Int16
        | Kind::UInt16
        | Kind::Int24
        | Kind::UInt24
        | Kind::UInt32
        | Kind::Real32
        | Kind::Logi8
        | Kind::Logi32 => false,
    };
    r_layout && dtype.endian.is_native()
}

fn out_bytes<'a>(out: &'a mut OutBuf<'_>) -> &'a mut [u8] {
    match out {
        OutBuf::Raw(o) => o,
        OutBuf::Logical(o) | OutBuf::Integer(o) => bytemuck::cast_slice_mut(o),
        OutBuf::Double(o) => bytemuck::cast_slice_mut(o),
        OutBuf::Complex(o) => bytemuck::cast_slice_mut(o),
        OutBuf::Int64(o) => bytemuck::cast_slice_mut(o),
    }
}

/// Extracts the elements `sel` of a mapping whose bytes are `bytes` into `out`.
/// `sel` must already be resolved against `bytes.len() / dtype.bytes()`.
pub fn extract(dtype: &DType, bytes: &[u8], sel: &Selection, out: OutBuf<'_>) -> Result<()> {
    extract_at(dtype, Geometry::dense(dtype.bytes()), bytes, sel, out)
}

/// Like [`extract`], for elements laid out as `g` describes (e.g. one field of
/// an array of records). `g.size` must be the type's width.
pub fn extract_at(dtype: &DType, g: Geometry, bytes: &[u8], sel: &Selection, mut out: OutBuf<'_>) -> Result<()> {
    if g.size != dtype.bytes() {
        return Err(MmError::Internal("geometry size differs from the type's width".into()));
    }
    if out.rkind() != dtype.info().rkind {
        return Err(MmError::Internal(format!(
            "{} extracts to {:?}, not {:?}",
            dtype.name(),
            dtype.info().rkind,
            out.rkind()
        )));
    }
    if out.len() as u64 != sel.len() {
        return Err(MmError::Internal("output length differs from the selection".into()));
    }
    if let (true, Selection::Range { start, len }) = (is_verbatim(dtype) && g.is_dense(), sel) {
        let size = dtype.bytes();
        let from = *start as usize * size;
        copy_range(&bytes[from..from + *len as usize * size], out_bytes(&mut out));
        return Ok(());
    }
    match dtype.endian {
        Endian::Little => extract_in::<Le>(dtype, g, bytes, sel, out),
        Endian::Big => extract_in::<Be>(dtype, g, bytes, sel, out),
    }
}

fn extract_in<O: Order>(dtype: &DType, g: Geometry, bytes: &[u8], sel: &Selection, out: OutBuf<'_>) -> Result<()> {
    let sentinel = dtype.sentinel;
    // Small integers become R integers; a sentinel value reads as NA.
    let int = |v: i64| if Some(v) == sentinel { NA_INT } else { v as i32 };
    let na = na_real();
    // `extract_at` checked the output kind against the type's row.
    let wrong = || MmError::Internal(format!("{} does not extract to {:?}", dtype.name(), dtype.info().rkind));
    macro_rules! small_int {
        ($t:ty, $n:literal) => {
            gather(bytes, g, sel, out.integers().ok_or_else(wrong)?, NA_INT, |b| int(O::get::<$t, $n>(b) as i64))
        };
    }
    match dtype.kind {
        Kind::UChar => gather(bytes, g, sel, out.raw().ok_or_else(wrong)?, 0, |b| O::get::<u8, 1>(b)),
        Kind::Int8 => small_int!(i8, 1),
        Kind::UInt8 => small_int!(u8, 1),
        Kind::Int16 => small_int!(i16, 2),
        Kind::UInt16 => small_int!(u16, 2),
        Kind::Int24 => small_int!(i32, 3),
        Kind::UInt24 => small_int!(u32, 3),
        Kind::Int32 => gather(bytes, g, sel, out.integers().ok_or_else(wrong)?, NA_INT, |b| O::get::<i32, 4>(b)),
        Kind::UInt32 => gather(bytes, g, sel, out.doubles().ok_or_else(wrong)?, na, |b| {
            let v = O::get::<u32, 4>(b) as i64;
            if Some(v) == sentinel { na } else { v as f64 }
        }),
        Kind::Int64 => gather(bytes, g, sel, out.int64s().ok_or_else(wrong)?, i64::MIN, |b| O::get::<i64, 8>(b)),
        Kind::Real32 => gather(bytes, g, sel, out.doubles().ok_or_else(wrong)?, na, |b| {
            let bits = O::get::<u32, 4>(b);
            if bits == REAL32_NA_BITS { na } else { f32::from_bits(bits) as f64 }
        }),
        Kind::Real64 => gather(bytes, g, sel, out.doubles().ok_or_else(wrong)?, na, |b| O::get::<f64, 8>(b)),
        Kind::Cplx => gather(bytes, g, sel, out.complexes().ok_or_else(wrong)?, [na, na], |b| {
            [O::get::<f64, 8>(&b[..8]), O::get::<f64, 8>(&b[8..])]
        }),
        Kind::Logi8 => gather(bytes, g, sel, out.logicals().ok_or_else(wrong)?, NA_INT, |b| match O::get::<u8, 1>(b) {
            0 => 0,
            LOGI8_NA => NA_INT,
            _ => 1,
        }),
        Kind::Logi32 => gather(bytes, g, sel, out.logicals().ok_or_else(wrong)?, NA_INT, |b| match O::get::<i32, 4>(b) {
            0 => 0,
            NA_INT => NA_INT,
            _ => 1,
        }),
    }
    Ok(())
}

// ---------------------------------------------------------------------------
// Replacement

/// What a replacement did that R reports as a warning.
#[derive(Debug, Default, PartialEq)]
pub struct ReplaceReport {
    /// The number of positions was not a multiple of the number of values.
    pub uneven_recycling: bool,
}

impl ReplaceReport {
    /// What R would warn about when `values` values fill `n` positions.
    pub fn recycling(n: usize, values: usize) -> Self {
        ReplaceReport { uneven_recycling: values > n || (values > 0 && !n.is_multiple_of(values)) }
    }
}

/// How many values a replacement of `n` positions uses (R recycles the rest);
/// an empty value for a non-empty selection is an error.
pub fn values_used(n: usize, values: usize) -> Result<usize> {
    if values == 0 && n > 0 {
        return Err(MmError::Value("replacement has length zero".into()));
    }
    Ok(values.min(n))
}

/// The checks every replacement makes before touching a byte: values to
/// write, and no NA position. Returns how many values are used.
pub fn check_replacement(sel: &Selection, values: usize) -> Result<usize> {
    let used = values_used(sel.len() as usize, values)?;
    if sel.has_na() {
        return Err(MmError::Index("NA indices are not allowed in a replacement".into()));
    }
    Ok(used)
}

/// Writes `value` (recycled like R) to the elements `sel`. All values are checked
/// before the first byte is written, so a bad value leaves the mapping unchanged.
pub fn replace(dtype: &DType, bytes: &mut [u8], sel: &Selection, value: InBuf<'_>) -> Result<ReplaceReport> {
    let n = sel.len() as usize;
    if n == 0 {
        return Ok(ReplaceReport::default());
    }
    let used = check_replacement(sel, value.len())?;
    let size = dtype.bytes();
    let report = ReplaceReport::recycling(n, value.len());

    // Same representation as stored: no encoding pass, copy straight through.
    if verbatim_input(dtype, &value) {
        let src = &in_bytes(&value)[..used * size];
        match sel {
            Selection::Range { start, .. } if used == n => {
                let from = *start as usize * size;
                bytes[from..from + n * size].copy_from_slice(src);
            }
            _ => scatter(bytes, Geometry::dense(size), sel, src),
        }
        return Ok(report);
    }

    let encoded = encode(dtype, sel, value)?;
    scatter(bytes, Geometry::dense(size), sel, &encoded);
    Ok(report)
}

/// Encodes the values a replacement of `sel` uses (at most one per position,
/// recycled later by [`scatter`]), checking every one; nothing is written.
/// Errors name the element of `sel` the offending value was headed for.
pub fn encode(dtype: &DType, sel: &Selection, value: InBuf<'_>) -> Result<Vec<u8>> {
    let used = values_used(sel.len() as usize, value.len())?;
    let mut encoded = vec![0u8; used * dtype.bytes()];
    match dtype.endian {
        Endian::Little => encode_all::<Le>(dtype, value, sel, &mut encoded)?,
        Endian::Big => encode_all::<Be>(dtype, value, sel, &mut encoded)?,
    }
    Ok(encoded)
}

/// Whether `value` already holds the stored bytes: a type stored as R's own
/// vector, given that very vector kind.
fn verbatim_input(dtype: &DType, value: &InBuf<'_>) -> bool {
    is_verbatim(dtype) && value.rkind() == dtype.info().rkind
}

fn in_bytes<'a>(value: &InBuf<'a>) -> &'a [u8] {
    match *value {
        InBuf::Raw(v) => v,
        InBuf::Logical(v) | InBuf::Integer(v) => bytemuck::cast_slice(v),
        InBuf::Double(v) => bytemuck::cast_slice(v),
        InBuf::Complex(v) => bytemuck::cast_slice(v),
        InBuf::Int64(v) => bytemuck::cast_slice(v),
    }
}

/// Copies encoded values (recycled) to their positions, laid out as `g` says.
pub fn scatter(bytes: &mut [u8], g: Geometry, sel: &Selection, encoded: &[u8]) {
    let Geometry { size, stride, offset } = g;
    let used = encoded.len() / size;
    if used == 0 {
        return;
    }
    match sel {
        Selection::Range { start, len } => {
            let from = *start as usize * stride;
            let dst = &mut bytes[from..from + *len as usize * stride];
            for (k, d) in dst.chunks_exact_mut(stride).enumerate() {
                let v = k % used;
                d[offset..offset + size].copy_from_slice(&encoded[v * size..v * size + size]);
            }
        }
        Selection::Positions(positions) if !g.is_dense() => {
            for (k, &p) in positions.iter().enumerate() {
                let v = k % used;
                let at = p as usize * stride + offset;
                bytes[at..at + size].copy_from_slice(&encoded[v * size..v * size + size]);
            }
        }
        Selection::Positions(positions) => {
            if used == positions.len() {
                // The common shape (one value per position) avoids the modulo;
                // fixed widths let the copy compile to a single move.
                match size {
                    4 => scatter_fixed::<4>(bytes, positions, encoded),
                    8 => scatter_fixed::<8>(bytes, positions, encoded),
                    _ => {
                        for (&p, src) in positions.iter().zip(encoded.chunks_exact(size)) {
                            let at = p as usize * size;
                            bytes[at..at + size].copy_from_slice(src);
                        }
                    }
                }
                return;
            }
            for (k, &p) in positions.iter().enumerate() {
                let v = k % used;
                let at = p as usize * size;
                bytes[at..at + size].copy_from_slice(&encoded[v * size..v * size + size]);
            }
        }
    }
}

fn scatter_fixed<const W: usize>(bytes: &mut [u8], positions: &[u64], encoded: &[u8]) {
    for (&p, src) in positions.iter().zip(encoded.chunks_exact(W)) {
        let at = p as usize * W;
        if let (Some(dst), Ok(src)) = (bytes.get_mut(at..at + W), <&[u8; W]>::try_from(src)) {
            dst.copy_from_slice(src);
        }
    }
}

fn encode_all<O: Order>(dtype: &DType, value: InBuf<'_>, sel: &Selection, encoded: &mut [u8]) -> Result<()> {
    let size = dtype.bytes();
    for (k, slot) in encoded.chunks_exact_mut(size).enumerate() {
        if let Err(refusal) = encode_one::<O>(dtype, value.at(k), slot) {
            return Err(refusal.into_error(dtype, sel.get(k as u64) + 1));
        }
    }
    Ok(())
}

/// Why one value could not be stored; the caller adds where it was headed.
enum Refusal {
    Range(Num),
    NoNa,
    Sentinel(Num),
    Type(&'static str),
}

impl Refusal {
    fn into_error(self, dtype: &DType, position: u64) -> MmError {
        let name = dtype.name().to_string();
        match self {
            Refusal::Range(v) => MmError::Range { value: v.text(), position, dtype: name, range: dtype.range_text() },
            Refusal::NoNa => MmError::NoNa { position, dtype: name },
            Refusal::Sentinel(v) => MmError::Sentinel { value: v.text(), position, dtype: name },
            Refusal::Type(what) => MmError::Type(format!("cannot write {what} values to a {name} mapping")),
        }
    }
}

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

fn encode_one<O: Order>(dtype: &DType, v: Num, slot: &mut [u8]) -> std::result::Result<(), Refusal> {
    match dtype.kind {
        Kind::Real64 => O::put::<f64, 8>(slot, as_real(v)?),
        Kind::Real32 => {
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
        }
        Kind::Cplx => {
            let (re, im) = match v {
                Num::Na => (na_real(), na_real()),
                Num::Cplx(re, im) => (re, im),
                other => (as_real(other)?, 0.0),
            };
            O::put::<f64, 8>(&mut slot[..8], re);
            O::put::<f64, 8>(&mut slot[8..], im);
        }
        Kind::Logi8 => O::put::<u8, 1>(slot, logical(v)?.map_or(LOGI8_NA, u8::from)),
        Kind::Logi32 => O::put::<i32, 4>(slot, logical(v)?.map_or(NA_INT, i32::from)),
        // The casts keep the low bytes of a value already checked against the
        // type's range (or its NA pattern).
        Kind::UChar => O::put::<u8, 1>(slot, stored_int(dtype, v)? as u8),
        Kind::Int8 => O::put::<i8, 1>(slot, stored_int(dtype, v)? as i8),
        Kind::UInt8 => O::put::<u8, 1>(slot, stored_int(dtype, v)? as u8),
        Kind::Int16 => O::put::<i16, 2>(slot, stored_int(dtype, v)? as i16),
        Kind::UInt16 => O::put::<u16, 2>(slot, stored_int(dtype, v)? as u16),
        Kind::Int24 => O::put::<i32, 3>(slot, stored_int(dtype, v)? as i32),
        Kind::UInt24 => O::put::<u32, 3>(slot, stored_int(dtype, v)? as u32),
        Kind::Int32 => O::put::<i32, 4>(slot, stored_int(dtype, v)? as i32),
        Kind::UInt32 => O::put::<u32, 4>(slot, stored_int(dtype, v)? as u32),
        Kind::Int64 => O::put::<i64, 8>(slot, stored_int(dtype, v)?),
    }
    Ok(())
}

/// The integer an integer (or raw) type stores for `v`: the value itself, or
/// for NA the sentinel or the type's own NA pattern.
fn stored_int(dtype: &DType, v: Num) -> std::result::Result<i64, Refusal> {
    let info = dtype.info();
    match integral(v, info.min, info.max)? {
        Some(i) if Some(i) == dtype.sentinel => Err(Refusal::Sentinel(v)),
        Some(i) => Ok(i),
        None => dtype.sentinel.or(builtin_int_na(dtype.kind)).ok_or(Refusal::NoNa),
    }
}

/// The NA pattern an integer type has of its own (outside its `min..=max`).
fn builtin_int_na(kind: Kind) -> Option<i64> {
    match kind {
        Kind::Int32 => Some(NA_INT as i64),
        Kind::Int64 => Some(i64::MIN),
        Kind::UChar | Kind::Int8 | Kind::UInt8 | Kind::Int16 | Kind::UInt16 | Kind::Int24 | Kind::UInt24 | Kind::UInt32 => {
            None
        }
        // Not integers: their NA is written by their own arm of `encode_one`.
        Kind::Real32 | Kind::Real64 | Kind::Cplx | Kind::Logi8 | Kind::Logi32 => None,
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

/// Turns int64 values (held as bit patterns in an R double vector) into
/// doubles, in place. NA stays NA. Returns whether any value lost precision.
pub fn int64_to_double(values: &mut [f64]) -> bool {
    let mut lossy = false;
    for v in values.iter_mut() {
        let i = v.to_bits() as i64;
        *v = if i == i64::MIN {
            na_real()
        } else {
            let d = i as f64;
            lossy |= d as i128 != i as i128;
            d
        };
    }
    lossy
}

#[cfg(test)]
mod tests {
    use super::*;
    use byteorder::{BigEndian, ByteOrder, LittleEndian};

    #[test]
    fn stored_24_bit_values_agree_with_byteorder_both_ways() {
        // Edges of both 24-bit types, sign bit patterns and a sweep.
        let mut values: Vec<i64> = vec![-8388608, -8388607, -65536, -256, -129, -128, -1, 0, 1, 127, 128, 255, 256, 65535, 8388607];
        values.extend((0..4095).map(|k| k * 4097 - 8_388_608)); // within the range
        for v in values {
            let mut le = [0u8; 3];
            let mut be = [0u8; 3];
            LittleEndian::write_i24(&mut le, v as i32);
            BigEndian::write_i24(&mut be, v as i32);
            assert_eq!(<i32 as Stored<3>>::to_le(v as i32), le, "{v}");
            assert_eq!(<i32 as Stored<3>>::to_be(v as i32), be, "{v}");
            assert_eq!(<i32 as Stored<3>>::from_le(le), v as i32);
            assert_eq!(<i32 as Stored<3>>::from_be(be), v as i32);
            let u = (v + 8_388_608) as u32;
            LittleEndian::write_u24(&mut le, u);
            BigEndian::write_u24(&mut be, u);
            assert_eq!(<u32 as Stored<3>>::to_le(u), le, "{u}");
            assert_eq!(<u32 as Stored<3>>::to_be(u), be, "{u}");
            assert_eq!(<u32 as Stored<3>>::from_le(le), u);
            assert_eq!(<u32 as Stored<3>>::from_be(be), u);
        }
    }

    #[test]
    fn orders_read_what_they_write_at_every_width() {
        let mut slot = [0u8; 8];
        Le::put::<i16, 2>(&mut slot, -2);
        assert_eq!(&slot[..2], &[0xFE, 0xFF]);
        assert_eq!(Le::get::<i16, 2>(&slot), -2);
        Be::put::<u32, 4>(&mut slot, 0x0102_0304);
        assert_eq!(&slot[..4], &[1, 2, 3, 4]);
        assert_eq!(Be::get::<u32, 4>(&slot), 0x0102_0304);
        Be::put::<f64, 8>(&mut slot, -0.5);
        assert_eq!(Be::get::<f64, 8>(&slot), -0.5);
        assert_eq!(Le::get::<f64, 8>(&slot).to_bits(), (-0.5f64).to_bits().swap_bytes());
    }

    #[test]
    fn extraction_into_the_wrong_r_kind_is_an_internal_error() {
        let d = DType::new(Kind::Int16, Endian::Little, None).unwrap();
        let sel = Selection::Range { start: 0, len: 1 };
        let mut o = [0f64; 1];
        let e = extract(&d, &[0, 0], &sel, OutBuf::Double(&mut o)).unwrap_err();
        assert_eq!(e.class(), "mmap_error_internal");
    }
}
