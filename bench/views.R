# Views and summaries versus base R on the same data in memory, in one run:
# 2.5e7 doubles and 5e7 int32 (200 MB each), page cache warm, median of 5
# runs. Prints times and the ratio ours / base (lower is better; goals in the
# last column). View creation is timed in absolute terms (goal: < 1 ms).
#   Rscript bench/views.R
suppressMessages(library(mmap))
set.seed(1)
source(if (file.exists("bench/common.R")) "bench/common.R" else "common.R") # run from the repo root or bench/

row <- function(what, ours, base, goal) {
  data.frame(operation = what, base_ms = round(base * 1e3, 2), mmap_ms = round(ours * 1e3, 3),
             ratio = round(ours / base, 2), goal = goal, met = ours / base <= goal)
}

run_case <- function(label, x) {
  file <- tempmmap()
  m <- as.mmap(x, file = file)
  msync(m, mmapFlags("MS_SYNC"))
  v <- mmap_view(m)
  invisible(sum(v))                    # warm the page cache and the mapping
  idx <- sample.int(length(x), 1e6)
  out <- rbind(
    row(paste(label, "sum(mmap_view(m))"), time_median(sum(v)), time_median(sum(x)), 0.5),
    row(paste(label, "sum(m)"), time_median(sum(m)), time_median(sum(x)), 0.5),
    row(paste(label, "mean(m)"), time_median(mean(m)), time_median(mean(x)), 0.5),
    row(paste(label, "max(m)"), time_median(max(m)), time_median(max(x)), 1),
    row(paste(label, "gather v[idx] 1e6"), time_median(v[idx]), time_median(x[idx]), 1.2),
    row(paste(label, "mmap_view(m) creation"), time_median(mmap_view(m), reps = 21L), 1e-3, 1)
  )
  munmap(m)
  unlink(file)
  out
}

results <- rbind(
  run_case("real64 2.5e7", rnorm(2.5e7)),
  run_case("int32 5e7", sample.int(1e6, 5e7, replace = TRUE))
)
rownames(results) <- NULL
print(results, right = FALSE)
cat(sprintf("\nthreads available: %d\n", parallel::detectCores()))
