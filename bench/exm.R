# Timings for bench/exm.sh, run once without and once under exm.
#   Rscript bench/exm.R alloc          # allocation-heavy loop
#   Rscript bench/exm.R vector BYTES   # allocate, fill and sum a double vector
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
} else {
  stop("unknown benchmark: ", what)
}
cat(sprintf("%.4f\n", secs))
