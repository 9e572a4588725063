/*
 * exm.h - steering API of the exm shim (libexm.so).
 *
 * A program started with `exm <program>` (or with libexm.so in LD_PRELOAD)
 * can call these functions to inspect and tune where its large allocations
 * go. Every allocation of at least the threshold is placed in an unlinked
 * file in the data directory and mapped into memory.
 *
 * To build a program that also runs without exm, define EXM_OPTIONAL before
 * including this header: the functions are then declared weak, and a null
 * function pointer means the shim is not loaded:
 *
 *     #define EXM_OPTIONAL
 *     #include <exm.h>
 *     if (exm_version) printf("exm %s\n", exm_version());
 *
 * Alternatively look them up with dlsym(RTLD_DEFAULT, "exm_version").
 * All functions are thread-safe. Functions returning int return 0 on
 * success and -1 with errno set on failure.
 */
#ifndef EXM_H
#define EXM_H

#include <stddef.h>
#include <sys/types.h>

#ifdef EXM_OPTIONAL
#define EXM_API __attribute__((weak))
#else
#define EXM_API
#endif

#ifdef __cplusplus
extern "C" {
#endif

/* Fork modes: what a child created by fork() sees of the mapped blocks. */
#define EXM_FORK_PRIVATE 0   /* copy-on-write snapshot for both sides (default) */
#define EXM_FORK_SHARED 1    /* parent and child share the same file: writes are seen by both */
#define EXM_FORK_DUPLICATE 2 /* the child gets its own copy of every file, made at the fork */

/* Version of the shim, e.g. "0.1.0". */
EXM_API const char *exm_version(void);

/* Allocations of at least this many bytes are mapped to files. */
EXM_API size_t exm_threshold_get(void);
/* Set the threshold (at least one page); EINVAL otherwise. Affects new
 * allocations only. */
EXM_API int exm_threshold_set(size_t bytes);

/* Copy the data directory into buf (NUL-terminated, truncated to len - 1
 * bytes); returns the full length of the path. buf may be NULL. */
EXM_API size_t exm_path_get(char *buf, size_t len);
/* Set the data directory for new allocations. The directory must exist and
 * accept new files (a probe file is created and released). */
EXM_API int exm_path_set(const char *dir);

/* Fork mode, one of EXM_FORK_*. */
EXM_API int exm_fork_mode_get(void);
EXM_API int exm_fork_mode_set(int mode);

/* If addr lies in a file-backed block, write the name of the backing file
 * (its directory and the name the kernel gives the unlinked file) into buf
 * like exm_path_get and return its length; otherwise return -1 (ENOENT). */
EXM_API ssize_t exm_lookup(const void *addr, char *buf, size_t len);

/* madvise(2) the whole file-backed block containing addr with advice
 * (MADV_*); -1 with ENOENT if addr is not in such a block. */
EXM_API int exm_madvise(const void *addr, int advice);

/* Statistics: number of file-backed blocks now, their bytes now, and the
 * peak of bytes. Any pointer may be NULL. */
EXM_API void exm_stats(size_t *count, size_t *bytes, size_t *peak);

/* Requests of at least the threshold that did not get a file and came from
 * the ordinary allocator instead (or failed), by reason: `space`, the file's
 * disk space could not be reserved (disk full, quota, RLIMIT_FSIZE; a block
 * always has its space reserved when made, so a full disk never turns into
 * SIGBUS at a later write); `descriptors`, the descriptor reserve was reached
 * (exm leaves max(256, RLIMIT_NOFILE / 8) descriptors to the program);
 * `other`, anything else (no room, too many mappings, directory unusable).
 * Any pointer may be NULL. */
EXM_API void exm_fallbacks(size_t *space, size_t *descriptors, size_t *other);

#ifdef __cplusplus
}
#endif

#endif /* EXM_H */
