# Timings for bench/exm.sh, run once without and once under exm.
#   Rscript bench/exm.R alloc          # allocation-heavy loop
#   Rscript bench/exm.R vector BYTES   # allocate, fill and sum a double vector
#   exm --threshold 1G Rscript bench/exm.R big   # manual: a vector of 1.5 x RAM
# Prints the elapsed seconds (best of `reps`) on stdout.
args <- commandArgs(trailingOnly = TRUE)
what <- if (length(args)) args[[1]] else "alloc"
best <- function(expr_fun, reps) {
  t <- numeric(reps)
  for (r in seq_len(reps)) {
    gc()
    t[r] <- system.time(expr_fun())[["elapsed"]]
  }
  min(t)
}
if (what == "alloc") {
  secs <- best(function() for (i in 1:2e6) x <- list(i), reps = 7)
} else if (what == "vector") {
  n <- as.numeric(args[[2]]) / 8
  secs <- best(function() {
    x <- numeric(n)
    x[] <- 1.5
    stopifnot(sum(x) == 1.5 * n)
    rm(x)
  }, reps = if (n * 8 > 2^31) 1 else 3)
} else if (what == "big") {
  # Manual check (not run by exm.sh): fails without exm, works under it.
  mem <- as.numeric(sub("^MemTotal: *([0-9]+) kB$", "\\1",
                        grep("^MemTotal", readLines("/proc/meminfo"), value = TRUE))) * 1024
  n <- 1.5 * mem / 8
  cat(sprintf("RAM %.1f GiB, vector %.1f GiB (%.3g doubles)\n", mem / 2^30, n * 8 / 2^30, n))
  t1 <- system.time(x <- rep(1, n))[["elapsed"]]
  cat(sprintf("allocate+fill %.1f s (%.0f MB/s)\n", t1, n * 8 / 1e6 / t1))
  t2 <- system.time(s <- sum(x))[["elapsed"]]
  cat(sprintf("sum %.1f s (%.0f MB/s), correct: %s\n", t2, n * 8 / 1e6 / t2, s == n))
  quit(save = "no")
} else {
  stop("unknown benchmark: ", what)
}
cat(sprintf("%.4f\n", secs))
