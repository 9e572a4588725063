#' Apply a function to a mapping chunk by chunk
#'
#' Calls `FUN` on successive views of at most `chunk` elements of `m` (the
#' last one may be shorter), with `...` passed on, and returns the results as
#' a list, like [lapply()]. Each chunk is a [mmap_view()] of a window of the
#' mapping (a data.frame of rows for a struct mapping, `extractFUN` applied
#' when the mapping has one), so nothing is copied beyond what `FUN` reads:
#' this is how anything R can compute on a vector is computed over a file
#' larger than memory. A progress bar (from cli) appears when the work takes
#' more than a couple of seconds.
#'
#' @param m An `mmap` object.
#' @param FUN A function, or the name of one, called as `FUN(chunk, ...)`.
#' @param ... Further arguments to `FUN`.
#' @param chunk Elements per chunk: a whole number of at least 1.
#' @return A list with one result per chunk (empty for an empty mapping).
#' @examples
#' m <- as.mmap(as.double(1:1e6))
#' parts <- mmap_apply(m, function(v, p) sum(v^p), p = 2, chunk = 250000)
#' length(parts)
#' sum(unlist(parts)) == sum(as.double(1:1e6)^2)
#' munmap(m)
#' @export
mmap_apply <- function(m, FUN, ..., chunk = 1e6) {
  check_m(m)
  FUN <- match.fun(FUN)
  if (!is.numeric(chunk) || length(chunk) != 1L || is.na(chunk) || chunk < 1 || chunk != trunc(chunk)) {
    mmap_abort(sprintf("`chunk` must be a single whole number of at least 1, not %s.", describe(chunk)),
               "mmap_error_type")
  }
  n <- as.double(length(m))
  starts <- if (n > 0) seq(0, n - 1, by = chunk) else numeric()
  out <- vector("list", length(starts))
  bar <- cli::cli_progress_bar("mmap_apply", total = length(starts), clear = TRUE,
                               .envir = environment())
  for (k in seq_along(starts)) {
    view <- view_value(m, from = starts[k], len = min(chunk, n - starts[k]))
    if (is.struct(m) && is.null(.subset2(m, "extractFUN"))) view <- list2DF(view)
    out[k] <- list(FUN(view, ...))
    cli::cli_progress_update(id = bar, .envir = environment())
  }
  cli::cli_progress_done(id = bar, .envir = environment())
  out
}
