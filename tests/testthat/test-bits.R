test_that("bits are addressed by 32-bit word and bit (CRAN mixed elements 9 and 33)", {
  f <- local_bytes(raw(8))
  b <- mmap(f, bits())
  on.exit(munmap(b))
  expect_equal(length(b), 64L)
  expect_equal(b[], rep(FALSE, 64))
  b[9] <- TRUE
  expect_equal(which(b[]), 9L)
  expect_false(b[33])
  b[33] <- TRUE
  expect_equal(which(b[]), c(9L, 33L))
  # Element k is bit (k-1) %% 32 of word (k-1) %/% 32 (little-endian words here).
  expect_equal(readBin(f, "integer", 2, endian = "little"), c(2^8, 1))
  b[9] <- FALSE
  expect_equal(which(b[]), 33L)
})

test_that("bits honour the mapping's byte order", {
  f <- local_bytes(raw(4))
  b <- mmap(f, bits(), endian = "big")
  on.exit(munmap(b))
  b[1] <- TRUE
  expect_equal(file_bytes(f), as.raw(c(0, 0, 0, 1)))
  b[32] <- TRUE
  expect_equal(file_bytes(f), as.raw(c(0x80, 0, 0, 1)))
  expect_equal(which(b[]), c(1L, 32L))
  f2 <- local_bytes(as.raw(c(0x80, 0, 0, 1)))
  l <- mmap(f2, bits(), endian = "little")
  on.exit(munmap(l), add = TRUE)
  expect_equal(which(l[]), c(8L, 25L))
})

test_that("bits read and write with every index form and recycle", {
  f <- local_bytes(raw(8))
  b <- mmap(f, bits())
  on.exit(munmap(b))
  b[c(TRUE, FALSE)] <- TRUE
  expect_equal(which(b[]), seq(1L, 63L, by = 2L))
  b[] <- FALSE
  b[-(1:62)] <- c(1, 0)
  expect_equal(b[63:64], c(TRUE, FALSE))
  expect_equal(b[c(NA, 63)], c(NA, TRUE))
  expect_error(b[65], class = "mmap_error_bounds")
  expect_error(b[65] <- TRUE, class = "mmap_error_bounds")
})

test_that("bits have no NA: writing one is an error and nothing is written", {
  f <- local_bytes(raw(4))
  b <- mmap(f, bits())
  on.exit(munmap(b))
  expect_error(b[1:2] <- c(TRUE, NA), class = "mmap_error_value", regexp = "element 2")
  expect_equal(file_bytes(f), raw(4))
  expect_equal(is.na(b), rep(FALSE, 32))
  expect_error(b[1] <- 1i, class = "mmap_error_type")
})

test_that("bits() is a Ctype; trailing bytes warn", {
  expect_s3_class(bits(), "Ctype")
  expect_output(print(bits()), "bits")
  f <- local_bytes(raw(6))
  expect_warning(b <- mmap(f, bits()), "trailing")
  on.exit(munmap(b))
  expect_equal(length(b), 32L)
})

test_that("as.mmap() packs logicals into whole 32-bit words for bits()", {
  x <- c(TRUE, FALSE, TRUE)
  m <- local_mmap(x, bits())
  expect_equal(file.size(m$file), 4)
  expect_equal(length(m), 32L)
  expect_identical(m[1:3], x)
  expect_identical(m[4:32], rep(FALSE, 29))
  y <- rep(c(TRUE, FALSE, FALSE), 30)
  b <- local_mmap(y, bits())
  expect_equal(file.size(b$file), 12)
  expect_identical(b[seq_along(y)], y)
})

test_that("bits refuse a factor value, as every other type does, and write nothing", {
  f <- local_bytes(raw(4))
  b <- mmap(f, bits())
  on.exit(munmap(b))
  expect_error(b[1:2] <- factor(c("a", "b")), "factor", class = "mmap_error_type")
  expect_identical(file_bytes(f), raw(4))
  b[1:2] <- as.integer(factor(c("a", "b")))
  expect_identical(b[1:3], c(TRUE, TRUE, FALSE))
})

test_that("as.mmap() sizes a bits file by Rust's layout: whole 4-byte words", {
  for (n in c(0, 1, 31, 32, 33, 64, 65, 100)) {
    f <- withr::local_tempfile()
    x <- rep(c(TRUE, FALSE, TRUE), length.out = n)
    m <- as.mmap(x, bits(), file = f)
    expect_identical(file.size(f), ceiling(n / 32) * 4, info = n)
    expect_identical(m[seq_len(n)], x, info = n)
    munmap(m)
  }
  expect_identical(mmap:::layout_bytes(bits(), 33), 8)
  expect_identical(mmap:::layout_bytes(int24(), 5), 15)
  expect_identical(mmap:::layout_bytes(struct(a = int8(), b = real64()), 2), 18)
  expect_error(mmap:::layout_bytes(cstring(), 2), "no fixed size", class = "mmap_error_value")
})
