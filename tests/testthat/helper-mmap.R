# A mapping of `x` that is unmapped and deleted when the calling test ends.
local_mmap <- function(x, mode = as.Ctype(x), ..., .env = parent.frame()) {
  file <- tempfile("mm-test", fileext = ".bin")
  m <- as.mmap(x, mode = mode, file = file, ...)
  withr::defer({
    try(munmap(m), silent = TRUE)
    unlink(file)
  }, envir = .env)
  m
}

# A temporary file holding `bytes` (raw), deleted when the calling test ends.
local_bytes <- function(bytes, .env = parent.frame()) {
  file <- tempfile("mm-bytes", fileext = ".bin")
  writeBin(bytes, file)
  withr::defer(unlink(file), envir = .env)
  file
}

# Bytes of `x` written by base R, for comparing against our encoder.
base_bytes <- function(x, size, endian = .Platform$endian) {
  con <- rawConnection(raw(), "wb")
  on.exit(close(con))
  writeBin(x, con, size = size, endian = endian)
  rawConnectionValue(con)
}

file_bytes <- function(file) readBin(file, "raw", file.size(file))

# One row per integer type: constructor name, size, signedness, range.
int_types <- list(
  int8   = list(size = 1, signed = TRUE,  min = -128,        max = 127),
  uint8  = list(size = 1, signed = FALSE, min = 0,           max = 255),
  int16  = list(size = 2, signed = TRUE,  min = -32768,      max = 32767),
  uint16 = list(size = 2, signed = FALSE, min = 0,           max = 65535),
  int24  = list(size = 3, signed = TRUE,  min = -8388608,    max = 8388607),
  uint24 = list(size = 3, signed = FALSE, min = 0,           max = 16777215),
  int32  = list(size = 4, signed = TRUE,  min = -2147483647, max = 2147483647),
  uint32 = list(size = 4, signed = FALSE, min = 0,           max = 4294967295)
)
type_of <- function(.type, ...) get(.type, envir = asNamespace("mmap"))(...)
