# which()-style Ops versus base R, in one run: `m < 100` on a mapping against
# `which(x < 100)` on the same data in memory. 2.5e7 doubles and 5e7 int32
# (200 MB each) uniform on [0, 1e5), so about 0.1 % of the elements match.
# Page cache warm, median of 5 runs. Goal: ratio base / mmap >= 10.
#   Rscript bench/ops.R
suppressMessages(library(mmap))
set.seed(1)
source(if (file.exists("bench/common.R")) "bench/common.R" else "common.R") # run from the repo root or bench/

row <- function(what, ours, base, goal) {
  data.frame(operation = what, base_ms = round(base * 1e3, 1), mmap_ms = round(ours * 1e3, 1),
             speedup = round(base / ours, 1), goal = paste0(">= ", goal, "x"),
             met = base / ours >= goal)
}

run_case <- function(label, x, mode) {
  file <- tempmmap()
  m <- as.mmap(x, mode = mode, file = file)
  stopifnot(identical(m < 100, which(x < 100)))   # also maps in every page
  out <- rbind(
    row(sprintf("%s  m < 100  vs which(x < 100)", label), time_median(m < 100),
        time_median(which(x < 100)), 10),
    row(sprintf("%s  m == 5   vs which(x == 5)", label), time_median(m == 5),
        time_median(which(x == 5)), 10),
    row(sprintf("%s  100 > m  vs which(100 > x)", label), time_median(100 > m),
        time_median(which(100 > x)), 10)
  )
  munmap(m)
  unlink(file)
  out
}

results <- rbind(
  run_case("real64 2.5e7", runif(2.5e7, 0, 1e5), real64()),
  run_case("int32  5e7  ", as.integer(runif(5e7, 0, 1e5)), int32())
)
print(results, row.names = FALSE)
cat(sprintf("\nthreads available: %d; hits for m < 100: about %.1f %%\n",
            parallel::detectCores(), 100 * 100 / 1e5))

# ---------------------------------------------------------------------------
# TODO (struct helper): the struct goal of issue 4 — extracting one int32
# field of all records of a 1e7-record struct(int16, int32, real64) within 2x
# of m[] on an int32 mapping of 1e7 elements — is measured in bench/struct.R.
# Add here any Ops-related struct timing (e.g. comparing one field) once a
# field can be compared without extracting it.
# ---------------------------------------------------------------------------
