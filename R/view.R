#' Views: base R functions on mapped data
#'
#' `mmap_view(m)` returns an ordinary-looking R vector (an ALTREP object)
#' whose elements are read from the mapping on demand: creating it does no
#' work proportional to the data (well under a millisecond at any size).
#' Base R functions (`sum()`, `mean()`, `x[i]`, `which()`, `table()`, ...)
#' work on it, and C code that reads R vectors reads the mapped pages in
#' place when the file already holds R's representation (`int32`, `real64`,
#' `uchar`, `cplx`, `int64` in the platform's byte order). Other types are
#' decoded on demand.
#'
#' Every layout has a view: scalar types as the matching R vector (`int64` as
#' `bit64::integer64` when bit64 is installed, as doubles otherwise), `bits()`
#' as a logical vector, `char(n)` and `cstring()` as a character vector (each
#' string decoded when first read, then kept), and a `struct()` mapping as a
#' data.frame whose columns are views, so `df$field[i]`, `nrow(df)` and
#' `summary(df$field)` never decode the whole file. A mapping with
#' [extractFUN()] gives `extractFUN(view)`, what `m[]` would give.
#'
#' A view shows what `m[]` shows: it reads the mapping of `m` itself (never
#' the file by path again), so writes through `m[i] <- value`, the writes of a
#' `MAP_PRIVATE` mapping, and a file replaced at the same path behave as for
#' `m`. It stays valid after [munmap()], `rm(m)` and `gc()`. A view never
#' changes the file or the mapping: modifying it (`v[1] <- 0`) first copies
#' it into an ordinary R vector, which it keeps from then on. Write to the
#' file with `m[i] <- value`.
#'
#' `serialize = "value"` saves a view as the plain vector it shows, readable
#' where mmap is not installed. `serialize = "reference"` saves the file's
#' path, the type, the offset and the length instead; reading it back maps
#' the file again (read-only), and fails with an error naming the file if it
#' is gone.
#'
#' @param m An `mmap` object.
#' @param serialize `"value"` or `"reference"`, see Details.
#' @return A raw, logical, integer, double, complex, character or
#'   `integer64` vector (with `dim` for a mapping with `dim`), a data.frame for
#'   a struct mapping, or whatever the mapping's [extractFUN()] returns.
#' @seealso [mmap_apply()] for chunked work; [Summary.mmap()].
#' @examples
#' m <- as.mmap(as.double(1:1e6))
#' v <- mmap_view(m)
#' sum(v)
#' v[10:12]
#' which(v > 999998)
#' m[1] <- 100
#' v[1] # the view shows the mapping's current contents
#' munmap(m)
#' sum(v) # still readable: the view holds the mapping
#'
#' df <- as.mmap(data.frame(id = 1:3, name = c("a", "b", "c")))
#' d <- mmap_view(df)
#' d$name[2]
#' munmap(df)
#' @export
mmap_view <- function(m, serialize = c("value", "reference")) {
  check_m(m)
  serialize <- match.arg(serialize)
  value <- view_value(m, by_reference = serialize == "reference")
  if (is.null(.subset2(m, "extractFUN")) && is.struct(m)) value <- list2DF(value)
  value
}

# What m[] would return, made of views: the hook applied to the raw view
# (for a struct, the named list of column views).
view_value <- function(m, from = 0, len = -1, by_reference = FALSE, call = sys.call(-1)) {
  value <- raw_view(m, from, len, by_reference, call)
  hook <- .subset2(m, "extractFUN")
  if (is.null(hook)) value else hook(value)
}

raw_view <- function(m, from = 0, len = -1, by_reference = FALSE, call = sys.call(-1)) {
  handle <- handle_of(m, call = call)
  mode <- .subset2(m, "mode")
  if (inherits(mode, "struct")) {
    fields <- struct_fields(mode)
    cols <- lapply(seq_along(fields), function(k) {
      v <- column_view(m, handle, mode = fields[[k]], field = k, from, len, by_reference, call)
      rattr <- fields[[k]]$rattr
      if (length(rattr)) attributes(v) <- c(attributes(v), rattr)
      v
    })
    return(stats::setNames(cols, names(fields)))
  }
  v <- column_view(m, handle, mode, field = 0L, from, len, by_reference, call)
  d <- .subset2(m, "dim")
  if (length(d) == 2L && from == 0 && len < 0) dim(v) <- d
  v
}

column_view <- function(m, handle, mode, field, from, len, by_reference, call) {
  int64 <- extracts_integer64(mode)
  bit64 <- int64 && use_bit64()
  info <- list(file = .subset2(m, "file"), off = as.double(.subset2(m, "off")),
               bytes = as.double(.subset2(m, "bytes")), spec = spec_of(m), field = as.integer(field),
               from = as.double(from), len = as.double(len), int64_as_double = int64 && !bit64)
  v <- unwrap_rust(mm_view_(handle, info$spec, info$field, .subset2(m, "cindex"), info$from, info$len,
                   info$int64_as_double, by_reference, info), call = call)
  if (bit64) class(v) <- "integer64"
  v
}

# Option mmap.bit64 = FALSE asks for doubles even when bit64 is installed.
use_bit64 <- function() {
  isTRUE(getOption("mmap.bit64", TRUE)) && requireNamespace("bit64", quietly = TRUE)
}

# A summary computed in Rust, or NULL where R's own function must answer on
# a view (hooks, strings, structs, and types R coerces or rejects).
native_summary <- function(x, op, na.rm, call) {
  if (!inherits(x, "mmap") || !is.null(.subset2(x, "extractFUN")) || is.struct(x)) return(NULL)
  if (!is.logical(na.rm) || length(na.rm) != 1L) return(NULL)
  # int64 is summarised as bit64 does it, only when m[] gives integer64 and
  # na.rm is TRUE or FALSE (bit64's C code reads NA as TRUE).
  if (extracts_integer64(.subset2(x, "mode")) && (!use_bit64() || is.na(na.rm))) return(NULL)
  res <- unwrap_rust(mm_summary_op_(handle_of(x, call = call), spec_of(x), 0L, .subset2(x, "cindex"), 0, -1,
                           op, isTRUE(na.rm)), call = call)
  if (is.null(res)) return(NULL)
  for (w in res[[2]]) warning(simpleWarning(w, call = NULL))
  res[[1]]
}

#' Summaries of a mapping
#'
#' `sum()`, `prod()`, `min()`, `max()`, `range()`, `any()`, `all()`,
#' `mean()` and `anyNA()` of an `mmap` object give what they give on `m[]`,
#' computed in Rust over the mapped bytes, in parallel, without extracting the
#' data: integer and logical results are identical to base R's (a sum
#' outside the integer range becomes a double, as in R), doubles are summed
#' with compensation (at least as accurate as R's long double), `na.rm` is
#' honoured, and an empty mapping gives base R's answer and warnings. An
#' `int64()` mapping gives bit64's `integer64` answers for `sum()`, `min()`,
#' `max()`, `range()`, `any()`, `all()` and `mean()` (an overflowing sum is
#' `NA` with bit64's warning; the mean is bit64's truncated long double
#' quotient, reproduced exactly), also without a copy. Where
#' base R would coerce or reject the type (complex `min()`, raw `sum()`), or
#' for strings, structs and mappings with an [extractFUN()], the function is
#' applied to [mmap_view()] of the mapping, so the answer (or the error) is
#' base R's on what `m[]` returns.
#'
#' @param x An `mmap` object.
#' @param ... Further objects (mappings or vectors) for the Summary group;
#'   for `mean()`, further arguments to `mean()` (such as `trim`).
#' @param na.rm Drop missing values first.
#' @param recursive Unused, as for [anyNA()].
#' @param mode As in [as.vector()].
#' @return As the base function.
#' @examples
#' m <- as.mmap(c(2L, NA, 5L))
#' sum(m, na.rm = TRUE)
#' range(m, na.rm = TRUE)
#' mean(m, na.rm = TRUE)
#' anyNA(m)
#' munmap(m)
#' @name Summary.mmap
NULL

#' @rdname Summary.mmap
#' @export
Summary.mmap <- function(..., na.rm = FALSE) {
  args <- list(...)
  call <- sys.call()
  if (length(args) == 1L) {
    value <- native_summary(args[[1]], .Generic, na.rm, call)
    if (!is.null(value)) return(value)
  }
  args <- lapply(args, function(a) if (inherits(a, "mmap")) view_value(a, call = call) else a)
  do.call(.Generic, c(args, na.rm = na.rm))
}

#' @rdname Summary.mmap
#' @export
mean.mmap <- function(x, ..., na.rm = FALSE) {
  if (...length() == 0L) {
    value <- native_summary(x, "mean", na.rm, sys.call())
    if (!is.null(value)) return(value)
  }
  mean(view_value(x), ..., na.rm = na.rm)
}

#' @rdname Summary.mmap
#' @export
anyNA.mmap <- function(x, recursive = FALSE) {
  value <- native_summary(x, "anyNA", FALSE, sys.call())
  if (!is.null(value)) return(value)
  anyNA(view_value(x), recursive = recursive)
}

#' @rdname Summary.mmap
#' @export
as.vector.mmap <- function(x, mode = "any") as.vector(view_value(x), mode)

check_m <- function(m, call = sys.call(-1)) {
  if (!inherits(m, "mmap")) {
    mmap_abort(sprintf("`m` must be an mmap object, not %s.", describe(m)), "mmap_error_type", call = call)
  }
}
