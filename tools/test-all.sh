#!/usr/bin/env bash
# Runs every test suite (clippy and cargo for the Rust crates, testthat for the
# R face) and prints one line "N passed, N failed" summed from their own
# reports (a crate clippy rejects counts as one failure). Exits non-zero if any
# test failed, clippy complained or any suite could not run.
set -uo pipefail
cd "$(dirname "$0")/.."
export PATH="$PATH:$HOME/.cargo/bin"
log=$(mktemp -d)
status=0
passed=0
failed=0

count_cargo() {  # sums "test result: ... N passed; M failed" lines of a cargo log
  local p f
  p=$(grep -Eo 'test result: [A-Za-z]+\. [0-9]+ passed' "$1" | grep -Eo '[0-9]+ passed' | awk '{s+=$1} END {print s+0}')
  f=$(grep -Eo '[0-9]+ failed;' "$1" | awk '{s+=$1} END {print s+0}')
  passed=$((passed + p)); failed=$((failed + f))
}

# The package builds offline from src/rust/vendor.tar.xz: it must hold every
# crate the manifests and lock files need (after a dependency change, run
# tools/vendor.sh).
echo "== vendored crates"
bash tools/vendor.sh --check || { failed=$((failed + 1)); status=1; }

# Lints are rules (src/rust/*/lib.rs: every unsafe block and unsafe fn says
# why it is sound): any clippy warning counts as a failure.
clippy() {  # $1: label, $2: crate dir, rest: cargo clippy selection
  local label=$1 dir=$2; shift 2
  echo "== cargo clippy ($label)"
  if (cd "$dir" && cargo clippy -j 2 "$@" --all-targets -- -D warnings) > "$log/clippy.txt" 2>&1; then
    echo "clippy: clean"
  else
    grep -E '^(error|warning)' -A8 "$log/clippy.txt" | head -60
    grep -qE '^(error|warning)' "$log/clippy.txt" || tail -20 "$log/clippy.txt"
    echo "clippy failed for $label"; failed=$((failed + 1)); status=1
  fi
}
clippy mmapcore src/rust -p mmapcore
clippy mmap src/rust -p mmap
clippy exm src/rust/exm --workspace

for crate in src/rust/core src/rust/exm; do
  [ -f "$crate/Cargo.toml" ] || continue
  echo "== cargo test ($crate)"
  (cd "$crate" && cargo test -j 2 2>&1) | tee "$log/cargo.txt" | grep -E '^test result|FAILED|panicked' || true
  rc=${PIPESTATUS[0]}
  count_cargo "$log/cargo.txt"
  if [ "$rc" -ne 0 ]; then
    status=1
    grep -q 'test result' "$log/cargo.txt" || { echo "cargo test did not run in $crate"; failed=$((failed + 1)); tail -20 "$log/cargo.txt"; }
  fi
done

echo "== testthat"
Rscript tools/run-testthat.R "$log/r.txt"
[ $? -eq 0 ] || status=1
if [ -s "$log/r.txt" ]; then
  read -r rp rf < "$log/r.txt"
  passed=$((passed + rp)); failed=$((failed + rf))
else
  echo "testthat did not report"; failed=$((failed + 1)); status=1
fi

echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ] && [ "$status" -eq 0 ]
