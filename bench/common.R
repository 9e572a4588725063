# Shared by the bench/*.R scripts: a high-resolution clock and a timer that
# evaluates an expression in the caller's frame (so `y[i] <- v` modifies y in
# place as it would at top level) and returns the median of `reps` runs.
now <- if (requireNamespace("bench", quietly = TRUE)) bench::hires_time else function() proc.time()[["elapsed"]]

time_median <- function(expr, reps = 5L) {
  expr <- substitute(expr)
  env <- parent.frame()
  times <- numeric(reps)
  for (r in seq_len(reps)) {
    invisible(gc(FALSE))
    t0 <- now()
    eval(expr, env)
    times[r] <- now() - t0
  }
  stats::median(times)
}
