//! Allocation-free text: the shim formats names and messages into fixed
//! buffers, because it may run inside `malloc`.

use core::ffi::c_void;

/// Append `s` to `buf` at `*pos`, truncating at the end of `buf`.
pub fn put(buf: &mut [u8], pos: &mut usize, s: &[u8]) {
    let n = s.len().min(buf.len().saturating_sub(*pos));
    buf[*pos..*pos + n].copy_from_slice(&s[..n]);
    *pos += n;
}

/// Append decimal `v` to `buf` at `*pos`.
pub fn put_num(buf: &mut [u8], pos: &mut usize, mut v: u64) {
    let mut tmp = [0u8; 20];
    let mut k = tmp.len();
    loop {
        k -= 1;
        tmp[k] = b'0' + (v % 10) as u8;
        v /= 10;
        if v == 0 {
            break;
        }
    }
    put(buf, pos, &tmp[k..]);
}

/// Length of the NUL-terminated string in `path` (all of it without a NUL).
pub fn path_len(path: &[u8]) -> usize {
    path.iter().position(|&c| c == 0).unwrap_or(path.len())
}

/// Write one line made of `parts` to stderr, without allocating.
pub fn warn(parts: &[&[u8]]) {
    let mut buf = [0u8; 512];
    let mut pos = 0;
    for p in parts {
        put(&mut buf, &mut pos, p);
    }
    put(&mut buf, &mut pos, b"\n");
    write_stderr(&buf[..pos]);
}

pub fn write_stderr(bytes: &[u8]) {
    // SAFETY: writing our own buffer to stderr.
    unsafe { libc::write(2, bytes.as_ptr().cast::<c_void>(), bytes.len()) };
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn numbers_and_truncation() {
        let mut buf = [0u8; 12];
        let mut pos = 0;
        put(&mut buf, &mut pos, b"n=");
        put_num(&mut buf, &mut pos, 0);
        put(&mut buf, &mut pos, b",");
        put_num(&mut buf, &mut pos, 18446744073709551615);
        assert_eq!(&buf[..], b"n=0,18446744");
        assert_eq!(pos, 12);
        put(&mut buf, &mut pos, b"more");
        assert_eq!(&buf[..], b"n=0,18446744");
    }

    #[test]
    fn nul_terminated_length() {
        assert_eq!(path_len(b"/tmp\0xyz"), 4);
        assert_eq!(path_len(b"/tmp"), 4);
        assert_eq!(path_len(b"\0"), 0);
    }
}
