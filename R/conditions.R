# Errors raised by mmap carry a class per problem (mmap_error_bounds,
# mmap_error_value, mmap_error_type, mmap_error_io, mmap_error_protection,
# mmap_error_unmapped, mmap_error_memory when R cannot allocate a result;
# mmap_error_internal for a broken invariant of the package itself, never the
# user's doing) and the parent class mmap_error, so callers can tryCatch() a
# family of problems without matching on message text.

mmap_abort <- function(message, class = NULL, call = sys.call(-1)) {
  stop(errorCondition(message, class = c(class, "mmap_error"), call = call))
}

# The Rust side returns errors as values: unwrap_rust() returns the value, or
# raises the classed R condition an error stands for,
# attributed to the user-facing function that called us.
unwrap_rust <- function(x, call = sys.call(-1)) {
  if (inherits(x, "mmap_rust_error")) {
    mmap_abort(x$message, class = x$class, call = call)
  }
  x
}

check_string <- function(x, arg = deparse(substitute(x)), call = sys.call(-1)) {
  if (!is.character(x) || length(x) != 1L || is.na(x)) {
    mmap_abort(sprintf("`%s` must be a single string, not %s.", arg, describe(x)),
               "mmap_error_type", call = call)
  }
  invisible(x)
}

check_count <- function(x, arg = deparse(substitute(x)), call = sys.call(-1)) {
  ok <- is.numeric(x) && length(x) == 1L && !is.na(x) && x >= 0 && x == trunc(x)
  if (!ok) {
    mmap_abort(sprintf("`%s` must be a single whole number >= 0, not %s.", arg, describe(x)),
               "mmap_error_type", call = call)
  }
  invisible(x)
}

describe <- function(x) {
  if (is.null(x)) return("NULL")
  if (length(x) == 1L && is.atomic(x)) return(sprintf("%s %s", typeof(x), format(x)))
  sprintf("a %s vector of length %d", typeof(x), length(x))
}
