#' Extract or replace elements of a mapping
#'
#' `m[i]` reads and `m[i] <- value` writes, with exactly base R's index
#' rules: missing (all), positive, negative (exclusion), logical (recycled),
#' doubles (truncated toward zero first, so `-0.5` is `0`) and doubles past
#' 2^31; zeros are dropped; `NA`, `NaN` and `-Inf` are `NA` indices. An `NA`
#' index gives `NA` when extracting; when replacing it is skipped for a
#' single value and an error for several, as in base R. Values are recycled
#' as in R (with its warning when uneven). With `dim(m) <- c(nr, nc)`,
#' `m[i, j]` indexes in R's column-major order (there, uneven recycling is an
#' error, as in R), `m[k]` stays a linear index and a two-column numeric
#' matrix `m[cbind(i, j)]` selects cells. More subscripts than that are base
#' R's "incorrect number of dimensions" / "incorrect number of subscripts"
#' errors.
#'
#' One deliberate difference: a mapping has a fixed length, so an index past
#' the end (a position above `length(m)`, `Inf`, a logical index with `TRUE`
#' past the end, or any logical index longer than the mapping in `m[i] <-
#' value`) is an error of class `mmap_error_bounds`, where base R reads `NA`
#' or extends the vector. Every failed replacement leaves the file unchanged.
#' Runs `a:b` are copied in bulk once every element is checked to be one more
#' than the last (a sorted index with ties is not a run).
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
#' m[cbind(c(1, 3), c(2, 4))]   # cells (1, 2) and (3, 4)
#' m[sort(c(3, 1, 1))]          # ties stay ties
#' m[-Inf]                      # an NA index, as in base R
#' try(m[Inf])                  # past the end: an error
#' munmap(m)
#' @name subset
NULL

#' @rdname subset
#' @export
`[.mmap` <- function(x, i, j, ..., drop = TRUE) {
  handle <- handle_of(x)
  mode <- .subset2(x, "mode")
  d <- .subset2(x, "dim")
  # Subscripts written, empty ones included: m[i] and m[] are 1, m[i, ] is 2.
  subscripts <- nargs() - 1L - !missing(drop)
  check_subscripts(subscripts, d, mode, "incorrect number of dimensions")
  if (subscripts == 1L && !missing(i) && is_cell_index(i, d)) i <- cell_positions(i, d)
  if (subscripts == 2L && length(d) == 2L) warn_matrix_subscripts(i, j)
  value <- if (subscripts == 2L && !inherits(mode, "struct")) {
    extract_matrix(x, handle, i, j, d, drop)
  } else {
    fields <- if (subscripts == 2L && !missing(j)) field_positions(mode, spec_of(x), j)
    v <- unwrap_rust(mm_extract_(handle, spec_of(x), index_arg(i), fields, .subset2(x, "cindex")))
    v <- finish_extract(x, v)
    if (missing(i) && length(d) == 2L) dim(v) <- d
    v
  }
  hook <- .subset2(x, "extractFUN")
  if (is.null(hook)) value else hook(value)
}

#' @rdname subset
#' @export
`[<-.mmap` <- function(x, i, j, ..., value) {
  handle <- handle_of(x)
  mode <- .subset2(x, "mode")
  d <- .subset2(x, "dim")
  subscripts <- nargs() - 2L
  # Base R says "subscripts" here; the problem is the same as for `[`.
  check_subscripts(subscripts, d, mode, "incorrect number of subscripts (incorrect number of dimensions)")
  hook <- .subset2(x, "replaceFUN")
  if (!is.null(hook)) value <- hook(value)
  # Strings and records take factor labels; numbers and bits never guess.
  if (is.factor(value) && !inherits(mode, c("char", "struct"))) {
    mmap_abort("`value` is a factor; write its codes with as.integer() or its labels to a string mapping.",
               "mmap_error_type")
  }
  if (subscripts == 1L && !missing(i) && is_cell_index(i, d)) i <- cell_positions(i, d)
  if (subscripts == 2L && length(d) == 2L) warn_matrix_subscripts(i, j)
  if (subscripts == 2L && !inherits(mode, "struct")) {
    value <- replacement_value(mode, NULL, value)
    uneven <- unwrap_rust(mm_replace_matrix_(handle, spec_of(x), index_arg(i), index_arg(j), d[1], d[2],
                                    value, inherits(value, "integer64"), .subset2(x, "cindex")))
  } else {
    fields <- if (subscripts == 2L && !missing(j)) field_positions(mode, spec_of(x), j)
    value <- replacement_value(mode, fields, value)
    uneven <- unwrap_rust(mm_replace_(handle, spec_of(x), index_arg(i), fields, value, inherits(value, "integer64"),
                             .subset2(x, "cindex")))
  }
  if (isTRUE(uneven)) {
    warning("number of items to replace is not a multiple of replacement length", call. = FALSE)
  }
  x
}

# Base R's checks on the number of subscripts: m[i] always, m[i, j] with a
# dim (or on a struct, where j picks fields), nothing with more.
check_subscripts <- function(n, d, mode, what, call = sys.call(-1)) {
  if (n > 2L) {
    mmap_abort(sprintf("%s: a mapping takes m[i] or m[i, j], not %d subscripts.", what, n),
               "mmap_error_bounds", call = call)
  }
  if (n == 2L && length(d) != 2L && !inherits(mode, "struct")) {
    mmap_abort(sprintf("%s: m[i, j] needs a matrix; set dim(m) <- c(nrow, ncol) first, or index it as m[i].",
                       what), "mmap_error_bounds", call = call)
  }
}

# Matrix subscripts are integers to R: a non-finite or huge double becomes NA
# with this warning (past the end it is then our bounds error).
warn_integer_range <- function(i) {
  if (is.double(i) && any(is.infinite(i) | abs(i) >= 2^31, na.rm = TRUE)) {
    warning("NAs introduced by coercion to integer range", call. = FALSE)
  }
}

# A numeric two-column matrix indexes cells of a mapping with dim, as in base R.
is_cell_index <- function(i, d) {
  length(d) == 2L && is.matrix(i) && ncol(i) == 2L && (is.integer(i) || is.double(i)) &&
    !inherits(i, "integer64")
}

# m[i, j] on a mapping with dim.
extract_matrix <- function(x, handle, i, j, d, drop) {
  res <- unwrap_rust(mm_extract_matrix_(handle, spec_of(x), index_arg(i), index_arg(j), d[1], d[2], .subset2(x, "cindex")),
            call = sys.call(-1))
  value <- finish_extract(x, res[[1]])
  dim(value) <- res[[2]]
  if (drop) drop(value) else value
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
  mode <- .subset2(x, "mode")
  if (inherits(mode, "struct")) return(restore_columns(mode, value))
  if (!extracts_integer64(mode)) return(value)
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
    if (!is.numeric(value) || length(value) != 2L || anyNA(value) || any(value < 0) ||
        any(value != trunc(value))) {
      mmap_abort(sprintf("`dim` must be two whole numbers c(nrow, ncol), not %s.", describe(value)),
                 "mmap_error_type")
    }
    if (inherits(.subset2(x, "mode"), "struct")) {
      mmap_abort("a struct mapping has records and fields already: index it as m[i, j] without a dim.",
                 "mmap_error_type")
    }
    n <- length(x)
    if (prod(value) != n) {
      mmap_abort(sprintf("dims [product %s] do not match the length of the mapping (%s).",
                         format(prod(value)), format(n)), "mmap_error_type")
    }
    value <- as.double(value)
  }
  mmap_set(x, dim = value)
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

# m[cbind(i, j)]: the linear positions of the cells, resolved in Rust.
cell_positions <- function(i, d) {
  warn_integer_range(i)
  unwrap_rust(mm_cells_(i, d[1], d[2]))
}

# m[i, j]: base R's warnings for subscripts past the integer range.
warn_matrix_subscripts <- function(i, j) {
  if (!missing(i)) warn_integer_range(i)
  if (!missing(j)) warn_integer_range(j)
}
