#' Map a file as a typed vector
#'
#' `mmap()` maps a file (or a byte range of it) into memory and returns an
#' `mmap` object that is indexed and assigned like an R vector: `m[i]` reads
#' elements from the file, `m[i] <- value` writes them. Nothing proportional
#' to the file's size happens when mapping; pages are read on demand.
#'
#' A mapping survives [saveRDS()]/[readRDS()]: the restored object re-maps
#' the file by path, with the same type, offset, length, byte order, dim and
#' hooks, on first use.
#'
#' A live mapping keeps its file open (one file descriptor, as Python's
#' `mmap` does), so that every access can check the file's size cheaply;
#' [munmap()], or garbage collection of an unreachable `mmap` object, closes
#' it. Should the process run out of descriptors, `mmap()` collects garbage
#' and tries again before it reports the error.
#'
#' Only regular files can be mapped: a directory, a FIFO, a device, or a file
#' of the `/proc` or `/sys` pseudo-filesystems (which claim a size of 0 bytes)
#' is an error of class `mmap_error_io`.
#'
#' @section A file that shrinks:
#' Reading or writing a page of a mapping that lies beyond the end of its file
#' kills the process with a bus error (`SIGBUS`). So every access through a
#' mapping (extraction, replacement, comparisons, summaries, strings, structs,
#' bits) first checks that the file still covers all of the mapping, and if
#' another program has shortened it, stops with an error of class
#' `mmap_error_io` saying that "the file shrank from N to M bytes"; map the
#' file again with `mmap()` to see its new length. The package itself never
#' shortens a file: [as.mmap()] and [mmap.csv()] write a new file and rename
#' it into place, so mappings of the old file keep its old contents.
#'
#' The check cannot close one race: if another process truncates the file
#' *during* an access, after the check, the session can still die of
#' `SIGBUS`. This is inherent to memory-mapped files, and other libraries
#' document the same limit (numpy's `memmap`, Arrow's memory-mapped files).
#' Do not truncate a file that a running R session has mapped; replace it by
#' renaming a new file over it instead.
#'
#' @param file Path of the file to map.
#' @param mode The element type: a [types] constructor such as `int16()`, or a
#'   base prototype such as `integer()`.
#' @param extractFUN,replaceFUN Optional functions applied to every extracted
#'   vector and to every replacement value.
#' @param prot Protection, from [mmapFlags()]: `"PROT_READ"`, `"PROT_WRITE"`.
#' @param flags `mmapFlags("MAP_SHARED")` (writes reach the file) or
#'   `mmapFlags("MAP_PRIVATE")` (writes stay in this process).
#' @param len Bytes to map; by default to the end of the file.
#' @param off Byte offset of the first element; any offset, aligned or not,
#'   beyond 2 GiB too.
#' @param endian Byte order of the data: `"little"`, `"big"` or `"swap"`
#'   (the opposite of this platform's).
#' @param ... Unused.
#' @return An object of class `mmap`.
#' @seealso [as.mmap()], [munmap()], [types]
#' @examples
#' f <- tempfile()
#' writeBin(1:10, f, size = 2)
#' m <- mmap(f, int16())
#' m[1:3]
#' m[2] <- -5L
#' m[]
#' munmap(m)
#' unlink(f)
#' @export
mmap <- function(file, mode = int32(), extractFUN = NULL, replaceFUN = NULL,
                 prot = mmapFlags("PROT_READ", "PROT_WRITE"),
                 flags = mmapFlags("MAP_SHARED"), len, off = 0L,
                 endian = .Platform$endian, ...) {
  check_string(file)
  if (!file.exists(file)) {
    mmap_abort(sprintf("`file` '%s' does not exist.", file), "mmap_error_io")
  }
  mode <- as.Ctype(mode)
  endian <- check_endian(endian)
  check_count(off)
  if (missing(len) || is.null(len)) {
    len <- -1  # to the end of the file
  } else {
    check_count(len)
  }
  check_hook(extractFUN)
  check_hook(replaceFUN)
  prot <- as.integer(prot)
  private <- bitwAnd(as.integer(flags), mmapFlags("MAP_PRIVATE")) != 0L
  path <- normalizePath(file, mustWork = TRUE)
  handle <- unwrap_rust(mm_open_(path, as.double(off), as.double(len), prot, private))
  bytes <- unwrap_rust(mm_info_(handle))$bytes
  m <- new_mmap(handle, path, mode, endian, as.double(off), bytes, prot, private,
                extractFUN, replaceFUN)
  if (inherits(mode, "cstring")) m <- mmap_set(m, cindex = unwrap_rust(mm_cindex_(handle)))
  trailing <- length_info(m, handle)[2]
  if (trailing > 0) {
    warning(sprintf("%s: %d trailing byte%s of '%s' do not make a whole %s element and are left out",
                    "mmap", as.integer(trailing), if (trailing == 1) "" else "s", file,
                    mode$name), call. = FALSE)
  }
  m
}

new_mmap <- function(handle, file, mode, endian, off, bytes, prot, private,
                     extractFUN = NULL, replaceFUN = NULL, dim = NULL) {
  mmap_object(list(handle = handle, file = file, mode = mode, endian = endian, off = off,
                   bytes = bytes, prot = prot, private = private, extractFUN = extractFUN,
                   replaceFUN = replaceFUN, dim = dim))
}

# An mmap object is an environment of fields, not a list: base R code that
# does not dispatch (`for`, nchar(), is.list(), which.max(), ...) then fails
# instead of walking the fields as if they were the values. It is never
# modified in place: mmap_set() returns a new object, so `m2 <- m;
# dim(m2) <- ...` leaves `m` as it was. Internal code reads fields with
# .subset2(x, name), which works on environments (and on the lists older
# versions saved with saveRDS()).
mmap_object <- function(fields, class = "mmap") {
  structure(list2env(fields, envir = new.env(parent = emptyenv())), class = class)
}

# A copy of `x` with some fields changed (a NULL value keeps the field, as NULL).
mmap_set <- function(x, ...) {
  changes <- list(...)
  fields <- if (is.environment(x)) as.list.environment(x, all.names = TRUE) else unclass(x)
  fields[names(changes)] <- changes
  mmap_object(fields, class = class(x))
}

check_endian <- function(endian, call = sys.call(-1)) {
  check_string(endian, call = call)
  if (identical(endian, "swap")) {
    endian <- if (.Platform$endian == "little") "big" else "little"
  }
  if (!endian %in% c("little", "big")) {
    mmap_abort(sprintf("`endian` must be \"little\", \"big\" or \"swap\", not \"%s\".", endian),
               "mmap_error_type", call = call)
  }
  endian
}

check_hook <- function(f, arg = deparse(substitute(f)), call = sys.call(-1)) {
  if (!is.null(f) && !is.function(f)) {
    mmap_abort(sprintf("`%s` must be a function or NULL, not %s.", arg, describe(f)),
               "mmap_error_type", call = call)
  }
}

# The type description the Rust side reads.
spec_of <- function(x) ctype_spec(.subset2(x, "mode"), .subset2(x, "endian"))

# A Ctype as the plain list the Rust side parses.
ctype_spec <- function(mode, endian = NULL) {
  spec <- unclass(mode)
  attr(spec, "bytes") <- NULL
  attr(spec, "rkind") <- NULL
  spec$endian <- if (is.null(endian)) .Platform$endian else endian
  spec
}

# Bytes `n` elements of `mode` take (bits() fill whole 4-byte words).
layout_bytes <- function(mode, n, call = sys.call(-1)) {
  unwrap_rust(mm_layout_bytes_(ctype_spec(mode), as.double(n)), call = call)
}

# The live handle of `x`, re-mapping the file after readRDS().
handle_of <- function(x, call = sys.call(-1)) {
  if (!inherits(x, "mmap")) {
    mmap_abort(sprintf("`x` must be an mmap object, not %s.", describe(x)), "mmap_error_type",
               call = call)
  }
  handle <- .subset2(x, "handle")
  state <- unwrap_rust(mm_state_(handle), call = call)
  if (state == "unmapped") {
    mmap_abort("the mapping was released with munmap(); map the file again with mmap().",
               "mmap_error_unmapped", call = call)
  }
  if (state == "detached") {
    file <- .subset2(x, "file")
    if (!file.exists(file)) {
      mmap_abort(sprintf("cannot re-map '%s': the file no longer exists.", file),
                 "mmap_error_io", call = call)
    }
    unwrap_rust(mm_attach_(handle, file, .subset2(x, "off"), .subset2(x, "bytes"),
                  .subset2(x, "prot"), .subset2(x, "private")), call = call)
  }
  handle
}

#' Release a mapping
#'
#' Invalidates `x` (and every copy of it) at once. Memory still read by a
#' zero-copy view or the pool stays mapped until they let go.
#'
#' @param x An `mmap` object.
#' @return `munmap()`: invisibly, `TRUE` if `x` was mapped. `is.mmap()`:
#'   `TRUE` for an `mmap` object that is still usable, `FALSE` for anything
#'   else and, as in CRAN's mmap, for one released with `munmap()`.
#' @examples
#' m <- as.mmap(1:10)
#' is.mmap(m)
#' munmap(m)
#' try(m[1])
#' @export
munmap <- function(x) {
  if (!inherits(x, "mmap")) {
    mmap_abort(sprintf("`x` must be an mmap object, not %s.", describe(x)), "mmap_error_type")
  }
  invisible(unwrap_rust(mm_close_(.subset2(x, "handle"))))
}

#' @rdname munmap
#' @export
is.mmap <- function(x) inherits(x, "mmap") && mmap_state(x) != "unmapped"

#' Convert an R vector to a mapped file
#'
#' Writes `x` to `file` in the chosen on-disk type and maps it.
#'
#' @param x A raw, logical, integer, double, complex or `bit64::integer64`
#'   vector or matrix.
#' @param mode The on-disk type; by default the one matching `typeof(x)`.
#' @param file Path of the file to create. An existing file is replaced: the
#'   new contents are written to a new file in the same directory, which is
#'   then renamed over `file` (through a symlink, its target is replaced), so
#'   a mapping that still uses the old file keeps its old bytes, and a failure
#'   leaves the old file as it was.
#' @param ... Passed to [mmap()] (e.g. `endian`).
#' @return An `mmap` object; a matrix keeps its `dim`. With `mode = bits()`
#'   the file holds whole 32-bit words, so the mapping's length is `length(x)`
#'   rounded up to a multiple of 32 (the padding reads as `FALSE`).
#' @examples
#' m <- as.mmap(c(1.5, 2.5, NA))
#' m[]
#' munmap(m)
#' i <- as.mmap(1:100, mode = int8())
#' sum(i[])
#' munmap(i)
#' @export
as.mmap <- function(x, mode, file, ...) UseMethod("as.mmap")

#' @export
as.mmap.default <- function(x, mode = as.Ctype(x), file = tempmmap(), ...) {
  if (!(is.atomic(x) && typeof(x) %in% c("raw", "logical", "integer", "double", "complex"))) {
    mmap_abort(sprintf("`x` must be a raw, logical, integer, double or complex vector, not %s.",
                       describe(x)), "mmap_error_type")
  }
  mode <- as.Ctype(mode)
  check_string(file)
  n <- as.double(length(x))
  bytes <- layout_bytes(mode, n)
  d <- dim(x)
  dim(x) <- NULL
  replace_file(file, bytes, function(new) {
    fill_mapped(new, mode, list(...)[["endian"]], function(m) {
      # A bits mapping has room for up to 31 more elements than x.
      m[seq_len(n)] <- x
    })
  })
  m <- mmap(file, mode, ...)
  if (!is.null(d)) dim(m) <- d
  m
}

# Gives `file` new contents without ever shortening the file in place: the
# contents go to a new file next to it (`bytes` zero bytes, disk space
# reserved), `write(new)` fills that, and only then is it renamed over `file`.
# A mapping or view that still uses the old `file` keeps the old bytes, where
# truncating a mapped file would kill the session with SIGBUS at its next
# access. On failure `file` is left as it was, and the only file deleted is
# the one this call created.
replace_file <- function(file, bytes, write, call = sys.call(-1)) {
  paths <- unwrap_rust(mm_replacement_(path.expand(file), as.double(bytes)), call = call)
  committed <- FALSE
  on.exit(if (!committed) unlink(paths[1]))
  write(paths[1])
  unwrap_rust(mm_commit_(paths[1], paths[2]), call = call)
  committed <- TRUE
  invisible(file)
}

# Maps the new file `path` as `mode`, lets `fill(m)` write through the mapping
# and lets it go again.
fill_mapped <- function(path, mode, endian, fill) {
  m <- mmap(path, mode, endian = if (is.null(endian)) .Platform$endian else endian)
  on.exit(munmap(m))
  if (length(m) > 0L) fill(m)
  invisible()
}

#' @export
as.mmap.mmap <- function(x, mode, file, ...) x

#' A temporary file name for a mapping
#'
#' @param tmpdir Directory of the file.
#' @return A path (the file is not created).
#' @examples
#' tempmmap()
#' @export
tempmmap <- function(tmpdir = tempdir()) tempfile("mmap", tmpdir = tmpdir, fileext = ".bin")

#' Size of a mapping or a type in bytes
#'
#' @param x An `mmap` object or a type.
#' @return A double: bytes mapped, or bytes per element of a type.
#' @examples
#' m <- as.mmap(1:10)
#' nbytes(m)
#' nbytes(int16())
#' munmap(m)
#' @export
nbytes <- function(x) UseMethod("nbytes")

#' @export
nbytes.mmap <- function(x) unwrap_rust(mm_info_(handle_of(x)))$bytes

#' @export
nbytes.default <- function(x) as.double(sizeof(x))

#' @export
length.mmap <- function(x) {
  n <- length_info(x)[1]
  if (n <= .Machine$integer.max) as.integer(n) else n
}

#' @export
`length<-.mmap` <- function(x, value) {
  mmap_abort("a mapping has a fixed length; map a different `len` with mmap() instead.",
             "mmap_error_type")
}

#' Flags for mapping, protection, syncing and advice
#'
#' Combines named flags into the integer the system call takes.
#'
#' @param ... Flag names as strings, e.g. `"PROT_READ"`, `"MAP_SHARED"`,
#'   `"MS_SYNC"`, `"MADV_RANDOM"`; as in CRAN's mmap also unquoted and joined
#'   with `|`: `mmapFlags(PROT_READ | PROT_WRITE)`.
#' @return An integer (the bitwise OR of the flags).
#' @examples
#' mmapFlags("PROT_READ", "PROT_WRITE")
#' mmapFlags(PROT_READ | PROT_WRITE)
#' @export
mmapFlags <- function(...) {
  env <- parent.frame()
  exprs <- as.list(substitute(list(...)))[-1L]
  names <- unlist(lapply(exprs, flag_names, env = env), use.names = FALSE)
  unknown <- setdiff(names, names(flag_values))
  if (length(unknown)) {
    mmap_abort(sprintf("unknown flag%s: %s.", if (length(unknown) > 1) "s" else "",
                       paste(unknown, collapse = ", ")), "mmap_error_type")
  }
  Reduce(bitwOr, flag_values[names], 0L)
}

# Flag names in one argument of mmapFlags(): a string ("PROT_READ", or
# "PROT_READ | PROT_WRITE"), a flag written as a bare name (PROT_READ), names
# joined with `|` (PROT_READ | PROT_WRITE), as CRAN's mmap accepts, or any
# expression giving strings.
flag_names <- function(e, env) {
  if (is.call(e) && identical(e[[1L]], as.name("|"))) {
    return(c(flag_names(e[[2L]], env), flag_names(e[[3L]], env)))
  }
  # A bare name is a flag unless it names a variable (then its value is used).
  if (is.name(e) && (as.character(e) %in% names(flag_values) || !exists(as.character(e), envir = env))) {
    return(as.character(e))
  }
  value <- if (is.character(e)) e else eval(e, env)
  if (!is.character(value)) {
    mmap_abort(sprintf("`...` must be flag names such as \"PROT_READ\" or PROT_READ | PROT_WRITE, not %s.",
                       describe(value)), "mmap_error_type", call = sys.call(-2))
  }
  trimws(unlist(strsplit(value, "|", fixed = TRUE)))
}

flag_values <- c(
  PROT_NONE = 0L, PROT_READ = 1L, PROT_WRITE = 2L, PROT_EXEC = 4L,
  MAP_SHARED = 1L, MAP_PRIVATE = 2L,
  MS_ASYNC = 1L, MS_INVALIDATE = 2L, MS_SYNC = 4L,
  MADV_NORMAL = 0L, MADV_RANDOM = 1L, MADV_SEQUENTIAL = 2L, MADV_WILLNEED = 3L,
  MADV_DONTNEED = 4L
)

#' Flush, protect or advise a mapping
#'
#' `msync()` writes changed pages back to the file; `mprotect()` changes the
#' mapping's protection (writing through a mapping without `PROT_WRITE` is an
#' R error, never a crash); `madvise()` tells the kernel how the mapping will
#' be read. `pagesize()` is the system's page size.
#'
#' @param x An `mmap` object.
#' @param flags `mmapFlags("MS_ASYNC")` (schedule) or `mmapFlags("MS_SYNC")` (wait).
#' @param prot New protection from [mmapFlags()].
#' @param advice One of `"normal"`, `"random"`, `"sequential"`, `"willneed"`,
#'   `"dontneed"`, or the matching `mmapFlags("MADV_...")`.
#' @return `x`, invisibly; `pagesize()` returns a number.
#' @examples
#' m <- as.mmap(1:10)
#' msync(m)
#' madvise(m, "sequential")
#' mprotect(m, mmapFlags("PROT_READ"))
#' try(m[1] <- 5L)
#' munmap(m)
#' pagesize()
#' @export
msync <- function(x, flags = mmapFlags("MS_ASYNC")) {
  check_flags(flags)
  asynchronous <- bitwAnd(as.integer(flags), mmapFlags("MS_SYNC")) == 0L
  unwrap_rust(mm_msync_(handle_of(x), asynchronous))
  invisible(x)
}

#' @rdname msync
#' @export
mprotect <- function(x, prot) {
  handle <- handle_of(x)
  check_flags(prot)
  unwrap_rust(mm_mprotect_(handle, as.integer(prot)))
  invisible(x)
}

# A flags argument: one whole number from mmapFlags().
check_flags <- function(x, arg = deparse(substitute(x)), call = sys.call(-1)) {
  ok <- is.numeric(x) && length(x) == 1L && !is.na(x) && x >= 0 && x == trunc(x) && x <= .Machine$integer.max
  if (!ok) {
    mmap_abort(sprintf("`%s` must be a single flag value from mmapFlags(), not %s.", arg, describe(x)),
               "mmap_error_type", call = call)
  }
  invisible(x)
}

#' @rdname msync
#' @export
madvise <- function(x, advice) {
  if (is.numeric(advice) && length(advice) == 1L) {
    codes <- flag_values[startsWith(names(flag_values), "MADV_")]
    name <- names(codes)[match(as.integer(advice), codes)]
    if (is.na(name)) {
      mmap_abort(sprintf("`advice` %s is not a known MADV_ flag.", format(advice)), "mmap_error_type")
    }
    advice <- name
  }
  check_string(advice)
  unwrap_rust(mm_madvise_(handle_of(x), advice))
  invisible(x)
}

#' @rdname msync
#' @export
pagesize <- function() mm_pagesize_()
