test_that("char(n) round-trips, pads with nul and trims on extraction", {
  m <- local_mmap(c("ab", "cde", ""), mode = char(3))
  expect_equal(m[], c("ab", "cde", ""))
  expect_equal(length(m), 3L)
  nul <- as.raw(0)
  expect_equal(file_bytes(.subset2(m, "file")),
               c(charToRaw("ab"), nul, nul, charToRaw("cde"), nul, nul, nul, nul, nul))
  m[2] <- "x"
  expect_equal(m[], c("ab", "x", ""))
  expect_equal(m[c(3, 1)], c("", "ab"))
  expect_equal(m[-1], c("x", ""))
})

test_that("a string longer than its field is an error, never truncated (CRAN fault)", {
  m <- local_mmap(c("ab", "cd"), mode = char(2))
  before <- file_bytes(.subset2(m, "file"))
  expect_error(m[1] <- "abc", class = "mmap_error_value", regexp = "element 1.*char\\(2\\) holds at most 2 bytes")
  expect_error(m[] <- c("ok", "toolong"), class = "mmap_error_value", regexp = "element 2")
  # Nothing written, and every terminator is still there.
  expect_identical(file_bytes(.subset2(m, "file")), before)
  expect_equal(m[], c("ab", "cd"))
})

test_that("char(n) reads files written by writeBin, as in the seed vignette", {
  f <- local_bytes(raw(0))
  writeBin(LETTERS, f)
  let <- mmap(f, char(1))
  on.exit(munmap(let))
  expect_equal(length(let), 26L)
  expect_equal(let[], LETTERS)
})

test_that("char(n, nul = FALSE) uses the full width", {
  f <- local_bytes(charToRaw("abcdefgh"))
  m <- mmap(f, char(4, nul = FALSE))
  on.exit(munmap(m))
  expect_equal(m[], c("abcd", "efgh"))
  m[1] <- "xy"
  expect_equal(m[], c("xy", "efgh"))
  expect_equal(file_bytes(f), c(charToRaw("xy"), as.raw(c(0, 0)), charToRaw("efgh")))
})

test_that("strings have no NA unless the type has a sentinel", {
  m <- local_mmap(c("a", "b"), mode = char(3))
  expect_error(m[1] <- NA, class = "mmap_error_value", regexp = "has no NA")
  expect_error(m[1] <- NA_character_, class = "mmap_error_value")
  expect_equal(m[], c("a", "b"))
  expect_equal(is.na(m), c(FALSE, FALSE))

  s <- local_mmap(c("a", NA, "bcd"), mode = char(4, na = "NA"))
  expect_equal(s[], c("a", NA, "bcd"))
  expect_equal(is.na(s), c(FALSE, TRUE, FALSE))
  expect_error(s[1] <- "NA", class = "mmap_error_value", regexp = "sentinel")
  expect_error(char(1, na = "NA"), class = "mmap_error_type")
})

test_that("char() validates its arguments; char() alone is a byte", {
  expect_error(char(0), class = "mmap_error_type")
  expect_error(char(2.5), class = "mmap_error_type")
  expect_error(char(2, nul = NA), class = "mmap_error_type")
  expect_error(char(2, na = 1), class = "mmap_error_type")
  expect_equal(sizeof(char(8)), 9L)
  expect_equal(sizeof(char(8, nul = FALSE)), 8L)
  expect_s3_class(char(), "uchar")
  expect_output(print(char(4, na = "NA")), "char\\(4\\)")
})

test_that("base character(n) is a mode meaning char(n); character() means cstring()", {
  expect_equal(as.Ctype(character(5)), char(5))
  expect_s3_class(as.Ctype(character()), "cstring")
  f <- local_bytes(raw(0))
  writeBin(c("abc", "xyz"), f)
  m <- mmap(f, character(3))
  on.exit(munmap(m))
  expect_equal(m[], c("abc", "xyz"))
})

test_that("cstring maps variable-width strings and is read-only", {
  x <- c("apple", "", "fig", "a longer string with spaces")
  m <- local_mmap(x)
  expect_s3_class(.subset2(m, "mode"), "cstring")
  expect_equal(length(m), 4L)
  expect_equal(m[], x)
  expect_equal(m[c(4, 1, NA)], c(x[4], x[1], NA))
  expect_equal(m[-2], x[-2])
  expect_error(m[5], class = "mmap_error_bounds")
  expect_error(m[1] <- "x", class = "mmap_error_type", regexp = "read-only")
  expect_equal(m[], x)
  expect_equal(cstring.MaxWidth(m), nchar(x[4]))
  expect_equal(cstring.MaxWidth(x), nchar(x[4]))
})

test_that("is.na() on cstring is correct (CRAN read an uninitialised counter)", {
  m <- local_mmap(c("a", "NA", "b"))
  expect_identical(is.na(m), c(FALSE, FALSE, FALSE))
  f <- local_bytes(raw(0))
  writeBin(character(0), f)
  e <- mmap(f, cstring())
  on.exit(munmap(e))
  expect_identical(is.na(e), logical(0))
  expect_equal(length(e), 0L)
})

test_that("cstring: NA cannot be written; trailing unterminated bytes warn", {
  expect_error(as.mmap(c("a", NA)), class = "mmap_error_value", regexp = "element 2")
  f <- local_bytes(c(charToRaw("ab"), as.raw(0), charToRaw("cd")))
  expect_warning(m <- mmap(f, cstring()), "trailing")
  on.exit(munmap(m))
  expect_equal(m[], "ab")
})

test_that("a cstring mapping survives saveRDS/readRDS (the offset table is rebuilt)", {
  m <- local_mmap(c("one", "two", "three"))
  rds <- tempfile(fileext = ".rds")
  on.exit(unlink(rds))
  saveRDS(m, rds)
  m2 <- readRDS(rds)
  expect_equal(m2[], c("one", "two", "three"))
  expect_equal(length(m2), 3L)
})

test_that("UTF-8 strings keep their bytes; width is in bytes", {
  x <- c("caf\u00e9", "\u00fc")
  m <- local_mmap(x, mode = char(5))
  expect_equal(m[], x)
  expect_equal(Encoding(m[1]), "UTF-8")
  expect_error(m[2] <- "\u00e9\u00e9\u00e9", class = "mmap_error_value", regexp = "6 bytes")
  c2 <- local_mmap(x)
  expect_equal(c2[], x)
})

test_that("make.fixedwidth pads and never truncates", {
  expect_equal(make.fixedwidth(c("a", "abc")), c("a  ", "abc"))
  expect_equal(make.fixedwidth(c("a", "abc"), 4, justify = "right"), c("   a", " abc"))
  expect_equal(make.fixedwidth(c("a", NA)), c("a", NA))
  expect_error(make.fixedwidth("abcdef", 3), class = "mmap_error_value", regexp = "never truncated")
  expect_error(make.fixedwidth(1:3), class = "mmap_error_type")
})

test_that("replacing with non-strings is a type error", {
  m <- local_mmap(c("a", "b"), mode = char(2))
  expect_error(m[1] <- 1, class = "mmap_error_type")
  m[1:2] <- factor(c("x", "y"))
  expect_equal(m[], c("x", "y"))
})

test_that("as.Ctype() of actual strings is cstring(), of a prototype char(n)", {
  expect_s3_class(as.Ctype(c("apple", "fig")), "cstring")
  expect_equal(as.Ctype(c("", "", "")), char(3))
})

test_that("a char(n) too wide for an element is an error, never a size of NA", {
  expect_error(char(2^31), "`n`", class = "mmap_error_type")
  expect_error(char(2^31 - 1), "at most 2147483647 bytes", class = "mmap_error_type")
  expect_identical(attr(char(2^31 - 1, nul = FALSE), "bytes"), 2147483647L)
})

test_that("cstring.MaxWidth() without an argument answers as in CRAN's mmap", {
  expect_identical(cstring.MaxWidth(), 65534L)
  expect_identical(cstring.MaxWidth(c("a", "abc")), 3)
})

test_that("as.mmap() writes cstrings through Rust: generated strings round-trip, NA leaves the file as it was", {
  set.seed(3)
  pieces <- c("a", "b", "\u00e9", "\u4e2d", " ", "xyz", "\t")
  for (k in 1:20) {
    n <- sample(0:30, 1)
    x <- vapply(seq_len(n), function(i) paste(sample(pieces, sample(0:12, 1), TRUE), collapse = ""), "")
    f <- withr::local_tempfile()
    m <- as.mmap(x, cstring(), file = f)
    expect_identical(m[], enc2utf8(x), info = k)
    expect_equal(file.size(f), sum(nchar(x, type = "bytes")) + length(x), info = k)
    munmap(m)
  }
  f <- withr::local_tempfile()
  writeBin(as.raw(1:9), f)
  expect_error(as.mmap(c("ok", NA, "x"), cstring(), file = f), "element 2 of `x` is NA", class = "mmap_error_value")
  expect_identical(readBin(f, "raw", 100), as.raw(1:9))
})

test_that("char() arguments are checked by the Rust spec parser, naming argument and value", {
  expect_error(char(2.5), "`n` must be a single whole number of at least 1, not 2.5", class = "mmap_error_type")
  expect_error(char(0), "`n`.*not 0", class = "mmap_error_type")
  expect_error(char(NA), "`n`.*not NA", class = "mmap_error_type")
  expect_error(char("a"), "`n`.*the string \"a\"", class = "mmap_error_type")
  expect_error(char(1:2), "`n`", class = "mmap_error_type")
  expect_error(char(2, nul = NA), "`nul` must be TRUE or FALSE, not NA", class = "mmap_error_type")
  expect_error(char(2, nul = "yes"), "`nul`", class = "mmap_error_type")
  expect_error(char(2, na = 1), "`na` must be a single string or NULL, not 1", class = "mmap_error_type")
  expect_error(char(2, na = c("a", "b")), "`na` must be a single string or NULL", class = "mmap_error_type")
  # NA_character_ is not the text "NA".
  expect_error(char(2, na = NA_character_), "`na` must be a single string or NULL, not NA", class = "mmap_error_type")
  expect_error(char(2, na = NA), "`na`", class = "mmap_error_type")
  expect_error(char(2, na = "abc"), "`na` sentinel \"abc\" has 3 bytes", class = "mmap_error_type")
  expect_error(char(2^31 - 1, nul = FALSE), NA)
  expect_error(char(2^31, nul = FALSE), "at most 2147483647 bytes", class = "mmap_error_type")
})

test_that("a char(n) file is sized by Rust's layout: n + nul bytes per string", {
  for (nul in c(TRUE, FALSE)) {
    f <- withr::local_tempfile()
    m <- as.mmap(c("a", "bcd", ""), char(4, nul = nul), file = f)
    expect_equal(file.size(f), 3 * (4 + nul))
    expect_identical(m[], c("a", "bcd", ""))
    munmap(m)
  }
})
