//! Decoding stored bytes into R's vectors and encoding R's vectors into stored bytes.
//!
//! Every function here works on plain slices: the caller supplies the mapped bytes
//! and the R vector's memory, so this module is pure and testable without R.

use crate::ctype::{Ctype, RKind};
use crate::error::{MmError, Result};
use crate::index::{Selection, NA_POS};

mod scalar;
mod stored;

// The codecs are named by path in the type table: a new one needs no edit here.
pub use scalar::*;
pub use stored::{Be, Le, Order, Stored};

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
pub fn is_verbatim(ctype: &Ctype) -> bool {
    ctype.info().verbatim && ctype.endian.is_native()
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
/// `sel` must already be resolved against `bytes.len() / ctype.bytes()`.
pub fn extract(ctype: &Ctype, bytes: &[u8], sel: &Selection, out: OutBuf<'_>) -> Result<()> {
    extract_at(ctype, Geometry::dense(ctype.bytes()), bytes, sel, out)
}

/// Like [`extract`], for elements laid out as `g` describes (e.g. one field of
/// an array of records). `g.size` must be the type's width.
pub fn extract_at(ctype: &Ctype, g: Geometry, bytes: &[u8], sel: &Selection, mut out: OutBuf<'_>) -> Result<()> {
    if g.size != ctype.bytes() {
        return Err(MmError::Internal("geometry size differs from the type's width".into()));
    }
    if out.rkind() != ctype.info().rkind {
        return Err(MmError::Internal(format!(
            "{} extracts to {:?}, not {:?}",
            ctype.name(),
            ctype.info().rkind,
            out.rkind()
        )));
    }
    if out.len() as u64 != sel.len() {
        return Err(MmError::Internal("output length differs from the selection".into()));
    }
    if let (true, Selection::Range { start, len }) = (is_verbatim(ctype) && g.is_dense(), sel) {
        let size = ctype.bytes();
        let from = *start as usize * size;
        copy_range(&bytes[from..from + *len as usize * size], out_bytes(&mut out));
        return Ok(());
    }
    ctype.dispatch(Extract { g, bytes, sel, out, sentinel: ctype.sentinel })
}

/// Extraction, run with the type's codec and byte order.
struct Extract<'a, 'o> {
    g: Geometry,
    bytes: &'a [u8],
    sel: &'a Selection,
    out: OutBuf<'o>,
    sentinel: Option<i64>,
}

impl CodecOp for Extract<'_, '_> {
    type Output = Result<()>;
    fn run<C: Codec, O: Order>(self) -> Result<()> {
        // `extract_at` checked the output kind against the type's row.
        let out = C::R::slice(self.out).ok_or_else(|| MmError::Internal("output buffer of the wrong R kind".into()))?;
        let sentinel = self.sentinel;
        gather(self.bytes, self.g, self.sel, out, C::R::na(), |b| C::decode::<O>(b, sentinel));
        Ok(())
    }
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
pub fn replace(ctype: &Ctype, bytes: &mut [u8], sel: &Selection, value: InBuf<'_>) -> Result<ReplaceReport> {
    let n = sel.len() as usize;
    if n == 0 {
        return Ok(ReplaceReport::default());
    }
    let used = check_replacement(sel, value.len())?;
    let size = ctype.bytes();
    let report = ReplaceReport::recycling(n, value.len());

    // Same representation as stored: no encoding pass, copy straight through.
    if verbatim_input(ctype, &value) {
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

    let encoded = encode(ctype, sel, value)?;
    scatter(bytes, Geometry::dense(size), sel, &encoded);
    Ok(report)
}

/// Encodes the values a replacement of `sel` uses (at most one per position,
/// recycled later by [`scatter`]), checking every one; nothing is written.
/// Errors name the element of `sel` the offending value was headed for.
pub fn encode(ctype: &Ctype, sel: &Selection, value: InBuf<'_>) -> Result<Vec<u8>> {
    let used = values_used(sel.len() as usize, value.len())?;
    let mut encoded = vec![0u8; used * ctype.bytes()];
    ctype.dispatch(EncodeAll { ctype, value, sel, encoded: &mut encoded })?;
    Ok(encoded)
}

/// Whether `value` already holds the stored bytes: a type stored as R's own
/// vector, given that very vector kind.
fn verbatim_input(ctype: &Ctype, value: &InBuf<'_>) -> bool {
    is_verbatim(ctype) && value.rkind() == ctype.info().rkind
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

/// Encoding of the values a replacement uses, run with the type's codec and byte order.
struct EncodeAll<'a, 'v> {
    ctype: &'a Ctype,
    value: InBuf<'v>,
    sel: &'a Selection,
    encoded: &'a mut [u8],
}

impl CodecOp for EncodeAll<'_, '_> {
    type Output = Result<()>;
    fn run<C: Codec, O: Order>(self) -> Result<()> {
        for (k, slot) in self.encoded.chunks_exact_mut(C::BYTES).enumerate() {
            if let Err(refusal) = C::encode::<O>(self.ctype, self.value.at(k), slot) {
                return Err(refusal.into_error(self.ctype, self.sel.get(k as u64) + 1));
            }
        }
        Ok(())
    }
}

/// Encodes one value into `slot`, as `ctype` stores it; the error says why
/// the value cannot be stored, without a position (the caller names it).
pub fn encode_value(ctype: &Ctype, v: Num, slot: &mut [u8]) -> std::result::Result<(), String> {
    struct EncodeOne<'a, 's> {
        ctype: &'a Ctype,
        v: Num,
        slot: &'s mut [u8],
    }
    impl CodecOp for EncodeOne<'_, '_> {
        type Output = std::result::Result<(), Refusal>;
        fn run<C: Codec, O: Order>(self) -> Self::Output {
            C::encode::<O>(self.ctype, self.v, self.slot)
        }
    }
    ctype.dispatch(EncodeOne { ctype, v, slot }).map_err(|refusal| refusal.reason(ctype))
}

impl Refusal {
    fn into_error(self, ctype: &Ctype, position: u64) -> MmError {
        let name = ctype.name().to_string();
        match self {
            Refusal::Range(v) => MmError::Range { value: v.text(), position, ctype: name, range: ctype.range_text() },
            Refusal::NoNa => MmError::NoNa { position, ctype: name },
            Refusal::Sentinel(v) => MmError::Sentinel { value: v.text(), position, ctype: name },
            Refusal::Type(what) => MmError::Type(format!("cannot write {what} values to a {name} mapping")),
        }
    }

    fn reason(self, ctype: &Ctype) -> String {
        let name = ctype.name();
        match self {
            Refusal::Range(v) => format!("{} is outside the range of {name} ({})", v.text(), ctype.range_text()),
            Refusal::NoNa => format!("{name} has no NA"),
            Refusal::Sentinel(v) => format!("{} is the NA sentinel of this {name}", v.text()),
            Refusal::Type(what) => format!("cannot store {what} values as {name}"),
        }
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
    use crate::ctype::{Endian, Kind};
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
        let d = Ctype::new(Kind::Int16, Endian::Little, None).unwrap();
        let sel = Selection::Range { start: 0, len: 1 };
        let mut o = [0f64; 1];
        let e = extract(&d, &[0, 0], &sel, OutBuf::Double(&mut o)).unwrap_err();
        assert_eq!(e.class(), "mmap_error_internal");
    }
}
