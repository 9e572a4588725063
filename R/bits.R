#' Bit vectors: `bits()`
#'
#' Each element of a `bits()` mapping is one bit, read as `TRUE`/`FALSE`.
#' Element `k` (1-based) is bit `(k - 1) %% 32` of the 32-bit word
#' `(k - 1) %/% 32`, with words stored in the mapping's byte order (`endian`
#' of [mmap()]); a mapping of `b` bytes has `32 * (b %/% 4)` elements. Bits
#' have no `NA`: writing `NA` is an error and nothing is written. Non-zero
#' numbers write `TRUE`.
#'
#' @return A `Ctype` (4 bytes per 32 elements).
#' @examples
#' f <- tempfile()
#' writeBin(raw(8), f)
#' b <- mmap(f, bits())
#' length(b)
#' b[c(1, 33)] <- TRUE
#' which(b[])
#' readBin(f, "integer", 2)
#' munmap(b)
#' unlink(f)
#' @export
bits <- function() new_compound(list(name = "bits"), "bits")

#' @export
print.bits <- function(x, ...) {
  cat("<Ctype> bits (32 per 4-byte word)\n")
  invisible(x)
}
