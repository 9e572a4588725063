.onLoad <- function(libname, pkgname) { # nocov start
  exm_on_load()
} # nocov end

.onUnload <- function(libpath) { # nocov start
  library.dynam.unload("mmap", libpath)
} # nocov end
