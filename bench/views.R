# Views and summaries versus base R on the same data in memory, in one run:
# 2.5e7 doubles and 5e7 int32 (200 MB each), page cache warm, median of 5
# runs (ours and base alternate in pairs). Prints times and the ratio ours / base (lower is better; goals in the
# last column). View creation is timed in absolute terms (goal: < 1 ms).
#   Rscript bench/views.R
suppressMessages(library(mmap))
set.seed(1)
source(if (file.exists("bench/common.R")) "bench/common.R" else "common.R") # run from the repo root or bench/

row <- function(what, ours, base, goal) {
  data.frame(operation = what, base_ms = round(base * 1e3, 2), mmap_ms = round(ours * 1e3, 3),
             ratio = round(ours / base, 2), goal = goal, met = ours / base <= goal)
}

# Ours and base alternately, `reps` pairs; the machine is shared, so each
# pair runs under the same load and the reported ratio is the median of the
# per-pair ratios (times are medians too).
paired <- function(what, ours, base, goal, reps = 11L) {
  ours <- substitute(ours)
  base <- substitute(base)
  env <- parent.frame()
  t <- matrix(0, reps, 2)
  for (r in seq_len(reps)) {
    invisible(gc(FALSE))
    t0 <- now(); eval(ours, env); t[r, 1] <- now() - t0
    invisible(gc(FALSE))
    t0 <- now(); eval(base, env); t[r, 2] <- now() - t0
  }
  out <- row(what, stats::median(t[, 1]), stats::median(t[, 2]), goal)
  out$ratio <- round(stats::median(t[, 1] / t[, 2]), 2)
  out$met <- out$ratio <= goal
  out
}

run_case <- function(label, x) {
  file <- tempmmap()
  m <- as.mmap(x, file = file)
  msync(m, mmapFlags("MS_SYNC"))
  v <- mmap_view(m)
  invisible(sum(v))                    # warm the page cache and the mapping
  idx <- sample.int(length(x), 1e6)
  out <- rbind(
    paired(paste(label, "sum(mmap_view(m))"), sum(v), sum(x), 0.5),
    paired(paste(label, "sum(m)"), sum(m), sum(x), 0.5),
    paired(paste(label, "mean(m)"), mean(m), mean(x), 0.5),
    paired(paste(label, "max(m)"), max(m), max(x), 1),
    paired(paste(label, "gather v[idx] 1e6"), v[idx], x[idx], 1.2),
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
