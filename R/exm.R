# exm: steer the exm allocator shim from inside an `exm R` session.
#
# The shim (libexm.so, preloaded by the `exm` launcher) places every
# allocation of at least a threshold in an unlinked file mapped into memory.
# The Rust bindings look its API up at run time, so these functions load
# everywhere; outside exm only exm_active(), exm_version() and exm_launcher()
# work and the others raise an error of class `mmap_error_exm`.

exm_errno_names <- c(`2` = "no such block", `13` = "permission denied",
                     `20` = "not a directory", `22` = "invalid argument",
                     `28` = "no space left on device", `30` = "read-only file system",
                     `36` = "name too long", `38` = "not running under exm")

exm_check_active <- function(call = sys.call(-1)) {
  if (!exm_active_()) {
    mmap_abort(paste0("R was not started under exm: start it with `exm R` ",
                      "(the launcher is at exm_launcher())."),
               "mmap_error_exm", call = call)
  }
  invisible(TRUE)
}

exm_fail <- function(errno, what, call = sys.call(-1)) {
  if (errno != 0L) {
    why <- exm_errno_names[as.character(errno)]
    if (is.na(why)) why <- sprintf("errno %d", errno)
    mmap_abort(sprintf("%s failed: %s.", what, why), "mmap_error_exm", call = call)
  }
  invisible(TRUE)
}

#' Out-of-core allocation with exm
#'
#' `exm` is a launcher shipped with this package: `exm R` starts R with every
#' allocation of at least a threshold (2 GiB by default) placed in an
#' unlinked file in a data directory and mapped into memory, so vectors
#' larger than RAM work. These functions steer it from inside that session.
#'
#' * `exm_active()` tells whether R runs under exm.
#' * `exm_version()` gives the version of the shim (of these bindings outside exm).
#' * `exm_threshold()` reports or sets the allocation size, in bytes, from
#'   which allocations are file-backed (at least one page). It accepts the
#'   same sizes as the launcher: `2^26`, `"64MiB"`, `"1e8"`.
#' * `exm_path()` reports or sets the directory of the files. Loading the
#'   package under exm moves new files to the session's [tempdir()], unless
#'   the user chose a directory (`exm --path DIR` or `EXM_PATH=DIR`): then
#'   the user's directory stays.
#' * `exm_cow()` reports or sets what a forked child (e.g. of
#'   [parallel::mclapply()]) sees: `"private"` (default) gives parent and child
#'   a copy-on-write snapshot taken at the fork; `"shared"` lets them write to
#'   the same file (unsafe for R objects: a child's garbage collector writes
#'   into them); `"duplicate"` gives the child its own copy of every file.
#'   Called without argument it reports the mode and changes nothing.
#' * `exm_lookup()` names the file backing `x`, or `NA` when `x` is not
#'   file-backed. The file is unlinked, so the name is the data directory
#'   and the kernel's name for the anonymous file.
#' * `exm_madvise()` gives the kernel an access-pattern hint for the file
#'   holding `x`.
#' * `exm_stats()` counts the file-backed blocks now alive, their bytes and the
#'   peak of bytes, and the requests of at least the threshold that came from
#'   the ordinary allocator instead: because their disk space could not be
#'   reserved (`fallback_disk`: a block's space is reserved when it is made,
#'   so a full disk never kills R with SIGBUS at a later write), because
#'   exm keeps descriptors free for R (`fallback_fd`: at least 256, or an
#'   eighth of the descriptor limit), or for another reason (`fallback_other`,
#'   e.g. the process's limit of mappings).
#' * `exm_launcher()` gives the path of the `exm` program.
#'
#' Outside exm, all but `exm_active()`, `exm_version()` and `exm_launcher()`
#' raise an error of class `mmap_error_exm` saying R was not started under exm.
#'
#' @param bytes New threshold: a number of bytes, or a size string with a
#'   binary unit such as `"512MiB"` or `"2G"`; at least one page. Omit to
#'   report the current one.
#' @param dir Existing writable directory for new files. Omit to report.
#' @param mode One of `"private"`, `"shared"`, `"duplicate"`. Omit to report.
#' @param x An R object (normally a vector larger than the threshold).
#' @param advice One of `"normal"`, `"random"`, `"sequential"`, `"willneed"`,
#'   `"dontneed"`.
#' @return
#' * `exm_active()`: `TRUE` or `FALSE`.
#' * `exm_version()`: a string.
#' * `exm_threshold()`, `exm_path()`, `exm_cow()`: the current value, or the
#'   previous value (invisibly) when setting.
#' * `exm_lookup()`: a string, or `NA_character_`.
#' * `exm_madvise()`: `x`, invisibly.
#' * `exm_stats()`: a list with `count`, `bytes`, `peak`, `fallback_disk`,
#'   `fallback_fd` and `fallback_other`.
#' * `exm_launcher()`: the path of the `exm` program, or `""` when it is not
#'   installed.
#' @section Error conditions:
#' `mmap_error_exm` when R does not run under exm or the shim refuses a
#' setting; `mmap_error_type` for malformed arguments.
#' @examples
#' exm_active()
#' exm_version()
#' exm_launcher()
#' if (exm_active()) {
#'   old <- exm_threshold(2^20)
#'   x <- numeric(1e6)          # 8 MB: file-backed
#'   exm_lookup(x)
#'   exm_stats()
#'   exm_threshold(old)
#' }
#' # A whole session under exm, from any R session:
#' exm <- exm_launcher()
#' if (nzchar(exm)) {
#'   system2(exm, c("--threshold", "1M", file.path(R.home("bin"), "Rscript"),
#'                  "-e", shQuote("x <- numeric(1e6); print(mmap::exm_stats())")))
#' }
#' @name exm
NULL

#' @rdname exm
#' @export
exm_active <- function() {
  exm_active_()
}

#' @rdname exm
#' @export
exm_version <- function() {
  exm_version_()
}

#' @rdname exm
#' @export
exm_threshold <- function(bytes) {
  exm_check_active()
  old <- exm_threshold_get_()
  if (missing(bytes)) return(old)
  ok <- length(bytes) == 1L && (is.numeric(bytes) || (is.character(bytes) && !is.na(bytes)))
  if (!ok) {
    mmap_abort(sprintf("`bytes` must be a single number or size string, not %s.", describe(bytes)),
               "mmap_error_type")
  }
  # exm's own rules (minimum, units) live in Rust, shared with the launcher.
  parsed <- exm_threshold_parse_(if (is.numeric(bytes)) as.double(bytes) else bytes)
  if (nzchar(parsed$problem)) {
    mmap_abort(sprintf("`bytes` is not a usable threshold (%s): %s.", describe(bytes), parsed$problem),
               "mmap_error_type")
  }
  exm_fail(exm_threshold_set_(parsed$bytes), "Setting the exm threshold")
  invisible(old)
}

#' @rdname exm
#' @export
exm_path <- function(dir) {
  exm_check_active()
  old <- exm_path_get_()
  if (missing(dir)) return(old)
  check_string(dir)
  if (!dir.exists(dir)) {
    mmap_abort(sprintf("`dir` must be an existing directory, not \"%s\".", dir), "mmap_error_exm")
  }
  exm_fail(exm_path_set_(normalizePath(dir, mustWork = TRUE)),
           sprintf("Using \"%s\" for exm files", dir))
  invisible(old)
}

#' @rdname exm
#' @export
exm_cow <- function(mode) {
  exm_check_active()
  old <- exm_cow_get_()
  if (missing(mode)) return(old)
  modes <- c("private", "shared", "duplicate")
  if (!is.character(mode) || length(mode) != 1L || !(mode %in% modes)) {
    mmap_abort(sprintf("`mode` must be one of \"private\", \"shared\", \"duplicate\", not %s.",
                       describe(mode)), "mmap_error_type")
  }
  exm_fail(exm_cow_set_(mode), "Setting the exm fork mode")
  invisible(old)
}

#' @rdname exm
#' @export
exm_lookup <- function(x) {
  exm_check_active()
  name <- exm_lookup_(x)
  if (nzchar(name)) name else NA_character_
}

#' @rdname exm
#' @export
exm_madvise <- function(x, advice = c("normal", "random", "sequential", "willneed", "dontneed")) {
  exm_check_active()
  advice <- match.arg(advice)
  errno <- exm_madvise_(x, advice)
  if (errno == 2L) {
    mmap_abort("`x` is not file-backed (it is smaller than the exm threshold).", "mmap_error_exm")
  }
  exm_fail(errno, "madvise")
  invisible(x)
}

#' @rdname exm
#' @export
exm_stats <- function() {
  exm_check_active()
  s <- exm_stats_()
  list(count = as.integer(s[1]), bytes = s[2], peak = s[3],
       fallback_disk = s[4], fallback_fd = s[5], fallback_other = s[6])
}

#' @rdname exm
#' @export
exm_launcher <- function() {
  p <- system.file("bin", "exm", package = "mmap")
  if (!nzchar(p)) p <- unname(Sys.which("exm"))
  p
}

# Called from .onLoad: under exm, new files go to the session temp dir,
# unless the user chose a directory. The launcher passes EXM_PATH only for
# a choice (--path or EXM_PATH), never for its default (TMPDIR, /tmp).
exm_on_load <- function() {
  if (exm_active_() && !nzchar(Sys.getenv("EXM_PATH"))) {
    exm_path_set_(normalizePath(tempdir(), mustWork = FALSE))
  }
  invisible()
}
