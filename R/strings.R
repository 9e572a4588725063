#' String types: fixed-width `char(n)` and nul-terminated `cstring()`
#'
#' `char(n)` stores each string in `n` bytes, followed by a nul byte when
#' `nul = TRUE` (as C's `char[n + 1]` and as [writeBin()] writes strings of
#' equal length). Shorter strings are padded with nul bytes and read back
#' without them. A string longer than `n` bytes is an error naming the element:
#' it is never truncated and never loses its terminator. Strings have no `NA`
#' unless the type is given a sentinel text, `char(8, na = "NA")`, which reads
#' back as `NA`; writing `NA` to a type without one is an error. As a `mode`,
#' base R's `character(n)` means `char(n)`, and `character()` means
#' `cstring()`. `char()` without a width is a single byte, as `uchar()`.
#'
#' `cstring()` maps variable-width nul-terminated strings, such as
#' `writeBin(<character>)` produces. Mapping one builds an offset table (in
#' Rust) once, so `m[i]` is a direct lookup. A cstring mapping is read-only:
#' its strings have no fixed slots, so replacement is an error; convert with
#' `as.mmap(m[], mode = char(cstring.MaxWidth(m)))` to get a writable copy.
#' [as.mmap()] of a character vector creates a cstring mapping by default.
#'
#' `cstring.MaxWidth()` is the widest string in bytes: of a cstring or
#' char mapping, or of a character vector. Without an argument it returns
#' 65534, the fixed limit CRAN's mmap reported (this package has no such
#' limit; the value is kept for code written for CRAN's package). `make.fixedwidth()` pads strings
#' with spaces to a common width (by default the widest), the layout of
#' fixed-width text files; a string wider than `width` is an error.
#'
#' @param n Width in bytes (at least 1).
#' @param nul Whether a nul byte follows each string.
#' @param na A string that stands for `NA` on disk, or `NULL` for no `NA`.
#' @param x A character vector, or an `mmap` of strings for `cstring.MaxWidth()`.
#' @param width Target width in bytes; by default the widest string.
#' @param justify `"left"` (pad on the right) or `"right"`.
#' @return `char()`, `cstring()`: a `Ctype`. `cstring.MaxWidth()`: a number.
#'   `make.fixedwidth()`: a character vector.
#' @examples
#' f <- tempfile()
#' writeBin(c("apple", "fig", "kiwi"), f)
#' s <- mmap(f, cstring())
#' s[]
#' cstring.MaxWidth(s)
#' munmap(s)
#'
#' w <- as.mmap(c("ab", "cde"), mode = char(3))
#' w[2] <- "xy"
#' w[]
#' try(w[1] <- "toolong")
#' munmap(w)
#' make.fixedwidth(c("a", "abc"))
#' unlink(f)
#' @name strings
NULL

#' @rdname strings
#' @export
char <- function(n, nul = TRUE, na = NULL) {
  if (missing(n)) return(uchar())
  if (!is.numeric(n) || length(n) != 1L || is.na(n) || n < 1 || n != trunc(n)) {
    mmap_abort(sprintf("`n` must be a single whole number of at least 1, not %s.", describe(n)),
               "mmap_error_type")
  }
  if (!is.logical(nul) || length(nul) != 1L || is.na(nul)) {
    mmap_abort(sprintf("`nul` must be TRUE or FALSE, not %s.", describe(nul)), "mmap_error_type")
  }
  check_element_bytes(n + nul, sprintf("`n` = %s (with %s)", format(n, scientific = FALSE),
                                       if (nul) "its nul byte" else "no nul byte"))
  if (!is.null(na) && (!is.character(na) || length(na) != 1L || is.na(na))) {
    mmap_abort(sprintf("`na` must be a single string or NULL, not %s.", describe(na)),
               "mmap_error_type")
  }
  new_compound(list(name = "char", width = as.double(n), nul = nul,
                    na = if (is.null(na)) NULL else enc2utf8(na)), "char")
}

#' @rdname strings
#' @export
cstring <- function() new_compound(list(name = "cstring"), "cstring")

# A Ctype whose layout Rust describes (bits, char, cstring, struct).
new_compound <- function(spec, class, call = sys.call(-1)) {
  type <- structure(spec, class = c(class, "Ctype"))
  lay <- unwrap_rust(mm_layout_(type), call = call)
  if (!is.na(lay$bytes)) check_element_bytes(lay$bytes, sprintf("a %s element", spec$name), call = call)
  attr(type, "bytes") <- if (is.na(lay$bytes)) NA_integer_ else as.integer(lay$bytes)
  if (length(lay$offsets)) attr(type, "offsets") <- stats::setNames(lay$offsets, lay$names)
  type
}

# An element (a string slot, a record) must fit R's integer byte counts.
check_element_bytes <- function(bytes, what, call = sys.call(-1)) {
  if (bytes > .Machine$integer.max) {
    mmap_abort(sprintf("%s makes elements of %s bytes; an element can have at most %s bytes.",
                       what, format(bytes, scientific = FALSE), format(.Machine$integer.max)),
               "mmap_error_type", call = call)
  }
}

is_compound <- function(mode) inherits(mode, c("bits", "char", "cstring", "struct"))

#' @export
print.char <- function(x, ...) {
  cat(sprintf("<Ctype> char(%s%s) (%d bytes)", format(x$width), if (isTRUE(x$nul)) "" else ", nul = FALSE",
              attr(x, "bytes")))
  if (!is.null(x$na)) cat(sprintf(", NA stored as \"%s\"", x$na))
  cat("\n")
  invisible(x)
}

#' @export
print.cstring <- function(x, ...) {
  cat("<Ctype> cstring (variable width, nul-terminated, read-only)\n")
  invisible(x)
}

#' @rdname strings
#' @export
cstring.MaxWidth <- function(x) {
  # CRAN's mmap called it without an argument for its fixed limit on a
  # string's width; code that sizes buffers with it keeps working.
  if (missing(x)) return(cran_cstring_max_width)
  if (inherits(x, "mmap")) {
    mode <- .subset2(x, "mode")
    if (inherits(mode, "cstring")) {
      return(unwrap_rust(mm_cstring_maxwidth_(handle_of(x), .subset2(x, "cindex"))))
    }
    if (inherits(mode, "char")) {
      x <- x[]
    } else {
      mmap_abort(sprintf("`x` must map strings (cstring() or char(n)), not %s.", mode$name),
                 "mmap_error_type")
    }
  }
  if (!is.character(x)) {
    mmap_abort(sprintf("`x` must be a character vector or a string mapping, not %s.", describe(x)),
               "mmap_error_type")
  }
  if (length(x) == 0L) return(0)
  as.double(max(0L, nchar(enc2utf8(x), type = "bytes"), na.rm = TRUE))
}

cran_cstring_max_width <- 65534L

#' @rdname strings
#' @export
make.fixedwidth <- function(x, width = NA, justify = c("left", "right")) {
  justify <- match.arg(justify)
  if (is.factor(x)) x <- as.character(x)
  if (!is.character(x)) {
    mmap_abort(sprintf("`x` must be a character vector, not %s.", describe(x)), "mmap_error_type")
  }
  x <- enc2utf8(x)
  len <- nchar(x, type = "bytes")
  if (is.na(width)) width <- max(0L, len, na.rm = TRUE)
  too_long <- which(!is.na(x) & len > width)
  if (length(too_long)) {
    k <- too_long[1]
    mmap_abort(sprintf("element %d (\"%s\", %d bytes) is wider than `width` = %s; strings are never truncated.",
                       k, x[k], len[k], format(width)), "mmap_error_value")
  }
  pad <- strrep(" ", pmax(0, width - len))
  out <- if (justify == "left") paste0(x, pad) else paste0(pad, x)
  out[is.na(x)] <- NA_character_
  out
}

#' @export
as.mmap.character <- function(x, mode = cstring(), file = tempmmap(), ...) {
  mode <- as.Ctype(mode)
  check_string(file)
  x <- enc2utf8(x)
  if (inherits(mode, "cstring")) {
    if (anyNA(x)) {
      k <- which(is.na(x))[1]
      mmap_abort(sprintf("element %d of `x` is NA: cstring() has no NA; use char(n, na = \"NA\") to keep NAs.", k),
                 "mmap_error_value")
    }
    replace_file(file, 0, function(new) writeBin(x, new))
    return(mmap(file, mode, ...))
  }
  if (!inherits(mode, "char")) {
    mmap_abort(sprintf("a character vector maps as cstring() or char(n), not %s.", mode$name),
               "mmap_error_type")
  }
  replace_file(file, as.double(length(x)) * attr(mode, "bytes"), function(new) {
    fill_mapped(new, mode, list(...)[["endian"]], function(m) m[] <- x)
  })
  mmap(file, mode, ...)
}
