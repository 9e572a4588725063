test_that("base R functions work on a view and agree with the extracted vector", {
  x <- c(3.5, NA, -1, 1e6, 0)
  m <- local_mmap(x)
  v <- as.altrep(m)
  expect_identical(v[], x)
  expect_identical(length(v), length(x))
  expect_identical(sum(v, na.rm = TRUE), sum(x, na.rm = TRUE))
  expect_identical(mean(v, na.rm = TRUE), mean(x, na.rm = TRUE))
  expect_identical(which(v > 0), which(x > 0))
  expect_identical(v[c(5, 1)], x[c(5, 1)])
  expect_identical(range(v, na.rm = TRUE), range(x, na.rm = TRUE))
  expect_identical(v * 2, x * 2)
})

test_that("native types are read in place, others decoded", {
  info <- function(v) mmap:::mm_view_info_(v)
  expect_identical(info(as.altrep(local_mmap(as.double(1:10)))), c(TRUE, TRUE, FALSE))
  expect_identical(info(as.altrep(local_mmap(1:10))), c(TRUE, TRUE, FALSE))
  expect_identical(info(as.altrep(local_mmap(1:10, int16())))[1:2], c(TRUE, FALSE))
  expect_identical(info(1:10), c(FALSE, FALSE, FALSE))
})

test_that("every scalar type gives the same values through a view as through [", {
  cases <- list(
    int8 = c(-5L, 7L), uint8 = c(0L, 255L), int16 = c(-300L, 300L), uint16 = c(1L, 65535L),
    int24 = c(-8388608L, 5L), uint24 = c(16777215L, 0L), int32 = c(NA, 2L), uint32 = c(4294967295, 1),
    real32 = c(1.5, NA), real64 = c(NaN, NA), cplx = c(1i, NA), logi8 = c(TRUE, NA),
    logi32 = c(FALSE, NA), uchar = as.raw(c(1, 255))
  )
  for (name in names(cases)) {
    for (endian in c("little", "big")) {
      m <- local_mmap(cases[[name]], type_of(name), endian = endian)
      v <- as.altrep(m)
      expect_identical(v[], m[], info = paste(name, endian))
      expect_identical(v[2], m[2], info = paste(name, endian))
    }
  }
})

test_that("int64 views are integer64 and exact", {
  skip_if_not_installed("bit64")
  x <- bit64::as.integer64(c("9007199254740993", "-5"))
  v <- as.altrep(local_mmap(x))
  expect_s3_class(v, "integer64")
  expect_identical(as.character(v), as.character(x))
})

test_that("a view keeps reading after munmap() and never changes the file", {
  f <- tempfile(); on.exit(unlink(f))
  m <- as.mmap(as.double(1:100), file = f)
  v <- as.altrep(m)
  m[1] <- 42
  expect_identical(v[1], 42)
  munmap(m)
  expect_error(m[1], class = "mmap_error_unmapped")
  expect_identical(sum(v), sum(c(42, 2:100)))
  v[2] <- -1
  expect_identical(v[2], -1)
  expect_identical(readBin(f, "double", 100)[1:2], c(42, 2))
  w <- v
  w[3] <- 0
  expect_identical(v[3], 3)
})

test_that("a view survives saveRDS()/readRDS() and fails clearly when the file is gone", {
  f <- tempfile(); on.exit(unlink(f))
  x <- c(1L, -2L, sample.int(30000L, 1e5, replace = TRUE))
  m <- as.mmap(x, mode = int16(), endian = "big", file = f)
  v <- as.altrep(m)
  munmap(m)
  rds <- tempfile(fileext = ".rds"); on.exit(unlink(rds), add = TRUE)
  saveRDS(v, rds)
  expect_lt(file.size(rds), 1000) # the description, not 200 KB of data
  back <- readRDS(rds)
  expect_identical(back[], x)
  unlink(f)
  expect_error(readRDS(rds), "cannot restore an mmap view")
})

test_that("views of matrices keep dim; Summary and mean work on mmap objects", {
  m <- local_mmap(matrix(1:6, 2))
  v <- as.altrep(m)
  expect_identical(dim(v), c(2L, 3L))
  expect_identical(colSums(v), colSums(matrix(1:6, 2)))
  d <- local_mmap(c(2, 4, NA))
  expect_identical(sum(d, na.rm = TRUE), 6)
  expect_identical(max(d, na.rm = TRUE), 4)
  expect_identical(mean(d, na.rm = TRUE), 3)
  expect_identical(range(d, 10, na.rm = TRUE), c(2, 10))
  expect_identical(as.vector(d), c(2, 4, NA))
})

test_that("a view of a munmapped object is an error", {
  m <- as.mmap(1:3)
  munmap(m)
  expect_error(as.altrep(m), class = "mmap_error_unmapped")
})
