test_that("extractFUN is applied to every extraction; getters return the hooks", {
  m <- local_mmap(c(0, 365, 18000))
  expect_null(extractFUN(m))
  expect_null(replaceFUN(m))
  to_date <- function(x) as.Date(x, origin = "1970-01-01")
  extractFUN(m) <- to_date
  expect_identical(extractFUN(m), to_date)
  expect_equal(m[], as.Date(c(0, 365, 18000), origin = "1970-01-01"))
  expect_equal(m[2], as.Date("1971-01-01"))
  expect_equal(head(m, 1), as.Date("1970-01-01"))
  extractFUN(m) <- NULL
  expect_null(extractFUN(m))
  expect_equal(m[], c(0, 365, 18000))
})

test_that("replaceFUN is applied to every replacement (CRAN stored it but never applied it)", {
  m <- local_mmap(c(0, 0))
  replaceFUN(m) <- function(x) as.numeric(as.Date(x))
  m[1] <- as.Date("2024-02-29")
  m[2] <- "1970-01-11"
  expect_equal(as.numeric(m[]), c(as.numeric(as.Date("2024-02-29")), 10))
  f <- function(x) x * 2
  replaceFUN(m) <- f
  expect_identical(replaceFUN(m), f)
  m[] <- c(1, 2)
  expect_equal(m[], c(2, 4))
})

test_that("hooks can be given to mmap() and survive saveRDS", {
  f <- local_bytes(base_bytes(c(1, 2), 8))
  m <- mmap(f, real64(), extractFUN = function(x) x + 100, replaceFUN = function(x) x - 100)
  on.exit(munmap(m))
  expect_equal(m[], c(101, 102))
  m[1] <- 150
  expect_equal(readBin(f, "double", 2), c(50, 2))
  rds <- tempfile(fileext = ".rds")
  on.exit(unlink(rds), add = TRUE)
  saveRDS(m, rds)
  m2 <- readRDS(rds)
  expect_equal(m2[], c(150, 102))
})

test_that("POSIXct through hooks", {
  t0 <- as.POSIXct("2021-06-01 12:00:00", tz = "UTC")
  m <- local_mmap(c(0, 0))
  extractFUN(m) <- function(x) as.POSIXct(x, origin = "1970-01-01", tz = "UTC")
  replaceFUN(m) <- as.numeric
  m[2] <- t0
  expect_equal(m[2], t0)
})

test_that("hook setters check their arguments", {
  m <- local_mmap(1:3)
  expect_error(extractFUN(m) <- 1, class = "mmap_error_type")
  expect_error(replaceFUN(m) <- "f", class = "mmap_error_type")
  expect_error(extractFUN(1:3), class = "mmap_error_type")
  expect_error(mmap(.subset2(m, "file"), extractFUN = 2), class = "mmap_error_type")
})

test_that("is.na() works on every type and ignores hooks", {
  for (type in names(int_types)) {
    t <- if (type %in% c("int32")) type_of(type) else type_of(type, na = 0L)
    m <- local_mmap(c(1L, NA, 3L), mode = t)
    expect_identical(is.na(m), c(FALSE, TRUE, FALSE), info = type)
  }
  expect_identical(is.na(local_mmap(c(1, NA, NaN))), c(FALSE, TRUE, TRUE))
  expect_identical(is.na(local_mmap(c(1, NA), mode = real32())), c(FALSE, TRUE))
  expect_identical(is.na(local_mmap(c(TRUE, NA), mode = logi8())), c(FALSE, TRUE))
  expect_identical(is.na(local_mmap(c(TRUE, NA))), c(FALSE, TRUE))
  expect_identical(is.na(local_mmap(c(1i, NA))), c(FALSE, TRUE))
  expect_identical(is.na(local_mmap(as.raw(1:2))), c(FALSE, FALSE))
  expect_identical(is.na(local_mmap(c(1, NA), mode = int64())), c(FALSE, TRUE))
  expect_identical(is.na(local_mmap(1:3, mode = int8())), c(FALSE, FALSE, FALSE))
  m <- local_mmap(c(1, NA))
  extractFUN(m) <- function(x) rep(0, length(x))
  expect_identical(is.na(m), c(FALSE, TRUE))
  d <- local_mmap(as.double(c(1, NA, 3, 4)))
  dim(d) <- c(2, 2)
  expect_identical(is.na(d), matrix(c(FALSE, TRUE, FALSE, FALSE), 2))
})
