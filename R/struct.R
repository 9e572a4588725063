#' Records: `struct(...)`
#'
#' `struct()` describes a C struct: named fields of fixed-width types (any
#' scalar type or `char(n)`), laid out one after another. `pad(n)` inserts `n`
#' unused bytes; `offset` places fields at explicit byte offsets and `bytes`
#' sets the record size (for trailing alignment), as a C compiler would.
#'
#' On a struct mapping, `length(m)` is the number of records; `m[i]` returns
#' a named list with one column per field; `m[i, j]` selects fields by name,
#' position, negative position or logical (a field that does not exist is an
#' error). `m[i, j] <- value` and `m[i] <- list(...)` write columns; all values
#' are checked before anything is written. Use [extractFUN()] to get a
#' `data.frame` instead of a list.
#'
#' `as.struct()` builds a struct type from a list of types or prototypes, or
#' from a data.frame's columns; on an `mmap` it re-types the mapping.
#' `is.struct()` tests a type or a mapping.
#'
#' @param ... Named field types (`int32()`, `char(8)`, base prototypes such as
#'   `double()`), and unnamed `pad(n)`. For `as.struct()` on a mapping: the
#'   fields.
#' @param bytes Total record size in bytes; at least the end of the last field.
#' @param offset Byte offset of each field (`NA` for "right after the previous
#'   one"), one per field (pads excluded) or one per argument.
#' @param n Number of padding bytes.
#' @param x A list, data.frame, struct type or `mmap` object.
#' @return `struct()`, `pad()`, `as.struct()`: a `Ctype` (or, for a mapping,
#'   an `mmap`). `is.struct()`: a logical.
#' @examples
#' record <- struct(short = int16(), int = int32(), double = real64())
#' record
#' nbytes(record)
#' f <- tempfile()
#' writeBin(raw(nbytes(record) * 10), f)
#' m <- mmap(f, record)
#' length(m)
#' m[] <- list(1:10, 101:110, seq(0.5, 5, by = 0.5))
#' m[1:3]
#' m[1:3, "short"]
#' m[2, -1]
#' m[4, "int"] <- -1L
#' extractFUN(m) <- function(x) do.call(data.frame, x)
#' m[1:4]
#' munmap(m)
#'
#' # C alignment: short, 2 pad bytes, int, double; 16 bytes in all
#' aligned <- struct(a = int16(), pad(2), b = int32(), c = real64())
#' nbytes(aligned)
#' attr(aligned, "offsets")
#' unlink(f)
#' @name struct
NULL

#' @rdname struct
#' @export
struct <- function(..., bytes = NULL, offset = NULL) {
  fields <- list(...)
  nm <- names(fields)
  if (is.null(nm)) nm <- rep("", length(fields))
  fields <- lapply(fields, function(f) if (inherits(f, "pad")) f else as.Ctype(f))
  is_pad <- vapply(fields, inherits, logical(1), "pad")
  # As in CRAN's mmap, fields may be unnamed and are then used by position;
  # they are called V1, V2, ... inside, and extraction gives an unnamed list.
  unnamed <- !is_pad & !nzchar(nm)
  all_unnamed <- any(!is_pad) && all(unnamed[!is_pad])
  nm[unnamed] <- paste0("V", cumsum(!is_pad))[unnamed]
  names(fields) <- nm
  if (!is.null(bytes)) check_count(bytes)
  # Rust lays the fields out and checks them (names, types, offsets).
  new_compound(list(name = "struct", fields = fields, offset = offset,
                    bytes = if (is.null(bytes)) NULL else as.double(bytes),
                    unnamed = if (all_unnamed) TRUE), "struct")
}

#' @rdname struct
#' @export
pad <- function(n) {
  check_count(n)
  structure(list(name = "pad", bytes = as.double(n)), class = c("pad", "Ctype"), bytes = as.integer(n))
}

#' @export
print.pad <- function(x, ...) {
  cat(sprintf("<Ctype> pad(%d)\n", attr(x, "bytes")))
  invisible(x)
}

#' @export
print.struct <- function(x, ...) {
  offsets <- attr(x, "offsets")
  cat(sprintf("<Ctype> struct (%d bytes per record)\n", attr(x, "bytes")))
  fields <- struct_fields(x)
  for (k in seq_along(fields)) {
    f <- fields[[k]]
    type <- if (inherits(f, "char")) sprintf("char(%s)", format(f$width)) else f$name
    extra <- if (!is.null(f$rattr$levels)) " (factor)" else if (!is.null(f$rattr$class)) sprintf(" (%s)", f$rattr$class[1]) else ""
    cat(sprintf("  $%-12s %-10s offset %d%s\n", names(fields)[k], type, as.integer(offsets[k]), extra))
  }
  invisible(x)
}

# The named (non-pad) fields of a struct type, in order.
struct_fields <- function(type) {
  fields <- type$fields
  fields[!vapply(fields, inherits, logical(1), "pad")]
}

#' @rdname struct
#' @export
as.struct <- function(x, ...) UseMethod("as.struct")

#' @export
as.struct.struct <- function(x, ...) x

#' @export
as.struct.list <- function(x, ...) do.call(struct, lapply(x, function(f) if (inherits(f, "pad")) f else as.Ctype(f)))

#' @export
as.struct.data.frame <- function(x, ...) {
  fields <- lapply(x, column_type)
  do.call(struct, fields)
}

#' @export
as.struct.mmap <- function(x, ...) retype(x, struct(...))

#' @export
as.struct.default <- function(x, ...) {
  mmap_abort(sprintf("cannot make a struct from %s.", describe(x)), "mmap_error_type")
}

#' @rdname struct
#' @export
is.struct <- function(x) {
  if (inherits(x, "mmap")) x <- .subset2(x, "mode")
  inherits(x, "struct")
}

# The on-disk type of a data.frame column, with what R needs to restore it.
column_type <- function(col) {
  rattr <- attributes(col)
  rattr$names <- NULL
  rattr$dim <- NULL
  rattr$dimnames <- NULL
  type <- if (is.factor(col)) {
    int32()
  } else if (is.character(col)) {
    col <- enc2utf8(col)
    width <- max(1L, nchar(col, type = "bytes"), na.rm = TRUE)
    na <- NULL
    if (anyNA(col)) {
      candidates <- c("NA", "<NA>", "\001NA\001")
      na <- candidates[!candidates %in% col][1]
      width <- max(width, nchar(na, type = "bytes"))
    }
    char(width, na = na)
  } else if (inherits(col, "integer64")) {
    int64()
  } else if (is.logical(col)) {
    logi32()
  } else if (is.integer(col)) {
    int32()
  } else if (is.double(col)) {
    real64()
  } else if (is.complex(col)) {
    cplx()
  } else {
    mmap_abort(sprintf("cannot store a data.frame column of class %s.", class(col)[1]), "mmap_error_type")
  }
  if (length(rattr)) type$rattr <- rattr
  type
}

# Extracted struct columns as the R classes they came from; unnamed fields
# give an unnamed list.
restore_columns <- function(mode, value) {
  fields <- struct_fields(mode)[names(value)]
  for (k in seq_along(value)) value[[k]] <- restore_column(fields[[k]], value[[k]])
  if (isTRUE(mode$unnamed)) names(value) <- NULL
  value
}

# The replacement as the layout reads it: UTF-8 strings for char(n), one
# vector per selected field (`fields`, NULL for all) for a struct.
replacement_value <- function(mode, fields, value, call = sys.call(-1)) {
  if (inherits(mode, "struct")) {
    if (is.null(fields)) fields <- seq_along(struct_fields(mode))
    return(struct_value(mode, fields, value, call))
  }
  if (inherits(mode, "char")) return(string_value(value, call))
  value
}

string_value <- function(value, call) {
  if (is.factor(value)) value <- as.character(value)
  if (is.logical(value) && all(is.na(value))) value <- as.character(value)
  if (!is.character(value)) {
    mmap_abort(sprintf("a string field takes character values, not %s.", describe(value)),
               "mmap_error_type", call = call)
  }
  enc2utf8(value)
}

# 1-based positions of the fields `j` names or indexes.
field_positions <- function(mode, spec, j, call = sys.call(-1)) {
  names <- names(struct_fields(mode))
  if (is.factor(j)) j <- as.character(j)
  if (is.character(j)) {
    p <- match(j, names)
    if (anyNA(p)) {
      mmap_abort(sprintf("no field named %s; the fields are %s.",
                         paste0("`", j[is.na(p)], "`", collapse = ", "),
                         paste0("`", names, "`", collapse = ", ")), "mmap_error_bounds", call = call)
    }
    return(p)
  }
  unwrap_rust(mm_struct_fields_(spec, index_arg(j)), call = call)
}

# A column as stored back to the R class it came from (factor, Date, ...).
restore_column <- function(field, v) {
  if (extracts_integer64(field)) {
    v <- finish_extract(list(mode = field), v)
  }
  rattr <- field$rattr
  if (length(rattr)) attributes(v) <- c(attributes(v), rattr)
  v
}

# The replacement value as one vector per selected field.
struct_value <- function(mode, jj, value, call) {
  fields <- struct_fields(mode)[jj]
  if (is.data.frame(value) || is.list(value)) {
    value <- unclass(value)
    attr(value, "row.names") <- NULL
    nm <- names(value)
    if (!is.null(nm) && all(nzchar(nm)) && all(nm %in% names(fields)) && length(nm) == length(fields)) {
      value <- value[names(fields)]
    } else if (length(value) != length(fields)) {
      mmap_abort(sprintf("`value` has %d column%s for %d selected field%s.", length(value),
                         if (length(value) == 1L) "" else "s", length(fields),
                         if (length(fields) == 1L) "" else "s"), "mmap_error_value", call = call)
    }
  } else if (length(fields) == 1L) {
    value <- list(value)
  } else {
    mmap_abort(sprintf("`value` must be a list or data.frame with one column per selected field (%d), not %s.",
                       length(fields), describe(value)), "mmap_error_type", call = call)
  }
  out <- vector("list", length(fields))
  for (k in seq_along(fields)) {
    f <- fields[[k]]
    v <- value[[k]]
    levels <- f$rattr$levels
    if (!is.null(levels) && (is.factor(v) || is.character(v))) {
      labels <- as.character(v)
      codes <- match(labels, levels)
      unknown <- which(is.na(codes) & !is.na(labels))
      if (length(unknown)) {
        mmap_abort(sprintf("field `%s`: \"%s\" is not one of its levels (%s).", names(fields)[k],
                           labels[unknown[1]], paste(levels, collapse = ", ")), "mmap_error_value", call = call)
      }
      v <- codes
    } else if (inherits(f, "char")) {
      v <- string_value(v, call)
    } else if (is.factor(v)) {
      mmap_abort(sprintf("field `%s` is not a factor field; write as.integer() codes or labels to a char(n) field.",
                         names(fields)[k]), "mmap_error_type", call = call)
    } else if (inherits(v, "integer64")) {
      v <- structure(unclass(v), class = "integer64")
    } else {
      attributes(v) <- NULL
    }
    out[[k]] <- v
  }
  names(out) <- names(fields)
  out
}

# Element count and trailing bytes of any mapping.
length_info <- function(x, handle = handle_of(x, call = sys.call(-1))) {
  unwrap_rust(mm_length_(handle, spec_of(x), .subset2(x, "cindex")), call = sys.call(-1))
}

#' Store a data.frame in a mapped file
#'
#' Each row becomes a record of a [struct()]: numeric columns as `real64`,
#' integers as `int32`, logicals as `logi32`, factors as their `int32` codes
#' (the levels are kept in the mapping and factors come back), character
#' columns as `char(n)` of the widest string (padded on disk, trimmed on
#' extraction; `NA` kept with a sentinel text), and `Date`/`POSIXct` with their
#' class. The mapping extracts as a data.frame.
#'
#' @param x A data.frame.
#' @param mode The struct type; by default `as.struct(x)`.
#' @param file Path of the file to create.
#' @param ... Passed to [mmap()].
#' @return An `mmap` object with a data.frame [extractFUN()].
#' @examples
#' df <- data.frame(id = 1:3, score = c(1.5, NA, 3), name = c("a", "bb", NA),
#'                  grp = factor(c("x", "y", "x")))
#' m <- as.mmap(df)
#' m[]
#' m[2:3, c("name", "grp")]
#' m[1, "grp"] <- "y"
#' m[1]
#' munmap(m)
#' @export
as.mmap.data.frame <- function(x, mode = as.struct(x), file = tempmmap(), ...) {
  mode <- as.struct(mode)
  check_string(file)
  replace_file(file, layout_bytes(mode, nrow(x)), function(new) {
    fill_mapped(new, mode, list(...)[["endian"]], function(m) m[] <- as.list(x))
  })
  mmap(file, mode, extractFUN = struct_to_df, ...)
}

#' A data.frame from extracted struct columns
#'
#' The [extractFUN()] that [as.mmap()] of a data.frame and [mmap.csv()] set:
#' turns the named list of columns `m[i]` returns into a data.frame.
#'
#' @param x A named list of equal-length columns.
#' @return A data.frame.
#' @examples
#' struct_to_df(list(a = 1:2, b = c("x", "y")))
#' @export
struct_to_df <- function(x) list2DF(x)
