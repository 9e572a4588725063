#' Print, summarise and inspect a mapping
#'
#' `print()` shows the file, type, size and the first values; `str()` a one
#' line description; `summary()` the minimum, mean, maximum and number of NAs,
#' computed over the whole mapping in Rust without copying it into R.
#'
#' @param x,object An `mmap` object.
#' @param n Number of values shown.
#' @param ... Unused.
#' @return `x` invisibly (`print`, `str`); a `summaryDefault` table (`summary`).
#' @examples
#' m <- as.mmap(c(3, 1, NA, 7))
#' m
#' str(m)
#' summary(m)
#' munmap(m)
#' @name print.mmap
NULL

mmap_state <- function(x) unwrap_rust(mm_state_(.subset2(x, "handle")))

describe_mode <- function(x) {
  mode <- .subset2(x, "mode")
  endian <- .subset2(x, "endian")
  sprintf("%s%s", mode$name, if (endian != .Platform$endian) sprintf(", %s-endian", endian) else "")
}

#' @rdname print.mmap
#' @export
print.mmap <- function(x, n = 6L, ...) {
  if (mmap_state(x) == "unmapped") {
    cat(sprintf("<mmap> %s (%s) -- released with munmap()\n", .subset2(x, "file"), describe_mode(x)))
    return(invisible(x))
  }
  len <- length(x)
  d <- dim(x)
  shape <- if (is.null(d)) format(len, big.mark = ",", scientific = FALSE) else paste(d, collapse = " x ")
  cat(sprintf("<mmap> %s\n  %s [%s], %s bytes%s\n", .subset2(x, "file"), describe_mode(x), shape,
              format(nbytes(x), big.mark = ",", scientific = FALSE),
              if (bitwAnd(unwrap_rust(mm_info_(handle_of(x)))$prot, 2L) == 0L) ", read-only" else ""))
  if (len > 0) {
    shown <- x[seq_len(min(n, len))]
    if (is.data.frame(shown) || is.list(shown)) {
      print(shown)
    } else {
      cat(" ", paste(format(shown), collapse = " "), if (len > n) "..." else "", "\n")
    }
  }
  invisible(x)
}

#' @rdname print.mmap
#' @export
str.mmap <- function(object, ...) {
  len <- length(object)
  shown <- if (len > 0) object[seq_len(min(5, len))] else NULL
  values <- if (is.atomic(shown)) paste(format(shown), collapse = " ") else ""
  cat(sprintf("<mmap> %s [1:%s] %s%s\n", describe_mode(object), format(len), values,
              if (len > 5) " ..." else ""))
  invisible(object)
}

#' @rdname print.mmap
#' @export
summary.mmap <- function(object, ...) {
  # Strings, bits and records: summarise the extracted values (a data.frame or
  # list for struct mappings, per column).
  if (!is_scalar_ctype(.subset2(object, "mode"))) return(summary(object[], ...))
  s <- unwrap_rust(mm_summary_(handle_of(object), spec_of(object)))
  values <- c(Min. = s[["min"]], Mean = s[["mean"]], Max. = s[["max"]])
  if (s[["na"]] > 0) values <- c(values, "NA's" = s[["na"]])
  class(values) <- c("summaryDefault", "table")
  values
}
