#!/usr/bin/env bash
# Refreshes src/rust/vendor.tar.xz, the crates that src/Makevars builds from
# offline (CRAN's builders and many servers have no network).
#
# Rerun it after any change to a Cargo.toml or Cargo.lock (a new dependency, an
# upgrade, a merge that brings one in), then commit vendor.tar.xz with the lock
# files. `make offline-check` proves the result installs without a network.
#
# The tarball holds the crates of the extendr workspace (src/rust: the bindings
# and core) and of the separate exm crate (src/rust/exm, own lock file). To
# stay within CRAN's 5 MB it is pruned:
#   - crates that no library build needs on any target (dev-dependencies such
#     as tempfile or proptest, and what only they pull in) and the Windows API
#     crates (the package has no Windows build, as in gifski) become stubs: their
#     Cargo.toml stays so that cargo can resolve the lock file, their code goes;
#   - the crates that are built lose their tests, benches, examples and docs.
# Cargo checks vendored files against .cargo-checksum.json, so the entries of
# removed files are dropped from it (stubs keep only the package checksum,
# which must match Cargo.lock).
#
# `tools/vendor.sh --check` only verifies that the tarball still matches the
# manifests and lock files (no network; tools/test-all.sh runs it).
set -euo pipefail
cd "$(dirname "$0")/../src/rust"
export PATH="$PATH:$HOME/.cargo/bin"

if [ "${1:-}" = --check ]; then
  # Resolve both lock files against the unpacked tarball exactly as the build
  # does (offline, lock files frozen): a stale lock or a missing crate fails.
  check=$(mktemp -d)
  trap 'rm -rf "$check"' EXIT
  tar -xJf vendor.tar.xz -C "$check"
  printf '[source.crates-io]\nreplace-with = "vendored-sources"\n\n[source.vendored-sources]\ndirectory = "%s"\n' \
    "$check/vendor" > "$check/config.toml"
  for manifest in Cargo.toml exm/Cargo.toml; do
    if ! CARGO_HOME="$check" cargo metadata --quiet --offline --locked --format-version 1 \
         --manifest-path "$manifest" > /dev/null 2> "$check/err"; then
      sed 's/^/  /' "$check/err" | head -5
      echo "vendor.tar.xz does not build $manifest offline: run tools/vendor.sh and commit the result"
      exit 1
    fi
  done
  echo "vendor.tar.xz resolves both lock files offline ($(ls "$check/vendor" | wc -l) crates)"
  exit 0
fi

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
vendor="$work/vendor"

cargo vendor --quiet --versioned-dirs --manifest-path Cargo.toml \
  --sync exm/Cargo.toml "$vendor" > /dev/null

# "name vX.Y.Z" of every crate a library build compiles, for any target.
needed_by() {
  cargo tree --quiet --offline -e normal,build --target all -f '{p}' --prefix none "$@" |
    awk '$3 !~ /^\(\// { print $1 "-" substr($2, 2) }'
}
{ needed_by --manifest-path Cargo.toml -p mmap; needed_by --manifest-path exm/Cargo.toml; } |
  sort -u > "$work/needed"

stub() {  # $1: crate dir. Keeps the manifest, licences and package checksum.
  local dir=$1 package
  package=$(sed -E 's/.*"package":"([0-9a-f]*)".*/\1/' "$dir/.cargo-checksum.json")
  find "$dir" -mindepth 1 -maxdepth 1 ! -name Cargo.toml ! -name '.cargo-checksum.json' \
    ! -name 'LICENSE*' -exec rm -rf {} +
  mkdir -p "$dir/src"
  echo '// Stub: not compiled by the mmap R package (see tools/vendor.sh).' > "$dir/src/lib.rs"
  printf '{"files":{},"package":"%s"}' "$package" > "$dir/.cargo-checksum.json"
}

prune() {  # $1: crate dir. Drops what building the library never reads.
  local dir=$1 sum="$1/.cargo-checksum.json"
  rm -rf "$dir"/{tests,benches,examples,docs,doc,.github} "$dir"/Cargo.toml.orig
  sed -E -i \
    -e 's#"(tests|benches|examples|docs|doc|\.github)/[^"]*":"[0-9a-f]*",?##g' \
    -e 's#"Cargo\.toml\.orig":"[0-9a-f]*",?##g' \
    -e 's#,\}#}#' "$sum"
}

stubbed=0
for dir in "$vendor"/*/; do
  dir=${dir%/}
  name=$(basename "$dir")
  if [[ $name =~ ^(windows|winapi) ]] || ! grep -qxF "$name" "$work/needed"; then
    stub "$dir"; stubbed=$((stubbed + 1))
  else
    prune "$dir"
  fi
done

(cd "$work" && XZ_OPT=-9e tar --sort=name --owner=0 --group=0 --numeric-owner \
  --mtime='2020-01-01 00:00Z' --no-xattrs -cJf vendor.tar.xz vendor)
mv "$work/vendor.tar.xz" vendor.tar.xz
echo "vendor.tar.xz: $(ls "$vendor" | wc -l) crates ($stubbed stubbed), $(du -k vendor.tar.xz | cut -f1) KiB"
