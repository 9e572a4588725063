//! Stored representations: how each width and signedness is laid out in
//! either byte order. The codecs in `scalar.rs` are built from these.

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

// The 24-bit types store an i32 / u32 in 3 bytes. Reading puts the bytes
// in the top three of a word and shifts right by 8, which sign-extends bit 23
// for i32 and zero-fills for u32.
macro_rules! stored_24 {
    ($($t:ty),*) => {$(
        impl Stored<3> for $t {
            #[inline(always)]
            fn from_le(b: [u8; 3]) -> Self {
                <$t>::from_le_bytes([0, b[0], b[1], b[2]]) >> 8
            }
            #[inline(always)]
            fn from_be(b: [u8; 3]) -> Self {
                <$t>::from_be_bytes([b[0], b[1], b[2], 0]) >> 8
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
    )*};
}
stored_24!(i32, u32);

/// A byte order as a type, so that each decoding loop is compiled once per order.
pub trait Order {
    /// The value stored in `b`, for kernels that already hold whole elements.
    fn from_array<T: Stored<N>, const N: usize>(b: [u8; N]) -> T;
    /// The bytes that store `v`.
    fn to_array<T: Stored<N>, const N: usize>(v: T) -> [u8; N];

    /// The value stored in the first `N` bytes of `b`.
    #[inline(always)]
    fn get<T: Stored<N>, const N: usize>(b: &[u8]) -> T {
        Self::from_array(head(b))
    }
    /// Stores `v` in the first `N` bytes of `slot`.
    #[inline(always)]
    fn put<T: Stored<N>, const N: usize>(slot: &mut [u8], v: T) {
        slot[..N].copy_from_slice(&Self::to_array(v));
    }
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

macro_rules! order {
    ($order:ident, $from:ident, $to:ident) => {
        impl Order for $order {
            #[inline(always)]
            fn from_array<T: Stored<N>, const N: usize>(b: [u8; N]) -> T {
                T::$from(b)
            }
            #[inline(always)]
            fn to_array<T: Stored<N>, const N: usize>(v: T) -> [u8; N] {
                v.$to()
            }
        }
    };
}
order!(Le, from_le, to_le);
order!(Be, from_be, to_be);
