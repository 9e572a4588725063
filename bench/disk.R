# sum() of a file twice the size of RAM, against the disk's sequential read
# bandwidth measured with dd in the same run (goal: >= 80 % of dd's).
#   Rscript bench/disk.R [directory]   (default: tempdir(); needs 2 x RAM free)
# The file is written for real (not sparse), so this takes minutes and as many
# bytes of disk as twice the machine's memory; it is deleted at the end.
# A manual benchmark: not part of make test.
suppressMessages(library(mmap))

args <- commandArgs(trailingOnly = TRUE)
dir <- if (length(args)) args[1] else tempdir()
mem_kb <- as.numeric(sub("^MemTotal:\\s+(\\d+) kB$", "\\1",
                         grep("^MemTotal:", readLines("/proc/meminfo"), value = TRUE)))
bytes <- 2 * mem_kb * 1024
chunk <- runif(2^23) # 64 MB of doubles, written over and over
chunks <- ceiling(bytes / (8 * length(chunk)))
path <- file.path(dir, "mmap-disk-bench.bin")
# on.exit() does not run at the top level of a script: remove the file on
# any exit through a finalizer run when R quits.
reg.finalizer(environment(), function(e) unlink(path), onexit = TRUE)
cat(sprintf("writing %.1f GB (RAM %.1f GB) to %s ...\n", chunks * 8 * length(chunk) / 1e9, mem_kb / 1e6 * 1.024, path))
t_write <- system.time({
  con <- file(path, "wb")
  for (k in seq_len(chunks)) writeBin(chunk, con)
  close(con)
})[["elapsed"]]
size <- file.size(path)
cat(sprintf("written in %.0f s (%.0f MB/s)\n", t_write, size / t_write / 1e6))

# dd reads the file once, sequentially; the file is twice RAM, so the page
# cache cannot hold it and both readers go to the disk.
dd <- system2("dd", c(paste0("if=", path), "of=/dev/null", "bs=16M"), stdout = TRUE, stderr = TRUE)
t_dd <- as.numeric(sub("^.* copied, ([0-9.]+) s, .*$", "\\1", grep("copied", dd, value = TRUE)))
bw_dd <- size / t_dd

m <- mmap(path, real64(), prot = mmapFlags("PROT_READ"))
t_sum <- system.time(s <- sum(m))[["elapsed"]]
munmap(m)
bw_sum <- size / t_sum
expected <- sum(chunk) * chunks

cat(sprintf("dd:     %.1f s, %.0f MB/s\n", t_dd, bw_dd / 1e6))
cat(sprintf("sum(m): %.1f s, %.0f MB/s (%.0f %% of dd; goal >= 80 %%); sum %s\n",
            t_sum, bw_sum / 1e6, 100 * bw_sum / bw_dd,
            if (isTRUE(all.equal(s, expected))) "correct" else "WRONG"))
unlink(path)
