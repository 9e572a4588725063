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

test_that("mmap.csv never writes over its input, under any name", {
  dir <- tempfile("mmap-csv-in")
  dir.create(dir)
  on.exit(unlink(dir, recursive = TRUE))
  f <- file.path(dir, "in.csv")
  utils::write.csv(data.frame(a = 1:3, b = c("x", "y", "z")), f, row.names = FALSE)
  before <- file_bytes(f)
  same <- "is the input `file` itself"
  expect_error(mmap.csv(f, out = f), same, class = "mmap_error_io")
  expect_error(mmap.csv(f, out = file.path(dir, ".", "in.csv")), same, class = "mmap_error_io")
  expect_error(mmap.csv(f, out = file.path(dir, "..", basename(dir), "in.csv")), same, class = "mmap_error_io")
  if (file.symlink(f, file.path(dir, "link.csv"))) {
    expect_error(mmap.csv(f, out = file.path(dir, "link.csv")), same, class = "mmap_error_io")
    expect_error(mmap.csv(file.path(dir, "link.csv"), out = f), same, class = "mmap_error_io")
  }
  if (file.link(f, file.path(dir, "hard.csv"))) {
    expect_error(mmap.csv(f, out = file.path(dir, "hard.csv")), same, class = "mmap_error_io")
  }
  expect_identical(file_bytes(f), before)
  expect_setequal(list.files(dir, all.files = TRUE, no.. = TRUE),
                  intersect(c("in.csv", "link.csv", "hard.csv"), list.files(dir)))
})

test_that("a failing mmap.csv leaves an existing `out` as it was and deletes only what it created", {
  dir <- tempfile("mmap-csv-out")
  dir.create(dir)
  on.exit(unlink(dir, recursive = TRUE))
  out <- file.path(dir, "out.bin")
  writeBin(as.raw(1:10), out)
  ragged <- file.path(dir, "ragged.csv")
  writeLines(c("a,b", "1,2", "3"), ragged)
  expect_error(mmap.csv(ragged, out = out), class = "mmap_error_value")
  nul <- file.path(dir, "nul.csv")
  writeBin(c(charToRaw("a,b\n1,x"), as.raw(0), charToRaw("y\n")), nul)
  expect_error(mmap.csv(nul, out = out), class = "mmap_error_value")
  expect_identical(file_bytes(out), as.raw(1:10))
  expect_setequal(list.files(dir, all.files = TRUE, no.. = TRUE), c("out.bin", "ragged.csv", "nul.csv"))
  # A successful call replaces `out`, and a live mapping of the old `out` keeps its bytes.
  good <- file.path(dir, "good.csv")
  writeLines(c("a", 1:5), good)
  old <- mmap(out, uint8())
  m <- mmap.csv(good, out = out)
  expect_equal(m[]$a, 1:5)
  expect_equal(old[], 1:10)
  munmap(m)
  munmap(old)
  expect_setequal(list.files(dir, all.files = TRUE, no.. = TRUE),
                  c("out.bin", "ragged.csv", "nul.csv", "good.csv"))
})

test_that("an embedded NUL byte is a classed error naming the row and column, never a cut field", {
  f <- tempfile(fileext = ".csv")
  on.exit(unlink(f))
  writeBin(c(charToRaw("a,b\n1,x\n2,x"), as.raw(0), charToRaw("y\n3,z\n")), f)
  expect_error(mmap.csv(f), "data row 2 of the CSV file, column 2, holds a NUL byte", class = "mmap_error_value")
  writeBin(c(charToRaw("a,\"b"), as.raw(0), charToRaw("\"\n1,2\n")), f)
  expect_error(mmap.csv(f), "the header of the CSV file, column 2, holds a NUL byte", class = "mmap_error_value")
  writeBin(c(charToRaw("a\n1\n"), as.raw(0), charToRaw("\n")), f)
  expect_error(mmap.csv(f), "NUL byte", class = "mmap_error_value")
})

test_that("CR-only line endings read as lines, like read.csv", {
  f <- tempfile(fileext = ".csv")
  on.exit(unlink(f))
  writeBin(charToRaw("a,b\r1,x\r2,\"y\rz\"\r\r3,w\r"), f)
  m <- local_csv_map(f)
  expect_identical(m[], utils::read.csv(f, stringsAsFactors = FALSE))
  expect_identical(m[]$b, c("x", "y\nz", "w"))
  writeBin(charToRaw("x\r1\r2\r3\r"), f)
  expect_identical(local_csv_map(f)[], data.frame(x = 1:3))
})

# A data.frame of `n` rows with columns of every kind mmap.csv infers, with the
# awkward values a CSV writer produces: quotes, separators and line breaks in
# strings, empty strings, NA, Inf, big integers, exponents.
random_df <- function(n) {
  pick <- function(x) sample(x, n, replace = TRUE)
  words <- c("a", "b c", "d,e", "say \"hi\"", "two\nlines", "", " pad ", "x;y", "tab\there", "1", "TRUE", "3.5")
  cols <- list(
    int = pick(c(-5:5, NA, 2147483647L, -2147483647L)),
    dbl = pick(c(0.5, -1.25, 1e10, 1.5e-7, 123456.789, NA, Inf, -Inf, 2^31)),
    big = pick(c(1, 2, 3e9, NA)),
    lgl = pick(c(TRUE, FALSE, NA)),
    chr = pick(words),
    chrna = pick(c(words, NA)),
    allna = rep(NA, n),
    numstr = pick(c("1", "2", "x"))
  )
  keep <- sample(names(cols), sample(2:length(cols), 1))
  as.data.frame(cols[keep], stringsAsFactors = FALSE)
}

test_that("mmap.csv gives read.csv's answer on generated files with LF, CRLF and CR line ends", {
  set.seed(20261128)
  dir <- tempfile("mmap-csv-gen")
  dir.create(dir)
  on.exit(unlink(dir, recursive = TRUE))
  cases <- 0
  for (k in 1:40) {
    df <- random_df(sample(c(1:30, 200), 1))
    for (eol in c("\n", "\r\n", "\r")) {
      f <- file.path(dir, sprintf("case%d.csv", k))
      utils::write.csv(df, f, row.names = FALSE, eol = eol)
      want <- utils::read.csv(f, stringsAsFactors = FALSE)
      m <- mmap.csv(f, out = file.path(dir, "out.bin"), chunk = sample(c(7, 64, 1e6), 1))
      got <- m[]
      munmap(m)
      expect_identical(got, want, info = sprintf("case %d, eol %s", k, deparse(eol)))
      cases <- cases + 1
    }
  }
  expect_equal(cases, 120)
})
