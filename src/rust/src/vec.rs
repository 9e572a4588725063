//! R entry points for typed vectors. Each one converts, calls the core, converts back.

use std::path::Path;

use extendr_api::prelude::*;
use extendr_api::Robj;

use mmapcore::map::{Advice, MapOptions, Mapping, Replacement};
use mmapcore::column::Column;
use mmapcore::layout::Layout;
use mmapcore::summary;
use mmapcore::MmError;

use crate::conv::{ctype, finish, index_arg, layout, open_retrying_after_gc, whole};
use crate::handle::{self, State};

fn options(off: f64, len: f64, prot: i32, private: bool) -> mmapcore::Result<MapOptions> {
    Ok(MapOptions {
        offset: whole(off, "off")?,
        len: if len < 0.0 { None } else { Some(whole(len, "len")?) },
        prot,
        private,
    })
}

/// Maps `path`; returns the handle.
#[extendr]
fn mm_open_(path: &str, off: f64, len: f64, prot: i32, private: bool) -> Robj {
    let h = handle::empty_handle();
    let attached = options(off, len, prot, private)
        .and_then(|o| open_retrying_after_gc(|| Mapping::open(Path::new(path), &o)))
        .and_then(|map| handle::attach(&h, map));
    finish(attached.map(|_| h))
}

/// Re-maps a handle that came back from readRDS().
#[extendr]
fn mm_attach_(h: Robj, path: &str, off: f64, len: f64, prot: i32, private: bool) -> Robj {
    let attached = (|| {
        if !matches!(handle::state(&h)?, State::Detached) {
            return Err(MmError::Internal("the handle is already attached".into()));
        }
        handle::prepare(&h)?;
        let opts = options(off, len, prot, private)?;
        let map = open_retrying_after_gc(|| Mapping::open(Path::new(path), &opts))?;
        handle::attach(&h, map)
    })();
    finish(attached.map(|_| Robj::from(true)))
}

/// "live", "unmapped" or "detached".
#[extendr]
fn mm_state_(h: Robj) -> Robj {
    finish(handle::state(&h).map(|s| {
        Robj::from(match s {
            State::Live => "live",
            State::Unmapped => "unmapped",
            State::Detached => "detached",
        })
    }))
}

#[extendr]
fn mm_close_(h: Robj) -> Robj {
    finish(handle::close(&h).map(Robj::from))
}

/// Facts about the mapping: bytes, prot, private, path, offset.
#[extendr]
fn mm_info_(h: Robj) -> Robj {
    // The mapping is let go before R allocates the answer (an R allocation
    // failure longjmps over this frame).
    let facts = handle::mapping(&h)
        .map(|m| (m.len() as f64, m.prot(), m.is_private(), m.path().to_string_lossy().into_owned(), m.offset() as f64));
    finish(facts.and_then(|(bytes, prot, private, path, offset)| {
        List::from_names_and_values(
            ["bytes", "prot", "private", "path", "offset"],
            [Robj::from(bytes), Robj::from(prot), Robj::from(private), Robj::from(path), Robj::from(offset)],
        )
        .map(Robj::from)
        .map_err(|e| MmError::Type(e.to_string()))
    }))
}

/// A selection as R's 1-based positions, NA for an NA index.
fn one_based(sel: &mmapcore::index::Selection) -> Vec<f64> {
    let na = mmapcore::codec::na_real();
    (0..sel.len())
        .map(|k| sel.get(k))
        .map(|p| if p == mmapcore::index::NA_POS { na } else { (p + 1) as f64 })
        .collect()
}

/// `m[cbind(i, j)]`: the 1-based linear positions of the cells the rows of the
/// numeric matrix `cells` name (NA for an NA cell), for `m[i]` to use.
#[extendr]
fn mm_cells_(cells: Robj, nrow: f64, ncol: f64) -> Robj {
    finish((|| {
        let sel = mmapcore::index::resolve_cells(index_arg(&cells)?, whole(nrow, "nrow")?, whole(ncol, "ncol")?)?;
        let positions = one_based(&sel);
        Ok(Robj::from(positions))
    })())
}

#[extendr]
fn mm_msync_(h: Robj, asynchronous: bool) -> Robj {
    finish(handle::mapping(&h).and_then(|m| m.flush(asynchronous)).map(|_| Robj::from(true)))
}

#[extendr]
fn mm_mprotect_(h: Robj, prot: i32) -> Robj {
    finish(handle::mapping(&h).and_then(|m| m.protect(prot)).map(|_| Robj::from(true)))
}

#[extendr]
fn mm_madvise_(h: Robj, advice: &str) -> Robj {
    finish((|| {
        let a = Advice::parse(advice).ok_or_else(|| {
            MmError::Type(format!(
                "`advice` must be one of \"normal\", \"random\", \"sequential\", \"willneed\", \"dontneed\", not \"{advice}\""
            ))
        })?;
        handle::mapping(&h)?.advise(a)?;
        Ok(Robj::from(true))
    })())
}

#[extendr]
fn mm_pagesize_() -> f64 {
    mmapcore::map::page_size() as f64
}

/// Creates `path` with `bytes` zero bytes (sparse: nothing is written).
#[extendr]
fn mm_create_(path: &str, bytes: f64) -> Robj {
    finish(whole(bytes, "bytes").and_then(|b| mmapcore::map::create_file(Path::new(path), b)).map(|_| Robj::from(true)))
}

/// Starts replacing `target`: creates a new file of `bytes` zero bytes (disk
/// space reserved) next to it. Returns c(temp, dest); R writes `temp`, then
/// calls `mm_commit_`, or deletes `temp` on failure.
#[extendr]
fn mm_replacement_(target: &str, bytes: f64) -> Robj {
    let r = whole(bytes, "bytes").and_then(|b| open_retrying_after_gc(|| Replacement::create(Path::new(target), b)));
    finish(r.map(|r| {
        let paths = [r.temp.to_string_lossy().into_owned(), r.dest.to_string_lossy().into_owned()];
        Robj::from(paths.to_vec())
    }))
}

/// Renames the finished `temp` over `dest` (atomic; mappings of the old file keep it).
#[extendr]
fn mm_commit_(temp: &str, dest: &str) -> Robj {
    let r = Replacement { temp: temp.into(), dest: dest.into() };
    finish(r.commit().map(|_| Robj::from(true)))
}

/// Whether two paths name one file (symlinks, hard links, spellings).
#[extendr]
fn mm_same_file_(a: &str, b: &str) -> Robj {
    finish(mmapcore::map::same_file(Path::new(a), Path::new(b)).map(Robj::from))
}

/// What the type table says of a scalar type (checking the spec on the way):
/// list(name, bytes, rkind), with a synonym ("integer") resolved to its row.
#[extendr]
fn mm_ctype_info_(spec: Robj) -> Robj {
    finish(ctype(&spec).and_then(|t| {
        let info = t.info();
        List::from_names_and_values(
            ["name", "bytes", "rkind"],
            [Robj::from(info.name), Robj::from(info.bytes as i32), Robj::from(info.rkind.r_name())],
        )
        .map(Robj::from)
        .map_err(|e| MmError::Internal(e.to_string()))
    }))
}

/// Bytes a mapping of `n` elements of `spec`'s layout takes.
#[extendr]
fn mm_layout_bytes_(spec: Robj, n: f64) -> Robj {
    finish((|| {
        let l = layout(&spec)?;
        let n = whole(n, "n")?;
        let bytes = l
            .bytes_for(n)
            .ok_or_else(|| MmError::Value(format!("{} elements of {} have no fixed size", n, l.name())))?;
        Ok(Robj::from(bytes as f64))
    })())
}

/// Writes the strings `x` to a new file `path` as a cstring mapping stores them.
#[extendr]
fn mm_write_cstrings_(path: &str, x: Robj) -> Robj {
    finish((|| {
        let values = crate::rec::strings_in(&x)?;
        mmapcore::strings::write_cstrings(Path::new(path), &values)?;
        Ok(Robj::from(()))
    })())
}

/// The type table: name, bytes, R type, NA on disk.
#[extendr]
fn mm_types_() -> Robj {
    let rows = mmapcore::ctype::table();
    let names: Vec<&str> = rows.iter().map(|r| r.name).collect();
    let bytes: Vec<i32> = rows.iter().map(|r| r.bytes as i32).collect();
    let rtype: Vec<&str> = rows
        .iter()
        .map(|r| r.rkind.r_name())
        .collect();
    let na: Vec<&str> = rows.iter().map(|r| r.na_doc).collect();
    finish(
        List::from_names_and_values(
            ["type", "bytes", "r_type", "na"],
            [Robj::from(names), Robj::from(bytes), Robj::from(rtype), Robj::from(na)],
        )
        .map(Robj::from)
        .map_err(|e| MmError::Type(e.to_string())),
    )
}

extendr_module! {
    mod vec;
    fn mm_open_;
    fn mm_attach_;
    fn mm_state_;
    fn mm_close_;
    fn mm_info_;
    fn mm_cells_;
    fn mm_msync_;
    fn mm_mprotect_;
    fn mm_madvise_;
    fn mm_pagesize_;
    fn mm_create_;
    fn mm_replacement_;
    fn mm_commit_;
    fn mm_same_file_;
    fn mm_ctype_info_;
    fn mm_layout_bytes_;
    fn mm_write_cstrings_;
    fn mm_types_;
    fn mm_int64_to_double_;
    fn mm_summary_;
}

/// int64 bit patterns to doubles, for sessions without bit64: list(values, lossy).
#[extendr]
fn mm_int64_to_double_(x: Robj) -> Robj {
    let mut copy = x.duplicate();
    let lossy = copy.as_real_slice_mut().map(mmapcore::codec::int64_to_double).unwrap_or(false);
    Robj::from(List::from_values([copy, Robj::from(lossy)]))
}

/// Whole-mapping statistics: c(min, mean, max, na, n).
#[extendr]
fn mm_summary_(h: Robj, spec: Robj) -> Robj {
    let summary = (|| {
        let m = handle::mapping(&h)?;
        let col = Column::whole(&Layout::Scalar(ctype(&spec)?), m.len(), None)?;
        summary::describe(&col, m.bytes()?)
    })();
    finish(summary.and_then(|s| {
        let na = mmapcore::codec::na_real();
        let (min, max) = if s.count == 0 { (na, na) } else { (s.min, s.max) };
        let mut out = Robj::from([min, s.mean(), max, s.na as f64, s.count as f64]);
        out.set_names(["min", "mean", "max", "na", "n"]).map_err(|e| MmError::Type(e.to_string()))?;
        Ok(out)
    }))
}
