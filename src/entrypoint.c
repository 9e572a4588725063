// R loads this file's R_init_mmap; it hands over to the Rust side.
#include <R.h>
#include <Rinternals.h>
#include <R_ext/Rdynload.h>

void R_init_mmap_extendr(DllInfo *dll);
void register_extendr_panic_hook(void);
void mmap_register_altrep(DllInfo *dll);
void mmap_register_pool(DllInfo *dll);

void R_init_mmap(DllInfo *dll) {
    register_extendr_panic_hook();
    R_init_mmap_extendr(dll);
    // ALTREP classes need this package's DllInfo, so that views survive
    // serialization and subsetting finds their methods.
    mmap_register_altrep(dll);
    // The pool's serialization hook (an ALTREP class) needs it too.
    mmap_register_pool(dll);
}
