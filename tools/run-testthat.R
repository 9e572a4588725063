# Runs the testthat suite against the installed package and writes
# "<passed> <failed>" (counted per test) to the file named by the first argument.
out <- commandArgs(trailingOnly = TRUE)[1]
library(testthat)
Sys.setenv(NOT_CRAN = "true")
results <- test_dir("tests/testthat", package = "mmap", load_package = "installed",
                    reporter = ProgressReporter$new(show_praise = FALSE),
                    stop_on_failure = FALSE)
df <- as.data.frame(results)
bad <- df$failed > 0 | df$error
skipped <- df$skipped & !bad
passed <- sum(!bad & !skipped)
failed <- sum(bad)
cat(sprintf("testthat: %d passed, %d failed, %d skipped\n", passed, failed, sum(skipped)))
writeLines(sprintf("%d %d", passed, failed), out)
quit(status = if (failed > 0) 1 else 0)
