# The seed vignette's record: 2-byte, 4-byte and 8-byte numbers, 14 bytes packed.
seed_record <- function() struct(short = int16(), int = int32(), double = real64())

test_that("struct() lays out fields and reports its size", {
  r <- seed_record()
  expect_true(is.struct(r))
  expect_false(is.struct(int32()))
  expect_equal(nbytes(r), 14)
  expect_equal(attr(r, "offsets"), c(short = 0, int = 2, double = 6))
  expect_output(print(r), "short.*int16.*offset 0")
  a <- struct(a = int16(), pad(2), b = int32(), c = real64())
  expect_equal(attr(a, "offsets"), c(a = 0, b = 4, c = 8))
  expect_equal(nbytes(a), 16)
  o <- struct(a = int16(), b = real64(), offset = c(0, 8), bytes = 24)
  expect_equal(attr(o, "offsets"), c(a = 0, b = 8))
  expect_equal(nbytes(o), 24)
  expect_equal(nbytes(struct(x = double(), y = integer())), 12)
})

test_that("struct() refuses bad layouts", {
  expect_error(struct(), class = "mmap_error_type")
  expect_error(struct(a = int32(), a = int8()), class = "mmap_error_type", regexp = "twice")
  expect_error(struct(a = real64(), bytes = 4), class = "mmap_error_type", regexp = "too small")
  expect_error(struct(a = cstring()), class = "mmap_error_type", regexp = "fixed-width")
  expect_error(struct(a = bits()), class = "mmap_error_type")
  expect_error(struct(a = int32(), offset = c(0, 4)), class = "mmap_error_type", regexp = "2 values for 1 field")
})

test_that("struct() descriptions are checked once, by the core parser", {
  expect_error(struct(), "at least one field", class = "mmap_error_type")
  expect_error(struct(a = bits()), "fixed-width scalar or char\\(n\\) type, not bits", class = "mmap_error_type")
  expect_error(struct(a = int32(), offset = "0"), "`offset` must be numeric", class = "mmap_error_type")
  expect_error(struct(a = int32(), offset = -4), "`offset` must be a whole number", class = "mmap_error_type")
  expect_error(struct(a = int32(), offset = 1.5), "`offset` must be a whole number", class = "mmap_error_type")
  # One offset per field (pads excluded), one per argument, or all NA.
  t <- struct(a = int16(), pad(2), b = int32(), offset = c(NA, 8))
  expect_equal(attr(t, "offsets"), c(a = 0, b = 8))
  t <- struct(a = int16(), pad(2), b = int32(), offset = c(NA, NA, 12))
  expect_equal(attr(t, "offsets"), c(a = 0, b = 12))
  expect_error(struct(a = int16(), offset = NA), NA)
})

local_struct <- function(type, n, .env = parent.frame()) {
  f <- tempfile("mm-struct", fileext = ".bin")
  writeBin(raw(nbytes(type) * n), f)
  m <- mmap(f, type)
  withr::defer({
    try(munmap(m), silent = TRUE)
    unlink(f)
  }, envir = .env)
  m
}

test_that("the seed vignette's struct workflow works", {
  m <- local_struct(seed_record(), 100)
  expect_equal(length(m), 100L)
  ints <- sample(1e6, 100)
  dbls <- rnorm(100)
  m[] <- list(1:100L, ints, dbls)
  expect_equal(m[1], list(short = 1L, int = ints[1], double = dbls[1]))
  expect_equal(m[1:3], list(short = 1:3, int = ints[1:3], double = dbls[1:3]))
  expect_equal(m[1:3, "short"], list(short = 1:3))
  extractFUN(m) <- function(X) do.call(data.frame, X)
  expect_s3_class(m[1], "data.frame")
  expect_equal(m[2:5], data.frame(short = 2:5, int = ints[2:5], double = dbls[2:5]))
  expect_equal(m[2:5, "double"], data.frame(double = dbls[2:5]))
  expect_equal(m[2:5, 2], data.frame(int = ints[2:5]))
  expect_equal(m[1:9][, "double"], dbls[1:9])
})

test_that("bytes on disk follow the layout and the byte order", {
  m <- local_struct(struct(a = int16(), pad(2), b = int32()), 2)
  m[] <- list(c(1L, -2L), c(3L, 4L))
  f <- .subset2(m, "file")
  expect_equal(file_bytes(f), c(base_bytes(1L, 2), raw(2), base_bytes(3L, 4),
                                base_bytes(-2L, 2), raw(2), base_bytes(4L, 4)))
  munmap(m)
  b <- mmap(f, struct(a = int16(), pad(2), b = int32()), endian = "big")
  expect_equal(b[1, "a"], list(a = 256L))
  b[1, "b"] <- 1L
  expect_equal(file_bytes(f)[5:8], as.raw(c(0, 0, 0, 1)))
  munmap(b)
})

test_that("columns select by name, position, negative position and logical", {
  m <- local_struct(seed_record(), 4)
  m[] <- list(1:4, 11:14, c(0.5, 1.5, 2.5, 3.5))
  expect_equal(m[2, c("double", "short")], list(double = 1.5, short = 2L))
  expect_equal(m[2, 3], list(double = 1.5))
  # CRAN mmap silently returned nothing for negative columns.
  expect_equal(m[2:3, -1], list(int = 12:13, double = c(1.5, 2.5)))
  expect_equal(m[2, -c(1, 3)], list(int = 12L))
  expect_equal(m[1, c(TRUE, FALSE, TRUE)], list(short = 1L, double = 0.5))
  expect_equal(m[, "int"], list(int = 11:14))
  expect_equal(m[-(1:3)], list(short = 4L, int = 14L, double = 3.5))
  expect_error(m[1, 4], class = "mmap_error_bounds", regexp = "3 fields")
  expect_error(m[1, "nope"], class = "mmap_error_bounds", regexp = "no field named `nope`")
  expect_error(m[1, c(-1, 2)], class = "mmap_error_bounds")
  expect_error(m[1, NA_integer_], class = "mmap_error_bounds")
  expect_error(m[5], class = "mmap_error_bounds")
})

test_that("m[i, j] <- value and m[i] <- list(...) write columns", {
  m <- local_struct(seed_record(), 4)
  m[] <- list(1:4, 11:14, 0)
  m[2, "int"] <- -1L
  expect_equal(m[, "int"]$int, c(11L, -1L, 13L, 14L))
  m[3:4, c("double", "short")] <- list(c(9.5, 8.5), 7L)
  expect_equal(m[3:4], list(short = c(7L, 7L), int = 13:14, double = c(9.5, 8.5)))
  m[1] <- list(double = 2.25, short = 5L, int = 6L)  # matched by name
  expect_equal(m[1], list(short = 5L, int = 6L, double = 2.25))
  m[2, -1] <- list(100L, 1e10)
  expect_equal(m[2], list(short = 2L, int = 100L, double = 1e10))
  m[4] <- data.frame(short = 1L, int = 2L, double = 3)
  expect_equal(m[4], list(short = 1L, int = 2L, double = 3))
  expect_error(m[1] <- list(1L, 2L), class = "mmap_error_value", regexp = "2 columns for 3")
  expect_error(m[1] <- 1:3, class = "mmap_error_type")
  expect_error(m[1, "int"] <- "a", class = "mmap_error_type", regexp = "field `int`")
})

test_that("a bad value in any column leaves every record unchanged", {
  m <- local_struct(seed_record(), 3)
  m[] <- list(1:3, 1:3, 1)
  f <- .subset2(m, "file")
  before <- file_bytes(f)
  expect_error(m[] <- list(1L, c(1, 2, 2^31), 0), class = "mmap_error_value", regexp = "field `int`.*element 3")
  expect_error(m[1:3] <- list(short = c(0L, 40000L, 0L), int = 9L, double = 9),
               class = "mmap_error_value", regexp = "field `short`.*element 2.*int16")
  expect_identical(file_bytes(f), before)
})

test_that("char(n) fields never bleed into the next field (CRAN fault)", {
  m <- local_struct(struct(name = char(3), id = int32()), 2)
  m[] <- list(c("ab", "xyz"), 1:2)
  expect_equal(m[], list(name = c("ab", "xyz"), id = 1:2))
  f <- .subset2(m, "file")
  before <- file_bytes(f)
  expect_error(m[1, "name"] <- "abcd", class = "mmap_error_value", regexp = "field `name`.*at most 3 bytes")
  expect_identical(file_bytes(f), before)
  expect_equal(m[1, "id"], list(id = 1L))
  expect_error(m[1, "name"] <- NA, class = "mmap_error_value", regexp = "no NA")
})

test_that("length, is.na, print and as.struct on struct mappings", {
  m <- local_struct(struct(a = int8(na = -128L), b = real64(), s = char(2, na = "NA")), 3)
  m[] <- list(c(1L, NA, 3L), c(NA, 1, 2), c("x", "y", NA))
  expect_equal(length(m), 3L)
  expect_equal(is.na(m), matrix(c(FALSE, TRUE, FALSE, TRUE, FALSE, FALSE, FALSE, FALSE, TRUE), 3,
                                dimnames = list(NULL, c("a", "b", "s"))))
  expect_output(print(m), "struct \\[3\\]")
  r <- as.struct(list(x = integer(), y = double()))
  expect_equal(nbytes(r), 12)
  expect_equal(as.struct(r), r)
  v <- as.struct(as.uchar(m), a = int8(), rest = char(10, nul = FALSE))
  expect_true(is.struct(v))
  expect_equal(length(v), 3L)
  expect_error(as.struct(1), class = "mmap_error_type")
})

test_that("as.mmap(<data.frame>) round-trips numeric, logical, factor, character and Date columns", {
  df <- data.frame(id = 1:4, score = c(1.5, NA, 3, -Inf), ok = c(TRUE, NA, FALSE, TRUE),
                   name = c("a", "bb", NA, ""), grp = factor(c("x", "y", NA, "x"), levels = c("y", "x")),
                   day = as.Date("2020-01-01") + 0:3)
  file <- tempfile(fileext = ".bin")
  m <- as.mmap(df, file = file)
  on.exit({ munmap(m); unlink(file) })
  expect_true(is.struct(m))
  expect_identical(m[], df)
  expect_identical(m[2:3, c("name", "grp")], df[2:3, c("name", "grp")] |> `rownames<-`(NULL))
  expect_identical(levels(m[1]$grp), c("y", "x"))
  m[1, "grp"] <- "y"
  m[2, "name"] <- "zz"
  expect_equal(as.character(m[1:2]$grp), c("y", "y"))
  expect_equal(m[2]$name, "zz")
  expect_error(m[1, "grp"] <- "nope", class = "mmap_error_value", regexp = "not one of its levels")
  expect_error(m[1, "name"] <- "too long", class = "mmap_error_value")
  m[4] <- df[1, ]
  expect_identical(m[4], `rownames<-`(df[1, ], NULL))
})

test_that("as.mmap(<data.frame>) keeps a literal \"NA\" string distinct from NA", {
  df <- data.frame(s = c("NA", NA, "b"))
  m <- local_mmap(df)
  expect_identical(m[]$s, c("NA", NA, "b"))
})

test_that("summary() of compound mappings summarises the values", {
  m <- local_mmap(data.frame(x = c(1, 2, 3), s = c("a", "b", "c")))
  expect_equal(summary(m), summary(data.frame(x = c(1, 2, 3), s = c("a", "b", "c"))))
  b <- local_mmap(c("a", "b"))
  expect_equal(summary(b), summary(c("a", "b")))
})

test_that("int64 and complex columns round-trip through a struct", {
  skip_if_not_installed("bit64")
  df <- data.frame(a = bit64::as.integer64(c(1, 2^40)), b = c(1 + 2i, NA))
  m <- local_mmap(df)
  expect_identical(m[], df)
  expect_equal(m[c(NA, 1)]$b, c(NA, 1 + 2i))
})

test_that("many random records read the same as one field at a time (blocked, threaded gather)", {
  n <- 3e5
  m <- local_struct(struct(a = int16(), b = int32(), c = real64(), s = char(2)), n)
  a <- sample(-3e4:3e4, n, TRUE)
  b <- sample.int(1e9, n)
  c <- runif(n)
  m[] <- list(a, b, c, "ab")
  idx <- c(sample.int(n, 2e5, replace = TRUE), NA, 1)
  got <- m[idx]
  expect_identical(got$a, a[idx])
  expect_identical(got$b, b[idx])
  expect_identical(got$c, c[idx])
  expect_identical(got$s, ifelse(is.na(idx), NA, "ab"))
  expect_identical(m[idx, c("c", "a")], list(c = c[idx], a = a[idx]))
})

test_that("struct fields may be unnamed, as in CRAN's mmap, and are used by position", {
  s <- struct(int16(), int32())
  expect_equal(nbytes(s), 6)
  f <- local_bytes(raw(6 * 3))
  m <- mmap(f, s)
  on.exit(munmap(m))
  expect_identical(length(m), 3L)
  m[] <- list(1:3, c(10L, 20L, 30L))
  expect_identical(m[2:3], list(2:3, c(20L, 30L)))
  expect_identical(m[2, 2], list(20L))
  m[1, 2] <- 99L
  expect_identical(m[1], list(1L, 99L))
  expect_identical(m[[3]], list(3L, 30L))
  # A mix: unnamed fields get names by position.
  expect_named(mmap:::struct_fields(struct(a = int8(), int8())), c("a", "V2"))
})

test_that("a record size that does not fit is an error, never a size of NA", {
  expect_error(struct(a = int32(), bytes = 2^31), "`bytes`", class = "mmap_error_type")
  expect_error(struct(a = char(2^31 - 2), b = char(8)), "at most", class = "mmap_error_type")
})
