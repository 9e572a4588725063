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

test_that("a read-only file cannot be mapped for writing", {
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
    # root bypasses file modes: ask an unprivileged child instead.
    script <- file.path(dir, "probe.R")
    writeLines(c(
      # The very copy of mmap under test, by absolute path (R CMD check's
      # library paths need not be visible to the child).
      sprintf('library(mmap, lib.loc = "%s")', normalizePath(dirname(system.file(package = "mmap")))),
      sprintf('r <- tryCatch(mmap("%s", int8()), mmap_error_protection = function(e) "refused")', f),
      'cat(if (identical(r, "refused")) "refused" else "mapped")'), script)
    Sys.chmod(script, "0644")
    out <- system2("setpriv", c("--reuid=65534", "--regid=65534", "--clear-groups",
                                file.path(R.home("bin"), "Rscript"), script),
                   stdout = TRUE, stderr = TRUE, env = c("HOME=/tmp", "TMPDIR=/tmp", "R_TESTS=", "R_LIBS="))
    expect_equal(tail(out, 1), "refused", info = paste(out, collapse = "\n"))
  } else {
    expect_error(mmap(f, int8()), "read-only", class = "mmap_error_protection")
  }
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
