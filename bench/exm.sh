#!/bin/sh
# exm benchmarks: each measure is taken without and with the shim in the same
# run, and the ratio printed.
#   sh bench/exm.sh [path/to/exm]
# Environment: EXM (launcher), TMPDIR (data directory), BIG=0 to skip 4 GB.
set -eu
here=$(cd "$(dirname "$0")/.." && pwd)
EXM=${1:-${EXM:-}}
if [ -z "$EXM" ]; then
  for c in "$here/src/rust/exm/target/release/exm" "$(command -v exm || true)"; do
    if [ -n "$c" ] && [ -x "$c" ]; then EXM=$c; break; fi
  done
fi
[ -n "$EXM" ] && [ -x "$EXM" ] || { echo "exm launcher not found: build it (cargo build --release) or pass its path" >&2; exit 1; }
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

cat > "$work/micro.c" <<'CEOF'
#define _GNU_SOURCE
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
static void *volatile sink;
static double now(void) { struct timespec t; clock_gettime(CLOCK_MONOTONIC, &t); return t.tv_sec + t.tv_nsec * 1e-9; }
static long N = 20000000;
static void *loop64(void *arg) {
  (void)arg;
  void *volatile mine; /* per thread: the loop must not be optimised away */
  for (long i = 0; i < N; i++) { mine = malloc(64); free(mine); }
  return NULL;
}
int main(int argc, char **argv) {
  const char *what = argv[1];
  double t0 = now();
  if (strcmp(what, "one") == 0) {
    loop64(NULL);
    printf("%.2f\n", (now() - t0) / N * 1e9);           /* ns per malloc+free */
  } else if (strcmp(what, "two") == 0) {
    pthread_t a, b;
    pthread_create(&a, NULL, loop64, NULL);
    pthread_create(&b, NULL, loop64, NULL);
    pthread_join(a, NULL); pthread_join(b, NULL);
    printf("%.2f\n", (now() - t0) / N * 1e9);           /* ns per op, per thread */
  } else if (strcmp(what, "map2m") == 0) {
    int n = 2000;
    for (int i = 0; i < n; i++) { char *p = malloc(2 << 20); p[0] = 1; p[(2 << 20) - 1] = 1; sink = p; free(p); }
    printf("%.2f\n", (now() - t0) / n * 1e6);           /* us per alloc+touch+free */
  }
  return 0;
}
CEOF
gcc -O2 -o "$work/micro" "$work/micro.c" -lpthread

best() { # best (smallest) of 3 runs of a command printing one number
  a=$("$@"); b=$("$@"); c=$("$@")
  printf '%s\n%s\n%s\n' "$a" "$b" "$c" | sort -g | head -1
}
ratio() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.2f", b / a }'; }
report() { # name unit without with limit
  printf '%-34s %10s %10s %7sx   (limit %s)\n' "$1" "$3" "$4" "$(ratio "$3" "$4")" "$5"
}

echo "exm benchmarks ($(date -u +%FT%TZ), $("$EXM" --version), data in ${TMPDIR:-/tmp})"
printf '%-34s %10s %10s %8s\n' "measure" "glibc" "exm" "ratio"
w=$(best "$work/micro" one); s=$(best "$EXM" "$work/micro" one)
report "malloc/free 64 B, ns" ns "$w" "$s" "2x"
w=$(best "$work/micro" two); s=$(best "$EXM" "$work/micro" two)
report "malloc/free 64 B, 2 threads, ns" ns "$w" "$s" "2x"

RS=$(command -v Rscript || true)
if [ -n "$RS" ]; then
  # short timings: alternate the two sides three times, keep the best of each
  w=9; s=9
  for k in 1 2 3; do
    a=$("$RS" --vanilla "$here/bench/exm.R" alloc); b=$("$EXM" "$RS" --vanilla "$here/bench/exm.R" alloc)
    w=$(printf '%s\n%s\n' "$w" "$a" | sort -g | head -1); s=$(printf '%s\n%s\n' "$s" "$b" | sort -g | head -1)
  done
  report "R: for (i in 1:2e6) x <- list(i), s" s "$w" "$s" "1.05x"
  w=$("$RS" --vanilla "$here/bench/exm.R" vector 1e9)
  s=$("$EXM" --threshold 64M "$RS" --vanilla "$here/bench/exm.R" vector 1e9)
  report "R: 1 GB alloc+fill+sum, s" s "$w" "$s" "1.3x"
  if [ "${BIG:-1}" != 0 ]; then
    w=$("$RS" --vanilla "$here/bench/exm.R" vector 4e9)
    s=$("$EXM" --threshold 64M "$RS" --vanilla "$here/bench/exm.R" vector 4e9)
    report "R: 4 GB alloc+fill+sum, s" s "$w" "$s" "report"
  fi
fi
s=$(best "$EXM" --threshold 1M "$work/micro" map2m)
printf '%-34s %10s %10s %8s    (limit 100 us)\n' "2 MB mapped alloc+touch+free, us" "-" "$s" "-"
