//! The one table of on-disk types. Everything that needs to know a type's name,
//! width, R representation, range or NA convention reads it from here.

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
/// `$m! { ($args) [Variant, "name", bytes, RKind, min, max, NaRule, "NA on disk"] ... }`.
/// `min`/`max` bound the integer values a type accepts (unused for
/// non-integer types). The `Kind` enum is generated from it, so a new row is a
/// compile error at every exhaustive `match` over kinds that must handle it.
#[macro_export]
macro_rules! scalar_table {
    ($m:ident $(, $arg:tt)*) => {
        $crate::scalar_table! { @rows [$m] [] ($($arg)*) }
    };
    // One invocation of `$m` per row, for `for_each_scalar!`.
    (@each ($m:ident) $([$($row:tt)*])*) => {
        $( $m!($($row)*); )*
    };
    // The rows, handed to `$callee! { $prefix ($args) rows }`. Macros are
    // named by path so that this works from any module and crate.
    (@rows [$($callee:tt)*] [$($prefix:tt)*] $args:tt) => {
        $($callee)*! { $($prefix)* $args
            [UChar, "uchar", 1, Raw, 0, 255, Never, "none"]
            [Int8, "int8", 1, Integer, -128, 127, Sentinel, "none unless a sentinel is given"]
            [UInt8, "uint8", 1, Integer, 0, 255, Sentinel, "none unless a sentinel is given"]
            [Int16, "int16", 2, Integer, -32768, 32767, Sentinel, "none unless a sentinel is given"]
            [UInt16, "uint16", 2, Integer, 0, 65535, Sentinel, "none unless a sentinel is given"]
            [Int24, "int24", 3, Integer, -8388608, 8388607, Sentinel, "none unless a sentinel is given"]
            [UInt24, "uint24", 3, Integer, 0, 16777215, Sentinel, "none unless a sentinel is given"]
            [Int32, "int32", 4, Integer, -2147483647, 2147483647, Builtin, "-2^31 (0x80000000), as R's NA_integer_"]
            [UInt32, "uint32", 4, Double, 0, 4294967295, Sentinel, "none unless a sentinel is given"]
            [Int64, "int64", 8, Integer64, -9223372036854775807, 9223372036854775807, Builtin, "-2^63 (0x8000000000000000), as bit64's NA_integer64_"]
            [Real32, "real32", 4, Double, 0, 0, Builtin, "the quiet NaN 0x7FC007A2 (payload 1954, like R's NA); other NaNs stay NaN"]
            [Real64, "real64", 8, Double, 0, 0, Builtin, "R's NA_real_ (a NaN with payload 1954); other NaNs stay NaN"]
            [Cplx, "cplx", 16, Complex, 0, 0, Builtin, "both parts NA_real_, as R's NA_complex_"]
            [Logi8, "logi8", 1, Logical, 0, 1, Builtin, "0x80 (-128)"]
            [Logi32, "logi32", 4, Logical, 0, 1, Builtin, "-2^31 (0x80000000), as R's NA"]
        }
    };
}

/// Invokes `$m!(Variant, "name", bytes, RKind, min, max, NaRule, "NA on disk")` once per
/// row of [`scalar_table!`].
#[macro_export]
macro_rules! for_each_scalar {
    ($m:ident) => {
        $crate::scalar_table! { @rows [$crate::scalar_table] [@each] ($m) }
    };
}

macro_rules! declare_kind {
    (() $([$v:ident, $($rest:tt)*])*) => {
        /// A scalar on-disk type: one per row of the table.
        #[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
        pub enum Kind { $($v),* }

        impl Kind {
            /// Every kind, in table order.
            pub const ALL: &'static [Kind] = &[$(Kind::$v),*];

            /// The kind's row of the table.
            pub fn info(self) -> KindInfo {
                match self {
                    $(Kind::$v => info_row!($v, $($rest)*),)*
                }
            }
        }
    };
}

/// Static facts about one scalar type, one row of the table.
#[derive(Clone, Copy, Debug)]
pub struct KindInfo {
    pub kind: Kind,
    pub name: &'static str,
    pub bytes: usize,
    pub rkind: RKind,
    pub min: i64,
    pub max: i64,
    pub na_rule: NaRule,
    pub na_doc: &'static str,
}

macro_rules! info_row {
    ($v:ident, $name:expr, $bytes:expr, $rk:ident, $min:expr, $max:expr, $na:ident, $doc:expr) => {
        KindInfo {
            kind: Kind::$v,
            name: $name,
            bytes: $bytes,
            rkind: RKind::$rk,
            min: $min,
            max: $max,
            na_rule: NaRule::$na,
            na_doc: $doc,
        }
    };
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

    /// Whether values are integers R sees as numbers (raw bytes are not).
    pub fn is_integer(self) -> bool {
        match self {
            Kind::Int8
            | Kind::UInt8
            | Kind::Int16
            | Kind::UInt16
            | Kind::Int24
            | Kind::UInt24
            | Kind::Int32
            | Kind::UInt32
            | Kind::Int64 => true,
            Kind::UChar | Kind::Real32 | Kind::Real64 | Kind::Cplx | Kind::Logi8 | Kind::Logi32 => false,
        }
    }
}

/// A fully described element type: the table row plus the per-mapping choices.
#[derive(Clone, Debug, PartialEq)]
pub struct DType {
    pub kind: Kind,
    pub endian: Endian,
    /// The NA sentinel for integer types that have no NA of their own.
    pub sentinel: Option<i64>,
}

impl DType {
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
        Ok(DType { kind, endian, sentinel })
    }

    pub fn parse(name: &str, endian: &str, sentinel: Option<i64>) -> Result<Self> {
        let kind = Kind::from_name(name)
            .ok_or_else(|| MmError::Type(format!("unknown type \"{name}\"")))?;
        DType::new(kind, Endian::parse(endian)?, sentinel)
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
        let i = self.info();
        match self.kind {
            Kind::Real32 => "finite values up to about 3.4e38 in magnitude".into(),
            Kind::Logi8 | Kind::Logi32 => "TRUE, FALSE and NA".into(),
            // Every double (and complex part) fits: no range to name.
            Kind::Real64 | Kind::Cplx => "any double".into(),
            Kind::UChar
            | Kind::Int8
            | Kind::UInt8
            | Kind::Int16
            | Kind::UInt16
            | Kind::Int24
            | Kind::UInt24
            | Kind::Int32
            | Kind::UInt32
            | Kind::Int64 => format!("integers from {} to {}", i.min, i.max),
        }
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
            ($v:ident, $name:expr, $bytes:expr, $($rest:tt)*) => {
                seen.push((Kind::$v, $name, $bytes));
            };
        }
        for_each_scalar!(visit);
        let want: Vec<_> = table().iter().map(|r| (r.kind, r.name, r.bytes)).collect();
        assert_eq!(seen, want);
        assert_eq!(Kind::ALL.len(), want.len());
    }

    #[test]
    fn sentinels_only_where_allowed() {
        assert!(DType::parse("int8", "little", Some(-128)).is_ok());
        assert!(DType::parse("int8", "little", Some(200)).is_err());
        assert!(DType::parse("int32", "little", Some(0)).is_err());
        assert!(DType::parse("uchar", "little", Some(0)).is_err());
        assert!(DType::parse("int16", "middle", None).is_err());
    }
}
