# Differential test against base R: for every type and layout, thousands of
# generated index expressions are evaluated twice, once on the mapping `m` and
# once on `x <- m[]`, with the SAME call (the index expression is evaluated
# inside each `[`, so `sort(...)` hands both the same ALTREP sortedness
# wrapper and `a:b` the same compact sequence). `[` results must be
# identical(); after `[<-` the whole of m[] must be identical() to x after the
# same assignment, and warnings must agree.
#
# Where the package differs from base R ON PURPOSE, the test says so and checks
# the package's behaviour instead:
#   * an index past the end (a position > length, `Inf`, a logical index with
#     TRUE past the end) is an error of class mmap_error_bounds: base R reads NA
#     there, and for `[<-` extends the vector (also for a logical index longer
#     than the vector), which a mapping of a file cannot do;
#   * in `m[i, j]`, `Inf` and doubles beyond the integer range are bounds
#     errors (base R turns them into NA rows or cells).
# Whenever we raise an error (deliberately, or because base R does), the
# file's bytes (read with readBin) and m[] must be unchanged.

diff_seed <- 20261128L

# The expression for an index, generated from one of R's index forms.
gen_index <- function(n, r = sample.int(21L, 1L)) {
  k <- sample(0:7, 1L)
  pick <- function(pool, size = k) pool[sample.int(length(pool), size, replace = TRUE)]
  switch(r,
    pick(0:n),                                           # positive with repeats, zeros
    pick(0:(n + 2L)),                                    # some past the end
    call("sort", pick(seq_len(n), max(k, 2L))),          # sorted with ties: ALTREP wrapper
    call("sort", round(runif(max(k, 2L), 0, n + 0.99), 1)), # sorted doubles with fractions
    round(runif(k, 0, n + 0.99), 2),                     # fractional doubles
    -pick(0:(n + 2L)),                                   # negatives (and zeros), some past the end
    -round(runif(k, 0, n + 1.5), 1),                     # fractional negatives, -0.5 is 0
    pick(c(as.double(seq_len(n)), NA, NaN, Inf, -Inf, 0)), # non-finite doubles
    c(-pick(seq_len(n), max(k, 1L)), pick(c(-Inf, NaN, NA, 0, Inf), 1L)), # negatives with one non-finite
    pick(c(seq_len(n), NA_integer_)),                    # integer NA
    pick(c(TRUE, FALSE, NA), sample(1:max(1L, n - 1L), 1L)), # logical shorter: recycled
    pick(c(TRUE, FALSE, NA), n),                         # logical of length n
    c(pick(c(TRUE, FALSE, NA), n), pick(c(FALSE, FALSE, NA, TRUE), sample(1:4, 1L))), # longer
    list(integer(), numeric(), logical(), NULL)[[sample.int(4L, 1L)]], # empty
    { a <- sample(-3:(n + 1L), 1L); call(":", a, a + sample(0:(n + 1L), 1L)) }, # compact a:b
    { a <- sample(1:n, 1L); call(":", a, sample(-2:n, 1L)) },  # a:b down to 0 or below
    call("seq_len", sample(0:(n + 1L), 1L)),             # compact 1:k
    c(pick(seq_len(n), 1L), 2^40),                       # huge double
    c(-1L, pick(seq_len(n), 1L)),                        # mixed signs: an error in R
    pick(c(seq_len(n), 0L), max(k, 1L)) + 0.999,         # fractions just below the next whole
    call("rev", call("seq_len", n))                      # decreasing run
  )
}

# A `cbind(i, j)` cell index (and, now and then, matrices that are not one).
gen_cells <- function(nr, nc) {
  k <- sample(0:5, 1L)
  pool <- function(extent) c(seq_len(extent), 0, NA, -1, extent + 1, 1.7, Inf, -Inf)
  rows <- sample(pool(nr), k, TRUE)
  cols <- sample(pool(nc), k, TRUE)
  switch(sample.int(6L, 1L),
    call("cbind", rows, cols),
    call("cbind", as.integer(pmin(pmax(rows, -1), nr + 1)), as.integer(pmin(pmax(cols, -1), nc + 1))),
    call("cbind", sample(seq_len(nr), k, TRUE), sample(seq_len(nc), k, TRUE)),
    call("cbind", sample(seq_len(nr), k, TRUE), sample(seq_len(nc), k, TRUE), 1L), # 3 columns: linear
    call("matrix", sample(c(TRUE, FALSE), 4L, TRUE), 2L),  # logical matrix: linear
    call("matrix", sample(seq_len(nr * nc), 2L * k, TRUE), ncol = 2L)
  )
}

# A call `TARGET[...]` (or `TARGET[...] <- VALUE`) of one of the forms users write.
# `d` is the mapping's dim; `fields` the field names of a struct mapping.
gen_call <- function(n, d, assign, fields = NULL) {
  target <- as.name("TARGET")

  forms <- if (!is.null(fields)) {
    if (assign) c("vector", "vector", "i_", "too_many") else c("vector", "i_", "_j", "ij", "too_many")
  } else if (is.null(d)) {
    c("vector", "vector", "vector", "too_many")
  } else {
    c("vector", "vector", "cells", "ij", "i_", "_j", "ij_nodrop", "i_nodrop", "too_many")
  }
  form <- sample(forms, 1L)
  rows <- if (is.null(d)) n else d[1]
  cols <- function() {
    if (is.null(fields)) return(gen_index(d[2]))
    # Fields that exist, by name, position, negative position or logical.
    list(fields[sample.int(3L, sample(1:3, 1L))], sample.int(3L, sample(1:3, 1L)), -sample.int(3L, 1L),
         sample(c(TRUE, FALSE), 3L, TRUE), 3:1)[[sample.int(5L, 1L)]]
  }
  args <- switch(form,
    vector = list(gen_index(n)),
    cells = list(gen_cells(d[1], d[2])),
    ij = list(gen_index(rows), cols()),
    i_ = list(gen_index(rows), quote(expr = )),
    "_j" = list(quote(expr = ), cols()),
    ij_nodrop = list(gen_index(d[1]), gen_index(d[2]), drop = FALSE),
    i_nodrop = list(gen_index(d[1]), quote(expr = ), drop = FALSE),
    too_many = if (is.null(d) && is.null(fields)) list(gen_index(n), gen_index(n)) else
      list(gen_index(rows), if (is.null(fields)) gen_index(d[2]) else 1L, 1L)
  )
  # `[<-` has no drop: m[i, , drop = FALSE] <- v is a subscript too many, in R and here.
  call <- as.call(c(list(as.name("["), target), args))
  if (assign) call <- call("<-", call, as.name("VALUE"))
  list(call = call, form = form, args = args)
}

# Runs `expr`, returning its value, its error (if any) and whether it warned.
run <- function(expr, env) {
  warned <- FALSE
  value <- tryCatch(
    withCallingHandlers(eval(expr, env), warning = function(w) {
      warned <<- TRUE
      invokeRestart("muffleWarning")
    }),
    error = function(e) e
  )
  list(value = value, error = inherits(value, "error"), warned = warned, env = env)
}

# Whether base R's answer involves a position past the end, where we stop on purpose.
past_end <- function(args, n, d, form, assign) {
  extent <- function(k) if (form == "vector" || form == "cells") n else if (k == 1L) d[1] else d[2]
  values <- lapply(args, function(a) if (identical(a, quote(expr = ))) NULL else eval(a, baseenv()))
  if (form == "cells") {
    cells <- values[[1]]
    if (is.matrix(cells) && ncol(cells) == 2L && is.numeric(cells)) {
      # R reads each row left to right and stops at an NA (-Inf is one) or a zero.
      for (r in seq_len(nrow(cells))) {
        for (k in 1:2) {
          v <- cells[r, k]
          if (is.na(v) || v == -Inf || trunc(v) == 0) break
          if (v >= d[k] + 1) return(TRUE)
        }
      }
      return(FALSE)
    }
    values <- list(as.vector(cells))
  }
  for (k in seq_along(values)) {
    v <- values[[k]]
    if (is.null(v) || identical(names(values)[k], "drop")) next
    limit <- extent(k)
    if (is.logical(v)) {
      tail <- v[-seq_len(limit)]
      if (length(v) > limit && (assign || any(tail, na.rm = TRUE))) return(TRUE)
    } else if (is.numeric(v) && any(v >= limit + 1, na.rm = TRUE)) {
      return(TRUE)
    }
  }
  FALSE
}

# Replacement values of the mapping's own R type (so base R never coerces x).
gen_value <- function(pool, selected) {
  len <- sample(c(1L, selected, selected, 2L, 3L, 0L), 1L)
  pool[sample.int(length(pool), len, replace = TRUE)]
}

# One mapping, `count` generated expressions for `[` and as many for `[<-`.
# Returns the number of expressions run and the first failures.
differential <- function(m, pool, count, fields = NULL, writable = TRUE) {
  failures <- character()
  fail <- function(call, what) {
    if (length(failures) < 8L) failures <<- c(failures, paste0(paste(deparse(call), collapse = " "), ": ", what))
  }
  file <- .subset2(m, "file")
  bytes <- function() readBin(file, "raw", file.size(file))
  d <- dim(m)
  n <- length(m)
  x <- m[]
  # Extents for past_end(): a struct's j picks fields, which always exist here.
  extents <- if (!is.null(fields)) c(n, length(fields)) else d
  runs <- 0L
  for (step in seq_len(if (writable) 2L * count else count)) {
    assign <- step > count
    g <- gen_call(n, d, assign, fields)
    selected <- 1L
    if (assign) {
      probe <- run(g$call[[2]], list2env(list(TARGET = if (is.null(fields)) x else x[[1]]), parent = baseenv()))
      if (!probe$error) selected <- length(probe$value)
      value <- if (is.null(fields)) gen_value(pool, selected) else lapply(pool, gen_value, selected = selected)
    }
    before <- if (assign) bytes()
    ours <- run(g$call, list2env(list(TARGET = m, VALUE = if (assign) value), parent = baseenv()))
    base <- if (is.null(fields)) {
      run(g$call, list2env(list(TARGET = x, VALUE = if (assign) value), parent = baseenv()))
    } else {
      struct_reference(g, x, if (assign) value)
    }
    runs <- runs + 1L
    if (base$error || past_end(g$args, n, extents, g$form, assign)) {
      wanted <- if (base$error) "mmap_error" else "mmap_error_bounds"
      if (!inherits(ours$value, wanted)) {
        fail(g$call, sprintf("expected an error of class %s (base R: %s), got %s", wanted,
                             if (base$error) conditionMessage(base$value) else "a position past the end",
                             paste(format(ours$value), collapse = " ")))
      }
      if (assign && !identical(bytes(), before)) fail(g$call, "the failed write changed the file")
      if (assign && !identical(m[], x)) fail(g$call, "the failed write changed m[]")
      next
    }
    if (ours$error) {
      fail(g$call, paste("error where base R has none:", conditionMessage(ours$value)))
      next
    }
    got <- if (assign) m[] else ours$value
    want <- if (assign) base$env$TARGET else base$value
    if (!identical(got, want)) {
      fail(g$call, sprintf("got %s, base R %s", paste(deparse(got), collapse = ""),
                           paste(deparse(want), collapse = "")))
    }
    if (ours$warned != base$warned) {
      fail(g$call, sprintf("warned: %s, base R warned: %s", ours$warned, base$warned))
    }
    if (assign) x <- want
  }
  list(runs = runs, failures = failures)
}

# Base R's answer for a struct mapping: the row index applied to each column
# (of the fields `j` picks, by base R's list indexing), `[<-` column by column.
struct_reference <- function(g, x, value) {
  if (g$form == "too_many") {
    return(list(value = simpleError("a struct takes m[i] or m[i, j]"), error = TRUE, warned = FALSE))
  }
  row_call <- if (identical(g$args[[1]], quote(expr = ))) quote(TARGET[]) else call("[", as.name("TARGET"), g$args[[1]])
  # The row index is checked even when j picks no field (as for a data.frame).
  rows_ok <- run(row_call, list2env(list(TARGET = x[[1]]), parent = baseenv()))
  if (rows_ok$error) return(rows_ok)
  if (g$form %in% c("_j", "ij")) x <- x[eval(g$args[[2]], baseenv())]
  if (!is.null(value)) row_call <- call("<-", row_call, as.name("VALUE"))
  cols <- lapply(seq_along(x), function(k) {
    run(row_call, list2env(list(TARGET = x[[k]], VALUE = value[[k]]), parent = baseenv()))
  })
  errors <- vapply(cols, `[[`, TRUE, "error")
  out <- list(error = any(errors), warned = any(vapply(cols, `[[`, TRUE, "warned")))
  if (out$error) {
    out$value <- cols[[which(errors)[1]]]$value
    return(out)
  }
  out$value <- stats::setNames(lapply(cols, `[[`, "value"), names(x))
  out$env <- list(TARGET = stats::setNames(lapply(cols, function(c) c$env$TARGET), names(x)))
  out
}

# Values each type holds (and, where it has one, NA), in the R type m[] returns.
type_pools <- function() {
  ints <- function(lo, hi, na = FALSE) c(as.integer(round(seq(lo, hi, length.out = 41))), if (na) NA)
  list(
    uchar = as.raw(c(0:9, 200:255)),
    int8 = ints(-128, 127), uint8 = ints(0, 255),
    int16 = ints(-32768, 32767), uint16 = ints(0, 65535),
    int24 = ints(-8388608, 8388607), uint24 = ints(0, 16777215),
    int32 = ints(-2147483647, 2147483647, na = TRUE),
    uint32 = c(0, 1, 4294967295, round(seq(0, 4294967295, length.out = 20))),
    int64 = c(-2^52, 2^52, -1, 0, 1, NA, round(seq(-1e15, 1e15, length.out = 20))),
    real32 = c(seq(-100, 100, by = 2.25), NA, NaN, Inf, -Inf),
    real64 = c(rnorm(30), NA, NaN, Inf, -Inf, 0, -0),
    cplx = c(complex(real = rnorm(20), imaginary = rnorm(20)), NA, complex(real = 1, imaginary = NA)),
    logi8 = c(TRUE, FALSE, NA), logi32 = c(TRUE, FALSE, NA)
  )
}

test_that("every index expression gives base R's answer, for every type and layout", {
  withr::local_seed(diff_seed)
  # int64 is compared as doubles (exact for these values), i.e. with base R's
  # own `[`: bit64's `[.integer64` is not a reference (an NA index gives it
  # NA_real_ bits rather than NA_integer64_, and cbind() cell indices fail).
  withr::local_options(mmap.bit64 = FALSE)
  # `[` expressions per mapping, and as many `[<-`: a scalar type runs them on
  # a 3 x 4 matrix and half as many on a plain vector; bits, char and struct
  # on one mapping each, 1.5 times as many. At least 1,000 per type in all.
  per_type <- 350L
  counts <- integer()
  pools <- type_pools()
  scalar_types <- names(sizeofCtypes())
  expect_setequal(setdiff(scalar_types, names(pools)), character())
  for (type in scalar_types) {
    pool <- pools[[type]]
    x <- pool[sample.int(length(pool), 12L, replace = TRUE)]
    # Matrix layout (dim 3 x 4): every form; and the same values without dim.
    mat <- local_mmap(x, mode = type_of(type))
    dim(mat) <- c(3, 4)
    vec <- local_mmap(x, mode = type_of(type))
    a <- differential(mat, pool, per_type)
    b <- differential(vec, pool, per_type %/% 2L)
    counts[type] <- a$runs + b$runs
    expect_identical(c(a$failures, b$failures), character(), label = type)
  }
  # bits: 64 elements, 8 x 8.
  bits_pool <- c(TRUE, FALSE)
  bm <- local_mmap(sample(bits_pool, 64L, TRUE), mode = bits())
  dim(bm) <- c(8, 8)
  a <- differential(bm, bits_pool, (per_type * 3L) %/% 2L)
  counts["bits"] <- a$runs
  expect_identical(a$failures, character(), label = "bits")
  # char(n): strings up to n bytes, 3 x 4.
  char_pool <- c("", "a", "bc", "def", "xyz", "\u00e9")
  cm <- local_mmap(sample(char_pool, 12L, TRUE), mode = char(3))
  dim(cm) <- c(3, 4)
  a <- differential(cm, char_pool, (per_type * 3L) %/% 2L)
  counts["char(3)"] <- a$runs
  expect_identical(a$failures, character(), label = "char(3)")
  # cstring (read-only): `[` through the offset table.
  cs <- local_mmap(sample(c(char_pool, "a longer string"), 12L, TRUE), mode = cstring())
  a <- differential(cs, NULL, per_type * 3L, writable = FALSE)
  counts["cstring"] <- a$runs
  expect_identical(a$failures, character(), label = "cstring")
  # struct rows: every column indexed as base R indexes that column.
  df <- data.frame(a = sample(c(1:5, NA), 12L, TRUE), b = rnorm(12L), c = sample(char_pool, 12L, TRUE))
  sm <- local_mmap(df, mode = struct(a = int32(), b = real64(), c = char(3)))
  extractFUN(sm) <- NULL
  struct_pool <- list(a = c(1:9, NA), b = c(rnorm(5), NA), c = char_pool)
  a <- differential(sm, struct_pool, (per_type * 3L) %/% 2L, fields = names(struct_pool))
  counts["struct"] <- a$runs
  expect_identical(a$failures, character(), label = "struct")

  expect_true(all(counts >= 1000L))
  message("differential test, generated expressions per type: ",
          paste(sprintf("%s %d", names(counts), counts), collapse = ", "))
})
