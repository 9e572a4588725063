test_that("mmap() maps a binary file as the given type", {
  f <- local_bytes(base_bytes(1:10, size = 1))
  m <- mmap(f, int8())
  expect_true(is.mmap(m))
  expect_equal(m[], 1:10)
  expect_equal(length(m), 10L)
  expect_equal(nbytes(m), 10)
  munmap(m)
})

test_that("writes go to the file", {
  f <- local_bytes(base_bytes(c(1.5, 2.5, 3.5), size = 8))
  m <- mmap(f, real64())
  m[2] <- 100
  msync(m, mmapFlags("MS_SYNC"))
  munmap(m)
  expect_equal(readBin(f, "double", 3), c(1.5, 100, 3.5))
})

test_that("`off` may be any byte offset and `len` limits the mapping", {
  bytes <- c(as.raw(0:6), base_bytes(c(10L, 20L, 30L), size = 4))
  f <- local_bytes(bytes)
  m <- mmap(f, int32(), off = 7)
  expect_equal(m[], c(10L, 20L, 30L))
  munmap(m)
  m <- mmap(f, int32(), off = 7, len = 8)
  expect_equal(m[], c(10L, 20L))
  m[2] <- -1L
  munmap(m)
  bytes <- file_bytes(f)
  expect_equal(bytes[1:7], as.raw(0:6))
  expect_equal(readBin(bytes[12:15], "integer"), -1L)
  expect_equal(readBin(bytes[16:19], "integer"), 30L)
})

test_that("offsets and lengths beyond 2 GiB work on sparse files", {
  skip_on_cran()
  f <- tempfile()
  on.exit(unlink(f))
  size <- 3 * 2^30
  con <- file(f, "wb"); seek(con, size - 1); writeBin(as.raw(0), con); close(con)
  skip_if(file.size(f) != size, "no sparse files here")
  m <- mmap(f, uchar())
  expect_equal(length(m), size)
  m[2^31 + 5] <- as.raw(7)
  m[size] <- as.raw(9)
  expect_equal(m[c(2^31 + 5, size)], as.raw(c(7, 9)))
  munmap(m)
  far <- mmap(f, uchar(), off = 2^31 + 4, len = 2)
  expect_equal(far[], as.raw(c(7, 0)))
  munmap(far)
  tail <- mmap(f, uchar(), off = size - 1)
  expect_equal(tail[1], as.raw(9))
  munmap(tail)
})

test_that("an empty file is a zero-length mapping", {
  f <- tempfile(); file.create(f); on.exit(unlink(f))
  m <- mmap(f, real64())
  expect_equal(length(m), 0L)
  expect_equal(m[], double())
  expect_error(m[1], class = "mmap_error_bounds")
  munmap(m)
})

test_that("trailing bytes that make no whole element are left out with a warning", {
  f <- local_bytes(as.raw(1:7))
  expect_warning(m <- mmap(f, int16()), "1 trailing byte")
  expect_equal(length(m), 3L)
  munmap(m)
  expect_warning(m <- mmap(f, int32()), "3 trailing bytes")
  expect_equal(length(m), 1L)
  munmap(m)
})

test_that("bad arguments give clear errors", {
  expect_error(mmap(tempfile()), "does not exist", class = "mmap_error_io")
  expect_error(mmap(1), "`file` must be a single string", class = "mmap_error_type")
  f <- local_bytes(as.raw(1:8))
  expect_error(mmap(f, sum), class = "mmap_error_type")
  expect_error(mmap(f, int8(), off = -1), "`off` must be a single whole number")
  expect_error(mmap(f, int8(), off = 9), "past the end")
  expect_error(mmap(f, int8(), off = 4, len = 5), "past the end")
  expect_error(mmap(f, int8(), endian = "middle"), "`endian` must be")
  expect_error(mmap(f, int8(), extractFUN = 1), "`extractFUN` must be a function")
})

test_that("a read-only file cannot be mapped for writing nor replaced by as.mmap()", {
  is_root <- Sys.info()[["user"]] == "root"
  skip_if(is_root && !nzchar(Sys.which("setpriv")), "root ignores file modes and setpriv is missing")
  # A world-readable directory, so that an unprivileged child can read it too.
  dir <- tempfile("mmap-ro", tmpdir = "/tmp")
  dir.create(dir, mode = "0755")
  on.exit(unlink(dir, recursive = TRUE))
  Sys.chmod(dir, "0755")
  f <- file.path(dir, "data.bin")
  writeBin(as.raw(1:8), f)
  Sys.chmod(f, "0444")
  if (is_root) {
    # root bypasses file modes: ask an unprivileged child instead. The child
    # cannot be expected to read the library under test (R CMD check in a
    # private 0700 directory), so it gets a world-readable copy of the
    # installed package, the very code under test.
    lib <- file.path(dir, "lib")
    dir.create(lib)
    stopifnot(file.copy(system.file(package = "mmap"), lib, recursive = TRUE))
    system2("chmod", c("-R", "a+rX", shQuote(dir)))
    as_nobody <- function(script) {
      system2("setpriv", c("--reuid=65534", "--regid=65534", "--clear-groups",
                           file.path(R.home("bin"), "Rscript"), script),
              stdout = TRUE, stderr = TRUE, env = c("HOME=/tmp", "TMPDIR=/tmp", "R_TESTS=", "R_LIBS="))
    }
    hello <- file.path(dir, "hello.R")
    writeLines('cat("hello")', hello)
    skip_if(!identical(tail(suppressWarnings(as_nobody(hello)), 1), "hello"),
            "an unprivileged user cannot run R from this installation")
    script <- file.path(dir, "probe.R")
    writeLines(c(
      sprintf('library(mmap, lib.loc = "%s")', lib),
      sprintf('f <- "%s"', f),
      'refused <- function(e) "refused"',
      'r <- tryCatch(mmap(f, int8()), mmap_error_protection = refused)',
      'w <- tryCatch(as.mmap(1:2, file = f), mmap_error_protection = refused)',
      'cat(if (identical(r, "refused")) "refused" else "mapped",',
      '    if (identical(w, "refused")) "refused" else "replaced", "\\n")'), script)
    Sys.chmod(script, "0644")
    out <- as_nobody(script)
    expect_equal(trimws(tail(out, 1)), "refused refused", info = paste(out, collapse = "\n"))
  } else {
    expect_error(mmap(f, int8()), "read-only", class = "mmap_error_protection")
    expect_error(as.mmap(1:2, file = f), "read-only", class = "mmap_error_protection")
  }
  expect_equal(file_bytes(f), as.raw(1:8))
  expect_equal(list.files(dir, pattern = "data"), "data.bin")
  m <- mmap(f, int8(), prot = mmapFlags("PROT_READ"))
  expect_equal(m[1:2], 1:2)
  expect_error(m[1] <- 3L, class = "mmap_error_protection")
  munmap(m)
  expect_equal(file_bytes(f), as.raw(1:8))
})

test_that("writing through a PROT_READ mapping is an R error and changes nothing", {
  f <- local_bytes(as.raw(1:8))
  m <- mmap(f, uint8(), prot = mmapFlags("PROT_READ"))
  expect_error(m[1] <- 5L, "not writable", class = "mmap_error_protection")
  expect_equal(m[1], 1L)
  mprotect(m, mmapFlags("PROT_READ", "PROT_WRITE"))
  m[1] <- 5L
  expect_equal(m[1], 5L)
  mprotect(m, mmapFlags("PROT_NONE"))
  expect_error(m[1], "not readable", class = "mmap_error_protection")
  mprotect(m, mmapFlags("PROT_READ"))
  expect_equal(m[1], 5L)
  munmap(m)
})

test_that("MAP_PRIVATE writes stay in the process", {
  f <- local_bytes(as.raw(1:8))
  m <- mmap(f, uint8(), flags = mmapFlags("MAP_PRIVATE"))
  m[1] <- 99L
  expect_equal(m[1], 99L)
  munmap(m)
  expect_equal(file_bytes(f), as.raw(1:8))
})

test_that("munmap() invalidates the handle and every copy at once", {
  m <- as.mmap(1:10)
  copy <- m
  expect_true(munmap(m))
  expect_error(m[1], "munmap", class = "mmap_error_unmapped")
  expect_error(copy[1] <- 2L, "munmap", class = "mmap_error_unmapped")
  expect_error(length(copy), class = "mmap_error_unmapped")
  expect_false(munmap(m))
  expect_output(print(m), "released")
  expect_error(munmap(1:3), class = "mmap_error_type")
})

test_that("a mapping survives saveRDS()/readRDS() with its whole description", {
  f <- local_bytes(c(as.raw(c(0xAA, 0xBB, 0xCC)), base_bytes(1:6, size = 2, endian = "big")))
  m <- mmap(f, int16(), off = 3, endian = "big", extractFUN = function(x) x * 10L)
  dim(m) <- c(2, 3)
  rds <- tempfile(fileext = ".rds")
  on.exit(unlink(rds))
  saveRDS(m, rds)
  munmap(m)
  back <- readRDS(rds)
  expect_equal(back[], matrix(1:6 * 10L, 2, 3))
  expect_equal(back[2, 3], 60L)
  back[1] <- 9L
  expect_equal(back[1], 90L)
  expect_equal(dim(back), c(2, 3))
  munmap(back)
  unlink(f)
  gone <- readRDS(rds)
  expect_error(gone[1], "no longer exists", class = "mmap_error_io")
})

test_that("a truncated file is a clear error when re-mapped", {
  f <- local_bytes(base_bytes(1:4, size = 4))
  m <- mmap(f, int32())
  rds <- tempfile(fileext = ".rds"); on.exit(unlink(rds))
  saveRDS(m, rds)
  munmap(m)
  writeBin(1:2, f)
  back <- readRDS(rds)
  expect_error(back[1], "shorter than the mapping", class = "mmap_error_type")
})

test_that("as.mmap() converts raw, logical, integer, double, complex and matrices", {
  cases <- list(as.raw(c(0, 255, 7)), c(TRUE, NA, FALSE), c(1L, NA, -5L),
                c(1.5, NA, -Inf, NaN), complex(real = 1:3, imaginary = c(0, NA, -1)))
  for (x in cases) {
    m <- local_mmap(x)
    expect_identical(m[], x)
    expect_equal(length(m), length(x))
  }
  mat <- matrix(as.double(1:6), 2, 3)
  m <- local_mmap(mat)
  expect_identical(m[], mat)
  expect_equal(dim(m), c(2, 3))
  f <- tempmmap()
  on.exit(unlink(f))
  m <- as.mmap(1:5, mode = int8(), file = f)
  expect_equal(file.size(f), 5)
  expect_equal(file_bytes(f), as.raw(1:5))
  munmap(m)
  expect_error(as.mmap(list(1)), "must be a raw, logical", class = "mmap_error_type")
  expect_error(as.mmap(300:301, mode = uint8()), "uint8")
  m <- local_mmap(integer())
  expect_equal(length(m), 0L)
})

test_that("msync, madvise, mprotect and pagesize work and check their arguments", {
  m <- local_mmap(as.double(1:100))
  expect_invisible(msync(m))
  expect_invisible(msync(m, mmapFlags("MS_SYNC")))
  for (a in c("normal", "random", "sequential", "willneed", "dontneed")) {
    expect_invisible(madvise(m, a))
  }
  expect_invisible(madvise(m, mmapFlags("MADV_SEQUENTIAL")))
  expect_equal(m[100], 100)
  expect_error(madvise(m, "often"), "`advice` must be one of")
  expect_error(madvise(m, 99), "not a known MADV_ flag")
  expect_true(pagesize() >= 4096)
  expect_equal(pagesize() %% 4096, 0)
})

test_that("mmapFlags() combines flags and rejects unknown ones", {
  expect_equal(mmapFlags("PROT_READ", "PROT_WRITE"), 3L)
  expect_equal(mmapFlags("MAP_PRIVATE"), 2L)
  expect_error(mmapFlags("PROT_SOMETIMES"), "unknown flag")
})

test_that("tempmmap() names a file in the temporary directory", {
  f <- tempmmap()
  expect_false(file.exists(f))
  expect_equal(normalizePath(dirname(f)), normalizePath(tempdir()))
})

test_that("a 10 GB sparse file maps and reads at its far end (its timing lives in bench/typed.R)", {
  skip_on_cran()
  f <- tempfile(); on.exit(unlink(f))
  con <- file(f, "wb"); seek(con, 10 * 2^30 - 8); writeBin(42, con); close(con)
  skip_if(file.size(f) != 10 * 2^30, "no sparse files here")
  m <- mmap(f, real64())
  expect_equal(length(m), 10 * 2^30 / 8)
  expect_equal(m[length(m)], 42)
  munmap(m)
})

test_that("the length of a mapping is fixed", {
  m <- local_mmap(1:3)
  expect_error(length(m) <- 5, "fixed length")
})

# Cuts `file` to `bytes` in place, as another program might (base R's truncate()).
shorten <- function(file, bytes) {
  con <- file(file, "r+b")
  on.exit(close(con))
  seek(con, bytes, rw = "write")
  truncate(con)
  invisible(file)
}

test_that("a file shortened after mapping is a classed error at every access, never SIGBUS", {
  shrank <- "the file shrank from 80000 to 100 bytes"
  f <- tempfile(fileext = ".bin")
  on.exit(unlink(f))
  m <- as.mmap(as.double(1:10000), file = f)
  mat <- mmap(f, real64())
  dim(mat) <- c(100, 100)
  b <- mmap(f, bits())
  s <- mmap(f, char(7))
  r <- mmap(f, struct(a = int32(), b = int32()))
  shorten(f, 100)
  expect_error(m[1], shrank, class = "mmap_error_io")
  expect_error(m[], shrank, class = "mmap_error_io")
  expect_error(m[1] <- 2, shrank, class = "mmap_error_io")
  expect_error(m[c(TRUE, FALSE)] <- 0, shrank, class = "mmap_error_io")
  expect_error(mat[2, 3], shrank, class = "mmap_error_io")
  expect_error(mat[2, ] <- 0, shrank, class = "mmap_error_io")
  expect_error(m < 3, shrank, class = "mmap_error_io")
  expect_error(m == 3, shrank, class = "mmap_error_io")
  expect_error(summary(m), shrank, class = "mmap_error_io")
  expect_error(range(m), shrank, class = "mmap_error_io")
  expect_error(mean(m), shrank, class = "mmap_error_io")
  expect_error(b[1:3], shrank, class = "mmap_error_io")
  expect_error(b[1] <- TRUE, shrank, class = "mmap_error_io")
  expect_error(b == TRUE, shrank, class = "mmap_error_io")
  expect_error(s[1:2], shrank, class = "mmap_error_io")
  expect_error(s[1] <- "x", shrank, class = "mmap_error_io")
  expect_error(s == "x", shrank, class = "mmap_error_io")
  expect_error(r[1:2, ], shrank, class = "mmap_error_io")
  expect_error(r[1, "a"] <- 5L, shrank, class = "mmap_error_io")
  expect_equal(file.size(f), 100)
  for (x in list(m, mat, b, s, r)) munmap(x)

  g <- tempfile(fileext = ".txt")
  on.exit(unlink(g), add = TRUE)
  writeBin(rep(c(charToRaw("abc"), as.raw(0)), 3000), g)
  cs <- mmap(g, cstring())
  expect_equal(cs[1], "abc")
  shorten(g, 10)
  expect_error(cs[2], "the file shrank from 12000 to 10 bytes", class = "mmap_error_io")
  munmap(cs)
})

test_that("a file shortened by another process: only what the mapping needs counts", {
  f <- local_bytes(as.raw(rep(1:250, 40)))
  tail_map <- mmap(f, uint8(), off = 9000, len = 1000)
  head_map <- mmap(f, uint8(), len = 100)
  private <- mmap(f, uint8(), flags = mmapFlags("MAP_PRIVATE"))
  expect_equal(private[1], 1L)
  cut <- sprintf("con <- file('%s', 'r+b'); invisible(seek(con, 5000, rw = 'write')); truncate(con); close(con)", f)
  system2(file.path(R.home("bin"), "Rscript"), c("-e", shQuote(cut)))
  expect_equal(file.size(f), 5000)
  # Still covered: the first 100 bytes read as before.
  expect_equal(head_map[1:3], 1:3)
  expect_error(tail_map[1], "the file shrank from 10000 to 5000 bytes .* reaches byte 10000",
               class = "mmap_error_io")
  expect_error(private[1], "the file shrank from 10000 to 5000 bytes", class = "mmap_error_io")
  expect_error(private[1] <- 9L, "the file shrank", class = "mmap_error_io")
  for (x in list(tail_map, head_map, private)) munmap(x)
})

test_that("as.mmap(), mmap.csv() never shorten a file that a live mapping still uses", {
  dir <- tempfile("mmap-replace")
  dir.create(dir)
  on.exit(unlink(dir, recursive = TRUE))
  f <- file.path(dir, "data.bin")
  old <- as.mmap(as.double(1:10000), file = f)
  new <- as.mmap(1:3, file = f)
  # The old mapping keeps the old bytes; the file has the new ones.
  expect_equal(old[9999:10000], c(9999, 10000))
  expect_equal(sum(old[]), sum(as.double(1:10000)))
  expect_equal(new[], 1:3)
  expect_equal(file.size(f), 12)
  expect_equal(mmap(f, int32())[], 1:3)
  chr <- as.mmap(c("a", "bb"), mode = char(2), file = f)
  expect_equal(new[], 1:3)
  cs <- as.mmap(c("x", "yy"), file = f)
  expect_equal(chr[], c("a", "bb"))
  df <- as.mmap(data.frame(a = 1:2, b = c("p", "q")), file = f)
  expect_equal(cs[], c("x", "yy"))
  csv <- file.path(dir, "in.csv")
  writeLines(c("z", "7", "8"), csv)
  viacsv <- mmap.csv(csv, out = f)
  expect_equal(df[], data.frame(a = 1:2, b = c("p", "q")))
  expect_equal(viacsv[], data.frame(z = 7:8))
  b <- as.mmap(c(TRUE, FALSE), mode = bits(), file = f)
  expect_equal(viacsv[]$z, 7:8)
  expect_equal(b[1:2], c(TRUE, FALSE))
  for (x in list(old, new, chr, cs, df, viacsv, b)) munmap(x)
  # Every temporary file was renamed into place.
  expect_equal(sort(list.files(dir, all.files = TRUE, no.. = TRUE)), c("data.bin", "in.csv"))
})

test_that("a failed as.mmap() leaves an existing file as it was and deletes only what it created", {
  dir <- tempfile("mmap-fail")
  dir.create(dir)
  on.exit(unlink(dir, recursive = TRUE))
  f <- file.path(dir, "keep.bin")
  writeBin(as.raw(1:16), f)
  expect_error(as.mmap(c(1L, 300L), mode = int8(), file = f), class = "mmap_error_value")
  expect_error(as.mmap(c("ok", "too wide"), mode = char(2), file = f), class = "mmap_error_value")
  expect_error(as.mmap(data.frame(a = c(1L, 999L)), mode = struct(a = uint8()), file = f),
               class = "mmap_error_value")
  expect_equal(file_bytes(f), as.raw(1:16))
  expect_equal(list.files(dir, all.files = TRUE, no.. = TRUE), "keep.bin")
  # A directory, or a missing directory, is refused before anything is written.
  expect_error(as.mmap(1:3, file = dir), "not a regular file", class = "mmap_error_io")
  expect_error(as.mmap(1:3, file = file.path(dir, "no", "such.bin")), "does not exist",
               class = "mmap_error_io")
  expect_true(dir.exists(dir))
})

test_that("as.mmap() through a symlink replaces the file it points to and keeps the link", {
  dir <- tempfile("mmap-link")
  dir.create(dir)
  on.exit(unlink(dir, recursive = TRUE))
  real <- file.path(dir, "real.bin")
  link <- file.path(dir, "link.bin")
  writeBin(1:4, real)
  skip_if_not(file.symlink(real, link), "this filesystem has no symlinks")
  m <- as.mmap(5:6, file = link)
  expect_equal(m[], 5:6)
  expect_equal(readBin(real, "integer", 10), 5:6)
  expect_true(nzchar(Sys.readlink(link)))
  munmap(m)
})

test_that("only regular files map: directories, FIFOs and /proc files are clear errors", {
  expect_error(mmap(tempdir(), uint8()), "not a regular file \\(a directory\\)", class = "mmap_error_io")
  if (file.exists("/proc/self/status")) {
    expect_error(mmap("/proc/self/status", uint8(), prot = mmapFlags("PROT_READ")),
                 "proc pseudo-filesystem", class = "mmap_error_io")
  }
  if (file.exists("/sys/kernel/mm/transparent_hugepage/enabled")) {
    expect_error(mmap("/sys/kernel/mm/transparent_hugepage/enabled", uint8(), prot = mmapFlags("PROT_READ")),
                 "sysfs pseudo-filesystem", class = "mmap_error_io")
  }
  skip_if(!nzchar(Sys.which("mkfifo")), "mkfifo is not installed")
  fifo <- tempfile("fifo")
  on.exit(unlink(fifo))
  system2("mkfifo", fifo)
  # Read-only too: opening a FIFO for reading alone must not wait for a writer.
  expect_error(mmap(fifo, uint8(), prot = mmapFlags("PROT_READ")), "not a regular file \\(a FIFO\\)",
               class = "mmap_error_io")
  expect_error(mmap(fifo, uint8()), "a FIFO", class = "mmap_error_io")
})

# Runs the R lines `body` in a fresh R session with the mmap under test and
# returns its output lines.
run_child <- function(dir, body) {
  script <- tempfile("child", tmpdir = dir, fileext = ".R")
  writeLines(c(
    sprintf('library(mmap, lib.loc = "%s")', normalizePath(dirname(system.file(package = "mmap")))),
    body), script)
  system2(file.path(R.home("bin"), "Rscript"), script, stdout = TRUE, stderr = TRUE, env = c("R_TESTS="))
}

test_that("an extraction R cannot allocate is an R error that leaks no mapping", {
  skip_if_not(file.exists("/proc/self/maps"), "no /proc/self/maps to look for the mapping in")
  dir <- tempfile("mmap-oom")
  dir.create(dir)
  on.exit(unlink(dir, recursive = TRUE))
  setup <- c(
    sprintf('f <- "%s"', file.path(dir, "big.bin")),
    # 800 MB, sparse: nothing is written.
    'con <- file(f, "wb"); invisible(seek(con, 8e8 - 1, rw = "write")); writeBin(as.raw(0), con); close(con)',
    'mapped <- function() any(grepl(f, readLines("/proc/self/maps"), fixed = TRUE))',
    'm <- mmap(f, real64()); s <- mmap(f, char(7)); b <- mmap(f, bits())',
    'r <- mmap(f, struct(a = int32(), b = int32()))',
    'stopifnot(mapped())',
    'outcome <- function(e) {',
    '  v <- tryCatch(eval(e), error = function(e) e)',
    '  if (inherits(v, "mmap_error_memory")) "memory" else if (inherits(v, "error")) "error" else "ok"',
    '}')
  finish <- c(
    'munmap(m); munmap(s); munmap(b); munmap(r); rm(m, s, b, r); invisible(gc())',
    'cat(res, if (mapped()) "still-mapped" else "released", sep = "\\n")')

  # Results far beyond R's vector memory limit.
  out <- run_child(dir, c(setup,
    'invisible(mem.maxVSize(200))',
    'res <- vapply(list(quote(m[]), quote(m[m < 1]), quote(which(m == 0)), quote(s[]), quote(r[]),',
    '                   quote(b[1:5e8])), outcome, "")',
    'invisible(mem.maxVSize(Inf))',
    finish))
  expect_equal(tail(out, 7), c(rep("memory", 6), "released"), info = paste(out, collapse = "\n"))

  # Small results, with R's vector memory filled up to a few kilobytes: the
  # entry points are called directly so that little R code runs meanwhile.
  out <- run_child(dir, c(setup,
    'ns <- asNamespace("mmap")',
    'args <- list(list(.subset2(m, "handle"), ns$spec_of(m), 1:8000, NULL, NULL),',
    '             list(.subset2(b, "handle"), ns$spec_of(b), 1:15000, NULL, NULL),',
    '             list(.subset2(s, "handle"), ns$spec_of(s), 1:3000, NULL, NULL),',
    '             list(.subset2(r, "handle"), ns$spec_of(r), 1:3000, NULL, NULL))',
    'fns <- rep(list(ns$wrap__mm_extract_), 4)',
    'calls <- lapply(seq_along(fns), function(k) as.call(c(list(quote(.Call), fns[[k]]), args[[k]])))',
    'res <- character(length(calls))',
    'invisible(gc())',
    'invisible(mem.maxVSize(ceiling(gc()[2, 6]) + 100))',
    'reserve <- numeric(4e3)',
    'filler <- vector("list", 10000); k <- 0',
    'for (sz in c(1e6, 1e5, 1e4, 4e3, 4e3)) repeat {',
    '  if (sz == 4e3) invisible(gc())',
    '  x <- tryCatch(numeric(sz), error = function(e) NULL)',
    '  if (is.null(x)) break',
    '  k <- k + 1; filler[[k]] <- x',
    '}',
    # Room for R itself (32 to 64 KB), not for the results.
    'rm(reserve); invisible(gc())',
    'for (j in seq_along(calls)) res[j] <- outcome(calls[[j]])',
    'rm(filler, calls, args); invisible(mem.maxVSize(Inf))',
    finish))
  # Whether each small allocation fails depends on how much garbage the last
  # collection found; failing or not, no mapping may be left behind.
  expect_equal(tail(out, 1), "released", info = paste(out, collapse = "\n"))
})

test_that("each live mapping holds one file descriptor, released by munmap() or garbage collection", {
  skip_if(.Platform$OS.type != "unix", "needs a POSIX shell for ulimit")
  dir <- tempfile("mmap-fd")
  dir.create(dir)
  on.exit(unlink(dir, recursive = TRUE))
  script <- file.path(dir, "fd.R")
  writeLines(c(
    sprintf('library(mmap, lib.loc = "%s")', normalizePath(dirname(system.file(package = "mmap")))),
    sprintf('f <- "%s"', file.path(dir, "data.bin")),
    'writeBin(1:10, f)',
    # Unreachable mappings: garbage collection closes their files when needed.
    'for (i in 1:1000) m <- mmap(f)',
    'cat("loop", m[10], "\\n")',
    # Live mappings: running out is a clear error, and munmap() gives them back.
    'live <- list()',
    'err <- tryCatch({ for (i in 1:1000) live[[i]] <- mmap(f); NULL }, error = function(e) e)',
    'cat("live", class(err)[1], length(live) < 1000, "\\n")',
    'for (x in live) munmap(x)',
    'cat("again", mmap(f)[1], "\\n")'), script)
  # 256 is the least R starts with; a hard limit below it cannot be lowered to.
  cmd <- sprintf("ulimit -n 256 2>/dev/null || exit 77; '%s' '%s' 2>&1", file.path(R.home("bin"), "Rscript"), script)
  out <- suppressWarnings(system2("sh", c("-c", shQuote(cmd)), stdout = TRUE, env = c("R_TESTS=")))
  skip_if(identical(attr(out, "status"), 77L), "the open-file limit cannot be set to 256 here")
  info <- paste(out, collapse = "\n")
  expect_true("loop 10 " %in% out, info = info)
  expect_true("live mmap_error_io TRUE " %in% out, info = info)
  expect_true("again 1 " %in% out, info = info)
})

test_that("mprotect() and msync() name a bad flags argument", {
  m <- local_mmap(1:4)
  expect_error(mprotect(m, NA), "`prot`", class = "mmap_error_type")
  expect_error(mprotect(m, c(1L, 2L)), "`prot`", class = "mmap_error_type")
  expect_error(msync(m, NA), "`flags`", class = "mmap_error_type")
  expect_identical(m[], 1:4)
})

test_that("mmapFlags() takes unquoted flags joined with |, as in CRAN's mmap", {
  expect_identical(mmapFlags(PROT_READ | PROT_WRITE), mmapFlags("PROT_READ", "PROT_WRITE"))
  expect_identical(mmapFlags(PROT_READ, PROT_WRITE), 3L)
  expect_identical(mmapFlags("PROT_READ | PROT_WRITE"), 3L)
  expect_identical(mmapFlags(MAP_PRIVATE), 2L)
  flag <- "MS_SYNC"
  expect_identical(mmapFlags(flag), 4L)
  expect_error(mmapFlags(PROT_BOGUS), "unknown flag", class = "mmap_error_type")
  expect_error(mmapFlags(1), class = "mmap_error_type")
  f <- local_bytes(raw(8))
  m <- mmap(f, int32(), prot = mmapFlags(PROT_READ))
  on.exit(munmap(m))
  expect_error(m[1] <- 1L, class = "mmap_error_protection")
})

test_that("is.mmap() is FALSE once the mapping is released, as in CRAN's mmap", {
  m <- local_mmap(1:3)
  copy <- m
  expect_true(is.mmap(m))
  expect_false(is.mmap(1:3))
  munmap(m)
  expect_false(is.mmap(m))
  expect_false(is.mmap(copy))
  expect_error(m[1], class = "mmap_error_unmapped")
  expect_output(print(m), "released with munmap")
})
