#' A spilling object pool with a hard memory budget
#'
#' `poolset()` stores any R object in the pool and returns a reference, a
#' `pool_ref`; `poolget()` returns the object. The pool keeps the bytes it
#' holds in memory at most [pool_memsize()]: when storing or reading back an
#' object would exceed it, the least recently used objects are written to disk
#' ("spilled") until memory use is at most 80 % of the budget. An object larger
#' than the whole budget goes straight to disk.
#'
#' Atomic vectors (logical, integer, double, complex, raw, with any
#' attributes: factors, matrices, Dates) and data frames of such columns are
#' read back from disk without a copy: `poolget()` returns a view of the mapped
#' file (see [mmap_view()]), which counts toward disk, not memory. Other
#' objects are written with [serialize()] and read back into memory.
#'
#' Spilled files are written durably (a temporary file, fsync, rename, fsync of
#' the directory). A spill that fails (a full disk, a serialization error, no
#' permission) leaves the object in memory: the pool then goes over its budget
#' with a warning of class `mmap_warning_pool` and never drops the object.
#' Explicit writes ([movetodisk()], [copytodisk()], [savetodisk()]) that fail
#' raise an error of class `mmap_error_pool` and also leave the object in memory.
#'
#' An object is removed, with its file, by [pooldelete()], when its last
#' reference is garbage collected, or when the R session ends. Only the process
#' that created an object (its owner) ever deletes it: a forked child, or a
#' worker that received a reference, only reads.
#'
#' References can be sent to other processes (`parallel` PSOCK and fork
#' clusters, `future` workers, [saveRDS()]). There, `poolget()` maps the
#' object's file, so workers on one machine share one copy in the page cache.
#' An object that is only in its owner's memory is written to disk (as by
#' [copytodisk()]) when its reference is first serialized; a reference that
#' reaches another process without that (a forked child reads the parent's
#' memory instead; a version-2 [serialize()] stream skips the hook) gives a
#' clear error there, saying to call [copytodisk()] in the owner. With
#' [pool_dir()] on a filesystem shared between machines this works for workers
#' on other machines too.
#'
#' @param x Any R object (for `print()`, a `pool_ref`).
#' @param ref A `pool_ref` returned by `poolset()`.
#' @return `poolset()`: a `pool_ref` (an environment; print it to see its id,
#'   size and where it lives). `poolget()`: the object, or a view of its mapped
#'   file.
#' @seealso [pool_memsize()], [pool_status()], [savetodisk()]
#' @examples
#' old <- pool_memsize(8e6)                 # an 8 MB budget, for the example
#' a <- poolset(runif(6e5))                 # 4.8 MB
#' b <- poolset(1:1e6)                      # 4 MB more: over budget, `a` is spilled
#' a
#' pool_status()
#' sum(poolget(a))                          # read back as a mapped view
#' pooldelete(a); pooldelete(b)
#' pool_memsize(old)
#' @name pool
NULL

# Per-process state. `objects` holds the values kept in memory, keyed by id;
# the books about them are in Rust.
.pool <- new.env(parent = emptyenv())
.pool$pid <- -1L # no pool yet in this process
.absent <- new.env(parent = emptyenv())

pool_view_of <- function(m) mmap_view(m)

payload_width <- c(logical = 4, integer = 4, double = 8, complex = 16, raw = 1)

is_payload <- function(x) {
  is.atomic(x) && !is.null(x) && !isS4(x) && !is.na(payload_width[typeof(x)])
}

is_frame <- function(x) {
  is.data.frame(x) && !isS4(x) && length(x) > 0L &&
    all(vapply(x, is_payload, logical(1)))
}

# --- the process's pool -----------------------------------------------------

pool_state <- function() {
  st <- .pool
  if (st$pid != Sys.getpid()) pool_start(st)
  st
}

pool_start <- function(st) {
  if (st$pid > 0L) {
    # A forked child: the parent's objects were copied with the process and
    # stay readable here, but they belong to the parent.
    st$inherited <- st$objects
    st$inherited_token <- st$token
  }
  budget <- st$budget %||% pool_default_budget_()
  st$budget <- budget
  st$pid <- Sys.getpid()
  st$generation <- (st$generation %||% 0L) + 1L
  # Host, pid and start time (to the microsecond) tell owners apart across
  # machines sharing a pool directory and across reused pids.
  st$token <- sprintf("%s-%d-%s-%d", gsub("[^A-Za-z0-9.]", "_", Sys.info()[["nodename"]]),
                      Sys.getpid(), gsub("[^0-9]", "", format(Sys.time(), "%Y%m%d%H%M%OS6")),
                      st$generation)
  st$objects <- new.env(parent = emptyenv())
  st$dirs <- new.env(parent = emptyenv())
  st$owners <- list()
  st$root <- st$root %||% file.path(tempdir(), "mmap-pool")
  st$dir <- owner_dir_name(st$root, st$token)
  st$dir0 <- st$dir
  st$moved <- FALSE
  if (is.null(st$exit_hook)) {
    # Once per process (a forked child inherits it): at the end of the
    # session the owner removes its directories.
    st$exit_hook <- new.env(parent = emptyenv())
    reg.finalizer(st$exit_hook, function(e) pool_shutdown(), onexit = TRUE)
  }
  unwrap_rust(pool_start_(budget, st$token, st$objects, st$dirs))
  pool_hook_init_(pool_export)
  pool_sweep(st)
}

# Called by a reference's hook while the reference is serialized (sent to a
# worker, saved): an object that lives only in this owner's memory gets a
# file, so that the receiving process can map it.
pool_export <- function(ref) {
  st <- .pool
  if (st$pid != Sys.getpid() || !identical(ref$token, st$token) || isTRUE(ref$deleted)) {
    return(invisible())
  }
  if (identical(pool_where_(ref$id), "memory")) pool_to_disk(st, ref, keep = TRUE)
  invisible()
}

`%||%` <- function(a, b) if (is.null(a)) b else a

owner_dir_name <- function(root, token) file.path(root, paste0("owner-", token))

# Dead owners' directories under the pool's root; under the default root, also
# those left in other (crashed) R sessions' temporary directories.
pool_sweep <- function(st) {
  roots <- st$root
  default <- file.path(tempdir(), "mmap-pool")
  if (identical(st$root, default)) {
    roots <- unique(c(roots, Sys.glob(file.path(dirname(tempdir()), "Rtmp*", "mmap-pool"))))
  }
  invisible(pool_sweep_(roots, ""))
}

# The owner directory `dir` (of this process), created and locked on first use.
pool_claim <- function(st, dir) {
  if (is.null(st$owners[[dir]])) {
    owner <- unwrap_rust(pool_claim_(dirname(dir), sub("^owner-", "", basename(dir))))
    st$owners[[dir]] <- owner
  }
  dir
}

# The owner is done: its directories go. The next pool operation starts a new
# pool under a new token, so references made before are no longer this
# process's (their finalizers do nothing).
pool_shutdown <- function() {
  st <- .pool
  if (st$pid != Sys.getpid()) return(invisible())
  for (dir in names(st$owners)) {
    pool_release_(st$owners[[dir]])
    # At the end of the session the lock's external pointer may have been
    # finalized already (its lock released): remove the directory by name.
    unlink(dir, recursive = TRUE)
  }
  st$owners <- list()
  st$objects <- new.env(parent = emptyenv())
  pool_stop_()
  st$pid <- -1L
  st$token <- NULL
  invisible()
}

# The garbage collector may have unbound it already (see ref_finalizer()).
unbind <- function(env, key) {
  if (exists(key, envir = env, inherits = FALSE)) rm(list = key, envir = env)
}

pool_file <- function(dir, id) file.path(dir, sprintf("%.0f.pool", id))

# --- references -------------------------------------------------------------

# A reference's finalizer is ref_finalizer() in Rust: when the last R value
# referring to it goes, the owner forgets the object and removes its file.
pool_forget <- function(st, id, key, dir) {
  had_file <- .Call(wrap__pool_forget_, id, key, st$objects)
  if (st$moved && exists(key, envir = st$dirs, inherits = FALSE)) rm(list = key, envir = st$dirs)
  if (isTRUE(had_file)) unlink(pool_file(dir, id))
}

check_ref <- function(ref, call = sys.call(-1)) {
  if (!inherits(ref, "pool_ref") || !is.environment(ref)) {
    mmap_abort(sprintf("`ref` must be a pool_ref returned by poolset(), not %s.", describe(ref)),
               "mmap_error_type", call = call)
  }
  invisible(ref)
}

is_owner <- function(st, ref) identical(ref$token, st$token)

check_owned <- function(st, ref, what, call = sys.call(-1)) {
  if (!is_owner(st, ref)) {
    mmap_abort(sprintf("%s() works only in the process that pooled object %.0f (%s); this process only reads it.",
                       what, ref$id, ref$token), "mmap_error_pool", call = call)
  }
  if (isTRUE(ref$deleted) || is.na(pool_where_(ref$id))) {
    mmap_abort(sprintf("object %.0f was deleted with pooldelete().", ref$id), "mmap_error_pool", call = call)
  }
  invisible(ref)
}

#' @rdname pool
#' @export
poolset <- function(x) {
  # The hot path of the pool: one call into Rust admits the object, makes the
  # reference and binds the object (see pool_put_()).
  st <- .pool
  width <- switch(typeof(x), logical = , integer = 4, double = 8, complex = 16, raw = 1, NA)
  bytes <- if (is.na(width) || isS4(x)) as.numeric(utils::object.size(x)) else length(x) * width
  ref <- .Call(wrap__pool_put_, x, bytes, st$objects, st$token, st$dir)
  if (is.null(ref)) {
    # No pool started in this process yet (first use, or a forked child).
    pool_state()
    ref <- .Call(wrap__pool_put_, x, bytes, st$objects, st$token, st$dir)
  }
  if (is.environment(ref)) {
    if (st$moved) assign(ref$key, st$dir, envir = st$dirs)
    return(ref)
  }
  if (inherits(ref, "mmap_rust_error")) unwrap_rust(ref)
  adm <- ref
  ref <- adm[[1L]]
  if (st$moved) assign(ref$key, st$dir, envir = st$dirs)
  if (adm[[2L]]) pool_store_oversize(st, x, ref) else pool_spill(st, adm[[3L]])
  ref
}

pool_store_oversize <- function(st, x, ref) {
  path <- pool_file(pool_claim(st, ref$dir), ref$id)
  size <- tryCatch(pool_write(x, path), error = function(e) e)
  if (inherits(size, "error")) {
    unwrap_rust(pool_keep_in_memory_(ref$id, ref$bytes))
    assign(ref$key, x, envir = st$objects)
    over_budget_warning(sprintf("object %.0f (%s) is larger than the budget but could not be written to disk: %s",
                                ref$id, format_bytes(ref$bytes), conditionMessage(size)))
  } else {
    unwrap_rust(pool_add_disk_(ref$id, ref$bytes, size))
  }
}

over_budget_warning <- function(msg) {
  stats <- pool_stats_()
  warning(warningCondition(
    sprintf("%s. It stays in memory: the pool now holds %s in memory, over its budget of %s.",
            msg, format_bytes(stats$memory_bytes), format_bytes(stats$budget)),
    class = c("mmap_warning_pool", "mmap_warning"), call = NULL))
}

# Writes the least recently used objects out of memory, as the books decided.
pool_spill <- function(st, victims) {
  # A victim may lose its last reference while this runs (the garbage
  # collector forgets it): such victims are skipped, or their new file removed.
  failed <- character()
  for (id in victims) {
    key <- as.character(id)
    x <- get0(key, envir = st$objects, inherits = FALSE, ifnotfound = .absent)
    if (identical(x, .absent)) next
    if (isTRUE(unwrap_rust(pool_drop_memory_(id)))) {
      unbind(st$objects, key)
      next
    }
    dir <- get0(key, envir = st$dirs, inherits = FALSE, ifnotfound = st$dir0)
    path <- pool_file(pool_claim(st, dir), id)
    size <- tryCatch(pool_write(x, path), error = function(e) e)
    if (inherits(size, "error")) {
      failed <- c(failed, sprintf("object %.0f: %s", id, conditionMessage(size)))
    } else if (isTRUE(unwrap_rust(pool_on_disk_(id, size, FALSE)))) {
      unbind(st$objects, key)
    } else {
      unlink(path)
    }
  }
  if (length(failed)) {
    over_budget_warning(sprintf("could not spill %d object%s to disk (%s)", length(failed),
                                if (length(failed) == 1L) "" else "s", paste(failed, collapse = "; ")))
  }
}

#' @rdname pool
#' @export
poolget <- function(ref) {
  st <- .pool
  # The hot path: an object of this process in memory, found in one call.
  x <- .Call(wrap__pool_lookup_, ref, st$objects, st$token, .absent)
  if (!is.environment(x) || !identical(x, .absent)) return(x)
  if (st$pid != Sys.getpid()) pool_start(st)
  check_ref(ref)
  if (ref$token != st$token) return(pool_read_borrowed(st, ref))
  if (exists(ref$key, envir = st$objects, inherits = FALSE)) {
    pool_hit_(ref$id)
    return(get(ref$key, envir = st$objects, inherits = FALSE))
  }
  pool_read_owned(st, ref)
}

pool_read_owned <- function(st, ref) {
  check_owned(st, ref, "poolget", call = sys.call(-1))
  got <- pool_read(pool_file(ref$dir, ref$id), call = sys.call(-1))
  unwrap_rust(pool_miss_(ref$id))
  if (!got$mapped) {
    victims <- unwrap_rust(pool_cache_(ref$id))
    if (!is.null(victims)) {
      assign(ref$key, got$value, envir = st$objects)
      if (length(victims)) pool_spill(st, victims)
    }
  }
  got$value
}

# Another process owns the object: read it from its file, or from the copy a
# forked child inherited.
pool_read_borrowed <- function(st, ref) {
  if (identical(ref$token, st$inherited_token)) {
    x <- get0(ref$key, envir = st$inherited, inherits = FALSE, ifnotfound = .absent)
    if (!identical(x, .absent)) return(x)
  }
  path <- pool_file(ref$dir, ref$id)
  if (!file.exists(path)) {
    mmap_abort(sprintf(paste0(
      "object %.0f has no file in '%s': it lives only in the memory of the process that pooled it (%s), ",
      "or was deleted there. Call copytodisk(ref) in that process before using the ref elsewhere."),
      ref$id, ref$dir, ref$token), "mmap_error_pool", call = sys.call(-1))
  }
  got <- pool_read(path, call = sys.call(-1))
  unwrap_rust(pool_miss_(-1))
  got$value
}

# Reads a pool file: list(value, mapped).
pool_read <- function(path, verify = FALSE, call = sys.call(-1)) {
  info <- unwrap_rust(pool_open_(path, verify), call = call)
  attrs <- if (length(info$attributes)) unserialize(info$attributes) else NULL
  switch(info$shape,
    object = list(value = unserialize(unwrap_rust(pool_read_section_(path, 1L), call = call)), mapped = FALSE),
    vector = {
      v <- pool_map_section(path, info, 1L)
      if (!is.null(attrs)) v <- unwrap_rust(pool_set_attributes_(v, attrs), call = call)
      list(value = v, mapped = TRUE)
    },
    frame = {
      cols <- lapply(seq_along(info$kinds), function(i) {
        v <- pool_map_section(path, info, i)
        a <- attrs$cols[[i]]
        if (!is.null(a)) v <- unwrap_rust(pool_set_attributes_(v, a), call = call)
        v
      })
      cols <- unwrap_rust(pool_set_attributes_(cols, attrs$outer), call = call)
      list(value = cols, mapped = TRUE)
    }
  )
}

pool_map_section <- function(path, info, i) {
  kind <- info$kinds[i]
  if (info$lengths[i] == 0) return(vector(kind, 0L))
  # A section's R type names its on-disk type: Rust's table knows the synonyms.
  mode <- new_ctype(kind)
  m <- mmap(path, mode, prot = mmapFlags("PROT_READ"), off = info$offsets[i], len = info$bytes[i])
  on.exit(munmap(m))
  pool_view_of(m)
}

# Writes `x` to `path` in the pool format; returns the file's size.
pool_write <- function(x, path) {
  if (is_frame(x)) {
    shape <- "frame"
    parts <- unclass(x)
    attrs <- list(outer = attributes(x), cols = lapply(parts, attributes))
    kinds <- vapply(parts, typeof, "")
  } else if (is_payload(x)) {
    shape <- "vector"
    parts <- list(x)
    attrs <- attributes(x)
    kinds <- typeof(x)
  } else {
    shape <- "object"
    parts <- list(serialize(x, NULL, xdr = FALSE))
    attrs <- NULL
    kinds <- "serialized"
  }
  attr_bytes <- if (is.null(attrs)) raw() else serialize(attrs, NULL, xdr = FALSE)
  lengths <- as.double(lengths(parts, use.names = FALSE))
  w <- unwrap_rust(pool_writer_(path, shape, unname(kinds), lengths, attr_bytes))
  done <- FALSE
  on.exit(if (!done) pool_writer_abort_(w))
  widths <- if (shape == "object") 1 else payload_width[kinds]
  sizes <- lengths * widths
  chunk <- 64 * 2^20
  bar <- NULL
  if (sum(sizes) >= 256 * 2^20 && requireNamespace("cli", quietly = TRUE)) {
    bar <- cli::cli_progress_bar(sprintf("Writing %s to the pool", format_bytes(sum(sizes))),
                                 total = sum(sizes), .envir = environment())
  }
  written <- 0
  for (i in seq_along(parts)) {
    from <- 0
    while (from < sizes[i]) {
      to <- min(from + chunk, sizes[i])
      unwrap_rust(pool_writer_write_(w, i, parts[[i]], from, to))
      written <- written + (to - from)
      from <- to
      if (!is.null(bar)) cli::cli_progress_update(id = bar, set = written, .envir = environment())
    }
  }
  size <- unwrap_rust(pool_writer_commit_(w))
  done <- TRUE
  size
}

#' Move or copy a pooled object to disk, or save it to a file of your own
#'
#' `movetodisk()` writes the object to its pool file and drops it from memory;
#' the next [poolget()] maps the file (atomic vectors and data frames) or reads
#' it back. `copytodisk()` writes the file and keeps the object in memory, so
#' that other processes can read it through the reference. `savetodisk()`
#' writes the object to `path`, in the same format, outside the pool's
#' accounting; `poolload()` reads such a file back, in any session.
#'
#' A write that fails (a full disk, no permission, a serialization error)
#' raises an error of class `mmap_error_pool` and leaves the object in memory.
#'
#' @param ref A `pool_ref` returned by [poolset()].
#' @param path A file path.
#' @param overwrite Replace an existing file at `path`.
#' @return `movetodisk()`, `copytodisk()`: `ref`, invisibly. `savetodisk()`:
#'   the normalized `path`, invisibly. `poolload()`: the object (a view of the
#'   mapped file for atomic vectors and data frames of atomic columns).
#' @examples
#' r <- poolset(data.frame(x = 1:3, y = c(0.5, NA, -Inf)))
#' movetodisk(r)
#' pool_status()
#' poolget(r)
#' f <- tempfile(fileext = ".pool")
#' savetodisk(r, f)
#' poolload(f)
#' pooldelete(r)
#' unlink(f)
#' @export
movetodisk <- function(ref) to_disk(ref, keep = FALSE, "movetodisk")

#' @rdname movetodisk
#' @export
copytodisk <- function(ref) to_disk(ref, keep = TRUE, "copytodisk")

# movetodisk() and copytodisk(): write the object's file, keeping it in
# memory or not; errors name `verb`.
to_disk <- function(ref, keep, verb, call = sys.call(-1)) {
  check_ref(ref, call = call)
  st <- pool_state()
  check_owned(st, ref, verb, call = call)
  pool_to_disk(st, ref, keep = keep, call = call)
  invisible(ref)
}

pool_to_disk <- function(st, ref, keep, call = sys.call(-1)) {
  where <- pool_where_(ref$id)
  if (where == "disk") return(invisible())
  if (where == "both") {
    if (!keep) {
      unwrap_rust(pool_drop_memory_(ref$id))
      unbind(st$objects, ref$key)
    }
    return(invisible())
  }
  x <- get(ref$key, envir = st$objects, inherits = FALSE)
  path <- pool_file(pool_claim(st, ref$dir), ref$id)
  size <- tryCatch(pool_write(x, path), error = function(e) {
    mmap_abort(sprintf("could not write object %.0f to disk; it stays in memory. %s",
                       ref$id, conditionMessage(e)), "mmap_error_pool", call = call)
  })
  unwrap_rust(pool_on_disk_(ref$id, size, keep))
  if (!keep) unbind(st$objects, ref$key)
  invisible()
}

#' @rdname movetodisk
#' @export
savetodisk <- function(ref, path, overwrite = FALSE) {
  check_ref(ref)
  check_string(path)
  if (!isTRUE(overwrite) && file.exists(path)) {
    mmap_abort(sprintf("`path` '%s' exists; use overwrite = TRUE to replace it.", path), "mmap_error_io")
  }
  x <- pool_value(ref)
  tryCatch(pool_write(x, path.expand(path)), error = function(e) {
    mmap_abort(sprintf("could not save object %.0f to '%s': %s", ref$id, path, conditionMessage(e)),
               "mmap_error_pool", call = sys.call(-4))
  })
  invisible(normalizePath(path))
}

# The value without touching the books (savetodisk is outside the accounting).
pool_value <- function(ref) {
  st <- pool_state()
  if (is_owner(st, ref)) {
    x <- get0(ref$key, envir = st$objects, inherits = FALSE, ifnotfound = .absent)
    if (!identical(x, .absent)) return(x)
    check_owned(st, ref, "savetodisk")
    return(pool_read(pool_file(ref$dir, ref$id))$value)
  }
  poolget(ref)
}

#' @rdname movetodisk
#' @export
poolload <- function(path) {
  check_string(path)
  if (!file.exists(path)) {
    mmap_abort(sprintf("`path` '%s' does not exist.", path), "mmap_error_io")
  }
  pool_read(normalizePath(path))$value
}

#' @rdname pool
#' @return `pooldelete()`: `TRUE` invisibly (`FALSE` if it was already deleted).
#' @export
pooldelete <- function(ref) {
  check_ref(ref)
  st <- pool_state()
  if (!is_owner(st, ref)) {
    mmap_abort(sprintf("pooldelete() works only in the process that pooled object %.0f (%s); this process only reads it.",
                       ref$id, ref$token), "mmap_error_pool")
  }
  if (isTRUE(ref$deleted)) return(invisible(FALSE))
  pool_forget(st, ref$id, ref$key, ref$dir)
  ref$deleted <- TRUE
  invisible(TRUE)
}

#' The pool's budget, directory and books
#'
#' `pool_memsize()` gets or sets the budget: the most bytes the pool holds in
#' memory in this process (default a quarter of physical memory). Lowering it
#' spills the least recently used objects at once. `pool_dir()` gets or sets
#' the directory spilled files go to (default under the session's temporary
#' directory); each process writes into its own subdirectory, locked while it
#' lives. Setting it also removes the subdirectories of processes that died
#' without cleaning up (e.g. killed with `kill -9`), as does starting a pool.
#' Objects already pooled keep their files where they are.
#'
#' `pool_status()` lists the objects, least recently used first.
#' `pool_stats()` counts reads served from memory (`hits`) and from disk
#' (`misses`), objects written out of memory (`spills`: by the budget, by
#' [movetodisk()], and objects larger than the budget), and the bytes in
#' memory and on disk. `pool_verify()` checks an object's file completely,
#' payload checksum included, whatever its size.
#'
#' @param bytes The budget in bytes.
#' @param path A directory (created if needed).
#' @param ref A `pool_ref`, or the path of a file written by [savetodisk()].
#' @return `pool_memsize()`, `pool_dir()`: with no argument the current value;
#'   otherwise the previous value, invisibly. `pool_status()`: a data frame
#'   with columns `id`, `bytes`, `where` ("memory", "disk" or "both") and
#'   `last_used`. `pool_stats()`: a list with `hits`, `misses`, `spills`,
#'   `memory_bytes`, `disk_bytes` and `budget`. `pool_verify()`: `TRUE`,
#'   invisibly, if the file is intact (or the object has no file); otherwise
#'   an error of class `mmap_error_pool`.
#' @examples
#' pool_memsize()
#' pool_dir()
#' r <- poolset(matrix(1:6, 2))
#' copytodisk(r)
#' pool_status()
#' pool_stats()
#' pool_verify(r)
#' pooldelete(r)
#' @export
pool_memsize <- function(bytes) {
  st <- pool_state()
  if (missing(bytes)) return(st$budget)
  check_count(bytes)
  old <- st$budget
  victims <- unwrap_rust(pool_set_budget_(as.double(bytes)))
  st$budget <- as.double(bytes)
  if (length(victims)) pool_spill(st, victims)
  invisible(old)
}

#' @rdname pool_memsize
#' @export
pool_dir <- function(path) {
  st <- pool_state()
  if (missing(path)) return(st$root)
  check_string(path)
  if (!dir.exists(path) && !dir.create(path, recursive = TRUE, showWarnings = FALSE)) {
    mmap_abort(sprintf("`path` '%s' is not a directory that can be created.", path), "mmap_error_io")
  }
  old <- st$root
  st$root <- normalizePath(path, mustWork = TRUE)
  st$dir <- owner_dir_name(st$root, st$token)
  if (unwrap_rust(pool_stats_())$objects == 0) {
    # Nothing pooled yet: the new directory is simply the pool's directory.
    st$dir0 <- st$dir
    rm(list = ls(st$dirs, all.names = TRUE), envir = st$dirs)
  }
  st$moved <- st$dir != st$dir0
  pool_sweep(st)
  invisible(old)
}

#' @rdname pool_memsize
#' @export
pool_status <- function() {
  pool_state()
  s <- unwrap_rust(pool_status_())
  data.frame(id = s$id, bytes = s$bytes, where = s$place,
             last_used = as.POSIXct(s$last_used, origin = "1970-01-01"),
             stringsAsFactors = FALSE)
}

#' @rdname pool_memsize
#' @export
pool_stats <- function() {
  pool_state()
  s <- unwrap_rust(pool_stats_())
  s[c("hits", "misses", "spills", "memory_bytes", "disk_bytes", "budget")]
}

#' @rdname pool_memsize
#' @export
pool_verify <- function(ref) {
  if (is.character(ref)) {
    check_string(ref)
    path <- ref
  } else {
    check_ref(ref)
    st <- pool_state()
    if (is_owner(st, ref)) {
      check_owned(st, ref, "pool_verify")
      if (pool_where_(ref$id) == "memory") return(invisible(TRUE))
    }
    path <- pool_file(ref$dir, ref$id)
  }
  unwrap_rust(pool_open_(path, TRUE))
  invisible(TRUE)
}

#' @rdname pool
#' @param ... Ignored.
#' @export
print.pool_ref <- function(x, ...) {
  st <- pool_state()
  where <- if (!is_owner(st, x)) {
    sprintf("owned by process %s", x$token)
  } else if (isTRUE(x$deleted) || is.na(w <- pool_where_(x$id))) {
    "deleted"
  } else {
    switch(w, memory = "in memory", disk = "on disk", both = "in memory and on disk")
  }
  cat(sprintf("<pool_ref %.0f: %s, %s>\n", x$id, format_bytes(x$bytes), where))
  invisible(x)
}

format_bytes <- function(n) {
  units <- c("B", "kB", "MB", "GB", "TB")
  i <- if (n < 1000) 1L else min(length(units), floor(log(n, 1000)) + 1L)
  if (i == 1L) sprintf("%.0f B", n) else sprintf("%.1f %s", n / 1000^(i - 1L), units[i])
}
