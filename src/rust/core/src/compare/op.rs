//! The operators and the value a mapping is compared with.

use crate::error::{MmError, Result};

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

    pub(super) fn is_ordering(self) -> bool {
        !matches!(self, Op::Eq | Op::Ne)
    }
}

/// The right-hand side of a comparison, as R handed it over.
#[derive(Clone, Debug, PartialEq)]
pub enum Scalar {
    /// Any NA (logical, integer, double, complex, character or integer64).
    Na,
    /// An integer, raw byte or integer64 value.
    Int(i64),
    /// A logical: a number (0 or 1) to every type but raw, which R turns
    /// into a logical instead (`as.raw(7) == TRUE`).
    Lgl(bool),
    /// A double; NaN matches nothing, like NA.
    Real(f64),
    Cplx(f64, f64),
    /// A string, as bytes (for string types).
    Str(Vec<u8>),
}

impl Scalar {
    /// The value as R compares it with a number: a logical is 0 or 1.
    pub(super) fn numeric(&self) -> Scalar {
        match self {
            Scalar::Lgl(b) => Scalar::Int(i64::from(*b)),
            other => other.clone(),
        }
    }

    pub(super) fn describe(&self) -> String {
        match self {
            Scalar::Na => "NA".into(),
            Scalar::Int(v) => v.to_string(),
            Scalar::Lgl(b) => if *b { "TRUE".into() } else { "FALSE".into() },
            Scalar::Real(x) => format!("{x}"),
            Scalar::Cplx(re, im) => format!("{re}{im:+}i"),
            Scalar::Str(s) => format!("\"{}\"", String::from_utf8_lossy(s)),
        }
    }
}
