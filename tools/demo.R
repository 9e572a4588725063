# `make demo`: map a few hundred MB, read, write, compare, and say what happened.
suppressMessages(library(mmap))
say <- function(...) cat(sprintf(...), "\n", sep = "")
timed <- function(expr) {
  t <- system.time(value <- expr)[["elapsed"]]
  list(value = value, ms = t * 1e3)
}

n <- 5e7
file <- tempmmap()
say("Writing %s int32 values (%.0f MB) to %s ...", format(n, big.mark = ","), n * 4 / 2^20, file)
set.seed(42)
m <- as.mmap(sample.int(1e5, n, replace = TRUE) - 1L, file = file)
rm(list = setdiff(ls(), c("m", "file", "n", "say", "timed")))
invisible(gc())
print(m)

r <- timed(mmap(file, int32()))
say("mmap() of the %.0f MB file took %.2f ms (nothing is read until you index).", file.size(file) / 2^20, r$ms)
munmap(r$value)

r <- timed(m[1e6:2e6])
say("Read a slice of 1,000,001 values in %.1f ms; first ones: %s", r$ms, paste(head(r$value), collapse = " "))
idx <- sample.int(n, 1e6)
r <- timed(m[idx])
say("Gathered 1e6 random values in %.1f ms.", r$ms)

r <- timed(m[idx] <- 7L)
say("Wrote 7 to those 1e6 random positions in %.1f ms; m[idx[1]] is now %d.", r$ms, m[idx[1]])
try_write <- tryCatch({ m[1] <- 3e9; "written" }, mmap_error = function(e) conditionMessage(e))
say("Writing 3e9 into int32 is refused and nothing changes: %s", try_write)

if (exists("Ops.mmap", envir = asNamespace("mmap"))) {
  r <- timed(m < 100)
  say("m < 100 found %s positions in %.1f ms (which()-style indices, no logical vector).",
      format(length(r$value), big.mark = ","), r$ms)
  x <- m[]
  b <- timed(which(x < 100))
  say("base which(x < 100) on the in-memory copy took %.1f ms; same answer: %s",
      b$ms, identical(b$value, r$value))
  rm(x)
}

s <- summary(m)
say("summary over the whole mapping (computed in Rust): min %g, mean %.2f, max %g", s[["Min."]], s[["Mean"]], s[["Max."]])

small <- as.mmap(c(-2, 300, 40000), mode = int24(), endian = "big")
say("int24 big-endian file bytes: %s -> values %s", paste(readBin(small$file, "raw", 9), collapse = " "),
    paste(small[], collapse = ", "))
munmap(small)

munmap(m)
unlink(file)
say("Unmapped and removed %s. Done.", file)
