#' Map a CSV file as records
#'
#' Reads a CSV file (in Rust, chunk by chunk) into a mapped array of
#' [struct()] records and returns the mapping, which extracts as a
#' data.frame. Two passes are made: the first infers each column's type
#' (logical, integer, double, or character stored as `char(n)` of the widest
#' field), the second writes the records. A progress bar is shown for large
#' files.
#'
#' Fields are separated by `sep`; double quotes protect separators, newlines
#' and doubled quotes (`""`) inside a field; lines end with LF, CRLF or a
#' lone CR (and, as in [utils::read.csv()], a line break inside quotes reads
#' as one newline); blank lines are skipped. `NA` (and an empty field in a
#' non-character column) is missing. A row with a different number of fields
#' than the header is an error naming the row, and so is a field holding a NUL
#' byte (R strings cannot hold one; [utils::read.csv()] would cut the field
#' there).
#'
#' @param file Path of the CSV file.
#' @param header Whether the first line holds column names (otherwise the
#'   columns are `V1`, `V2`, ...).
#' @param sep The field separator, one byte.
#' @param out Path of the mapped file to create. It must not be `file` itself
#'   (under any name); an existing `out` is replaced by renaming a new file
#'   over it once all rows are written, so mappings still using the old `out`
#'   keep its old bytes and an error leaves it as it was.
#' @param progress Show a progress bar; by default for files of 50 MB or more.
#' @param chunk Bytes of CSV handled per step.
#' @param ... Passed to [mmap()].
#' @return An `mmap` of a struct with a data.frame [extractFUN()].
#' @examples
#' f <- tempfile(fileext = ".csv")
#' write.csv(data.frame(x = 1:3, y = c(0.5, NA, 2), z = c("a", "bb", "c")), f,
#'           row.names = FALSE)
#' m <- mmap.csv(f)
#' m[]
#' .subset2(m, "mode")
#' munmap(m)
#' unlink(f)
#' @export
mmap.csv <- function(file, header = TRUE, sep = ",", out = tempmmap(),
                     progress = NA, chunk = 8 * 2^20, ...) {
  check_string(file)
  if (!file.exists(file)) mmap_abort(sprintf("`file` '%s' does not exist.", file), "mmap_error_io")
  check_string(sep)
  check_string(out)
  check_count(chunk)
  chunk <- max(chunk, 1)
  path <- normalizePath(file, mustWork = TRUE)
  if (unwrap_rust(mm_same_file_(path, path.expand(out)))) {
    mmap_abort(sprintf("`out` ('%s') is the input `file` itself; mmap.csv() never writes over its input: choose another `out`.",
                       out), "mmap_error_io")
  }
  hdr <- unwrap_rust(mm_csv_header_(path, sep))
  size <- hdr$size
  names <- if (isTRUE(header)) hdr$fields else paste0("V", seq_along(hdr$fields))
  names[!nzchar(names)] <- paste0("V", which(!nzchar(names)))
  names <- make.unique(names)
  start <- if (isTRUE(header)) hdr$`next` else 0
  if (is.na(progress)) progress <- size >= 5e7
  bar <- NULL
  if (isTRUE(progress)) {
    bar <- utils::txtProgressBar(min = 0, max = 2 * max(size - start, 1), style = 3)
    on.exit(close(bar), add = TRUE)
  }
  step <- function(done) if (!is.null(bar)) utils::setTxtProgressBar(bar, done)

  # Pass 1: column types.
  state <- mm_csv_scan_new_(length(names))
  pos <- start
  while (pos < size) {
    pos <- unwrap_rust(mm_csv_scan_(state, path, pos, chunk, sep))
    step(pos - start)
  }
  found <- unwrap_rust(mm_csv_scan_result_(state))
  fields <- lapply(seq_along(names), function(k) {
    switch(found$kind[k],
      logical = logi32(),
      integer = int32(),
      double = real64(),
      character = if (found$na[k]) char(max(2, found$width[k]), na = "NA") else char(max(1, found$width[k]))
    )
  })
  names(fields) <- names
  type <- do.call(struct, fields)

  # Pass 2: records, into a new file renamed over `out` once complete.
  rows <- found$rows
  call <- sys.call()
  replace_file(out, layout_bytes(type, rows), function(new) {
    fill_mapped(new, type, list(...)[["endian"]], function(m) {
      handle <- handle_of(m)
      spec <- spec_of(m)
      pos <- start
      row <- 0
      while (pos < size && row < rows) {
        res <- unwrap_rust(mm_csv_write_(path, handle, spec, pos, chunk, sep, row), call = call)
        pos <- res[1]
        row <- row + res[2]
        step(size - start + pos - start)
      }
      if (row != rows) {
        mmap_abort(sprintf("the CSV file changed while it was read: %s rows the first time, %s the second.",
                           format(rows), format(row)), "mmap_error_io", call = call)
      }
    })
  })
  step(2 * max(size - start, 1))
  mmap(out, type, extractFUN = struct_to_df, ...)
}
