# Values of each scalar type for generated cases: extremes, zeros, NA where the
# type has one, and random fill.
gen_values <- function(name, n) {
  set.seed(n + nchar(name))
  r <- switch(name,
    int8 = c(-128L, 127L), uint8 = c(0L, 255L), int16 = c(-32768L, 32767L), uint16 = c(0L, 65535L),
    int24 = c(-8388608L, 8388607L), uint24 = c(0L, 16777215L), int32 = c(-2147483647L, 2147483647L),
    NULL
  )
  x <- switch(name,
    uchar = as.raw(sample(0:255, n, TRUE)),
    logi8 = , logi32 = sample(c(TRUE, FALSE, NA), n, TRUE, prob = c(0.45, 0.45, 0.1)),
    uint32 = c(4294967295, 0, sample(0:1e6, max(0, n - 2), TRUE))[seq_len(n)],
    real32 = c(1.5, -2.25, NA, NaN, Inf, round(rnorm(max(0, n - 5)), 3))[seq_len(n)],
    real64 = c(1e300, -1e-300, NA, NaN, rnorm(max(0, n - 4)) * 1e6)[seq_len(n)],
    cplx = complex(real = rnorm(n), imaginary = rnorm(n)),
    int64 = c(9007199254740993, -5, sample(-1e6:1e6, max(0, n - 2), TRUE))[seq_len(n)],
    c(r, as.integer(sample(seq(r[1], r[2], length.out = 1000), max(0, n - 2), TRUE)))[seq_len(n)]
  )
  if (name == "int32" && n > 3) x[3] <- NA
  if (name == "cplx" && n > 3) x[3] <- NA
  if (name == "int64") x <- bit64::as.integer64(x)
  x
}

scalar_types <- c("uchar", "int8", "uint8", "int16", "uint16", "int24", "uint24", "int32", "uint32",
                  "int64", "real32", "real64", "cplx", "logi8", "logi32")

# What a call gives: its value, or its error message, and its warnings.
outcome <- function(expr) {
  warns <- character()
  value <- withCallingHandlers(
    tryCatch(expr, error = function(e) structure(list(conditionMessage(e)), class = "failed")),
    warning = function(w) {
      warns <<- c(warns, conditionMessage(w))
      invokeRestart("muffleWarning")
    }
  )
  list(value = value, warnings = warns)
}

expect_same_outcome <- function(got, want, info) {
  expect_identical(got$warnings, want$warnings, info = info)
  if (inherits(want$value, "failed")) {
    expect_s3_class(got$value, "failed")
    return(invisible())
  }
  if (is.double(want$value) || is.complex(want$value)) {
    expect_identical(typeof(got$value), typeof(want$value), info = info)
    expect_identical(is.na(got$value), is.na(want$value), info = info)
    expect_identical(is.nan(Re(got$value)), is.nan(Re(want$value)), info = info)
    expect_equal(got$value, want$value, info = info)
  } else {
    expect_identical(got$value, want$value, info = info)
  }
}

summaries <- list(
  sum = function(x, na.rm) sum(x, na.rm = na.rm),
  prod = function(x, na.rm) prod(x, na.rm = na.rm),
  min = function(x, na.rm) min(x, na.rm = na.rm),
  max = function(x, na.rm) max(x, na.rm = na.rm),
  range = function(x, na.rm) range(x, na.rm = na.rm),
  any = function(x, na.rm) any(x, na.rm = na.rm),
  all = function(x, na.rm) all(x, na.rm = na.rm),
  mean = function(x, na.rm) mean(x, na.rm = na.rm),
  anyNA = function(x, na.rm) anyNA(x)
)

test_that("every scalar type: views and summaries agree with m[] and base R (generated cases)", {
  skip_if_not_installed("bit64")
  for (name in scalar_types) {
    for (n in c(0, 1, 7, 2e5)) {
      endians <- if (n == 2e5) "little" else c("little", "big")
      for (endian in endians) {
        x <- gen_values(name, n)
        m <- local_mmap(x, type_of(name), endian = endian)
        base <- m[]
        v <- mmap_view(m)
        info <- paste(name, n, endian)
        expect_identical(length(v), length(base), info = info)
        expect_identical(v[], base, info = info)
        idx <- c(sample.int(max(n, 1), 50, TRUE), NA, n + 1)
        expect_identical(v[idx], base[idx], info = info)
        for (op in names(summaries)) {
          for (na.rm in c(FALSE, TRUE)) {
            f <- summaries[[op]]
            want <- outcome(f(base, na.rm))
            where <- paste(info, op, "na.rm =", na.rm)
            expect_same_outcome(outcome(f(m, na.rm)), want, where)
            expect_same_outcome(outcome(f(v, na.rm)), want, paste(where, "(view)"))
          }
        }
      }
    }
  }
})

test_that("integer sums overflow to double exactly as R's, logical sums are integer", {
  big <- rep(.Machine$integer.max, 3)
  m <- local_mmap(big)
  expect_identical(sum(m), sum(big))
  expect_identical(sum(mmap_view(m)), sum(big))
  expect_identical(mean(m), mean(big))
  neg <- local_mmap(c(-.Machine$integer.max, -5L))
  expect_identical(sum(neg), sum(c(-.Machine$integer.max, -5L)))
  l <- local_mmap(c(TRUE, NA, TRUE), logi8())
  expect_identical(sum(l, na.rm = TRUE), 2L)
  expect_identical(sum(l), NA_integer_)
  set.seed(1)
  ints <- sample(-1e9:1e9, 3e5, TRUE)
  im <- local_mmap(ints)
  expect_identical(mean(im), mean(ints))
  expect_identical(sum(im), sum(ints))
})

test_that("double summaries are compensated: ill-conditioned data as accurate as R", {
  x <- c(1e16, 1, -1e16, rep(0.1, 10))
  m <- local_mmap(x)
  expect_equal(sum(m), sum(x))
  # R's long double two-pass mean is off in the 4th digit here; ours must be
  # at least as close to the exact 2/13.
  expect_lte(abs(mean(m) - 2 / 13), abs(mean(x) - 2 / 13))
  expect_equal(mean(m), 2 / 13, tolerance = 1e-14)
  y <- c(1e308, 1e308, -1e308)
  expect_identical(sum(local_mmap(y)), sum(y))
  expect_identical(mean(local_mmap(y)), mean(y))
  set.seed(2)
  z <- rnorm(3e5) * 10^sample(-8:8, 3e5, TRUE)
  zm <- local_mmap(z)
  expect_equal(sum(zm), sum(z), tolerance = 1e-12)
  expect_equal(mean(zm), mean(z), tolerance = 1e-12)
  inf <- local_mmap(c(Inf, -Inf, 1))
  expect_identical(sum(inf), NaN)
  expect_identical(mean(local_mmap(c(Inf, 2))), Inf)
  expect_identical(prod(local_mmap(c(1e200, 1e200, 1e-200))), prod(c(1e200, 1e200, 1e-200)))
})

test_that("modifying a view copies first and is never lost, for every type", {
  skip_if_not_installed("bit64")
  for (name in scalar_types) {
    x <- gen_values(name, 1000)
    f <- tempfile(fileext = ".bin")
    m <- as.mmap(x, mode = type_of(name), file = f)
    before <- readBin(f, "raw", file.size(f))
    v <- mmap_view(m)
    new <- x[5]
    v[2] <- new
    expect_identical(v[2], m[5], info = name)
    expect_identical(v[1], m[1], info = name)
    expect_identical(v[-2], m[-2], info = name)
    expect_identical(m[2], x[2], info = name)
    expect_identical(readBin(f, "raw", file.size(f)), before, info = name)
    munmap(m)
    unlink(f)
  }
  m <- local_mmap(rep(c(TRUE, FALSE), 500), logi32())
  v <- mmap_view(m)
  v[2] <- TRUE
  expect_true(v[2])
  expect_false(m[2])
  i <- local_mmap((1:1000) %% 100L, int8())
  w <- mmap_view(i)
  w[2] <- 99L
  expect_identical(w[2], 99L)
  expect_identical(i[2], 2L)
  expect_identical(sum(w), sum((1:1000) %% 100L) + 97L)
})

test_that("a copy of a view is independent; R reads in-place types without copying", {
  m <- local_mmap(as.double(1:10))
  v <- mmap_view(m)
  expect_identical(mmap:::mm_view_info_(v), c(TRUE, TRUE, FALSE))
  expect_identical(mmap:::mm_view_info_(mmap_view(local_mmap(1:10, int16()))), c(TRUE, FALSE, FALSE))
  w <- v
  w[3] <- 0
  expect_identical(v[3], 3)
  expect_identical(mmap:::mm_view_info_(v), c(TRUE, TRUE, FALSE))
  expect_identical(mmap:::mm_view_info_(w)[3], TRUE)
  expect_identical(mmap:::mm_view_info_(1:10), c(FALSE, FALSE, FALSE))
})

test_that("a view shows the mapping's writes, including a private mapping's", {
  f <- tempfile(); on.exit(unlink(f))
  writeBin(as.double(1:10), f)
  m <- mmap(f, real64(), flags = mmapFlags("MAP_PRIVATE"))
  v <- mmap_view(m)
  m[1] <- 42
  expect_identical(v[1], 42)
  expect_identical(v[], m[])
  expect_identical(sum(v), sum(m[]))
  expect_identical(readBin(f, "double", 10)[1], 1)
  munmap(m)
})

test_that("a view follows its mapping after the file at the path is replaced", {
  f <- tempfile(); on.exit(unlink(c(f, g)))
  g <- tempfile()
  writeBin(1:10, f)
  m <- mmap(f, int32())
  v <- mmap_view(m)
  writeBin(101:110, g)
  file.rename(g, f)
  expect_identical(m[], 1:10)
  expect_identical(v[], m[])
  expect_identical(sum(v), sum(m))
  munmap(m)
})

test_that("a view stays valid after munmap(), rm() and gc() and never changes the file", {
  f <- tempfile(); on.exit(unlink(f))
  m <- as.mmap(as.double(1:100), file = f)
  v <- mmap_view(m)
  m[1] <- 42
  munmap(m)
  expect_error(m[1], class = "mmap_error_unmapped")
  rm(m)
  gc()
  expect_identical(sum(v), sum(c(42, 2:100)))
  expect_identical(v[1:2], c(42, 2))
  v[2] <- -1
  expect_identical(readBin(f, "double", 100)[1:2], c(42, 2))
})

test_that("a read-only mapping gives a view that reads in place and copies on write", {
  f <- tempfile(); on.exit(unlink(f))
  writeBin(as.double(1:1e5), f)
  m <- mmap(f, real64(), prot = mmapFlags("PROT_READ"))
  v <- mmap_view(m)
  expect_identical(sum(v), sum(as.double(1:1e5)))
  expect_identical(sum(m), sum(as.double(1:1e5)))
  v[1] <- 0
  expect_identical(v[1], 0)
  expect_identical(m[1], 1)
  munmap(m)
})

test_that("serialize = 'value' writes plain values readable without mmap", {
  m <- local_mmap(c(1L, -2L, NA, 7L), int16(na = -32768L), endian = "big")
  v <- mmap_view(m)
  bytes <- serialize(v, NULL)
  expect_length(grepRaw("mmap", bytes, fixed = TRUE), 0)
  expect_identical(unserialize(bytes), m[])
  rds <- tempfile(fileext = ".rds"); on.exit(unlink(rds))
  saveRDS(mmap_view(local_mmap(c("a", "bb"))), rds)
  rscript <- file.path(R.home("bin"), "Rscript")
  code <- sprintf(
    "stopifnot(!requireNamespace('mmap', quietly = TRUE)); x <- readRDS('%s'); cat(x, sep = ',')",
    rds)
  # A child R whose every library path lacks mmap (only base R's own library).
  empty <- tempfile("nolib"); dir.create(empty); on.exit(unlink(empty, recursive = TRUE), add = TRUE)
  lib <- paste0(c("R_LIBS=", "R_LIBS_USER=", "R_LIBS_SITE="), empty)
  out <- system2(rscript, c("--vanilla", "-e", shQuote(code)), stdout = TRUE, stderr = TRUE,
                 env = c(lib, "R_TESTS="))
  expect_identical(out[length(out)], "a,bb")
})

test_that("serialize = 'reference' re-maps on load and names a missing file", {
  f <- tempfile(); on.exit(unlink(f))
  x <- c(1L, -2L, sample.int(30000L, 1e5, replace = TRUE))
  m <- as.mmap(x, mode = int16(), endian = "big", file = f)
  v <- mmap_view(m, serialize = "reference")
  munmap(m)
  rds <- tempfile(fileext = ".rds"); on.exit(unlink(rds), add = TRUE)
  saveRDS(v, rds)
  expect_lt(file.size(rds), 1000)
  back <- readRDS(rds)
  expect_identical(back[], x)
  expect_identical(sum(back), sum(x))
  # A modified view saves its values.
  w <- v
  w[1] <- 5L
  expect_identical(unserialize(serialize(w, NULL))[1:2], c(5L, -2L))
  unlink(f)
  expect_error(readRDS(rds), "cannot restore an mmap view.*no longer exists|not found|does not exist")
  expect_error(readRDS(rds), basename(f), fixed = TRUE)
})

test_that("bits, char, cstring and struct mappings have views equal to m[]", {
  bits_x <- rep(c(TRUE, FALSE, FALSE), 30)
  b <- local_mmap(bits_x, bits())
  bv <- mmap_view(b)
  expect_identical(bv[], b[])
  expect_identical(sum(b), sum(b[]))
  expect_identical(sum(bv), sum(b[]))
  expect_identical(any(b), any(b[]))
  expect_identical(mean(b), mean(b[]))
  expect_identical(bv[c(1, 90, NA)], b[][c(1, 90, NA)])

  s <- local_mmap(c("apple", "fig", NA, "kiwi"), char(5, na = "NA"))
  sv <- mmap_view(s)
  expect_identical(sv[], s[])
  expect_identical(sv[c(4, 1, NA, 9)], s[][c(4, 1, NA, 9)])
  expect_identical(max(s, na.rm = TRUE), max(s[], na.rm = TRUE))
  expect_identical(anyNA(s), TRUE)
  expect_error(sum(s), "invalid 'type' \\(character\\)")
  sv[2] <- "pear"
  expect_identical(sv[2], "pear")
  expect_identical(s[2], "fig")

  cs <- local_mmap(c("a", "bb", "ccc", "\u00e9t\u00e9"))
  cv <- mmap_view(cs)
  expect_identical(cv[], cs[])
  expect_identical(nchar(cv), nchar(cs[]))
  expect_identical(range(cs), range(cs[]))
  expect_identical(anyNA(cs), anyNA(cs[]))
  expect_identical(anyNA(local_mmap(c("ab", "cd"), char(2, na = "NA"))), FALSE)

  df <- data.frame(id = 1:5, score = c(1.5, NA, 3, 4, 5), name = c("a", "bb", NA, "d", "e"),
                   grp = factor(c("x", "y", "x", "y", "y")), stringsAsFactors = FALSE)
  sm <- local_mmap(df)
  d <- mmap_view(sm)
  expect_s3_class(d, "data.frame")
  expect_identical(nrow(d), 5L)
  expect_identical(d$name[2], "bb")
  expect_identical(d, sm[])
  expect_identical(summary(d), summary(sm[]))
  expect_true(all(vapply(unclass(d), function(col) mmap:::mm_view_info_(col)[1], logical(1))))
  # summary() reads the string column's length only: no copy of its strings.
  expect_false(mmap:::mm_view_info_(d$name)[3])
  plain <- local_mmap(data.frame(a = 1:3, b = c(0.5, 1, 2)))
  extractFUN(plain) <- NULL
  expect_identical(as.list(mmap_view(plain)), plain[])
  expect_error(sum(plain), "invalid 'type' \\(list\\)")
})

test_that("int64 views are integer64 (exact) or doubles without bit64", {
  skip_if_not_installed("bit64")
  x <- bit64::as.integer64(c("9007199254740993", "-5", NA))
  m <- local_mmap(x)
  v <- mmap_view(m)
  expect_s3_class(v, "integer64")
  expect_identical(as.character(v), as.character(x))
  expect_identical(anyNA(m), TRUE)
  withr::local_options(mmap.bit64 = FALSE)
  d <- suppressWarnings(mmap_view(m))
  expect_identical(suppressWarnings(d[]), suppressWarnings(m[]))
  expect_identical(typeof(d), "double")
})

test_that("hooks apply to views and summaries as to m[]", {
  m <- local_mmap(c(0, 365, 18000))
  extractFUN(m) <- function(x) as.Date(x, origin = "1970-01-01")
  expect_identical(mmap_view(m), m[])
  expect_identical(max(m), max(m[]))
  expect_s3_class(max(m), "Date")
  expect_identical(range(m), range(m[]))
  h <- local_mmap(1:10)
  extractFUN(h) <- function(x) x * 2L
  expect_identical(sum(h), sum(h[]))
  expect_identical(mean(h), mean(h[]))
  expect_identical(mmap_apply(h, sum, chunk = 4), lapply(split(h[], ceiling(seq_len(10) / 4)), sum),
                   ignore_attr = TRUE)
})

test_that("zero-length mappings give zero-length views and base R's answers", {
  for (name in c("int8", "int32", "real64", "logi32", "uint32", "real32")) {
    m <- local_mmap(gen_values(name, 0), type_of(name))
    base <- m[]
    expect_length(mmap_view(m), 0)
    for (op in names(summaries)) {
      want <- outcome(summaries[[op]](base, FALSE))
      expect_same_outcome(outcome(summaries[[op]](m, FALSE)), want, paste(name, op))
      expect_same_outcome(outcome(summaries[[op]](mmap_view(m), FALSE)), want, paste(name, op, "view"))
    }
  }
})

test_that("matrices keep dim; multi-argument summaries and as.vector work", {
  m <- local_mmap(matrix(1:6, 2))
  v <- mmap_view(m)
  expect_identical(dim(v), c(2L, 3L))
  expect_identical(colSums(v), colSums(matrix(1:6, 2)))
  d <- local_mmap(c(2, 4, NA))
  expect_identical(range(d, 10, na.rm = TRUE), c(2, 10))
  expect_identical(sum(d, m, na.rm = TRUE), sum(c(2, 4), 1:6))
  expect_identical(as.vector(d), c(2, 4, NA))
  expect_identical(mean(d, trim = 0.1, na.rm = TRUE), 3)
})

test_that("a view of a mapping made unreadable by mprotect() errors instead of crashing", {
  m <- local_mmap(as.double(1:10))
  v <- mmap_view(m)
  mprotect(m, mmapFlags("PROT_NONE"))
  expect_error(v[2], "not readable|readable")
  expect_error(sum(v), "not readable|readable")
  mprotect(m, mmapFlags("PROT_READ"))
  expect_identical(v[2], 2)
})

test_that("a view of a munmapped object or of a non-mapping is an error", {
  m <- as.mmap(1:3)
  munmap(m)
  expect_error(mmap_view(m), class = "mmap_error_unmapped")
  expect_error(mmap_view(1:3), class = "mmap_error_type")
})

test_that("a view of a 2 GB sparse mapping copies nothing; sum() allocates nothing", {
  skip_on_cran()
  skip_if_not(file.exists("/proc/self/status"), "needs /proc/self/status")
  status <- function(key) {
    line <- grep(paste0("^", key, ":"), readLines("/proc/self/status"), value = TRUE)
    as.numeric(gsub("[^0-9]", "", line)) * 1024
  }
  f <- tempfile(); on.exit(unlink(f))
  n <- 2^28 # 2 GiB of doubles
  mmap:::mm_create_(f, n * 8)
  m <- mmap(f, real64(), prot = mmapFlags("PROT_READ"))
  on.exit(munmap(m), add = TRUE)
  gc()
  rss <- status("VmRSS")
  v <- mmap_view(m)
  expect_identical(length(v), as.integer(n))
  expect_identical(v[c(1, n)], c(0, 0))
  expect_lt(status("VmRSS") - rss, 64 * 2^20)
  anon <- status("RssAnon")
  gc_before <- gc(reset = TRUE)
  expect_identical(sum(v), 0)
  expect_identical(sum(m), 0)
  expect_identical(mean(m), 0)
  expect_lt(status("RssAnon") - anon, 64 * 2^20)
  expect_lt(max(gc()[, 6] - gc_before[, 2]), 64) # Mb: no 2 GB vector was allocated
  alloc <- bench::mark(sum(v), iterations = 1, check = FALSE)$mem_alloc
  expect_lt(as.numeric(alloc), 2^20)
})

test_that("long vectors: 2^31 + 10 one-byte elements index, compare, summarise and view", {
  skip_on_cran()
  f <- tempfile(); on.exit(unlink(f))
  n <- 2^31 + 10
  mmap:::mm_create_(f, n)
  m <- mmap(f, uint8())
  on.exit(munmap(m), add = TRUE)
  expect_identical(length(m), n)
  m[c(1, n - 1, n)] <- c(3L, 200L, 7L)
  expect_identical(m[c(1, n - 1, n)], c(3L, 200L, 7L))
  expect_identical(m[(n - 2):n], c(0L, 200L, 7L))
  expect_identical(m > 5, c(n - 1, n)) # Ops give positions, past 2^31 as doubles
  expect_identical(sum(m), 210L)
  expect_identical(max(m), 200L)
  expect_identical(range(m), c(0L, 200L))
  expect_identical(mean(m), 210 / n)
  expect_false(anyNA(m))
  expect_true(any(m))
  v <- mmap_view(m)
  expect_identical(length(v), n)
  expect_identical(v[n], 7L)
  expect_identical(sum(v), 210L)
  expect_identical(max(v), 200L)
  parts <- mmap_apply(m, function(x) sum(x), chunk = 2^30)
  expect_length(parts, 3)
  expect_identical(Reduce(`+`, parts), 210L)
  # One long extraction, as raw (2 GB; as integers it would be 8.6 GB).
  x <- as.uchar(m)[]
  expect_identical(length(x), n)
  expect_identical(x[c(1, n)], as.raw(c(3, 7)))
  rm(x)
  gc()
})

test_that("serialize = 'reference' works for strings, bits and structs", {
  s <- local_mmap(c("apple", "fig", NA), char(5, na = "NA"))
  back <- unserialize(serialize(mmap_view(s, serialize = "reference"), NULL))
  expect_identical(back, s[])
  cs <- local_mmap(c("a", "bb", "ccc"))
  expect_identical(unserialize(serialize(mmap_view(cs, serialize = "reference"), NULL)), cs[])
  b <- local_mmap(c(TRUE, FALSE, TRUE), bits())
  expect_identical(unserialize(serialize(mmap_view(b, serialize = "reference"), NULL)), b[])
  d <- local_mmap(data.frame(id = 1:1e4, grp = factor(rep(c("x", "y"), 5e3))))
  ref <- serialize(mmap_view(d, serialize = "reference"), NULL)
  expect_lt(length(ref), 5000) # descriptions, not 80 KB of values
  expect_identical(unserialize(ref), d[])
})

test_that("a view of a read-only mapping twice the size of RAM reserves nothing", {
  skip_on_cran()
  mem <- grep("^MemTotal:", tryCatch(readLines("/proc/meminfo"), error = function(e) ""), value = TRUE)
  skip_if(length(mem) == 0L, "needs /proc/meminfo")
  ram <- as.numeric(gsub("[^0-9]", "", mem)) * 1024
  f <- tempfile(); on.exit(unlink(f))
  bytes <- ceiling(2 * ram / 8) * 8 # sparse: no disk blocks are used
  mmap:::mm_create_(f, bytes)
  m <- mmap(f, real64(), prot = mmapFlags("PROT_READ"))
  on.exit(munmap(m), add = TRUE)
  v <- mmap_view(m) # a private writable re-mapping of this size would be refused (ENOMEM)
  n <- bytes / 8
  expect_identical(length(v), n)
  expect_identical(v[c(1, n)], c(0, 0))
  w <- mmap_view(m)[(n - 9):n]
  expect_identical(w, numeric(10))
})

test_that("int64 summaries of a mapping are bit64's, computed in Rust without a copy (generated)", {
  skip_if_not_installed("bit64")
  withr::local_options(mmap.bit64 = TRUE)
  big <- bit64::as.integer64("9223372036854775807")
  set.seed(11)
  cases <- list(
    empty = bit64::integer64(),
    plain = bit64::as.integer64(sample(-1e6:1e6, 50)),
    na_first = c(bit64::NA_integer64_, big, big),
    overflow_first = c(big, big, bit64::NA_integer64_),
    overflow_middle = c(big, bit64::as.integer64(1), bit64::as.integer64(-1)),
    all_na = rep(bit64::NA_integer64_, 3),
    zeros = bit64::as.integer64(c(0, 0, NA)),
    large = {
      x <- bit64::as.integer64(sample(-1e9:1e9, 3e5, TRUE))
      x[sample(3e5, 20)] <- bit64::NA_integer64_
      x
    },
    # Sums past 2^64, where bit64's long double mean rounds at every step.
    huge = bit64::as.integer64("4611686018427387904") + bit64::as.integer64(sample(-1e9:1e9, 5000, TRUE)),
    near_max = big - bit64::as.integer64(sample(0:1e6, 3e4, TRUE)),
    near_min = -big + bit64::as.integer64(sample(0:1e6, 7, TRUE)),
    alternating = rep(c(big, -big + bit64::as.integer64(3)), 1001)
  )
  ops <- c("sum", "min", "max", "range", "any", "all", "mean", "prod")
  for (name in names(cases)) {
    m <- local_mmap(cases[[name]], int64())
    base <- m[]
    for (op in ops) {
      for (na.rm in c(FALSE, TRUE)) {
        f <- summaries[[op]]
        info <- paste(name, op, "na.rm =", na.rm)
        got <- outcome(f(m, na.rm))
        want <- outcome(f(base, na.rm))
        expect_identical(got$warnings, want$warnings, info = info)
        expect_identical(got$value, want$value, info = info)
      }
    }
  }
  # No copy of the data: summing 8 MB of int64 allocates a few bytes in R.
  skip_if_not_installed("bench")
  m <- local_mmap(bit64::as.integer64(seq_len(1e6)), int64())
  expect_lt(as.numeric(bench::mark(sum(m), iterations = 3)$mem_alloc), 1e5)
  expect_lt(as.numeric(bench::mark(mean(m), iterations = 3)$mem_alloc), 1e5)
  expect_identical(sum(m), bit64::as.integer64(500000500000))
})
