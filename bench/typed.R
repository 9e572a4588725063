# Typed vectors versus base R, in one run: 2.5e7 doubles and 5e7 int32
# (200 MB each), page cache warm, median of 5 runs. Prints times and the ratio
# ours / base (lower is better; goals in the last column).
#   Rscript bench/typed.R
suppressMessages(library(mmap))
set.seed(1)
source(if (file.exists("bench/common.R")) "bench/common.R" else "common.R") # run from the repo root or bench/

row <- function(what, ours, base, goal) {
  data.frame(operation = what, base_ms = round(base * 1e3, 2), mmap_ms = round(ours * 1e3, 2),
             ratio = round(ours / base, 2), goal = goal, met = ours / base <= goal)
}

run_case <- function(label, x, mode) {
  file <- tempmmap()
  m <- as.mmap(x, mode = mode, file = file)
  msync(m, mmapFlags("MS_SYNC"))       # no writeback of the fresh file during timing
  invisible(m[])                       # warm the page cache and the mapping
  n <- length(x)
  gather <- sample.int(n, 1e6)
  start <- n %/% 2
  slice <- start:(start + 1e6 - 1)
  vals <- x[sample.int(n, 1e6)]
  y <- x + 0L                          # a private in-memory copy to write into
  y[1] <- y[1]                         # make sure y is unshared before timing
  out <- rbind(
    row(paste(label, "full m[]"), time_median(m[]), time_median(x[]), 1.2),
    row(paste(label, "gather 1e6 random"), time_median(m[gather]),
        time_median(x[gather]), 1.2),
    row(paste(label, "slice 1e6 contiguous"), time_median(m[slice]),
        time_median(x[slice]), 1.5),
    row(paste(label, "write 1e6 random"), time_median(m[gather] <- vals),
        time_median(y[gather] <- vals), 1.5)
  )
  munmap(m)
  unlink(file)
  out
}

results <- rbind(
  run_case("real64 2.5e7", runif(2.5e7, 0, 1e5), real64()),
  run_case("int32  5e7  ", sample.int(1e5, 5e7, replace = TRUE) - 1L, int32())
)

# Mapping a 10 GB (sparse) file must cost nothing proportional to its size.
big <- tempfile()
con <- file(big, "wb"); invisible(seek(con, 10 * 2^30 - 1)); writeBin(as.raw(0), con); close(con)
map_time <- time_median(munmap(mmap(big, real64())), reps = 5L)
unlink(big)

options(width = 120)
print(results, row.names = FALSE)
cat(sprintf("\nmmap() + munmap() of a 10 GB file: %.3f ms (goal < 1 ms)\n", map_time * 1e3))
