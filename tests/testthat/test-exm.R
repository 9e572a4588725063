# The R face of exm, outside and inside an exm session. Inside: a child
# `exm Rscript` runs a script and reports back.

# Run `script` under `exm [args] Rscript`. The data directory `data` (made
# here, named to the script as DATA) is given with --path when `how` is
# "path", in EXM_PATH when it is "env", and not at all when it is "none".
# `limits` are shell commands run before the launcher (e.g. "ulimit -n 4096");
# `mount` a size for a tmpfs mounted on the data directory (e.g. "24m").
exm_rscript <- function(script, args = character(), timeout = 300, how = c("path", "env", "none"),
                        limits = character(), mount = NULL) {
  how <- match.arg(how)
  launcher <- exm_launcher()
  skip_if_not(nzchar(launcher), "the exm launcher is not installed")
  skip_if_not(Sys.info()[["sysname"]] == "Linux", "exm needs Linux")
  data <- tempfile("exm-data-")
  dir.create(data)
  on.exit(unlink(data, recursive = TRUE), add = TRUE)
  data <- normalizePath(data)
  if (!is.null(mount)) {
    # A small file system for the data directory (root only).
    ok <- Sys.info()[["effective_user"]] == "root" && nzchar(Sys.which("mount")) &&
      suppressWarnings(system2("mount", c("-t", "tmpfs", "-o", paste0("size=", mount, ",mode=0700"), "tmpfs", shQuote(data)),
                               stdout = FALSE, stderr = FALSE)) == 0L
    skip_if_not(ok, "cannot mount a small file system here (needs root)")
    on.exit(system2("umount", shQuote(data)), add = TRUE, after = FALSE)
  }
  file <- tempfile("exm-script-", fileext = ".R")
  on.exit(unlink(file), add = TRUE)
  writeLines(c(sprintf("DATA <- %s", deparse(data)), script), file)
  rscript <- file.path(R.home("bin"), "Rscript")
  env <- c(sprintf("R_LIBS=%s", paste(.libPaths(), collapse = ":")), "EXM_THRESHOLD=",
           sprintf("EXM_PATH=%s", if (how == "env") data else ""))
  argv <- c(if (how == "path") c("--path", shQuote(data)), args, shQuote(rscript), "--vanilla", shQuote(file))
  if (length(limits)) {
    # exec keeps the limits (and the pid) for the launcher and R.
    out <- suppressWarnings(system2("/bin/sh", c("-c", shQuote(paste(c(limits, 'exec "$0" "$@"'), collapse = "; ")),
                                                 shQuote(launcher), argv),
                                    stdout = TRUE, stderr = TRUE, env = env, timeout = timeout))
  } else {
    out <- suppressWarnings(system2(launcher, argv, stdout = TRUE, stderr = TRUE, env = env, timeout = timeout))
  }
  list(out = out, status = attr(out, "status") %||% 0L, left = list.files(data, all.files = TRUE, no.. = TRUE))
}

expect_all_ok <- function(res) {
  expect_equal(res$status, 0L, info = paste(res$out, collapse = "\n"))
  expect_true("ALL OK" %in% res$out, info = paste(res$out, collapse = "\n"))
  expect_length(res$left, 0L)
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
    # the directory given with --path stays after loading the package
    'stopifnot(identical(exm_path(), DATA))',
    'stopifnot(exm_threshold() == 2^20)',
    'x <- (1:1e6) + 0.5',                          # 8 MB: file-backed
    'f <- exm_lookup(x)',
    'stopifnot(is.character(f), !is.na(f), startsWith(f, DATA))',
    'stopifnot(is.na(exm_lookup(1:10)))',
    's <- exm_stats()',
    'stopifnot(identical(names(s), c("count", "bytes", "peak", "fallback_disk", "fallback_fd", "fallback_other")))',
    'stopifnot(s$count >= 1, s$bytes >= 8e6, s$peak >= s$bytes, s$fallback_disk == 0, s$fallback_fd == 0)',
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
    # sizes as the launcher takes them; the rules (minimum, units) are exm's
    'stopifnot(exm_threshold("2MiB") == 2^20, exm_threshold() == 2^21)',
    'stopifnot(exm_threshold("4K") == 2^21, exm_threshold() == 4096)',
    'exm_threshold(2^20)',
    'for (bad in list(4095, "4095", "1k", "lots", "2X", -1, NA, NA_character_, 5000.5, Inf, c(1, 2), "", TRUE, NULL)) {',
    '  e <- tryCatch({ exm_threshold(bad); "no error" }, mmap_error_type = function(e) conditionMessage(e))',
    '  stopifnot(grepl("^`bytes`", e), exm_threshold() == 2^20)',
    '}',
    'e <- tryCatch(exm_threshold("1k"), mmap_error_type = function(e) conditionMessage(e))',
    'stopifnot(grepl("at least one page (4096 bytes)", e, fixed = TRUE))',
    'e <- tryCatch(exm_threshold("2X"), mmap_error_type = function(e) conditionMessage(e))',
    'stopifnot(grepl("unknown unit", e, fixed = TRUE), grepl("2X", e, fixed = TRUE))',
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

test_that("inside exm: the user's data directory survives library(mmap); tempdir() is only the default", {
  script <- c(
    'before <- mmap::exm_path()',
    'library(mmap)',
    'x <- numeric(2e5)',
    'cat("before", before, "\\n")',
    'cat("after", exm_path(), "\\n")',
    'cat("lookup", exm_lookup(x), "\\n")',
    'cat("ALL OK\\n")'
  )
  line <- function(res, key) sub(sprintf("^%s (.*) $", key), "\\1", grep(sprintf("^%s ", key), res$out, value = TRUE))
  for (how in c("path", "env")) {
    res <- exm_rscript(c(script, 'stopifnot(exm_path() == DATA, startsWith(exm_lookup(x), DATA))'),
                       args = c("--threshold", "1M"), how = how)
    expect_all_ok(res)
    expect_equal(line(res, "after"), line(res, "before"), info = how)
  }
  # No choice: the session's temporary directory.
  res <- exm_rscript(c(script, 'stopifnot(exm_path() == normalizePath(tempdir()), startsWith(exm_lookup(x), exm_path()))'),
                     args = c("--threshold", "1M"), how = "none")
  expect_all_ok(res)
  expect_match(line(res, "after"), "Rtmp")
})

full_disk_script <- c(
  'library(mmap)',
  'disk <- function() exm_stats()$fallback_disk',
  'd0 <- disk()',
  'x <- numeric(4e6)',                              # 32 MB: no room on disk, so from malloc
  'stopifnot(is.na(exm_lookup(x)), disk() > d0)',
  'x[] <- 1.5',                                     # every byte writable: no SIGBUS
  'stopifnot(sum(x) == 6e6)',
  'y <- rep(2, 2e5)',                               # 1.6 MB: fits, mapped, its space reserved
  'stopifnot(!is.na(exm_lookup(y)), sum(y) == 4e5)',
  'd1 <- disk()',
  'z <- c(x, x)',                                   # 32 MB more: malloc again
  'stopifnot(is.na(exm_lookup(z)), disk() > d1, sum(z) == 1.2e7)',
  's <- exm_stats()',
  'stopifnot(s$count >= 1, s$fallback_fd == 0)',
  'cat("ALL OK\\n")'
)

test_that("inside exm: a full disk gives blocks from malloc, not SIGBUS (file size limit)", {
  # dash counts `ulimit -f` in 512-byte blocks, bash in KiB: 5 or 10 MB.
  res <- exm_rscript(full_disk_script, args = c("--threshold", "1M"), limits = "ulimit -f 10240")
  expect_all_ok(res)
})

test_that("inside exm: a full disk gives blocks from malloc, not SIGBUS (24 MB file system)", {
  # R itself keeps about 10 MB in blocks of 1 MB or more.
  res <- exm_rscript(full_disk_script, args = c("--threshold", "1M"), mount = "24m")
  expect_all_ok(res)
})

fd_script <- c(
  'library(mmap)',
  'n0 <- exm_stats()$count',                           # R's own blocks at this threshold
  'x <- lapply(1:30000, function(i) rep(i + 0.5, 1000))', # 30,000 live blocks of 8 KB
  's <- exm_stats()',
  'cat("stats", unlist(s), "\\n")',
  'stopifnot(s$count > 1000, s$count < 30000)',
  # R can still open files and connections and load a package with a DLL
  'f <- tempfile(); writeLines("fine", f); stopifnot(readLines(f) == "fine")',
  'cons <- lapply(1:50, function(i) file(f, "r")); invisible(lapply(cons, close))',
  'library(splines); stopifnot(ncol(bs(1:10, df = 3)) == 3)',
  'stopifnot(all(vapply(seq_along(x), function(i) x[[i]][1000] == i + 0.5, TRUE)))',
  'rm(x); invisible(gc())',
  'stopifnot(exm_stats()$count < n0 + 1000)',
  'cat("ALL OK\\n")'
)

test_that("inside exm: tens of thousands of blocks leave descriptors for R (descriptor limit)", {
  skip_on_cran()
  res <- exm_rscript(c(fd_script, 'stopifnot(exm_stats()$fallback_fd > 0)'),
                     args = c("--threshold", "4K"), limits = "ulimit -n 4096")
  expect_all_ok(res)
})

test_that("inside exm: tens of thousands of blocks leave descriptors and mappings for R (system limits)", {
  skip_on_cran()
  res <- exm_rscript(fd_script, args = c("--threshold", "4K"))
  expect_all_ok(res)
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
