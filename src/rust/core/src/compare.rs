//! `which()`-style comparison of a mapping against one value: `m < 100`.
//!
//! The answer is the ascending 0-based positions of the elements for which
//! `element <op> value` holds, exactly as R would decide it on the extracted
//! vector, but without extracting anything:
//!
//! * full precision: an integer type against a fractional value compares with
//!   the value itself (`m < 10.5` includes 10), an int64 against a double or an
//!   integer64 exactly, a double against an integer64 exactly;
//! * each type is read as what it is: signed types signed, in the mapping's
//!   byte order, logical types as 0/1;
//! * NA never matches: neither an NA element (builtin NA, a sentinel, any NaN)
//!   nor anything at all when the value is NA or NaN;
//! * complex values support only `==` and `!=`.
//!
//! The value is first turned into a predicate in the storage's own domain (an
//! integer interval for integer types, a float threshold for float types), so
//! the hot loop never converts elements. Each type and byte order gets its own
//! monomorphised loop over the mapped bytes; large mappings are split across
//! threads (pure Rust, `std::thread::scope`) and the per-chunk answers are
//! concatenated in order.

use crate::dtype::{DType, Endian, Kind};
use crate::error::{MmError, Result};
use crate::layout::CharType;
use crate::strings::{self, CIndex};
use crate::vector::View;

/// A comparison operator.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Op {
    Eq,
    Ne,
    Lt,
    Le,
    Gt,
    Ge,
}

impl Op {
    pub const ALL: [Op; 6] = [Op::Eq, Op::Ne, Op::Lt, Op::Le, Op::Gt, Op::Ge];

    pub fn parse(s: &str) -> Result<Op> {
        Ok(match s {
            "==" => Op::Eq,
            "!=" => Op::Ne,
            "<" => Op::Lt,
            "<=" => Op::Le,
            ">" => Op::Gt,
            ">=" => Op::Ge,
            other => {
                return Err(MmError::Type(format!(
                    "`{other}` is not a comparison: a mapping can be compared with ==, !=, <, <=, > and >="
                )))
            }
        })
    }

    pub fn symbol(self) -> &'static str {
        match self {
            Op::Eq => "==",
            Op::Ne => "!=",
            Op::Lt => "<",
            Op::Le => "<=",
            Op::Gt => ">",
            Op::Ge => ">=",
        }
    }

    /// The operator giving the same answer with the operands swapped:
    /// `v < m` is `m > v`.
    pub fn swapped(self) -> Op {
        match self {
            Op::Eq => Op::Eq,
            Op::Ne => Op::Ne,
            Op::Lt => Op::Gt,
            Op::Le => Op::Ge,
            Op::Gt => Op::Lt,
            Op::Ge => Op::Le,
        }
    }

    fn is_ordering(self) -> bool {
        !matches!(self, Op::Eq | Op::Ne)
    }
}

/// The right-hand side of a comparison, as R handed it over.
#[derive(Clone, Debug, PartialEq)]
pub enum Scalar {
    /// Any NA (logical, integer, double, complex, character or integer64).
    Na,
    /// An integer, logical (0/1), raw byte or integer64 value.
    Int(i64),
    /// A double; NaN matches nothing, like NA.
    Real(f64),
    Cplx(f64, f64),
    /// A string, as bytes (for string types).
    Str(Vec<u8>),
}

impl Scalar {
    fn describe(&self) -> String {
        match self {
            Scalar::Na => "NA".into(),
            Scalar::Int(v) => v.to_string(),
            Scalar::Real(x) => format!("{x}"),
            Scalar::Cplx(re, im) => format!("{re}{im:+}i"),
            Scalar::Str(s) => format!("\"{}\"", String::from_utf8_lossy(s)),
        }
    }
}

// ---------------------------------------------------------------------------
// The answer

/// A run of hits: positions `base + offset`.
#[derive(Clone, Debug, Default, PartialEq)]
struct Part {
    base: u64,
    offsets: Vec<u32>,
}

/// Ascending 0-based positions of the matching elements. Stored as 32-bit
/// offsets per chunk, so a mapping where everything matches costs 4 bytes per
/// hit before R's result vector is filled.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Hits {
    parts: Vec<Part>,
}

impl Hits {
    pub fn len(&self) -> u64 {
        self.parts.iter().map(|p| p.offsets.len() as u64).sum()
    }

    pub fn is_empty(&self) -> bool {
        self.parts.iter().all(|p| p.offsets.is_empty())
    }

    /// The largest position, if any.
    pub fn last(&self) -> Option<u64> {
        self.parts.iter().rev().find_map(|p| p.offsets.last().map(|&o| p.base + o as u64))
    }

    /// The positions, in ascending order.
    pub fn iter(&self) -> impl Iterator<Item = u64> + '_ {
        self.parts.iter().flat_map(|p| p.offsets.iter().map(move |&o| p.base + o as u64))
    }

    pub fn to_vec(&self) -> Vec<u64> {
        self.iter().collect()
    }

    /// Writes the 1-based positions into an R integer vector of `len()` elements.
    /// The caller has checked that `last() < i32::MAX`.
    pub fn fill_one_based_i32(&self, out: &mut [i32]) -> Result<()> {
        self.check_out(out.len())?;
        if self.last().is_some_and(|p| p >= i32::MAX as u64) {
            return Err(MmError::Type("internal: positions past 2^31-1 need a double vector".into()));
        }
        for (o, p) in out.iter_mut().zip(self.iter()) {
            *o = (p + 1) as i32;
        }
        Ok(())
    }

    /// Writes the 1-based positions into an R double vector of `len()` elements.
    pub fn fill_one_based_f64(&self, out: &mut [f64]) -> Result<()> {
        self.check_out(out.len())?;
        for (o, p) in out.iter_mut().zip(self.iter()) {
            *o = (p + 1) as f64;
        }
        Ok(())
    }

    /// Hits from ascending 0-based positions.
    pub fn from_positions(positions: &[u64]) -> Hits {
        let mut parts: Vec<Part> = Vec::new();
        for &p in positions {
            let base = p - p % PART_MAX as u64;
            match parts.last_mut() {
                Some(part) if part.base == base => part.offsets.push((p - base) as u32),
                _ => parts.push(Part { base, offsets: vec![(p - base) as u32] }),
            }
        }
        Hits { parts }
    }

    fn check_out(&self, n: usize) -> Result<()> {
        if n as u64 != self.len() {
            return Err(MmError::Type("internal: output length differs from the number of hits".into()));
        }
        Ok(())
    }
}

// ---------------------------------------------------------------------------
// Entry points

impl View<'_> {
    /// The positions of the elements with `element <op> value`.
    pub fn compare(&self, op: Op, value: &Scalar) -> Result<Hits> {
        let bytes = self.map.bytes()?;
        let used = self.len() as usize * self.dtype.bytes();
        compare(self.dtype, &bytes[..used], op, value)
    }
}

/// Bytes past which a comparison is split across threads.
const PARALLEL_MIN_BYTES: usize = 1 << 22;

/// Compares every element of `bytes` (whole elements of `dtype`) with `value`.
pub fn compare(dtype: &DType, bytes: &[u8], op: Op, value: &Scalar) -> Result<Hits> {
    compare_with(dtype, bytes, op, value, PARALLEL_MIN_BYTES)
}

fn unsupported(dtype: &DType, op: Op, value: &Scalar) -> MmError {
    MmError::Type(format!(
        "cannot compare a {} mapping with {} {}",
        dtype.name(),
        value.describe(),
        match value {
            Scalar::Str(_) => "(a string): compare it with a number".to_string(),
            _ if op.is_ordering() && (dtype.kind == Kind::Cplx || matches!(value, Scalar::Cplx(..))) => {
                format!("using `{}`: complex values support only == and !=", op.symbol())
            }
            _ => format!("using `{}`", op.symbol()),
        }
    ))
}

fn compare_with(dtype: &DType, bytes: &[u8], op: Op, value: &Scalar, min_parallel: usize) -> Result<Hits> {
    let ctx = Ctx { min_parallel };
    let big = dtype.endian == Endian::Big;
    // Integer storage: the value becomes an interval of the type's integers.
    let ints = |lo: i64, hi: i64| -> Result<Option<IntSet>> {
        Ok(int_set(op, value).ok_or_else(|| unsupported(dtype, op, value))?.and_then(|s| s.clamp(lo, hi)))
    };
    let info = dtype.info();
    let sentinel = dtype.sentinel;
    macro_rules! int_kind {
        ($t:ty, $n:literal, $le:expr, $be:expr) => {{
            match ints(info.min, info.max)? {
                None => Ok(Hits::default()),
                Some(set) if big => Ok(ctx.ints::<$t, $n, _>(bytes, set, sentinel, $be)),
                Some(set) => Ok(ctx.ints::<$t, $n, _>(bytes, set, sentinel, $le)),
            }
        }};
    }
    match dtype.kind {
        Kind::UChar => match ints(0, 255)? {
            None => Ok(Hits::default()),
            Some(set) => Ok(ctx.ints::<u8, 1, _>(bytes, set, None, |b: [u8; 1]| b[0])),
        },
        Kind::Int8 => int_kind!(i8, 1, |b: [u8; 1]| b[0] as i8, |b: [u8; 1]| b[0] as i8),
        Kind::UInt8 => int_kind!(u8, 1, |b: [u8; 1]| b[0], |b: [u8; 1]| b[0]),
        Kind::Int16 => int_kind!(i16, 2, i16::from_le_bytes, i16::from_be_bytes),
        Kind::UInt16 => int_kind!(u16, 2, u16::from_le_bytes, u16::from_be_bytes),
        Kind::Int24 => int_kind!(
            i32,
            3,
            |b: [u8; 3]| i32::from_le_bytes([0, b[0], b[1], b[2]]) >> 8,
            |b: [u8; 3]| i32::from_be_bytes([b[0], b[1], b[2], 0]) >> 8
        ),
        Kind::UInt24 => int_kind!(
            u32,
            3,
            |b: [u8; 3]| u32::from_le_bytes([b[0], b[1], b[2], 0]),
            |b: [u8; 3]| u32::from_be_bytes([0, b[0], b[1], b[2]])
        ),
        // The builtin NAs of int32 and int64 lie outside [info.min, info.max].
        Kind::Int32 => int_kind!(i32, 4, i32::from_le_bytes, i32::from_be_bytes),
        Kind::UInt32 => int_kind!(u32, 4, u32::from_le_bytes, u32::from_be_bytes),
        Kind::Int64 => int_kind!(i64, 8, i64::from_le_bytes, i64::from_be_bytes),
        Kind::Logi8 | Kind::Logi32 => {
            let Some(set) = ints(0, 1)? else { return Ok(Hits::default()) };
            let (m0, m1) = (set.contains(0), set.contains(1));
            if !m0 && !m1 {
                return Ok(Hits::default());
            }
            if dtype.kind == Kind::Logi8 {
                Ok(ctx.logicals::<u8, 1, _>(bytes, m0, m1, 0x80, |b: [u8; 1]| b[0]))
            } else if big {
                Ok(ctx.logicals::<i32, 4, _>(bytes, m0, m1, i32::MIN, i32::from_be_bytes))
            } else {
                Ok(ctx.logicals::<i32, 4, _>(bytes, m0, m1, i32::MIN, i32::from_le_bytes))
            }
        }
        Kind::Real32 | Kind::Real64 => {
            let pred = float_pred(op, value).ok_or_else(|| unsupported(dtype, op, value))?;
            // Every NaN (NA included) fails every predicate.
            match (dtype.kind, big) {
                (Kind::Real32, false) => Ok(ctx.floats::<4, _>(bytes, pred, |b| f32::from_le_bytes(b) as f64)),
                (Kind::Real32, true) => Ok(ctx.floats::<4, _>(bytes, pred, |b| f32::from_be_bytes(b) as f64)),
                (_, false) => Ok(ctx.floats::<8, _>(bytes, pred, f64::from_le_bytes)),
                (_, true) => Ok(ctx.floats::<8, _>(bytes, pred, f64::from_be_bytes)),
            }
        }
        Kind::Cplx => {
            let pred = cplx_pred(op, value).ok_or_else(|| unsupported(dtype, op, value))?;
            if big {
                Ok(ctx.cplx(bytes, pred, f64::from_be_bytes))
            } else {
                Ok(ctx.cplx(bytes, pred, f64::from_le_bytes))
            }
        }
        // String and bit layouts are not `DType`s: they have their own scans,
        // `compare_char`, `compare_cstring` and `compare_bits` below.
        #[allow(unreachable_patterns)]
        _ => Err(MmError::Type(format!("comparison is not supported for {} mappings", dtype.name()))),
    }
}

// ---------------------------------------------------------------------------
// Strings and bits

/// The string a string mapping is compared with: `None` for NA (nothing
/// matches). Anything but a string is an error: R would compare the number's
/// text, which is rarely what was meant.
fn string_value<'a>(what: &str, op: Op, value: &'a Scalar) -> Result<Option<&'a [u8]>> {
    match value {
        Scalar::Na => Ok(None),
        Scalar::Str(s) => Ok(Some(s)),
        other => Err(MmError::Type(format!(
            "cannot compare a {what} mapping with {} using `{}`: a string mapping is compared with a string",
            other.describe(),
            op.symbol()
        ))),
    }
}

/// Whether `element.cmp(value)` satisfies `op`.
fn ordering_pred(op: Op) -> impl Fn(std::cmp::Ordering) -> bool + Sync + Copy {
    move |o: std::cmp::Ordering| match op {
        Op::Eq => o.is_eq(),
        Op::Ne => o.is_ne(),
        Op::Lt => o.is_lt(),
        Op::Le => o.is_le(),
        Op::Gt => o.is_gt(),
        Op::Ge => o.is_ge(),
    }
}

/// A `char(n)` mapping (whole elements in `bytes`) against a string: exact,
/// whole-string comparison in byte order, where an element's text ends at its
/// first nul (padding is not part of it). NA elements (the type's sentinel)
/// never match, and an NA value matches nothing.
pub fn compare_char(ct: &CharType, bytes: &[u8], op: Op, value: &Scalar) -> Result<Hits> {
    let Some(v) = string_value(&ct.name(), op, value)? else { return Ok(Hits::default()) };
    let used = bytes.len() / ct.bytes() * ct.bytes();
    Ok(Hits::from_positions(&strings::which_char(ct, &bytes[..used], v, ordering_pred(op))))
}

/// A cstring mapping, through its offset table, against a string; as
/// [`compare_char`] (cstring has no NA).
pub fn compare_cstring(index: &CIndex, bytes: &[u8], op: Op, value: &Scalar) -> Result<Hits> {
    let Some(v) = string_value("cstring", op, value)? else { return Ok(Hits::default()) };
    Ok(Hits::from_positions(&index.which(bytes, v, ordering_pred(op))?))
}

/// A `bits` mapping of `n` elements (bit k of word k / 32, words in `endian`
/// order) against a value, the bits being the logicals 0 and 1: `== TRUE`,
/// `!= 0`, `< 1`, `>= 0.5` and so on, exactly as for the other logical types.
/// Bits have no NA; an NA value matches nothing. Strings are an error.
pub fn compare_bits(endian: Endian, bytes: &[u8], n: u64, op: Op, value: &Scalar) -> Result<Hits> {
    compare_bits_with(endian, bytes, n, op, value, PARALLEL_MIN_BYTES)
}

fn compare_bits_with(endian: Endian, bytes: &[u8], n: u64, op: Op, value: &Scalar, min_parallel: usize) -> Result<Hits> {
    let words = n.div_ceil(32) as usize;
    if words * 4 > bytes.len() {
        return Err(MmError::Layout(format!("internal: {n} bits need {} bytes, the mapping has {}", words * 4, bytes.len())));
    }
    let set = match int_set(op, value) {
        Some(set) => set.and_then(|s| s.clamp(0, 1)),
        None => {
            return Err(MmError::Type(format!(
                "cannot compare a bits mapping with {} using `{}`: compare it with TRUE, FALSE, 0 or 1",
                value.describe(),
                op.symbol()
            )))
        }
    };
    let Some(set) = set else { return Ok(Hits::default()) };
    let want = match (set.contains(0), set.contains(1)) {
        (false, false) => return Ok(Hits::default()),
        (true, true) => None,
        (false, true) => Some(true),
        (true, false) => Some(false),
    };
    let bytes = &bytes[..words * 4];
    let threads = if bytes.len() < min_parallel {
        1
    } else {
        std::thread::available_parallelism().map_or(1, |p| p.get()).clamp(1, 8)
    };
    // Whole words per thread, so no two threads share a word.
    let per = words.div_ceil(threads).max(1);
    let chunk = |w0: usize| bit_parts(endian, bytes, w0, (w0 + per).min(words), n, want);
    if threads == 1 || words < 2 {
        return Ok(Hits { parts: chunk(0) });
    }
    let parts = std::thread::scope(|scope| {
        let chunk = &chunk;
        let jobs: Vec<_> = (0..words)
            .step_by(per)
            .map(|w0| {
                std::thread::Builder::new()
                    .name("mmap-compare".into())
                    .spawn_scoped(scope, move || chunk(w0))
                    .map_err(|_| w0)
            })
            .collect();
        jobs.into_iter()
            .flat_map(|job| match job {
                Ok(handle) => handle.join().unwrap_or_else(|panic| std::panic::resume_unwind(panic)),
                Err(w0) => chunk(w0),
            })
            .collect()
    });
    Ok(Hits { parts })
}

/// The positions among words `w0..w1` whose bit is `want` (every position
/// below `n` for `None`), as parts of at most `PART_MAX` positions.
fn bit_parts(endian: Endian, bytes: &[u8], w0: usize, w1: usize, n: u64, want: Option<bool>) -> Vec<Part> {
    const WORDS_PER_PART: usize = PART_MAX / 32;
    let mut parts = Vec::new();
    let mut start = w0;
    while start < w1 {
        let stop = w1.min(start + WORDS_PER_PART);
        let base = start as u64 * 32;
        let mut offsets = Vec::new();
        for w in start..stop {
            let b = [bytes[w * 4], bytes[w * 4 + 1], bytes[w * 4 + 2], bytes[w * 4 + 3]];
            let word = match endian {
                Endian::Little => u32::from_le_bytes(b),
                Endian::Big => u32::from_be_bytes(b),
            };
            let mut v = match want {
                Some(true) => word,
                Some(false) => !word,
                None => u32::MAX,
            };
            // Bits past the last element are not elements.
            let first = w as u64 * 32;
            if first + 32 > n {
                v &= (1u32 << (n - first)) - 1;
            }
            let at = (first - base) as u32;
            while v != 0 {
                offsets.push(at + v.trailing_zeros());
                v &= v - 1;
            }
        }
        parts.push(Part { base, offsets });
        start = stop;
    }
    parts
}

// ---------------------------------------------------------------------------
// Predicates in the storage's domain

const NEG: i128 = i128::MIN / 4;
const POS: i128 = i128::MAX / 4;

/// The integers `x` with `lo <= x <= hi` and `x != hole`.
#[derive(Clone, Copy, Debug, PartialEq)]
struct IntSet {
    lo: i128,
    hi: i128,
    hole: Option<i128>,
}

impl IntSet {
    fn all() -> Self {
        IntSet { lo: NEG, hi: POS, hole: None }
    }

    fn range(lo: i128, hi: i128) -> Self {
        IntSet { lo, hi, hole: None }
    }

    /// Restricts to a type's valid values; `None` when nothing is left.
    fn clamp(self, lo: i64, hi: i64) -> Option<IntSet> {
        let lo = self.lo.max(lo as i128);
        let hi = self.hi.min(hi as i128);
        (lo <= hi).then(|| IntSet { lo, hi, hole: self.hole.filter(|h| (lo..=hi).contains(h)) })
    }

    fn contains(&self, x: i128) -> bool {
        x >= self.lo && x <= self.hi && self.hole != Some(x)
    }
}

/// The integers `x` for which `x <op> value` holds. `Some(None)`: none;
/// `None`: the comparison is not defined (strings, ordering a complex).
fn int_set(op: Op, value: &Scalar) -> Option<Option<IntSet>> {
    let v = match *value {
        Scalar::Na => return Some(None),
        Scalar::Int(v) => v as i128,
        Scalar::Real(t) => return Some(real_int_set(op, t)),
        Scalar::Cplx(re, im) => {
            if op.is_ordering() {
                return None;
            }
            if re.is_nan() || im.is_nan() {
                return Some(None);
            }
            if im != 0.0 {
                // No real element equals it; every element differs from it.
                return Some((op == Op::Ne).then(IntSet::all));
            }
            return Some(real_int_set(op, re));
        }
        Scalar::Str(_) => return None,
    };
    Some(Some(match op {
        Op::Lt => IntSet::range(NEG, v - 1),
        Op::Le => IntSet::range(NEG, v),
        Op::Gt => IntSet::range(v + 1, POS),
        Op::Ge => IntSet::range(v, POS),
        Op::Eq => IntSet::range(v, v),
        Op::Ne => IntSet { lo: NEG, hi: POS, hole: Some(v) },
    }))
}

/// Integers against a double `t`, exactly: `x < t` is `x < ceil(t)`,
/// `x <= t` is `x <= floor(t)`, and `x == t` needs a whole `t`.
fn real_int_set(op: Op, t: f64) -> Option<IntSet> {
    if t.is_nan() {
        return None;
    }
    // Saturating casts, then clamp so that ±1 cannot overflow; the type's
    // range is far inside [NEG, POS].
    let floor = (t.floor() as i128).clamp(NEG, POS);
    let ceil = (t.ceil() as i128).clamp(NEG, POS);
    let whole = t.is_finite() && t.fract() == 0.0;
    match op {
        Op::Lt if t == f64::INFINITY => Some(IntSet::all()),
        Op::Le if t == f64::INFINITY => Some(IntSet::all()),
        Op::Gt if t == f64::NEG_INFINITY => Some(IntSet::all()),
        Op::Ge if t == f64::NEG_INFINITY => Some(IntSet::all()),
        Op::Lt => Some(IntSet::range(NEG, ceil - 1)),
        Op::Le => Some(IntSet::range(NEG, floor)),
        Op::Gt => Some(IntSet::range(floor + 1, POS)),
        Op::Ge => Some(IntSet::range(ceil, POS)),
        Op::Eq => whole.then(|| IntSet::range(floor, floor)),
        Op::Ne => Some(IntSet { lo: NEG, hi: POS, hole: whole.then_some(floor) }),
    }
}

/// What a float element must satisfy. NaN elements fail every variant.
#[derive(Clone, Copy, Debug, PartialEq)]
enum FloatPred {
    Nothing,
    Lt(f64),
    Le(f64),
    Gt(f64),
    Ge(f64),
    Eq(f64),
    Ne(f64),
    NotNan,
}

/// The smallest and the largest double bracketing `v`: equal when `v` is exact.
fn f64_bracket(v: i64) -> (f64, f64) {
    let f = v as f64; // round to nearest: off by less than one step
    let exact = f as i128; // f is whole and below 2^64, so this is exact
    let v = v as i128;
    if exact == v {
        (f, f)
    } else if exact > v {
        (f.next_down(), f)
    } else {
        (f, f.next_up())
    }
}

fn float_pred(op: Op, value: &Scalar) -> Option<FloatPred> {
    let t = match *value {
        Scalar::Na => return Some(FloatPred::Nothing),
        Scalar::Real(t) => t,
        Scalar::Int(v) => {
            // Exact: `x < v` is `x < ceil_f64(v)`, `x <= v` is `x <= floor_f64(v)`.
            let (floor, ceil) = f64_bracket(v);
            let exact = floor == ceil;
            return Some(match op {
                Op::Lt => FloatPred::Lt(ceil),
                Op::Le => FloatPred::Le(floor),
                Op::Gt => FloatPred::Gt(floor),
                Op::Ge => FloatPred::Ge(ceil),
                Op::Eq if exact => FloatPred::Eq(floor),
                Op::Eq => FloatPred::Nothing,
                Op::Ne if exact => FloatPred::Ne(floor),
                Op::Ne => FloatPred::NotNan,
            });
        }
        Scalar::Cplx(re, im) => {
            if op.is_ordering() {
                return None;
            }
            if re.is_nan() || im.is_nan() {
                return Some(FloatPred::Nothing);
            }
            if im != 0.0 {
                return Some(if op == Op::Ne { FloatPred::NotNan } else { FloatPred::Nothing });
            }
            re
        }
        Scalar::Str(_) => return None,
    };
    if t.is_nan() {
        return Some(FloatPred::Nothing);
    }
    Some(match op {
        Op::Lt => FloatPred::Lt(t),
        Op::Le => FloatPred::Le(t),
        Op::Gt => FloatPred::Gt(t),
        Op::Ge => FloatPred::Ge(t),
        Op::Eq => FloatPred::Eq(t),
        Op::Ne => FloatPred::Ne(t),
    })
}

/// What a complex element must satisfy; NaN in either part never matches.
#[derive(Clone, Copy, Debug, PartialEq)]
enum CplxPred {
    Nothing,
    Eq(f64, f64),
    Ne(f64, f64),
    NotNa,
}

fn cplx_pred(op: Op, value: &Scalar) -> Option<CplxPred> {
    if op.is_ordering() {
        return None;
    }
    let eq = op == Op::Eq;
    let (re, im) = match *value {
        Scalar::Na => return Some(CplxPred::Nothing),
        Scalar::Int(v) => {
            let (floor, ceil) = f64_bracket(v);
            if floor != ceil {
                return Some(if eq { CplxPred::Nothing } else { CplxPred::NotNa });
            }
            (floor, 0.0)
        }
        Scalar::Real(t) => (t, 0.0),
        Scalar::Cplx(re, im) => (re, im),
        Scalar::Str(_) => return None,
    };
    if re.is_nan() || im.is_nan() {
        return Some(CplxPred::Nothing);
    }
    Some(if eq { CplxPred::Eq(re, im) } else { CplxPred::Ne(re, im) })
}

// ---------------------------------------------------------------------------
// Scanning

/// A stored integer type.
trait Int: Copy + PartialEq + Send + Sync + 'static {
    /// The unsigned type of the same width.
    type U: Copy + PartialOrd + Send + Sync;
    fn from_i128(v: i128) -> Self;
    /// `self - lo`, wrapping, as unsigned: `lo <= x <= hi` is
    /// `x.offset(lo) <= hi.offset(lo)`, one comparison instead of two (which
    /// the compiler vectorises much better when the bounds are not constants).
    fn offset(self, lo: Self) -> Self::U;
}

macro_rules! impl_int {
    ($($t:ty => $u:ty),*) => {$(
        impl Int for $t {
            type U = $u;
            fn from_i128(v: i128) -> Self {
                // Callers pass values already clamped to the type's range.
                v as $t
            }
            #[inline(always)]
            fn offset(self, lo: Self) -> $u {
                self.wrapping_sub(lo) as $u
            }
        }
    )*};
}
impl_int!(u8 => u8, i8 => u8, u16 => u16, i16 => u16, i32 => u32, u32 => u32, i64 => u64);

struct Ctx {
    min_parallel: usize,
}

impl Ctx {
    /// Integer elements in `set`, skipping the NA sentinel.
    fn ints<T: Int, const N: usize, D>(&self, bytes: &[u8], set: IntSet, sentinel: Option<i64>, decode: D) -> Hits
    where
        D: Fn([u8; N]) -> T + Sync,
    {
        let lo = T::from_i128(set.lo);
        let hi = T::from_i128(set.hi);
        let sentinel = sentinel.map(i128::from).filter(|s| set.contains(*s));
        let holes: Vec<T> = set.hole.into_iter().chain(sentinel).map(T::from_i128).collect();
        let span = hi.offset(lo);
        match holes[..] {
            [] => self.scan(bytes, |b: &[u8; N]| decode(*b).offset(lo) <= span),
            [h] => self.scan(bytes, |b: &[u8; N]| {
                let x = decode(*b);
                (x.offset(lo) <= span) & (x != h)
            }),
            [h, g, ..] => self.scan(bytes, |b: &[u8; N]| {
                let x = decode(*b);
                (x.offset(lo) <= span) & (x != h) & (x != g)
            }),
        }
    }

    /// Logical elements: 0 is FALSE, `na` is NA, anything else TRUE.
    fn logicals<T: Int, const N: usize, D>(&self, bytes: &[u8], m0: bool, m1: bool, na: T, decode: D) -> Hits
    where
        D: Fn([u8; N]) -> T + Sync,
    {
        let zero = T::from_i128(0);
        match (m0, m1) {
            (true, false) => self.scan(bytes, |b: &[u8; N]| decode(*b) == zero),
            (false, true) => self.scan(bytes, |b: &[u8; N]| {
                let x = decode(*b);
                (x != zero) & (x != na)
            }),
            (true, true) => self.scan(bytes, |b: &[u8; N]| decode(*b) != na),
            (false, false) => Hits::default(),
        }
    }

    fn floats<const N: usize, D>(&self, bytes: &[u8], pred: FloatPred, decode: D) -> Hits
    where
        D: Fn([u8; N]) -> f64 + Sync,
    {
        match pred {
            FloatPred::Nothing => Hits::default(),
            FloatPred::Lt(t) => self.scan(bytes, |b: &[u8; N]| decode(*b) < t),
            FloatPred::Le(t) => self.scan(bytes, |b: &[u8; N]| decode(*b) <= t),
            FloatPred::Gt(t) => self.scan(bytes, |b: &[u8; N]| decode(*b) > t),
            FloatPred::Ge(t) => self.scan(bytes, |b: &[u8; N]| decode(*b) >= t),
            FloatPred::Eq(t) => self.scan(bytes, |b: &[u8; N]| decode(*b) == t),
            FloatPred::Ne(t) => self.scan(bytes, |b: &[u8; N]| {
                let x = decode(*b);
                !x.is_nan() & (x != t)
            }),
            FloatPred::NotNan => self.scan(bytes, |b: &[u8; N]| !decode(*b).is_nan()),
        }
    }

    fn cplx<D>(&self, bytes: &[u8], pred: CplxPred, decode: D) -> Hits
    where
        D: Fn([u8; 8]) -> f64 + Sync,
    {
        let parts = |b: &[u8; 16]| {
            let (re, im) = b.split_at(8);
            let mut r = [0u8; 8];
            let mut i = [0u8; 8];
            r.copy_from_slice(re);
            i.copy_from_slice(im);
            (decode(r), decode(i))
        };
        match pred {
            CplxPred::Nothing => Hits::default(),
            CplxPred::Eq(r, i) => self.scan(bytes, |b: &[u8; 16]| {
                let (re, im) = parts(b);
                re == r && im == i
            }),
            CplxPred::Ne(r, i) => self.scan(bytes, |b: &[u8; 16]| {
                let (re, im) = parts(b);
                !re.is_nan() && !im.is_nan() && (re != r || im != i)
            }),
            CplxPred::NotNa => self.scan(bytes, |b: &[u8; 16]| {
                let (re, im) = parts(b);
                !re.is_nan() && !im.is_nan()
            }),
        }
    }

    /// Positions of the `N`-byte elements of `bytes` for which `hit` holds,
    /// split across threads when the mapping is large.
    fn scan<const N: usize, F>(&self, bytes: &[u8], hit: F) -> Hits
    where
        F: Fn(&[u8; N]) -> bool + Sync,
    {
        let (elems, _) = bytes.as_chunks::<N>();
        let threads = if bytes.len() < self.min_parallel {
            1
        } else {
            std::thread::available_parallelism().map_or(1, |p| p.get()).clamp(1, 8)
        };
        if threads == 1 || elems.len() < 2 {
            return Hits { parts: scan_range(elems, 0, &hit) };
        }
        let per = elems.len().div_ceil(threads);
        let hit = &hit;
        let parts = std::thread::scope(|scope| {
            let jobs: Vec<_> = elems
                .chunks(per)
                .enumerate()
                .map(|(k, chunk)| {
                    let base = (k * per) as u64;
                    let spawned = std::thread::Builder::new()
                        .name("mmap-compare".into())
                        .spawn_scoped(scope, move || scan_range(chunk, base, hit));
                    // A thread that cannot be started is done here instead.
                    spawned.map_err(|_| (chunk, base))
                })
                .collect();
            jobs.into_iter()
                .flat_map(|job| match job {
                    Ok(handle) => handle.join().unwrap_or_else(|panic| std::panic::resume_unwind(panic)),
                    Err((chunk, base)) => scan_range(chunk, base, hit),
                })
                .collect()
        });
        Hits { parts }
    }
}

/// Elements per `Part`, so that offsets fit in 32 bits.
const PART_MAX: usize = 1 << 31;

fn scan_range<const N: usize, F>(elems: &[[u8; N]], base: u64, hit: &F) -> Vec<Part>
where
    F: Fn(&[u8; N]) -> bool,
{
    elems
        .chunks(PART_MAX)
        .enumerate()
        .map(|(k, chunk)| Part { base: base + (k * PART_MAX) as u64, offsets: scan_block(chunk, hit) })
        .collect()
}

/// The hot loop, 64 elements at a time: first count the hits of a block
/// (branch-free, so the compiler vectorises it), and only for a block with
/// hits write their positions, again without a branch per element.
fn scan_block<const N: usize, F>(elems: &[[u8; N]], hit: &F) -> Vec<u32>
where
    F: Fn(&[u8; N]) -> bool,
{
    let mut out = Vec::new();
    let (blocks, rest) = elems.as_chunks::<64>();
    for (k, block) in blocks.iter().enumerate() {
        let mut count = 0u32;
        for e in block.iter() {
            count += hit(e) as u32;
        }
        if count != 0 {
            let at = (k * 64) as u32;
            let mut found = [0u32; 64];
            let mut n = 0usize;
            for (j, e) in block.iter().enumerate() {
                // n <= j < 64 here, so `& 63` only spares the bounds check.
                found[n & 63] = at + j as u32;
                n += hit(e) as usize;
            }
            out.extend_from_slice(&found[..n]);
        }
    }
    let at = blocks.len() * 64;
    for (j, e) in rest.iter().enumerate() {
        if hit(e) {
            out.push((at + j) as u32);
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::codec::{self, InBuf, OutBuf, NA_INT};
    use crate::dtype::RKind;
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

    fn decode_all(dtype: &DType, bytes: &[u8]) -> Vec<Val> {
        let n = bytes.len() / dtype.bytes();
        let sel = Selection::Range { start: 0, len: n as u64 };
        match dtype.info().rkind {
            RKind::Raw => {
                let mut o = vec![0u8; n];
                codec::extract(dtype, bytes, &sel, OutBuf::Raw(&mut o)).unwrap();
                o.into_iter().map(|v| Val::Int(v as i128)).collect()
            }
            RKind::Integer | RKind::Logical => {
                let mut o = vec![0i32; n];
                let out = if dtype.info().rkind == RKind::Integer {
                    OutBuf::Integer(&mut o)
                } else {
                    OutBuf::Logical(&mut o)
                };
                codec::extract(dtype, bytes, &sel, out).unwrap();
                o.into_iter().map(|v| if v == NA_INT { Val::Na } else { Val::Int(v as i128) }).collect()
            }
            RKind::Double => {
                let mut o = vec![0f64; n];
                codec::extract(dtype, bytes, &sel, OutBuf::Double(&mut o)).unwrap();
                o.into_iter()
                    .map(|v| {
                        if v.is_nan() {
                            Val::Na
                        } else if dtype.kind == Kind::UInt32 {
                            Val::Int(v as i128)
                        } else {
                            Val::Real(v)
                        }
                    })
                    .collect()
            }
            RKind::Integer64 => {
                let mut o = vec![0i64; n];
                codec::extract(dtype, bytes, &sel, OutBuf::Int64(&mut o)).unwrap();
                o.into_iter().map(|v| if v == i64::MIN { Val::Na } else { Val::Int(v as i128) }).collect()
            }
            RKind::Complex => {
                let mut o = vec![[0f64; 2]; n];
                codec::extract(dtype, bytes, &sel, OutBuf::Complex(&mut o)).unwrap();
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
    fn oracle(vals: &[Val], op: Op, s: &Scalar, dtype: &DType) -> Option<Vec<u64>> {
        let complex = dtype.kind == Kind::Cplx || matches!(s, Scalar::Cplx(..));
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
    fn int_bytes(dtype: &DType, extra_random: usize) -> Vec<u8> {
        let info = dtype.info();
        let (min, max) = if dtype.kind == Kind::UChar { (0, 255) } else { (info.min, info.max) };
        let mut values: Vec<i64> = vec![
            min, min + 1, -129, -128, -2, -1, 0, 1, 2, 9, 10, 11, 99, 100, 101, 127, 128, 255,
            256, 1 << 53, (1 << 53) + 1, (1 << 53) - 1, -(1 << 53) - 1, max - 1, max,
        ];
        let mut rng = Lcg(dtype.kind as u64 + 7);
        let span = (max as i128 - min as i128 + 1) as u128;
        for _ in 0..extra_random {
            values.push((min as i128 + (rng.next() as u128 % span) as i128) as i64);
            values.push((rng.next() % 201) as i64 - 100);
        }
        values.retain(|&v| v >= min && v <= max && Some(v) != dtype.sentinel);
        let mut with_na: Vec<i64> = Vec::new();
        for (k, v) in values.into_iter().enumerate() {
            if dtype.has_na() && k % 5 == 3 {
                with_na.push(i64::MIN);
            }
            with_na.push(v);
        }
        let mut bytes = vec![0u8; with_na.len() * dtype.bytes()];
        let sel = Selection::Range { start: 0, len: with_na.len() as u64 };
        if dtype.kind == Kind::UChar {
            let raw: Vec<u8> = with_na.iter().map(|&v| v as u8).collect();
            codec::replace(dtype, &mut bytes, &sel, InBuf::Raw(&raw)).unwrap();
        } else {
            codec::replace(dtype, &mut bytes, &sel, InBuf::Int64(&with_na)).unwrap();
        }
        bytes
    }

    fn real_bytes(dtype: &DType) -> Vec<u8> {
        let na = codec::na_real();
        let mut values = vec![
            na, f64::NAN, f64::INFINITY, f64::NEG_INFINITY, -0.0, 0.0, 0.5, -0.5, 1.0, 9.5, 9.999,
            10.0, 10.5, -10.5, -10.0, 11.0, 99.0, 100.0, 127.5, 0.1, 16777216.0, 16777218.0,
            9007199254740992.0, 9007199254740994.0, -9007199254740994.0, 1.5e-320, 3.0e38,
            -3.0e38, 4294967295.0, 9.223372036854776e18,
        ];
        if dtype.kind == Kind::Real64 {
            values.extend([1e300, -1e300, f64::MAX, f64::MIN_POSITIVE]);
        }
        let mut rng = Lcg(3);
        for _ in 0..200 {
            values.push((rng.next() % 4001) as f64 / 100.0 - 20.0);
        }
        let mut bytes = vec![0u8; values.len() * dtype.bytes()];
        let sel = Selection::Range { start: 0, len: values.len() as u64 };
        codec::replace(dtype, &mut bytes, &sel, InBuf::Double(&values)).unwrap();
        bytes
    }

    fn cplx_bytes(dtype: &DType) -> Vec<u8> {
        let na = codec::na_real();
        let values = [
            [1.0, 0.0], [1.0, 1.0], [na, na], [f64::NAN, 0.0], [0.0, f64::NAN], [10.0, 0.0],
            [10.0, 1.0], [-10.5, 0.0], [9007199254740992.0, 0.0], [0.0, 0.0], [-0.0, 0.0],
            [10.0, -0.0],
        ];
        let mut bytes = vec![0u8; values.len() * 16];
        let sel = Selection::Range { start: 0, len: values.len() as u64 };
        codec::replace(dtype, &mut bytes, &sel, InBuf::Complex(&values)).unwrap();
        bytes
    }

    fn logi_bytes(dtype: &DType) -> Vec<u8> {
        let values = [0, 1, NA_INT, 1, 0, NA_INT, 0];
        let mut bytes = vec![0u8; values.len() * dtype.bytes()];
        let sel = Selection::Range { start: 0, len: values.len() as u64 };
        codec::replace(dtype, &mut bytes, &sel, InBuf::Logical(&values)).unwrap();
        // Other non-zero patterns read as TRUE.
        if dtype.kind == Kind::Logi8 {
            bytes.extend([2u8, 0x7F, 0xFF, 0x81, 0x80, 0]);
        } else {
            for v in [5i32, -1, i32::MAX, i32::MIN + 1] {
                bytes.extend(match dtype.endian {
                    Endian::Little => v.to_le_bytes(),
                    Endian::Big => v.to_be_bytes(),
                });
            }
        }
        bytes
    }

    fn check(dtype: &DType, bytes: &[u8]) {
        let vals = decode_all(dtype, bytes);
        for op in Op::ALL {
            for s in scalars() {
                let want = oracle(&vals, op, &s, dtype);
                for min_parallel in [usize::MAX, 0] {
                    let got = compare_with(dtype, bytes, op, &s, min_parallel);
                    match (&want, got) {
                        (None, Err(e)) => assert_eq!(e.class(), "mmap_error_type"),
                        (Some(w), Ok(g)) => assert_eq!(
                            &g.to_vec(),
                            w,
                            "{} {} {:?} {:?}; data {:?}",
                            dtype.name(),
                            dtype.endian.name(),
                            op,
                            s,
                            vals
                        ),
                        (w, g) => panic!("{} {:?} {:?}: want {:?}, got {:?}", dtype.name(), op, s, w, g),
                    }
                }
            }
        }
    }

    fn dtypes() -> Vec<DType> {
        let mut out = Vec::new();
        for row in crate::dtype::table() {
            for endian in [Endian::Little, Endian::Big] {
                out.push(DType::new(row.kind, endian, None).unwrap());
                if row.na_rule == crate::dtype::NaRule::Sentinel {
                    for s in [row.min, 10, row.max] {
                        out.push(DType::new(row.kind, endian, Some(s)).unwrap());
                    }
                }
            }
        }
        out
    }

    #[test]
    fn every_type_endian_and_op_matches_the_oracle() {
        let mut seen = 0;
        for dtype in dtypes() {
            let bytes = match dtype.kind {
                Kind::Real32 | Kind::Real64 => real_bytes(&dtype),
                Kind::Cplx => cplx_bytes(&dtype),
                Kind::Logi8 | Kind::Logi32 => logi_bytes(&dtype),
                _ => int_bytes(&dtype, 150),
            };
            check(&dtype, &bytes);
            seen += 1;
        }
        assert!(seen >= 2 * 15);
    }

    fn int32(endian: Endian) -> DType {
        DType::new(Kind::Int32, endian, None).unwrap()
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
        let i8t = DType::new(Kind::Int8, Endian::Little, None).unwrap();
        assert_eq!(compare(&i8t, &[0xFF, 1, 0x80], Op::Lt, &Scalar::Int(0)).unwrap().to_vec(), vec![0, 2]);
        // int64 beyond 2^53, exact against both integers and doubles.
        let i64t = DType::new(Kind::Int64, Endian::Little, None).unwrap();
        let big: Vec<u8> = [(1i64 << 53), (1 << 53) + 1, (1 << 53) + 2].iter().flat_map(|v| v.to_le_bytes()).collect();
        assert_eq!(compare(&i64t, &big, Op::Eq, &Scalar::Int((1 << 53) + 1)).unwrap().to_vec(), vec![1]);
        assert_eq!(compare(&i64t, &big, Op::Gt, &Scalar::Real(9007199254740992.0)).unwrap().to_vec(), vec![1, 2]);
        // real64 against an integer64 that no double holds.
        let r64 = DType::new(Kind::Real64, Endian::Little, None).unwrap();
        let d: Vec<u8> = [9007199254740992.0f64, 9007199254740994.0].iter().flat_map(|v| v.to_le_bytes()).collect();
        assert_eq!(compare(&r64, &d, Op::Lt, &Scalar::Int((1 << 53) + 1)).unwrap().to_vec(), vec![0]);
        assert_eq!(compare(&r64, &d, Op::Eq, &Scalar::Int((1 << 53) + 1)).unwrap().to_vec(), Vec::<u64>::new());
        assert_eq!(compare(&r64, &d, Op::Ne, &Scalar::Int((1 << 53) + 1)).unwrap().to_vec(), vec![0, 1]);
    }

    #[test]
    fn unsupported_combinations_are_type_errors() {
        let c = DType::new(Kind::Cplx, Endian::Little, None).unwrap();
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
        let t = DType::new(Kind::Int16, Endian::Big, None).unwrap();
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
        let logi = DType::new(Kind::Logi32, Endian::Little, None).unwrap();
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
}
