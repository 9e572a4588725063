# A fresh pool (new owner token, empty books) with `budget` and, optionally,
# its own directory; restored when the calling test ends.
local_pool <- function(budget = 1e9, dir = NULL, .env = parent.frame()) {
  mmap:::pool_shutdown()
  root <- dir %||% tempfile("pool-test")
  pool_dir(root)
  old <- pool_memsize(budget)
  withr::defer({
    mmap:::pool_fault_("none")
    mmap:::pool_shutdown()
    pool_memsize(old)
    unlink(root, recursive = TRUE)
  }, envir = .env)
  invisible(root)
}

`%||%` <- function(a, b) if (is.null(a)) b else a

# Where the pool keeps `ref`, from one snapshot of pool_status(): between two
# calls the finalizers of earlier refs may run and change the row count.
where_is <- function(ref) {
  status <- pool_status()
  status$where[status$id == ref$id]
}

is_mapped_view <- function(x) any(grepl("mmap view of", capture.output(.Internal(inspect(x)))[1]))

ref_file <- function(ref) file.path(ref$dir, sprintf("%.0f.pool", ref$id))

books_ok <- function() {
  s <- pool_stats()
  expect_lte(s$memory_bytes, s$budget)
  expect_true(mmap:::pool_check_())
}

# One value per atomic type with the awkward values, zero length and attributes.
atomic_cases <- function() {
  list(
    logical = c(TRUE, FALSE, NA),
    integer = c(0L, -1L, .Machine$integer.max, -.Machine$integer.max, NA),
    double = c(0, -0, 1.5, NA, NaN, Inf, -Inf, .Machine$double.xmax, 5e-324),
    complex = complex(real = c(1, NA, -0, Inf), imaginary = c(NaN, 2, -Inf, -0)),
    raw = as.raw(c(0, 1, 127, 255)),
    logical0 = logical(), integer0 = integer(), double0 = double(), complex0 = complex(), raw0 = raw(),
    named = c(a = 1.5, b = NA, c = -0),
    factor = factor(c("b", "a", NA, "b"), levels = c("b", "a", "z")),
    ordered = factor(c("lo", "hi"), levels = c("lo", "hi"), ordered = TRUE),
    matrix = matrix(c(1L, NA, 3L, 4L, 5L, 6L), 2, dimnames = list(c("r1", "r2"), NULL)),
    array = array(as.raw(1:24), c(2, 3, 4)),
    date = as.Date(c("2020-02-29", NA, "1969-12-31")),
    posixct = as.POSIXct(c(0, 1.5e9, NA), origin = "1970-01-01", tz = "UTC"),
    difftime = as.difftime(c(1, NA), units = "hours"),
    zero_matrix = matrix(double(), 0, 3),
    custom_attr = structure(1:3, note = list("any", 1), class = "myclass")
  )
}

same <- function(a, b) {
  expect_identical(a, b)
  if (is.double(a)) expect_identical(sign(1 / unclass(a)[!is.na(a)]), sign(1 / unclass(b)[!is.na(b)])) # -0 survives
}

test_that("every atomic type round-trips from memory, from disk (as a view) and through savetodisk", {
  local_pool()
  for (nm in names(atomic_cases())) {
    x <- atomic_cases()[[nm]]
    r <- poolset(x)
    same(poolget(r), x)
    movetodisk(r)
    expect_equal(where_is(r), "disk", info = nm)
    v <- poolget(r)
    same(v, x)
    if (length(x) > 0) expect_true(is_mapped_view(v), info = nm)
    f <- tempfile(fileext = ".pool")
    savetodisk(r, f)
    same(poolload(f), x)
    expect_true(pool_verify(f))
    unlink(f)
    r2 <- poolset(x)
    copytodisk(r2)
    same(poolget(r2), x)
    same(mmap:::pool_read(ref_file(r2))$value, x)
    pooldelete(r)
    pooldelete(r2)
  }
  books_ok()
})

test_that("a data.frame of atomic columns is spilled column by column and comes back as views", {
  local_pool()
  df <- data.frame(i = c(1L, NA, 3L), d = c(-0, NaN, Inf), l = c(TRUE, NA, FALSE),
                   f = factor(c("a", "b", NA)), day = as.Date("2024-01-01") + 0:2,
                   z = complex(real = 1:3, imaginary = c(NA, 0, -1)), row.names = c("x", "y", "z"))
  df$r <- as.raw(1:3)
  r <- poolset(df)
  movetodisk(r)
  g <- poolget(r)
  expect_identical(g, df)
  for (col in g) expect_true(is_mapped_view(col))
  info <- mmap:::pool_open_(ref_file(r), TRUE)
  expect_identical(info$shape, "frame")
  expect_identical(info$kinds, c("integer", "double", "logical", "integer", "double", "complex", "raw"))
  expect_true(all(info$offsets %% 4096 == 0))
  empty <- data.frame(a = integer(), b = double())
  r0 <- poolset(empty)
  movetodisk(r0)
  expect_identical(poolget(r0), empty)
})

test_that("other objects go through serialize and read back into memory", {
  local_pool()
  objs <- list(list(1, "a", NULL), c("x", NA, ""), eval(quote(function(x) x + 1), baseenv()), NULL, quote(a + b),
               data.frame(s = c("a", "b"), n = 1:2), new.env(), I(list(1:3)))
  for (x in objs) {
    r <- poolset(x)
    movetodisk(r)
    got <- poolget(r)
    if (is.environment(x)) expect_true(is.environment(got)) else expect_equal(got, x)
    expect_equal(where_is(r), "both")
  }
  books_ok()
})

test_that("modifying a value from poolget never changes the pooled object", {
  local_pool()
  r <- poolset(c(1, 2, 3))
  x <- poolget(r)
  x[1] <- 99
  expect_identical(poolget(r), c(1, 2, 3))
  movetodisk(r)
  v <- poolget(r)
  v[2] <- -1
  expect_identical(poolget(r), c(1, 2, 3))
  expect_true(pool_verify(r))
})

test_that("refs print their id, size and where the object lives", {
  local_pool()
  r <- poolset(1:10)
  expect_output(print(r), sprintf("<pool_ref %.0f: 40 B, in memory>", r$id), fixed = TRUE)
  copytodisk(r)
  expect_output(print(r), "in memory and on disk")
  movetodisk(r)
  expect_output(print(r), "on disk")
  pooldelete(r)
  expect_output(print(r), "deleted")
})

test_that("pooldelete removes the object and its file; a later poolget is a clear error", {
  local_pool()
  r <- poolset(runif(10))
  movetodisk(r)
  f <- ref_file(r)
  expect_true(file.exists(f))
  expect_true(pooldelete(r))
  expect_false(file.exists(f))
  expect_error(poolget(r), class = "mmap_error_pool", regexp = "deleted")
  expect_error(movetodisk(r), class = "mmap_error_pool")
  expect_false(pooldelete(r))
  expect_error(poolget(list(id = 1)), class = "mmap_error_type")
  expect_equal(nrow(pool_status()), 0)
})

test_that("the last reference going away removes the object and its file", {
  local_pool()
  r <- poolset(rnorm(100))
  movetodisk(r)
  f <- ref_file(r)
  r2 <- poolset(1:5)
  rm(r)
  gc()
  expect_false(file.exists(f))
  expect_equal(pool_status()$id, r2$id)
  books_ok()
})

test_that("the least recently used objects are spilled, down to 80% of the budget", {
  local_pool(budget = 1000)
  a <- poolset(as.raw(1:250))
  b <- poolset(as.raw(1:250))
  cc <- poolset(as.raw(1:250))
  poolget(a)                               # b is now the least recently used
  d <- poolset(as.raw(1:250))              # 1000 + 0: fits exactly
  expect_equal(pool_stats()$memory_bytes, 1000)
  e <- poolset(as.raw(1:100))              # over: spill b, then cc (1100 -> 600)
  st <- pool_status()
  expect_equal(st$where[match(c(a$id, b$id, cc$id, d$id, e$id), st$id)],
               c("memory", "disk", "disk", "memory", "memory"))
  expect_equal(st$id, c(b$id, cc$id, a$id, d$id, e$id))  # LRU order
  expect_equal(pool_stats()$memory_bytes, 600)
  expect_equal(pool_stats()$spills, 2)
  expect_identical(poolget(b), as.raw(1:250))              # a mapped read-back...
  expect_equal(pool_stats()$memory_bytes, 600)             # ...counts toward disk
  expect_equal(pool_stats()$misses, 1)
  expect_gt(pool_stats()$hits, 0)
  expect_gt(pool_stats()$disk_bytes, 500)
  s <- pool_status()
  expect_named(s, c("id", "bytes", "where", "last_used"))
  expect_s3_class(s$last_used, "POSIXct")
  expect_setequal(s$where, c("memory", "disk"))
  expect_named(pool_stats(), c("hits", "misses", "spills", "memory_bytes", "disk_bytes", "budget"))
})

test_that("a serialized object read back is cached in memory and may spill others", {
  local_pool(budget = 10000)
  big <- poolset(as.list(1:50))            # object.size, about 3 kB
  movetodisk(big)
  filler <- poolset(raw(9000))
  expect_equal(poolget(big), as.list(1:50))
  st <- pool_status()
  expect_equal(st$where[st$id == big$id], "both")
  expect_equal(st$where[st$id == filler$id], "disk")
  books_ok()
})

test_that("the budget holds after every operation of a random sequence", {
  local_pool(budget = 20000)
  set.seed(42)
  refs <- list()
  for (step in 1:300) {
    op <- sample(c("set", "set", "get", "delete", "move", "copy", "budget", "list"), 1)
    if (op == "set" || length(refs) == 0) {
      n <- sample(c(10, 500, 3000, 25000), 1)
      refs[[length(refs) + 1]] <- poolset(sample(c(as.double(seq_len(n)), as.integer(seq_len(n))), n))
    } else {
      i <- sample(length(refs), 1)
      switch(op,
        get = expect_length(poolget(refs[[i]]), length(poolget(refs[[i]]))),
        delete = { pooldelete(refs[[i]]); refs[[i]] <- NULL },
        move = movetodisk(refs[[i]]),
        copy = copytodisk(refs[[i]]),
        budget = pool_memsize(sample(c(5000, 20000, 60000), 1)),
        list = refs[[length(refs) + 1]] <- poolset(as.list(seq_len(sample(200, 1))))
      )
    }
    s <- pool_stats()
    if (s$memory_bytes > s$budget) fail(sprintf("step %d (%s): %g bytes in memory, budget %g", step, op, s$memory_bytes, s$budget))
    expect_true(mmap:::pool_check_())
  }
  expect_equal(nrow(pool_status()), length(refs))
})

test_that("an object larger than the whole budget goes straight to disk", {
  local_pool(budget = 1000)
  small <- poolset(1:10)
  big <- poolset(as.double(1:1000))
  expect_equal(where_is(big), "disk")
  expect_equal(pool_stats()$memory_bytes, 40)
  expect_identical(poolget(big), as.double(1:1000))
  expect_true(is_mapped_view(poolget(big)))
  expect_equal(pool_stats()$memory_bytes, 40)
  lst <- poolset(as.list(1:100))           # a serialized one is not cached either
  expect_equal(poolget(lst), as.list(1:100))
  expect_equal(pool_stats()$memory_bytes, 40)
  books_ok()
})

test_that("lowering the budget spills at once", {
  local_pool(budget = 1e6)
  refs <- lapply(1:10, function(i) poolset(as.double(1:1000)))
  pool_memsize(40000)
  expect_lte(pool_stats()$memory_bytes, 32000)
  expect_equal(pool_memsize(), 40000)
  expect_error(pool_memsize(-1), class = "mmap_error_type")
  expect_error(pool_memsize("a"), class = "mmap_error_type")
})

test_that("corrupt and truncated files give a classed error, never a crash", {
  local_pool()
  x <- as.double(1:5000)
  r <- poolset(structure(x, note = "n"))
  movetodisk(r)
  f <- ref_file(r)
  good <- readBin(f, "raw", file.size(f))
  info <- mmap:::pool_open_(f, TRUE)
  corrupt_at <- function(at) {
    bad <- good
    bad[at] <- xor(bad[at], as.raw(0x10))
    writeBin(bad, f)
  }
  corrupt_at(30)                                    # header
  expect_error(poolget(r), class = "mmap_error_pool", regexp = "corrupt")
  corrupt_at(info$offsets + 100)                    # payload of a small object: checked on read
  expect_error(poolget(r), class = "mmap_error_pool", regexp = "checksum")
  expect_error(pool_verify(r), class = "mmap_error_pool")
  corrupt_at(length(good) - 2)                      # attributes
  expect_error(poolget(r), class = "mmap_error_pool", regexp = "attributes")
  for (cut in c(0, 10, 100, info$offsets, info$offsets + 5, length(good) - 1)) {
    writeBin(good[seq_len(cut)], f)
    expect_error(poolget(r), class = "mmap_error_pool", regexp = "truncated|shorter")
  }
  writeBin(c(good, as.raw(0)), f)
  expect_error(poolget(r), class = "mmap_error_pool")
  writeBin(good, f)
  expect_identical(poolget(r), structure(x, note = "n"))
  expect_true(pool_verify(r))
  writeBin(charToRaw("hello"), f2 <- tempfile())
  expect_error(poolload(f2), class = "mmap_error_pool")
  expect_error(poolload(tempfile()), class = "mmap_error_io")
  unlink(f2)
})

test_that("a large payload is verified by pool_verify, not on every read", {
  skip_on_cran()
  local_pool()
  x <- as.double(seq_len(9e6))                      # 72 MB, over the 64 MB line
  r <- poolset(x)
  movetodisk(r)
  rm(x)
  f <- ref_file(r)
  info <- mmap:::pool_open_(f, FALSE)
  con <- file(f, "r+b")
  seek(con, info$offsets + 8 * 1000, rw = "write")
  writeBin(99999, con)
  close(con)
  v <- poolget(r)                                   # mapped without hashing 72 MB
  expect_equal(v[1001], 99999)
  expect_error(pool_verify(r), class = "mmap_error_pool", regexp = "checksum")
})

test_that("savetodisk never replaces a file unless told; poolload works in another session", {
  local_pool()
  r <- poolset(list(a = 1, b = letters))
  f <- tempfile(fileext = ".pool")
  writeLines("mine", f)
  expect_error(savetodisk(r, f), class = "mmap_error_io")
  expect_equal(readLines(f), "mine")
  savetodisk(r, f, overwrite = TRUE)
  expect_equal(pool_stats()$disk_bytes, 0)          # outside the accounting
  got <- callr::r(function(f) mmap::poolload(f), list(f), libpath = .libPaths())
  expect_equal(got, list(a = 1, b = letters))
  unlink(f)
})

test_that("a failed write keeps the object in memory: errors for explicit writes, warnings for spills", {
  local_pool(budget = 10000)
  x <- as.double(1:1000)
  r <- poolset(x)
  mmap:::pool_fault_("nospace")
  expect_error(movetodisk(r), class = "mmap_error_pool", regexp = "disk is full")
  expect_error(copytodisk(r), class = "mmap_error_pool")
  expect_error(savetodisk(r, tempfile()), class = "mmap_error_pool")
  expect_identical(poolget(r), x)
  expect_equal(pool_status()$where, "memory")
  expect_length(list.files(r$dir, pattern = "tmp"), 0)   # no temporary files left
  expect_warning(r2 <- poolset(as.double(1:1000)), class = "mmap_warning_pool", regexp = "budget")
  expect_gt(pool_stats()$memory_bytes, pool_stats()$budget)   # over budget, nothing lost
  expect_warning(big <- poolset(as.double(1:5000)), class = "mmap_warning_pool")
  mmap:::pool_fault_("write")
  expect_error(movetodisk(r), class = "mmap_error_pool")
  mmap:::pool_fault_("none")
  expect_identical(poolget(r), x)
  expect_identical(poolget(r2), as.double(1:1000))
  expect_identical(poolget(big), as.double(1:5000))
  movetodisk(big)
  movetodisk(r2)
  books_ok()
  expect_true(mmap:::pool_check_())
})

test_that("a really full disk (a tiny tmpfs) is an error, not a SIGBUS, and loses nothing", {
  skip_on_os(c("windows", "mac", "solaris"))
  mnt <- tempfile("tmpfs")
  dir.create(mnt)
  ok <- suppressWarnings(system2("mount", c("-t", "tmpfs", "-o", "size=1m", "tmpfs", mnt),
                                 stdout = FALSE, stderr = FALSE)) == 0
  if (!ok) {
    unlink(mnt, recursive = TRUE)
    skip("cannot mount a small tmpfs here (needs root) to fill a real disk")
  }
  withr::defer({
    gc()
    system2("umount", mnt)
    unlink(mnt, recursive = TRUE)
  })
  local_pool(budget = 3e6, dir = mnt)
  x <- as.double(1:3e5)                              # 2.4 MB: more than the disk
  r <- poolset(x)
  expect_error(movetodisk(r), class = "mmap_error_pool", regexp = "disk is full")
  expect_identical(poolget(r), x)
  small <- poolset(1:10)
  movetodisk(small)                                  # the disk still works
  expect_identical(poolget(small), 1:10)
  expect_warning(poolset(as.double(1:2e5)), class = "mmap_warning_pool")
  expect_identical(poolget(r), x)
})

test_that("the directory of an owner killed with kill -9 during a spill is swept; a live owner's is not", {
  skip_on_os("windows")
  root <- local_pool()
  child <- function(root, flag) {
    library(mmap)
    pool_dir(root)
    pool_memsize(2e6)
    writeLines("start", flag)
    refs <- list()
    repeat refs[[length(refs) + 1]] <- poolset(runif(2e5))  # 1.6 MB each: always spilling
  }
  flag_dead <- tempfile()
  dying <- callr::r_bg(child, list(root, flag_dead), libpath = .libPaths())
  flag_live <- tempfile()
  live <- callr::r_bg(function(root, flag) {
    library(mmap)
    pool_dir(root)
    copytodisk(poolset(1:10))
    writeLines("ready", flag)
    Sys.sleep(60)
  }, list(root, flag_live), libpath = .libPaths())
  withr::defer(live$kill())
  owner_of <- function(p) Sys.glob(file.path(root, sprintf("owner-*-%d-*", p$get_pid())))
  for (i in 1:200) {
    if (file.exists(flag_live) && length(owner_of(dying)) && length(list.files(owner_of(dying), "pool$"))) break
    Sys.sleep(0.1)
  }
  dead_dir <- owner_of(dying)
  live_dir <- owner_of(live)
  expect_length(dead_dir, 1)
  expect_length(live_dir, 1)
  tools::pskill(dying$get_pid(), tools::SIGKILL)
  dying$wait(5000)
  expect_false(dying$is_alive())
  expect_true(dir.exists(dead_dir))
  mmap:::pool_shutdown()
  pool_dir(root)                                     # a process starting a pool sweeps
  expect_false(dir.exists(dead_dir))
  expect_true(dir.exists(live_dir))
  expect_length(list.files(live_dir, "pool$"), 1)
  unlink(c(flag_dead, flag_live))
})

test_that("refs work from a PSOCK cluster with a pool directory given by path", {
  skip_on_cran()
  root <- local_pool(dir = tempfile("shared-pool"))
  cl <- parallel::makePSOCKcluster(2)
  withr::defer(parallel::stopCluster(cl))
  parallel::clusterCall(cl, function(p) .libPaths(p), .libPaths())
  x <- as.double(1:1e5)
  r <- poolset(x)
  lst <- poolset(list(a = 1, b = "two"))
  df <- poolset(data.frame(n = 1:3, f = factor(c("u", "v", "u"))))
  # a ref only in memory is written to disk when it is first serialized...
  expect_equal(where_is(r), "memory")
  expect_equal(parallel::clusterCall(cl, function(r) sum(mmap::poolget(r)), r)[[1]], sum(x))
  expect_equal(where_is(r), "both")
  expect_true(file.exists(ref_file(r)))
  # ...and without the hook (a version-2 stream) poolget there says what to do
  m <- poolset(1:3)
  err <- callr::r(function(s) tryCatch(mmap::poolget(unserialize(s)), error = function(e) e),
                  list(serialize(m, NULL, version = 2)), libpath = .libPaths())
  expect_s3_class(err, "mmap_error_pool")
  expect_match(conditionMessage(err), "copytodisk")
  movetodisk(lst)
  movetodisk(df)
  got <- parallel::clusterCall(cl, function(r) {
    v <- mmap::poolget(r)
    list(sum = sum(v), view = grepl("mmap view", capture.output(.Internal(inspect(v)))[1]))
  }, r)
  for (g in got) {
    expect_equal(g$sum, sum(x))
    expect_true(g$view)
  }
  expect_equal(parallel::clusterCall(cl, function(r) mmap::poolget(r), lst)[[2]], list(a = 1, b = "two"))
  expect_equal(parallel::clusterCall(cl, function(r) mmap::poolget(r), df)[[1]], poolget(df))
  # workers only read: they cannot delete, and their finalizers leave the files alone
  expect_error(parallel::clusterCall(cl, function(r) mmap::pooldelete(r), r), "only in the process")
  parallel::clusterCall(cl, function() gc())
  expect_true(file.exists(ref_file(r)))
  expect_identical(poolget(r), x)
  expect_equal(pool_stats()$memory_bytes, 8e5 + 12)
})

test_that("a ref saved with saveRDS can be read in another session while its owner lives", {
  local_pool()
  r <- poolset(list(a = 1:3))
  f <- tempfile(fileext = ".rds")
  saveRDS(r, f)
  expect_equal(callr::r(function(f) mmap::poolget(readRDS(f)), list(f), libpath = .libPaths()), list(a = 1:3))
  unlink(f)
})

test_that("refs work from future workers", {
  skip_on_cran()
  skip_if_not_installed("future")
  local_pool()
  old_plan <- future::plan(future::multisession, workers = 2)
  withr::defer(future::plan(old_plan))
  r <- poolset(as.double(1:1000))                   # only in memory: written when sent
  f <- future::future(sum(mmap::poolget(r)), packages = "mmap")
  expect_equal(future::value(f), sum(as.double(1:1000)))
  expect_equal(pool_status()$where, "both")
})

test_that("changing pool_dir keeps older objects' files where they were", {
  first <- local_pool(budget = 1e6)
  a <- poolset(as.double(1:1000))
  second <- tempfile("pool-second")
  withr::defer(unlink(second, recursive = TRUE))
  pool_dir(second)
  b <- poolset(as.double(1:2000))
  movetodisk(a)
  movetodisk(b)
  expect_true(startsWith(ref_file(a), normalizePath(first)))
  expect_true(file.exists(ref_file(a)))
  expect_true(startsWith(ref_file(b), normalizePath(second)))
  expect_identical(poolget(a), as.double(1:1000))
  expect_identical(poolget(b), as.double(1:2000))
  pooldelete(a)
  expect_false(file.exists(ref_file(a)))
})

test_that("forked children read the parent's objects and never delete its files", {
  skip_on_os("windows")
  local_pool(budget = 1e6)
  mem <- poolset(1:100)
  disk <- poolset(as.double(1:1e4))
  movetodisk(disk)
  f <- ref_file(disk)
  res <- parallel::mclapply(1:2, function(i) {
    a <- sum(poolget(mem))
    b <- sum(poolget(disk))
    del <- tryCatch(pooldelete(disk), error = function(e) "refused")
    own <- poolset(i)                               # a child may pool its own objects
    movetodisk(own)
    rm(disk)
    gc()
    list(a = a, b = b, del = del, own = poolget(own))
  }, mc.cores = 2)
  for (i in 1:2) {
    expect_equal(res[[i]]$a, sum(1:100))
    expect_equal(res[[i]]$b, sum(as.double(1:1e4)))
    expect_equal(res[[i]]$del, "refused")
    expect_equal(res[[i]]$own, i)
  }
  expect_true(file.exists(f))
  expect_identical(poolget(disk), as.double(1:1e4))
  expect_identical(poolget(mem), 1:100)
})

test_that("pool_dir defaults under the session's temporary directory", {
  dirs <- callr::r(function() {
    r <- mmap::poolset(1:10)
    mmap::movetodisk(r)
    c(normalizePath(tempdir()), normalizePath(mmap::pool_dir()), normalizePath(dirname(r$dir)))
  }, libpath = .libPaths())
  expect_true(startsWith(dirs[2], dirs[1]))
  expect_equal(dirs[3], dirs[2])
  expect_error(pool_dir(c("a", "b")), class = "mmap_error_type")
})

test_that("the owner's files are removed when its session ends", {
  root <- tempfile("pool-exit")
  withr::defer(unlink(root, recursive = TRUE))
  dir <- callr::r(function(root) {
    mmap::pool_dir(root)
    r <- mmap::poolset(as.double(1:100))
    mmap::movetodisk(r)
    stopifnot(file.exists(file.path(r$dir, "1.pool")))
    r$dir
  }, list(root), libpath = .libPaths())
  expect_true(dir.exists(root))
  expect_false(dir.exists(dir))
})
