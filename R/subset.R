#' Extract or replace elements of a mapping
#'
#' `m[i]` reads and `m[i] <- value` writes, with R's index forms: missing
#' (all), positive, negative (exclusion), logical (recycled) and doubles past
#' 2^31; zeros are dropped. An index past the end is an error (a mapping has a
#' fixed length). An `NA` index gives `NA` when extracting and is an error when
#' replacing. Values are recycled as in R. With `dim(m) <- c(nr, nc)`,
#' `m[i, j]` indexes in R's column-major order; `m[k]` stays a linear index.
#'
#' @param x An `mmap` object.
#' @param i,j Indices.
#' @param ... Unused.
#' @param drop As for matrices: drop dimensions of extent one.
#' @param value Replacement values, recycled.
#' @return `[` returns an R vector (or matrix); `[<-` returns `x`.
#' @examples
#' m <- as.mmap(as.double(1:12))
#' m[c(1, 3)]
#' m[-(1:10)]
#' m[c(TRUE, FALSE)]
#' m[11:12] <- c(0, NA)
#' dim(m) <- c(3, 4)
#' m[2, ]
#' munmap(m)
#' @name subset
NULL

#' @rdname subset
#' @export
`[.mmap` <- function(x, i, j, ..., drop = TRUE) {
  handle <- handle_of(x)
  spec <- spec_of(x)
  d <- .subset2(x, "dim")
  matrix_form <- (nargs() - !missing(drop)) == 3L
  if (is_compound(.subset2(x, "mode"))) {
    value <- extract_compound(x, handle, i, j, matrix_form)
    hook <- .subset2(x, "extractFUN")
    return(if (is.null(hook)) value else hook(value))
  }
  if (matrix_form) {
    if (length(d) != 2L) mmap_abort("incorrect number of dimensions: set dim(m) first.", "mmap_error_bounds")
    res <- rs(mm_extract_matrix_(handle, spec, index_arg(i), index_arg(j), d[1], d[2]))
    value <- finish_extract(x, res[[1]])
    dim(value) <- res[[2]]
    if (drop) value <- drop(value)
  } else {
    value <- rs(mm_extract_(handle, spec, index_arg(i)))
    value <- finish_extract(x, value)
    if (missing(i) && length(d) == 2L) dim(value) <- d
  }
  hook <- .subset2(x, "extractFUN")
  if (is.null(hook)) value else hook(value)
}

#' @rdname subset
#' @export
`[<-.mmap` <- function(x, i, j, ..., value) {
  handle <- handle_of(x)
  hook <- .subset2(x, "replaceFUN")
  if (!is.null(hook)) value <- hook(value)
  if (is_compound(.subset2(x, "mode"))) {
    return(replace_compound(x, handle, i, j, value, nargs() == 4L))
  }
  int64 <- inherits(value, "integer64")
  if (is.factor(value)) {
    mmap_abort("`value` is a factor; write its codes with as.integer() or its labels to a string mapping.",
               "mmap_error_type")
  }
  matrix_form <- nargs() == 4L
  if (matrix_form) {
    d <- .subset2(x, "dim")
    if (length(d) != 2L) mmap_abort("incorrect number of subscripts on a mapping without dim.", "mmap_error_bounds")
    uneven <- rs(mm_replace_matrix_(handle, spec_of(x), index_arg(i), index_arg(j), d[1], d[2], value, int64))
  } else {
    uneven <- rs(mm_replace_(handle, spec_of(x), index_arg(i), value, int64))
  }
  if (isTRUE(uneven)) {
    warning("number of items to replace is not a multiple of replacement length", call. = FALSE)
  }
  x
}

# Normalises an index for the Rust side; a missing index becomes NULL.
index_arg <- function(i) {
  if (missing(i)) return(NULL)
  if (is.null(i)) return(integer())
  if (is.factor(i)) return(as.integer(i))
  if (inherits(i, "integer64")) return(as.double(i))
  if (is.character(i)) {
    mmap_abort("a mapping has no names: index it by position or with a logical vector.",
               "mmap_error_bounds", call = sys.call(-1))
  }
  if (!(is.numeric(i) || is.logical(i))) {
    mmap_abort(sprintf("an index must be numeric or logical, not %s.", describe(i)),
               "mmap_error_bounds", call = sys.call(-1))
  }
  i
}

# int64 values arrive as bit patterns in a double vector.
finish_extract <- function(x, value) {
  if (.subset2(x, "mode")$name != "int64") return(value)
  # Option mmap.bit64 = FALSE asks for doubles even when bit64 is installed.
  if (isTRUE(getOption("mmap.bit64", TRUE)) && requireNamespace("bit64", quietly = TRUE)) {
    return(structure(value, class = "integer64"))
  }
  res <- mm_int64_to_double_(value)
  if (isTRUE(res[[2]])) {
    warning("int64 values beyond 2^53 lost precision as doubles; install bit64 to keep them exact",
            call. = FALSE)
  }
  res[[1]]
}

#' @export
dim.mmap <- function(x) .subset2(x, "dim")

#' @export
`dim<-.mmap` <- function(x, value) {
  if (!is.null(value)) {
    if (!is.numeric(value) || length(value) != 2L || anyNA(value) || any(value < 0)) {
      mmap_abort(sprintf("`dim` must be two whole numbers c(nrow, ncol), not %s.", describe(value)),
                 "mmap_error_type")
    }
    n <- length(x)
    if (prod(value) != n) {
      mmap_abort(sprintf("dims [product %s] do not match the length of the mapping (%s).",
                         format(prod(value)), format(n)), "mmap_error_type")
    }
    value <- as.double(value)
  }
  x[["dim"]] <- value
  x
}

#' @export
`[[<-.mmap` <- function(x, i, value) {
  # Internal fields only: unclass to avoid recursing into this method.
  cls <- class(x)
  x <- unclass(x)
  x[[i]] <- value
  class(x) <- cls
  x
}

#' @export
`$<-.mmap` <- function(x, name, value) {
  x[[name]] <- value
  x
}

#' @export
head.mmap <- function(x, n = 6L, ...) {
  len <- length(x)
  n <- if (n < 0L) max(len + n, 0) else min(n, len)
  x[seq_len(n)]
}

#' @export
tail.mmap <- function(x, n = 6L, ...) {
  len <- length(x)
  n <- if (n < 0L) max(len + n, 0) else min(n, len)
  x[seq.int(to = len, length.out = n)]
}
