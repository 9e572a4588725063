local_csv <- function(lines, .env = parent.frame()) {
  f <- tempfile(fileext = ".csv")
  writeLines(lines, f)
  withr::defer(unlink(f), envir = .env)
  f
}

local_csv_map <- function(file, ..., .env = parent.frame()) {
  out <- tempfile(fileext = ".bin")
  m <- mmap.csv(file, out = out, ...)
  withr::defer({
    try(munmap(m), silent = TRUE)
    unlink(out)
  }, envir = .env)
  m
}

test_that("mmap.csv infers column types and extracts a data.frame like read.csv", {
  df <- data.frame(i = c(1L, NA, 3L), d = c(0.5, NA, -2e10), l = c(TRUE, NA, FALSE),
                   s = c("a", "bb, with comma", "say \"hi\""), stringsAsFactors = FALSE)
  f <- tempfile(fileext = ".csv")
  on.exit(unlink(f))
  utils::write.csv(df, f, row.names = FALSE)
  m <- local_csv_map(f)
  expect_true(is.struct(m))
  expect_equal(length(m), 3L)
  got <- m[]
  expect_identical(got, df)
  expect_identical(got, utils::read.csv(f, stringsAsFactors = FALSE))
  expect_equal(m[2:3, "s"], data.frame(s = df$s[2:3]))
  s <- .subset2(m, "mode")
  expect_equal(names(attr(s, "offsets")), c("i", "d", "l", "s"))
  expect_s3_class(s$fields$s, "char")
})

test_that("mmap.csv handles NA in character columns, CRLF, blank lines and no header", {
  f <- local_csv(c("a,b", "x,1", "NA,2", "", "\"\",3"))
  m <- local_csv_map(f)
  expect_identical(m[], data.frame(a = c("x", NA, ""), b = 1:3))
  g <- tempfile(fileext = ".csv")
  on.exit(unlink(g))
  writeBin(charToRaw("1,2.5\r\n3,4\r\n"), g)
  n <- local_csv_map(g, header = FALSE)
  expect_identical(n[], data.frame(V1 = c(1L, 3L), V2 = c(2.5, 4)))
  t <- local_csv(c("a;b", "1;x"))
  expect_identical(local_csv_map(t, sep = ";")[], data.frame(a = 1L, b = "x"))
})

test_that("mmap.csv: quoted newlines, chunk boundaries, rows spanning chunks", {
  rows <- sprintf("%d,\"line %d\nsecond\",%f", 1:500, 1:500, (1:500) / 7)
  f <- local_csv(c("k,text,v", rows))
  m <- local_csv_map(f, chunk = 100)
  got <- m[]
  expect_equal(nrow(got), 500L)
  expect_equal(got$k, 1:500)
  expect_equal(got$text[500], "line 500\nsecond")
  expect_equal(got$v, round((1:500) / 7, 6))
})

test_that("mmap.csv errors: ragged rows, missing file, unterminated quote, bad sep", {
  f <- local_csv(c("a,b", "1,2", "3"))
  expect_error(mmap.csv(f), class = "mmap_error_value", regexp = "data row 2 .* 1 fields; the header has 2")
  expect_error(mmap.csv(tempfile()), class = "mmap_error_io")
  g <- local_csv(c("a", "\"open"))
  expect_error(mmap.csv(g), class = "mmap_error_value", regexp = "unterminated")
  expect_error(mmap.csv(f, sep = ",,"), class = "mmap_error_type")
})

test_that("mmap.csv shows a progress bar when asked (and on large input by default)", {
  f <- local_csv(c("a", 1:1000))
  out <- capture.output(m <- local_csv_map(f, progress = TRUE, chunk = 500))
  expect_match(paste(out, collapse = ""), "100%")
  expect_equal(m[]$a, 1:1000)
  expect_silent(local_csv_map(f))
})

test_that("a header-only CSV gives an empty mapping", {
  f <- local_csv("a,b")
  m <- local_csv_map(f)
  expect_equal(length(m), 0L)
})
