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
  # Rust checks `n`, `nul` and `na` (core/src/spec.rs, layout.rs).
  new_compound(list(name = "char", width = if (is.numeric(n)) as.double(n) else n, nul = nul,
                    na = if (is.character(na)) enc2utf8(na) else na), "char")
}

#' @rdname strings
#' @export
cstring <- function() new_compound(list(name = "cstring"), "cstring")

# A Ctype whose layout Rust describes (bits, char, cstring, struct).
new_compound <- function(spec, class, call = sys.call(-1)) {
  type <- structure(spec, class = c(class, "Ctype"))
  lay <- unwrap_rust(mm_layout_(type), call = call)
  attr(type, "bytes") <- if (is.na(lay$bytes)) NA_integer_ else as.integer(lay$bytes)
  if (length(lay$offsets)) attr(type, "offsets") <- stats::setNames(lay$offsets, lay$names)
  type
}

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
  call <- sys.call()
  mode <- as.Ctype(mode)
  check_string(file)
  x <- enc2utf8(x)
  if (inherits(mode, "cstring")) {
    replace_file(file, 0, function(new) unwrap_rust(mm_write_cstrings_(new, x), call = call))
    return(mmap(file, mode, ...))
  }
  if (!inherits(mode, "char")) {
    mmap_abort(sprintf("a character vector maps as cstring() or char(n), not %s.", mode$name),
               "mmap_error_type")
  }
  replace_file(file, layout_bytes(mode, length(x)), function(new) {
    fill_mapped(new, mode, list(...)[["endian"]], function(m) m[] <- x)
  })
  mmap(file, mode, ...)
}
