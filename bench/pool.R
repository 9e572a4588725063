# The pool against base R, ratios from one run (see issue 9):
#   1. movetodisk() of a 400 MB double vector vs writeBin() + fsync of the same
#      bytes to the same directory (goal: >= 80 % of its bandwidth);
#   2. poolget() of that spilled vector (goal: < 10 ms, no copy);
#   3. poolset() + poolget() of 1e5 small objects vs assign() + get() in an
#      environment (goal: <= 3x).
# Run: Rscript bench/pool.R   (with the package installed)
suppressMessages(library(mmap))
source(file.path(local({
  f <- sub("^--file=", "", grep("^--file=", commandArgs(FALSE), value = TRUE))
  if (length(f)) dirname(f) else "bench"
}), "common.R"))

dir <- tempfile("pool-bench")
dir.create(dir)
pool_dir(dir)
pool_memsize(4e9)
n <- 5e7
x <- as.double(seq_len(n))
x[1] <- 0.5 # a fresh, materialized vector
cat(sprintf("pool bench: %s doubles (%.0f MB), pool directory %s\n", format(n, big.mark = ","), n * 8 / 1e6, dir))

# 1. Spill bandwidth. Both sides write 400 MB to the page cache and fsync it.
base_file <- file.path(dir, "writebin.bin")
write_base <- function() {
  unlink(base_file)
  con <- file(base_file, "wb")
  writeBin(x, con)
  close(con)
  mmap:::pool_fsync_(base_file)
}
# Alternate the two, three runs each, and compare medians: the disk is shared.
t_base <- t_pool <- numeric(3)
refs <- list()
for (k in 1:3) {
  invisible(gc())
  t0 <- now(); write_base(); t_base[k] <- now() - t0
  unlink(base_file)
  r <- poolset(x)
  invisible(gc())
  t0 <- now(); movetodisk(r); t_pool[k] <- now() - t0
  refs[[k]] <- r
}
cat(sprintf("   runs (ms): writeBin+fsync %s; movetodisk %s\n",
            paste(round(t_base * 1e3), collapse = " "), paste(round(t_pool * 1e3), collapse = " ")))
t_base <- median(t_base)
t_pool <- median(t_pool)
r <- refs[[3]]
for (old in refs[1:2]) pooldelete(old)
cat(sprintf("1. write 400 MB: writeBin+fsync %.0f ms (%.0f MB/s), movetodisk %.0f ms (%.0f MB/s): %.0f%% of base bandwidth (goal >= 80%%)\n",
            t_base * 1e3, n * 8 / 1e6 / t_base, t_pool * 1e3, n * 8 / 1e6 / t_pool, 100 * t_base / t_pool))

# 2. Read-back of the spilled vector: a mapped view, no copy.
t_get <- time_median(v <- poolget(r), reps = 21L)
stopifnot(identical(v[c(1, n)], c(0.5, n)))
t_sum <- time_median(sum(v), reps = 3L)
t_sum_base <- time_median(sum(x), reps = 3L)
cat(sprintf("2. poolget of the spilled 400 MB vector: %.2f ms (goal < 10 ms); sum() on it %.0f ms vs %.0f ms in memory\n",
            t_get * 1e3, t_sum * 1e3, t_sum_base * 1e3))
rm(v)
pooldelete(r)
rm(x)
invisible(gc())

# 3. Many small objects.
m <- 1e5
objs <- lapply(seq_len(m), function(i) c(i, i + 0.5, i + 0.25))
keys <- as.character(seq_len(m))
base_small <- function() {
  e <- new.env()
  for (i in seq_len(m)) assign(keys[i], objs[[i]], envir = e)
  s <- 0
  for (i in seq_len(m)) s <- s + get(keys[i], envir = e)[1]
  s
}
pool_small <- function() {
  refs <- vector("list", m)
  for (i in seq_len(m)) refs[[i]] <- poolset(objs[[i]])
  s <- 0
  for (i in seq_len(m)) s <- s + poolget(refs[[i]])[1]
  refs
}
# Median of 5 runs each, alternating; the references of a run are dropped
# (and their finalizers run) outside the timed region.
t_env <- t_set <- numeric(5)
for (k in 1:5) {
  invisible(gc())
  t0 <- now(); base_small(); t_env[k] <- now() - t0
  invisible(gc())
  t0 <- now(); refs <- pool_small(); t_set[k] <- now() - t0
  rm(refs)
  invisible(gc())
}
cat(sprintf("   runs (ms): assign+get %s; poolset+poolget %s\n",
            paste(round(t_env * 1e3), collapse = " "), paste(round(t_set * 1e3), collapse = " ")))
t_env <- median(t_env)
t_set <- median(t_set)
cat(sprintf("3. 1e5 small objects: assign+get %.0f ms, poolset+poolget %.0f ms: %.2fx (goal <= 3x)\n",
            t_env * 1e3, t_set * 1e3, t_set / t_env))
unlink(dir, recursive = TRUE)
