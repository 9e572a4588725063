//! Byte counts and thresholds, shared by the exm launcher, the exm shim and
//! the R bindings of package mmap (so R never re-derives exm's rules).
//!
//! The parser works on bytes and never allocates, so the shim can run it
//! during start-up before the allocator hooks are live.

#![no_std]
#![deny(unsafe_code)]
#![warn(clippy::undocumented_unsafe_blocks, clippy::missing_safety_doc)]

/// Smallest threshold exm accepts: one page. (The shim also refuses a
/// threshold below the page size of the running system.)
pub const MIN_THRESHOLD: u64 = 4096;

/// Threshold used when none is given: 2 GiB.
pub const DEFAULT_THRESHOLD: u64 = 2 << 30;

/// Why a size string or threshold was rejected.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SizeError {
    Empty,
    BadNumber,
    BadUnit,
    Overflow,
    /// A number that is NA, negative or not whole.
    NotACount,
    /// A threshold below [`MIN_THRESHOLD`].
    BelowMinimum,
}

impl SizeError {
    /// Why the value was rejected, as the end of a sentence.
    pub fn message(self) -> &'static str {
        match self {
            SizeError::Empty => "the value is empty",
            SizeError::BadNumber => "it is not a number (examples: 2147483648, 1e8, 2G, 512MiB)",
            SizeError::BadUnit => "unknown unit (use K, M, G, T or KiB, MiB, GiB, TiB; all binary)",
            SizeError::Overflow => "the value is too large",
            SizeError::NotACount => "it must be a whole number of bytes, not NA, negative or fractional",
            SizeError::BelowMinimum => "it must be at least one page (4096 bytes)",
        }
    }
}

/// Parse a threshold: a byte count (see [`parse_size`]) of at least
/// [`MIN_THRESHOLD`].
pub fn parse_threshold(s: &[u8]) -> Result<u64, SizeError> {
    check_threshold(parse_size(s)?)
}

/// Check that `bytes` is a usable threshold.
pub fn check_threshold(bytes: u64) -> Result<u64, SizeError> {
    if bytes < MIN_THRESHOLD {
        Err(SizeError::BelowMinimum)
    } else {
        Ok(bytes)
    }
}

/// A threshold given as a floating-point number (R's numbers): a whole,
/// non-negative, finite value of at least [`MIN_THRESHOLD`].
pub fn threshold_from_f64(bytes: f64) -> Result<u64, SizeError> {
    if bytes.is_nan() || bytes < 0.0 {
        return Err(SizeError::NotACount);
    }
    // 2^64 as f64 (infinity included); `as` saturates, so compare first.
    if bytes >= 18_446_744_073_709_551_616.0 {
        return Err(SizeError::Overflow);
    }
    let whole = bytes as u64;
    if whole as f64 != bytes {
        return Err(SizeError::NotACount);
    }
    check_threshold(whole)
}

/// Parse a byte count: an integer or decimal number with an optional
/// exponent (`1e8`, `1.5e9`) and an optional binary unit (`K`, `M`, `G`,
/// `T`, optionally followed by `iB` or `B`; case-insensitive). Fractions of
/// a byte are rounded down.
pub fn parse_size(s: &[u8]) -> Result<u64, SizeError> {
    let s = trim(s);
    if s.is_empty() {
        return Err(SizeError::Empty);
    }
    let mut i = 0;
    // Mantissa digits as an integer, and how many of them follow the point.
    let mut mant: u128 = 0;
    let mut frac_digits: i32 = 0;
    let mut digits = 0;
    let mut seen_point = false;
    while i < s.len() {
        let c = s[i];
        if c.is_ascii_digit() {
            if mant < 10u128.pow(30) {
                mant = mant * 10 + u128::from(c - b'0');
                if seen_point {
                    frac_digits += 1;
                }
            } else if !seen_point {
                return Err(SizeError::Overflow);
            }
            digits += 1;
        } else if c == b'.' && !seen_point {
            seen_point = true;
        } else {
            break;
        }
        i += 1;
    }
    if digits == 0 {
        return Err(SizeError::BadNumber);
    }
    let mut exp: i32 = 0;
    if i < s.len() && (s[i] == b'e' || s[i] == b'E') {
        i += 1;
        let mut neg = false;
        if i < s.len() && (s[i] == b'+' || s[i] == b'-') {
            neg = s[i] == b'-';
            i += 1;
        }
        let start = i;
        while i < s.len() && s[i].is_ascii_digit() {
            if exp > 1000 {
                return Err(SizeError::Overflow);
            }
            exp = exp * 10 + i32::from(s[i] - b'0');
            i += 1;
        }
        if i == start {
            return Err(SizeError::BadNumber);
        }
        if neg {
            exp = -exp;
        }
    }
    let mult: u128 = unit(&s[i..])?;
    let mut value = mant.checked_mul(mult).ok_or(SizeError::Overflow)?;
    let shift = exp - frac_digits;
    if shift >= 0 {
        for _ in 0..shift {
            value = value.checked_mul(10).ok_or(SizeError::Overflow)?;
            if value > u128::from(u64::MAX) {
                return Err(SizeError::Overflow);
            }
        }
    } else {
        for _ in 0..(-shift) {
            value /= 10;
        }
    }
    u64::try_from(value).map_err(|_| SizeError::Overflow)
}

fn unit(u: &[u8]) -> Result<u128, SizeError> {
    if u.is_empty() || eq_ignore_case(u, b"b") {
        return Ok(1);
    }
    let power = match u[0].to_ascii_lowercase() {
        b'k' => 10,
        b'm' => 20,
        b'g' => 30,
        b't' => 40,
        _ => return Err(SizeError::BadUnit),
    };
    let rest = &u[1..];
    if rest.is_empty() || eq_ignore_case(rest, b"ib") || eq_ignore_case(rest, b"b") {
        Ok(1u128 << power)
    } else {
        Err(SizeError::BadUnit)
    }
}

fn eq_ignore_case(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && a.iter().zip(b).all(|(x, y)| x.to_ascii_lowercase() == *y)
}

fn trim(mut s: &[u8]) -> &[u8] {
    while let [first, rest @ ..] = s {
        if first.is_ascii_whitespace() {
            s = rest;
        } else {
            break;
        }
    }
    while let [rest @ .., last] = s {
        if last.is_ascii_whitespace() {
            s = rest;
        } else {
            break;
        }
    }
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn accepted_forms() {
        assert_eq!(parse_size(b"2147483648"), Ok(2_147_483_648));
        assert_eq!(parse_size(b"1e8"), Ok(100_000_000));
        assert_eq!(parse_size(b"1E8"), Ok(100_000_000));
        assert_eq!(parse_size(b"1.5e9"), Ok(1_500_000_000));
        assert_eq!(parse_size(b"2G"), Ok(2 << 30));
        assert_eq!(parse_size(b"2g"), Ok(2 << 30));
        assert_eq!(parse_size(b"512MiB"), Ok(512 << 20));
        assert_eq!(parse_size(b"4K"), Ok(4096));
        assert_eq!(parse_size(b"4KiB"), Ok(4096));
        assert_eq!(parse_size(b"1.5K"), Ok(1536));
        assert_eq!(parse_size(b"1T"), Ok(1 << 40));
        assert_eq!(parse_size(b" 4096 "), Ok(4096));
        assert_eq!(parse_size(b"4096B"), Ok(4096));
    }

    #[test]
    fn thresholds() {
        assert_eq!(parse_threshold(b"4096"), Ok(MIN_THRESHOLD));
        assert_eq!(parse_threshold(b"4K"), Ok(4096));
        assert_eq!(parse_threshold(b"4095"), Err(SizeError::BelowMinimum));
        assert_eq!(parse_threshold(b"lots"), Err(SizeError::BadNumber));
        assert_eq!(threshold_from_f64(1048576.0), Ok(1 << 20));
        assert_eq!(threshold_from_f64(4096.0), Ok(4096));
        assert_eq!(threshold_from_f64(4095.0), Err(SizeError::BelowMinimum));
        assert_eq!(threshold_from_f64(10.0), Err(SizeError::BelowMinimum));
        assert_eq!(threshold_from_f64(f64::NAN), Err(SizeError::NotACount));
        assert_eq!(threshold_from_f64(-4096.0), Err(SizeError::NotACount));
        assert_eq!(threshold_from_f64(5000.5), Err(SizeError::NotACount));
        assert_eq!(threshold_from_f64(f64::INFINITY), Err(SizeError::Overflow));
        assert_eq!(threshold_from_f64(1e20), Err(SizeError::Overflow));
        assert_eq!(DEFAULT_THRESHOLD, 2147483648);
    }

    #[test]
    fn rejected_forms() {
        assert_eq!(parse_size(b""), Err(SizeError::Empty));
        assert_eq!(parse_size(b"abc"), Err(SizeError::BadNumber));
        assert_eq!(parse_size(b"-5"), Err(SizeError::BadNumber));
        assert_eq!(parse_size(b"1e"), Err(SizeError::BadNumber));
        assert_eq!(parse_size(b"2X"), Err(SizeError::BadUnit));
        assert_eq!(parse_size(b"2GiBs"), Err(SizeError::BadUnit));
        assert_eq!(parse_size(b"1e30"), Err(SizeError::Overflow));
        assert_eq!(parse_size(b"99999999999999999999999"), Err(SizeError::Overflow));
        assert_eq!(parse_size(b"20000000T"), Err(SizeError::Overflow));
    }
}
