ops <- c("==", "!=", "<", "<=", ">", ">=")

# R's own answer on the extracted vector.
base_which <- function(x, op, v) which(do.call(op, list(x, v)))

# Every op against every value, mapping on the left and on the right.
expect_like_which <- function(m, values, ref = m[]) {
  for (op in ops) {
    for (v in values) {
      label <- sprintf("%s %s %s (%s)", m$mode$name, op, format(v), m$endian)
      expect_identical(do.call(op, list(m, v)), base_which(ref, op, v), label = label)
      expect_identical(do.call(op, list(v, m)), base_which(v, op, ref) , label = paste("flipped", label))
    }
  }
}

probe_values <- function(min, max) {
  c(list(NA, NA_integer_, NA_real_, NaN, Inf, -Inf, 0L, 0, -0.5, 0.5, 1L, 9L, 10L, 10.5, -10.5, 11,
         127.5, -128.5, 255.5, min, max, min - 1, max + 1, min + 0.5, max - 0.5, TRUE, FALSE, 1e300,
         -1e300))
}

test_that("integer types compare like which() on the extracted vector, both byte orders", {
  for (type in names(int_types)) {
    info <- int_types[[type]]
    set.seed(1)
    x <- c(info$min, info$min + 1, -2, -1, 0, 1, 9, 10, 11, 100, info$max - 1, info$max,
           round(runif(200, max(info$min, -300), min(info$max, 300))))
    x <- x[x >= info$min & x <= info$max]
    if (type == "int32") x[c(3, 50)] <- NA
    if (info$max <= .Machine$integer.max) x <- as.integer(x)
    for (endian in c("little", "big")) {
      m <- local_mmap(x, mode = type_of(type), endian = endian)
      expect_like_which(m, probe_values(info$min, info$max))
    }
  }
})

test_that("a sentinel NA never matches", {
  for (endian in c("little", "big")) {
    m <- local_mmap(c(-5L, NA, 10L, 0L, NA), mode = int8(na = -128L), endian = endian)
    expect_identical(m[], c(-5L, NA, 10L, 0L, NA))
    expect_like_which(m, probe_values(-127, 127))
    expect_identical(m != 0, c(1L, 3L))
    u <- local_mmap(c(1, NA, 4294967294), mode = uint32(na = 4294967295), endian = endian)
    expect_like_which(u, list(NA, 0, 1, 3e9, 4294967294, 4294967295, 4294967294.5, -1))
  }
})

test_that("real64 and real32 compare like which(), NA and NaN never match", {
  x <- c(NA, NaN, Inf, -Inf, -0, 0, 0.5, -0.5, 1, 9.5, 10, 10.5, -10.5, 11, 1e10, 0.1,
         16777217, -3.3e38, runif(100, -20, 20))
  values <- list(NA, NaN, Inf, -Inf, 0, -0, 10L, 10, 10.5, 0.1, 16777216, 16777217, -1e300, TRUE)
  for (endian in c("little", "big")) {
    m <- local_mmap(x, endian = endian)
    expect_like_which(m, values)
    f <- local_mmap(x, mode = real32(), endian = endian)
    expect_identical(is.na(f[]), is.na(x))
    expect_identical(is.nan(f[]), is.nan(x))
    expect_like_which(f, values)
  }
})

test_that("logical types compare as 0 and 1; uchar as its byte values", {
  x <- c(TRUE, FALSE, NA, TRUE, NA, FALSE)
  for (endian in c("little", "big")) {
    for (mode in list(logi8(), logi32())) {
      m <- local_mmap(x, mode = mode, endian = endian)
      expect_like_which(m, list(TRUE, FALSE, NA, 0, 1, 0.5, -1, 2, 1L))
    }
  }
  r <- local_mmap(as.raw(c(0, 1, 10, 99, 100, 200, 255)))
  expect_like_which(r, list(0, 100, 99.5, 255, 256, -1, 10L, NA), ref = as.integer(r[]))
  expect_identical(r < 100, which(r[] < 100))
})

test_that("complex mappings support == and != only", {
  x <- c(1 + 0i, 1 + 1i, NA, complex(real = NaN, imaginary = 0), 10 + 0i, 0i)
  for (endian in c("little", "big")) {
    m <- local_mmap(x, endian = endian)
    for (v in list(1, 1 + 1i, 10L, 0, NA, 1 + 0i, complex(real = NaN, imaginary = 1))) {
      expect_identical(m == v, which(m[] == v))
      expect_identical(m != v, which(m[] != v))
      expect_identical(v != m, which(v != m[]))
    }
    expect_error(m < 1, "only == and !=", class = "mmap_error_type")
    expect_error(1 >= m, "only == and !=", class = "mmap_error_type")
  }
  n <- local_mmap(c(1, 2, NA))
  expect_identical(n == 2 + 0i, 2L)
  expect_identical(n != 2 + 1i, c(1L, 2L))
  expect_error(n < 2 + 0i, "only == and !=", class = "mmap_error_type")
})

test_that("fractional thresholds are compared in full precision (CRAN mmap truncated)", {
  m <- local_mmap(c(9L, 10L, 11L))
  expect_identical(m < 10.5, c(1L, 2L))
  expect_identical(m <= 10.5, c(1L, 2L))
  expect_identical(m > 10.5, 3L)
  expect_identical(m >= 9.5, c(2L, 3L))
  expect_identical(m == 10.5, integer())
  expect_identical(m != 10.5, 1:3)
  expect_identical(m > -Inf, 1:3)
  s <- local_mmap(c(-11L, -10L, -9L), mode = int16())
  expect_identical(s < -10.5, 1L)
  expect_identical(s > -10.5, 2:3)
})

test_that("the mapping may be on either side (CRAN mmap answered 10 > m like m > 10)", {
  m <- local_mmap(c(5L, 10L, 15L))
  expect_identical(10 > m, m < 10)
  expect_identical(10 > m, 1L)
  expect_identical(10 <= m, 2:3)
  expect_identical(10 == m, 2L)
  expect_identical(10 != m, c(1L, 3L))
})

test_that("signed types are signed and byte order is honoured (CRAN mmap bugs)", {
  m <- local_mmap(c(-1L, 5L, -128L, 127L), mode = int8())
  expect_identical(m < 0, c(1L, 3L))
  for (mode in list(int16(), int24(), int32())) {
    b <- local_mmap(c(-300L, 300L, -1L), mode = mode, endian = "big")
    expect_identical(b[], c(-300L, 300L, -1L))
    expect_identical(b < 0, c(1L, 3L))
    expect_identical(b == -300, 1L)
  }
  l <- local_mmap(c(-2, 3), mode = real64(), endian = "swap")
  expect_identical(l < 0, 1L)
})

test_that("NA values match nothing, NA elements are never matched", {
  m <- local_mmap(c(1L, NA, 3L))
  for (op in ops) {
    for (na in list(NA, NA_integer_, NA_real_, NaN, NA_character_, NA_complex_)) {
      if (is.complex(na) && !op %in% c("==", "!=")) next
      expect_identical(do.call(op, list(m, na)), integer(), label = paste(op, format(na)))
    }
  }
  expect_identical(m != 2, c(1L, 3L))
  expect_identical(m >= -Inf, c(1L, 3L))
})

test_that("int64 compares exactly, also beyond 2^53 (CRAN mmap compared double bits)", {
  skip_if_not_installed("bit64")
  x <- bit64::as.integer64(c("9007199254740992", "9007199254740993", "9007199254740994",
                             "-9007199254740993", NA, "-5", "9223372036854775807"))
  for (endian in c("little", "big")) {
    m <- local_mmap(x, endian = endian)
    expect_identical(m > 9007199254740992, c(2L, 3L, 7L))
    expect_identical(m >= 9007199254740994, c(3L, 7L))
    expect_identical(m == 9007199254740994, 3L)
    expect_identical(m < -9007199254740992, 4L)
    expect_identical(m < 0, c(4L, 6L))
    expect_identical(m < -4.5, c(4L, 6L))
    expect_identical(m != -5, c(1L, 2L, 3L, 4L, 7L))
    expect_identical(m > 9.3e18, integer())
    expect_identical(m >= 9.223372036854775807e18, integer())  # that double is 2^63
    # An integer64 value: the R layer hands it over bit for bit.
    v <- bit64::as.integer64("9007199254740993")
    expect_identical(mmap:::mmap_ops("==", m, v), 2L)
    expect_identical(mmap:::mmap_ops("<", m, v), c(1L, 4L, 6L))
    expect_identical(mmap:::mmap_ops("<", v, m), c(3L, 7L))
    expect_identical(mmap:::mmap_ops("!=", m, bit64::NA_integer64_), integer())
    if (getRversion() >= "4.3.0") {
      expect_identical(m == v, 2L)
      expect_identical(v < m, c(3L, 7L))
    }
    # Small values agree with which() on the doubles.
    small <- local_mmap(bit64::as.integer64(c(-3, 0, NA, 7, 100)), endian = endian)
    for (op in ops) {
      for (v in list(0, 7L, 6.5, -3, 100, NA)) {
        expect_identical(do.call(op, list(small, v)), base_which(as.double(small[]), op, v))
      }
    }
  }
  # real64 against an integer64 that no double can hold.
  d <- local_mmap(c(9007199254740992, 9007199254740994))
  v <- bit64::as.integer64("9007199254740993")
  expect_identical(mmap:::mmap_ops("<", d, v), 1L)
  expect_identical(mmap:::mmap_ops("==", d, v), integer())
  expect_identical(mmap:::mmap_ops("!=", d, v), 1:2)
})

test_that("a mapping with an extractFUN compares its stored values", {
  f <- tempfile()
  on.exit(unlink(f))
  writeBin(c(1L, 5L, 10L), f)
  m <- mmap(f, int32(), extractFUN = function(x) x * 100)
  on.exit(munmap(m), add = TRUE)
  expect_identical(m[], c(100, 500, 1000))
  expect_identical(m < 6, 1:2)
  # A Date value compares by its stored number of days.
  d <- local_mmap(as.double(as.Date(c("2020-01-01", "2021-06-01"))))
  extractFUN(d) <- function(x) structure(x, class = "Date")
  expect_identical(d > unclass(as.Date("2021-01-01")), 2L)
  expect_identical(mmap:::mmap_ops(">", d, as.Date("2021-01-01")), 2L)
  if (getRversion() >= "4.3.0") expect_identical(d > as.Date("2021-01-01"), 2L)
})

test_that("large mappings are scanned in parallel and agree with which()", {
  set.seed(2)
  x <- runif(2e6, 0, 1e5)
  x[sample(length(x), 100)] <- NA
  m <- local_mmap(x)
  expect_identical(m < 100, which(x < 100))
  expect_identical(m >= 99900, which(x >= 99900))
  i <- local_mmap(as.integer(x), endian = "big")
  expect_identical(i != 5, which(as.integer(x) != 5))
  expect_type(m < 100, "integer")
})

test_that("other operators and operands are clear errors", {
  m <- local_mmap(1:5)
  expect_error(m + 1, "`\\+` is not defined for mmap objects", class = "mmap_error_op")
  expect_error(m * 2, class = "mmap_error_op")
  expect_error(m & TRUE, "`&`", class = "mmap_error_op")
  expect_error(-m, class = "mmap_error_op")
  expect_error(!m, "`!`", class = "mmap_error_op")
  expect_error(m %% 2, class = "mmap_error_op")
  expect_error(m < 1:2, "2 values", class = "mmap_error_value")
  expect_error(m == integer(), "0 values", class = "mmap_error_value")
  expect_error(m == m, "two mappings", class = "mmap_error_op")
  expect_error(m == list(1), "single value", class = "mmap_error_type")
  expect_error(m == NULL, class = "mmap_error_type")
  expect_error(mmap:::mmap_ops("==", m, factor("a")), "factor", class = "mmap_error_type")
  if (getRversion() >= "4.3.0") expect_error(m == factor("a"), "factor", class = "mmap_error_type")
  expect_error(m < "3", "string", class = "mmap_error_type")
  err <- tryCatch(m + 1, error = identity)
  expect_s3_class(err, "mmap_error")
  expect_identical(deparse(conditionCall(err)), "m + 1")
  munmap(m)
  expect_error(m < 3, class = "mmap_error_unmapped")
})

test_that("a struct mapping cannot be compared as a whole", {
  skip_if_not(exists("struct", asNamespace("mmap")), "struct() not available yet")
  f <- tempfile()
  on.exit(unlink(f))
  type <- mmap::struct(a = int32(), b = real64())
  writeBin(raw(3 * 12), f)
  s <- mmap(f, type)
  on.exit(munmap(s), add = TRUE)
  expect_error(s < 1, "compare one of its fields", class = "mmap_error_op")
  expect_error(1 == s, "compare one of its fields", class = "mmap_error_op")
  # The refusal comes from Rust's layout view, with both classes R's other Ops errors have.
  expect_error(s < 1, class = "mmap_error_type")
  expect_error(2 > s, "with `<`", class = "mmap_error_op")
})

# Strings compare by exact equality and byte order: R's order in the C collation.
ops6 <- c("==", "!=", "<", "<=", ">", ">=")
flip <- c("==" = "==", "!=" = "!=", "<" = ">", "<=" = ">=", ">" = "<", ">=" = "<=")

# Every op, both operand orders, against which() on the extracted vector.
expect_ops_match_which <- function(m, values) {
  x <- m[]
  for (v in values) {
    for (op in ops6) {
      want <- which(do.call(op, list(x, v)))
      label <- sprintf("m %s %s", op, deparse(v))
      expect_identical(do.call(op, list(m, v)), want, label = label)
      expect_identical(do.call(op, list(v, m)), which(do.call(op, list(v, x))), label = paste("flipped", label))
      expect_identical(do.call(op, list(v, m)), do.call(flip[[op]], list(m, v)), label = paste("swap", label))
    }
  }
}

string_values <- list("ab", "abc", "a", "", "b", "B", "abd", "zzzzzzzz", "\u00e9", "e\u0301",
                      "\u00e9a", "NA", "ab ", NA_character_, NA)

test_that("char(n) mappings compare exactly, in byte order, skipping NA", {
  withr::local_collate("C")
  x <- c("ab", "abc", "a", "", "b", "B", "\u00e9", "e\u0301", "ab ", "abd", "\u00e9a", "zz")
  m <- local_mmap(x, mode = char(4))
  expect_identical(m[], x)
  expect_ops_match_which(m, string_values)
  # The CRAN faults: `==` matched "abc" for "ab"; `!=` behaved like `==`.
  expect_identical(m == "ab", 1L)
  expect_identical(m != "ab", setdiff(seq_along(x), 1L))
  expect_identical(m == "", 4L)
  expect_identical(m == "abcd", integer())
  expect_identical(m == NA, integer())
  expect_identical(m != NA_character_, integer())
  expect_type(m == "zz", "integer")
})

test_that("char(n) with an NA sentinel never matches NA elements", {
  withr::local_collate("C")
  x <- c("ab", NA, "abc", "", NA, "NB", "N")
  m <- local_mmap(x, mode = char(3, na = "NA"))
  expect_identical(m[], x)
  expect_ops_match_which(m, string_values)
  expect_identical(m != "ab", c(3L, 4L, 6L, 7L))
  expect_identical(m >= "", c(1L, 3L, 4L, 6L, 7L))
})

test_that("char(n, nul = FALSE): padding nul is not part of the string", {
  withr::local_collate("C")
  f <- local_bytes(c(charToRaw("abcd"), charToRaw("ab"), as.raw(c(0, 0)),
                     as.raw(c(0, 0, 0, 0)), charToRaw("a"), as.raw(0), charToRaw("xy"),
                     charToRaw("abc"), as.raw(0)))
  m <- mmap(f, char(4, nul = FALSE))
  on.exit(munmap(m))
  expect_identical(m[], c("abcd", "ab", "", "a", "abc"))
  expect_ops_match_which(m, string_values)
  expect_identical(m == "ab", 2L)
  expect_identical(m == "a", 4L)   # the bytes after its nul are padding
  expect_identical(m < "ab", c(3L, 4L))
})

test_that("cstring mappings compare exactly, in byte order", {
  withr::local_collate("C")
  x <- c("ab", "abc", "", "a much longer string", "\u00e9", "e\u0301", "b", "ab")
  m <- local_mmap(x, mode = cstring())
  expect_s3_class(.subset2(m, "mode"), "cstring")
  expect_identical(m[], x)
  expect_ops_match_which(m, c(string_values, list("a much longer string", "a much")))
  expect_identical(m == "ab", c(1L, 8L))
  expect_identical(m != "ab", 2:7)
  # Without its offset table (e.g. after readRDS) the table is rebuilt.
  m2 <- m
  m2 <- mmap:::mmap_set(m2, cindex = NULL)
  expect_identical(m2 > "ab", which(x > "ab"))
})

test_that("large string mappings are scanned in parallel and agree with which()", {
  withr::local_collate("C")
  set.seed(4)
  x <- sample(c("a", "b", "c", ""), 1.2e6, replace = TRUE)
  m <- local_mmap(x, mode = char(1))
  expect_identical(m == "b", which(x == "b"))
  expect_identical(m >= "b", which(x >= "b"))
  expect_identical("" < m, which(x > ""))
})

test_that("bits mappings compare as logicals 0 and 1", {
  # Element 9 and element 33 are different bits (CRAN shared them).
  f <- local_bytes(as.raw(c(0x01, 0x01, 0x00, 0x80, 0x01, 0x00, 0x00, 0x00, 0xff, 0x0f, 0xf0, 0x55)))
  for (endian in c("little", "big")) {
    b <- mmap(f, bits(), endian = endian)
    x <- b[]
    expect_length(x, 96L)
    for (v in list(TRUE, FALSE, 0, 1, 0L, 1L, 0.5, 2, -1, NA, NA_integer_)) {
      for (op in ops6) {
        expect_identical(do.call(op, list(b, v)), which(do.call(op, list(x, v))),
                         label = sprintf("%s: b %s %s", endian, op, deparse(v)))
        expect_identical(do.call(op, list(v, b)), which(do.call(op, list(v, x))),
                         label = sprintf("%s: %s %s b", endian, deparse(v), op))
      }
    }
    munmap(b)
  }
  b <- mmap(f, bits())
  on.exit(munmap(b))
  expect_identical(b == TRUE, which(b[]))
  expect_identical(b != TRUE, which(!b[]))
  # Word 0 (little-endian 0x80000101) holds elements 1, 9 and 32; element 33
  # is bit 0 of word 1.
  expect_identical(head(b == TRUE, 4), c(1L, 9L, 32L, 33L))
  expect_identical(head(b == FALSE, 3), 2:4)
  expect_identical(b == NA, integer())
})

test_that("string mappings need a string value; bits need a number or logical", {
  s <- local_mmap(c("a", "b"), mode = char(2))
  cs <- local_mmap(c("a", "b"), mode = cstring())
  f <- local_bytes(raw(4))
  b <- mmap(f, bits())
  on.exit(munmap(b))
  expect_error(s == 1, "compared with a string", class = "mmap_error_type")
  expect_error(1L < s, "compared with a string", class = "mmap_error_type")
  expect_error(s == TRUE, "char\\(2\\)", class = "mmap_error_type")
  expect_error(cs != 2.5, "cstring", class = "mmap_error_type")
  expect_error(s == 1i, class = "mmap_error_type")
  expect_error(b == "TRUE", "bits", class = "mmap_error_type")
  expect_error(s == c("a", "b"), "2 values", class = "mmap_error_value")
  expect_error(s + "a", class = "mmap_error_op")
  err <- tryCatch(s == 1, error = identity)
  expect_identical(deparse(conditionCall(err)), "s == 1")
})

test_that("a string mapping with an extractFUN compares its stored strings", {
  withr::local_collate("C")
  m <- local_mmap(c("b", "a", "c"), mode = char(1))
  extractFUN(m) <- function(x) toupper(x)
  expect_identical(m[], c("B", "A", "C"))
  expect_identical(m == "a", 2L)
  expect_identical(m == "A", integer())
})

test_that("value OP m is which(value OP m[]) for every type, layout and operator, generated", {
  set.seed(7)
  ops <- c("==", "!=", "<", "<=", ">", ">=")
  cases <- list(
    uchar = list(x = as.raw(sample(0:255, 40, TRUE)), values = list(0, 17, 255.5, TRUE, FALSE)),
    int8 = list(x = sample(-128:127, 40, TRUE), values = c(-128, 0, 3.5)),
    uint16 = list(x = sample(0:65535, 40, TRUE), values = c(0, 30000, -1)),
    int24 = list(x = sample(-1e6:1e6, 40, TRUE), values = c(0, -5e5, 1e7)),
    int32 = list(x = c(sample(-1e6:1e6, 39, TRUE), NA), values = c(0, -5e5, NA)),
    uint32 = list(x = sample(0:1e6, 40, TRUE), values = c(0, 5e5 + 0.5)),
    int64 = list(x = sample(-1e6:1e6, 40, TRUE), values = c(0, 12)),
    real32 = list(x = c(round(rnorm(38), 2), NA, NaN), values = c(0, 0.5)),
    real64 = list(x = c(rnorm(38), NA, Inf), values = c(0, -Inf, 0.25)),
    logi8 = list(x = sample(c(TRUE, FALSE, NA), 40, TRUE), values = list(0, 1, TRUE, FALSE)),
    int16 = list(x = sample(-5:5, 40, TRUE), values = list(TRUE, FALSE, NA)),
    logi32 = list(x = sample(c(TRUE, FALSE, NA), 40, TRUE), values = c(0, 1)),
    cplx = list(x = complex(real = sample(-3:3, 40, TRUE), imaginary = sample(0:1, 40, TRUE)), values = c(1 + 0i, 2i))
  )
  for (name in names(cases)) {
    x <- cases[[name]]$x
    m <- local_mmap(x, type_of(name))
    ref <- m[]
    if (inherits(ref, "integer64")) ref <- as.double(ref)
    for (v in cases[[name]]$values) {
      for (op in ops) {
        if (name == "cplx" && !op %in% c("==", "!=")) next
        label <- sprintf("%s: %s %s m", name, format(v), op)
        want <- which(get(op)(v, ref))
        expect_identical(as.integer(get(op)(v, m)), want, info = label)
        expect_identical(as.integer(get(op)(m, v)), which(get(op)(ref, v)), info = label)
      }
    }
  }
  s <- local_mmap(c("ab", "abc", "b", "", "ba"), char(3))
  cs <- local_mmap(c("ab", "abc", "b", "", "ba"), cstring())
  b <- local_mmap(sample(c(TRUE, FALSE), 70, TRUE), bits())
  withr::local_collate("C")
  for (op in ops) {
    for (v in c("ab", "b", "")) {
      expect_identical(get(op)(v, s), which(get(op)(v, s[])), info = paste(op, v, "char"))
      expect_identical(get(op)(v, cs), which(get(op)(v, cs[])), info = paste(op, v, "cstring"))
    }
    for (v in c(0, 1)) expect_identical(get(op)(v, b), which(get(op)(v, b[])), info = paste(op, v, "bits"))
  }
})
