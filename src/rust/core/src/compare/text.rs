//! String layouts: `char(n)` and `cstring` against a string, in byte order.

use super::hits::Hits;
use super::op::{Op, Scalar};
use crate::error::{MmError, Result};
use crate::layout::CharType;
use crate::strings::{self, CIndex};

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
