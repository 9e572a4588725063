//! The scan kernels: positions of the fixed-width elements for which a
//! predicate holds, branch-free in blocks of 64 and split across threads.

use super::hits::{Hits, Part, PART_MAX};
use super::predicate::{CplxPred, FloatPred, IntSet};

/// How many threads a scan of `bytes` bytes uses: one below `min_parallel`.
pub(super) fn threads_for(bytes: usize, min_parallel: usize) -> usize {
    if bytes < min_parallel {
        1
    } else {
        std::thread::available_parallelism().map_or(1, |p| p.get()).clamp(1, 8)
    }
}

/// A stored integer type.
pub trait StoredInt: Copy + PartialEq + Send + Sync + 'static {
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
        impl StoredInt for $t {
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

pub(super) struct Ctx {
    pub(super) min_parallel: usize,
}

impl Ctx {
    /// Integer elements in `set`, skipping the NA sentinel.
    pub(super) fn ints<T: StoredInt, const N: usize, D>(&self, bytes: &[u8], set: IntSet, sentinel: Option<i64>, decode: D) -> Hits
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
    pub(super) fn logicals<T: StoredInt, const N: usize, D>(&self, bytes: &[u8], m0: bool, m1: bool, na: T, decode: D) -> Hits
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

    pub(super) fn floats<const N: usize, D>(&self, bytes: &[u8], pred: FloatPred, decode: D) -> Hits
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

    pub(super) fn cplx<D>(&self, bytes: &[u8], pred: CplxPred, decode: D) -> Hits
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
        let threads = threads_for(bytes.len(), self.min_parallel);
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
