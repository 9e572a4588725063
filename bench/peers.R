# mmap side by side with its peers, in one run: base R (the vector in
# memory), mmap, bigmemory (a file-backed big.matrix of one column) and ff
# (a file-backed ff vector), all on the same 200 MB of data, file-backed ones
# with the page cache warm. Median of 5 runs; each peer's column shows its time
# and, in brackets, the ratio to base R (lower is better). bigmemory and ff are
# Suggests: a peer that is not installed is left out.
#   Rscript bench/peers.R
#
# Each package is used through its own tools:
#   full read   m[]              bm[, 1]              f[]
#   gather      m[i]             bm[i, 1]             f[i]
#   slice       m[a:b]           bm[a:b, 1]           f[a:b]
#   scatter     m[i] <- v        bm[i, 1] <- v        f[i] <- v
#   sum         sum(m)           sum(bm[, 1])         sum over bit::chunk(f)s
#   which <100  m < 100          mwhich(bm, 1, 100, "lt")   which() over chunks
# (bigmemory and ff have no sum of their own without biganalytics / ffbase.)
suppressMessages(library(mmap))
set.seed(1)
source(if (file.exists("bench/common.R")) "bench/common.R" else "common.R") # run from the repo root or bench/

have <- function(pkg) requireNamespace(pkg, quietly = TRUE)
peers <- c(mmap = TRUE, bigmemory = have("bigmemory"), ff = have("ff"))
dir <- tempfile("peers")
dir.create(dir)

ops <- c("full read", "gather 1e6 random", "slice 1e6 contiguous",
         "scatter 1e6 random", "sum", "which(x < 100)")

# Times of the six operations (seconds) for one package, in `ops` order.
time_base <- function(x, i, s, v) {
  y <- x + 0                           # a private copy to write into
  y[1] <- y[1]
  c(time_median(x[]), time_median(x[i]), time_median(x[s]),
    time_median(y[i] <- v), time_median(sum(x)), time_median(which(x < 100)))
}

time_mmap <- function(x, i, s, v, mode) {
  m <- as.mmap(x, mode = mode, file = tempfile("mmap", dir))
  on.exit(munmap(m))
  msync(m, mmapFlags("MS_SYNC"))       # no writeback of the fresh file during timing
  stopifnot(identical(m < 100, which(x < 100)), sum(m) == sum(x))
  c(time_median(m[]), time_median(m[i]), time_median(m[s]),
    time_median(m[i] <- v), time_median(sum(m)), time_median(m < 100))
}

time_bigmemory <- function(x, i, s, v) {
  type <- if (is.integer(x)) "integer" else "double"
  name <- basename(tempfile("bm", dir))
  bm <- bigmemory::filebacked.big.matrix(length(x), 1, type = type, backingpath = dir,
                                         backingfile = name, descriptorfile = paste0(name, ".desc"))
  bm[, 1] <- x
  bigmemory::flush(bm)
  stopifnot(identical(as.integer(bigmemory::mwhich(bm, 1, 100, "lt")), which(x < 100)))
  c(time_median(bm[, 1]), time_median(bm[i, 1]), time_median(bm[s, 1]),
    time_median(bm[i, 1] <- v), time_median(sum(bm[, 1])),
    time_median(bigmemory::mwhich(bm, 1, 100, "lt")))
}

time_ff <- function(x, i, s, v) {
  f <- ff::ff(x, vmode = if (is.integer(x)) "integer" else "double",
              filename = tempfile("ff", dir), finalizer = "close")
  on.exit(ff::delete(f))
  chunk_sum <- function() {
    total <- 0
    for (k in bit::chunk(f)) total <- total + sum(f[k])
    total
  }
  chunk_which <- function() {
    hits <- list()
    for (k in bit::chunk(f)) {
      hits[[length(hits) + 1L]] <- which(f[k] < 100) + (k[[1]] - 1L)  # k: from, to, n
    }
    unlist(hits)
  }
  stopifnot(identical(as.integer(chunk_which()), which(x < 100)),
            isTRUE(all.equal(chunk_sum(), sum(x))))  # summed in another order
  c(time_median(f[]), time_median(f[i]), time_median(f[s]),
    time_median(f[i] <- v), time_median(chunk_sum()), time_median(chunk_which()))
}

run_case <- function(label, x, mode) {
  n <- length(x)
  i <- sample.int(n, 1e6)
  s <- (n %/% 2):(n %/% 2 + 1e6 - 1)
  v <- x[sample.int(n, 1e6)]
  times <- list(base = time_base(x, i, s, v), mmap = time_mmap(x, i, s, v, mode))
  if (peers[["bigmemory"]]) times$bigmemory <- time_bigmemory(x, i, s, v)
  if (peers[["ff"]]) times$ff <- time_ff(x, i, s, v)
  out <- data.frame(type = label, operation = ops, `base R` = sprintf("%.1f", times$base * 1e3),
                    check.names = FALSE)
  for (p in setdiff(names(times), "base")) {
    out[[p]] <- sprintf("%.1f (%.2f)", times[[p]] * 1e3, times[[p]] / times$base)
  }
  out
}

results <- rbind(
  run_case("real64 2.5e7", runif(2.5e7, 0, 1e5), real64()),
  run_case("int32 5e7", as.integer(runif(5e7, 0, 1e5)), int32())
)
unlink(dir, recursive = TRUE)
options(width = 160)
cat("milliseconds, median of 5 (ratio to base R; lower is better)\n")
print(results, row.names = FALSE, right = FALSE)
missing <- names(peers)[!peers]
if (length(missing)) cat("\nnot installed, left out:", paste(missing, collapse = ", "), "\n")
cat(sprintf("\n%s, %d cores, R %s, bigmemory %s, ff %s, %s\n", Sys.info()[["machine"]],
            parallel::detectCores(), getRversion(),
            if (peers[["bigmemory"]]) as.character(packageVersion("bigmemory")) else "-",
            if (peers[["ff"]]) as.character(packageVersion("ff")) else "-",
            format(Sys.time(), "%Y-%m-%d %H:%M UTC", tz = "UTC")))
