#' Virtual on-disk types
#'
#' Constructors for the element types a mapping can have. Each returns a
#' `Ctype` object to pass as the `mode` of [mmap()] or [as.mmap()]. Base R's
#' prototypes are accepted as modes too: `integer()` means `int32()`,
#' `double()` means `real64()`, `logical()` means `logi32()`, `complex()`
#' means `cplx()` and `raw()` means `uchar()`; `character(n)` means `char(n)` (see
#' [strings]), `character()` or a character vector means `cstring()`, and a
#' list or data.frame means `as.struct(x)`.
#'
#' | type | R type | bytes | NA on disk |
#' |---|---|---|---|
#' | `uchar()` | raw | 1 | none |
#' | `int8()`, `uint8()` | integer | 1 | none unless `na` given |
#' | `int16()`, `uint16()` | integer | 2 | none unless `na` given |
#' | `int24()`, `uint24()` | integer | 3 | none unless `na` given |
#' | `int32()` | integer | 4 | -2^31, as `NA_integer_` |
#' | `uint32()` | double | 4 | none unless `na` given |
#' | `int64()` | integer64 (bit64) or double | 8 | -2^63, as `NA_integer64_` |
#' | `real32()` | double | 4 | NaN 0x7FC007A2 (NA and NaN stay distinct) |
#' | `real64()` | double | 8 | `NA_real_` |
#' | `cplx()` | complex | 16 | both parts `NA_real_` |
#' | `logi8()` | logical | 1 | 0x80 |
#' | `logi32()` | logical | 4 | -2^31 |
#'
#' Writing a value outside a type's range is an error naming the element and
#' the range; nothing is written. Doubles written to integer types are
#' truncated toward zero, as by [as.integer()].
#'
#' @param na For integer types without an NA of their own: a value of the
#'   type's range that stands for `NA` on disk. Writing that value as a number
#'   is then an error, since it would read back as `NA`.
#' @param x An object: a type, a type constructor itself (`sizeof(int32)`,
#'   as in CRAN's mmap), a base prototype or an `mmap` object.
#' @return A `Ctype` object; `sizeof()` returns bytes per element;
#'   `is.Ctype()` a logical; `sizeofCtypes()` a named integer vector.
#' @examples
#' int16()
#' sizeof(int24())
#' sizeof(double())
#' sizeof(int32)
#' int8(na = -128L)
#' sizeofCtypes()
#' @name types
NULL

# A scalar Ctype as the Rust type table describes it: its row's name (a
# synonym such as "integer" resolves to "int32"), width and R vector kind.
new_ctype <- function(name, na = NULL, call = sys.call(-1)) {
  if (!is.null(na) && (!is.numeric(na) || length(na) != 1L || is.na(na))) {
    mmap_abort(sprintf("`na` must be a single number, not %s.", describe(na)),
               "mmap_error_type", call = call)
  }
  info <- unwrap_rust(mm_ctype_info_(list(name = name, na = na)), call = call)
  structure(list(name = info$name, na = na), class = c(info$name, "Ctype"),
            bytes = info$bytes, rkind = info$rkind)
}

# Whether a Ctype is a row of the type table (compound ones have no R kind).
is_scalar_ctype <- function(type) !is.null(attr(type, "rkind"))

# Whether a Ctype's elements extract as bit64::integer64 (Rust's row says so).
extracts_integer64 <- function(type) identical(attr(type, "rkind"), "integer64")

#' @rdname types
#' @export
uchar <- function() new_ctype("uchar")
#' @rdname types
#' @export
int8 <- function(na = NULL) new_ctype("int8", na)
#' @rdname types
#' @export
uint8 <- function(na = NULL) new_ctype("uint8", na)
#' @rdname types
#' @export
int16 <- function(na = NULL) new_ctype("int16", na)
#' @rdname types
#' @export
uint16 <- function(na = NULL) new_ctype("uint16", na)
#' @rdname types
#' @export
int24 <- function(na = NULL) new_ctype("int24", na)
#' @rdname types
#' @export
uint24 <- function(na = NULL) new_ctype("uint24", na)
#' @rdname types
#' @export
int32 <- function() new_ctype("int32")
#' @rdname types
#' @export
uint32 <- function(na = NULL) new_ctype("uint32", na)
#' @rdname types
#' @export
int64 <- function() new_ctype("int64")
#' @rdname types
#' @export
real32 <- function() new_ctype("real32")
#' @rdname types
#' @export
real64 <- function() new_ctype("real64")
#' @rdname types
#' @export
cplx <- function() new_ctype("cplx")
#' @rdname types
#' @export
logi8 <- function() new_ctype("logi8")
#' @rdname types
#' @export
logi32 <- function() new_ctype("logi32")

#' @rdname types
#' @export
is.Ctype <- function(x) inherits(x, "Ctype")

#' @rdname types
#' @export
as.Ctype <- function(x) {
  if (is.Ctype(x)) return(x)
  # A constructor itself, as CRAN's mmap accepts: sizeof(int32).
  if (is.function(x)) {
    type <- tryCatch(x(), error = function(e) NULL)
    if (is.Ctype(type)) return(type)
  }
  if (inherits(x, "integer64")) return(int64())
  type <- switch(typeof(x),
    # Base prototypes name rows of the type table (integer() is int32()).
    integer = , double = , logical = , complex = , raw = new_ctype(typeof(x)),
    # character(n), a prototype of n empty strings, means char(n) (the seed's
    # convention); character() and actual strings mean cstring().
    character = if (length(x) && all(!is.na(x) & !nzchar(x))) char(length(x)) else cstring(),
    list = as.struct(x),
    NULL
  )
  if (is.null(type)) {
    mmap_abort(sprintf("`mode` must be a type such as int32() or a base prototype such as integer(), not %s.",
                       describe(x)), "mmap_error_type")
  }
  type
}

#' @rdname types
#' @export
sizeof <- function(x) UseMethod("sizeof")

#' @export
sizeof.default <- function(x) attr(as.Ctype(x), "bytes")

#' @export
sizeof.mmap <- function(x) attr(.subset2(x, "mode"), "bytes")

#' @rdname types
#' @export
sizeofCtypes <- function() {
  table <- mm_types_()
  stats::setNames(table$bytes, table$type)
}

#' @export
print.Ctype <- function(x, ...) {
  cat(sprintf("<Ctype> %s (%d byte%s)", x$name, attr(x, "bytes"),
              if (attr(x, "bytes") == 1L) "" else "s"))
  if (!is.null(x$na)) cat(sprintf(", NA stored as %s", format(x$na)))
  cat("\n")
  invisible(x)
}

#' Re-type a mapping
#'
#' Views the same mapped bytes as another type. The result shares the mapping
#' with `x`: [munmap()] on either releases both.
#'
#' @param x An `mmap` object.
#' @param ... Passed to the type constructor (e.g. `na`).
#' @return An `mmap` object of the new type.
#' @examples
#' m <- as.mmap(1:4)
#' as.int16(m)[]
#' munmap(m)
#' @name retype
NULL

retype <- function(x, type) {
  if (!inherits(x, "mmap")) {
    mmap_abort(sprintf("`x` must be an mmap object, not %s.", describe(x)), "mmap_error_type",
               call = sys.call(-1))
  }
  mmap_set(x, mode = type, dim = NULL)
}

#' @rdname retype
#' @export
as.uchar <- function(x) retype(x, uchar())
#' @rdname retype
#' @export
as.int8 <- function(x, ...) retype(x, int8(...))
#' @rdname retype
#' @export
as.uint8 <- function(x, ...) retype(x, uint8(...))
#' @rdname retype
#' @export
as.int16 <- function(x, ...) retype(x, int16(...))
#' @rdname retype
#' @export
as.uint16 <- function(x, ...) retype(x, uint16(...))
#' @rdname retype
#' @export
as.int24 <- function(x, ...) retype(x, int24(...))
#' @rdname retype
#' @export
as.uint24 <- function(x, ...) retype(x, uint24(...))
#' @rdname retype
#' @export
as.int32 <- function(x) retype(x, int32())
#' @rdname retype
#' @export
as.uint32 <- function(x, ...) retype(x, uint32(...))
#' @rdname retype
#' @export
as.int64 <- function(x) retype(x, int64())
#' @rdname retype
#' @export
as.real32 <- function(x) retype(x, real32())
#' @rdname retype
#' @export
as.real64 <- function(x) retype(x, real64())
#' @rdname retype
#' @export
as.cplx <- function(x) retype(x, cplx())
#' @rdname retype
#' @export
as.logi8 <- function(x) retype(x, logi8())
#' @rdname retype
#' @export
as.logi32 <- function(x) retype(x, logi32())
