library(testthat)
library(mmap)

test_check("mmap")
