#!/usr/bin/env bash
# Configures and builds Sluice. Usage: deploy/build.sh [BUILD_DIR] [extra cmake args...]
# SLUICE_BUILD_TARGETS="a b" builds only those targets (default: everything).
# Release by default; ccache is used when installed (deploy/install-deps.sh installs it).
set -euo pipefail
repo=$(cd "$(dirname "$0")/.." && pwd)
build_dir=${1:-$repo/build}
# Paths relative to the checkout let ccache reuse objects across clones (CI builds a fresh one).
export CCACHE_BASEDIR="$repo"
shift || true
if [ ! -f "$build_dir/build.ninja" ]; then
  cmake -S "$repo" -B "$build_dir" -G Ninja -DCMAKE_BUILD_TYPE=Release "$@" >/dev/null
fi
# shellcheck disable=SC2086  # a space-separated target list
ninja -C "$build_dir" -j "$(nproc)" ${SLUICE_BUILD_TARGETS:-all}
