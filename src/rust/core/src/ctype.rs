//! The one table of on-disk types. Everything that needs to know a type's name,
//! width, R representation, range or NA convention reads it from here.

use crate::codec::{Be, Codec, CodecOp, Le, Order, RVector};
use crate::error::{MmError, Result};

/// Byte order of the values in the file.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Endian {
    Little,
    Big,
}

impl Endian {
    pub fn native() -> Self {
        if cfg!(target_endian = "big") {
            Endian::Big
        } else {
            Endian::Little
        }
    }

    pub fn parse(s: &str) -> Result<Self> {
        match s {
            "little" => Ok(Endian::Little),
            "big" => Ok(Endian::Big),
            "native" => Ok(Self::native()),
            other => Err(MmError::Type(format!(
                "`endian` must be \"little\", \"big\" or \"native\", not \"{other}\""
            ))),
        }
    }

    pub fn is_native(self) -> bool {
        self == Self::native()
    }

    pub fn name(self) -> &'static str {
        match self {
            Endian::Little => "little",
            Endian::Big => "big",
        }
    }
}

/// The R vector an element becomes when extracted.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum RKind {
    Raw,
    Logical,
    Integer,
    Double,
    Complex,
    /// bit64::integer64: a double vector holding i64 bit patterns.
    Integer64,
}

impl RKind {
    /// The R type's name, as `typeof()` (or bit64's class) says it.
    pub fn r_name(self) -> &'static str {
        match self {
            RKind::Raw => "raw",
            RKind::Logical => "logical",
            RKind::Integer => "integer",
            RKind::Double => "double",
            RKind::Complex => "complex",
            RKind::Integer64 => "integer64",
        }
    }
}

/// How a type marks a missing value on disk.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum NaRule {
    /// The type has no NA; one can be given as a sentinel (`int8(na = -128L)`).
    Sentinel,
    /// The type has an NA bit pattern of its own (documented in `na_doc`).
    Builtin,
    /// The type can hold no NA at all (raw bytes).
    Never,
}

/// The table: hands every row to `$m` in one invocation, as
/// `$m! { ($args) [Variant, "name", Codec, min, max, NaRule, "NA on disk"] ... }`.
/// The codec (codec/scalar.rs) knows the width, the R vector and how bytes
/// are decoded, encoded and compared. `min`/`max` bound the integer values a
/// type accepts (unused for non-integer types). The `Kind` enum and
/// [`Ctype::dispatch`] are generated from it, so a new row reaches every
/// operation without another edit, and a new codec is checked by the
/// compiler against the `Codec` trait.
#[macro_export]
macro_rules! scalar_table {
    ($m:ident $(, $arg:tt)*) => {
        $crate::scalar_table! { @rows [$m] [] ($($arg)*) }
    };
    // One invocation of `$m` per row, for `for_each_scalar!`.
    (@each ($m:ident) $([$($row:tt)*])*) => {
        $( $m!($($row)*); )*
    };
    // The rows, handed to `$callee! { $prefix ($args) rows }`. Macros and
    // codecs are named by path so that this works from any module and crate.
    (@rows [$($callee:tt)*] [$($prefix:tt)*] $args:tt) => {
        $($callee)*! { $($prefix)* $args
            [UChar, "uchar", $crate::codec::Byte, 0, 255, Never, "none"]
            [Int8, "int8", $crate::codec::SmallInt<i8, 1>, -128, 127, Sentinel, "none unless a sentinel is given"]
            [UInt8, "uint8", $crate::codec::SmallInt<u8, 1>, 0, 255, Sentinel, "none unless a sentinel is given"]
            [Int16, "int16", $crate::codec::SmallInt<i16, 2>, -32768, 32767, Sentinel, "none unless a sentinel is given"]
            [UInt16, "uint16", $crate::codec::SmallInt<u16, 2>, 0, 65535, Sentinel, "none unless a sentinel is given"]
            [Int24, "int24", $crate::codec::SmallInt<i32, 3>, -8388608, 8388607, Sentinel, "none unless a sentinel is given"]
            [UInt24, "uint24", $crate::codec::SmallInt<u32, 3>, 0, 16777215, Sentinel, "none unless a sentinel is given"]
            [Int32, "int32", $crate::codec::Int32, -2147483647, 2147483647, Builtin, "-2^31 (0x80000000), as R's NA_integer_"]
            [UInt32, "uint32", $crate::codec::UInt32, 0, 4294967295, Sentinel, "none unless a sentinel is given"]
            [Int64, "int64", $crate::codec::Int64, -9223372036854775807, 9223372036854775807, Builtin, "-2^63 (0x8000000000000000), as bit64's NA_integer64_"]
            [Real32, "real32", $crate::codec::Real32, 0, 0, Builtin, "the quiet NaN 0x7FC007A2 (payload 1954, like R's NA); other NaNs stay NaN"]
            [Real64, "real64", $crate::codec::Real64, 0, 0, Builtin, "R's NA_real_ (a NaN with payload 1954); other NaNs stay NaN"]
            [Cplx, "cplx", $crate::codec::Cplx, 0, 0, Builtin, "both parts NA_real_, as R's NA_complex_"]
            [Logi8, "logi8", $crate::codec::Logical<u8, 1>, 0, 1, Builtin, "0x80 (-128)"]
            [Logi32, "logi32", $crate::codec::Logical<i32, 4>, 0, 1, Builtin, "-2^31 (0x80000000), as R's NA"]
        }
    };
}

/// Invokes `$m!(Variant, "name", Codec, min, max, NaRule, "NA on disk")` once per
/// row of [`scalar_table!`].
#[macro_export]
macro_rules! for_each_scalar {
    ($m:ident) => {
        $crate::scalar_table! { @rows [$crate::scalar_table] [@each] ($m) }
    };
}

macro_rules! declare_kind {
    (() $([$v:ident, $name:expr, $codec:ty, $min:expr, $max:expr, $na:ident, $doc:expr])*) => {
        /// A scalar on-disk type: one per row of the table.
        #[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
        pub enum Kind { $($v),* }

        impl Kind {
            /// Every kind, in table order.
            pub const ALL: &'static [Kind] = &[$(Kind::$v),*];

            /// The kind's row of the table, with its codec's constants.
            pub fn info(self) -> KindInfo {
                match self {
                    $(Kind::$v => KindInfo {
                        kind: Kind::$v,
                        name: $name,
                        bytes: <$codec as Codec>::BYTES,
                        rkind: <<$codec as Codec>::R as RVector>::KIND,
                        verbatim: <$codec as Codec>::VERBATIM,
                        min: $min,
                        max: $max,
                        na_rule: NaRule::$na,
                        na_doc: $doc,
                    },)*
                }
            }
        }

        impl Ctype {
            /// Runs `op` with this type's codec and byte order.
            pub fn dispatch<F: CodecOp>(&self, op: F) -> F::Output {
                match (self.kind, self.endian) {
                    $(
                        (Kind::$v, Endian::Little) => op.run::<$codec, Le>(),
                        (Kind::$v, Endian::Big) => op.run::<$codec, Be>(),
                    )*
                }
            }
        }
    };
}

/// Static facts about one scalar type: its row of the table and its codec's constants.
#[derive(Clone, Copy, Debug)]
pub struct KindInfo {
    pub kind: Kind,
    pub name: &'static str,
    pub bytes: usize,
    pub rkind: RKind,
    /// Whether the stored bytes, in native order, are R's own vector's.
    pub verbatim: bool,
    pub min: i64,
    pub max: i64,
    pub na_rule: NaRule,
    pub na_doc: &'static str,
}

/// Every scalar type, in table order.
pub fn table() -> Vec<KindInfo> {
    Kind::ALL.iter().map(|k| k.info()).collect()
}

scalar_table!(declare_kind);

impl Kind {
    pub fn from_name(name: &str) -> Option<Kind> {
        // Base R prototypes and the seed's synonyms name the same rows.
        let canonical = match name {
            "raw" => "uchar",
            "integer" => "int32",
            "double" | "numeric" => "real64",
            "complex" => "cplx",
            "logical" => "logi32",
            other => other,
        };
        table().into_iter().find(|r| r.name == canonical).map(|r| r.kind)
    }

}

/// A scalar Ctype, as R's `int16()`, `real64()`, ... describe it: the table
/// row plus the per-mapping choices. R's compound Ctypes (`bits()`, `char(n)`,
/// `cstring()`, `struct()`) are the other cases of [`crate::layout::Layout`].
#[derive(Clone, Debug, PartialEq)]
pub struct Ctype {
    pub kind: Kind,
    pub endian: Endian,
    /// The NA sentinel for integer types that have no NA of their own.
    pub sentinel: Option<i64>,
}

impl Ctype {
    pub fn new(kind: Kind, endian: Endian, sentinel: Option<i64>) -> Result<Self> {
        let info = kind.info();
        if let Some(s) = sentinel {
            if info.na_rule != NaRule::Sentinel {
                return Err(MmError::Type(format!(
                    "`na` can only be given to types without an NA of their own; {} {}",
                    info.name,
                    if info.na_rule == NaRule::Builtin { "already has one" } else { "cannot hold NA" }
                )));
            }
            if s < info.min || s > info.max {
                return Err(MmError::Type(format!(
                    "`na` sentinel {s} is outside the range of {} ({} to {})",
                    info.name, info.min, info.max
                )));
            }
        }
        Ok(Ctype { kind, endian, sentinel })
    }

    pub fn parse(name: &str, endian: &str, sentinel: Option<i64>) -> Result<Self> {
        let kind = Kind::from_name(name)
            .ok_or_else(|| MmError::Type(format!("unknown type \"{name}\"")))?;
        Ctype::new(kind, Endian::parse(endian)?, sentinel)
    }

    pub fn info(&self) -> KindInfo {
        self.kind.info()
    }

    pub fn bytes(&self) -> usize {
        self.info().bytes
    }

    pub fn name(&self) -> &'static str {
        self.info().name
    }

    pub fn has_na(&self) -> bool {
        match self.info().na_rule {
            NaRule::Builtin => true,
            NaRule::Sentinel => self.sentinel.is_some(),
            NaRule::Never => false,
        }
    }

    /// Human-readable range used in error messages.
    pub fn range_text(&self) -> String {
        struct RangeText(KindInfo);
        impl CodecOp for RangeText {
            type Output = String;
            fn run<C: Codec, O: Order>(self) -> String {
                C::range_text(&self.0)
            }
        }
        self.dispatch(RangeText(self.info()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn table_is_consistent() {
        for row in table() {
            assert_eq!(row.kind.info().name, row.name);
            assert_eq!(Kind::from_name(row.name), Some(row.kind));
            assert!(row.bytes > 0);
        }
        assert_eq!(Kind::from_name("integer"), Some(Kind::Int32));
        assert_eq!(Kind::from_name("double"), Some(Kind::Real64));
        assert_eq!(Kind::from_name("raw"), Some(Kind::UChar));
        assert_eq!(Kind::from_name("nope"), None);
    }

    #[test]
    fn for_each_scalar_visits_every_row_in_table_order() {
        let mut seen = Vec::new();
        macro_rules! visit {
            ($v:ident, $name:expr, $codec:ty, $($rest:tt)*) => {
                seen.push((Kind::$v, $name, <$codec as Codec>::BYTES));
            };
        }
        for_each_scalar!(visit);
        let want: Vec<_> = table().iter().map(|r| (r.kind, r.name, r.bytes)).collect();
        assert_eq!(seen, want);
        assert_eq!(Kind::ALL.len(), want.len());
    }

    #[test]
    fn sentinels_only_where_allowed() {
        assert!(Ctype::parse("int8", "little", Some(-128)).is_ok());
        assert!(Ctype::parse("int8", "little", Some(200)).is_err());
        assert!(Ctype::parse("int32", "little", Some(0)).is_err());
        assert!(Ctype::parse("uchar", "little", Some(0)).is_err());
        assert!(Ctype::parse("int16", "middle", None).is_err());
    }
}
