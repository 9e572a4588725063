#' Base R functions on a mapping
#'
#' To base R an `mmap` object is a vector of its values, or an error: never
#' the fields it is made of. `length(m)` is the number of elements and
#' `names(m)` is `NULL` (a mapping has no names). `m[[i]]` reads one element
#' with the rules of base R's `[[` (one position; `m[[i, j]]` with a `dim`)
#' and `m[[i]] <- value` writes one.
#'
#' These work on the values, exactly as on `m[]`: `as.list()` (so `lapply()`,
#' `sapply()`, `Map()`, `Reduce()`, `Filter()`), `unlist()`, `c()`, `rep()`,
#' `rev()`, `sort()`, `order()` (through `xtfrm()`), `rank()`, `unique()`,
#' `duplicated()`, `anyDuplicated()`, `table()`, `median()`, `quantile()`, `format()`,
#' `toString()`, `as.character()`, `as.integer()`, `as.double()`,
#' `as.numeric()`, `as.logical()`, `as.complex()`, `as.raw()`, `as.matrix()`,
#' `as.data.frame()`, `t()`, `diff()`, `cbind()`, `rbind()` and
#' `all.equal()`. Each reads the whole mapping into memory, as `m[]` does.
#'
#' Elementwise mathematics (`abs()`, `round()`, `cumsum()`, `log()`, ...) is
#' an error of class `mmap_error_op`, as arithmetic is (see [Ops.mmap]):
#' extract first, `abs(m[])`. Functions that cannot dispatch on a class,
#' such as `for (v in m)`, `nchar(m)`, `which(m)`, `match()` and `%in%`, are
#' errors too (base R's own, since the object is not a vector); use `m[]`,
#' e.g. `for (v in m[])`, `m[] %in% v` (or, for one value, `m == v`).
#'
#' @param x,target An `mmap` object.
#' @param i,j Positions: one each.
#' @param exact Unused (a mapping has no names).
#' @param value One value (for a struct mapping, one record as a list).
#' @param ... Passed to the same function on `m[]`.
#' @return The same as the function gives for `m[]`; `names()` gives `NULL`;
#'   `[[<-` returns `x`.
#' @examples
#' m <- as.mmap(c(3L, 1L, 2L, 3L))
#' m[[2]]
#' m[[2]] <- 5L
#' sort(m)
#' unique(m)
#' median(m)
#' sapply(m, function(v) v * 2L)
#' try(abs(m))
#' try(for (v in m) print(v))
#' for (v in m[]) print(v)
#' munmap(m)
#' @name mmap-generics
#' @importFrom stats median quantile
NULL

#' @rdname mmap-generics
#' @export
`[[.mmap` <- function(x, i, j, ..., exact = TRUE) {
  subscripts <- nargs() - 1L - !missing(exact)
  d <- .subset2(x, "dim")
  if (subscripts == 2L && length(d) == 2L) {
    row <- one_position(if (missing(i)) NULL else i, d[1])
    col <- one_position(if (missing(j)) NULL else j, d[2])
    value <- x[(col - 1) * d[1] + row]
  } else if (subscripts == 1L) {
    value <- x[one_position(if (missing(i)) NULL else i, length(x))]
  } else {
    mmap_abort(sprintf("incorrect number of subscripts: m[[i]] takes one position%s.",
                       if (length(d) == 2L) " (or m[[i, j]] one cell)" else ""), "mmap_error_bounds")
  }
  value
}

#' @rdname mmap-generics
#' @export
`[[<-.mmap` <- function(x, i, j, ..., value) {
  subscripts <- nargs() - 2L
  d <- .subset2(x, "dim")
  if (subscripts == 2L && length(d) == 2L) {
    pos <- (one_position(j, d[2]) - 1) * d[1] + one_position(i, d[1])
  } else if (subscripts == 1L) {
    pos <- one_position(i, length(x))
  } else {
    mmap_abort("incorrect number of subscripts: m[[i]] <- value writes one element.", "mmap_error_bounds")
  }
  if (!inherits(.subset2(x, "mode"), "struct")) {
    if (length(value) == 0L) mmap_abort("replacement has length zero", "mmap_error_value")
    if (length(value) > 1L) {
      mmap_abort(sprintf("more elements supplied than there are to replace: m[[i]] <- value takes one value, not %d.",
                         length(value)), "mmap_error_value")
    }
  }
  x[pos] <- value
  x
}

# One position by base R's rules for `[[` on a vector of length `n`: its own
# errors (length not 1, zero, out of bounds), raised as classed conditions.
# seq_len(n) is a compact sequence, so nothing proportional to `n` is made.
one_position <- function(i, n, call = sys.call(-1)) {
  if (is.character(i) || is.factor(i)) {
    mmap_abort("subscript out of bounds: a mapping has no names; give a position.",
               "mmap_error_bounds", call = call)
  }
  if (is.null(i) || !(is.numeric(i) || is.logical(i))) {
    mmap_abort(sprintf("invalid subscript: m[[i]] takes one position, not %s.", describe(i)),
               "mmap_error_bounds", call = call)
  }
  if (inherits(i, "integer64")) i <- as.double(i)
  tryCatch(seq_len(n)[[i]], error = function(e) {
    mmap_abort(sprintf("%s (m[[i]] reads one of %s elements).", conditionMessage(e), format(n)),
               "mmap_error_bounds", call = call)
  })
}

#' @rdname mmap-generics
#' @export
`$<-.mmap` <- function(x, name, value) {
  mmap_abort(sprintf(
    "cannot set `$%s` of a mapping: write values with m[i] <- value; change dim, hooks or type with dim(m) <-, extractFUN(m) <-, as.int16(m), ...",
    name), "mmap_error_type")
}

#' @rdname mmap-generics
#' @export
names.mmap <- function(x) NULL

#' @rdname mmap-generics
#' @export
`names<-.mmap` <- function(x, value) {
  if (is.null(value)) return(x)
  mmap_abort("a mapping cannot hold names; extract it first (v <- m[]; names(v) <- ...).",
             "mmap_error_type")
}

# The values of every mmap among `args`, other arguments as they are.
values_of <- function(args) lapply(args, function(a) if (inherits(a, "mmap")) a[] else a)

#' @rdname mmap-generics
#' @export
as.list.mmap <- function(x, ...) as.list(x[], ...)

#' @rdname mmap-generics
#' @param recursive,use.names As for [unlist()].
#' @method unlist mmap
#' @export
unlist.mmap <- function(x, recursive = TRUE, use.names = TRUE) {
  unlist(x[], recursive = recursive, use.names = use.names)
}

#' @rdname mmap-generics
#' @export
c.mmap <- function(...) do.call(c, values_of(list(...)))

#' @rdname mmap-generics
#' @export
rep.mmap <- function(x, ...) rep(x[], ...)

#' @rdname mmap-generics
#' @export
rev.mmap <- function(x) rev(x[])

#' @rdname mmap-generics
#' @param decreasing As for [sort()].
#' @export
sort.mmap <- function(x, decreasing = FALSE, ...) sort(x[], decreasing = decreasing, ...)

#' @rdname mmap-generics
#' @export
xtfrm.mmap <- function(x) xtfrm(x[])

#' @rdname mmap-generics
#' @param incomparables As for [unique()].
#' @export
unique.mmap <- function(x, incomparables = FALSE, ...) unique(x[], incomparables = incomparables, ...)

#' @rdname mmap-generics
#' @export
duplicated.mmap <- function(x, incomparables = FALSE, ...) {
  duplicated(x[], incomparables = incomparables, ...)
}

#' @rdname mmap-generics
#' @export
anyDuplicated.mmap <- function(x, incomparables = FALSE, ...) {
  anyDuplicated(x[], incomparables = incomparables, ...)
}

#' @rdname mmap-generics
#' @param na.rm As for [stats::median()].
#' @export
median.mmap <- function(x, na.rm = FALSE, ...) stats::median(x[], na.rm = na.rm, ...)

#' @rdname mmap-generics
#' @export
quantile.mmap <- function(x, ...) stats::quantile(x[], ...)

#' @rdname mmap-generics
#' @export
format.mmap <- function(x, ...) format(x[], ...)

#' @rdname mmap-generics
#' @export
toString.mmap <- function(x, ...) toString(x[], ...)

#' @rdname mmap-generics
#' @export
as.character.mmap <- function(x, ...) as.character(x[], ...)

#' @rdname mmap-generics
#' @export
as.integer.mmap <- function(x, ...) as.integer(x[], ...)

#' @rdname mmap-generics
#' @export
as.double.mmap <- function(x, ...) as.double(x[], ...)

#' @rdname mmap-generics
#' @export
as.logical.mmap <- function(x, ...) as.logical(x[], ...)

#' @rdname mmap-generics
#' @export
as.complex.mmap <- function(x, ...) as.complex(x[], ...)

#' @rdname mmap-generics
#' @export
as.raw.mmap <- function(x) as.raw(x[])

#' @rdname mmap-generics
#' @export
as.matrix.mmap <- function(x, ...) as.matrix(x[], ...)

#' @rdname mmap-generics
#' @export
as.data.frame.mmap <- function(x, row.names = NULL, optional = FALSE, ..., nm = deparse1(substitute(x))) {
  values <- x[]
  if (is.list(values)) {
    as.data.frame(values, row.names = row.names, optional = optional, ...)
  } else {
    as.data.frame(values, row.names = row.names, optional = optional, ..., nm = nm)
  }
}

#' @rdname mmap-generics
#' @export
t.mmap <- function(x) t(x[])

#' @rdname mmap-generics
#' @export
diff.mmap <- function(x, ...) diff(x[], ...)

#' @rdname mmap-generics
#' @param deparse.level As for [cbind()].
#' @export
cbind.mmap <- function(..., deparse.level = 1) {
  do.call(cbind, c(values_of(list(...)), deparse.level = deparse.level))
}

#' @rdname mmap-generics
#' @export
rbind.mmap <- function(..., deparse.level = 1) {
  do.call(rbind, c(values_of(list(...)), deparse.level = deparse.level))
}

#' @rdname mmap-generics
#' @param current Compared with `target[]`.
#' @param nm Column name, as for [as.data.frame()] of a vector.
#' @param row.names,optional As for [as.data.frame()].
#' @param name The field `$<-` would set (an error: fields are not set this way).
#' @export
all.equal.mmap <- function(target, current, ...) {
  all.equal(target[], if (inherits(current, "mmap")) current[] else current, ...)
}

#' @rdname mmap-generics
#' @export
Math.mmap <- function(x, ...) {
  mmap_abort(sprintf(
    "`%s` is not defined for mmap objects: extract the values first, e.g. %s(m[]).",
    .Generic, .Generic), c("mmap_error_op", "mmap_error_type"), call = sys.call(-1))
}

#' @rdname mmap-generics
#' @param z An `mmap` object.
#' @export
Complex.mmap <- function(z) {
  mmap_abort(sprintf(
    "`%s` is not defined for mmap objects: extract the values first, e.g. %s(m[]).",
    .Generic, .Generic), c("mmap_error_op", "mmap_error_type"), call = sys.call(-1))
}
