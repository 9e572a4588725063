#' Compare a mapping with a value
#'
#' `m < 100` returns the positions of the elements of `m` that are below 100:
#' exactly what `which(m[] < 100)` gives, without extracting the mapping. The
#' six comparisons `==`, `!=`, `<`, `<=`, `>` and `>=` are supported, with the
#' mapping on either side (`100 > m` is the same as `m < 100`).
#'
#' The comparison is done on the stored values in full precision:
#' * an integer type against a fractional value compares with the value
#'   itself, so `m < 10.5` includes 10;
#' * signed types are signed, the mapping's byte order is honoured and
#'   logical types compare as 0 and 1;
#' * `int64` compares exactly, against doubles and `bit64::integer64` values
#'   alike, also beyond 2^53;
#' * `NA` never matches: neither an `NA` element (nor `NaN`) nor anything
#'   at all when the value is `NA`;
#' * complex mappings (and complex values) support only `==` and `!=`;
#' * string mappings (`char(n)`, `cstring`) are compared with a string, by
#'   exact equality of the whole string (`"ab"` does not equal `"abc"`) and by
#'   byte order of the UTF-8 bytes, which is R's order in the C collation
#'   (`Sys.setlocale("LC_COLLATE", "C")`); the nul padding of a fixed-width
#'   field is not part of its string, and a `char(n, na = )` sentinel is `NA`;
#' * `bits` mappings compare as the logicals they hold (0 and 1), as the
#'   other logical types do.
#'
#' A mapping with an `extractFUN` is compared by its stored values (the hook is
#' not applied). Large mappings are scanned in parallel threads.
#'
#' Other operators (arithmetic, `!`, `&`, ...) are errors of class
#' `mmap_error_op`: extract first (`m[] + 1`). So are comparisons with a value
#' that is not of length one, comparisons of two mappings and comparisons of
#' a struct mapping as a whole (compare a field instead).
#'
#' A classed value (a `Date`, a `POSIXct`) is compared by the number it
#' stores; a factor is an error (compare with its codes or labels).
#'
#' @section Values with Ops methods of their own, on R < 4.3:
#' When both operands have an Ops method (an `mmap` and a `bit64::integer64`,
#' a `Date`, a `POSIXct` or a factor), R before 4.3 cannot choose between
#' them: it warns "Incompatible methods" and compares without either. There,
#' compare with the plain number instead, e.g. `m > 9007199254740992` (exact
#' as well) or `m > unclass(as.Date("2021-01-01"))`. From R 4.3 on, mmap takes
#' the comparison (it answers `chooseOpsMethod()`).
#'
#' @param e1,e2 An `mmap` object and a single value, in either order.
#' @return An integer vector of the matching positions in ascending order
#'   (a double vector when a position is beyond `.Machine$integer.max`).
#' @seealso [which()], [`[.mmap`][subset]
#' @examples
#' m <- as.mmap(c(5L, 10L, NA, 11L, -3L))
#' m < 10.5
#' which(m[] < 10.5)  # the same, through an extracted vector
#' 10.5 > m
#' m != 10
#' m == NA            # NA matches nothing
#' try(m + 1)
#' munmap(m)
#'
#' b <- as.mmap(c(-1L, 200L, 3L), mode = int16(), endian = "big")
#' b < 0
#' munmap(b)
#'
#' s <- as.mmap(c("ab", "abc", "b", ""), mode = char(3))
#' s == "ab"          # exact: "abc" is not "ab"
#' s >= "ab"
#' "b" > s            # the same as s < "b"
#' munmap(s)
#' @name Ops.mmap
#' @export
Ops.mmap <- function(e1, e2) {
  unary <- nargs() == 1L
  # Errors name the expression the user wrote, e.g. `m + 1`.
  call <- if (unary) call(.Generic, substitute(e1)) else call(.Generic, substitute(e1), substitute(e2))
  mmap_ops(.Generic, e1, e2, unary = unary, call = call)
}

# The work of Ops.mmap, callable with an explicit operator.
mmap_ops <- function(op, e1, e2, unary = FALSE, call = sys.call(-1)) {
  op <- switch(op,
    "==" = , "!=" = , "<" = , "<=" = , ">" = , ">=" = op,
    mmap_abort(sprintf(
      "`%s` is not defined for mmap objects: a mapping supports only the comparisons ==, !=, <, <=, > and >= with a single value; extract it first (m[]) for anything else.",
      op), c("mmap_error_op", "mmap_error_type"), call = call)
  )
  if (unary) {
    mmap_abort(sprintf("`%s` needs two operands.", op), c("mmap_error_op", "mmap_error_type"),
               call = call)
  }
  if (inherits(e1, "mmap") && inherits(e2, "mmap")) {
    mmap_abort(sprintf(
      "cannot compare two mappings with `%s`: compare a mapping with a single value, or extract one of them (m[]).",
      op), c("mmap_error_op", "mmap_error_type"), call = call)
  }
  # Rust turns `v < m` into `m > v`.
  mapping_first <- inherits(e1, "mmap")
  x <- if (mapping_first) e1 else e2
  value <- compare_value(if (mapping_first) e2 else e1, op, call = call)
  handle <- handle_of(x, call = call)
  unwrap_rust(mm_compare_(handle, spec_of(x), op, value, inherits(value, "integer64"), .subset2(x, "cindex"),
                          mapping_first), call = call)
}

# The value a mapping is compared with: one atomic element.
compare_value <- function(value, op, call) {
  if (is.factor(value)) {
    mmap_abort(sprintf(
      "cannot compare a mapping with a factor using `%s`: compare with as.integer() of it (its codes) or as.character() of it (its labels).",
      op), "mmap_error_type", call = call)
  }
  if (!is.atomic(value) || is.null(value)) {
    mmap_abort(sprintf("cannot compare a mapping with %s using `%s`: compare it with a single value.",
                       describe(value), op), "mmap_error_type", call = call)
  }
  if (length(value) != 1L) {
    mmap_abort(sprintf(
      "cannot compare a mapping with %d values using `%s`: compare it with a single value (for several, combine results, e.g. union(m == a, m == b)).",
      length(value), op), "mmap_error_value", call = call)
  }
  if (inherits(value, "integer64")) {
    return(structure(as.vector(unclass(value)), class = "integer64"))
  }
  # Dates, times and other classed numbers compare by their stored number.
  value <- as.vector(unclass(value))
  # Strings are stored (and extracted) as UTF-8 bytes.
  if (is.character(value)) value <- enc2utf8(value)
  value
}

# From R 4.3, R asks which of two Ops methods to use (e.g. mmap vs integer64).
# Registered conditionally in NAMESPACE; the generic does not exist before 4.3.
#' @rawNamespace if (getRversion() >= "4.3.0") S3method(chooseOpsMethod, mmap)
chooseOpsMethod.mmap <- function(x, y, mx, my, cl, reverse) TRUE
