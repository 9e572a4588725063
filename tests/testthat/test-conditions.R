test_that("errors from Rust carry their class and the parent class mmap_error", {
  f <- withr::local_tempfile()
  writeBin(1:4, f)
  m <- mmap(f, int32())
  on.exit(munmap(m))
  err <- tryCatch(m[5], error = identity)
  expect_s3_class(err, c("mmap_error_bounds", "mmap_error"))
  expect_match(conditionMessage(err), "out of bounds")
})

test_that("a broken internal invariant is an internal error, not the user's type error", {
  # The bindings are handed a type description that R never builds: not a list.
  err <- tryCatch(mmap:::unwrap_rust(mmap:::mm_ctype_info_(1)), error = identity)
  expect_s3_class(err, c("mmap_error_internal", "mmap_error"))
  expect_false(inherits(err, "mmap_error_type"))
  expect_match(conditionMessage(err), "internal error .*type spec must be a list")
})

test_that("argument checks name the argument and the value", {
  expect_error(mmap:::check_string(1, "file"), "`file` must be a single string, not double 1",
               class = "mmap_error_type")
  expect_error(mmap:::check_count(-1, "n"), "`n` must be a single whole number >= 0, not double -1",
               class = "mmap_error_type")
  expect_error(mmap:::check_count(NA, "n"), class = "mmap_error_type")
})
