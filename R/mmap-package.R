#' mmap: typed memory-mapped vectors
#'
#' Map files as typed vectors with [mmap()] and [as.mmap()], index them with
#' `[`, pick on-disk types from [types], and hand them to base R with
#' [mmap_view()].
#'
#' @keywords internal
#' @docType package
#' @name mmap-package
#' @aliases mmap-package
#' @useDynLib mmap, .registration = TRUE
#' @importFrom utils head tail str
NULL
