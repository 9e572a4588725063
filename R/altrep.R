#' Zero-copy views: use base R functions on mapped data
#'
#' `as.altrep()` returns an ordinary-looking R vector (an ALTREP object) whose
#' elements are read from the mapping. When the file already holds R's own
#' representation (`int32`, `real64`, `uchar`, `cplx`, `int64` in the
#' platform's byte order) R reads the mapped pages directly, without copying;
#' other types are decoded on demand, a region at a time. Base R functions
#' (`sum()`, `mean()`, `x[i]`, `which()`, `range()`, ...) work on the view.
#'
#' The view maps the bytes again, privately: [munmap()] invalidates the `mmap`
#' object but never unmaps pages a view still reads. The view never changes
#' the file: modifying it (`v[1] <- 0`) changes a private copy-on-write page,
#' as for any R vector; write to the file with `m[i] <- value`. Writes through
#' `m` are visible in a view of a type R reads in place, for pages the view has
#' not modified.
#'
#' A view survives [saveRDS()]/[readRDS()] by re-mapping the file by path.
#'
#' `sum()`, `min()`, `max()`, `range()`, `prod()`, `any()`, `all()` and
#' `mean()` on an `mmap` object go through a view.
#'
#' @param x An `mmap` object (not a struct or string mapping).
#' @return A raw, logical, integer, double, complex or `integer64` vector.
#' @examples
#' m <- as.mmap(as.double(1:1e6))
#' v <- as.altrep(m)
#' sum(v)
#' v[10:12]
#' which(v > 999998)
#' sum(m)
#' munmap(m)
#' sum(v) # still readable: the view holds the mapping
#' @export
as.altrep <- function(x) {
  handle <- handle_of(x)
  spec <- spec_of(x)
  info <- list(file = .subset2(x, "file"), off = as.double(.subset2(x, "off")),
               bytes = as.double(.subset2(x, "bytes")), spec = spec)
  view <- rs(mm_view_(handle, info))
  if (.subset2(x, "mode")$name == "int64") class(view) <- "integer64"
  d <- .subset2(x, "dim")
  if (length(d) == 2L) dim(view) <- d
  view
}

#' @rdname as.altrep
#' @param ... Further arguments to the generic.
#' @param na.rm Drop `NA`s first.
#' @export
Summary.mmap <- function(..., na.rm = FALSE) {
  args <- lapply(list(...), function(a) if (inherits(a, "mmap")) as.altrep(a) else a)
  do.call(.Generic, c(args, na.rm = na.rm))
}

#' @rdname as.altrep
#' @export
mean.mmap <- function(x, ...) mean(as.altrep(x), ...)

#' @rdname as.altrep
#' @param mode As in [as.vector()].
#' @export
as.vector.mmap <- function(x, mode = "any") as.vector(as.altrep(x), mode)
