#!/bin/sh
# Build the exm launcher and shim (src/rust/exm) and copy them into
# <R_PACKAGE_DIR>/bin:
#   sh ../tools/install-exm.sh "$(R_PACKAGE_DIR)"
# (.Rbuildignore drops tools/ from tarballs: src/Makevars carries the same
# commands inline; this script is for development installs.)
# Honours CARGO_TARGET_DIR; defaults to src/rust/exm/target.
set -eu

dest=${1:?usage: install-exm.sh <R_PACKAGE_DIR>}
here=$(cd "$(dirname "$0")/.." && pwd)
manifest="$here/src/rust/exm/Cargo.toml"
target=${CARGO_TARGET_DIR:-"$here/src/rust/exm/target"}
PATH="$PATH:${HOME:-/root}/.cargo/bin"
export PATH

case "$(uname -s)" in
  Linux) ;;
  *) echo "install-exm.sh: exm needs Linux/glibc; skipped" >&2; exit 0 ;;
esac

cargo build --release -j "${EXM_JOBS:-1}" --manifest-path "$manifest" --target-dir "$target"

mkdir -p "$dest/bin"
cp "$target/release/exm" "$dest/bin/exm"
cp "$target/release/libexm.so" "$dest/bin/libexm.so"
chmod 755 "$dest/bin/exm"
echo "installed exm into $dest/bin"
