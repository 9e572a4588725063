test_that("every scalar type has a constructor and the documented size", {
  sizes <- c(uchar = 1, int8 = 1, uint8 = 1, int16 = 2, uint16 = 2, int24 = 3, uint24 = 3,
             int32 = 4, uint32 = 4, int64 = 8, real32 = 4, real64 = 8, cplx = 16,
             logi8 = 1, logi32 = 4)
  for (name in names(sizes)) {
    type <- type_of(name)
    expect_true(is.Ctype(type), info = name)
    expect_equal(sizeof(type), sizes[[name]], info = name)
    expect_equal(nbytes(type), sizes[[name]], info = name)
  }
  expect_equal(sizeofCtypes()[names(sizes)], sizes)
})

test_that("base prototypes are accepted as modes without masking base", {
  expect_equal(as.Ctype(integer())$name, "int32")
  expect_equal(as.Ctype(double())$name, "real64")
  expect_equal(as.Ctype(logical())$name, "logi32")
  expect_equal(as.Ctype(complex())$name, "cplx")
  expect_equal(as.Ctype(raw())$name, "uchar")
  expect_equal(sizeof(double()), 8)
  expect_equal(sizeof(integer()), 4)
  for (f in c("integer", "double", "logical", "complex", "raw")) {
    expect_false(exists(f, envir = asNamespace("mmap"), inherits = FALSE), info = f)
  }
  expect_error(as.Ctype(list()), class = "mmap_error_type")
})

test_that("sentinels are checked against the type", {
  expect_equal(int8(na = -128L)$na, -128L)
  expect_error(int8(na = 200), "outside the range", class = "mmap_error_type")
  expect_error(uint8(na = "a"), "`na` must be a single number", class = "mmap_error_type")
  expect_error(uint16(na = NA), "`na` must be a single number")
})

test_that("Ctype objects print their name and size", {
  expect_output(print(int24()), "int24 \\(3 bytes\\)")
  expect_output(print(int8(na = -1)), "NA stored as -1")
})

test_that("as.<type>() re-types a mapping sharing the same bytes", {
  m <- local_mmap(c(1L, 256L), int32())
  b <- as.uchar(m)
  expect_equal(length(b), 8)
  expect_equal(as.integer(b[1:8]), if (.Platform$endian == "little") c(1, 0, 0, 0, 0, 1, 0, 0) else c(0, 0, 0, 1, 0, 0, 1, 0))
  s <- as.int16(m)
  expect_equal(length(s), 4)
  s[1] <- 7L
  expect_equal(m[1], if (.Platform$endian == "little") 7L else 7L * 65536L + 1L)
  expect_equal(as.real32(m)$mode$name, "real32")
  for (f in c("as.int8", "as.uint8", "as.uint16", "as.int24", "as.uint24", "as.int32",
              "as.uint32", "as.int64", "as.real64", "as.cplx", "as.logi8", "as.logi32")) {
    expect_true(is.mmap(get(f)(m)), info = f)
  }
  expect_error(as.int16(1:3), "must be an mmap object", class = "mmap_error_type")
})

test_that("sizeof() takes a type constructor itself, as in CRAN's mmap", {
  expect_identical(sizeof(int32), sizeof(int32()))
  expect_identical(sizeof(int24), 3L)
  expect_identical(sizeof(real64), 8L)
  expect_identical(sizeof(cplx), 16L)
  expect_error(sizeof(mean), class = "mmap_error_type")
  m <- local_mmap(1:3, mode = int16)
  expect_identical(.subset2(m, "mode")$name, "int16")
  expect_identical(m[], 1:3)
})

test_that("base prototypes resolve through the Rust table to the constructor's very object", {
  protos <- list(int32 = integer(), real64 = double(), logi32 = logical(), cplx = complex(), uchar = raw())
  for (name in names(protos)) {
    expect_identical(as.Ctype(protos[[name]]), type_of(name), info = name)
    expect_identical(class(as.Ctype(protos[[name]])), c(name, "Ctype"), info = name)
  }
  expect_identical(as.Ctype(1:3), int32())
  expect_identical(as.Ctype(c(1.5, 2)), real64())
  expect_identical(as.Ctype(NA), logi32())
})

test_that("every scalar type carries the R kind the Rust table gives it", {
  table <- mmap:::mm_types_()
  for (k in seq_along(table$type)) {
    type <- type_of(table$type[k])
    expect_identical(attr(type, "rkind"), table$r_type[k], info = table$type[k])
    expect_identical(attr(type, "bytes"), table$bytes[k], info = table$type[k])
    expect_true(mmap:::is_scalar_ctype(type), info = table$type[k])
    # What the mapping extracts is that kind (bit64's class for int64).
    m <- local_mmap(as.raw(rep(1, table$bytes[k] * 2)), uchar())
    v <- mmap_set(m, mode = type)[]
    want <- table$r_type[k]
    if (want == "integer64") {
      # bit64 installed (the suite's other int64 tests need it too): integer64.
      skip_if_not_installed("bit64")
      expect_s3_class(v, "integer64")
      expect_identical(typeof(v), "double")
    } else {
      expect_identical(typeof(v), want, info = table$type[k])
    }
  }
  for (type in list(bits(), char(3), cstring(), struct(a = int8()))) {
    expect_false(mmap:::is_scalar_ctype(type), info = class(type)[1])
  }
})
