/* Test program for the exm shim. `prog <case> [args]` runs one case, prints
 * "ok" and exits 0 on success; on failure it prints the failed check and
 * exits 1. Run under `exm` (the shim in LD_PRELOAD). */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <errno.h>
#include <fcntl.h>
#include <malloc.h>
#include <pthread.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <sys/select.h>
#include <sys/wait.h>
#include <unistd.h>

#define EXM_OPTIONAL
#include "exm.h"

#define CHECK(c)                                                              \
  do {                                                                        \
    if (!(c)) {                                                               \
      fprintf(stderr, "%s:%d: check failed: %s (errno %d)\n", __FILE__,       \
              __LINE__, #c, errno);                                           \
      exit(1);                                                                \
    }                                                                         \
  } while (0)

static const size_t MB = 1 << 20;
/* volatile: keep the compiler from folding impossible requests away */
static volatile size_t HUGE_N = SIZE_MAX / 2;
static volatile size_t HUGE_M = (size_t)1 << 33;

static int mapped(const void *p) { return exm_lookup(p, NULL, 0) >= 0; }

static size_t count_now(void) {
  size_t c = 0;
  exm_stats(&c, NULL, NULL);
  return c;
}

static int all_eq(const unsigned char *p, size_t n, unsigned char v) {
  for (size_t i = 0; i < n; i++)
    if (p[i] != v) return 0;
  return 1;
}

/* Every entry point. The threshold is 1 MiB (set by the test). */
static void case_entry(void) {
  CHECK(exm_version != NULL);
  CHECK(exm_threshold_get() == MB);
  size_t base = count_now();

  /* malloc: below and at the threshold */
  char *s = malloc(MB - 1);
  CHECK(s && !mapped(s));
  char *m = malloc(MB);
  CHECK(m && mapped(m) && mapped(m + MB - 1));
  /* backing files stay out of the select() range when the limit allows */
  struct rlimit rl;
  CHECK(getrlimit(RLIMIT_NOFILE, &rl) == 0);
  if (rl.rlim_cur >= FD_SETSIZE + 4096) {
    char dir[4096], link[64], target[4096];
    exm_path_get(dir, sizeof dir);
    int found = 0;
    for (int fd = 0; fd < (int)rl.rlim_cur && fd < 70000; fd++) {
      snprintf(link, sizeof link, "/proc/self/fd/%d", fd);
      ssize_t k = readlink(link, target, sizeof target - 1);
      if (k <= 0) continue;
      target[k] = 0;
      if (strncmp(target, dir, strlen(dir)) == 0 && target[strlen(dir)] == '/') {
        CHECK(fd >= FD_SETSIZE);
        found++;
      }
    }
    CHECK(found == 1);
  }
  CHECK(count_now() == base + 1);
  memset(m, 7, MB);
  CHECK(malloc_usable_size(m) >= MB);
  CHECK(malloc_usable_size(s) >= MB - 1);
  free(s);

  /* errno is preserved across free (mapped and heap) */
  errno = 1234;
  free(m);
  CHECK(errno == 1234);
  CHECK(count_now() == base);
  s = malloc(100);
  errno = 4321;
  free(s);
  CHECK(errno == 4321);
  free(NULL);

  /* calloc: zeroed, overflow detected */
  unsigned char *c = calloc(4, MB);
  CHECK(c && mapped(c) && all_eq(c, 4 * MB, 0));
  free(c);
  c = calloc(10, 10);
  CHECK(c && all_eq(c, 100, 0));
  free(c);
  errno = 0;
  CHECK(calloc(HUGE_N, 3) == NULL && errno == ENOMEM);
  errno = 0;
  CHECK(calloc(HUGE_M, HUGE_M) == NULL && errno == ENOMEM);

  /* realloc: grow and shrink a mapped block, contents kept */
  unsigned char *r = malloc(2 * MB);
  CHECK(mapped(r));
  for (size_t i = 0; i < 2 * MB; i++) r[i] = (unsigned char)(i * 31);
  unsigned char *blocker = malloc(2 * MB); /* right behind r: r must move */
  CHECK(mapped(blocker));
  unsigned char *r0 = r;
  r = realloc(r, 64 * MB);
  CHECK(r && r != r0 && mapped(r) && mapped(r + 64 * MB - 1));
  for (size_t i = 0; i < 2 * MB; i++) CHECK(r[i] == (unsigned char)(i * 31));
  r[64 * MB - 1] = 9;
  unsigned char *r2 = realloc(r, 3 * MB / 2);
  CHECK(r2 == r && mapped(r2) && malloc_usable_size(r2) >= 3 * MB / 2);
  for (size_t i = 0; i < 3 * MB / 2; i++) CHECK(r2[i] == (unsigned char)(i * 31));
  /* grow in place when the range behind is free */
  free(blocker);
  unsigned char *r3 = realloc(r2, 8 * MB);
  CHECK(r3 == r2 && mapped(r3) && mapped(r3 + 8 * MB - 1));
  for (size_t i = 0; i < 3 * MB / 2; i++) CHECK(r3[i] == (unsigned char)(i * 31));
  /* failed realloc leaves the block intact */
  errno = 0;
  CHECK(realloc(r3, HUGE_N) == NULL && errno == ENOMEM);
  CHECK(mapped(r3));
  for (size_t i = 0; i < 3 * MB / 2; i++) CHECK(r3[i] == (unsigned char)(i * 31));
  /* mapped -> below threshold: back to the heap */
  unsigned char *h = realloc(r3, 1000);
  CHECK(h && !mapped(h));
  for (size_t i = 0; i < 1000; i++) CHECK(h[i] == (unsigned char)(i * 31));
  /* heap block grown past the threshold becomes mapped */
  unsigned char *g = realloc(h, 5 * MB);
  CHECK(g && mapped(g));
  for (size_t i = 0; i < 1000; i++) CHECK(g[i] == (unsigned char)(i * 31));
  /* realloc(p, 0) frees (glibc semantics) */
  size_t before = count_now();
  CHECK(realloc(g, 0) == NULL);
  CHECK(count_now() == before - 1);
  /* realloc(NULL, n) is malloc */
  char *rn = realloc(NULL, 2 * MB);
  CHECK(rn && mapped(rn));
  free(rn);
  /* a failed heap realloc leaves the block intact too */
  char *hs = malloc(100);
  strcpy(hs, "intact");
  errno = 0;
  CHECK(realloc(hs, HUGE_N * 2) == NULL && errno == ENOMEM);
  CHECK(strcmp(hs, "intact") == 0);
  free(hs);

  /* reallocarray */
  int *ra = reallocarray(NULL, MB, sizeof(int));
  CHECK(ra && mapped(ra));
  ra[MB - 1] = 5;
  ra = reallocarray(ra, 2 * MB, sizeof(int));
  CHECK(ra && ra[MB - 1] == 5);
  errno = 0;
  CHECK(reallocarray(ra, HUGE_N, 4) == NULL && errno == ENOMEM);
  CHECK(ra[MB - 1] == 5);
  free(ra);

  /* aligned allocations, small and mapped */
  size_t aligns[] = {8, 16, 64, 4096, 65536, 2 * MB};
  for (size_t k = 0; k < sizeof aligns / sizeof *aligns; k++) {
    size_t a = aligns[k];
    size_t sizes[] = {10, 3 * MB};
    for (int j = 0; j < 2; j++) {
      void *p = NULL;
      CHECK(posix_memalign(&p, a, sizes[j]) == 0);
      CHECK(p && (uintptr_t)p % a == 0);
      CHECK(mapped(p) == (sizes[j] >= MB));
      memset(p, 1, sizes[j]);
      free(p);
      if (a >= sizeof(void *)) {
        p = aligned_alloc(a, sizes[j]);
        CHECK(p && (uintptr_t)p % a == 0 && mapped(p) == (sizes[j] >= MB));
        free(p);
      }
      p = memalign(a, sizes[j]);
      CHECK(p && (uintptr_t)p % a == 0 && mapped(p) == (sizes[j] >= MB));
      free(p);
    }
  }
  void *bad = (void *)1;
  CHECK(posix_memalign(&bad, 3, 100) == EINVAL && bad == (void *)1);
  CHECK(posix_memalign(&bad, 4, 100) == EINVAL); /* not a multiple of sizeof(void*) */
  errno = 0;
  CHECK(aligned_alloc(3, MB) == NULL && errno == EINVAL);
  void *v = valloc(2 * MB);
  CHECK(v && (uintptr_t)v % 4096 == 0 && mapped(v));
  free(v);
  v = valloc(100);
  CHECK(v && (uintptr_t)v % 4096 == 0 && !mapped(v));
  free(v);
  v = pvalloc(MB + 1);
  CHECK(v && (uintptr_t)v % 4096 == 0 && mapped(v) && malloc_usable_size(v) >= MB + 4096);
  free(v);
  v = pvalloc(10);
  CHECK(v && (uintptr_t)v % 4096 == 0 && malloc_usable_size(v) >= 4096);
  free(v);

  /* malloc alignment of small blocks */
  for (size_t n = 1; n < 5000; n += 37) {
    void *p = malloc(n);
    CHECK((uintptr_t)p % 16 == 0);
    free(p);
  }
  CHECK(count_now() == base);
  puts("ok");
}

/* Steering API: threshold, path, fork mode, lookup, madvise, statistics. */
static void case_api(const char *dir) {
  size_t c0, b0, p0;
  exm_stats(&c0, &b0, &p0);
  CHECK(exm_threshold_set(100) == -1 && errno == EINVAL);
  CHECK(exm_threshold_set(4096) == 0 && exm_threshold_get() == 4096);
  char *a = malloc(4096);
  CHECK(mapped(a));
  CHECK(exm_threshold_set(8 * MB) == 0);
  char *b = malloc(4 * MB);
  CHECK(!mapped(b));
  free(b);
  char buf[4096];
  CHECK(exm_path_get(buf, sizeof buf) == strlen(dir) && strcmp(buf, dir) == 0);
  char name[4096];
  CHECK(exm_lookup(a + 100, name, sizeof name) > 0);
  CHECK(strncmp(name, dir, strlen(dir)) == 0);
  CHECK(exm_lookup(buf, name, sizeof name) == -1 && errno == ENOENT);
  CHECK(exm_path_set("/nonexistent/exm-dir") == -1);
  char sub[4200];
  snprintf(sub, sizeof sub, "%s/sub", dir);
  CHECK(exm_path_set(sub) == 0);
  CHECK(exm_threshold_set(MB) == 0);
  char *d = malloc(2 * MB);
  CHECK(exm_lookup(d, name, sizeof name) > 0 && strncmp(name, sub, strlen(sub)) == 0);
  CHECK(exm_madvise(d, MADV_SEQUENTIAL) == 0);
  CHECK(exm_madvise(d + MB, MADV_DONTNEED) == 0);
  CHECK(exm_madvise(buf, MADV_NORMAL) == -1 && errno == ENOENT);
  size_t c, by, pk;
  exm_stats(&c, &by, &pk);
  CHECK(c == c0 + 2 && by == b0 + 4096 + 2 * MB && pk >= by);
  free(a);
  free(d);
  exm_stats(&c, &by, NULL);
  CHECK(c == c0 && by == b0);
  CHECK(exm_fork_mode_get() == EXM_FORK_PRIVATE);
  CHECK(exm_fork_mode_set(EXM_FORK_DUPLICATE) == 0 && exm_fork_mode_get() == EXM_FORK_DUPLICATE);
  CHECK(exm_fork_mode_set(7) == -1 && errno == EINVAL);
  CHECK(strlen(exm_version()) > 0);
  puts("ok");
}

/* Threads hammering both paths. */
static void *worker(void *arg) {
  size_t id = (size_t)arg;
  for (int it = 0; it < 200; it++) {
    size_t n = (it % 3 == 0) ? MB + (size_t)it * 4096 : 100 + (size_t)it;
    unsigned char *p = malloc(n);
    CHECK(p);
    memset(p, (int)id, n);
    p = realloc(p, n * 2);
    CHECK(p && all_eq(p, n, (unsigned char)id));
    void *q = NULL;
    CHECK(posix_memalign(&q, 64, n) == 0);
    free(q);
    free(p);
  }
  return NULL;
}

static void case_threads(void) {
  size_t base = count_now();
  pthread_t t[8];
  for (size_t i = 0; i < 8; i++) CHECK(pthread_create(&t[i], NULL, worker, (void *)(i + 1)) == 0);
  for (size_t i = 0; i < 8; i++) pthread_join(t[i], NULL);
  CHECK(count_now() == base);
  puts("ok");
}

/* Fork: mode from EXM_FORK_MODE; `how` is "exit", "_exit" or "free". */
static void case_fork(const char *mode, const char *how) {
  size_t n = 8 * MB;
  unsigned char *blk = malloc(n);
  CHECK(blk && mapped(blk));
  memset(blk, 'A', n);
  int to_child[2], to_parent[2];
  CHECK(pipe(to_child) == 0 && pipe(to_parent) == 0);
  pid_t pid = fork();
  CHECK(pid >= 0);
  char ch;
  if (pid == 0) {
    /* wait until the parent has overwritten its block */
    if (read(to_child[0], &ch, 1) != 1) _exit(10);
    unsigned char want = strcmp(mode, "shared") == 0 ? 'B' : 'A';
    if (!all_eq(blk, n, want)) _exit(11);
    memset(blk, 'C', n);
    if (!all_eq(blk, n, 'C')) _exit(12);
    /* the child's realloc and free must not touch the parent's data */
    unsigned char *g = realloc(blk, 2 * n);
    if (!g || !all_eq(g, n, 'C')) _exit(13);
    if (write(to_parent[1], "x", 1) != 1) _exit(14);
    if (strcmp(how, "free") == 0) {
      free(g);
      exit(0);
    }
    if (strcmp(how, "_exit") == 0) _exit(0);
    exit(0);
  }
  memset(blk, 'B', n);
  CHECK(write(to_child[1], "x", 1) == 1);
  CHECK(read(to_parent[0], &ch, 1) == 1);
  int st;
  CHECK(waitpid(pid, &st, 0) == pid);
  if (!WIFEXITED(st) || WEXITSTATUS(st) != 0) {
    fprintf(stderr, "child failed: status %d\n", st);
    exit(1);
  }
  unsigned char want = strcmp(mode, "shared") == 0 ? 'C' : 'B';
  CHECK(all_eq(blk, n, want));
  if (strcmp(mode, "private") == 0) {
    /* the parent's writes live in private pages now: discarding is refused */
    CHECK(exm_madvise(blk, MADV_DONTNEED) == -1 && errno == EINVAL);
    CHECK(all_eq(blk, n, 'B'));
  } else {
    CHECK(exm_madvise(blk, MADV_DONTNEED) == 0 && all_eq(blk, n, want));
  }
  /* the parent's block survives the child's exit: grow, write, read */
  unsigned char *g = realloc(blk, 3 * n);
  CHECK(g && mapped(g) && all_eq(g, n, want));
  memset(g + n, 'D', 2 * n);
  CHECK(all_eq(g + n, 2 * n, 'D'));
  /* fork again after the first one (blocks already snapshotted) */
  memset(g, 'E', n);
  pid = fork();
  CHECK(pid >= 0);
  if (pid == 0) _exit(all_eq(g, n, 'E') && all_eq(g + n, 2 * n, 'D') ? 0 : 20);
  CHECK(waitpid(pid, &st, 0) == pid && WIFEXITED(st) && WEXITSTATUS(st) == 0);
  free(g);
  CHECK(count_now() == 0);
  puts("ok");
}

/* dladdr: malloc and free come from the shim. */
static void case_dladdr(void) {
  Dl_info info;
  void *fm = dlsym(RTLD_DEFAULT, "malloc");
  CHECK(fm && dladdr(fm, &info) && strstr(info.dli_fname, "libexm") != NULL);
  void *ff = dlsym(RTLD_DEFAULT, "free");
  CHECK(ff && dladdr(ff, &info) && strstr(info.dli_fname, "libexm") != NULL);
  void *fv = dlsym(RTLD_DEFAULT, "posix_memalign");
  CHECK(fv && dladdr(fv, &info) && strstr(info.dli_fname, "libexm") != NULL);
  void *ev = dlsym(RTLD_DEFAULT, "exm_version");
  CHECK(ev && dladdr(ev, &info) && strstr(info.dli_fname, "libexm") != NULL);
  puts("ok");
}

/* Cross-library free: blocks made in one object, freed in another. */
void *lib_alloc(size_t n);
void lib_free(void *p);
char *lib_strdup(const char *s);

static void case_crosslib(void) {
  size_t sizes[] = {32, 2 * MB};
  for (int i = 0; i < 2; i++) {
    char *p = lib_alloc(sizes[i]);
    CHECK(p && mapped(p) == (sizes[i] >= MB));
    memset(p, 1, sizes[i]);
    free(p);
    p = malloc(sizes[i]);
    memset(p, 2, sizes[i]);
    lib_free(p);
  }
  char *d = lib_strdup("cross");
  CHECK(strcmp(d, "cross") == 0);
  free(d);
  d = strdup("glibc"); /* allocated inside libc */
  lib_free(d);
  CHECK(count_now() == 0);
  puts("ok");
}

/* Threshold of one page: everything from a page up is mapped, and libc's
 * own allocations (stdio buffers, qsort, strdup) keep working. */
static int cmp(const void *a, const void *b) { return *(const int *)a - *(const int *)b; }

static void case_page(void) {
  CHECK(exm_threshold_get() == 4096);
  char *a = malloc(4096), *b = malloc(4095);
  CHECK(mapped(a) && !mapped(b));
  free(a);
  free(b);
  void *keep[300];
  for (int i = 0; i < 300; i++) {
    keep[i] = malloc((size_t)(i * 97 % 20000) + 1);
    CHECK(keep[i]);
    memset(keep[i], i, (size_t)(i * 97 % 20000) + 1);
  }
  for (int i = 0; i < 300; i += 2) free(keep[i]);
  for (int i = 1; i < 300; i += 2) keep[i] = realloc(keep[i], 30000);
  for (int i = 1; i < 300; i += 2) free(keep[i]);
  int *arr = malloc(100000 * sizeof(int));
  for (int i = 0; i < 100000; i++) arr[i] = (i * 7919) % 100003;
  qsort(arr, 100000, sizeof(int), cmp);
  for (int i = 1; i < 100000; i++) CHECK(arr[i - 1] <= arr[i]);
  free(arr);
  FILE *f = tmpfile();
  CHECK(f);
  for (int i = 0; i < 10000; i++) fprintf(f, "%d\n", i);
  fclose(f);
  CHECK(count_now() == 0);
  puts("ok");
}

/* The data directory is on a small file system (or the file size limit is
 * small): a block whose disk space cannot be reserved comes from glibc, so
 * writing all of it never raises SIGBUS. `how` is "fs" (the test mounted an
 * 8 MiB file system) or "fsize" (limit the file size to 5 MiB here; SIGXFSZ
 * keeps its default action, which would kill us if exm ever hit the limit). */
static size_t fallbacks_space(void) {
  size_t s = 0;
  exm_fallbacks(&s, NULL, NULL);
  return s;
}

static void case_full(const char *how) {
  CHECK(exm_threshold_get() == MB);
  if (strcmp(how, "fsize") == 0) {
    struct rlimit rl = {5 * MB, 5 * MB};
    CHECK(setrlimit(RLIMIT_FSIZE, &rl) == 0);
  }
  CHECK(fallbacks_space() == 0);
  unsigned char *a = malloc(4 * MB);
  CHECK(a && mapped(a));
  memset(a, 'a', 4 * MB);
  /* no room for 6 MiB more: from glibc, every byte writable */
  unsigned char *b = malloc(6 * MB);
  CHECK(b && !mapped(b) && fallbacks_space() == 1);
  memset(b, 'b', 6 * MB);
  unsigned char *c = calloc(1, 6 * MB);
  CHECK(c && !mapped(c) && all_eq(c, 6 * MB, 0) && fallbacks_space() == 2);
  memset(c, 'c', 6 * MB);
  void *d = NULL;
  CHECK(posix_memalign(&d, 2 * MB, 6 * MB) == 0 && !mapped(d) && (uintptr_t)d % (2 * MB) == 0);
  memset(d, 'd', 6 * MB);
  CHECK(fallbacks_space() == 3);
  /* a mapped block that cannot grow on disk moves to the heap, intact */
  unsigned char *g = realloc(a, 16 * MB);
  CHECK(g && !mapped(g) && all_eq(g, 4 * MB, 'a') && fallbacks_space() == 4);
  memset(g, 'g', 16 * MB);
  /* a heap block grown past the threshold stays on the heap */
  unsigned char *h = malloc(1000);
  memset(h, 'h', 1000);
  h = realloc(h, 10 * MB);
  CHECK(h && !mapped(h) && all_eq(h, 1000, 'h') && fallbacks_space() == 5);
  memset(h, 'H', 10 * MB);
  /* space freed: mapped again, and its space is really there */
  CHECK(count_now() == 0);
  unsigned char *e = malloc(3 * MB);
  CHECK(e && mapped(e));
  memset(e, 'e', 3 * MB);
  CHECK(all_eq(b, 6 * MB, 'b') && all_eq(c, 6 * MB, 'c') && all_eq(e, 3 * MB, 'e'));
  size_t space, fds, other;
  exm_fallbacks(&space, &fds, &other);
  CHECK(space == 5 && fds == 0 && other == 0);
  free(b);
  free(c);
  free(d);
  free(g);
  free(h);
  free(e);
  CHECK(count_now() == 0);
  puts("ok");
}

/* Tens of thousands of live blocks at a one-page threshold: past the
 * descriptor reserve (and the mapping limit) blocks come from glibc, and
 * the program can still open files and load libraries. `limit` > 0 lowers
 * RLIMIT_NOFILE first, so the descriptor reserve is what stops exm. */
static void case_fds(size_t limit, size_t n) {
  CHECK(exm_threshold_get() == 4096);
  if (limit > 0) {
    struct rlimit rl = {limit, limit};
    CHECK(setrlimit(RLIMIT_NOFILE, &rl) == 0);
  }
  struct rlimit rl;
  CHECK(getrlimit(RLIMIT_NOFILE, &rl) == 0);
  void **keep = malloc(n * sizeof *keep); /* n * 8 bytes: mapped or not, no matter */
  CHECK(keep);
  size_t mapped_n = 0;
  for (size_t i = 0; i < n; i++) {
    keep[i] = malloc(8192);
    CHECK(keep[i]);
    memset(keep[i], (int)(i & 0xff), 8192);
    mapped_n += mapped(keep[i]);
  }
  size_t space, fds, other;
  exm_fallbacks(&space, &fds, &other);
  fprintf(stderr, "limit %zu: %zu of %zu blocks mapped; fallbacks: space %zu, descriptors %zu, other %zu\n",
          (size_t)rl.rlim_cur, mapped_n, n, space, fds, other);
  CHECK(mapped_n > 100);
  CHECK(count_now() == mapped_n + mapped(keep) && space == 0);
  CHECK(fds + other >= n - mapped_n);
  if (limit > 0) CHECK(mapped_n < n && fds > 0);
  /* at least 200 descriptors are still free for the program */
  int opened[300];
  int k = 0;
  while (k < 300) {
    int fd = open("/dev/null", O_RDONLY | O_CLOEXEC);
    if (fd < 0) break;
    opened[k++] = fd;
  }
  CHECK(k >= 200);
  for (int j = 0; j < k; j++) close(opened[j]);
  FILE *f = tmpfile();
  CHECK(f && fprintf(f, "still fine\n") > 0);
  fclose(f);
  void *lib = dlopen("libresolv.so.2", RTLD_NOW);
  if (!lib) lib = dlopen("libutil.so.1", RTLD_NOW);
  CHECK(lib != NULL);
  dlclose(lib);
  for (size_t i = 0; i < n; i++) CHECK(((unsigned char *)keep[i])[8191] == (unsigned char)(i & 0xff));
  for (size_t i = 0; i < n; i++) free(keep[i]);
  free(keep);
  CHECK(count_now() == 0);
  puts("ok");
}

/* Released files are kept and reused: a reused block reads as zeros like a
 * new one, in the new data directory after exm_path_set, and never in a
 * forked child. */
static int can_zero_ranges(const char *dir) {
  int fd = open(dir, O_TMPFILE | O_RDWR, 0600);
  if (fd < 0) return 0;
  int ok = fallocate(fd, 0, 0, 4096) == 0 &&
           fallocate(fd, FALLOC_FL_ZERO_RANGE | FALLOC_FL_KEEP_SIZE, 0, 4096) == 0;
  close(fd);
  return ok;
}

static void case_reuse(const char *dir) {
  /* file systems that cannot zero a range (tmpfs) keep no files */
  int keeps = can_zero_ranges(dir);
  char name1[4096], name2[4096];
  unsigned char *p = malloc(2 * MB);
  CHECK(p && mapped(p) && exm_lookup(p, name1, sizeof name1) > 0);
  memset(p, 0xAB, 2 * MB);
  free(p);
  for (int round = 0; round < 3; round++) {
    unsigned char *q = round == 1 ? calloc(1, 2 * MB) : malloc(2 * MB - 4096 * round);
    CHECK(q && mapped(q) && exm_lookup(q, name2, sizeof name2) > 0);
    CHECK(!keeps || strcmp(name1, name2) == 0); /* the same (kept) file */
    CHECK(all_eq(q, 2 * MB - 4096 * round, 0));  /* zeroed */
    memset(q, 0xCD, 2 * MB - 4096 * round);
    free(q);
  }
  /* a fork: the child's blocks never share a file with the parent's */
  unsigned char *a = malloc(2 * MB);
  memset(a, 1, 2 * MB);
  free(a); /* kept by the parent */
  int pipefd[2];
  CHECK(pipe(pipefd) == 0);
  pid_t pid = fork();
  CHECK(pid >= 0);
  if (pid == 0) {
    unsigned char *c = malloc(2 * MB);
    if (!c || !mapped(c) || !all_eq(c, 2 * MB, 0)) _exit(10);
    memset(c, 'c', 2 * MB);
    char ch;
    if (read(pipefd[0], &ch, 1) != 1) _exit(11);  /* the parent has written */
    _exit(all_eq(c, 2 * MB, 'c') ? 0 : 12);
  }
  unsigned char *b = malloc(2 * MB);
  CHECK(b && mapped(b) && all_eq(b, 2 * MB, 0));
  memset(b, 'p', 2 * MB);
  CHECK(write(pipefd[1], "x", 1) == 1);
  int st;
  CHECK(waitpid(pid, &st, 0) == pid && WIFEXITED(st) && WEXITSTATUS(st) == 0);
  CHECK(all_eq(b, 2 * MB, 'p'));
  free(b);
  /* a new data directory: kept files of the old one are not reused */
  char sub[4200];
  snprintf(sub, sizeof sub, "%s/sub", dir);
  CHECK(exm_path_set(sub) == 0);
  unsigned char *d = malloc(2 * MB);
  CHECK(d && exm_lookup(d, name2, sizeof name2) > 0 && strncmp(name2, sub, strlen(sub)) == 0);
  free(d);
  CHECK(count_now() == 0);
  puts(keeps ? "ok" : "ok (this file system cannot zero ranges: no file kept)");
}

/* Allocate, report, then wait to be killed. */
static void case_hold(void) {
  void *p[4];
  for (int i = 0; i < 4; i++) {
    p[i] = malloc(4 * MB);
    memset(p[i], 1, 4 * MB);
    CHECK(mapped(p[i]));
  }
  printf("ready %d\n", (int)getpid());
  fflush(stdout);
  for (;;) pause();
}

static void case_env(void) {
  const char *pre = getenv("LD_PRELOAD");
  char path[4096];
  exm_path_get(path, sizeof path);
  const char *env_path = getenv("EXM_PATH");
  printf("LD_PRELOAD=%s\nthreshold=%zu\npath=%s\nmode=%d\nEXM_PATH=%s\n", pre ? pre : "",
         exm_threshold_get(), path, exm_fork_mode_get(), env_path ? env_path : "(unset)");
}

static void *volatile sink;
static void case_stats(void) {
  sink = malloc(3 * MB);
  free(sink);
  sink = malloc(5 * MB); /* left mapped on purpose */
}

int main(int argc, char **argv) {
  if (argc < 2) return 2;
  const char *c = argv[1];
  if (strcmp(c, "entry") == 0) case_entry();
  else if (strcmp(c, "api") == 0) case_api(argv[2]);
  else if (strcmp(c, "threads") == 0) case_threads();
  else if (strcmp(c, "fork") == 0) case_fork(argv[2], argv[3]);
  else if (strcmp(c, "dladdr") == 0) case_dladdr();
  else if (strcmp(c, "crosslib") == 0) case_crosslib();
  else if (strcmp(c, "page") == 0) case_page();
  else if (strcmp(c, "hold") == 0) case_hold();
  else if (strcmp(c, "env") == 0) case_env();
  else if (strcmp(c, "stats") == 0) case_stats();
  else if (strcmp(c, "full") == 0) case_full(argv[2]);
  else if (strcmp(c, "reuse") == 0) case_reuse(argv[2]);
  else if (strcmp(c, "fds") == 0) case_fds((size_t)atol(argv[2]), (size_t)atol(argv[3]));
  else if (strcmp(c, "exit") == 0) return atoi(argv[2]);
  else if (strcmp(c, "signal") == 0) raise(atoi(argv[2]));
  else if (strcmp(c, "active") == 0) { puts(exm_version ? "active" : "inactive"); }
  else return 2;
  return 0;
}
