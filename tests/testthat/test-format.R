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

test_that("summary() of every numeric type matches the values of m[], generated", {
  set.seed(42)
  # Sizes on both sides of the parallel threshold; NAs where the type has one.
  with_na <- c("int8", "uint8", "int16", "uint16", "int24", "uint24", "int32", "uint32",
               "real32", "real64", "logi8", "logi32")
  for (name in c(with_na, "uchar")) {
    for (n in c(0, 1, 7, 300001)) {
      type <- if (name %in% names(int_types) && name != "int32") type_of(name, na = 1) else type_of(name)
      x <- switch(name,
        uchar = as.raw(sample(0:255, n, TRUE)),
        logi8 = , logi32 = sample(c(TRUE, FALSE, NA), n, TRUE),
        real32 = , real64 = round(rnorm(n) * 1e3, 2),
        sample(c(0, 2:100), n, TRUE)
      )
      if (n > 1 && name %in% with_na && !is.logical(x)) x[sample(n, n %/% 50 + 1)] <- NA
      m <- local_mmap(x, type)
      v <- as.numeric(m[])
      s <- summary(m)
      label <- sprintf("%s, n = %d", name, n)
      present <- v[!is.na(v)]
      if (length(present)) {
        expect_equal(unname(s[["Min."]]), min(present), info = label)
        expect_equal(unname(s[["Max."]]), max(present), info = label)
        expect_equal(unname(s[["Mean"]]), mean(present), tolerance = 1e-12, info = label)
      } else {
        expect_true(is.na(s[["Min."]]) && is.na(s[["Max."]]) && is.nan(s[["Mean"]]), info = label)
      }
      nas <- sum(is.na(v))
      if (nas) expect_equal(unname(s[["NA's"]]), nas, info = label) else expect_false("NA's" %in% names(s), info = label)
    }
  }
})
