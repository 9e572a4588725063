/* Helper library for the cross-library free test. */
#include <stdlib.h>
#include <string.h>
void *lib_alloc(size_t n) { return malloc(n); }
void lib_free(void *p) { free(p); }
char *lib_strdup(const char *s) { return strdup(s); }
