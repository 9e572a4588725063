#' Extraction and replacement hooks
#'
#' `extractFUN(m) <- f` makes every extraction `m[...]` return `f(values)`;
#' `replaceFUN(m) <- g` makes every replacement `m[...] <- value` write
#' `g(value)`. Both can also be given to [mmap()]. Typical uses: a struct
#' mapping that extracts as a data.frame, or a `real64` mapping of days that
#' extracts as `Date`. `NULL` removes a hook. Comparisons and [is.na()] look at
#' the stored values, not the hook's result.
#'
#' @param x An `mmap` object.
#' @param value A function of one argument, or `NULL`.
#' @return `extractFUN()`, `replaceFUN()`: the hook or `NULL`. The replacement
#'   forms return the modified `mmap` object.
#' @examples
#' m <- as.mmap(c(0, 365, 18000))
#' extractFUN(m) <- function(x) as.Date(x, origin = "1970-01-01")
#' replaceFUN(m) <- function(x) as.numeric(as.Date(x))
#' m[]
#' m[1] <- as.Date("2024-02-29")
#' m[1]
#' extractFUN(m)
#' munmap(m)
#' @name hooks
NULL

#' @rdname hooks
#' @export
extractFUN <- function(x) {
  check_mmap(x)
  .subset2(x, "extractFUN")
}

#' @rdname hooks
#' @export
`extractFUN<-` <- function(x, value) set_hook(x, "extractFUN", value)

#' @rdname hooks
#' @export
replaceFUN <- function(x) {
  check_mmap(x)
  .subset2(x, "replaceFUN")
}

#' @rdname hooks
#' @export
`replaceFUN<-` <- function(x, value) set_hook(x, "replaceFUN", value)

check_mmap <- function(x, call = sys.call(-1)) {
  if (!inherits(x, "mmap")) {
    mmap_abort(sprintf("`x` must be an mmap object, not %s.", describe(x)), "mmap_error_type", call = call)
  }
}

set_hook <- function(x, which, value) {
  call <- sys.call(-1)
  check_mmap(x, call = call)
  if (!is.null(value) && !is.function(value)) {
    mmap_abort(sprintf("`value` must be a function or NULL, not %s.", describe(value)),
               "mmap_error_type", call = call)
  }
  do.call(mmap_set, c(list(x), stats::setNames(list(value), which)))
}

#' Missing values of a mapping
#'
#' `is.na(m)` tells which stored elements are `NA`, for every type: the NA
#' bit pattern of types that have one, the sentinel of types given one
#' (`int8(na = -128L)`, `char(8, na = "NA")`), never for types without NA
#' (`bits()`, `cstring()`, `uchar()`). For a struct mapping it is a logical
#' matrix, one column per field. Hooks are not applied.
#'
#' @param x An `mmap` object.
#' @return A logical vector (a matrix for struct mappings).
#' @examples
#' m <- as.mmap(c(1, NA, 3))
#' is.na(m)
#' munmap(m)
#' @export
is.na.mmap <- function(x) {
  x <- set_hook(x, "extractFUN", NULL)
  values <- x[]
  if (is.list(values)) {
    n <- length(x)
    out <- matrix(FALSE, nrow = n, ncol = length(values), dimnames = list(NULL, names(values)))
    for (k in seq_along(values)) out[, k] <- is.na(values[[k]])
    return(out)
  }
  out <- is.na(values)
  attributes(out) <- NULL
  d <- dim(x)
  if (length(d) == 2L) dim(out) <- d
  out
}
