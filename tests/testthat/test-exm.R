# The R face of exm, outside and inside an exm session. Inside: a child
# `exm Rscript` runs a script and reports back.

exm_rscript <- function(script, args = character(), timeout = 300) {
  launcher <- exm_launcher()
  skip_if_not(nzchar(launcher), "the exm launcher is not installed")
  skip_if_not(Sys.info()[["sysname"]] == "Linux", "exm needs Linux")
  data <- tempfile("exm-data-")
  dir.create(data)
  on.exit(unlink(data, recursive = TRUE), add = TRUE)
  file <- tempfile("exm-script-", fileext = ".R")
  on.exit(unlink(file), add = TRUE)
  writeLines(script, file)
  rscript <- file.path(R.home("bin"), "Rscript")
  env <- c(sprintf("R_LIBS=%s", paste(.libPaths(), collapse = ":")), "EXM_THRESHOLD=", "EXM_PATH=")
  out <- suppressWarnings(system2(launcher, c("--path", shQuote(data), args, shQuote(rscript),
                                              "--vanilla", shQuote(file)),
                                  stdout = TRUE, stderr = TRUE, env = env, timeout = timeout))
  list(out = out, status = attr(out, "status") %||% 0L, left = list.files(data, all.files = TRUE, no.. = TRUE))
}

`%||%` <- function(a, b) if (is.null(a)) b else a

test_that("outside exm: inactive, version answers, the rest errors clearly", {
  skip_if(exm_active(), "this R runs under exm")
  expect_false(exm_active())
  expect_match(exm_version(), "^[0-9]+\\.[0-9]+\\.[0-9]+$")
  for (f in list(function() exm_threshold(), function() exm_threshold(2^20),
                 function() exm_path(), function() exm_path(tempdir()),
                 function() exm_cow(), function() exm_cow("shared"),
                 function() exm_lookup(1:10), function() exm_madvise(1:10, "random"),
                 function() exm_stats())) {
    expect_error(f(), class = "mmap_error_exm", regexp = "not started under exm")
  }
  expect_type(exm_launcher(), "character")
  expect_length(exm_launcher(), 1L)
})

test_that("exm_on_load() does nothing outside exm", {
  skip_if(exm_active(), "this R runs under exm")
  expect_null(mmap:::exm_on_load())
})

test_that("the launcher is installed with the package and runs", {
  launcher <- exm_launcher()
  skip_if_not(nzchar(launcher), "the exm launcher is not installed")
  expect_true(file.exists(launcher))
  v <- system2(launcher, "--version", stdout = TRUE)
  expect_equal(v, paste("exm", exm_version()))
  bad <- suppressWarnings(system2(launcher, c("--threshold", "lots", "true"),
                                  stdout = TRUE, stderr = TRUE))
  expect_equal(attr(bad, "status"), 2L)
  expect_match(paste(bad, collapse = "\n"), "invalid threshold.*lots")
})

test_that("inside exm: every function works", {
  res <- exm_rscript(c(
    'library(mmap)',
    'stopifnot(exm_active())',
    'cat("version", exm_version(), "\\n")',
    # loading the package moved the files to the session temp dir
    'stopifnot(identical(exm_path(), normalizePath(tempdir())))',
    'stopifnot(exm_threshold() == 2^20)',
    'x <- (1:1e6) + 0.5',                          # 8 MB: file-backed
    'f <- exm_lookup(x)',
    'stopifnot(is.character(f), !is.na(f), startsWith(f, normalizePath(tempdir())))',
    'stopifnot(is.na(exm_lookup(1:10)))',
    's <- exm_stats()',
    'stopifnot(identical(names(s), c("count", "bytes", "peak")), s$count >= 1, s$bytes >= 8e6, s$peak >= s$bytes)',
    'old <- exm_threshold(2^30)',
    'stopifnot(old == 2^20, exm_threshold() == 2^30)',
    'y <- (1:1e6) + 0.5',
    'stopifnot(is.na(exm_lookup(y)))',
    'exm_threshold(4096)',
    'z <- (1:1000) + 0.5',                         # 8 KB: file-backed at one page
    'stopifnot(!is.na(exm_lookup(z)), sum(z) == 501000)',
    'exm_threshold(2^20)',
    'e <- tryCatch(exm_threshold(10), mmap_error_type = function(e) "type")',
    'stopifnot(identical(e, "type"))',
    'stopifnot(exm_cow() == "private", exm_cow() == "private")',
    'stopifnot(identical(exm_cow("duplicate"), "private"), exm_cow() == "duplicate")',
    'e <- tryCatch(exm_cow("bogus"), mmap_error_type = function(e) "type")',
    'stopifnot(identical(e, "type"), exm_cow() == "duplicate")',
    'exm_cow("private")',
    'stopifnot(identical(exm_madvise(x, "sequential"), x))',
    'e <- tryCatch(exm_madvise(1:3, "random"), mmap_error_exm = function(e) conditionMessage(e))',
    'stopifnot(grepl("not file-backed", e))',
    'd <- file.path(tempdir(), "exm-sub"); dir.create(d)',
    'exm_path(d)',
    'w <- (1:1e6) + 0.5',
    'stopifnot(startsWith(exm_lookup(w), normalizePath(d)))',
    'e <- tryCatch(exm_path("/nonexistent/exm"), mmap_error_exm = function(e) "exm")',
    'stopifnot(identical(e, "exm"), exm_path() == normalizePath(d))',
    'stopifnot(sum(x) == sum((1:1e6) + 0.5))',
    'rm(x, y, z, w); invisible(gc())',
    'cat("ALL OK\\n")'
  ), args = c("--threshold", "1M"))
  expect_equal(res$status, 0L, info = paste(res$out, collapse = "\n"))
  expect_true("ALL OK" %in% res$out, info = paste(res$out, collapse = "\n"))
  expect_true(any(grepl(paste("version", exm_version()), res$out, fixed = TRUE)))
  expect_length(res$left, 0L)
})

test_that("inside exm: mclapply runs 50 times with correct results and leaves no file", {
  skip_on_cran()
  res <- exm_rscript(c(
    'library(mmap)',
    'stopifnot(exm_cow() == "private")',
    'x <- (1:2e6) + 0.5',
    'want <- sum(x) + 1:4',
    'for (k in 1:50) {',
    '  y <- parallel::mclapply(1:4, function(i) { z <- x * 2; sum(z) / 2 + i }, mc.cores = 2)',
    '  stopifnot(identical(unlist(y), want))',
    '  x[1] <- x[1]',
    '}',
    'cat("ALL OK\\n")'
  ), args = c("--threshold", "64K"))
  expect_equal(res$status, 0L, info = paste(res$out, collapse = "\n"))
  expect_true("ALL OK" %in% res$out)
  expect_length(res$left, 0L)
})

test_that("inside exm: --stats reports at exit and exit status passes through", {
  res <- exm_rscript(c('x <- numeric(2e6)', 'quit(status = 3)'), args = c("--threshold", "1M", "--stats"))
  expect_equal(res$status, 3L)
  expect_true(any(grepl("^exm: blocks [0-9]+ mapped in total", res$out)), info = paste(res$out, collapse = "\n"))
})
