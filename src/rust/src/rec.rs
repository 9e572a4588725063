//! R entry points for the non-scalar layouts: bits, char(n), cstring, struct,
//! and CSV ingestion. Conversions only; the work is in `mmapcore`.

use std::path::Path;
use std::sync::Arc;
use std::slice;

use extendr_api::prelude::*;
use extendr_api::Robj;
use extendr_ffi as ffi;
use extendr_ffi::SEXPTYPE;

use mmapcore::csv::Scan;
use mmapcore::layout::{FieldType, Layout, Record};
use mmapcore::map::{MapOptions, Mapping, PROT_READ};
use mmapcore::record::FieldValue;
use mmapcore::codec::OutBuf;
use mmapcore::index::Selection;
use mmapcore::strings::CIndex;
use mmapcore::view::{LayoutView, Output, Values};
use mmapcore::{MmError, RKind};

use crate::conv::{catch_r_error, finish, layout, in_buf, index_arg, open_retrying_after_gc, r_length, whole, Filled, Stage};
use crate::handle;

fn type_err(msg: impl Into<String>) -> MmError {
    MmError::Type(msg.into())
}

/// Bytes per element (NA for cstring) and, for struct, the fields' offsets.
#[extendr]
fn mm_layout_(spec: Robj) -> Robj {
    finish((|| {
        let l = layout(&spec)?;
        let bytes = l.unit().map_or(f64::NAN, |(b, _)| b as f64);
        let offsets: Vec<f64> = match &l {
            Layout::Struct(r) => r.fields.iter().map(|f| f.offset as f64).collect(),
            _ => Vec::new(),
        };
        let names: Vec<String> = match &l {
            Layout::Struct(r) => r.fields.iter().map(|f| f.name.clone()).collect(),
            _ => Vec::new(),
        };
        let bytes = if bytes.is_nan() { Robj::from(Rfloat::na()) } else { Robj::from(bytes) };
        List::from_names_and_values(["bytes", "offsets", "names"], [bytes, Robj::from(offsets), Robj::from(names)])
            .map(Robj::from)
            .map_err(|e| type_err(e.to_string()))
    })())
}

/// The 1-based positions of the fields `j` selects (positions, negative
/// positions or logical); a column past the last field is an error.
#[extendr]
fn mm_struct_fields_(spec: Robj, j: Robj) -> Robj {
    finish((|| {
        let Layout::Struct(r) = layout(&spec)? else {
            return Err(MmError::Internal("only struct types have fields".into()));
        };
        let fields = r.select_fields(index_arg(&j)?)?;
        Ok(Robj::from(fields.iter().map(|&f| f as i32 + 1).collect::<Vec<i32>>()))
    })())
}

/// The cstring offset table of a mapping, as an external pointer.
#[extendr]
fn mm_cindex_(h: Robj) -> Robj {
    // Shared (Arc) so that views of the mapping can hold the index too; the
    // mapping is let go before R allocates the pointer.
    let index = handle::mapping(&h).and_then(|m| Ok(Arc::new(CIndex::build(m.bytes()?))));
    finish(index.map(|c| Robj::from(ExternalPtr::new(c))))
}

pub(crate) fn with_index<T>(m: &Mapping, ix: &Robj, f: impl FnOnce(&CIndex) -> mmapcore::Result<T>) -> mmapcore::Result<T> {
    match <&ExternalPtr<Arc<CIndex>>>::try_from(ix) {
        Ok(p) if p.bytes == m.len() => f(p),
        // Lost after readRDS(), or stale: build a fresh one for this call.
        _ => f(&CIndex::build(m.bytes()?)),
    }
}

/// The shared cstring index of `m`, or a fresh one when `ix` is lost or stale.
pub(crate) fn shared_index(m: &Mapping, ix: &Robj) -> mmapcore::Result<Arc<CIndex>> {
    match <&ExternalPtr<Arc<CIndex>>>::try_from(ix) {
        Ok(p) if p.bytes == m.len() => Ok(Arc::clone(p)),
        _ => Ok(Arc::new(CIndex::build(m.bytes()?))),
    }
}

/// Widest string of a cstring mapping, in bytes.
#[extendr]
fn mm_cstring_maxwidth_(h: Robj, ix: Robj) -> Robj {
    let width = handle::mapping(&h).and_then(|m| with_index(&m, &ix, |c| Ok(c.max_width() as f64)));
    finish(width.map(Robj::from))
}

/// Sets the strings of the character vector `s`: `fill(set)` calls `set(k,
/// text)` once per element.
///
/// # Safety
/// `s` is a protected character vector with an element for every `k` that
/// `fill` passes. Making each string allocates in R and may longjmp: run
/// this under [`catch_r_error`].
unsafe fn set_strings(
    s: ffi::SEXP,
    fill: impl FnOnce(&mut dyn FnMut(usize, Option<&[u8]>)) -> mmapcore::Result<()>,
) -> mmapcore::Result<()> {
    let mut too_long = false;
    let mut set = |k: usize, text: Option<&[u8]>| {
        // SAFETY: per the contract; mkCharLenCE copies the bytes, whose length
        // is passed explicitly.
        unsafe {
            let el = match text {
                None => ffi::R_NaString,
                Some(t) if t.len() > i32::MAX as usize => {
                    too_long = true;
                    ffi::R_NaString
                }
                Some(t) => {
                    let enc = if t.is_ascii() {
                        ffi::cetype_t::CE_NATIVE
                    } else if std::str::from_utf8(t).is_ok() {
                        ffi::cetype_t::CE_UTF8
                    } else {
                        ffi::cetype_t::CE_BYTES
                    };
                    ffi::Rf_mkCharLenCE(t.as_ptr().cast(), t.len() as i32, enc)
                }
            };
            ffi::SET_STRING_ELT(s, k as isize, el);
        }
    };
    fill(&mut set)?;
    if too_long {
        return Err(MmError::Layout("a string is longer than R's limit of 2^31-1 bytes".into()));
    }
    Ok(())
}

/// A character vector of `n` elements, filled by `fill(set)` (see
/// [`set_strings`]). Allocation and strings are made under [`catch_r_error`]:
/// `fill` must borrow what it reads (the mapping, the selection) and own
/// nothing that needs dropping.
fn strings_out(n: u64, fill: impl FnOnce(&mut dyn FnMut(usize, Option<&[u8]>)) -> mmapcore::Result<()>) -> mmapcore::Result<Robj> {
    let len = r_length(n)?;
    catch_r_error(|| {
        // SAFETY: under the catch; the vector is held by R's protect stack
        // (reset by R on an error) until an Robj holds it.
        unsafe {
            let s = ffi::Rf_protect(ffi::Rf_allocVector(SEXPTYPE::STRSXP, len));
            let done = set_strings(s, fill).map(|_| Robj::from_sexp(s));
            ffi::Rf_unprotect(1);
            done
        }
    })?
}

/// The strings of an R character vector as bytes (`None` for NA).
pub(crate) fn strings_in(x: &Robj) -> mmapcore::Result<Vec<Option<&[u8]>>> {
    // SAFETY: `x` was checked to be a STRSXP; each element is a CHARSXP whose
    // R_CHAR holds LENGTH bytes and lives as long as `x` (protected by the caller).
    unsafe {
        let s = x.get();
        if ffi::TYPEOF(s) != SEXPTYPE::STRSXP {
            return Err(type_err(format!("a string mapping takes character values, not {:?}", x.rtype()).to_lowercase()));
        }
        let n = ffi::XLENGTH(s);
        let mut out = Vec::with_capacity(n as usize);
        for k in 0..n {
            let el = ffi::STRING_ELT(s, k);
            if el == ffi::R_NaString {
                out.push(None);
            } else {
                let p = ffi::R_CHAR(el).cast::<u8>();
                out.push(Some(slice::from_raw_parts(p, ffi::LENGTH(el) as usize)));
            }
        }
        Ok(out)
    }
}

/// The selected fields of the selected records as a named list of columns.
/// Every R allocation (the list, the columns, the strings) happens in one
/// [`catch_r_error`], with the new vectors held by the list on R's protect
/// stack, so an allocation failure leaks nothing and skips no owner.
fn struct_columns(v: &LayoutView<'_>, sel: &Selection, fields: &[usize]) -> mmapcore::Result<Robj> {
    let r = v.record()?;
    let n = r_length(sel.len())?;
    let names: Vec<&str> = fields.iter().map(|&f| r.fields[f].name.as_str()).collect();
    // Numeric fields are filled together (one pass over random records).
    let numeric: Vec<(usize, usize, RKind)> = fields
        .iter()
        .enumerate()
        .filter_map(|(k, &f)| match &r.fields[f].ftype {
            FieldType::Scalar(d) => Some((k, f, d.info().rkind)),
            FieldType::Char(_) => None,
        })
        .collect();
    let numeric_fields: Vec<usize> = numeric.iter().map(|&(_, f, _)| f).collect();
    let mut outs: Vec<OutBuf<'_>> = Vec::with_capacity(numeric.len());
    let outs = &mut outs;
    let list = catch_r_error(|| {
        // SAFETY: under the catch. `list` sits on R's protect stack (reset by
        // R on an error) and holds each column as soon as it is made; the
        // output slices point into those columns, alive while `list` is.
        unsafe {
            let list = ffi::Rf_protect(ffi::Rf_allocVector(SEXPTYPE::VECSXP, fields.len() as isize));
            let done = (|| {
                let names_vec = ffi::Rf_protect(ffi::Rf_allocVector(SEXPTYPE::STRSXP, fields.len() as isize));
                ffi::Rf_setAttrib(list, ffi::R_NamesSymbol, names_vec);
                ffi::Rf_unprotect(1);
                for (k, name) in names.iter().enumerate() {
                    let c = ffi::Rf_mkCharLenCE(name.as_ptr().cast(), name.len() as i32, ffi::cetype_t::CE_UTF8);
                    ffi::SET_STRING_ELT(names_vec, k as isize, c);
                }
                for &(k, _, kind) in &numeric {
                    let col = ffi::Rf_allocVector(crate::conv::sexptype(kind), n);
                    ffi::SET_VECTOR_ELT(list, k as isize, col);
                    outs.push(crate::conv::out_buf(ffi::DATAPTR(col), kind, n as usize));
                }
                for (k, &f) in fields.iter().enumerate() {
                    if let FieldType::Char(_) = &r.fields[f].ftype {
                        let col = ffi::Rf_allocVector(SEXPTYPE::STRSXP, n);
                        ffi::SET_VECTOR_ELT(list, k as isize, col);
                        set_strings(col, |set| v.extract_field_strings(f, sel, set))?;
                    }
                }
                Ok(Robj::from_sexp(list))
            })();
            ffi::Rf_unprotect(1);
            done
        }
    })??;
    v.extract_fields(&numeric_fields, sel, std::mem::take(outs))?;
    Ok(list)
}

/// The selected elements of `v` (for a struct, of the fields `fields`).
fn extracted(stage: &mut Stage, v: &LayoutView<'_>, sel: &Selection, fields: &[usize]) -> mmapcore::Result<Filled> {
    match v.output() {
        Output::Vector(kind) => stage.fill(kind, sel.len(), |out| v.extract(sel, out)),
        Output::Strings => strings_out(sel.len(), |set| v.extract_strings(sel, set)).map(Filled::Vector),
        Output::Columns => struct_columns(v, sel, fields).map(Filled::Vector),
    }
}

/// The cstring offset table a layout needs, shared or rebuilt (`None` for
/// layouts without one).
/// Runs `f` on the live mapping `h` seen through the layout `spec` describes
/// (a cstring with its offset table `ix`). The mapping is released when this
/// returns, before the caller hands anything to R.
pub(crate) fn with_view<T>(
    h: &Robj,
    spec: &Robj,
    ix: &Robj,
    f: impl FnOnce(&LayoutView<'_>) -> mmapcore::Result<T>,
) -> mmapcore::Result<T> {
    let m = handle::mapping(h)?;
    let l = layout(spec)?;
    let cindex = index_for(&l, &m, ix)?;
    f(&LayoutView::new(&m, &l, cindex.as_deref())?)
}

fn index_for(layout: &Layout, m: &Mapping, ix: &Robj) -> mmapcore::Result<Option<Arc<CIndex>>> {
    if layout.is_indexed() {
        shared_index(m, ix).map(Some)
    } else {
        Ok(None)
    }
}

/// The fields `j` selects of a struct mapping (`NULL`: all); none otherwise.
fn fields_of(v: &LayoutView<'_>, j: &Robj) -> mmapcore::Result<Vec<usize>> {
    match v.output() {
        Output::Columns => v.select_fields(index_arg(j)?),
        Output::Vector(_) | Output::Strings => Ok(Vec::new()),
    }
}

/// The elements of a list `value` (a struct's columns); empty for a vector.
fn list_elements(value: &Robj) -> Vec<Robj> {
    value.as_list().map(|l| l.values().collect()).unwrap_or_default()
}

/// `value` as the values of `v`'s layout; for a struct, `cols` holds one
/// vector per field of `fields`.
fn values_of<'v>(v: &LayoutView<'_>, value: &'v Robj, cols: &'v [Robj], int64: bool, fields: &[usize]) -> mmapcore::Result<Values<'v>> {
    match v.output() {
        Output::Vector(_) => in_buf(value, int64).map(Values::Numbers),
        Output::Strings => strings_in(value).map(Values::Strings),
        Output::Columns => {
            if value.as_list().is_none() {
                return Err(MmError::Internal("struct values come as a list".into()));
            }
            columns_of(v.record()?, cols, fields).map(Values::Columns)
        }
    }
}

/// One vector per selected field, as the fields' values.
fn columns_of<'v>(r: &Record, cols: &'v [Robj], fields: &[usize]) -> mmapcore::Result<Vec<(usize, FieldValue<'v>)>> {
    if cols.len() != fields.len() {
        return Err(MmError::Value(format!(
            "`value` has {} column{} for {} selected field{}",
            cols.len(),
            if cols.len() == 1 { "" } else { "s" },
            fields.len(),
            if fields.len() == 1 { "" } else { "s" }
        )));
    }
    let mut columns = Vec::with_capacity(fields.len());
    for (&f, v) in fields.iter().zip(cols) {
        let name = &r.fields[f].name;
        let fv = match &r.fields[f].ftype {
            FieldType::Char(_) => FieldValue::Str(strings_in(v).map_err(|e| MmError::Type(format!("field `{name}`: {e}")))?),
            FieldType::Scalar(_) => {
                FieldValue::Num(in_buf(v, v.inherits("integer64")).map_err(|e| MmError::Type(format!("field `{name}`: {e}")))?)
            }
        };
        columns.push((f, fv));
    }
    Ok(columns)
}

/// Element count and trailing bytes of any mapping.
#[extendr]
fn mm_length_(h: Robj, spec: Robj, ix: Robj) -> Robj {
    let counts = (|| {
        let (n, trailing) = with_view(&h, &spec, &ix, |v| v.counts())?;
        Ok([n as f64, trailing as f64])
    })();
    finish(counts.map(Robj::from))
}

/// `m[i]` of any mapping (and `m[i, j]` of a struct, `j = NULL` for all fields).
#[extendr]
fn mm_extract_(h: Robj, spec: Robj, i: Robj, j: Robj, ix: Robj) -> Robj {
    let mut stage = Stage::new();
    let filled = with_view(&h, &spec, &ix, |v| {
        let sel = v.select(index_arg(&i)?)?;
        let fields = fields_of(v, &j)?;
        extracted(&mut stage, v, &sel, &fields)
    });
    // The mapping and the selection are gone: R may allocate now.
    finish(filled.map(|f| stage.to_robj(f)))
}

/// `m[i, j]` of a mapping with dims: the values and the result's dims.
#[extendr]
#[allow(clippy::too_many_arguments)] // one per argument of `[.mmap`(x, i, j), dims and the cstring index
fn mm_extract_matrix_(h: Robj, spec: Robj, i: Robj, j: Robj, nrow: f64, ncol: f64, ix: Robj) -> Robj {
    let mut stage = Stage::new();
    let filled = with_view(&h, &spec, &ix, |v| {
        let (sel, nr, nc) = v.select_matrix(index_arg(&i)?, index_arg(&j)?, whole(nrow, "nrow")?, whole(ncol, "ncol")?)?;
        Ok((extracted(&mut stage, v, &sel, &[])?, nr as f64, nc as f64))
    });
    // The mapping and the selection are gone: R may allocate now.
    finish(filled.map(|(f, nr, nc)| {
        let values = stage.to_robj(f);
        Robj::from(List::from_values([values, Robj::from([nr, nc])]))
    }))
}

/// `m[i] <- value` of any mapping (and `m[i, j] <- value` of a struct, where
/// `value` is a list with one vector per selected field). Returns TRUE when
/// recycling was uneven.
#[extendr]
#[allow(clippy::too_many_arguments)] // one per argument of `[<-.mmap`(x, i, j, value) and the cstring index
fn mm_replace_(h: Robj, spec: Robj, i: Robj, j: Robj, value: Robj, int64: bool, ix: Robj) -> Robj {
    let uneven = with_view(&h, &spec, &ix, |v| {
        v.check_writable()?;
        let fields = fields_of(v, &j)?;
        let cols = list_elements(&value);
        let values = values_of(v, &value, &cols, int64, &fields)?;
        let sel = v.select_assign(index_arg(&i)?, &values)?;
        Ok(v.replace(&sel, values)?.uneven_recycling)
    });
    finish(uneven.map(Robj::from))
}

/// `m[i, j] <- value` of a mapping with dims. Returns TRUE when recycling was uneven.
#[extendr]
#[allow(clippy::too_many_arguments)] // one per argument of `[<-.mmap`(x, i, j, value), dims and the cstring index
fn mm_replace_matrix_(h: Robj, spec: Robj, i: Robj, j: Robj, nrow: f64, ncol: f64, value: Robj, int64: bool, ix: Robj) -> Robj {
    let uneven = with_view(&h, &spec, &ix, |v| {
        v.check_writable()?;
        let values = values_of(v, &value, &[], int64, &[])?;
        let sel = v.select_matrix_assign(index_arg(&i)?, index_arg(&j)?, whole(nrow, "nrow")?, whole(ncol, "ncol")?, &values)?;
        Ok(v.replace(&sel, values)?.uneven_recycling)
    });
    finish(uneven.map(Robj::from))
}

// ---------------------------------------------------------------------------
// CSV

fn sep_byte(sep: &str) -> mmapcore::Result<u8> {
    match sep.as_bytes() {
        [b] if *b != b'"' && *b != b'\n' && *b != b'\r' => Ok(*b),
        _ => Err(type_err(format!("`sep` must be a single byte other than a quote or newline, not \"{sep}\""))),
    }
}

fn open_csv(path: &str) -> mmapcore::Result<Mapping> {
    let opts = MapOptions { prot: PROT_READ, ..MapOptions::default() };
    open_retrying_after_gc(|| Mapping::open(Path::new(path), &opts))
}

/// The first record's fields and where the next record starts.
#[extendr]
fn mm_csv_header_(path: &str, sep: &str) -> Robj {
    let header = (|| {
        let sep = sep_byte(sep)?;
        let m = open_csv(path)?;
        let bytes = if m.is_empty() { &[][..] } else { m.bytes()? };
        let (fields, next) = mmapcore::csv::next_record(bytes, 0, sep)?
            .ok_or_else(|| MmError::Value(format!("the CSV file '{path}' is empty")))?;
        mmapcore::csv::check_no_nul(&fields, None)?;
        let names: Vec<String> = fields.iter().map(|f| String::from_utf8_lossy(f).into_owned()).collect();
        Ok((names, next as f64, bytes.len() as f64))
    })();
    finish(header.and_then(|(names, next, size)| {
        List::from_names_and_values(["fields", "next", "size"], [Robj::from(names), Robj::from(next), Robj::from(size)])
            .map(Robj::from)
            .map_err(|e| type_err(e.to_string()))
    }))
}

#[extendr]
fn mm_csv_scan_new_(ncol: i32) -> Robj {
    Robj::from(ExternalPtr::new(Scan::new(ncol.max(0) as usize)))
}

/// Scans a chunk into `state`; returns where the next chunk starts.
#[extendr]
fn mm_csv_scan_(mut state: Robj, path: &str, from: f64, limit: f64, sep: &str) -> Robj {
    let next = (|| {
        let sep = sep_byte(sep)?;
        let scan = <&mut ExternalPtr<Scan>>::try_from(&mut state).map_err(|_| MmError::Internal("bad scan state".into()))?;
        let m = open_csv(path)?;
        let bytes = if m.is_empty() { &[][..] } else { m.bytes()? };
        let next = scan.chunk(bytes, whole(from, "from")? as usize, whole(limit, "limit")? as usize, sep)?;
        Ok(next as f64)
    })();
    finish(next.map(Robj::from))
}

/// What a scan found: per column kind, width, any NA; and the row count.
#[extendr]
fn mm_csv_scan_result_(state: Robj) -> Robj {
    finish((|| {
        let scan = <&ExternalPtr<Scan>>::try_from(&state).map_err(|_| MmError::Internal("bad scan state".into()))?;
        let kinds: Vec<&str> = scan.cols.iter().map(|c| c.kind().name()).collect();
        let widths: Vec<f64> = scan.cols.iter().map(|c| c.width as f64).collect();
        let na: Vec<bool> = scan.cols.iter().map(|c| c.any_na).collect();
        List::from_names_and_values(
            ["kind", "width", "na", "rows"],
            [Robj::from(kinds), Robj::from(widths), Robj::from(na), Robj::from(scan.rows as f64)],
        )
        .map(Robj::from)
        .map_err(|e| type_err(e.to_string()))
    })())
}

/// Writes a chunk of CSV rows into the struct mapping `h`; returns c(next, rows).
#[extendr]
fn mm_csv_write_(path: &str, h: Robj, spec: Robj, from: f64, limit: f64, sep: &str, first_row: f64) -> Robj {
    let done = (|| {
        let sep = sep_byte(sep)?;
        let Layout::Struct(r) = layout(&spec)? else {
            return Err(MmError::Internal("CSV rows go to a struct mapping".into()));
        };
        let csv = open_csv(path)?;
        let bytes = if csv.is_empty() { &[][..] } else { csv.bytes()? };
        let target = handle::mapping(&h)?;
        let (next, rows) = mmapcore::csv::write_records(
            bytes,
            whole(from, "from")? as usize,
            whole(limit, "limit")? as usize,
            sep,
            &r,
            target.bytes_mut()?,
            whole(first_row, "first_row")?,
        )?;
        Ok([next as f64, rows as f64])
    })();
    finish(done.map(Robj::from))
}

extendr_module! {
    mod rec;
    fn mm_layout_;
    fn mm_struct_fields_;
    fn mm_cindex_;
    fn mm_length_;
    fn mm_cstring_maxwidth_;
    fn mm_extract_;
    fn mm_extract_matrix_;
    fn mm_replace_;
    fn mm_replace_matrix_;
    fn mm_csv_header_;
    fn mm_csv_scan_new_;
    fn mm_csv_scan_;
    fn mm_csv_scan_result_;
    fn mm_csv_write_;
}
