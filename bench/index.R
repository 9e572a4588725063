# Index forms versus base R, in one run: a 2.5e7-double mapping (200 MB, page
# cache warm), median of 5 runs. The fast paths (a proven a:b run, whole
# columns, an excluded prefix) against the general path (a sorted index with
# ties, which must not be taken for a run), and m[cbind(i, j)].
#   Rscript bench/index.R
suppressMessages(library(mmap))
set.seed(1)
source(if (file.exists("bench/common.R")) "bench/common.R" else "common.R")

row <- function(what, ours, base) {
  data.frame(operation = what, base_ms = round(base * 1e3, 2), mmap_ms = round(ours * 1e3, 2),
             ratio = round(ours / base, 2))
}

n <- 2.5e7
x <- runif(n)
file <- tempmmap()
m <- as.mmap(x, file = file)
msync(m, mmapFlags("MS_SYNC"))
invisible(m[])
start <- n %/% 2
run <- start:(start + 1e6 - 1)               # compact a:b, proven element by element
ties <- sort(sample(start:(start + 1e6), 1e6, replace = TRUE))  # sorted with ties: general path
fractions <- sort(runif(1e6, 1, n))         # sorted doubles with fractions
drop_head <- -(1:1e6)                        # an excluded prefix: one range
xm <- x
dim(xm) <- c(5000, 5000)
mm <- m
dim(mm) <- c(5000, 5000)
cells <- cbind(sample.int(5000, 1e6, TRUE), sample.int(5000, 1e6, TRUE))

results <- rbind(
  row("a:b run of 1e6", time_median(m[run]), time_median(x[run])),
  row("sorted with ties 1e6", time_median(m[ties]), time_median(x[ties])),
  row("sorted fractional doubles 1e6", time_median(m[fractions]), time_median(x[fractions])),
  row("exclude a prefix of 1e6", time_median(m[drop_head]), time_median(x[drop_head])),
  row("m[, 2000:2199] (1e6 cells)", time_median(mm[, 2000:2199]), time_median(xm[, 2000:2199])),
  row("m[cbind(i, j)] 1e6 cells", time_median(mm[cells]), time_median(xm[cells]))
)
munmap(m)
unlink(file)
options(width = 120)
print(results, row.names = FALSE)
