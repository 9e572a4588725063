//! Whole-column summaries with base R's answers: `sum`, `prod`, `min`, `max`,
//! `range`, `any`, `all`, `mean` and `anyNA`, computed over decoded blocks in
//! parallel (contiguous parts, one per thread, merged left to right so that
//! "the first NA" means what it means in R's sequential loop).
//!
//! Integer and logical results are exact, as R's: sums accumulate in 128 bits,
//! a sum outside the integer range becomes a double (R >= 3.5), and the mean
//! reproduces R's long double division bit for bit. Doubles are summed with
//! Neumaier's compensation in independent lanes, which is at least as accurate
//! as R's long double accumulation; means take R's two passes.

use std::thread;

use crate::codec::{is_r_na, na_real, NA_INT};
use crate::column::{Block, Column, Scratch};
use crate::ctype::RKind;
use crate::error::{MmError, Result};
use crate::index::Selection;

const BLOCK: u64 = 1 << 14;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Op {
    Sum,
    Prod,
    Min,
    Max,
    Range,
    Any,
    All,
    Mean,
    AnyNa,
}

impl Op {
    pub fn parse(name: &str) -> Option<Op> {
        Some(match name {
            "sum" => Op::Sum,
            "prod" => Op::Prod,
            "min" => Op::Min,
            "max" => Op::Max,
            "range" => Op::Range,
            "any" => Op::Any,
            "all" => Op::All,
            "mean" => Op::Mean,
            "anyNA" => Op::AnyNa,
            _ => return None,
        })
    }
}


/// A summary's value, typed as R types it.
#[derive(Clone, Debug, PartialEq)]
pub enum Value {
    Int(Vec<i32>),
    Lgl(i32),
    Dbl(Vec<f64>),
    Cplx([f64; 2]),
    /// bit64's integer64: i64 values, `i64::MIN` being NA.
    I64(Vec<i64>),
}

#[derive(Clone, Debug, PartialEq)]
pub struct Answer {
    pub value: Value,
    /// R's warnings for this answer, in order.
    pub warnings: Vec<String>,
}

fn plain(value: Value) -> Option<Answer> {
    Some(Answer { value, warnings: Vec::new() })
}

/// The summary `op` of a column, or `None` where R's own code must answer
/// (types R rejects or coerces with a warning, strings, integer64): the caller
/// then applies R's function to a view, which gives R's result or R's error.
pub fn summarise(col: &Column, bytes: &[u8], op: Op, narm: bool) -> Result<Option<Answer>> {
    let Some(kind) = col.rkind() else {
        // Strings: only NA is a question of bytes; ordering is R's collation.
        if op != Op::AnyNa {
            return Ok(None);
        }
        let mut found = false;
        col.strings(bytes, &Selection::Range { start: 0, len: col.len }, |_, t| found |= t.is_none())?;
        return Ok(plain(Value::Lgl(found as i32)));
    };
    match (kind, op) {
        (_, Op::AnyNa) => any_na(col, bytes).map(|v| plain(Value::Lgl(v as i32))),
        (RKind::Integer | RKind::Logical, Op::Sum) => int_sum(col, bytes, narm).map(Some),
        (RKind::Integer | RKind::Logical, Op::Min | Op::Max | Op::Range) => int_extremes(col, bytes, op, narm).map(Some),
        (RKind::Integer | RKind::Logical, Op::Any | Op::All) => int_any_all(col, bytes, op, narm).map(Some),
        (RKind::Integer | RKind::Logical, Op::Mean) => int_mean(col, bytes, narm).map(|v| plain(Value::Dbl(vec![v]))),
        (RKind::Integer | RKind::Logical | RKind::Double, Op::Prod) => prod(col, bytes, narm).map(|v| plain(Value::Dbl(vec![v]))),
        (RKind::Double, Op::Sum) => dbl_sum(col, bytes, narm).map(|v| plain(Value::Dbl(vec![v]))),
        (RKind::Double, Op::Mean) => dbl_mean(col, bytes, narm).map(|v| plain(Value::Dbl(vec![v]))),
        (RKind::Double, Op::Min | Op::Max | Op::Range) => dbl_extremes(col, bytes, op, narm).map(Some),
        (RKind::Complex, Op::Sum) => cplx_sum(col, bytes, narm).map(|v| plain(Value::Cplx(v))),
        (RKind::Complex, Op::Mean) => cplx_mean(col, bytes, narm).map(|v| plain(Value::Cplx(v))),
        // bit64's own semantics, so that `sum(m)` needs no copy of the data.
        (RKind::Integer64, Op::Sum) => int64_sum(col, bytes, narm).map(Some),
        (RKind::Integer64, Op::Min | Op::Max | Op::Range) => int64_extremes(col, bytes, op, narm).map(Some),
        (RKind::Integer64, Op::Any | Op::All) => int_any_all(col, bytes, op, narm).map(Some),
        (RKind::Integer64, Op::Mean) => int64_mean(col, bytes, narm).map(Some),
        // R coerces doubles to logical with a warning, rejects complex and raw in
        // min/max/sum, and bit64 owns integer64's semantics: R answers those.
        (RKind::Double, Op::Any | Op::All)
        | (RKind::Complex, Op::Prod | Op::Min | Op::Max | Op::Range | Op::Any | Op::All)
        | (RKind::Raw, _)
        // bit64's product checks overflow its own way: it answers.
        | (RKind::Integer64, Op::Prod) => Ok(None),
    }
}

fn threads_for(n: u64) -> usize {
    if n < 1 << 17 {
        1
    } else {
        thread::available_parallelism().map_or(1, |p| p.get()).clamp(1, 8)
    }
}

/// Folds the blocks of each contiguous part of `col` on its own thread; the
/// accumulators come back in order. `step` returns false to stop its part early.
fn fold<A: Send>(
    col: &Column,
    bytes: &[u8],
    init: impl Fn() -> A + Sync,
    step: impl Fn(&mut A, Block<'_>) -> bool + Sync,
) -> Result<Vec<A>> {
    fold_with(threads_for(col.len), col, bytes, init, step)
}

/// [`fold`] on `threads` threads; one thread visits the blocks in order.
fn fold_with<A: Send>(
    threads: usize,
    col: &Column,
    bytes: &[u8],
    init: impl Fn() -> A + Sync,
    step: impl Fn(&mut A, Block<'_>) -> bool + Sync,
) -> Result<Vec<A>> {
    let n = col.len;
    let per = n.div_ceil(threads as u64).max(1);
    let run = |from: u64, to: u64| -> Result<A> {
        let mut acc = init();
        let mut scratch = Scratch::default();
        let mut at = from;
        while at < to {
            let len = BLOCK.min(to - at);
            let block = col.block(bytes, at, len as usize, &mut scratch)?;
            if !step(&mut acc, block) {
                break;
            }
            at += len;
        }
        Ok(acc)
    };
    if threads == 1 {
        return Ok(vec![run(0, n)?]);
    }
    thread::scope(|scope| {
        let run = &run;
        let handles: Vec<_> = (0..threads as u64)
            .map(|t| {
                let from = (t * per).min(n);
                let to = (from + per).min(n);
                scope.spawn(move || run(from, to))
            })
            .collect();
        handles
            .into_iter()
            .map(|h| h.join().unwrap_or_else(|_| Err(MmError::Internal("a summary thread panicked".into()))))
            .collect()
    })
}

// ---------------------------------------------------------------------------
// anyNA

fn any_na(col: &Column, bytes: &[u8]) -> Result<bool> {
    let parts = fold(
        col,
        bytes,
        || false,
        |found, b| {
            *found = match b {
                Block::Int(v) => v.iter().fold(false, |a, &x| a | (x == NA_INT)),
                Block::Dbl(v) => v.iter().fold(false, |a, &x| a | x.is_nan()),
                Block::Cplx(v) => v.iter().fold(false, |a, x| a | x[0].is_nan() | x[1].is_nan()),
                Block::Raw(_) => false,
                Block::I64(v) => v.iter().fold(false, |a, &x| a | (x == i64::MIN)),
            };
            !*found
        },
    )?;
    Ok(parts.into_iter().any(|f| f))
}

// ---------------------------------------------------------------------------
// summary(m)

/// What `summary()` of a numeric mapping shows: the min, mean and max of the
/// non-missing values, and how many are missing.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Description {
    pub count: u64,
    pub na: u64,
    pub min: f64,
    pub max: f64,
    sum: f64,
    /// Neumaier's compensation for `sum` (never plain left-to-right doubles).
    compensation: f64,
}

impl Description {
    fn new() -> Self {
        Description { count: 0, na: 0, min: f64::INFINITY, max: f64::NEG_INFINITY, sum: 0.0, compensation: 0.0 }
    }

    fn add(&mut self, v: Option<f64>) {
        match v {
            None => self.na += 1,
            Some(x) => {
                self.count += 1;
                self.min = self.min.min(x);
                self.max = self.max.max(x);
                self.add_to_sum(x);
            }
        }
    }

    fn add_to_sum(&mut self, x: f64) {
        let t = self.sum + x;
        if t.is_finite() {
            self.compensation += if self.sum.abs() >= x.abs() { (self.sum - t) + x } else { (x - t) + self.sum };
        }
        self.sum = t;
    }

    fn merge(mut self, other: Description) -> Description {
        self.count += other.count;
        self.na += other.na;
        self.min = self.min.min(other.min);
        self.max = self.max.max(other.max);
        self.add_to_sum(other.sum);
        self.compensation += other.compensation;
        self
    }

    /// NaN when there is no value.
    pub fn mean(&self) -> f64 {
        if self.count == 0 { f64::NAN } else { (self.sum + self.compensation) / self.count as f64 }
    }
}

/// The [`Description`] of a numeric column, in one parallel pass.
pub fn describe(col: &Column, bytes: &[u8]) -> Result<Description> {
    match col.rkind() {
        Some(RKind::Raw | RKind::Logical | RKind::Integer | RKind::Double | RKind::Integer64) => {}
        Some(RKind::Complex) => return Err(MmError::Type("summary() is not defined for complex mappings".into())),
        None => return Err(MmError::Internal("strings have no numeric description".into())),
    }
    let parts = fold(col, bytes, Description::new, |d, block| {
        match block {
            Block::Raw(v) => v.iter().for_each(|&x| d.add(Some(f64::from(x)))),
            Block::Int(v) => v.iter().for_each(|&x| d.add((x != NA_INT).then_some(f64::from(x)))),
            Block::Dbl(v) => v.iter().for_each(|&x| d.add((!is_r_na(x)).then_some(x))),
            Block::I64(v) => v.iter().for_each(|&x| d.add((x != i64::MIN).then_some(x as f64))),
            // Refused above: complex columns have no order.
            Block::Cplx(_) => {}
        }
        true
    })?;
    Ok(parts.into_iter().fold(Description::new(), Description::merge))
}

// ---------------------------------------------------------------------------
// Integers and logicals

/// Runs `$body` compiled for AVX2 when the CPU has it (the default x86-64
/// target is SSE2 only, which leaves the summaries compute-bound), else as is.
macro_rules! with_avx2 {
    ($body:expr) => {{
        #[cfg(target_arch = "x86_64")]
        {
            #[target_feature(enable = "avx2,fma")]
            unsafe fn fast<R>(f: impl FnOnce() -> R) -> R {
                f()
            }
            if std::is_x86_feature_detected!("avx2") && std::is_x86_feature_detected!("fma") {
                // SAFETY: the CPU supports AVX2 and FMA, checked just above.
                return unsafe { fast(|| $body) };
            }
        }
        $body
    }};
}

/// Sum of the non-NA values of a block (at most 2^32 elements) and its NA count.
fn int_block_sum(v: &[i32]) -> (i64, usize) {
    with_avx2!(int_block_sum_plain(v))
}

#[inline(always)]
fn int_block_sum_plain(v: &[i32]) -> (i64, usize) {
    let mut s = 0i64;
    let mut nas = 0i64;
    for &x in v {
        s += x as i64;
        nas += (x == NA_INT) as i64;
    }
    (s - nas * NA_INT as i64, nas as usize)
}

#[derive(Default)]
struct ISum {
    total: i128,
    /// Stopped at an NA (without na.rm): `total` is the sum before it.
    na: bool,
}

fn int_sum(col: &Column, bytes: &[u8], narm: bool) -> Result<Answer> {
    let parts = fold(col, bytes, ISum::default, |acc, b| {
        let Block::Int(v) = b else { return false };
        // Branch-free first: NAs count as zero; only a block holding an NA is
        // walked again to find where R would have stopped.
        let (s, nas) = int_block_sum(v);
        if nas == 0 || narm {
            acc.total += s as i128;
            return true;
        }
        let first = v.iter().position(|&x| x == NA_INT).unwrap_or(v.len());
        acc.total += v[..first].iter().map(|&x| x as i128).sum::<i128>();
        acc.na = true;
        false
    })?;
    let mut total = 0i128;
    let mut na = false;
    for p in parts {
        total += p.total;
        if p.na {
            na = true;
            break;
        }
    }
    // Past 2^31 elements R checks for a 64-bit overflow every 1000 elements and
    // then re-sums in long double, whose NA is a double.
    let long_vector_switch = col.len > i32::MAX as u64 && total.unsigned_abs() > 9_000_000_000_000_000;
    let value = if na {
        if long_vector_switch { Value::Dbl(vec![na_real()]) } else { Value::Int(vec![NA_INT]) }
    } else if total.unsigned_abs() <= i32::MAX as u128 {
        Value::Int(vec![total as i32])
    } else {
        Value::Dbl(vec![total as f64])
    };
    Ok(Answer { value, warnings: Vec::new() })
}

#[derive(Clone, Copy)]
struct IExt {
    min: i32,
    max: i32,
    seen: bool,
    na: bool,
}

fn empty_warnings(op: Op) -> Vec<String> {
    let min = "no non-missing arguments to min; returning Inf".to_string();
    let max = "no non-missing arguments to max; returning -Inf".to_string();
    match op {
        Op::Min => vec![min],
        Op::Max => vec![max],
        _ => vec![min, max],
    }
}

fn extremes_answer(op: Op, lo: f64, hi: f64) -> Value {
    match op {
        Op::Min => Value::Dbl(vec![lo]),
        Op::Max => Value::Dbl(vec![hi]),
        _ => Value::Dbl(vec![lo, hi]),
    }
}

fn int_extremes(col: &Column, bytes: &[u8], op: Op, narm: bool) -> Result<Answer> {
    let init = || IExt { min: i32::MAX, max: i32::MIN, seen: false, na: false };
    let parts = fold(col, bytes, init, |acc, b| {
        let Block::Int(v) = b else { return false };
        let (lo, hi, nas) = int_block_extremes(v, acc.min, acc.max);
        acc.seen |= nas < v.len();
        acc.min = lo;
        acc.max = hi;
        if nas > 0 && !narm {
            acc.na = true;
            return false;
        }
        true
    })?;
    let mut all = init();
    for p in parts {
        all.na |= p.na;
        if p.seen {
            all.seen = true;
            all.min = all.min.min(p.min);
            all.max = all.max.max(p.max);
        }
    }
    let pick = |lo: i32, hi: i32| match op {
        Op::Min => Value::Int(vec![lo]),
        Op::Max => Value::Int(vec![hi]),
        _ => Value::Int(vec![lo, hi]),
    };
    Ok(if all.na {
        Answer { value: pick(NA_INT, NA_INT), warnings: Vec::new() }
    } else if !all.seen {
        Answer { value: extremes_answer(op, f64::INFINITY, f64::NEG_INFINITY), warnings: empty_warnings(op) }
    } else {
        Answer { value: pick(all.min, all.max), warnings: Vec::new() }
    })
}

fn int_block_extremes(v: &[i32], lo: i32, hi: i32) -> (i32, i32, usize) {
    with_avx2!(int_block_extremes_plain(v, lo, hi))
}

#[inline(always)]
fn int_block_extremes_plain(v: &[i32], mut lo: i32, mut hi: i32) -> (i32, i32, usize) {
    let mut nas = 0usize;
    for &x in v {
        // NA is i32::MIN: it never raises the maximum, and reads as i32::MAX for the minimum.
        let na = x == NA_INT;
        nas += na as usize;
        lo = lo.min(if na { i32::MAX } else { x });
        hi = hi.max(x);
    }
    (lo, hi, nas)
}

#[derive(Default, Clone, Copy)]
struct Truth {
    any_true: bool,
    any_false: bool,
    any_na: bool,
}

fn int_any_all(col: &Column, bytes: &[u8], op: Op, narm: bool) -> Result<Answer> {
    let parts = fold(col, bytes, Truth::default, |acc, b| {
        let mut see = |na: bool, nonzero: bool| {
            if na {
                acc.any_na = true;
            } else if nonzero {
                acc.any_true = true;
            } else {
                acc.any_false = true;
            }
        };
        match b {
            Block::Int(v) => v.iter().for_each(|&x| see(x == NA_INT, x != 0)),
            // bit64's any() and all() read integer64 the same way.
            Block::I64(v) => v.iter().for_each(|&x| see(x == NA_INTEGER64, x != 0)),
            Block::Dbl(_) | Block::Cplx(_) | Block::Raw(_) => return false,
        }
        // any() is settled by a TRUE, all() by a FALSE.
        !(op == Op::Any && acc.any_true || op == Op::All && acc.any_false)
    })?;
    let t = parts.into_iter().fold(Truth::default(), |a, p| Truth {
        any_true: a.any_true | p.any_true,
        any_false: a.any_false | p.any_false,
        any_na: a.any_na | p.any_na,
    });
    let na = t.any_na && !narm;
    let value = match op {
        Op::Any if t.any_true => 1,
        Op::All if t.any_false => 0,
        _ if na => NA_INT,
        Op::Any => 0,
        _ => 1,
    };
    Ok(Answer { value: Value::Lgl(value), warnings: Vec::new() })
}

#[derive(Default)]
struct ICount {
    total: i128,
    count: u64,
    na: bool,
}

fn int_mean(col: &Column, bytes: &[u8], narm: bool) -> Result<f64> {
    let parts = fold(col, bytes, ICount::default, |acc, b| {
        let Block::Int(v) = b else { return false };
        let (s, nas) = int_block_sum(v);
        let nas = nas as u64;
        if nas > 0 && !narm {
            acc.na = true;
            return false;
        }
        acc.total += s as i128;
        acc.count += v.len() as u64 - nas;
        true
    })?;
    let mut total = 0i128;
    let mut count = 0u64;
    for p in parts {
        if p.na {
            return Ok(na_real());
        }
        total += p.total;
        count += p.count;
    }
    // With na.rm, mean.default drops the NAs first: the divisor is what is left.
    let n = if narm { count } else { col.len };
    Ok(long_double_div(total, n))
}

/// `(double)((long double) total / n)` as R computes an integer mean on x86-64:
/// the quotient rounded to a 64-bit significand, then to a double.
pub fn long_double_div(total: i128, n: u64) -> f64 {
    if n == 0 {
        return if total == 0 { f64::NAN } else { total as f64 / 0.0 };
    }
    if total == 0 {
        return 0.0;
    }
    let negative = total < 0;
    let a = total.unsigned_abs();
    if a >= 1 << 64 {
        // Beyond what long double holds exactly: R's own sum was inexact too.
        return total as f64 / n as f64;
    }
    let n = n as u128;
    // Long division to a 64-bit significand q (2^63 <= q < 2^64) with q * 2^-shift ~ a / n.
    let mut q = a / n;
    let mut r = a % n;
    let mut shift: i32 = 0;
    if q >= 1 << 64 {
        return if negative { -(a as f64 / n as f64) } else { a as f64 / n as f64 };
    }
    while q < 1 << 63 {
        r <<= 1;
        q <<= 1;
        if r >= n {
            q |= 1;
            r -= n;
        }
        shift += 1;
    }
    // If q had more than 64 bits it was handled above; round to nearest even at 64 bits.
    let twice = r << 1;
    if twice > n || (twice == n && q & 1 == 1) {
        q += 1;
        if q == 1 << 64 {
            q >>= 1;
            shift -= 1;
        }
    }
    // Then to 53 bits, nearest even, from the 64-bit value alone (double rounding).
    let low = q & 0x7FF;
    let mut m = q >> 11;
    if low > 0x400 || (low == 0x400 && m & 1 == 1) {
        m += 1;
    }
    let v = m as f64 * 2f64.powi(11 - shift);
    if negative { -v } else { v }
}

// ---------------------------------------------------------------------------
// Doubles

/// Neumaier's compensated sum.
#[derive(Clone, Copy, Default)]
struct Acc {
    s: f64,
    c: f64,
}

impl Acc {
    #[inline(always)]
    fn add(&mut self, v: f64) {
        let t = self.s + v;
        self.c += if self.s.abs() >= v.abs() { (self.s - t) + v } else { (v - t) + self.s };
        self.s = t;
    }

    fn merge(&mut self, o: Acc) {
        self.add(o.s);
        self.add(o.c);
    }

    fn value(&self) -> f64 {
        self.s + self.c
    }
}

const LANES: usize = 8;

/// Compensated sum of `x * scale` over a block, in independent lanes (no NaN
/// checks). Knuth's branch-free TwoSum keeps every lane exact. Scaling by a
/// power of two is exact.
fn lanes(v: &[f64], scale: f64) -> Acc {
    #[cfg(target_arch = "x86_64")]
    if std::is_x86_feature_detected!("avx2") {
        // SAFETY: the CPU supports AVX2, checked just above.
        return unsafe { lanes_avx2(v, scale) };
    }
    lanes_plain(v, scale)
}

#[inline(always)]
fn finish_lanes(s: [f64; LANES], c: [f64; LANES], rest: &[f64], scale: f64) -> Acc {
    let mut out = Acc::default();
    for &x in rest {
        out.add(x * scale);
    }
    for l in 0..LANES {
        out.add(s[l]);
        out.add(c[l]);
    }
    out
}

fn lanes_plain(v: &[f64], scale: f64) -> Acc {
    let mut s = [0.0f64; LANES];
    let mut c = [0.0f64; LANES];
    let chunks = v.chunks_exact(LANES);
    let rest = chunks.remainder();
    for ch in chunks {
        for l in 0..LANES {
            let x = ch[l] * scale;
            let t = s[l] + x;
            let bp = t - s[l];
            c[l] += (s[l] - (t - bp)) + (x - bp);
            s[l] = t;
        }
    }
    finish_lanes(s, c, rest, scale)
}

/// `lanes_plain` in AVX2 registers (the default x86-64 target has only SSE2
/// and leaves this compute-bound).
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2")]
unsafe fn lanes_avx2(v: &[f64], scale: f64) -> Acc {
    use std::arch::x86_64::*;
    #[inline(always)]
    unsafe fn two_sum(s: &mut __m256d, c: &mut __m256d, x: __m256d) {
        // SAFETY: plain register arithmetic; the caller runs with AVX2 enabled.
        unsafe {
            let t = _mm256_add_pd(*s, x);
            let bp = _mm256_sub_pd(t, *s);
            let e = _mm256_add_pd(_mm256_sub_pd(*s, _mm256_sub_pd(t, bp)), _mm256_sub_pd(x, bp));
            *c = _mm256_add_pd(*c, e);
            *s = t;
        }
    }
    let chunks = v.chunks_exact(LANES);
    let rest = chunks.remainder();
    let mut s = [0.0f64; LANES];
    let mut c = [0.0f64; LANES];
    // SAFETY: every load reads 4 doubles inside an 8-element chunk of `v`;
    // unaligned loads are allowed; stores go to local arrays of 8.
    unsafe {
        let k = _mm256_set1_pd(scale);
        let (mut s0, mut s1, mut c0, mut c1) =
            (_mm256_setzero_pd(), _mm256_setzero_pd(), _mm256_setzero_pd(), _mm256_setzero_pd());
        for ch in chunks {
            let x0 = _mm256_mul_pd(_mm256_loadu_pd(ch.as_ptr()), k);
            let x1 = _mm256_mul_pd(_mm256_loadu_pd(ch.as_ptr().add(4)), k);
            two_sum(&mut s0, &mut c0, x0);
            two_sum(&mut s1, &mut c1, x1);
        }
        _mm256_storeu_pd(s.as_mut_ptr(), s0);
        _mm256_storeu_pd(s.as_mut_ptr().add(4), s1);
        _mm256_storeu_pd(c.as_mut_ptr(), c0);
        _mm256_storeu_pd(c.as_mut_ptr().add(4), c1);
    }
    finish_lanes(s, c, rest, scale)
}

/// What a double pass saw besides the finite values it summed.
#[derive(Clone, Copy, Default)]
struct DSum {
    acc: Acc,
    count: u64,
    infs: u64,
    na: bool,
    nan: bool,
    pos_inf: bool,
    neg_inf: bool,
}

impl DSum {
    fn merge(&mut self, o: &DSum) {
        self.acc.merge(o.acc);
        self.count += o.count;
        self.infs += o.infs;
        self.na |= o.na;
        self.nan |= o.nan;
        self.pos_inf |= o.pos_inf;
        self.neg_inf |= o.neg_inf;
    }

    /// R's answer: NA trumps NaN (x87 keeps the larger NaN payload), opposite
    /// infinities give NaN, otherwise an infinity or the finite sum.
    fn value(&self, narm: bool) -> f64 {
        if !narm && self.na {
            na_real()
        } else if !narm && self.nan || self.pos_inf && self.neg_inf {
            f64::NAN
        } else if self.pos_inf {
            f64::INFINITY
        } else if self.neg_inf {
            f64::NEG_INFINITY
        } else {
            self.acc.value()
        }
    }

    fn special(&self) -> bool {
        self.na || self.nan || self.pos_inf || self.neg_inf
    }
}

/// Compensated sum of `f(x)` over the finite values, noting NAs, NaNs and infinities.
fn dsum_pass(col: &Column, bytes: &[u8], scale: f64) -> Result<DSum> {
    let parts = fold(col, bytes, DSum::default, |acc, b| {
        let Block::Dbl(v) = b else { return false };
        let fast = lanes(v, scale);
        if fast.s.is_finite() && fast.c.is_finite() {
            acc.acc.merge(fast);
            acc.count += v.len() as u64;
            return true;
        }
        // The block holds a NaN or an infinity (or overflowed): classify each value.
        let mut slow = Acc::default();
        for &x in v {
            if x.is_nan() {
                if is_r_na(x) { acc.na = true } else { acc.nan = true }
            } else if x == f64::INFINITY {
                acc.pos_inf = true;
                acc.infs += 1;
            } else if x == f64::NEG_INFINITY {
                acc.neg_inf = true;
                acc.infs += 1;
            } else {
                slow.add(x * scale);
                acc.count += 1;
            }
        }
        acc.acc.merge(slow);
        true
    })?;
    let mut all = DSum::default();
    for p in &parts {
        all.merge(p);
    }
    Ok(all)
}

const DOWN: f64 = 1.0 / 18446744073709551616.0; // 2^-64

fn dbl_sum(col: &Column, bytes: &[u8], narm: bool) -> Result<f64> {
    let all = dsum_pass(col, bytes, 1.0)?;
    let v = all.value(narm);
    if v.is_finite() || all.special() {
        return Ok(v);
    }
    // Finite values whose running sum left the double range: R's long double
    // would not have; sum scaled terms and let the final value say.
    let scaled = dsum_pass(col, bytes, DOWN)?;
    Ok(scaled.acc.value() / DOWN)
}

fn dbl_mean(col: &Column, bytes: &[u8], narm: bool) -> Result<f64> {
    let first = dsum_pass(col, bytes, 1.0)?;
    // With na.rm, mean.default drops NA and NaN first; infinities stay.
    let n = if narm { first.count + first.infs } else { col.len } as f64;
    if n == 0.0 {
        return Ok(f64::NAN);
    }
    if first.special() {
        let v = first.value(narm);
        if !v.is_finite() {
            return Ok(v);
        }
    }
    let (acc, scale) = if first.acc.value().is_finite() {
        (first.acc, 1.0)
    } else {
        // The sum overflowed a double (R's long double did not): scale the terms.
        (dsum_pass(col, bytes, DOWN)?.acc, DOWN)
    };
    // The compensated sum is s + c; the rounding of (s + c) / n is corrected
    // with an exact residual, as R's second pass does.
    let m = acc.value() / n;
    let residual = (-n).mul_add(m, acc.s) + acc.c;
    Ok((m + residual / n) / scale)
}

#[derive(Clone, Copy)]
struct DExt {
    min: f64,
    max: f64,
    seen: bool,
    na: bool,
    nan: bool,
}

fn dbl_block_extremes(v: &[f64], lo: f64, hi: f64) -> (f64, f64, usize) {
    #[cfg(target_arch = "x86_64")]
    if std::is_x86_feature_detected!("avx2") {
        // SAFETY: the CPU supports AVX2, checked just above.
        return unsafe { dbl_block_extremes_avx2(v, lo, hi) };
    }
    dbl_block_extremes_plain(v, lo, hi)
}

/// `dbl_block_extremes_plain` in AVX2 registers: MINPD/MAXPD return their
/// second operand when the first is NaN, exactly `if x < lo { x } else { lo }`.
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2")]
unsafe fn dbl_block_extremes_avx2(v: &[f64], lo: f64, hi: f64) -> (f64, f64, usize) {
    use std::arch::x86_64::*;
    let chunks = v.chunks_exact(4);
    let rest = chunks.remainder();
    let mut los = [lo; 4];
    let mut his = [hi; 4];
    let mut nans = [0i64; 4];
    // SAFETY: each load reads the 4 doubles of one chunk of `v` (unaligned
    // loads are allowed); stores go to local arrays of 4.
    unsafe {
        let (mut l, mut h) = (_mm256_set1_pd(lo), _mm256_set1_pd(hi));
        let mut n = _mm256_setzero_si256();
        for ch in chunks {
            let x = _mm256_loadu_pd(ch.as_ptr());
            l = _mm256_min_pd(x, l);
            h = _mm256_max_pd(x, h);
            // An unordered comparison is all ones (-1) where x is NaN.
            n = _mm256_sub_epi64(n, _mm256_castpd_si256(_mm256_cmp_pd::<_CMP_UNORD_Q>(x, x)));
        }
        _mm256_storeu_pd(los.as_mut_ptr(), l);
        _mm256_storeu_pd(his.as_mut_ptr(), h);
        _mm256_storeu_si256(nans.as_mut_ptr().cast(), n);
    }
    let (mut lo, mut hi, mut count) = dbl_block_extremes_plain(rest, lo, hi);
    for k in 0..4 {
        lo = if los[k] < lo { los[k] } else { lo };
        hi = if his[k] > hi { his[k] } else { hi };
        count += nans[k] as usize;
    }
    (lo, hi, count)
}

#[inline(always)]
fn dbl_block_extremes_plain(v: &[f64], lo: f64, hi: f64) -> (f64, f64, usize) {
    // Independent lanes so that the comparisons run in SIMD registers.
    let mut los = [lo; LANES];
    let mut his = [hi; LANES];
    let mut nans = [0u64; LANES];
    let chunks = v.chunks_exact(LANES);
    let rest = chunks.remainder();
    for ch in chunks {
        for l in 0..LANES {
            let x = ch[l];
            // Comparisons with NaN are false, so NaNs never become extremes.
            los[l] = if x < los[l] { x } else { los[l] };
            his[l] = if x > his[l] { x } else { his[l] };
            nans[l] += x.is_nan() as u64;
        }
    }
    let (mut lo, mut hi) = (lo, hi);
    let mut count = nans.iter().sum::<u64>() as usize;
    for &x in rest {
        lo = if x < lo { x } else { lo };
        hi = if x > hi { x } else { hi };
        count += x.is_nan() as usize;
    }
    for l in 0..LANES {
        lo = if los[l] < lo { los[l] } else { lo };
        hi = if his[l] > hi { his[l] } else { hi };
    }
    (lo, hi, count)
}

fn dbl_extremes(col: &Column, bytes: &[u8], op: Op, narm: bool) -> Result<Answer> {
    let init = || DExt { min: f64::INFINITY, max: f64::NEG_INFINITY, seen: false, na: false, nan: false };
    let parts = fold(col, bytes, init, |acc, b| {
        let Block::Dbl(v) = b else { return false };
        let (lo, hi, nans) = dbl_block_extremes(v, acc.min, acc.max);
        acc.min = lo;
        acc.max = hi;
        acc.seen |= nans < v.len();
        if nans > 0 {
            if v.iter().any(|&x| is_r_na(x)) {
                acc.na = true;
            } else {
                acc.nan = true;
            }
            if v.iter().any(|&x| x.is_nan() && !is_r_na(x)) {
                acc.nan = true;
            }
        }
        true
    })?;
    let mut all = init();
    for p in parts {
        all.na |= p.na;
        all.nan |= p.nan;
        if p.seen {
            all.seen = true;
            all.min = all.min.min(p.min);
            all.max = all.max.max(p.max);
        }
    }
    if !narm && (all.na || all.nan) {
        let v = if all.na { na_real() } else { f64::NAN };
        return Ok(Answer { value: extremes_answer(op, v, v), warnings: Vec::new() });
    }
    if !all.seen {
        return Ok(Answer { value: extremes_answer(op, f64::INFINITY, f64::NEG_INFINITY), warnings: empty_warnings(op) });
    }
    // min(0, -0) keeps the first one seen in R; both print and compare as zero.
    Ok(Answer { value: extremes_answer(op, all.min, all.max), warnings: Vec::new() })
}

/// A product kept as mantissa * 2^exponent, so no intermediate overflows.
#[derive(Clone, Copy)]
struct Prod {
    m: f64,
    e: i64,
    zero: bool,
    inf: bool,
    negative: bool,
    na: bool,
    nan: bool,
}

fn frexp(x: f64) -> (f64, i64) {
    if x == 0.0 || !x.is_finite() {
        return (x, 0);
    }
    let (x, bias) = if x.abs() < f64::MIN_POSITIVE { (x * 2f64.powi(64), -64) } else { (x, 0) };
    let bits = x.to_bits();
    let exp = ((bits >> 52) & 0x7FF) as i64 - 1022;
    let m = f64::from_bits((bits & !(0x7FF << 52)) | (1022 << 52));
    (m, exp + bias)
}

fn ldexp(m: f64, e: i64) -> f64 {
    let mut v = m;
    let mut e = e;
    while e > 1000 {
        v *= 2f64.powi(1000);
        e -= 1000;
        if v.is_infinite() {
            return v;
        }
    }
    while e < -1000 {
        v *= 2f64.powi(-1000);
        e += 1000;
        if v == 0.0 {
            return v;
        }
    }
    v * 2f64.powi(e as i32)
}

fn prod(col: &Column, bytes: &[u8], narm: bool) -> Result<f64> {
    let init = || Prod { m: 1.0, e: 0, zero: false, inf: false, negative: false, na: false, nan: false };
    let mul = |p: &mut Prod, x: f64| {
        if x.is_nan() {
            if is_r_na(x) { p.na = true } else { p.nan = true }
            return;
        }
        if x == 0.0 {
            p.zero = true;
            p.negative ^= x.is_sign_negative();
            return;
        }
        if x.is_infinite() {
            p.inf = true;
            p.negative ^= x < 0.0;
            return;
        }
        let (m, e) = frexp(x);
        let (pm, pe) = frexp(p.m * m);
        p.m = pm;
        p.e += e + pe;
    };
    let parts = fold(col, bytes, init, |acc, b| {
        match b {
            Block::Int(v) => {
                for &x in v {
                    if x == NA_INT {
                        if !narm {
                            acc.na = true;
                            return false;
                        }
                    } else {
                        mul(acc, x as f64);
                    }
                }
            }
            Block::Dbl(v) => {
                for &x in v {
                    if !(narm && x.is_nan()) {
                        mul(acc, x);
                    }
                }
            }
            Block::Cplx(_) | Block::Raw(_) | Block::I64(_) => return false,
        }
        true
    })?;
    let mut all = init();
    for p in parts {
        all.na |= p.na;
        all.nan |= p.nan;
        all.zero |= p.zero;
        all.inf |= p.inf;
        all.negative ^= p.negative;
        let (m, e) = frexp(all.m * p.m);
        all.m = m;
        all.e += p.e + e;
    }
    if all.na {
        return Ok(na_real());
    }
    if all.nan || all.zero && all.inf {
        return Ok(f64::NAN);
    }
    let sign = if (all.m < 0.0) ^ all.negative { -1.0 } else { 1.0 };
    if all.inf {
        return Ok(sign * f64::INFINITY);
    }
    if all.zero {
        return Ok(sign * 0.0);
    }
    Ok(sign * ldexp(all.m.abs(), all.e))
}

// ---------------------------------------------------------------------------
// Complex

fn cplx_parts(col: &Column, bytes: &[u8], narm: bool, shift: [f64; 2]) -> Result<(DSum, DSum)> {
    let parts = fold(
        col,
        bytes,
        || (DSum::default(), DSum::default()),
        |acc, b| {
            let Block::Cplx(v) = b else { return false };
            for z in v {
                if narm && (z[0].is_nan() || z[1].is_nan()) {
                    continue;
                }
                for (part, d) in [(z[0] - shift[0], &mut acc.0), (z[1] - shift[1], &mut acc.1)] {
                    if part.is_nan() {
                        if is_r_na(part) { d.na = true } else { d.nan = true }
                    } else if part.is_infinite() {
                        if part > 0.0 { d.pos_inf = true } else { d.neg_inf = true }
                    } else {
                        d.acc.add(part);
                        d.count += 1;
                    }
                }
            }
            true
        },
    )?;
    let mut re = DSum::default();
    let mut im = DSum::default();
    for (r, i) in &parts {
        re.merge(r);
        im.merge(i);
    }
    Ok((re, im))
}

fn cplx_sum(col: &Column, bytes: &[u8], narm: bool) -> Result<[f64; 2]> {
    let (re, im) = cplx_parts(col, bytes, narm, [0.0, 0.0])?;
    Ok([re.value(false), im.value(false)])
}

fn cplx_mean(col: &Column, bytes: &[u8], narm: bool) -> Result<[f64; 2]> {
    let (re, im) = cplx_parts(col, bytes, narm, [0.0, 0.0])?;
    let n = if narm { re.count.max(im.count) } else { col.len } as f64;
    let m = [re.value(false) / n, im.value(false) / n];
    if !(m[0].is_finite() && m[1].is_finite()) {
        return Ok(m);
    }
    let (tr, ti) = cplx_parts(col, bytes, narm, m)?;
    Ok([m[0] + tr.value(false) / n, m[1] + ti.value(false) / n])
}

// ---------------------------------------------------------------------------
// integer64, as bit64 computes it

/// bit64's NA, and the extremes it reports for no values (`i64::MIN` is NA).
const NA_INTEGER64: i64 = i64::MIN;
const MAX_INTEGER64: i64 = i64::MAX;
const MIN_INTEGER64: i64 = -i64::MAX;

/// Walks the int64 values of `col` in order on one thread, as bit64's loops
/// do: NAs are skipped with `na.rm` and otherwise end the walk (the flag
/// says so); `step` returns false to stop early. Returns the accumulator and
/// whether an NA ended the walk.
fn int64_in_order<A: Clone + Send + Sync>(
    col: &Column,
    bytes: &[u8],
    narm: bool,
    init: A,
    step: impl Fn(&mut A, i64) -> bool + Sync,
) -> Result<(A, bool)> {
    let parts = fold_with(1, col, bytes, || (init.clone(), false), |(acc, na), b| {
        let Block::I64(v) = b else { return false };
        for &x in v {
            if x == NA_INTEGER64 {
                if narm {
                    continue;
                }
                *na = true;
                return false;
            }
            if !step(acc, x) {
                return false;
            }
        }
        true
    })?;
    let (acc, na) = parts.into_iter().next().unwrap_or((init, false));
    Ok((acc, na))
}

/// bit64 adds in order and stops at the first NA (without `na.rm`), which
/// gives NA, or at the first overflow, which gives NA and a warning: so does
/// this, on one thread.
fn int64_sum(col: &Column, bytes: &[u8], narm: bool) -> Result<Answer> {
    let ((total, overflow), na) = int64_in_order(col, bytes, narm, (0i64, false), |(total, overflow), x| {
        match total.checked_add(x) {
            Some(t) => *total = t,
            None => *overflow = true,
        }
        !*overflow
    })?;
    Ok(if na {
        Answer { value: Value::I64(vec![NA_INTEGER64]), warnings: Vec::new() }
    } else if overflow {
        Answer { value: Value::I64(vec![NA_INTEGER64]), warnings: vec!["NAs produced by integer64 overflow".into()] }
    } else {
        Answer { value: Value::I64(vec![total]), warnings: Vec::new() }
    })
}

/// bit64's mean: a long double sum in order, divided by the count in long
/// double and truncated toward zero; NA for an NA (without `na.rm`) or for no
/// value. x86's 80-bit arithmetic (64-bit significand, ties to even) is
/// reproduced exactly, so large values give bit64's very answer.
fn int64_mean(col: &Column, bytes: &[u8], narm: bool) -> Result<Answer> {
    let ((sum, count), na) = int64_in_order(col, bytes, narm, (0i128, 0u64), |(sum, count), x| {
        *sum = round_to_extended(*sum + i128::from(x));
        *count += 1;
        true
    })?;
    let value = if na || count == 0 { NA_INTEGER64 } else { extended_quotient_truncated(sum, count) };
    Ok(Answer { value: Value::I64(vec![value]), warnings: Vec::new() })
}

/// `v` rounded to the nearest value with a 64-bit significand (ties to even),
/// as an x87 long double holds it.
fn round_to_extended(v: i128) -> i128 {
    let a = v.unsigned_abs();
    let bits = 128 - a.leading_zeros();
    if bits <= 64 {
        return v;
    }
    let shift = bits - 64;
    let (q, rem, half) = (a >> shift, a & ((1u128 << shift) - 1), 1u128 << (shift - 1));
    let q = if rem > half || (rem == half && q & 1 == 1) { q + 1 } else { q };
    // |v| < 2^127, so the rounded magnitude fits.
    let r = (q << shift) as i128;
    if v < 0 { -r } else { r }
}

/// `(long long)(s / n)` in x87 long double: the quotient rounded to a 64-bit
/// significand (ties to even), then truncated toward zero; NA (the "integer
/// indefinite" the conversion gives) when that leaves the int64 range.
fn extended_quotient_truncated(s: i128, n: u64) -> i64 {
    let (a, n) = (s.unsigned_abs(), u128::from(n));
    let (q, r) = (a / n, a % n);
    let q = if q == 0 {
        // Below 1 the significand is finer than 1/n: no rounding reaches 1.
        0
    } else {
        // v = q + r/n lies in [2^e, 2^(e+1)), where values are 2^(e-63) apart;
        // it rounds up to q + 1 when 1 - r/n <= 2^(e-64) (a tie goes to q + 1,
        // whose significand is even for e <= 62).
        let e = 127 - q.leading_zeros();
        if e >= 63 {
            return NA_INTEGER64;
        }
        let up = r > 0 && ((n - r) << (64 - e)) <= n;
        q + u128::from(up)
    };
    match i64::try_from(q) {
        Ok(t) if s < 0 => -t,
        Ok(t) => t,
        Err(_) => NA_INTEGER64,
    }
}

/// bit64's min, max and range: NA if any value is NA (without `na.rm`); with
/// no value, +/-(2^63 - 1), with a warning when the vector is empty.
fn int64_extremes(col: &Column, bytes: &[u8], op: Op, narm: bool) -> Result<Answer> {
    let parts = fold(col, bytes, || (MAX_INTEGER64, MIN_INTEGER64, false), |(lo, hi, na), b| {
        let Block::I64(v) = b else { return false };
        for &x in v {
            if x == NA_INTEGER64 {
                *na = true;
            } else {
                *lo = (*lo).min(x);
                *hi = (*hi).max(x);
            }
        }
        narm || !*na
    })?;
    let (lo, hi, na) = parts
        .into_iter()
        .fold((MAX_INTEGER64, MIN_INTEGER64, false), |(lo, hi, na), (l, h, n)| (lo.min(l), hi.max(h), na | n));
    let (lo, hi) = if na && !narm { (NA_INTEGER64, NA_INTEGER64) } else { (lo, hi) };
    let (value, empty) = match op {
        Op::Min => (vec![lo], "no non-NA value, returning +9223372036854775807"),
        Op::Max => (vec![hi], "no non-NA value, returning -9223372036854775807"),
        _ => (vec![lo, hi], "no non-NA value, returning c(+9223372036854775807, -9223372036854775807)"),
    };
    let warnings = if col.len == 0 { vec![empty.to_string()] } else { Vec::new() };
    Ok(Answer { value: Value::I64(value), warnings })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ctype::Ctype;
    use crate::layout::Layout;

    fn col_of(name: &str, bytes: &[u8]) -> Column {
        Column::whole(&Layout::Scalar(Ctype::parse(name, "little", None).unwrap()), bytes.len(), None).unwrap()
    }

    fn ints(v: &[i32]) -> Vec<u8> {
        v.iter().flat_map(|x| x.to_le_bytes()).collect()
    }

    fn dbls(v: &[f64]) -> Vec<u8> {
        v.iter().flat_map(|x| x.to_le_bytes()).collect()
    }

    fn run(name: &str, bytes: &[u8], op: Op, narm: bool) -> Value {
        summarise(&col_of(name, bytes), bytes, op, narm).unwrap().unwrap().value
    }

    #[test]
    fn integer_sums_are_exact_and_switch_to_double_on_overflow() {
        let b = ints(&[1, 2, 3]);
        assert_eq!(run("int32", &b, Op::Sum, false), Value::Int(vec![6]));
        let b = ints(&[i32::MAX, 1]);
        assert_eq!(run("int32", &b, Op::Sum, false), Value::Dbl(vec![2147483648.0]));
        let b = ints(&[1, NA_INT, 2]);
        assert_eq!(run("int32", &b, Op::Sum, false), Value::Int(vec![NA_INT]));
        assert_eq!(run("int32", &b, Op::Sum, true), Value::Int(vec![3]));
        assert_eq!(run("int32", &[], Op::Sum, false), Value::Int(vec![0]));
        // Large enough to run on several threads and cross blocks.
        let many: Vec<i32> = (0..500_000).map(|k| (k % 1000) - 400).collect();
        let want: i64 = many.iter().map(|&x| x as i64).sum();
        assert_eq!(run("int32", &ints(&many), Op::Sum, false), Value::Int(vec![want as i32]));
    }

    #[test]
    fn extremes_follow_r() {
        let b = ints(&[5, -2, NA_INT, 9]);
        assert_eq!(run("int32", &b, Op::Min, false), Value::Int(vec![NA_INT]));
        assert_eq!(run("int32", &b, Op::Range, true), Value::Int(vec![-2, 9]));
        let a = summarise(&col_of("int32", &[]), &[], Op::Max, false).unwrap().unwrap();
        assert_eq!(a.value, Value::Dbl(vec![f64::NEG_INFINITY]));
        assert_eq!(a.warnings.len(), 1);
        let d = dbls(&[1.0, f64::NAN, na_real(), -3.0]);
        match run("real64", &d, Op::Max, false) {
            Value::Dbl(v) => assert!(is_r_na(v[0])),
            other => panic!("{other:?}"),
        }
        assert_eq!(run("real64", &d, Op::Range, true), Value::Dbl(vec![-3.0, 1.0]));
    }

    #[test]
    fn double_sums_are_compensated() {
        let d = dbls(&[1e16, 1.0, -1e16]);
        assert_eq!(run("real64", &d, Op::Sum, false), Value::Dbl(vec![1.0]));
        let d = dbls(&[1e308, 1e308, -1e308]);
        assert_eq!(run("real64", &d, Op::Sum, false), Value::Dbl(vec![1e308]));
        let d = dbls(&[f64::INFINITY, 1.0, f64::NEG_INFINITY]);
        match run("real64", &d, Op::Sum, false) {
            Value::Dbl(v) => assert!(v[0].is_nan() && !is_r_na(v[0])),
            other => panic!("{other:?}"),
        }
        let d = dbls(&[2.0, na_real(), 4.0]);
        assert_eq!(run("real64", &d, Op::Mean, true), Value::Dbl(vec![3.0]));
        let many: Vec<f64> = (0..400_000).map(|k| 0.1 * k as f64).collect();
        let want = (0..400_000u64).map(|k| k as f64).sum::<f64>() * 0.1;
        match run("real64", &dbls(&many), Op::Sum, false) {
            Value::Dbl(v) => assert!((v[0] - want).abs() / want < 1e-12),
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn products_do_not_overflow_on_the_way() {
        let d = dbls(&[1e200, 1e200, 1e-200]);
        match run("real64", &d, Op::Prod, false) {
            Value::Dbl(v) => assert!((v[0] - 1e200).abs() / 1e200 < 1e-14),
            other => panic!("{other:?}"),
        }
        assert_eq!(run("int32", &ints(&[2, 3, 4]), Op::Prod, false), Value::Dbl(vec![24.0]));
        assert_eq!(run("int32", &[], Op::Prod, false), Value::Dbl(vec![1.0]));
    }

    #[test]
    fn any_all_and_na() {
        let b = ints(&[0, NA_INT, 0]);
        assert_eq!(run("logi32", &b, Op::Any, false), Value::Lgl(NA_INT));
        assert_eq!(run("logi32", &b, Op::Any, true), Value::Lgl(0));
        assert_eq!(run("logi32", &b, Op::All, false), Value::Lgl(0));
        assert_eq!(run("logi32", &b, Op::AnyNa, false), Value::Lgl(1));
        assert_eq!(run("logi32", &[], Op::All, false), Value::Lgl(1));
    }

    #[test]
    fn simd_kernels_agree_with_the_plain_ones() {
        let mut v: Vec<f64> = (0..1003).map(|k| ((k * 7919) % 1000) as f64 * 0.37 - 150.0).collect();
        let (a, b) = (lanes(&v, 1.0), lanes_plain(&v, 1.0));
        assert_eq!(a.value(), b.value());
        assert_eq!(dbl_block_extremes(&v, f64::INFINITY, f64::NEG_INFINITY), dbl_block_extremes_plain(&v, f64::INFINITY, f64::NEG_INFINITY));
        v[5] = f64::NAN;
        v[1001] = na_real();
        let (lo, hi, n) = dbl_block_extremes(&v, f64::INFINITY, f64::NEG_INFINITY);
        assert_eq!((lo, hi, n), dbl_block_extremes_plain(&v, f64::INFINITY, f64::NEG_INFINITY));
        assert_eq!(n, 2);
        let ints: Vec<i32> = (0..1003).map(|k| if k % 97 == 0 { NA_INT } else { k * 3 - 1000 }).collect();
        assert_eq!(int_block_sum(&ints), int_block_sum_plain(&ints));
        assert_eq!(int_block_extremes(&ints, i32::MAX, i32::MIN), int_block_extremes_plain(&ints, i32::MAX, i32::MIN));
    }

    #[test]
    fn strings_answer_any_na_only() {
        use crate::layout::CharType;
        let ct = CharType::new(2, false, Some(b"NA".to_vec())).unwrap();
        let bytes = b"abNAcd";
        let col = Column::whole(&Layout::Char(ct), bytes.len(), None).unwrap();
        assert_eq!(summarise(&col, bytes, Op::AnyNa, false).unwrap().unwrap().value, Value::Lgl(1));
        assert_eq!(summarise(&col.window(2, 1).unwrap(), bytes, Op::AnyNa, false).unwrap().unwrap().value, Value::Lgl(0));
        assert!(summarise(&col, bytes, Op::Max, false).unwrap().is_none());
    }

    #[test]
    fn integer_means_round_like_long_double() {
        assert_eq!(long_double_div(7, 2), 3.5);
        assert_eq!(long_double_div(-1, 3), -1.0 / 3.0);
        assert_eq!(long_double_div(10, 4), 2.5);
        for (t, n) in [(1i128, 3u64), (2, 3), (123456789, 7), (-98765, 11)] {
            let exact = t as f64 / n as f64;
            assert!((long_double_div(t, n) - exact).abs() <= exact.abs() * 2.3e-16);
        }
    }

    #[test]
    fn describe_matches_a_plain_pass_in_parallel_and_alone() {
        // Large enough for several threads; NAs and a NaN spread through it.
        let n = 300_001usize;
        let v: Vec<f64> = (0..n)
            .map(|k| match k % 9973 {
                0 => na_real(),
                17 => f64::NAN,
                _ => ((k * 7919) % 10007) as f64 - 5000.25,
            })
            .collect();
        let bytes = dbls(&v);
        let d = describe(&col_of("real64", &bytes), &bytes).unwrap();
        let values: Vec<f64> = v.iter().copied().filter(|x| !is_r_na(*x)).collect();
        assert_eq!(d.na as usize, n - values.len());
        assert_eq!(d.count as usize, values.len());
        assert_eq!(d.min, values.iter().copied().fold(f64::INFINITY, f64::min));
        assert_eq!(d.max, values.iter().copied().fold(f64::NEG_INFINITY, f64::max));
        assert!(d.mean().is_nan(), "a NaN value makes the mean NaN, as in R");

        let ints_v: Vec<i32> = (0..n as i32).map(|k| if k % 1000 == 3 { NA_INT } else { k % 777 - 300 }).collect();
        let bytes = ints(&ints_v);
        let d = describe(&col_of("int32", &bytes), &bytes).unwrap();
        let present: Vec<f64> = ints_v.iter().filter(|&&x| x != NA_INT).map(|&x| f64::from(x)).collect();
        assert_eq!(d.na as usize, n - present.len());
        assert_eq!((d.min, d.max), (-300.0, 476.0));
        let exact = present.iter().map(|&x| x as i64).sum::<i64>() as f64 / present.len() as f64;
        assert!((d.mean() - exact).abs() <= 1e-12 * exact.abs().max(1.0));

        let empty = describe(&col_of("int16", &[]), &[]).unwrap();
        assert_eq!((empty.count, empty.na), (0, 0));
        assert!(empty.mean().is_nan());
        assert!(describe(&col_of("cplx", &[0; 16]), &[0; 16]).is_err());
    }

    fn i64s(v: &[i64]) -> Vec<u8> {
        v.iter().flat_map(|x| x.to_le_bytes()).collect()
    }

    #[test]
    fn int64_sums_stop_where_bit64_stops() {
        let na = NA_INTEGER64;
        let big = i64::MAX;
        let answer = |v: &[i64], narm| summarise(&col_of("int64", &i64s(v)), &i64s(v), Op::Sum, narm).unwrap().unwrap();
        assert_eq!(answer(&[1, 2, 3], false).value, Value::I64(vec![6]));
        assert_eq!(answer(&[], false).value, Value::I64(vec![0]));
        // NA first: NA, no warning; overflow first: NA and bit64's warning.
        let a = answer(&[1, na, big, big], false);
        assert_eq!((a.value, a.warnings.len()), (Value::I64(vec![na]), 0));
        let a = answer(&[big, big, na], false);
        assert_eq!((a.value, a.warnings), (Value::I64(vec![na]), vec!["NAs produced by integer64 overflow".to_string()]));
        // An overflow in the middle is an overflow even when the end fits.
        let a = answer(&[big, 1, -1], true);
        assert_eq!(a.warnings.len(), 1);
        assert_eq!(answer(&[5, na, -7], true).value, Value::I64(vec![-2]));
    }

    #[test]
    fn int64_extremes_and_truth_as_bit64() {
        let na = NA_INTEGER64;
        let run64 = |v: &[i64], op, narm| summarise(&col_of("int64", &i64s(v)), &i64s(v), op, narm).unwrap().unwrap();
        assert_eq!(run64(&[4, -9, 7], Op::Range, false).value, Value::I64(vec![-9, 7]));
        assert_eq!(run64(&[4, na, 7], Op::Min, false).value, Value::I64(vec![na]));
        assert_eq!(run64(&[4, na, 7], Op::Max, true).value, Value::I64(vec![7]));
        // No value: bit64's extremes; a warning only for an empty vector.
        let a = run64(&[na], Op::Range, true);
        assert_eq!((a.value, a.warnings.len()), (Value::I64(vec![MAX_INTEGER64, MIN_INTEGER64]), 0));
        let a = run64(&[], Op::Min, false);
        assert_eq!((a.value, a.warnings.len()), (Value::I64(vec![MAX_INTEGER64]), 1));
        assert_eq!(run64(&[0, na, 3], Op::Any, false).value, Value::Lgl(1));
        assert_eq!(run64(&[0, na], Op::Any, false).value, Value::Lgl(NA_INT));
        assert_eq!(run64(&[0, na], Op::Any, true).value, Value::Lgl(0));
        assert_eq!(run64(&[1, na], Op::All, false).value, Value::Lgl(NA_INT));
        assert_eq!(run64(&[1, na, 0], Op::All, false).value, Value::Lgl(0));
        assert!(summarise(&col_of("int64", &i64s(&[1])), &i64s(&[1]), Op::Prod, false).unwrap().is_none());
        assert_eq!(run64(&[1, 2], Op::Mean, false).value, Value::I64(vec![1]));
        assert_eq!(run64(&[-1, -2], Op::Mean, false).value, Value::I64(vec![-1]));
        assert_eq!(run64(&[], Op::Mean, false).value, Value::I64(vec![na]));
        assert_eq!(run64(&[na, 4], Op::Mean, false).value, Value::I64(vec![na]));
        assert_eq!(run64(&[na, 4], Op::Mean, true).value, Value::I64(vec![4]));
        assert_eq!(run64(&[i64::MAX, i64::MAX], Op::Mean, false).value, Value::I64(vec![i64::MAX]));
        // Parallel parts agree with one pass.
        let many: Vec<i64> = (0..400_000i64).map(|k| if k % 65_537 == 5 { na } else { (k * 7919) % 100_003 - 50_000 }).collect();
        let b = i64s(&many);
        let present: Vec<i64> = many.iter().copied().filter(|&x| x != na).collect();
        let want = vec![*present.iter().min().unwrap(), *present.iter().max().unwrap()];
        assert_eq!(summarise(&col_of("int64", &b), &b, Op::Range, true).unwrap().unwrap().value, Value::I64(want));
        assert_eq!(summarise(&col_of("int64", &b), &b, Op::Range, false).unwrap().unwrap().value, Value::I64(vec![na, na]));
        let total: i64 = present.iter().sum();
        assert_eq!(summarise(&col_of("int64", &b), &b, Op::Sum, true).unwrap().unwrap().value, Value::I64(vec![total]));
    }

    #[test]
    fn extended_precision_is_x87s() {
        // Exact below 2^64; above, 64 significant bits with ties to even.
        assert_eq!(round_to_extended((1 << 64) - 1), (1 << 64) - 1);
        assert_eq!(round_to_extended((1 << 64) + 1), 1 << 64);
        assert_eq!(round_to_extended((1 << 64) + 3), (1 << 64) + 4);
        assert_eq!(round_to_extended(-((1 << 65) + 2)), -(1 << 65));
        assert_eq!(round_to_extended(-((1 << 65) + 6)), -((1 << 65) + 8));
        // Quotients: truncated unless rounding to 64 bits crosses an integer.
        let two62 = 1i128 << 62;
        assert_eq!(extended_quotient_truncated(10 * two62 + 55, 10), (two62 + 5) as i64);
        // 2^62 + 1 - 1/n with n > 2^1: rounds up to 2^62 + 1 (spacing 2^-1).
        assert_eq!(extended_quotient_truncated((two62 + 1) * 8 - 1, 8), (two62 + 1) as i64);
        assert_eq!(extended_quotient_truncated(-((two62 + 1) * 8 - 1), 8), -((two62 + 1) as i64));
        // Small values: plain truncation.
        assert_eq!(extended_quotient_truncated(7, 2), 3);
        assert_eq!(extended_quotient_truncated(-7, 2), -3);
        assert_eq!(extended_quotient_truncated(1, 3), 0);
        // 2^63 - 1/2 is representable (spacing 1/2 there): truncated.
        assert_eq!(extended_quotient_truncated((1i128 << 64) - 1, 2), i64::MAX);
        // 2^63 - 1/8 rounds to 2^63, out of range: NA.
        assert_eq!(extended_quotient_truncated((1i128 << 66) - 1, 8), NA_INTEGER64);
    }
}
