#' mmap: typed memory-mapped vectors
#'
#' Map files as typed vectors with [mmap()] and [as.mmap()], index them with
#' `[`, and pick on-disk types from [types].
#'
#' @keywords internal
#' @useDynLib mmap, .registration = TRUE
#' @importFrom utils head tail str
"_PACKAGE"
