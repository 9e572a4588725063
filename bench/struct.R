# Struct field extraction versus a plain int32 mapping, in one run: one int32
# field of all records of a 1e7-record struct(int16, int32, real64) (140 MB)
# against m[] on an int32 mapping of 1e7 elements (40 MB). Page cache warm,
# median of 5 runs. Goal: ratio (struct / int32) <= 2.
#   Rscript bench/struct.R
suppressMessages(library(mmap))
set.seed(1)
source(if (file.exists("bench/common.R")) "bench/common.R" else "common.R") # run from the repo root or bench/

n <- 1e7
ints <- sample.int(1e5, n, replace = TRUE)
type <- struct(short = int16(), int = int32(), double = real64())
sfile <- tempmmap()
unwrap_rust <- mmap:::unwrap_rust
invisible(unwrap_rust(mmap:::mm_create_(sfile, n * nbytes(type))))
s <- mmap(sfile, type)
s[, "int"] <- ints
s[, "short"] <- 1L
s[, "double"] <- 0.5
i <- as.mmap(ints, file = ifile <- tempmmap())
stopifnot(identical(s[, "int"]$int, i[]))
invisible(s[, "int"]); invisible(i[])   # warm the page cache

t_struct <- time_median(s[, "int"])
t_int <- time_median(i[])
idx <- sample.int(n, 1e6)
t_rows <- time_median(s[idx])
t_irows <- time_median(i[idx])
res <- data.frame(
  operation = c("one int32 field of 1e7 records, s[, \"int\"]", "int32 mapping of 1e7, i[]",
                "1e6 random records, all 3 fields, s[idx]", "1e6 random elements of the int32 mapping, i[idx]"),
  ms = round(c(t_struct, t_int, t_rows, t_irows) * 1e3, 1)
)
print(res, row.names = FALSE)
cat(sprintf("ratio struct field / int32 m[] = %.2f (goal <= 2: %s)\n", t_struct / t_int,
            if (t_struct / t_int <= 2) "met" else "NOT met"))
munmap(s); munmap(i)
unlink(c(sfile, ifile))
