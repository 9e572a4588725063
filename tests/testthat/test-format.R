test_that("print() shows the file, type, size and first values", {
  m <- local_mmap(as.double(1:10))
  expect_output(print(m), "<mmap> .*\\.bin")
  expect_output(print(m), "real64 \\[10\\], 80 bytes")
  expect_output(print(m), "1 2 3 4 5 6 \\.\\.\\.")
  b <- local_mmap(1:4, int16(), endian = if (.Platform$endian == "little") "big" else "little")
  expect_output(print(b), "int16, (big|little)-endian")
  r <- local_mmap(1:4, int16())
  mprotect(r, mmapFlags("PROT_READ"))
  expect_output(print(r), "read-only")
})

test_that("str() is one line", {
  m <- local_mmap(1:100)
  expect_output(str(m), "^<mmap> int32 \\[1:100\\] 1 2 3 4 5 \\.\\.\\.$")
})

test_that("summary() matches base R over the whole mapping", {
  x <- c(5, NA, -2.5, 10, 3)
  m <- local_mmap(x)
  s <- summary(m)
  expect_equal(as.numeric(s[c("Min.", "Mean", "Max.", "NA's")]), c(-2.5, mean(x, na.rm = TRUE), 10, 1))
  i <- local_mmap(c(1L, 7L, -3L), int16())
  expect_equal(as.numeric(summary(i)[c("Min.", "Max.")]), c(-3, 7))
  expect_false("NA's" %in% names(summary(i)))
  big <- local_mmap(as.double(1:200000))
  expect_equal(as.numeric(summary(big)["Mean"]), mean(1:200000))
})
