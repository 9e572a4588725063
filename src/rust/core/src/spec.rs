//! The one reader of a type description. R's type constructors build a
//! named list (`list(name = "int16", na = -1)`, `list(name = "struct",
//! fields = list(...), offset = ..., bytes = ...)`); the bindings turn it into
//! a [`Spec`] tree without interpreting it, and everything about what the
//! description means — which names exist, which keys each needs, what is
//! valid — is decided here, once.

use crate::ctype::{Ctype, Endian, Kind};
use crate::error::{MmError, Result};
use crate::layout::{CharType, FieldSpec, FieldType, Layout, Record};

/// A type description as plain values: R's list, vectors and NULL.
#[derive(Clone, Debug, PartialEq)]
pub enum Spec {
    Null,
    /// A single string.
    Text(String),
    /// Integers and doubles, NA as NaN.
    Numbers(Vec<f64>),
    /// A logical vector (`None` is NA).
    Flags(Vec<Option<bool>>),
    /// A list; unnamed elements have an empty name.
    List(Vec<(String, Spec)>),
    /// Anything else (a function, several strings, ...), by its R type name.
    Other(String),
}

impl Spec {
    /// The value under `key`, unless it is absent or NULL.
    fn get(&self, key: &str) -> Option<&Spec> {
        match self {
            Spec::List(items) => items.iter().find(|(k, _)| k == key).map(|(_, v)| v).filter(|v| **v != Spec::Null),
            Spec::Null | Spec::Text(_) | Spec::Numbers(_) | Spec::Flags(_) | Spec::Other(_) => None,
        }
    }

    fn text(&self, key: &str) -> Option<&str> {
        match self.get(key)? {
            Spec::Text(s) => Some(s),
            Spec::Null | Spec::Numbers(_) | Spec::Flags(_) | Spec::List(_) | Spec::Other(_) => None,
        }
    }

    /// A single number under `key`; an error when it is something else.
    fn number(&self, key: &str) -> Result<Option<f64>> {
        match self.get(key) {
            None => Ok(None),
            Some(Spec::Numbers(v)) if v.len() == 1 => Ok(Some(v[0])),
            Some(other) => Err(MmError::Type(format!("`{key}` must be a single number, not {}", other.describe()))),
        }
    }

    fn describe(&self) -> String {
        match self {
            Spec::Null => "NULL".into(),
            Spec::Text(s) => format!("the string \"{s}\""),
            Spec::Numbers(v) if v.len() == 1 && v[0].is_nan() => "NA".into(),
            Spec::Numbers(v) if v.len() == 1 => format!("{}", v[0]),
            Spec::Numbers(v) => format!("{} numbers", v.len()),
            Spec::Flags(v) if v.len() == 1 => v[0].map_or("NA", |b| if b { "TRUE" } else { "FALSE" }).into(),
            Spec::Flags(v) => format!("{} logicals", v.len()),
            Spec::List(v) => format!("a list of {}", v.len()),
            Spec::Other(t) => t.clone(),
        }
    }

    /// The byte order a description asks for (`native` when it names none).
    pub fn endian(&self) -> Result<Endian> {
        match self.get("endian") {
            None => Ok(Endian::native()),
            Some(Spec::Text(s)) => Endian::parse(s),
            Some(other) => Err(MmError::Type(format!(
                "`endian` must be \"little\", \"big\" or \"native\", not {}",
                other.describe()
            ))),
        }
    }

    /// The type's name, as the constructor set it.
    fn name(&self) -> Result<&str> {
        if !matches!(self, Spec::List(_)) {
            return Err(MmError::Internal("a type spec must be a list".into()));
        }
        self.text("name").ok_or_else(|| MmError::Internal("a type spec needs a name".into()))
    }

    /// The layout a description stands for, checked.
    pub fn layout(&self) -> Result<Layout> {
        let endian = self.endian()?;
        Ok(match self.name()? {
            "bits" => Layout::Bits(endian),
            "char" => Layout::Char(self.char_type()?),
            "cstring" => Layout::CString,
            "struct" => Layout::Struct(self.record(endian)?),
            name => Layout::Scalar(self.scalar(name, endian)?),
        })
    }

    /// The scalar type a description stands for; other layouts are an error.
    pub fn ctype(&self) -> Result<Ctype> {
        let endian = self.endian()?;
        match self.name()? {
            name @ ("bits" | "char" | "cstring" | "struct") => {
                Err(MmError::Internal(format!("{name} is not a scalar type")))
            }
            name => self.scalar(name, endian),
        }
    }

    fn scalar(&self, name: &str, endian: Endian) -> Result<Ctype> {
        let kind = Kind::from_name(name).ok_or_else(|| MmError::Type(format!("unknown type \"{name}\"")))?;
        let sentinel = match self.number("na")? {
            None => None,
            Some(v) if v.is_nan() || v.fract() != 0.0 => {
                return Err(MmError::Type(format!("`na` must be a whole number, not {v}")))
            }
            Some(v) => Some(v as i64),
        };
        Ctype::new(kind, endian, sentinel)
    }

    fn char_type(&self) -> Result<CharType> {
        let width = match self.get("width") {
            Some(Spec::Numbers(v)) if v.len() == 1 && v[0] >= 1.0 && v[0] < 2f64.powi(53) && v[0].fract() == 0.0 => v[0] as usize,
            Some(other) => {
                return Err(MmError::Type(format!(
                    "`n` must be a single whole number of at least 1, not {}",
                    other.describe()
                )))
            }
            None => return Err(MmError::Internal("a char() spec needs a width".into())),
        };
        let nul = match self.get("nul") {
            None => true,
            Some(Spec::Flags(v)) if v.len() == 1 && v[0].is_some() => v[0] == Some(true),
            Some(other) => return Err(MmError::Type(format!("`nul` must be TRUE or FALSE, not {}", other.describe()))),
        };
        let na = match self.get("na") {
            None => None,
            Some(Spec::Text(s)) => Some(s.clone().into_bytes()),
            Some(other) => {
                return Err(MmError::Type(format!("`na` must be a single string or NULL, not {}", other.describe())))
            }
        };
        CharType::new(width, nul, na)
    }

    fn record(&self, endian: Endian) -> Result<Record> {
        let fields = match self.get("fields") {
            Some(Spec::List(f)) => f,
            _ => return Err(MmError::Internal("a struct spec needs fields".into())),
        };
        let offsets = field_offsets(self.get("offset"), fields)?;
        let mut specs = Vec::with_capacity(fields.len());
        for ((name, f), offset) in fields.iter().zip(offsets) {
            let ftype = match f.name()? {
                "pad" => {
                    let n = f.number("bytes")?.ok_or_else(|| MmError::Internal("pad() needs bytes".into()))?;
                    specs.push(FieldSpec::Pad(whole(n, "n")? as usize));
                    continue;
                }
                "char" => FieldType::Char(f.char_type()?),
                tname @ ("bits" | "cstring" | "struct") => {
                    return Err(MmError::Type(format!(
                        "field `{name}`: a struct field must be a fixed-width scalar or char(n) type, not {tname}"
                    )))
                }
                tname => FieldType::Scalar(f.scalar(tname, endian)?),
            };
            specs.push(FieldSpec::Field { name: name.clone(), ftype, offset });
        }
        let bytes = match self.number("bytes")? {
            Some(b) => Some(whole(b, "bytes")? as usize),
            None => None,
        };
        Record::new(specs, bytes)
    }
}

/// The explicit offset of each entry of `fields` (`None`: right after the
/// previous one). `offset` has one value per field, pads excluded, or one per
/// entry; NA means "no explicit offset".
fn field_offsets(offset: Option<&Spec>, fields: &[(String, Spec)]) -> Result<Vec<Option<usize>>> {
    let is_pad: Vec<bool> = fields.iter().map(|(_, f)| f.text("name") == Some("pad")).collect();
    let given: Vec<f64> = match offset {
        None => return Ok(vec![None; fields.len()]),
        Some(Spec::Numbers(v)) => v.clone(),
        Some(Spec::Flags(v)) if v.iter().all(Option::is_none) => vec![f64::NAN; v.len()],
        Some(other) => return Err(MmError::Type(format!("`offset` must be numeric, not {}", other.describe()))),
    };
    let named = is_pad.iter().filter(|p| !**p).count();
    let per_entry: Vec<f64> = if given.len() == named && named != fields.len() {
        let mut values = given.into_iter();
        is_pad.iter().map(|&p| if p { f64::NAN } else { values.next().unwrap_or(f64::NAN) }).collect()
    } else if given.len() == fields.len() {
        given
    } else {
        return Err(MmError::Type(format!(
            "`offset` has {} value{} for {named} field{}",
            given.len(),
            if given.len() == 1 { "" } else { "s" },
            if named == 1 { "" } else { "s" }
        )));
    };
    per_entry
        .into_iter()
        .map(|o| if o.is_nan() { Ok(None) } else { whole(o, "offset").map(|o| Some(o as usize)) })
        .collect()
}

/// A whole number of at least 0 given as a double (R's numbers).
pub fn whole(x: f64, what: &str) -> Result<u64> {
    if x.is_finite() && x >= 0.0 && x.fract() == 0.0 && x < 2f64.powi(63) {
        Ok(x as u64)
    } else {
        Err(MmError::Type(format!("`{what}` must be a whole number of at least 0, not {x}")))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn text(s: &str) -> Spec {
        Spec::Text(s.into())
    }

    fn list(items: &[(&str, Spec)]) -> Spec {
        Spec::List(items.iter().map(|(k, v)| (k.to_string(), v.clone())).collect())
    }

    fn num(x: f64) -> Spec {
        Spec::Numbers(vec![x])
    }

    #[test]
    fn scalars_and_synonyms() {
        let d = list(&[("name", text("int16")), ("endian", text("big")), ("na", num(-1.0))]).ctype().unwrap();
        assert_eq!((d.kind, d.endian, d.sentinel), (Kind::Int16, Endian::Big, Some(-1)));
        assert_eq!(list(&[("name", text("double"))]).ctype().unwrap().kind, Kind::Real64);
        assert!(list(&[("name", text("int17"))]).layout().is_err());
        assert!(list(&[("name", text("int16")), ("na", num(0.5))]).ctype().is_err());
        assert!(list(&[("name", text("int16")), ("na", text("x"))]).ctype().is_err());
        assert!(matches!(list(&[("name", text("char")), ("width", num(2.0))]).ctype(), Err(MmError::Internal(_))));
        assert!(matches!(list(&[("na", num(1.0))]).layout(), Err(MmError::Internal(_))));
        assert!(num(1.0).ctype().unwrap_err().to_string().contains("must be a list"));
    }

    #[test]
    fn chars() {
        let c = list(&[("name", text("char")), ("width", num(4.0)), ("nul", Spec::Flags(vec![Some(false)])), ("na", text("NA"))]);
        assert_eq!(c.layout().unwrap(), Layout::Char(CharType::new(4, false, Some(b"NA".to_vec())).unwrap()));
        assert!(list(&[("name", text("char")), ("width", num(0.0))]).layout().is_err());
        assert!(list(&[("name", text("char")), ("width", num(2.0)), ("nul", Spec::Flags(vec![None]))]).layout().is_err());
    }

    fn pad(n: f64) -> Spec {
        list(&[("name", text("pad")), ("bytes", num(n))])
    }

    fn scalar(name: &str) -> Spec {
        list(&[("name", text(name))])
    }

    fn record(fields: &[(&str, Spec)], extra: &[(&str, Spec)]) -> Result<Record> {
        let mut items = vec![("name", text("struct")), ("fields", list(fields))];
        items.extend(extra.iter().cloned());
        match list(&items).layout()? {
            Layout::Struct(r) => Ok(r),
            other => panic!("not a struct: {other:?}"),
        }
    }

    #[test]
    fn structs() {
        let fields = [("a", scalar("int16")), ("", pad(2.0)), ("b", scalar("int32"))];
        let r = record(&fields, &[]).unwrap();
        assert_eq!(r.fields.iter().map(|f| f.offset).collect::<Vec<_>>(), vec![0, 4]);
        // One offset per field (pads excluded) or one per entry.
        let r = record(&fields, &[("offset", Spec::Numbers(vec![f64::NAN, 8.0]))]).unwrap();
        assert_eq!(r.fields[1].offset, 8);
        let r = record(&fields, &[("offset", Spec::Numbers(vec![f64::NAN, f64::NAN, 12.0]))]).unwrap();
        assert_eq!(r.fields[1].offset, 12);
        assert!(record(&fields, &[("offset", Spec::Numbers(vec![0.0]))]).is_err());
        assert!(record(&fields, &[("offset", Spec::Numbers(vec![-1.0, 0.0]))]).is_err());
        assert!(record(&fields, &[("offset", text("0"))]).is_err());
        let r = record(&fields, &[("offset", Spec::Flags(vec![None, None]))]).unwrap();
        assert_eq!(r.fields[1].offset, 4);
        assert_eq!(record(&fields, &[("bytes", num(16.0))]).unwrap().bytes, 16);
        assert!(record(&fields, &[("bytes", num(4.0))]).is_err());
        let nested = record(&[("s", list(&[("name", text("cstring"))]))], &[]).unwrap_err();
        assert!(nested.to_string().contains("fixed-width"));
        assert!(record(&[], &[]).is_err());
        assert!(record(&[("a", scalar("int8")), ("a", scalar("int8"))], &[]).unwrap_err().to_string().contains("twice"));
        // Fields take the struct's byte order.
        let r = record(&[("a", scalar("int32"))], &[("endian", text("big"))]).unwrap();
        assert_eq!(r.fields[0].ftype, FieldType::Scalar(Ctype::new(Kind::Int32, Endian::Big, None).unwrap()));
    }
}
