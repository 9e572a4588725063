//! R entry points of the object pool: conversions only. The books (`Store`),
//! the file format and the sweep are in `mmapcore::pool`.

use std::path::Path;
use std::sync::atomic::{AtomicPtr, AtomicU32, Ordering};
use std::sync::{Mutex, OnceLock};

use extendr_api::prelude::*;
use extendr_api::Robj;
use extendr_ffi as ffi;
use extendr_ffi::{R_altrep_class_t, R_xlen_t, Rboolean, SEXPTYPE};

use mmapcore::pool::format::{self, Fault};
use mmapcore::pool::{sweep, Admission, OwnerDir, PendingFile, SectionKind, Shape, Store};
use mmapcore::MmError;

use crate::conv::{condition, finish, whole};

/// The process's books. R is single-threaded; the mutex only makes the static
/// sound. It is never held across a call into R.
static STORE: Mutex<Option<Store>> = Mutex::new(None);
/// The process that started the books: a forked child sees its parent's pid
/// here until it starts its own, and the hot paths then defer to R.
static OWNER_PID: AtomicU32 = AtomicU32::new(0);

fn started_here() -> bool {
    OWNER_PID.load(Ordering::Relaxed) == std::process::id()
}

fn with_store<T>(f: impl FnOnce(&mut Store) -> T) -> mmapcore::Result<T> {
    let mut guard = STORE.lock().map_err(|_| MmError::Pool("the pool's books are unusable after a panic".into()))?;
    let store = guard.as_mut().ok_or_else(|| MmError::Pool("the pool is not started".into()))?;
    Ok(f(store))
}

fn id_of(x: f64) -> mmapcore::Result<u64> {
    whole(x, "id")
}

fn ids(v: Vec<u64>) -> Robj {
    Robj::from(v.into_iter().map(|i| i as f64).collect::<Vec<f64>>())
}

/// This process's pool, as its references' finalizer needs it: the token its
/// references carry, and the environments holding its objects (`objects`) and
/// the directories of objects made after `pool_dir()` moved (`dirs`), both
/// preserved while they are in use.
struct Owner {
    token: String,
    objects: ffi::SEXP,
    dirs: ffi::SEXP,
}
// SAFETY: the SEXPs are preserved R objects, only touched on R's main thread.
unsafe impl Send for Owner {}

static OWNER: Mutex<Option<Owner>> = Mutex::new(None);

fn set_owner(owner: Option<Owner>) {
    let old = match OWNER.lock() {
        Ok(mut guard) => std::mem::replace(&mut *guard, owner),
        Err(_) => return,
    };
    if let Some(old) = old {
        // SAFETY: preserved by the set_owner call that stored them.
        unsafe {
            ffi::R_ReleaseObject(old.objects);
            ffi::R_ReleaseObject(old.dirs);
        }
    }
}

/// Starts (or restarts, after a fork) the books with `budget` bytes, for the
/// pool of `token` whose objects are in the environments `objects` and `dirs`.
#[extendr]
fn pool_start_(budget: f64, token: &str, objects: Robj, dirs: Robj) -> Robj {
    finish((|| {
        let budget = whole(budget, "budget")?;
        {
            let mut guard = STORE.lock().map_err(|_| MmError::Pool("the pool's books are unusable".into()))?;
            *guard = Some(Store::new(budget));
        }
        // SAFETY: preserved until replaced by the next start or a stop.
        let (objects, dirs) = unsafe {
            ffi::R_PreserveObject(objects.get());
            ffi::R_PreserveObject(dirs.get());
            (objects.get(), dirs.get())
        };
        set_owner(Some(Owner { token: token.to_string(), objects, dirs }));
        OWNER_PID.store(std::process::id(), Ordering::Relaxed);
        Ok(Robj::from(true))
    })())
}

/// The finalizer of a reference, run by R's garbage collector when the last
/// R value referring to it goes: in the owner (never in a forked child or a
/// worker), the object leaves the books and `objects`, and its file goes.
/// No R code runs and nothing here can raise an R error.
unsafe extern "C" fn ref_finalizer(r: ffi::SEXP) {
    if !started_here() {
        return;
    }
    // SAFETY: `r` is the reference environment being finalized; its fields are
    // plain values (never promises); the owner's environments are preserved.
    unsafe {
        let f = fields();
        let field = |sym: ffi::SEXP| Rf_findVarInFrame(r, sym);
        let (tok, key, id, dir, deleted) = (field(f.token), field(f.key), field(f.id), field(f.dir), field(f.deleted));
        let is_string = |s: ffi::SEXP| ffi::TYPEOF(s) == SEXPTYPE::STRSXP && ffi::XLENGTH(s) == 1;
        if !is_string(tok) || !is_string(key) || !is_string(dir) || ffi::TYPEOF(id) != SEXPTYPE::REALSXP {
            return;
        }
        if ffi::TYPEOF(deleted) == SEXPTYPE::LGLSXP && ffi::XLENGTH(deleted) == 1 && *ffi::LOGICAL(deleted) == 1 {
            return; // pooldelete() has done it all
        }
        let text = |s: ffi::SEXP| std::ffi::CStr::from_ptr(ffi::R_CHAR(ffi::STRING_ELT(s, 0))).to_string_lossy().into_owned();
        let owner = match OWNER.lock() {
            Ok(guard) => match guard.as_ref() {
                Some(o) if o.token == text(tok) => (o.objects, o.dirs),
                _ => return,
            },
            Err(_) => return,
        };
        let Ok(id) = id_of(*ffi::REAL(id)) else { return };
        let had_file = with_store(|s| s.remove(id).is_some_and(|e| e.on_disk)).unwrap_or(false);
        let sym = Rf_installChar(ffi::STRING_ELT(key, 0));
        R_removeVarFromFrame(sym, owner.0);
        R_removeVarFromFrame(sym, owner.1);
        if had_file {
            let _ = std::fs::remove_file(Path::new(&text(dir)).join(format!("{id}.pool")));
        }
    }
}

/// Stops the books (the owner is done); the next operation starts them again.
#[extendr]
fn pool_stop_() -> Robj {
    OWNER_PID.store(0, Ordering::Relaxed);
    set_owner(None);
    if let Ok(mut guard) = STORE.lock() {
        *guard = None;
    }
    Robj::from(true)
}

#[extendr]
fn pool_default_budget_() -> f64 {
    mmapcore::pool::default_budget() as f64
}

fn now() -> f64 {
    std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map_or(0.0, |d| d.as_secs_f64())
}

fn opt_id(x: f64) -> mmapcore::Result<Option<u64>> {
    if x < 0.0 { Ok(None) } else { id_of(x).map(Some) }
}

/// Sets the budget; returns the ids to spill.
#[extendr]
fn pool_set_budget_(budget: f64) -> Robj {
    finish(whole(budget, "budget").and_then(|b| with_store(|s| s.set_budget(b))).map(ids))
}

/// A new object of `bytes`: `c(id, to_disk, victims...)`, one double vector
/// because this is on the path of every `poolset()`.
#[extendr]
fn pool_admit_(bytes: f64) -> Robj {
    finish((|| {
        let bytes = whole(bytes, "bytes")?;
        let (id, admission) = with_store(|s| {
            let id = s.new_id();
            (id, s.admit(id, bytes, now()))
        })?;
        let mut out = vec![id as f64];
        match admission {
            Admission::Memory { victims } => {
                out.push(0.0);
                out.extend(victims.into_iter().map(|v| v as f64));
            }
            Admission::Disk => out.push(1.0),
        }
        Ok(Robj::from(out))
    })())
}

// R API entry points extendr-ffi does not declare. SEXP is an opaque pointer,
// declared exactly as extendr-ffi declares its own.
#[allow(improper_ctypes)]
extern "C" {
    fn Rf_findVarInFrame(rho: ffi::SEXP, symbol: ffi::SEXP) -> ffi::SEXP;
    fn Rf_ScalarReal(x: f64) -> ffi::SEXP;
    fn Rf_mkString(s: *const std::os::raw::c_char) -> ffi::SEXP;
    fn Rf_installChar(x: ffi::SEXP) -> ffi::SEXP;
    fn R_removeVarFromFrame(symbol: ffi::SEXP, env: ffi::SEXP);
    fn Rf_lang2(f: ffi::SEXP, x: ffi::SEXP) -> ffi::SEXP;
}

/// The symbols of a reference's fields, interned once (symbols live for the
/// session): the hot paths look fields up without building C strings.
struct FieldSymbols {
    id: ffi::SEXP,
    key: ffi::SEXP,
    bytes: ffi::SEXP,
    token: ffi::SEXP,
    dir: ffi::SEXP,
    hook: ffi::SEXP,
    deleted: ffi::SEXP,
}
// SAFETY: symbols are never collected and only used on R's main thread.
unsafe impl Send for FieldSymbols {}
// SAFETY: as above.
unsafe impl Sync for FieldSymbols {}

fn fields() -> &'static FieldSymbols {
    static FIELDS: OnceLock<FieldSymbols> = OnceLock::new();
    FIELDS.get_or_init(|| FieldSymbols {
        id: symbol("id"),
        key: symbol("key"),
        bytes: symbol("bytes"),
        token: symbol("token"),
        dir: symbol("dir"),
        hook: symbol(".hook"),
        deleted: symbol("deleted"),
    })
}

fn symbol(name: &str) -> ffi::SEXP {
    let name = std::ffi::CString::new(name).unwrap_or_default();
    // SAFETY: Rf_install interns a symbol from a valid nul-terminated string.
    unsafe { ffi::Rf_install(name.as_ptr()) }
}

// ---------------------------------------------------------------------------
// The serialization hook. A reference carries a tiny ALTREP integer (`.hook`)
// whose data1 is the reference itself. When R serializes the reference (to a
// PSOCK worker, a future, saveRDS()), R asks the hook for its serialized state;
// the hook then calls the R function registered by `pool_hook_init_()`, which
// gives an object that only lives in the owner's memory a file, so that the
// receiver can map it. The hook reads back as a plain 0L.

struct HookClass(R_altrep_class_t);
// SAFETY: the class handle is an R object R keeps for the session, used only
// on R's main thread; the OnceLock publishes it once, at package init.
unsafe impl Send for HookClass {}
// SAFETY: as above.
unsafe impl Sync for HookClass {}

static HOOK_CLASS: OnceLock<HookClass> = OnceLock::new();
/// The R function to call with the reference; preserved for the session.
static EXPORT_FUN: AtomicPtr<ffi::SEXPREC> = AtomicPtr::new(std::ptr::null_mut());

unsafe extern "C" fn hook_length(_x: ffi::SEXP) -> R_xlen_t {
    1
}

unsafe extern "C" fn hook_elt(_x: ffi::SEXP, _i: R_xlen_t) -> std::os::raw::c_int {
    0
}

unsafe extern "C" fn hook_dataptr(x: ffi::SEXP, _writable: Rboolean) -> *mut std::ffi::c_void {
    // SAFETY: R calls this on our hooks only, on its main thread; data2 is
    // either NULL or the one-element integer vector made here.
    unsafe {
        if ffi::TYPEOF(ffi::R_altrep_data2(x)) != SEXPTYPE::INTSXP {
            let v = ffi::Rf_protect(ffi::Rf_ScalarInteger(0));
            ffi::R_set_altrep_data2(x, v);
            ffi::Rf_unprotect(1);
        }
        ffi::INTEGER(ffi::R_altrep_data2(x)).cast()
    }
}

unsafe extern "C" fn hook_state(x: ffi::SEXP) -> ffi::SEXP {
    // SAFETY: main thread, inside serialize(), which protects `x`. The call is
    // evaluated with R_tryEvalSilent, so an R error cannot longjmp through
    // this frame; a failed export only means the receiver cannot map the object.
    unsafe {
        let fun = EXPORT_FUN.load(Ordering::Acquire);
        if !fun.is_null() {
            let call = ffi::Rf_protect(Rf_lang2(fun, ffi::R_altrep_data1(x)));
            let mut failed: std::os::raw::c_int = 0;
            ffi::R_tryEvalSilent(call, ffi::R_GlobalEnv, &mut failed);
            ffi::Rf_unprotect(1);
        }
        ffi::Rf_ScalarInteger(0)
    }
}

unsafe extern "C" fn hook_unserialize(_class: ffi::SEXP, _state: ffi::SEXP) -> ffi::SEXP {
    // SAFETY: allocates a plain integer on R's main thread.
    unsafe { ffi::Rf_ScalarInteger(0) }
}

/// Creates the hook class. Called once from `R_init_mmap`.
///
/// # Safety
/// `dll` must be the DllInfo R passed to `R_init_mmap`.
#[no_mangle]
pub unsafe extern "C" fn mmap_register_pool(dll: *mut ffi::DllInfo) {
    // SAFETY: R's documented ALTREP class construction, with our package's
    // DllInfo, on the main thread during package initialisation.
    unsafe {
        let cls = ffi::R_make_altinteger_class(c"mmap_pool_hook".as_ptr(), c"mmap".as_ptr(), dll);
        ffi::R_set_altrep_Length_method(cls, Some(hook_length));
        ffi::R_set_altrep_Serialized_state_method(cls, Some(hook_state));
        ffi::R_set_altrep_Unserialize_method(cls, Some(hook_unserialize));
        ffi::R_set_altvec_Dataptr_method(cls, Some(hook_dataptr));
        ffi::R_set_altinteger_Elt_method(cls, Some(hook_elt));
        let _ = HOOK_CLASS.set(HookClass(cls));
    }
}

/// Registers the R function the hook calls with a reference being serialized.
#[extendr]
fn pool_hook_init_(fun: Robj) -> Robj {
    if EXPORT_FUN.load(Ordering::Acquire).is_null() {
        // SAFETY: preserving keeps `fun` alive for the session; stored once.
        unsafe {
            ffi::R_PreserveObject(fun.get());
            EXPORT_FUN.store(fun.get(), Ordering::Release);
        }
    }
    Robj::from(true)
}

/// The class attribute of every reference: one shared, preserved vector.
fn ref_class() -> ffi::SEXP {
    static CLASS: AtomicPtr<ffi::SEXPREC> = AtomicPtr::new(std::ptr::null_mut());
    let c = CLASS.load(Ordering::Acquire);
    if !c.is_null() {
        return c;
    }
    // SAFETY: allocated once on R's main thread and preserved for the session.
    unsafe {
        let c = Rf_mkString(c"pool_ref".as_ptr());
        ffi::R_PreserveObject(c);
        CLASS.store(c, Ordering::Release);
        c
    }
}

/// `poolset()` in one call, because it is the pool's hot path: admits an
/// object of `bytes`, makes its reference (an environment of class
/// `pool_ref` holding id, key, bytes, token and dir, with `ref_finalizer`
/// registered on it) and, when the object stays in memory, binds `x` to its
/// key in `objects`. Returns the reference, or, when there is more to do
/// (spill, or write an oversize object), `list(ref, to_disk, victims)`;
/// NULL when the pool was not started in this process.
#[extendr]
fn pool_put_(x: Robj, bytes_robj: Robj, objects: Robj, token: Robj, dir: Robj) -> Robj {
    if !started_here() {
        // Not started in this process (a forked child, or no pool yet).
        return Robj::from(());
    }
    let bytes = match bytes_robj.as_real() {
        Some(b) => b,
        None => return condition(&MmError::Type("`bytes` must be a double".into())),
    };
    let admitted = whole(bytes, "bytes").and_then(|b| {
        with_store(|s| {
            let id = s.new_id();
            (id, s.admit(id, b, now()))
        })
    });
    let (id, admission) = match admitted {
        Ok(a) => a,
        Err(e) => return condition(&e),
    };
    let key = format!("{id}");
    let ckey = std::ffi::CString::new(key.as_str()).unwrap_or_default();
    let key_symbol_needed = matches!(admission, Admission::Memory { .. });
    // SAFETY: every SEXP made here is protected until it is reachable from
    // `r`, which is protected until it is returned; `objects` is an
    // environment the caller keeps alive. The store's lock is not held: an
    // allocation that fails and longjmps leaves no Rust resource behind.
    let r = unsafe {
        let r = ffi::Rf_protect(ffi::R_NewEnv(ffi::R_EmptyEnv, 0, 6));
        let f = fields();
        ffi::Rf_defineVar(f.id, Rf_ScalarReal(id as f64), r);
        let skey = ffi::Rf_protect(Rf_mkString(ckey.as_ptr()));
        ffi::Rf_defineVar(f.key, skey, r);
        // The R double passed in is bound as it is: one allocation fewer on the hot path.
        ffi::Rf_defineVar(f.bytes, bytes_robj.get(), r);
        ffi::Rf_defineVar(f.token, token.get(), r);
        ffi::Rf_defineVar(f.dir, dir.get(), r);
        ffi::Rf_unprotect(1);
        if let Some(cls) = HOOK_CLASS.get() {
            ffi::Rf_defineVar(f.hook, ffi::R_new_altrep(cls.0, r, ffi::R_NilValue), r);
        }
        ffi::Rf_setAttrib(r, ffi::R_ClassSymbol, ref_class());
        ffi::R_RegisterCFinalizerEx(r, Some(ref_finalizer), Rboolean::FALSE);
        if key_symbol_needed {
            // The key's symbol, from the CHARSXP just made (no second C string).
            ffi::Rf_defineVar(Rf_installChar(ffi::STRING_ELT(skey, 0)), x.get(), objects.get());
        }
        Robj::from_sexp(r)
    };
    // SAFETY: balances the protect of `r`; the Robj holds its own protection.
    unsafe { ffi::Rf_unprotect(1) };
    match admission {
        Admission::Memory { victims } if victims.is_empty() => r,
        Admission::Memory { victims } => list!(r, false, ids(victims)).into(),
        Admission::Disk => list!(r, true, ids(Vec::new())).into(),
    }
}

/// `poolget()`'s hot path: the object bound to `ref`'s key in `objects`
/// when `ref` is a reference made under `token`, after counting a hit;
/// otherwise `absent`, and R takes the slow path.
#[extendr]
fn pool_lookup_(r: Robj, objects: Robj, token: Robj, absent: Robj) -> Robj {
    // SAFETY: only reads: TYPEOF, frame lookups without evaluation
    // (the reference's fields are plain values, never promises), and
    // CHARSXP identity (R caches strings, so equal tokens share one CHARSXP).
    let found = unsafe {
        let rs = r.get();
        if ffi::TYPEOF(rs) != SEXPTYPE::ENVSXP || !started_here() {
            return absent;
        }
        let f = fields();
        let tok = Rf_findVarInFrame(rs, f.token);
        let key = Rf_findVarInFrame(rs, f.key);
        let id = Rf_findVarInFrame(rs, f.id);
        let is_string = |s: ffi::SEXP| ffi::TYPEOF(s) == SEXPTYPE::STRSXP && ffi::XLENGTH(s) == 1;
        if !is_string(tok) || !is_string(token.get()) || !is_string(key) || ffi::TYPEOF(id) != SEXPTYPE::REALSXP {
            return absent;
        }
        if ffi::STRING_ELT(tok, 0) != ffi::STRING_ELT(token.get(), 0) {
            return absent;
        }
        let value = Rf_findVarInFrame(objects.get(), Rf_installChar(ffi::STRING_ELT(key, 0)));
        if value == ffi::R_UnboundValue {
            return absent;
        }
        Some((value, *ffi::REAL(id)))
    };
    match found {
        // A failed count (never expected) goes to the slow path, which reports it.
        Some((value, id)) => match id_of(id).and_then(|id| with_store(|s| s.hit(id, now()))) {
            // SAFETY: `value` is bound in `objects`, which keeps it alive.
            Ok(()) => unsafe { Robj::from_sexp(value) },
            Err(_) => absent,
        },
        None => absent,
    }
}

/// Forgets object `id`: drops it from the books and its binding `key` from
/// `objects` (if there). Returns whether it had a file, for R to remove.
#[extendr]
fn pool_forget_(id: f64, key: &str, objects: Robj) -> Robj {
    let had_file = match id_of(id).and_then(|id| with_store(|s| s.remove(id).is_some_and(|e| e.on_disk))) {
        Ok(h) => h,
        Err(e) => return condition(&e),
    };
    // SAFETY: `objects` is an environment the caller keeps alive; removing a
    // binding that does not exist does nothing.
    unsafe {
        if ffi::TYPEOF(objects.get()) == SEXPTYPE::ENVSXP {
            R_removeVarFromFrame(symbol(key), objects.get());
        }
    }
    Robj::from(had_file)
}

/// The ids to spill now (memory above budget), never `keep` (< 0: none).
#[extendr]
fn pool_victims_(keep: f64) -> Robj {
    finish(opt_id(keep).and_then(|keep| with_store(|s| s.victims(keep))).map(ids))
}

/// An oversize object now written straight to disk.
#[extendr]
fn pool_add_disk_(id: f64, bytes: f64, file_bytes: f64) -> Robj {
    finish((|| {
        let (id, bytes, file_bytes) = (id_of(id)?, whole(bytes, "bytes")?, whole(file_bytes, "file_bytes")?);
        with_store(|s| s.add_disk(id, bytes, file_bytes, now()))?;
        Ok(Robj::from(true))
    })())
}

/// An object whose write failed stays in memory, over budget if need be.
#[extendr]
fn pool_keep_in_memory_(id: f64, bytes: f64) -> Robj {
    finish((|| {
        let (id, bytes) = (id_of(id)?, whole(bytes, "bytes")?);
        with_store(|s| s.keep_in_memory(id, bytes, now()))?;
        Ok(Robj::from(true))
    })())
}

/// An object now has a file; FALSE if the store no longer knows it.
#[extendr]
fn pool_on_disk_(id: f64, file_bytes: f64, keep: bool) -> Robj {
    finish((|| {
        let (id, file_bytes) = (id_of(id)?, whole(file_bytes, "file_bytes")?);
        Ok(Robj::from(with_store(|s| s.on_disk(id, file_bytes, keep))?))
    })())
}

/// Drops the memory copy if the object has a file; FALSE if it has none.
#[extendr]
fn pool_drop_memory_(id: f64) -> Robj {
    finish(id_of(id).and_then(|id| with_store(|s| s.drop_memory(id))).map(Robj::from))
}

#[extendr]
fn pool_hit_(id: f64) -> Robj {
    finish(id_of(id).and_then(|id| with_store(|s| s.hit(id, now()))).map(|_| Robj::from(true)))
}

/// A read from disk; `id` < 0 for another process's object.
#[extendr]
fn pool_miss_(id: f64) -> Robj {
    finish(opt_id(id).and_then(|id| with_store(|s| s.miss(id, now()))).map(|_| Robj::from(true)))
}

/// Accounts a read-back copy in memory; the ids to spill, or NULL when the
/// copy is not to be kept.
#[extendr]
fn pool_cache_(id: f64) -> Robj {
    finish(id_of(id).and_then(|id| with_store(|s| s.cache(id, now()))).map(|v| v.map_or(Robj::from(()), ids)))
}

/// Forgets an object; returns whether it had a file.
#[extendr]
fn pool_remove_(id: f64) -> Robj {
    finish(id_of(id).and_then(|id| with_store(|s| s.remove(id).is_some_and(|e| e.on_disk))).map(Robj::from))
}

/// "memory", "disk", "both" or NA.
#[extendr]
fn pool_where_(id: f64) -> Robj {
    finish(id_of(id).and_then(|id| with_store(|s| s.get(id).map(|e| e.place().name()))).map(Robj::from))
}

/// Columns of pool_status(), least recently used first.
#[extendr]
fn pool_status_() -> Robj {
    type Row = (f64, f64, &'static str, f64);
    let rows: mmapcore::Result<Vec<Row>> = with_store(|s| {
        s.status().iter().map(|(id, e)| (*id as f64, e.bytes as f64, e.place().name(), e.last_used)).collect()
    });
    finish(rows.map(|rows| {
        let id: Vec<f64> = rows.iter().map(|r| r.0).collect();
        let bytes: Vec<f64> = rows.iter().map(|r| r.1).collect();
        let place: Vec<&str> = rows.iter().map(|r| r.2).collect();
        let last: Vec<f64> = rows.iter().map(|r| r.3).collect();
        list!(id = id, bytes = bytes, place = place, last_used = last).into()
    }))
}

#[extendr]
fn pool_stats_() -> Robj {
    finish(with_store(|s| s.stats()).map(|st| {
        list!(
            hits = st.hits as f64,
            misses = st.misses as f64,
            spills = st.spills as f64,
            memory_bytes = st.memory_bytes as f64,
            disk_bytes = st.disk_bytes as f64,
            budget = st.budget as f64,
            objects = st.objects as f64
        )
        .into()
    }))
}

/// Recomputes the books from the entries: TRUE, or an error naming the drift.
#[extendr]
fn pool_check_() -> Robj {
    finish(with_store(|s| s.check()).and_then(|r| r.map_err(MmError::Pool)).map(|_| Robj::from(true)))
}

// ---------------------------------------------------------------------------
// Files.

/// The section kind and bytes of an atomic vector, read in place.
fn payload(x: &Robj) -> mmapcore::Result<(SectionKind, &[u8])> {
    // SAFETY: TYPEOF reads the header of a protected SEXP; the data pointer of
    // a vector of that type holds XLENGTH elements of the kind's width. For an
    // ALTREP vector DATAPTR_RO may materialise it (an R allocation): this
    // happens before any Rust resource is taken by the callers.
    unsafe {
        let s = x.get();
        let kind = match ffi::TYPEOF(s) {
            SEXPTYPE::LGLSXP => SectionKind::Logical,
            SEXPTYPE::INTSXP => SectionKind::Integer,
            SEXPTYPE::REALSXP => SectionKind::Double,
            SEXPTYPE::CPLXSXP => SectionKind::Complex,
            SEXPTYPE::RAWSXP => SectionKind::Raw,
            _ => return Err(MmError::Type("a pool payload must be a logical, integer, double, complex or raw vector".into())),
        };
        let n = ffi::XLENGTH(s) as usize;
        if n == 0 {
            return Ok((kind, &[]));
        }
        let p = ffi::DATAPTR_RO(s).cast::<u8>();
        Ok((kind, std::slice::from_raw_parts(p, n * kind.width() as usize)))
    }
}

fn raw_bytes(x: &Robj) -> mmapcore::Result<&[u8]> {
    match payload(x)? {
        (SectionKind::Raw, b) => Ok(b),
        _ => Err(MmError::Type("expected a raw vector".into())),
    }
}

fn shape(name: &str) -> mmapcore::Result<Shape> {
    Shape::parse(name).ok_or_else(|| MmError::Value(format!("unknown pool shape '{name}'")))
}

fn kind(name: &str) -> mmapcore::Result<SectionKind> {
    SectionKind::parse(name).ok_or_else(|| MmError::Value(format!("unknown section kind '{name}'")))
}

/// Starts writing `dest`: returns a writer (an external pointer). `kinds` and
/// `lengths` describe the sections; `attributes` is a raw vector.
#[extendr]
fn pool_writer_(dest: &str, shape_name: &str, kinds: Vec<String>, lengths: Vec<f64>, attributes: Robj) -> Robj {
    finish((|| {
        let shape = shape(shape_name)?;
        let attrs = raw_bytes(&attributes)?;
        let mut parts = Vec::with_capacity(kinds.len());
        for (k, n) in kinds.iter().zip(&lengths) {
            parts.push((kind(k)?, whole(*n, "length")?));
        }
        // The R object first: its allocation may longjmp, the file must not leak.
        let mut w = ExternalPtr::<Option<PendingFile>>::new(None);
        *w.as_mut() = Some(PendingFile::create(Path::new(dest), shape, &parts, attrs)?);
        Ok(w.into())
    })())
}

fn writer(w: &Robj) -> mmapcore::Result<ExternalPtr<Option<PendingFile>>> {
    ExternalPtr::<Option<PendingFile>>::try_from(w).map_err(|_| MmError::Type("not a pool writer".into()))
}

/// Writes bytes `[from, to)` of vector `x` as the next part of section `i` (1-based).
#[extendr]
fn pool_writer_write_(w: Robj, i: i32, x: Robj, from: f64, to: f64) -> Robj {
    finish((|| {
        let (_, bytes) = payload(&x)?;
        let (from, to) = (whole(from, "from")? as usize, whole(to, "to")? as usize);
        let part = bytes.get(from..to).ok_or_else(|| MmError::Value(format!("bytes {from}..{to} are outside the vector")))?;
        let mut w = writer(&w)?;
        let pending = w.as_mut().as_mut().ok_or_else(|| MmError::Pool("the write was already finished".into()))?;
        let i = usize::try_from(i - 1).map_err(|_| MmError::Value("section numbers start at 1".into()))?;
        pending.write(i, part)?;
        Ok(Robj::from(true))
    })())
}

/// Makes the file durable under its name; returns its size in bytes.
#[extendr]
fn pool_writer_commit_(w: Robj) -> Robj {
    finish((|| {
        let mut w = writer(&w)?;
        let pending = w.as_mut().take().ok_or_else(|| MmError::Pool("the write was already finished".into()))?;
        Ok(Robj::from(pending.commit()? as f64))
    })())
}

/// Abandons a write: the temporary file goes.
#[extendr]
fn pool_writer_abort_(w: Robj) -> Robj {
    finish((|| {
        let mut w = writer(&w)?;
        drop(w.as_mut().take());
        Ok(Robj::from(true))
    })())
}

/// Reads and verifies the header and attributes, and the payload checksums
/// of small objects (of any object with `verify`). Returns `list(shape, kinds, lengths, offsets, bytes,
/// attributes, file_bytes)`.
#[extendr]
fn pool_open_(path: &str, verify: bool) -> Robj {
    finish((|| {
        let e = format::open_for_read(Path::new(path), verify)?;
        let kinds: Vec<&str> = e.sections.iter().map(|s| s.kind.name()).collect();
        let lengths: Vec<f64> = e.sections.iter().map(|s| s.length as f64).collect();
        let offsets: Vec<f64> = e.sections.iter().map(|s| s.offset as f64).collect();
        let bytes: Vec<f64> = e.sections.iter().map(|s| s.bytes as f64).collect();
        let attributes = Raw::from_bytes(&e.attributes);
        Ok(list!(
            shape = e.shape.name(),
            kinds = kinds,
            lengths = lengths,
            offsets = offsets,
            bytes = bytes,
            attributes = attributes,
            file_bytes = e.file_len as f64
        )
        .into())
    })())
}

/// Section `i` (1-based) of a verified file, read into a raw vector and checked
/// against its checksum.
#[extendr]
fn pool_read_section_(path: &str, i: i32) -> Robj {
    finish((|| {
        let i = usize::try_from(i - 1).map_err(|_| MmError::Value("section numbers start at 1".into()))?;
        let n = {
            let e = format::open(Path::new(path), false)?;
            e.sections.get(i).ok_or_else(|| MmError::Value(format!("no section {}", i + 1)))?.bytes
        };
        let n = usize::try_from(n).map_err(|_| MmError::Pool("the section does not fit in memory".into()))?;
        // Allocate before opening again: the allocation may longjmp.
        let mut out: Robj = Raw::new(n).into();
        let e = format::open(Path::new(path), false)?;
        let slice = out.as_raw_slice_mut().ok_or_else(|| MmError::Type("expected a raw vector".into()))?;
        format::read_section(Path::new(path), &e, i, slice)?;
        Ok(out)
    })())
}

/// Gives a freshly made view its attributes in place. `attributes<-` would
/// duplicate a value R counts as shared, and duplicating a view copies the
/// mapped data into memory, which is what a mapped read-back must not do.
#[extendr]
fn pool_set_attributes_(x: Robj, attrs: Robj) -> Robj {
    finish((|| {
        let list = List::try_from(&attrs).map_err(|_| MmError::Type("attributes must be a list".into()))?;
        let names: Vec<String> = match list.names() {
            Some(n) => n.map(|s| s.to_string()).collect(),
            None if list.is_empty() => Vec::new(),
            None => return Err(MmError::Type("attributes must be named".into())),
        };
        for (name, value) in names.iter().zip(list.values()) {
            let sym = std::ffi::CString::new(name.as_str()).map_err(|_| MmError::Value("bad attribute name".into()))?;
            // SAFETY: `x` and `value` are protected by their Robj for the whole
            // call; Rf_install interns a nul-terminated name; Rf_setAttrib
            // changes `x` in place, which the caller allows: `x` is a view it
            // has just made and no other R object refers to.
            unsafe {
                ffi::Rf_setAttrib(x.get(), ffi::Rf_install(sym.as_ptr()), value.get());
            }
        }
        Ok(x)
    })())
}

/// Claims `root/owner-<name>` and locks it; returns the owner (an external pointer).
#[extendr]
fn pool_claim_(root: &str, name: &str) -> Robj {
    finish(sweep::claim(Path::new(root), name).map(|d| {
        let path = d.path().to_string_lossy().into_owned();
        let mut p: Robj = ExternalPtr::new(Some(d)).into();
        let _ = p.set_attrib("path", path);
        p
    }))
}

/// Removes the owner's directory (the owner is done with all of it).
#[extendr]
fn pool_release_(owner: Robj) -> Robj {
    finish((|| {
        let mut p = ExternalPtr::<Option<OwnerDir>>::try_from(&owner)
            .map_err(|_| MmError::Type("not a pool owner".into()))?;
        if let Some(d) = p.as_mut().take() {
            d.remove()?;
        }
        Ok(Robj::from(true))
    })())
}

/// Removes dead owners' directories under each root; returns those removed.
#[extendr]
fn pool_sweep_(roots: Vec<String>, mine: &str) -> Robj {
    let mine = (!mine.is_empty()).then(|| Path::new(mine));
    let removed: Vec<String> = roots
        .iter()
        .flat_map(|r| sweep::sweep(Path::new(r), mine))
        .map(|p| p.to_string_lossy().into_owned())
        .collect();
    Robj::from(removed)
}

#[extendr]
fn pool_owner_alive_(dir: &str) -> Robj {
    finish(sweep::is_alive(Path::new(dir)).map(Robj::from))
}

/// Test knob: "none", "nospace" (a full disk) or "write" (a failing write).
#[extendr]
fn pool_fault_(what: &str) -> Robj {
    finish((|| {
        let fault = match what {
            "none" => Fault::None,
            "nospace" => Fault::NoSpace,
            "write" => Fault::WriteError,
            _ => return Err(MmError::Value(format!("unknown fault '{what}'"))),
        };
        format::set_fault(fault);
        Ok(Robj::from(true))
    })())
}

/// fsync of an existing file, for the benchmark's baseline.
#[extendr]
fn pool_fsync_(path: &str) -> Robj {
    finish(
        std::fs::File::open(path)
            .and_then(|f| f.sync_all())
            .map(|_| Robj::from(true))
            .map_err(|e| MmError::Io { op: "fsync", path: path.into(), source: e }),
    )
}

extendr_module! {
    mod pool;
    fn pool_start_;
    fn pool_stop_;
    fn pool_default_budget_;
    fn pool_set_budget_;
    fn pool_admit_;
    fn pool_put_;
    fn pool_lookup_;
    fn pool_forget_;
    fn pool_hook_init_;
    fn pool_victims_;
    fn pool_add_disk_;
    fn pool_keep_in_memory_;
    fn pool_on_disk_;
    fn pool_drop_memory_;
    fn pool_hit_;
    fn pool_miss_;
    fn pool_cache_;
    fn pool_remove_;
    fn pool_where_;
    fn pool_status_;
    fn pool_stats_;
    fn pool_check_;
    fn pool_writer_;
    fn pool_writer_write_;
    fn pool_writer_commit_;
    fn pool_writer_abort_;
    fn pool_open_;
    fn pool_read_section_;
    fn pool_claim_;
    fn pool_release_;
    fn pool_sweep_;
    fn pool_owner_alive_;
    fn pool_fault_;
    fn pool_set_attributes_;
    fn pool_fsync_;
}
