test_that("index forms follow R: missing, positive, negative, logical, zero, doubles", {
  x <- as.double(1:10) * 1.5
  m <- local_mmap(x)
  idx <- list(c(3, 1, 3), -1, -(2:4), c(-1, -10), c(TRUE, FALSE), c(TRUE, NA, FALSE),
              c(0, 2, 0), 2.9, integer(), 10:1, 4:7, -100, c(-1, 0), rep(TRUE, 10))
  for (i in idx) expect_identical(m[i], x[i], info = deparse(i))
  expect_identical(m[], x)
  expect_identical(m[NULL], x[NULL])
  expect_identical(m[factor(c("b", "a"))], x[factor(c("b", "a"))])
})

test_that("NA indices give NA when extracting; replacing skips them for one value, as R does", {
  m <- local_mmap(c(10L, 20L, 30L))
  expect_identical(m[c(1, NA, 3)], c(10L, NA, 30L))
  expect_identical(m[NA_integer_], NA_integer_)
  expect_identical(m[c(NA, TRUE)], c(NA, 20L, NA))
  before <- file_bytes(m$file)
  expect_error(m[c(1, NA)] <- 5:6, "NAs are not allowed in subscripted assignments", class = "mmap_error_bounds")
  expect_identical(file_bytes(m$file), before)
  m[c(1, NA)] <- 5L
  expect_identical(m[], c(5L, 20L, 30L))
})

test_that("out-of-bounds indices are errors for extraction and replacement", {
  m <- local_mmap(1:5)
  expect_error(m[6], "index 6 is out of bounds: the mapping has 5 elements", class = "mmap_error_bounds")
  expect_error(m[c(1, 2^40)], "out of bounds", class = "mmap_error_bounds")
  expect_error(m[6] <- 1L, "out of bounds", class = "mmap_error_bounds")
  expect_error(m[c(rep(FALSE, 5), TRUE)], "out of bounds")
  expect_error(m[c(-1, 2)], "only 0's may be mixed with negative subscripts", class = "mmap_error_bounds")
  expect_error(m["a"], "no names", class = "mmap_error_bounds")
  expect_error(m[list(1)], "must be numeric or logical")
  expect_identical(m[], 1:5)
})

test_that("compact sequences are read without expanding them", {
  m <- local_mmap(as.double(1:1e5))
  expect_identical(m[2:99999], as.double(2:99999))
  expect_error(m[99999:100001], "100001")
  expect_identical(m[seq(2, 10, by = 2)], as.double(seq(2, 10, by = 2)))
  expect_identical(m[0:3], c(1, 2, 3))
})

test_that("replacement recycles values like R", {
  m <- local_mmap(double(6))
  m[] <- 1:2
  expect_identical(m[], as.double(rep(1:2, 3)))
  expect_warning(m[1:5] <- c(7, 8), "not a multiple")
  expect_identical(m[1:5], c(7, 8, 7, 8, 7))
  m[-1] <- 0
  expect_identical(m[], c(7, 0, 0, 0, 0, 0))
  m[c(TRUE, FALSE)] <- 3
  expect_identical(m[], c(3, 0, 3, 0, 3, 0))
  expect_error(m[1:2] <- numeric(), "length zero", class = "mmap_error_value")
  m[integer()] <- numeric()
  expect_identical(m[1], 3)
})

test_that("dim() gives a column-major matrix view with drop like base R", {
  x <- matrix(1:12, 3, 4)
  m <- local_mmap(1:12)
  dim(m) <- c(3, 4)
  expect_equal(dim(m), c(3, 4))
  expect_identical(m[], x)
  expect_identical(m[2, ], x[2, ])
  expect_identical(m[, 3], x[, 3])
  expect_identical(m[2:3, c(1, 4)], x[2:3, c(1, 4)])
  expect_identical(m[2, , drop = FALSE], x[2, , drop = FALSE])
  expect_identical(m[-1, -2], x[-1, -2])
  expect_identical(m[c(TRUE, FALSE, TRUE), 2], x[c(TRUE, FALSE, TRUE), 2])
  expect_identical(m[NA, 1], x[NA, 1])
  expect_identical(m[5], 5L)
  expect_error(m[4, 1], "row index 4 is out of bounds", class = "mmap_error_bounds")
  expect_error(m[1, 5], "column index 5", class = "mmap_error_bounds")
  m[1, ] <- 0L
  x[1, ] <- 0L
  expect_identical(m[], x)
  m[2:3, 4] <- c(-1L, -2L)
  x[2:3, 4] <- c(-1L, -2L)
  expect_identical(m[], x)
  expect_error(dim(m) <- c(5, 5), "do not match the length", class = "mmap_error_type")
  expect_error(dim(m) <- "a", "`dim` must be")
  dim(m) <- NULL
  expect_null(dim(m))
  expect_error(m[1, 1], "incorrect number of dimensions")
})

test_that("every integer type round-trips in both byte orders and matches writeBin", {
  for (name in names(int_types)) {
    info <- int_types[[name]]
    values <- c(info$min, info$max, 0, 1, if (info$signed) -1 else 2)
    for (endian in c("little", "big")) {
      m <- local_mmap(values, type_of(name), endian = endian)
      expected <- if (name == "uint32") values else as.integer(values)
      expect_identical(m[], expected, info = paste(name, endian))
      if (info$size != 3 && name != "uint32") {
        expect_identical(file_bytes(m$file), base_bytes(as.integer(values), info$size, endian),
                         info = paste(name, endian))
      }
      # the mapping reads what base R wrote
      if (info$size %in% c(1, 2) || name == "int32") {
        f <- local_bytes(base_bytes(as.integer(values), info$size, endian))
        r <- mmap(f, type_of(name), endian = endian)
        expect_identical(r[], as.integer(values), info = paste(name, endian, "read"))
        munmap(r)
      }
    }
  }
})

test_that("int24 bytes are three bytes in the mapping's byte order", {
  m <- local_mmap(c(-2, 0x010203), int24(), endian = "big")
  expect_equal(file_bytes(m$file), as.raw(c(0xFF, 0xFF, 0xFE, 0x01, 0x02, 0x03)))
  m2 <- local_mmap(c(-2, 0x010203), int24(), endian = "little")
  expect_equal(file_bytes(m2$file), as.raw(c(0xFE, 0xFF, 0xFF, 0x03, 0x02, 0x01)))
  u <- local_mmap(16777215, uint24())
  expect_equal(u[], 16777215L)
})

test_that("out-of-range values are errors naming the element and range; nothing is written", {
  for (name in names(int_types)) {
    info <- int_types[[name]]
    m <- local_mmap(c(0, 0, 0), type_of(name))
    before <- file_bytes(m$file)
    expect_error(m[] <- c(1, info$max + 1, 2), sprintf("element 2 .*%s", name), class = "mmap_error_value")
    expect_error(m[3] <- info$min - 1, "element 3", class = "mmap_error_value")
    expect_identical(file_bytes(m$file), before, info = name)
  }
  m <- local_mmap(c(0L, 0L), uint8())
  expect_error(m[2] <- 256L, "cannot write 256 to element 2 of the mapping: uint8 holds integers from 0 to 255")
  m <- local_mmap(0L, int16())
  expect_error(m[1] <- 40000, "int16 holds integers from -32768 to 32767")
  m <- local_mmap(0L, int32())
  expect_error(m[1] <- 2^31, "2147483648")
  expect_error(m[1] <- Inf, "Inf")
})

test_that("non-integral doubles truncate toward zero like as.integer()", {
  m <- local_mmap(c(0, 0, 0, 0), int16())
  m[] <- c(2.9, -2.9, 0.5, -0.5)
  expect_identical(m[], as.integer(c(2.9, -2.9, 0.5, -0.5)))
})

test_that("NA round-trips for every type that has one", {
  cases <- list(
    int32 = c(1L, NA), int64 = c(1, NA), real64 = c(1, NA), real32 = c(1, NA),
    cplx = c(1i, NA), logi8 = c(TRUE, NA, FALSE), logi32 = c(TRUE, NA, FALSE)
  )
  for (name in names(cases)) {
    for (endian in c("little", "big")) {
      m <- local_mmap(cases[[name]], type_of(name), endian = endian)
      got <- m[]
      expect_identical(is.na(got), is.na(cases[[name]]), info = paste(name, endian))
    }
  }
})

test_that("real types keep NA distinct from NaN", {
  for (name in c("real32", "real64")) {
    for (endian in c("little", "big")) {
      m <- local_mmap(c(NA, NaN, 1.5, -Inf), type_of(name), endian = endian)
      got <- m[]
      expect_true(is.na(got[1]) && !is.nan(got[1]), info = name)
      expect_true(is.nan(got[2]), info = name)
      expect_identical(got[3:4], c(1.5, -Inf), info = name)
    }
  }
  m <- local_mmap(0, real32())
  expect_error(m[1] <- 1e39, "real32", class = "mmap_error_value")
  m[1] <- 1 / 3
  expect_equal(m[1], 1 / 3, tolerance = 1e-7)
  expect_identical(m[1], as.double(readBin(base_bytes(1 / 3, 4), "double", size = 4)))
})

test_that("types without NA reject it unless given a sentinel", {
  for (name in names(int_types)[names(int_types) != "int32"]) {
    m <- local_mmap(c(1, 2), type_of(name))
    before <- file_bytes(m$file)
    expect_error(m[2] <- NA, sprintf("cannot write NA to element 2 .*%s has no NA", name),
                 class = "mmap_error_value")
    expect_identical(file_bytes(m$file), before)
    info <- int_types[[name]]
    s <- local_mmap(c(1, 2), type_of(name, na = info$max))
    s[2] <- NA
    expect_identical(is.na(s[]), c(FALSE, TRUE), info = name)
    expect_error(s[1] <- info$max, "NA sentinel", class = "mmap_error_value")
  }
  u <- local_mmap(as.raw(1))
  expect_error(u[1] <- NA, "NA")
})

test_that("int64 is exact with bit64 and in both byte orders", {
  skip_if_not_installed("bit64")
  x <- bit64::as.integer64(c("9007199254740993", "-9223372036854775807", NA, "0"))
  for (endian in c("little", "big")) {
    m <- local_mmap(x, int64(), endian = endian)
    got <- m[]
    expect_s3_class(got, "integer64")
    expect_identical(as.character(got), as.character(x))
  }
  m <- local_mmap(x)
  expect_error(m[1] <- 2^63, "element 1 .*int64 holds", class = "mmap_error_value")
  expect_error(m[1] <- -2^63, class = "mmap_error_value")
  expect_equal(m$mode$name, "int64")
  expect_identical(file_bytes(m$file)[1:8], base_bytes(unclass(x)[1], 8))
})

test_that("without bit64, int64 extracts to double and warns only when precision is lost", {
  withr::local_options(mmap.bit64 = FALSE)
  m <- local_mmap(c(1, -2, NA), int64())
  expect_silent(got <- m[])
  expect_identical(got, c(1, -2, NA))
  m[1] <- 2^60 + 1024
  expect_silent(m[1])
  skip_if_not_installed("bit64")
  m[2] <- bit64::as.integer64("9007199254740993")
  expect_warning(v <- m[2], "lost precision")
  expect_equal(v, 9007199254740992)
})

test_that("complex and logical types read and write", {
  z <- complex(real = c(1, -2), imaginary = c(0.5, 3))
  for (endian in c("little", "big")) {
    m <- local_mmap(z, cplx(), endian = endian)
    expect_identical(m[], z)
    m[1] <- 7
    expect_identical(m[1], 7 + 0i)
  }
  m <- local_mmap(c(TRUE, FALSE), logi8())
  m[2] <- 5L
  expect_identical(m[], c(TRUE, TRUE))
  expect_equal(file_bytes(m$file), as.raw(c(1, 1)))
  expect_error(m[1] <- 1i, "complex")
  l <- local_mmap(c(TRUE, NA), logi32(), endian = "big")
  expect_equal(file_bytes(l$file), as.raw(c(0, 0, 0, 1, 0x80, 0, 0, 0)))
})

test_that("wrong value types are clear errors", {
  m <- local_mmap(1:3)
  expect_error(m[1] <- "a", "must be raw, logical, integer, double or complex", class = "mmap_error_type")
  expect_error(m[1] <- factor("a"), "factor")
  expect_error(m[1] <- 1i, "complex")
  expect_identical(m[], 1:3)
})

test_that("head() and tail() read the ends", {
  m <- local_mmap(as.double(1:20))
  expect_identical(head(m), as.double(1:6))
  expect_identical(tail(m, 3), c(18, 19, 20))
  expect_identical(head(m, -18), c(1, 2))
  expect_identical(tail(local_mmap(1:2), 5), 1:2)
})

test_that("extractFUN and replaceFUN given to mmap() are applied", {
  f <- local_bytes(base_bytes(c(0, 86400), 8))
  m <- mmap(f, real64(), extractFUN = function(x) as.Date(x / 86400, origin = "1970-01-01"),
            replaceFUN = function(v) as.numeric(v) * 86400)
  expect_identical(m[2], as.Date("1970-01-02"))
  m[1] <- as.Date("1970-01-11")
  expect_identical(m[1], as.Date("1970-01-11"))
  munmap(m)
})

test_that("a sorted index with ties is not a range (issue 8), for integers and doubles", {
  m <- local_mmap(c(10L, 20L, 30L, 40L))
  expect_identical(m[sort(c(3L, 1L, 1L))], c(10L, 10L, 30L))
  expect_identical(m[sort(c(3.5, 1.2, 1.7))], c(10L, 10L, 30L))
  expect_identical(m[sort(c(2L, 3L, 3L, 4L))], c(20L, 30L, 30L, 40L))
  before <- file_bytes(m$file)
  m[sort(c(3L, 1L, 1L))] <- 7:9
  x <- c(10L, 20L, 30L, 40L)
  x[sort(c(3L, 1L, 1L))] <- 7:9
  expect_identical(m[], x)
  expect_identical(m[2], 20L)
  m[sort(c(2.9, 2.1, 4))] <- c(1L, 2L, 3L)
  x[sort(c(2.9, 2.1, 4))] <- c(1L, 2L, 3L)
  expect_identical(m[], x)
})

test_that("true a:b runs still take the range path, whatever their origin", {
  m <- local_mmap(as.double(1:100))
  expect_identical(m[5:60], as.double(5:60))
  expect_identical(m[sort(5:60)], as.double(5:60))
  expect_identical(m[seq_len(100)], as.double(1:100))
  expect_identical(m[as.double(3:7)], as.double(3:7))
  expect_identical(m[rev(3:7)], as.double(7:3))
  expect_identical(m[-2:0], as.double(3:100))
  expect_error(m[-1:1], "only 0's", class = "mmap_error_bounds")
  expect_error(m[98:101], "index 101 is out of bounds", class = "mmap_error_bounds")
})

test_that("-Inf is an NA index and Inf an out-of-bounds one, named as such", {
  m <- local_mmap(c(1.5, 2.5, 3.5))
  before <- file_bytes(m$file)
  m[-Inf] <- 0
  suppressWarnings(m[-min(integer(0))] <- 0)
  expect_identical(file_bytes(m$file), before)
  expect_identical(m[-Inf], NA_real_)
  expect_identical(m[c(-Inf, 2)], c(NA, 2.5))
  expect_error(m[-Inf] <- c(1, 2), "NAs are not allowed in subscripted assignments", class = "mmap_error_bounds")
  expect_error(m[Inf], "index Inf is out of bounds: the mapping has 3 elements", class = "mmap_error_bounds")
  expect_error(m[Inf] <- 1, "index Inf", class = "mmap_error_bounds")
  expect_error(m[c(-1, Inf)], class = "mmap_error_bounds")
  expect_error(m[2^63], "out of bounds", class = "mmap_error_bounds")
  expect_identical(m[NaN], NA_real_)
  expect_identical(m[-0.5], numeric())
  expect_identical(m[c(-0.5, 2)], 2.5)
  expect_identical(file_bytes(m$file), before)
})

test_that("a two-column matrix index selects cells of a mapping with dim, for [ and [<-", {
  x <- matrix(1:12, 3)
  m <- local_mmap(x)
  for (cells in list(cbind(c(1, 3), c(4, 2)), cbind(c(2L, NA, 0L), c(1L, 1L, 3L)), cbind(2.7, 1.2),
                     cbind(integer(), integer()), cbind(1:3, 1:3, 1:3), matrix(c(TRUE, FALSE), 2, 2))) {
    expect_identical(m[cells], x[cells], info = deparse(cells))
  }
  expect_error(m[cbind(-1, 2)], "negative values", class = "mmap_error_bounds")
  expect_error(m[cbind(4, 1)], "subscript out of bounds", class = "mmap_error_bounds")
  m[cbind(c(1, 3), c(4, 2))] <- c(100L, 200L)
  x[cbind(c(1, 3), c(4, 2))] <- c(100L, 200L)
  expect_identical(m[], x)
  # Without dim a matrix is an ordinary vector of positions, as in base R.
  v <- local_mmap(1:12 * 2L)
  expect_identical(v[cbind(c(1, 3), c(4, 2))], (1:12 * 2L)[cbind(c(1, 3), c(4, 2))])
})

test_that("too many subscripts are base R's errors, and write nothing", {
  m <- local_mmap(1:6)
  expect_error(m[2, 3], "incorrect number of dimensions", class = "mmap_error_bounds")
  expect_error(m[2, 3] <- 0L, "incorrect number of subscripts", class = "mmap_error_bounds")
  dim(m) <- c(2, 3)
  before <- file_bytes(m$file)
  expect_error(m[2, 3, 1], "incorrect number of dimensions", class = "mmap_error_bounds")
  expect_error(m[2, 3, 1] <- 0L, "incorrect number of subscripts", class = "mmap_error_bounds")
  expect_error(m[2, , drop = FALSE] <- 0L, "incorrect number of subscripts", class = "mmap_error_bounds")
  expect_identical(file_bytes(m$file), before)
  expect_identical(m[2, , drop = FALSE], matrix(1:6, 2)[2, , drop = FALSE])
  expect_error(m[c(TRUE, FALSE, TRUE), ], "logical subscript too long", class = "mmap_error_bounds")
  b <- local_mmap(c(TRUE, FALSE), mode = bits())
  expect_error(b[1, 1], "incorrect number of dimensions", class = "mmap_error_bounds")
})

test_that("matrix replacement follows R: uneven values are an error, NA rows are skipped", {
  x <- matrix(1:6, 2)
  m <- local_mmap(x)
  before <- file_bytes(m$file)
  expect_error(m[1:2, 1:2] <- 1:3, "not a multiple of replacement length", class = "mmap_error_value")
  expect_error(m[1, 1] <- 1:2, "not a multiple", class = "mmap_error_value")
  expect_error(m[c(1, NA), ] <- 1:3, "NAs are not allowed", class = "mmap_error_bounds")
  expect_error(m[integer(), c(1, NA)] <- 1:2, "NAs are not allowed", class = "mmap_error_bounds")
  expect_identical(file_bytes(m$file), before)
  m[c(1, NA), 1] <- 0L
  x[c(1, NA), 1] <- 0L
  expect_identical(m[], x)
  # Vector replacement keeps R's warning.
  expect_warning(m[1:4] <- 1:3, "not a multiple of replacement length")
})

test_that("a logical index longer than the mapping cannot extend it", {
  m <- local_mmap(1:3)
  before <- file_bytes(m$file)
  expect_identical(m[c(TRUE, FALSE, FALSE, FALSE)], 1L)
  expect_identical(m[c(TRUE, FALSE, FALSE, NA)], c(1L, NA))
  expect_error(m[c(TRUE, FALSE, FALSE, TRUE)], "out of bounds", class = "mmap_error_bounds")
  expect_error(m[c(TRUE, FALSE, FALSE, FALSE)] <- 0L, "cannot grow", class = "mmap_error_bounds")
  expect_identical(file_bytes(m$file), before)
})

test_that("dim<- takes whole numbers only", {
  m <- local_mmap(as.double(1:12))
  expect_error(dim(m) <- c(2.5, 4.8), "whole numbers", class = "mmap_error_type")
  expect_error(dim(m) <- c(3, 4, 1), class = "mmap_error_type")
  expect_error(dim(m) <- c(5, 2), "do not match", class = "mmap_error_type")
  expect_null(dim(m))
  dim(m) <- c(3L, 4L)
  expect_identical(dim(m), c(3, 4))
})
